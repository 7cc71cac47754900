//! kustomize end to end, with the real `kubectl kustomize` (kustomize v5.8.1
//! inside kubectl v1.37.1), helm v4.3.1 and v3.17.2 as its `--helm-command`,
//! and a real container engine: Debian's `docker.io`, whose `dockerd` the
//! container test starts and stops itself. Nothing here skips: a missing tool
//! fails the test.
//!
//! Every kustomization inflates the0's chart with `helmCharts` and then runs
//! secret-rollout as a transformer: as a container KRM function, or as a
//! legacy exec plugin. What comes out must mean what plain inflation means
//! (the kubectl oracle) plus exactly the stamps `secret-rollout render` gives
//! the same objects.
//!
//! The KRM protocol itself is tested on ResourceLists that kubectl kustomize
//! really sent (`testdata/krm`, from `scripts/capture-krm-input`).

mod common;

use common::assert_ok;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::docker::Dockerd;
use common::oracle;
use serde_json::Value;

/// The plain-text password in `bad-plain-env.yaml`: must never be shown.
const BAD_PASSWORD: &str = "plain-admin-password-123";
const GOOD: &str = "testdata/charts/values/good.yaml";
const BAD: &str = "testdata/charts/values/bad-plain-env.yaml";
/// The README's tag: the crate's version.
const IMAGE: &str = concat!("secret-rollout:", env!("CARGO_PKG_VERSION"));

/// The README's one command that installs the legacy exec plugin.
const INSTALL_PLUGIN: &str = r#"install -D "$(command -v secret-rollout)" "${KUSTOMIZE_PLUGIN_HOME:-${XDG_CONFIG_HOME:-$HOME/.config}/kustomize/plugin}/secret-rollout/v1/secretrollout/SecretRollout""#;

/// The transformer config as the README shows it; the container form adds
/// the function annotation.
const TRANSFORMER: &str = "\
apiVersion: secret-rollout/v1
kind: SecretRollout
metadata:
  name: stamp
namespace: the0
";

/// The README's legacy plugin config for Secrets outside the chart: a
/// `secretsFrom` that must not replace the policy.
const TRANSFORMER_SECRETS_FROM: &str = "\
apiVersion: secret-rollout/v1
kind: SecretRollout
metadata:
  name: stamp
namespace: the0
secretsFrom:
  - secrets
";

fn container_transformer(image: &str) -> String {
    format!(
        "\
apiVersion: secret-rollout/v1
kind: SecretRollout
metadata:
  name: stamp
  annotations:
    config.kubernetes.io/function: |
      container:
        image: {image}
namespace: the0
"
    )
}

fn helm(major: u8) -> PathBuf {
    common::tool(if major == 4 { "helm" } else { "helm3" })
}

/// A kustomization that inflates the0 with `values` and, when given, runs
/// `transformer` on the result.
struct App {
    dir: PathBuf,
    scratch: PathBuf,
}

impl App {
    fn new(name: &str, values: &str, transformer: Option<&str>) -> App {
        let base = common::temp_dir(&format!("kustomize/{name}"));
        let dir = base.join("app");
        let scratch = base.join("scratch");
        std::fs::create_dir_all(&scratch).unwrap();
        common::copy_dir(
            &common::root().join("testdata/charts/the0"),
            &dir.join("charts/the0"),
        );
        std::fs::copy(common::root().join(values), dir.join("values.yaml")).unwrap();
        let mut kustomization = String::from(
            "helmCharts:\n- name: the0\n  releaseName: the0\n  namespace: the0\n  valuesFile: values.yaml\n",
        );
        if let Some(t) = transformer {
            common::write_temp(&dir, "secret-rollout.yaml", t);
            kustomization.push_str("transformers:\n- secret-rollout.yaml\n");
        }
        common::write_temp(&dir, "kustomization.yaml", &kustomization);
        App { dir, scratch }
    }

