//! Edits of a mapping: our annotations added, refreshed or removed on a pod
//! template ([`Site`], [`annotations`]), one key made to hold a value
//! ([`put`]), and a block copied out as a document of its own ([`detach`]).
//!
//! Where an edit goes comes from facts the tree recorded while parsing
//! ([`Map`], [`Entry`]: where each entry starts and ends, its `:` and `,`,
//! the column of a block mapping's keys, where its last line ends and with
//! which line break), not from scanning the text around a span again.

use std::collections::BTreeMap;
use std::ops::Range;

use super::content::{Content, Field, Flow};
use super::layout::{indent_of, Dashes};
use super::lines::{
    after_line, break_at, ends_with_break, eol_near, line_start, split_inclusive,
    without_final_break,
};
use super::scalar::{scalar, Context};
use super::Edit;
use crate::yaml::tree::{self, Entry, Map, Node, Style, Value};

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

/// Edits that make the annotations of `template` hold exactly `desired` among
/// our keys (the ones `is_ours` claims; every other key is left alone). No
/// edits when they already do, so a second run changes nothing.
pub fn annotations(
    text: &str,
    template: &Node<'_>,
    desired: &BTreeMap<String, String>,
    is_ours: fn(&str) -> bool,
) -> Result<Vec<Edit>, EditError> {
    Site::of(text, template, is_ours).edits(text, desired)
}

/// Where the annotations of a pod template go: what [`annotations`] reads
/// of its tree (where `metadata` and `annotations` are and how they are
/// written, or where they would go, and the entries of ours already there),
/// read while the tree is at hand. The stamps are known only once the whole
/// stream is read, and a workload-dense stream holds one site per workload:
/// a few words each, not a copy of the tree.
#[derive(Clone, Debug)]
pub struct Site {
    at: At,
    /// The keys of ours among the annotations as Go decodes them (merge
    /// keys followed).
    ours: Box<[Box<str>]>,
}

