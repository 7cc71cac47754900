//! The rules, one behaviour per test, on small streams written inline.

mod common;

use common::{run, stderr, stdout};

/// A Deployment named `name` with the given container `env`/`envFrom` YAML
/// (indented for a container), plus extra documents.
fn deployment(name: &str, container_yaml: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels:
    app.kubernetes.io/name: the0
    app.kubernetes.io/component: api
spec:
  template:
    spec:
      containers:
      - name: api
        image: the0/api
{container_yaml}"
    )
}

const ADMIN_SECRET: &str = "---
apiVersion: v1
kind: Secret
metadata:
  name: the0-admin
stringData:
  password: correct-horse-battery
";

const FROM_SECRET: &str = "        env:
        - name: THE0_ADMIN_PASSWORD
          valueFrom:
            secretKeyRef: {name: the0-admin, key: password}
";

/// Exit code, stdout and stderr of a render.
fn render(input: &str) -> (i32, String, String) {
    let out = run(&[], input);
    (out.status.code().unwrap_or(-1), stdout(&out), stderr(&out))
}

fn refused_with(input: &str, rule: &str) -> String {
    let (code, out, err) = render(input);
    assert_eq!(code, 1, "expected {rule}:\n{err}");
    assert!(out.is_empty());
    assert!(err.contains(&format!("error[{rule}]")), "{err}");
    err
}

fn accepted(input: &str) -> String {
    let (code, out, err) = render(input);
    assert_eq!(code, 0, "{err}");
    assert!(!out.is_empty());
    err
}

#[test]
fn admin_password_from_a_secret_is_accepted_and_stamped() {
    let input = deployment("the0-api", FROM_SECRET) + ADMIN_SECRET;
    let (code, out, err) = render(&input);
    assert_eq!(code, 0, "{err}");
    assert!(
        !err.contains("error[") && !err.contains("warning["),
        "no errors or warnings expected: {err}"
    );
    assert!(out.contains("secret-rollout/secret.the0-admin: \"sha256:"));
}

#[test]
fn admin_password_from_a_config_map_key_is_refused() {
    let env = "        env:
        - name: THE0_ADMIN_PASSWORD
          valueFrom:
            configMapKeyRef: {name: settings, key: password}
";
    let err = refused_with(
        &deployment("the0-api", env),
        "admin-password-not-from-secret",
    );
    assert!(err.contains("ConfigMap"), "{err}");
}

#[test]
fn admin_password_from_field_ref_is_refused() {
    let env = "        env:
        - name: THE0_ADMIN_PASSWORD
          valueFrom:
            fieldRef: {fieldPath: metadata.name}
";
    refused_with(
        &deployment("the0-api", env),
        "admin-password-not-from-secret",
    );
}

#[test]
fn a_plain_copy_next_to_a_secret_ref_is_refused_and_the_value_never_printed() {
    let env = format!(
        "{FROM_SECRET}        - name: THE0_ADMIN_PASSWORD\n          value: hunter2-plaintext\n"
    );
    let err = refused_with(
        &(deployment("the0-api", &env) + ADMIN_SECRET),
        "admin-password-not-from-secret",
    );
    assert!(err.contains("defined 2 times"), "{err}");
    assert!(!err.contains("hunter2-plaintext"), "{err}");
    assert!(!err.contains("correct-horse-battery"), "{err}");
}

#[test]
fn admin_password_in_an_init_container_is_checked_too() {
    let input = "apiVersion: apps/v1
kind: StatefulSet
metadata: {name: worker}
spec:
  template:
    spec:
      initContainers:
      - name: seed
        env:
        - {name: THE0_ADMIN_PASSWORD, value: seed-me}
      containers:
      - name: worker
";
    let err = refused_with(input, "admin-password-not-from-secret");
    assert!(err.contains("container: seed"), "{err}");
}

#[test]
fn admin_password_by_env_from_a_config_map_that_holds_it_is_refused() {
    for (prefix, key) in [("", "THE0_ADMIN_PASSWORD"), ("THE0_", "ADMIN_PASSWORD")] {
        let container = format!(
            "        envFrom:\n        - prefix: \"{prefix}\"\n          configMapRef: {{name: settings}}\n"
        );
        let input = deployment("the0-api", &container)
            + &format!(
                "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings}}\ndata:\n  {key}: oops\n"
            );
        let err = refused_with(&input, "admin-password-not-from-secret");
        assert!(err.contains("ConfigMap settings"), "{err}");
        assert!(!err.contains("oops"), "{err}");
    }
}

#[test]
fn admin_password_by_env_from_a_secret_counts_as_present() {
    let container = "        envFrom:\n        - secretRef: {name: the0-admin-env}\n";
    let input = deployment("the0-api", container)
        + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: the0-admin-env}\nstringData:\n  THE0_ADMIN_PASSWORD: x\n";
    accepted(&input);
}

#[test]
fn the_api_without_an_admin_password_is_refused_whatever_its_name() {
    for name in ["the0-api", "trading-the0-api", "acme-api"] {
        let err = refused_with(&deployment(name, ""), "admin-password-missing");
        assert!(err.contains(&format!("Deployment/{name}")), "{err}");
    }
}