    /// `kubectl kustomize --enable-helm --helm-command HELM --enable-alpha-plugins`,
    /// offline, with a scratch HOME (so kustomize's plugin home is
    /// `$HOME/.config/kustomize/plugin`) and scratch Helm homes.
    fn kustomize(&self, helm: &Path, env: &[(&str, &str)]) -> Output {
        let mut cmd = self.kubectl();
        cmd.args(["kustomize", "--enable-helm", "--helm-command"])
            .arg(helm)
            .arg("--enable-alpha-plugins")
            .arg(&self.dir)
            .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("running kubectl kustomize")
    }

    /// kubectl with the scratch HOME and Helm homes, none of our variables.
    fn kubectl(&self) -> Command {
        let mut cmd = oracle::kubectl(&self.scratch);
        cmd.env("HELM_DATA_HOME", self.scratch.join("helm/data"))
            .env("HELM_CONFIG_HOME", self.scratch.join("helm/config"))
            .env("HELM_CACHE_HOME", self.scratch.join("helm/cache"))
            .env_remove("KUSTOMIZE_PLUGIN_HOME")
            .env_remove("XDG_CONFIG_HOME");
        for var in std::env::vars().map(|(k, _)| k) {
            if var.starts_with("SECRET_ROLLOUT_") {
                cmd.env_remove(var);
            }
        }
        cmd
    }

    fn decode(&self, name: &str, stream: &str) -> Vec<Value> {
        let file = common::write_temp(&self.scratch, name, stream);
        oracle::decode(&self.scratch, &[&file]).unwrap_or_else(|e| panic!("{name}: {e}"))
    }
}

/// `with` must be `plain` plus our stamps, and the stamps those that
/// `secret-rollout render --namespace the0` writes on `plain`.
fn assert_stamped_like_render(app: &App, plain: &str, with: &str) {
    let plain_objects = app.decode("plain.yaml", plain);
    let with_objects = app.decode("with.yaml", with);
    assert_eq!(plain_objects.len(), with_objects.len());
    for (p, w) in plain_objects.iter().zip(&with_objects) {
        let w = oracle::without_ours(w.clone());
        if *p != w {
            let (p, w) = (
                serde_json::to_string_pretty(p).unwrap(),
                serde_json::to_string_pretty(&w).unwrap(),
            );
            panic!(
                "{} means something else:\n{}",
                oracle::object_id(&w.parse().unwrap()),
                oracle::diff(&p, &w)
            );
        }
    }
    let rendered = common::run(&["render", "--namespace", "the0"], plain);
    let rendered = assert_ok(&rendered, "secret-rollout render of the plain inflation");
    let expected = common::stamps(&app.decode("rendered.yaml", &rendered));
    let got = common::stamps(&with_objects);
    assert!(
        expected.contains_key("Deployment/the0-api") && expected.len() >= 8,
        "{expected:#?}"
    );
    assert_eq!(got, expected);
}

fn assert_refused_with_reason(out: &Output, what: &str) {
    let stderr = common::stderr(out);
    assert!(!out.status.success(), "{what} should fail:\n{stderr}");
    assert!(
        stderr.contains(
            "error[admin-password-not-from-secret]: THE0_ADMIN_PASSWORD in Deployment/the0-api"
        ),
        "{what}: the reason does not reach the terminal:\n{stderr}"
    );
    assert!(
        stderr.contains("secret-rollout: refusing to render: 1 error"),
        "{stderr}"
    );
    assert!(!stderr.contains(BAD_PASSWORD), "{what} shows the password");
    assert!(out.stdout.is_empty(), "{what}: output on failure");
}

// ---------------------------------------------------------------- the KRM protocol

fn krm(input: &str) -> Output {
    common::run(&["krm"], input)
}

/// `output` is `input` with lines added and none changed or lost; the added
/// lines are our stamps (with the `metadata:`/`annotations:` they may need)
/// and, at the end, the `results`.
fn assert_only_additions(input: &str, output: &str) {
    let results_at = output.find("\nresults:\n").map_or(output.len(), |i| i + 1);
    let (items, results) = output.split_at(results_at);
    let mut want = input.lines().peekable();
    for line in items.lines() {
        if want.peek() == Some(&line) {
            want.next();
            continue;
        }
        let t = line.trim_start();
        assert!(
            t.starts_with("secret-rollout/") || t == "annotations:" || t == "metadata:",
            "line added or changed that is not ours: {line:?}"
        );
    }
    assert_eq!(want.next(), None, "input lines went missing");
    assert!(results.is_empty() || results.starts_with("results:\n- message: "));
}

