//! Raw flags, as clap parses them from the command line and the environment.
//! Nothing here reads a file or judges a value: [`super::settings`] turns
//! these into checked settings.
//!
//! Every option has a `SECRET_ROLLOUT_*` variable (Helm 4 fixes a plugin's
//! arguments per installation, and CI sets variables more easily than
//! arguments); an empty variable counts as unset.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The report file, when not given with `--report`.
pub const REPORT_ENV: &str = "SECRET_ROLLOUT_REPORT";

#[derive(Parser)]
#[command(
    name = "secret-rollout",
    version,
    about = "Stamp Secret/ConfigMap checksums on pod templates and refuse plaintext secrets.",
    long_about = "Reads rendered Kubernetes manifests. With no subcommand it is a Helm post-renderer: \
                  manifests on stdin, stamped manifests on stdout.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The flags of `render`, which runs without a subcommand.
    #[command(flatten)]
    pub render: CommonArgs,
}

#[derive(Subcommand)]
pub enum Command {
    /// Stamp manifests from stdin to stdout (the default); fails on policy errors.
    Render(CommonArgs),
    /// Report findings for files, directories (recursive *.yaml, *.yml) or stdin; writes no manifests.
    Check(CheckArgs),
    /// Show the reference graph: who consumes which Secret/ConfigMap keys, and what would be stamped.
    Explain(ExplainArgs),
    /// List the rules of the policy in force, with their severities.
    Rules(PolicyArgs),
    /// kustomize: a KRM function (a ResourceList on stdin), or with CONFIG a legacy exec plugin.
    Krm(KrmArgs),
    /// Keep a Flux HelmRelease's post-render patches in step with the render on stdin.
    Flux(FluxArgs),
    /// Keep a kustomization's stamp transformer in step with its build on stdin.
    Kustomization(KustomizationArgs),
    /// Print the built-in policy, to start your own from.
    Policy {
        /// Print the built-in policy (the default action).
        #[arg(long, env = "SECRET_ROLLOUT_PRINT_DEFAULT")]
        print_default: bool,
    },
}

#[derive(Args, Clone)]
pub struct CheckArgs {
    /// Files or directories; stdin when none.
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(
        long,
        value_enum,
        default_value = "text",
        env = "SECRET_ROLLOUT_FORMAT"
    )]
    pub format: CheckFormat,
    /// The least severity that makes the exit code 1.
    #[arg(
        long,
        value_enum,
        default_value = "error",
        env = "SECRET_ROLLOUT_FAIL_ON"
    )]
    pub fail_on: FailOn,
    /// Also list findings silenced by secret-rollout/ignore annotations (text format).
    #[arg(long, env = "SECRET_ROLLOUT_SHOW_SUPPRESSED")]
    pub show_suppressed: bool,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Args, Clone)]
pub struct ExplainArgs {
    /// Files or directories; stdin when none.
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(
        long,
        value_enum,
        default_value = "text",
        env = "SECRET_ROLLOUT_EXPLAIN_FORMAT"
    )]
    pub format: ExplainFormat,
    /// Only what rotating this Secret would roll.
    #[arg(long, value_name = "NAME", env = "SECRET_ROLLOUT_EXPLAIN_SECRET")]
    pub secret: Option<String>,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `secret-rollout krm [CONFIG]` (see the library's `krm`).
#[derive(Args, Clone)]
pub struct KrmArgs {
    /// A legacy exec plugin's config file (kustomize passes it first); without
    /// it stdin must be a ResourceList, whose functionConfig holds the settings.
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Args, Clone)]
pub struct FluxArgs {
    /// The HelmRelease file (helm.toolkit.fluxcd.io/v2) to keep in step; the
    /// render of its chart comes on stdin.
    pub helmrelease: PathBuf,
    /// Which HelmRelease (metadata.name), when the file holds several.
    #[arg(long, env = "SECRET_ROLLOUT_FLUX_NAME", value_name = "NAME")]
    pub name: Option<String>,
    /// Write nothing; exit 1 with a diff when the file is not up to date.
    #[arg(long, env = "SECRET_ROLLOUT_CHECK")]
    pub check: bool,
    /// Print the HelmRelease's spec.values as a values file, byte for byte,
    /// for `helm template -f -`; reads no render and changes nothing.
    #[arg(long, env = "SECRET_ROLLOUT_PRINT_VALUES", conflicts_with = "check")]
    pub print_values: bool,
    /// Render with CMD (run by `sh -c`, spec.values on its stdin) instead of
    /// reading the render from stdin, e.g. `helm template the0 ./chart -n the0 -f -`.
    #[arg(long, env = "SECRET_ROLLOUT_RENDER_COMMAND", value_name = "CMD")]
    pub render_command: Option<String>,
    /// The root of the GitOps repository, where Flux Kustomizations' paths
    /// start (default: the git work tree holding the HelmRelease). The order
    /// check reads the layout from there.
    #[arg(long, env = "SECRET_ROLLOUT_REPO_ROOT", value_name = "DIR")]
    pub repo_root: Option<PathBuf>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Args, Clone)]
