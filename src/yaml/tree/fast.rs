//! A reader of plain block YAML, the form nearly every rendered manifest
//! takes, straight from the bytes: the same tree the scanner-driven reader
//! of [`super`] makes, every position and fact equal, every plain and quoted
//! scalar borrowed from the text, in a fraction of the time.
//!
//! It reads a subset and gives up (`None`) on anything outside it, which the
//! full reader then reads (and reports on, when Go would refuse it): block
//! mappings and sequences (entries of a sequence at their key's indentation
//! too, as Helm writes them); one-line plain scalars; one-line quoted
//! scalars without escapes (`''` or `\`); flow sequences of such scalars on
//! one line and an empty `{}`; literal and folded block scalars without an
//! indentation digit; comments, blank lines, a `---` line before the
//! content; printable ASCII and LF line ends only. Anything else (tabs, CR,
//! other characters, anchors, aliases, tags, `?` and `<<` keys, flow
//! mappings with content, nested flow collections, multi-line plain or
//! quoted scalars, directives, `...`, a second document, duplicate, null or
//! over-long keys) goes to the full reader.
//!
//! It is a child of [`super`], like its `json` module: a part of the tree's
//! reader, with the tree's types and its resolution of scalars and keys
//! ([`resolve`], [`json_key`]), so that both readers mean the same by each
//! scalar.

use std::borrow::Cow;
use std::collections::HashSet;

use super::{
    json_key, resolve, Entry, Kind, Map, Node, Scalar, Span, Style, Value, STACK_GROWTH,
    STACK_RED_ZONE,
};

/// Nesting deeper than this goes to the full reader (Go allows 10,000
/// levels; manifests use a few dozen).
const MAX_DEPTH: usize = 1_000;

/// The scanner stops looking for the `:` of a simple key this many
/// characters after the key starts (libyaml's limit, kept by Go): a longer
/// key goes to the full reader, which reports it.
const MAX_KEY: usize = 1_024;

/// A mapping with this many entries finds duplicate keys by hashing (as the
/// full reader does), a smaller one by looking.
const INDEX_FROM: usize = 16;

/// Read one document as [`super::parse_document`] does, if it is plain block
/// YAML: `Some(root)` (`Some(None)` for a document without content), or
/// `None` when the full reader must read it.
pub fn read<'a>(text: &'a str, base: usize, base_line: usize) -> Option<Option<Node<'a>>> {
    // Printable ASCII and LF alone: one byte is one column, and no tab, CR,
    // byte order mark, Unicode line break or control character is met below.
    if !plain_ascii(text.as_bytes()) {
        return None;
    }
    let mut r = Reader {
        text,
        b: text.as_bytes(),
        base,
        base_line,
        pos: 0,
        line: 0,
        line_start: 0,
        depth: 0,
        // Room for the open collections of a typical manifest.
        entries: Vec::with_capacity(32),
        items: Vec::with_capacity(16),
    };
    r.next_content(true)?;
    if r.at_end() {
        return Some(None);
    }
    let root = r.collection(false)?;
    // Content after the root (at a smaller indentation) is an error or a
    // second document.
    r.at_end().then_some(Some(root))
}

/// Only printable ASCII and LF: tested a block at a time, without a branch
/// per byte, so that the compiler can test many bytes at once.
fn plain_ascii(b: &[u8]) -> bool {
    b.chunks(64).all(|block| {
        block.iter().fold(true, |ok, &c| {
            ok & (c == b'\n' || (b' '..=b'~').contains(&c))
        })
    })
}

struct Reader<'a> {
    text: &'a str,
    b: &'a [u8],
    /// Where the text starts in the stream, in bytes and lines.
    base: usize,
    base_line: usize,
    pos: usize,
    /// The 0-based line of `pos` in the text, and where that line starts.
    line: usize,
    line_start: usize,
    depth: usize,
    /// The entries and items of the collections being read, innermost
    /// last: each is moved into a vector of its exact size when its
    /// collection ends, instead of one growing (and copying) per collection.
    entries: Vec<Entry<'a>>,
    items: Vec<Node<'a>>,
}

impl<'a> Reader<'a> {
    fn at_end(&self) -> bool {
        self.pos == self.b.len()
    }

    fn col(&self) -> usize {
        self.pos - self.line_start
    }

