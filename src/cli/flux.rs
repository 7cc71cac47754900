//! `secret-rollout flux HELMRELEASE.yaml`: keep a HelmRelease's post-render
//! patches in step with the render and the Secrets in Git.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use super::in_place::{render_with, settle, Change};
use super::{read_file, read_stdin, report_path, CommonArgs, POLICY_FAILED};
use crate::helm::Diagnostics;
use crate::{flux, layout, patch, report};

#[derive(Args, Clone)]
pub(super) struct FluxArgs {
    /// The HelmRelease file (helm.toolkit.fluxcd.io/v2) to keep in step; the
    /// render of its chart comes on stdin.
    helmrelease: PathBuf,
    /// Which HelmRelease (metadata.name), when the file holds several.
    #[arg(long, env = "SECRET_ROLLOUT_FLUX_NAME", value_name = "NAME")]
    name: Option<String>,
    /// Write nothing; exit 1 with a diff when the file is not up to date.
    #[arg(long, env = "SECRET_ROLLOUT_CHECK")]
    check: bool,
    /// Print the HelmRelease's spec.values as a values file, byte for byte,
    /// for `helm template -f -`; reads no render and changes nothing.
    #[arg(long, env = "SECRET_ROLLOUT_PRINT_VALUES", conflicts_with = "check")]
    print_values: bool,
    /// Render with CMD (run by `sh -c`, spec.values on its stdin) instead of
    /// reading the render from stdin, e.g. `helm template the0 ./chart -n the0 -f -`.
    #[arg(long, env = "SECRET_ROLLOUT_RENDER_COMMAND", value_name = "CMD")]
    render_command: Option<String>,
    /// The root of the GitOps repository, where Flux Kustomizations' paths
    /// start (default: the git work tree holding the HelmRelease). The order
    /// check reads the layout from there.
    #[arg(long, env = "SECRET_ROLLOUT_REPO_ROOT", value_name = "DIR")]
    repo_root: Option<PathBuf>,
    #[command(flatten)]
    common: CommonArgs,
}

impl FluxArgs {
    pub(super) fn report(&self) -> Option<PathBuf> {
        self.common.report.clone()
    }
}

pub(super) fn run(args: &FluxArgs, diagnostics: &Diagnostics) -> Result<ExitCode> {
    let path = &args.helmrelease;
    let shown = path.display().to_string();
    let text = read_file(path)?;
    let name = args.name.as_deref();
    let at = |e: flux::FluxError| anyhow::anyhow!("{shown}: {e}");
    let release = flux::release(&text, name).map_err(at)?;
    if args.print_values {
        return super::print(&flux::values(&text, name).map_err(at)?);
    }
    let mut common = args.common.clone();
    // Objects without a namespace go where helm-controller installs them.
    common.namespace = common.namespace.or(release.release_namespace.clone());
    let options = common.options()?;
    let (render, from) = match &args.render_command {
        Some(cmd) => (
            render_with(cmd, &flux::values(&text, name).map_err(at)?)?,
            "the render command's output",
        ),
        None => (read_stdin()?, "<stdin>"),
    };
    let previous = flux::current(&text, name).map_err(at)?;
    let plan =
        patch::plan(&render, &options, &previous).map_err(|e| anyhow::anyhow!("{from}: {e}"))?;
    anyhow::ensure!(
        plan.objects > 0,
        "{from}: the render is empty; give the chart's `helm template` output (see the README, Flux)"
    );
    let mut findings = plan.findings.clone();
    if plan.has_errors() {
        let text = report_text(&findings, from, "refusing to update", &shown);
        diagnostics.show(&text);
        diagnostics
            .record(&text)
            .with_context(|| format!("writing the report {}", report_path(&args.common)))?;
        return Ok(ExitCode::from(POLICY_FAILED));
    }
    let wanted = flux::update(&text, name, &plan.stamps).map_err(at)?;
    findings.extend(layout::check(
        path,
        args.repo_root.as_deref(),
        &plan.file_sources,
    ));
    let text_out = report_text(&findings, from, "checked", &shown);
    diagnostics.show(&text_out);
    diagnostics
        .record(&text_out)
        .with_context(|| format!("writing the report {}", report_path(&args.common)))?;
    let change = Change {
        path: path.clone(),
        now: Some(text),
        wanted: Some(wanted),
    };
    let stamped: Vec<String> = plan.stamps.iter().map(patch::Stamp::display).collect();
    if !args.check {
        eprintln!(
            "secret-rollout: {} patch{} for {}",
            stamped.len(),
            if stamped.len() == 1 { "" } else { "es" },
            if stamped.is_empty() {
                "no workload".to_string()
            } else {
                stamped.join(", ")
            }
        );
    }
    settle(&[change], args.check)
}

/// The findings and one summary line, for stderr and the report file.
fn report_text(findings: &[report::Finding], input: &str, verb: &str, file: &str) -> String {
    let shown = findings.iter().filter(|f| f.is_active());
    let mut text = report::text(shown, input);
    text.push_str(&format!(
        "secret-rollout: {verb} {file}: {}\n",
        report::summary(findings)
    ));
    text
}
