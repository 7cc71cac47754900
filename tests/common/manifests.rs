//! Reading rendered manifests in tests: documents by kind and name, and the
//! `secret-rollout/` stamps on them, by text (what a reviewer reads).

use std::collections::BTreeMap;

/// One document of helm's output.
#[derive(Debug)]
pub struct Doc {
    pub source: String,
    pub kind: String,
    pub name: String,
    pub text: String,
}

pub fn docs(text: &str) -> Vec<Doc> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, out: &mut Vec<Doc>| {
        let t = std::mem::take(cur);
        let find = |prefix: &str| {
            t.lines()
                .find_map(|l| l.strip_prefix(prefix))
                .map(|v| v.trim().trim_matches(['\'', '"']).to_string())
                .unwrap_or_default()
        };
        let kind = find("kind: ");
        if !kind.is_empty() {
            out.push(Doc {
                source: find("# Source: "),
                kind,
                name: find("  name: "),
                text: t,
            });
        }
    };
    for line in text.lines() {
        if line.starts_with("---") {
            flush(&mut cur, &mut out);
        }
        cur.push_str(line);
        cur.push('\n');
    }
    flush(&mut cur, &mut out);
    out
}

pub fn find<'d>(docs: &'d [Doc], kind: &str, name: &str) -> &'d Doc {
    docs.iter()
        .find(|d| d.kind == kind && d.name == name)
        .unwrap_or_else(|| panic!("{kind}/{name} not in output"))
}

/// `secret-rollout/...` annotations of a document.
pub fn stamps(doc: &Doc) -> BTreeMap<String, String> {
    doc.text
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l.strip_prefix("secret-rollout/")?;
            let (k, v) = rest.split_once(": ")?;
            Some((k.to_string(), v.trim_matches('"').to_string()))
        })
        .collect()
}

/// Every stamp in a stream, by `Kind/name`.
pub fn all_stamps(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    docs(text)
        .iter()
        .map(|d| (format!("{}/{}", d.kind, d.name), stamps(d)))
        .filter(|(_, s)| !s.is_empty())
        .collect()
}
