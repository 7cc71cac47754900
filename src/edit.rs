//! Text edits to the original stream: we add, refresh or remove our
//! annotations by splicing bytes, and copy every other byte as it was.
//!
//! Re-serializing a YAML tree changes meaning in ways Go's parser notices
//! (`on` → `"on"`, `0644` → `"0644"`), so we never do it.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::stamp::is_ours;
use crate::yaml::{Entry, Map, Node, Style, Value};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub text: String,
}

/// A pod template whose shape we will not edit, with the reason.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: cannot write annotations: {reason}")]
pub struct EditError {
    pub line: usize,
    pub reason: String,
}

/// Why we refuse to edit text that YAML anchors, aliases or merge keys share:
/// an edit would change every copy, or none of the one that counts.
const SHARED: &str = "the pod template's metadata or annotations are shared through a YAML \
                      anchor, alias or merge key; write them out in full";

/// Apply non-overlapping edits; an insertion may sit at the end of a removal.
pub fn apply(text: &str, edits: &mut [Edit]) -> String {
    edits.sort_by_key(|e| (e.range.start, e.range.end));
    let grow: usize = edits.iter().map(|e| e.text.len()).sum();
    let mut out = String::with_capacity(text.len() + grow);
    let mut at = 0;
    for e in edits.iter() {
        assert!(
            e.range.start >= at,
            "edits overlap at byte {}",
            e.range.start
        );
        out.push_str(&text[at..e.range.start]);
        out.push_str(&e.text);
        at = e.range.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Edits that make the annotations of `template` hold exactly `desired` among
/// our keys. No edits when they already do, so a second run changes nothing.
pub fn annotations(
    text: &str,
    template: &Node<'_>,
    desired: &BTreeMap<String, String>,
) -> Result<Vec<Edit>, EditError> {
    let refuse = |node: &Node<'_>, reason: &str| EditError {
        line: node.span.line,
        reason: reason.to_string(),
    };
    let Some(tmap) = template.as_map() else {
        return Err(refuse(template, "the pod template is not a mapping"));
    };
    let Some(meta_entry) = tmap.entry("metadata") else {
        if desired.is_empty() {
            return Ok(vec![]);
        }
        if tmap.get("metadata").is_some() || template.shared() {
            return Err(refuse(template, SHARED));
        }
        let value = Nested::Key("annotations", Box::new(Nested::Entries(desired)));
        return Ok(vec![insert(text, tmap, "metadata", value)]);
    };
    let metadata = &meta_entry.value;
    if metadata.is_null() {
        if desired.is_empty() {
            return Ok(vec![]);
        }
        if metadata.shared() || template.shared() {
            return Err(refuse(metadata, SHARED));
        }
        let value = Nested::Key("annotations", Box::new(Nested::Entries(desired)));
        return Ok(vec![fill_null(text, meta_entry, tmap.flow, &value)]);
    }
    let Some(mmap) = metadata.as_map() else {
        return Err(refuse(
            metadata,
            "the pod template's metadata is not a mapping",
        ));
    };
    let Some(ann_entry) = mmap.entry("annotations") else {
        if desired.is_empty() {
            return Ok(vec![]);
        }
        if mmap.get("annotations").is_some() || metadata.shared() {
            return Err(refuse(metadata, SHARED));
        }
        return Ok(vec![insert(
            text,
            mmap,
            "annotations",
            Nested::Entries(desired),
        )]);
    };
    let annotations = &ann_entry.value;
    if annotations.is_null() {
        if desired.is_empty() {
            return Ok(vec![]);
        }
        if annotations.shared() || metadata.shared() {
            return Err(refuse(annotations, SHARED));
        }
        return Ok(vec![fill_null(
            text,
            ann_entry,
            mmap.flow,
            &Nested::Entries(desired),
        )]);
    }
    let Some(amap) = annotations.as_map() else {
        return Err(refuse(
            annotations,
            "the pod template's annotations are not a mapping",
        ));
    };
    reconcile(text, annotations, amap, desired).map_err(|reason| refuse(annotations, &reason))
}

/// New content to write under a key.
enum Nested<'d> {
    Key(&'static str, Box<Nested<'d>>),
    Entries(&'d BTreeMap<String, String>),
}

impl Nested<'_> {
    fn block(&self, indent: usize, eol: &str, out: &mut String) {
        let pad = " ".repeat(indent);
        match self {
            Nested::Key(key, inner) => {
                out.push_str(&format!("{pad}{key}:{eol}"));
                inner.block(indent + 2, eol, out);
            }
            Nested::Entries(entries) => {
                for (k, v) in entries.iter() {
                    out.push_str(&format!("{pad}{}{eol}", entry_text(k, v)));
                }
            }
        }
    }

    fn flow(&self) -> String {
        match self {
            Nested::Key(key, inner) => format!("{{{key}: {}}}", inner.flow()),
            Nested::Entries(entries) => {
                let parts: Vec<String> = entries.iter().map(|(k, v)| entry_text(k, v)).collect();
                format!("{{{}}}", parts.join(", "))
            }
        }
    }
}

