//! Splices that add, replace and remove one item of a YAML sequence (and the
//! key holding it), for files we keep one entry of: a HelmRelease's
//! `spec.postRenderers`, a kustomization's `transformers`. Every byte outside
//! the item (comments, order, style, line endings) stays as it was.
//!
//! Like [`crate::yaml::edit`] this works on the positioned tree's spans and never
//! re-serializes; the text it writes comes from [`Item`], in block form at
//! the column of the sequence's other items, or in flow (JSON) form inside
//! `[…]` and `{…}`.

use crate::yaml::edit::{self, after_line, eol_near, indent_of, line_start, starts_line, Edit};
use crate::yaml::tree::{Entry, Map, Node};

/// One sequence item we write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// Block form, one line each, indented relative to the item's content
    /// column; the first line follows the `- `.
    pub lines: Vec<String>,
    /// Flow form: JSON, which is YAML too.
    pub flow: String,
}

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

/// Whether a sequence is written in flow style (`[…]`).
pub fn is_flow(text: &str, seq: &Node<'_>) -> bool {
    let body = &text[seq.span.start..seq.span.end];
    match seq.as_seq().and_then(|items| items.first()) {
        Some(first) => text[seq.span.start..first.span.start].contains('['),
        None => body.contains('['),
    }
}

/// The block text of `item` with its dash at `dash` and content at `content`.
fn block(item: &Item, dash: usize, content: usize, eol: &str) -> String {
    let mut out = String::new();
    for (i, line) in item.lines.iter().enumerate() {
        if i == 0 {
            out.push_str(&" ".repeat(dash));
            out.push('-');
            out.push_str(&" ".repeat(content - dash - 1));
        } else if !line.is_empty() {
            out.push_str(&" ".repeat(content));
        }
        out.push_str(line);
        out.push_str(eol);
    }
    out
}

/// Insert `lines` (each ending in `eol`) on the lines after the one where
/// `end` lies. A stream that ends on that line without a line break keeps
/// ending without one.
fn after(text: &str, end: usize, lines: String, eol: &str) -> Edit {
    match after_line(text, end) {
        Some(at) => Edit {
            range: at..at,
            text: lines,
        },
        None => {
            let mut out = String::from(eol);
            out.push_str(lines.strip_suffix(eol).unwrap_or(&lines));
            Edit {
                range: text.len()..text.len(),
                text: out,
            }
        }
    }
}

/// The dash and content columns of a block sequence item: `  - x` gives (2, 4).
fn columns(text: &str, item: &Node<'_>) -> Option<(usize, usize)> {
    let from = line_start(text, item.span.start);
    let prefix = &text[from..item.span.start];
    let dash = prefix.find('-')?;
    let blank = |s: &str| s.bytes().all(|b| b == b' ');
    (blank(&prefix[..dash]) && prefix.len() > dash + 1 && blank(&prefix[dash + 1..]))
        .then_some((dash, prefix.len()))
}

/// Add `key:` holding a sequence of `item` as the last entry of `map`.
pub fn add_key(
    text: &str,
    map_node: &Node<'_>,
    key: &str,
    item: &Item,
) -> Result<Vec<Edit>, SpliceError> {
    let Some(map) = map_node.as_map() else {
        return Err(refuse(map_node, "not a mapping"));
    };
    if map_node.shared() {
        return Err(refuse(map_node, SHARED));
    }
    if map.flow {
        let quoted = map
            .entries
            .first()
            .is_some_and(|e| text[e.key.span.start..].starts_with('"'));
        let key = if quoted {
            format!("\"{key}\"")
        } else {
            key.to_string()
        };
        return Ok(vec![edit::flow_insert(
            map,
            &format!("{key}: [{}]", item.flow),
        )]);
    }
    let Some(last) = map.entries.last() else {
        return Err(refuse(map_node, "an empty block mapping"));
    };
    let indent = indent_of(text, &map.entries[0].key);
    let eol = eol_near(text, last.key.span.start);
    let mut lines = format!("{}{key}:{eol}", " ".repeat(indent));
    lines.push_str(&block(item, indent + 2, indent + 4, eol));
    Ok(vec![after(text, last.value.span.end, lines, eol)])
}

