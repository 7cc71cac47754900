//! Checked settings, built from the raw flags by one function,
//! [`Settings::from_args`]: every file a flag names (the digest key, the
//! policy) is read here, once, and every mistake in the flags is an error
//! here, before any command runs.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use secret_rollout::{Options, Policy, Severity};

use super::args::{self, CheckFormat, Cli, CommonArgs, DiffFormat, ExplainFormat, FailOn};

/// What to run, and everything it needs, checked.
pub enum Settings {
    Render(Render),
    Check(Check),
    Explain(Explain),
    Diff(Diff),
    Rules(Rules),
    /// `policy --print-default`.
    PrintPolicy,
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
    /// Colour the text format (stdout is a terminal and `NO_COLOR` is unset).
    pub colour: bool,
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

/// `rules`: the catalogue of the policy in force.
pub struct Rules {
    pub policy: Policy,
}

/// Where manifests come from: stdin, or files and directories as given
/// (directories are walked by [`super::inputs`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inputs {
    Stdin,
    Paths(Vec<PathBuf>),
}

impl Inputs {
    fn new(paths: Vec<PathBuf>) -> Self {
        if paths.is_empty() {
            Inputs::Stdin
        } else {
            Inputs::Paths(paths)
        }
    }
}

impl Settings {
    pub fn from_args(cli: Cli) -> Result<Settings> {
        Ok(match cli.command {
            None => Settings::Render(Render {
                options: options(&cli.render.common)?,
            }),
            Some(args::Command::Render(render)) => Settings::Render(Render {
                options: options(&render.common)?,
            }),
            Some(args::Command::Check(a)) => Settings::Check(Check {
                options: options(&a.common)?,
                inputs: Inputs::new(a.paths),
                format: a.format,
                fail_on: a.fail_on.threshold(),
                show_suppressed: a.show_suppressed,
                colour: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            }),
            Some(args::Command::Explain(a)) => Settings::Explain(Explain {
                options: options(&a.common)?,
                inputs: Inputs::new(a.paths),
                format: a.format,
                secret: a.secret,
                key: a.key,
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
                policy: policy(a.policy.as_deref())?,
            }),
            Some(args::Command::Policy { print_default: _ }) => Settings::PrintPolicy,
        })
    }
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

fn options(common: &CommonArgs) -> Result<Options> {
    Ok(Options {
        namespace: common.namespace.clone(),
        digest_key: common
            .digest_key_file
            .as_deref()
            .map(digest_key)
            .transpose()?,
        policy: policy(common.policy.as_deref())?,
        secrets_from: secret_rollout::read_secrets_from(
            &common.secrets_from,
            common.namespace.as_deref(),
        )?,
    })
}

fn digest_key(path: &Path) -> Result<Vec<u8>> {
    let key =
        std::fs::read(path).with_context(|| format!("reading digest key {}", path.display()))?;
    let key = key.trim_ascii().to_vec();
    anyhow::ensure!(!key.is_empty(), "digest key {} is empty", path.display());
    Ok(key)
}

/// The policy file, or the built-in policy without one.
fn policy(path: Option<&Path>) -> Result<Policy> {
    let Some(path) = path else {
        return Ok(Policy::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading policy {}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new(""));
    Policy::parse(&text, dir).with_context(|| format!("policy {}", path.display()))
}
