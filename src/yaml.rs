//! A read-only, positioned YAML tree for one document.
//!
//! We never serialize this tree: it exists to answer questions ("where is
//! `spec.template.metadata`?", "what does this scalar mean?") and to point
//! edits at exact byte ranges of the original text. Scalars borrow from the
//! input where the parser lets them, so large streams cost little.

use std::borrow::Cow;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span as ParserSpan};

/// A position range in the whole input stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// 1-based line of `start` in the stream.
    pub line: usize,
    /// 1-based column (in characters) of `start`.
    pub col: usize,
    /// 1-based line of `end` in the stream.
    pub end_line: usize,
}

#[derive(Clone, Debug)]
pub struct Node<'a> {
    pub value: Value<'a>,
    pub span: Span,
    /// The node was reached through an alias (`*x`): its text lives elsewhere
    /// and is shared, so it must never be edited in place.
    pub aliased: bool,
    /// The node carries an anchor (`&x`) that some alias (`*x`) copies, so an
    /// edit here would change the copies too.
    pub anchored: bool,
}

#[derive(Clone, Debug)]
pub enum Value<'a> {
    Scalar(Scalar<'a>),
    Seq(Vec<Node<'a>>),
    Map(Map<'a>),
}

#[derive(Clone, Debug)]
pub struct Scalar<'a> {
    pub text: Cow<'a, str>,
    pub style: Style,
    /// An explicit tag such as `!!str`; it changes how a plain scalar resolves.
    pub tagged: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

#[derive(Clone, Debug)]
pub struct Map<'a> {
    pub entries: Vec<Entry<'a>>,
    /// `{…}` rather than indentation.
    pub flow: bool,
    /// For a flow mapping, the bytes between the braces.
    pub inner: std::ops::Range<usize>,
}

#[derive(Clone, Debug)]
pub struct Entry<'a> {
    pub key: Node<'a>,
    pub value: Node<'a>,
}

#[derive(Debug, thiserror::Error)]
pub enum YamlError {
    #[error("line {line}, column {col}: {message}")]
    Syntax {
        line: usize,
        col: usize,
        message: String,
    },
    #[error("line {line}, column {col}: duplicate mapping key `{key}` (first at line {first_line}); Helm keeps the first value and kubectl the last")]
    DuplicateKey {
        key: String,
        line: usize,
        col: usize,
        first_line: usize,
    },
}

impl YamlError {
    pub fn line(&self) -> usize {
        match self {
            YamlError::Syntax { line, .. } | YamlError::DuplicateKey { line, .. } => *line,
        }
    }
}

impl<'a> Node<'a> {
    /// Editing this node's text would also change some other node.
    pub fn shared(&self) -> bool {
        self.aliased || self.anchored
    }

    pub fn as_map(&self) -> Option<&Map<'a>> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node<'a>]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_scalar(&self) -> Option<&Scalar<'a>> {
        match &self.value {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The text of a scalar that is not null. Kubernetes fields we read are
    /// strings; a number in their place is the user's problem, not ours.
    pub fn as_str(&self) -> Option<&str> {
        self.as_scalar().filter(|s| !s.is_null()).map(|s| &*s.text)
    }

    pub fn is_null(&self) -> bool {
        self.as_scalar().is_some_and(Scalar::is_null)
    }

    /// Mapping lookup by key text, honouring `<<` merge keys the way Go's
    /// yaml.v2 (used by kubectl and Helm) does: own keys win over merged ones.
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        self.as_map()?.get(key)
    }

    /// A copy of a pod template that keeps what an edit of its annotations
    /// reads: `metadata` (and `<<` merge entries, which may supply it) whole,
    /// every other value as an empty stand-in that keeps its span. Holding
    /// this instead of the document's tree keeps memory small.
    pub fn pruned_template(&self) -> Node<'a> {
        let Value::Map(map) = &self.value else {
            return self.clone();
        };
        let entries = map
            .entries
            .iter()
            .map(|e| Entry {
                key: e.key.clone(),
                value: if e.is_merge() || e.key.as_str() == Some("metadata") {
                    e.value.clone()
                } else {
                    Node {
                        value: Value::Seq(Vec::new()),
                        ..e.value.clone_shallow()
                    }
                },
            })
            .collect();
        Node {
            value: Value::Map(Map {
                entries,
                flow: map.flow,
                inner: map.inner.clone(),
            }),
            ..self.clone_shallow()
        }
    }

    /// Span and flags, without the value.
    fn clone_shallow(&self) -> Node<'a> {
        Node {
            value: Value::Seq(Vec::new()),
            span: self.span,
            aliased: self.aliased,
            anchored: self.anchored,
        }
    }

    /// Follow a path of mapping keys.
    pub fn path(&self, keys: &[&str]) -> Option<&Node<'a>> {
        keys.iter().try_fold(self, |node, key| node.get(key))
    }

    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Node::as_str)
    }

    pub fn get_bool(&self, key: &str) -> Option<bool> {
        self.get(key)
            .and_then(Node::as_scalar)
            .and_then(Scalar::as_bool)
    }
}

