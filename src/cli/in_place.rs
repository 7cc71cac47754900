//! Files the GitOps subcommands keep up to date in place: written whole and
//! atomically, or in `--check` mode compared and shown as a diff.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use super::Exit;

/// One file as it is and as it should be (`None`: absent).
pub struct Change {
    pub path: PathBuf,
    pub now: Option<String>,
    pub wanted: Option<String>,
}

impl Change {
    pub fn stale(&self) -> bool {
        self.now != self.wanted
    }
}

/// A diff of only the changed lines: no context, because the lines around
/// ours are the user's, and a HelmRelease's values may hold things that
/// belong in no CI log.
pub fn diff(change: &Change) -> String {
    let shown = change.path.display();
    let old = change.now.as_deref().unwrap_or("");
    let new = change.wanted.as_deref().unwrap_or("");
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(0)
        .header(&format!("{shown} (now)"), &format!("{shown} (wanted)"))
        .to_string()
}

/// Write (or with `check`, compare) every change. Returns the exit code:
/// with `check`, 1 when something is stale, after printing the diff.
pub fn settle(changes: &[Change], check: bool) -> Result<Exit> {
    let stale: Vec<&Change> = changes.iter().filter(|c| c.stale()).collect();
    if check {
        if stale.is_empty() {
            eprintln!("secret-rollout: up to date");
            return Ok(Exit::Success);
        }
        super::print(&stale.iter().map(|c| diff(c)).collect::<String>())?;
        let names: Vec<String> = stale.iter().map(|c| c.path.display().to_string()).collect();
        eprintln!(
            "secret-rollout: out of date: {}; run the same command without --check and commit the result",
            names.join(", ")
        );
        return Ok(Exit::PolicyFailed);
    }
    for c in &stale {
        match &c.wanted {
            Some(text) => write_atomically(&c.path, text)?,
            None => std::fs::remove_file(&c.path)
                .with_context(|| format!("removing {}", c.path.display()))?,
        }
        eprintln!("secret-rollout: updated {}", c.path.display());
    }
    if stale.is_empty() {
        eprintln!("secret-rollout: up to date");
    }
    Ok(Exit::Success)
}

/// Replace a file's content in one step (a temporary file beside it, then a
/// rename), keeping its permissions: never a half-written file. A symlink
/// stays a symlink; its target gets the new content.
pub fn write_atomically(path: &Path, text: &str) -> Result<()> {
    // A symlinked file is written through to its target: renaming over the
    // link would turn it into a copy and leave the target stale.
    let target;
    let path = if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        target = std::fs::canonicalize(path)
            .with_context(|| format!("{} is a symlink to nothing", path.display()))?;
        target.as_path()
    } else {
        path
    };
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file name", path.display()))?;
    let tmp = path.with_file_name(format!(".{}.secret-rollout.tmp", name.to_string_lossy()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        if let Ok(meta) = std::fs::metadata(path) {
            std::fs::set_permissions(&tmp, meta.permissions())?;
        }
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

/// Run the render command with the values on its stdin; its stderr is the
/// user's to read, its stdout is the render.
pub fn render_with(cmd: &str, values: &str) -> Result<String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("running the render command `{cmd}`"))?;
    let mut stdin = child.stdin.take().expect("piped");
    let values = values.to_string();
    let feeder = std::thread::spawn(move || stdin.write_all(values.as_bytes()));
    let mut out = Vec::new();
    child
        .stdout
        .take()
        .expect("piped")
        .read_to_end(&mut out)
        .context("reading the render command's output")?;
    let status = child.wait().context("waiting for the render command")?;
    // A command that never reads its stdin closes it early: not an error.
    let _ = feeder.join();
    anyhow::ensure!(
        status.success(),
        "the render command `{cmd}` failed ({status})"
    );
    String::from_utf8(out).map_err(|e| {
        anyhow::anyhow!(
            "the render command's output is not UTF-8 (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}
