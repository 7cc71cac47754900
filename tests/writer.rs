//! The write layer against Go itself: every string the one scalar writer
//! writes, in each context and form (a plain-where-safe value, a quoted
//! value, a literal block, an item of a block and of a flow sequence, a
//! key, a JSON document), is read back by the real kubectl (goyaml.v2
//! through sigs.k8s.io/yaml; Go's encoding/json for JSON) as exactly the
//! string written. Strings stress every rule: each line break Go knows,
//! quotes, indicators, blanks at either end, YAML 1.1 words, numbers,
//! non-ASCII and control characters, and arbitrary text.

mod common;

use common::oracle;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use secret_rollout::fuzzing::TRICKY_PIECES as PIECES;
use secret_rollout::yaml::write::content::{Content, Field, Flow};
use secret_rollout::yaml::write::scalar::{scalar, Context};
use serde_json::Value;

/// A fixed set (each piece alone, then pairs) and random strings, the same
/// on every run.
fn strings() -> Vec<String> {
    let mut out: Vec<String> = PIECES.iter().map(|p| p.to_string()).collect();
    out.push(String::new());
    for (i, a) in PIECES.iter().enumerate() {
        out.push(format!("{a}x{}", PIECES[(i * 7 + 3) % PIECES.len()]));
    }
    let mut runner = TestRunner::deterministic();
    let pieces =
        prop::collection::vec(prop::sample::select(PIECES.to_vec()), 1..6).prop_map(|p| p.concat());
    let random = prop_oneof![pieces, any::<String>()];
    for _ in 0..300 {
        out.push(random.new_tree(&mut runner).unwrap().current());
    }
    out
}

/// An object holding `s` in every form the writer has, as a YAML document.
fn object(i: usize, s: &str) -> String {
    let pair = |k: &str, v: Content| Field::Pair(k.to_string(), v);
    let block = Content::Map(vec![
        pair("apiVersion", Content::str("example.com/v1")),
        pair("kind", Content::str("Written")),
        pair(
            "metadata",
            Content::map([("name", Content::str(format!("w{i}")))]),
        ),
        pair("plain", Content::str(s)),
        pair("quoted", Content::quoted(s)),
        pair("text", Content::Text(s.to_string())),
        pair("lines", Content::Text(format!("{s}\n"))),
        pair(
            "seq",
            Content::Seq(vec![Content::str(s), Content::quoted(s)]),
        ),
        pair("keys", Content::map([(s, Content::Int(1))])),
    ]);
    let flow = Content::Seq(vec![Content::str(s), Content::quoted(s)]).flow(Flow::Yaml);
    let json = Content::map([(s, Content::quoted(s))]).flow(Flow::Json);
    // The scalar writer alone, as a value and as a key.
    let (plain, quoted) = (scalar(s, Context::Yaml), scalar(s, Context::Quoted));
    format!(
        "{}flow: {flow}\njson: {json}\nbare: [{plain}, {quoted}]\n{plain}: key\n",
        block.document()
    )
}

#[test]
fn every_string_the_writer_writes_is_the_string_go_reads() {
    let strings = strings();
    let dir = common::temp_dir("writer-go-reads");
    let yaml: Vec<String> = strings
        .iter()
        .enumerate()
        .map(|(i, s)| object(i, s))
        .collect();
    let yaml_file = dir.join("written.yaml");
    std::fs::write(&yaml_file, yaml.join("---\n")).unwrap();
    // A stream of JSON objects: kubectl reads it with Go's encoding/json.
    let json: Vec<String> = strings
        .iter()
        .enumerate()
        .map(|(i, s)| {
            Content::map([
                ("apiVersion", Content::str("example.com/v1")),
                ("kind", Content::str("Written")),
                (
                    "metadata",
                    Content::map([("name", Content::str(format!("j{i}")))]),
                ),
                ("quoted", Content::quoted(s)),
            ])
            .flow(Flow::Json)
        })
        .collect();
    let json_file = dir.join("written.json");
    std::fs::write(&json_file, json.join("\n")).unwrap();

    let objects = oracle::decode(&dir, &[&yaml_file]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(objects.len(), strings.len());
    for (s, o) in strings.iter().zip(&objects) {
        let want = Value::from(s.as_str());
        for field in ["plain", "quoted", "text"] {
            assert_eq!(o[field], want, "{field} of {s:?}:\n{}", object(0, s));
        }
        assert_eq!(o["lines"], Value::from(format!("{s}\n")), "{s:?}");
        assert_eq!(o["seq"], serde_json::json!([s, s]), "{s:?}");
        assert_eq!(o["flow"], serde_json::json!([s, s]), "{s:?}");
        assert_eq!(o["bare"], serde_json::json!([s, s]), "{s:?}");
        assert_eq!(o[s.as_str()], Value::from("key"), "{s:?}");
        let keys: Vec<&String> = o["keys"].as_object().unwrap().keys().collect();
        assert_eq!(keys, [s], "{s:?}");
        assert_eq!(o["json"][s.as_str()], want, "{s:?}");
    }
    let objects = oracle::decode(&dir, &[&json_file]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(objects.len(), strings.len());
    for (s, o) in strings.iter().zip(&objects) {
        assert_eq!(o["quoted"], Value::from(s.as_str()), "{s:?}");
    }
}

/// A JSON document we stamp stays JSON: kubectl reads a stream that starts
/// with `{` with Go's encoding/json, which would refuse a YAML flow entry.
#[test]
fn a_json_document_stays_json_and_means_the_same() {
    let secret = r#"{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "stringData": {"a": "b"}}"#;
    let workloads = [
        r#"{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"}, "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i", "envFrom": [{"secretRef": {"name": "db"}}]}]}}}}"#,
        r#"{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "b"}, "spec": {"template": {"metadata": {}, "spec": {"containers": [{"name": "c", "image": "i", "envFrom": [{"secretRef": {"name": "db"}}]}]}}}}"#,
        r#"{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "c"}, "spec": {"template": {"metadata": {"annotations": {"team": "core"}}, "spec": {"containers": [{"name": "c", "image": "i", "envFrom": [{"secretRef": {"name": "db"}}]}]}}}}"#,
        r#"{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"metadata": null, "spec": {"containers": [{"name": "c", "image": "i", "envFrom": [{"secretRef": {"name": "db"}}]}]}}}}"#,
    ];
    let dir = common::temp_dir("writer-json-stays-json");
    for (i, w) in workloads.iter().enumerate() {
        // The workload first: kubectl reads the stream's start as JSON.
        let input = format!("{w}\n---\n{secret}\n");
        let out = common::run(&["render"], &input);
        assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
        let out = common::stdout(&out);
        let stamped = out.split("\n---\n").next().unwrap();
        let json: Value =
            serde_json::from_str(stamped).unwrap_or_else(|e| panic!("{e}: {stamped}"));
        let annotations = &json["spec"]["template"]["metadata"]["annotations"];
        assert!(
            annotations["secret-rollout/secret.db"]
                .as_str()
                .is_some_and(|d| d.starts_with("sha256:")),
            "{stamped}"
        );
        let file = common::write_temp(&dir, &format!("{i}.json"), &out);
        let before = common::write_temp(&dir, &format!("{i}.in.json"), &input);
        let read = |f: &std::path::Path| {
            oracle::decode(&dir, &[f])
                .unwrap_or_else(|e| panic!("{e}"))
                .into_iter()
                .map(oracle::without_ours)
                .collect::<Vec<_>>()
        };
        assert_eq!(read(&file), read(&before), "{out}");
    }
}
