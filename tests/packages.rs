//! What users install: the Helm 4 plugin package (`scripts/package-helm-plugin`,
//! installed with the real helm v4.3.1 into a clean Helm home and used with no
//! cargo on PATH), signed and unsigned, and `cargo install --path .`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const GOOD: &str = "testdata/charts/values/good.yaml";
const BAD: &str = "testdata/charts/values/bad-plain-env.yaml";

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

fn assert_ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    common::stdout(out)
}

/// `scripts/package-helm-plugin ARGS -d DIR`; returns the package's path.
fn package(dir: &Path, args: &[&str]) -> PathBuf {
    let out = Command::new(common::root().join("scripts/package-helm-plugin"))
        .args(args)
        .arg("-d")
        .arg(dir)
        .env("HELM", common::tool("helm"))
        .env_remove("CARGO_TARGET_DIR")
        .current_dir(common::root())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let tgz = PathBuf::from(assert_ok(&out, "scripts/package-helm-plugin").trim());
    assert_eq!(tgz, dir.join(format!("secret-rollout-{}.tgz", version())));
    tgz
}

/// A clean Helm 4 home, and a PATH that has helm and the system tools but no
/// cargo and no secret-rollout: what a user's machine without Rust has.
struct Machine {
    dir: PathBuf,
    path: String,
}

impl Machine {
    fn new(name: &str) -> Machine {
        let dir = common::temp_dir(&format!("packages/{name}"));
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::os::unix::fs::symlink(common::tool("helm"), dir.join("bin/helm")).unwrap();
        let path = format!("{}:/usr/bin:/bin", dir.join("bin").display());
        let which = |tool: &str| {
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .env("PATH", &path)
                .output()
                .unwrap()
                .status
                .success()
        };
        assert!(!which("cargo") && !which("secret-rollout") && which("helm"));
        Machine { dir, path }
    }

    fn helm(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("helm");
        cmd.args(args)
            .current_dir(common::root())
            .env("PATH", &self.path)
            .env("HOME", &self.dir)
            .env("HELM_DATA_HOME", self.dir.join("data"))
            .env("HELM_CONFIG_HOME", self.dir.join("config"))
            .env("HELM_CACHE_HOME", self.dir.join("cache"))
            .stdin(Stdio::null());
        for var in ["HELM_PLUGINS", "HELM_NAMESPACE", "HELM_DEBUG", "GNUPGHOME"] {
            cmd.env_remove(var);
        }
        for var in std::env::vars().map(|(k, _)| k) {
            if var.starts_with("SECRET_ROLLOUT_") {
                cmd.env_remove(var);
            }
        }
        cmd.output().expect("running helm")
    }

    fn template(&self, values: &str) -> Output {
        self.helm(&[
            "template",
            "the0",
            "testdata/charts/the0",
            "-f",
            values,
            "--post-renderer",
            "secret-rollout",
        ])
    }
}

/// The stamps `secret-rollout render` writes on the same release.
fn expected_stamps(
    machine: &Machine,
) -> std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>> {
    let plain = assert_ok(
        &machine.helm(&["template", "the0", "testdata/charts/the0", "-f", GOOD]),
        "helm template",
    );
    let rendered = assert_ok(&common::run(&["render"], &plain), "render");
    decode_stamps(machine, &rendered)
}

fn decode_stamps(
    machine: &Machine,
    stream: &str,
) -> std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>> {
    let file = common::write_temp(&machine.dir, "stream.yaml", stream);
    let objects = common::oracle::decode(&machine.dir, &[&file]).unwrap();
    common::stamps(&objects)
}

