//! The0's chart, rendered by real Helm 3 and Helm 4 (see
//! `scripts/capture-postrender-input`), through the post-renderer: the guard
//! refuses unsafe admin-password configurations and the stamp covers exactly
//! the pod templates that consume in-stream Secrets and ConfigMaps.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{fixture, run, stderr, stdout};
use serde::Deserialize as _;
use serde_yaml::Value;

/// Our annotations per workload (`Kind/name`), read back with an independent
/// YAML parser. Workloads without any are absent.
fn stamps(stream: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for doc in serde_yaml::Deserializer::from_str(stream) {
        let v = Value::deserialize(doc).expect("output parses");
        let kind = v["kind"].as_str().unwrap_or_default().to_string();
        let name = v["metadata"]["name"].as_str().unwrap_or_default();
        let template = match kind.as_str() {
            "CronJob" => &v["spec"]["jobTemplate"]["spec"]["template"],
            _ => &v["spec"]["template"],
        };
        let ours: BTreeMap<String, String> = template["metadata"]["annotations"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
            .filter(|(k, _)| k.starts_with("secret-rollout/"))
            .collect();
        if !ours.is_empty() {
            out.insert(format!("{kind}/{name}"), ours);
        }
    }
    out
}

fn render_ok(input: &str) -> String {
    let out = run(&[], input);
    assert_eq!(
        out.status.code(),
        Some(0),
        "render failed:\n{}",
        stderr(&out)
    );
    stdout(&out)
}

fn keys(stamps: &BTreeMap<String, BTreeMap<String, String>>) -> BTreeMap<&str, BTreeSet<&str>> {
    stamps
        .iter()
        .map(|(w, a)| (w.as_str(), a.keys().map(String::as_str).collect()))
        .collect()
}

const SECRETS: &str = "secret-rollout/secret.the0-secrets";
const CONFIG: &str = "secret-rollout/configmap.the0-config";
const DOCS_NGINX: &str = "secret-rollout/configmap.the0-docs-nginx";

/// What the chart's templates consume, read off testdata/charts/the0.
fn expected_consumers(with_hooks: bool) -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let mut e: BTreeMap<&str, BTreeSet<&str>> = [
        ("Deployment/the0-api", vec![SECRETS, CONFIG]),
        ("Deployment/the0-bot-controller", vec![SECRETS, CONFIG]),
        ("Deployment/the0-frontend", vec![SECRETS]),
        ("Deployment/the0-mongo", vec![SECRETS]),
        ("Deployment/the0-minio", vec![SECRETS]),
        ("Deployment/the0-nats", vec![SECRETS]),
        ("Deployment/the0-postgres", vec![SECRETS]),
        ("Deployment/the0-docs", vec![DOCS_NGINX]),
        ("CronJob/the0-gc", vec![SECRETS]),
    ]
    .into_iter()
    .map(|(w, k)| (w, k.into_iter().collect()))
    .collect();
    if with_hooks {
        e.insert("Job/the0-db-migrate", [SECRETS].into_iter().collect());
    }
    e
}

#[test]
fn helm4_good_values_stamp_every_consumer_including_the_hook_job() {
    let out = render_ok(&fixture("helm4/the0-good.yaml"));
    assert_eq!(keys(&stamps(&out)), expected_consumers(true));
}

#[test]
fn helm3_good_values_stamp_every_consumer() {
    // Helm 3 does not send hooks to post-renderers.
    let out = render_ok(&fixture("helm3/the0-good.yaml"));
    assert_eq!(keys(&stamps(&out)), expected_consumers(false));
}

#[test]
fn helm3_and_helm4_agree_on_every_digest() {
    let h3 = stamps(&render_ok(&fixture("helm3/the0-good.yaml")));
    let mut h4 = stamps(&render_ok(&fixture("helm4/the0-good.yaml")));
    h4.remove("Job/the0-db-migrate");
    assert_eq!(h3, h4);
}