/// The objects of a ResourceList's items, as Go reads them: kubectl reads
/// any `*List` kind with `items` as a list.
fn items(scratch: &Path, name: &str, list: &str) -> Vec<Value> {
    let file = common::write_temp(scratch, name, list);
    oracle::decode(scratch, &[&file]).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The `results` of a ResourceList.
fn results(list: &str) -> Vec<Value> {
    let list: serde_yaml::Value = serde_yaml::from_str(list).expect("output is YAML");
    let list: Value = serde_json::to_value(list).unwrap();
    list["results"].as_array().cloned().unwrap_or_default()
}

#[test]
fn krm_function_stamps_a_real_resource_list_and_returns_results() {
    let scratch = common::temp_dir("kustomize/krm-good");
    let input = common::fixture("krm/the0-good.yaml");
    let out = krm(&input);
    let output = assert_ok(&out, "secret-rollout krm");
    assert_only_additions(&input, &output);

    let before = items(&scratch, "in.yaml", &input);
    let after = items(&scratch, "out.yaml", &output);
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(
            *b,
            oracle::without_ours(a.clone()),
            "{}",
            oracle::object_id(b)
        );
    }
    // The same stamps as the post-renderer gives the same release.
    let rendered = common::run(
        &["render", "--namespace", "the0"],
        &common::fixture("helm4/the0-good.yaml"),
    );
    let rendered = assert_ok(&rendered, "render");
    let file = common::write_temp(&scratch, "rendered.yaml", &rendered);
    let expected = common::stamps(&oracle::decode(&scratch, &[&file]).unwrap());
    assert!(!expected.is_empty());
    assert_eq!(common::stamps(&after), expected);

    // One warning: the admin Secret is not in the render (and notes that
    // its digests have no key).
    let results = results(&output);
    let warnings: Vec<&Value> = results.iter().filter(|r| r["severity"] != "info").collect();
    assert_eq!(warnings.len(), 1, "{results:#?}");
    assert!(results
        .iter()
        .any(|r| r["tags"]["rule"] == "unkeyed-digest"));
    let r = warnings[0];
    assert_eq!(r["severity"], "warning");
    assert_eq!(r["tags"]["rule"], "unresolved-reference");
    assert_eq!(
        r["resourceRef"],
        serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "the0-api"})
    );
    let path = r["field"]["path"].as_str().unwrap();
    let env = path
        .strip_prefix("spec.template.spec.containers[0].env[")
        .and_then(|p| p.strip_suffix("].valueFrom.secretKeyRef"))
        .unwrap_or_else(|| panic!("field path {path}"));
    let env: usize = env.parse().unwrap();
    let api = after
        .iter()
        .find(|o| oracle::object_id(o) == "Deployment/the0-api")
        .unwrap();
    assert_eq!(
        api["spec"]["template"]["spec"]["containers"][0]["env"][env]["name"], "THE0_ADMIN_PASSWORD",
        "the field path points at the variable"
    );
    assert!(common::stderr(&out).contains("warning[unresolved-reference]"));

    // A second run is a no-op.
    assert_eq!(assert_ok(&krm(&output), "second run"), output);
}

#[test]
fn krm_function_policy_error_exits_1_with_results_and_the_reason() {
    let input = common::fixture("krm/the0-bad-plain-env.yaml");
    let out = krm(&input);
    assert_eq!(out.status.code(), Some(1));
    let output = common::stdout(&out);
    let results = output
        .strip_prefix(input.as_str())
        .expect("items come back untouched");
    assert!(results.starts_with("results:\n- message: \"THE0_ADMIN_PASSWORD in Deployment/the0-api (container api) is set as a plain `value:`"), "{results}");
    assert!(results.contains("  severity: \"error\"\n"));
    assert!(results.contains("    rule: \"admin-password-not-from-secret\"\n"));
    assert!(!results.contains("plain-admin-password") && !results.contains(BAD_PASSWORD));
    let stderr = common::stderr(&out);
    assert!(
        stderr.contains("error[admin-password-not-from-secret]"),
        "{stderr}"
    );
    assert!(!stderr.contains(BAD_PASSWORD));
}

