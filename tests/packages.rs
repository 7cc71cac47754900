//! What users install, installed the way the README says, with real tools:
//! `scripts/release` (the binary archive with SHA256SUMS, the signed Helm 4
//! plugin package, the container image) checked and installed as a user
//! would (helm v4.3.1 verifying the package, `docker load` and `docker run`
//! in a dockerd of the test's own, the archive's binary on the bundled data
//! and under helm v3.17.2); the README's two Helm 4 install routes in a row;
//! an unsigned package; `cargo install --path .`. Every install goes into a
//! clean home whose PATH has no cargo and no secret-rollout. The static
//! binary is built once (`scripts/build-static`); later calls are cargo no-ops.

mod common;

use common::assert_ok;

use common::docker::Dockerd;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const GOOD: &str = "testdata/charts/values/good.yaml";
const BAD: &str = "testdata/charts/values/bad-plain-env.yaml";

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
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

/// A throwaway signing key in a GNUPGHOME of the test's own, exported the way
/// the README says (Helm reads classic keyring files). The gpg-agent that gpg
/// starts for it is stopped when this is dropped, also when the test fails.
struct SigningKey {
    gnupg: PathBuf,
    secring: PathBuf,
    pubring: PathBuf,
}

impl SigningKey {
    const NAME: &'static str = "secret-rollout test";

    fn new(dir: &Path) -> SigningKey {
        let gnupg = dir.join("gnupg");
        std::fs::create_dir_all(&gnupg).unwrap();
        // gpg warns about a home that others can read.
        std::fs::set_permissions(&gnupg, std::fs::Permissions::from_mode(0o700)).unwrap();
        let key = SigningKey {
            gnupg,
            secring: dir.join("secring.gpg"),
            pubring: dir.join("pubring.gpg"),
        };
        let out = Command::new("gpg")
            .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args([
                "--quick-gen-key",
                "secret-rollout test <test@example.invalid>",
                "ed25519",
                "sign",
                "never",
            ])
            .env("GNUPGHOME", &key.gnupg)
            .stdin(Stdio::null())
            .output()
            .expect("gpg is missing: run scripts/install-test-tools (it apt-get installs gpg)");
        assert_ok(&out, "gpg --quick-gen-key");
        // The README's two export commands, as written there.
        for command in [README_EXPORT_SECRET, README_EXPORT_PUBLIC] {
            assert!(readme().contains(command), "the README shows `{command}`");
            let command = command.replace("\"Your Name\"", &format!("'{}'", Self::NAME));
            let out = Command::new("sh")
                .args(["-euc", &command])
                .current_dir(dir)
                .env("GNUPGHOME", &key.gnupg)
                .stdin(Stdio::null())
                .output()
                .unwrap();
            assert_ok(&out, &command);
        }
        for ring in [&key.secring, &key.pubring] {
            assert!(
                std::fs::metadata(ring).unwrap().len() > 0,
                "{}",
                ring.display()
            );
        }
        key
    }

    /// `scripts/release`/`scripts/package-helm-plugin` arguments that sign.
    fn args(&self) -> Vec<String> {
        vec![
            "--key".into(),
            Self::NAME.into(),
            "--keyring".into(),
            self.secring.display().to_string(),
        ]
    }
}

impl Drop for SigningKey {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .args(["--kill", "all"])
            .env("GNUPGHOME", &self.gnupg)
            .stdin(Stdio::null())
            .status();
    }
}

const README_EXPORT_SECRET: &str = "gpg --export-secret-keys \"Your Name\" > secring.gpg";
const README_EXPORT_PUBLIC: &str = "gpg --export \"Your Name\" > pubring.gpg";

/// The documentation (README.md and docs/), where the install commands stand.
fn readme() -> String {
    common::user_docs()
}

/// The README's code block that starts with `first_line`, without its fences.
fn readme_block(first_line: &str) -> String {
    let readme = readme();
    let start = readme
        .find(&format!("```sh\n{first_line}\n"))
        .unwrap_or_else(|| panic!("the README has no ```sh block starting `{first_line}`"))
        + "```sh\n".len();
    let len = readme[start..].find("```").unwrap();
    readme[start..start + len].to_string()
}

