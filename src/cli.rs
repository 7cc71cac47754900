//! Command line: argument parsing and exit codes. The work is in the library.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use rayon::prelude::*;

use crate::config::Policy;
use crate::explain;
use crate::format::{self, FileReport};
use crate::helm::{self, Diagnostics};
use crate::report::{self, Severity};
use crate::Options;

mod flux;
mod in_place;
mod kustomization;

/// Exit codes: 0 success, 1 a policy error, 2 bad input, usage or I/O.
const POLICY_FAILED: u8 = 1;
const BAD_INPUT: u8 = 2;

/// The report file, when not given with `--report`.
const REPORT_ENV: &str = "SECRET_ROLLOUT_REPORT";

#[derive(Parser)]
#[command(
    name = "secret-rollout",
    version,
    about = "Stamp Secret/ConfigMap checksums on pod templates and refuse plaintext secrets.",
    long_about = "Reads rendered Kubernetes manifests. With no subcommand it is a Helm post-renderer: \
                  manifests on stdin, stamped manifests on stdout.",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    render: CommonArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Stamp manifests from stdin to stdout (the default); fails on policy errors.
    Render(CommonArgs),
    /// Report findings for files, directories (recursive *.yaml, *.yml) or stdin; writes no manifests.
    Check(CheckArgs),
    /// Show the reference graph: who consumes which Secret/ConfigMap keys, and what would be stamped.
    Explain(ExplainArgs),
    /// List the rules of the policy in force, with their severities.
    Rules(PolicyArgs),
    /// Keep a Flux HelmRelease's post-render patches in step with the render on stdin.
    Flux(flux::FluxArgs),
    /// Keep a kustomization's stamp transformer in step with its build on stdin.
    Kustomization(kustomization::KustomizationArgs),
    /// Print the built-in policy, to start your own from.
    Policy {
        /// Print the built-in policy (the default action).
        #[arg(long, env = "SECRET_ROLLOUT_PRINT_DEFAULT")]
        print_default: bool,
    },
}

#[derive(Args, Clone)]
struct CheckArgs {
    /// Files or directories; stdin when none.
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(
        long,
        value_enum,
        default_value = "text",
        env = "SECRET_ROLLOUT_FORMAT"
    )]
    format: CheckFormat,
    /// The least severity that makes the exit code 1.
    #[arg(
        long,
        value_enum,
        default_value = "error",
        env = "SECRET_ROLLOUT_FAIL_ON"
    )]
    fail_on: FailOn,
    /// Also list findings silenced by secret-rollout/ignore annotations (text format).
    #[arg(long, env = "SECRET_ROLLOUT_SHOW_SUPPRESSED")]
    show_suppressed: bool,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Args, Clone)]
struct ExplainArgs {
    /// Files or directories; stdin when none.
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(
        long,
        value_enum,
        default_value = "text",
        env = "SECRET_ROLLOUT_EXPLAIN_FORMAT"
    )]
    format: ExplainFormat,
    /// Only what rotating this Secret would roll.
    #[arg(long, value_name = "NAME", env = "SECRET_ROLLOUT_EXPLAIN_SECRET")]
    secret: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Args, Clone)]
