//! Text edits to the original stream: we add, refresh or remove our
//! annotations by splicing bytes, and copy every other byte as it was.
//!
//! Re-serializing a YAML tree changes meaning in ways Go's parser notices
//! (`on` → `"on"`, `0644` → `"0644"`), so we never do it. Where an edit goes
//! comes from facts the tree recorded while parsing ([`Map`], [`Entry`]:
//! where each entry starts and ends, its `:` and `,`, the column of a block
//! mapping's keys, where its last line ends and with which line break), not
//! from scanning the text around a span again.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::stamp::is_ours;
use crate::yaml::{break_at, Entry, Map, Node, Style, Value};

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
    let grow: usize = edits.iter().map(|e| e.text.len()).sum();
    let mut out = Vec::with_capacity(text.len() + grow);
    write(text.as_bytes(), edits, &mut |piece| {
        out.extend_from_slice(piece);
        Ok(())
    })
    .expect("writing to memory cannot fail");
    String::from_utf8(out).expect("edits keep UTF-8 boundaries")
}

/// Hand `text` with `edits` applied to `sink` in pieces: the bytes between
/// edits are never copied into a second buffer.
pub fn write(
    text: &[u8],
    edits: &mut [Edit],
    sink: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
) -> std::io::Result<()> {
    edits.sort_by_key(|e| (e.range.start, e.range.end));
    let mut at = 0;
    for e in edits.iter() {
        assert!(
            e.range.start >= at,
            "edits overlap at byte {}",
            e.range.start
        );
        sink(&text[at..e.range.start])?;
        sink(e.text.as_bytes())?;
        at = e.range.end;
    }
    sink(&text[at..])
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
    let meta_entry = match own_entry(tmap, "metadata") {
        Own::Absent => {
            if desired.is_empty() {
                return Ok(vec![]);
            }
            if template.shared() {
                return Err(refuse(template, SHARED));
            }
            let value = Nested::Key("annotations", Box::new(Nested::Entries(desired)));
            return Ok(vec![insert(text, tmap, "metadata", value)]);
        }
        Own::Shared if desired.is_empty() => return Ok(vec![]),
        Own::Shared => return Err(refuse(template, SHARED)),
        Own::Here(e) => e,
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
        return Ok(vec![fill_null(text, tmap, meta_entry, &value)]);
    }
    let Some(mmap) = metadata.as_map() else {
        return Err(refuse(
            metadata,
            "the pod template's metadata is not a mapping",
        ));
    };
    let ann_entry = match own_entry(mmap, "annotations") {
        Own::Absent => {
            if desired.is_empty() {
                return Ok(vec![]);
            }
            if metadata.shared() {
                return Err(refuse(metadata, SHARED));
            }
            return Ok(vec![insert(
                text,
                mmap,
                "annotations",
                Nested::Entries(desired),
            )]);
        }
        Own::Shared if desired.is_empty() => return Ok(vec![]),
        Own::Shared => return Err(refuse(metadata, SHARED)),
        Own::Here(e) => e,
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
            mmap,
            ann_entry,
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

/// How a mapping holds a key an edit goes into.
enum Own<'t, 'a> {
    /// Not at all: we add it.
    Absent,
    /// Written here, and what Go decodes.
    Here(&'t Entry<'a>),
    /// Supplied or overridden by a merge key: an edit here would be lost, or
    /// change every mapping the merged one is copied into.
    Shared,
}

fn own_entry<'t, 'a>(map: &'t Map<'a>, key: &str) -> Own<'t, 'a> {
    match (map.own(key), map.get(key)) {
        (Some(e), _) => Own::Here(e),
        (None, None) => Own::Absent,
        (None, Some(_)) => Own::Shared,
    }
}

/// New content to write under a key.
enum Nested<'d> {
    Key(&'static str, Box<Nested<'d>>),
    Entries(&'d BTreeMap<String, String>),
}

impl Nested<'_> {
    fn block(&self, indent: usize, eol: &str, out: &mut String) {
        // Pushed piece by piece: one of these is written for every stamped
        // workload, and formatting each line anew showed in profiles of
        // streams of many small workloads.
        let pad = |out: &mut String| out.extend(std::iter::repeat_n(' ', indent));
        match self {
            Nested::Key(key, inner) => {
                pad(out);
                out.push_str(key);
                out.push(':');
                out.push_str(eol);
                inner.block(indent + 2, eol, out);
            }
            Nested::Entries(entries) => {
                for (k, v) in entries.iter() {
                    pad(out);
                    push_entry(out, k, v);
                    out.push_str(eol);
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
    let mut s = String::with_capacity(key.len() + value.len() + 4);
    push_entry(&mut s, key, value);
    s
}

/// [`entry_text`], appended to `out`.
fn push_entry(out: &mut String, key: &str, value: &str) {
    debug_assert!(key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b)));
    out.push_str(key);
    out.push_str(": ");
    push_quoted(out, value);
}

/// Double-quoted for Go: everything but printable ASCII escaped, so no line
/// break Go knows (NEL, LS, PS) and no byte order mark is written raw.
pub(crate) fn quote(value: &str) -> String {
    let mut s = String::with_capacity(value.len() + 2);
    push_quoted(&mut s, value);
    s
}

/// [`quote`], appended to `out`.
fn push_quoted(s: &mut String, value: &str) {
    use std::fmt::Write;
    s.push('"');
    for c in value.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            c if c.is_ascii_graphic() || c == ' ' => s.push(c),
            c => {
                let _ = write!(s, "\\U{:08x}", c as u32);
            }
        }
    }
    s.push('"');
}

/// The line break new lines take near `at`: the file's own, as the next
/// ASCII line break shows it (else the last one before `at`). A Unicode
/// break (NEL, LS, PS) ending a line says nothing of the file's line ends,
/// so it is passed over: a CRLF stream stays CRLF around a comment that
/// ends in U+2028.
pub(crate) fn eol_near(text: &str, at: usize) -> &'static str {
    let kind = |s: &[u8], i: usize| match s[i] {
        b'\r' if s.get(i + 1) == Some(&b'\n') => "\r\n",
        b'\r' => "\r",
        _ if i > 0 && s[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    };
    let bytes = text.as_bytes();
    if let Some(i) = memchr::memchr2(b'\r', b'\n', &bytes[at..]) {
        return kind(bytes, at + i);
    }
    match memchr::memrchr2(b'\r', b'\n', &bytes[..at]) {
        Some(i) => kind(bytes, i),
        None => "\n",
    }
}

/// The first byte of the line that holds `at`.
pub(crate) fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind(BREAKS).map_or(0, |i| {
        i + text[i..].chars().next().map_or(1, char::len_utf8)
    })
}