impl<'a> Map<'a> {
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        if let Some(entry) = self.entry(key) {
            return Some(&entry.value);
        }
        self.merged().find_map(|m| m.get(key))
    }

    /// The entry written in this mapping itself (not merged in).
    pub fn entry(&self, key: &str) -> Option<&Entry<'a>> {
        self.entries
            .iter()
            .find(|e| !e.is_merge() && e.key.as_str() == Some(key))
    }

    /// Mappings merged in with `<<: *x` or `<<: [*x, *y]`.
    fn merged(&self) -> impl Iterator<Item = &Map<'a>> {
        self.entries
            .iter()
            .filter(|e| e.is_merge())
            .flat_map(|e| match &e.value.value {
                Value::Map(m) => vec![m],
                Value::Seq(items) => items.iter().filter_map(Node::as_map).collect(),
                Value::Scalar(_) => vec![],
            })
    }

    /// All key/value pairs as Go would see them: merged keys included unless
    /// overridden, merge keys themselves excluded.
    pub fn pairs(&self) -> Vec<(&str, &Node<'a>)> {
        let mut out: Vec<(&str, &Node<'a>)> = Vec::with_capacity(self.entries.len());
        for e in &self.entries {
            if !e.is_merge() {
                if let Some(k) = e.key.as_scalar() {
                    out.push((&k.text, &e.value));
                }
            }
        }
        for m in self.merged() {
            for (k, v) in m.pairs() {
                if !out.iter().any(|(seen, _)| *seen == k) {
                    out.push((k, v));
                }
            }
        }
        out
    }
}

impl Entry<'_> {
    fn is_merge(&self) -> bool {
        self.key
            .as_scalar()
            .is_some_and(|s| s.style == Style::Plain && !s.tagged && s.text == "<<")
    }
}

impl Scalar<'_> {
    /// Null as YAML 1.1 and 1.2 agree: empty, `~`, `null`.
    pub fn is_null(&self) -> bool {
        self.style == Style::Plain
            && !self.tagged
            && matches!(&*self.text, "" | "~" | "null" | "Null" | "NULL")
    }

    /// Booleans as sigs.k8s.io/yaml (YAML 1.1) reads them: `yes`, `on`, `y` are true.
    pub fn as_bool(&self) -> Option<bool> {
        if self.style != Style::Plain || self.tagged {
            return None;
        }
        match &*self.text {
            "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y" | "Y" => {
                Some(true)
            }
            "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n"
            | "N" => Some(false),
            _ => None,
        }
    }
}

