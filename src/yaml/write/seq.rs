//! Edits that add, replace and remove one item of a YAML sequence (and the
//! key holding it), for files we keep one entry of: a HelmRelease's
//! `spec.postRenderers`, a kustomization's `transformers`. Every byte outside
//! the item (comments, order, style, line endings) stays as it was.
//!
//! The item is new [`Content`]: in block form at the columns of the
//! sequence's other items (under a new key, [`Dashes::Indented`]), or in
//! flow form inside `[…]` and `{…}`. A flow item is JSON, which YAML reads
//! too, so a JSON file stays JSON.

use super::content::{Content, Flow};
use super::layout::{indent_of, is_flow_seq, item_columns, starts_line, Dashes};
use super::lines::{after_line, break_at, eol_near, line_start, without_final_break};
use super::map::{flow_insert, flow_of};
use super::scalar::{scalar, Context};
use super::Edit;
use crate::yaml::tree::{Entry, Map, Node};

/// A layout we do not edit, with the line and why.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct SpliceError {
    pub line: usize,
    pub reason: String,
}

fn refuse(node: &Node<'_>, reason: &str) -> SpliceError {
    SpliceError {
        line: node.span.line,
        reason: reason.to_string(),
    }
}

const SHARED: &str = "the list is shared through a YAML anchor or alias; write it out in full";

/// Insert `lines` (each ending in `eol`) on the lines after the one where
/// `end` lies. A stream that ends on that line without a line break keeps
/// ending without one.
fn after(text: &str, end: usize, lines: String, eol: &str) -> Edit {
    match after_line(text, end) {
        Some(at) => Edit {
            range: at..at,
            text: lines,
        },
        None => Edit {
            range: text.len()..text.len(),
            text: format!("{eol}{}", without_final_break(&lines)),
        },
    }
}

/// Add `key:` holding a sequence of `item` as the last entry of `map`.
pub fn add_key(
    text: &str,
    map_node: &Node<'_>,
    key: &str,
    item: &Content,
) -> Result<Vec<Edit>, SpliceError> {
    let Some(map) = map_node.as_map() else {
        return Err(refuse(map_node, "not a mapping"));
    };
    if map_node.shared() {
        return Err(refuse(map_node, SHARED));
    }
    if map.flow {
        let key = match flow_of(text, map) {
            Flow::Json => scalar(key, Context::Quoted),
            Flow::Yaml => scalar(key, Context::Yaml),
        };
        return Ok(vec![flow_insert(
            map,
            &format!("{key}: [{}]", item.flow(Flow::Json)),
        )]);
    }
    let Some(last) = map.entries.last() else {
        return Err(refuse(map_node, "an empty block mapping"));
    };
    let indent = indent_of(text, &map.entries[0].key);
    let eol = eol_near(text, last.key.span.start);
    let lines = Content::Seq(vec![item.clone()]).entry(key, indent, Dashes::Indented, eol);
    Ok(vec![after(text, last.value.span.end, lines, eol)])
}

/// Append `item` to the sequence under `entry` of `map`: a block or flow
/// sequence, an empty `[]`, or an empty value (`key:`, `key: ~`).
pub fn append(
    text: &str,
    map: &Map<'_>,
    entry: &Entry<'_>,
    item: &Content,
) -> Result<Vec<Edit>, SpliceError> {
    let value = &entry.value;
    if value.shared() {
        return Err(refuse(value, SHARED));
    }
    let empty_flow = value.as_seq().is_some_and(<[_]>::is_empty);
    if value.is_null() || empty_flow {
        if !map.flow && starts_line(text, &entry.key) {
            return Ok(block_after_key(text, entry, item));
        }
        let at = if empty_flow {
            let open = text[value.span.start..value.span.end]
                .find('[')
                .expect("an empty sequence has a bracket");
            return Ok(vec![Edit {
                range: value.span.start + open + 1..value.span.start + open + 1,
                text: item.flow(Flow::Json),
            }]);
        } else if value.span.end > value.span.start {
            value.span.start..value.span.end
        } else {
            let at = entry.colon.map(|c| c + 1).unwrap_or(entry.key.span.end);
            at..at
        };
        let lead = if at.is_empty() { " " } else { "" };
        return Ok(vec![Edit {
            range: at,
            text: format!("{lead}[{}]", item.flow(Flow::Json)),
        }]);
    }
    let Some(items) = value.as_seq() else {
        return Err(refuse(value, "expected a list"));
    };
    let last = items.last().expect("checked: not empty");
    if is_flow_seq(text, value) {
        return Ok(vec![Edit {
            range: last.span.end..last.span.end,
            text: format!(", {}", item.flow(Flow::Json)),
        }]);
    }
    let Some((dash, content)) = item_columns(text, last) else {
        return Err(refuse(last, "a list item that does not start its own line"));
    };
    let eol = eol_near(text, last.span.start);
    Ok(vec![after(
        text,
        last.span.end,
        item.item(dash, content, eol),
        eol,
    )])
}

