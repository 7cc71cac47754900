//! `--secrets-from`: Secrets the chart does not render, read from files, as
//! the0's rotation procedure keeps them. Every file here is made by the real
//! tool a user runs: `kubectl create secret … --dry-run=client -o yaml|json`,
//! real `sops` (age, with a key each test makes by `age-keygen`), and kubeseal's
//! format through kubesealpy (tests/tools/seal.py; kubeseal itself cannot be
//! installed here). The render is the Helm 4 post-renderer input of the
//! bundled the0 chart, whose api reads `the0-root-admin`/`password`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::gitops::{kubectl_secret, run, seal, seal_keys, seal_py, write};
use common::manifests::{all_stamps, changed, only_admin_changed};
use common::{python, root, run_cmd, stderr, stdout, temp_dir, tool};

const GOOD: &str = "helm4/the0-good.yaml";
const ADMIN_KEY: &str = "secret.the0-root-admin";
const PASSWORD: &str = "s3cret-one";
const ROTATED: &str = "s3cret-two";

type Stamps = BTreeMap<String, BTreeMap<String, String>>;

fn sr(args: &[&str], stdin: &str) -> Output {
    let mut cmd = common::bin();
    cmd.current_dir(root());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("SECRET_ROLLOUT_") {
            cmd.env_remove(key);
        }
    }
    run_cmd(cmd.args(args), stdin)
}