/// What [`Site::edits`] can do, and where.
#[derive(Clone, Debug)]
enum At {
    /// No edit is possible whatever is desired: the template, its metadata
    /// or its annotations are not a mapping, or a merge key shares them.
    Refused { line: usize, reason: &'static str },
    /// Shared through an anchor, alias or merge key: only an empty set of
    /// ours can be written, by writing nothing.
    Shared { line: usize },
    /// A mapping that lacks the key (`metadata`, `annotations`) or, for
    /// annotations that hold none of ours, the entries to add.
    Insert { append: Append, depth: Depth },
    /// `metadata:` or `annotations:` with a null value.
    Fill { null: Box<NullEntry>, depth: Depth },
    /// Annotations that hold entries of ours.
    Reconcile(Box<Held>),
}

/// How deep the new content goes: our entries alone, under `annotations:`,
/// or under `metadata:` and `annotations:`.
#[derive(Clone, Copy, Debug)]
enum Depth {
    Entries,
    Annotations,
    Metadata,
}

impl Depth {
    fn content(self, desired: &BTreeMap<String, String>) -> Content {
        match self {
            Depth::Entries => entries(desired),
            Depth::Annotations => under("annotations", entries(desired)),
            Depth::Metadata => under("metadata", under("annotations", entries(desired))),
        }
    }
}

impl Site {
    /// Read where the annotations of `template` go (see [`Site`]).
    pub fn of(text: &str, template: &Node<'_>, is_ours: fn(&str) -> bool) -> Site {
        let refuse = |node: &Node<'_>, reason| At::Refused {
            line: node.span.line,
            reason,
        };
        let shared = |node: &Node<'_>| At::Shared {
            line: node.span.line,
        };
        let at = 'at: {
            let Some(tmap) = template.as_map() else {
                break 'at refuse(template, "the pod template is not a mapping");
            };
            let meta_entry = match own_entry(tmap, "metadata") {
                Own::Absent if template.shared() => break 'at shared(template),
                Own::Absent => {
                    break 'at At::Insert {
                        append: Append::of(text, tmap),
                        depth: Depth::Metadata,
                    }
                }
                Own::Shared => break 'at shared(template),
                Own::Here(e) => e,
            };
            let metadata = &meta_entry.value;
            if metadata.is_null() {
                if metadata.shared() || template.shared() {
                    break 'at shared(metadata);
                }
                break 'at At::Fill {
                    null: Box::new(NullEntry::of(text, tmap, meta_entry)),
                    depth: Depth::Annotations,
                };
            }
            let Some(mmap) = metadata.as_map() else {
                break 'at refuse(metadata, "the pod template's metadata is not a mapping");
            };
            let ann_entry = match own_entry(mmap, "annotations") {
                Own::Absent if metadata.shared() => break 'at shared(metadata),
                Own::Absent => {
                    break 'at At::Insert {
                        append: Append::of(text, mmap),
                        depth: Depth::Annotations,
                    }
                }
                Own::Shared => break 'at shared(metadata),
                Own::Here(e) => e,
            };
            let annotations = &ann_entry.value;
            if annotations.is_null() {
                if annotations.shared() || metadata.shared() {
                    break 'at shared(annotations);
                }
                break 'at At::Fill {
                    null: Box::new(NullEntry::of(text, mmap, ann_entry)),
                    depth: Depth::Entries,
                };
            }
            let Some(amap) = annotations.as_map() else {
                break 'at refuse(
                    annotations,
                    "the pod template's annotations are not a mapping",
                );
            };
            // A merge key among the annotations: refused even when ours
            // already match, as the edit of such a mapping always was.
            if amap.entries.iter().any(|e| e.merge) {
                break 'at refuse(annotations, SHARED);
            }
            if amap.entries.iter().any(|e| is_ours(&e.name)) {
                break 'at At::Reconcile(Box::new(Held::of(text, annotations, amap, is_ours)));
            }
            if annotations.shared() {
                break 'at shared(annotations);
            }
            // None of ours: ours go after the last entry, as into a
            // mapping that lacks them.
            At::Insert {
                append: Append::of(text, amap),
                depth: Depth::Entries,
            }
        };
        let ours = template
            .path(&["metadata", "annotations"])
            .and_then(Node::as_map)
            .filter(|m| !m.entries.is_empty())
            .map(|m| {
                m.pairs()
                    .into_iter()
                    .filter(|(k, _)| is_ours(k))
                    .map(|(k, _)| Box::from(k))
                    .collect()
            })
            .unwrap_or_default();
        Site { at, ours }
    }

    /// The keys of ours the pod template's annotations hold now.
    pub fn ours(&self) -> impl Iterator<Item = &str> {
        self.ours.iter().map(|k| &**k)
    }

    /// Edits that make the annotations hold exactly `desired` among our keys
    /// (every other key is left alone); none when they already do.
    pub fn edits(
        &self,
        text: &str,
        desired: &BTreeMap<String, String>,
    ) -> Result<Vec<Edit>, EditError> {
        let refuse = |line, reason: &str| EditError {
            line,
            reason: reason.to_string(),
        };
        match &self.at {
            At::Refused { line, reason } => Err(refuse(*line, reason)),
            _ if desired.is_empty() && !matches!(self.at, At::Reconcile(_)) => Ok(vec![]),
            At::Shared { line } => Err(refuse(*line, SHARED)),
            At::Insert { append, depth } => Ok(vec![append.insert(text, &depth.content(desired))]),
            At::Fill { null, depth } => Ok(vec![null.fill(text, &depth.content(desired))]),
            At::Reconcile(held) => {
                reconcile(text, held, desired).map_err(|reason| refuse(held.line, &reason))
            }
        }
    }
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

/// Our annotations as new content: values always quoted, so that no reader
/// (YAML 1.1 or 1.2) takes a digest for anything but a string.
fn entries(desired: &BTreeMap<String, String>) -> Content {
    Content::Map(
        desired
            .iter()
            .map(|(k, v)| Field::Pair(k.clone(), Content::quoted(v.as_str())))
            .collect(),
    )
}

/// `{key: content}`.
fn under(key: &str, content: Content) -> Content {
    Content::map([(key, content)])
}

