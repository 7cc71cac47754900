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
    pub render: RenderArgs,
}

#[derive(Subcommand)]
pub enum Command {
    /// Stamp manifests from stdin to stdout (the default); fails on policy errors.
    Render(RenderArgs),
    /// Report findings for files, directories (recursive *.yaml, *.yml; regular files only, links followed only inside) or stdin; writes no manifests.
    Check(CheckArgs),
    /// Show the reference graph: who consumes which Secret/ConfigMap keys, and what would be stamped.
    Explain(ExplainArgs),
    /// Compare two renders (or `helm get manifest` with a new render): which workloads will roll and why.
    Diff(DiffArgs),
    /// List the rules of the policy in force, with their severities; with RULE, its documentation.
    Rules(RulesArgs),
    /// kustomize: a KRM function (a ResourceList on stdin), or with CONFIG a legacy exec plugin.
    Krm(KrmArgs),
    /// Keep a Flux HelmRelease's post-render patches in step with the render on stdin.
    Flux(FluxArgs),
    /// Keep a kustomization's stamp transformer in step with its build on stdin.
    Kustomization(KustomizationArgs),
    /// Print the built-in policy, to start your own from, or the policy in force.
    Policy(PolicyCmdArgs),
}

/// `secret-rollout policy`.
#[derive(Args, Clone)]
pub struct PolicyCmdArgs {
    /// Print the built-in policy (the default action): a complete file
    /// (`extends: none`) to start your own from.
    #[arg(long, env = "SECRET_ROLLOUT_PRINT_DEFAULT")]
    pub print_default: bool,
    /// Print the policy in force, as one complete policy file: the built-in
    /// profile extended by --policy (or SECRET_ROLLOUT_POLICY).
    #[arg(
        long,
        env = "SECRET_ROLLOUT_PRINT_EFFECTIVE",
        conflicts_with = "print_default"
    )]
    pub print_effective: bool,
    /// Policy file that extends the built-in profile (see --print-effective).
    #[arg(long, env = "SECRET_ROLLOUT_POLICY", value_name = "FILE")]
    pub policy: Option<PathBuf>,
}

#[derive(Args, Clone, Default)]
pub struct RenderArgs {
    /// Also write findings to the controlling terminal: `auto` when the
    /// program running us would hide our stderr (Helm 4 always, Helm 3 on
    /// success), `always`, or `never`.
    #[arg(
        long,
        value_enum,
        default_value = "auto",
        env = TERMINAL_ENV
    )]
    pub terminal: TerminalMode,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum TerminalMode {
    #[default]
    Auto,
    Always,
    Never,
}

/// The terminal mode, when not given with `--terminal`.
pub const TERMINAL_ENV: &str = "SECRET_ROLLOUT_TERMINAL";

#[derive(Args, Clone)]
pub struct CheckArgs {
    /// Files or directories; stdin when none. Only regular files are read (a
    /// FIFO, socket or device is refused); a directory walk skips them and
    /// follows symbolic links only to places inside the directory.
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
    /// Pass when the inputs hold no object at all. Without it an empty input
    /// fails (exit 2): `helm template <broken chart> | secret-rollout check`
    /// must not be green under a shell without `pipefail`.
    #[arg(long, env = "SECRET_ROLLOUT_ALLOW_EMPTY")]
    pub allow_empty: bool,
    /// The directory that holds the chart whose render this is, as the
    /// repository names it (`charts/the0`): the sarif and github formats
    /// then point a finding from `CHART/templates/x.yaml` at
    /// `DIR/templates/x.yaml`, at the template's own line, where a pull
    /// request shows it. A finding whose template line cannot be told
    /// keeps the rendered file.
    #[arg(long, env = "SECRET_ROLLOUT_CHART_ROOT", value_name = "DIR")]
    pub chart_root: Option<PathBuf>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Args, Clone)]
pub struct ExplainArgs {
    /// Files or directories; stdin when none. Only regular files are read (a
    /// FIFO, socket or device is refused); a directory walk skips them and
    /// follows symbolic links only to places inside the directory.
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
    /// With --secret: only what rotating this key of it would roll.
    #[arg(
        long,
        value_name = "KEY",
        requires = "secret",
        env = "SECRET_ROLLOUT_EXPLAIN_KEY"
    )]
    pub key: Option<String>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Args, Clone)]