#[test]
fn other_the0_components_do_not_need_the_admin_password() {
    let input = deployment("the0-frontend", "").replace("component: api", "component: frontend");
    accepted(&input);
}

#[test]
fn a_key_missing_from_an_in_stream_secret_is_an_error() {
    let env = "        env:
        - name: THE0_ADMIN_PASSWORD
          valueFrom:
            secretKeyRef: {name: the0-admin, key: pasword}
";
    let err = refused_with(
        &(deployment("the0-api", env) + ADMIN_SECRET),
        "missing-secret-key",
    );
    assert!(err.contains("`pasword`"), "{err}");
}

#[test]
fn an_optional_key_may_be_missing() {
    let env = format!(
        "{FROM_SECRET}        - name: EXTRA
          valueFrom:
            secretKeyRef: {{name: the0-admin, key: nope, optional: yes}}
"
    );
    let err = accepted(&(deployment("the0-api", &env) + ADMIN_SECRET));
    assert!(!err.contains("missing-secret-key"), "{err}");
}

#[test]
fn a_volume_item_missing_from_a_config_map_is_an_error() {
    let input = "apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers: [{name: web}]
      volumes:
      - name: conf
        configMap:
          name: web
          items: [{key: nginx.conf, path: nginx.conf}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web}
data: {default.conf: x}
";
    let err = refused_with(input, "missing-secret-key");
    assert!(err.contains("volume conf"), "{err}");
}