/// How new entries are written inside `map`: JSON where the mapping is JSON
/// (its keys double-quoted, as in a JSON document, which kubectl reads
/// with a JSON decoder; an empty one, `"key": {}`, as the key that holds
/// it), else YAML. A block mapping's new flow values are YAML.
pub(crate) fn flow_of(text: &str, map: &Map<'_>) -> Flow {
    let json = map.flow
        && match map.entries.first() {
            Some(e) => text[e.key.span.start..].starts_with('"'),
            None => text[..map.inner.start.saturating_sub(1)]
                .trim_end()
                .strip_suffix(':')
                .is_some_and(|before| before.trim_end().ends_with('"')),
        };
    if json {
        Flow::Json
    } else {
        Flow::Yaml
    }
}

/// One `key: value` of our annotations, in flow or on a block line.
fn entry_text(key: &str, value: &str, flow: Flow) -> String {
    let braced = under(key, Content::quoted(value)).flow(flow);
    braced[1..braced.len() - 1].to_string()
}

/// Where new entries go in a mapping: after its last entry.
#[derive(Clone, Debug)]
enum Append {
    /// Between the braces, after the last entry (and `separator`), written
    /// in `flow`.
    Flow {
        at: usize,
        separator: &'static str,
        flow: Flow,
    },
    /// On the lines after the mapping's last line ([`Map::after`]), at the
    /// column of its keys, each ending in `eol`.
    Block {
        after: usize,
        indent: usize,
        eol: &'static str,
    },
}

impl Append {
    fn of(text: &str, map: &Map<'_>) -> Append {
        if !map.flow {
            return Append::Block {
                after: map.after,
                indent: map.indent,
                eol: map.eol,
            };
        }
        let (at, separator) = match map.entries.last() {
            Some(last) => (last.end, flow_separator(ends_with_colon(last))),
            None => (map.inner.start, ""),
        };
        Append::Flow {
            at,
            separator,
            flow: flow_of(text, map),
        }
    }

    /// Add the entries of `content` (a mapping).
    fn insert(&self, text: &str, content: &Content) -> Edit {
        match *self {
            Append::Flow {
                at,
                separator,
                flow,
            } => {
                let flow = content.flow(flow);
                Edit {
                    range: at..at,
                    text: format!("{separator}{}", &flow[1..flow.len() - 1]),
                }
            }
            Append::Block { after, indent, eol } => {
                let lines = content.fields(indent, eol);
                let text = if !ends_with_break(&text[..after]) {
                    // The stream ends on the mapping's last line, without a
                    // final line break. Start our lines with one and end
                    // them without, so the output ends the way the input did
                    // (and a second run finds it so).
                    format!("{eol}{}", without_final_break(&lines))
                } else {
                    lines
                };
                Edit {
                    range: after..after,
                    text,
                }
            }
        }
    }
}

/// Add `key: value` as the last entry of a mapping that lacks `key`.
fn insert(text: &str, map: &Map<'_>, key: &str, value: Content) -> Edit {
    Append::of(text, map).insert(text, &under(key, value))
}

/// An entry whose value is null (`key:`, `key: null`, `key: ~`, `key:
/// !!null`), as [`NullEntry::fill`] gives it content.
#[derive(Clone, Debug)]
struct NullEntry {
    /// How the new value is written in flow form.
    flow: Flow,
    /// The mapping holding the entry is a flow mapping.
    in_flow: bool,
    /// Block: the column of the mapping's keys.
    indent: usize,
    /// The null as written (empty when nothing is).
    value: Range<usize>,
    colon: Option<usize>,
    end: usize,
    line_break: usize,
}

impl NullEntry {
    fn of(text: &str, map: &Map<'_>, entry: &Entry<'_>) -> NullEntry {
        NullEntry {
            flow: flow_of(text, map),
            in_flow: map.flow,
            indent: map.indent,
            value: entry.value.span.start..entry.value.span.end,
            colon: entry.colon,
            end: entry.end,
            line_break: entry.line_break,
        }
    }