/// Our keys are plain-safe by construction (see `stamp::annotation_key`);
/// values are double-quoted so no YAML 1.1 reader can take them for anything
/// but a string.
fn entry_text(key: &str, value: &str) -> String {
    debug_assert!(key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b)));
    format!("{key}: {}", quote(value))
}

pub(crate) fn quote(value: &str) -> String {
    let mut s = String::with_capacity(value.len() + 2);
    s.push('"');
    for c in value.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            c if c.is_ascii_graphic() || c == ' ' => s.push(c),
            c => s.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    s.push('"');
    s
}

/// The line ending used around `at`.
pub(crate) fn eol_at(text: &str, at: usize) -> &'static str {
    let line_end = text[at..].find('\n').map(|i| at + i);
    let prev_end = text[..at].rfind('\n');
    let crlf = |nl: usize| nl > 0 && text.as_bytes()[nl - 1] == b'\r';
    if line_end.is_some_and(crlf) || prev_end.is_some_and(crlf) {
        "\r\n"
    } else {
        "\n"
    }
}

/// The byte after the `:` that follows a key ending at `key_end`; `None` for
/// a key written without one (`{a, b: c}`). It used to answer one byte past
/// the key then, which is after the `,` or `}` that follows it.
pub(crate) fn after_colon(text: &str, key_end: usize) -> Option<usize> {
    let rest = &text[key_end..];
    let i = rest.find(|c: char| c != ' ' && c != '\t')?;
    rest[i..].starts_with(':').then_some(key_end + i + 1)
}

pub(crate) fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// The first byte after the line on which a value ends.
pub(crate) fn after_line(text: &str, end: usize) -> Option<usize> {
    if end == 0 || text.as_bytes()[end - 1] == b'\n' {
        return Some(end);
    }
    text[end..].find('\n').map(|i| end + i + 1)
}

/// 0-based column of a node, in bytes; indentation is spaces, so it matches.
pub(crate) fn indent_of(text: &str, node: &Node<'_>) -> usize {
    node.span.start - line_start(text, node.span.start)
}

/// Only spaces before the node on its line: it starts its own line.
pub(crate) fn starts_line(text: &str, node: &Node<'_>) -> bool {
    text[line_start(text, node.span.start)..node.span.start]
        .bytes()
        .all(|b| b == b' ')
}

/// Add `key: value` as the last entry of a mapping that lacks `key`.
fn insert(text: &str, map: &Map<'_>, key: &'static str, value: Nested<'_>) -> Edit {
    if map.flow {
        return flow_insert(text, map, &format!("{key}: {}", value.flow()));
    }
    block_insert(text, map, &Nested::Key(key, Box::new(value)))
}

/// Append to a block mapping, on the lines after its last value, at the
/// indentation of its keys.
fn block_insert(text: &str, map: &Map<'_>, content: &Nested<'_>) -> Edit {
    let last = map.entries.last().expect("block mappings have entries");
    let indent = indent_of(text, &map.entries[0].key);
    let eol = eol_at(text, last.value.span.start);
    let mut out = String::new();
    let Some(at) = after_line(text, last.value.span.end) else {
        // The stream ends on the last value's line, without a final newline.
        // Start our lines with a newline and end them without one, so the
        // output ends the way the input did (and a second run finds it so).
        out.push_str(eol);
        content.block(indent, eol, &mut out);
        out.truncate(out.len() - eol.len());
        return Edit {
            range: text.len()..text.len(),
            text: out,
        };
    };
    content.block(indent, eol, &mut out);
    Edit {
        range: at..at,
        text: out,
    }
}

