//! `--lookup`: Secrets and ConfigMaps that exist only in the cluster, read by
//! name with the user's kubeconfig. No Kubernetes API server can be installed
//! here, so the cluster is `common/apiserver.rs`: a loopback HTTPS endpoint
//! with a certificate from a test CA that checks a bearer token and answers
//! the API's GETs the way the API server does (objects as JSON, `Status`
//! objects for 401, 403 and 404), reached through a real kubeconfig file
//! (token, or an exec credential plugin) by the real binary.

#[path = "common/apiserver.rs"]
mod apiserver;
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use apiserver::{ApiServer, Seen};
use common::manifests::{all_stamps, changed, only_admin_changed};
use common::{root, run_cmd, stderr, stdout, temp_dir};

const GOOD: &str = "helm4/the0-good.yaml";
const ADMIN_KEY: &str = "secret.the0-root-admin";
const PASSWORD: &str = "cluster-only-one";
const ROTATED: &str = "cluster-only-two";
const TOKEN: &str = "test-token-4f1c9a";

fn key_file() -> String {
    root().join("testdata/digest.key").display().to_string()
}

/// The binary with nothing inherited that would change what it does: no
/// SECRET_ROLLOUT_* variables, no proxy, not "in a pod", and `kubeconfig`
/// as the only kubeconfig.
fn sr(kubeconfig: &Path, args: &[&str], stdin: &str) -> Output {
    run_cmd(&mut command(kubeconfig, args), stdin)
}

fn command(kubeconfig: &Path, args: &[&str]) -> Command {
    let mut cmd = common::bin();
    cmd.current_dir(root());
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy();
        if k.starts_with("SECRET_ROLLOUT_")
            || k.starts_with("KUBE")
            || k.ends_with("_PROXY")
            || k.ends_with("_proxy")
        {
            cmd.env_remove(key);
        }
    }
    cmd.env("KUBECONFIG", kubeconfig).args(args);
    cmd
}

/// `render --lookup` with the bundled key.
fn render(kubeconfig: &Path, extra: &[&str]) -> Output {
    let key = key_file();
    let mut args = vec!["render", "--lookup", "--digest-key-file", &key];
    args.extend_from_slice(extra);
    sr(kubeconfig, &args, &common::fixture(GOOD))
}

fn ok(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", stderr(out));
    stdout(out)
}

/// A server holding the0's admin password in namespace `the0`, and a
/// kubeconfig whose context is in `the0`.
fn the0_cluster(name: &str) -> (ApiServer, PathBuf) {
    let server = ApiServer::start(TOKEN);
    server.put_secret("the0", "the0-root-admin", &[("password", PASSWORD)]);
    let dir = temp_dir(&format!("lookup/{name}"));
    let kubeconfig = server.kubeconfig(&dir, Some("the0"), &server.token_user());
    (server, kubeconfig)
}

fn get(ns: &str, resource: &str, name: &str) -> Seen {
    Seen {
        method: "GET".into(),
        path: format!("/api/v1/namespaces/{ns}/{resource}/{name}"),
        authorized: true,
    }
}

/// The stream as `render` writes it without `--lookup` (same key).
fn without_lookup() -> String {
    let key = key_file();
    let out = sr(
        Path::new("/nonexistent"),
        &["render", "--digest-key-file", &key],
        &common::fixture(GOOD),
    );
    ok(&out)
}

fn assert_no_values(out: &Output) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    for text in [stdout(out), stderr(out)] {
        for secret in [PASSWORD, ROTATED, TOKEN] {
            assert!(!text.contains(secret), "{secret} shown:\n{text}");
            assert!(
                !text.contains(&b64.encode(secret)),
                "{secret} shown in base64"
            );
        }
    }
}