    /// Give content to `key:` / `key: null` / `key: ~` / `key: !!null`.
    fn fill(&self, text: &str, value: &Content) -> Edit {
        let flow = value.flow(self.flow);
        if self.value.end > self.value.start {
            // Replace the null, its tag included.
            return Edit {
                range: self.value.clone(),
                text: flow,
            };
        }
        match (self.colon, self.in_flow) {
            // `{metadata, spec: …}`: a key without `:`.
            (None, true) => Edit {
                range: self.end..self.end,
                text: format!(": {flow}"),
            },
            (Some(colon), true) => Edit {
                range: colon + 1..colon + 1,
                text: format!(" {flow}"),
            },
            // `? annotations` alone: the value goes on a `:` line of its own.
            (None, false) => {
                let eol = eol_near(text, self.line_break);
                Edit {
                    range: self.line_break..self.line_break,
                    text: format!("{eol}{}: {flow}", " ".repeat(self.indent)),
                }
            }
            // `annotations:` followed by nothing: continue as a block. Our
            // lines start at the end of the key's line, so a comment after
            // the colon stays on the key's line instead of trailing our
            // first entry.
            (Some(_), false) => {
                let eol = eol_near(text, self.line_break);
                let lines = value.fields(self.indent + 2, eol);
                Edit {
                    range: self.line_break..self.line_break,
                    text: format!("{eol}{}", without_final_break(&lines)),
                }
            }
        }
    }
}