/// Append `item` to the sequence under `entry` of `map`: a block or flow
/// sequence, an empty `[]`, or an empty value (`key:`, `key: ~`).
pub fn append(
    text: &str,
    map: &Map<'_>,
    entry: &Entry<'_>,
    item: &Item,
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
                text: item.flow.clone(),
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
            text: format!("{lead}[{}]", item.flow),
        }]);
    }
    let Some(items) = value.as_seq() else {
        return Err(refuse(value, "expected a list"));
    };
    let last = items.last().expect("checked: not empty");
    if is_flow(text, value) {
        return Ok(vec![Edit {
            range: last.span.end..last.span.end,
            text: format!(", {}", item.flow),
        }]);
    }
    let Some((dash, content)) = columns(text, last) else {
        return Err(refuse(last, "a list item that does not start its own line"));
    };
    let eol = eol_near(text, last.span.start);
    Ok(vec![after(
        text,
        last.span.end,
        block(item, dash, content, eol),
        eol,
    )])
}

/// `key:` with no value, `key: ~` or `key: []` on a line of its own in a
/// block mapping: the value goes, and a block sequence follows the key's line
/// (after any comment on it).
fn block_after_key(text: &str, entry: &Entry<'_>, item: &Item) -> Vec<Edit> {
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
    let line_end = text[key_end..]
        .find('\n')
        .map_or(text.len(), |i| key_end + i);
    let line_end = if text[..line_end].ends_with('\r') {
        line_end - 1
    } else {
        line_end
    };
    let eol = eol_near(text, key_end);
    let indent = indent_of(text, &entry.key);
    let lines = block(item, indent + 2, indent + 4, eol);
    edits.push(Edit {
        range: line_end..line_end,
        text: format!("{eol}{}", lines.strip_suffix(eol).unwrap_or(&lines)),
    });
    edits
}

/// Replace item `index` of `seq` with `item`, in the sequence's style.
pub fn replace(
    text: &str,
    seq: &Node<'_>,
    index: usize,
    item: &Item,
) -> Result<Vec<Edit>, SpliceError> {
    let old = &seq.as_seq().expect("a sequence")[index];
    if seq.shared() || old.shared() {
        return Err(refuse(seq, SHARED));
    }
    if is_flow(text, seq) {
        return Ok(vec![Edit {
            range: old.span.start..old.span.end,
            text: item.flow.clone(),
        }]);
    }
    let Some((dash, content)) = columns(text, old) else {
        return Err(refuse(old, "a list item that does not start its own line"));
    };
    let from = line_start(text, old.span.start);
    let eol = eol_near(text, old.span.start);
    let lines = block(item, dash, content, eol);
    Ok(vec![match after_line(text, old.span.end) {
        Some(to) => Edit {
            range: from..to,
            text: lines,
        },
        None => Edit {
            range: from..text.len(),
            text: lines.strip_suffix(eol).unwrap_or(&lines).to_string(),
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
    if is_flow(text, seq) {
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
    if columns(text, old).is_none() {
        return Err(refuse(old, "a list item that does not start its own line"));
    }
    let key_line_end = text[entry.key.span.end..]
        .find('\n')
        .map_or(text.len(), |i| entry.key.span.end + i + 1);
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
            let before = text[..from].strip_suffix('\n').unwrap_or(&text[..from]);
            let before = before.strip_suffix('\r').unwrap_or(before);
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

    fn item() -> Item {
        Item {
            lines: vec!["a: 1".into(), "b:".into(), "  - x".into()],
            flow: r#"{"a": 1, "b": ["x"]}"#.into(),
        }
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
        let out = edit::apply(text, &mut edits);
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
