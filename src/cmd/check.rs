//! `secret-rollout check`: the CI gate. Findings for files, directories or
//! stdin in the format CI reads; never writes manifests.

use anyhow::Result;
use secret_rollout::format::{self, FileReport};

use crate::cli::args::CheckFormat;
use crate::cli::diagnostics::{Diagnostics, Outcome};
use crate::cli::settings::Check;
use crate::cli::{self, inputs, Exit};

pub fn run(settings: &Check, diagnostics: &Diagnostics) -> Result<Exit> {
    let options = &settings.options;
    let (reports, bad) = inputs::each(&settings.inputs, |name, text| {
        let analysis =
            secret_rollout::analyze(text, options).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        Ok(FileReport {
            file: name.to_string(),
            findings: analysis.findings,
        })
    })?;
    let show_suppressed = settings.show_suppressed;
    let out = match settings.format {
        CheckFormat::Text => format::text(&reports, show_suppressed, settings.colour),
        CheckFormat::Json => format!("{:#}\n", format::json(&reports)),
        CheckFormat::Sarif => format!("{:#}\n", format::sarif(&reports, &options.policy)),
        CheckFormat::Github => format::github(&reports),
        CheckFormat::Markdown => format::markdown(&reports, "secret-rollout check"),
    };
    diagnostics.record(&format::text(&reports, show_suppressed, false))?;
    diagnostics.summarize(&format::markdown(&reports, "secret-rollout check"));
    cli::print(&out)?;
    if !bad.is_empty() {
        let text = bad.join("\n") + "\n";
        diagnostics.show(&text, Outcome::Failed);
        diagnostics.summarize(&format::markdown_error(&text));
        return Ok(Exit::BadInput);
    }
    let failed = settings.fail_on.is_some_and(|t| {
        reports
            .iter()
            .flat_map(|r| &r.findings)
            .any(|f| f.is_active() && f.severity <= t)
    });
    Ok(if failed {
        Exit::PolicyFailed
    } else {
        Exit::Success
    })
}
