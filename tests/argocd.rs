//! The Argo CD Config Management Plugin (`deploy/argocd/plugin.yaml`), run the
//! way cmp-server runs it: its `generate` command and args, in the
//! application's directory, with the sidecar's environment plus what Argo CD
//! adds (`ARGOCD_APP_*`, `KUBE_VERSION`, `KUBE_API_VERSIONS`, the
//! Application's plugin env as `ARGOCD_ENV_*`), and a non-zero exit failing
//! the generation with the command's stderr. There is no Argo CD here: this
//! emulates the sidecar's contract with real helm v4.3.1 and v3.17.2.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::docker::Dockerd;
use common::oracle;
use serde_json::Value;

const BAD_PASSWORD: &str = "plain-admin-password-123";

/// The build environment the repo-server hands a plugin, besides the
/// Application's own `ARGOCD_ENV_*`.
const ARGOCD_ENV: [(&str, &str); 10] = [
    ("ARGOCD_APP_NAME", "the0"),
    ("ARGOCD_APP_NAMESPACE", "the0-prod"),
    ("ARGOCD_APP_PROJECT_NAME", "default"),
    (
        "ARGOCD_APP_REVISION",
        "f913b6cbf58aa5ae5ca1f8a2b149477aebcbd9d8",
    ),
    ("ARGOCD_APP_REVISION_SHORT", "f913b6c"),
    ("ARGOCD_APP_SOURCE_PATH", "charts/the0"),
    (
        "ARGOCD_APP_SOURCE_REPO_URL",
        "https://git.example.com/the0/deploy.git",
    ),
    ("ARGOCD_APP_SOURCE_TARGET_REVISION", "HEAD"),
    ("KUBE_VERSION", "1.35"),
    ("KUBE_API_VERSIONS", "v1,apps/v1,batch/v1,example.com/v1"),
];

/// The plugin's generate command, read from plugin.yaml as cmp-server reads it.
fn generate_command() -> Vec<String> {
    let text = std::fs::read_to_string(common::root().join("deploy/argocd/plugin.yaml")).unwrap();
    generate_command_of(&text)
}

