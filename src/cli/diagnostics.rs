//! Where what we tell the user goes besides stderr.
//!
//! A post-renderer's stderr often reaches nobody. Measured with the real
//! binaries: Helm 3 (3.17.2) runs the post-renderer with stdin, stdout and
//! stderr all pipes, adds nothing to its environment, and shows the captured
//! stderr only inside its error message when the post-renderer fails; on
//! success it drops it, warnings and all. Helm 4 runs it as a plugin, sets
//! `HELM_PLUGIN_NAME`, and drops stderr always. So in `render` mode the
//! findings also go to the controlling terminal (`/dev/tty`, when there is
//! one) whenever Helm would hide them ([`Terminal`]); every outcome goes to
//! the report file when one is configured; and under GitHub Actions a
//! markdown summary goes to the job's step summary (`GITHUB_STEP_SUMMARY`).

use std::fs::OpenOptions;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::args::TerminalMode;

/// The file GitHub Actions renders as the step's summary.
pub const STEP_SUMMARY_ENV: &str = "GITHUB_STEP_SUMMARY";

/// When the controlling terminal also gets what goes to stderr.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Terminal {
    /// stderr reaches the person (or the command is not a post-renderer).
    #[default]
    Never,
    /// Run by a program that captures stdout and stderr, as Helm 3 does:
    /// it shows stderr when we fail and drops it when we succeed.
    OnSuccess,
    /// Run as a Helm 4 plugin: stderr is dropped whatever happens.
    Always,
}

impl Terminal {
    /// What `--terminal` asks for; `auto` is [`Terminal::detect`].
    pub fn choose(mode: TerminalMode) -> Terminal {
        match mode {
            TerminalMode::Auto => Terminal::detect(),
            TerminalMode::Always => Terminal::Always,
            TerminalMode::Never => Terminal::Never,
        }
    }

    /// How this process is wired. Helm 3 leaves no trace in the environment,
    /// so it is recognised by its plumbing: neither stdout nor stderr is a
    /// terminal. That holds for any program that runs the Helm 3 library
    /// (and for a wrapper script in between), on every platform, where the
    /// parent's command line would hold only on Linux and only for the CLI.
    pub fn detect() -> Terminal {
        if secret_rollout::front::helm::running_as_plugin() {
            Terminal::Always
        } else if !std::io::stderr().is_terminal() && !std::io::stdout().is_terminal() {
            Terminal::OnSuccess
        } else {
            Terminal::Never
        }
    }
}

/// How a run ends, as far as who gets to see its diagnostics is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Manifests were written (the caller may drop our stderr).
    Succeeded,
    /// Nothing was written and the exit code is not 0.
    Failed,
}

#[derive(Debug, Default)]
pub struct Diagnostics {
    pub terminal: Terminal,
    /// Append every outcome to this file.
    pub report: Option<PathBuf>,
    /// Append a markdown summary to this file (GitHub Actions).
    pub step_summary: Option<PathBuf>,
}

impl Diagnostics {
    /// The sinks for this process; `terminal` is [`Terminal::detect`] for a
    /// post-renderer and [`Terminal::Never`] for the other commands.
    pub fn new(terminal: Terminal, report: Option<PathBuf>) -> Self {
        Diagnostics {
            terminal,
            report,
            step_summary: std::env::var_os(STEP_SUMMARY_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
        }
    }

    /// Show `text` (complete lines) on stderr, and on the terminal when the
    /// caller would hide stderr for this outcome. Failures are ignored: a
    /// missing terminal is the normal case in CI.
    pub fn show(&self, text: &str, outcome: Outcome) {
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
        let hidden = match self.terminal {
            Terminal::Never => false,
            Terminal::OnSuccess => outcome == Outcome::Succeeded,
            Terminal::Always => true,
        };
        if hidden {
            write_tty(text);
        }
    }

    /// Append `text` to the report file, if there is one. Unlike the
    /// terminal this is something the user asked for, so failing is an error.
    pub fn record(&self, text: &str) -> Result<()> {
        match &self.report {
            None => Ok(()),
            Some(path) => {
                append(path, text).with_context(|| format!("writing the report {}", path.display()))
            }
        }
    }

    /// Append markdown to the GitHub step summary, if the job has one. Best
    /// effort: nobody asked us in so many words, and a run must not fail
    /// over a summary.
    pub fn summarize(&self, markdown: &str) {
        if let Some(path) = &self.step_summary {
            if let Err(e) = append(path, markdown) {
                let _ = writeln!(
                    std::io::stderr(),
                    "secret-rollout: warning: writing the step summary {}: {e}",
                    path.display()
                );
            }
        }
    }

    /// Show and record an error the run ends with, everywhere. Recording is
    /// best effort: there is no better place left to say that it failed.
    pub fn fail(&self, text: &str) {
        self.show(text, Outcome::Failed);
        let _ = self.record(text);
        self.summarize(&secret_rollout::report::format::markdown_error(text));
    }
}

fn write_tty(text: &str) {
    // Opening /dev/tty fails (ENXIO) without a controlling terminal; fine.
    if let Ok(mut tty) = OpenOptions::new().write(true).open("/dev/tty") {
        let _ = tty.write_all(text.as_bytes());
        let _ = tty.flush();
    }
}

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(text.as_bytes())?;
    file.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_file_is_appended_to_and_its_directory_created() {
        let dir =
            std::env::temp_dir().join(format!("secret-rollout-report-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("sub/report.txt");
        let d = Diagnostics {
            report: Some(path.clone()),
            ..Diagnostics::default()
        };
        d.record("one\n").unwrap();
        d.record("two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\ntwo\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