/// `key:` with no value, `key: ~` or `key: []` on a line of its own in a
/// block mapping: the value goes, and a block sequence follows the key's line
/// (after any comment on it).
fn block_after_key(text: &str, entry: &Entry<'_>, item: &Content) -> Vec<Edit> {
    let mut edits = Vec::new();
    let value = &entry.value;
    if value.span.end > value.span.start {
        let from = entry.colon.map(|c| c + 1).unwrap_or(value.span.start);
        edits.push(Edit {
            range: from..value.span.end,
            text: String::new(),
        });
    }
    let key_end = entry.key.span.end;
    let line_end = key_end + break_at(&text[key_end..]).map_or(text.len() - key_end, |(i, _)| i);
    let eol = eol_near(text, key_end);
    let dash = indent_of(text, &entry.key) + Dashes::Indented.columns();
    let lines = item.item(dash, dash + 2, eol);
    edits.push(Edit {
        range: line_end..line_end,
        text: format!("{eol}{}", without_final_break(&lines)),
    });
    edits
}

/// Replace item `index` of `seq` with `item`, in the sequence's style.
pub fn replace(
    text: &str,
    seq: &Node<'_>,
    index: usize,
    item: &Content,
) -> Result<Vec<Edit>, SpliceError> {
    let old = &seq.as_seq().expect("a sequence")[index];
    if seq.shared() || old.shared() {
        return Err(refuse(seq, SHARED));
    }
    if is_flow_seq(text, seq) {
        return Ok(vec![Edit {
            range: old.span.start..old.span.end,
            text: item.flow(Flow::Json),
        }]);
    }
    let Some((dash, content)) = item_columns(text, old) else {
        return Err(refuse(old, "a list item that does not start its own line"));
    };
    let from = line_start(text, old.span.start);
    let eol = eol_near(text, old.span.start);
    let lines = item.item(dash, content, eol);
    Ok(vec![match after_line(text, old.span.end) {
        Some(to) => Edit {
            range: from..to,
            text: lines,
        },
        None => Edit {
            range: from..text.len(),
            text: without_final_break(&lines).to_string(),
        },
    }])
}

