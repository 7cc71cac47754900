//! `secret-rollout kustomization`: the stamp transformer it keeps beside a
//! kustomization, built with the real kustomize (kubectl 1.37.1) and
//! decoded with kubectl. The kustomization renames and moves what it
//! builds (`namePrefix`, `namespace`), which is where `patches:` and
//! `transformers:` differ.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::gitops::{kubectl_secret, run, write};
use common::manifests::all_stamps;
use common::oracle::{self, decode, object_id};
use common::{root, run_cmd, stderr, stdout, temp_dir, tool};
use serde_json::Value;

const KUSTOMIZATION: &str = "# prod: the0's render, renamed and moved\n\
apiVersion: kustomize.config.k8s.io/v1beta1\n\
kind: Kustomization\n\
namespace: the0\n\
namePrefix: prod-\n\
resources:\n\
  - the0.yaml\n\
  - the0-root-admin.yaml # kubectl create secret … --dry-run=client -o yaml\n";

fn helm_render(scratch: &Path) -> String {
    let mut cmd = std::process::Command::new(tool("helm"));
    cmd.current_dir(root())
        .env("HELM_CONFIG_HOME", scratch.join("helm"))
        .args([
            "template",
            "the0",
            "testdata/charts/the0",
            "-f",
            "testdata/charts/values/good.yaml",
        ]);
    run(&mut cmd, "helm template")
}

fn build(scratch: &Path, dir: &Path) -> String {
    let mut k = oracle::kubectl(scratch);
    run(k.arg("kustomize").arg(dir), "kubectl kustomize")
}

fn sr(args: &[&str], stdin: &str) -> Output {
    let mut cmd = common::bin();
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("SECRET_ROLLOUT_") {
            cmd.env_remove(key);
        }
    }
    run_cmd(cmd.args(args), stdin)
}

fn objects(scratch: &Path, name: &str, text: &str) -> BTreeMap<String, Value> {
    let f = write(scratch, name, text);
    decode(scratch, &[&f])
        .unwrap()
        .into_iter()
        .map(|o| (object_id(&o), o))
        .collect()
}

struct Dir {
    scratch: PathBuf,
    dir: PathBuf,
}

impl Dir {
    fn new(name: &str) -> Dir {
        let scratch = temp_dir(&format!("kustomization/{name}"));
        let dir = scratch.join("prod");
        write(&dir, "the0.yaml", &helm_render(&scratch));
        write(&dir, "kustomization.yaml", KUSTOMIZATION);
        let d = Dir { scratch, dir };
        d.admin("s3cret-one");
        d
    }

    fn admin(&self, password: &str) {
        let s = kubectl_secret(
            &self.scratch,
            "the0-root-admin",
            &[("password", password)],
            "yaml",
        );
        write(&self.dir, "the0-root-admin.yaml", &s);
    }

    fn build(&self) -> String {
        build(&self.scratch, &self.dir)
    }

    fn run(&self, extra: &[&str]) -> Output {
        let k = self.dir.join("kustomization.yaml");
        let mut args = vec!["kustomization", k.to_str().unwrap()];
        args.extend_from_slice(extra);
        sr(&args, &self.build())
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap()
    }
}

#[test]
fn the_built_kustomization_means_what_render_writes() {
    let d = Dir::new("build");
    let before = d.build();
    let out = d.run(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        d.read("kustomization.yaml"),
        format!("{KUSTOMIZATION}transformers:\n  - secret-rollout.transformer.yaml\n"),
        "one line added, every other byte kept"
    );
    let rendered = sr(&["render"], &before);
    assert_eq!(rendered.status.code(), Some(0), "{}", stderr(&rendered));
    let want = objects(&d.scratch, "rendered.yaml", &stdout(&rendered));
    let after = d.build();
    let got = objects(&d.scratch, "after.yaml", &after);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (id, o) in &got {
        let (a, b) = (
            serde_json::to_string_pretty(o).unwrap(),
            serde_json::to_string_pretty(&want[id]).unwrap(),
        );
        assert!(a == b, "{id}:\n{}", oracle::diff(&b, &a));
    }
    let stamps = all_stamps(&after);
    assert!(
        stamps["Deployment/prod-the0-api"].contains_key("secret.prod-the0-root-admin"),
        "{stamps:?}"
    );

    // The same patches under `patches:` name objects kustomize has not yet
    // renamed: they match nothing, and nothing says so.
    let transformer = d.read("secret-rollout.transformer.yaml");
    let patches: Vec<Value> = secret_rollout::front::kustomization::read_transformer(&transformer)
        .unwrap()
        .iter()
        .map(|s| s.json())
        .collect();
    let other = d.scratch.join("as-patches");
    std::fs::create_dir_all(&other).unwrap();
    for f in ["the0.yaml", "the0-root-admin.yaml"] {
        std::fs::copy(d.dir.join(f), other.join(f)).unwrap();
    }
    let k = serde_json::json!({"namespace": "the0", "namePrefix": "prod-", "resources": ["the0.yaml", "the0-root-admin.yaml"], "patches": patches});
    write(&other, "kustomization.yaml", &k.to_string());
    assert!(all_stamps(&build(&d.scratch, &other)).is_empty());
}

