//! `secret-rollout kustomization KUSTOMIZATION.yaml`: keep the stamp
//! transformer beside a kustomization in step with its build.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use super::in_place::{render_with, settle, Change};
use super::{read_file, read_stdin, report_path, CommonArgs, POLICY_FAILED};
use crate::helm::Diagnostics;
use crate::kustomization::{self, FILE, KUSTOMIZATION_FILES};
use crate::{patch, report};

#[derive(Args, Clone)]
pub(super) struct KustomizationArgs {
    /// The kustomization file, or its directory; its build (`kubectl
    /// kustomize DIR`) comes on stdin.
    kustomization: PathBuf,
    /// Write nothing; exit 1 with a diff when the files are not up to date.
    #[arg(long, env = "SECRET_ROLLOUT_CHECK")]
    check: bool,
    /// Build with CMD (run by `sh -c`) instead of reading the build from
    /// stdin, e.g. `kubectl kustomize clusters/prod`.
    #[arg(long, env = "SECRET_ROLLOUT_RENDER_COMMAND", value_name = "CMD")]
    render_command: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
}

impl KustomizationArgs {
    pub(super) fn report(&self) -> Option<PathBuf> {
        self.common.report.clone()
    }
}

fn locate(path: &Path) -> Result<PathBuf> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    KUSTOMIZATION_FILES
        .iter()
        .map(|n| path.join(n))
        .find(|p| p.is_file())
        .with_context(|| {
            format!(
                "{}: no kustomization.yaml in this directory",
                path.display()
            )
        })
}

pub(super) fn run(args: &KustomizationArgs, diagnostics: &Diagnostics) -> Result<ExitCode> {
    let path = locate(&args.kustomization)?;
    let shown = path.display().to_string();
    let text = read_file(&path)?;
    let transformer = path.with_file_name(FILE);
    let current = match transformer.exists() {
        true => Some(read_file(&transformer)?),
        false => None,
    };
    let previous = match &current {
        Some(t) => kustomization::read_transformer(t)
            .map_err(|e| anyhow::anyhow!("{}: {e}", transformer.display()))?,
        None => Vec::new(),
    };
    let options = args.common.options()?;
    let render = match &args.render_command {
        Some(cmd) => render_with(cmd, "")?,
        None => read_stdin()?,
    };
    let plan =
        patch::plan(&render, &options, &previous).map_err(|e| anyhow::anyhow!("<stdin>: {e}"))?;
    anyhow::ensure!(
        plan.objects > 0,
        "<stdin>: the build is empty; give it `kubectl kustomize {}`",
        path.parent()
            .map_or(".".into(), |p| p.display().to_string())
    );
    let shown_findings = plan.findings.iter().filter(|f| f.is_active());
    let mut out = report::text(shown_findings, "<stdin>");
    let verb = if plan.has_errors() {
        "refusing to update"
    } else {
        "checked"
    };
    out.push_str(&format!(
        "secret-rollout: {verb} {shown}: {}\n",
        report::summary(&plan.findings)
    ));
    diagnostics.show(&out);
    diagnostics
        .record(&out)
        .with_context(|| format!("writing the report {}", report_path(&args.common)))?;
    if plan.has_errors() {
        return Ok(ExitCode::from(POLICY_FAILED));
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
            path: path.clone(),
            now: Some(text),
            wanted: Some(wanted),
        },
    ];
    settle(&changes, args.check)
}