/// Give content to `key:` / `key: null` / `key: ~` / `key: !!null`.
fn fill_null(text: &str, map: &Map<'_>, entry: &Entry<'_>, value: &Content) -> Edit {
    NullEntry::of(text, map, entry).fill(text, value)
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

/// An annotations mapping that holds entries of ours, as [`reconcile`]
/// edits it: where it is, and where each entry is and how it is written.
#[derive(Clone, Debug)]
struct Held {
    /// The mapping's line, where a refusal points.
    line: usize,
    /// An anchor or alias shares the mapping.
    shared: bool,
    /// How a flow mapping's new entries are written; `None` for a block one.
    flow: Option<Flow>,
    /// See [`Map`].
    inner: Range<usize>,
    indent: usize,
    after: usize,
    eol: &'static str,
    entries: Box<[HeldEntry]>,
}

/// One entry of a [`Held`] mapping; the fields as [`Entry`] has them.
#[derive(Clone, Debug)]
struct HeldEntry {
    start: usize,
    colon: Option<usize>,
    end: usize,
    comma: Option<usize>,
    line_break: usize,
    next_line: usize,
    own_line: bool,
    explicit: bool,
    /// The value's span, and where its content starts (after any anchor
    /// or tag).
    value: Range<usize>,
    content: usize,
    /// The value is a scalar written in this style.
    style: Option<Style>,
    /// See [`ends_with_colon`].
    ends_with_colon: bool,
    /// Set for an entry of ours.
    ours: Option<Box<Ours>>,
}

/// The key of an entry of ours, and its value (`None` when the value is
/// null or no scalar).
#[derive(Clone, Debug)]
struct Ours {
    key: Box<str>,
    value: Option<Box<str>>,
}

impl Held {
    fn of(text: &str, node: &Node<'_>, map: &Map<'_>, is_ours: fn(&str) -> bool) -> Held {
        Held {
            line: node.span.line,
            shared: node.shared(),
            flow: map.flow.then(|| flow_of(text, map)),
            inner: map.inner.clone(),
            indent: map.indent,
            after: map.after,
            eol: map.eol,
            entries: map
                .entries
                .iter()
                .map(|e| HeldEntry {
                    start: e.start,
                    colon: e.colon,
                    end: e.end,
                    comma: e.comma,
                    line_break: e.line_break,
                    next_line: e.next_line,
                    own_line: e.own_line,
                    explicit: e.explicit,
                    value: e.value.span.start..e.value.span.end,
                    content: e.value.content,
                    style: e.value.as_scalar().map(|s| s.style),
                    ends_with_colon: ends_with_colon(e),
                    ours: is_ours(&e.name).then(|| {
                        Box::new(Ours {
                            key: e.name.as_ref().into(),
                            value: e.value.as_str().map(Box::from),
                        })
                    }),
                })
                .collect(),
        }
    }
}

impl HeldEntry {
    /// Ours: the key and the value as a string.
    fn ours(&self) -> Option<(&str, Option<&str>)> {
        self.ours.as_deref().map(|o| (&*o.key, o.value.as_deref()))
    }

    /// A `|` or `>` scalar.
    fn block_scalar(&self) -> bool {
        matches!(self.style, Some(Style::Literal | Style::Folded))
    }

    /// A scalar written on the key's line that can be replaced in place.
    fn inline_scalar(&self) -> bool {
        self.style.is_some() && !self.block_scalar()
    }
}

/// Bring an existing annotations mapping to the desired set of our keys.
fn reconcile(
    text: &str,
    map: &Held,
    desired: &BTreeMap<String, String>,
) -> Result<Vec<Edit>, String> {
    let ours: Vec<(&HeldEntry, &str, Option<&str>)> = map
        .entries
        .iter()
        .filter_map(|e| e.ours().map(|(k, v)| (e, k, v)))
        .collect();
    let current: BTreeMap<&str, &str> =
        ours.iter().map(|&(_, k, v)| (k, v.unwrap_or(""))).collect();
    let wanted: BTreeMap<&str, &str> = desired
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if current == wanted {
        return Ok(vec![]);
    }
    if map.shared {
        return Err(SHARED.into());
    }
    if let Some(flow) = map.flow {
        return Ok(vec![flow_rewrite(text, map, flow, desired)]);
    }
    let mut edits = Vec::new();
    let mut missing: BTreeMap<String, String> = desired.clone();
    let others = map.entries.len() - ours.len();
    for &(e, key, now) in &ours {
        match missing.remove(key) {
            Some(value) if now == Some(value.as_str()) => {}
            Some(value) if e.inline_scalar() && !e.explicit => {
                let span = &e.value;
                let (range, lead) = if span.start < span.end {
                    (span.clone(), "")
                } else {
                    // An empty value: ours goes after the colon (or brings one).
                    match e.colon {
                        Some(c) => (c + 1..c + 1, " "),
                        None => (e.end..e.end, ": "),
                    }
                };
                edits.push(Edit {
                    range,
                    text: format!("{lead}{}", scalar(&value, Context::Quoted)),
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
                    format!("{pad}{}{eol}", entry_text(key, value, Flow::Yaml))
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
        let append = Append::Block {
            after: map.after,
            indent: map.indent,
            eol: map.eol,
        };
        edits.push(append.insert(text, &entries(&missing)));
    } else if others == 0 && desired.is_empty() {
        // Every entry goes: leave an empty mapping, not a dangling key.
        let first = &map.entries[0];
        let last = map.entries.last().expect("not empty");
        let eol = if ends_with_break(&text[..last.end]) {
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
fn guard_block_scalars(text: &str, map: &Held, edits: &mut [Edit]) {
    for p in map.entries.iter() {
        let rewritten = edits.iter().any(|e| e.range.contains(&p.start));
        if !p.block_scalar() || rewritten {
            continue;
        }
        let mut at = p.value.end;
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
        let header = &text[p.content..p.value.end];
        let keep = header[..break_at(header).map_or(header.len(), |(i, _)| i)].contains('+');
        let indent = map.indent;
        let exposed = split_inclusive(&text[at..]).find_map(|line| {
            let line = without_final_break(line);
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
    map: &Held,
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
        let block_scalar = map
            .entries
            .iter()
            .find(|p| p.value.end == range.start && p.block_scalar());
        if block_scalar.is_some() {
            out = format!("{}#", " ".repeat(map.indent));
        } else {
            range.start = without_final_break(&text[..range.start]).len();
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
fn flow_rewrite(text: &str, map: &Held, flow: Flow, desired: &BTreeMap<String, String>) -> Edit {
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
        let (piece, as_written) = match e.ours() {
            None => (own.to_string(), true),
            Some((key, now)) => match missing.remove(key) {
                None => continue,
                Some(value) if now == Some(value.as_str()) => (own.to_string(), true),
                Some(value) => (entry_text(key, &value, flow), false),
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
        |_: &str, j: Option<usize>| verbatim && j.is_some_and(|j| entries[j].ends_with_colon);
    for (key, value) in &missing {
        if !out.is_empty() {
            let colon = kept_ends_with_colon(&out, last_kept);
            out.push_str(flow_separator(colon));
        }
        out.push_str(&entry_text(key, value, flow));
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

/// Edits that make `key` of the mapping `map_node` hold `value`, or (`None`)
/// leave the mapping without it. In a flow mapping the value is replaced
/// where it stands, the entry added last or cut with its separator; in a
/// block mapping an entry there is removed and, with a value, written anew
/// after the last other entry, at the column of its keys (for an output-only
/// field such as a ResourceList's `results`, which goes last), a sequence's
/// dashes placed as `dashes` says.
pub fn put(
    text: &str,
    map_node: &Node<'_>,
    key: &str,
    value: Option<&Content>,
    dashes: Dashes,
) -> Vec<Edit> {
    let map = map_node.as_map().expect("put into a mapping");
    let existing = map.entry(key);
    if map.flow {
        return match (existing, value) {
            (None, None) => vec![],
            (None, Some(v)) => vec![insert(text, map, key, v.clone())],
            (Some(e), Some(v)) if e.value.is_null() => vec![fill_null(text, map, e, v)],
            (Some(e), Some(v)) => vec![Edit {
                range: e.value.span.start..e.value.span.end,
                text: v.flow(flow_of(text, map)),
            }],
            (Some(e), None) => vec![flow_remove(map, e)],
        };
    }
    let mut edits = Vec::new();
    let first_key = map.entries[0].key.span.start;
    // A byte order mark before the first key is no column (Go skips it).
    let indent = text[line_start(text, first_key)..first_key]
        .trim_start_matches('\u{feff}')
        .len();
    let mut removed = None;
    if let Some(e) = existing {
        let from = line_start(text, e.key.span.start);
        let to = after_line(text, e.value.span.end).unwrap_or(text.len());
        edits.push(Edit {
            range: from..to,
            text: String::new(),
        });
        removed = Some(from..to);
    }
    let Some(value) = value else {
        return edits;
    };
    // After the last entry that stays.
    let last = map
        .entries
        .iter()
        .rev()
        .find(|e| !existing.is_some_and(|x| std::ptr::eq(*e, x)));
    let (at, near) = match last {
        Some(last) => (
            after_line(text, last.value.span.end.max(last.key.span.end)).unwrap_or(text.len()),
            last.key.span.start,
        ),
        None => {
            let r = removed.clone().expect("a block mapping has an entry");
            (r.start, r.start)
        }
    };
    // The file's own line break (a lone CR too): the next run must find the
    // lines it wrote where it wrote them.
    let eol = eol_near(text, near);
    let mut block = value.entry(key, indent, dashes, eol);
    // The input ends without a line break: so does the output, also when
    // our lines replace an entry that was the last thing in it.
    let replaces_the_end = removed.is_some_and(|r| r.start == at && r.end == text.len());
    if !ends_with_break(text) && (at == text.len() || replaces_the_end) {
        if at == text.len() {
            block.insert_str(0, eol);
        }
        block.truncate(block.len() - eol.len());
    }
    edits.push(Edit {
        range: at..at,
        text: block,
    });
    edits
}

/// Cut `entry` out of a flow mapping with the separator before it (after
/// it, when it comes first).
fn flow_remove(map: &Map<'_>, entry: &Entry<'_>) -> Edit {
    let entries = &map.entries;
    let i = entries
        .iter()
        .position(|e| std::ptr::eq(e, entry))
        .expect("an entry of this mapping");
    match (i.checked_sub(1).map(|j| &entries[j]), entries.get(i + 1)) {
        // `{k: , results: []}`: `k:}` would be the key `k:` to Go.
        (Some(before), _) => Edit {
            range: before.end..entry.end,
            text: if ends_with_colon(before) { " " } else { "" }.to_string(),
        },
        (None, Some(after)) => Edit {
            range: entry.start..after.start,
            text: String::new(),
        },
        (None, None) => Edit {
            range: map.inner.clone(),
            text: String::new(),
        },
    }
}

/// The text of `node` (a mapping) as a document of its own: the same bytes,
/// moved left to column 0, ending in a line break. Never re-serialized: that
/// would change what `on`, `0644` or `1_000` mean. `None` when the copy
/// would not read as the same tree (an alias to an anchor outside it, a
/// line indented less than its keys).
pub fn detach(text: &str, node: &Node<'_>) -> Option<String> {
    let mut out = String::new();
    match node.as_map() {
        Some(map) if !map.flow && !map.entries.is_empty() => {
            let first = &map.entries[0].key;
            let indent = indent_of(text, first);
            let from = line_start(text, first.span.start);
            let to = after_line(text, node.span.end).unwrap_or(text.len());
            for line in split_inclusive(&text[from..to]) {
                let spaces = line.len() - line.trim_start_matches(' ').len();
                out.push_str(&line[spaces.min(indent)..]);
            }
        }
        _ => out.push_str(&text[node.span.start..node.span.end]),
    }
    if !ends_with_break(&out) {
        out.push_str(eol_near(text, node.span.start));
    }
    let copy = tree::parse_document(&out, 0, 1).ok()??;
    same_tree(node, &copy).then_some(out)
}

/// Same structure and the same scalars, written the same way.
fn same_tree(a: &Node<'_>, b: &Node<'_>) -> bool {
    match (&a.value, &b.value) {
        (Value::Scalar(x), Value::Scalar(y)) => {
            x.text == y.text && x.style == y.style && x.tagged == y.tagged
        }
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_tree(a, b))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.entries.len() == y.entries.len()
                && x.entries
                    .iter()
                    .zip(&y.entries)
                    .all(|(a, b)| same_tree(&a.key, &b.key) && same_tree(&a.value, &b.value))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::stamp::is_ours;
    use crate::yaml::tree::parse_document;
    use crate::yaml::write::apply;

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
        let mut edits = annotations(doc, template, &desired, is_ours).map_err(|e| e.reason)?;
        let out = apply(doc, &mut edits);
        let again = parse_document(&out, 0, 1)
            .unwrap_or_else(|e| panic!("output does not parse: {e}\n{out}"))
            .unwrap();
        let left = annotations(&out, again.get("template").unwrap(), &desired, is_ours).unwrap();
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
        let out = stamp("template: {}\n", Some("a\u{2028}b\u{feff}\"\\")).unwrap();
        assert_eq!(
            out,
            "template: {metadata: {annotations: {secret-rollout/secret.s: \"a\\u2028b\\ufeff\\\"\\\\\"}}}\n"
        );
        let root = parse_document(&out, 0, 1).unwrap().unwrap();
        let value = root.path(&["template", "metadata", "annotations", KEY]);
        assert_eq!(value.and_then(Node::as_str), Some("a\u{2028}b\u{feff}\"\\"));
    }

    #[test]
    fn a_json_mapping_gets_json() {
        case(
            "{\"template\": {\"spec\": {}}}\n",
            "{\"template\": {\"spec\": {}, \"metadata\": {\"annotations\": {\"secret-rollout/secret.s\": \"v\"}}}}\n",
        );
        case(
            "{\"template\": {\"metadata\": {\"annotations\": {\"a\": \"b\"}}}}\n",
            "{\"template\": {\"metadata\": {\"annotations\": {\"a\": \"b\", \"secret-rollout/secret.s\": \"v\"}}}}\n",
        );
        case(
            "{\"template\": {}}\n",
            "{\"template\": {\"metadata\": {\"annotations\": {\"secret-rollout/secret.s\": \"v\"}}}}\n",
        );
        case(
            "{\"template\": {\"metadata\": null}}\n",
            "{\"template\": {\"metadata\": {\"annotations\": {\"secret-rollout/secret.s\": \"v\"}}}}\n",
        );
    }
}
