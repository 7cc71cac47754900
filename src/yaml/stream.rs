//! Splitting a multi-document YAML stream the way Kubernetes tooling does.
//!
//! kubectl's YAML reader and Helm both cut a stream at lines that begin with
//! `---`; YAML itself forbids such a line inside any scalar, so cutting by
//! lines agrees with the parser and lets each document be parsed (and
//! reported on) on its own. We never copy: a document is a byte range.

use std::ops::Range;
use std::sync::LazyLock;

use memchr::memmem::Finder;
use rayon::prelude::*;

use crate::yaml::tree::{self as yaml, Node, YamlError};
use crate::yaml::write::lines;

/// Input bytes as kubectl reads them: UTF-8, or UTF-16 with a byte order
/// mark (turned into UTF-8); a byte that is not UTF-8 reads as U+FFFD, one
/// per byte, as Go's UTF-8 decoder does. We parse the text and write the
/// output in the input's own encoding, every byte we do not edit unchanged.
pub struct Input {
    text: String,
    form: Form,
}

enum Form {
    Utf8,
    /// The original bytes, and for each U+FFFD standing for a bad byte, its
    /// offset in the text.
    Lossy {
        bytes: Vec<u8>,
        bad: Vec<usize>,
    },
    Utf16 {
        big_endian: bool,
    },
}

/// Input we cannot decode at all.
#[derive(Debug, thiserror::Error)]
#[error("input is UTF-16 (it starts with a byte order mark) but not valid UTF-16 at byte {0}")]
pub struct EncodingError(pub usize);

impl Input {
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Input, EncodingError> {
        let utf16 = match bytes.get(..2) {
            Some([0xFF, 0xFE]) => Some(false),
            Some([0xFE, 0xFF]) => Some(true),
            _ => None,
        };
        if let Some(big_endian) = utf16 {
            let units = bytes[2..].chunks(2).map(|c| {
                let pair = [c[0], c.get(1).copied().unwrap_or(0)];
                if big_endian {
                    u16::from_be_bytes(pair)
                } else {
                    u16::from_le_bytes(pair)
                }
            });
            let mut text = String::from('\u{feff}');
            for (i, c) in char::decode_utf16(units).enumerate() {
                text.push(c.map_err(|_| EncodingError(2 + 2 * i))?);
            }
            if bytes.len() % 2 == 1 {
                return Err(EncodingError(bytes.len() - 1));
            }
            return Ok(Input {
                text,
                form: Form::Utf16 { big_endian },
            });
        }
        if simdutf8::basic::from_utf8(&bytes).is_ok() {
            // SAFETY: just checked to be UTF-8.
            let text = unsafe { String::from_utf8_unchecked(bytes) };
            return Ok(Input {
                text,
                form: Form::Utf8,
            });
        }
        // Not UTF-8 (rare): std finds where, and the bad bytes read as Go
        // reads them.
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Input {
                text,
                form: Form::Utf8,
            }),
            Err(e) => {
                let bytes = e.into_bytes();
                let mut text = String::with_capacity(bytes.len() + 16);
                let mut bad = Vec::new();
                let mut rest = &bytes[..];
                loop {
                    match std::str::from_utf8(rest) {
                        Ok(valid) => {
                            text.push_str(valid);
                            break;
                        }
                        Err(e) => {
                            let (valid, after) = rest.split_at(e.valid_up_to());
                            text.push_str(std::str::from_utf8(valid).expect("checked"));
                            bad.push(text.len());
                            text.push('\u{fffd}');
                            rest = &after[1..];
                        }
                    }
                }
                Ok(Input {
                    text,
                    form: Form::Lossy { bytes, bad },
                })
            }
        }
    }

    /// The text as Go reads it.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn into_text(self) -> String {
        self.text
    }

    /// Write the input with `edits` (offsets into [`Input::text`]) applied,
    /// in the input's encoding, piece by piece.
    /// Whether the input was UTF-16 (and so is written back encoded).
    pub fn is_utf16(&self) -> bool {
        matches!(self.form, Form::Utf16 { .. })
    }

    pub fn write(
        &self,
        edits: &mut [crate::yaml::write::Edit],
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        match &self.form {
            Form::Utf8 => crate::yaml::write::write(self.text.as_bytes(), edits, &mut |piece| {
                out.write_all(piece)
            }),
            Form::Lossy { bytes, bad } => {
                // Every U+FFFD took 3 bytes of text for 1 of input.
                let original = |at: usize| at - 2 * bad.partition_point(|&b| b < at);
                for e in edits.iter_mut() {
                    e.range = original(e.range.start)..original(e.range.end);
                }
                crate::yaml::write::write(bytes, edits, &mut |piece| out.write_all(piece))
            }
            Form::Utf16 { big_endian } => {
                let big_endian = *big_endian;
                crate::yaml::write::write(self.text.as_bytes(), edits, &mut |piece| {
                    let piece = std::str::from_utf8(piece).expect("edits keep UTF-8 boundaries");
                    let mut buf = Vec::with_capacity(piece.len() * 2);
                    for unit in piece.encode_utf16() {
                        buf.extend_from_slice(&if big_endian {
                            unit.to_be_bytes()
                        } else {
                            unit.to_le_bytes()
                        });
                    }
                    out.write_all(&buf)
                })
            }
        }
    }
}

