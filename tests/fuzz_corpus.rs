//! Replays what fuzzing found (testdata/fuzz/<target>/) through the same
//! property checks the fuzz targets run (fuzz/props.rs), so a fixed finding
//! stays fixed without a fuzzer.

#[path = "../fuzz/props.rs"]
mod props;

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/fuzz")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no cases in {}", dir.display());
    files
        .into_iter()
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect()
}

fn replay(target: &str, check: fn(&[u8])) {
    for (path, bytes) in corpus(target) {
        let result = std::panic::catch_unwind(|| check(&bytes));
        assert!(result.is_ok(), "{} fails its properties", path.display());
    }
}

#[test]
fn stream_cases_keep_their_properties() {
    replay("stream", props::stream);
}

#[test]
fn editor_cases_keep_their_properties() {
    replay("editor", props::editor);
}

// --------------------------------------------- the findings against Go itself

mod common;

use std::path::Path;

use secret_rollout::fuzzing::{self, parse_document};
use serde_json::Value;

/// Go's reading of one YAML document, through the real Helm: a values file
/// is decoded by sigs.k8s.io/yaml (goyaml.v2, as kubectl decodes), and a
/// template prints it back as JSON. `Err` holds Go's YAML error; `Ok(None)`
/// is a document Go reads that is no mapping (values must be one), or text
/// Helm refuses before YAML reads it.
fn go_reads(chart: &Path, text: &str) -> Result<Option<Value>, String> {
    let file = chart.join("values-under-test.yaml");
    std::fs::write(&file, text).unwrap();
    let out = std::process::Command::new(common::tool("helm"))
        .args(["template", "x"])
        .arg(chart)
        .arg("-f")
        .arg(&file)
        .env("HOME", chart)
        .env("HELM_CONFIG_HOME", chart.join("config"))
        .env("HELM_CACHE_HOME", chart.join("cache"))
        .env("HELM_DATA_HOME", chart.join("data"))
        .output()
        .expect("run helm");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        if stderr.contains("error converting YAML to JSON") {
            return Err(stderr.trim().to_string());
        }
        assert!(
            stderr.contains("cannot unmarshal")
                || stderr.contains("invalid Yaml document separator"),
            "helm failed otherwise: {stderr}"
        );
        // Also Helm 4's own split of a values file at `---` lines, which
        // refuses `--- text`: not the YAML reading under test.
        return Ok(None);
    }
    let stdout = String::from_utf8(out.stdout).unwrap();
    let json = stdout
        .lines()
        .find_map(|l| l.strip_prefix("# values: "))
        .unwrap_or_else(|| panic!("no values line in: {stdout}"));
    Ok(Some(numbers_as_floats(serde_json::from_str(json).unwrap())))
}

/// Helm decodes numbers into float64; compare them so. To 15 significant
/// digits: Go prints 777777777777777777777 as 777777777777777800000, which
/// serde_json (without its float_roundtrip feature) reads one unit in the
/// last place off the float both Go and we decoded.
fn numbers_as_floats(v: Value) -> Value {
    match v {
        Value::Number(n) => {
            let f = n.as_f64().unwrap();
            serde_json::json!(format!("{f:.14e}").parse::<f64>().unwrap())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(numbers_as_floats).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| (k, numbers_as_floats(v)))
                .collect(),
        ),
        v => v,
    }
}

/// A chart that prints its values, in a scratch folder of this name (one
/// per test: tests run in parallel).
fn values_chart(name: &str) -> std::path::PathBuf {
    let chart = common::temp_dir(name);
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: go-reading\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/values.yaml"),
        "# values: {{ toJson .Values }}\n",
    )
    .unwrap();
    chart
}

/// We read `text` as Go does: refuse what it refuses (and refuse duplicate
/// keys and second documents, which it takes or drops), accept what it reads
/// with the same meaning.
fn same_reading_as_go(chart: &Path, name: &str, text: &str) {
    let ours = parse_document(text, 0, 1);
    match go_reads(chart, text) {
        Err(go) => assert!(
            ours.is_err(),
            "{name}: Go refuses ({go}), we read {:?}",
            ours.map(|r| r.and_then(|n| n.to_json()))
        ),
        Ok(None) => {}
        Ok(Some(go)) => match ours {
            // These refusals are ours by design: Go keeps the last of
            // duplicate keys and drops a second document in a section
            // (without reading it: a control character there, which we
            // refuse wherever it stands, is one Go never decodes).
            Err(e) => assert!(
                e.to_string().contains("duplicate mapping key")
                    || e.to_string()
                        .contains("a second YAML document in one `---` section")
                    || e.to_string().contains("control characters are not allowed"),
                "{name}: Go reads {go}, we refuse: {e}"
            ),
            Ok(root) => {
                let ours = root.and_then(|r| r.to_json()).unwrap_or(Value::Null);
                let ours = match ours {
                    Value::Null => serde_json::json!({}),
                    v => numbers_as_floats(v),
                };
                assert_eq!(ours, go, "{name}: we read something else than Go");
            }
        },
    }
}

#[test]
fn editor_cases_read_as_go_reads_them_before_and_after_editing() {
    // The findings that once needed the comma stand-in before scanning
    // (tags next to `,` `}` in flow collections), and every other one: no
    // divergence from Go, in what we read or in what we write.
    let failures = against_go("fuzz-corpus-go", corpus("editor"));
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A fuzz run's whole editor corpus (fuzz/corpus/editor, or the folder in
/// FUZZ_CORPUS) against Go. The targets can only compare our reading with
/// our own; this finds the inputs Go reads otherwise, to minimise and keep.
/// Run after `scripts/fuzz`:
///   cargo test --test fuzz_corpus -- --ignored
#[test]
#[ignore = "runs helm once or twice for each of thousands of inputs"]
fn fuzz_run_editor_corpus_reads_as_go_reads_it() {
    let dir = std::env::var_os("FUZZ_CORPUS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/editor"),
        PathBuf::from,
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {} (run scripts/fuzz first): {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let cases = files
        .into_iter()
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    let failures = against_go("fuzz-run-go", cases);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Every case read by us and by Go, as is and after our edit (the editor
/// target's input: a choice byte, then the text); the divergences, named by
/// file.
fn against_go(chart: &str, cases: Vec<(PathBuf, Vec<u8>)>) -> Vec<String> {
    let chart = values_chart(chart);
    let desired: std::collections::BTreeMap<String, String> = [(
        "secret-rollout/secret.s".to_string(),
        "sha256:1".to_string(),
    )]
    .into();
    let mut failures = Vec::new();
    for (path, bytes) in cases {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(Ok(text)) = bytes.get(1..).map(std::str::from_utf8) else {
            continue;
        };
        // Helm and kubectl cut a stream at a `---` line (then only blanks or
        // a comment) before YAML reads it; the editor works inside one piece.
        let cut = |line: &str| {
            line.strip_prefix("---")
                .map(str::trim)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('#'))
        };
        if text.split('\n').skip(1).any(cut) {
            continue;
        }
        let check = || {
            same_reading_as_go(&chart, &name, text);
            let Ok(Some(root)) = parse_document(text, 0, 1) else {
                return;
            };
            let template = root.get("template").unwrap_or(&root);
            if let Ok(mut edits) = fuzzing::annotations(text, template, &desired) {
                let output = fuzzing::apply(text, &mut edits);
                same_reading_as_go(&chart, &format!("{name} (edited)"), &output);
            }
        };
        if let Err(panic) = std::panic::catch_unwind(check) {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!("{}: {message}", path.display()));
        }
    }
    failures
}