    /// `at` is followed by a blank, a line break or the end: what makes `-`
    /// an entry and `:` a value indicator.
    fn blank_after(&self, at: usize) -> bool {
        matches!(self.b.get(at + 1), None | Some(b' ' | b'\n'))
    }

    /// A `- ` block sequence entry starts here.
    fn at_entry(&self) -> bool {
        self.b.get(self.pos) == Some(&b'-') && self.blank_after(self.pos)
    }

    fn skip_spaces(&mut self) {
        while self.b.get(self.pos) == Some(&b' ') {
            self.pos += 1;
        }
    }

    /// Past what is left of the current line (spaces and a comment, nothing
    /// else), then past blank and comment lines to the next content: its
    /// first byte, or the end of the text.
    fn finish_line(&mut self) -> Option<()> {
        self.skip_spaces();
        if self.b.get(self.pos) == Some(&b'#') {
            // A comment needs a blank before it (the scanner would take one
            // right after a quote or bracket too; that is left to it).
            if self.b[self.pos - 1] != b' ' {
                return None;
            }
            self.skip_comment();
        }
        match self.b.get(self.pos) {
            None => Some(()),
            Some(b'\n') => {
                self.new_line();
                self.next_content(false)
            }
            Some(_) => None,
        }
    }

    fn skip_comment(&mut self) {
        self.pos =
            memchr::memchr(b'\n', &self.b[self.pos..]).map_or(self.b.len(), |i| self.pos + i);
    }

    /// Past the line break at `pos`.
    fn new_line(&mut self) {
        self.pos += 1;
        self.line += 1;
        self.line_start = self.pos;
    }

    /// From the start of a line, past blank and comment lines to the next
    /// content (see [`Reader::finish_line`]). With `start`, a `---` line may
    /// come first (the document's own marker).
    fn next_content(&mut self, mut start: bool) -> Option<()> {
        loop {
            self.skip_spaces();
            match self.b.get(self.pos) {
                None => return Some(()),
                Some(b'\n') => self.new_line(),
                Some(b'#') => self.skip_comment(),
                Some(&c) => {
                    let marker = self.col() == 0
                        && (self.b[self.pos..].starts_with(b"---")
                            || self.b[self.pos..].starts_with(b"..."))
                        && self.blank_after(self.pos + 2);
                    if !marker {
                        return Some(());
                    }
                    // A document marker: only the `---` that opens the text.
                    if !(start && c == b'-') {
                        return None;
                    }
                    start = false;
                    self.pos += 3;
                    self.skip_spaces();
                    if self.b.get(self.pos) == Some(&b'#') {
                        self.skip_comment();
                    }
                    match self.b.get(self.pos) {
                        None => return Some(()),
                        Some(b'\n') => self.new_line(),
                        // Content on the marker's line.
                        Some(_) => return None,
                    }
                }
            }
        }
    }

