//! Fidelity: what secret-rollout writes means exactly what it read, plus our
//! annotations, to the Go code that will consume it.
//!
//! The oracle is the real kubectl: `kubectl patch --local -f FILE --type merge
//! -p '{}' -o json` decodes a file with the same Go YAML stack (sigs.k8s.io/yaml,
//! YAML 1.1: `on` is true, `0644` is 420) that `kubectl apply` and Helm's kube
//! client use, applies an empty merge patch (a no-op) and prints every object
//! as the JSON that would be sent to the API server. With `--local` it needs no
//! cluster; it works offline with `KUBECONFIG` pointing at an empty file (no
//! contexts, nothing to contact) and `HOME` at a scratch directory (no user
//! config, no cache). It decodes any kind, CRDs and unknown kinds included
//! (no discovery or schema is needed for a merge patch), prints `kind: List`
//! items as separate objects, skips empty and comment-only documents, and
//! accepts a BOM, CRLF and `key:<TAB>value`, all like `kubectl apply` does.
//!
//! Fixtures live in testdata/{helm3,helm4,shapes,refs}. The shapes and refs
//! fixtures say in a header comment what they cover and declare the expected
//! stamps in machine-read lines:
//!
//! ```text
//! # stamps: Deployment/web secret.app-secret configmap.app-config
//! # stamps: Job/migrate -            (present, and stamped with nothing)
//! # exit: 2                          (the tool must refuse the input)
//! ```

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::oracle::{self, diff, documents, is_ours, object_id, template_of, without_ours};
use serde_json::Value;

const FIXTURE_DIRS: [&str; 4] = ["helm3", "helm4", "shapes", "refs"];
const STALE: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

// ---------------------------------------------------------------- fixtures

struct Fixture {
    /// Path under testdata/, e.g. `shapes/bom.yaml`: how failures name it.
    name: String,
    path: PathBuf,
    text: String,
}