/// Parse one document. `text` is the document's slice of the stream, which
/// starts at byte `base` and line `base_line` of the stream. Returns `None`
/// for a document with no content (only comments, markers or whitespace).
pub fn parse_document<'a>(
    text: &'a str,
    base: usize,
    base_line: usize,
) -> Result<Option<Node<'a>>, YamlError> {
    let first = match parse_with(text, base, base_line) {
        Ok(node) => return Ok(node),
        Err(e) => e,
    };
    // Go accepts `key:<TAB>value`; saphyr insists on a space after the colon.
    // Such a tab only separates and is never part of a value, so we turn the
    // tabs saphyr complains about into spaces in a copy (same length, same
    // positions) and read what Go reads. Tabs inside quoted text are left alone
    // because the scanner never complains about them.
    let mut patched = text.to_string();
    let mut error = first;
    for _ in 0..64 {
        let YamlError::Syntax { line, col, message } = &error else {
            break;
        };
        if !message.contains("valid YAML whitespace") {
            break;
        }
        let Some(at) = tab_after_colon(&patched, *line + 1 - base_line, *col) else {
            break;
        };
        patched.replace_range(at..at + 1, " ");
        match parse_with(&patched, base, base_line) {
            Ok(Some(node)) => return Ok(Some(reborrow(node, text, base))),
            Ok(None) => return Ok(None),
            Err(e) => error = e,
        }
    }
    Err(error)
}

/// Byte offset of the `:<TAB>` tab nearest before (1-based) `line`/`col`.
fn tab_after_colon(text: &str, line: usize, col: usize) -> Option<usize> {
    let line_start = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum::<usize>();
    let line_text = &text[line_start..];
    let line_text = &line_text[..line_text.find('\n').unwrap_or(line_text.len())];
    let upto = line_text
        .char_indices()
        .nth(col)
        .map_or(line_text.len(), |(i, _)| i);
    line_text[..upto].rfind(":\t").map(|i| line_start + i + 1)
}

/// Re-point scalars parsed from a patched copy at the original text; the
/// copy differs only in separator tabs, which are never inside a scalar.
fn reborrow<'a>(node: Node<'_>, original: &'a str, base: usize) -> Node<'a> {
    let value = match node.value {
        Value::Scalar(s) => {
            let raw = &original[node.span.start - base..node.span.end - base];
            let text = if s.style == Style::Plain && raw == s.text {
                Cow::Borrowed(raw)
            } else {
                Cow::Owned(s.text.into_owned())
            };
            Value::Scalar(Scalar {
                text,
                style: s.style,
                tagged: s.tagged,
            })
        }
        Value::Seq(items) => Value::Seq(
            items
                .into_iter()
                .map(|n| reborrow(n, original, base))
                .collect(),
        ),
        Value::Map(m) => Value::Map(Map {
            flow: m.flow,
            inner: m.inner,
            entries: m
                .entries
                .into_iter()
                .map(|e| Entry {
                    key: reborrow(e.key, original, base),
                    value: reborrow(e.value, original, base),
                })
                .collect(),
        }),
    };
    Node {
        value,
        span: node.span,
        aliased: node.aliased,
        anchored: node.anchored,
    }
}

fn parse_with<'a>(
    text: &'a str,
    base: usize,
    base_line: usize,
) -> Result<Option<Node<'a>>, YamlError> {
    let mut builder = Builder {
        text,
        base,
        base_line,
        offsets: CharOffsets::new(text),
        anchors: Vec::new(),
        copied: Vec::new(),
        root: None,
        documents: 0,
        nodes: 0,
        expanded: 0,
    };
    builder.run()?;
    if let Some(root) = &mut builder.root {
        if !builder.copied.is_empty() {
            mark_anchored(root, &builder.copied);
        }
    }
    Ok(builder.root)
}

/// Flag the written nodes that aliases copy (found by their byte range).
fn mark_anchored(node: &mut Node<'_>, copied: &[(usize, usize)]) {
    if node.aliased {
        return;
    }
    if copied.contains(&(node.span.start, node.span.end)) {
        node.anchored = true;
    }
    match &mut node.value {
        Value::Scalar(_) => {}
        Value::Seq(items) => items.iter_mut().for_each(|n| mark_anchored(n, copied)),
        Value::Map(m) => m.entries.iter_mut().for_each(|e| {
            mark_anchored(&mut e.key, copied);
            mark_anchored(&mut e.value, copied);
        }),
    }
}

