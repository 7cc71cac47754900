//! Precision, measured: the guard over a corpus of realistic renders.
//!
//! `testdata/corpus/clean/` holds renders written after common public chart
//! patterns (a PostgreSQL and a Redis StatefulSet, Keycloak, Grafana,
//! oauth2-proxy, MinIO and NATS, a Rails-style web app with a backup
//! CronJob): DSNs built from `secretKeyRef`, `*_PASSWORD_FILE`, `SECRETS_DIR`,
//! token and JWKS URLs, public keys, image digests, commit SHAs, feature
//! flags, probe and hook scripts. Every one must give no finding at all.
//!
//! `testdata/corpus/leaky/` holds the same kind of renders with credentials
//! typed in; each `# expect: RULE VARIABLE` comment (`-` for no variable)
//! names a finding that must come out, and nothing else may.
//!
//! The per-rule counts are the table between the `corpus` markers in
//! docs/rules.md: this test computes them and fails when the documented
//! figures are not the measured ones.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{root, run_cmd};
use serde_json::Value;

/// Token-shaped values, assembled here so no file holds one whole.
fn markers() -> Vec<(&'static str, String)> {
    vec![
        (
            "@@SLACK_WEBHOOK@@",
            [
                "https://hooks.slack.com/",
                "services/T0A1B2C3D/B4E5F6G7H/Xw2ZqL0mN7vB4tY6uP1sA3dF",
            ]
            .concat(),
        ),
        ("@@AWS_ACCESS_KEY_ID@@", ["AKIA", "Z7QR3XKWN2LPT6VM"].concat()),
        (
            "@@GITHUB_TOKEN@@",
            ["ghp_", "R8kXw2ZqL0mN7vB4tY6uP1sA3dF5gH9jK2cE"].concat(),
        ),
        ("@@GITLAB_TOKEN@@", ["glpat-", "Xw2ZqL0mN7vB4tY6uP1s"].concat()),
        (
            "@@SLACK_BOT_TOKEN@@",
            ["xoxb-", "1234567890123-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"].concat(),
        ),
        ("@@STRIPE_KEY@@", ["sk_live_", "51HxQz2eZvKYlo2C8xW9aB"].concat()),
        (
            "@@JWT@@",
            [
                "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.",
                "eyJzdWIiOiJzZXJ2aWNlLWEiLCJpYXQiOjE3MDAwMDAwMDB9.",
                "c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWc",
            ]
            .concat(),
        ),
        (
            "@@BASE64_PEM@@",
            [
                "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFb3dJQkFBS0NBUUVBMFozVlM1SkpjZHMzeGZu",
                "Ci0tLS0tRU5EIFJTQSBQUklWQVRFIEtFWS0tLS0t",
            ]
            .concat(),
        ),
    ]
}

/// Plain credentials typed into the leaky renders besides the markers.
const TYPED: &[&str] = &[
    "shop-dev-pass",
    "cache-dev-pass",
    "first-admin-pass",
    "83920174",
    "20240917",
    "EXAMPLE+KEY",
    "Zq8vN1xK7pL0mW4tR9yB2cF5",
    "3b8f2c7a9e1d4f6b",
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
];

fn files(dir: &str) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "{dir} is empty");
    out
}

/// (rule, variable or `-`) of every active finding of `check` over `text`;
/// panics if a value in `secrets` reaches any output format.
fn findings(path: &Path, text: &str, secrets: &[String]) -> Vec<(String, String)> {
    let mut json = Value::Null;
    for format in ["json", "text", "sarif", "github", "markdown"] {
        let out = run_cmd(
            common::bin()
                .current_dir(root())
                .env("SECRET_ROLLOUT_DIGEST_KEY_FILE", "testdata/digest.key")
                .args(["check", "--format", format]),
            text,
        );
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(
            out.status.code().is_some_and(|c| c < 2),
            "{}: {stderr}",
            path.display()
        );
        for s in secrets {
            assert!(
                !stdout.contains(s.as_str()) && !stderr.contains(s.as_str()),
                "{}: a value reached the {format} output",
                path.display()
            );
        }
        if format == "json" {
            json = serde_json::from_slice(&out.stdout).unwrap();
        }
    }
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["suppressed"] == false)
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["variable"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect()
}

#[derive(Default, Debug, PartialEq, Eq)]
struct Count {
    tp: usize,
    fp: usize,
    missed: usize,
}

fn measure() -> (BTreeMap<String, Count>, usize, usize) {
    let mut counts: BTreeMap<String, Count> = BTreeMap::new();
    let secrets: Vec<String> = markers()
        .into_iter()
        .map(|(_, v)| v)
        .chain(TYPED.iter().map(|s| s.to_string()))
        .collect();
    let clean = files("testdata/corpus/clean");
    for path in &clean {
        let text = std::fs::read_to_string(path).unwrap();
        let found = findings(path, &text, &secrets);
        assert!(
            found.is_empty(),
            "{}: a clean render gave findings: {found:?}",
            path.display()
        );
    }
    let leaky = files("testdata/corpus/leaky");
    for path in &leaky {
        let mut text = std::fs::read_to_string(path).unwrap();
        for (marker, value) in markers() {
            text = text.replace(marker, &value);
        }
        let mut expected: Vec<(String, String)> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("# expect: "))
            .map(|e| {
                let (rule, var) = e.split_once(' ').expect("# expect: RULE VARIABLE");
                (rule.to_string(), var.trim().to_string())
            })
            .collect();
        assert!(!expected.is_empty(), "{}", path.display());
        for f in findings(path, &text, &secrets) {
            let c = counts.entry(f.0.clone()).or_default();
            match expected.iter().position(|e| *e == f) {
                Some(i) => {
                    expected.remove(i);
                    c.tp += 1;
                }
                None => c.fp += 1,
            }
        }
        for (rule, _) in expected {
            counts.entry(rule).or_default().missed += 1;
        }
    }
    (counts, clean.len(), leaky.len())
}

fn table(counts: &BTreeMap<String, Count>, clean: usize, leaky: usize) -> String {
    let mut out = format!(
        "Measured over {clean} clean renders (no finding at all) and {leaky} leaky ones:\n\n\
         | rule | true positives | false positives | missed | precision |\n|---|---|---|---|---|\n"
    );
    for (rule, c) in counts {
        let precision = if c.tp + c.fp == 0 {
            "-".to_string()
        } else {
            format!("{:.0}%", 100.0 * c.tp as f64 / (c.tp + c.fp) as f64)
        };
        out.push_str(&format!(
            "| `{rule}` | {} | {} | {} | {precision} |\n",
            c.tp, c.fp, c.missed
        ));
    }
    out
}

#[test]
fn clean_renders_stay_quiet_and_the_documented_precision_is_the_measured_one() {
    let (counts, clean, leaky) = measure();
    let measured = table(&counts, clean, leaky);
    let docs = std::fs::read_to_string(root().join("docs/rules.md")).unwrap();
    let begin = "<!-- corpus:begin -->\n";
    let end = "<!-- corpus:end -->";
    let start = docs
        .find(begin)
        .expect("docs/rules.md has the corpus table")
        + begin.len();
    let stop = docs[start..].find(end).expect("corpus:end") + start;
    assert_eq!(
        &docs[start..stop],
        measured,
        "docs/rules.md's corpus figures are not the measured ones"
    );
    // The built-in policy makes no false positive on the corpus; what it
    // misses is in the table (and in docs/rules.md, with why).
    for (rule, c) in &counts {
        assert_eq!(c.fp, 0, "{rule}: {c:?}");
    }
}