#[test]
fn orchestrator_annotations_are_kept_and_never_digested() {
    let input = common::fixture("krm/the0-good.yaml");
    // Move the Secret to another file and index, as kpt would record it.
    let secret = input.find("        name: the0-secrets\n").unwrap();
    let index =
        "      config.kubernetes.io/index: '1'\n      internal.config.kubernetes.io/index: '1'\n";
    let at = secret + input[secret..].find(index).unwrap();
    let moved = format!(
        "{}      config.kubernetes.io/index: '7'\n      internal.config.kubernetes.io/index: '7'\n      \
         config.kubernetes.io/path: 'secrets/the0.yaml'\n      internal.config.kubernetes.io/path: 'secrets/the0.yaml'\n{}",
        &input[..at],
        &input[at + index.len()..]
    );
    assert_ne!(moved, input);
    let a = assert_ok(&krm(&input), "krm");
    let b = assert_ok(&krm(&moved), "krm on the moved Secret");
    let stamps = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.trim_start().starts_with("secret-rollout/"))
            .map(str::to_string)
            .collect()
    };
    assert!(!stamps(&a).is_empty());
    assert_eq!(
        stamps(&a),
        stamps(&b),
        "orchestrator annotations changed a digest"
    );
    let orchestration = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.contains("config.kubernetes.io/") || l.contains("config.k8s.io/"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        orchestration(&b),
        orchestration(&moved),
        "orchestrator annotations changed"
    );
}

#[test]
fn function_config_forms_carry_the_settings() {
    let input = common::fixture("krm/the0-good.yaml");
    let at = input.find("functionConfig:\n").unwrap();
    let with_config = |config: &str| format!("{}{config}", &input[..at]);

    // A ConfigMap with a policy file: here one that makes an unresolved
    // reference an error.
    let config_map = "\
functionConfig:
  apiVersion: v1
  kind: ConfigMap
  metadata:
    name: secret-rollout
  data:
    namespace: the0
    policy: |
      apiVersion: secret-rollout/v1
      kind: Policy
      rules:
        unresolved-reference: error
";
    let out = krm(&with_config(config_map));
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    assert!(common::stderr(&out).contains("error[unresolved-reference]"));

    // The same through SecretRollout's own fields.
    let own = "\
functionConfig:
  apiVersion: secret-rollout/v1
  kind: SecretRollout
  metadata:
    name: stamp
  namespace: the0
  rules:
    unresolved-reference: error
";
    assert_eq!(krm(&with_config(own)).status.code(), Some(1));

    // A policy's secretsFrom: read relative to the working directory, so
    // the admin Secret outside the chart is found and its consumers stamped.
    let files = "\
functionConfig:
  apiVersion: secret-rollout/v1
  kind: SecretRollout
  metadata:
    name: stamp
  namespace: the0
  secretsFrom:
  - testdata/gitops/clusters/prod
";
    let out = krm(&with_config(files));
    let output = assert_ok(&out, "secretsFrom in the function config");
    assert!(!output.contains("unresolved-reference"), "{output}");
    assert!(output.contains("secret-rollout/secret.the0-root-admin: "));
    let missing = krm(&with_config(
        &files.replace("clusters/prod", "clusters/nowhere"),
    ));
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        common::stderr(&missing).contains("functionConfig: secretsFrom: "),
        "{}",
        common::stderr(&missing)
    );

    // A typo is refused, not ignored.
    let typo = own.replace("  rules:", "  rule:");
    let out = krm(&with_config(&typo));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains("unknown field `rule`"),
        "{}",
        common::stderr(&out)
    );
    assert!(common::stdout(&out).contains("results:\n- message: \"<stdin>: functionConfig: line "));
}