/// Give content to `key:` / `key: null` / `key: ~`.
/// `in_flow`: the entry belongs to a flow mapping, where a key may start a
/// line but a block value cannot follow it.
fn fill_null(text: &str, entry: &Entry<'_>, in_flow: bool, value: &Nested<'_>) -> Edit {
    let mut span = entry.value.span;
    let explicit = span.end > span.start;
    if !explicit {
        // saphyr places an empty value at the `:`; ours goes after it.
        let Some(at) = after_colon(text, entry.key.span.end) else {
            // A key without `:` in a flow mapping (`{metadata, spec: …}`).
            let at = entry.key.span.end;
            return Edit {
                range: at..at,
                text: format!(": {}", value.flow()),
            };
        };
        span.start = at;
        span.end = at;
    }
    let in_block = !in_flow && starts_line(text, &entry.key) && !explicit;
    if in_block {
        // `annotations:` followed by nothing: continue as a block. Our lines
        // start at the end of the key's line, so a comment after the colon
        // stays on the key's line instead of trailing our first entry.
        let eol = eol_at(text, span.start);
        let at = text[span.start..]
            .find('\n')
            .map_or(text.len(), |i| span.start + i);
        let at = if text[..at].ends_with('\r') {
            at - 1
        } else {
            at
        };
        let mut out = String::from(eol);
        value.block(indent_of(text, &entry.key) + 2, eol, &mut out);
        out.truncate(out.len() - eol.len());
        Edit {
            range: at..at,
            text: out,
        }
    } else if explicit {
        Edit {
            range: span.start..span.end,
            text: value.flow(),
        }
    } else {
        Edit {
            range: span.start..span.start,
            text: format!(" {}", value.flow()),
        }
    }
}

/// A scalar written on the key's line that can be replaced in place.
fn is_inline_scalar(node: &Node<'_>) -> bool {
    matches!(&node.value, Value::Scalar(s) if !matches!(s.style, Style::Literal | Style::Folded))
}

pub(crate) fn flow_insert(text: &str, map: &Map<'_>, entry: &str) -> Edit {
    match map.entries.last() {
        // After the last entry's text: an empty value sits at the `:` (or
        // before the `,` of a key without one), so its span end would put us
        // between the key and its colon.
        Some(last) => {
            let at = flow_entry_end(text, last);
            Edit {
                range: at..at,
                text: format!("{}{entry}", flow_separator(&text[..at])),
            }
        }
        None => Edit {
            range: map.inner.start..map.inner.start,
            text: entry.to_string(),
        },
    }
}

/// Bring an existing annotations mapping to the desired set of our keys.
fn reconcile(
    text: &str,
    node: &Node<'_>,
    map: &Map<'_>,
    desired: &BTreeMap<String, String>,
) -> Result<Vec<Edit>, String> {
    let ours: Vec<&Entry<'_>> = map
        .entries
        .iter()
        .filter(|e| e.key.as_str().is_some_and(is_ours))
        .collect();
    let current: BTreeMap<&str, &str> = ours
        .iter()
        .map(|e| (e.key.as_str().unwrap_or(""), e.value.as_str().unwrap_or("")))
        .collect();
    let wanted: BTreeMap<&str, &str> = desired
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if current == wanted {
        return Ok(vec![]);
    }
    if node.shared() {
        return Err(SHARED.into());
    }
    if map.flow {
        return Ok(vec![flow_rewrite(text, map, desired)]);
    }
    let mut edits = Vec::new();
    let mut missing: BTreeMap<String, String> = desired.clone();
    let others = map.entries.len() - ours.len();
    for e in &ours {
        let key = e.key.as_str().unwrap_or("");
        match missing.remove(key) {
            Some(value) if e.value.as_str() == Some(value.as_str()) => {}
            Some(value) if is_inline_scalar(&e.value) => {
                let span = e.value.span;
                let (range, lead) = if span.start < span.end {
                    (span.start..span.end, "")
                } else {
                    // An empty value: saphyr places it at the `:`, and a value
                    // written there went before the colon, into the key. Ours
                    // goes after the colon (or brings one).
                    match after_colon(text, e.key.span.end) {
                        Some(at) => (at..at, " "),
                        None => (e.key.span.end..e.key.span.end, ": "),
                    }
                };
                edits.push(Edit {
                    range,
                    text: format!("{lead}{}", quote(&value)),
                });
            }
            keep => {
                // Remove the whole entry line(s); a replacement is re-added below.
                if !starts_line(text, &e.key) {
                    return Err("an annotation of ours does not start its own line".into());
                }
                let from = line_start(text, e.key.span.start);
                let eol = eol_at(text, e.key.span.start);
                let line = |value: &str| {
                    let pad = " ".repeat(indent_of(text, &e.key));
                    format!("{pad}{}{eol}", entry_text(key, value))
                };
                let Some(to) = after_line(text, e.value.span.end) else {
                    edits_to_end(&mut edits, text, map, from, keep.as_deref().map(line), eol);
                    continue;
                };
                edits.push(Edit {
                    range: from..to,
                    text: keep.as_deref().map(line).unwrap_or_default(),
                });
            }
        }
    }
    guard_block_scalars(text, map, &mut edits);
    if !missing.is_empty() {
        edits.push(block_insert(text, map, &Nested::Entries(&missing)));
    } else if others == 0 && desired.is_empty() {
        // Every entry goes: leave an empty mapping, not a dangling key.
        let first = &map.entries[0];
        let last = map.entries.last().expect("not empty");
        // Not the value's span end: an empty value sits at the `:`, and
        // cutting up to it left `{}:`.
        let end = flow_entry_end(text, last);
        let eol = if end > 0 && text.as_bytes()[end - 1] == b'\n' {
            eol_at(text, first.key.span.start)
        } else {
            ""
        };
        return Ok(vec![Edit {
            range: first.key.span.start..end,
            text: format!("{{}}{eol}"),
        }]);
    }
    Ok(edits)
}

