#![allow(dead_code)] // each fuzz target uses one of the checks
//! The properties the fuzz targets check, shared with the test that replays
//! their corpus (tests/fuzz_corpus.rs): no panic (the harness sees one), the
//! output means the input plus our annotations, a second run is a no-op.

use std::collections::BTreeMap;

use secret_rollout::fuzzing::{self, decode, parse_document, Input};
use secret_rollout::yaml::stream::split;
use secret_rollout::yaml::tree::{fast, parse_document_scanned};
use secret_rollout::{analyze, apply, Options};
use serde_json::Value;

/// Our annotation keys (the prefix and kinds `stamp::annotation_key` writes).
fn is_ours(key: &str) -> bool {
    key.starts_with("secret-rollout/secret.") || key.starts_with("secret-rollout/configmap.")
}

/// Drop our annotations anywhere, and maps that are then empty or were null
/// under `metadata`/`annotations` (the API server treats them as absent).
fn without_ours(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Object(a)) = m.get_mut("annotations") {
                a.retain(|k, _| !is_ours(k));
            }
            for key in ["annotations", "metadata"] {
                let empty = match m.get(key) {
                    Some(Value::Null) => true,
                    Some(Value::Object(o)) => o.is_empty(),
                    _ => false,
                };
                if empty {
                    m.remove(key);
                }
            }
            m.values_mut().for_each(without_ours);
            for key in ["annotations", "metadata"] {
                if matches!(m.get(key), Some(Value::Object(o)) if o.is_empty()) {
                    m.remove(key);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(without_ours),
        _ => {}
    }
}

fn meaning(text: &str) -> Option<Vec<Value>> {
    let mut objects = decode(text).ok()?;
    objects.iter_mut().for_each(without_ours);
    Some(objects)
}

/// The whole pipeline on arbitrary bytes.
pub fn stream(bytes: &[u8]) {
    let Ok(input) = Input::from_bytes(bytes.to_vec()) else {
        return;
    };
    let text = input.text();
    fast_reader(text);
    let Ok(mut analysis) = analyze(text, &Options::default()) else {
        return;
    };
    let output = apply(text, &mut analysis);
    let mut again = analyze(&output, &Options::default())
        .unwrap_or_else(|e| panic!("our output is refused: {e}\n{output}"));
    assert_eq!(
        apply(&output, &mut again),
        output,
        "a second run changed the output"
    );
    if let Some(before) = meaning(text) {
        let after = meaning(&output).expect("the output decodes when the input did");
        assert_eq!(before, after, "the output means something else\n{output}");
    }
    // Writing in the input's own encoding gives the same bytes as `apply`.
    let mut written = Vec::new();
    input
        .write(&mut analysis.edits.clone(), &mut written)
        .unwrap();
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return;
    }
    if std::str::from_utf8(bytes).is_ok() {
        assert_eq!(written, output.as_bytes());
    }
}

/// The fast reader of plain block YAML against the scanner, on every
/// document of a stream: where it reads one, the scanner reads the same tree,
/// field for field; where it gives up, the reader's answer is the scanner's
/// (the same tree, or the same error). Returns how many documents it read.
pub fn fast_reader(text: &str) -> usize {
    let mut read = 0;
    for doc in split(text) {
        let (base, line) = (doc.range.start, doc.line);
        let slice = &text[doc.range];
        let full = parse_document_scanned(slice, base, line);
        if let Some(fast) = fast::read(slice, base, line) {
            read += 1;
            let full = full.as_ref().unwrap_or_else(|e| {
                panic!("the fast reader reads what the scanner refuses ({e}):\n{slice}")
            });
            match (&fast, full) {
                (Some(a), Some(b)) => assert!(
                    fast::same(a, b),
                    "the fast reader's tree differs from the scanner's:\n{slice}\n{a:#?}\n{b:#?}"
                ),
                (None, None) => {}
                _ => panic!("one reader finds content, the other none:\n{slice}"),
            }
        }
        match (parse_document(slice, base, line), &full) {
            (Ok(Some(a)), Ok(Some(b))) => assert!(fast::same(&a, b), "{slice}"),
            (Ok(None), Ok(None)) => {}
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{slice}"),
            (got, want) => panic!("the reader answers {got:?}, the scanner {want:?}:\n{slice}"),
        }
    }
    read
}

/// One document as a pod template (its `template:` value, or itself), a
/// set of our annotations chosen by the first byte.
pub fn editor(bytes: &[u8]) {
    let Some((&choice, rest)) = bytes.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let values = ["sha256:1", "a\u{2028}b \"q\" \\ \u{feff}", "", "on"];
    let mut desired = BTreeMap::new();
    for (i, name) in ["s", "t.u", "v-w"].iter().enumerate() {
        if choice & (1 << i) != 0 {
            let value = values[usize::from(choice >> 4) % values.len()];
            desired.insert(format!("secret-rollout/secret.{name}"), value.to_string());
        }
    }
    let Ok(Some(root)) = parse_document(text, 0, 1) else {
        return;
    };
    let template = root.get("template").unwrap_or(&root);
    let Ok(mut edits) = fuzzing::annotations(text, template, &desired) else {
        return;
    };
    let output = fuzzing::apply(text, &mut edits);
    let again = parse_document(&output, 0, 1)
        .unwrap_or_else(|e| panic!("our output does not parse: {e}\n{output}"))
        .expect("the output has content");
    let template_again = again.get("template").unwrap_or(&again);
    let more = fuzzing::annotations(&output, template_again, &desired).expect("a second run works");
    assert!(
        more.is_empty(),
        "a second run edits again: {more:?}\n{output}"
    );
    let annotations = template_again.path(&["metadata", "annotations"]);
    let ours: BTreeMap<String, String> = annotations
        .and_then(|a| a.as_map())
        .map(|m| {
            m.pairs()
                .into_iter()
                .filter(|(k, _)| is_ours(k))
                .map(|(k, v)| (k.to_string(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        ours, desired,
        "our annotations are not what we wrote\n{output}"
    );
    if let (Some(mut a), Some(mut b)) = (root.to_json(), again.to_json()) {
        without_ours(&mut a);
        without_ours(&mut b);
        assert_eq!(a, b, "the output means something else\n{output}");
    }
}
