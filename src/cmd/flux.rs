//! `secret-rollout flux HELMRELEASE.yaml`: keep a HelmRelease's post-render
//! patches in step with the render and the Secrets in Git.

use anyhow::Result;
use secret_rollout::front::{flux, layout, patch};
use secret_rollout::{report, Finding};

use crate::cli::diagnostics::{Diagnostics, Outcome};
use crate::cli::in_place::{render_with, settle, Change};
use crate::cli::inputs::{self, STDIN};
use crate::cli::settings::{Flux, FluxAction};
use crate::cli::{self, Exit};

pub fn run(s: &Flux, diagnostics: &Diagnostics) -> Result<Exit> {
    let shown = s.path.display().to_string();
    let name = s.name.as_deref();
    let at = |e: flux::FluxError| anyhow::anyhow!("{shown}: {e}");
    let check = match s.action {
        FluxAction::PrintValues => {
            cli::print(&flux::values(&s.text, name).map_err(at)?)?;
            return Ok(Exit::Success);
        }
        FluxAction::Update { check } => check,
    };
    let (render, from) = match &s.render_command {
        Some(cmd) => (
            render_with(cmd, &flux::values(&s.text, name).map_err(at)?)?,
            "the render command's output",
        ),
        None => (inputs::read_stdin()?, STDIN),
    };
    let previous = flux::current(&s.text, name).map_err(at)?;
    let plan =
        patch::plan(&render, &s.options, &previous).map_err(|e| anyhow::anyhow!("{from}: {e}"))?;
    anyhow::ensure!(
        plan.objects > 0,
        "{from}: the render is empty; give the chart's `helm template` output (see docs/gitops.md, Flux)"
    );
    if plan.has_errors() {
        let text = report_text(&plan.findings, from, "refusing to update", &shown);
        diagnostics.show(&text, Outcome::Failed);
        diagnostics.record(&text)?;
        return Ok(Exit::PolicyFailed);
    }
    let wanted = flux::update(&s.text, name, &plan.stamps).map_err(at)?;
    let mut findings = plan.findings.clone();
    findings.extend(layout::check(
        &s.path,
        s.repo_root.as_deref(),
        &plan.file_sources,
        &s.options.policy,
    ));
    let text = report_text(&findings, from, "checked", &shown);
    diagnostics.show(&text, Outcome::Succeeded);
    diagnostics.record(&text)?;
    if !check {
        eprintln!("{}", plan.rolling_summary(&previous));
    }
    let change = Change {
        path: s.path.clone(),
        now: Some(s.text.clone()),
        wanted: Some(wanted),
    };
    settle(&[change], check)
}

/// The findings and one summary line, for stderr and the report file.
fn report_text(findings: &[Finding], input: &str, verb: &str, file: &str) -> String {
    let shown = findings.iter().filter(|f| f.is_active());
    let mut text = report::text(shown, input);
    text.push_str(&format!(
        "secret-rollout: {verb} {file}: {}\n",
        report::summary(findings)
    ));
    text
}
