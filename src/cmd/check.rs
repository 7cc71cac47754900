//! `secret-rollout check`: the CI gate. Findings for files, directories or
//! stdin in the format CI reads; never writes manifests.

use anyhow::Result;
use secret_rollout::report::format::{self, FileReport};

use crate::cli::args::CheckFormat;
use crate::cli::diagnostics::{Diagnostics, Outcome};
use crate::cli::inputs::Inputs;
use crate::cli::settings::Check;
use crate::cli::{self, inputs, Exit};

pub fn run(settings: &Check, diagnostics: &Diagnostics) -> Result<Exit> {
    let options = &settings.options;
    let (judged, bad) = inputs::each(&settings.inputs, |name, text| {
        let mut analysis =
            secret_rollout::analyze(text, options).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        if let Some(root) = &settings.chart_root {
            format::at_chart_files(text, root, &mut analysis.findings);
        }
        let report = FileReport {
            file: name.to_string(),
            findings: analysis.findings,
        };
        Ok((report, analysis.objects))
    })?;
    let objects: usize = judged.iter().map(|(_, n)| n).sum();
    let reports: Vec<FileReport> = judged.into_iter().map(|(r, _)| r).collect();
    // A render that failed before the pipe reaches us as nothing; without
    // `pipefail` that would be a green gate.
    if bad.is_empty() && objects == 0 && !settings.allow_empty {
        let what = match settings.inputs {
            Inputs::Stdin => "standard input holds",
            Inputs::Paths(_) => "the inputs hold",
        };
        anyhow::bail!(
            "{what} no Kubernetes object, so there is nothing to check (did the command \
             before the pipe fail?); give --allow-empty to accept an empty input"
        );
    }
    let show_suppressed = settings.show_suppressed;
    let unread = bad.len();
    let out = match settings.format {
        CheckFormat::Text => format::text(&reports, unread, show_suppressed, settings.colour),
        CheckFormat::Json => format!("{:#}\n", format::json(&reports)),
        CheckFormat::Sarif => format!("{:#}\n", format::sarif(&reports, &options.policy)),
        CheckFormat::Github => format::github(&reports),
        CheckFormat::Markdown => format::markdown(&reports, "secret-rollout check"),
    };
    diagnostics.record(&format::text(&reports, unread, show_suppressed, false))?;
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