/// One document of the input stream.
#[derive(Clone, Debug)]
pub struct Document {
    /// 0-based position in the stream, counting every `---` section.
    pub index: usize,
    /// The document's bytes, including its leading `---` line when present.
    pub range: Range<usize>,
    /// 1-based line of the stream where `range` starts.
    pub line: usize,
    /// The chart template: Helm 3's `# Source:` comment, or Helm 4's
    /// `postrenderer.helm.sh/postrender-filename` annotation.
    pub source: Option<String>,
    /// What its top-level lines tell for certain, if they do.
    pub sniff: Option<Sniff>,
}

const BOM: &str = "\u{feff}";

/// Split `text` into documents, and sniff each one's kind on the way (see
/// [`Sniff`]). Text before the first `---` is a document too (Helm 4 sends
/// no leading marker). A UTF-8 byte order mark is skipped.
///
/// The cuts come from one search for marker lines; then each document is
/// read on its own, in parallel (its sniff, its template, its line breaks),
/// and the line numbers are added up in stream order.
pub fn split(text: &str) -> Vec<Document> {
    let body_start = if text.starts_with(BOM) { BOM.len() } else { 0 };
    let bytes = text.as_bytes();
    // A marker at the very start opens the first document: none before it.
    let ends = occurrences(&bytes[body_start..], b"\n---")
        .map(|i| body_start + i + 1)
        .filter(|&at| marker_at(bytes, at))
        .chain([text.len()]);
    // No large buffer is made and dropped on the way: glibc would raise its
    // threshold for mapping allocations of their own, and later large ones
    // (the model's) would stay in the heap (25 MB more at the peak of
    // 300,000 small documents).
    let mut docs = Vec::new();
    let mut start = body_start;
    for end in ends {
        docs.push(Document {
            index: docs.len(),
            range: start..end,
            line: 0,
            source: None,
            sniff: None,
        });
        start = end;
    }
    docs.par_iter_mut().for_each(|doc| {
        let (sniff, breaks) = Sniffer::read(text, doc.range.clone());
        doc.sniff = sniff;
        // Its line breaks for now: the running sum below makes it the line
        // the document starts at.
        doc.line = breaks;
        doc.source = helm_source(&text[doc.range.clone()]);
    });
    let mut line = 1;
    for doc in &mut docs {
        let breaks = std::mem::replace(&mut doc.line, line);
        line += breaks;
    }
    docs
}

/// How much of the text each task of [`occurrences`] searches.
const PIECE: usize = 1 << 20;

/// Where `needle` occurs in `haystack`, in order. Pieces of it are searched
/// in parallel; each reads past its end by the needle's length less one, so
/// a match across a cut is found once, by the piece it starts in.
pub fn occurrences(haystack: &[u8], needle: &[u8]) -> impl Iterator<Item = usize> {
    let finder = Finder::new(needle);
    let pieces: Vec<Vec<usize>> = (0..haystack.len().div_ceil(PIECE))
        .into_par_iter()
        .map(|n| {
            let at = n * PIECE;
            let end = (at + PIECE + needle.len().saturating_sub(1)).min(haystack.len());
            finder
                .find_iter(&haystack[at..end])
                .map(|i| at + i)
                .collect()
        })
        .collect();
    pieces.into_iter().flatten()
}

/// A line that is a `---` marker starts at byte `at` (a line start).
fn marker_at(bytes: &[u8], at: usize) -> bool {
    bytes[at..].starts_with(b"---")
        && matches!(bytes.get(at + 3), None | Some(b'\n' | b' ' | b'\t' | b'\r'))
}

/// What a document's top-level lines tell for certain about it, read while
/// splitting: its `kind` and `apiVersion`, and whether it is a Helm hook.
/// `None` when anything could make Go read it otherwise: the kind missing or
/// repeated, quoted, tagged or anchored root keys, a flow or indented root,
/// `<<`, `?`, `items` (a list), directives, lone CRs, Unicode line breaks,
/// a byte order mark, escapes or `!!binary` that could spell a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sniff {
    /// Byte ranges of the values in the stream.
    pub kind: Range<usize>,
    pub api_version: Range<usize>,
    /// The document may carry a `helm.sh/hook` annotation: only then is it
    /// parsed to know (so `false` is certain).
    pub maybe_hook: bool,
    /// Escapes or tags in the document could spell any name: a name search
    /// in its text proves nothing.
    pub obfuscated: bool,
}

/// The searches every document's sniff and template make, built once.
static BINARY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(":binary"));
static HOOK: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("helm.sh/hook"));
static HELM4: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(HELM4_FILENAME));

