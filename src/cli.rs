//! Command line: argument parsing and exit codes. The work is in the library.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::helm::{self, Diagnostics};
use crate::report;
use crate::Options;

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
    /// Report findings for files (or stdin); writes no manifests.
    Check {
        /// Files to check; stdin when none.
        files: Vec<PathBuf>,
        #[command(flatten)]
        common: CommonArgs,
    },
}

#[derive(Args, Clone, Default)]
struct CommonArgs {
    /// Release namespace: where objects without metadata.namespace live.
    #[arg(long, short = 'n', env = "SECRET_ROLLOUT_NAMESPACE")]
    namespace: Option<String>,
    /// File holding a key for hmac-sha256 digests (plain sha256 without it).
    #[arg(long, env = "SECRET_ROLLOUT_DIGEST_KEY_FILE", value_name = "FILE")]
    digest_key_file: Option<PathBuf>,
    /// Append the findings and a summary line to FILE (created if missing).
    /// Under Helm 4, which discards a plugin's stderr, this is how CI gets the
    /// reason for a refused render.
    #[arg(long, env = REPORT_ENV, value_name = "FILE")]
    report: Option<PathBuf>,
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
        Ok(Options {
            namespace: self.namespace.clone(),
            digest_key,
            ..Options::default()
        })
    }
}

pub fn main() -> ExitCode {
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
        Some(Command::Check { files, common }) => {
            let d = Diagnostics::new(common.report.clone());
            let r = check(&files, &common, &d);
            (d, r)
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
        && helm::hooks_only(&input)
    {
        helm::explain_hooks_only(&mut analysis.findings);
    }
    let failed = analysis.has_errors();
    let summary = report::summary(&analysis.findings);
    let mut text = report::text(&analysis.findings, "<stdin>");
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

fn check(files: &[PathBuf], args: &CommonArgs, diagnostics: &Diagnostics) -> Result<ExitCode> {
    let options = args.options()?;
    let inputs: Vec<(String, String)> = if files.is_empty() {
        vec![("<stdin>".to_string(), read_stdin()?)]
    } else {
        files
            .iter()
            .map(|p| {
                let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| anyhow::anyhow!("{}: input is not UTF-8", p.display()))?;
                Ok((p.display().to_string(), text))
            })
            .collect::<Result<_>>()?
    };
    let mut all = Vec::new();
    let mut out = String::new();
    for (name, text) in &inputs {
        let analysis =
            crate::analyze(text, &options).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        out.push_str(&report::text(&analysis.findings, name));
        all.extend(analysis.findings);
    }
    out.push_str(&format!("secret-rollout: {}\n", report::summary(&all)));
    diagnostics
        .record(&out)
        .with_context(|| format!("writing the report {}", report_path(args)))?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes()).context("writing stdout")?;
    let failed = all.iter().any(|f| f.severity == report::Severity::Error);
    Ok(if failed {
        ExitCode::from(POLICY_FAILED)
    } else {
        ExitCode::SUCCESS
    })
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
