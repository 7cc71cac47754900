//! Edits keep meaning: what `krm` and `flux` write into a user's file means
//! to Go's YAML reader what it meant before, plus our entry, and a second
//! run changes nothing.

mod common;

use std::path::Path;

use common::{fixture, run, stderr, stdout, temp_dir};
use serde_yaml::Value;

fn krm_twice(input: &str) -> (String, String) {
    let once = run(&["krm"], input);
    assert_eq!(once.status.code(), Some(0), "{}", stderr(&once));
    let once = stdout(&once);
    let twice = run(&["krm"], &once);
    assert_eq!(twice.status.code(), Some(0), "{}", stderr(&twice));
    (once, stdout(&twice))
}

/// The ResourceList as a YAML 1.1 reader of the libyaml family (like
/// go-yaml) reads it.
fn results(text: &str) -> Vec<Value> {
    let list: Value = serde_yaml::from_str(text).expect("the output is YAML");
    assert_eq!(list["kind"], "ResourceList");
    assert_eq!(list["items"].as_sequence().unwrap().len(), 2);
    list["results"].as_sequence().expect("results").clone()
}

#[test]
fn krm_after_a_byte_order_mark_writes_results_at_column_0_and_is_idempotent() {
    let input = fixture("krm/byte-order-mark.yaml");
    assert!(input.starts_with('\u{feff}'));
    let (once, twice) = krm_twice(&input);
    assert!(once.starts_with('\u{feff}'), "the mark is kept");
    assert!(once.contains("\nresults:\n- message: "), "{once}");
    assert!(!once.contains(" results:"), "results at column 0: {once}");
    assert_eq!(twice, once, "a second run changes nothing");
    let results = results(once.trim_start_matches('\u{feff}'));
    assert!(results
        .iter()
        .any(|r| r["tags"]["rule"] == "sensitive-env-plain-value"));
}

#[test]
fn krm_with_lone_cr_line_ends_writes_them_and_is_idempotent() {
    let input = fixture("krm/lone-cr.yaml");
    assert!(!input.contains('\n'));
    let (once, twice) = krm_twice(&input);
    assert!(!once.contains('\n'), "the file's own line break: {once:?}");
    assert!(once.contains("\rresults:\r- message: "), "{once:?}");
    assert_eq!(twice, once, "a second run changes nothing");
    // Results name the item each finding is in, counting lone-CR lines as
    // Go does.
    let results = results(&once.replace('\r', "\n"));
    let plain = results
        .iter()
        .find(|r| r["tags"]["rule"] == "sensitive-env-plain-value")
        .expect("the plain API_TOKEN");
    assert_eq!(plain["resourceRef"]["name"], "web", "{results:?}");
    assert_eq!(plain["file"]["path"], "web.yaml");
}

fn flux(file: &Path) -> std::process::Output {
    run(
        &["flux", file.to_str().unwrap()],
        &fixture("edits/render.yaml"),
    )
}

#[test]
fn flux_refuses_post_renderers_from_a_merge_key_and_leaves_the_file_alone() {
    let dir = temp_dir("edits/merge-key");
    let file = dir.join("app.helmrelease.yaml");
    let original = fixture("edits/helmrelease-merge-key.yaml");
    for check in [false, true] {
        std::fs::write(&file, &original).unwrap();
        let mut args = vec!["flux", file.to_str().unwrap()];
        if check {
            args.push("--check");
        }
        let out = run(&args, &fixture("edits/render.yaml"));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("line 15: spec.postRenderers comes through a merge key (`<<`)"),
            "{err}"
        );
        assert_eq!(stdout(&out), "");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
    }
}

#[test]
fn flux_writes_through_a_symlinked_helmrelease_to_its_target() {
    let dir = temp_dir("edits/symlink");
    let target = dir.join("shared/app.helmrelease.yaml");
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::write(&target, fixture("edits/helmrelease.yaml")).unwrap();
    let link = dir.join("app.helmrelease.yaml");
    std::os::unix::fs::symlink("shared/app.helmrelease.yaml", &link).unwrap();
    let out = flux(&link);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let meta = std::fs::symlink_metadata(&link).unwrap();
    assert!(meta.file_type().is_symlink(), "the link stays a link");
    let written = std::fs::read_to_string(&target).unwrap();
    assert!(
        written.contains("secret-rollout/secret.app-db: \"sha256:"),
        "the target holds the entry: {written}"
    );
    // Nothing left beside the link or the target.
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .chain(std::fs::read_dir(target.parent().unwrap()).unwrap())
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["app.helmrelease.yaml", "app.helmrelease.yaml", "shared"]
    );
    // And a second run through the link finds it up to date.
    let again = run(
        &["flux", link.to_str().unwrap(), "--check"],
        &fixture("edits/render.yaml"),
    );
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
}