#[derive(Default)]
struct Sniffer {
    uncertain: bool,
    /// A top-level line has been seen (the first must be a key).
    content: bool,
    kind: Option<Range<usize>>,
    api_version: Option<Range<usize>>,
}

impl Sniffer {
    /// The sniff of the document at `range` of `text`, and its number of
    /// line feeds (what the split counts lines by), in one walk over its
    /// lines. Once a root key has been seen, only lines at column 0 can
    /// change the sniff: indented ones are stepped over.
    fn read(text: &str, range: Range<usize>) -> (Option<Sniff>, usize) {
        let doc = &text.as_bytes()[range.clone()];
        let mut sniffer = Sniffer::default();
        let mut feeds = memchr::memchr_iter(b'\n', doc);
        let mut count = 0;
        let mut start = 0;
        loop {
            let end = feeds.next();
            let line = range.start + start..range.start + end.unwrap_or(doc.len());
            if start == 0 && marker_at(doc, 0) {
                sniffer.separator(&text[line]);
            } else if !(sniffer.content && doc.get(start) == Some(&b' ')) {
                sniffer.line(line.start, &text[line]);
            }
            let Some(end) = end else { break };
            count += 1;
            start = end + 1;
            if sniffer.uncertain {
                return (None, count + feeds.count());
            }
        }
        (sniffer.finish(text, range), count)
    }

    /// The `---` line that opens the document: a comment may follow it.
    fn separator(&mut self, line: &str) {
        let rest = line[3..].trim_matches([' ', '\t', '\r']);
        if !(rest.is_empty() || rest.starts_with('#')) {
            self.uncertain = true;
        }
    }

    fn line(&mut self, at: usize, line: &str) {
        if self.uncertain {
            return;
        }
        let line = line.strip_suffix('\r').unwrap_or(line);
        let b = line.as_bytes();
        match b.first() {
            None | Some(b'#') => return,
            Some(b' ') => {
                if !self.content
                    && !line.trim_start_matches(' ').starts_with(['#'])
                    && !line.trim().is_empty()
                {
                    // The root is indented (or not a mapping at column 0).
                    self.uncertain = true;
                }
                return;
            }
            _ => {}
        }
        if self.content && harmless_top_level_line(line) {
            return;
        }
        self.content = true;
        // A plain key made of the characters Kubernetes keys use, then `:`.
        let key_len = b
            .iter()
            .position(|c| !(c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'/')))
            .unwrap_or(b.len());
        if key_len == 0
            || !b[0].is_ascii_alphabetic()
            || b.get(key_len) != Some(&b':')
            || !matches!(b.get(key_len + 1), None | Some(b' ' | b'\t'))
        {
            self.uncertain = true;
            return;
        }
        let key = &line[..key_len];
        let raw = &line[key_len + 1..];
        let value = raw.trim_start_matches([' ', '\t']);
        let value_at = at + line.len() - value.len();
        let word = |allowed: &dyn Fn(u8) -> bool| -> Option<Range<usize>> {
            let n = value
                .bytes()
                .position(|c| !allowed(c))
                .unwrap_or(value.len());
            let rest = value[n..].trim_start_matches([' ', '\t']);
            (n > 0 && (rest.is_empty() || (rest.starts_with('#') && n < value.len())))
                .then(|| value_at..value_at + n)
        };
        match key {
            "kind" | "apiVersion" => {
                let range = if key == "kind" {
                    word(&|c| c.is_ascii_alphanumeric())
                } else {
                    word(&|c| c.is_ascii_alphanumeric() || matches!(c, b'/' | b'.' | b'-'))
                };
                let slot = if key == "kind" {
                    &mut self.kind
                } else {
                    &mut self.api_version
                };
                match (range, slot.is_some()) {
                    (Some(r), false) => *slot = Some(r),
                    _ => self.uncertain = true,
                }
            }
            "items" => self.uncertain = true,
            _ => {
                if !closed_on_its_line(value) {
                    self.uncertain = true;
                }
            }
        }
    }

    fn finish(self, text: &str, range: Range<usize>) -> Option<Sniff> {
        if self.uncertain {
            return None;
        }
        let (kind, api_version) = (self.kind?, self.api_version?);
        let doc = &text.as_bytes()[range];
        // Unicode line breaks and byte order marks (and lone CRs, below)
        // change what Go takes for a line.
        let mut odd = memchr::memchr3_iter(0xC2, 0xE2, 0xEF, doc);
        if odd.any(|i| {
            lines::break_len(&doc[i..]).is_some() || doc[i..].starts_with(&[0xEF, 0xBB, 0xBF])
        }) {
            return None;
        }
        // The rare ASCII bytes that matter, in one pass: lone CRs, and the
        // escapes and tags that could spell any name.
        let mut obfuscated = false;
        for i in memchr::memchr3_iter(b'\r', b'\\', b'!', doc) {
            let next = doc.get(i + 1);
            match doc[i] {
                b'\r' if next != Some(&b'\n') => return None,
                b'\r' => {}
                b'\\' => {
                    obfuscated |= matches!(
                        next,
                        Some(b'x' | b'u' | b'U' | b'/' | b'\n' | b'\r' | b'\\')
                    )
                }
                _ => {
                    obfuscated |= [&b"!binary"[..], b"!!%", b"!<"]
                        .iter()
                        .any(|tag| doc[i..].starts_with(tag))
                }
            }
        }
        let obfuscated = obfuscated || BINARY.find(doc).is_some();
        let maybe_hook = obfuscated || HOOK.find(doc).is_some();
        Some(Sniff {
            kind,
            api_version,
            maybe_hook,
            obfuscated,
        })
    }
}