/// `sh -eu` running a README block on `machine`, in `dir`, with `extra` env.
fn sh(machine: &Machine, dir: &Path, block: &str, extra: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new("sh");
    cmd.args(["-euc", block])
        .current_dir(dir)
        // What a `cd DIR` in a shell sets; Go (helm) reads it for `.`.
        .env("PWD", dir)
        .env("PATH", &machine.path)
        .env("HOME", &machine.dir)
        .env("HELM_DATA_HOME", machine.dir.join("data"))
        .env("HELM_CONFIG_HOME", machine.dir.join("config"))
        .env("HELM_CACHE_HOME", machine.dir.join("cache"))
        .env("SECRET_ROLLOUT_TERMINAL", "never")
        .stdin(Stdio::null());
    for var in ["HELM_PLUGINS", "HELM_NAMESPACE", "HELM_DEBUG", "GNUPGHOME"] {
        cmd.env_remove(var);
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.output().expect("running sh")
}

/// The plugins `helm plugin list` shows: (name, provenance column).
fn plugins(machine: &Machine) -> Vec<(String, String)> {
    let list = assert_ok(&machine.helm(&["plugin", "list"]), "helm plugin list");
    list.lines()
        .skip(1)
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').map(str::trim).collect();
            (cols[0].to_string(), cols.get(4).unwrap_or(&"").to_string())
        })
        .collect()
}

fn target() -> &'static str {
    "x86_64-unknown-linux-gnu"
}

fn archive_name() -> String {
    format!("secret-rollout-{}-{}.tar.gz", version(), target())
}

/// `scripts/release` into a fresh `dist`, signed with a throwaway key, the
/// image built in the test's own dockerd: then each artifact installed and
/// run the way the README tells a user to.
#[test]
fn release_artifacts_install_and_run_as_the_readme_says() {
    let dir = common::temp_dir("packages/release");
    let key = SigningKey::new(&dir);
    let mut dockerd = Dockerd::start("packages");
    let dist = dir.join("dist");

    let mut release = Command::new(common::root().join("scripts/release"));
    dockerd.env(&mut release);
    let out = release
        .args(key.args())
        .arg("-d")
        .arg(&dist)
        .env("HELM", common::tool("helm"))
        .env_remove("CARGO_TARGET_DIR")
        .current_dir(common::root())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let printed = assert_ok(&out, "scripts/release");
    let v = version();
    let plugin = format!("secret-rollout-{v}.tgz");
    let image_file = format!("secret-rollout-{v}-image.tar.gz");
    let files = [
        archive_name(),
        plugin.clone(),
        format!("{plugin}.prov"),
        image_file.clone(),
    ];
    let mut expected: Vec<String> = files
        .iter()
        .chain(["SHA256SUMS".to_string()].iter())
        .map(|f| dist.join(f).display().to_string())
        .collect();
    assert_eq!(printed.lines().collect::<Vec<_>>(), expected);
    let mut in_dist: Vec<String> = std::fs::read_dir(&dist)
        .unwrap()
        .map(|e| dist.join(e.unwrap().file_name()).display().to_string())
        .collect();
    in_dist.sort();
    expected.sort();
    assert_eq!(
        in_dist, expected,
        "dist holds the artifacts and nothing else"
    );

    // SHA256SUMS names every artifact, and every sum holds.
    let sums = std::fs::read_to_string(dist.join("SHA256SUMS")).unwrap();
    let named: Vec<&str> = sums
        .lines()
        .map(|l| l.split_once("  ").unwrap().1)
        .collect();
    assert_eq!(named, files.iter().map(String::as_str).collect::<Vec<_>>());
    let check = Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&dist)
        .output()
        .unwrap();
    assert_eq!(
        assert_ok(&check, "sha256sum -c").lines().count(),
        files.len()
    );

    // The image's size, as the script measured it, and as the README states it.
    let stderr = common::stderr(&out);
    let measured = dockerd.docker(&[
        "image",
        "inspect",
        "--format",
        "{{.Size}}",
        &format!("secret-rollout:{v}"),
    ]);
    let bytes: u64 = assert_ok(&measured, "docker image inspect")
        .trim()
        .parse()
        .unwrap();
    assert!(
        stderr.contains(&format!("image secret-rollout:{v}: {bytes} bytes")),
        "scripts/release prints the measured size:\n{stderr}"
    );
    let mb = bytes as f64 / 1e6;
    let stated = readme_figure_mb("measures it at ");
    assert!(
        (stated - mb).abs() <= mb * 0.1,
        "the README says the image is {stated} MB; `docker image inspect` measures {mb:.1} MB"
    );
    let saved = std::fs::metadata(dist.join(&image_file)).unwrap().len() as f64 / 1e6;
    let stated = readme_figure_mb(&format!(
        "measures it at {} MB\n(",
        readme_figure_mb("measures it at ")
    ));
    assert!(
        (stated - saved).abs() <= saved * 0.1,
        "the README says the saved image is {stated} MB; it is {saved:.1} MB"
    );

    archive_installs_and_runs(&dist);
    plugin_package_installs_verified(&dist, &key);
    image_loads_and_runs_as_krm_function(&dist, &mut dockerd, &image_file);
    binstall_metadata_names_the_archive(&dist);

    let stopped = dockerd.stop();
    assert!(stopped.success(), "dockerd: {stopped}");
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    let ours = dockerd.dir.display().to_string();
    assert!(
        !mounts.lines().any(|l| l.contains(&ours)),
        "dockerd left a mount under {ours}"
    );
}

