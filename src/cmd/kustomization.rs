//! `secret-rollout kustomization KUSTOMIZATION.yaml`: keep the stamp
//! transformer beside a kustomization in step with its build.

use anyhow::Result;
use secret_rollout::front::kustomization::{self, FILE};
use secret_rollout::front::{layout, patch};
use secret_rollout::report;

use crate::cli::diagnostics::{Diagnostics, Outcome};
use crate::cli::in_place::{render_with, settle, Change};
use crate::cli::inputs::{self, STDIN};
use crate::cli::settings::Kustomization;
use crate::cli::Exit;

pub fn run(s: &Kustomization, diagnostics: &Diagnostics) -> Result<Exit> {
    let shown = s.path.display().to_string();
    let text = inputs::read_utf8_file(&s.path)?;
    let transformer = s.path.with_file_name(FILE);
    let current = match transformer.exists() {
        true => Some(inputs::read_utf8_file(&transformer)?),
        false => None,
    };
    let previous = match &current {
        Some(t) => kustomization::read_transformer(t)
            .map_err(|e| anyhow::anyhow!("{}: {e}", transformer.display()))?,
        None => Vec::new(),
    };
    let render = match &s.render_command {
        Some(cmd) => render_with(cmd, "")?,
        None => inputs::read_stdin()?,
    };
    let plan =
        patch::plan(&render, &s.options, &previous).map_err(|e| anyhow::anyhow!("{STDIN}: {e}"))?;
    anyhow::ensure!(
        plan.objects > 0,
        "{STDIN}: the build is empty; give it `kubectl kustomize {}`",
        s.path
            .parent()
            .map_or(".".into(), |p| p.display().to_string())
    );
    // As `flux` warns of a HelmRelease and its sealed Secret in one apply.
    let mut findings = plan.findings.clone();
    findings.extend(layout::same_build(
        &s.path,
        &plan.written_later,
        &s.options.policy,
    ));
    let shown_findings = findings.iter().filter(|f| f.is_active());
    let mut out = report::text(shown_findings, STDIN);
    let verb = if plan.has_errors() {
        "refusing to update"
    } else {
        "checked"
    };
    out.push_str(&format!(
        "secret-rollout: {verb} {shown}: {}\n",
        report::summary(&findings)
    ));
    let outcome = if plan.has_errors() {
        Outcome::Failed
    } else {
        Outcome::Succeeded
    };
    diagnostics.show(&out, outcome);
    diagnostics.record(&out)?;
    if plan.has_errors() {
        return Ok(Exit::PolicyFailed);
    }
    if !s.check {
        eprintln!("{}", plan.rolling_summary(&previous));
    }
    let listed = !plan.stamps.is_empty();
    let wanted =
        kustomization::update(&text, listed).map_err(|e| anyhow::anyhow!("{shown}: {e}"))?;
    let changes = [
        Change {
            path: transformer,
            now: current,
            wanted: listed.then(|| kustomization::transformer(&plan.stamps)),
        },
        Change {
            path: s.path.clone(),
            now: Some(text),
            wanted: Some(wanted),
        },
    ];
    settle(&changes, s.check)
}