/// saphyr reports character indices; edits need byte offsets.
enum CharOffsets {
    Ascii,
    /// Byte offset of every character, plus one for the end.
    Table(Vec<u32>),
}

impl CharOffsets {
    fn new(text: &str) -> Self {
        if text.is_ascii() {
            CharOffsets::Ascii
        } else {
            let mut table: Vec<u32> = text.char_indices().map(|(i, _)| i as u32).collect();
            table.push(text.len() as u32);
            CharOffsets::Table(table)
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        match self {
            CharOffsets::Ascii => char_index,
            CharOffsets::Table(t) => t[char_index.min(t.len() - 1)] as usize,
        }
    }
}

struct Builder<'a> {
    text: &'a str,
    base: usize,
    base_line: usize,
    offsets: CharOffsets,
    /// Anchored nodes with their size in nodes.
    anchors: Vec<Option<(Node<'a>, usize)>>,
    /// Byte ranges of anchored nodes that some alias copies.
    copied: Vec<(usize, usize)>,
    root: Option<Node<'a>>,
    documents: usize,
    /// Nodes written in the document.
    nodes: usize,
    /// Nodes copied in by aliases.
    expanded: usize,
}

/// Aliases may copy in this many nodes before the ratio check starts; a
/// "billion laughs" document would otherwise take all memory. Go's yaml.v3
/// refuses such documents too ("excessive aliasing").
const ALIAS_ALLOWANCE: usize = 10_000;
/// Past the allowance, copies may be at most this many times the document.
const ALIAS_RATIO: usize = 10;

enum Frame<'a> {
    Seq {
        items: Vec<Node<'a>>,
        span: Span,
        anchor: usize,
    },
    Map {
        entries: Vec<Entry<'a>>,
        pending_key: Option<Node<'a>>,
        span: Span,
        anchor: usize,
        flow: bool,
    },
}

impl<'a> Builder<'a> {
    fn span(&self, s: &ParserSpan) -> Span {
        Span {
            start: self.base + self.offsets.byte(s.start.index()),
            end: self.base + self.offsets.byte(s.end.index()),
            line: self.base_line + s.start.line() - 1,
            col: s.start.col() + 1,
            end_line: self.base_line + s.end.line() - 1,
        }
    }

    fn syntax(&self, e: &ScanError) -> YamlError {
        YamlError::Syntax {
            line: self.base_line + e.marker().line() - 1,
            col: e.marker().col() + 1,
            message: e.info().to_string(),
        }
    }