/// Remove item `index` of the sequence under `entry`. A block sequence left
/// with no items and nothing else (no comment) goes with its key, so adding
/// and then removing an item gives the file back as it was.
pub fn remove(
    text: &str,
    map: &Map<'_>,
    entry: &Entry<'_>,
    index: usize,
) -> Result<Vec<Edit>, SpliceError> {
    let seq = &entry.value;
    let items = seq.as_seq().expect("a sequence");
    let old = &items[index];
    if seq.shared() || old.shared() {
        return Err(refuse(seq, SHARED));
    }
    if is_flow_seq(text, seq) {
        let range = if items.len() == 1 {
            let inner = &text[seq.span.start..seq.span.end];
            let open = seq.span.start + inner.find('[').expect("flow") + 1;
            open..seq.span.end - 1
        } else if index > 0 {
            items[index - 1].span.end..old.span.end
        } else {
            old.span.start..items[1].span.start
        };
        return Ok(vec![Edit {
            range,
            text: String::new(),
        }]);
    }
    if item_columns(text, old).is_none() {
        return Err(refuse(old, "a list item that does not start its own line"));
    }
    let key_line_end = after_line(text, entry.key.span.end).unwrap_or(text.len());
    let only = items.len() == 1
        && !map.flow
        && starts_line(text, &entry.key)
        && text[entry.key.span.end..key_line_end].trim() == ":"
        && text[key_line_end..line_start(text, old.span.start)]
            .trim()
            .is_empty();
    let from = if only {
        line_start(text, entry.key.span.start)
    } else {
        line_start(text, old.span.start)
    };
    Ok(vec![match after_line(text, old.span.end) {
        Some(to) => Edit {
            range: from..to,
            text: String::new(),
        },
        None => {
            // The stream ends on the item's last line: so must the result.
            let before = without_final_break(&text[..from]);
            Edit {
                range: before.len()..text.len(),
                text: String::new(),
            }
        }
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::tree::parse_document;

    fn item() -> Content {
        Content::map([
            ("a", Content::Int(1)),
            ("b", Content::Seq(vec![Content::str("x")])),
        ])
    }

    /// Apply `f` to the mapping under `spec` of `text` and the entry `key`.
    fn with_entry(
        text: &str,
        f: impl Fn(&Map<'_>, Option<&Entry<'_>>, &Node<'_>) -> Result<Vec<Edit>, SpliceError>,
    ) -> String {
        let root = parse_document(text, 0, 1).unwrap().unwrap();
        let spec = root.get("spec").unwrap();
        let map = spec.as_map().unwrap();
        let mut edits = f(map, map.entry("list"), spec).unwrap();
        let out = crate::yaml::write::apply(text, &mut edits);
        parse_document(&out, 0, 1).unwrap_or_else(|e| panic!("{e}:\n{out}"));
        out
    }

    fn add(text: &str) -> String {
        with_entry(text, |map, entry, spec| match entry {
            Some(e) => append(text, map, e, &item()),
            None => add_key(text, spec, "list", &item()),
        })
    }

    fn drop_last(text: &str) -> String {
        with_entry(text, |map, entry, _| {
            let e = entry.unwrap();
            remove(text, map, e, e.value.as_seq().unwrap().len() - 1)
        })
    }

    #[test]
    fn no_key_then_a_block_key_and_back() {
        let text = "# c\nspec:\n  chart: x # keep\nother: 1\n";
        let added = add(text);
        assert_eq!(
            added,
            "# c\nspec:\n  chart: x # keep\n  list:\n    - a: 1\n      b:\n        - x\nother: 1\n"
        );
        assert_eq!(drop_last(&added), text);
    }

    #[test]
    fn crlf_and_no_final_newline_are_kept() {
        let text = "spec:\r\n  chart: x";
        let added = add(text);
        assert_eq!(
            added,
            "spec:\r\n  chart: x\r\n  list:\r\n    - a: 1\r\n      b:\r\n        - x"
        );
        assert_eq!(drop_last(&added), text);
    }

    #[test]
    fn other_items_keep_their_bytes_and_set_the_column() {
        let text = "spec:\n  list:\n  # theirs\n  - theirs: 1   # note\n  after: 2\n";
        let added = add(text);
        assert_eq!(
            added,
            "spec:\n  list:\n  # theirs\n  - theirs: 1   # note\n  - a: 1\n    b:\n      - x\n  after: 2\n"
        );
        assert_eq!(drop_last(&added), text);
    }

    #[test]
    fn empty_values_become_block_lists_after_the_key_line() {
        for (text, want) in [
            (
                "spec:\n  list:\n",
                "spec:\n  list:\n    - a: 1\n      b:\n        - x\n",
            ),
            (
                "spec:\n  list: [] # none yet\n",
                "spec:\n  list: # none yet\n    - a: 1\n      b:\n        - x\n",
            ),
            (
                "spec:\n  list: ~\n",
                "spec:\n  list:\n    - a: 1\n      b:\n        - x\n",
            ),
        ] {
            assert_eq!(add(text), want, "{text}");
        }
    }

    #[test]
    fn flow_style_gets_flow_items() {
        assert_eq!(
            add("spec: {chart: x, list: [{theirs: 1}]}\n"),
            r#"spec: {chart: x, list: [{theirs: 1}, {"a": 1, "b": ["x"]}]}"#.to_string() + "\n"
        );
        assert_eq!(
            add("spec: {chart: x}\n"),
            r#"spec: {chart: x, list: [{"a": 1, "b": ["x"]}]}"#.to_string() + "\n"
        );
        assert_eq!(
            add("{\"spec\": {\"chart\": \"x\"}}\n"),
            r#"{"spec": {"chart": "x", "list": [{"a": 1, "b": ["x"]}]}}"#.to_string() + "\n"
        );
        assert_eq!(
            add("spec:\n  chart: x\n  list: [ ]\n"),
            "spec:\n  chart: x\n  list:\n    - a: 1\n      b:\n        - x\n"
        );
        let two = "spec: {list: [{theirs: 1}, {ours: 2}]}\n";
        assert_eq!(drop_last(two), "spec: {list: [{theirs: 1}]}\n");
        assert_eq!(
            drop_last("spec: {list: [{ours: 2}]}\n"),
            "spec: {list: []}\n"
        );
    }

    #[test]
    fn a_list_with_comments_keeps_its_key_when_emptied() {
        let text = "spec:\n  list:\n    # why\n    - a: 1\n";
        assert_eq!(drop_last(text), "spec:\n  list:\n    # why\n");
    }

    #[test]
    fn replace_keeps_the_items_column_and_style() {
        let text = "spec:\n  list:\n      - old: 1\n        more: 2\n  x: 1\n";
        let out = with_entry(text, |_, e, _| replace(text, &e.unwrap().value, 0, &item()));
        assert_eq!(
            out,
            "spec:\n  list:\n      - a: 1\n        b:\n          - x\n  x: 1\n"
        );
        let flow = "spec: {list: [{old: 1}, 2]}\n";
        let out = with_entry(flow, |_, e, _| replace(flow, &e.unwrap().value, 0, &item()));
        assert_eq!(out, "spec: {list: [{\"a\": 1, \"b\": [\"x\"]}, 2]}\n");
    }

    #[test]
    fn shared_lists_are_refused() {
        let text = "x: &l [{a: 1}]\nspec:\n  list: *l\n";
        let root = parse_document(text, 0, 1).unwrap().unwrap();
        let map = root.get("spec").unwrap().as_map().unwrap();
        let e = map.entry("list").unwrap();
        assert!(append(text, map, e, &item()).is_err());
    }
}