/// The KRM path is chosen by whoever runs the tool (`krm`, the image's entry
/// point, the plugin's name), never by the stream: `render` refuses a
/// ResourceList, writing nothing (see tests/trust.rs for hostile ones).
#[test]
fn render_refuses_a_resource_list() {
    let input = common::fixture("krm/the0-good.yaml");
    let out = common::run(&[], &input);
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(common::stderr(&out).contains("document 1 is a config.kubernetes.io ResourceList"));
}

#[test]
fn check_reads_a_saved_resource_list() {
    let out = common::run(&["check"], &common::fixture("krm/the0-bad-plain-env.yaml"));
    assert_eq!(out.status.code(), Some(1));
    assert!(common::stdout(&out).contains("error[admin-password-not-from-secret]"));
}

// ---------------------------------------------------------------- the legacy exec plugin

/// The README's install command, with secret-rollout on PATH as after
/// `cargo install --path .`, into the app's scratch HOME.
fn install_legacy_plugin(app: &App) {
    let path_dir = app.scratch.join("bin");
    std::fs::create_dir_all(&path_dir).unwrap();
    let link = path_dir.join("secret-rollout");
    if !link.exists() {
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_secret-rollout"), &link).unwrap();
    }
    let path = format!("{}:{}", path_dir.display(), std::env::var("PATH").unwrap());
    let out = Command::new("sh")
        .args(["-c", INSTALL_PLUGIN])
        .env("PATH", &path)
        .env("HOME", &app.scratch)
        .env_remove("KUSTOMIZE_PLUGIN_HOME")
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .unwrap();
    assert_ok(&out, "the install command");
    assert!(app
        .scratch
        .join(".config/kustomize/plugin/secret-rollout/v1/secretrollout/SecretRollout")
        .is_file());
}

#[test]
fn legacy_exec_plugin_installed_by_one_command_stamps_helm_charts() {
    let readme = common::user_docs();
    assert!(
        readme.contains(INSTALL_PLUGIN),
        "the README's install command is not the one tested"
    );
    assert!(
        readme.contains(TRANSFORMER),
        "the README's transformer config is not the one tested"
    );

    assert!(
        readme.contains(TRANSFORMER_SECRETS_FROM),
        "the README's secretsFrom config is not the one tested"
    );

    let plain = App::new("legacy-plain", GOOD, None);
    let good = App::new("legacy-good", GOOD, Some(TRANSFORMER));
    let bad = App::new("legacy-bad", BAD, Some(TRANSFORMER));
    // The README's secretsFrom config, with the sealed admin password in the
    // kustomization's `secrets/`.
    let with_secrets = |name: &str, values: &str| {
        let app = App::new(name, values, Some(TRANSFORMER_SECRETS_FROM));
        common::copy_dir(
            &common::root().join("testdata/gitops/clusters/prod"),
            &app.dir.join("secrets"),
        );
        app
    };
    let good_secrets = with_secrets("legacy-good-secrets", GOOD);
    let bad_secrets = with_secrets("legacy-bad-secrets", BAD);
    for app in [&good, &bad, &good_secrets, &bad_secrets] {
        install_legacy_plugin(app);
    }
    for major in [4, 3] {
        let helm = helm(major);
        let plain_out = assert_ok(&plain.kustomize(&helm, &[]), "plain inflation");
        let out = assert_ok(
            &good.kustomize(&helm, &[]),
            &format!("legacy plugin, helm {major}"),
        );
        assert_stamped_like_render(&good, &plain_out, &out);
        assert_refused_with_reason(
            &bad.kustomize(&helm, &[]),
            &format!("legacy plugin, bad values, helm {major}"),
        );
    }
    // secretsFrom reads the Secret outside the chart and keeps the guard.
    let out = assert_ok(
        &good_secrets.kustomize(&helm(4), &[]),
        "legacy plugin with secretsFrom",
    );
    assert!(
        out.contains("secret-rollout/secret.the0-root-admin: "),
        "{out}"
    );
    assert_refused_with_reason(
        &bad_secrets.kustomize(&helm(4), &[]),
        "legacy plugin with secretsFrom, bad values",
    );
}