struct PolicyArgs {
    /// Policy file used instead of the built-in the0 profile.
    #[arg(long, env = "SECRET_ROLLOUT_POLICY", value_name = "FILE")]
    policy: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum CheckFormat {
    Text,
    Json,
    Sarif,
    Github,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ExplainFormat {
    Text,
    Json,
    Dot,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FailOn {
    Error,
    Warning,
    Never,
}

#[derive(Args, Clone, Default)]
struct CommonArgs {
    /// Release namespace: where objects without metadata.namespace live.
    #[arg(long, short = 'n', env = "SECRET_ROLLOUT_NAMESPACE")]
    namespace: Option<String>,
    /// File holding a key for hmac-sha256 digests (plain sha256 without it).
    #[arg(long, env = "SECRET_ROLLOUT_DIGEST_KEY_FILE", value_name = "FILE")]
    digest_key_file: Option<PathBuf>,
    /// Policy file (apiVersion: secret-rollout/v1, kind: Policy) used instead
    /// of the built-in the0 profile.
    #[arg(long, env = "SECRET_ROLLOUT_POLICY", value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Append the findings and a summary line to FILE (created if missing).
    /// Under Helm 4, which discards a plugin's stderr, this is how CI gets the
    /// reason for a refused render.
    #[arg(long, env = REPORT_ENV, value_name = "FILE")]
    report: Option<PathBuf>,
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
    secrets_from: Vec<PathBuf>,
}

impl CommonArgs {
    fn options(&self) -> Result<Options> {
        let digest_key = match &self.digest_key_file {
            None => None,
            Some(path) => {
                let key = std::fs::read(path)
                    .with_context(|| format!("reading digest key {}", path.display()))?;
                let key = key.trim_ascii().to_vec();
                anyhow::ensure!(!key.is_empty(), "digest key {} is empty", path.display());
                Some(key)
            }
        };
        let policy = load_policy(self.policy.as_deref())?;
        let secrets_from =
            crate::secret_files::read(&self.secrets_from, self.namespace.as_deref())?;
        Ok(Options {
            namespace: self.namespace.clone(),
            digest_key,
            policy,
            secrets_from,
        })
    }
}

fn load_policy(path: Option<&Path>) -> Result<Policy> {
    match path {
        None => Ok(Policy::default()),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading policy {}", path.display()))?;
            Policy::parse(&text).map_err(|e| anyhow::anyhow!("policy {}: {e}", path.display()))
        }
    }
}

pub fn main() -> ExitCode {
    // CI templates often set a variable to "" to mean "not set"; clap would
    // reject an empty value, so treat it as unset.
    for (key, value) in std::env::vars_os() {
        let key_is_ours = key
            .to_str()
            .is_some_and(|k| k.starts_with("SECRET_ROLLOUT_"));
        if key_is_ours && value.is_empty() {
            std::env::remove_var(&key);
        }
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            // A usage error from `--post-renderer-args` must be readable
            // under Helm 4 too; the report path comes from the env only.
            let report = std::env::var_os(REPORT_ENV).filter(|v| !v.is_empty());
            let diagnostics = Diagnostics::new(report.map(PathBuf::from));
            let text = e.render().to_string();
            let text = if text.ends_with('\n') {
                text
            } else {
                text + "\n"
            };
            diagnostics.show(&text);
            let _ = diagnostics.record(&text);
            return ExitCode::from(BAD_INPUT);
        }
    };
    run(cli)
}

fn run(cli: Cli) -> ExitCode {
    let (common, result) = match cli.command {
        None => {
            let d = Diagnostics::new(cli.render.report.clone());
            let r = render(&cli.render, &d);
            (d, r)
        }
        Some(Command::Render(args)) => {
            let d = Diagnostics::new(args.report.clone());
            let r = render(&args, &d);
            (d, r)
        }
        Some(Command::Check(args)) => {
            let d = Diagnostics::new(args.common.report.clone());
            let r = check(&args, &d);
            (d, r)
        }
        Some(Command::Flux(args)) => {
            let d = Diagnostics::new(args.report());
            let r = flux::run(&args, &d);
            (d, r)
        }
        Some(Command::Kustomization(args)) => {
            let d = Diagnostics::new(args.report());
            let r = kustomization::run(&args, &d);
            (d, r)
        }
        Some(Command::Explain(args)) => (Diagnostics::new(None), explain(&args)),
        Some(Command::Rules(args)) => (Diagnostics::new(None), rules(&args)),
        Some(Command::Policy { print_default: _ }) => {
            (Diagnostics::new(None), print(crate::config::DEFAULT_POLICY))
        }
    };
    result.unwrap_or_else(|e| {
        let text = format!("secret-rollout: error: {e:#}\n");
        common.show(&text);
        let _ = common.record(&text);
        ExitCode::from(BAD_INPUT)
    })
}

fn read_stdin() -> Result<String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .context("reading stdin")?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "<stdin>: input is not UTF-8 (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

fn render(args: &CommonArgs, diagnostics: &Diagnostics) -> Result<ExitCode> {
    let options = args.options()?;
    let input = read_stdin()?;
    let mut analysis =
        crate::analyze(&input, &options).map_err(|e| anyhow::anyhow!("<stdin>: {e}"))?;
    if helm::running_as_plugin()
        && analysis
            .findings
            .iter()
            .any(|f| f.rule == report::Rule::UnresolvedReference.id())
        && analysis.hooks_only
    {
        helm::explain_hooks_only(&mut analysis.findings);
    }
    let failed = analysis.has_errors();
    let summary = report::summary(&analysis.findings);
    // Suppressed findings are counted in the summary, not shown: the user
    // silenced them on purpose.
    let shown = analysis.findings.iter().filter(|f| f.is_active());
    let mut text = report::text(shown, "<stdin>");
    if failed {
        text.push_str(&format!("secret-rollout: refusing to render: {summary}\n"));
    } else if !analysis.findings.is_empty() {
        text.push_str(&format!("secret-rollout: rendered with {summary}\n"));
    }
    if !text.is_empty() {
        diagnostics.show(&text);
    }
    if text.is_empty() {
        text = format!("secret-rollout: rendered with {summary}\n");
    }
    diagnostics
        .record(&text)
        .with_context(|| format!("writing the report {}", report_path(args)))?;
    if failed {
        return Ok(ExitCode::from(POLICY_FAILED));
    }
    let output = crate::apply(&input, &mut analysis);
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(output.as_bytes())
        .and_then(|()| stdout.flush())
        .context("writing stdout")?;
    Ok(ExitCode::SUCCESS)
}

fn report_path(args: &CommonArgs) -> String {
    args.report
        .as_deref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

fn print(text: &str) -> Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .context("writing stdout")?;
    Ok(ExitCode::SUCCESS)
}

/// The inputs named on the command line: files as given, directories walked
/// for `*.yaml`/`*.yml` in sorted order, stdin when there are none.
fn inputs(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out).with_context(|| format!("reading directory {}", p.display()))?;
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(p);
        }
    }
    Ok(())
}