#[test]
fn a_rotation_refreshes_exactly_its_readers_and_a_second_run_is_a_no_op() {
    let d = Dir::new("rotation");
    assert_eq!(d.run(&[]).status.code(), Some(0));
    let check = d.run(&["--check"]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "the build now has our stamps: {}",
        stderr(&check)
    );
    let before = d.read("secret-rollout.transformer.yaml");

    d.admin("s3cret-two");
    let check = d.run(&["--check"]);
    assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
    let diff = stdout(&check);
    let changed = common::changed_lines(&diff);
    assert_eq!(changed.len(), 2, "{diff}");
    assert!(
        changed
            .iter()
            .all(|l| l.contains("secret-rollout/secret.prod-the0-root-admin: ")),
        "{diff}"
    );
    assert_eq!(
        d.read("secret-rollout.transformer.yaml"),
        before,
        "--check writes nothing"
    );

    assert_eq!(d.run(&[]).status.code(), Some(0));
    let after = d.read("secret-rollout.transformer.yaml");
    let read = |t: &str| secret_rollout::front::kustomization::read_transformer(t).unwrap();
    let (a, b) = (read(&before), read(&after));
    let differing: Vec<String> = a
        .iter()
        .zip(&b)
        .filter(|(x, y)| x != y)
        .map(|(x, _)| x.display())
        .collect();
    assert_eq!(differing, ["Deployment/prod-the0-api in namespace the0"]);
    assert_eq!(d.run(&[]).status.code(), Some(0));
    assert_eq!(
        d.read("secret-rollout.transformer.yaml"),
        after,
        "byte-identical no-op"
    );
    assert_eq!(d.run(&["--check"]).status.code(), Some(0));
}

#[test]
fn a_foreign_transformer_file_or_an_empty_build_is_refused() {
    let d = Dir::new("bad");
    write(
        &d.dir,
        "secret-rollout.transformer.yaml",
        "apiVersion: builtin\nkind: LabelTransformer\nmetadata: {name: mine}\n",
    );
    let out = d.run(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is not a PatchTransformer that secret-rollout wrote"),
        "{}",
        stderr(&out)
    );
    assert_eq!(d.read("kustomization.yaml"), KUSTOMIZATION);
    std::fs::remove_file(d.dir.join("secret-rollout.transformer.yaml")).unwrap();
    let k = d.dir.join("kustomization.yaml");
    let out = sr(&["kustomization", d.dir.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("the build is empty"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(k).unwrap(), KUSTOMIZATION);
}

/// The README's command, word for word, over this repository's testdata.
const README_KUSTOMIZE: &str =
    "kubectl kustomize testdata/kustomize/prod | secret-rollout kustomization testdata/kustomize/prod --check";

#[test]
fn the_shipped_kustomization_is_up_to_date() {
    let readme = common::user_docs();
    assert!(
        readme.contains(README_KUSTOMIZE),
        "the README shows this command"
    );
    let scratch = temp_dir("kustomization/shipped");
    let path = common::path_with_tools(&["kubectl"]);
    std::fs::write(scratch.join("kubeconfig"), "").unwrap();
    let mut sh = std::process::Command::new("bash");
    sh.current_dir(root())
        .env("PATH", &path)
        .env("KUBECONFIG", scratch.join("kubeconfig"))
        .env("HOME", &scratch)
        .args(["-o", "pipefail", "-c", README_KUSTOMIZE]);
    let out = run_cmd(&mut sh, "");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("secret-rollout: up to date"),
        "{}",
        stderr(&out)
    );
    // The build applies the SealedSecret with the api that reads it, as
    // `flux` warns for a HelmRelease in the same apply.
    assert!(
        stderr(&out).contains(
            "warning[secret-applied-without-order]: Secret the0-root-admin in namespace the0 \
             (from SealedSecret the0-root-admin) is applied by the same build as Deployment/the0-api"
        ),
        "{}",
        stderr(&out)
    );
    // The same with the build run by secret-rollout (as the pre-commit hook does).
    let mut cmd = common::bin();
    cmd.current_dir(root())
        .env("PATH", &path)
        .env("KUBECONFIG", scratch.join("kubeconfig"))
        .env("HOME", &scratch)
        .args([
            "kustomization",
            "testdata/kustomize/prod",
            "--check",
            "--render-command",
            "kubectl kustomize testdata/kustomize/prod",
        ]);
    let out = run_cmd(&mut cmd, "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}
