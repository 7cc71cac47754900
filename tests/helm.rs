//! Helm 3 and Helm 4 end to end, with the real binaries that
//! `scripts/install-test-tools` installs: helm v4.3.1 (`common::tool("helm")`),
//! helm v3.17.2 (`common::tool("helm3")`) and the Helm v4.2.3 library through
//! helm-python-sdk (`common::python()`). Nothing here skips: a missing tool
//! fails the test.
//!
//! The commands are the ones the README tells a user to run, from the
//! checkout: `helm plugin install .`, then
//! `helm template the0 testdata/charts/the0 -f testdata/charts/values/good.yaml --post-renderer secret-rollout`.
//! The plugin is pointed at the binary cargo built for the tests with
//! `SECRET_ROLLOUT_BIN` (a `target/release` build in the checkout may be
//! stale); how the plugin finds the binary on its own is tested separately.

#[path = "common/apiserver.rs"]
mod apiserver;
mod common;

use common::assert_ok;

use common::manifests::{all_stamps, docs, find, stamps, Doc};

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const CHART: &str = "testdata/charts/the0";
const GOOD: &str = "testdata/charts/values/good.yaml";
const ROTATED: &str = "testdata/charts/values/rotated.yaml";
const BAD: &str = "testdata/charts/values/bad-plain-env.yaml";
/// The plain-text password in `BAD`: must never be shown to anyone.
const BAD_PASSWORD: &str = "plain-admin-password-123";
const FILENAME_ANNOTATION: &str = "postrenderer.helm.sh/postrender-filename";

fn test_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_secret-rollout"))
}

/// A clean Helm home (data, config, cache) in a fresh temp dir.
struct Home {
    dir: PathBuf,
}