/// The first byte after the line on which a value ending at `end` ends.
pub(crate) fn after_line(text: &str, end: usize) -> Option<usize> {
    if end == 0 || after_break(text, end) {
        return Some(end);
    }
    break_at(&text[end..]).map(|(i, brk)| end + i + brk.len())
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

const BREAKS: [char; 5] = ['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'];

/// The text before `at` ends with a line break.
fn after_break(text: &str, at: usize) -> bool {
    text[..at].ends_with(BREAKS)
}

/// Add `key: value` as the last entry of a mapping that lacks `key`.
fn insert(text: &str, map: &Map<'_>, key: &'static str, value: Nested<'_>) -> Edit {
    if map.flow {
        return flow_insert(map, &format!("{key}: {}", value.flow()));
    }
    block_insert(text, map, &Nested::Key(key, Box::new(value)))
}

/// Append to a block mapping, on the lines after its last line, at the
/// column of its keys.
fn block_insert(text: &str, map: &Map<'_>, content: &Nested<'_>) -> Edit {
    // Room for a typical stamp (key, digest, indentation) without regrowing.
    let mut out = String::with_capacity(160);
    let at = map.after;
    if !after_break(text, at) {
        // The stream ends on the mapping's last line, without a final line
        // break. Start our lines with one and end them without, so the
        // output ends the way the input did (and a second run finds it so).
        out.push_str(map.eol);
        content.block(map.indent, map.eol, &mut out);
        out.truncate(out.len() - map.eol.len());
    } else {
        content.block(map.indent, map.eol, &mut out);
    }
    Edit {
        range: at..at,
        text: out,
    }
}

/// Give content to `key:` / `key: null` / `key: ~` / `key: !!null`.
fn fill_null(text: &str, map: &Map<'_>, entry: &Entry<'_>, value: &Nested<'_>) -> Edit {
    let written = entry.value.span.end > entry.value.span.start;
    if written {
        // Replace the null, its tag included.
        return Edit {
            range: entry.value.span.start..entry.value.span.end,
            text: value.flow(),
        };
    }
    match (entry.colon, map.flow) {
        // `{metadata, spec: …}`: a key without `:`.
        (None, true) => Edit {
            range: entry.end..entry.end,
            text: format!(": {}", value.flow()),
        },
        (Some(colon), true) => Edit {
            range: colon + 1..colon + 1,
            text: format!(" {}", value.flow()),
        },
        // `? annotations` alone: the value goes on a `:` line of its own.
        (None, false) => {
            let eol = eol_near(text, entry.line_break);
            Edit {
                range: entry.line_break..entry.line_break,
                text: format!("{eol}{}: {}", " ".repeat(map.indent), value.flow()),
            }
        }
        // `annotations:` followed by nothing: continue as a block. Our lines
        // start at the end of the key's line, so a comment after the colon
        // stays on the key's line instead of trailing our first entry.
        (Some(_), false) => {
            let eol = eol_near(text, entry.line_break);
            let mut out = String::from(eol);
            value.block(map.indent + 2, eol, &mut out);
            out.truncate(out.len() - eol.len());
            Edit {
                range: entry.line_break..entry.line_break,
                text: out,
            }
        }
    }
}

/// A scalar written on the key's line that can be replaced in place.
fn is_inline_scalar(node: &Node<'_>) -> bool {
    matches!(&node.value, Value::Scalar(s) if !matches!(s.style, Style::Literal | Style::Folded))
}

/// An entry whose text ends with its `:` (an empty value), or with a tag or
/// anchor (an empty value with properties): a `,` written right after it
/// would make Go read `k:,` as the key `k:`, and refuse `!!null,`.
fn ends_with_colon(e: &Entry<'_>) -> bool {
    let bare_props = |n: &Node<'_>| {
        n.props && n.span.end == n.content && n.span.end == e.end && n.span.start < e.end
    };
    e.colon.is_some_and(|c| e.end == c + 1) || bare_props(&e.value) || bare_props(&e.key)
}

