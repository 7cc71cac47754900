//! Command line: argument parsing and exit codes. The work is in the library.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::report;
use crate::Options;

/// Exit codes: 0 success, 1 a policy error, 2 bad input, usage or I/O.
const POLICY_FAILED: u8 = 1;
const BAD_INPUT: u8 = 2;

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
        })
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("secret-rollout: error: {e:#}");
            ExitCode::from(BAD_INPUT)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        None => render(&cli.render),
        Some(Command::Render(args)) => render(&args),
        Some(Command::Check { files, common }) => check(&files, &common),
    }
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

fn render(args: &CommonArgs) -> Result<ExitCode> {
    let options = args.options()?;
    let input = read_stdin()?;
    let mut analysis =
        crate::analyze(&input, &options).map_err(|e| anyhow::anyhow!("<stdin>: {e}"))?;
    let mut stderr = std::io::stderr().lock();
    if !analysis.findings.is_empty() {
        let _ = stderr.write_all(report::text(&analysis.findings, "<stdin>").as_bytes());
    }
    if analysis.has_errors() {
        let _ = writeln!(
            stderr,
            "secret-rollout: refusing to render: {}",
            report::summary(&analysis.findings)
        );
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

fn check(files: &[PathBuf], args: &CommonArgs) -> Result<ExitCode> {
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
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes()).context("writing stdout")?;
    let failed = all.iter().any(|f| f.severity == report::Severity::Error);
    Ok(if failed {
        ExitCode::from(POLICY_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}