/// Render the0 with `--secrets-from` each of `paths`; the stamps by workload.
fn render_with(paths: &[&Path]) -> Stamps {
    let mut args = vec!["render".to_string()];
    for p in paths {
        args.push(format!("--secrets-from={}", p.display()));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = sr(&args, &common::fixture(GOOD));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(!err.contains("unresolved-reference"), "{err}");
    all_stamps(&stdout(&out))
}

fn admin_stamp(stamps: &Stamps) -> &str {
    stamps["Deployment/the0-api"][ADMIN_KEY].as_str()
}

/// The GitOps directory the0's docs describe: other kinds beside the sealed
/// admin password, which must all be skipped quietly.
fn gitops(name: &str, admin: &[(&str, &str)]) -> PathBuf {
    let dir = temp_dir(&format!("secrets-from/{name}"));
    let prod = dir.join("clusters/prod");
    for f in [
        "README.md",
        "kustomization.yaml",
        "namespace.yaml",
        "the0.helmrelease.yaml",
    ] {
        let text =
            std::fs::read_to_string(root().join("testdata/gitops/clusters/prod").join(f)).unwrap();
        write(&prod, f, &text);
    }
    write(
        &prod,
        ".sops.yaml",
        "creation_rules:\n  - encrypted_regex: ^(data|stringData)$\n",
    );
    let plain = write(
        &dir,
        "the0-root-admin.yaml",
        &kubectl_secret(&dir, "the0-root-admin", admin, "yaml"),
    );
    write(&prod, "the0-root-admin.sealed.yaml", &seal(&plain, None));
    dir
}

#[test]
fn a_sealed_admin_password_in_the_gitops_directory_stamps_exactly_the_api() {
    let dir = gitops("sealed", &[("password", PASSWORD)]);
    let prod = dir.join("clusters/prod");
    let without = all_stamps(&stdout(&sr(&["render"], &common::fixture(GOOD))));
    let with = render_with(&[&prod]);
    assert_eq!(changed(&without, &with), only_admin_changed());
    assert!(admin_stamp(&with).starts_with("sha256:"));

    // The sealed file really is a SealedSecret that unseals to the Secret.
    let unsealed = run(
        Command::new(python())
            .arg(seal_py())
            .arg("unseal")
            .arg(seal_keys())
            .arg(prod.join("the0-root-admin.sealed.yaml")),
        "seal.py unseal",
    );
    assert!(
        unsealed.contains(&format!("password: {PASSWORD}")),
        "{unsealed}"
    );

    // Re-sealing the password (`kubeseal --merge-into`) rolls the api only.
    let next = write(
        &dir,
        "next.yaml",
        &kubectl_secret(&dir, "the0-root-admin", &[("password", ROTATED)], "yaml"),
    );
    let sealed = prod.join("the0-root-admin.sealed.yaml");
    let resealed = seal(&next, Some(&sealed));
    std::fs::write(&sealed, resealed).unwrap();
    let rotated = render_with(&[&prod]);
    assert_eq!(changed(&with, &rotated), only_admin_changed());

    // Adding a key the api does not read changes nothing at all.
    let extra = write(
        &dir,
        "extra.yaml",
        &kubectl_secret(&dir, "the0-root-admin", &[("email", "a@b.c")], "yaml"),
    );
    let merged = seal(&extra, Some(&sealed));
    assert!(merged.contains("email:"), "{merged}");
    std::fs::write(&sealed, merged).unwrap();
    assert_eq!(render_with(&[&prod]), rotated);
}

#[test]
fn a_kubectl_made_secret_file_stamps_the_api_whether_yaml_or_json() {
    let dir = temp_dir("secrets-from/kubectl");
    let yaml = write(
        &dir,
        "admin.yaml",
        &kubectl_secret(&dir, "the0-root-admin", &[("password", PASSWORD)], "yaml"),
    );
    let json = write(
        &dir,
        "json/admin.json",
        &kubectl_secret(&dir, "the0-root-admin", &[("password", PASSWORD)], "json"),
    );
    let from_yaml = render_with(&[&yaml]);
    assert_eq!(
        render_with(&[&json]),
        from_yaml,
        "same content, same stamps"
    );
    // A file and its directory are the same thing.
    assert_eq!(render_with(&[&dir.join("json")]), from_yaml);
    // The same file reached twice is read once, not refused as a conflict.
    assert_eq!(render_with(&[&dir.join("json"), &json]), from_yaml);

    let rotated = write(
        &dir,
        "admin.yaml",
        &kubectl_secret(&dir, "the0-root-admin", &[("password", ROTATED)], "yaml"),
    );
    let after = render_with(&[&rotated]);
    assert_eq!(changed(&from_yaml, &after), only_admin_changed());
    let with_unread_key = write(
        &dir,
        "admin.yaml",
        &kubectl_secret(
            &dir,
            "the0-root-admin",
            &[("password", ROTATED), ("email", "a@b.c")],
            "yaml",
        ),
    );
    assert_eq!(render_with(&[&with_unread_key]), after);
}

#[test]
fn a_secret_list_as_kubectl_get_writes_it_gives_the_same_stamps_as_the_secret() {
    let dir = temp_dir("secrets-from/list");
    let secret = kubectl_secret(&dir, "the0-root-admin", &[("password", PASSWORD)], "yaml");
    let single = write(&dir, "one/admin.yaml", &secret);
    let items: String = secret.lines().map(|l| format!("  {l}\n")).collect();
    for kind in ["List", "SecretList"] {
        let list = write(
            &dir,
            &format!("{kind}/all.yaml"),
            &format!(
                "apiVersion: v1\nkind: {kind}\nmetadata:\n  resourceVersion: \"\"\nitems:\n- {}",
                items.trim_start()
            ),
        );
        assert_eq!(render_with(&[&list]), render_with(&[&single]), "{kind}");
    }
}

/// An age key of the test's own, made by the real `age-keygen` (Debian's
/// `age`, installed by scripts/install-test-tools) in `dir`.
fn age_key(dir: &Path) -> PathBuf {
    let key = dir.join("age.key");
    let out = Command::new("age-keygen")
        .arg("-o")
        .arg(&key)
        .output()
        .expect("age-keygen (Debian's age) is needed: run scripts/install-test-tools");
    assert!(out.status.success(), "age-keygen: {}", stderr(&out));
    key
}

/// `sops` that decrypts with `key`.
fn sops(dir: &Path, key: &Path) -> Command {
    let mut cmd = Command::new(tool("sops"));
    cmd.current_dir(dir)
        .env("SOPS_AGE_KEY_FILE", key)
        .arg("--disable-version-check");
    cmd
}

/// Encrypt a Secret file in place as Flux users do: its values only.
fn sops_encrypt(dir: &Path, key: &Path, file: &Path) {
    run(
        sops(dir, key)
            .args([
                "encrypt",
                "--age",
                &age_recipient(key),
                "--encrypted-regex",
                "^(data|stringData)$",
                "-i",
            ])
            .arg(file),
        "sops encrypt",
    );
}

fn age_recipient(key: &Path) -> String {
    let key = std::fs::read_to_string(key).unwrap();
    key.lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .expect("the age key file names its public key")
        .to_string()
}

#[test]
fn a_sops_secret_is_stamped_per_value_and_never_by_its_mac() {
    let dir = temp_dir("secrets-from/sops");
    let key = age_key(&dir);
    let file = write(
        &dir,
        "admin.sops.yaml",
        &kubectl_secret(
            &dir,
            "the0-root-admin",
            &[("password", PASSWORD), ("email", "a@b.c")],
            "yaml",
        ),
    );
    sops_encrypt(&dir, &key, &file);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("password: ENC[AES256_GCM,") && text.contains("\nsops:\n"),
        "{text}"
    );
    let before = render_with(&[&file]);

    // Rotating a key the api does not read changes sops.mac and
    // sops.lastmodified, and no stamp.
    run(
        sops(&dir, &key)
            .args(["set"])
            .arg(&file)
            .args([r#"["data"]["email"]"#, r#""bmV3QGIuYw==""#]),
        "sops set email",
    );
    let after_email = std::fs::read_to_string(&file).unwrap();
    let mac = |t: &str| {
        t.lines()
            .find(|l| l.trim_start().starts_with("mac:"))
            .unwrap()
            .to_string()
    };
    assert_ne!(
        mac(&text),
        mac(&after_email),
        "sops set must change the mac"
    );
    assert_eq!(render_with(&[&file]), before);

    // Rotating the password rolls exactly the api.
    run(
        sops(&dir, &key)
            .args(["set"])
            .arg(&file)
            .args([r#"["data"]["password"]"#, r#""czNjcmV0LXR3bw==""#]),
        "sops set password",
    );
    let after = render_with(&[&file]);
    assert_eq!(changed(&before, &after), only_admin_changed());

    // A JSON Secret sops encrypted as JSON reads too.
    let json = write(
        &dir,
        "age.sops.json",
        &kubectl_secret(&dir, "age", &[("key", "AGE-SECRET-KEY-1")], "json"),
    );
    sops_encrypt(&dir, &key, &json);
    let text = std::fs::read_to_string(&json).unwrap();
    assert!(
        text.contains("\"key\": \"ENC[AES256_GCM,") && text.contains("\"sops\": {"),
        "{text}"
    );
    let stream = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        env:\n        - name: KEY\n          valueFrom: {secretKeyRef: {name: age, key: key}}\n";
    let out = sr(
        &["render", &format!("--secrets-from={}", json.display())],
        stream,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("secret-rollout/secret.age: \"sha256:"),
        "{}",
        stdout(&out)
    );
    assert!(
        !stderr(&out).contains("unkeyed-digest"),
        "ciphertext needs no key: {}",
        stderr(&out)
    );
}

const API_READS_TOKEN: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n      - name: api\n        env:\n        - name: TOKEN\n          valueFrom: {secretKeyRef: {name: api-token, key: token}}\n";

fn external_secret(remote_key: &str) -> String {
    format!(
        "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: api-token-sync, namespace: the0}}\nspec:\n  refreshInterval: 1h\n  secretStoreRef: {{name: vault, kind: ClusterSecretStore}}\n  target: {{name: api-token}}\n  data:\n  - secretKey: token\n    remoteRef: {{key: {remote_key}}}\n"
    )
}

#[test]
fn an_external_secret_stamps_its_target_and_says_once_what_it_cannot_see() {
    let dir = temp_dir("secrets-from/external");
    let file = write(&dir, "es.yaml", &external_secret("the0/api-token"));
    let out = sr(
        &["render", &format!("--secrets-from={}", file.display())],
        API_READS_TOKEN,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let first = all_stamps(&stdout(&out));
    assert!(
        first["Deployment/api"].contains_key("secret.api-token"),
        "{first:?}"
    );
    let err = stderr(&out);
    assert_eq!(
        err.matches("note[provider-rotation-not-seen]").count(),
        1,
        "{err}"
    );
    assert!(
        err.contains(&format!("--> {}:1:1", file.display())),
        "points at the file: {err}"
    );

    // Pointing at another remote key rolls the consumer; a new refresh
    // interval does not.
    write(&dir, "es.yaml", &external_secret("the0/api-token-v2"));
    let moved = all_stamps(&stdout(&sr(
        &["render", &format!("--secrets-from={}", file.display())],
        API_READS_TOKEN,
    )));
    assert_ne!(moved, first);
    write(
        &dir,
        "es.yaml",
        &external_secret("the0/api-token-v2").replace("1h", "5m"),
    );
    let refreshed = all_stamps(&stdout(&sr(
        &["render", &format!("--secrets-from={}", file.display())],
        API_READS_TOKEN,
    )));
    assert_eq!(refreshed, moved);
}

#[test]
fn the_render_wins_over_a_file_with_the_same_secret() {
    let dir = temp_dir("secrets-from/precedence");
    let render = common::fixture(GOOD);
    let plain = all_stamps(&stdout(&sr(&["render"], &render)));
    // A file giving the chart's own the0-secrets with other values.
    let file = write(&dir, "the0-secrets.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: the0-secrets}\nstringData: {JWT_SECRET: other, DATABASE_URL: other}\n");
    let out = sr(
        &["render", &format!("--secrets-from={}", file.display())],
        &render,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(all_stamps(&stdout(&out)), plain);
}

#[test]
fn two_files_giving_one_secret_different_content_are_refused_naming_both() {
    let dir = temp_dir("secrets-from/conflict");
    let a = write(
        &dir,
        "a.yaml",
        &kubectl_secret(&dir, "the0-root-admin", &[("password", PASSWORD)], "yaml"),
    );
    let b = write(
        &dir,
        "b.yaml",
        &kubectl_secret(&dir, "the0-root-admin", &[("password", ROTATED)], "yaml"),
    );
    let out = sr(
        &["render", "--secrets-from", dir.to_str().unwrap()],
        &common::fixture(GOOD),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{}:", a.display())) && err.contains(&format!("{}:", b.display())),
        "{err}"
    );
    assert!(
        err.contains("Secret the0-root-admin in namespace the0"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    no_values(&err);
}

fn no_values(text: &str) {
    for (plain, base64) in [
        (PASSWORD, "czNjcmV0LW9uZQ=="),
        (ROTATED, "czNjcmV0LXR3bw=="),
    ] {
        assert!(
            !text.contains(plain) && !text.contains(base64),
            "a value leaked: {text}"
        );
    }
}

/// Bad `--secrets-from` input: exit 2, nothing on stdout, one line naming
/// the path (and line, when there is one), never a value.
fn refused(path: &Path, expect: &[&str]) {
    for cmd in [vec!["render"], vec!["check"], vec!["explain"]] {
        let mut args = cmd.clone();
        let flag = format!("--secrets-from={}", path.display());
        args.push(&flag);
        let out = sr(&args, &common::fixture(GOOD));
        assert_eq!(out.status.code(), Some(2), "{cmd:?} {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{cmd:?}: {}", stdout(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        for e in expect {
            assert!(err.contains(e), "{cmd:?}: expected {e:?} in {err}");
        }
        no_values(&err);
    }
}

#[test]
fn bad_secrets_from_input_exits_2_naming_the_path_and_line() {
    let dir = temp_dir("secrets-from/bad");
    let missing = dir.join("nope");
    refused(
        &missing,
        &[&format!("{}: no such file or directory", missing.display())],
    );

    let broken = write(
        &dir,
        "broken/x.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: a\nstringData: {password: s3cret-one}\n",
    );
    refused(&broken, &[&format!("{}:", broken.display()), "line "]);

    // A chart template is not YAML until Helm renders it.
    let template = write(&dir, "template/t.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Values.name }}\n  {{- include \"x\" . }}\n");
    refused(
        &dir.join("template"),
        &[&format!("{}:", template.display())],
    );

    let json = write(&dir, "json/s.json", "{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": \"a\"}, \"data\": {\"password\": \"s3cret-one\"}}\n");
    refused(
        &json,
        &[
            &format!("{}:1:", json.display()),
            "data.password is not valid base64",
        ],
    );

    let latin1 = dir.join("latin1.yaml");
    std::fs::write(
        &latin1,
        b"apiVersion: v1\nkind: Secret\nmetadata: {name: caf\xe9}\n",
    )
    .unwrap();
    refused(&latin1, &[&format!("{}: not UTF-8", latin1.display())]);

    // A link to nowhere inside a directory is a path we cannot read.
    let links = dir.join("links");
    std::fs::create_dir_all(&links).unwrap();
    std::os::unix::fs::symlink(dir.join("gone.yaml"), links.join("dangling.yaml")).unwrap();
    refused(&links, &["dangling.yaml"]);
}

#[test]
fn unkeyed_digests_of_plaintext_get_one_note_naming_the_secrets_and_the_fix() {
    let dir = temp_dir("secrets-from/unkeyed");
    let file = write(
        &dir,
        "admin.yaml",
        &kubectl_secret(&dir, "the0-root-admin", &[("password", PASSWORD)], "yaml"),
    );
    let out = sr(
        &["render", &format!("--secrets-from={}", file.display())],
        &common::fixture(GOOD),
    );
    let err = stderr(&out);
    assert_eq!(err.matches("note[unkeyed-digest]").count(), 1, "{err}");
    let note = err
        .lines()
        .find(|l| l.starts_with("note[unkeyed-digest]"))
        .unwrap();
    assert!(note.contains("the0-root-admin, the0-secrets"), "{note}");
    assert!(err.contains("--digest-key-file"), "{err}");

    let key = write(&dir, "digest.key", "k3y\n");
    let keyed = sr(
        &[
            "render",
            &format!("--secrets-from={}", file.display()),
            &format!("--digest-key-file={}", key.display()),
        ],
        &common::fixture(GOOD),
    );
    assert!(
        !stderr(&keyed).contains("unkeyed-digest"),
        "{}",
        stderr(&keyed)
    );
    assert!(stdout(&keyed).contains(&format!("{ADMIN_KEY}: \"hmac-sha256:")));

    // A sealed source alone needs no key.
    let gitops = gitops("unkeyed-sealed", &[("token", PASSWORD)]);
    let sealed = gitops.join("clusters/prod/the0-root-admin.sealed.yaml");
    let stream = API_READS_TOKEN.replace("api-token", "the0-root-admin");
    let out = sr(
        &["render", &format!("--secrets-from={}", sealed.display())],
        &stream,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("secret.the0-root-admin"));
    assert!(!stderr(&out).contains("unkeyed-digest"), "{}", stderr(&out));
}

#[test]
fn the_environment_variable_takes_colon_separated_paths() {
    let dir = temp_dir("secrets-from/env");
    let a = write(
        &dir,
        "a/admin.yaml",
        &kubectl_secret(&dir, "the0-root-admin", &[("password", PASSWORD)], "yaml"),
    );
    let b = write(&dir, "b/es.yaml", &external_secret("x"));
    let flags = render_with(&[&a, &b]);
    let mut cmd = common::bin();
    cmd.current_dir(root())
        .env(
            "SECRET_ROLLOUT_SECRETS_FROM",
            format!("{}:{}", a.display(), b.display()),
        )
        .arg("render");
    let out = run_cmd(&mut cmd, &common::fixture(GOOD));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(all_stamps(&stdout(&out)), flags);
}

#[test]
fn check_and_explain_take_the_option_and_explain_says_where_each_source_is() {
    let gitops = gitops("explain", &[("password", PASSWORD)]);
    let prod = gitops.join("clusters/prod");
    let flag = format!("--secrets-from={}", prod.display());
    let good = common::fixture(GOOD);

    let before = sr(&["check"], &good);
    assert!(stdout(&before).contains("unresolved-reference"));
    let after = sr(&["check", &flag], &good);
    assert_eq!(after.status.code(), Some(0), "{}", stdout(&after));
    assert!(
        !stdout(&after).contains("unresolved-reference"),
        "{}",
        stdout(&after)
    );

    let sealed = prod.join("the0-root-admin.sealed.yaml");
    let text = stdout(&sr(&["explain", &flag], &good));
    assert!(
        text.contains(&format!(
            "env THE0_ADMIN_PASSWORD <- Secret the0-root-admin key password [from {}:2]",
            sealed.display()
        )),
        "{text}"
    );
    assert!(
        text.contains("stamp secret-rollout/secret.the0-root-admin = sha256:"),
        "{text}"
    );
    assert!(
        text.contains("(source from a file: apply it before the upgrade)"),
        "{text}"
    );
    assert!(
        text.contains("[in stream]"),
        "render sources say so: {text}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&stdout(&sr(&["explain", &flag, "--format", "json"], &good))).unwrap();
    let api = json["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["workload"] == "Deployment/the0-api")
        .unwrap();
    assert_eq!(
        api["stamps_from_files"],
        serde_json::json!(["secret-rollout/secret.the0-root-admin"])
    );
    let admin = api["uses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "the0-root-admin")
        .unwrap();
    assert_eq!(
        admin["origin"],
        serde_json::json!(format!("{}:2", sealed.display()))
    );

    let rotating = stdout(&sr(
        &["explain", &flag, "--secret", "the0-root-admin"],
        &good,
    ));
    assert!(
        rotating.starts_with(&format!(
            "Rotating Secret the0-root-admin ({}:2) affects:",
            sealed.display()
        )),
        "{rotating}"
    );
    assert!(
        rotating.contains("Deployment/the0-api  keys: password"),
        "{rotating}"
    );
}

#[test]
fn a_missing_key_in_a_file_secret_names_the_file() {
    let dir = temp_dir("secrets-from/missing-key");
    let file = write(
        &dir,
        "admin.yaml",
        &kubectl_secret(&dir, "the0-root-admin", &[("passwd", PASSWORD)], "yaml"),
    );
    let out = sr(
        &["check", &format!("--secrets-from={}", file.display())],
        &common::fixture(GOOD),
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("error[missing-secret-key]: Deployment/the0-api reads key `password` of Secret the0-root-admin (env THE0_ADMIN_PASSWORD), but that Secret ({}:1) has no such key", file.display())),
        "{text}"
    );
}

#[test]
fn the_bundled_gitops_directory_is_what_the_readme_says() {
    // README: `cargo run --release -q -- --secrets-from testdata/gitops/clusters/prod < testdata/helm4/the0-good.yaml > stamped.yaml`
    let out = sr(
        &["--secrets-from", "testdata/gitops/clusters/prod"],
        &common::fixture(GOOD),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stamps = all_stamps(&stdout(&out));
    let with_admin: Vec<&String> = stamps
        .iter()
        .filter(|(_, s)| s.contains_key(ADMIN_KEY))
        .map(|(w, _)| w)
        .collect();
    assert_eq!(with_admin, ["Deployment/the0-api"]);
    assert!(!stderr(&out).contains("warning["), "{}", stderr(&out));
    // README: the `explain` example.
    let explained = stdout(&sr(
        &["explain", "--secrets-from", "testdata/gitops/clusters/prod"],
        &common::fixture(GOOD),
    ));
    for line in [
        "Deployment/the0-api (the0/templates/the0-api.yaml)",
        "    env THE0_ADMIN_PASSWORD <- Secret the0-root-admin key password [from testdata/gitops/clusters/prod/the0-root-admin.sealed.yaml:2]",
        "  stamp secret-rollout/secret.the0-root-admin = sha256:",
    ] {
        assert!(explained.lines().any(|l| l.starts_with(line)), "{line:?} in:\n{explained}");
    }
    assert!(explained.contains("(source from a file: apply it before the upgrade)"));
}

#[test]
fn a_policy_file_lists_secrets_from_paths_relative_to_itself() {
    let gitops = gitops("policy", &[("password", PASSWORD)]);
    let printed = stdout(&sr(&["policy", "--print-default"], ""));
    let policy = write(
        &gitops,
        "secret-rollout.yaml",
        &format!("{printed}\nsecretsFrom:\n  - clusters/prod\n"),
    );
    let from_flag = render_with(&[&gitops.join("clusters/prod")]);
    // Run from elsewhere: the path is the policy file's, not the caller's.
    let mut cmd = common::bin();
    cmd.current_dir(std::env::temp_dir())
        .env("SECRET_ROLLOUT_POLICY", &policy)
        .env_remove("SECRET_ROLLOUT_SECRETS_FROM");
    let out = run_cmd(&mut cmd, &common::fixture(GOOD));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(all_stamps(&stdout(&out)), from_flag);
    // Read together with the option's paths.
    let es = write(&gitops, "es/es.yaml", &external_secret("x"));
    let stream = format!("{}---\n{API_READS_TOKEN}", common::fixture(GOOD));
    let both = sr(
        &[
            "render",
            &format!("--policy={}", policy.display()),
            &format!("--secrets-from={}", es.display()),
        ],
        &stream,
    );
    assert_eq!(both.status.code(), Some(0), "{}", stderr(&both));
    let stamps = all_stamps(&stdout(&both));
    assert!(
        stamps["Deployment/api"].contains_key("secret.api-token"),
        "{stamps:?}"
    );
    assert_eq!(admin_stamp(&stamps), admin_stamp(&from_flag));
}