#[test]
fn secret_looking_plain_values_warn_without_showing_the_value() {
    let env = format!(
        "{FROM_SECRET}        - {{name: JWT_SECRET, value: s3cr3t-jwt}}
        - {{name: DATABASE_URL, value: \"postgres://the0:pg-pass-9@db:5432/the0\"}}
        - {{name: GITHUB_TOKEN, value: \"$(TOKEN_FROM_SECRET)\"}}
        - {{name: PASSWORD_MIN_LENGTH, value: \"12\"}}
        - {{name: TLS_PRIVATE_KEY_FILE, value: /etc/tls/key.pem}}
        - {{name: API_KEY, value: \"\"}}
        - {{name: LOG_LEVEL, value: debug}}
"
    );
    let err = accepted(&(deployment("the0-api", &env) + ADMIN_SECRET));
    assert_eq!(
        err.matches("warning[sensitive-env-plain-value]").count(),
        2,
        "{err}"
    );
    assert!(err.contains("variable: JWT_SECRET"), "{err}");
    assert!(err.contains("variable: DATABASE_URL"), "{err}");
    for value in ["s3cr3t-jwt", "pg-pass-9"] {
        assert!(!err.contains(value), "value leaked: {err}");
    }
}

#[test]
fn references_to_objects_outside_the_stream_warn_unless_optional() {
    let env = format!(
        "{FROM_SECRET}        envFrom:
        - secretRef: {{name: external-creds}}
        - configMapRef: {{name: maybe, optional: true}}
"
    );
    let err = accepted(&(deployment("the0-api", &env) + ADMIN_SECRET));
    assert!(err.contains("warning[unresolved-reference]"), "{err}");
    assert!(err.contains("Secret external-creds"), "{err}");
    assert!(!err.contains("maybe"), "{err}");
}

#[test]
fn the_same_env_name_twice_warns() {
    let env = format!("{FROM_SECRET}        - {{name: LOG_LEVEL, value: info}}\n        - {{name: LOG_LEVEL, value: debug}}\n");
    let err = accepted(&(deployment("the0-api", &env) + ADMIN_SECRET));
    assert!(err.contains("warning[duplicate-env]"), "{err}");
    assert!(err.contains("variable: LOG_LEVEL"), "{err}");
}

#[test]
fn a_job_that_is_not_a_hook_is_not_stamped_and_says_why() {
    let job = "apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  template:
    spec:
      containers:
      - name: migrate
        envFrom: [{secretRef: {name: the0-admin}}]
";
    let input = job.to_string() + ADMIN_SECRET;
    let (code, out, err) = render(&input);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, input, "a non-hook Job must come out untouched");
    assert!(err.contains("note[immutable-job-not-stamped]"), "{err}");

    let hook = job.replace(
        "metadata: {name: migrate}",
        "metadata: {name: migrate, annotations: {helm.sh/hook: pre-upgrade}}",
    );
    let (code, out, err) = render(&(hook + ADMIN_SECRET));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("secret-rollout/secret.the0-admin"), "{out}");
}

#[test]
fn duplicate_mapping_keys_are_bad_input_naming_document_line_and_key() {
    let input = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# Source: c/templates/s.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  name: t\n";
    let (code, out, err) = render(input);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("document 2"), "{err}");
    assert!(err.contains("c/templates/s.yaml"), "{err}");
    assert!(err.contains("line 10"), "{err}");
    assert!(err.contains("`metadata.name`"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}

#[test]
fn invalid_base64_in_a_secret_is_bad_input_and_the_value_is_not_shown() {
    let input =
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  token: not*base64*sekrit\n";
    let (code, out, err) = render(input);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("data.token"), "{err}");
    assert!(err.contains("line 5"), "{err}");
    assert!(!err.contains("sekrit"), "{err}");
}

#[test]
fn yaml_syntax_errors_are_bad_input_with_a_line() {
    let (code, out, err) = render("a: 1\n---\nb: [1, 2\nc: 3\n");
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("document 2"), "{err}");
    assert!(err.contains("line "), "{err}");
}

#[test]
fn input_that_is_not_utf8_is_read_as_kubectl_reads_it() {
    // kubectl decodes a byte that is not UTF-8 as U+FFFD; so do we, and the
    // byte itself is copied through.
    let out = common::run_cmd(common::bin().arg("render"), "");
    assert_eq!(out.status.code(), Some(0), "empty input is fine");
    let mut child = common::bin()
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"a: \xff\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout, b"a: \xff\n");
}

#[test]
fn suppressed_findings_do_not_fail_a_render_and_are_only_counted() {
    let env = format!("{FROM_SECRET}        - {{name: JWT_SECRET, value: s3cr3t-jwt}}\n");
    let input = deployment("the0-api", &env).replace(
        "  labels:\n",
        "  annotations:\n    secret-rollout/ignore: \"sensitive-env-plain-value: local dev\"\n  labels:\n",
    ) + ADMIN_SECRET;
    let err = accepted(&input);
    assert!(!err.contains("warning[sensitive-env-plain-value]"), "{err}");
    assert!(err.contains("(1 suppressed)"), "{err}");
}

/// The admin-password rules are unsuppressible in the built-in policy: an
/// annotation naming one fails the render with an error of its own, and the
/// finding it meant to silence stays. A policy that drops them from
/// `unsuppressible:` lets the same annotation work.
#[test]
fn a_suppression_of_an_unsuppressible_rule_fails_the_render_and_suppresses_nothing() {
    let input = deployment(
        "the0-api",
        "        env:\n        - {name: THE0_ADMIN_PASSWORD, value: hunter2-plaintext}\n",
    )
    .replace(
        "  labels:\n",
        "  annotations:\n    secret-rollout/ignore: \"admin-password-not-from-secret: trust me\"\n  labels:\n",
    );
    let err = refused_with(&input, "forbidden-suppression");
    assert!(
        err.contains("error[admin-password-not-from-secret]"),
        "the finding is still active:\n{err}"
    );
    assert!(
        err.contains(
            "names `admin-password-not-from-secret`, which the policy makes unsuppressible"
        ) && err.contains("= path: metadata.annotations[secret-rollout/ignore]")
            && err.contains("refusing to render: 2 errors"),
        "{err}"
    );
    assert!(!err.contains("(1 suppressed)"), "{err}");
    assert!(!err.contains("hunter2-plaintext"), "{err}");

    let dir = common::temp_dir("policy-unsuppressible");
    let policy = secret_rollout::DEFAULT_POLICY.replace(
        "unsuppressible:\n  - admin-password-not-from-secret\n  - admin-password-missing\n",
        "unsuppressible: []\n",
    );
    assert_ne!(policy, secret_rollout::DEFAULT_POLICY);
    let policy = common::write_temp(&dir, "policy.yaml", &policy);
    let out = run(&["--policy", policy.to_str().unwrap()], &input);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("(1 suppressed)"), "{err}");
    assert!(!err.contains("hunter2-plaintext"), "{err}");
}

/// A Secret and a Deployment reading it, each with an optional namespace.
fn namespaced(secret_ns: Option<&str>, pod_ns: Option<&str>) -> String {
    let ns = |n: Option<&str>| n.map(|n| format!(", namespace: {n}")).unwrap_or_default();
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: db{}}}\nstringData: {{password: pw}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web{}}}\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        envFrom: [{{secretRef: {{name: db}}}}]\n",
        ns(secret_ns),
        ns(pod_ns)
    )
}

fn stamped(args: &[&str], input: &str) -> bool {
    let out = run(args, input);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout(&out).contains("secret-rollout/secret.db:")
}

#[test]
fn objects_match_by_namespace_and_the_release_namespace_fills_gaps() {
    // Same explicit namespace, or both in the release namespace.
    assert!(stamped(&[], &namespaced(Some("prod"), Some("prod"))));
    assert!(stamped(&[], &namespaced(None, None)));
    // Different explicit namespaces never match.
    assert!(!stamped(&[], &namespaced(Some("prod"), Some("dev"))));
    // One side in the unknown release namespace (Helm 4 does not say which):
    // assume it is the other's, since a missed stamp is the worse mistake.
    assert!(stamped(&[], &namespaced(None, Some("prod"))));
    assert!(stamped(&[], &namespaced(Some("prod"), None)));
    // --namespace settles it.
    assert!(stamped(
        &["--namespace", "prod"],
        &namespaced(None, Some("prod"))
    ));
    assert!(!stamped(
        &["--namespace", "dev"],
        &namespaced(None, Some("prod"))
    ));
    assert!(!stamped(
        &["render", "-n", "dev"],
        &namespaced(Some("prod"), None)
    ));
}