#[test]
fn digests_are_key_level_so_workloads_reading_different_keys_differ() {
    let s = stamps(&render_ok(&fixture("helm4/the0-good.yaml")));
    let mongo = &s["Deployment/the0-mongo"][SECRETS];
    let nats = &s["Deployment/the0-nats"][SECRETS];
    assert_ne!(mongo, nats);
    for digest in s.values().flat_map(BTreeMap::values) {
        let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
        assert_eq!(hex.len(), 64);
        assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}

#[test]
fn rotating_jwt_secret_changes_exactly_the_annotations_of_its_consumers() {
    for (good, rotated, consumers) in [
        (
            "helm4/the0-good.yaml",
            "helm4/the0-rotated.yaml",
            // api and frontend read JWT_SECRET by key; db-migrate takes the whole Secret.
            vec![
                "Deployment/the0-api",
                "Deployment/the0-frontend",
                "Job/the0-db-migrate",
            ],
        ),
        (
            "helm3/the0-good.yaml",
            "helm3/the0-rotated.yaml",
            vec!["Deployment/the0-api", "Deployment/the0-frontend"],
        ),
    ] {
        let before = stamps(&render_ok(&fixture(good)));
        let after = stamps(&render_ok(&fixture(rotated)));
        assert_eq!(keys(&before), keys(&after), "{rotated}");
        let changed: Vec<&str> = before
            .iter()
            .filter(|(w, a)| after[*w] != **a)
            .map(|(w, _)| w.as_str())
            .collect();
        assert_eq!(changed, consumers, "{rotated}");
        for w in consumers {
            assert_ne!(before[w][SECRETS], after[w][SECRETS], "{w}");
            if let Some(config) = before[w].get(CONFIG) {
                assert_eq!(
                    config, &after[w][CONFIG],
                    "{w}: the ConfigMap did not change"
                );
            }
        }
    }
}

#[test]
fn release_name_and_fullname_override_do_not_hide_the_api() {
    for (file, api) in [
        ("helm4/trading-good.yaml", "Deployment/trading-the0-api"),
        ("helm4/acme-good.yaml", "Deployment/acme-api"),
    ] {
        let s = stamps(&render_ok(&fixture(file)));
        assert!(s.contains_key(api), "{file}: {api} not stamped: {s:?}");
        // Take the password out: the guard must still know this is the0's API.
        let input = fixture(file).replace("name: THE0_ADMIN_PASSWORD", "name: UNRELATED_SETTING");
        let out = run(&[], &input);
        assert_eq!(out.status.code(), Some(1), "{file}");
        let err = stderr(&out);
        assert!(err.contains("admin-password-missing"), "{file}: {err}");
        assert!(err.contains(api), "{file}: {err}");
    }
}

/// A refused render names the rule, template, workload, container and fix,
/// writes nothing to stdout (Helm would deploy a partial or empty release)
/// and never repeats the password.
fn assert_refused(file: &str, rule: &str, container: Option<&str>, leaked: Option<&str>) {
    let input = fixture(file);
    let out = run(&[], &input);
    assert_eq!(out.status.code(), Some(1), "{file}: {}", stderr(&out));
    assert!(out.stdout.is_empty(), "{file}: stdout must stay empty");
    let err = stderr(&out);
    assert!(err.contains(&format!("error[{rule}]")), "{file}: {err}");
    assert!(
        err.contains("the0/templates/the0-api.yaml"),
        "{file}: {err}"
    );
    assert!(err.contains("Deployment/the0-api"), "{file}: {err}");
    assert!(err.contains("the0Api.extraEnv"), "{file}: {err}");
    assert!(err.contains("secretKeyRef"), "{file}: {err}");
    if let Some(c) = container {
        assert!(err.contains(&format!("container: {c}")), "{file}: {err}");
    }
    if let Some(secret) = leaked {
        assert!(input.contains(secret), "{file}: fixture changed");
        assert!(!err.contains(secret), "{file}: the password leaked: {err}");
    }
}

#[test]
fn a_plain_admin_password_in_env_is_refused() {
    for file in [
        "helm4/the0-bad-plain-env.yaml",
        "helm3/the0-bad-plain-env.yaml",
    ] {
        assert_refused(
            file,
            "admin-password-not-from-secret",
            Some("api"),
            Some("plain-admin-password-123"),
        );
    }
}

#[test]
fn a_plain_admin_password_in_extra_env_is_refused() {
    for file in [
        "helm4/the0-bad-extraenv-value.yaml",
        "helm3/the0-bad-extraenv-value.yaml",
    ] {
        assert_refused(
            file,
            "admin-password-not-from-secret",
            Some("api"),
            Some("extraenv-admin-password-456"),
        );
    }
}

#[test]
fn a_missing_admin_password_is_refused() {
    for file in ["helm4/the0-missing.yaml", "helm3/the0-missing.yaml"] {
        assert_refused(file, "admin-password-missing", None, None);
    }
}

#[test]
fn good_values_warn_that_the_external_admin_secret_cannot_be_stamped() {
    let out = run(&[], &fixture("helm4/the0-good.yaml"));
    assert_eq!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(err.contains("warning[unresolved-reference]"), "{err}");
    assert!(err.contains("the0-root-admin"), "{err}");
    assert!(err.contains("--secrets-from"), "the help says how: {err}");
    assert!(
        !err.contains("separate"),
        "the Helm 4 `separate` strategy has nothing to do with it here: {err}"
    );
}

#[test]
fn check_reports_without_writing_manifests() {
    let path = common::root().join("testdata/helm4/the0-bad-plain-env.yaml");
    let out = common::bin()
        .arg("check")
        .arg(&path)
        .output()
        .expect("run check");
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("error[admin-password-not-from-secret]"),
        "{text}"
    );
    assert!(
        !text.contains("apiVersion"),
        "check must not print manifests"
    );
    assert!(!text.contains("plain-admin-password-123"));

    let good = common::root().join("testdata/helm4/the0-good.yaml");
    let out = common::bin().arg("check").arg(&good).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}