impl Home {
    fn new(name: &str) -> Home {
        Home {
            dir: common::temp_dir(&format!("helm/{name}")),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    fn plugins(&self) -> PathBuf {
        self.path("data/plugins")
    }

    /// `exe` with this home, run from the checkout (relative paths in the
    /// commands are the ones the docs use), and nothing inherited that would
    /// change what Helm or secret-rollout does.
    fn cmd(&self, exe: &Path) -> Command {
        let mut c = Command::new(exe);
        c.current_dir(common::root())
            .env("HELM_DATA_HOME", self.path("data"))
            .env("HELM_CONFIG_HOME", self.path("config"))
            .env("HELM_CACHE_HOME", self.path("cache"))
            .env("SECRET_ROLLOUT_BIN", test_bin())
            // Not onto the terminal of whoever runs the tests; the
            // pseudo-terminal tests turn it back on (`on_terminal`).
            .env("SECRET_ROLLOUT_TERMINAL", "never");
        for var in [
            "HELM_PLUGINS",
            "HELM_NAMESPACE",
            "HELM_DEBUG",
            "HELM_DRIVER",
            "HELM_KUBECONTEXT",
            "HELM_PLUGIN_NAME",
            "HELM_PLUGIN_DIR",
            "SECRET_ROLLOUT_REPORT",
            "SECRET_ROLLOUT_NAMESPACE",
            "SECRET_ROLLOUT_DIGEST_KEY_FILE",
            "SECRET_ROLLOUT_LOOKUP",
            "SECRET_ROLLOUT_LOOKUP_TIMEOUT",
            "KUBECONFIG",
            "GITHUB_STEP_SUMMARY",
        ] {
            c.env_remove(var);
        }
        c
    }

    fn helm(&self, args: &[&str]) -> Command {
        let mut c = self.cmd(&common::tool("helm"));
        c.args(args);
        c
    }

    fn helm3(&self, args: &[&str]) -> Command {
        let mut c = self.cmd(&common::tool("helm3"));
        c.args(args);
        c
    }

    /// `helm plugin install DIR` (Helm 4) into this home.
    fn install_plugin(&self, dir: &Path) {
        let out = output(self.helm(&["plugin", "install", dir.to_str().unwrap()]));
        assert_ok(&out, "helm plugin install");
        let list = output(self.helm(&["plugin", "list"]));
        assert_ok(&list, "helm plugin list");
        let list = common::stdout(&list);
        assert!(
            list.lines()
                .any(|l| l.starts_with("secret-rollout") && l.contains("postrenderer/v1")),
            "plugin not listed:\n{list}"
        );
    }
}

/// `helm install the0 --dry-run=client` of the good values through the
/// installed plugin: what Helm prints (hooks, then the manifest).
fn install_dry_run(home: &Home) -> String {
    let out = output(home.helm(&[
        "install",
        "the0",
        CHART,
        "-f",
        GOOD,
        "--dry-run=client",
        "--post-renderer",
        "secret-rollout",
    ]));
    assert_ok(&out, "helm install --dry-run=client");
    common::stdout(&out)
}

fn output(mut cmd: Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"))
}

fn assert_failed(out: &Output, what: &str) {
    assert!(
        !out.status.success(),
        "{what} should have failed:\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Run `cmd` under a pseudo-terminal (util-linux `script`), so that it has a
/// controlling terminal; returns what appeared on the terminal.
fn on_terminal(cmd: &Command) -> (bool, String) {
    let script = Path::new("/usr/bin/script");
    assert!(
        script.exists(),
        "util-linux `script` is needed to give helm a terminal: install util-linux"
    );
    // `env -u A -u B K=V ... PROGRAM ARGS`: unsets first, then assignments.
    let mut unset = String::new();
    let mut set = String::new();
    for (k, v) in cmd.get_envs() {
        let k = k.to_str().unwrap();
        // A terminal is what these tests look at: secret-rollout decides.
        let v = v.filter(|_| k != "SECRET_ROLLOUT_TERMINAL");
        match v {
            Some(v) => set.push_str(&format!("{k}={} ", quote(v.to_str().unwrap()))),
            None => unset.push_str(&format!("-u {k} ")),
        }
    }
    let line = format!("{unset}{set}");
    let mut shell = format!("env {line}{}", quote(cmd.get_program().to_str().unwrap()));
    for a in cmd.get_args() {
        shell.push(' ');
        shell.push_str(&quote(a.to_str().unwrap()));
    }
    let mut c = Command::new(script);
    c.args(["-qec", &shell, "/dev/null"])
        .current_dir(cmd.get_current_dir().unwrap_or(&common::root()))
        .stdin(Stdio::null());
    let out = c.output().expect("running script");
    let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    (out.status.success(), text)
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// What secret-rollout itself makes of a captured post-renderer input.
fn expected_stamps(fixture: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let out = common::run(&[], &common::fixture(fixture));
    assert_ok(&out, "secret-rollout on the fixture");
    all_stamps(&common::stdout(&out))
}

fn assert_good_render(text: &str, hooks_stamped: bool) {
    let docs = docs(text);
    let api = stamps(find(&docs, "Deployment", "the0-api"));
    assert!(
        api.contains_key("secret.the0-secrets") && api.contains_key("configmap.the0-config"),
        "api Deployment not stamped: {api:?}"
    );
    assert!(api
        .values()
        .all(|v| v.starts_with("sha256:") && v.len() == 71));
    let hook = find(&docs, "Job", "the0-db-migrate");
    assert!(hook.text.contains("helm.sh/hook"), "{}", hook.text);
    assert_eq!(
        stamps(hook).contains_key("secret.the0-secrets"),
        hooks_stamped,
        "hook Job stamping (expected {hooks_stamped}):\n{}",
        hook.text
    );
}

/// `helm template the0 CHART -f VALUES --post-renderer PR EXTRA…`.
fn template_args<'a>(values: &'a str, post_renderer: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "template",
        "the0",
        CHART,
        "-f",
        values,
        "--post-renderer",
        post_renderer,
    ];
    args.extend_from_slice(extra);
    args
}

fn template(home: &Home, values: &str, extra: &[&str]) -> Output {
    output(home.helm(&template_args(values, "secret-rollout", extra)))
}

/// The lines of `b` that differ from `a` (same length streams), with the
/// template each is in.
fn changed_lines(a: &str, b: &str) -> Vec<(String, String, String)> {
    let (a, b): (Vec<_>, Vec<_>) = (a.lines().collect(), b.lines().collect());
    assert_eq!(a.len(), b.len(), "renders differ in length");
    let mut source = String::new();
    let mut out = Vec::new();
    for (x, y) in a.iter().zip(&b) {
        if let Some(s) = x.strip_prefix("# Source: ") {
            source = s.to_string();
        }
        if x != y {
            out.push((source.clone(), x.trim().to_string(), y.trim().to_string()));
        }
    }
    out
}

/// Rotating JWT_SECRET changes the Secret's value line and exactly the
/// `secret-rollout/secret.the0-secrets` annotation of the workloads that
/// consume that key, nothing else.
fn assert_rotation(good: &str, rotated: &str, consumers: &[&str]) {
    let changed = changed_lines(good, rotated);
    let mut annotated = BTreeSet::new();
    for (source, old, new) in &changed {
        if old.starts_with("JWT_SECRET: ") {
            assert_eq!(source, "the0/templates/secrets.yaml");
            assert!(new.starts_with("JWT_SECRET: "));
            continue;
        }
        let key = "secret-rollout/secret.the0-secrets: ";
        assert!(
            old.starts_with(key) && new.starts_with(key),
            "unexpected change in {source}: {old:?} -> {new:?}"
        );
        annotated.insert(source.as_str());
    }
    let consumers: BTreeSet<&str> = consumers.iter().copied().collect();
    assert_eq!(annotated, consumers, "changed: {changed:#?}");
}

// ------------------------------------------------------------------ Helm 4

#[test]
fn helm4_plugin_install_and_template_stamps_manifests_and_hooks() {
    let home = Home::new("h4-template");
    home.install_plugin(Path::new("."));
    let out = template(&home, GOOD, &[]);
    assert_ok(&out, "helm template --post-renderer secret-rollout");
    let text = common::stdout(&out);
    assert_good_render(&text, true);
    // The same stamps as the binary gives the captured Helm 4 input, and
    // Helm regrouped our output into the right files, which needs the
    // filename annotation we keep on every document.
    assert_eq!(all_stamps(&text), expected_stamps("helm4/the0-good.yaml"));
    let docs = docs(&text);
    assert_eq!(
        find(&docs, "Job", "the0-db-migrate").source,
        "the0/templates/db-migrate-job.yaml"
    );
    assert_eq!(
        find(&docs, "Deployment", "the0-api").source,
        "the0/templates/the0-api.yaml"
    );
}

/// kube-prometheus-stack's Helm 4 post-render input has multi-line
/// single-quoted strings closed at column 0, as Go's emitter writes them
/// (saphyr refused them: "invalid indentation in quoted scalar"). A chart of
/// ours with the same kind of strings, through the real Helm 4.
#[test]
fn helm4_renders_strings_go_emits_with_a_closing_quote_at_column_0() {
    let home = Home::new("h4-alerting");
    home.install_plugin(Path::new("."));
    let chart = common::root().join("testdata/charts/alerting");
    let chart = chart.to_str().unwrap();
    let out = output(home.helm(&[
        "template",
        "alerts",
        chart,
        "--post-renderer",
        "secret-rollout",
    ]));
    assert_ok(&out, "helm template --post-renderer secret-rollout");
    let text = common::stdout(&out);
    assert!(
        text.lines().any(|l| l == "'"),
        "premise: Helm 4 wrote a closing quote at column 0:\n{text}"
    );
    let docs = docs(&text);
    let stamps = stamps(find(&docs, "Deployment", "alerts-web"));
    assert!(stamps.contains_key("secret.alerts-db"), "{stamps:?}");
}

#[test]
fn helm4_install_dry_run_client_stamps_manifests_and_hooks() {
    let home = Home::new("h4-install");
    home.install_plugin(Path::new("."));
    let text = install_dry_run(&home);
    let (head, manifest) = text.split_once("MANIFEST:").expect("MANIFEST section");
    let hooks = head.split_once("HOOKS:").expect("HOOKS section").1;
    let hook_docs = docs(hooks);
    assert!(
        stamps(find(&hook_docs, "Job", "the0-db-migrate")).contains_key("secret.the0-secrets"),
        "hook not stamped:\n{hooks}"
    );
    assert_good_render(&text, true);
    assert!(stamps(find(&docs(manifest), "Deployment", "the0-frontend"))
        .contains_key("secret.the0-secrets"));
}

#[test]
fn helm4_bad_values_fail_and_the_reason_reaches_terminal_and_report() {
    let home = Home::new("h4-bad");
    home.install_plugin(Path::new("."));
    let report = home.path("reports/secret-rollout.txt");
    let report_arg = format!("--post-renderer-args=--report={}", report.display());

    // Without a terminal, Helm 4 shows only that the plugin failed.
    let out = template(&home, BAD, &[&report_arg]);
    assert_failed(&out, "helm template with a plain admin password");
    assert!(out.stdout.is_empty(), "{}", common::stdout(&out));
    let stderr = common::stderr(&out);
    assert!(stderr.contains("exited with error"), "{stderr}");
    // ... and the report file has the reason.
    let text = std::fs::read_to_string(&report).expect("report file written");
    assert!(
        text.contains("error[admin-password-not-from-secret]")
            && text.contains("the0/templates/the0-api.yaml")
            && text.contains("secret-rollout: refusing to render: 1 error"),
        "{text}"
    );
    assert!(!text.contains(BAD_PASSWORD), "report leaks the password");

    // Under a terminal, the reason is on it; under GitHub Actions, in the
    // step summary too.
    std::fs::remove_file(&report).unwrap();
    let summary = home.path("step-summary.md");
    let mut cmd = home.helm(&template_args(BAD, "secret-rollout", &[]));
    cmd.env("SECRET_ROLLOUT_REPORT", &report)
        .env("GITHUB_STEP_SUMMARY", &summary);
    let (ok, terminal) = on_terminal(&cmd);
    assert!(!ok, "helm should fail:\n{terminal}");
    assert!(
        terminal.contains("error[admin-password-not-from-secret]: THE0_ADMIN_PASSWORD")
            && terminal.contains("Deployment/the0-api")
            && terminal.contains("= help: ")
            && terminal.contains("secret-rollout: refusing to render")
            && terminal.contains("plugin \"secret-rollout\" exited with error"),
        "terminal:\n{terminal}"
    );
    assert!(
        !terminal.contains(BAD_PASSWORD),
        "terminal shows the password"
    );
    // The report file from the environment (how CI gets the reason).
    let text = std::fs::read_to_string(&report).expect("report file from env");
    assert!(
        text.contains("error[admin-password-not-from-secret]"),
        "{text}"
    );
    let md = std::fs::read_to_string(&summary).expect("step summary written");
    assert!(
        md.starts_with("### secret-rollout: refusing to render\n\n1 error, 0 warnings, 1 note\n")
            && md.contains("| **error** | `admin-password-not-from-secret` | the0/templates/the0-api.yaml, document 2, line 81<br>`spec.template.spec.containers[api].env[THE0_ADMIN_PASSWORD]` | `Deployment/the0-api` (container `api`) |"),
        "{md}"
    );
    assert!(!md.contains(BAD_PASSWORD));
}

#[test]
fn helm4_rotation_changes_exactly_the_consumers_annotations() {
    let home = Home::new("h4-rotation");
    home.install_plugin(Path::new("."));
    let good = template(&home, GOOD, &[]);
    let rotated = template(&home, ROTATED, &[]);
    assert_ok(&good, "template good");
    assert_ok(&rotated, "template rotated");
    assert_rotation(
        &common::stdout(&good),
        &common::stdout(&rotated),
        &[
            "the0/templates/the0-api.yaml",
            "the0/templates/the0-frontend.yaml",
            "the0/templates/db-migrate-job.yaml",
        ],
    );
}

#[test]
fn helm4_post_renderer_args_reach_the_tool() {
    let home = Home::new("h4-args");
    home.install_plugin(Path::new("."));
    // A bad option is a usage error: Helm fails, and the report (from the
    // environment, since the arguments are what is wrong) says why.
    let report = home.path("report.txt");
    let mut cmd = home.helm(&template_args(
        GOOD,
        "secret-rollout",
        &["--post-renderer-args=--no-such-option"],
    ));
    cmd.env("SECRET_ROLLOUT_REPORT", &report);
    let out = output(cmd);
    assert_failed(&out, "helm template with a bad post-renderer arg");
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.contains("--no-such-option"), "{text}");
    // Namespace and report as arguments.
    let report2 = home.path("report2.txt");
    let out = template(
        &home,
        GOOD,
        &[
            "--post-renderer-args=--namespace=the0",
            &format!("--post-renderer-args=--report={}", report2.display()),
        ],
    );
    assert_ok(&out, "helm template with post-renderer args");
    let text = std::fs::read_to_string(&report2).unwrap();
    assert!(
        text.contains(
            "warning[unresolved-reference]: Deployment/the0-api uses Secret the0-root-admin"
        ) && text.ends_with("secret-rollout: rendered with 0 errors, 1 warning, 1 note\n"),
        "{text}"
    );
}

/// A copy of the plugin's own files (plugin.yaml + its bin/ wrapper), as a
/// release directory has them, without any binary.
fn plugin_copy(dir: &Path) -> PathBuf {
    let src = dir.join("secret-rollout");
    std::fs::create_dir_all(src.join("bin")).unwrap();
    std::fs::copy(common::root().join("plugin.yaml"), src.join("plugin.yaml")).unwrap();
    std::fs::copy(
        common::root().join("bin/secret-rollout-plugin"),
        src.join("bin/secret-rollout-plugin"),
    )
    .unwrap();
    src
}

#[test]
fn helm4_plugin_finds_the_binary_in_its_dir_then_on_path_else_says_so() {
    let home = Home::new("h4-plugin-binary");
    let src = plugin_copy(&home.dir);
    home.install_plugin(&src);
    let system_path = "/usr/bin:/bin";
    let run = |path: &str| {
        let mut cmd = home.helm(&template_args(GOOD, "secret-rollout", &[]));
        cmd.env_remove("SECRET_ROLLOUT_BIN").env("PATH", path);
        cmd
    };

    // Nowhere: Helm fails, the terminal and the report say what to do.
    let report = home.path("report.txt");
    let mut cmd = run(system_path);
    cmd.env("SECRET_ROLLOUT_REPORT", &report);
    let (ok, terminal) = on_terminal(&cmd);
    assert!(!ok, "{terminal}");
    assert!(
        terminal.contains("the secret-rollout binary was not found")
            && terminal.contains("cargo build --release"),
        "terminal:\n{terminal}"
    );
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(
        text.contains("the secret-rollout binary was not found"),
        "{text}"
    );

    // On PATH.
    let path_dir = home.path("path-bin");
    std::fs::create_dir_all(&path_dir).unwrap();
    std::fs::copy(test_bin(), path_dir.join("secret-rollout")).unwrap();
    let out = output(run(&format!("{}:{system_path}", path_dir.display())));
    assert_ok(&out, "plugin with secret-rollout on PATH");
    assert_good_render(&common::stdout(&out), true);

    // In the plugin directory's bin/ (a release directory).
    std::fs::copy(test_bin(), src.join("bin/secret-rollout")).unwrap();
    let out = output(run(system_path));
    assert_ok(&out, "plugin with bin/secret-rollout");
    assert_good_render(&common::stdout(&out), true);
}

#[test]
fn helm_template_piped_into_check_is_a_ci_gate() {
    let home = Home::new("check");
    for helm in ["helm", "helm3"] {
        for (values, ok) in [(GOOD, true), (BAD, false)] {
            let mut cmd = home.cmd(&common::tool(helm));
            cmd.args(["template", "the0", CHART, "-f", values]);
            let out = output(cmd);
            assert_ok(&out, &format!("{helm} template"));
            let check = common::run(&["check"], &common::stdout(&out));
            let report = common::stdout(&check);
            assert_eq!(check.status.success(), ok, "{helm} {values}:\n{report}");
            assert!(!report.contains(BAD_PASSWORD));
            if !ok {
                assert_eq!(check.status.code(), Some(1));
                assert!(
                    report.contains("error[admin-password-not-from-secret]")
                        && report.contains("the0/templates/the0-api.yaml"),
                    "{report}"
                );
            }
        }
    }
}

// ------------------------------------------------------------------ delivery

/// A usage error (`--post-renderer-args="--namespace the0"` is one argument,
/// which is not an option) fails the render, and its message reaches the
/// report named by the other arguments: under Helm 4, whose plugin arguments
/// are fixed per call, and under Helm 3.
#[test]
fn a_usage_error_reaches_the_report_named_among_the_arguments() {
    let home = Home::new("usage-report");
    home.install_plugin(Path::new("."));
    let bin = test_bin();
    for (helm, post_renderer) in [("helm", "secret-rollout"), ("helm3", bin.to_str().unwrap())] {
        let report = home.path(&format!("{helm}-report.txt"));
        let report_arg = format!("--post-renderer-args=--report={}", report.display());
        let mut cmd = home.cmd(&common::tool(helm));
        cmd.args(template_args(
            GOOD,
            post_renderer,
            &[&report_arg, "--post-renderer-args=--namespace the0"],
        ));
        let out = output(cmd);
        assert_failed(&out, &format!("{helm} with a usage error"));
        assert!(out.stdout.is_empty());
        let text = std::fs::read_to_string(&report)
            .unwrap_or_else(|e| panic!("{helm}: no report ({e}): {}", common::stderr(&out)));
        assert!(
            text.contains("error: unexpected argument '--namespace the0' found")
                && text.contains("a similar argument exists: '--namespace'"),
            "{helm}: {text}"
        );
    }
}

/// Helm 3 drops a post-renderer's stderr when it succeeds: a warning is seen
/// only because it also goes to the terminal, the report and the step summary.
#[test]
fn helm3_warnings_of_a_successful_render_reach_terminal_report_and_step_summary() {
    let home = Home::new("h3-warning-delivery");
    let bin = test_bin();
    let warning = "warning[unresolved-reference]: Deployment/the0-api uses Secret the0-root-admin";
    // What Helm 3 itself does with our stderr on success: nothing.
    let out = helm3_template(&home, GOOD, bin.to_str().unwrap(), &[]);
    assert_ok(&out, "helm3 template");
    assert!(
        !common::stderr(&out).contains(warning),
        "{}",
        common::stderr(&out)
    );

    let report = home.path("report.txt");
    let summary = home.path("step-summary.md");
    let mut cmd = home.helm3(&template_args(GOOD, bin.to_str().unwrap(), &[]));
    cmd.env("SECRET_ROLLOUT_REPORT", &report)
        .env("GITHUB_STEP_SUMMARY", &summary);
    let (ok, terminal) = on_terminal(&cmd);
    assert!(ok, "{terminal}");
    let at = "  --> the0/templates/the0-api.yaml, document 2, line 84\n   = path: spec.template.spec.containers[api].env[THE0_ADMIN_PASSWORD].valueFrom.secretKeyRef\n";
    for (what, text) in [
        ("terminal", terminal.clone()),
        ("report", std::fs::read_to_string(&report).unwrap()),
    ] {
        assert!(
            text.contains(warning)
                && text.contains(at)
                && text.contains("secret-rollout: rendered with 0 errors, 1 warning, 1 note\n"),
            "{what}:\n{text}"
        );
    }
    assert_eq!(terminal.matches(warning).count(), 1, "{terminal}");
    // The manifests still reach stdout (the terminal here).
    assert!(terminal.contains("secret-rollout/secret.the0-secrets: \"sha256:"));
    // It is our write to the terminal that shows it: turned off, it is gone.
    let mut cmd = home.helm3(&template_args(
        GOOD,
        bin.to_str().unwrap(),
        &["--post-renderer-args=--terminal=never"],
    ));
    cmd.env_remove("SECRET_ROLLOUT_REPORT");
    let (ok, quiet) = on_terminal(&cmd);
    assert!(ok && quiet.contains("kind: Deployment"), "{quiet}");
    assert!(!quiet.contains(warning), "{quiet}");
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.starts_with("### secret-rollout: rendered\n\n0 errors, 1 warning, 1 note\n")
            && md.contains("| **warning** | `unresolved-reference` | the0/templates/the0-api.yaml, document 2, line 84<br>"),
        "{md}"
    );
}

/// Helm 3 shows our stderr in its own error when we fail: the findings are
/// then not written to the terminal a second time.
#[test]
fn helm3_refusal_is_shown_once_on_the_terminal_and_reaches_report_and_step_summary() {
    let home = Home::new("h3-refusal-delivery");
    let bin = test_bin();
    let report = home.path("report.txt");
    let summary = home.path("step-summary.md");
    let mut cmd = home.helm3(&template_args(BAD, bin.to_str().unwrap(), &[]));
    cmd.env("SECRET_ROLLOUT_REPORT", &report)
        .env("GITHUB_STEP_SUMMARY", &summary);
    let (ok, terminal) = on_terminal(&cmd);
    assert!(!ok, "{terminal}");
    let error = "error[admin-password-not-from-secret]: THE0_ADMIN_PASSWORD";
    assert_eq!(terminal.matches(error).count(), 1, "{terminal}");
    assert!(
        terminal.contains("Error: error while running post render on files"),
        "{terminal}"
    );
    assert!(!terminal.contains(BAD_PASSWORD));
    assert!(std::fs::read_to_string(&report).unwrap().contains(error));
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.starts_with("### secret-rollout: refusing to render\n"),
        "{md}"
    );
}

