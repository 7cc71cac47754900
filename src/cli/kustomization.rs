//! `secret-rollout kustomization KUSTOMIZATION.yaml`: keep the stamp
//! transformer beside a kustomization in step with its build.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use super::CommonArgs;
use crate::helm::Diagnostics;

#[derive(Args, Clone)]
pub(super) struct KustomizationArgs {
    /// The kustomization file (or its directory); its build comes on stdin.
    kustomization: PathBuf,
    /// Write nothing; exit 1 with a diff when the files are not up to date.
    #[arg(long, env = "SECRET_ROLLOUT_CHECK")]
    check: bool,
    #[command(flatten)]
    common: CommonArgs,
}

pub(super) fn run(_args: &KustomizationArgs, _diagnostics: &Diagnostics) -> Result<ExitCode> {
    anyhow::bail!("not yet")
}