pub struct DiffArgs {
    /// The manifests now (a render, or `helm get manifest RELEASE`); `-` for stdin.
    pub before: PathBuf,
    /// The manifests after the change; `-` for stdin.
    pub after: PathBuf,
    /// Output format.
    #[arg(
        long,
        value_enum,
        default_value = "text",
        env = "SECRET_ROLLOUT_DIFF_FORMAT"
    )]
    pub format: DiffFormat,
    /// The least severity of rotation advice that makes the exit code 1.
    #[arg(
        long,
        value_enum,
        default_value = "error",
        env = "SECRET_ROLLOUT_DIFF_FAIL_ON"
    )]
    pub fail_on: FailOn,
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
pub struct RulesArgs {
    /// A rule id: print its documentation (signals, examples, fix).
    pub rule: Option<String>,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

#[derive(Args, Clone)]
pub struct PolicyArgs {
    /// Policy file that extends the built-in the0 profile: it changes what it
    /// names and keeps the rest (`extends: none` in it starts from nothing).
    #[arg(long, env = "SECRET_ROLLOUT_POLICY", value_name = "FILE")]
    pub policy: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
    Sarif,
    Github,
    /// A table for a pull-request comment or a step summary.
    Markdown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExplainFormat {
    Text,
    Json,
    Dot,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    Text,
    Json,
    /// For a pull-request comment.
    Markdown,
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
    /// Policy file (apiVersion: secret-rollout/v1, kind: Policy) that extends
    /// the built-in the0 profile: it changes what it names and keeps the rest
    /// (`extends: none` in it starts from nothing, and every run then says
    /// which built-in protections are off).
    #[arg(long, env = "SECRET_ROLLOUT_POLICY", value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Append the findings and a summary line to FILE (created if missing).
    /// Under Helm 4, which discards a plugin's stderr, this is how CI gets the
    /// reason for a refused render.
    #[arg(long, env = REPORT_ENV, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Also read Secrets and ConfigMaps (and SealedSecrets, SOPS-encrypted
    /// Secrets, ExternalSecrets) from PATH, a file or a directory (*.yaml,
    /// *.yml, *.json; regular files only, links followed only inside the
    /// directory): pods that read them are stamped too. Repeatable; the
    /// variable takes `:`-separated paths.
    #[arg(
        long,
        env = "SECRET_ROLLOUT_SECRETS_FROM",
        value_name = "PATH",
        value_delimiter = ':'
    )]
    pub secrets_from: Vec<PathBuf>,
    /// Also read from the cluster the Secrets and ConfigMaps pods use that
    /// neither the render nor --secrets-from holds: one GET by name each
    /// (never a list), with the kubeconfig's current context. Needs
    /// --digest-key-file.
    #[arg(long, env = "SECRET_ROLLOUT_LOOKUP")]
    pub lookup: bool,
    /// How long all --lookup requests of a run may take together.
    #[arg(
        long,
        env = "SECRET_ROLLOUT_LOOKUP_TIMEOUT",
        value_name = "SECONDS",
        default_value = "10",
        value_parser = secret_rollout::sources::lookup::parse_timeout
    )]
    pub lookup_timeout: std::time::Duration,
}

impl Cli {
    /// The report file the user asked for, known before anything is checked
    /// so that every later error reaches it.
    pub fn report(&self) -> Option<PathBuf> {
        match &self.command {
            None => self.render.common.report.clone(),
            Some(Command::Render(render)) => render.common.report.clone(),
            Some(Command::Check(args)) => args.common.report.clone(),
            Some(Command::Krm(args)) => args.common.report.clone(),
            Some(Command::Flux(args)) => args.common.report.clone(),
            Some(Command::Kustomization(args)) => args.common.report.clone(),
            Some(Command::Diff(args)) => args.common.report.clone(),
            Some(Command::Explain(_) | Command::Rules(_) | Command::Policy(_)) => None,
        }
    }

    /// The policy file the user gave, for the notice of protections it
    /// has off.
    pub fn policy_file(&self) -> Option<PathBuf> {
        match &self.command {
            None => self.render.common.policy.clone(),
            Some(Command::Render(a)) => a.common.policy.clone(),
            Some(Command::Check(a)) => a.common.policy.clone(),
            Some(Command::Explain(a)) => a.common.policy.clone(),
            Some(Command::Diff(a)) => a.common.policy.clone(),
            Some(Command::Krm(a)) => a.common.policy.clone(),
            Some(Command::Flux(a)) => a.common.policy.clone(),
            Some(Command::Kustomization(a)) => a.common.policy.clone(),
            Some(Command::Rules(a)) => a.policy.policy.clone(),
            Some(Command::Policy(a)) => a.policy.clone(),
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

impl Cli {
    /// How a post-renderer (`render`, or no subcommand) uses the terminal;
    /// `None` for the other commands, whose stderr is the user's.
    pub fn terminal(&self) -> Option<TerminalMode> {
        match &self.command {
            None => Some(self.render.terminal),
            Some(Command::Render(render)) => Some(render.terminal),
            // kustomize drops a successful legacy plugin's stderr, warnings
            // and all, as Helm 3 does a post-renderer's.
            Some(Command::Krm(args)) if args.config.is_some() => Some(terminal_from_env()),
            Some(_) => None,
        }
    }
}

/// The terminal mode of a command line that did not parse: from the
/// environment only.
pub fn terminal_from_env() -> TerminalMode {
    match std::env::var(TERMINAL_ENV).as_deref() {
        Ok("never") => TerminalMode::Never,
        Ok("always") => TerminalMode::Always,
        _ => TerminalMode::Auto,
    }
}

/// The report file of a command line that did not parse: a `--report FILE`
/// or `--report=FILE` among the arguments (Helm passes each
/// `--post-renderer-args` as one, so a bad one leaves the others intact),
/// else the environment.
pub fn report_from_raw() -> Option<PathBuf> {
    report_in(std::env::args_os().skip(1)).or_else(|| {
        std::env::var_os(REPORT_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
}

fn report_in(args: impl IntoIterator<Item = OsString>) -> Option<PathBuf> {
    let mut args = args.into_iter();
    let mut found = None;
    while let Some(arg) = args.next() {
        let Some(text) = arg.to_str() else { continue };
        if text == "--" {
            break;
        }
        if text == "--report" {
            found = args.next().map(PathBuf::from);
        } else if let Some(path) = text.strip_prefix("--report=") {
            found = Some(PathBuf::from(path));
        }
    }
    found.filter(|p| !p.as_os_str().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn a_report_is_found_among_arguments_that_do_not_parse() {
        let args = |a: &[&str]| report_in(a.iter().map(OsString::from));
        assert_eq!(
            args(&["--namespace the0", "--report=/tmp/r.txt"]),
            Some(PathBuf::from("/tmp/r.txt"))
        );
        assert_eq!(
            args(&["render", "--report", "r.txt", "--bogus"]),
            Some(PathBuf::from("r.txt"))
        );
        assert_eq!(args(&["--report="]), None);
        assert_eq!(args(&["--", "--report=x"]), None);
        assert_eq!(args(&["--reports=x"]), None);
    }

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