fn generate_command_of(text: &str) -> Vec<String> {
    let plugin: serde_yaml::Value = serde_yaml::from_str(text).unwrap();
    assert_eq!(plugin["apiVersion"].as_str(), Some("argoproj.io/v1alpha1"));
    assert_eq!(plugin["kind"].as_str(), Some("ConfigManagementPlugin"));
    assert_eq!(plugin["metadata"]["name"].as_str(), Some("secret-rollout"));
    let generate = &plugin["spec"]["generate"];
    let strings = |v: &serde_yaml::Value| -> Vec<String> {
        v.as_sequence()
            .map(|s| s.iter().map(|x| x.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    let mut command = strings(&generate["command"]);
    command.extend(strings(&generate["args"]));
    assert!(!command.is_empty());
    command
}

/// An application directory: the0's chart, its values files, and a probe
/// template that shows what helm was told.
fn app(name: &str) -> (PathBuf, PathBuf) {
    let base = common::temp_dir(&format!("argocd/{name}"));
    let dir = base.join("repo/charts/the0");
    common::copy_dir(&common::root().join("testdata/charts/the0"), &dir);
    for (values, name) in [
        ("good", "good"),
        ("bad-plain-env", "bad-plain-env"),
        ("good", "prod"),
    ] {
        std::fs::copy(
            common::root().join(format!("testdata/charts/values/{values}.yaml")),
            dir.join(format!("values-{name}.yaml")),
        )
        .unwrap();
    }
    common::write_temp(
        &dir.join("templates"),
        "zz-argocd-probe.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argocd-probe\ndata:\n  release: {{ .Release.Name | quote }}\n  \
         namespace: {{ .Release.Namespace | quote }}\n  kubeVersion: {{ .Capabilities.KubeVersion.Version | quote }}\n  \
         hasExampleApi: {{ .Capabilities.APIVersions.Has \"example.com/v1\" | quote }}\n",
    );
    let scratch = base.join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    (dir, scratch)
}

/// Run the generate command like cmp-server: `Ok(stdout)` (one trailing
/// newline trimmed, as cmp-server does), or `Err` with the message cmp-server
/// sends back to Argo CD, which shows it on the Application.
fn generate(
    app: &Path,
    scratch: &Path,
    helm: &str,
    env: &[(&str, &str)],
) -> Result<String, String> {
    let bin = scratch.join("bin");
    let _ = std::fs::remove_dir_all(&bin);
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(common::tool(helm), bin.join("helm")).unwrap();
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_secret-rollout"),
        bin.join("secret-rollout"),
    )
    .unwrap();
    let command = generate_command();
    let mut cmd = Command::new(&command[0]);
    cmd.args(&command[1..])
        .current_dir(app)
        .env_clear()
        // The sidecar's own environment ...
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("HOME", scratch)
        .env("HELM_CACHE_HOME", scratch.join("helm/cache"))
        .env("HELM_CONFIG_HOME", scratch.join("helm/config"))
        .env("HELM_DATA_HOME", scratch.join("helm/data"))
        // ... and the build environment Argo CD adds.
        .envs(ARGOCD_ENV)
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("running the generate command");
    if !out.status.success() {
        return Err(format!(
            "`{}` failed {}: {}",
            command.join(" "),
            out.status,
            common::stderr(&out).trim()
        ));
    }
    Ok(common::stdout(&out).trim_end_matches('\n').to_string())
}

fn decode(scratch: &Path, name: &str, stream: &str) -> Vec<Value> {
    let file = common::write_temp(scratch, name, stream);
    oracle::decode(scratch, &[&file]).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// `objects` are a plain `helm template` of the app plus exactly the stamps
/// that `secret-rollout render` writes for the release namespace.
fn assert_means_the_chart_plus_stamps(app: &Path, scratch: &Path, helm: &str, objects: &[Value]) {
    let plain = Command::new(common::tool(helm))
        .args([
            "template",
            "the0",
            ".",
            "--namespace",
            "the0-prod",
            "--kube-version",
            "1.35",
        ])
        .args([
            "--api-versions",
            "v1,apps/v1,batch/v1,example.com/v1",
            "--values",
            "values-good.yaml",
        ])
        .current_dir(app)
        .env("HELM_CACHE_HOME", scratch.join("helm/cache"))
        .env("HELM_CONFIG_HOME", scratch.join("helm/config"))
        .env("HELM_DATA_HOME", scratch.join("helm/data"))
        .output()
        .unwrap();
    assert!(plain.status.success(), "{}", common::stderr(&plain));
    let plain = common::stdout(&plain);
    let plain_objects = decode(scratch, "plain.yaml", &plain);
    let stripped: Vec<Value> = objects.iter().cloned().map(oracle::without_ours).collect();
    assert_eq!(
        stripped, plain_objects,
        "{helm}: generate changed what the chart means"
    );
    let rendered = common::run(&["render", "--namespace", "the0-prod"], &plain);
    assert!(rendered.status.success());
    let expected = common::stamps(&decode(
        scratch,
        "rendered.yaml",
        &common::stdout(&rendered),
    ));
    assert!(expected.contains_key("Deployment/the0-api"));
    assert_eq!(common::stamps(objects), expected, "{helm}");
}

#[test]
fn generate_renders_the_chart_with_argo_cds_environment_and_stamps_it() {
    for helm in ["helm", "helm3"] {
        let (app, scratch) = app(&format!("good-{helm}"));
        let out = generate(
            &app,
            &scratch,
            helm,
            &[("ARGOCD_ENV_HELM_VALUES", "values-good.yaml")],
        )
        .unwrap_or_else(|e| panic!("{helm}: {e}"));
        let objects = decode(&scratch, "generated.yaml", &out);

        let probe = objects
            .iter()
            .find(|o| oracle::object_id(o) == "ConfigMap/argocd-probe")
            .unwrap();
        let data = &probe["data"];
        assert_eq!(
            (&data["release"], &data["namespace"], &data["hasExampleApi"]),
            (
                &serde_json::json!("the0"),
                &serde_json::json!("the0-prod"),
                &serde_json::json!("true")
            ),
            "{helm}: helm was not told what Argo CD said"
        );
        assert!(
            data["kubeVersion"].as_str().unwrap().starts_with("v1.35"),
            "{helm}: {data}"
        );

        assert_means_the_chart_plus_stamps(&app, &scratch, helm, &objects);
    }
}

#[test]
fn a_refused_render_fails_the_generation_with_the_reason() {
    let (app, scratch) = app("bad");
    let err = generate(
        &app,
        &scratch,
        "helm",
        &[("ARGOCD_ENV_HELM_VALUES", "values-bad-plain-env.yaml")],
    )
    .expect_err("a policy error must fail the sync");
    assert!(
        err.contains("exit status: 1")
            && err.contains(
                "error[admin-password-not-from-secret]: THE0_ADMIN_PASSWORD in Deployment/the0-api"
            ),
        "{err}"
    );
    assert!(
        !err.contains(BAD_PASSWORD),
        "the password reaches Argo CD's UI"
    );
}

#[test]
fn a_failed_helm_fails_the_generation_instead_of_an_empty_render() {
    let (app, scratch) = app("helm-fails");
    // A values file the plugin accepts (a file inside) but helm cannot read.
    common::write_temp(&app, "values-broken.yaml", "a: [\n");
    let err = generate(
        &app,
        &scratch,
        "helm",
        &[("ARGOCD_ENV_HELM_VALUES", "values-broken.yaml")],
    )
    .expect_err("helm's failure must fail the sync");
    assert!(err.contains("values-broken.yaml"), "{err}");
    assert!(
        !err.contains(": secret-rollout plugin: "),
        "helm's own error: {err}"
    );
}

#[test]
fn application_env_reaches_only_what_the_plugin_allows() {
    let (app, scratch) = app("env");
    common::write_temp(
        &app,
        "secret-rollout-policy.yaml",
        "apiVersion: secret-rollout/v1\nkind: Policy\nrules:\n  unresolved-reference: error\n",
    );
    // A policy file from the repository.
    let err = generate(
        &app,
        &scratch,
        "helm",
        &[
            ("ARGOCD_ENV_HELM_VALUES", "values-good.yaml"),
            (
                "ARGOCD_ENV_SECRET_ROLLOUT_POLICY",
                "secret-rollout-policy.yaml",
            ),
        ],
    )
    .expect_err("the policy makes the unresolved admin Secret an error");
    assert!(
        err.contains(
            "error[unresolved-reference]: Deployment/the0-api uses Secret the0-root-admin"
        ),
        "{err}"
    );

    // The release name.
    let out = generate(
        &app,
        &scratch,
        "helm",
        &[
            ("ARGOCD_ENV_HELM_VALUES", "values-good.yaml"),
            ("ARGOCD_ENV_HELM_RELEASE_NAME", "prod"),
        ],
    )
    .unwrap();
    assert!(
        out.contains("name: prod-the0-api\n"),
        "the release name did not reach helm"
    );

    // Paths outside the application directory are refused.
    for (var, value) in [
        (
            "ARGOCD_ENV_HELM_VALUES",
            "values-good.yaml ../../../etc/passwd",
        ),
        ("ARGOCD_ENV_SECRET_ROLLOUT_POLICY", "/etc/passwd"),
    ] {
        let err = generate(&app, &scratch, "helm", &[(var, value)]).expect_err(value);
        assert!(
            err.contains("must name a file inside the application directory"),
            "{err}"
        );
    }

    // Other secret-rollout settings are the sidecar's, not the Application's.
    let report = scratch.join("report.txt");
    generate(
        &app,
        &scratch,
        "helm",
        &[
            ("ARGOCD_ENV_HELM_VALUES", "values-good.yaml"),
            ("ARGOCD_ENV_SECRET_ROLLOUT_REPORT", report.to_str().unwrap()),
        ],
    )
    .unwrap();
    assert!(
        !report.exists(),
        "an Application chose where the sidecar writes"
    );
}

#[test]
fn the_sidecar_patch_adds_the_plugin_container_to_the_repo_server() {
    let dir = common::temp_dir("argocd/patch");
    // The part of Argo CD's argocd-repo-server Deployment the patch meets.
    common::write_temp(
        &dir,
        "repo-server.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: argocd-repo-server\nspec:\n  selector:\n    \
         matchLabels: {app.kubernetes.io/name: argocd-repo-server}\n  template:\n    metadata:\n      labels: \
         {app.kubernetes.io/name: argocd-repo-server}\n    spec:\n      containers:\n      - name: argocd-repo-server\n        \
         image: quay.io/argoproj/argocd:latest\n      volumes:\n      - name: var-files\n        emptyDir: {}\n      \
         - name: plugins\n        emptyDir: {}\n",
    );
    // The README's `kubectl -n argocd patch deployment argocd-repo-server
    // --patch-file …`, on a local copy instead of a cluster.
    let out = oracle::kubectl(&dir)
        .args(["patch", "--local", "-o", "json", "-f"])
        .arg(dir.join("repo-server.yaml"))
        .arg("--patch-file")
        .arg(common::root().join("deploy/argocd/repo-server-patch.yaml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let objects = decode(&dir, "out.yaml", &common::stdout(&out));
    let spec = &objects[0]["spec"]["template"]["spec"];
    let containers = spec["containers"].as_array().unwrap();
    let mut names: Vec<&str> = containers
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["argocd-repo-server", "secret-rollout"]);
    let sidecar = containers
        .iter()
        .find(|c| c["name"] == "secret-rollout")
        .unwrap();
    assert_eq!(sidecar["command"][0], "/var/run/argocd/argocd-cmp-server");
    assert_eq!(sidecar["securityContext"]["runAsUser"], 999);
    let volumes: Vec<&str> = spec["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    for mount in sidecar["volumeMounts"].as_array().unwrap() {
        assert!(
            volumes.contains(&mount["name"].as_str().unwrap()),
            "{mount} has no volume"
        );
    }
}

/// The sidecar image of `deploy/argocd/Dockerfile` runs the plugin in a real
/// container: plugin.yaml read from where cmp-server reads it, the generate
/// command run as user 999 in the application directory with Argo CD's
/// environment. Argo CD's own image cannot be pulled here, so the base is a
/// stand-in with what the plugin needs of it: a POSIX sh (busybox) and helm.
#[test]
fn sidecar_image_runs_the_plugin_in_a_container() {
    let mut dockerd = Dockerd::start("argocd");
    dockerd.build_image(&format!("secret-rollout:{}", env!("CARGO_PKG_VERSION")));

    let base = common::temp_dir("argocd/standin");
    let busybox = Path::new("/bin/busybox");
    assert!(
        busybox.exists(),
        "busybox-static is missing: run scripts/install-test-tools"
    );
    std::fs::copy(busybox, base.join("busybox")).unwrap();
    std::fs::copy(common::tool("helm"), base.join("helm")).unwrap();
    common::write_temp(
        &base,
        "passwd",
        "root:x:0:0::/root:/bin/sh\nargocd:x:999:999::/home/argocd:/bin/sh\n",
    );
    common::write_temp(
        &base,
        "Dockerfile",
        "FROM scratch\nCOPY busybox /bin/busybox\nCOPY helm /usr/local/bin/helm\nCOPY passwd /etc/passwd\n\
         RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n\
         RUN mkdir -p /home/argocd /tmp && chown 999:999 /home/argocd && chmod 1777 /tmp\n\
         ENV HOME=/home/argocd PATH=/usr/local/bin:/usr/bin:/bin\nUSER 999\n",
    );
    let build = |args: &[&str], dir: &Path| {
        let out = dockerd.docker_in(
            dir,
            &[&["build", "--quiet", "--network", "none"], args].concat(),
        );
        assert!(
            out.status.success(),
            "docker build {args:?}: {}",
            common::stderr(&out)
        );
    };
    build(&["-t", "argocd-standin:test", "."], &base);
    // The README's command, with the stand-in as Argo CD's image.
    build(
        &[
            "-f",
            "deploy/argocd/Dockerfile",
            "-t",
            "argocd-secret-rollout:test",
            "--build-arg",
            "ARGOCD_IMAGE=argocd-standin:test",
            ".",
        ],
        &common::root(),
    );
    let image = "argocd-secret-rollout:test";
    let cat = dockerd.docker(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--entrypoint",
        "cat",
        image,
        "/home/argocd/cmp-server/config/plugin.yaml",
    ]);
    let plugin = common::stdout(&cat);
    assert_eq!(
        plugin,
        std::fs::read_to_string(common::root().join("deploy/argocd/plugin.yaml")).unwrap()
    );
    let command = generate_command_of(&plugin);

    let (app, scratch) = app("sidecar");
    let repo = app.parent().unwrap().parent().unwrap();
    let run = |values: &str| -> Output {
        let mut args: Vec<String> = ["run", "--rm", "--network", "none", "--user", "999"]
            .map(String::from)
            .to_vec();
        args.push("-v".into());
        args.push(format!("{}:/tmp/_cmp_server/repo:ro", repo.display()));
        args.extend(["-w".into(), "/tmp/_cmp_server/repo/charts/the0".into()]);
        for (k, v) in ARGOCD_ENV
            .iter()
            .chain(&[("ARGOCD_ENV_HELM_VALUES", values)])
        {
            args.extend(["-e".into(), format!("{k}={v}")]);
        }
        args.extend(["--entrypoint".into(), command[0].clone(), image.into()]);
        args.extend(command[1..].iter().cloned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        dockerd.docker(&args)
    };
    let good = run("values-good.yaml");
    assert!(
        good.status.success(),
        "generate in the sidecar: {}",
        common::stderr(&good)
    );
    let objects = decode(&scratch, "sidecar.yaml", &common::stdout(&good));
    assert_means_the_chart_plus_stamps(&app, &scratch, "helm", &objects);

    let bad = run("values-bad-plain-env.yaml");
    assert_eq!(bad.status.code(), Some(1));
    let stderr = common::stderr(&bad);
    assert!(
        stderr.contains("error[admin-password-not-from-secret]"),
        "{stderr}"
    );
    assert!(!stderr.contains(BAD_PASSWORD));
    assert!(common::stdout(&bad).is_empty());
    dockerd.stop();
    assert_eq!(
        dockerd.mounts(),
        Vec::<PathBuf>::new(),
        "the daemon's mounts are undone"
    );
}

/// The README's Application, as Argo CD would hand it to the plugin.
#[test]
fn the_readme_application_renders() {
    let readme = common::user_docs();
    let start = readme
        .find("```yaml\napiVersion: argoproj.io/v1alpha1\nkind: Application\n")
        .expect("README has an Application");
    let block = &readme[start + "```yaml\n".len()..];
    let block = &block[..block.find("```").unwrap()];
    let application: serde_yaml::Value = serde_yaml::from_str(block).unwrap();
    let source = &application["spec"]["source"];
    assert_eq!(source["plugin"]["name"].as_str(), Some("secret-rollout"));
    assert_eq!(source["path"].as_str(), Some("charts/the0"));
    let name = application["metadata"]["name"].as_str().unwrap();
    let namespace = application["spec"]["destination"]["namespace"]
        .as_str()
        .unwrap();
    let mut env: Vec<(String, String)> = vec![
        ("ARGOCD_APP_NAME".into(), name.into()),
        ("ARGOCD_APP_NAMESPACE".into(), namespace.into()),
    ];
    for e in source["plugin"]["env"].as_sequence().unwrap() {
        env.push((
            format!("ARGOCD_ENV_{}", e["name"].as_str().unwrap()),
            e["value"].as_str().unwrap().into(),
        ));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (app, scratch) = app("readme");
    let out = generate(&app, &scratch, "helm", &env).unwrap_or_else(|e| panic!("{e}"));
    let objects = decode(&scratch, "readme.yaml", &out);
    let probe = objects
        .iter()
        .find(|o| oracle::object_id(o) == "ConfigMap/argocd-probe")
        .unwrap();
    assert_eq!(probe["data"]["namespace"], namespace);
    assert!(!common::stamps(&objects).is_empty());
}

/// The README's Argo CD recipe with the bad values and a policy file from
/// the repository that only says where Secrets are: the policy extends the
/// built-in profile, so the sync is refused; its paths stay inside the
/// application directory; and a chart that renders a ResourceList cannot
/// configure the tool through the pipe.
#[test]
fn a_policy_that_only_adds_secrets_from_keeps_the_guard() {
    let (app, scratch) = app("policy-secrets-from");
    common::copy_dir(
        &common::root().join("testdata/gitops/clusters/prod"),
        &app.join("secrets"),
    );
    let policy = |text: &str| {
        common::write_temp(&app, "secret-rollout-policy.yaml", text);
    };
    // The namespace the sealed admin password is for.
    let env = |values: &'static str| {
        [
            ("ARGOCD_APP_NAMESPACE", "the0"),
            ("ARGOCD_ENV_HELM_VALUES", values),
            (
                "ARGOCD_ENV_SECRET_ROLLOUT_POLICY",
                "secret-rollout-policy.yaml",
            ),
        ]
    };
    policy("apiVersion: secret-rollout/v1\nkind: Policy\nsecretsFrom: [secrets]\n");
    let out = generate(&app, &scratch, "helm", &env("values-good.yaml")).unwrap();
    assert!(out.contains("secret-rollout/secret.the0-root-admin: "));
    let err = generate(&app, &scratch, "helm", &env("values-bad-plain-env.yaml"))
        .expect_err("the bad values must fail the sync");
    assert!(
        err.contains("exit status: 1") && err.contains("error[admin-password-not-from-secret]"),
        "{err}"
    );
    assert!(!err.contains(BAD_PASSWORD));

    // Past the plugin's own check of the policy path: the policy's paths.
    policy("apiVersion: secret-rollout/v1\nkind: Policy\nsecretsFrom: [../../../../other]\n");
    let err = generate(&app, &scratch, "helm", &env("values-good.yaml"))
        .expect_err("a policy path out of the application directory");
    assert!(
        err.contains("exit status: 2")
            && err.contains("secretsFrom: `../../../../other` goes up with `..`"),
        "{err}"
    );

    // A template that renders a ResourceList whose functionConfig would
    // switch the guard off.
    std::fs::remove_file(app.join("secret-rollout-policy.yaml")).unwrap();
    common::write_temp(
        &app.join("templates"),
        "zz-list.yaml",
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig:\n  apiVersion: secret-rollout/v1\n  kind: SecretRollout\n  metadata: {name: x}\n  extends: none\n",
    );
    let err = generate(
        &app,
        &scratch,
        "helm",
        &[("ARGOCD_ENV_HELM_VALUES", "values-bad-plain-env.yaml")],
    )
    .expect_err("the stream is no configuration");
    assert!(
        err.contains("exit status: 2") && err.contains("ResourceList, a KRM function's input"),
        "{err}"
    );
}

/// What an Application sets is data: a hostile value runs nothing, fails the
/// generation with exit 2 and one clear line, and helm never starts.
#[test]
fn hostile_application_values_run_nothing() {
    let (app, scratch) = app("hostile");
    let pwned = scratch.join("pwned");
    // Were anything run as a post-renderer or shell, it would leave this.
    let payload = format!("touch {}", pwned.display());
    std::os::unix::fs::symlink("/etc/passwd", app.join("values-out.yaml")).unwrap();
    std::os::unix::fs::symlink("/etc", app.join("dir-out")).unwrap();
    let long = "a".repeat(54);
    let cases: Vec<(&str, String, &str)> = vec![
        ("ARGOCD_ENV_HELM_RELEASE_NAME", "--post-renderer=sh".into(), "HELM_RELEASE_NAME must be a DNS-1123 label"),
        ("ARGOCD_ENV_HELM_RELEASE_NAME", "--post-renderer".into(), "HELM_RELEASE_NAME must be a DNS-1123 label"),
        ("ARGOCD_ENV_HELM_RELEASE_NAME", "-f".into(), "HELM_RELEASE_NAME must be a DNS-1123 label"),
        ("ARGOCD_ENV_HELM_RELEASE_NAME", format!("x --post-renderer={payload}"), "HELM_RELEASE_NAME must be a DNS-1123 label"),
        ("ARGOCD_ENV_HELM_RELEASE_NAME", format!("x\n--post-renderer={payload}"), "HELM_RELEASE_NAME must be a DNS-1123 label"),
        ("ARGOCD_ENV_HELM_RELEASE_NAME", format!("$({payload})"), "HELM_RELEASE_NAME must be a DNS-1123 label"),
        ("ARGOCD_ENV_HELM_RELEASE_NAME", "Prod".into(), "HELM_RELEASE_NAME must be a DNS-1123 label"),
        ("ARGOCD_ENV_HELM_RELEASE_NAME", "prod.eu".into(), "HELM_RELEASE_NAME must be a DNS-1123 label"),
        ("ARGOCD_ENV_HELM_RELEASE_NAME", "prod-".into(), "HELM_RELEASE_NAME must be a DNS-1123 label"),
        ("ARGOCD_ENV_HELM_RELEASE_NAME", long, "HELM_RELEASE_NAME must be at most 53 characters"),
        ("ARGOCD_ENV_HELM_VALUES", "--post-renderer=sh".into(), "HELM_VALUES must name a file inside the application directory"),
        ("ARGOCD_ENV_HELM_VALUES", format!("values-good.yaml --post-renderer={payload}"), "HELM_VALUES must name a file inside the application directory"),
        ("ARGOCD_ENV_HELM_VALUES", "values-out.yaml".into(), "HELM_VALUES must name a file inside the application directory (a symlink leads out of it)"),
        ("ARGOCD_ENV_HELM_VALUES", "dir-out/passwd".into(), "HELM_VALUES must name a file inside the application directory (a symlink leads out of it)"),
        ("ARGOCD_ENV_HELM_VALUES", "templates".into(), "HELM_VALUES names no regular file"),
        ("ARGOCD_ENV_HELM_VALUES", "values-missing.yaml".into(), "HELM_VALUES names no regular file"),
        ("ARGOCD_ENV_HELM_VALUES", "templates/../../../../etc/passwd".into(), "HELM_VALUES must name a file inside the application directory"),
        ("ARGOCD_ENV_SECRET_ROLLOUT_POLICY", "values-out.yaml".into(), "SECRET_ROLLOUT_POLICY must name a file inside the application directory (a symlink leads out of it)"),
        ("ARGOCD_ENV_SECRET_ROLLOUT_POLICY", "--help".into(), "SECRET_ROLLOUT_POLICY must name a file inside the application directory"),
    ];
    for helm in ["helm", "helm3"] {
        for (var, value, message) in &cases {
            let err = generate(&app, &scratch, helm, &[(var, value.as_str())])
                .expect_err(&format!("{var}={value:?} must fail"));
            assert!(err.contains("exit status: 2"), "{var}={value:?}: {err}");
            let said = err.split(": secret-rollout plugin: ").nth(1).unwrap_or("");
            assert!(said.starts_with(message), "{var}={value:?}: {err}");
            assert!(!said.contains('\n'), "one line: {err}");
            assert!(
                !err.contains("Error:"),
                "helm ran for {var}={value:?}: {err}"
            );
            assert!(!pwned.exists(), "{var}={value:?} ran the payload");
        }
    }
    // A good release name still reaches helm after `--`, under both (without
    // the links out, which helm would follow when it loads the chart).
    std::fs::remove_file(app.join("values-out.yaml")).unwrap();
    std::fs::remove_file(app.join("dir-out")).unwrap();
    for helm in ["helm", "helm3"] {
        let out = generate(
            &app,
            &scratch,
            helm,
            &[
                ("ARGOCD_ENV_HELM_VALUES", "values-good.yaml"),
                ("ARGOCD_ENV_HELM_RELEASE_NAME", "prod-eu-1"),
            ],
        )
        .unwrap_or_else(|e| panic!("{helm}: {e}"));
        assert!(out.contains("name: prod-eu-1-the0-api\n"), "{helm}");
    }
}
