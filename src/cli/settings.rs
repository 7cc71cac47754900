//! Checked settings, built from the raw flags by one function,
//! [`Settings::from_args`]: every file a flag names (the digest key, the
//! policy) is read here, once, and every mistake in the flags is an error
//! here, before any command runs.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use secret_rollout::{Options, Policy, Severity};

use super::args::{self, CheckFormat, Cli, CommonArgs, DiffFormat, ExplainFormat, FailOn};
use super::inputs::Inputs;

/// What to run, and everything it needs, checked.
pub enum Settings {
    Render(Render),
    Check(Check),
    Explain(Explain),
    Diff(Diff),
    Rules(Rules),
    Krm(Krm),
    Flux(Flux),
    Kustomization(Kustomization),
    /// `policy --print-default`.
    PrintPolicy,
    /// `policy --print-effective`: the policy in force, and where it is from.
    PrintEffective {
        policy: Policy,
        source: String,
    },
}

/// `render`: stdin to stdout.
pub struct Render {
    pub options: Options,
}

/// `check`: findings for the inputs.
pub struct Check {
    pub inputs: Inputs,
    pub options: Options,
    pub format: CheckFormat,
    /// The least severity that fails the run; `None` never fails.
    pub fail_on: Option<Severity>,
    pub show_suppressed: bool,
    /// An input without objects passes (`--allow-empty`).
    pub allow_empty: bool,
    /// Colour the text format (stdout is a terminal and `NO_COLOR` is unset).
    pub colour: bool,
    /// The directory of the chart rendered (`--chart-root`): findings from
    /// its templates point at their files there.
    pub chart_root: Option<PathBuf>,
}

/// `explain`: the reference graph of the inputs.
pub struct Explain {
    pub inputs: Inputs,
    pub options: Options,
    pub format: ExplainFormat,
    pub secret: Option<String>,
    /// With `secret`: only this key of it.
    pub key: Option<String>,
}

/// `diff`: what an upgrade from one render to another rolls.
pub struct Diff {
    pub before: PathBuf,
    pub after: PathBuf,
    pub options: Options,
    pub format: DiffFormat,
    /// The least severity of advice that fails the run; `None` never fails.
    pub fail_on: Option<Severity>,
}

/// `krm`: kustomize's KRM function, or its legacy exec plugin with `config`.
pub struct Krm {
    pub options: Options,
    pub config: Option<PathBuf>,
}

/// `flux`: the HelmRelease file, read here, and what to do with it.
pub struct Flux {
    pub path: PathBuf,
    pub text: String,
    pub name: Option<String>,
    /// Objects without a namespace are in the release namespace unless
    /// `--namespace` says otherwise.
    pub options: Options,
    pub action: FluxAction,
    pub render_command: Option<String>,
    pub repo_root: Option<PathBuf>,
}

pub enum FluxAction {
    PrintValues,
    Update { check: bool },
}

/// `kustomization`: the kustomization file (found in a directory) and the build.
pub struct Kustomization {
    pub path: PathBuf,
    pub options: Options,
    pub check: bool,
    pub render_command: Option<String>,
}

/// `rules`: the catalogue of the policy in force.
pub struct Rules {
    pub policy: Policy,
    /// Print this rule's documentation instead of the list.
    pub rule: Option<String>,
}

impl Settings {
    pub fn from_args(cli: Cli) -> Result<Settings> {
        Ok(match cli.command {
            None => Settings::Render(Render {
                options: render_options(&cli.render.common)?,
            }),
            Some(args::Command::Render(render)) => Settings::Render(Render {
                options: render_options(&render.common)?,
            }),
            Some(args::Command::Check(a)) => Settings::Check(Check {
                // A gate refuses what `kubectl apply` would.
                options: Options {
                    read_all: true,
                    ..options(&a.common)?
                },
                inputs: Inputs::new(a.paths),
                format: a.format,
                fail_on: a.fail_on.threshold(),
                show_suppressed: a.show_suppressed,
                allow_empty: a.allow_empty,
                colour: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
                chart_root: a.chart_root.map(chart_root).transpose()?,
            }),
            Some(args::Command::Explain(a)) => Settings::Explain(Explain {
                options: options(&a.common)?,
                inputs: Inputs::new(a.paths),
                format: a.format,
                secret: a.secret,
                key: a.key,
            }),
            Some(args::Command::Flux(a)) => Settings::Flux(flux(a)?),
            Some(args::Command::Kustomization(a)) => Settings::Kustomization(Kustomization {
                path: kustomization_file(&a.kustomization)?,
                options: options(&a.common)?,
                check: a.check,
                render_command: a.render_command,
            }),
            Some(args::Command::Diff(a)) => {
                anyhow::ensure!(
                    !(is_stdin(&a.before) && is_stdin(&a.after)),
                    "diff: only one of BEFORE and AFTER can be `-` (stdin)"
                );
                Settings::Diff(Diff {
                    options: options(&a.common)?,
                    before: a.before,
                    after: a.after,
                    format: a.format,
                    fail_on: a.fail_on.threshold(),
                })
            }
            Some(args::Command::Rules(a)) => Settings::Rules(Rules {
                policy: policy(a.policy.policy.as_deref())?,
                rule: a.rule,
            }),
            Some(args::Command::Krm(a)) => Settings::Krm(Krm {
                options: options(&a.common)?,
                config: a.config,
            }),
            Some(args::Command::Policy(a)) if a.print_effective => {
                let policy = policy(a.policy.as_deref())?;
                let source = match &a.policy {
                    Some(p) if policy.from_nothing => format!("{} (extends: none)", p.display()),
                    Some(p) => format!("the built-in profile extended by {}", p.display()),
                    None => "the built-in profile".to_string(),
                };
                Settings::PrintEffective { policy, source }
            }
            Some(args::Command::Policy(_)) => Settings::PrintPolicy,
        })
    }