    /// The block collection at `pos`: a sequence at a `- `, else a mapping
    /// (which gives up on anything that is no key); `indentless`: a sequence
    /// that is the value of a key at its own indentation.
    fn collection(&mut self, indentless: bool) -> Option<Node<'a>> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let node = stacker::maybe_grow(STACK_RED_ZONE, STACK_GROWTH, || {
            if indentless || self.at_entry() {
                self.sequence(indentless)
            } else {
                self.mapping()
            }
        });
        self.depth -= 1;
        node
    }

    /// A block mapping whose first key is at `pos`; on return `pos` is at the
    /// next content after it.
    fn mapping(&mut self) -> Option<Node<'a>> {
        let indent = self.col();
        let (start, line) = (self.pos, self.line);
        let first = self.entries.len();
        let mut index: Option<HashSet<Cow<'a, str>>> = None;
        loop {
            self.entry(indent, first, &mut index)?;
            if self.at_end() || self.col() < indent {
                break;
            }
            // Deeper than the keys is a value's continuation, which goes to
            // the full reader, as does a `- ` among the keys.
            if self.col() > indent || self.at_entry() {
                return None;
            }
        }
        let entries = self.entries.split_off(first);
        let last = entries.last().expect("a mapping has an entry");
        let (end, end_line) = (
            last.end,
            last.value.span.end_line.max(last.key.span.end_line),
        );
        let after = last.next_line;
        let span = Span {
            start: self.base + start,
            end,
            line: self.base_line + line,
            col: indent + 1,
            end_line,
        };
        Some(Node {
            value: Value::Map(Map {
                entries,
                flow: false,
                inner: 0..0,
                indent,
                after,
                eol: "\n",
            }),
            content: span.start,
            span,
            props: false,
            aliased: false,
            anchored: false,
        })
    }

    /// `key: value` at `pos`, in a mapping at `indent` whose entries so far
    /// are those from `first` on (and in `index`, once it has many).
    fn entry(
        &mut self,
        indent: usize,
        first: usize,
        index: &mut Option<HashSet<Cow<'a, str>>>,
    ) -> Option<()> {
        let start = self.pos;
        let own_line = self.b[self.line_start..start].iter().all(|&c| c == b' ');
        let key = self.scalar(false)?;
        self.skip_spaces();
        let colon = self.pos;
        if self.b.get(colon) != Some(&b':') || !self.blank_after(colon) || colon - start > MAX_KEY {
            return None;
        }
        let name = key_name(&key)?;
        // A repeated key is the full reader's to report.
        let entries = &self.entries[first..];
        if entries.len() >= INDEX_FROM {
            let index =
                index.get_or_insert_with(|| entries.iter().map(|e| e.name.clone()).collect());
            if !index.insert(name.clone()) {
                return None;
            }
        } else if entries.iter().any(|e| e.name == name) {
            return None;
        }
        self.pos += 1;
        let value = self.value(indent, colon)?;
        let end = value.span.end.max(self.base + colon + 1);
        let (line_break, next_line) = self.line_facts(end);
        self.entries.push(Entry {
            key,
            value,
            name,
            merge: false,
            explicit: false,
            start: self.base + start,
            colon: Some(self.base + colon),
            end,
            comma: None,
            line_break,
            next_line,
            own_line,
        });
        Some(())
    }

    /// The value after the `:` at `colon` of an entry of a mapping at
    /// `indent`: on the same line, on the lines below, or empty.
    fn value(&mut self, indent: usize, colon: usize) -> Option<Node<'a>> {
        self.skip_spaces();
        if matches!(self.b.get(self.pos), Some(b'\n' | b'#') | None) {
            let empty = self.empty(colon + 1);
            self.finish_line()?;
            if !self.at_end() {
                if self.col() > indent {
                    return self.collection(false);
                }
                if self.col() == indent && self.at_entry() {
                    // `- ` at the key's own indentation, as Helm writes.
                    return self.collection(true);
                }
            }
            return Some(empty);
        }
        if matches!(self.b[self.pos], b'|' | b'>') {
            return self.block_scalar(indent);
        }
        let node = self.inline()?;
        self.finish_line()?;
        Some(node)
    }

    /// A block sequence whose first `-` is at `pos`. An indentless one (the
    /// value of a key at the same indentation) ends at the next key.
    fn sequence(&mut self, indentless: bool) -> Option<Node<'a>> {
        let indent = self.col();
        let (start, line) = (self.pos, self.line);
        let first = self.items.len();
        loop {
            let dash = self.pos;
            self.pos += 1;
            self.skip_spaces();
            let item = match self.b.get(self.pos) {
                None | Some(b'\n' | b'#') => {
                    let empty = self.empty(dash + 1);
                    self.finish_line()?;
                    if !self.at_end() && self.col() > indent {
                        self.collection(false)?
                    } else {
                        empty
                    }
                }
                Some(_) if self.at_entry() => self.collection(false)?,
                Some(b'|' | b'>') => self.block_scalar(indent)?,
                Some(_) => {
                    let at = self.pos;
                    let node = self.inline()?;
                    self.skip_spaces();
                    if self.b.get(self.pos) == Some(&b':') && self.blank_after(self.pos) {
                        // A mapping that starts on the entry's line.
                        self.pos = at;
                        self.collection(false)?
                    } else {
                        self.finish_line()?;
                        node
                    }
                }
            };
            self.items.push(item);
            if self.at_end() || self.col() < indent {
                break;
            }
            if self.col() > indent {
                return None;
            }
            if !self.at_entry() {
                if indentless {
                    break;
                }
                return None;
            }
        }
        let items = self.items.split_off(first);
        let last = items.last().expect("a sequence has an item");
        let span = Span {
            start: self.base + start,
            end: last.span.end,
            line: self.base_line + line,
            col: indent + 1,
            end_line: last.span.end_line,
        };
        Some(Node {
            value: Value::Seq(items),
            content: span.start,
            span,
            props: false,
            aliased: false,
            anchored: false,
        })
    }

    /// A node that starts on the current line after `key: ` or `- `: a
    /// scalar, an empty `{}`, or a flow sequence of scalars.
    fn inline(&mut self) -> Option<Node<'a>> {
        match self.b[self.pos] {
            b'{' => self.flow(b'}'),
            b'[' => self.flow(b']'),
            _ => self.scalar(false),
        }
    }

    /// `{}` (blanks allowed inside), or a flow sequence of scalars that
    /// closes on its line: `[a, "b", 'c',]`.
    fn flow(&mut self, closer: u8) -> Option<Node<'a>> {
        let start = self.pos;
        self.pos += 1;
        self.skip_spaces();
        let mut items = Vec::new();
        if closer == b']' {
            while self.b.get(self.pos) != Some(&b']') {
                items.push(self.scalar(true)?);
                self.skip_spaces();
                match self.b.get(self.pos) {
                    Some(b',') => {
                        self.pos += 1;
                        self.skip_spaces();
                    }
                    Some(b']') => {}
                    _ => return None,
                }
            }
        }
        let close = self.pos;
        if self.b.get(close) != Some(&closer) {
            return None;
        }
        self.pos += 1;
        let line = self.base_line + self.line;
        let span = Span {
            start: self.base + start,
            end: self.base + self.pos,
            line,
            col: start - self.line_start + 1,
            end_line: line,
        };
        let value = if closer == b'}' {
            let after =
                memchr::memchr(b'\n', &self.b[self.pos..]).map_or(self.b.len(), |i| self.pos + i);
            Value::Map(Map {
                entries: Vec::new(),
                flow: true,
                inner: self.base + start + 1..self.base + close,
                indent: start - self.line_start,
                after: self.base + after,
                eol: "\n",
            })
        } else {
            Value::Seq(items)
        };
        Some(Node {
            value,
            span,
            content: span.start,
            props: false,
            aliased: false,
            anchored: false,
        })
    }

    /// A scalar on one line at `pos`, in a flow sequence or not; `pos` ends
    /// after it (after a plain scalar's last non-blank).
    fn scalar(&mut self, flow: bool) -> Option<Node<'a>> {
        let start = self.pos;
        let b = self.b;
        let (style, text, end) = match *b.get(start)? {
            b'\'' => {
                // `''` (a quote inside) and a line break are the full reader's.
                let close = start + 1 + memchr::memchr2(b'\'', b'\n', &b[start + 1..])?;
                if b[close] != b'\'' || b.get(close + 1) == Some(&b'\'') {
                    return None;
                }
                (Style::SingleQuoted, start + 1..close, close + 1)
            }
            b'"' => {
                let close = start + 1 + memchr::memchr3(b'"', b'\\', b'\n', &b[start + 1..])?;
                if b[close] != b'"' {
                    return None;
                }
                (Style::DoubleQuoted, start + 1..close, close + 1)
            }
            c => {
                if !self.plain_starts(c, start) {
                    return None;
                }
                let end = if flow {
                    self.flow_plain_end(start)?
                } else {
                    self.plain_end(start)
                };
                (Style::Plain, start..end, end)
            }
        };
        let text = &self.text[text];
        let kind = resolve(None, style == Style::Plain, text).ok()?;
        self.pos = end;
        let line = self.base_line + self.line;
        Some(Node {
            value: Value::Scalar(Scalar {
                text: Cow::Borrowed(text),
                style,
                tagged: false,
                kind,
            }),
            span: Span {
                start: self.base + start,
                end: self.base + end,
                line,
                col: start - self.line_start + 1,
                end_line: line,
            },
            content: self.base + start,
            props: false,
            aliased: false,
            anchored: false,
        })
    }

    /// A plain scalar may start with `c` (Go's scanner: no indicator, but
    /// `-`, `?` and `:` followed by a non-blank).
    fn plain_starts(&self, c: u8, at: usize) -> bool {
        match c {
            b'-' | b'?' | b':' => !self.blank_after(at),
            b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\''
            | b'"' | b'%' | b'@' | b'`' => false,
            _ => true,
        }
    }

    /// Where the plain scalar at `start` ends on its line: before `: ` (a
    /// value indicator), ` #` (a comment), or trailing blanks.
    fn plain_end(&self, start: usize) -> usize {
        let b = self.b;
        let mut i = start;
        let mut end = start;
        loop {
            while let Some(&c) = b.get(i) {
                if c == b' ' || c == b'\n' || (c == b':' && self.blank_after(i)) {
                    break;
                }
                i += 1;
                end = i;
            }
            if b.get(i) != Some(&b' ') {
                return end;
            }
            while b.get(i) == Some(&b' ') {
                i += 1;
            }
            if b.get(i) == Some(&b'#') {
                return end;
            }
        }
    }

    /// Where a plain scalar in a flow sequence ends: before the `,` or `]`
    /// after it and the blanks before them. What could make it a key, or
    /// end it elsewhere (`:`, `?`, `#`, brackets), is the full reader's.
    fn flow_plain_end(&self, start: usize) -> Option<usize> {
        let mut end = start;
        for (i, &c) in self.b.iter().enumerate().skip(start) {
            match c {
                b',' | b']' => return Some(end),
                b' ' => {}
                b'\n' | b'[' | b'{' | b'}' | b':' | b'?' | b'#' => return None,
                _ => end = i + 1,
            }
        }
        None
    }

    /// A literal (`|`) or folded (`>`) block scalar at `pos`, the value of
    /// an entry of a collection at `indent`, read as the scanner reads it:
    /// its indentation from its first line (no indicator digit), the
    /// chomping indicator applied. It ends at the start of the first line
    /// indented less that is not blank (with the blank lines before it), and
    /// `pos` goes on to the next content from there.
    fn block_scalar(&mut self, indent: usize) -> Option<Node<'a>> {
        let b = self.b;
        // The scanner is shown a final line break where the text has none;
        // that case is the full reader's.
        if b.last() != Some(&b'\n') {
            return None;
        }
        let start = self.pos;
        let (line, col) = (self.line, self.col());
        let literal = b[start] == b'|';
        self.pos += 1;
        let chomp = match b[self.pos] {
            c @ (b'-' | b'+') => {
                self.pos += 1;
                c
            }
            _ => b' ',
        };
        // After the header only blanks and a comment; an indentation digit
        // is the full reader's.
        self.skip_spaces();
        if b[self.pos] == b'#' && b[self.pos - 1] == b' ' {
            self.skip_comment();
        }
        if b[self.pos] != b'\n' {
            return None;
        }
        self.new_line();
        // Lines of the scalar: blank ones (spaces up to its indentation) and
        // content (more indented, blanks too); the first content line sets
        // the indentation, which no blank line before it may exceed.
        let mut text = String::new();
        let mut breaks = 0;
        let mut scalar_indent = None;
        let mut widest_blank = 0;
        let (mut leading_break, mut leading_blank) = (false, false);
        loop {
            let spaces = b[self.pos..].iter().take_while(|&&c| c == b' ').count();
            let width = scalar_indent.map_or(spaces, |n: usize| spaces.min(n));
            let after = self.pos + width;
            if b.get(after) == Some(&b'\n') {
                widest_blank = widest_blank.max(width);
                breaks += 1;
                self.pos = after;
                self.new_line();
                continue;
            }
            let n = match scalar_indent {
                Some(n) if width == n => n,
                Some(_) => break,
                None if after < b.len() && spaces > indent && widest_blank <= spaces => {
                    scalar_indent = Some(spaces);
                    spaces
                }
                // Nothing in it, or indented as the scanner would not read it.
                None => return None,
            };
            let end = self.pos + memchr::memchr(b'\n', &b[self.pos..])?;
            let content = &self.text[self.pos + n..end];
            let blank = content.starts_with(' ');
            if !literal && leading_break && !leading_blank && !blank {
                // A single break between two lines folds into a space.
                if breaks == 0 {
                    text.push(' ');
                }
            } else if leading_break {
                text.push('\n');
            }
            text.extend(std::iter::repeat_n('\n', breaks));
            text.push_str(content);
            (leading_break, leading_blank, breaks) = (true, blank, 0);
            self.pos = end;
            self.new_line();
        }
        match chomp {
            b'-' => {}
            b'+' => text.extend(std::iter::repeat_n('\n', 1 + breaks)),
            _ => text.push('\n'),
        }
        let end = self.base + self.pos;
        let end_line = self.base_line + self.line;
        let node = Node {
            value: Value::Scalar(Scalar {
                text: Cow::Owned(text),
                style: if literal {
                    Style::Literal
                } else {
                    Style::Folded
                },
                tagged: false,
                kind: Kind::Str,
            }),
            span: Span {
                start: self.base + start,
                end,
                line: self.base_line + line,
                col: col + 1,
                end_line,
            },
            content: self.base + start,
            props: false,
            aliased: false,
            anchored: false,
        };
        self.next_content(false)?;
        Some(node)
    }

    /// An empty (null) scalar at `at`, on the current line.
    fn empty(&self, at: usize) -> Node<'a> {
        let line = self.base_line + self.line;
        Node {
            value: Value::Scalar(Scalar {
                text: Cow::Borrowed(""),
                style: Style::Plain,
                tagged: false,
                kind: Kind::Null,
            }),
            span: Span {
                start: self.base + at,
                end: self.base + at,
                line,
                col: at - self.line_start + 1,
                end_line: line,
            },
            content: self.base + at,
            props: false,
            aliased: false,
            anchored: false,
        }
    }

    /// The line break after `end` (a stream offset; past any comment) and
    /// the start of the next line, or the end of the text twice; for what
    /// ends with a block scalar (at a line start), the break before `end`.
    fn line_facts(&self, end: usize) -> (usize, usize) {
        let local = end - self.base;
        if local > 0 && self.b[local - 1] == b'\n' {
            return (end - 1, end);
        }
        match memchr::memchr(b'\n', &self.b[local..]) {
            Some(i) => (end + i, end + i + 1),
            None => {
                let end = self.base + self.b.len();
                (end, end)
            }
        }
    }
}