#[test]
fn helm_plugin_package_installs_from_a_tgz_and_renders_without_cargo() {
    let dist = common::temp_dir("packages/dist");
    let tgz = package(&dist, &[]);
    let listing = Command::new("tar").arg("tvzf").arg(&tgz).output().unwrap();
    let mut files: Vec<String> = assert_ok(&listing, "tar tvzf")
        .lines()
        .filter(|l| l.starts_with('-'))
        .filter_map(|l| l.split_whitespace().last().map(str::to_string))
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "secret-rollout/bin/secret-rollout",
            "secret-rollout/bin/secret-rollout-plugin",
            "secret-rollout/plugin.yaml"
        ]
    );

    let machine = Machine::new("unsigned");
    let tgz = tgz.to_str().unwrap();
    // Helm 4 verifies a package by default, and an unsigned one has no .prov.
    let refused = machine.helm(&["plugin", "install", tgz]);
    assert!(!refused.status.success());
    assert!(
        common::stderr(&refused).contains("no provenance file"),
        "{}",
        common::stderr(&refused)
    );
    assert_ok(
        &machine.helm(&["plugin", "install", tgz, "--verify=false"]),
        "helm plugin install --verify=false",
    );
    let list = assert_ok(&machine.helm(&["plugin", "list"]), "helm plugin list");
    assert!(
        list.lines().any(|l| l.starts_with("secret-rollout")
            && l.contains(version())
            && l.contains("postrenderer/v1")
            && l.split_whitespace().any(|w| w == "unsigned")),
        "{list}"
    );

    let rendered = assert_ok(&machine.template(GOOD), "helm template through the package");
    let got = decode_stamps(&machine, &rendered);
    assert!(got.contains_key("Deployment/the0-api"), "{got:#?}");
    assert_eq!(got, expected_stamps(&machine));

    let bad = machine.template(BAD);
    assert!(!bad.status.success());
    assert!(common::stdout(&bad).is_empty());
}

#[test]
fn signed_helm_plugin_package_is_verified_on_install() {
    let dir = common::temp_dir("packages/signing");
    let gnupg = dir.join("gnupg");
    std::fs::create_dir_all(&gnupg).unwrap();
    let gpg = |args: &[&str]| -> Output {
        Command::new("gpg")
            .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(args)
            .env("GNUPGHOME", &gnupg)
            .stdin(Stdio::null())
            .output()
            .expect("gpg is missing: run scripts/install-test-tools")
    };
    assert_ok(
        &gpg(&[
            "--quick-gen-key",
            "secret-rollout test <test@example.invalid>",
            "ed25519",
            "sign",
            "never",
        ]),
        "gpg --quick-gen-key",
    );
    // Helm reads the classic keyring files.
    let secring = dir.join("secring.gpg");
    let pubring = dir.join("pubring.gpg");
    let export = |arg: &str, to: &Path| {
        let out = gpg(&[arg]);
        assert!(out.status.success(), "gpg {arg}: {}", common::stderr(&out));
        std::fs::write(to, &out.stdout).unwrap();
    };
    export("--export-secret-keys", &secring);
    export("--export", &pubring);

    let tgz = package(
        &dir.join("dist"),
        &[
            "--key",
            "secret-rollout test",
            "--keyring",
            secring.to_str().unwrap(),
        ],
    );
    assert!(PathBuf::from(format!("{}.prov", tgz.display())).is_file());
    let machine = Machine::new("signed");
    let out = machine.helm(&[
        "plugin",
        "install",
        tgz.to_str().unwrap(),
        "--keyring",
        pubring.to_str().unwrap(),
    ]);
    let stdout = assert_ok(&out, "helm plugin install (verified)");
    assert!(
        stdout.contains("Signed by: secret-rollout test"),
        "{stdout}"
    );
    let list = assert_ok(&machine.helm(&["plugin", "list"]), "helm plugin list");
    assert!(
        list.lines()
            .any(|l| l.starts_with("secret-rollout") && l.split_whitespace().any(|w| w == "signed")),
        "{list}"
    );
    assert_ok(
        &machine.template(GOOD),
        "helm template through the signed package",
    );
}

/// `cargo install --path .` still installs a working binary. The test uses
/// the dev profile and the test build's target directory, so that it costs
/// no second compile; the command is otherwise the README's.
#[test]
fn cargo_install_path_installs_the_binary() {
    let dir = common::temp_dir("packages/cargo-install");
    let out = Command::new(env!("CARGO"))
        .args(["install", "--path", ".", "--locked", "--debug", "--root"])
        .arg(&dir)
        .arg("--target-dir")
        .arg(common::root().join("target"))
        .current_dir(common::root())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_ok(&out, "cargo install --path .");
    let bin = dir.join("bin/secret-rollout");
    let version = assert_ok(
        &Command::new(&bin).arg("--version").output().unwrap(),
        "--version",
    );
    assert_eq!(
        version.trim(),
        format!("secret-rollout {}", self::version())
    );
    let out = common::run_cmd(
        &mut Command::new(&bin),
        &common::fixture("helm4/the0-good.yaml"),
    );
    assert!(assert_ok(&out, "installed render")
        .contains("secret-rollout/secret.the0-secrets: \"sha256:"));
}
