//! `secret-rollout [render]`: the Helm post-renderer. Manifests on stdin,
//! the same manifests with our annotations on stdout, or nothing on stdout
//! and exit 1 when the policy refuses them.

use anyhow::Result;
use secret_rollout::format::{self, FileReport};
use secret_rollout::{helm, report, Rule};

use crate::cli::diagnostics::{Diagnostics, Outcome};
use crate::cli::inputs::{self, STDIN};
use crate::cli::settings::Render;
use crate::cli::{self, Exit};

pub fn run(settings: &Render, diagnostics: &Diagnostics) -> Result<Exit> {
    let input = inputs::stdin()?;
    let text = input.text();
    // A kustomize container function runs the image's entry point; a
    // ResourceList on stdin means that is what we are.
    if secret_rollout::krm::is_resource_list(text) {
        let output = secret_rollout::krm::function(text, &settings.options);
        return super::krm::finish(output, diagnostics);
    }
    let mut analysis = secret_rollout::analyze(text, &settings.options)
        .map_err(|e| anyhow::anyhow!("{STDIN}: {e}"))?;
    if helm::running_as_plugin()
        && analysis.hooks_only
        && analysis
            .findings
            .iter()
            .any(|f| f.rule == Rule::UnresolvedReference)
    {
        helm::explain_hooks_only(&mut analysis.findings);
    }
    let failed = analysis.has_errors();
    let summary = report::summary(&analysis.findings);
    // Suppressed findings are counted in the summary, not shown: the user
    // silenced them on purpose.
    let shown = analysis.findings.iter().filter(|f| f.is_active());
    let mut text = report::text(shown, STDIN);
    let outcome = if failed {
        text.push_str(&format!("secret-rollout: refusing to render: {summary}\n"));
        Outcome::Failed
    } else {
        text.push_str(&format!("secret-rollout: rendered with {summary}\n"));
        Outcome::Succeeded
    };
    // A clean render says nothing where a person looks; the report and the
    // step summary still get its outcome.
    if failed || !analysis.findings.is_empty() {
        diagnostics.show(&text, outcome);
    }
    diagnostics.record(&text)?;
    let heading = if failed {
        "secret-rollout: refusing to render"
    } else {
        "secret-rollout: rendered"
    };
    let reports = [FileReport {
        file: STDIN.to_string(),
        findings: std::mem::take(&mut analysis.findings),
    }];
    diagnostics.summarize(&format::markdown(&reports, heading));
    if failed {
        return Ok(Exit::PolicyFailed);
    }
    // The whole output is made before its first byte reaches stdout: if
    // memory runs out while making it, the run exits 2 with stdout empty
    // (Helm would take a cut-off stream for the release). Writing a finished
    // buffer allocates nothing more.
    let mut output = Vec::with_capacity(text.len() + text.len() / 8);
    input.write(&mut analysis.edits, &mut output)?;
    cli::print_with(|out| out.write_all(&output))?;
    Ok(Exit::Success)
}