/// A block scalar ends at the first line indented less than its content. When
/// the entries we remove stood between a kept block scalar and lines that
/// would not end it (a comment indented deeper than the keys, or blank lines
/// after a `|+`/`>+` scalar, which keeps them), those lines became part of its
/// value. Leave a comment at the keys' column in place of the first removed
/// line instead: it ends the scalar where the removed key did.
fn guard_block_scalars(text: &str, map: &Map<'_>, edits: &mut [Edit]) {
    for p in &map.entries {
        let Value::Scalar(scalar) = &p.value.value else {
            continue;
        };
        let rewritten = edits.iter().any(|e| e.range.contains(&p.key.span.start));
        if !matches!(scalar.style, Style::Literal | Style::Folded) || rewritten {
            continue;
        }
        let mut at = p.value.span.end;
        let mut first = None;
        while let Some(i) = edits
            .iter()
            .position(|e| e.range.start == at && e.range.end > at && e.text.is_empty())
        {
            first.get_or_insert(i);
            at = edits[i].range.end;
        }
        let Some(first) = first else { continue };
        // The `|+` header lies between the key and the content, where the
        // scalar's span starts (a `+` in a comment there only makes us careful).
        let keep = text[p.key.span.end..p.value.span.start].contains('+');
        let indent = indent_of(text, &p.key);
        let exposed = text[at..].lines().find_map(|line| {
            let line = line.trim_end_matches('\r');
            let content = line.trim_start_matches([' ', '\t']);
            if content.is_empty() {
                keep.then_some(true)
            } else {
                Some(line.len() - content.len() > indent)
            }
        });
        if exposed == Some(true) {
            let eol = eol_at(text, p.key.span.start);
            edits[first].text = format!("{}#{eol}", " ".repeat(indent));
        }
    }
}

/// Rewrite (`line`) or remove the entry of `map` from `from` to the end of a
/// stream that ends on the entry's last line without a final newline. The
/// output must end the same way: cutting from `from` would leave the line break
/// before it as a new final newline, and a rewritten line must not bring one.
/// Touching edits of the entries before it are merged in, so the cut line
/// break may be theirs. A line break that ends a block scalar is part of its
/// value and stays; a comment line at the keys' column then ends the stream
/// (and the scalar) where the removed entry did.
fn edits_to_end(
    edits: &mut Vec<Edit>,
    text: &str,
    map: &Map<'_>,
    from: usize,
    line: Option<String>,
    eol: &str,
) {
    let mut range = from..text.len();
    let mut out = line.unwrap_or_default();
    while edits.last().is_some_and(|p| p.range.end == range.start) {
        let prev = edits.pop().expect("checked");
        range.start = prev.range.start;
        out.insert_str(0, &prev.text);
    }
    if let Some(kept) = out.strip_suffix(eol) {
        out.truncate(kept.len());
    } else if out.is_empty() {
        let block_scalar = map.entries.iter().find(|p| {
            p.value.span.end == range.start
                && matches!(&p.value.value, Value::Scalar(s) if matches!(s.style, Style::Literal | Style::Folded))
        });
        if let Some(p) = block_scalar {
            out = format!("{}#", " ".repeat(indent_of(text, &p.key)));
        } else {
            let before = &text[..range.start];
            let before = before.strip_suffix('\n').unwrap_or(before);
            range.start = before.strip_suffix('\r').unwrap_or(before).len();
        }
    }
    edits.push(Edit { range, text: out });
}

