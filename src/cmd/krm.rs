//! `secret-rollout krm [CONFIG]`: kustomize's KRM function (a ResourceList
//! on stdin) or, given its config file, a legacy exec plugin. The protocol
//! is the library's `krm`; here are only stdin, stdout and the exit code.

use anyhow::{Context, Result};
use secret_rollout::front::krm;

use crate::cli::diagnostics::{Diagnostics, Outcome};
use crate::cli::inputs;
use crate::cli::settings::Krm;
use crate::cli::{self, Exit};

pub fn run(settings: &Krm, diagnostics: &Diagnostics) -> Result<Exit> {
    let input = inputs::read_stdin()?;
    let output = match &settings.config {
        None => krm::function(&input, &settings.options),
        Some(path) => {
            let config = secret_rollout::trust::regular::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            krm::legacy(
                &path.display().to_string(),
                &config,
                &input,
                &settings.options,
            )
        }
    };
    finish(output, diagnostics)
}

/// Show and record what the function says, write its stdout, and exit as it
/// asks: a KRM function writes its ResourceList (with `results`) also when
/// it fails.
pub fn finish(output: krm::Output, diagnostics: &Diagnostics) -> Result<Exit> {
    if !output.stderr.is_empty() {
        let outcome = if output.exit == 0 {
            Outcome::Succeeded
        } else {
            Outcome::Failed
        };
        diagnostics.show(&output.stderr, outcome);
        diagnostics.record(&output.stderr)?;
    }
    cli::print(&output.stdout)?;
    Ok(match output.exit {
        0 => Exit::Success,
        1 => Exit::PolicyFailed,
        _ => Exit::BadInput,
    })
}