    fn run(&mut self) -> Result<(), YamlError> {
        let mut parser = Parser::new_from_str(self.text);
        let mut stack: Vec<Frame<'a>> = Vec::new();
        while let Some(next) = parser.next_event() {
            let (event, pspan) = next.map_err(|e| self.syntax(&e))?;
            let span = self.span(&pspan);
            let done = match event {
                Event::StreamEnd => break,
                Event::StreamStart | Event::Nothing | Event::DocumentEnd => None,
                Event::DocumentStart(_) => {
                    self.documents += 1;
                    if self.documents > 1 {
                        return Err(YamlError::Syntax {
                            line: span.line,
                            col: span.col,
                            message: "a second document starts without a `---` line".into(),
                        });
                    }
                    None
                }
                Event::Scalar(text, style, anchor, tag) => {
                    self.nodes += 1;
                    let mut span = span;
                    if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
                        span.end = self.block_scalar_end(span.end);
                    }
                    match style {
                        ScalarStyle::DoubleQuoted => self.quoted_end(&mut span, b'"'),
                        ScalarStyle::SingleQuoted => self.quoted_end(&mut span, b'\''),
                        _ => {}
                    }
                    if text.is_empty()
                        && style == ScalarStyle::Plain
                        && tag.is_none()
                        && anchor == 0
                    {
                        // An empty value has no text, but saphyr gives the one
                        // of a key without `:` in a flow mapping (`{a, b: c}`)
                        // the span of the next token (`, ` or `}`), and edits
                        // aimed there replaced the separator or the closing
                        // brace. Nothing is written there: make it empty.
                        span.end = span.start;
                        span.end_line = span.line;
                    }
                    let text = self.borrow(text, style, span);
                    let node = Node {
                        value: Value::Scalar(Scalar {
                            text,
                            style: style_of(style),
                            tagged: tag.is_some(),
                        }),
                        span,
                        aliased: false,
                        anchored: false,
                    };
                    self.remember(anchor, &node);
                    Some(node)
                }
                Event::Alias(id) => {
                    let Some(Some((target, size))) = self.anchors.get(id) else {
                        return Err(YamlError::Syntax {
                            line: span.line,
                            col: span.col,
                            message: "alias to an unknown anchor".into(),
                        });
                    };
                    self.expanded += size;
                    if self.expanded > ALIAS_ALLOWANCE && self.expanded > ALIAS_RATIO * self.nodes {
                        return Err(YamlError::Syntax {
                            line: span.line,
                            col: span.col,
                            message: format!(
                                "excessive aliasing: aliases copy in {} nodes for {} written",
                                self.expanded, self.nodes
                            ),
                        });
                    }
                    let range = (target.span.start, target.span.end);
                    let mut node = target.clone();
                    if !self.copied.contains(&range) {
                        self.copied.push(range);
                    }
                    mark_aliased(&mut node);
                    node.span = span;
                    Some(node)
                }
                Event::SequenceStart(anchor, _) => {
                    self.nodes += 1;
                    stack.push(Frame::Seq {
                        items: Vec::new(),
                        span,
                        anchor,
                    });
                    None
                }
                Event::MappingStart(anchor, _) => {
                    self.nodes += 1;
                    // The start span of a flow mapping holds any anchor or tag,
                    // the `{` and the blanks after it (`&a { b: c }`); that of a
                    // block mapping holds at most an anchor or a tag.
                    let flow = self.opening(span, '{').is_some();
                    stack.push(Frame::Map {
                        entries: Vec::new(),
                        pending_key: None,
                        span,
                        anchor,
                        flow,
                    });
                    None
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let frame = stack.pop().expect("parser balances collections");
                    Some(self.close(frame, span)?)
                }
            };
            if let Some(node) = done {
                match stack.last_mut() {
                    None => self.root = Some(node),
                    Some(Frame::Seq { items, .. }) => items.push(node),
                    Some(Frame::Map {
                        entries,
                        pending_key,
                        ..
                    }) => match pending_key.take() {
                        None => *pending_key = Some(node),
                        Some(key) => {
                            check_duplicate(entries, &key)?;
                            entries.push(Entry { key, value: node });
                        }
                    },
                }
            }
        }
        Ok(())
    }

    /// saphyr ends a block scalar at the next token, indentation included;
    /// we end it at the start of that line, after any kept trailing newlines,
    /// so that "after this value" is always a line boundary.
    fn block_scalar_end(&self, end: usize) -> usize {
        let local = &self.text[..end - self.base];
        match local.rfind('\n') {
            Some(nl) if local[nl + 1..].bytes().all(|b| b == b' ' || b == b'\t') => {
                self.base + nl + 1
            }
            _ => end,
        }
    }

    /// The byte offset of the bracket that opens a flow collection, if the
    /// collection's start span has one.
    fn opening(&self, span: Span, bracket: char) -> Option<usize> {
        self.text[span.start - self.base..span.end - self.base]
            .find(bracket)
            .map(|i| span.start + i)
    }

    /// saphyr ends a quoted scalar at the next token, so its span took in the
    /// blanks and a comment after the closing quote (`"v" # c`): an entry
    /// appended after such a value landed inside the comment, and rewriting
    /// the value dropped the comment. End it at the closing quote.
    fn quoted_end(&self, span: &mut Span, quote: u8) {
        let local = &self.text[span.start - self.base..span.end - self.base];
        let bytes = local.as_bytes();
        // A tag or an anchor may come before the opening quote.
        let Some(open) = bytes.iter().position(|&b| b == quote) else {
            return;
        };
        let mut i = open + 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if quote == b'"' => i += 2,
                b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
                b if b == quote => {
                    let dropped = &local[i + 1..];
                    span.end_line -= dropped.matches('\n').count();
                    span.end = span.start + i + 1;
                    return;
                }
                _ => i += 1,
            }
        }
    }

    /// saphyr ends a flow collection written with a trailing comma
    /// (`{a: b,\n}`) at that comma, so the mapping seemed to end before its
    /// closing bracket and edits landed inside it. Only blanks, line breaks and
    /// comments can stand between the two: move the end to the bracket.
    fn flow_end(&self, end: Span, close: u8) -> Span {
        let local = &self.text[end.start - self.base..];
        let mut in_comment = false;
        let mut lines = 0;
        for (i, b) in local.bytes().enumerate() {
            match b {
                b'\n' => {
                    in_comment = false;
                    lines += 1;
                }
                _ if in_comment => {}
                b'#' => in_comment = true,
                b if b == close => {
                    return Span {
                        start: end.start + i,
                        end: end.start + i + 1,
                        line: end.line + lines,
                        col: end.col,
                        end_line: end.line + lines,
                    };
                }
                _ => {}
            }
        }
        end
    }

    fn close(&mut self, frame: Frame<'a>, mut end: Span) -> Result<Node<'a>, YamlError> {
        let (value, start, anchor, flow) = match frame {
            Frame::Seq {
                items,
                span,
                anchor,
            } => {
                let flow = self.opening(span, '[').is_some();
                if flow {
                    end = self.flow_end(end, b']');
                }
                (Value::Seq(items), span, anchor, flow)
            }
            Frame::Map {
                entries,
                span,
                anchor,
                flow,
                ..
            } => {
                if flow {
                    end = self.flow_end(end, b'}');
                }
                // From just after the `{` (not after the blanks that follow it).
                let inner = match self.opening(span, '{') {
                    Some(open) => open + 1..end.start,
                    None => 0..0,
                };
                (
                    Value::Map(Map {
                        entries,
                        flow,
                        inner,
                    }),
                    span,
                    anchor,
                    flow,
                )
            }
        };
        // A block collection ends where its last child ends; the parser's end
        // mark would sit at the next token, past comments and blank lines.
        let end_offset = if flow {
            end.end
        } else {
            last_child_end(&value).unwrap_or(start.end)
        };
        let end_line = if flow {
            end.end_line
        } else {
            last_child_end_line(&value).unwrap_or(start.end_line)
        };
        let node = Node {
            value,
            span: Span {
                end: end_offset,
                end_line,
                ..start
            },
            aliased: false,
            anchored: false,
        };
        self.remember(anchor, &node);
        Ok(node)
    }

    fn remember(&mut self, anchor: usize, node: &Node<'a>) {
        if anchor == 0 {
            return;
        }
        if self.anchors.len() <= anchor {
            self.anchors.resize(anchor + 1, None);
        }
        self.anchors[anchor] = Some((node.clone(), size_of_tree(node)));
    }

    /// saphyr hands every scalar over as an owned string; where the value is
    /// exactly its source text (most plain and simple quoted scalars), point
    /// at the input instead and let the copy go. Trees of large streams then
    /// take a fraction of the memory.
    fn borrow(&self, text: Cow<'a, str>, style: ScalarStyle, span: Span) -> Cow<'a, str> {
        let Cow::Owned(owned) = &text else {
            return text;
        };
        if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) || span.end < span.start {
            return text;
        }
        let raw = &self.text[span.start - self.base..span.end - self.base];
        let inner = match style {
            ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted if raw.len() >= 2 => {
                &raw[1..raw.len() - 1]
            }
            _ => raw,
        };
        if inner == owned {
            Cow::Borrowed(inner)
        } else {
            text
        }
    }
}