/// The figure after `before` in the README, in MB.
fn readme_figure_mb(before: &str) -> f64 {
    let readme = readme();
    let at = readme
        .find(before)
        .unwrap_or_else(|| panic!("the README has no {before:?} and a size after it"))
        + before.len();
    let figure = &readme[at..at + readme[at..].find(" MB").unwrap()];
    figure.parse().unwrap_or_else(|e| panic!("{figure:?}: {e}"))
}

/// The binary archive: the README's download check, unpack and install, then
/// the installed binary on the bundled data and as Helm 3's post-renderer.
fn archive_installs_and_runs(dist: &Path) {
    let machine = Machine::new("archive");
    let downloads = machine.dir.join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    // A user downloads the archive and the sums, not every artifact.
    for f in [archive_name(), "SHA256SUMS".to_string()] {
        std::fs::copy(dist.join(&f), downloads.join(&f)).unwrap();
    }
    // ~/.local/bin on PATH, as the README assumes (Debian's ~/.profile adds it).
    let path = format!(
        "{}:{}",
        machine.dir.join(".local/bin").display(),
        machine.path
    );
    let path = [("PATH", path.as_str())];
    let block = readme_block("sha256sum -c SHA256SUMS --ignore-missing");
    let out = sh(&machine, &downloads, &block, &path);
    let printed = assert_ok(&out, "the README's archive install");
    assert!(
        printed.contains(&format!("{}: OK", archive_name())),
        "{printed}"
    );
    assert!(
        printed.contains(&format!("secret-rollout {}", version())),
        "{printed}"
    );

    let dir = format!("secret-rollout-{}-{}", version(), target());
    let mut listing: Vec<String> = std::fs::read_dir(downloads.join(&dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    listing.sort();
    assert_eq!(listing, ["README.md", "secret-rollout"]);

    // Stripped and static: what the dist profile and crt-static promise.
    let bin = machine.dir.join(".local/bin/secret-rollout");
    let sections = Command::new("readelf")
        .args(["-S", "-W"])
        .arg(&bin)
        .output()
        .expect("readelf (binutils) is missing");
    let sections = assert_ok(&sections, "readelf -S");
    assert!(!sections.contains(".symtab"), "not stripped:\n{sections}");
    let ldd = Command::new("ldd").arg(&bin).output().unwrap();
    let ldd = format!("{}{}", common::stdout(&ldd), common::stderr(&ldd));
    assert!(
        ldd.contains("not a dynamic executable") || ldd.contains("statically linked"),
        "{ldd}"
    );

    // The bundled data, from the checkout, with the installed binary: the
    // same bytes as the binary the tests built.
    let args = ["--secrets-from", "testdata/gitops/clusters/prod"];
    let out = sh(
        &machine,
        &common::root(),
        "secret-rollout --secrets-from testdata/gitops/clusters/prod < testdata/helm4/the0-good.yaml",
        &path,
    );
    let got = assert_ok(&out, "the archive's binary on the bundled data");
    assert!(
        got.contains("secret-rollout/secret.the0-root-admin: \"sha256:"),
        "the Secret from --secrets-from is stamped"
    );
    let want = common::run(&args, &common::fixture("helm4/the0-good.yaml"));
    assert_eq!(got, assert_ok(&want, "the test build on the bundled data"));

    // Helm 3 finds it on PATH as its post-renderer.
    let helm3 = common::tool("helm3");
    let helm3 = helm3.to_str().unwrap();
    let plain = sh(
        &machine,
        &common::root(),
        &format!("{helm3} template the0 testdata/charts/the0 -f {GOOD}"),
        &path,
    );
    let rendered = sh(
        &machine,
        &common::root(),
        &format!(
            "{helm3} template the0 testdata/charts/the0 -f {GOOD} --post-renderer secret-rollout"
        ),
        &path,
    );
    let rendered = assert_ok(&rendered, "helm 3 with the archive's binary");
    let want = common::run(&["render"], &assert_ok(&plain, "helm 3 template"));
    let mut want = decode_stamps(&machine, &assert_ok(&want, "render"));
    // Helm 3 sends no hooks to a post-renderer (README "Helm 3").
    assert!(want.remove("Job/the0-db-migrate").is_some());
    assert_eq!(decode_stamps(&machine, &rendered), want);
    assert!(rendered.contains("secret-rollout/secret.the0-secrets"));
}

/// The signed plugin package: the README's install verifies it against the
/// publisher's public keyring; a package that does not match is refused.
fn plugin_package_installs_verified(dist: &Path, key: &SigningKey) {
    let machine = Machine::new("plugin");
    let downloads = machine.dir.join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let plugin = format!("secret-rollout-{}.tgz", version());
    for f in [plugin.clone(), format!("{plugin}.prov")] {
        std::fs::copy(dist.join(&f), downloads.join(&f)).unwrap();
    }
    std::fs::copy(&key.pubring, downloads.join("pubring.gpg")).unwrap();

    let block = readme_block("helm plugin uninstall secret-rollout 2>/dev/null || true");
    assert!(
        block.contains(&format!(
            "helm plugin install {plugin} --keyring pubring.gpg"
        )),
        "{block}"
    );

    // A tampered package is refused by the same command.
    let tampered = machine.dir.join("tampered");
    std::fs::create_dir_all(&tampered).unwrap();
    let mut bytes = std::fs::read(dist.join(&plugin)).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(tampered.join(&plugin), bytes).unwrap();
    for f in [format!("{plugin}.prov"), "pubring.gpg".to_string()] {
        std::fs::copy(downloads.join(&f), tampered.join(&f)).unwrap();
    }
    let refused = sh(&machine, &tampered, &block, &[]);
    assert!(!refused.status.success(), "a tampered package installed");
    assert!(plugins(&machine).is_empty());

    let out = sh(&machine, &downloads, &block, &[]);
    let printed = assert_ok(&out, "the README's plugin install");
    assert!(
        printed.contains("Signed by: secret-rollout test"),
        "{printed}"
    );
    assert_eq!(
        plugins(&machine),
        [("secret-rollout".to_string(), "signed".to_string())]
    );
    let rendered = assert_ok(&machine.template(GOOD), "helm template through the package");
    let got = decode_stamps(&machine, &rendered);
    assert!(got.contains_key("Deployment/the0-api"), "{got:#?}");
    assert_eq!(got, expected_stamps(&machine));
    let bad = machine.template(BAD);
    assert!(!bad.status.success());
    assert!(common::stdout(&bad).is_empty());
}

/// The saved image: `docker load` of the file, then `docker run` as kustomize
/// runs a container function: a ResourceList in, stamped items out.
fn image_loads_and_runs_as_krm_function(dist: &Path, dockerd: &mut Dockerd, image_file: &str) {
    let tag = format!("secret-rollout:{}", version());
    // Only the file may provide the image.
    assert_ok(&dockerd.docker(&["image", "rm", &tag]), "docker image rm");
    let downloads = common::temp_dir("packages/image");
    std::fs::copy(dist.join(image_file), downloads.join(image_file)).unwrap();
    std::fs::create_dir_all(downloads.join("testdata/krm")).unwrap();
    std::fs::copy(
        common::root().join("testdata/krm/the0-good.yaml"),
        downloads.join("testdata/krm/the0-good.yaml"),
    )
    .unwrap();
    let block = readme_block(&format!("docker load -i {image_file}"));
    let mut cmd = Command::new("sh");
    dockerd.env(&mut cmd);
    let out = cmd
        .args(["-euc", &block])
        .current_dir(&downloads)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let printed = assert_ok(&out, "the README's docker load and docker run");
    assert!(
        printed.contains(&format!("Loaded image: {tag}")),
        "{printed}"
    );
    let list = &printed[printed
        .find("apiVersion: config.kubernetes.io/v1")
        .expect(&printed)..];
    let want = common::run(&["krm"], &common::fixture("krm/the0-good.yaml"));
    assert_eq!(list, assert_ok(&want, "krm with the test build"));
    assert!(list.contains("secret-rollout/secret.the0-secrets: \"sha256:"));
    let inspect = dockerd.docker(&[
        "image",
        "inspect",
        "--format",
        "{{.Config.User}} {{json .Config.Entrypoint}}",
        &tag,
    ]);
    assert_eq!(
        assert_ok(&inspect, "docker image inspect").trim(),
        r#"65534:65534 ["/usr/local/bin/secret-rollout","krm"]"#
    );
}

/// `[package.metadata.binstall]` as cargo reads Cargo.toml (`cargo metadata`),
/// its templates filled in the way cargo-binstall fills them for x86_64
/// Linux: `pkg-url` names exactly the archive `scripts/release` made, as an
/// asset of the release tagged v<version> in `repository`, and `bin-dir`
/// exactly the executable inside it. Cargo.toml has no `repository` yet (the
/// project has no public home), and docs/install.md says binstall needs it.
fn binstall_metadata_names_the_archive(dist: &Path) {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .arg("--manifest-path")
        .arg(common::root().join("Cargo.toml"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let metadata: serde_json::Value =
        serde_json::from_str(&assert_ok(&out, "cargo metadata")).unwrap();
    let package = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "secret-rollout")
        .expect("cargo metadata lists the package");
    let (name, version) = (
        package["name"].as_str().unwrap(),
        package["version"].as_str().unwrap(),
    );
    let bins: Vec<&str> = package["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"].as_array().unwrap().iter().any(|k| k == "bin"))
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(bins, ["secret-rollout"]);
    let binstall = &package["metadata"]["binstall"];
    assert_eq!(binstall["pkg-fmt"], "tgz", "{binstall:#}");
    let repository = package["repository"].as_str();
    let fill = |key: &str| {
        let mut text = binstall[key]
            .as_str()
            .unwrap_or_else(|| panic!("no {key} in [package.metadata.binstall]"))
            .to_string();
        for (placeholder, value) in [
            ("{ name }", name),
            ("{ version }", version),
            ("{ target }", target()),
            ("{ bin }", bins[0]),
            ("{ binary-ext }", ""),
            ("{ repo }", repository.unwrap_or("{ repo }")),
        ] {
            text = text.replace(placeholder, value);
        }
        text
    };

    let archive = archive_name();
    assert!(
        dist.join(&archive).is_file(),
        "scripts/release made {archive}"
    );
    let url = fill("pkg-url");
    let repo = repository.unwrap_or("{ repo }");
    assert_eq!(
        url,
        format!("{repo}/releases/download/v{version}/{archive}")
    );
    assert!(
        !url.replacen("{ repo }", "", 1).contains('{'),
        "a placeholder cargo-binstall does not fill: {url}"
    );

    let bin_dir = fill("bin-dir");
    assert_eq!(
        bin_dir,
        format!("{name}-{version}-{}/secret-rollout", target())
    );
    let listing = Command::new("tar")
        .arg("tvzf")
        .arg(dist.join(&archive))
        .output()
        .unwrap();
    let listing = assert_ok(&listing, "tar tvzf");
    let entry = listing
        .lines()
        .find(|l| l.ends_with(&format!(" {bin_dir}")))
        .unwrap_or_else(|| panic!("{bin_dir} not in\n{listing}"));
    assert!(
        entry.starts_with("-rwx"),
        "{bin_dir} is an executable file: {entry}"
    );

    assert_eq!(
        repository, None,
        "Cargo.toml names a repository now: check that pkg-url finds the archive there, \
         and say so in docs/install.md"
    );
    let install = std::fs::read_to_string(common::root().join("docs/install.md")).unwrap();
    let install = install.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        install.contains(
            "**cargo-binstall needs that `repository` URL, and `Cargo.toml` has none yet**"
        ),
        "docs/install.md says plainly that binstall needs the repository URL"
    );
    for shown in [&archive, &bin_dir] {
        assert!(
            install.contains(&format!("`{shown}`")),
            "docs/install.md names {shown}"
        );
    }
}

/// The README's two Helm 4 install routes, in the order a user meets them,
/// with the real helm v4.3.1: the checkout (linked as `plugins/<dir name>`)
/// and the package (unpacked as `plugins/secret-rollout`). Without the
/// uninstall each section starts with, the second install leaves two plugins
/// of one name and every helm plugin command fails; the README's recovery
/// gets out of that state.
#[test]
fn readme_plugin_installs_from_checkout_and_package_cannot_collide() {
    let dir = common::temp_dir("packages/collide-key");
    let key = SigningKey::new(&dir);
    let tgz = package(
        &dir.join("dist"),
        &key.args().iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let machine = Machine::new("collide");
    let downloads = machine.dir.join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    for f in [
        tgz.clone(),
        PathBuf::from(format!("{}.prov", tgz.display())),
        key.pubring.clone(),
    ] {
        std::fs::copy(&f, downloads.join(f.file_name().unwrap())).unwrap();
    }
    // A checkout whose directory is not called secret-rollout (as a clone
    // into any other name is), so that its link and the package differ.
    let checkout = machine.dir.join("my-checkout");
    std::os::unix::fs::symlink(common::root(), &checkout).unwrap();

    let from_checkout = readme_block("helm plugin uninstall secret-rollout 2>/dev/null || true   # an earlier install, from a package or another checkout");
    assert!(
        from_checkout.contains("\nhelm plugin install .\n"),
        "{from_checkout}"
    );
    let from_package = readme_block("helm plugin uninstall secret-rollout 2>/dev/null || true");
    let install = |block: &str, dir: &Path| assert_ok(&sh(&machine, dir, block, &[]), block);
    // Exactly one plugin, and which: the checkout's link or the package's
    // directory (helm also leaves the .tgz it unpacked there; not a plugin).
    let installed = |entry: &str| {
        let listed = plugins(&machine);
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0].0, "secret-rollout");
        assert_eq!(
            listed[0].1 == "signed",
            entry == "secret-rollout",
            "{listed:?}"
        );
        let entries: Vec<String> = std::fs::read_dir(machine.dir.join("data/plugins"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(entries, [entry]);
    };

    install(&from_checkout, &checkout);
    installed("my-checkout");
    install(&from_package, &downloads);
    installed("secret-rollout");
    assert_ok(&machine.template(GOOD), "helm template through the package");
    install(&from_checkout, &checkout);
    installed("my-checkout");

    // What happened before the sections said to uninstall first.
    let without_uninstall: String = from_package
        .lines()
        .filter(|l| l.starts_with("helm plugin install"))
        .collect::<Vec<_>>()
        .join("\n");
    install(&without_uninstall, &downloads);
    let broken = machine.helm(&["plugin", "list"]);
    assert!(!broken.status.success());
    assert!(
        common::stderr(&broken).contains("two plugins claim the name \"secret-rollout\""),
        "{}",
        common::stderr(&broken)
    );
    assert!(!machine
        .helm(&["plugin", "uninstall", "secret-rollout"])
        .status
        .success());

    let recovery = readme_block("rm -r \"$(helm env HELM_PLUGINS)/secret-rollout\"");
    install(&recovery, &downloads);
    assert!(plugins(&machine).is_empty());
    assert!(
        checkout.join("plugin.yaml").exists(),
        "the checkout itself stays"
    );
    install(&from_package, &downloads);
    installed("secret-rollout");
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