/// Top-level lines of a root mapping that are no root key, whatever they
/// hold: an entry of a root key's sequence written without indentation
/// (`- apiGroups: …`), and a lone closing quote, as Go's emitter writes at
/// the end of a multi-line quoted string (no root key can start with a quote
/// that has nothing after it on its line; Go would refuse the document). A
/// fake key line inside such a value can only add a second `kind` (which
/// makes the sniff give up), never hide the real one.
fn harmless_top_level_line(line: &str) -> bool {
    let line = line.trim_end_matches([' ', '\t']);
    line == "-" || line.starts_with("- ") || line == "'" || line == "\""
}

/// A top-level value that cannot run on into later lines as a quoted
/// scalar or a flow collection.
fn closed_on_its_line(mut value: &str) -> bool {
    // Properties (`&anchor`, `!tag`) may stand before the value itself.
    while value.starts_with(['&', '!']) {
        let end = value.find([' ', '\t']).unwrap_or(value.len());
        value = value[end..].trim_start_matches([' ', '\t']);
    }
    let Some(first) = value.bytes().next() else {
        return true;
    };
    let last = value.trim_end_matches([' ', '\t']).bytes().last();
    match first {
        b'\'' => {
            last == Some(b'\'') && value.len() > 1 && value.matches('\'').count().is_multiple_of(2)
        }
        b'"' => {
            last == Some(b'"')
                && value.len() > 1
                && value.matches('"').count() == 2
                && !value.contains('\\')
        }
        b'[' | b'{' => {
            let close = if first == b'[' { b']' } else { b'}' };
            last == Some(close) && !value.contains(['\'', '"', '#'])
        }
        _ => true,
    }
}

/// `---` or `...` alone, or followed by whitespace (and then content or a comment).
fn is_marker(line: &str, marker: &str) -> bool {
    line.strip_prefix(marker)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r']))
}

/// Helm 4 marks every object with the template it came from, so that it can
/// regroup our output into files.
pub const HELM4_FILENAME: &str = "postrenderer.helm.sh/postrender-filename";

/// The template a document came from. Found by text, not from the tree, so
/// that even a document we cannot parse is reported with its template.
fn helm_source(doc: &str) -> Option<String> {
    helm3_source(doc).or_else(|| helm4_source(doc))
}

/// The annotation's value: the scalar after the key, up to its closing
/// quote (or, plain, to the end of its line or flow entry). Only a name
/// may come of it (see [`crate::trust::name`]): it goes into messages.
fn helm4_source(doc: &str) -> Option<String> {
    let at = HELM4.find(doc.as_bytes())?;
    let rest = doc[at + HELM4_FILENAME.len()..].trim_start_matches(['\'', '"']);
    let rest = rest.strip_prefix(':')?.trim_start_matches([' ', '\t']);
    let value = match rest.chars().next()? {
        q @ ('\'' | '"') => rest[1..].split(q).next()?,
        _ => rest
            .split(|c: char| matches!(c, ',' | '}' | ']' | '#') || c.is_whitespace())
            .next()?,
    };
    crate::trust::name::checked(value)
        .filter(|name| name.len() == value.len())
        .map(str::to_string)
}

/// The template path Helm 3 writes as `# Source: chart/templates/x.yaml` in
/// the comment block before a document's content; any line break Go knows
/// ends a line here.
fn helm3_source(doc: &str) -> Option<String> {
    let mut rest = Some(doc);
    while let Some(text) = rest {
        let line = match lines::break_at(text) {
            Some((at, brk)) => {
                rest = Some(&text[at + brk.len()..]);
                &text[..at]
            }
            None => {
                rest = None;
                text
            }
        };
        if let Some(path) = line.strip_prefix("# Source: ") {
            return crate::trust::name::checked(path.trim()).map(str::to_string);
        }
        let trimmed = line.trim_start();
        if !(trimmed.is_empty() || trimmed.starts_with('#') || is_marker(line, "---")) {
            return None;
        }
    }
    None
}