/// Every `*.yaml` directly under the given testdata directories, sorted.
fn fixtures_in(dirs: &[&str]) -> Vec<Fixture> {
    let mut out = Vec::new();
    for dir in dirs {
        let d = common::root().join("testdata").join(dir);
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&d)
            .unwrap_or_else(|e| panic!("reading {}: {e}", d.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        paths.sort();
        assert!(!paths.is_empty(), "no *.yaml fixtures in {}", d.display());
        for path in paths {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let name = format!("{dir}/{}", path.file_name().unwrap().to_string_lossy());
            out.push(Fixture { name, path, text });
        }
    }
    assert!(!out.is_empty(), "no fixtures found in {dirs:?}");
    out
}

fn all_fixtures() -> Vec<Fixture> {
    fixtures_in(&FIXTURE_DIRS)
}

fn fixture(name: &str) -> Fixture {
    let path = common::root().join("testdata").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    Fixture {
        name: name.to_string(),
        path,
        text,
    }
}

/// What a fixture's header declares.
#[derive(Default)]
struct Declared {
    exit: Option<i32>,
    /// `Kind/name` → short keys (`secret.x`, `configmap.y`).
    stamps: BTreeMap<String, BTreeSet<String>>,
}

fn declared(f: &Fixture) -> Declared {
    let mut d = Declared::default();
    for line in f.text.trim_start_matches('\u{feff}').lines() {
        let line = line.trim_end_matches('\r');
        if let Some(rest) = line.strip_prefix("# stamps:") {
            let mut words = rest.split_whitespace();
            let object = words
                .next()
                .expect("`# stamps:` names an object")
                .to_string();
            let keys = words.filter(|w| *w != "-").map(str::to_string).collect();
            assert!(
                d.stamps.insert(object.clone(), keys).is_none(),
                "{}: {object} declared twice",
                f.name
            );
        } else if let Some(rest) = line.strip_prefix("# exit:") {
            d.exit = Some(rest.trim().parse().expect("`# exit:` takes a number"));
        }
    }
    d
}

// ---------------------------------------------------------------- running things

struct Render {
    code: i32,
    stdout: String,
    stderr: String,
}

fn render(text: &str) -> Render {
    let out = common::run(&[], text);
    Render {
        code: out.status.code().unwrap_or(-1),
        stdout: common::stdout(&out),
        stderr: common::stderr(&out),
    }
}

/// Render a fixture that must succeed.
fn render_ok(f: &Fixture) -> String {
    let r = render(&f.text);
    assert_eq!(
        r.code, 0,
        "{}: expected exit 0, got {}; stderr:\n{}",
        f.name, r.code, r.stderr
    );
    r.stdout
}

/// The objects of a YAML file as `kubectl apply` would send them.
fn decode(scratch: &Path, file: &Path) -> Result<Vec<Value>, String> {
    oracle::decode(scratch, &[file]).map_err(|e| format!("{}: {e}", file.display()))
}

/// Decode text (not a file) with kubectl, through a file in `scratch`.
fn decode_text(scratch: &Path, name: &str, text: &str) -> Result<Vec<Value>, String> {
    let file = common::write_temp(scratch, name, text);
    decode(scratch, &file)
}

/// A fresh scratch directory. Tests run in parallel and some read the same
/// fixture, so every call gets its own directory.
fn scratch(test: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    common::temp_dir(&format!("fidelity-{test}-{n}"))
}

fn file_stem(f: &Fixture) -> String {
    f.name.replace('/', "-")
}

// ---------------------------------------------------------------- object helpers

/// Our annotations on each object's pod template (for a Pod: the object),
/// `Kind/name` → short key (`secret.x`) → value. Objects without a pod
/// template are left out.
fn stamps_of(objects: &[Value]) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for o in objects {
        let metadata = if o["kind"] == "Pod" {
            Some(&o["metadata"])
        } else {
            template_of(o).map(|t| &t["metadata"])
        };
        let Some(metadata) = metadata else { continue };
        let mut keys = BTreeMap::new();
        if let Some(annotations) = metadata["annotations"].as_object() {
            for (k, v) in annotations {
                if is_ours(k) {
                    let short = k.strip_prefix("secret-rollout/").unwrap().to_string();
                    keys.insert(short, v.as_str().unwrap_or("<not a string>").to_string());
                }
            }
        }
        out.insert(object_id(o), keys);
    }
    out
}

/// Render a fixture and read the stamps in kubectl's view of the output.
fn rendered_stamps(name: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let f = fixture(name);
    let out = render_ok(&f);
    let dir = scratch(&format!("stamps-{}", file_stem(&f)));
    let objects = decode_text(&dir, "out.yaml", &out).unwrap_or_else(|e| panic!("{}: {e}", f.name));
    stamps_of(&objects)
}

fn keys(stamps: &BTreeMap<String, String>) -> Vec<&str> {
    stamps.keys().map(String::as_str).collect()
}

// ---------------------------------------------------------------- reporting