pub struct KustomizationArgs {
    /// The kustomization file, or its directory; its build (`kubectl
    /// kustomize DIR`) comes on stdin.
    pub kustomization: PathBuf,
    /// Write nothing; exit 1 with a diff when the files are not up to date.
    #[arg(long, env = "SECRET_ROLLOUT_CHECK")]
    pub check: bool,
    /// Build with CMD (run by `sh -c`) instead of reading the build from
    /// stdin, e.g. `kubectl kustomize clusters/prod`.
    #[arg(long, env = "SECRET_ROLLOUT_RENDER_COMMAND", value_name = "CMD")]
    pub render_command: Option<String>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Args, Clone)]
pub struct PolicyArgs {
    /// Policy file used instead of the built-in the0 profile.
    #[arg(long, env = "SECRET_ROLLOUT_POLICY", value_name = "FILE")]
    pub policy: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
    Sarif,
    Github,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExplainFormat {
    Text,
    Json,
    Dot,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Never,
}

/// What every command that reads manifests takes.
#[derive(Args, Clone, Default)]
pub struct CommonArgs {
    /// Release namespace: where objects without metadata.namespace live.
    #[arg(long, short = 'n', env = "SECRET_ROLLOUT_NAMESPACE")]
    pub namespace: Option<String>,
    /// File holding a key for hmac-sha256 digests (plain sha256 without it).
    #[arg(long, env = "SECRET_ROLLOUT_DIGEST_KEY_FILE", value_name = "FILE")]
    pub digest_key_file: Option<PathBuf>,
    /// Policy file (apiVersion: secret-rollout/v1, kind: Policy) used instead
    /// of the built-in the0 profile.
    #[arg(long, env = "SECRET_ROLLOUT_POLICY", value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Append the findings and a summary line to FILE (created if missing).
    /// Under Helm 4, which discards a plugin's stderr, this is how CI gets the
    /// reason for a refused render.
    #[arg(long, env = REPORT_ENV, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Also read Secrets and ConfigMaps (and SealedSecrets, SOPS-encrypted
    /// Secrets, ExternalSecrets) from PATH, a file or a directory (*.yaml,
    /// *.yml, *.json): pods that read them are stamped too. Repeatable; the
    /// variable takes `:`-separated paths.
    #[arg(
        long,
        env = "SECRET_ROLLOUT_SECRETS_FROM",
        value_name = "PATH",
        value_delimiter = ':'
    )]
    pub secrets_from: Vec<PathBuf>,
}

impl Cli {
    /// The report file the user asked for, known before anything is checked
    /// so that every later error reaches it.
    pub fn report(&self) -> Option<PathBuf> {
        match &self.command {
            None => self.render.report.clone(),
            Some(Command::Render(common)) => common.report.clone(),
            Some(Command::Check(args)) => args.common.report.clone(),
            Some(Command::Krm(args)) => args.common.report.clone(),
            Some(Command::Flux(args)) => args.common.report.clone(),
            Some(Command::Kustomization(args)) => args.common.report.clone(),
            Some(Command::Explain(_) | Command::Rules(_) | Command::Policy { .. }) => None,
        }
    }
}

/// CI templates often set a variable to "" to mean "not set"; clap would
/// reject an empty value, so treat it as unset. Call before parsing.
pub fn unset_empty_env() {
    let empty: Vec<OsString> = std::env::vars_os()
        .filter(|(key, value)| {
            value.is_empty()
                && key
                    .to_str()
                    .is_some_and(|k| k.starts_with("SECRET_ROLLOUT_"))
        })
        .map(|(key, _)| key)
        .collect();
    for key in empty {
        std::env::remove_var(key);
    }
}

/// The report file of a command line that did not parse: only the
/// environment can name it then.
pub fn report_from_env() -> Option<PathBuf> {
    std::env::var_os(REPORT_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Helm 4 fixes a plugin's arguments per invocation and CI sets the
    /// environment more easily, so every option must have a variable too.
    #[test]
    fn every_option_can_be_set_from_the_environment() {
        let cli = Cli::command();
        let mut commands = vec![&cli];
        commands.extend(cli.get_subcommands());
        let mut seen = 0;
        for cmd in commands {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if arg.is_positional() || matches!(id, "help" | "version") {
                    continue;
                }
                seen += 1;
                let env = arg.get_env().unwrap_or_else(|| {
                    panic!("option --{id} of `{}` has no env variable", cmd.get_name())
                });
                assert!(
                    env.to_string_lossy().starts_with("SECRET_ROLLOUT_"),
                    "option --{id}: env {env:?} should start with SECRET_ROLLOUT_"
                );
            }
        }
        assert!(seen >= 3);
    }
}