#[test]
fn a_cluster_only_secret_is_stamped_with_one_get_by_name() {
    let (server, kubeconfig) = the0_cluster("stamped");
    server.put_secret("the0", "unrelated", &[("x", "y")]);
    let out = render(&kubeconfig, &[]);
    let text = ok(&out);
    assert!(
        !stderr(&out).contains("unresolved-reference"),
        "{}",
        stderr(&out)
    );
    assert_no_values(&out);
    let stamps = all_stamps(&text);
    let admin = &stamps["Deployment/the0-api"][ADMIN_KEY];
    assert!(admin.starts_with("hmac-sha256:"), "{admin}");
    // Only what no other source holds, each by name: never a list, never
    // the render's own Secrets.
    assert_eq!(
        server.take_seen(),
        [get("the0", "secrets", "the0-root-admin")]
    );
    // Apart from that stamp, the stream is what render writes without it.
    assert_eq!(
        changed(&all_stamps(&without_lookup()), &stamps),
        only_admin_changed()
    );
}

#[test]
fn rotating_the_cluster_secret_changes_exactly_its_consumers_stamps() {
    let (server, kubeconfig) = the0_cluster("rotation");
    let before = all_stamps(&ok(&render(&kubeconfig, &[])));
    server.put_secret("the0", "the0-root-admin", &[("password", ROTATED)]);
    let after = ok(&render(&kubeconfig, &[]));
    assert_eq!(changed(&before, &all_stamps(&after)), only_admin_changed());
    // The same value again gives the same stamp: content, not a fetch time.
    server.put_secret("the0", "the0-root-admin", &[("password", PASSWORD)]);
    let again = all_stamps(&ok(&render(&kubeconfig, &[])));
    assert_eq!(again, before);
}

#[test]
fn a_cluster_secret_stamps_like_the_same_secret_in_a_file() {
    let (_server, kubeconfig) = the0_cluster("like-a-file");
    let from_cluster = all_stamps(&ok(&render(&kubeconfig, &[])));
    let dir = temp_dir("lookup/like-a-file-files");
    let file = common::write_temp(
        &dir,
        "the0-root-admin.yaml",
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: the0-root-admin\n  namespace: the0\nstringData:\n  password: {PASSWORD}\n"
        ),
    );
    let key = key_file();
    let from_file = sr(
        Path::new("/nonexistent"),
        &[
            "render",
            "--namespace",
            "the0",
            "--digest-key-file",
            &key,
            "--secrets-from",
            file.to_str().unwrap(),
        ],
        &common::fixture(GOOD),
    );
    assert_eq!(all_stamps(&ok(&from_file)), from_cluster);
}

#[test]
fn files_win_over_the_cluster_and_are_not_fetched() {
    let (server, kubeconfig) = the0_cluster("files-win");
    let dir = temp_dir("lookup/files-win-files");
    let file = common::write_temp(
        &dir,
        "admin.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: the0-root-admin}\nstringData: {password: from-the-file}\n",
    );
    let out = render(&kubeconfig, &["--secrets-from", file.to_str().unwrap()]);
    let with_file = all_stamps(&ok(&out));
    assert_eq!(server.take_seen(), []);
    let from_cluster = all_stamps(&ok(&render(&kubeconfig, &[])));
    assert_ne!(
        with_file["Deployment/the0-api"][ADMIN_KEY],
        from_cluster["Deployment/the0-api"][ADMIN_KEY]
    );
}

#[test]
fn the_release_namespace_is_the_flag_else_the_context_s() {
    let server = ApiServer::start(TOKEN);
    for ns in ["the0", "prod", "default"] {
        server.put_secret(ns, "the0-root-admin", &[("password", ns)]);
    }
    let dir = temp_dir("lookup/namespace");
    let in_the0 = server.kubeconfig(&dir, Some("the0"), &server.token_user());
    ok(&render(&in_the0, &[]));
    assert_eq!(
        server.take_seen(),
        [get("the0", "secrets", "the0-root-admin")]
    );
    ok(&render(&in_the0, &["--namespace", "prod"]));
    assert_eq!(
        server.take_seen(),
        [get("prod", "secrets", "the0-root-admin")]
    );
    // A context without a namespace means `default`, as for kubectl.
    let dir = temp_dir("lookup/namespace-none");
    let no_ns = server.kubeconfig(&dir, None, &server.token_user());
    ok(&render(&no_ns, &[]));
    assert_eq!(
        server.take_seen(),
        [get("default", "secrets", "the0-root-admin")]
    );
    // An object's own namespace wins over both.
    let stream = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w, namespace: prod}\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        envFrom: [{secretRef: {name: the0-root-admin}}]\n";
    let key = key_file();
    let out = sr(
        &in_the0,
        &["render", "--lookup", "--digest-key-file", &key],
        stream,
    );
    assert!(ok(&out).contains("secret-rollout/secret.the0-root-admin: \"hmac-sha256:"));
    assert_eq!(
        server.take_seen(),
        [get("prod", "secrets", "the0-root-admin")]
    );
}

