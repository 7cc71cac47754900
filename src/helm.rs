//! The Helm front end: what is special about running as a Helm post-renderer.
//!
//! Helm 3 runs `secret-rollout` as a plain executable and shows its stderr
//! when it fails. Helm 4 runs it as a plugin (`HELM_PLUGIN_NAME` is set) and
//! throws the plugin's stderr away, so a refused render would only say
//! `plugin "secret-rollout" exited with error`. [`Diagnostics`] therefore also
//! writes what we tell the user to the controlling terminal (when there is
//! one) and to a report file (when one is configured).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::report::Finding;
use crate::rule::Rule;

/// Set by Helm 4 (and the Helm 4 SDK) in a plugin's environment.
pub const PLUGIN_NAME_ENV: &str = "HELM_PLUGIN_NAME";

/// True when Helm runs us as a plugin: our stderr is then discarded.
pub fn running_as_plugin() -> bool {
    std::env::var_os(PLUGIN_NAME_ENV).is_some_and(|v| !v.is_empty())
}

/// Where diagnostics go besides stderr.
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
            tty: running_as_plugin(),
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
    pub fn record(&self, text: &str) -> std::io::Result<()> {
        match &self.report {
            None => Ok(()),
            Some(path) => append(path, text),
        }
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

/// Make `unresolved-reference` findings say why the object is missing when
/// Helm sent the hooks on their own: the Secret is (probably) rendered by the
/// chart, just not in this call, and the hook is not stamped for it.
pub fn explain_hooks_only(findings: &mut [Finding]) {
    for f in findings
        .iter_mut()
        .filter(|f| f.rule == Rule::UnresolvedReference)
    {
        f.message.push_str(HOOKS_ONLY_NOTE);
        f.help = format!(
            "Helm post-rendered the release's hooks in a call of their own (the Helm 4 SDK's \
             `separate` post-render strategy), so objects rendered by the chart's other templates \
             are not visible here and {} is not stamped for them; a hook Job runs anew on every \
             install/upgrade and reads the current value anyway. Use the `combined` strategy \
             (the helm CLI's default) to have hooks stamped, or render the object as a hook too",
            f.workload.as_deref().unwrap_or("the hook")
        );
    }
}

/// Appended to the message of an `unresolved-reference` in a hooks-only call.
pub const HOOKS_ONLY_NOTE: &str =
    " (this post-renderer call received only the release's hooks; Helm sends the other manifests in a separate call)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_file_is_appended_to_and_its_directory_created() {
        let dir = std::env::temp_dir().join(format!("secret-rollout-helm-{}", std::process::id()));
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
