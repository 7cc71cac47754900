//! `secret-rollout [render]`: the Helm post-renderer. Manifests on stdin,
//! the same manifests with our annotations on stdout, or nothing on stdout
//! and exit 1 when the policy refuses them.

use anyhow::Result;
use secret_rollout::report;
use secret_rollout::report::format::{self, FileReport};

use crate::cli::diagnostics::{Diagnostics, Outcome};
use crate::cli::inputs::{self, STDIN};
use crate::cli::settings::Render;
use crate::cli::{self, Exit};

pub fn run(settings: &Render, diagnostics: &Diagnostics) -> Result<Exit> {
    let input = inputs::stdin()?;
    let text = input.text();
    // The stream is data, never configuration: a ResourceList in it is not
    // a function call (whose functionConfig would set the policy and what
    // to read) but a document no chart should render. Only whoever runs us
    // enters the KRM path (`krm`, the image's entry point, the plugin name).
    if let Some(index) = secret_rollout::front::krm::resource_list_in(text) {
        let doc = secret_rollout::yaml::stream::doc_name(index, None);
        anyhow::bail!(
            "{STDIN}: {doc} is a config.kubernetes.io ResourceList, a KRM function's \
             input, not manifests; render reads manifests only (a KRM function is \
             `secret-rollout krm`)"
        );
    }
    let mut analysis = secret_rollout::analyze(text, &settings.options)
        .map_err(|e| anyhow::anyhow!("{STDIN}: {e}"))?;
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
    // Everything that allocates happens before the first byte reaches
    // stdout: if memory runs out, the run exits 2 with stdout empty (Helm
    // would take a cut-off stream for the release). Writing UTF-8 copies
    // slices into the BufWriter made first and allocates nothing more, so
    // it streams; UTF-16 output (rare) is encoded in full first.
    if input.is_utf16() {
        let mut output = Vec::with_capacity(2 * (text.len() + text.len() / 8));
        input.write(&mut analysis.edits, &mut output)?;
        cli::print_with(|out| out.write_all(&output))?;
    } else {
        cli::print_with(|out| input.write(&mut analysis.edits, out))?;
    }
    // A person who sent the manifests to a file or a pipe sees what was
    // stamped; Helm and CI (stderr not a terminal) get nothing more.
    if settings.options.list_stamps {
        eprint!("{}", report::stamps(&analysis.stamped));
    }
    Ok(Exit::Success)
}
