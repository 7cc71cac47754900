//! Making the files of a GitOps repository with the tools users run:
//! kubectl for Secrets, and kubeseal's format through kubesealpy
//! (`tests/tools/seal.py`; kubeseal itself cannot be installed here).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::{python, root, temp_dir};

pub fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `kubectl -n the0 create secret generic NAME --from-literal=k=v … --dry-run=client -o FORMAT`.
pub fn kubectl_secret(dir: &Path, name: &str, literals: &[(&str, &str)], format: &str) -> String {
    let mut cmd = super::oracle::kubectl(dir);
    cmd.args(["-n", "the0", "create", "secret", "generic", name]);
    for (k, v) in literals {
        cmd.arg(format!("--from-literal={k}={v}"));
    }
    cmd.args(["--dry-run=client", "-o", format]);
    run(&mut cmd, "kubectl create secret")
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

/// A sealing key pair, made once per test run (4096-bit RSA, as the
/// controller's).
pub fn seal_keys() -> &'static Path {
    static KEYS: OnceLock<PathBuf> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = temp_dir("secrets-from/seal-keys");
        run(
            Command::new(python()).arg(seal_py()).arg("cert").arg(&dir),
            "seal.py cert",
        );
        dir
    })
}

pub fn seal_py() -> PathBuf {
    root().join("tests/tools/seal.py")
}

/// `kubeseal --format yaml < secret` (or `--merge-into sealed`).
pub fn seal(secret: &Path, merge_into: Option<&Path>) -> String {
    let mut cmd = Command::new(python());
    cmd.arg(seal_py()).arg("seal").arg(seal_keys()).arg(secret);
    if let Some(m) = merge_into {
        cmd.arg("--merge-into").arg(m);
    }
    run(&mut cmd, "seal.py seal")
}