/// Two pods and a hook read cluster-only objects: a Secret, a ConfigMap
/// (whole and by key), an optional Secret that does not exist, and one
/// Secret twice. Each is asked for once; the Job that is not a hook is
/// never stamped, so what only it reads is not asked for.
const MANY: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web
        envFrom:
        - secretRef: {name: db}
        - configMapRef: {name: settings}
        env:
        - name: MAYBE
          valueFrom: {secretKeyRef: {name: maybe, key: k, optional: true}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: worker
spec:
  template:
    spec:
      containers:
      - name: worker
        env:
        - name: DB
          valueFrom: {secretKeyRef: {name: db, key: url}}
        - name: MODE
          valueFrom: {configMapKeyRef: {name: settings, key: mode}}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: once
spec:
  template:
    spec:
      containers:
      - name: once
        envFrom: [{secretRef: {name: only-the-job}}]
";

fn many_cluster(name: &str) -> (ApiServer, PathBuf) {
    let server = ApiServer::start(TOKEN);
    server.put_secret("apps", "db", &[("url", "postgres://db"), ("user", "app")]);
    server.put_config_map("apps", "settings", &[("mode", "fast"), ("level", "3")]);
    server.put_secret("apps", "only-the-job", &[("x", "y")]);
    let dir = temp_dir(&format!("lookup/{name}"));
    let kubeconfig = server.kubeconfig(&dir, Some("apps"), &server.token_user());
    (server, kubeconfig)
}

fn render_many(kubeconfig: &Path, extra: &[&str]) -> Output {
    let key = key_file();
    let mut args = vec!["render", "--lookup", "--digest-key-file", &key];
    args.extend_from_slice(extra);
    sr(kubeconfig, &args, MANY)
}

#[test]
fn each_referenced_object_is_asked_for_once_and_optional_absence_is_fine() {
    let (server, kubeconfig) = many_cluster("many");
    let out = render_many(&kubeconfig, &[]);
    let stamps = all_stamps(&ok(&out));
    assert!(!stderr(&out).contains("lookup-failed"), "{}", stderr(&out));
    let mut seen: Vec<String> = server.take_seen().into_iter().map(|s| s.path).collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            "/api/v1/namespaces/apps/configmaps/settings",
            "/api/v1/namespaces/apps/secrets/db",
            "/api/v1/namespaces/apps/secrets/maybe",
        ]
    );
    for w in ["Deployment/web", "StatefulSet/worker"] {
        assert!(stamps[w].contains_key("secret.db"), "{stamps:?}");
        assert!(stamps[w].contains_key("configmap.settings"), "{stamps:?}");
    }
    assert!(!stamps.contains_key("Job/once"));
    // Rotating a key only the web reads rolls only the web; a ConfigMap key
    // only the worker reads, only the worker.
    server.put_secret("apps", "db", &[("url", "postgres://db"), ("user", "other")]);
    let user_rotated = all_stamps(&ok(&render_many(&kubeconfig, &[])));
    assert_eq!(
        changed(&stamps, &user_rotated),
        BTreeMap::from([("Deployment/web".to_string(), vec!["secret.db".to_string()])])
    );
    server.put_config_map("apps", "settings", &[("mode", "slow"), ("level", "3")]);
    let mode_rotated = all_stamps(&ok(&render_many(&kubeconfig, &[])));
    assert_eq!(
        changed(&user_rotated, &mode_rotated),
        BTreeMap::from([
            (
                "Deployment/web".to_string(),
                vec!["configmap.settings".to_string()]
            ),
            (
                "StatefulSet/worker".to_string(),
                vec!["configmap.settings".to_string()]
            ),
        ])
    );
}