fn report(failures: Vec<String>, what: &str) {
    assert!(
        failures.is_empty(),
        "{} fixture(s) failed: {what}\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

// ================================================================ properties over all fixtures

#[test]
fn shape_and_ref_fixtures_render_with_the_declared_exit_code() {
    let mut failures = Vec::new();
    for f in fixtures_in(&["shapes", "refs"]) {
        let want = declared(&f).exit.unwrap_or(0);
        let r = render(&f.text);
        if r.code != want {
            failures.push(format!(
                "{}: expected exit {want}, got {}; stderr:\n{}",
                f.name, r.code, r.stderr
            ));
        } else if r.code != 0 && !r.stdout.is_empty() {
            failures.push(format!(
                "{}: exit {} but wrote {} bytes to stdout (must write nothing)",
                f.name,
                r.code,
                r.stdout.len()
            ));
        }
    }
    report(failures, "exit code");
}

#[test]
fn output_means_the_same_to_kubectl_as_input_apart_from_our_annotations() {
    let dir = scratch("oracle");
    let mut failures = Vec::new();
    let mut checked = 0;
    for f in all_fixtures() {
        let r = render(&f.text);
        if r.code != 0 {
            continue;
        }
        checked += 1;
        let input = decode(&dir, &f.path);
        let output = decode_text(&dir, &format!("{}.out.yaml", file_stem(&f)), &r.stdout);
        let (input, output) = match (input, output) {
            (Ok(i), Ok(o)) => (i, o),
            (Err(e), _) => {
                failures.push(format!("{}: input: {e}", f.name));
                continue;
            }
            (_, Err(e)) => {
                failures.push(format!(
                    "{}: output: {e}\n{}",
                    f.name,
                    diff(&f.text, &r.stdout)
                ));
                continue;
            }
        };
        if input.len() != output.len() {
            let ids = |v: &[Value]| v.iter().map(object_id).collect::<Vec<_>>();
            failures.push(format!(
                "{}: kubectl sees {} objects in the input but {} in the output\n  input:  {:?}\n  output: {:?}",
                f.name,
                input.len(),
                output.len(),
                ids(&input),
                ids(&output)
            ));
            continue;
        }
        for (i, o) in input.into_iter().zip(output) {
            let id = object_id(&i);
            let (i, o) = (without_ours(i), without_ours(o));
            if i != o {
                let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap();
                failures.push(format!(
                    "{}: {id} means something else after rendering (our annotations ignored):\n{}",
                    f.name,
                    diff(&pretty(&i), &pretty(&o))
                ));
            }
        }
    }
    assert!(checked > 0, "no fixture rendered with exit 0");
    report(failures, "meaning changed");
}

#[test]
fn documents_without_our_annotations_come_out_byte_identical() {
    let mut failures = Vec::new();
    for f in all_fixtures() {
        let r = render(&f.text);
        if r.code != 0 {
            continue;
        }
        let (input, output) = (documents(&f.text), documents(&r.stdout));
        if input.len() != output.len() {
            failures.push(format!(
                "{}: {} documents in, {} out",
                f.name,
                input.len(),
                output.len()
            ));
            continue;
        }
        for (k, (i, o)) in input.iter().zip(&output).enumerate() {
            // A document may change only to add, refresh or remove our keys.
            if i != o && !(i.contains("secret-rollout/") || o.contains("secret-rollout/")) {
                failures.push(format!(
                    "{}: document {} changed but holds no annotation of ours:\n{}",
                    f.name,
                    k + 1,
                    diff(i, o)
                ));
            }
        }
    }
    report(failures, "untouched document changed");
}

#[test]
fn rendering_the_output_again_changes_nothing() {
    let mut failures = Vec::new();
    for f in all_fixtures() {
        let first = render(&f.text);
        if first.code != 0 {
            continue;
        }
        let second = render(&first.stdout);
        if second.code != 0 {
            failures.push(format!(
                "{}: second render exited {}:\n{}",
                f.name, second.code, second.stderr
            ));
        } else if second.stdout != first.stdout {
            failures.push(format!(
                "{}: second render differs from the first:\n{}",
                f.name,
                diff(&first.stdout, &second.stdout)
            ));
        }
    }
    report(failures, "not idempotent");
}

#[test]
fn shape_and_ref_fixtures_get_exactly_the_declared_stamps() {
    let dir = scratch("declared");
    let mut failures = Vec::new();
    for f in fixtures_in(&["shapes", "refs"]) {
        let d = declared(&f);
        if d.exit.is_some_and(|c| c != 0) {
            continue;
        }
        if d.stamps.is_empty() {
            failures.push(format!("{}: declares no `# stamps:` line", f.name));
            continue;
        }
        let r = render(&f.text);
        if r.code != 0 {
            failures.push(format!("{}: exit {}:\n{}", f.name, r.code, r.stderr));
            continue;
        }
        let objects = match decode_text(&dir, &format!("{}.out.yaml", file_stem(&f)), &r.stdout) {
            Ok(o) => o,
            Err(e) => {
                failures.push(format!("{}: {e}", f.name));
                continue;
            }
        };
        let got = stamps_of(&objects);
        for (object, want) in &d.stamps {
            match got.get(object) {
                None => failures.push(format!(
                    "{}: {object} is declared but kubectl sees no such workload (has {:?})",
                    f.name,
                    got.keys().collect::<Vec<_>>()
                )),
                Some(stamps) => {
                    let have: BTreeSet<String> = stamps.keys().cloned().collect();
                    if &have != want {
                        failures.push(format!(
                            "{}: {object}: expected stamps {want:?}, got {have:?}",
                            f.name
                        ));
                    }
                }
            }
        }
        for (object, stamps) in &got {
            if !d.stamps.contains_key(object) && !stamps.is_empty() {
                failures.push(format!(
                    "{}: {object} was stamped with {:?} but the fixture does not declare it",
                    f.name,
                    keys(stamps)
                ));
            }
            for (key, value) in stamps {
                let hex = value.strip_prefix("sha256:").unwrap_or("");
                let well_formed = hex.len() == 64
                    && hex
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
                if !well_formed || value == STALE {
                    failures.push(format!(
                        "{}: {object}: {key} has value {value:?}, not a fresh sha256:<64 hex>",
                        f.name
                    ));
                }
            }
        }
    }
    report(failures, "stamps differ from the declaration");
}

// ================================================================ workload kinds

#[test]
fn a_plain_job_is_not_stamped_because_its_template_is_immutable() {
    let stamps = rendered_stamps("shapes/plain-job.yaml");
    assert_eq!(keys(&stamps["Job/migrate"]), Vec::<&str>::new());
    let f = fixture("shapes/plain-job.yaml");
    assert_eq!(render_ok(&f), f.text, "the stream must come out unchanged");
}

#[test]
fn a_helm_hook_job_is_stamped() {
    let stamps = rendered_stamps("shapes/hook-job.yaml");
    assert_eq!(keys(&stamps["Job/migrate"]), ["secret.app-secret"]);
}

#[test]
fn a_bare_pod_is_not_stamped() {
    let stamps = rendered_stamps("shapes/bare-pod.yaml");
    assert_eq!(keys(&stamps["Pod/debug"]), Vec::<&str>::new());
    let f = fixture("shapes/bare-pod.yaml");
    assert_eq!(render_ok(&f), f.text, "the stream must come out unchanged");
}

#[test]
fn a_cronjob_is_stamped_on_its_job_template() {
    let f = fixture("shapes/cronjob.yaml");
    let dir = scratch("cronjob");
    let objects = decode_text(&dir, "out.yaml", &render_ok(&f)).unwrap();
    let cron = objects.iter().find(|o| o["kind"] == "CronJob").unwrap();
    let annotations = &cron["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["annotations"];
    assert!(
        annotations["secret-rollout/secret.app-secret"].is_string(),
        "no stamp on spec.jobTemplate.spec.template: {cron:#}"
    );
    assert!(
        cron["spec"]["template"].is_null(),
        "a CronJob has no spec.template"
    );
    assert!(
        cron["spec"]["jobTemplate"]["metadata"]["annotations"].is_null(),
        "the jobTemplate's own metadata is not the pod template"
    );
}

#[test]
fn statefulset_and_daemonset_are_stamped() {
    assert_eq!(
        keys(&rendered_stamps("shapes/statefulset.yaml")["StatefulSet/db"]),
        ["secret.app-secret"]
    );
    assert_eq!(
        keys(&rendered_stamps("shapes/daemonset.yaml")["DaemonSet/agent"]),
        ["secret.app-secret"]
    );
}

// ================================================================ references

#[test]
fn an_optional_reference_to_an_absent_object_adds_no_annotation_and_no_warning() {
    let f = fixture("refs/optional-absent.yaml");
    let r = render(&f.text);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Only the run's note about unkeyed digests: the optional absent
    // reference is not worth a word.
    let findings: Vec<&str> = r.stderr.lines().filter(|l| l.contains("]: ")).collect();
    assert_eq!(
        findings.len(),
        1,
        "an optional absent reference is not worth a word:\n{}",
        r.stderr
    );
    assert!(
        findings[0].starts_with("note[unkeyed-digest]"),
        "{}",
        r.stderr
    );
    assert_eq!(
        keys(&rendered_stamps("refs/optional-absent.yaml")["Deployment/web"]),
        ["secret.app-secret"]
    );
}

#[test]
fn a_secret_in_another_namespace_is_not_matched() {
    let stamps = rendered_stamps("refs/other-namespace.yaml");
    assert_eq!(keys(&stamps["Deployment/web"]), ["secret.app-secret"]);
    let r = render(&fixture("refs/other-namespace.yaml").text);
    assert!(
        r.stderr.contains("shared-secret"),
        "the unmatched reference should be reported as unresolved:\n{}",
        r.stderr
    );
}

#[test]
fn a_volume_with_items_digests_only_the_listed_keys() {
    let items = rendered_stamps("refs/volume-secret-items.yaml");
    let whole = rendered_stamps("refs/volume-secret.yaml");
    let by_items = &items["Deployment/web"]["secret.app-secret"];
    let by_env = &items["Deployment/env"]["secret.app-secret"];
    let by_whole = &whole["Deployment/web"]["secret.app-secret"];
    assert_eq!(
        by_items, by_env,
        "items [tls.crt] and secretKeyRef tls.crt consume the same content"
    );
    assert_ne!(
        by_items, by_whole,
        "a whole-Secret volume consumes every key"
    );
}

#[test]
fn every_reference_kind_is_found() {
    let cases = [
        (
            "refs/env-secret-key-ref.yaml",
            "Deployment/web",
            &["secret.app-secret"][..],
        ),
        (
            "refs/env-configmap-key-ref.yaml",
            "Deployment/web",
            &["configmap.app-config"],
        ),
        (
            "refs/envfrom-secret-ref.yaml",
            "Deployment/web",
            &["secret.app-secret"],
        ),
        (
            "refs/envfrom-configmap-ref.yaml",
            "Deployment/web",
            &["configmap.app-config"],
        ),
        (
            "refs/volume-secret.yaml",
            "Deployment/web",
            &["secret.app-secret"],
        ),
        (
            "refs/volume-secret-items.yaml",
            "Deployment/web",
            &["secret.app-secret"],
        ),
        (
            "refs/volume-configmap.yaml",
            "Deployment/whole",
            &["configmap.app-config"],
        ),
        (
            "refs/volume-configmap.yaml",
            "Deployment/items",
            &["configmap.app-config"],
        ),
        (
            "refs/projected.yaml",
            "Deployment/web",
            &["configmap.app-config", "secret.app-secret"],
        ),
        (
            "refs/init-containers.yaml",
            "Deployment/web",
            &["configmap.app-config", "secret.app-secret"],
        ),
    ];
    let mut failures = Vec::new();
    for (name, object, want) in cases {
        let stamps = rendered_stamps(name);
        let have = stamps.get(object).map(keys).unwrap_or_default();
        if have != want {
            failures.push(format!("{name}: {object}: expected {want:?}, got {have:?}"));
        }
    }
    report(failures, "reference not found");
}

// ================================================================ text shapes

#[test]
fn stale_keys_of_ours_are_removed_or_refreshed_and_others_kept() {
    for name in [
        "shapes/stale-keys-block.yaml",
        "shapes/stale-keys-flow.yaml",
    ] {
        let f = fixture(name);
        let out = render_ok(&f);
        assert!(
            !out.contains("secret-rollout/secret.gone"),
            "{name}: stale key kept:\n{out}"
        );
        assert!(!out.contains(STALE), "{name}: stale value kept:\n{out}");
        assert!(
            out.contains("example.com/owner: team-a"),
            "{name}: foreign key lost:\n{out}"
        );
    }
    let f = fixture("shapes/stale-only-key.yaml");
    let dir = scratch("stale-only");
    let objects = decode_text(&dir, "out.yaml", &render_ok(&f)).unwrap();
    let idle = objects
        .iter()
        .find(|o| object_id(o) == "Deployment/idle")
        .unwrap();
    assert_eq!(
        idle["spec"]["template"]["metadata"]["annotations"],
        serde_json::json!({}),
        "the last (stale) key removed leaves an empty mapping"
    );
}

#[test]
fn crlf_line_endings_are_kept_in_inserted_lines() {
    let f = fixture("shapes/crlf.yaml");
    assert!(
        f.text.contains("\r\n"),
        "fixture lost its CRLF (see .gitattributes)"
    );
    let out = render_ok(&f);
    assert_ne!(out, f.text, "nothing was stamped");
    for (k, line) in out.split_inclusive('\n').enumerate() {
        assert!(
            line.ends_with("\r\n"),
            "line {} ends in a bare LF: {line:?}",
            k + 1
        );
    }
}

#[test]
fn a_byte_order_mark_is_kept() {
    let f = fixture("shapes/bom.yaml");
    assert!(f.text.starts_with('\u{feff}'), "fixture lost its BOM");
    let out = render_ok(&f);
    assert!(out.starts_with('\u{feff}'), "BOM dropped");
    assert_eq!(out.matches('\u{feff}').count(), 1);
}

#[test]
fn a_stream_without_final_newline_keeps_its_end() {
    let f = fixture("shapes/no-trailing-newline.yaml");
    assert!(!f.text.ends_with('\n'), "fixture gained a final newline");
    let out = render_ok(&f);
    assert!(out.contains("secret-rollout/secret.app-secret"));
    assert!(
        out.starts_with(&f.text),
        "text was changed, not appended to:\n{}",
        diff(&f.text, &out)
    );
    assert!(!out.ends_with('\n'), "a final newline was added");
}

#[test]
fn yaml_1_1_scalars_keep_their_go_meaning() {
    let f = fixture("shapes/yaml11-scalars.yaml");
    let dir = scratch("yaml11");
    let objects = decode_text(&dir, "out.yaml", &render_ok(&f)).unwrap();
    let web = objects
        .iter()
        .find(|o| object_id(o) == "Deployment/web")
        .unwrap();
    let spec = &web["spec"];
    let pod = &spec["template"]["spec"];
    let annotations = &spec["template"]["metadata"]["annotations"];
    assert_eq!(spec["replicas"], 1000, "1_000");
    assert_eq!(spec["revisionHistoryLimit"], Value::Null, "~");
    assert_eq!(spec["paused"], false, "no");
    assert_eq!(annotations["example.com/flag"], true, "on");
    assert_eq!(annotations["example.com/mode"], 420, "0644");
    assert_eq!(annotations["example.com/count"], 1000, "1_000");
    assert_eq!(pod["automountServiceAccountToken"], true, "yes");
    assert_eq!(pod["enableServiceLinks"], false, "off");
    assert_eq!(pod["terminationGracePeriodSeconds"], 30, "0x1e");
    assert_eq!(pod["containers"][0]["tty"], true, "y");
    assert_eq!(pod["volumes"][0]["configMap"]["defaultMode"], 420, "0644");
}

#[test]
fn content_after_a_document_end_marker_without_a_new_document_is_refused() {
    // kubectl and Helm cut documents only at `---`, and Go's YAML decoder reads
    // the first document of each piece: what follows `...` up to the next
    // `---` never reaches the cluster. Stamping from it (or stamping it) would
    // act on objects nobody applies, so the tool refuses the stream.
    let f = fixture("shapes/content-after-document-end.yaml");
    let r = render(&f.text);
    assert_eq!(r.code, 2, "stderr:\n{}", r.stderr);
    assert_eq!(r.stdout, "", "nothing may be written on a refusal");
    assert!(
        r.stderr.contains("..."),
        "the message names the marker:\n{}",
        r.stderr
    );
    let dir = scratch("after-end");
    let objects = decode(&dir, &f.path).unwrap();
    assert!(
        !objects.iter().any(|o| object_id(o) == "Secret/late-secret"),
        "premise: kubectl ignores the content after `...`"
    );
}