fn read_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{}: input is not UTF-8 (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// Run `f` over every input in parallel, keeping input order. Returns the
/// results and one message per input that could not be read or parsed.
fn each_input<T: Send>(
    paths: &[PathBuf],
    f: impl Fn(&str, &str) -> Result<T> + Sync,
) -> Result<(Vec<T>, Vec<String>)> {
    let files = inputs(paths)?;
    let results: Vec<Result<T>> = if paths.is_empty() {
        let text = read_stdin()?;
        vec![f(format::STDIN, &text)]
    } else {
        anyhow::ensure!(
            !files.is_empty(),
            "no *.yaml or *.yml files under the given paths"
        );
        files
            .par_iter()
            .map(|p| {
                let name = p.display().to_string();
                read_file(p).and_then(|text| f(&name, &text))
            })
            .collect()
    };
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for r in results {
        match r {
            Ok(v) => ok.push(v),
            Err(e) => bad.push(format!("secret-rollout: error: {e:#}")),
        }
    }
    Ok((ok, bad))
}

fn check(args: &CheckArgs, diagnostics: &Diagnostics) -> Result<ExitCode> {
    let options = args.common.options()?;
    let (reports, bad) = each_input(&args.paths, |name, text| {
        let analysis =
            crate::analyze(text, &options).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        Ok(FileReport {
            file: name.to_string(),
            findings: analysis.findings,
        })
    })?;
    let out = match args.format {
        CheckFormat::Text => {
            let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            format::text(&reports, args.show_suppressed, colour)
        }
        CheckFormat::Json => format!("{:#}\n", format::json(&reports)),
        CheckFormat::Sarif => format!("{:#}\n", format::sarif(&reports, &options.policy)),
        CheckFormat::Github => format::github(&reports),
    };
    let plain = format::text(&reports, args.show_suppressed, false);
    diagnostics
        .record(&plain)
        .with_context(|| format!("writing the report {}", report_path(&args.common)))?;
    print(&out)?;
    if !bad.is_empty() {
        diagnostics.show(&(bad.join("\n") + "\n"));
        return Ok(ExitCode::from(BAD_INPUT));
    }
    let threshold = match args.fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Never => None,
    };
    let failed = threshold.is_some_and(|t| {
        reports
            .iter()
            .flat_map(|r| &r.findings)
            .any(|f| f.is_active() && f.severity <= t)
    });
    Ok(if failed {
        ExitCode::from(POLICY_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

fn explain(args: &ExplainArgs) -> Result<ExitCode> {
    let options = args.common.options()?;
    let (graphs, bad) = each_input(&args.paths, |name, text| {
        let graph = explain::graph(text, &options).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        let graph = match &args.secret {
            Some(secret) => explain::only_secret(graph, secret),
            None => graph,
        };
        Ok((name.to_string(), graph))
    })?;
    if !bad.is_empty() {
        anyhow::bail!(
            "{}",
            bad.join("\n").trim_start_matches("secret-rollout: error: ")
        );
    }
    let several = graphs.len() > 1;
    let all: Vec<explain::WorkloadUses> = graphs.iter().flat_map(|(_, g)| g.clone()).collect();
    let out = match (args.format, &args.secret) {
        (ExplainFormat::Json, _) => {
            let mut v = explain::json(&all);
            if several {
                // Say which input each workload came from.
                let files = graphs
                    .iter()
                    .flat_map(|(f, g)| g.iter().map(move |_| f.clone()));
                if let Some(ws) = v["workloads"].as_array_mut() {
                    for (w, f) in ws.iter_mut().zip(files) {
                        w["file"] = serde_json::json!(f);
                    }
                }
            }
            format!("{v:#}\n")
        }
        (ExplainFormat::Dot, _) => explain::dot(&all),
        (ExplainFormat::Text, Some(secret)) => explain::secret_text(&all, secret),
        (ExplainFormat::Text, None) if several => graphs
            .iter()
            .map(|(f, g)| format!("== {f}\n{}", explain::text(g)))
            .collect(),
        (ExplainFormat::Text, None) => explain::text(&all),
    };
    print(&out)
}

fn rules(args: &PolicyArgs) -> Result<ExitCode> {
    let policy = load_policy(args.policy.as_deref())?;
    let catalogue = format::catalogue(&policy);
    let width = catalogue.iter().map(|r| r.id.len()).max().unwrap_or(0);
    let mut out = String::new();
    for r in &catalogue {
        let level = r.level.map_or("off", Severity::as_str);
        out.push_str(&format!("{:width$}  {level:7}  {}\n", r.id, r.summary));
    }
    out.push_str("\nDetails, examples and fixes: docs/rules.md\n");
    print(&out)
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