fn last_child_end(value: &Value<'_>) -> Option<usize> {
    match value {
        Value::Scalar(_) => None,
        Value::Seq(items) => items.last().map(|n| n.span.end),
        Value::Map(m) => m.entries.last().map(|e| e.value.span.end),
    }
}

fn last_child_end_line(value: &Value<'_>) -> Option<usize> {
    match value {
        Value::Scalar(_) => None,
        Value::Seq(items) => items.last().map(|n| n.span.end_line),
        Value::Map(m) => m.entries.last().map(|e| e.value.span.end_line),
    }
}

fn size_of_tree(node: &Node<'_>) -> usize {
    1 + match &node.value {
        Value::Scalar(_) => 0,
        Value::Seq(items) => items.iter().map(size_of_tree).sum(),
        Value::Map(m) => m
            .entries
            .iter()
            .map(|e| size_of_tree(&e.key) + size_of_tree(&e.value))
            .sum(),
    }
}

fn mark_aliased(node: &mut Node<'_>) {
    node.aliased = true;
    match &mut node.value {
        Value::Scalar(_) => {}
        Value::Seq(items) => items.iter_mut().for_each(mark_aliased),
        Value::Map(m) => m.entries.iter_mut().for_each(|e| {
            mark_aliased(&mut e.key);
            mark_aliased(&mut e.value);
        }),
    }
}

