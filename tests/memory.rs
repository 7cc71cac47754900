//! Running out of memory is bad input like any other: exit 2, one line on
//! stderr, nothing on stdout; never an abort (exit 134) with Rust's
//! "memory allocation of N bytes failed".

mod common;

use std::os::unix::process::CommandExt;
use std::process::Command;

use common::{bin, run_cmd};

/// An address-space limit the binary starts and renders a small chart
/// under, but that a few MB of Deployments (about 20x their size once
/// parsed) exceed.
const LIMIT: u64 = 64 << 20;

fn limited(args: &[&str]) -> Command {
    let mut cmd = bin();
    // A fixed number of threads (and malloc arenas, which reserve address
    // space per thread) so the limit means the same on any machine.
    cmd.args(args)
        .env("RAYON_NUM_THREADS", "2")
        .env("MALLOC_ARENA_MAX", "2");
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: LIMIT,
                rlim_max: LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

fn deployments(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d{i}\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        image: x\n"
        ));
    }
    s
}

fn assert_clean_out_of_memory(out: &std::process::Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
    assert!(out.stdout.is_empty(), "{what}: stdout must stay empty");
    assert_eq!(stderr.lines().count(), 1, "{what}: one line: {stderr}");
    assert!(
        stderr.starts_with("secret-rollout: error: out of memory"),
        "{what}: {stderr}"
    );
    assert!(!stderr.contains("memory allocation of"), "{what}: {stderr}");
}

#[test]
fn the_limit_leaves_room_for_a_small_render() {
    let out = run_cmd(&mut limited(&["render"]), &deployments(3));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.starts_with(b"---\napiVersion: apps/v1\n"));
}

#[test]
fn render_out_of_memory_exits_2_with_one_line_and_no_stdout() {
    let big = deployments(30_000);
    assert!(big.len() > 4_000_000);
    let out = run_cmd(&mut limited(&["render"]), &big);
    assert_clean_out_of_memory(&out, "render");
}

#[test]
fn check_out_of_memory_exits_2_with_one_line() {
    let dir = std::env::temp_dir().join(format!("sr-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("big.yaml");
    std::fs::write(&file, deployments(30_000)).unwrap();
    let out = run_cmd(&mut limited(&["check", file.to_str().unwrap()]), "");
    std::fs::remove_dir_all(&dir).unwrap();
    assert_clean_out_of_memory(&out, "check");
}
