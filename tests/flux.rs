//! `secret-rollout flux`: the post-render entry it keeps in a HelmRelease,
//! checked with the real tools. The repository is `testdata/flux` (copied,
//! with a `.git` so it is a work tree of its own), the render is real helm
//! 4.3.1's `helm template` of the bundled chart with the HelmRelease's values,
//! the entry is applied the way helm-controller applies post-renderers (the
//! render as a resource, patches and images in a kustomization, built by the
//! real kustomize in kubectl 1.37.1, in list order), and the edited file is
//! validated against the HelmRelease v2 schema of `cloudcoil-models-fluxcd`
//! (models generated from Flux's CRDs, installed by scripts/install-test-tools).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::gitops::{kubectl_secret, run, seal, write};
use common::manifests::all_stamps;
use common::oracle::{self, decode, object_id};
use common::{copy_dir, python, root, run_cmd, stderr, stdout, temp_dir, tool};
use serde_json::Value;

const HR: &str = "testdata/flux/apps/the0/the0.helmrelease.yaml";
const SECRETS: &str = "testdata/flux/secrets/prod";
const SEALED: &str = "testdata/flux/secrets/prod/the0-root-admin.sealed.yaml";
/// What CI runs to render the HelmRelease's chart (the README's command):
/// valuesFrom first, spec.values (on stdin) last, as helm-controller merges.
const RENDER: &str = "helm template the0 testdata/charts/the0 --namespace the0 \
                      -f testdata/flux/apps/the0/the0-values.yaml -f -";

/// A copy of the GitOps repository, its own git work tree.
struct Repo {
    dir: PathBuf,
    helm_home: PathBuf,
}