/// The command docs/kustomize-argocd.md gives for the legacy plugin's
/// findings in a report file.
fn report_command() -> String {
    let docs = common::user_docs();
    let line = docs
        .lines()
        .find(|l| l.starts_with("SECRET_ROLLOUT_REPORT=") && l.contains("kubectl kustomize"))
        .expect("the docs show the legacy plugin with a report file");
    line.to_string()
}

/// kustomize drops a successful legacy plugin's stderr, so the warning that
/// the0-root-admin is not in the build (its rotation will not roll the0-api)
/// would reach nobody. The docs' command, with the real `kubectl kustomize`
/// and helm 4.3.1 on PATH: the report file gets it, and so does the terminal
/// (a pseudo-terminal from util-linux `script`), once, unless
/// `SECRET_ROLLOUT_TERMINAL=never`.
#[test]
fn legacy_plugin_warnings_reach_the_terminal_and_the_report_file() {
    const WARNING: &str = "warning[unresolved-reference]: Deployment/the0-api uses Secret the0-root-admin (env THE0_ADMIN_PASSWORD), which is not in this render";
    const SUMMARY: &str = "secret-rollout: rendered with 0 errors, 1 warning, 1 note\n";
    let command = report_command();
    let app = App::new("legacy-warnings", GOOD, Some(TRANSFORMER));
    install_legacy_plugin(&app);
    let report = app.dir.join("secret-rollout-report.txt");
    let tools = format!(
        "{}:{}:/usr/bin:/bin",
        common::tool("kubectl").parent().unwrap().display(),
        helm(4).parent().unwrap().display(),
    );
    // The docs' command, run where it says: in the kustomization's
    // directory, with kubectl and helm on PATH.
    let run = |shell: &mut Command, env: &[(&str, &str)]| -> Output {
        let kubectl = app.kubectl();
        for (key, value) in kubectl.get_envs() {
            match value {
                Some(v) => shell.env(key, v),
                None => shell.env_remove(key),
            };
        }
        shell
            .current_dir(&app.dir)
            .env("PATH", &tools)
            .env_remove("SECRET_ROLLOUT_TERMINAL")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let rendered = app.dir.join("rendered.yaml");
    let stamped = || {
        let out = std::fs::read_to_string(&rendered).unwrap();
        assert!(
            out.contains("secret-rollout/secret.the0-secrets: "),
            "{out}"
        );
        std::fs::remove_file(&rendered).unwrap();
    };

    // CI: no terminal. kustomize shows nothing of it; the report has it.
    let out = run(Command::new("sh").args(["-c", &command]), &[]);
    let stderr = common::stderr(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("the0-root-admin"),
        "kustomize shows it after all: {stderr}"
    );
    let text = std::fs::read_to_string(&report).unwrap();
    assert_eq!(text.matches(WARNING).count(), 1, "{text}");
    assert!(text.ends_with(SUMMARY), "{text}");
    stamped();
    std::fs::remove_file(&report).unwrap();

    // A person at a terminal sees it once, and the report has it too.
    let on_terminal = |env: &[(&str, &str)]| {
        let out = run(
            Command::new("script").args(["-qec", &command, "/dev/null"]),
            env,
        );
        assert!(out.status.success(), "{}", common::stderr(&out));
        String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
    };
    let shown = on_terminal(&[]);
    assert_eq!(shown.matches(WARNING).count(), 1, "{shown}");
    assert!(shown.contains(SUMMARY), "{shown}");
    let text = std::fs::read_to_string(&report).unwrap();
    assert_eq!(text.matches(WARNING).count(), 1, "{text}");
    stamped();

    let shown = on_terminal(&[("SECRET_ROLLOUT_TERMINAL", "never")]);
    assert!(!shown.contains("the0-root-admin"), "{shown}");
    stamped();
}

// ---------------------------------------------------------------- the container function

#[test]
fn container_function_runs_in_docker_under_kubectl_kustomize() {
    let mut dockerd = Dockerd::start("kustomize");
    dockerd.build_image(IMAGE);

    let readme = common::user_docs();
    let transformer = container_transformer(IMAGE);
    assert!(
        readme.contains(&transformer),
        "the README's function config is not the one tested"
    );
    let env = [
        ("DOCKER_HOST", dockerd.host.as_str()),
        ("PATH", dockerd.path.as_str()),
    ];
    let plain = App::new("container-plain", GOOD, None);
    let good = App::new("container-good", GOOD, Some(&transformer));
    let bad = App::new("container-bad", BAD, Some(&transformer));
    let mut outputs = BTreeMap::new();
    for major in [4, 3] {
        let helm = helm(major);
        let plain_out = assert_ok(&plain.kustomize(&helm, &env), "plain inflation");
        let out = good.kustomize(&helm, &env);
        let text = assert_ok(&out, &format!("container function, helm {major}"));
        assert!(
            common::stderr(&out).contains("warning[unresolved-reference]"),
            "the function's stderr reaches the terminal"
        );
        assert_stamped_like_render(&good, &plain_out, &text);
        outputs.insert(major, text);
    }
    assert_eq!(outputs[&4], outputs[&3], "helm 4 and helm 3 inflate alike");
    let refused = bad.kustomize(&helm(4), &env);
    assert_refused_with_reason(&refused, "container function, bad values");
    let stderr = common::stderr(&refused);
    for line in [
        "  --> ResourceList items[20] (document 1) at <stdin>:981:13",
        "error: couldn't execute function: exit status 1",
    ] {
        assert!(
            stderr.contains(line),
            "the README shows {line:?}:\n{stderr}"
        );
        assert!(readme.contains(line));
    }

    // The ConfigMap form of the function config.
    let config_map = format!(
        "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: secret-rollout
  annotations:
    config.kubernetes.io/function: |
      container:
        image: {IMAGE}
data:
  namespace: the0
  policy: |
    apiVersion: secret-rollout/v1
    kind: Policy
    rules:
      unresolved-reference: error
"
    );
    assert!(
        readme.contains(&config_map),
        "the README's ConfigMap form is not the one tested"
    );
    let strict = App::new("container-configmap", GOOD, Some(&config_map));
    let out = strict.kustomize(&helm(4), &env);
    assert!(!out.status.success());
    assert!(
        common::stderr(&out).contains(
            "error[unresolved-reference]: Deployment/the0-api uses Secret the0-root-admin"
        ),
        "{}",
        common::stderr(&out)
    );
    // Its policy extends the built-in one: the bad values are refused too.
    let strict_bad = App::new("container-configmap-bad", BAD, Some(&config_map));
    let out = strict_bad.kustomize(&helm(4), &env);
    let stderr = common::stderr(&out);
    assert!(!out.status.success(), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.contains(
            "error[admin-password-not-from-secret]: THE0_ADMIN_PASSWORD in Deployment/the0-api"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains(BAD_PASSWORD));

    dockerd.stop();
    assert!(
        !dockerd.dir.join("dockerd.pid").exists(),
        "dockerd did not shut down cleanly (its pidfile is still there)"
    );
}

// ---------------------------------------------------------------- properties of the wrapper

mod wrapper {
    use proptest::prelude::*;
    use secret_rollout::front::krm;
    use secret_rollout::Options;
    use serde_yaml::Value;

    const SECRET: &str = "- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: db\n    annotations:\n      config.kubernetes.io/index: '0'\n  stringData: {password: pw}\n";

    fn workload(i: usize, metadata: &str, plain: bool) -> String {
        let env = if plain {
            "          env:\n          - name: DB_PASSWORD\n            value: hunter2\n"
        } else {
            ""
        };
        format!(
            "- apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: w{i}\n    annotations:\n      internal.config.kubernetes.io/index: '{i}'\n  spec:\n    template:\n{metadata}      spec:\n        containers:\n        - name: c\n          envFrom: [{{secretRef: {{name: db}}}}]\n{env}"
        )
    }

    fn parts() -> impl Strategy<Value = (Vec<(&'static str, bool)>, usize, usize, usize, bool, bool)>
    {
        let metadata = prop::sample::select(vec![
            "",
            "      metadata: {}\n",
            "      metadata:\n        labels: {app: web}\n",
            "      metadata:\n        annotations:\n          secret-rollout/secret.db: stale\n",
        ]);
        (
            prop::collection::vec((metadata, any::<bool>()), 1..4),
            0..3usize, // functionConfig: none, before items, after items
            0..4usize, // old results: none, block, flow, null
            0..2usize, // old results before or after items
            any::<bool>(),
            any::<bool>(),
        )
    }

    fn list(
        workloads: &[(&str, bool)],
        config: usize,
        old: usize,
        old_first: usize,
        crlf: bool,
        newline: bool,
    ) -> String {
        let mut items = String::from("items:\n");
        items.push_str(SECRET);
        for (i, (m, plain)) in workloads.iter().enumerate() {
            items.push_str(&workload(i, m, *plain));
        }
        let config_text = "functionConfig:\n  apiVersion: secret-rollout/v1\n  kind: SecretRollout\n  metadata: {name: x}\n  namespace: prod\n";
        let old_text = [
            "",
            "results:\n- message: old\n  severity: error\n",
            "results: [{message: old}]\n",
            "results:\n",
        ][old];
        let mut s = String::from("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n");
        if config == 1 {
            s.push_str(config_text);
        }
        if old_first == 0 {
            s.push_str(old_text);
        }
        s.push_str(&items);
        if old_first == 1 {
            s.push_str(old_text);
        }
        if config == 2 {
            s.push_str(config_text);
        }
        if !newline {
            s.pop();
        }
        if crlf {
            s = s.replace('\n', "\r\n");
        }
        s
    }

    /// The items as JSON, without our annotations (the oracle's rule).
    fn items(v: &Value) -> Vec<serde_json::Value> {
        let items = serde_json::to_value(&v["items"]).unwrap();
        items
            .as_array()
            .unwrap()
            .iter()
            .cloned()
            .map(super::oracle::without_ours)
            .collect()
    }

    proptest! {
        #[test]
        fn results_and_stamps_splice_into_any_wrapper((workloads, config, old, old_first, crlf, newline) in parts()) {
            let input = list(&workloads, config, old, old_first, crlf, newline);
            let out = krm::function(&input, &Options::default());
            prop_assert_eq!(out.exit, 0, "{}\n{}", out.stderr, input);
            let before: Value = serde_yaml::from_str(&input).unwrap();
            let after: Value = serde_yaml::from_str(&out.stdout).map_err(|e| TestCaseError::fail(format!("{e}\n{}", out.stdout)))?;
            prop_assert_eq!(items(&after), items(&before));
            prop_assert_eq!(&after["functionConfig"], &before["functionConfig"]);
            let warnings = workloads.iter().filter(|(_, plain)| *plain).count();
            let results = after["results"].as_sequence().map_or(0, |r| {
                r.iter().filter(|r| r["severity"].as_str() == Some("warning")).count()
            });
            prop_assert_eq!(results, warnings, "{}", out.stdout);
            for (i, _) in workloads.iter().enumerate() {
                let stamp = &after["items"][i + 1]["spec"]["template"]["metadata"]["annotations"]["secret-rollout/secret.db"];
                prop_assert!(stamp.as_str().is_some_and(|s| s.starts_with("sha256:")), "w{} not stamped:\n{}", i, out.stdout);
            }
            // Old results that ended the input go with their line; the line
            // before them keeps its newline.
            let all = after["results"].as_sequence().map_or(0, Vec::len);
            let old_results_ended_it = old != 0 && old_first == 1 && config != 2 && all == 0;
            if !old_results_ended_it {
                prop_assert_eq!(out.stdout.ends_with('\n'), newline);
            }
            let twice = krm::function(&out.stdout, &Options::default());
            prop_assert_eq!(twice.stdout, out.stdout);
        }
    }
}
