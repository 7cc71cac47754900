//! `secret-rollout diff BEFORE AFTER`, on the0 renders made by the real helm
//! v4.3.1 from `testdata/charts/the0` with changed values. What should roll
//! is worked out here from the manifests themselves (serde_yaml): the keys
//! whose value changed in the rendered Secret, and the workloads that read
//! one of them (or the whole Secret).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::manifests::consumers;
use serde::Deserialize as _;
use serde_json::{json, Value};

const CHART: &str = "testdata/charts/the0";
const GOOD: &str = "testdata/charts/values/good.yaml";
const SECRET: &str = "the0-secrets";

/// A fresh directory of its own: tests run in parallel.
fn fresh(what: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    common::temp_dir(&format!(
        "diff/{what}-{}",
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// `helm template the0 CHART -f good.yaml --set-string K=V…` with helm 4.
fn render(set: &[(&str, &str)]) -> String {
    let home = fresh("helm-home");
    let mut cmd = Command::new(common::tool("helm"));
    cmd.current_dir(common::root())
        .env("HELM_DATA_HOME", home.join("data"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .args(["template", "the0", CHART, "-f", GOOD]);
    for (k, v) in set {
        cmd.arg("--set-string").arg(format!("{k}={v}"));
    }
    let out = cmd.output().expect("running helm");
    assert!(
        out.status.success(),
        "helm template: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The rendered Secret's values, by key.
fn secret_values(stream: &str) -> BTreeMap<String, String> {
    for doc in serde_yaml::Deserializer::from_str(stream) {
        let v = serde_yaml::Value::deserialize(doc).unwrap();
        if v["kind"] == "Secret" && v["metadata"]["name"] == SECRET {
            return v["stringData"]
                .as_mapping()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.as_str().unwrap().into(), v.as_str().unwrap().into()))
                .collect();
        }
    }
    panic!("no Secret {SECRET} rendered")
}

fn write(name: &str, text: &str) -> PathBuf {
    common::write_temp(&fresh(name), "render.yaml", text)
}

/// `secret-rollout diff BEFORE AFTER ARGS…`: exit code, stdout, stderr.
fn diff(before: &str, after: &str, args: &[&str]) -> (i32, String, String) {
    let (b, a) = (write("before", before), write("after", after));
    let out = common::bin()
        .current_dir(common::root())
        .arg("diff")
        .arg(&b)
        .arg(&a)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        common::stdout(&out),
        common::stderr(&out),
    )
}

fn diff_json(before: &str, after: &str) -> Value {
    let (code, out, err) = diff(before, after, &["--format", "json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

/// Every workload's pod template, by `Kind/name`.
fn pod_templates(stream: &str) -> BTreeMap<String, serde_yaml::Value> {
    let mut out = BTreeMap::new();
    for doc in serde_yaml::Deserializer::from_str(stream) {
        let v = serde_yaml::Value::deserialize(doc).unwrap();
        let template = match v["kind"].as_str().unwrap_or_default() {
            "Deployment" | "StatefulSet" | "DaemonSet" | "Job" => &v["spec"]["template"],
            "CronJob" => &v["spec"]["jobTemplate"]["spec"]["template"],
            _ => continue,
        };
        let name = format!(
            "{}/{}",
            v["kind"].as_str().unwrap(),
            v["metadata"]["name"].as_str().unwrap()
        );
        out.insert(name, template.clone());
    }
    out
}

/// What should happen, from the manifests: the keys that changed; for each
/// workload reading the Secret, the changed keys among those it reads; and
/// the workloads whose pod template changed by itself (a value can feed a
/// plain env var too: the database user name).
struct Expected {
    changed: BTreeSet<String>,
    rolling: BTreeMap<String, Vec<String>>,
    templates: BTreeSet<String>,
}

fn expected(before: &str, after: &str) -> Expected {
    let (b, a) = (secret_values(before), secret_values(after));
    assert_eq!(
        b.keys().collect::<Vec<_>>(),
        a.keys().collect::<Vec<_>>(),
        "same keys"
    );
    let changed: BTreeSet<String> = b
        .iter()
        .filter(|(k, v)| a[*k] != **v)
        .map(|(k, _)| k.clone())
        .collect();
    let rolling = consumers(after, SECRET)
        .into_iter()
        .filter_map(|(w, keys)| {
            let hit: Vec<String> = match keys {
                None => changed.iter().cloned().collect(),
                Some(keys) => changed.intersection(&keys).cloned().collect(),
            };
            (!hit.is_empty()).then_some((w, hit))
        })
        .collect();
    let (tb, ta) = (pod_templates(before), pod_templates(after));
    let templates = ta
        .iter()
        .filter(|(w, t)| tb.get(*w) != Some(*t))
        .map(|(w, _)| w.clone())
        .collect();
    Expected {
        changed,
        rolling,
        templates,
    }
}

/// One value per key of the0-secrets (some keys move together: the
/// database URL holds the password).
const ROTATIONS: &[(&str, &str)] = &[
    ("postgresql.password", "rotated-pg-password"),
    ("postgresql.username", "the0-rotated"),
    ("mongodb.rootPassword", "rotated-mongo-password"),
    ("mongodb.rootUsername", "root-rotated"),
    ("minio.accessKey", "rotated-access-key"),
    ("minio.secretKey", "rotated-secret-key"),
    ("nats.password", "rotated-nats-password"),
    ("redis.password", "rotated-redis-password"),
    ("the0Api.env.JWT_SECRET", "rotated-jwt-secret"),
];

#[test]
fn rotating_each_key_rolls_exactly_the_workloads_that_read_it() {
    let before = render(&[]);
    let mut keys_covered = BTreeSet::new();
    for &(value, new) in ROTATIONS {
        let after = render(&[(value, new)]);
        let want = expected(&before, &after);
        assert!(!want.changed.is_empty(), "{value} changes some key");
        keys_covered.extend(want.changed.iter().cloned());
        let v = diff_json(&before, &after);
        assert_eq!(v["version"], json!(1));
        // The Secret, and which keys changed: names only.
        assert_eq!(
            v["objects"],
            json!([{
                "kind": "Secret", "name": SECRET, "namespace": null, "presence": "both",
                "changed": want.changed, "added": [], "removed": [], "whole": false,
            }]),
            "{value}"
        );
        // The fields docs/output.md documents, no more, no fewer.
        let keys =
            |v: &Value| -> BTreeSet<String> { v.as_object().unwrap().keys().cloned().collect() };
        let set =
            |names: &[&str]| -> BTreeSet<String> { names.iter().map(|n| n.to_string()).collect() };
        assert_eq!(
            keys(&v),
            set(&[
                "version",
                "before",
                "after",
                "summary",
                "objects",
                "workloads",
                "findings"
            ])
        );
        assert_eq!(
            keys(&v["summary"]),
            set(&[
                "rolling",
                "not_rolling",
                "added",
                "removed",
                "errors",
                "warnings",
                "notes"
            ])
        );
        for w in v["workloads"].as_array().unwrap() {
            assert_eq!(
                keys(w),
                set(&[
                    "workload",
                    "namespace",
                    "template",
                    "presence",
                    "rollout",
                    "hook",
                    "rolls",
                    "template_changed",
                    "reach",
                    "reads"
                ])
            );
            for r in w["reads"].as_array().unwrap() {
                assert_eq!(
                    keys(r),
                    set(&[
                        "kind",
                        "name",
                        "reads",
                        "changed",
                        "object_changed",
                        "whole",
                        "stamp_changed",
                        "found_before",
                        "found_after"
                    ])
                );
            }
        }
        // Exactly the readers of a changed key roll, each for those keys,
        // and those whose pod template changed by itself.
        let workloads = v["workloads"].as_array().unwrap();
        let mut rolling: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut templates = BTreeSet::new();
        for w in workloads.iter().filter(|w| w["rolls"] == true) {
            let name = w["workload"].as_str().unwrap().to_string();
            if w["template_changed"] == true {
                templates.insert(name.clone());
            }
            for r in w["reads"].as_array().unwrap() {
                assert_eq!(r["name"], json!(SECRET), "{w:#}");
                if r["stamp_changed"] == true {
                    let keys = r["changed"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|k| k.as_str().unwrap().to_string())
                        .collect();
                    rolling.insert(name.clone(), keys);
                }
            }
        }
        assert_eq!(rolling, want.rolling, "{value}");
        assert_eq!(templates, want.templates, "{value}");
        // Everything else stays, and is listed as staying.
        let staying: BTreeSet<&str> = workloads
            .iter()
            .filter(|w| w["rolls"] == false)
            .map(|w| w["workload"].as_str().unwrap())
            .collect();
        assert_eq!(v["summary"]["not_rolling"], json!(staying.len()), "{value}");
        let rolls: BTreeSet<&String> = rolling.keys().chain(&templates).collect();
        assert_eq!(staying.len() + rolls.len(), workloads.len(), "{value}");
        assert!(workloads.iter().all(|w| w["presence"] == "both"));
        // No value, old or new, in any format.
        for format in ["text", "json", "markdown"] {
            let (code, out, err) = diff(&before, &after, &["--format", format]);
            assert_eq!(code, 0, "{err}");
            for (k, old) in secret_values(&before) {
                assert!(!out.contains(&old), "{format}: value of {k} shown");
            }
            assert!(!out.contains(new), "{format}: the new value shown");
        }
    }
    assert_eq!(
        keys_covered,
        secret_values(&before).into_keys().collect(),
        "every key of {SECRET} is rotated by some case"
    );
}

#[test]
fn text_names_the_rolling_workloads_with_the_keys_and_those_that_stay() {
    let before = render(&[]);
    let after = render(&[("the0Api.env.JWT_SECRET", "rotated-jwt-secret")]);
    let want = expected(&before, &after);
    let (code, out, err) = diff(&before, &after, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("Changed:\n  Secret the0-secrets: JWT_SECRET changed\n"),
        "{out}"
    );
    let section = |title: &str| -> Vec<String> {
        out.split(title)
            .nth(1)
            .unwrap_or_else(|| panic!("no {title} in:\n{out}"))
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .map(str::to_string)
            .collect()
    };
    let rolls = section("\nWill roll (3):");
    let names: BTreeSet<&str> = rolls
        .iter()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(names, want.rolling.keys().map(String::as_str).collect());
    for l in &rolls {
        assert!(l.contains("Secret the0-secrets: JWT_SECRET"), "{l}");
    }
    assert!(
        rolls
            .iter()
            .any(|l| l.contains("Job/the0-db-migrate") && l.contains("[Helm hook")),
        "{out}"
    );
    let stays = section("\nWill not roll (7):");
    assert!(
        stays
            .iter()
            .any(|l| l.starts_with("  Deployment/the0-postgres")
                && l.contains(
                    "reads Secret the0-secrets (POSTGRES_PASSWORD): none of them changed"
                )),
        "{out}"
    );
    assert!(
        out.contains("note[rotation-consequence]: JWT rotates (Secret the0-secrets: JWT_SECRET): rotating JWT_SECRET invalidates every session token")
            && out.contains("every user is logged out"),
        "{out}"
    );
    assert!(!out.contains("simultaneous-rotation"), "one service: {out}");
    assert!(
        out.ends_with("secret-rollout: 3 workloads roll, 7 do not; 0 errors, 0 warnings, 1 note\n"),
        "{out}"
    );
}

#[test]
fn rotating_three_external_services_at_once_warns() {
    let before = render(&[]);
    let after = render(&[
        ("postgresql.password", "rotated-pg-password"),
        ("nats.password", "rotated-nats-password"),
        ("the0Api.env.JWT_SECRET", "rotated-jwt-secret"),
    ]);
    let (code, out, err) = diff(&before, &after, &[]);
    assert_eq!(code, 0, "a warning does not fail by default: {err}");
    assert!(
        out.contains(
            "warning[simultaneous-rotation]: this change rotates the secrets of 3 external services at once: \
             database (Secret the0-secrets: DATABASE_URL, POSTGRES_PASSWORD), NATS (Secret the0-secrets: NATS_PASSWORD), \
             JWT (Secret the0-secrets: JWT_SECRET)"
        ),
        "{out}"
    );
    assert!(
        out.contains("note[rotation-consequence]: JWT rotates"),
        "{out}"
    );
    let (code, _, _) = diff(&before, &after, &["--fail-on", "warning"]);
    assert_eq!(code, 1, "--fail-on warning makes it a gate");

    let v = diff_json(&before, &after);
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["simultaneous-rotation", "rotation-consequence"]);
    assert_eq!(v["findings"][0]["severity"], json!("warning"));
    assert_eq!(
        v["findings"][0]["place"],
        json!({"kind": "template", "path": "the0/templates/secrets.yaml", "document": 1, "line": 1})
    );

    // For a pull-request comment: the rolling workloads in a table, the
    // warning as a GitHub alert.
    let (_, md, _) = diff(&before, &after, &["--format", "markdown"]);
    assert!(
        md.starts_with("### secret-rollout diff\n\n**6 workloads roll, 4 do not**.\n"),
        "{md}"
    );
    for w in expected(&before, &after).rolling.keys() {
        assert!(
            md.contains(&format!("\n| `{w}` | Secret the0-secrets: ")),
            "{w}:\n{md}"
        );
    }
    assert!(
        md.contains("> [!WARNING]\n> **warning** `simultaneous-rotation`: "),
        "{md}"
    );
    assert!(
        md.contains("<details><summary>4 will not roll</summary>"),
        "{md}"
    );

    // Two keys of one service (the password and the URL that holds it) are
    // one rotation: no warning.
    let one = render(&[("postgresql.password", "rotated-pg-password")]);
    let (_, out, _) = diff(&before, &one, &[]);
    assert!(!out.contains("simultaneous-rotation"), "{out}");
    assert!(
        out.contains("DATABASE_URL, POSTGRES_PASSWORD changed"),
        "{out}"
    );
}

#[test]
fn the_same_render_rolls_nothing_and_a_template_change_rolls_its_workload() {
    let before = render(&[]);
    let (code, out, _) = diff(&before, &before, &[]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("No Secret or ConfigMap changed.\n\nWill roll (0):\n  nothing\n"),
        "{out}"
    );
    let after = render(&[("the0Frontend.env.NODE_ENV", "staging")]);
    let v = diff_json(&before, &after);
    let rolling: Vec<&Value> = v["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["rolls"] == true)
        .collect();
    assert_eq!(rolling.len(), 1, "{v:#}");
    assert_eq!(rolling[0]["workload"], json!("Deployment/the0-frontend"));
    assert_eq!(rolling[0]["template_changed"], json!(true));
    assert_eq!(rolling[0]["reads"], json!([]));
}

#[test]
fn bad_input_names_the_side_and_stdin_is_one_side() {
    let before = render(&[]);
    let (code, out, err) = diff(&before, "a: [\n", &[]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(
        err.contains("render.yaml: document 1") && err.contains("/after-"),
        "{err}"
    );
    let b = write("stdin-before", &before);
    let after = render(&[("nats.password", "rotated-nats-password")]);
    let out = common::run(
        &["diff", b.to_str().unwrap(), "-", "--format", "json"],
        &after,
    );
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["after"], json!("<stdin>"));
    assert_eq!(v["objects"][0]["changed"], json!(["NATS_PASSWORD"]));
    let out = common::run(&["diff", "-", "-"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stderr(&out).contains("only one of BEFORE and AFTER can be `-`"));
}