impl Repo {
    fn new(name: &str) -> Repo {
        let dir = temp_dir(&format!("flux/{name}"));
        std::fs::create_dir(dir.join(".git")).unwrap();
        copy_dir(&root().join("testdata/flux"), &dir.join("testdata/flux"));
        copy_dir(
            &root().join("testdata/charts/the0"),
            &dir.join("testdata/charts/the0"),
        );
        Repo {
            helm_home: temp_dir(&format!("flux/{name}-helm")),
            dir,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    /// A command run in the repository, with the real tools on PATH and
    /// nothing inherited that changes what helm or secret-rollout does.
    fn cmd(&self, exe: &Path) -> Command {
        let mut c = Command::new(exe);
        let path = format!(
            "{}:{}",
            tool("helm").parent().unwrap().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        c.current_dir(&self.dir)
            .env("PATH", path)
            .env("HELM_DATA_HOME", self.helm_home.join("data"))
            .env("HELM_CONFIG_HOME", self.helm_home.join("config"))
            .env("HELM_CACHE_HOME", self.helm_home.join("cache"));
        for (key, _) in std::env::vars_os() {
            let k = key.to_string_lossy();
            if k.starts_with("SECRET_ROLLOUT_") || (k.starts_with("HELM_") && !k.ends_with("_HOME"))
            {
                c.env_remove(&key);
            }
        }
        c
    }

    fn sr(&self, args: &[&str], stdin: &str) -> Output {
        run_cmd(
            self.cmd(Path::new(env!("CARGO_BIN_EXE_secret-rollout")))
                .args(args),
            stdin,
        )
    }

    /// The render CI makes: spec.values printed by secret-rollout, piped
    /// into helm template.
    fn render(&self) -> String {
        let values = self.sr(&["flux", HR, "--print-values"], "");
        assert_eq!(values.status.code(), Some(0), "{}", stderr(&values));
        let out = run_cmd(
            self.cmd(Path::new("sh")).args(["-c", RENDER]),
            &stdout(&values),
        );
        assert!(out.status.success(), "helm template: {}", stderr(&out));
        stdout(&out)
    }

    /// Seal `password` into the repository as kubeseal does (`--merge-into`
    /// the existing file when `merge`), from a kubectl-made Secret.
    fn seal_admin(&self, password: &str, merge: bool) {
        let plain = write(
            &self.helm_home,
            "the0-root-admin.yaml",
            &kubectl_secret(
                &self.helm_home,
                "the0-root-admin",
                &[("password", password)],
                "yaml",
            ),
        );
        let sealed = self.path(SEALED);
        let text = seal(&plain, merge.then_some(sealed.as_path()));
        std::fs::write(&sealed, text).unwrap();
    }

    /// `secret-rollout flux HR --secrets-from SECRETS [extra]` over `render`.
    fn flux(&self, render: &str, extra: &[&str]) -> Output {
        let mut args = vec!["flux", HR, "--secrets-from", SECRETS];
        args.extend_from_slice(extra);
        self.sr(&args, render)
    }
}

/// The shipped HelmRelease without the entry `secret-rollout flux` wrote
/// (the last item of its list), cut by text.
fn pristine(text: &str) -> String {
    let at = text
        .find("    - kustomize:\n        # Written by `secret-rollout flux`")
        .expect("the shipped file has our entry");
    text[..at].to_string()
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

/// Apply post-render entries (JSON, as the API server holds them) the way
/// helm-controller does: per entry, the stream as `helm-output.yaml`, a
/// kustomization with its patches and images, built by kustomize.
fn post_render(scratch: &Path, input: &str, entries: &[Value]) -> String {
    let mut stream = input.to_string();
    for (i, entry) in entries.iter().enumerate() {
        let dir = scratch.join(format!("post-render-{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("helm-output.yaml"), &stream).unwrap();
        let k = &entry["kustomize"];
        let mut kustomization = serde_json::json!({
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": ["helm-output.yaml"],
        });
        for field in ["patches", "images"] {
            if !k[field].is_null() {
                kustomization[field] = k[field].clone();
            }
        }
        std::fs::write(dir.join("kustomization.yaml"), kustomization.to_string()).unwrap();
        let mut cmd = oracle::kubectl(scratch);
        stream = run(cmd.arg("kustomize").arg(&dir), "kubectl kustomize");
    }
    stream
}

/// The objects of a stream as kubectl decodes them, by `Kind/name`.
fn objects(scratch: &Path, name: &str, text: &str) -> BTreeMap<String, Value> {
    let file = write(scratch, name, text);
    decode(scratch, &[&file])
        .unwrap()
        .into_iter()
        .map(|o| (object_id(&o), o))
        .collect()
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap()
}

fn assert_same_objects(a: &BTreeMap<String, Value>, b: &BTreeMap<String, Value>) {
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (id, x) in a {
        let y = &b[id];
        assert!(x == y, "{id}:\n{}", oracle::diff(&pretty(x), &pretty(y)));
    }
}

#[test]
fn post_renderers_applied_as_helm_controller_does_mean_what_render_writes() {
    let repo = Repo::new("apply");
    repo.seal_admin("s3cret-one", false);
    let pristine = pristine(&repo.read(HR));
    std::fs::write(repo.path(HR), pristine).unwrap();
    let render = repo.render();
    let out = repo.flux(&render, &[]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));

    let scratch = repo.helm_home.clone();
    let hr = &decode(&scratch, &[&repo.path(HR)]).unwrap()[0];
    let entries = hr["spec"]["postRenderers"].as_array().unwrap().clone();
    assert_eq!(entries.len(), 2, "the user's images entry, then ours");
    assert!(entries[0]["kustomize"]["images"].is_array());

    let rendered = repo.sr(
        &["render", "--namespace", "the0", "--secrets-from", SECRETS],
        &render,
    );
    assert_eq!(code(&rendered), Some(0), "{}", stderr(&rendered));
    let rendered = stdout(&rendered);
    let want = objects(&scratch, "rendered.yaml", &rendered);

    // Our entry alone gives exactly what `render` writes, object by object.
    let ours = post_render(&scratch, &render, &entries[1..]);
    assert_same_objects(&objects(&scratch, "ours.yaml", &ours), &want);
    let stamps = all_stamps(&rendered);
    assert!(stamps["Deployment/the0-api"].contains_key("secret.the0-root-admin"));
    assert_eq!(all_stamps(&ours), stamps);

    // Both entries in list order: the user's image and our stamps, nothing else.
    let both = post_render(&scratch, &render, &entries);
    let mut got = objects(&scratch, "both.yaml", &both);
    let docs = got.get_mut("Deployment/the0-docs").unwrap();
    let image = &mut docs["spec"]["template"]["spec"]["containers"][0]["image"];
    assert_eq!(image, "ghcr.io/alexanderwanyoike/the0/docs:1.12.4");
    *image =
        want["Deployment/the0-docs"]["spec"]["template"]["spec"]["containers"][0]["image"].clone();
    assert_same_objects(&got, &want);
}

fn validate(repo: &Repo, file: &Path) -> Output {
    let scratch = &repo.helm_home;
    let decoded = decode(scratch, &[file]).unwrap();
    let json: String = decoded.iter().map(|o| o.to_string() + "\n").collect();
    let json_file = write(scratch, "helmrelease.json", &json);
    Command::new(python())
        .arg(root().join("tests/tools/validate_helmrelease.py"))
        .arg(json_file)
        .output()
        .unwrap()
}

#[test]
fn the_edited_helmrelease_is_valid_against_the_v2_schema_in_every_shape() {
    let repo = Repo::new("crd");
    let render = repo.render();
    // The shipped file without our entry.
    let pristine = pristine(&repo.read(HR));
    assert!(!pristine.contains("secret-rollout/"));
    let shapes = [
        ("as shipped", pristine.clone()),
        (
            "no postRenderers",
            pristine[..pristine.find("  postRenderers:").unwrap()].to_string(),
        ),
        (
            "flow style",
            pristine.replace(
                "  postRenderers:\n    # Ours: pin the docs image to the tag we tested.\n    - kustomize:\n        images:\n          - name: ghcr.io/alexanderwanyoike/the0/docs\n            newTag: \"1.12.4\"\n",
                "  postRenderers: [{kustomize: {images: [{name: ghcr.io/alexanderwanyoike/the0/docs, newTag: \"1.12.4\"}]}}]\n",
            ),
        ),
        ("CRLF", pristine.replace('\n', "\r\n")),
    ];
    for (shape, text) in shapes {
        std::fs::write(repo.path(HR), &text).unwrap();
        let out = repo.flux(&render, &[]);
        assert_eq!(code(&out), Some(0), "{shape}: {}", stderr(&out));
        let edited = repo.read(HR);
        assert!(edited.len() > text.len(), "{shape}: an entry was written");
        let v = validate(&repo, &repo.path(HR));
        assert!(
            v.status.success() && stdout(&v).starts_with("ok: 1"),
            "{shape}: {}{}\n{edited}",
            stdout(&v),
            String::from_utf8_lossy(&v.stderr)
        );
        let again = repo.flux(&render, &["--check"]);
        assert_eq!(code(&again), Some(0), "{shape}: {}", stderr(&again));
    }
    // The check can fail: a key helm-controller does not know.
    let bad = write(
        &repo.helm_home,
        "bad.yaml",
        &pristine.replace(
            "        images:\n",
            "        patchesStrategicMerge: []\n        images:\n",
        ),
    );
    let v = validate(&repo, &bad);
    assert!(!v.status.success(), "{}", stdout(&v));
    assert!(
        stdout(&v)
            .contains("spec.postRenderers[0].kustomize.patchesStrategicMerge: not in the schema"),
        "{}",
        stdout(&v)
    );
}

/// The stamps our entry in the HelmRelease writes, by workload.
fn entry_stamps(text: &str) -> BTreeMap<String, BTreeMap<String, Option<String>>> {
    secret_rollout::front::flux::current(text, None)
        .unwrap()
        .into_iter()
        .map(|s| (format!("{}/{}", s.kind, s.name), s.annotations))
        .collect()
}

#[test]
fn resealing_one_key_changes_the_patch_of_exactly_its_readers() {
    let repo = Repo::new("rotation");
    repo.seal_admin("s3cret-one", false);
    let render = repo.render();
    let out = repo.flux(&render, &[]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let before = repo.read(HR);
    let check = repo.flux(&render, &["--check"]);
    assert_eq!(code(&check), Some(0), "{}", stderr(&check));

    // `kubeseal --merge-into` with the new password.
    repo.seal_admin("s3cret-two", true);
    let check = repo.flux(&render, &["--check"]);
    assert_eq!(
        code(&check),
        Some(1),
        "stale before the refresh: {}",
        stderr(&check)
    );
    let diff = stdout(&check);
    let changed = common::changed_lines(&diff);
    assert_eq!(changed.len(), 2, "one line out, one in:\n{diff}");
    assert!(
        changed
            .iter()
            .all(|l| l.contains("secret-rollout/secret.the0-root-admin: ")),
        "{diff}"
    );
    assert!(stderr(&check).contains("out of date"), "{}", stderr(&check));
    assert_eq!(repo.read(HR), before, "--check writes nothing");

    let out = repo.flux(&render, &[]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let after = repo.read(HR);
    let (a, b) = (entry_stamps(&before), entry_stamps(&after));
    let differing: Vec<(&String, Vec<&String>)> = a
        .iter()
        .map(|(w, s)| {
            (
                w,
                s.keys()
                    .filter(|k| s.get(*k) != b[w].get(*k))
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, k)| !k.is_empty())
        .collect();
    let key = "secret-rollout/secret.the0-root-admin".to_string();
    let api = "Deployment/the0-api".to_string();
    assert_eq!(differing, vec![(&api, vec![&key])]);
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());

    let again = repo.flux(&render, &[]);
    assert_eq!(code(&again), Some(0), "{}", stderr(&again));
    assert_eq!(
        repo.read(HR),
        after,
        "a second run is a byte-identical no-op"
    );
    let check = repo.flux(&render, &["--check"]);
    assert_eq!(
        code(&check),
        Some(0),
        "fresh after the refresh: {}",
        stderr(&check)
    );
    assert_eq!(stdout(&check), "");
}

/// The README's CI step, word for word, over this repository's testdata.
const README_CI: &str =
    "secret-rollout flux testdata/flux/apps/the0/the0.helmrelease.yaml --print-values \\
  | helm template the0 testdata/charts/the0 --namespace the0 \\
      -f testdata/flux/apps/the0/the0-values.yaml -f - \\
  | secret-rollout flux testdata/flux/apps/the0/the0.helmrelease.yaml \\
      --secrets-from testdata/flux/secrets/prod --check";

#[test]
fn the_shipped_helmrelease_is_up_to_date_with_the_shipped_secret() {
    let readme = common::user_docs();
    assert!(readme.contains(README_CI), "the README shows this command");
    let path = common::path_with_tools(&["helm"]);
    let mut sh = Command::new("bash");
    sh.current_dir(root())
        .env("PATH", path)
        .env(
            "HELM_CONFIG_HOME",
            temp_dir("flux/shipped-helm").join("config"),
        )
        .args(["-o", "pipefail", "-c", README_CI]);
    let out = run_cmd(&mut sh, "");
    assert_eq!(code(&out), Some(0), "{}\n{}", stdout(&out), stderr(&out));
    assert!(
        stderr(&out).contains("secret-rollout: up to date"),
        "{}",
        stderr(&out)
    );
    assert!(
        !stderr(&out).contains("secret-applied-without-order"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_input_exits_2_and_leaves_the_file_alone() {
    let repo = Repo::new("bad");
    let render = repo.render();
    let pristine = pristine(&repo.read(HR));
    let cases: Vec<(&str, String, &str, &[&str], &str)> = vec![
        (
            "empty render",
            pristine.clone(),
            "",
            &[],
            "the render is empty",
        ),
        (
            "comments only",
            pristine.clone(),
            "# nothing\n---\n",
            &[],
            "the render is empty",
        ),
        (
            "not a HelmRelease",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n".into(),
            &render,
            &[],
            "holds no HelmRelease (helm.toolkit.fluxcd.io/v2)",
        ),
        (
            "an older API version",
            pristine.replace(
                "helm.toolkit.fluxcd.io/v2\n",
                "helm.toolkit.fluxcd.io/v2beta2\n",
            ),
            &render,
            &[],
            "found HelmRelease the0 as helm.toolkit.fluxcd.io/v2beta2",
        ),
        (
            "two HelmReleases",
            format!(
                "{pristine}---\n{}",
                pristine.replace("name: the0\n", "name: other\n")
            ),
            &render,
            &[],
            "holds 2 HelmReleases (the0, other); choose one with --name",
        ),
        (
            "no such name",
            pristine.clone(),
            &render,
            &["--name", "nope"],
            "holds no HelmRelease named nope (it holds the0)",
        ),
        (
            "postRenderers not a list",
            pristine[..pristine.find("  postRenderers:").unwrap()].to_string()
                + "  postRenderers: {}\n",
            &render,
            &[],
            "spec.postRenderers is not a list",
        ),
        (
            "render not YAML",
            pristine.clone(),
            "a: [\n",
            &[],
            "<stdin>: document 1",
        ),
    ];
    for (what, file, stdin, extra, message) in cases {
        std::fs::write(repo.path(HR), &file).unwrap();
        for check in [false, true] {
            let mut args = extra.to_vec();
            if check {
                args.push("--check");
            }
            let out = repo.flux(stdin, &args);
            assert_eq!(code(&out), Some(2), "{what}: {}", stderr(&out));
            let err = stderr(&out);
            assert!(err.contains(message), "{what}: {err}");
            assert_eq!(err.lines().count(), 1, "{what}: one line: {err}");
            assert_eq!(stdout(&out), "", "{what}");
            assert_eq!(repo.read(HR), file, "{what}: the file is untouched");
        }
    }
    // With several HelmReleases, --name picks one and only it changes.
    let two = format!(
        "{pristine}---\n{}",
        pristine.replace("name: the0\n", "name: other\n")
    );
    std::fs::write(repo.path(HR), &two).unwrap();
    let out = repo.flux(&render, &["--name", "other"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let edited = repo.read(HR);
    assert!(
        edited.starts_with(&format!("{pristine}---\n")),
        "the first is untouched"
    );
    assert!(!entry_stamps_named(&edited, "other").is_empty());
}

fn entry_stamps_named(text: &str, name: &str) -> Vec<secret_rollout::front::patch::Stamp> {
    secret_rollout::front::flux::current(text, Some(name)).unwrap()
}

#[test]
fn a_policy_error_exits_1_and_writes_nothing() {
    let repo = Repo::new("policy");
    let pristine = repo.read(HR);
    // The password as a plain value in spec.values: the guard refuses.
    let plain = pristine.replace(
        "        MINIO_USE_SSL: \"false\"\n",
        "        MINIO_USE_SSL: \"false\"\n        THE0_ADMIN_PASSWORD: \"hunter2-plain\"\n",
    );
    std::fs::write(repo.path(HR), &plain).unwrap();
    let render = repo.render();
    for check in [false, true] {
        let out = repo.flux(&render, if check { &["--check"] } else { &[] });
        assert_eq!(code(&out), Some(1), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("error[admin-password-not-from-secret]"),
            "{err}"
        );
        assert!(err.contains("refusing to update"), "{err}");
        assert!(!err.contains("hunter2-plain") && !stdout(&out).contains("hunter2-plain"));
        assert_eq!(stdout(&out), "");
        assert_eq!(repo.read(HR), plain);
    }
}

#[test]
fn a_render_command_renders_with_the_values_it_is_given() {
    let repo = Repo::new("render-command");
    let render = repo.render();
    let out = repo.flux(&render, &[]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let by_pipe = repo.read(HR);
    let pristine = pristine(&repo.read(HR));
    std::fs::write(repo.path(HR), &pristine).unwrap();
    let out = repo.flux("", &["--render-command", RENDER]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(repo.read(HR), by_pipe);
    let failing = repo.flux("", &["--render-command", "echo broken >&2; exit 3"]);
    assert_eq!(code(&failing), Some(2));
    assert!(
        stderr(&failing).contains("broken"),
        "the command's stderr reaches the user"
    );
    assert!(stderr(&failing).contains("failed"), "{}", stderr(&failing));
}

/// A HelmRelease with `values` between the header and the footer.
fn with_values(values: &str) -> String {
    format!(
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: tricky\n  \
         namespace: the0\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: ./chart\n      \
         sourceRef: {{kind: GitRepository, name: flux-system}}\n  values:\n{values}  postRenderers: []\n"
    )
}

/// Values whose meaning a re-serialization would change.
const TRICKY: &str = "\
    # octal, underscores, hex: Go's readers resolve them
    mode: 0644
    big: 1_000
    hex: 0x1F
    float: 1e3
    nothing: ~
    empty:
    words: {a: true, b: \"on\", c: !!str yes}
    anchors:
      base: &b {x: 1, list: [a, b]}
      copy: *b
      merged: {<<: *b, z: 2}
    script: |
      echo \"hi\"
        indented

    folded: >-
      one
      two
    quoted: \"a\\tb\\u00e9\"
    multi: \"line one
      line two\"
    tagged: !!str 0755
";

/// Plain scalars Flux (kustomize's YAML 1.2 reader) and Helm (YAML 1.1) read
/// differently.
const AMBIGUOUS: &str = "    a: on\n    b: yes\n    c: No\n    d: 2002-12-14\n    e: {y: 1}\n";

/// spec.values as kustomize-controller sees them: kustomize builds the
/// directory and the result is decoded as kubectl decodes it.
fn flux_view(scratch: &Path, hr: &str) -> (Value, Value) {
    let dir = scratch.join("flux");
    write(&dir, "hr.yaml", hr);
    write(&dir, "kustomization.yaml", "resources: [hr.yaml]\n");
    let mut k = oracle::kubectl(scratch);
    let built = run(k.arg("kustomize").arg(&dir), "kubectl kustomize");
    let built = write(scratch, "built.yaml", &built);
    let flux = decode(scratch, &[&built]).unwrap()[0]["spec"]["values"].clone();
    // Go's YAML 1.1 reader on the file itself, as helm reads a values file.
    let direct = decode(scratch, &[&dir.join("hr.yaml")]).unwrap()[0]["spec"]["values"].clone();
    (flux, direct)
}

#[test]
fn print_values_means_to_helm_what_spec_values_means_to_flux() {
    let scratch = temp_dir("flux/values");
    let hr_text = with_values(TRICKY);
    let (flux, direct) = flux_view(&scratch, &hr_text);
    assert_eq!(
        flux,
        direct,
        "{}",
        oracle::diff(&pretty(&direct), &pretty(&flux))
    );
    let hr = write(&scratch, "hr.yaml", &hr_text);

    // CI's view: helm reads the printed values as a values file.
    let values = common::run(&["flux", hr.to_str().unwrap(), "--print-values"], "");
    assert_eq!(code(&values), Some(0), "{}", stderr(&values));
    let values = stdout(&values);
    assert!(values.starts_with("mode: 0644\n"), "{values}");
    assert!(values.contains("mode: 0644\n") && values.contains("  merged: {<<: *b, z: 2}\n"));
    let chart = scratch.join("echo");
    write(
        &chart,
        "Chart.yaml",
        "apiVersion: v2\nname: echo\nversion: 0.1.0\n",
    );
    write(
        &chart,
        "templates/values.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: values}\ndata:\n  json: {{ toJson .Values | quote }}\n",
    );
    let mut helm = Command::new(tool("helm"));
    helm.env("HELM_CONFIG_HOME", scratch.join("helm"))
        .args(["template", "x"])
        .arg(&chart)
        .args(["-f", "-"]);
    let out = run_cmd(&mut helm, &values);
    assert!(out.status.success(), "{}", stderr(&out));
    let cm = write(&scratch, "cm.yaml", &stdout(&out));
    let json = decode(&scratch, &[&cm]).unwrap()[0]["data"]["json"].clone();
    let helm_view: Value = serde_json::from_str(json.as_str().unwrap()).unwrap();
    // Helm reads every number as a float64: compare numbers by value.
    let (h, f) = (normalize(&helm_view), normalize(&flux));
    assert_eq!(h, f, "{}", oracle::diff(&pretty(&f), &pretty(&h)));
    assert_eq!(flux["mode"], 420, "`0644` is octal to both");
    assert_eq!(flux["anchors"]["merged"]["list"][1], "b");
}

#[test]
fn values_that_flux_and_helm_read_differently_are_refused() {
    let scratch = temp_dir("flux/ambiguous");
    let hr_text = with_values(AMBIGUOUS);
    let (flux, direct) = flux_view(&scratch, &hr_text);
    // The real tools disagree on every one of them.
    for key in ["a", "b", "c", "d", "e"] {
        assert_ne!(
            flux[key], direct[key],
            "{key}: {} vs {}",
            flux[key], direct[key]
        );
    }
    assert_eq!(
        (&flux["a"], &direct["a"]),
        (&Value::from("on"), &Value::from(true))
    );
    assert_eq!(flux["d"], "2002-12-14T00:00:00Z");
    let hr = write(&scratch, "hr.yaml", &hr_text);
    let out = common::run(&["flux", hr.to_str().unwrap(), "--print-values"], "");
    assert_eq!(code(&out), Some(2));
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert!(
        err.contains("line 13: spec.values: `on` is the string \"on\" to Flux but true to `helm template -f`; write true or \"on\""),
        "{err}"
    );
}

fn normalize(v: &Value) -> Value {
    match v {
        Value::Number(n) => serde_json::json!(n.as_f64()),
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), normalize(v))).collect())
        }
        other => other.clone(),
    }
}

const ORDER: &str = "warning[secret-applied-without-order]";

#[test]
fn the_order_check_reads_the_layout_of_the_repository() {
    let repo = Repo::new("order");
    let render = repo.render();
    let the0 = "testdata/flux/clusters/prod/the0.yaml";
    let layout = repo.read(the0);
    let kustomization = "testdata/flux/apps/the0/kustomization.yaml";
    let apps = repo.read(kustomization);
    let in_apps = |file: &str| {
        std::fs::write(
            repo.path(kustomization),
            apps.replace(
                "  - the0.helmrelease.yaml\n",
                &format!("  - the0.helmrelease.yaml\n  - {file}\n"),
            ),
        )
        .unwrap();
    };
    let check = |secrets: &str| -> String {
        let out = repo.sr(&["flux", HR, "--secrets-from", secrets, "--check"], &render);
        assert!(matches!(code(&out), Some(0 | 1)), "{}", stderr(&out));
        stderr(&out)
    };

    let err = check(SECRETS);
    assert!(
        !err.contains(ORDER),
        "the shipped layout orders them: {err}"
    );

    let cases: [(&str, String, &str); 3] = [
        ("no dependsOn", layout.replace("  dependsOn:\n    - name: the0-secrets\n", ""), "is applied by Flux Kustomization flux-system/the0-secrets (./testdata/flux/secrets/prod), this HelmRelease by Flux Kustomization flux-system/the0 (./testdata/flux/apps/the0), with no `dependsOn` between them"),
        ("no wait", layout.replace("  wait: true\n", ""), "without `wait: true` or a health check on it"),
        ("no Synced check", layout[..layout.find("  healthCheckExprs:").unwrap()].to_string() + &layout[layout.find("---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: the0\n").unwrap()..], "kstatus counts a SealedSecret as ready when it has no status yet"),
    ];
    for (what, text, said) in cases {
        std::fs::write(repo.path(the0), &text).unwrap();
        let err = check(SECRETS);
        assert!(err.contains(ORDER) && err.contains(said), "{what}: {err}");
        assert!(err.contains("Secret the0-root-admin in namespace the0 (SealedSecret in testdata/flux/secrets/prod/the0-root-admin.sealed.yaml:2)"), "{what}: {err}");
    }
    // A health check naming the SealedSecret waits as well as `wait: true`.
    let named = layout.replace(
        "  wait: true\n",
        "  healthChecks:\n    - {apiVersion: bitnami.com/v1alpha1, kind: SealedSecret, name: the0-root-admin, namespace: the0}\n",
    );
    std::fs::write(repo.path(the0), &named).unwrap();
    let err = check(SECRETS);
    assert!(!err.contains(ORDER), "{err}");
    std::fs::write(repo.path(the0), &layout).unwrap();

    // The SealedSecret beside the HelmRelease: one apply, unsealed after it.
    let sealed = repo.read(SEALED);
    write(
        &repo.path("testdata/flux/apps/the0"),
        "admin.sealed.yaml",
        &sealed,
    );
    in_apps("admin.sealed.yaml");
    let err = check("testdata/flux/apps/the0/admin.sealed.yaml");
    assert!(
        err.contains("are applied by the same Flux Kustomization flux-system/the0 (./testdata/flux/apps/the0); its controller writes the Secret after that apply, so helm-controller may roll Deployment/the0-api first"),
        "{err}"
    );
    std::fs::remove_file(repo.path("testdata/flux/apps/the0/admin.sealed.yaml")).unwrap();

    // A plain (or SOPS-decrypted) Secret beside it is applied before the
    // HelmRelease in the same apply: nothing to say.
    let plain = kubectl_secret(
        &repo.helm_home,
        "the0-root-admin",
        &[("password", "x")],
        "yaml",
    );
    write(&repo.path("testdata/flux/apps/the0"), "admin.yaml", &plain);
    in_apps("admin.yaml");
    let err = check("testdata/flux/apps/the0/admin.yaml");
    assert!(!err.contains(ORDER), "{err}");

    // No Flux objects: one kustomization applying both is one apply too.
    let gitops = Repo::new("order-kustomize");
    copy_dir(
        &root().join("testdata/gitops"),
        &gitops.path("testdata/gitops"),
    );
    let out = gitops.sr(
        &[
            "flux",
            "testdata/gitops/clusters/prod/the0.helmrelease.yaml",
            "--secrets-from",
            "testdata/gitops/clusters/prod",
            "--check",
        ],
        &render,
    );
    assert!(
        stderr(&out)
            .contains("are applied by the same kustomize build of testdata/gitops/clusters/prod"),
        "{}",
        stderr(&out)
    );
    // Outside any repository the layout cannot tell: nothing is said.
    let lone = temp_dir("flux/order-lone");
    let hr = write(&lone, "hr.yaml", &repo.read(HR));
    let out = repo.sr(
        &[
            "flux",
            hr.to_str().unwrap(),
            "--secrets-from",
            SECRETS,
            "--check",
        ],
        &render,
    );
    assert!(!stderr(&out).contains(ORDER), "{}", stderr(&out));
}

/// `git` in a scratch repository, with an identity of its own.
fn git(dir: &Path, args: &[&str]) -> String {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .args(args);
    run(&mut cmd, &format!("git {}", args.join(" ")))
}

/// The real pre-commit runs this repository's `.pre-commit-hooks.yaml`
/// (as committed: pre-commit clones the hook repository at a revision).
#[test]
fn the_pre_commit_hook_refreshes_the_helmrelease_after_a_reseal() {
    let repo = Repo::new("pre-commit");
    std::fs::remove_dir_all(repo.path(".git")).unwrap();
    git(&repo.dir, &["init", "-q", "-b", "main"]);
    repo.seal_admin("s3cret-one", false);
    let rev = git(&root(), &["rev-parse", "HEAD"]);
    let config = format!(
        "repos:\n  - repo: {}\n    rev: {}\n    hooks:\n      - id: secret-rollout-flux\n        \
         args: [{HR}, --secrets-from={SECRETS}, \"--render-command={RENDER}\"]\n",
        root().display(),
        rev.trim()
    );
    write(&repo.dir, ".pre-commit-config.yaml", &config);
    git(&repo.dir, &["add", "-A"]);
    git(&repo.dir, &["commit", "-qm", "the0"]);
    let pre_commit = |args: &[&str]| -> Output {
        let mut cmd = repo.cmd(&python().with_file_name("pre-commit"));
        let path = common::path_with_tools(&["helm"]);
        cmd.env("PATH", path)
            .env("PRE_COMMIT_HOME", repo.helm_home.join("pre-commit"))
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .args(args);
        run_cmd(&mut cmd, "")
    };
    // Fresh from the re-seal above: the hook writes the new stamp and fails.
    let out = pre_commit(&["run", "--all-files"]);
    let log = format!("{}{}", stdout(&out), stderr(&out));
    assert_eq!(code(&out), Some(1), "{log}");
    assert!(log.contains("files were modified by this hook"), "{log}");
    // It names what the change rolls: the password's one reader.
    assert!(
        log.contains("secret-rollout: 1 workload will roll: Deployment/the0-api"),
        "{log}"
    );
    let changed = git(&repo.dir, &["diff", "--name-only"]);
    assert_eq!(changed.trim(), HR, "{changed}");
    git(&repo.dir, &["commit", "-qam", "stamps"]);
    let out = pre_commit(&["run", "--all-files"]);
    assert_eq!(code(&out), Some(0), "{}{}", stdout(&out), stderr(&out));
    // And the CI gate agrees.
    let check = repo.flux("", &["--check", "--render-command", RENDER]);
    assert_eq!(code(&check), Some(0), "{}", stderr(&check));
}
