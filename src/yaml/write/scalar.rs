//! The one scalar writer: every string we write into YAML (annotation
//! values, names and keys in patches, KRM results, flow items) is written
//! here, in the form its [`Context`] asks for.
//!
//! A plain scalar is written only when Go's YAML 1.1 reader (and the YAML 1.2
//! readers kustomize and Flux use) takes it back as the same string; anything
//! else is double-quoted with the escapes JSON and YAML share, so the same
//! text is a JSON string too. Go's reader folds a raw NEL, LS or PS inside a
//! quoted scalar as a line break and refuses raw control characters, so every
//! character outside printable ASCII is escaped, with one exception: a
//! character beyond U+FFFF is written as itself, because Go's reader refuses
//! the `\u` surrogate pair JSON would need and JSON has no `\U` escape, while
//! both read the character itself as printable text.

use std::fmt::Write as _;

/// Where a string is written, which decides its form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// Read by YAML readers only, in a block or a YAML flow collection:
    /// plain when every reader takes the plain text for this same string
    /// (Kubernetes names, kinds, API versions, our annotation keys always
    /// are), else quoted.
    Yaml,
    /// Always double-quoted, as a JSON string: inside JSON (which may be read
    /// by a JSON decoder), and wherever a value must be a string to every
    /// reader, whatever it looks like (a digest is never taken for a number
    /// or a timestamp).
    Quoted,
}

/// `value` as a scalar Go reads back as exactly `value`, in `context`.
pub fn scalar(value: &str, context: Context) -> String {
    if context == Context::Yaml && plain_safe(value) {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 2);
    quoted(value, &mut out);
    out
}

/// Whether `value` may be written plain in any context, block or flow, and
/// read back as this string by every YAML reader we write for: a letter,
/// then letters, digits and `-_./` (nothing YAML gives a meaning: no
/// indicator, no space, no number or timestamp, which start with a digit,
/// sign or dot), and not one of the words YAML 1.1 reads as a boolean or
/// null.
pub fn plain_safe(value: &str) -> bool {
    value.starts_with(|c: char| c.is_ascii_alphabetic())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
        && !["y", "n", "yes", "no", "on", "off", "true", "false", "null"]
            .iter()
            .any(|word| value.eq_ignore_ascii_case(word))
}

/// Append `value` double-quoted, escaped as the module comment says.
fn quoted(value: &str, out: &mut String) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            c if (c as u32) <= 0xFFFF => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON value written for YAML and JSON readers alike: objects and arrays
/// in flow form (`{"k": v, …}`), every string (keys too) through
/// [`scalar`] in the [`Context::Quoted`] context.
pub fn json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    json_into(value, &mut out);
    out
}

fn json_into(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::String(s) => quoted(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                json_into(item, out);
            }
            out.push(']');
        }
        Value::Object(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                quoted(k, out);
                out.push_str(": ");
                json_into(v, out);
            }
            out.push('}');
        }
        // Numbers, booleans and null are ASCII and the same in both.
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::tree::{parse_document, parse_stream_start};
    use proptest::prelude::*;

    #[test]
    fn names_are_plain_and_everything_yaml_would_misread_is_quoted() {
        for name in ["the0-api", "apps/v1", "secret-rollout/secret.db", "a_b.c"] {
            assert_eq!(scalar(name, Context::Yaml), name);
            assert_eq!(scalar(name, Context::Quoted), format!("\"{name}\""));
        }
        for odd in [
            "yes",
            "On",
            "NULL",
            "n",
            "123",
            "0644",
            "1e3",
            ".inf",
            "-a",
            "a b",
            "x:y",
            "a#b",
            "",
            "~",
            "<<",
            "2001-12-14",
            "é",
        ] {
            assert!(scalar(odd, Context::Yaml).starts_with('"'), "{odd}");
        }
    }

    #[test]
    fn escapes_are_the_ones_json_and_yaml_share() {
        assert_eq!(scalar("sha256:ab", Context::Quoted), "\"sha256:ab\"");
        assert_eq!(
            scalar(
                "a\u{2028}b\u{feff}\"\\\n\t\u{85}\u{7f}\u{1}é",
                Context::Quoted
            ),
            "\"a\\u2028b\\ufeff\\\"\\\\\\n\\t\\u0085\\u007f\\u0001\\u00e9\""
        );
        // Go refuses `\ud83d\ude00`; JSON has no `\U0001f600`.
        assert_eq!(scalar("\u{1F600}", Context::Quoted), "\"\u{1F600}\"");
        let v = serde_json::json!({"n": "a\u{2028}b", "l": [1, true, null]});
        assert_eq!(json(&v), r#"{"l": [1, true, null], "n": "a\u2028b"}"#);
    }

    /// Strings that stress every rule: line breaks Go knows, quotes,
    /// comment and mapping indicators, blanks at either end, YAML 1.1 words,
    /// numbers, non-ASCII and control characters.
    fn tricky() -> impl Strategy<Value = String> {
        let piece = prop::sample::select(crate::fuzzing::TRICKY_PIECES.to_vec());
        prop_oneof![
            prop::collection::vec(piece, 0..6).prop_map(|p| p.concat()),
            any::<String>(),
        ]
    }

    /// What the reader (Go's reading) makes of `scalar` as a value, in a
    /// block mapping, in a flow mapping and in a JSON document, and as a key.
    fn read_back(written: &str) -> Vec<String> {
        let mut out = Vec::new();
        for doc in [
            format!("k: {written}\n"),
            format!("k:\n  - {written}\n"),
            format!("{{k: {written}, z: 1}}\n"),
            format!("[{written}]\n"),
        ] {
            let root = parse_document(&doc, 0, 1)
                .unwrap_or_else(|e| panic!("{doc:?}: {e}"))
                .unwrap();
            let node = match root.as_seq() {
                Some(items) => &items[0],
                None => match root.get("k").unwrap().as_seq() {
                    Some(items) => &items[0],
                    None => root.get("k").unwrap(),
                },
            };
            out.push(node.as_str().expect("a string").to_string());
        }
        let key = format!("{written}: 1\n");
        let root = parse_document(&key, 0, 1).unwrap().unwrap();
        out.push(root.as_map().unwrap().entries[0].name.to_string());
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn every_string_reads_back_as_itself(s in tricky()) {
            for context in [Context::Yaml, Context::Quoted] {
                let written = scalar(&s, context);
                for back in read_back(&written) {
                    prop_assert_eq!(&back, &s, "{:?} written as {}", context, written);
                }
            }
            let quoted = scalar(&s, Context::Quoted);
            let from_json: String = serde_json::from_str(&quoted).expect("a JSON string");
            prop_assert_eq!(&from_json, &s);
            // A JSON document, as YAML and as kubectl's JSON reading has it.
            let doc = format!("{{\"k\": {quoted}}}");
            for root in [
                parse_document(&doc, 0, 1).unwrap().unwrap(),
                parse_stream_start(&doc, 0, 1).unwrap().unwrap(),
            ] {
                prop_assert_eq!(root.get_str("k"), Some(s.as_str()));
            }
        }
    }
}