fn check_duplicate(entries: &[Entry<'_>], key: &Node<'_>) -> Result<(), YamlError> {
    let Some(k) = key.as_scalar() else {
        return Ok(());
    };
    let is_merge = k.style == Style::Plain && !k.tagged && k.text == "<<";
    if is_merge {
        return Ok(());
    }
    if let Some(first) = entries
        .iter()
        .find(|e| e.key.as_scalar().is_some_and(|s| s.text == k.text))
    {
        return Err(YamlError::DuplicateKey {
            key: k.text.to_string(),
            line: key.span.line,
            col: key.span.col,
            first_line: first.key.span.line,
        });
    }
    Ok(())
}

fn style_of(style: ScalarStyle) -> Style {
    match style {
        ScalarStyle::Plain => Style::Plain,
        ScalarStyle::SingleQuoted => Style::SingleQuoted,
        ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
        ScalarStyle::Literal => Style::Literal,
        ScalarStyle::Folded => Style::Folded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_billion_laughs_is_refused_before_it_eats_memory() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = format!("*a{}", i - 1);
            let items = [prev.as_str(); 10].join(", ");
            doc.push_str(&format!("a{i}: &a{i} [{items}]\n"));
        }
        let err = parse_document(&doc, 0, 1).unwrap_err();
        assert!(err.to_string().contains("excessive aliasing"), "{err}");
    }

    #[test]
    fn modest_aliasing_is_fine() {
        let doc = "base: &b {image: x, env: [{name: A, value: b}]}\none: *b\ntwo: *b\n";
        let root = parse_document(doc, 0, 1).unwrap().unwrap();
        assert_eq!(
            root.path(&["two", "image"]).and_then(Node::as_str),
            Some("x")
        );
        assert!(root.get("two").unwrap().aliased);
    }

    #[test]
    fn nodes_that_aliases_copy_are_marked_shared() {
        let doc = "a: &x {k: v}\nb: *x\nc: &unused {k: v}\n";
        let root = parse_document(doc, 0, 1).unwrap().unwrap();
        assert!(root.get("a").unwrap().shared());
        assert!(root.get("b").unwrap().shared());
        assert!(
            !root.get("c").unwrap().shared(),
            "an anchor nobody copies is harmless"
        );
    }

    #[test]
    fn scalars_borrow_from_the_input_where_they_can() {
        let doc = "a: plain\nb: \"quoted\"\nc: \"esc\\tape\"\n";
        let root = parse_document(doc, 0, 1).unwrap().unwrap();
        let text = |k| &root.get(k).unwrap().as_scalar().unwrap().text;
        assert!(matches!(text("a"), Cow::Borrowed("plain")));
        assert!(matches!(text("b"), Cow::Borrowed("quoted")));
        assert_eq!(text("c"), "esc\tape");
    }
}
