//! The trust boundary (docs/security.md): the operator's flags, environment
//! and policy files are trusted; the rendered stream and the files it could
//! point at are not. Policy files extend the built-in profile, the stream is
//! never configuration, and paths from files stay inside them and name
//! regular files only. Real helm renders the charts.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{run, run_cmd, stderr, stdout, temp_dir, tool, write_temp};

const CHART: &str = "testdata/charts/the0";
const BAD_VALUES: &str = "testdata/charts/values/bad-plain-env.yaml";
/// The plain password in `bad-plain-env.yaml`: never shown.
const BAD_PASSWORD: &str = "plain-admin-password-123";

/// `helm template the0 CHART -f VALUES` with helm 4 (`helm`) or 3 (`helm3`).
fn helm_template(helm: &str, chart: &Path, values: &str, extra: &[&str]) -> Output {
    // A home of its own for each call: tests run in parallel.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let helm_home = |what: &str| temp_dir(&format!("trust/helm-{what}-{helm}-{n}"));
    let out = Command::new(tool(helm))
        .args(["template", "the0"])
        .arg(chart)
        .args(["-f", &common::root().join(values).to_string_lossy()])
        .args(extra)
        .env("HELM_CACHE_HOME", helm_home("cache"))
        .env("HELM_CONFIG_HOME", helm_home("config"))
        .env("HELM_DATA_HOME", helm_home("data"))
        .env("SECRET_ROLLOUT_TERMINAL", "never")
        .stdin(Stdio::null())
        .output()
        .expect("running helm");
    out
}

/// The stream: the0 rendered by helm 4 with a plaintext admin password.
fn bad_stream() -> String {
    let out = helm_template("helm", &common::root().join(CHART), BAD_VALUES, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(BAD_PASSWORD));
    text
}

fn policy_file(test: &str, text: &str) -> PathBuf {
    write_temp(&temp_dir(&format!("trust/{test}")), "policy.yaml", text)
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited normally")
}

fn assert_refused(out: &Output, what: &str) {
    assert_eq!(code(out), 1, "{what}: {}", stderr(out));
    assert!(out.stdout.is_empty(), "{what}: nothing on stdout");
    assert!(
        stderr(out).contains("error[admin-password-not-from-secret]"),
        "{what}: {}",
        stderr(out)
    );
    assert!(!stderr(out).contains(BAD_PASSWORD));
}

// ---------------------------------------------------------------- policies extend the built-in profile

#[test]
fn a_policy_that_only_adds_a_setting_keeps_the_guard() {
    let bad = bad_stream();
    assert_refused(&run(&["render"], &bad), "no policy");
    for (name, text) in [
        (
            "secrets-from",
            "apiVersion: secret-rollout/v1\nkind: Policy\nsecretsFrom: []\n",
        ),
        (
            "one-rule",
            "apiVersion: secret-rollout/v1\nrules: {unkeyed-digest: off}\n",
        ),
        (
            "a-name",
            "apiVersion: secret-rollout/v1\nsensitiveNames: [SESSION_KEY]\n",
        ),
        (
            "other-source",
            "apiVersion: secret-rollout/v1\nrequiredSources: [{id: jwt, env: JWT_SECRET}]\n",
        ),
    ] {
        let policy = policy_file(&format!("adds-{name}"), text);
        let policy = policy.to_str().unwrap();
        assert_refused(&run(&["render", "--policy", policy], &bad), name);
        let mut cmd = common::bin();
        cmd.env("SECRET_ROLLOUT_POLICY", policy);
        assert_refused(&run_cmd(&mut cmd, &bad), &format!("{name} from the env"));
        let check = run(&["check", "--policy", policy, "--format", "json"], &bad);
        assert_eq!(code(&check), 1, "{name}: {}", stderr(&check));
        assert!(stdout(&check).contains("admin-password-not-from-secret"));
    }
}