    /// The policy this run uses, if it uses one.
    pub fn policy(&self) -> Option<&Policy> {
        match self {
            Settings::Render(s) => Some(&s.options.policy),
            Settings::Check(s) => Some(&s.options.policy),
            Settings::Explain(s) => Some(&s.options.policy),
            Settings::Diff(s) => Some(&s.options.policy),
            Settings::Krm(s) => Some(&s.options.policy),
            Settings::Flux(s) => Some(&s.options.policy),
            Settings::Kustomization(s) => Some(&s.options.policy),
            Settings::Rules(s) => Some(&s.policy),
            Settings::PrintEffective { policy, .. } => Some(policy),
            Settings::PrintPolicy => None,
        }
    }
}

fn flux(a: args::FluxArgs) -> Result<Flux> {
    let shown = a.helmrelease.display().to_string();
    let text = super::inputs::read_utf8_file(&a.helmrelease)?;
    let release = secret_rollout::front::flux::release(&text, a.name.as_deref())
        .map_err(|e| anyhow::anyhow!("{shown}: {e}"))?;
    let mut common = a.common;
    common.namespace = common.namespace.or(release.release_namespace.clone());
    Ok(Flux {
        options: options(&common)?,
        path: a.helmrelease,
        text,
        name: a.name,
        action: if a.print_values {
            FluxAction::PrintValues
        } else {
            FluxAction::Update { check: a.check }
        },
        render_command: a.render_command,
        repo_root: a.repo_root,
    })
}

/// The kustomization file `path` names: itself, or the one in a directory.
fn kustomization_file(path: &Path) -> Result<PathBuf> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    secret_rollout::front::kustomization::KUSTOMIZATION_FILES
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

/// `--chart-root DIR`: a chart's directory, named in UTF-8 (it is shown in
/// every annotation that points into it).
fn chart_root(dir: PathBuf) -> Result<PathBuf> {
    let shown = dir.display();
    let meta =
        std::fs::metadata(&dir).with_context(|| format!("--chart-root {shown}: cannot read it"))?;
    anyhow::ensure!(
        meta.is_dir(),
        "--chart-root {shown}: not a directory (give the directory that holds the chart's Chart.yaml)"
    );
    anyhow::ensure!(
        dir.join("Chart.yaml").is_file(),
        "--chart-root {shown}: no Chart.yaml there (give the directory that holds the chart's Chart.yaml)"
    );
    anyhow::ensure!(
        dir.to_str().is_some(),
        "--chart-root {shown}: the path is not UTF-8, so no annotation could name it"
    );
    Ok(dir)
}

/// `-` names standard input.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

impl FailOn {
    fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Never => None,
        }
    }
}

/// A post-renderer's options: as a Helm 4 plugin, Helm may send the
/// release's hooks in a call of their own; a person who sent the manifests
/// to a file or a pipe sees what was stamped (Helm and CI, whose stderr is
/// no terminal, get nothing more).
fn render_options(common: &CommonArgs) -> Result<Options> {
    Ok(Options {
        hooks_called_apart: secret_rollout::front::helm::running_as_plugin(),
        list_stamps: !std::io::stdout().is_terminal() && std::io::stderr().is_terminal(),
        ..options(common)?
    })
}

fn options(common: &CommonArgs) -> Result<Options> {
    let policy = policy(common.policy.as_deref())?;
    // The policy's `secretsFrom:` (relative to the policy file) and the
    // flag's paths together: a Helm 4 plugin call can then carry none.
    let paths: Vec<PathBuf> = policy
        .secrets_from
        .iter()
        .chain(&common.secrets_from)
        .cloned()
        .collect();
    let mut options = Options {
        namespace: common.namespace.clone(),
        digest_key: common
            .digest_key_file
            .as_deref()
            .map(digest_key)
            .transpose()?,
        secrets_from: Default::default(),
        policy,
        lookup: None,
        read_all: false,
        template_digests: false,
        hooks_called_apart: false,
        list_stamps: false,
    };
    // First: with --lookup and no --namespace, the release namespace is the
    // kubeconfig context's, for --secrets-from files as for the cluster.
    if common.lookup {
        options.enable_lookup(common.lookup_timeout)?;
    }
    options.secrets_from = secret_rollout::read_secrets_from(&paths, options.namespace.as_deref())?;
    Ok(options)
}

fn digest_key(path: &Path) -> Result<Vec<u8>> {
    let key = secret_rollout::trust::regular::read(path)
        .with_context(|| format!("reading digest key {}", path.display()))?;
    let key = key.trim_ascii().to_vec();
    anyhow::ensure!(!key.is_empty(), "digest key {} is empty", path.display());
    Ok(key)
}

/// The built-in policy, extended by the policy file if there is one.
fn policy(path: Option<&Path>) -> Result<Policy> {
    let Some(path) = path else {
        return Ok(Policy::default());
    };
    let text = secret_rollout::trust::regular::read_to_string(path)
        .with_context(|| format!("reading policy {}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new(""));
    Policy::parse(&text, dir).with_context(|| format!("policy {}", path.display()))
}