/// The `---` line that kubectl's stream reader drops before it hands a
/// document to the YAML decoder: that of every document but the first piece
/// of the stream, which it decodes with its `---`. This matters for one
/// thing: a byte order mark right after a dropped `---` line starts the
/// decoded text, where Go skips it; after a kept one it is text.
/// Returns the bytes and lines to skip.
fn separator_line(doc: &str, index: usize) -> (usize, usize) {
    if index == 0 {
        return (0, 0);
    }
    let first = doc.split_inclusive('\n').next().unwrap_or("");
    if is_marker(first.trim_end_matches('\n'), "---") && first.ends_with('\n') {
        (first.len(), 1)
    } else {
        (0, 0)
    }
}

/// A document together with its parsed tree (`None` when it has no content).
#[derive(Debug)]
pub struct Parsed<'a> {
    pub doc: Document,
    pub root: Option<Node<'a>>,
}

/// Input that is not YAML we can trust; names the document and line.
#[derive(Debug, thiserror::Error)]
#[error("{}: {error}", doc_name(*.doc, .template.as_deref()))]
pub struct ParseError {
    /// The document's 0-based index in the stream.
    pub doc: usize,
    pub template: Option<String>,
    /// In the message, so not a `#[source]` (it would be printed twice).
    pub error: YamlError,
}

/// The number a person counts a document by, 1-based, from its 0-based
/// index in the stream, which is what every type holds: the one place a
/// document's index becomes its number.
pub fn doc_number(index: usize) -> usize {
    index + 1
}

/// A document as messages name it: `document 3`, with the chart template
/// it came from when that is known (`document 3 (the0/templates/x.yaml)`).
pub fn doc_name(index: usize, template: Option<&str>) -> String {
    let number = doc_number(index);
    match template {
        Some(t) => format!("document {number} ({t})"),
        None => format!("document {number}"),
    }
}

/// Split and parse every document; the first bad document stops everything.
pub fn parse(text: &str) -> Result<Vec<Parsed<'_>>, ParseError> {
    parse_each(text, &Ok)
}