#[test]
fn extends_none_starts_from_nothing_and_every_run_says_what_is_off() {
    let bad = bad_stream();
    let dir = temp_dir("trust/extends-none");
    let policy = write_temp(
        &dir,
        "policy.yaml",
        "apiVersion: secret-rollout/v1\nextends: none\nsensitiveNames: [TOKEN]\n",
    );
    let report = dir.join("report.txt");
    let out = run(
        &[
            "render",
            "--policy",
            policy.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ],
        &bad,
    );
    assert_eq!(code(&out), 0, "said in the file: {}", stderr(&out));
    let notice = format!(
        "secret-rollout: warning: policy {} starts from nothing (extends: none) and has built-in protections off: requiredSources `admin-password` (THE0_ADMIN_PASSWORD from a Secret); sensitiveNames PASSWORD,",
        policy.display()
    );
    let err = stderr(&out);
    assert_eq!(err.matches(&notice).count(), 1, "once on stderr:\n{err}");
    let recorded = std::fs::read_to_string(&report).unwrap();
    assert_eq!(
        recorded.matches(&notice).count(),
        1,
        "once in the report:\n{recorded}"
    );
    assert!(err.contains("unsuppressible admin-password-not-from-secret, admin-password-missing"));
    for args in [
        vec!["check", "--format", "json"],
        vec!["explain"],
        vec!["rules"],
    ] {
        let mut args = args.clone();
        args.extend(["--policy", policy.to_str().unwrap()]);
        let out = run(&args, &bad);
        assert_eq!(
            stderr(&out).matches(&notice).count(),
            1,
            "{args:?}: {}",
            stderr(&out)
        );
    }
    // A policy that keeps every protection says nothing of the kind.
    let quiet = policy_file(
        "extends-default",
        "apiVersion: secret-rollout/v1\nsensitiveNames: [TOKEN]\n",
    );
    let out = run(&["check", "--policy", quiet.to_str().unwrap()], &bad);
    assert!(
        !stderr(&out).contains("protections off"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn print_effective_shows_the_policy_in_force_and_reads_back_to_it() {
    let policy = policy_file(
        "print-effective",
        "apiVersion: secret-rollout/v1\nsensitiveNames: [session-key]\nrules: {duplicate-env: error}\n",
    );
    let printed = run(
        &[
            "policy",
            "--print-effective",
            "--policy",
            policy.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(code(&printed), 0, "{}", stderr(&printed));
    let text = stdout(&printed);
    for line in [
        "extends: none\n",
        "\"THE0_ADMIN_PASSWORD\"",
        "\"SESSION_KEY\"",
        "\"PASSWORD\"",
        "rules: {\"duplicate-env\":\"error\"}\n",
        "unsuppressible: [\"admin-password-not-from-secret\",\"admin-password-missing\"]\n",
    ] {
        assert!(text.contains(line), "{line:?} in:\n{text}");
    }
    // Read back, the printed policy is the same policy.
    let saved = policy_file("print-effective-saved", &text);
    let again = run(
        &[
            "policy",
            "--print-effective",
            "--policy",
            saved.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(
        stdout(&again).lines().skip(1).collect::<Vec<_>>(),
        text.lines().skip(1).collect::<Vec<_>>(),
        "only the heading names another file"
    );
    for input in ["testdata/releases/the0-prod", "testdata/releases/other-app"] {
        let a = run(
            &[
                "check",
                input,
                "--format",
                "json",
                "--policy",
                policy.to_str().unwrap(),
            ],
            "",
        );
        let b = run(
            &[
                "check",
                input,
                "--format",
                "json",
                "--policy",
                saved.to_str().unwrap(),
            ],
            "",
        );
        assert_eq!((code(&a), stdout(&a)), (code(&b), stdout(&b)), "{input}");
    }
    // Without a file: the built-in profile, the same policy as --print-default's.
    let built_in = stdout(&run(&["policy", "--print-effective"], ""));
    let default = policy_file(
        "print-default",
        &stdout(&run(&["policy", "--print-default"], "")),
    );
    let from_default = stdout(&run(
        &[
            "policy",
            "--print-effective",
            "--policy",
            default.to_str().unwrap(),
        ],
        "",
    ));
    assert_eq!(
        built_in.lines().skip(1).collect::<Vec<_>>(),
        from_default.lines().skip(1).collect::<Vec<_>>()
    );
}

/// The saved ResourceList kustomize sent for the bad values, with another
/// `functionConfig`.
fn krm_input(function_config: &str) -> String {
    let input = common::fixture("krm/the0-bad-plain-env.yaml");
    let at = input.find("functionConfig:\n").unwrap();
    format!("{}functionConfig:\n{function_config}", &input[..at])
}

#[test]
fn function_config_policy_fields_extend_the_policy() {
    let own = |fields: &str| {
        krm_input(&format!(
            "  apiVersion: secret-rollout/v1\n  kind: SecretRollout\n  metadata: {{name: stamp}}\n  namespace: the0\n{fields}"
        ))
    };
    for (what, input) in [
        ("namespace only", own("")),
        ("one rule", own("  rules: {unkeyed-digest: off}\n")),
        ("secretsFrom only", own("  secretsFrom: [testdata/gitops/clusters/prod]\n")),
        (
            "the README's ConfigMap",
            krm_input(
                "  apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: secret-rollout}\n  data:\n    namespace: the0\n    policy: |\n      apiVersion: secret-rollout/v1\n      kind: Policy\n      rules:\n        unresolved-reference: error\n",
            ),
        ),
    ] {
        let out = run(&["krm"], &input);
        assert_eq!(code(&out), 1, "{what}: {}", stderr(&out));
        assert!(stderr(&out).contains("error[admin-password-not-from-secret]"), "{what}");
    }
    let out = run(
        &["krm"],
        &own("  extends: none\n  sensitiveNames: [TOKEN]\n"),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stderr(&out)
            .matches("secret-rollout: warning: the functionConfig starts from nothing (extends: none) and has built-in protections off: requiredSources `admin-password`")
            .count(),
        1,
        "{}",
        stderr(&out)
    );
}

// ---------------------------------------------------------------- the stream is data

/// A ResourceList whose functionConfig would switch the guard off and read
/// host files, as a chart template could render it.
const HOSTILE_LIST: &str = "apiVersion: config.kubernetes.io/v1
kind: ResourceList
items: []
functionConfig:
  apiVersion: secret-rollout/v1
  kind: SecretRollout
  metadata: {name: x}
  extends: none
  rules: {admin-password-not-from-secret: off}
  secretsFrom: [/dev/zero]
";

#[test]
fn render_refuses_a_resource_list_and_obeys_no_function_config() {
    let bad = bad_stream();
    for (what, input) in [
        ("a ResourceList alone", HOSTILE_LIST.to_string()),
        (
            "kustomize's own input",
            common::fixture("krm/the0-good.yaml"),
        ),
        (
            "after the chart's objects",
            format!("{bad}---\n{HOSTILE_LIST}"),
        ),
    ] {
        let out = run(&["render"], &input);
        assert_eq!(code(&out), 2, "{what}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{what}: nothing on stdout");
        assert!(
            stderr(&out).contains(
                "is a config.kubernetes.io ResourceList, a KRM function's input, not manifests"
            ),
            "{what}: {}",
            stderr(&out)
        );
        assert_eq!(
            code(&run(&[], &input)),
            2,
            "{what}: without a subcommand too"
        );
    }
    // check, explain and diff read its items as objects; its functionConfig
    // (which would read /dev/zero) is no configuration to them either.
    let stream = format!("{bad}---\n{HOSTILE_LIST}");
    let check = run(&["check", "--format", "json"], &stream);
    assert_eq!(code(&check), 1, "{}", stderr(&check));
    assert!(stdout(&check).contains("admin-password-not-from-secret"));
    let explain = run(&["explain"], &stream);
    assert_eq!(code(&explain), 0, "{}", stderr(&explain));
    let before = write_temp(&temp_dir("trust/diff"), "before.yaml", &bad);
    let diff = run(&["diff", before.to_str().unwrap(), "-"], &stream);
    assert!(code(&diff) < 2, "{}", stderr(&diff));
}

#[test]
fn a_chart_that_renders_a_resource_list_fails_under_helm_3() {
    let chart = temp_dir("trust/chart-with-list").join("the0");
    common::copy_dir(&common::root().join(CHART), &chart);
    std::fs::write(chart.join("templates/zz-list.yaml"), HOSTILE_LIST).unwrap();
    let out = helm_template(
        "helm3",
        &chart,
        BAD_VALUES,
        &["--post-renderer", env!("CARGO_BIN_EXE_secret-rollout")],
    );
    assert!(!out.status.success(), "helm 3 must fail");
    assert!(out.stdout.is_empty(), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("ResourceList, a KRM function's input"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_krm_executable_name_runs_the_function() {
    let dir = temp_dir("trust/krm-name");
    let exe = dir.join("secret-rollout-krm");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_secret-rollout"), &exe).unwrap();
    let input = common::fixture("krm/the0-good.yaml");
    let by_name = run_cmd(
        Command::new(&exe).env("SECRET_ROLLOUT_TERMINAL", "never"),
        &input,
    );
    let by_subcommand = run(&["krm"], &input);
    assert_eq!(code(&by_name), 0, "{}", stderr(&by_name));
    assert!(stdout(&by_name).contains("results:"));
    assert_eq!(stdout(&by_name), stdout(&by_subcommand));
}

// ---------------------------------------------------------------- helpers for paths

/// Run with a deadline: reading a FIFO must never hang the tool.
fn run_within(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} hung for {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

// ---------------------------------------------------------------- paths stay inside, regular files only

fn mkfifo(path: &Path) {
    let out = Command::new("mkfifo")
        .arg(path)
        .output()
        .expect("running mkfifo");
    assert!(out.status.success(), "{}", stderr(&out));
}

/// The0's render with the admin password from a Secret outside the chart.
const GOOD_RENDER: &str = "helm4/the0-good.yaml";

fn sr(args: &[&str], cwd: Option<&Path>) -> Output {
    let mut cmd = common::bin();
    cmd.args(args);
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    run_within(&mut cmd, Duration::from_secs(20))
}

fn assert_bad_input(out: &Output, what: &str, needles: &[&str]) {
    assert_eq!(code(out), 2, "{what}: {}", stderr(out));
    assert!(out.stdout.is_empty(), "{what}: nothing on stdout");
    for n in needles {
        assert!(
            stderr(out).contains(n),
            "{what}: {n:?} in:\n{}",
            stderr(out)
        );
    }
    assert_eq!(
        stderr(out).lines().filter(|l| l.contains("error")).count(),
        1,
        "{what}: one line:\n{}",
        stderr(out)
    );
}

#[test]
fn policy_secrets_from_stays_inside_the_policy_directory() {
    let top = temp_dir("trust/secrets-from-inside");
    let app = top.join("app");
    common::copy_dir(
        &common::root().join("testdata/gitops/clusters/prod"),
        &app.join("secrets"),
    );
    common::copy_dir(
        &common::root().join("testdata/gitops/clusters/prod"),
        &top.join("other"),
    );
    std::os::unix::fs::symlink(top.join("other"), app.join("out")).unwrap();
    let render = common::fixture(GOOD_RENDER);
    let stamped = |policy: &Path| {
        let mut cmd = common::bin();
        cmd.args(["render", "--policy", policy.to_str().unwrap()]);
        run_cmd(&mut cmd, &render)
    };
    // Inside: read, and the Secret outside the chart is stamped.
    let ok = write_temp(
        &app,
        "policy.yaml",
        "apiVersion: secret-rollout/v1\nsecretsFrom: [secrets]\n",
    );
    let out = stamped(&ok);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("secret-rollout/secret.the0-root-admin: "));
    for (entry, why) in [
        ("../other", "goes up with `..`"),
        ("secrets/../../other", "goes up with `..`"),
        ("/etc", "is an absolute path"),
        (top.join("other").to_str().unwrap(), "is an absolute path"),
        ("out", "leads out of the directory through a symbolic link"),
    ] {
        let policy = write_temp(
            &app,
            "policy.yaml",
            &format!("apiVersion: secret-rollout/v1\nsecretsFrom:\n  - secrets\n  - {entry}\n"),
        );
        let out = stamped(&policy);
        assert_bad_input(
            &out,
            entry,
            &[&format!(
                "policy {}: line 4: secretsFrom: `{entry}` {why}",
                policy.display()
            )],
        );
    }
    // The same for a kustomize function config, relative to where it runs.
    let input = krm_input(
        "  apiVersion: secret-rollout/v1\n  kind: SecretRollout\n  metadata: {name: stamp}\n  secretsFrom: [/etc]\n",
    );
    let out = run(&["krm"], &input);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("functionConfig: line "),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("secretsFrom: `/etc` is an absolute path"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn only_regular_files_are_read_and_nothing_hangs() {
    let dir = temp_dir("trust/regular");
    let fifo = dir.join("fifo.yaml");
    mkfifo(&fifo);
    let socket_path = dir.join("socket.yaml");
    let _socket = std::os::unix::net::UnixListener::bind(&socket_path).unwrap();
    let fifo_s = fifo.to_str().unwrap();
    let socket_s = socket_path.to_str().unwrap();
    let good = common::root().join("testdata").join(GOOD_RENDER);
    let good = good.to_str().unwrap();
    for (path, what) in [
        (fifo_s, "a FIFO"),
        (socket_s, "a socket"),
        ("/dev/zero", "a character device"),
    ] {
        let refusal = format!("{what}, not a regular file");
        for args in [
            vec!["check".to_string(), path.to_string()],
            vec!["explain".to_string(), path.to_string()],
            vec!["diff".to_string(), path.to_string(), good.to_string()],
            vec![
                "check".to_string(),
                good.to_string(),
                format!("--secrets-from={path}"),
            ],
            vec![
                "check".to_string(),
                good.to_string(),
                format!("--policy={path}"),
            ],
            vec![
                "check".to_string(),
                good.to_string(),
                format!("--digest-key-file={path}"),
            ],
            vec!["krm".to_string(), path.to_string()],
        ] {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = sr(&args, None);
            // (check's report of the files it could read may follow on stdout.)
            assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
            assert!(
                stderr(&out).contains(path) && stderr(&out).contains(&refusal),
                "{args:?}: names {path} and says {refusal:?}:\n{}",
                stderr(&out)
            );
        }
    }
}

#[test]
fn directory_walks_skip_fifos_and_do_not_follow_links_out_of_the_tree() {
    let top = temp_dir("trust/walks");
    let manifests = top.join("manifests");
    std::fs::create_dir_all(&manifests).unwrap();
    let bad = bad_stream();
    // Outside the tree: a plaintext admin password, and a Secret.
    let outside = write_temp(&top, "outside.yaml", &bad);
    std::os::unix::fs::symlink(&outside, manifests.join("b-link-out.yaml")).unwrap();
    mkfifo(&manifests.join("c-fifo.yaml"));
    write_temp(&manifests, "a-good.yaml", &common::fixture(GOOD_RENDER));
    let out = sr(
        &["check", manifests.to_str().unwrap(), "--format", "json"],
        None,
    );
    assert_eq!(
        code(&out),
        0,
        "the link out is not read:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(!stdout(&out).contains("admin-password-not-from-secret"));
    // A link inside the tree is followed.
    std::fs::create_dir_all(manifests.join("sub")).unwrap();
    std::fs::copy(&outside, manifests.join("sub/bad.yaml.txt")).unwrap();
    std::os::unix::fs::symlink(
        manifests.join("sub/bad.yaml.txt"),
        manifests.join("d-link-in.yaml"),
    )
    .unwrap();
    let out = sr(
        &["check", manifests.to_str().unwrap(), "--format", "json"],
        None,
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stdout(&out).contains("admin-password-not-from-secret"));

    // --secrets-from: the same walk.
    let secrets = top.join("secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    let elsewhere = top.join("elsewhere");
    common::copy_dir(
        &common::root().join("testdata/gitops/clusters/prod"),
        &elsewhere,
    );
    std::os::unix::fs::symlink(&elsewhere, secrets.join("linked")).unwrap();
    mkfifo(&secrets.join("fifo.yaml"));
    let render = |from: &Path| {
        let mut cmd = common::bin();
        cmd.args(["render", &format!("--secrets-from={}", from.display())]);
        cmd.stdin(std::fs::File::open(common::root().join("testdata").join(GOOD_RENDER)).unwrap());
        run_within(&mut cmd, Duration::from_secs(20))
    };
    let out = render(&secrets);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        !stdout(&out).contains("secret-rollout/secret.the0-root-admin: "),
        "not read through the link out"
    );
    let out = render(&elsewhere);
    assert!(
        stdout(&out).contains("secret-rollout/secret.the0-root-admin: "),
        "{}",
        stderr(&out)
    );

    // --help says so.
    for command in ["check", "explain", "render"] {
        let help = stdout(&run(&[command, "--help"], ""));
        assert!(
            help.contains("links followed only inside"),
            "{command} --help:\n{help}"
        );
    }
}

/// docs/security.md names a test for each guarantee: each must exist.
#[test]
fn every_test_docs_security_names_exists() {
    let doc = std::fs::read_to_string(common::root().join("docs/security.md")).unwrap();
    let mut named = 0;
    for quoted in doc.split('`').skip(1).step_by(2) {
        let Some((file, name)) = quoted.rsplit_once("::") else {
            continue;
        };
        if quoted == "file::test" {
            continue; // how the page writes a reference
        }
        let path = match file.strip_suffix("::tests") {
            Some(src) => common::root().join(src),
            None => common::root().join(format!("tests/{file}.rs")),
        };
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("docs/security.md names {quoted}: {}: {e}", path.display()));
        assert!(
            text.contains(&format!("fn {name}(")),
            "docs/security.md names {quoted}, which {} does not define",
            path.display()
        );
        named += 1;
    }
    assert!(named >= 20, "{named}");
}

/// A pod template with a plain `API_TOKEN` that its ignore annotation
/// suppresses, with `reason` (a YAML double-quoted scalar's content).
fn suppressed_with(reason: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  annotations:\n    \
         secret-rollout/ignore: \"sensitive-env-plain-value: {reason}\"\nspec:\n  template:\n    \
         spec:\n      containers:\n      - name: web\n        image: web\n        env:\n        \
         - name: API_TOKEN\n          value: placeholder-for-tests\n"
    )
}

#[test]
fn a_suppression_reason_is_shown_as_plain_prose_or_not_at_all() {
    let every_format = |input: &str| -> String {
        let mut said = String::new();
        for format in ["text", "json", "sarif", "github", "markdown"] {
            let out = run(&["check", "--format", format, "--show-suppressed"], input);
            said.push_str(&stdout(&out));
            said.push_str(&stderr(&out));
        }
        let out = run(&["render"], input);
        said.push_str(&stderr(&out));
        said
    };
    // A reason a person wrote is shown as written.
    let plain = every_format(&suppressed_with(
        "test fixture (TICKET-1); until 2999-01-01",
    ));
    assert!(plain.contains("test fixture (TICKET-1)"), "{plain}");
    // What runs on past a line break, a terminal escape, a credential-shaped
    // word, and text after an expiry that is not a date never reach any of them.
    for (reason, marker) in [
        ("fine\\nLEAKAFTERBREAK", "LEAKAFTERBREAK"),
        ("fine\\u2028LEAKAFTERLS", "LEAKAFTERLS"),
        ("red \\e[31mLEAKESCAPE", "LEAKESCAPE"),
        (
            "key AKIAIOSFODNN7LEAKAWS is a test key",
            "AKIAIOSFODNN7LEAKAWS",
        ),
        (
            "token ghp_LEAK0123456789abcdefghijABCDEFGHIJ0123",
            "ghp_LEAK",
        ),
        ("temporary; until LEAK IN DATE", "LEAK IN DATE"),
    ] {
        let said = every_format(&suppressed_with(reason));
        assert!(!said.contains(marker), "{reason}: {said}");
        assert!(
            said.contains("secret-rollout"),
            "{reason}: the tool ran: {said}"
        );
    }
}

#[test]
fn a_krm_result_names_the_item_only_with_checked_names() {
    let input = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n\
        - apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: \"web LEAKNAME\"\n    \
        namespace: \"prod\\nLEAKNS\"\n  spec:\n    template:\n      spec:\n        containers:\n        \
        - name: web\n          image: web\n          env:\n          - name: API_TOKEN\n            \
        value: placeholder-for-tests\n";
    let out = run(&["krm"], input);
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        said.contains("resourceRef"),
        "a result names its item: {said}"
    );
    // The item itself is copied to stdout as it was; no result or message repeats its fields.
    let results = &said[said.find("results:").expect("results")..];
    assert!(
        !results.contains("LEAKNAME") && !results.contains("LEAKNS"),
        "{results}"
    );
    assert!(results.contains("name: \"(not shown)\""), "{results}");
    assert!(results.contains("namespace: \"prod\\u2026\""), "{results}");
}

#[test]
fn flux_names_the_helm_releases_of_a_file_only_with_checked_names() {
    let dir = temp_dir("trust/flux-names");
    let file = dir.join("two.helmrelease.yaml");
    let release = |name: &str| {
        format!(
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: \"{name}\"\n\
             spec:\n  interval: 10m\n  chart:\n    spec:\n      chart: ./app\n"
        )
    };
    std::fs::write(
        &file,
        format!(
            "{}---\n{}",
            release("app LEAKONE"),
            release("db\\u2028LEAKTWO")
        ),
    )
    .unwrap();
    let out = run(&["flux", file.to_str().unwrap()], "");
    let said = stderr(&out);
    assert_eq!(code(&out), 2, "{said}");
    assert!(said.contains("holds 2 HelmReleases"), "{said}");
    assert!(said.contains("db…"), "{said}");
    assert!(
        !said.contains("LEAKONE") && !said.contains("LEAKTWO"),
        "{said}"
    );
}

#[test]
fn a_file_found_in_a_secrets_from_directory_is_named_with_checked_names() {
    let dir = temp_dir("trust/walked-names");
    let gitops = dir.join("gitops");
    std::fs::create_dir_all(&gitops).unwrap();
    // A file name with a line break, holding YAML that does not parse.
    std::fs::write(gitops.join("bad\nLEAKFILE.yaml"), "a: [\n").unwrap();
    let out = run(
        &["--secrets-from", gitops.to_str().unwrap()],
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    );
    let said = stderr(&out);
    assert_eq!(code(&out), 2, "{said}");
    assert!(
        said.contains(&format!("{}/bad…", gitops.display())),
        "{said}"
    );
    assert!(!said.contains("LEAKFILE"), "{said}");
}