/// Helm 4 drops a plugin's stderr even on success: warnings reach the terminal.
#[test]
fn helm4_warnings_of_a_successful_render_reach_the_terminal() {
    let home = Home::new("h4-warning-delivery");
    home.install_plugin(Path::new("."));
    let summary = home.path("step-summary.md");
    let mut cmd = home.helm(&template_args(GOOD, "secret-rollout", &[]));
    cmd.env("GITHUB_STEP_SUMMARY", &summary);
    let (ok, terminal) = on_terminal(&cmd);
    assert!(ok, "{terminal}");
    assert!(
        terminal.contains(
            "warning[unresolved-reference]: Deployment/the0-api uses Secret the0-root-admin"
        ) && terminal.contains("secret-rollout: rendered with 0 errors, 1 warning, 1 note"),
        "{terminal}"
    );
    // At the same place as under Helm 3, though Helm 4 re-serialized the stream.
    assert!(
        terminal.contains("  --> the0/templates/the0-api.yaml, document 2, line 84\n"),
        "{terminal}"
    );
    assert!(std::fs::read_to_string(&summary)
        .unwrap()
        .contains("| **warning** | `unresolved-reference` |"));
}

/// The position of a finding is the same under Helm 3 and Helm 4 (whose
/// stream kyaml re-serializes, with an annotation added to every object),
/// and it is where `helm template --show-only` shows the offending line.
#[test]
fn positions_are_the_same_under_helm3_and_helm4_and_open_in_helm_template() {
    let home = Home::new("positions");
    home.install_plugin(Path::new("."));
    let bin = test_bin();
    let h3 = helm3_template(&home, BAD, bin.to_str().unwrap(), &[]);
    assert_failed(&h3, "helm3 template");
    let report = home.path("report.txt");
    let h4 = template(
        &home,
        BAD,
        &[&format!(
            "--post-renderer-args=--report={}",
            report.display()
        )],
    );
    assert_failed(&h4, "helm template");
    let places = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix("  --> "))
            .map(str::to_string)
            .collect()
    };
    let (p3, p4) = (
        places(&common::stderr(&h3)),
        places(&std::fs::read_to_string(&report).unwrap()),
    );
    assert_eq!(p3, p4);
    assert_eq!(
        p3,
        [
            "the0/templates/the0-api.yaml, document 2, line 81",
            "the0/templates/secrets.yaml, line 1",
        ],
        "the error, then the note about the Secret's digest"
    );
    // Helm 3's stream lines differ from Helm 4's (the input line stays in JSON).
    let input = |fixture: &str| {
        let out = common::run(&["check", "--format", "json"], &common::fixture(fixture));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let f = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == "admin-password-not-from-secret")
            .unwrap()
            .clone();
        (f["line"].as_u64().unwrap(), f["place"].clone())
    };
    let (line3, place3) = input("helm3/the0-bad-plain-env.yaml");
    let (line4, place4) = input("helm4/the0-bad-plain-env.yaml");
    assert_ne!(line3, line4);
    assert_eq!(place3, place4);
    // What the user opens: the second document `--show-only` prints, line 81.
    for helm in ["helm", "helm3"] {
        let mut cmd = home.cmd(&common::tool(helm));
        cmd.args([
            "template",
            "the0",
            CHART,
            "-f",
            BAD,
            "--show-only",
            "templates/the0-api.yaml",
        ]);
        let out = output(cmd);
        assert_ok(&out, "helm template --show-only");
        let text = common::stdout(&out);
        let document = text
            .split("---\n")
            .filter(|d| !d.trim().is_empty())
            .nth(1)
            .expect("a second document");
        let body: Vec<&str> = document
            .lines()
            .filter(|l| !l.starts_with("# Source: "))
            .collect();
        assert_eq!(
            body[80].trim(),
            "- name: THE0_ADMIN_PASSWORD",
            "{helm}: line 81 of document 2:\n{document}"
        );
    }
}