/// A flow mapping is edited between its braces with the fewest changes: a
/// stale key of ours is cut along with the separator before it (after it, when
/// it comes first), a stale value of ours is rewritten in its entry, and
/// missing keys are appended after the last entry. Every other byte between
/// the braces (other entries, line breaks, comments) is kept: rebuilding the
/// whole mapping used to fold a multi-line mapping onto one line and drop
/// its comments.
fn flow_rewrite(text: &str, map: &Map<'_>, desired: &BTreeMap<String, String>) -> Edit {
    let entries = &map.entries;
    let ends: Vec<usize> = entries.iter().map(|e| flow_entry_end(text, e)).collect();
    let body_start = entries
        .first()
        .map_or(map.inner.start, |e| e.key.span.start);
    let body_end = ends.last().copied().unwrap_or(map.inner.start);
    let mut missing = desired.clone();
    let mut out = String::new();
    let mut last_kept: Option<usize> = None;
    for (i, e) in entries.iter().enumerate() {
        let own = &text[e.key.span.start..ends[i]];
        let piece = match e.key.as_str().filter(|k| is_ours(k)) {
            None => own.to_string(),
            Some(key) => match missing.remove(key) {
                None => continue,
                Some(value) if e.value.as_str() == Some(value.as_str()) => own.to_string(),
                Some(value) => entry_text(key, &value),
            },
        };
        if let Some(j) = last_kept {
            // The separator that followed the previous kept entry.
            out.push_str(&text[ends[j]..entries[j + 1].key.span.start]);
        }
        out.push_str(&piece);
        last_kept = Some(i);
    }
    for (key, value) in &missing {
        if !out.is_empty() {
            out.push_str(flow_separator(&out));
        }
        out.push_str(&entry_text(key, value));
    }
    if out.is_empty() {
        // Every entry went: leave `{}`. Cutting only the entries would leave
        // the line breaks, as in `{\n  \n}`, whose closing brace our parser
        // refuses at the key's column (Go takes it), so the second run would
        // fail. Comments between the braces go with the entries, as they do
        // when a block mapping is emptied.
        return Edit {
            range: map.inner.clone(),
            text: out,
        };
    }
    if let Some(j) = last_kept.filter(|&j| j + 1 < entries.len()) {
        // The entries after the last kept one were cut: keep what followed it
        // (a comment on its line) without the comma, and without the line the
        // cut entry stood on when the closing brace has a line of its own.
        let sep = &text[ends[j]..entries[j + 1].key.span.start];
        let tail = without_flow_comma(sep);
        let closing_on_own_line = text[body_end..map.inner.end]
            .trim_start_matches([' ', '\t'])
            .starts_with(['\r', '\n']);
        let tail = match tail.rfind('\n') {
            Some(nl) if closing_on_own_line => tail[..nl].trim_end_matches('\r'),
            Some(_) => &tail,
            None => tail.trim_end_matches([' ', '\t']),
        };
        out.push_str(tail);
    }
    if out.ends_with(':') && !text[body_end..].starts_with([' ', '\t', '\r', '\n']) {
        // The last entry kept has an empty value (`k: ` before a cut entry);
        // `k:}` would be the key `k:` to Go.
        out.push(' ');
    }
    Edit {
        range: body_start..body_end,
        text: out,
    }
}

/// The separator to write after flow text `before`. After an empty value
/// (`{k: }`) the `:` needs a blank after it: Go reads a plain `k:,` as the key
/// `k:`.
fn flow_separator(before: &str) -> &'static str {
    if before.ends_with(':') {
        " , "
    } else {
        ", "
    }
}

/// The text between two flow entries without its `,` indicator (a comma in
/// a comment there is text, not the separator).
fn without_flow_comma(sep: &str) -> String {
    let mut in_comment = false;
    for (i, c) in sep.char_indices() {
        match c {
            '#' => in_comment = true,
            '\n' => in_comment = false,
            ',' if !in_comment => return format!("{}{}", &sep[..i], &sep[i + 1..]),
            _ => {}
        }
    }
    sep.to_string()
}

/// Where an entry's text ends: after its value or, for an entry whose value
/// is empty (`{a, b: c}`, `{a: , b: c}`, `a:`), after its key and any `:`.
pub(crate) fn flow_entry_end(text: &str, e: &Entry<'_>) -> usize {
    let value = e.value.span;
    if value.end > value.start && value.start >= e.key.span.end {
        return value.end;
    }
    let rest = &text[e.key.span.end..];
    let gap = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    if rest[gap..].starts_with(':') {
        e.key.span.end + gap + 1
    } else {
        e.key.span.end
    }
}
