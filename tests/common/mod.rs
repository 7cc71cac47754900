//! Shared helpers for the integration tests: run the built binary, find the
//! real tools that `scripts/install-test-tools` installs, read fixtures.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(path: &str) -> String {
    let p = root().join("testdata").join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// The `secret-rollout` binary cargo built for these tests.
pub fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_secret-rollout"));
    // A test run inside GitHub Actions must not write the job's summary, and
    // one in a developer's terminal must not write findings onto it.
    cmd.env_remove("GITHUB_STEP_SUMMARY")
        .env("SECRET_ROLLOUT_TERMINAL", "never");
    cmd
}

/// Run the binary with `args`, feeding `stdin`.
pub fn run(args: &[&str], stdin: &str) -> Output {
    run_cmd(bin().args(args), stdin)
}

pub fn run_cmd(cmd: &mut Command, stdin: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Feed stdin from a thread so a child that writes before reading cannot deadlock.
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.as_bytes().to_vec();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait");
    writer.join().unwrap();
    out
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("stderr is UTF-8")
}

/// A real tool installed by `scripts/install-test-tools`. Missing tools fail
/// the test loudly: these tests must never pass by skipping.
pub fn tool(name: &str) -> PathBuf {
    let p = root().join(".cache/tools/bin").join(name);
    assert!(
        p.exists(),
        "{} is missing: run scripts/test (it installs the real tools) or scripts/install-test-tools",
        p.display()
    );
    p
}

pub fn python() -> PathBuf {
    let p = root().join(".cache/tools/venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/install-test-tools",
        p.display()
    );
    p
}

pub fn write_temp(dir: &Path, name: &str, content: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

/// A fresh directory under the target dir, removed and recreated per call.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = root().join("target/test-tmp").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
pub mod gitops;
pub mod manifests;
pub mod oracle;