/// `diff` against what Helm stores: the manifest of a (dry-run) install
/// through the plugin, stamped, without hooks, as `helm get manifest` prints
/// it, against a new render that is not stamped yet.
#[test]
fn diff_of_the_stored_manifest_and_a_new_render_names_what_rolls() {
    let home = Home::new("diff-manifest");
    home.install_plugin(Path::new("."));
    let text = install_dry_run(&home);
    let manifest = text.split_once("MANIFEST:\n").expect("MANIFEST").1;
    let manifest = manifest.split("\nNOTES:").next().unwrap();
    assert!(
        manifest.contains("secret-rollout/secret.the0-secrets"),
        "stamped"
    );
    let stored = common::write_temp(&home.dir, "stored.yaml", manifest);
    let mut cmd = home.helm(&["template", "the0", CHART, "-f", ROTATED]);
    cmd.env_remove("SECRET_ROLLOUT_BIN");
    let new = output(cmd);
    assert_ok(&new, "helm template");
    let out = common::run(
        &["diff", stored.to_str().unwrap(), "-", "--format", "json"],
        &common::stdout(&new),
    );
    assert_ok(&out, "diff");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names = |pred: &dyn Fn(&serde_json::Value) -> bool| -> Vec<String> {
        v["workloads"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| pred(w))
            .map(|w| w["workload"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(&|w| w["rolls"] == true),
        ["Deployment/the0-api", "Deployment/the0-frontend"]
    );
    // The hook is not in the stored manifest: it runs anew with the upgrade.
    assert_eq!(
        names(&|w| w["presence"] == "added"),
        ["Job/the0-db-migrate"]
    );
    assert_eq!(
        v["objects"][0]["changed"],
        serde_json::json!(["JWT_SECRET"])
    );
}

// ------------------------------------------------------------------ README

/// What the README shows after `$ COMMAND` in a text block.
fn readme_output(command: &str) -> String {
    let readme = common::user_docs();
    let start = format!("```text\n$ {command}\n");
    let at = readme
        .find(&start)
        .unwrap_or_else(|| panic!("README shows no `$ {command}`"));
    let rest = &readme[at + start.len()..];
    rest[..rest.find("```\n").unwrap()].to_string()
}

/// The README's examples print exactly what it shows, run the way it says.
#[test]
fn readme_examples_print_what_the_readme_shows() {
    let home = Home::new("readme");
    // The first example: the CI gate over a bad render (helm 4).
    let mut cmd = home.helm(&["template", "the0", CHART, "-f", BAD]);
    cmd.env_remove("SECRET_ROLLOUT_BIN");
    let rendered = output(cmd);
    assert_ok(&rendered, "helm template");
    let check = common::run(&["check"], &common::stdout(&rendered));
    assert_eq!(
        common::stdout(&check),
        readme_output("helm template the0 testdata/charts/the0 -f testdata/charts/values/bad-plain-env.yaml | secret-rollout check")
    );
    // explain --secret --key.
    let out = common::bin()
        .current_dir(common::root())
        .args([
            "explain",
            "--secret",
            "the0-secrets",
            "--key",
            "JWT_SECRET",
            "testdata/helm4/the0-good.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(
        common::stdout(&out),
        readme_output("secret-rollout explain --secret the0-secrets --key JWT_SECRET testdata/helm4/the0-good.yaml")
    );
    // diff of two renders made as the README makes them.
    for (values, file) in [(GOOD, "before.yaml"), (ROTATED, "after.yaml")] {
        let mut cmd = home.helm(&["template", "the0", CHART, "-f", values]);
        cmd.env_remove("SECRET_ROLLOUT_BIN");
        let out = output(cmd);
        assert_ok(&out, "helm template");
        std::fs::write(home.path(file), &out.stdout).unwrap();
    }
    let out = common::bin()
        .current_dir(&home.dir)
        .args(["diff", "before.yaml", "after.yaml"])
        .output()
        .unwrap();
    assert_ok(&out, "diff");
    assert_eq!(
        common::stdout(&out),
        readme_output("secret-rollout diff before.yaml after.yaml")
    );
}

// ------------------------------------------------------------------ Helm 3

fn helm3_template(home: &Home, values: &str, post_renderer: &str, extra: &[&str]) -> Output {
    output(home.helm3(&template_args(values, post_renderer, extra)))
}

#[test]
fn helm3_post_renderer_path_stamps_manifests_but_never_sees_hooks() {
    let home = Home::new("h3-template");
    let bin = test_bin();
    let out = helm3_template(&home, GOOD, bin.to_str().unwrap(), &[]);
    assert_ok(&out, "helm3 template --post-renderer PATH");
    let text = common::stdout(&out);
    // Helm 3 does not send hooks to post-renderers: the hook is unstamped.
    assert_good_render(&text, false);
    assert_eq!(all_stamps(&text), expected_stamps("helm3/the0-good.yaml"));

    // By name, from PATH, with arguments.
    let path_dir = home.path("path-bin");
    std::fs::create_dir_all(&path_dir).unwrap();
    std::fs::copy(&bin, path_dir.join("secret-rollout")).unwrap();
    let report = home.path("report.txt");
    let mut cmd = home.helm3(&template_args(
        GOOD,
        "secret-rollout",
        &[
            "--post-renderer-args",
            &format!("--report={}", report.display()),
        ],
    ));
    cmd.env(
        "PATH",
        format!(
            "{}:{}",
            path_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    );
    let out = output(cmd);
    assert_ok(&out, "helm3 template --post-renderer secret-rollout");
    assert_eq!(all_stamps(&common::stdout(&out)), all_stamps(&text));
    assert!(std::fs::read_to_string(&report)
        .unwrap()
        .contains("secret-rollout: rendered with"));
}

#[test]
fn helm3_bad_values_fail_with_the_reason_in_helms_error() {
    let home = Home::new("h3-bad");
    let out = helm3_template(&home, BAD, test_bin().to_str().unwrap(), &[]);
    assert_failed(&out, "helm3 template with a plain admin password");
    assert!(out.stdout.is_empty());
    let stderr = common::stderr(&out);
    assert!(
        stderr.contains("error[admin-password-not-from-secret]")
            && stderr.contains("the0/templates/the0-api.yaml")
            && stderr.contains("secret-rollout: refusing to render"),
        "{stderr}"
    );
    assert!(!stderr.contains(BAD_PASSWORD));
}

#[test]
fn helm3_rotation_changes_exactly_the_consumers_annotations() {
    let home = Home::new("h3-rotation");
    let bin = test_bin();
    let good = helm3_template(&home, GOOD, bin.to_str().unwrap(), &[]);
    let rotated = helm3_template(&home, ROTATED, bin.to_str().unwrap(), &[]);
    assert_ok(&good, "helm3 template good");
    assert_ok(&rotated, "helm3 template rotated");
    // The hook consumes the Secret too, but Helm 3 never shows it to us.
    assert_rotation(
        &common::stdout(&good),
        &common::stdout(&rotated),
        &[
            "the0/templates/the0-api.yaml",
            "the0/templates/the0-frontend.yaml",
        ],
    );
}

/// Answers Kubernetes discovery (`/version`, `/api`, `/apis`, `/api/v1`),
/// which Helm 3.17's `install --dry-run=client` asks for before rendering.
/// Nothing else: the release is kept by Helm's memory driver and a
/// client-side dry run creates nothing.
fn discovery_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]);
            let path = req
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .split('?')
                .next()
                .unwrap_or("");
            let body = match path {
                "/version" => {
                    r#"{"major":"1","minor":"32","gitVersion":"v1.32.0","platform":"linux/amd64"}"#
                }
                "/api" => {
                    r#"{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[]}"#
                }
                "/apis" => r#"{"kind":"APIGroupList","apiVersion":"v1","groups":[]}"#,
                "/api/v1" => r#"{"kind":"APIResourceList","groupVersion":"v1","resources":[]}"#,
                _ => "",
            };
            let status = if body.is_empty() {
                "404 Not Found"
            } else {
                "200 OK"
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}")
}

#[test]
fn helm3_install_dry_run_client_stamps_manifests() {
    let home = Home::new("h3-install");
    let memory = home.path("memory-driver.yaml");
    std::fs::write(&memory, "").unwrap();
    let server = discovery_server();
    let bin = test_bin();
    let mut cmd = home.helm3(&[
        "install",
        "the0",
        CHART,
        "-f",
        GOOD,
        "--dry-run=client",
        "--kube-apiserver",
        &server,
        "--post-renderer",
        bin.to_str().unwrap(),
    ]);
    cmd.env("HELM_DRIVER", "memory")
        .env("HELM_MEMORY_DRIVER_DATA", &memory);
    let out = output(cmd);
    assert_ok(&out, "helm3 install --dry-run=client");
    assert_good_render(&common::stdout(&out), false);
}

// ------------------------------------------------------------------ Helm SDK

/// One post-renderer call seen by the capture shim.
struct Call {
    input: String,
    output: String,
}

struct SdkRun {
    ok: bool,
    error: String,
    manifest: String,
    calls: Vec<Call>,
    report: String,
}

/// `helm_install` (client dry run) through helm-python-sdk with the plugin
/// installed from the checkout, `post_render_strategy` = `strategy`. The
/// plugin runs a shim that records each call's stdin and stdout around the
/// real binary.
fn sdk_install(name: &str, values: &str, strategy: &str) -> SdkRun {
    let home = Home::new(name);
    home.install_plugin(Path::new("."));
    let calls = home.path("calls");
    std::fs::create_dir_all(&calls).unwrap();
    let shim = common::write_temp(
        &home.dir,
        "capture.sh",
        "#!/bin/sh\n\
         n=$(ls \"$CAPTURE_DIR\" | wc -l | tr -d ' ')\n\
         d=\"$CAPTURE_DIR/$(printf %03d \"$n\")\"\n\
         mkdir \"$d\"\n\
         cat >\"$d/in\"\n\
         \"$REAL_BIN\" \"$@\" <\"$d/in\" >\"$d/out\"\n\
         rc=$?\n\
         cat \"$d/out\"\n\
         exit $rc\n",
    );
    std::fs::set_permissions(&shim, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let report = home.path("report.txt");
    let mut cmd = home.cmd(&common::python());
    cmd.arg(common::root().join("tests/helm/sdk_install.py"))
        .args([CHART, values, strategy])
        .arg(format!("--report={}", report.display()))
        // Helm reads HELM_PLUGINS when the library starts.
        .env("HELM_PLUGINS", home.plugins())
        .env("SECRET_ROLLOUT_BIN", &shim)
        .env("REAL_BIN", test_bin())
        .env("CAPTURE_DIR", &calls);
    let out = output(cmd);
    assert_ok(&out, "sdk_install.py");
    let result: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("sdk_install.py prints JSON");
    let mut dirs: Vec<_> = std::fs::read_dir(&calls)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    SdkRun {
        ok: result["ok"].as_bool().unwrap(),
        error: result["error"].as_str().unwrap_or("").to_string(),
        manifest: result["manifest"].as_str().unwrap_or("").to_string(),
        calls: dirs
            .iter()
            .map(|d| Call {
                input: std::fs::read_to_string(d.join("in")).unwrap(),
                output: std::fs::read_to_string(d.join("out")).unwrap_or_default(),
            })
            .collect(),
        report: std::fs::read_to_string(&report).unwrap_or_default(),
    }
}

fn is_hook(doc: &Doc) -> bool {
    ["helm.sh/hook:", "\"helm.sh/hook\":", "'helm.sh/hook':"]
        .iter()
        .any(|k| doc.text.contains(k))
}

/// Helm needs the filename annotation back on every document to regroup.
fn assert_filename_kept(call: &Call) {
    for doc in docs(&call.output) {
        assert!(
            doc.text.contains(FILENAME_ANNOTATION),
            "{}/{} lost {FILENAME_ANNOTATION}:\n{}",
            doc.kind,
            doc.name,
            doc.text
        );
    }
    assert_eq!(docs(&call.input).len(), docs(&call.output).len());
}

#[test]
fn sdk_combined_strategy_stamps_hooks_in_the_one_call() {
    let run = sdk_install("sdk-combined", GOOD, "combined");
    assert!(run.ok, "{}", run.error);
    assert_eq!(run.calls.len(), 1, "combined is one post-renderer call");
    let call = &run.calls[0];
    assert_filename_kept(call);
    let out = docs(&call.output);
    assert!(out.iter().any(is_hook) && !out.iter().all(is_hook));
    assert_good_render(&call.output, true);
    assert_good_render(&format!("{}\n---\n{}", run.manifest, call.output), true);
    assert!(stamps(find(&docs(&run.manifest), "Deployment", "the0-api"))
        .contains_key("secret.the0-secrets"));
    assert!(!run.report.contains("hooks in this call"), "{}", run.report);
}

#[test]
fn sdk_separate_strategy_hook_missing_its_secret_warns_and_explains() {
    let run = sdk_install("sdk-separate", GOOD, "separate");
    assert!(run.ok, "{}", run.error);
    assert_eq!(run.calls.len(), 2, "separate is two calls, hooks first");
    let (hooks, manifests) = (&run.calls[0], &run.calls[1]);
    assert_filename_kept(hooks);
    assert_filename_kept(manifests);
    assert!(docs(&hooks.input).iter().all(is_hook));
    assert!(!docs(&manifests.input).iter().any(is_hook));
    // The hook's Secret is in the other call: no stamp, the document
    // passes through untouched, and the warning says why.
    assert_eq!(hooks.output, hooks.input);
    assert!(stamps(find(&docs(&hooks.output), "Job", "the0-db-migrate")).is_empty());
    assert!(
        run.report.contains(
            "warning[unresolved-reference]: Job/the0-db-migrate uses Secret the0-secrets (envFrom)"
        ) && run
            .report
            .contains(secret_rollout::front::helm::HOOKS_ONLY_NOTE)
            && run.report.contains("`separate` post-render strategy"),
        "{}",
        run.report
    );
    // The manifests are stamped as usual.
    let api = stamps(find(&docs(&manifests.output), "Deployment", "the0-api"));
    assert!(api.contains_key("secret.the0-secrets"), "{api:?}");
    assert!(
        stamps(find(&docs(&run.manifest), "Deployment", "the0-frontend"))
            .contains_key("secret.the0-secrets")
    );
}

#[test]
fn sdk_nohooks_strategy_stamps_manifests_and_sends_no_hooks() {
    let run = sdk_install("sdk-nohooks", GOOD, "nohooks");
    assert!(run.ok, "{}", run.error);
    assert_eq!(run.calls.len(), 1);
    assert_filename_kept(&run.calls[0]);
    assert!(!docs(&run.calls[0].input).iter().any(is_hook));
    assert!(stamps(find(&docs(&run.manifest), "Deployment", "the0-api"))
        .contains_key("secret.the0-secrets"));
}

#[test]
fn sdk_bad_values_fail_and_the_report_has_the_reason() {
    let run = sdk_install("sdk-bad", BAD, "combined");
    assert!(!run.ok, "install should fail");
    assert!(run.error.contains("secret-rollout"), "{}", run.error);
    assert!(
        run.report.contains("error[admin-password-not-from-secret]"),
        "{}",
        run.report
    );
    assert!(
        run.calls[0].output.is_empty(),
        "nothing on stdout on failure"
    );
    assert!(!run.report.contains(BAD_PASSWORD));
}

// ------------------------------------------------------------------ --secrets-from

/// The bundled `clusters/prod` (the sealed `the0-root-admin`, as the0's docs
/// keep it), copied where a test may re-seal it.
fn gitops_copy(name: &str) -> PathBuf {
    let dir = common::temp_dir(&format!("helm/gitops-{name}"));
    let from = common::root().join("testdata/gitops/clusters/prod");
    for entry in std::fs::read_dir(&from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    dir
}

/// `kubectl create secret … | kubeseal --merge-into`: a new admin password.
fn reseal_admin_password(gitops: &Path, password: &str) {
    let secret = common::gitops::write(
        gitops.parent().unwrap(),
        "new-admin.yaml",
        &common::gitops::kubectl_secret(
            gitops,
            "the0-root-admin",
            &[("password", password)],
            "yaml",
        ),
    );
    let sealed = gitops.join("the0-root-admin.sealed.yaml");
    let merged = common::gitops::seal(&secret, Some(&sealed));
    std::fs::write(&sealed, merged).unwrap();
}

/// Only the api carries the admin password's stamp, and a re-seal changes
/// that stamp and nothing else in the whole release.
fn assert_admin_rotation(before: &str, after: &str) {
    let (a, b) = (all_stamps(before), all_stamps(after));
    let key = "secret.the0-root-admin";
    let stamped: Vec<&String> = b
        .iter()
        .filter(|(_, s)| s.contains_key(key))
        .map(|(w, _)| w)
        .collect();
    assert_eq!(stamped, ["Deployment/the0-api"]);
    assert_ne!(a["Deployment/the0-api"][key], b["Deployment/the0-api"][key]);
    let changed = changed_lines(before, after);
    assert!(
        changed
            .iter()
            .all(|(source, old, _)| source == "the0/templates/the0-api.yaml"
                && old
                    .trim_start()
                    .starts_with("secret-rollout/secret.the0-root-admin: ")),
        "{changed:#?}"
    );
    assert_eq!(changed.len(), 1, "{changed:#?}");
}

#[test]
fn helm4_secrets_from_rolls_the_api_when_the_sealed_admin_password_rotates() {
    let home = Home::new("h4-secrets-from");
    home.install_plugin(Path::new("."));
    let gitops = gitops_copy("h4");
    let arg = format!("--post-renderer-args=--secrets-from={}", gitops.display());
    let before = template(&home, GOOD, &[&arg]);
    assert_ok(&before, "helm template --secrets-from");
    reseal_admin_password(&gitops, "rotated-admin-password");
    let after = template(&home, GOOD, &[&arg]);
    assert_ok(&after, "helm template after the re-seal");
    assert_admin_rotation(&common::stdout(&before), &common::stdout(&after));
    // A plugin call needs no arguments: the variable says the same.
    let mut cmd = home.helm(&template_args(GOOD, "secret-rollout", &[]));
    cmd.env("SECRET_ROLLOUT_SECRETS_FROM", &gitops);
    let from_env = output(cmd);
    assert_ok(&from_env, "helm template with SECRET_ROLLOUT_SECRETS_FROM");
    assert_eq!(common::stdout(&from_env), common::stdout(&after));
}

#[test]
fn helm3_secrets_from_rolls_the_api_when_the_sealed_admin_password_rotates() {
    let home = Home::new("h3-secrets-from");
    let gitops = gitops_copy("h3");
    let bin = test_bin();
    let arg = format!("--post-renderer-args=--secrets-from={}", gitops.display());
    let before = helm3_template(&home, GOOD, bin.to_str().unwrap(), &[&arg]);
    assert_ok(&before, "helm3 template --secrets-from");
    reseal_admin_password(&gitops, "rotated-admin-password");
    let after = helm3_template(&home, GOOD, bin.to_str().unwrap(), &[&arg]);
    assert_ok(&after, "helm3 template after the re-seal");
    assert_admin_rotation(&common::stdout(&before), &common::stdout(&after));
}

// ------------------------------------------------------------------ --lookup

/// A loopback API server (tests/common/apiserver.rs: no real one can run
/// here) holding the0's admin password only in the cluster, and a kubeconfig
/// for it whose context is in namespace `the0`.
fn cluster_with_admin_password(home: &Home) -> (apiserver::ApiServer, PathBuf) {
    let server = apiserver::ApiServer::start("helm-lookup-token");
    server.put_secret("the0", "the0-root-admin", &[("password", "cluster-one")]);
    let kubeconfig = server.kubeconfig(&home.dir, Some("the0"), &server.token_user());
    (server, kubeconfig)
}

/// The README's `--post-renderer-args`, run from the checkout as the README's
/// commands are.
fn lookup_args() -> Vec<String> {
    vec![
        "--post-renderer-args=--lookup".to_string(),
        "--post-renderer-args=--digest-key-file=testdata/digest.key".to_string(),
    ]
}

/// Only GETs of the admin password by name, with the token.
fn assert_only_admin_gets(server: &apiserver::ApiServer) {
    let seen = server.take_seen();
    assert!(!seen.is_empty());
    for s in seen {
        assert_eq!(
            (s.method.as_str(), s.path.as_str(), s.authorized),
            (
                "GET",
                "/api/v1/namespaces/the0/secrets/the0-root-admin",
                true
            )
        );
    }
}

#[test]
fn helm4_lookup_rolls_the_api_when_the_cluster_only_secret_changes() {
    let home = Home::new("h4-lookup");
    home.install_plugin(Path::new("."));
    let (server, kubeconfig) = cluster_with_admin_password(&home);
    let args = lookup_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = |home: &Home| {
        let mut cmd = home.helm(&template_args(GOOD, "secret-rollout", &args));
        cmd.env("KUBECONFIG", &kubeconfig);
        let out = output(cmd);
        assert_ok(&out, "helm template --post-renderer-args=--lookup");
        common::stdout(&out)
    };
    let before = run(&home);
    assert!(
        all_stamps(&before)["Deployment/the0-api"]["secret.the0-root-admin"]
            .starts_with("hmac-sha256:")
    );
    assert_only_admin_gets(&server);
    server.put_secret("the0", "the0-root-admin", &[("password", "cluster-two")]);
    let after = run(&home);
    assert_admin_rotation(&before, &after);
    assert_only_admin_gets(&server);
    // The plugin needs no arguments when the environment says it all.
    let mut cmd = home.helm(&template_args(GOOD, "secret-rollout", &[]));
    let report = home.path("report");
    cmd.env("KUBECONFIG", &kubeconfig)
        .env("SECRET_ROLLOUT_LOOKUP", "true")
        .env("SECRET_ROLLOUT_DIGEST_KEY_FILE", "testdata/digest.key")
        .env("SECRET_ROLLOUT_REPORT", &report);
    let from_env = output(cmd);
    let said = std::fs::read_to_string(&report).unwrap_or_default();
    assert_ok(
        &from_env,
        &format!("helm template with SECRET_ROLLOUT_LOOKUP (report: {said})"),
    );
    assert_eq!(common::stdout(&from_env), after);
}

#[test]
fn helm3_lookup_rolls_the_api_when_the_cluster_only_secret_changes() {
    let home = Home::new("h3-lookup");
    let (server, kubeconfig) = cluster_with_admin_password(&home);
    let bin = test_bin();
    let args = lookup_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = || {
        let mut cmd = home.helm3(&template_args(GOOD, bin.to_str().unwrap(), &args));
        cmd.env("KUBECONFIG", &kubeconfig);
        let out = output(cmd);
        assert_ok(&out, "helm3 template --post-renderer-args=--lookup");
        common::stdout(&out)
    };
    let before = run();
    server.put_secret("the0", "the0-root-admin", &[("password", "cluster-two")]);
    let after = run();
    assert_admin_rotation(&before, &after);
    assert_only_admin_gets(&server);
}

#[test]
fn helm4_lookup_without_a_key_is_refused_and_the_reason_reaches_the_report() {
    let home = Home::new("h4-lookup-no-key");
    home.install_plugin(Path::new("."));
    let (server, kubeconfig) = cluster_with_admin_password(&home);
    let report = home.path("report.txt");
    let mut cmd = home.helm(&template_args(
        GOOD,
        "secret-rollout",
        &["--post-renderer-args=--lookup"],
    ));
    cmd.env("KUBECONFIG", &kubeconfig)
        .env("SECRET_ROLLOUT_REPORT", &report);
    let out = output(cmd);
    assert_failed(&out, "helm template --lookup without a key");
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.contains("--lookup needs --digest-key-file"), "{text}");
    assert_eq!(server.take_seen(), []);
}

/// The README's Helm 4 tip: Secrets outside the chart from a policy file
/// given by SECRET_ROLLOUT_POLICY. The file only says where to read; it
/// extends the built-in profile, so the guard stays.
#[test]
fn helm4_policy_from_the_environment_adds_secrets_from_and_keeps_the_guard() {
    const POLICY: &str = "testdata/gitops/secret-rollout.yaml";
    let readme = common::user_docs();
    let file = std::fs::read_to_string(common::root().join(POLICY)).unwrap();
    assert!(
        readme.contains(&format!("```yaml\n{file}```")),
        "the README shows {POLICY}"
    );
    assert!(readme.contains(&format!(
        "SECRET_ROLLOUT_POLICY={POLICY} helm upgrade --install the0 {CHART} \\\n  -f {GOOD} --post-renderer secret-rollout"
    )));
    let home = Home::new("h4-policy-env");
    home.install_plugin(Path::new("."));
    let run = |values: &str| {
        let mut cmd = home.helm(&template_args(values, "secret-rollout", &[]));
        cmd.env("SECRET_ROLLOUT_POLICY", POLICY)
            .env("SECRET_ROLLOUT_REPORT", home.path("report.txt"));
        output(cmd)
    };
    let good = run(GOOD);
    assert_ok(&good, "the README's command");
    let stamps = all_stamps(&common::stdout(&good));
    assert!(
        stamps["Deployment/the0-api"].contains_key("secret.the0-root-admin"),
        "{stamps:?}"
    );
    let bad = run(BAD);
    assert_failed(&bad, "the same command with the bad values");
    assert!(bad.stdout.is_empty());
    let report = std::fs::read_to_string(home.path("report.txt")).unwrap();
    assert!(
        report.contains("error[admin-password-not-from-secret]")
            && report.contains("secret-rollout: refusing to render"),
        "{report}"
    );
    assert!(!report.contains(BAD_PASSWORD));
}