#[test]
fn a_policy_that_does_not_stamp_config_maps_does_not_fetch_them() {
    let (server, kubeconfig) = many_cluster("no-configmaps");
    let dir = temp_dir("lookup/no-configmaps-policy");
    let policy = common::write_temp(
        &dir,
        "policy.yaml",
        "apiVersion: secret-rollout/v1\nkind: Policy\nstampConfigMaps: false\n",
    );
    ok(&render_many(
        &kubeconfig,
        &["--policy", policy.to_str().unwrap()],
    ));
    let seen: Vec<String> = server.take_seen().into_iter().map(|s| s.path).collect();
    assert!(seen.iter().all(|p| !p.contains("configmaps")), "{seen:?}");
}

#[test]
fn not_found_is_a_warning_naming_the_object_and_the_stream_is_whole() {
    let (server, kubeconfig) = the0_cluster("not-found");
    server.remove("secrets", "the0", "the0-root-admin");
    let out = render(&kubeconfig, &[]);
    assert_eq!(ok(&out), without_lookup());
    let err = stderr(&out);
    assert_eq!(err.matches("warning[lookup-failed]").count(), 1, "{err}");
    assert!(
        err.contains("Deployment/the0-api uses Secret the0/the0-root-admin, which is in neither the render, the --secrets-from files nor the cluster (context the0-prod)"),
        "{err}"
    );
    assert!(
        err.contains("kubectl -n the0 get secrets the0-root-admin"),
        "{err}"
    );
    assert!(
        err.contains("--> the0/templates/the0-api.yaml, document 2, line 84"),
        "{err}"
    );
}