pub(crate) fn flow_insert(map: &Map<'_>, entry: &str) -> Edit {
    match map.entries.last() {
        Some(last) => Edit {
            range: last.end..last.end,
            text: format!("{}{entry}", flow_separator(ends_with_colon(last))),
        },
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
        .filter(|e| !e.merge && is_ours(&e.name))
        .collect();
    let current: BTreeMap<&str, &str> = ours
        .iter()
        .map(|e| (&*e.name, e.value.as_str().unwrap_or("")))
        .collect();
    let wanted: BTreeMap<&str, &str> = desired
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if current == wanted && !map.entries.iter().any(|e| e.merge) {
        return Ok(vec![]);
    }
    if node.shared() || map.entries.iter().any(|e| e.merge) {
        return Err(SHARED.into());
    }
    if map.flow {
        return Ok(vec![flow_rewrite(text, map, desired)]);
    }
    let mut edits = Vec::new();
    let mut missing: BTreeMap<String, String> = desired.clone();
    let others = map.entries.len() - ours.len();
    for e in &ours {
        let key = &*e.name;
        match missing.remove(key) {
            Some(value) if e.value.as_str() == Some(value.as_str()) => {}
            Some(value) if is_inline_scalar(&e.value) && !e.explicit => {
                let span = e.value.span;
                let (range, lead) = if span.start < span.end {
                    (span.start..span.end, "")
                } else {
                    // An empty value: ours goes after the colon (or brings one).
                    match e.colon {
                        Some(c) => (c + 1..c + 1, " "),
                        None => (e.end..e.end, ": "),
                    }
                };
                edits.push(Edit {
                    range,
                    text: format!("{lead}{}", quote(&value)),
                });
            }
            keep => {
                // Remove the whole entry line(s); a replacement is re-added below.
                if !e.own_line {
                    return Err("an annotation of ours does not start its own line".into());
                }
                let from = e.start - map.indent;
                let eol = eol_near(text, e.line_break);
                let line = |value: &str| {
                    let pad = " ".repeat(map.indent);
                    format!("{pad}{}{eol}", entry_text(key, value))
                };
                if e.next_line == e.line_break {
                    // The stream ends on this entry's line, without a break.
                    edits_to_end(&mut edits, text, map, from, keep.as_deref().map(line), eol);
                    continue;
                }
                edits.push(Edit {
                    range: from..e.next_line,
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
        let eol = if after_break(text, last.end) {
            eol_near(text, last.line_break)
        } else {
            ""
        };
        return Ok(vec![Edit {
            range: first.start..last.end,
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
        let rewritten = edits.iter().any(|e| e.range.contains(&p.start));
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
        // The `|+` header is the scalar's first line (a `+` in a comment there
        // only makes us careful).
        let header = &text[p.value.content..p.value.span.end];
        let keep = header[..header.find(['\n', '\r']).unwrap_or(header.len())].contains('+');
        let indent = map.indent;
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
            let eol = eol_near(text, p.line_break);
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
        if block_scalar.is_some() {
            out = format!("{}#", " ".repeat(map.indent));
        } else {
            range.start = without_final_break(&text[..range.start]).len();
        }
    }
    edits.push(Edit { range, text: out });
}

/// `text` without the line break it ends with, if any.
fn without_final_break(text: &str) -> &str {
    if let Some(t) = text.strip_suffix("\r\n") {
        return t;
    }
    text.strip_suffix(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'])
        .unwrap_or(text)
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
    let body_start = entries.first().map_or(map.inner.start, |e| e.start);
    let body_end = entries.last().map_or(map.inner.start, |e| e.end);
    let mut missing = desired.clone();
    let mut out = String::new();
    let mut last_kept: Option<usize> = None;
    // The last piece written is an entry's own text (not one we rewrote).
    let mut verbatim = false;
    for (i, e) in entries.iter().enumerate() {
        let own = &text[e.start..e.end];
        let (piece, as_written) = match Some(&*e.name).filter(|k| !e.merge && is_ours(k)) {
            None => (own.to_string(), true),
            Some(key) => match missing.remove(key) {
                None => continue,
                Some(value) if e.value.as_str() == Some(value.as_str()) => (own.to_string(), true),
                Some(value) => (entry_text(key, &value), false),
            },
        };
        verbatim = as_written;
        if let Some(j) = last_kept {
            // The separator that followed the previous kept entry.
            out.push_str(&text[entries[j].end..entries[j + 1].start]);
        }
        out.push_str(&piece);
        last_kept = Some(i);
    }
    let kept_ends_with_colon =
        |_: &str, j: Option<usize>| verbatim && j.is_some_and(|j| ends_with_colon(&entries[j]));
    for (key, value) in &missing {
        if !out.is_empty() {
            let colon = kept_ends_with_colon(&out, last_kept);
            out.push_str(flow_separator(colon));
        }
        out.push_str(&entry_text(key, value));
        last_kept = None;
    }
    if out.is_empty() {
        // Every entry went: leave `{}`. Comments between the braces go with
        // the entries, as they do when a block mapping is emptied.
        return Edit {
            range: map.inner.clone(),
            text: out,
        };
    }
    if let Some(j) = last_kept.filter(|&j| j + 1 < entries.len()) {
        // The entries after the last kept one were cut: keep what followed it
        // (a comment on its line) without the comma, and without the line the
        // cut entry stood on when the closing brace has a line of its own.
        let sep_start = entries[j].end;
        let sep = &text[sep_start..entries[j + 1].start];
        let tail = match entries[j].comma {
            Some(c) => format!("{}{}", &sep[..c - sep_start], &sep[c - sep_start + 1..]),
            None => sep.to_string(),
        };
        let closing = text[body_end..map.inner.end].trim_start_matches([' ', '\t', ',']);
        let closing_on_own_line = break_at(closing).is_some_and(|(i, _)| i == 0);
        let tail = match break_at(&tail).map(|(i, _)| i) {
            Some(_) if closing_on_own_line => {
                let last_break = tail
                    .char_indices()
                    .rev()
                    .find(|(i, _)| break_at(&tail[*i..]).is_some_and(|(k, _)| k == 0))
                    .map(|(i, _)| i)
                    .expect("there is a break");
                tail[..last_break].trim_end_matches('\r').to_string()
            }
            Some(_) => tail,
            None => tail.trim_end_matches([' ', '\t']).to_string(),
        };
        out.push_str(&tail);
    }
    if kept_ends_with_colon(&out, last_kept)
        && !text[body_end..].starts_with([' ', '\t', '\r', '\n'])
    {
        // The last entry kept has an empty value (`k: ` before a cut entry);
        // `k:}` would be the key `k:` to Go.
        out.push(' ');
    }
    Edit {
        range: body_start..body_end,
        text: out,
    }
}

/// The separator to write after a flow entry. After an empty value (`{k: }`)
/// the `:` needs a blank after it: Go reads a plain `k:,` as the key `k:`.
fn flow_separator(after_colon: bool) -> &'static str {
    if after_colon {
        " , "
    } else {
        ", "
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_document;

    const KEY: &str = "secret-rollout/secret.s";

    /// Stamp the mapping at `template:` of `doc` with our one key (or none)
    /// and return the text; a second pass must find nothing to do.
    fn stamp(doc: &str, want: Option<&str>) -> Result<String, String> {
        let desired: BTreeMap<String, String> = want
            .map(|v| (KEY.to_string(), v.to_string()))
            .into_iter()
            .collect();
        let root = parse_document(doc, 0, 1).unwrap().unwrap();
        let template = root.get("template").expect("a template: key");
        let mut edits = annotations(doc, template, &desired).map_err(|e| e.reason)?;
        let out = apply(doc, &mut edits);
        let again = parse_document(&out, 0, 1)
            .unwrap_or_else(|e| panic!("output does not parse: {e}\n{out}"))
            .unwrap();
        let left = annotations(&out, again.get("template").unwrap(), &desired).unwrap();
        assert!(left.is_empty(), "a second run edits again: {left:?}\n{out}");
        Ok(out)
    }

    fn case(doc: &str, expected: &str) {
        assert_eq!(stamp(doc, Some("v")).unwrap(), expected, "input:\n{doc}");
    }

    #[test]
    fn adds_metadata_and_annotations_where_absent() {
        case(
            "template:\n  spec: {}\nnext: 1\n",
            "template:\n  spec: {}\n  metadata:\n    annotations:\n      secret-rollout/secret.s: \"v\"\nnext: 1\n",
        );
        case(
            "template:\n  metadata:\n    labels: {a: b} # c\n  spec: {}\n",
            "template:\n  metadata:\n    labels: {a: b} # c\n    annotations:\n      secret-rollout/secret.s: \"v\"\n  spec: {}\n",
        );
        case(
            "template: {spec: {}}\n",
            "template: {spec: {}, metadata: {annotations: {secret-rollout/secret.s: \"v\"}}}\n",
        );
        case("template:\n  spec: {}", "template:\n  spec: {}\n  metadata:\n    annotations:\n      secret-rollout/secret.s: \"v\"");
    }

    #[test]
    fn a_template_ending_in_a_nested_block_scalar_gets_its_lines_before_the_next_key() {
        case(
            "template:\n  spec:\n    x:\n      y: |-\n        text\nnext: 1\n",
            "template:\n  spec:\n    x:\n      y: |-\n        text\n  metadata:\n    annotations:\n      secret-rollout/secret.s: \"v\"\nnext: 1\n",
        );
    }

    #[test]
    fn fills_null_metadata_and_annotations() {
        case(
            "template:\n  metadata:\n    annotations: # ours go below\n  spec: {}\n",
            "template:\n  metadata:\n    annotations: # ours go below\n      secret-rollout/secret.s: \"v\"\n  spec: {}\n",
        );
        case(
            "template:\n  metadata:\n    annotations: !!null\n",
            "template:\n  metadata:\n    annotations: {secret-rollout/secret.s: \"v\"}\n",
        );
        case(
            "template:\n  metadata: ~\n",
            "template:\n  metadata: {annotations: {secret-rollout/secret.s: \"v\"}}\n",
        );
        case(
            "template: {metadata, spec: {}}\n",
            "template: {metadata: {annotations: {secret-rollout/secret.s: \"v\"}}, spec: {}}\n",
        );
        case(
            "template: {metadata: , spec: {}}\n",
            "template: {metadata: {annotations: {secret-rollout/secret.s: \"v\"}} , spec: {}}\n",
        );
    }

    #[test]
    fn explicit_keys_are_edited_at_the_column_of_their_indicator() {
        case(
            "template:\n  metadata:\n    ? labels\n    : {a: b}\n",
            "template:\n  metadata:\n    ? labels\n    : {a: b}\n    annotations:\n      secret-rollout/secret.s: \"v\"\n",
        );
        case(
            "template:\n  metadata:\n    ? annotations\n",
            "template:\n  metadata:\n    ? annotations\n    : {secret-rollout/secret.s: \"v\"}\n",
        );
        case(
            "template:\n  metadata:\n    ? annotations\n    :   team: core\n",
            "template:\n  metadata:\n    ? annotations\n    :   team: core\n        secret-rollout/secret.s: \"v\"\n",
        );
    }

    #[test]
    fn appends_to_flow_annotations_keeping_every_key() {
        case(
            "template:\n  metadata:\n    annotations: {team: core, x:}\n",
            "template:\n  metadata:\n    annotations: {team: core, x:, secret-rollout/secret.s: \"v\"}\n",
        );
        case(
            "template:\n  metadata:\n    annotations: {team: }\n",
            "template:\n  metadata:\n    annotations: {team: , secret-rollout/secret.s: \"v\" }\n",
        );
        case(
            "template:\n  metadata:\n    annotations: {}\n",
            "template:\n  metadata:\n    annotations: {secret-rollout/secret.s: \"v\"}\n",
        );
        case(
            "template:\n  metadata:\n    annotations: {\n      a: b,\n    }\n",
            "template:\n  metadata:\n    annotations: {\n      a: b, secret-rollout/secret.s: \"v\",\n    }\n",
        );
    }

    #[test]
    fn a_flow_entry_ending_in_a_tag_gets_a_blank_before_our_comma() {
        case(
            "template: {spec: !!null }\n",
            "template: {spec: !!null , metadata: {annotations: {secret-rollout/secret.s: \"v\"}} }\n",
        );
        case(
            "template: { !x }\n",
            "template: { !x , metadata: {annotations: {secret-rollout/secret.s: \"v\"}} }\n",
        );
    }

    #[test]
    fn refreshes_and_removes_our_entries() {
        case(
            "template:\n  metadata:\n    annotations:\n      a: b\n      secret-rollout/secret.s: old # note\n",
            "template:\n  metadata:\n    annotations:\n      a: b\n      secret-rollout/secret.s: \"v\" # note\n",
        );
        let gone = stamp(
            "template:\n  metadata:\n    annotations:\n      secret-rollout/secret.s: old\n      a: b\n",
            None,
        );
        assert_eq!(
            gone.unwrap(),
            "template:\n  metadata:\n    annotations:\n      a: b\n"
        );
        let emptied = stamp(
            "template:\n  metadata:\n    annotations:\n      secret-rollout/secret.s: old\n",
            None,
        );
        assert_eq!(
            emptied.unwrap(),
            "template:\n  metadata:\n    annotations:\n      {}\n"
        );
        let flow = stamp(
            "template:\n  metadata:\n    annotations: {a: b, secret-rollout/secret.s: old}\n",
            None,
        );
        assert_eq!(
            flow.unwrap(),
            "template:\n  metadata:\n    annotations: {a: b}\n"
        );
    }

    #[test]
    fn writes_the_line_breaks_the_mapping_uses() {
        case(
            "template:\r  metadata:\r    labels: {a: b}\r",
            "template:\r  metadata:\r    labels: {a: b}\r    annotations:\r      secret-rollout/secret.s: \"v\"\r",
        );
        case(
            "template:\r\n  spec: {}\r\n",
            "template:\r\n  spec: {}\r\n  metadata:\r\n    annotations:\r\n      secret-rollout/secret.s: \"v\"\r\n",
        );
        // A comment that an LS ends is not where the line ends for Go.
        case(
            "template:\n  metadata: # x\u{2028}    labels: {a: b}\n",
            "template:\n  metadata: # x\u{2028}    labels: {a: b}\n    annotations:\n      secret-rollout/secret.s: \"v\"\n",
        );
    }

    #[test]
    fn refuses_what_merge_keys_or_anchors_share() {
        for doc in [
            "base: &m {annotations: {a: b}}\ntemplate:\n  metadata: *m\n",
            "template:\n  <<: {metadata: {annotations: {a: b}}}\n  spec: {}\n",
            "template:\n  metadata: {labels: {}}\n  <<: {metadata: {annotations: {a: b}}}\n",
            "template:\n  metadata:\n    <<: {annotations: {a: b}}\n",
        ] {
            let e = stamp(doc, Some("v")).unwrap_err();
            assert!(e.contains("anchor, alias or merge key"), "{doc}: {e}");
        }
        // A merge key that the own entry overrides is harmless.
        case(
            "template:\n  <<: {metadata: {annotations: {a: b}}}\n  metadata:\n    labels: {}\n",
            "template:\n  <<: {metadata: {annotations: {a: b}}}\n  metadata:\n    labels: {}\n    annotations:\n      secret-rollout/secret.s: \"v\"\n",
        );
    }

    #[test]
    fn values_are_quoted_so_go_reads_a_string() {
        assert_eq!(quote("sha256:ab"), "\"sha256:ab\"");
        assert_eq!(
            quote("a\u{2028}b\u{feff}\"\\"),
            "\"a\\U00002028b\\U0000feff\\\"\\\\\""
        );
    }
}
