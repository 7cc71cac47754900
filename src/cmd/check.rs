//! `secret-rollout check`: the CI gate. Findings for files, directories or
//! stdin in the format CI reads; never writes manifests.

use anyhow::Result;
use secret_rollout::report::format::{self, FileReport};

use crate::cli::args::CheckFormat;
use crate::cli::diagnostics::{Diagnostics, Outcome};
use crate::cli::inputs::Inputs;
use crate::cli::settings::Check;
use crate::cli::{self, inputs, Exit};

/// One input as check saw it.
enum Judged {
    /// Analysed: its findings, and how many objects it holds.
    Read(FileReport, usize),
    /// Refused: the line stderr shows, and the error as an `invalid-input`
    /// finding when it names a line.
    Refused(String, Option<FileReport>),
}

pub fn run(settings: &Check, diagnostics: &Diagnostics) -> Result<Exit> {
    let options = &settings.options;
    let judged = inputs::each_in_order(&settings.inputs, |name, text| {
        Ok(match secret_rollout::analyze(text, options) {
            Ok(mut analysis) => {
                if let Some(root) = &settings.chart_root {
                    secret_rollout::report::chart::in_chart_files(
                        text,
                        root,
                        &mut analysis.findings,
                    );
                }
                Judged::Read(
                    FileReport {
                        file: name.to_string(),
                        findings: analysis.findings,
                    },
                    analysis.objects,
                )
            }
            Err(e) => Judged::Refused(
                inputs::error_line(&anyhow::anyhow!("{name}: {e}")),
                e.finding().map(|f| FileReport {
                    file: name.to_string(),
                    findings: vec![f],
                }),
            ),
        })
    })?;
    // The judged inputs, for every format; with the refused ones among
    // them in input order, for the formats that list findings by file and
    // line (JSON, SARIF). Text, GitHub commands and markdown keep bad input
    // to its one line on stderr.
    let mut reports = Vec::new();
    let mut listed = Vec::new();
    let mut bad = Vec::new();
    let mut objects = 0;
    for j in judged {
        match j {
            Ok(Judged::Read(report, n)) => {
                objects += n;
                listed.push(report.clone());
                reports.push(report);
            }
            Ok(Judged::Refused(line, report)) => {
                bad.push(line);
                listed.extend(report);
            }
            Err(e) => bad.push(inputs::error_line(&e)),
        }
    }
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
        CheckFormat::Json => format!("{:#}\n", format::json(&listed)),
        CheckFormat::Sarif => format!("{:#}\n", format::sarif(&listed, &options.policy)),
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