#[test]
fn forbidden_is_a_warning_naming_the_missing_rbac_rule() {
    let (server, kubeconfig) = the0_cluster("forbidden");
    server.forbid("secrets", "the0");
    let out = render(&kubeconfig, &[]);
    assert_eq!(ok(&out), without_lookup());
    let err = stderr(&out);
    let line = err
        .lines()
        .find(|l| l.starts_with("warning[lookup-failed]"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        line.contains("may not read Secret the0/the0-root-admin"),
        "{line}"
    );
    // The status, never the server's own words (a proxy may echo the
    // request, bearer token and all).
    assert!(
        line.ends_with("the cluster answered 403 Forbidden"),
        "{line}"
    );
    assert!(!line.contains(apiserver::USER), "{line}");
    assert!(
        err.contains("grant this identity the verb `get` on `secrets` in namespace `the0`"),
        "{err}"
    );
    assert!(err.contains("resourceNames: [the0-root-admin]"), "{err}");
    assert_no_values(&out);
}

#[test]
fn a_slow_cluster_hits_the_deadline_and_what_answered_is_still_stamped() {
    let (server, kubeconfig) = many_cluster("slow");
    server.slow("secrets", "apps", "db", Duration::from_secs(60));
    let started = Instant::now();
    let out = render_many(&kubeconfig, &["--lookup-timeout", "1.5"]);
    let took = started.elapsed();
    let stamps = all_stamps(&ok(&out));
    // Bounded by the deadline, not by the server (60 s); the margin is for
    // a loaded machine, not a measurement.
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert!(took >= Duration::from_millis(1500), "took {took:?}");
    let err = stderr(&out);
    assert!(
        err.contains(
            "no answer from the cluster (context the0-prod) within 1.5s for Secret apps/db"
        ),
        "{err}"
    );
    // The ConfigMap answered in time (the requests run in parallel), so it
    // is stamped; the slow Secret is not.
    assert!(stamps["Deployment/web"].contains_key("configmap.settings"));
    assert!(!stamps["Deployment/web"].contains_key("secret.db"));
}

#[test]
fn a_wrong_token_is_one_warning_for_every_object() {
    let (_server, kubeconfig) = many_cluster("wrong-token");
    let text = std::fs::read_to_string(&kubeconfig).unwrap();
    std::fs::write(&kubeconfig, text.replace(TOKEN, "not-the-token")).unwrap();
    let out = render_many(&kubeconfig, &[]);
    ok(&out);
    let err = stderr(&out);
    assert_eq!(err.matches("warning[lookup-failed]").count(), 1, "{err}");
    assert!(
        err.contains("the cluster (context the0-prod) refused the credentials (401 Unauthorized) when --lookup read"),
        "{err}"
    );
    for object in [
        "Secret apps/db",
        "ConfigMap apps/settings",
        "Secret apps/maybe",
    ] {
        assert!(err.contains(object), "{object}: {err}");
    }
}

#[test]
fn a_server_certificate_from_another_ca_is_refused_with_a_warning() {
    let (server, _) = the0_cluster("other-ca");
    let other = ApiServer::start(TOKEN);
    let dir = temp_dir("lookup/other-ca-config");
    let kubeconfig = server.kubeconfig(&dir, Some("the0"), &server.token_user());
    let text = std::fs::read_to_string(&kubeconfig).unwrap();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    std::fs::write(
        &kubeconfig,
        text.replace(&b64.encode(&server.ca_pem), &b64.encode(&other.ca_pem)),
    )
    .unwrap();
    let out = render(&kubeconfig, &[]);
    assert_eq!(ok(&out), without_lookup());
    let err = stderr(&out);
    let line = err
        .lines()
        .find(|l| l.starts_with("warning[lookup-failed]"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        line.contains("could not reach the cluster (context the0-prod)"),
        "{line}"
    );
    assert!(line.contains("certificate"), "{line}");
    assert_eq!(
        server.take_seen(),
        [],
        "no request without a trusted server"
    );
}

/// An exec credential plugin, as EKS, GKE and AKS kubeconfigs use: the
/// token exists only in its output.
fn exec_user(dir: &Path, body: &str) -> String {
    let script = dir.join("credential-plugin.sh");
    std::fs::write(&script, format!("#!/bin/sh\n{body}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!(
        "exec:\n  apiVersion: client.authentication.k8s.io/v1\n  command: {}\n  interactiveMode: Never",
        script.display()
    )
}

#[test]
fn an_exec_credential_plugin_supplies_the_token() {
    let server = ApiServer::start(TOKEN);
    server.put_secret("the0", "the0-root-admin", &[("password", PASSWORD)]);
    let dir = temp_dir("lookup/exec");
    let user = exec_user(
        &dir,
        &format!(
            "printf '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{TOKEN}\"}}}}'"
        ),
    );
    let kubeconfig = server.kubeconfig(&dir, Some("the0"), &user);
    let out = render(&kubeconfig, &[]);
    let stamps = all_stamps(&ok(&out));
    assert!(stamps["Deployment/the0-api"].contains_key(ADMIN_KEY));
    assert_eq!(
        server.take_seen(),
        [get("the0", "secrets", "the0-root-admin")]
    );
    assert_no_values(&out);
}

#[test]
fn a_credential_plugin_that_hangs_or_fails_is_bounded_and_never_quoted() {
    let server = ApiServer::start(TOKEN);
    let dir = temp_dir("lookup/exec-hangs");
    let hangs = server.kubeconfig(&dir, Some("the0"), &exec_user(&dir, "exec sleep 60"));
    let started = Instant::now();
    let out = render(&hangs, &["--lookup-timeout", "1"]);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(ok(&out), without_lookup());
    assert!(
        stderr(&out).contains("no answer from the cluster"),
        "{}",
        stderr(&out)
    );

    let dir = temp_dir("lookup/exec-fails");
    let fails = server.kubeconfig(
        &dir,
        Some("the0"),
        &exec_user(&dir, &format!("echo 'partial {TOKEN}'; exit 3")),
    );
    let out = render(&fails, &[]);
    ok(&out);
    let err = stderr(&out);
    assert!(
        err.contains("credential-plugin.sh` failed (exit status: 3)"),
        "{err}"
    );
    assert!(
        !err.contains(TOKEN),
        "the plugin's output is never shown:\n{err}"
    );
}

#[test]
fn kubeconfig_files_in_kubeconfig_are_merged_like_kubectl() {
    let (_server, kubeconfig) = the0_cluster("merged");
    // The first file only picks the context; the second has the rest.
    let dir = temp_dir("lookup/merged-first");
    let first = common::write_temp(
        &dir,
        "select.yaml",
        "apiVersion: v1\nkind: Config\ncurrent-context: the0-prod\n",
    );
    let text = std::fs::read_to_string(&kubeconfig).unwrap();
    std::fs::write(
        &kubeconfig,
        text.replace("current-context: the0-prod\n", ""),
    )
    .unwrap();
    let both = format!("{}:{}", first.display(), kubeconfig.display());
    let out = render(Path::new(&both), &[]);
    assert!(all_stamps(&ok(&out))["Deployment/the0-api"].contains_key(ADMIN_KEY));
}

#[test]
fn without_a_digest_key_lookup_exits_2_and_asks_the_cluster_nothing() {
    let (server, kubeconfig) = the0_cluster("no-key");
    let out = sr(&kubeconfig, &["render", "--lookup"], &common::fixture(GOOD));
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert!(
        err.starts_with("secret-rollout: error: --lookup needs --digest-key-file (SECRET_ROLLOUT_DIGEST_KEY_FILE): a plain sha256 of a cluster Secret's values, written on a Deployment, lets anyone who can read Deployments test guesses of those values offline"),
        "{err}"
    );
    assert_eq!(server.take_seen(), []);
}

#[test]
fn without_any_cluster_lookup_exits_2_naming_what_it_tried() {
    let out = sr(
        Path::new("/nonexistent/kubeconfig"),
        &["render", "--lookup", "--digest-key-file", &key_file()],
        &common::fixture(GOOD),
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out).lines().next().unwrap(),
        "secret-rollout: error: --lookup found no cluster to read from: no kubeconfig (KUBECONFIG=/nonexistent/kubeconfig) and not running in a pod (failed to read an incluster environment variable: environment variable not found)"
    );
}

#[test]
fn the_environment_turns_lookup_on() {
    let (server, kubeconfig) = the0_cluster("env");
    let mut cmd = command(&kubeconfig, &["render"]);
    cmd.env("SECRET_ROLLOUT_LOOKUP", "true")
        .env("SECRET_ROLLOUT_LOOKUP_TIMEOUT", "5")
        .env("SECRET_ROLLOUT_DIGEST_KEY_FILE", key_file());
    let out = run_cmd(&mut cmd, &common::fixture(GOOD));
    assert!(all_stamps(&ok(&out))["Deployment/the0-api"].contains_key(ADMIN_KEY));
    assert_eq!(server.take_seen().len(), 1);
    // And off, as for every flag.
    let mut cmd = command(&kubeconfig, &["render"]);
    cmd.env("SECRET_ROLLOUT_LOOKUP", "false");
    ok(&run_cmd(&mut cmd, &common::fixture(GOOD)));
    assert_eq!(server.take_seen(), []);
}

#[test]
fn a_policy_can_make_a_failed_lookup_refuse_the_render() {
    let (server, kubeconfig) = the0_cluster("strict");
    server.forbid("secrets", "the0");
    let dir = temp_dir("lookup/strict-policy");
    let policy = common::write_temp(
        &dir,
        "policy.yaml",
        "apiVersion: secret-rollout/v1\nkind: Policy\nrules:\n  lookup-failed: error\n",
    );
    let out = render(&kubeconfig, &["--policy", policy.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains("error[lookup-failed]"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn explain_shows_looked_up_sources_and_why_others_were_not_found() {
    let (server, kubeconfig) = many_cluster("explain");
    server.forbid("configmaps", "apps");
    let key = key_file();
    let out = sr(
        &kubeconfig,
        &["explain", "--lookup", "--digest-key-file", &key],
        MANY,
    );
    let text = ok(&out);
    assert!(
        text.contains(
            "envFrom <- Secret db all keys [from cluster context the0-prod, namespace apps]"
        ),
        "{text}"
    );
    assert!(
        text.contains("envFrom <- ConfigMap settings all keys [NOT found (lookup: get forbidden by RBAC): rotation not stamped]"),
        "{text}"
    );
    assert!(
        text.contains(
            "env MAYBE <- Secret maybe key k [not found, optional; lookup: not in the cluster]"
        ),
        "{text}"
    );
    assert!(text.contains("(source read from the cluster)"), "{text}");
    let out = sr(
        &kubeconfig,
        &[
            "explain",
            "--lookup",
            "--digest-key-file",
            &key,
            "--format",
            "json",
        ],
        MANY,
    );
    let v: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    let web = &v["workloads"][0];
    assert_eq!(
        web["stamps_from_cluster"],
        serde_json::json!(["secret-rollout/secret.db"])
    );
    let uses = web["uses"].as_array().unwrap();
    let by_name = |n: &str| uses.iter().find(|u| u["name"] == n).unwrap();
    assert_eq!(
        by_name("db")["origin"],
        "cluster context the0-prod, namespace apps"
    );
    assert_eq!(
        by_name("settings")["lookup_failed"],
        "get forbidden by RBAC"
    );
    assert_eq!(by_name("settings")["resolved"], false);
}

#[test]
fn check_reads_the_cluster_too() {
    let (server, kubeconfig) = the0_cluster("check");
    server.forbid("secrets", "the0");
    let key = key_file();
    let fixture = root().join("testdata").join(GOOD);
    let out = sr(
        &kubeconfig,
        &[
            "check",
            "--lookup",
            "--digest-key-file",
            &key,
            "--format",
            "json",
            fixture.to_str().unwrap(),
        ],
        "",
    );
    let v: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"lookup-failed"), "{rules:?}");
}

#[test]
fn the_readme_examples_are_what_the_tool_prints() {
    let (server, kubeconfig) = the0_cluster("readme");
    // README: `secret-rollout explain --lookup --digest-key-file testdata/digest.key < testdata/helm4/the0-good.yaml`
    let out = sr(
        &kubeconfig,
        &[
            "explain",
            "--lookup",
            "--digest-key-file",
            "testdata/digest.key",
        ],
        &common::fixture(GOOD),
    );
    let explained = ok(&out);
    for line in [
        "Deployment/the0-api (the0/templates/the0-api.yaml)",
        "    env THE0_ADMIN_PASSWORD <- Secret the0-root-admin key password [from cluster context the0-prod, namespace the0]",
        "  stamp secret-rollout/secret.the0-root-admin = hmac-sha256:",
    ] {
        assert!(explained.lines().any(|l| l.starts_with(line)), "{line:?} in:\n{explained}");
    }
    assert!(explained.contains("(source read from the cluster)"));
    // README: the warning when RBAC forbids the get.
    server.forbid("secrets", "the0");
    let err = stderr(&render(&kubeconfig, &[]));
    let block = "\
warning[lookup-failed]: --lookup may not read Secret the0/the0-root-admin, which Deployment/the0-api uses (context the0-prod): the cluster answered 403 Forbidden
  --> the0/templates/the0-api.yaml, document 2, line 84
   = workload: Deployment/the0-api
   = help: grant this identity the verb `get` on `secrets` in namespace `the0` (a Role with rules `[{apiGroups: [\"\"], resources: [secrets], verbs: [get], resourceNames: [the0-root-admin]}]` and a RoleBinding); secret-rollout only gets objects by name, never lists them
";
    assert!(err.contains(block), "{err}");
}

#[test]
fn a_server_that_echoes_the_token_reaches_no_message_with_it() {
    for code in [403, 500] {
        let (server, kubeconfig) = the0_cluster(&format!("echo-{code}"));
        server.echo("secrets", "the0", code);
        let out = render(&kubeconfig, &[]);
        assert_eq!(ok(&out), without_lookup());
        let err = stderr(&out);
        let line = err
            .lines()
            .find(|l| l.starts_with("warning[lookup-failed]"))
            .unwrap_or_else(|| panic!("{err}"));
        let said = if code == 403 {
            "the cluster answered 403 Forbidden"
        } else {
            "the cluster (context the0-prod) answered 500 (no reason)"
        };
        assert!(line.ends_with(said), "{line}");
        assert_no_values(&out);
        assert!(!err.contains("upstream refused"), "{err}");
        let key = key_file();
        let json = sr(
            &kubeconfig,
            &[
                "check",
                "--lookup",
                "--digest-key-file",
                &key,
                "--format",
                "json",
            ],
            &common::fixture(GOOD),
        );
        assert_no_values(&json);
        assert!(stdout(&json).contains("lookup-failed"), "{}", stdout(&json));
    }
}