/// A key's JSON name, as the full reader names it; `None` for what it
/// refuses or reads apart (null keys, keys beyond 64 bits, merge keys).
fn key_name<'a>(key: &Node<'a>) -> Option<Cow<'a, str>> {
    let scalar = key.as_scalar()?;
    match scalar.kind {
        Kind::Merge => None,
        Kind::Int(i) if i64::try_from(i).is_err() => None,
        _ => json_key(scalar),
    }
}

/// Two trees are the same in every field, down to whether a text is
/// borrowed (floats by their bits, so NaN equals itself): what the fast
/// reader is checked against the full reader with.
pub fn same(a: &Node<'_>, b: &Node<'_>) -> bool {
    let Node {
        value,
        span,
        content,
        props,
        aliased,
        anchored,
    } = a;
    *span == b.span
        && *content == b.content
        && *props == b.props
        && *aliased == b.aliased
        && *anchored == b.anchored
        && match (value, &b.value) {
            (Value::Scalar(x), Value::Scalar(y)) => same_scalar(x, y),
            (Value::Seq(x), Value::Seq(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
            }
            (Value::Map(x), Value::Map(y)) => same_map(x, y),
            _ => false,
        }
}

// The `Cow` itself: whether the text is borrowed is compared too.
#[allow(clippy::ptr_arg)]
fn same_text(a: &Cow<'_, str>, b: &Cow<'_, str>) -> bool {
    a == b && matches!(a, Cow::Borrowed(_)) == matches!(b, Cow::Borrowed(_))
}

fn same_scalar(a: &Scalar<'_>, b: &Scalar<'_>) -> bool {
    let Scalar {
        text,
        style,
        tagged,
        kind,
    } = a;
    same_text(text, &b.text)
        && *style == b.style
        && *tagged == b.tagged
        && match (kind, b.kind) {
            (Kind::Float(x), Kind::Float(y)) => x.to_bits() == y.to_bits(),
            (k, l) => *k == l,
        }
}

fn same_map(a: &Map<'_>, b: &Map<'_>) -> bool {
    let Map {
        entries,
        flow,
        inner,
        indent,
        after,
        eol,
    } = a;
    *flow == b.flow
        && *inner == b.inner
        && *indent == b.indent
        && *after == b.after
        && *eol == b.eol
        && entries.len() == b.entries.len()
        && entries
            .iter()
            .zip(&b.entries)
            .all(|(x, y)| same_entry(x, y))
}

fn same_entry(a: &Entry<'_>, b: &Entry<'_>) -> bool {
    let Entry {
        key,
        value,
        name,
        merge,
        explicit,
        start,
        colon,
        end,
        comma,
        line_break,
        next_line,
        own_line,
    } = a;
    same(key, &b.key)
        && same(value, &b.value)
        && same_text(name, &b.name)
        && *merge == b.merge
        && *explicit == b.explicit
        && *start == b.start
        && *colon == b.colon
        && *end == b.end
        && *comma == b.comma
        && *line_break == b.line_break
        && *next_line == b.next_line
        && *own_line == b.own_line
}

#[cfg(test)]
mod tests {
    use super::{read, same};
    use crate::yaml::tree::parse_document_scanned;

    /// Read by the fast reader, to the scanner's tree.
    fn reads(doc: &str) {
        let fast = read(doc, 7, 3).unwrap_or_else(|| panic!("gives up on {doc:?}"));
        let full = parse_document_scanned(doc, 7, 3).unwrap();
        match (&fast, &full) {
            (Some(a), Some(b)) => assert!(same(a, b), "{doc:?}\n{a:#?}\n{b:#?}"),
            (None, None) => {}
            _ => panic!("{doc:?}: {fast:?} {full:?}"),
        }
    }

    #[test]
    fn plain_block_yaml_reads_as_the_scanner_reads_it() {
        for doc in [
            "",
            "# only a comment\n",
            "---\n",
            "--- # c\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: Secret\n",
            "a: 1\nb:\n  c: [x, \"y\", 'z',]\n  d: {}\n  e: [ ]\nf:\n- g: h\n  i: ~\n-\n- - j\n",
            "metadata:\n  name: x # trailing\n  labels:\n\n    # indented comment\n    on: 0755\n",
            "spec:\n  containers:\n    - name: c\n      args: [\"--a=1\", -b]\n      env:\n      - name: A\n        value: \"1\"\n",
            "a: |\n  one\n\n   two\n  three\n\nb: >-\n  folded\n  text\n\n  more\n   kept\nc: |+\n  kept\n\n",
            "a:\n- |\n  x\n- y\n",
            "a: b",
            "a:",
            "  indented: root\n  b: 1\n",
            "- root\n- sequence\n",
            "k  : spaced colon\n'q': \"d\"\n:x: ?y\n-x: --flag\n",
        ] {
            reads(doc);
        }
    }

    #[test]
    fn the_scanner_reads_the_rest() {
        for doc in [
            "a:\tb\n",
            "a: b\r\n",
            "a: café\n",
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "? a\n: b\n",
            "<<: {a: 1}\n",
            "a: {b: 1}\n",
            "a: [b: 1]\n",
            "a: [x,\n  y]\n",
            "a: multi\n  line\n",
            "a: 'multi\n  line'\n",
            "a: 'it''s'\n",
            "a: \"tab\\t\"\n",
            "a: |2\n   x\n",
            "a: |\n  x",
            "a: |\n\n",
            "%YAML 1.1\n---\na: 1\n",
            "a: 1\n...\n",
            "a: 1\n---\nb: 2\n",
            "--- a: 1\n",
            "a: 1\na: 2\n",
            "~: 1\n",
            "9223372036854775808: a\n",
            "a: b: c\n",
            "a: 'x'#c\n",
            "{\"a\": 1}\n",
            "a\n",
            "a: [",
            "a: [x",
            "a: {",
            "a: '",
            "- \"",
        ] {
            assert!(read(doc, 0, 1).is_none(), "reads {doc:?}");
        }
    }

    #[test]
    fn a_simple_key_ends_where_the_scanner_stops_looking_for_its_colon() {
        let key = |n: usize| format!("{}: v\n", "k".repeat(n));
        reads(&key(1024));
        assert!(read(&key(1025), 0, 1).is_none());
        assert!(parse_document_scanned(&key(1025), 0, 1).is_err());
    }
}