/// Split and parse every document in parallel and hand each, tree and all,
/// to `read`, which keeps what it needs: a large stream's trees would
/// otherwise all be held at once. Results come back in stream order; the
/// first failing document (in stream order) decides the error.
pub fn parse_each<'a, T: Send, E: Send + From<ParseError>>(
    text: &'a str,
    read: &(dyn Fn(Parsed<'a>) -> Result<T, E> + Sync),
) -> Result<Vec<T>, E> {
    let docs = split(text);
    let results: Vec<Result<T, E>> = docs
        .into_par_iter()
        .map(|doc| read(parse_one(text, doc)?))
        .collect();
    // The first bad document in stream order, whichever thread found it.
    results.into_iter().collect()
}

/// Parse one document of `text` (as [`split`] found it).
pub fn parse_one(text: &str, doc: Document) -> Result<Parsed<'_>, ParseError> {
    let slice = &text[doc.range.clone()];
    let (skip, lines) = separator_line(slice, doc.index);
    // kubectl may read the start of a stream as JSON, never a later section.
    let parse = if doc.index == 0 {
        yaml::parse_stream_start
    } else {
        yaml::parse_document
    };
    match parse(&slice[skip..], doc.range.start + skip, doc.line + lines) {
        Ok(root) => Ok(Parsed { doc, root }),
        Err(error) => Err(ParseError {
            doc: doc.index,
            template: doc.source.clone(),
            error,
        }),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The split as it was, one line at a time with every search of its own:
    /// the oracle of the parallel one.
    mod by_lines {
        use super::super::*;

        pub(super) fn split(text: &str) -> Vec<Document> {
            let body_start = if text.starts_with(BOM) { BOM.len() } else { 0 };
            let mut docs = Vec::new();
            let mut start = body_start;
            let mut start_line = 1;
            let mut line_no = 1;
            let mut pos = body_start;
            let mut sniffer = Sniffer::default();
            let bytes = text.as_bytes();
            while pos < text.len() {
                let line_end = memchr::memchr(b'\n', &bytes[pos..]).map_or(text.len(), |i| pos + i);
                let line = &text[pos..line_end];
                let next = (line_end + 1).min(text.len());
                if is_marker(line, "---") {
                    if pos > start {
                        push(
                            &mut docs,
                            text,
                            start..pos,
                            start_line,
                            finish(sniffer, text, start..pos),
                        );
                    }
                    start = pos;
                    start_line = line_no;
                    sniffer = Sniffer::default();
                    sniffer.separator(line);
                } else {
                    sniffer.line(pos, line);
                }
                pos = next;
                line_no += 1;
                if line_end == text.len() {
                    break;
                }
            }
            if start < text.len() || docs.is_empty() {
                let sniff = finish(sniffer, text, start..text.len());
                push(&mut docs, text, start..text.len(), start_line, sniff);
            }
            docs
        }
        fn finish(sniffer: Sniffer, text: &str, range: Range<usize>) -> Option<Sniff> {
            if sniffer.uncertain {
                return None;
            }
            let (kind, api_version) = (sniffer.kind?, sniffer.api_version?);
            let doc = &text.as_bytes()[range];
            // Unicode line breaks and byte order marks (and lone CRs) change what
            // Go takes for a line.
            let mut odd = memchr::memchr3_iter(0xC2, 0xE2, 0xEF, doc);
            if odd.any(|i| {
                lines::break_len(&doc[i..]).is_some() || doc[i..].starts_with(&[0xEF, 0xBB, 0xBF])
            }) {
                return None;
            }
            if memchr::memchr_iter(b'\r', doc).any(|i| doc.get(i + 1) != Some(&b'\n')) {
                return None;
            }
            let obfuscated = memchr::memchr_iter(b'\\', doc).any(|i| {
                matches!(
                    doc.get(i + 1),
                    Some(b'x' | b'u' | b'U' | b'/' | b'\n' | b'\r' | b'\\')
                )
            }) || [&b"!binary"[..], b":binary", b"!!%", b"!<"]
                .iter()
                .any(|tag| memchr::memmem::find(doc, tag).is_some());
            let maybe_hook = obfuscated || memchr::memmem::find(doc, b"helm.sh/hook").is_some();
            Some(Sniff {
                kind,
                api_version,
                maybe_hook,
                obfuscated,
            })
        }
        fn push(
            docs: &mut Vec<Document>,
            text: &str,
            range: Range<usize>,
            line: usize,
            sniff: Option<Sniff>,
        ) {
            let source = helm_source(&text[range.clone()]);
            docs.push(Document {
                index: docs.len(),
                range,
                line,
                source,
                sniff,
            });
        }
        fn helm_source(doc: &str) -> Option<String> {
            helm3_source(doc).or_else(|| helm4_source(doc))
        }
        // Helm 4's annotation is found the same way in both splits (the
        // production `helm4_source`, by the glob import); Helm 3's comment is
        // read here as it was read line by line before.
        fn helm3_source(doc: &str) -> Option<String> {
            for line in doc.split(lines::BREAKS) {
                if let Some(path) = line.strip_prefix("# Source: ") {
                    return crate::trust::name::checked(path.trim()).map(str::to_string);
                }
                let trimmed = line.trim_start();
                if !(trimmed.is_empty() || trimmed.starts_with('#') || is_marker(line, "---")) {
                    return None;
                }
            }
            None
        }
    }

    /// Every field of the parallel split's documents against the oracle's.
    fn same_split(text: &str) -> Result<(), String> {
        let (new, old) = (split(text), by_lines::split(text));
        let fields = |d: &Document| {
            (
                d.index,
                d.range.clone(),
                d.line,
                d.source.clone(),
                d.sniff.clone(),
            )
        };
        let new: Vec<_> = new.iter().map(fields).collect();
        let old: Vec<_> = old.iter().map(fields).collect();
        if new == old {
            Ok(())
        } else {
            Err(format!("{text:?}:\nsplit     {new:?}\nby lines  {old:?}"))
        }
    }

    /// Lines that matter to the split, the sniff or the template.
    const LINES: &[&str] = &[
        "---",
        "--- ",
        "---\t# c",
        "--- # comment",
        "--- a: 1",
        "---x",
        "----",
        "---\r",
        " ---",
        "...",
        "... # c",
        "",
        "   ",
        "#",
        "# Source: c/templates/a.yaml",
        "# Source: c/templates/a b.yaml",
        "# Source:",
        "  # indented comment",
        "apiVersion: v1",
        "apiVersion: apps/v1 # c",
        "apiVersion: 'v1'",
        "kind: Deployment",
        "kind: ResourceList",
        "kind: Service#x",
        "kind: \"Secret\"",
        "kind: !!str Pod",
        "kind:",
        "metadata:",
        "  name: x",
        "  annotations:",
        "    helm.sh/hook: test",
        "    \"helm.sh\\/hook\": x",
        "    postrenderer.helm.sh/postrender-filename: 'c/templates/b.yaml'",
        "    postrenderer.helm.sh/postrender-filename: c/templates/c.yaml",
        "postrenderer.helm.sh/postrender-filename: \"c/t x.yaml\"",
        "{\"metadata\":{\"annotations\":{\"postrenderer.helm.sh/postrender-filename\":\"c/j.yaml\"}}}",
        "{apiVersion: v1, kind: List}",
        "- a",
        "-",
        "'",
        "\"",
        "items: []",
        "x: 'open",
        "x: 'closed'",
        "x: \"q\\x41\"",
        "x: [a, b]",
        "x: [a,",
        "x: {a: b}",
        "x: &a !t v",
        "x: !!binary aGk=",
        "x: !binary aGk=",
        "x: a:binary",
        "x: !!%41",
        "x: !<tag:yaml.org,2002:str> y",
        "x: back\\slash",
        "x: \\u0041 \\/ \\\\",
        "<<: *x",
        "? kind",
        ": Service",
        "%YAML 1.1",
        "\tkey: tab",
        "key:\tvalue",
        "9key: v",
        "\u{feff}kind: Pod",
        "caf\u{e9}: \u{2603}",
    ];

    /// The lines of a plain document, which the sniff reads to the end.
    const PLAIN: &[&str] = &[
        "---",
        "# Source: c/templates/p.yaml",
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        "  name: p",
        "  annotations:",
        "data:",
        "  k: v",
        "- a",
    ];

    /// What ends a line: every break Go knows, and none (lines run together).
    const ENDS: &[&str] = &["\n", "\r\n", "\r", "\u{85}", "\u{2028}", "\u{2029}", ""];

    /// Streams of mostly plain documents (so that many are sniffed to the
    /// end) with the odd line, indented or not, and the odd line end.
    fn stream() -> impl Strategy<Value = String> {
        let line = prop_oneof![
            6 => (0..PLAIN.len()).prop_map(|i| PLAIN[i].to_string()),
            1 => (0..LINES.len()).prop_map(|i| LINES[i].to_string()),
            1 => (0..LINES.len()).prop_map(|i| format!("  {}", LINES[i])),
        ];
        let end = prop_oneof![8 => Just("\n"), 1 => (0..ENDS.len()).prop_map(|i| ENDS[i])];
        (any::<bool>(), proptest::collection::vec((line, end), 0..60)).prop_map(|(bom, lines)| {
            let mut text = String::from(if bom { BOM } else { "" });
            for (line, end) in lines {
                text.push_str(&line);
                text.push_str(end);
            }
            text
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]

        #[test]
        fn the_parallel_split_is_the_line_by_line_split(text in stream()) {
            same_split(&text).map_err(TestCaseError::fail)?;
        }
    }

    #[test]
    fn every_test_file_splits_as_line_by_line() {
        let mut files = 0;
        for entry in walkdir::WalkDir::new(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata")) {
            let entry = entry.unwrap();
            if !entry.file_type().is_file() {
                continue;
            }
            let bytes = std::fs::read(entry.path()).unwrap();
            let Ok(input) = Input::from_bytes(bytes) else {
                continue;
            };
            same_split(input.text()).unwrap_or_else(|e| panic!("{}: {e}", entry.path().display()));
            files += 1;
        }
        assert!(files > 100, "{files} files");
    }

    #[test]
    fn occurrences_across_the_search_pieces_are_found_once() {
        let needle = b"ResourceList";
        for at in PIECE - needle.len() - 1..PIECE + 2 {
            let mut haystack = vec![b'x'; 2 * PIECE + 20];
            haystack[at..at + needle.len()].copy_from_slice(needle);
            haystack[2 * PIECE - 3..2 * PIECE - 3 + needle.len()].copy_from_slice(needle);
            let found: Vec<_> = occurrences(&haystack, needle).collect();
            assert_eq!(found, [at, 2 * PIECE - 3]);
        }
        assert_eq!(occurrences(b"", needle).next(), None);
    }

    #[test]
    fn markers_are_found_across_the_search_pieces() {
        // A `\n---` line starting on each side of a cut between two pieces.
        for before in 0..6 {
            let mut text = "a: 1\n".repeat(PIECE / 5);
            text.truncate(PIECE - before);
            text.push_str("\n---\nb: 2\n---x\n--- # c\n");
            same_split(&text).unwrap();
            let docs = split(&text);
            assert_eq!(docs.len(), 3, "{before}");
        }
    }

    fn texts(input: &str) -> Vec<&str> {
        split(input).into_iter().map(|d| &input[d.range]).collect()
    }

    #[test]
    fn helm3_documents_carry_their_template() {
        let input =
            "---\n# Source: c/templates/a.yaml\na: 1\n---\n# Source: c/templates/b.yaml\nb: 2\n";
        let docs = split(input);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].source.as_deref(), Some("c/templates/a.yaml"));
        assert_eq!(docs[1].source.as_deref(), Some("c/templates/b.yaml"));
        assert_eq!(docs[1].line, 4);
    }

    #[test]
    fn helm4_stream_has_no_leading_marker() {
        assert_eq!(texts("a: 1\n---\nb: 2\n"), ["a: 1\n", "---\nb: 2\n"]);
    }

    #[test]
    fn a_marker_needs_a_line_of_its_own() {
        assert_eq!(texts("a: ---x\n---x: 1\n"), ["a: ---x\n---x: 1\n"]);
        assert_eq!(texts("a: 1\n--- # c\nb: 2"), ["a: 1\n", "--- # c\nb: 2"]);
    }

    #[test]
    fn document_end_marker_closes_a_document() {
        // kubectl and Helm cut only at `---`; the parser refuses what follows `...`.
        assert_eq!(texts("a: 1\n...\nb: 2\n"), ["a: 1\n...\nb: 2\n"]);
    }

    #[test]
    fn byte_order_mark_and_crlf() {
        let input = "\u{feff}a: 1\r\n---\r\nb: 2\r\n";
        let docs = split(input);
        assert_eq!(docs[0].range.start, 3);
        assert_eq!(&input[docs[1].range.clone()], "---\r\nb: 2\r\n");
    }

    #[test]
    fn helm4_documents_carry_their_template() {
        let input = "metadata:\n  annotations:\n    postrenderer.helm.sh/postrender-filename: 'c/templates/a.yaml'\n";
        assert_eq!(
            split(input)[0].source.as_deref(),
            Some("c/templates/a.yaml")
        );
    }

    #[test]
    fn a_template_name_ends_with_its_scalar_and_at_any_line_break() {
        let source = |doc: &str| split(doc)[0].source.clone();
        // One-line JSON: the quoted scalar ends the name, not the line.
        let json = r#"{"metadata":{"annotations":{"postrenderer.helm.sh/postrender-filename":"c/templates/s.yaml"}},"stringData":{"a":"s3cret"}}"#;
        assert_eq!(source(json).as_deref(), Some("c/templates/s.yaml"));
        // Lone CR line ends: the document is one LF line.
        let cr = "metadata:\r  annotations:\r    postrenderer.helm.sh/postrender-filename: c/templates/s.yaml\rstringData:\r  a: s3cret\r";
        assert_eq!(source(cr).as_deref(), Some("c/templates/s.yaml"));
        let helm3 = "---\r# Source: c/templates/s.yaml\rstringData:\r  a: s3cret\r";
        assert_eq!(source(helm3).as_deref(), Some("c/templates/s.yaml"));
        // Not a name: left out.
        let odd = "metadata:\n  annotations:\n    postrenderer.helm.sh/postrender-filename: 'c/t s3cret.yaml'\n";
        assert_eq!(source(odd), None);
    }

    #[test]
    fn content_after_a_document_end_marker_needs_a_new_document() {
        assert!(parse("a: 1\n...\n---\nb: 2\n").is_ok());
        assert!(parse("a: 1\n...\n# only a comment\n---\nb: 2\n").is_ok());
        let err = parse("a: 1\n...\nb: 2\n").unwrap_err();
        assert_eq!(err.doc, 0);
        assert!(err.to_string().starts_with("document 1: "), "{err}");
        assert_eq!(err.error.line(), 3);
    }

    #[test]
    fn empty_input_is_one_empty_document() {
        assert_eq!(texts(""), [""]);
    }

    fn sniffed(doc: &str) -> Option<(String, String, bool)> {
        let d = split(doc).remove(0);
        d.sniff.map(|s| {
            (
                doc[s.kind].to_string(),
                doc[s.api_version].to_string(),
                s.maybe_hook,
            )
        })
    }

    #[test]
    fn the_sniff_reads_plain_top_level_kind_and_api_version() {
        let plain = "# c\napiVersion: v1\nkind: Service # x\nmetadata:\n  name: s\n  labels: {a: 'b'}\nspec:\n  x: 'multi\n    line'\n";
        assert_eq!(sniffed(plain), Some(("Service".into(), "v1".into(), false)));
        let helm4 = "apiVersion: v1\nkind: Role\nrules:\n- apiGroups: [\"\"]\n  x: 'long\n\n    text\n\n'\n";
        assert_eq!(sniffed(helm4), Some(("Role".into(), "v1".into(), false)));
        let hook =
            "apiVersion: v1\nkind: Service\nmetadata:\n  annotations: {helm.sh/hook: test}\n";
        assert!(sniffed(hook).unwrap().2);
    }

    #[test]
    fn the_sniff_gives_up_whenever_go_could_read_otherwise() {
        for doc in [
            "apiVersion: v1\n",                           // kind missing
            "apiVersion: v1\nkind: A\nkind: B\n",         // repeated
            "apiVersion: v1\n\"kind\": Deployment\n",     // quoted key
            "apiVersion: v1\nkind: \"Service\"\n",        // quoted value
            "apiVersion: v1\nkind: !!str Service\n",      // tagged
            "apiVersion: v1\n? kind\n: Service\n",        // explicit key
            "apiVersion: v1\nkind: Service\n<<: *x\n",    // merge
            "{apiVersion: v1, kind: Service}\n",          // flow root
            "  apiVersion: v1\n  kind: Service\n",        // indented root
            "apiVersion: v1\nkind: Service\nitems: []\n", // a list
            "apiVersion: v1\nkind: Service\nx: 'open\nkind: Deployment\n'\n",
            "apiVersion: v1\nkind: Service\nx: [\n  a]\n", // flow runs on
            "apiVersion: v1\rkind: Service\r",             // lone CR
            "apiVersion: v1\nkind: Service # x\u{2028}kind: Pod\n", // LS
            "apiVersion: v1\nkind: Service\n...\nkind: Pod\n", // a second document
            "%YAML 1.1\n---\napiVersion: v1\nkind: Service\n",
        ] {
            assert_eq!(sniffed(doc), None, "{doc:?}");
        }
        let escaped =
            "apiVersion: v1\nkind: Service\nmetadata:\n  annotations:\n    \"helm.sh\\/hook\": x\n";
        assert!(
            sniffed(escaped).unwrap().2,
            "escapes could spell the hook key"
        );
    }
}
