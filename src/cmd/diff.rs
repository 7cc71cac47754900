//! `secret-rollout diff BEFORE AFTER`: which workloads an upgrade rolls and
//! why, which Secret and ConfigMap keys changed (names only), and the
//! policy's rotation advice.

use anyhow::Result;
use secret_rollout::query::diff::{self, DiffError};

use crate::cli::args::DiffFormat;
use crate::cli::diagnostics::Diagnostics;
use crate::cli::inputs::{self, STDIN};
use crate::cli::settings::{is_stdin, Diff};
use crate::cli::{self, Exit};

pub fn run(settings: &Diff, diagnostics: &Diagnostics) -> Result<Exit> {
    let read = |path: &std::path::Path| -> Result<(String, String)> {
        if is_stdin(path) {
            Ok((STDIN.to_string(), inputs::read_stdin()?))
        } else {
            Ok((path.display().to_string(), inputs::read_file(path)?))
        }
    };
    let (before_name, before) = read(&settings.before)?;
    let (after_name, after) = read(&settings.after)?;
    let d = diff::diff(&before, &after, &settings.options).map_err(|e| match e {
        DiffError::Before(e) => anyhow::anyhow!("{before_name}: {e}"),
        DiffError::After(e) => anyhow::anyhow!("{after_name}: {e}"),
    })?;
    let text = diff::text(&d, &after_name);
    let out = match settings.format {
        DiffFormat::Text => text.clone(),
        DiffFormat::Json => format!("{:#}\n", diff::json(&d, &before_name, &after_name)),
        DiffFormat::Markdown => diff::markdown(&d, &after_name),
    };
    diagnostics.record(&text)?;
    diagnostics.summarize(&diff::markdown(&d, &after_name));
    cli::print(&out)?;
    let failed = settings.fail_on.is_some_and(|t| d.has_findings_at(t));
    Ok(if failed {
        Exit::PolicyFailed
    } else {
        Exit::Success
    })
}
