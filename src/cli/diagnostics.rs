//! Where what we tell the user goes besides stderr.
//!
//! Helm 3 shows a post-renderer's stderr only when it fails; Helm 4 runs us
//! as a plugin and throws the plugin's stderr away, so a refused render
//! would only say `plugin "secret-rollout" exited with error`. Diagnostics
//! therefore also go to the controlling terminal when Helm runs us as a
//! plugin (and there is one), and to a report file when one is configured.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

#[derive(Debug, Default)]
pub struct Diagnostics {
    /// Also write to the controlling terminal (`/dev/tty`) when it opens.
    pub tty: bool,
    /// Append every diagnostic to this file.
    pub report: Option<PathBuf>,
}

impl Diagnostics {
    /// The sinks for this process: the terminal only under a Helm plugin,
    /// the report file whenever one is configured.
    pub fn new(report: Option<PathBuf>) -> Self {
        Diagnostics {
            tty: secret_rollout::helm::running_as_plugin(),
            report,
        }
    }

    /// Show `text` (complete lines) on stderr and the terminal.
    /// Failures are ignored: a missing terminal is the normal case in CI.
    pub fn show(&self, text: &str) {
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
        if self.tty {
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

    /// Show and record an error the run ends with. Recording is best effort:
    /// there is no better place left to say that it failed.
    pub fn fail(&self, text: &str) {
        self.show(text);
        let _ = self.record(text);
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
            tty: false,
            report: Some(path.clone()),
        };
        d.record("one\n").unwrap();
        d.record("two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\ntwo\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
