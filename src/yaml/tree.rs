//! A read-only, positioned YAML tree for one document, read the way Go reads it.
//!
//! Helm and kubectl decode with go-yaml, a port of libyaml. We scan with
//! libyaml-safer (another port of libyaml, so the same tokens for the same
//! text) and build the tree from its tokens ourselves, because the tokens carry
//! what an edit needs and events drop: where each `:`, `?`, `,` and bracket
//! is. Scalars resolve as sigs.k8s.io/yaml (goyaml.v2, YAML 1.1) resolves them,
//! keys included, and merge keys merge as goyaml.v2 merges them; see
//! [`resolve`] and [`Map::get`].
//!
//! We never serialize this tree: it answers questions ("what does
//! `spec.template.metadata` hold?") and points edits at exact bytes of the
//! original text. Scalars borrow from the input where they can.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use libyaml_safer::{Mark, ScalarStyle, Scanner, Token, TokenData};

use crate::yaml::write::lines::{break_at, ends_with_break, final_break};

pub mod fast;

/// A position range in the whole input stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    /// Byte offset of the first byte (of the node's anchor or tag, if any).
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
    /// Byte offset where the content starts, after any anchor and tag.
    pub content: usize,
    /// The node has an anchor or a tag written before it.
    pub props: bool,
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
    /// The text as Go's decoder holds it (for `!!binary`, the decoded bytes).
    pub text: Cow<'a, str>,
    pub style: Style,
    /// An explicit tag such as `!!str`; it changes how the scalar resolves.
    pub tagged: bool,
    /// What the scalar means to goyaml.v2.
    pub kind: Kind,
}

/// A scalar's meaning under goyaml.v2's YAML 1.1 rules.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str,
    /// The `<<` merge key.
    Merge,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

/// A mapping and the facts an edit of it needs.
#[derive(Clone, Debug)]
pub struct Map<'a> {
    pub entries: Vec<Entry<'a>>,
    /// `{…}` rather than indentation.
    pub flow: bool,
    /// Flow: the bytes between the braces. Block: empty.
    pub inner: std::ops::Range<usize>,
    /// Block: the column (in characters, i.e. spaces) where its entries start.
    pub indent: usize,
    /// Block: where lines added after the mapping go: the first byte of the
    /// line after its last line (after any comment there; past blank or
    /// comment lines indented with a tab, which still belong to the scalar
    /// before them), or the end of the text when there is no line break.
    pub after: usize,
    /// The line break that ends the mapping's last line (`"\n"` when none).
    pub eol: &'static str,
}

/// One `key: value` of a mapping, with where its indicators are.
#[derive(Clone, Debug)]
pub struct Entry<'a> {
    pub key: Node<'a>,
    pub value: Node<'a>,
    /// The key as the JSON object key sigs.k8s.io/yaml makes of it (`on` is
    /// `true`, `0755` is `493`); empty for a merge key.
    pub name: Cow<'a, str>,
    /// A `<<` merge key, as goyaml.v2 recognises it.
    pub merge: bool,
    /// Written with `?` (an explicit key).
    pub explicit: bool,
    /// Where the entry starts: its `?`, or its key.
    pub start: usize,
    /// The `:` indicator, when there is one.
    pub colon: Option<usize>,
    /// Where the entry's text ends: after its value, or after the `:` or key
    /// when the value is empty.
    pub end: usize,
    /// Flow: the `,` that follows the entry, if any.
    pub comma: Option<usize>,
    /// The line break that ends the line on which the entry's text ends
    /// (after any comment there), or the end of the text.
    pub line_break: usize,
    /// The first byte of the line after that one (the end of the text when
    /// there is none).
    pub next_line: usize,
    /// Only spaces stand before the entry on its line.
    pub own_line: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum YamlError {
    #[error("line {line}, column {col}{}: {message}", at_path(.path))]
    Syntax {
        line: usize,
        col: usize,
        /// Keys leading to where the problem was found.
        path: String,
        message: String,
    },
    #[error("line {line}, column {col}: duplicate mapping key `{}` (first at line {first_line}); Helm keeps the first value and kubectl the last", crate::trust::name::path(.key))]
    DuplicateKey {
        /// The key path, ending with the repeated key.
        key: String,
        line: usize,
        col: usize,
        first_line: usize,
    },
}

fn at_path(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        // Keys come from the input: shown only as names.
        format!(" (under `{}`)", crate::trust::name::path(path))
    }
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

    /// Mapping lookup by key, as goyaml.v2 decodes: see [`Map::get`].
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        self.as_map()?.get(key)
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

impl Node<'_> {
    /// The node as JSON, the way sigs.k8s.io/yaml turns Go's decoding into
    /// JSON: merge keys merged, keys as strings. `None` for what JSON cannot
    /// hold (NaN, infinities), which Go refuses to convert too.
    pub fn to_json(&self) -> Option<serde_json::Value> {
        use serde_json::Value as J;
        stacker::maybe_grow(STACK_RED_ZONE, STACK_GROWTH, || {
            Some(match &self.value {
                Value::Scalar(s) => match s.kind {
                    Kind::Null => J::Null,
                    Kind::Bool(b) => J::Bool(b),
                    Kind::Int(i) => match (i64::try_from(i), u64::try_from(i)) {
                        (Ok(v), _) => J::from(v),
                        (_, Ok(v)) => J::from(v),
                        _ => return None,
                    },
                    Kind::Float(f) => J::Number(serde_json::Number::from_f64(f)?),
                    Kind::Str | Kind::Merge => J::String(s.text.to_string()),
                },
                Value::Seq(items) => {
                    J::Array(items.iter().map(Node::to_json).collect::<Option<_>>()?)
                }
                Value::Map(m) => {
                    let mut out = serde_json::Map::new();
                    for (k, v) in m.pairs() {
                        out.insert(k.to_string(), v.to_json()?);
                    }
                    J::Object(out)
                }
            })
        })
    }
}

impl<'a> Map<'a> {
    /// The value goyaml.v2 decodes for `key`. It applies entries in order,
    /// merge keys included, and a later one overwrites an earlier one: so
    /// `{a: 1, <<: {a: 2}}` has `a: 2`. Within `<<: [*x, *y]` the earlier
    /// mapping wins.
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        for e in self.entries.iter().rev() {
            if e.merge {
                if let Some(found) = merged(&e.value).find_map(|m| m.get(key)) {
                    return Some(found);
                }
            } else if e.name == key {
                return Some(&e.value);
            }
        }
        None
    }

    /// The entry written in this mapping itself (not merged in), whether or
    /// not a merge key overrides it.
    pub fn entry(&self, key: &str) -> Option<&Entry<'a>> {
        self.entries.iter().find(|e| !e.merge && e.name == key)
    }

    /// The entry written here for `key`, when it is also what Go decodes for
    /// it; `None` when a merge key supplies or overrides the value.
    pub fn own(&self, key: &str) -> Option<&Entry<'a>> {
        let entry = self.entry(key)?;
        self.get(key)
            .is_some_and(|v| std::ptr::eq(v, &entry.value))
            .then_some(entry)
    }

    /// Some merge key supplies a value for `key`, used or not.
    pub fn merges(&self, key: &str) -> bool {
        self.entries
            .iter()
            .filter(|e| e.merge)
            .any(|e| merged(&e.value).any(|m| m.get(key).is_some()))
    }

    /// All key/value pairs as Go decodes them, merged keys included, merge
    /// keys themselves excluded; in the order keys first appear.
    pub fn pairs(&self) -> Vec<(&str, &Node<'a>)> {
        let mut out: Vec<(&str, &Node<'a>)> = Vec::with_capacity(self.entries.len());
        let mut at: HashMap<&str, usize> = HashMap::new();
        self.collect_pairs(&mut out, &mut at);
        out
    }

    fn collect_pairs<'t>(
        &'t self,
        out: &mut Vec<(&'t str, &'t Node<'a>)>,
        at: &mut HashMap<&'t str, usize>,
    ) {
        for e in &self.entries {
            if e.merge {
                // Go steps through `<<: [a, b]` backwards: earlier ones win.
                let maps: Vec<&Map<'a>> = merged(&e.value).collect();
                for m in maps.into_iter().rev() {
                    m.collect_pairs(out, at);
                }
                continue;
            }
            match at.get(&*e.name) {
                Some(&i) => out[i].1 = &e.value,
                None => {
                    at.insert(&e.name, out.len());
                    out.push((&e.name, &e.value));
                }
            }
        }
    }
}

/// The mappings a merge value brings: `<<: {…}`, `<<: *x`, `<<: [*x, {…}]`.
fn merged<'t, 'a>(value: &'t Node<'a>) -> Box<dyn Iterator<Item = &'t Map<'a>> + 't> {
    match &value.value {
        Value::Map(m) => Box::new(std::iter::once(m)),
        Value::Seq(items) => Box::new(items.iter().filter_map(Node::as_map)),
        Value::Scalar(_) => Box::new(std::iter::empty()),
    }
}

impl Scalar<'_> {
    /// Null as Go reads it: `~`, `null`, empty, or tagged `!!null`.
    pub fn is_null(&self) -> bool {
        self.kind == Kind::Null
    }

    /// Booleans as sigs.k8s.io/yaml (YAML 1.1) reads them: `yes`, `on`, `y`
    /// are true, and so is `!!bool true`; `"true"` is a string.
    pub fn as_bool(&self) -> Option<bool> {
        match self.kind {
            Kind::Bool(b) => Some(b),
            _ => None,
        }
    }
}

/// How goyaml.v2 resolves a scalar: `tag` is the full tag (`tag:yaml.org,
/// 2002:bool`) or `None`. `Err` when Go refuses the tag for this text
/// (`!!int abc`); the reason names the tag, never the text.
pub fn resolve(tag: Option<&str>, plain: bool, text: &str) -> Result<Kind, String> {
    const YAML: &str = "tag:yaml.org,2002:";
    let short = tag
        .map(|t| t.strip_prefix(YAML).map_or(t, |s| s))
        .unwrap_or("");
    let tag_name = match tag {
        None => "",
        // Go takes these for merge keys (as keys) whatever the style.
        Some("!") | Some("tag:yaml.org,2002:merge") if text == "<<" => return Ok(Kind::Merge),
        Some("!") => return Ok(Kind::Str),
        Some(t) => match t.strip_prefix(YAML) {
            Some(s @ ("str" | "bool" | "int" | "float" | "null" | "timestamp")) => s,
            // `!!binary` is decoded by the caller; unknown and local tags
            // leave the text a string.
            _ => return Ok(Kind::Str),
        },
    };
    // A quoted scalar without a tag is a string.
    if tag.is_none() && !plain {
        return Ok(Kind::Str);
    }
    if tag_name == "str" {
        return Ok(Kind::Str);
    }
    let kind = implicit_kind(text);
    let fits = match (tag_name, kind) {
        ("", _) | ("timestamp", Kind::Str) => true,
        ("bool", Kind::Bool(_)) | ("null", Kind::Null) | ("float", Kind::Float(_)) => true,
        ("int", Kind::Int(_)) => true,
        ("float", Kind::Int(i)) => return Ok(Kind::Float(i as f64)),
        _ => false,
    };
    if fits {
        Ok(match kind {
            // `<<` is a merge key only as a key; as a value it is the text.
            Kind::Merge if tag_name.is_empty() => Kind::Merge,
            Kind::Merge => Kind::Str,
            k => k,
        })
    } else {
        Err(format!(
            "a scalar tagged !!{short} whose text is not a {short}"
        ))
    }
}

/// goyaml.v2's resolution of an untagged plain scalar.
fn implicit_kind(text: &str) -> Kind {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Kind::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Kind::Bool(false)
        }
        "" | "~" | "null" | "Null" | "NULL" => return Kind::Null,
        ".nan" | ".NaN" | ".NAN" => return Kind::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Kind::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Kind::Float(f64::NEG_INFINITY),
        "<<" => return Kind::Merge,
        _ => {}
    }
    match text.as_bytes()[0] {
        b'.' => go_float(text).map_or(Kind::Str, Kind::Float),
        b'+' | b'-' | b'0'..=b'9' => {
            let plain: Cow<str> = if text.contains('_') {
                Cow::Owned(text.replace('_', ""))
            } else {
                Cow::Borrowed(text)
            };
            if let Some(i) = go_parse_int(&plain) {
                return Kind::Int(i);
            }
            if yaml_style_float(&plain) {
                if let Some(f) = go_float(&plain) {
                    return Kind::Float(f);
                }
            }
            Kind::Str
        }
        _ => Kind::Str,
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)`, then `ParseUint(s, 0, 64)`.
fn go_parse_int(s: &str) -> Option<i128> {
    let (neg, signed, digits) = match s.as_bytes().first()? {
        b'-' => (true, true, &s[1..]),
        b'+' => (false, true, &s[1..]),
        _ => (false, false, s),
    };
    let lower = digits.get(..2).map(str::to_ascii_lowercase);
    let (radix, body) = match lower.as_deref() {
        Some("0x") => (16, &digits[2..]),
        Some("0o") => (8, &digits[2..]),
        Some("0b") => (2, &digits[2..]),
        _ if digits.len() > 1 && digits.starts_with('0') => (8, &digits[1..]),
        _ => (10, digits),
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u128::from_str_radix(body, radix).ok()?;
    let value = if neg {
        -(magnitude as i128)
    } else {
        magnitude as i128
    };
    let fits_i64 = value >= i128::from(i64::MIN) && value <= i128::from(i64::MAX);
    // ParseUint takes no sign.
    let fits_u64 = !signed && magnitude <= u128::from(u64::MAX);
    (magnitude <= u128::from(u64::MAX) + 1 && (fits_i64 || fits_u64)).then_some(value)
}

/// goyaml.v2's `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let digits = |i: &mut usize| {
        let from = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - from
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseFloat(s, 64)` for decimal text: out of range is an error.
fn go_float(s: &str) -> Option<f64> {
    let ok = s
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    let f: f64 = s.parse().ok().filter(|_| ok)?;
    f.is_finite().then_some(f)
}

/// A map key as sigs.k8s.io/yaml turns it into a JSON object key.
fn json_key<'a>(scalar: &Scalar<'a>) -> Option<Cow<'a, str>> {
    Some(match scalar.kind {
        Kind::Str => scalar.text.clone(),
        Kind::Bool(b) => Cow::Borrowed(if b { "true" } else { "false" }),
        Kind::Int(i) => Cow::Owned(i.to_string()),
        Kind::Float(f) => Cow::Owned(go_format_float32(f)),
        Kind::Null | Kind::Merge => return None,
    })
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)` with goyaml's names for the
/// infinities and NaN.
fn go_format_float32(f: f64) -> String {
    let x = f as f32;
    if x.is_nan() {
        return ".nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // Shortest digits that round-trip, and the decimal exponent.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("exponent is an integer");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if x < 0.0 { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let rest = &digits[1..];
        let dot = if rest.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{}{dot}{rest}e{esign}{:02}", &digits[..1], exp.abs());
    }
    let point = exp + 1; // digits before the decimal point
    if point <= 0 {
        let zeros = "0".repeat((-point) as usize);
        format!("{sign}0.{zeros}{digits}")
    } else if point as usize >= digits.len() {
        let zeros = "0".repeat(point as usize - digits.len());
        format!("{sign}{digits}{zeros}")
    } else {
        let (int, frac) = digits.split_at(point as usize);
        format!("{sign}{int}.{frac}")
    }
}

/// Go refuses flow collections nested deeper than this, and as many block
/// levels ("exceeded max depth of 10000").
const MAX_DEPTH: usize = 10_000;

/// Aliases may copy in this many nodes before the ratio check starts; a
/// "billion laughs" document would otherwise take all memory. Go's yaml
/// refuses such documents too ("excessive aliasing").
const ALIAS_ALLOWANCE: usize = 10_000;
/// Past the allowance, copies may be at most this many times the document.
const ALIAS_RATIO: usize = 10;

/// Parse one document. `text` is the document's slice of the stream, which
/// starts at byte `base` and line `base_line` of the stream. Returns `None`
/// for a document with no content (only comments, markers or whitespace).
///
/// Only the first YAML document of `text` counts, as for kubectl and Helm,
/// which cut streams at `---` lines and decode the first document of each
/// piece: a second one with content is refused, because they would drop it.
pub fn parse_document<'a>(
    text: &'a str,
    base: usize,
    base_line: usize,
) -> Result<Option<Node<'a>>, YamlError> {
    parse_document_as(text, base, base_line, false)
}

/// Parse the first `---` section of a stream as kubectl reads it (see
/// [`parse_document`] for the arguments). kubectl's stream decoder
/// (k8s.io/apimachinery's YAMLOrJSONDecoder) first tries a stream that
/// starts with `{` as JSON, with Go's encoding/json: where that yields an
/// object, its strings are JSON strings, which keep a raw NEL, LS or PS
/// (YAML reads them as line breaks) and may hold `\u` escapes of surrogate
/// pairs (YAML refuses them). Any other text, and every later section, is
/// YAML to kubectl (it switches to YAML at the first `---` after one JSON
/// object), and to us.
pub fn parse_stream_start<'a>(
    text: &'a str,
    base: usize,
    base_line: usize,
) -> Result<Option<Node<'a>>, YamlError> {
    parse_document_as(text, base, base_line, json::starts_with_object(text))
}

fn parse_document_as<'a>(
    text: &'a str,
    base: usize,
    base_line: usize,
    json: bool,
) -> Result<Option<Node<'a>>, YamlError> {
    // Most manifests are plain block YAML, which `fast` reads to the same
    // tree straight from the bytes; it leaves anything else to the scanner,
    // which also reports every error.
    if !json {
        if let Some(root) = fast::read(text, base, base_line) {
            return Ok(root);
        }
    }
    scan_document(text, base, base_line, json)
}

/// [`parse_document`] by the scanner alone: what [`fast`] is checked against.
pub fn parse_document_scanned(
    text: &str,
    base: usize,
    base_line: usize,
) -> Result<Option<Node<'_>>, YamlError> {
    scan_document(text, base, base_line, false)
}

fn scan_document<'a>(
    text: &'a str,
    base: usize,
    base_line: usize,
    json: bool,
) -> Result<Option<Node<'a>>, YamlError> {
    let mut subs = Substitutions {
        boms: Vec::new(),
        bom_stand_in: None,
        final_break: !text.is_empty() && !ends_with_break(text),
    };
    // libyaml skips a byte order mark at the start of any line; Go reads one
    // anywhere but at the very start as text (`\u{feff}a: 1` has the key
    // `\u{feff}a`). Hide them from the scanner behind a character of the
    // same length that the document does not hold, and restore them after.
    if text.match_indices('\u{feff}').any(|(i, _)| i > 0) {
        subs.bom_stand_in = BOM_STAND_INS.into_iter().find(|c| !text.contains(*c));
        if subs.bom_stand_in.is_some() {
            subs.boms = text
                .match_indices('\u{feff}')
                .map(|(i, _)| i)
                .filter(|&i| i > 0)
                .collect();
        }
    }
    let patched;
    let scan_text: &str = if subs.is_empty() {
        text
    } else {
        patched = subs.apply(text);
        &patched
    };
    stacker::maybe_grow(STACK_RED_ZONE, STACK_GROWTH, || {
        Builder::run(text, scan_text, (base, base_line), &subs, json)
    })
}

/// Characters (3 bytes in UTF-8, like U+FEFF) that may stand in for a byte
/// order mark during the scan.
const BOM_STAND_INS: [char; 4] = ['\u{fffc}', '\u{fffb}', '\u{fffa}', '\u{fff9}'];

/// Bytes the scanner must not see as they are written (see
/// [`parse_document`]); offsets are into the document slice.
struct Substitutions {
    boms: Vec<usize>,
    bom_stand_in: Option<char>,
    /// The text does not end with a line break: the scanner gets one, as
    /// the decoder gets one from kubectl's line reader (k8s.io/apimachinery
    /// `LineReader` appends `\n` to every line it hands on), so `a: |` then
    /// `  text` at the very end is `text\n` to kubectl. (The scanner itself
    /// reads such a scalar as Go's yaml.v2 does, with no break: PATCHES.md,
    /// item 5.)
    final_break: bool,
}

impl Substitutions {
    fn is_empty(&self) -> bool {
        self.boms.is_empty() && !self.final_break
    }

    fn apply(&self, text: &str) -> String {
        let mut bytes = text.as_bytes().to_vec();
        if let Some(stand_in) = self.bom_stand_in {
            let mut buf = [0; 3];
            let stand_in = stand_in.encode_utf8(&mut buf).as_bytes();
            for &b in &self.boms {
                bytes[b..b + 3].copy_from_slice(stand_in);
            }
        }
        if self.final_break {
            bytes.push(b'\n');
        }
        String::from_utf8(bytes).expect("characters replaced by characters of the same length")
    }
}

/// Deeply nested documents recurse deeply; grow the stack on the heap
/// rather than overflow it (Go accepts 10,000 levels).
const STACK_RED_ZONE: usize = 128 * 1024;
const STACK_GROWTH: usize = 8 * 1024 * 1024;

type Parsed<T> = Result<T, YamlError>;

/// Properties written before a node: `&anchor`, `!tag`.
#[derive(Default)]
struct Props {
    anchor: Option<String>,
    tag: Option<String>,
    /// Offsets of the first byte of the first property and one past the last.
    start: Option<(usize, Mark)>,
    end: usize,
}

struct Builder<'a, 's> {
    /// The original text; scalars borrow from it.
    text: &'a str,
    tokens: Scanner<&'s [u8]>,
    peeked: Option<Token>,
    /// The slice's first byte in the stream, and bytes skipped at its start
    /// (a byte order mark the scanner never sees).
    base: usize,
    skip: usize,
    base_line: usize,
    /// What the scanner was shown in place of some bytes.
    subs: &'s Substitutions,
    /// The text is a JSON object kubectl reads as JSON.
    json: bool,
    /// `%TAG` handles of this document.
    handles: Vec<(String, String)>,
    anchors: HashMap<String, (Node<'a>, usize)>,
    /// Byte ranges of anchored nodes that some alias copies.
    copied: HashSet<(usize, usize)>,
    /// Keys leading to the node being read, for messages.
    path: Vec<Cow<'a, str>>,
    flow_depth: usize,
    block_depth: usize,
    /// Nodes written in the document, and copied in by aliases.
    nodes: usize,
    expanded: usize,
}

impl<'a, 's> Builder<'a, 's> {
    fn run(
        text: &'a str,
        scan_text: &'s str,
        (base, base_line): (usize, usize),
        subs: &'s Substitutions,
        json: bool,
    ) -> Parsed<Option<Node<'a>>> {
        // The scanner takes a byte order mark at the very start of its input
        // as the encoding's and leaves it out of its offsets: skip it here.
        let skip = if scan_text.starts_with('\u{feff}') {
            3
        } else {
            0
        };
        let mut tokens = Scanner::new();
        tokens.set_input(&scan_text.as_bytes()[skip..]);
        tokens.set_json_strings(json);
        let mut b = Builder {
            text,
            tokens,
            peeked: None,
            base,
            skip,
            base_line,
            subs,
            json,
            handles: Vec::new(),
            anchors: HashMap::new(),
            copied: HashSet::new(),
            path: Vec::new(),
            flow_depth: 0,
            block_depth: 0,
            nodes: 0,
            expanded: 0,
        };
        let mut root = b.stream()?;
        if let Some(root) = &mut root {
            if !b.copied.is_empty() {
                mark_anchored(root, &b.copied);
            }
        }
        Ok(root)
    }

    /// Offset in the stream of a scanner mark (never past the text: the
    /// scanner may have been given a final line break it does not hold).
    fn off(&self, m: Mark) -> usize {
        (self.base + self.skip + m.index as usize).min(self.base + self.text.len())
    }

    /// Offset in the document slice.
    fn local(&self, at: usize) -> usize {
        at - self.base
    }

    fn span(&self, start: Mark, end: Mark) -> Span {
        Span {
            start: self.off(start),
            end: self.off(end),
            line: self.base_line + start.line as usize,
            col: start.column as usize + 1,
            end_line: self.base_line + end.line as usize,
        }
    }

    fn error(&self, at: Mark, message: impl Into<String>) -> YamlError {
        YamlError::Syntax {
            line: self.base_line + at.line as usize,
            col: at.column as usize + 1,
            path: self.path.join("."),
            message: message.into(),
        }
    }

    fn scan_error(&self, e: &libyaml_safer::Error) -> YamlError {
        let mark = e.problem_mark().unwrap_or_default();
        let mut message = e.problem().to_string();
        if let Some(context) = e.context() {
            message = format!("{message} ({context})");
        }
        if e.kind() == libyaml_safer::ErrorKind::Reader {
            // Reader errors carry no mark; the text reached us as valid UTF-8,
            // so this is a control character or the like.
            message = format!("{message} (a character YAML does not allow)");
        }
        self.error(mark, message)
    }

    fn next(&mut self) -> Parsed<Token> {
        if let Some(t) = self.peeked.take() {
            return Ok(t);
        }
        match self.tokens.next() {
            Some(Ok(t)) => Ok(t),
            Some(Err(e)) => Err(self.scan_error(&e)),
            None => Err(self.error(Mark::default(), "unexpected end of the stream")),
        }
    }

    fn peek(&mut self) -> Parsed<&Token> {
        if self.peeked.is_none() {
            let t = self.next()?;
            self.peeked = Some(t);
        }
        Ok(self.peeked.as_ref().expect("just filled"))
    }

    fn peek_is(&mut self, pred: impl Fn(&TokenData) -> bool) -> Parsed<bool> {
        Ok(pred(&self.peek()?.data))
    }

    /// The first document. Go decodes only that one (even when it is empty),
    /// so a later one with content is an error.
    fn stream(&mut self) -> Parsed<Option<Node<'a>>> {
        let start = self.next()?;
        debug_assert!(matches!(start.data, TokenData::StreamStart { .. }));
        let root = self.document()?;
        loop {
            let t = self.next()?;
            let empty_follows = |d: &TokenData| {
                matches!(
                    d,
                    TokenData::DocumentStart
                        | TokenData::DocumentEnd
                        | TokenData::StreamEnd
                        | TokenData::VersionDirective { .. }
                        | TokenData::TagDirective { .. }
                )
            };
            match t.data {
                TokenData::StreamEnd => return Ok(root),
                TokenData::DocumentEnd
                | TokenData::VersionDirective { .. }
                | TokenData::TagDirective { .. } => {}
                TokenData::DocumentStart if self.peek_is(empty_follows)? => {}
                _ if self.json => {
                    return Err(self.error(
                        t.start_mark,
                        "more after the JSON object that starts the stream, in the same `---` \
                         section; kubectl reads on (further JSON objects, or YAML), we read one \
                         object per section: put a `---` line before what follows",
                    ))
                }
                _ => {
                    return Err(self.error(
                        t.start_mark,
                        "a second YAML document in one `---` section (after `...`, or after a \
                         `---` that kubectl does not split at, such as one after a lone CR line \
                         end or a byte order mark); kubectl and Helm read only the first",
                    ))
                }
            }
        }
    }

    /// Directives, `---`, the root node. `None` when there is no content.
    fn document(&mut self) -> Parsed<Option<Node<'a>>> {
        // goyaml.v2 wants `---` after directives, and takes anything else
        // before a first document, a `...` too, for an implicit document's
        // content: `...` alone is "did not find expected node content".
        let mut directives = false;
        loop {
            let t = self.next()?;
            match t.data {
                TokenData::VersionDirective { .. } => directives = true,
                TokenData::TagDirective { handle, prefix } => {
                    directives = true;
                    self.handles.push((handle, prefix));
                }
                TokenData::DocumentStart => break,
                _ if directives => {
                    return Err(self.error(t.start_mark, "did not find expected <document start>"))
                }
                TokenData::StreamEnd => {
                    self.peeked = Some(t);
                    return Ok(None);
                }
                TokenData::DocumentEnd => {
                    return Err(self.error(t.start_mark, "did not find expected node content"))
                }
                _ => {
                    self.peeked = Some(t);
                    break;
                }
            }
        }
        let empty = self.peek_is(|d| {
            matches!(
                d,
                TokenData::VersionDirective { .. }
                    | TokenData::TagDirective { .. }
                    | TokenData::DocumentStart
                    | TokenData::DocumentEnd
                    | TokenData::StreamEnd
            )
        })?;
        if empty {
            // `---` alone is a null document; Go decodes nothing from it.
            return Ok(None);
        }
        self.node(true, false).map(Some)
    }

    fn properties(&mut self) -> Parsed<Props> {
        let mut props = Props::default();
        loop {
            let is_prop =
                self.peek_is(|d| matches!(d, TokenData::Anchor { .. } | TokenData::Tag { .. }))?;
            if !is_prop {
                return Ok(props);
            }
            let t = self.next()?;
            if props.start.is_none() {
                props.start = Some((self.off(t.start_mark), t.start_mark));
            }
            props.end = self.off(t.end_mark);
            match t.data {
                TokenData::Anchor { value } if props.anchor.is_none() => props.anchor = Some(value),
                TokenData::Tag { handle, suffix } if props.tag.is_none() => {
                    props.tag = Some(self.tag(&handle, suffix, t.start_mark)?);
                }
                _ => {
                    return Err(self.error(
                        t.start_mark,
                        "did not find expected node content (a second anchor or tag)",
                    ))
                }
            }
        }
    }

    /// The full tag for a handle and suffix, as the YAML parser spells it.
    fn tag(&self, handle: &str, suffix: String, at: Mark) -> Parsed<String> {
        if handle.is_empty() {
            return Ok(suffix);
        }
        if let Some((_, prefix)) = self.handles.iter().rev().find(|(h, _)| h == handle) {
            return Ok(format!("{prefix}{suffix}"));
        }
        match handle {
            "!" => Ok(format!("!{suffix}")),
            "!!" => Ok(format!("tag:yaml.org,2002:{suffix}")),
            _ => Err(self.error(at, "found undefined tag handle (while parsing a node)")),
        }
    }

    /// A node: alias, scalar or collection, with its properties.
    fn node(&mut self, block: bool, indentless: bool) -> Parsed<Node<'a>> {
        stacker::maybe_grow(STACK_RED_ZONE, STACK_GROWTH, || {
            self.node_inner(block, indentless)
        })
    }

    fn node_inner(&mut self, block: bool, indentless: bool) -> Parsed<Node<'a>> {
        if self.peek_is(|d| matches!(d, TokenData::Alias { .. }))? {
            let t = self.next()?;
            let TokenData::Alias { value } = &t.data else {
                unreachable!("peeked an alias")
            };
            return self.alias(value, self.span(t.start_mark, t.end_mark));
        }
        let props = self.properties()?;
        let t = self.next()?;
        let start_mark = props.start.map_or(t.start_mark, |(_, m)| m);
        let node = match t.data {
            TokenData::BlockEntry if indentless && block => {
                self.peeked = Some(t);
                self.block_sequence(&props, start_mark, true)?
            }
            TokenData::Scalar { value, style } => {
                self.scalar(&props, start_mark, (t.start_mark, t.end_mark), value, style)?
            }
            TokenData::FlowSequenceStart => {
                self.peeked = Some(t);
                self.flow_sequence(&props, start_mark)?
            }
            TokenData::FlowMappingStart => {
                self.peeked = Some(t);
                self.flow_mapping(&props, start_mark)?
            }
            TokenData::BlockSequenceStart if block => {
                self.block_sequence(&props, start_mark, false)?
            }
            TokenData::BlockMappingStart if block => {
                self.peeked = Some(t);
                self.block_mapping(&props, start_mark)?
            }
            _ if props.start.is_some() => {
                // Properties and no content: an empty scalar.
                self.peeked = Some(t);
                let at = props.end;
                let mut node = self.empty_at(at, start_mark, &props)?;
                node.span.start = props.start.map_or(at, |(o, _)| o);
                node
            }
            _ => {
                let context = if block {
                    "while parsing a block node"
                } else {
                    "while parsing a flow node"
                };
                return Err(self.error(
                    t.start_mark,
                    format!("did not find expected node content ({context})"),
                ));
            }
        };
        self.remember(&props, &node);
        Ok(node)
    }

    fn alias(&mut self, name: &str, span: Span) -> Parsed<Node<'a>> {
        let Some((target, size)) = self.anchors.get(name) else {
            return Err(self.error_at(span, "alias to an unknown anchor"));
        };
        self.expanded += size;
        if self.expanded > ALIAS_ALLOWANCE && self.expanded > ALIAS_RATIO * self.nodes {
            let message = format!(
                "excessive aliasing: aliases copy in {} nodes for {} written",
                self.expanded, self.nodes
            );
            return Err(self.error_at(span, message));
        }
        let mut node = target.clone();
        self.copied.insert((target.span.start, target.span.end));
        mark_aliased(&mut node);
        node.span = span;
        node.content = span.start;
        Ok(node)
    }

    fn error_at(&self, span: Span, message: impl Into<String>) -> YamlError {
        YamlError::Syntax {
            line: span.line,
            col: span.col,
            path: self.path.join("."),
            message: message.into(),
        }
    }

    fn remember(&mut self, props: &Props, node: &Node<'a>) {
        if let Some(anchor) = &props.anchor {
            self.anchors
                .insert(anchor.clone(), (node.clone(), size_of_tree(node)));
        }
    }

    /// An empty (null, unless tagged) scalar at offset `at`.
    fn empty_at(&mut self, at: usize, mark: Mark, props: &Props) -> Parsed<Node<'a>> {
        self.nodes += 1;
        let kind = match &props.tag {
            None => Kind::Null,
            Some(tag) => resolve(Some(tag), true, "").map_err(|m| self.error(mark, m))?,
        };
        let line = self.line_of(at, mark);
        Ok(Node {
            value: Value::Scalar(Scalar {
                text: Cow::Borrowed(""),
                style: Style::Plain,
                tagged: props.tag.is_some(),
                kind,
            }),
            span: Span {
                start: at,
                end: at,
                line,
                col: mark.column as usize + 1,
                end_line: line,
            },
            content: at,
            props: props.start.is_some(),
            aliased: false,
            anchored: false,
        })
    }

    /// The line of offset `at`, which lies on the line of `mark` or before it.
    fn line_of(&self, at: usize, mark: Mark) -> usize {
        let mark_at = self.off(mark);
        let (lo, hi) = (at.min(mark_at), at.max(mark_at));
        let between = &self.text[self.local(lo)..self.local(hi)];
        let breaks = count_breaks(between);
        let line = self.base_line + mark.line as usize;
        if at <= mark_at {
            line.saturating_sub(breaks)
        } else {
            line + breaks
        }
    }

    /// An empty node standing where nothing was written, right after an
    /// indicator (`:`, `?`, `-`) ending at `at`.
    fn empty(&mut self, at: usize, mark: Mark) -> Parsed<Node<'a>> {
        self.empty_at(at, mark, &Props::default())
    }

    fn scalar(
        &mut self,
        props: &Props,
        start_mark: Mark,
        marks: (Mark, Mark),
        value: String,
        style: ScalarStyle,
    ) -> Parsed<Node<'a>> {
        let t = Token_ {
            start_mark: marks.0,
            end_mark: marks.1,
        };
        self.nodes += 1;
        let mut span = self.span(start_mark, t.end_mark);
        let content = self.off(t.start_mark);
        let style = match style {
            ScalarStyle::SingleQuoted => Style::SingleQuoted,
            ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
            ScalarStyle::Literal => Style::Literal,
            ScalarStyle::Folded => Style::Folded,
            _ => Style::Plain,
        };
        if matches!(style, Style::Literal | Style::Folded) {
            // The scanner ends a block scalar after the indentation of the line
            // that follows it; we end it at the start of that line, so that
            // "after this value" is always a line boundary.
            // Only when a token follows on that line: blanks that end the
            // text or their line may be the scalar's own last line.
            let local = &self.text[..self.local(span.end)];
            let rest = &self.text[self.local(span.end)..];
            let line_rest = &rest[..break_at(rest).map_or(rest.len(), |(i, _)| i)];
            let token_follows = line_rest.bytes().any(|b| b != b' ' && b != b'\t');
            if let Some(nl) = local.rfind('\n').filter(|_| token_follows) {
                if local[nl + 1..].bytes().all(|b| b == b' ' || b == b'\t') {
                    span.end = self.base + nl + 1;
                }
            }
        }
        let plain = style == Style::Plain;
        let value = self.restore_boms(content, span.end, value);
        let tag = props.tag.as_deref();
        let mut text = self.borrow(value, content, span.end, style);
        let kind = if tag == Some("tag:yaml.org,2002:binary") {
            let decoded = decode_binary(&text).ok_or_else(|| {
                self.error(t.start_mark, "!!binary value contains invalid base64 data")
            })?;
            text = Cow::Owned(decoded);
            Kind::Str
        } else {
            resolve(tag, plain, &text).map_err(|m| self.error(t.start_mark, m))?
        };
        Ok(Node {
            value: Value::Scalar(Scalar {
                text,
                style,
                tagged: tag.is_some(),
                kind,
            }),
            span,
            content,
            props: props.start.is_some(),
            aliased: false,
            anchored: false,
        })
    }

    /// Put back the byte order marks the scanner was shown stand-ins for.
    fn restore_boms(&self, start: usize, end: usize, value: String) -> String {
        let (from, to) = (self.local(start), self.local(end));
        match self.subs.bom_stand_in {
            Some(c)
                if self.subs.boms.partition_point(|&b| b < from)
                    < self.subs.boms.partition_point(|&b| b < to) =>
            {
                value.replace(c, "\u{feff}")
            }
            _ => value,
        }
    }

    /// The scanner hands every scalar over as an owned string; where the value
    /// is exactly its source text (most plain and simple quoted scalars),
    /// point at the input instead and let the copy go.
    fn borrow(&self, value: String, content: usize, end: usize, style: Style) -> Cow<'a, str> {
        if matches!(style, Style::Literal | Style::Folded) || end < content {
            return Cow::Owned(value);
        }
        let raw = &self.text[self.local(content)..self.local(end)];
        let inner = match style {
            Style::SingleQuoted | Style::DoubleQuoted if raw.len() >= 2 => &raw[1..raw.len() - 1],
            _ => raw,
        };
        if inner == value {
            Cow::Borrowed(inner)
        } else {
            Cow::Owned(value)
        }
    }

    fn enter(&mut self, flow: bool, at: Mark) -> Parsed<()> {
        let depth = if flow {
            &mut self.flow_depth
        } else {
            &mut self.block_depth
        };
        *depth += 1;
        if *depth > MAX_DEPTH {
            return Err(self.error(at, format!("exceeded max depth of {MAX_DEPTH}")));
        }
        self.nodes += 1;
        Ok(())
    }

    fn leave(&mut self, flow: bool) {
        if flow {
            self.flow_depth -= 1;
        } else {
            self.block_depth -= 1;
        }
    }

    fn block_sequence(
        &mut self,
        props: &Props,
        start_mark: Mark,
        indentless: bool,
    ) -> Parsed<Node<'a>> {
        self.enter(false, start_mark)?;
        let mut items = Vec::new();
        let mut end = None;
        loop {
            let t = self.next()?;
            match t.data {
                TokenData::BlockEntry => {
                    let after = self.off(t.end_mark);
                    let empty = self.peek_is(|d| {
                        matches!(d, TokenData::BlockEntry | TokenData::BlockEnd)
                            || (indentless && matches!(d, TokenData::Key | TokenData::Value))
                    })?;
                    let item = if empty {
                        self.empty(after, t.end_mark)?
                    } else {
                        self.node(true, false)?
                    };
                    end = Some((item.span.end, item.span.end_line));
                    items.push(item);
                }
                TokenData::BlockEnd if !indentless => break,
                _ if indentless => {
                    self.peeked = Some(t);
                    break;
                }
                _ => {
                    return Err(self.error(
                        t.start_mark,
                        "did not find expected '-' indicator (while parsing a block collection)",
                    ))
                }
            }
        }
        self.leave(false);
        let mut span = self.span(start_mark, start_mark);
        if let Some((e, l)) = end {
            span.end = e;
            span.end_line = l;
        }
        Ok(Node {
            value: Value::Seq(items),
            content: props.start.map_or(span.start, |_| props.end),
            span,
            props: props.start.is_some(),
            aliased: false,
            anchored: false,
        })
    }

    fn block_mapping(&mut self, props: &Props, start_mark: Mark) -> Parsed<Node<'a>> {
        let open = self.next()?;
        self.enter(false, open.start_mark)?;
        let indent = open.start_mark.column as usize;
        let mut entries: Vec<Entry<'a>> = Vec::new();
        let mut seen = Seen::default();
        loop {
            let t = self.next()?;
            match t.data {
                TokenData::Key => {
                    let start = self.off(t.start_mark);
                    let explicit = t.end_mark.index > t.start_mark.index;
                    let key_at = self.off(t.end_mark);
                    let key = if self.peek_is(|d| {
                        matches!(d, TokenData::Key | TokenData::Value | TokenData::BlockEnd)
                    })? {
                        self.empty(key_at, t.end_mark)?
                    } else {
                        self.node(true, true)?
                    };
                    let (name, merge) = self.key_name(&key)?;
                    self.path.push(name.clone());
                    let (colon, value) = if self.peek_is(|d| matches!(d, TokenData::Value))? {
                        let v = self.next()?;
                        let colon = self.off(v.start_mark);
                        let empty = self.peek_is(|d| {
                            matches!(d, TokenData::Key | TokenData::Value | TokenData::BlockEnd)
                        })?;
                        let value = if empty {
                            self.empty(colon + 1, v.end_mark)?
                        } else {
                            self.node(true, true)?
                        };
                        (Some(colon), value)
                    } else {
                        (None, self.empty(key.span.end, t.end_mark)?)
                    };
                    self.path.pop();
                    let end = entry_end(&key, colon, &value);
                    let (line_break, next_line) = self.line_facts(end);
                    let entry = Entry {
                        line_break,
                        next_line,
                        own_line: self.own_line(start, t.start_mark),
                        key,
                        value,
                        name,
                        merge,
                        explicit,
                        start,
                        colon,
                        end,
                        comma: None,
                    };
                    seen.check(self, &entries, &entry)?;
                    entries.push(entry);
                }
                TokenData::BlockEnd => break,
                _ => {
                    return Err(self.error(
                        t.start_mark,
                        "did not find expected key (while parsing a block mapping)",
                    ))
                }
            }
        }
        self.leave(false);
        let last = entries.last().expect("a block mapping starts with a key");
        let (end, end_line) = (
            last.end,
            last.value.span.end_line.max(last.key.span.end_line),
        );
        let (after, eol) = self.line_after(last);
        let mut span = self.span(start_mark, start_mark);
        span.end = end;
        span.end_line = end_line;
        Ok(Node {
            value: Value::Map(Map {
                entries,
                flow: false,
                inner: 0..0,
                indent,
                after,
                eol,
            }),
            content: self.off(open.start_mark),
            span,
            props: props.start.is_some(),
            aliased: false,
            anchored: false,
        })
    }

    /// The JSON key a mapping key becomes, and whether it is a merge key.
    /// The `: value` of a flow entry whose key was just read, with the
    /// offset of its `:`; `None` when the key has no `:`. `closer` ends the
    /// collection (so `{a: }` and `[a: ]` have empty values).
    fn flow_value(
        &mut self,
        name: &Cow<'a, str>,
        closer: TokenData,
    ) -> Parsed<Option<(usize, Node<'a>)>> {
        if !self.peek_is(|d| matches!(d, TokenData::Value))? {
            return Ok(None);
        }
        let v = self.next()?;
        let colon = self.off(v.start_mark);
        let value = if self.peek_is(|d| matches!(d, TokenData::FlowEntry) || *d == closer)? {
            self.empty(colon + 1, v.end_mark)?
        } else {
            self.path.push(name.clone());
            let v = self.node(false, false);
            self.path.pop();
            v?
        };
        Ok(Some((colon, value)))
    }

    fn key_name(&self, key: &Node<'a>) -> Parsed<(Cow<'a, str>, bool)> {
        let Some(scalar) = key.as_scalar() else {
            return Err(self.error_at(
                key.span,
                "a mapping or sequence as a mapping key; kubectl cannot decode it",
            ));
        };
        if scalar.kind == Kind::Merge {
            return Ok((Cow::Borrowed(""), true));
        }
        if matches!(scalar.kind, Kind::Int(i) if i64::try_from(i).is_err()) {
            // goyaml.v2 decodes it as a uint64, a key type sigs.k8s.io/yaml
            // does not convert: kubectl refuses the document.
            return Err(self.error_at(
                key.span,
                "an integer mapping key beyond 64-bit signed (Go's uint64); kubectl cannot \
                 decode it",
            ));
        }
        match json_key(scalar) {
            Some(name) => Ok((name, false)),
            None => Err(self.error_at(key.span, "a null mapping key; kubectl cannot decode it")),
        }
    }

    /// The offset of the line break after `at` (past any comment), or the end.
    fn line_end(&self, at: usize) -> usize {
        let rest = &self.text[self.local(at)..];
        at + break_at(rest).map_or(rest.len(), |(i, _)| i)
    }

    /// Where the line on which an entry ending at `end` ends breaks, and
    /// where the next line starts. An entry whose text ends with a block
    /// scalar (its own value, or the last of a nested collection) ends at a
    /// line start: the line break before it is the one.
    fn line_facts(&self, end: usize) -> (usize, usize) {
        let local = self.local(end);
        let before = &self.text[..local];
        // A value can end just after its line break (a block scalar takes
        // the break with it), and NEL, LS and PS are breaks too.
        let brk = final_break(before).map_or(0, str::len);
        if brk > 0 && local > 0 {
            return (end - brk, end);
        }
        let rest = &self.text[local..];
        match break_at(rest) {
            Some((i, brk)) => (end + i, end + i + brk.len()),
            None => (end + rest.len(), end + rest.len()),
        }
    }

    /// Only spaces before a block entry on its line: the scanner's column
    /// counts the characters from the line start, so that many bytes back.
    fn own_line(&self, start: usize, mark: Mark) -> bool {
        let col = mark.column as usize;
        let local = self.local(start);
        local >= col
            && self.text.as_bytes()[local - col..local]
                .iter()
                .all(|&b| b == b' ')
    }

    /// Where lines added after a block mapping go (see [`Map::after`]), and
    /// the line break that ends its last line.
    fn line_after(&self, last: &Entry<'a>) -> (usize, &'static str) {
        let brk = &self.text[self.local(last.line_break)..self.local(last.next_line)];
        // At the end of the text without a final break: the one before.
        let brk = if brk.is_empty() {
            let before = &self.text[..self.local(last.line_break)];
            match before.rfind(['\n', '\r']) {
                Some(i) if before[..i].ends_with('\r') && before[i..].starts_with('\n') => "\r\n",
                Some(i) => &before[i..i + 1],
                None => "",
            }
        } else {
            brk
        };
        let eol = match brk {
            "\r\n" => "\r\n",
            "\r" => "\r",
            _ => "\n",
        };
        let next = self.local(last.next_line);
        (
            last.next_line + past_tabbed_blank_lines(self.text, next) - next,
            eol,
        )
    }

    fn flow_sequence(&mut self, props: &Props, start_mark: Mark) -> Parsed<Node<'a>> {
        let open = self.next()?;
        self.enter(true, open.start_mark)?;
        let mut items = Vec::new();
        let mut first = true;
        let close = loop {
            if self.peek_is(|d| matches!(d, TokenData::FlowSequenceEnd))? {
                break self.next()?;
            }
            if !first {
                let t = self.next()?;
                if !matches!(t.data, TokenData::FlowEntry) {
                    return Err(self.error(
                        t.start_mark,
                        "did not find expected ',' or ']' (while parsing a flow sequence)",
                    ));
                }
                if self.peek_is(|d| matches!(d, TokenData::FlowSequenceEnd))? {
                    break self.next()?;
                }
            }
            first = false;
            if self.peek_is(|d| matches!(d, TokenData::Key))? {
                items.push(self.flow_pair()?);
            } else {
                items.push(self.node(false, false)?);
            }
        };
        self.leave(true);
        let span = self.span(start_mark, close.end_mark);
        Ok(Node {
            value: Value::Seq(items),
            span,
            content: self.off(open.start_mark),
            props: props.start.is_some(),
            aliased: false,
            anchored: false,
        })
    }

    /// `[a: b]`, `[? a : b]`: a single-pair mapping inside a flow sequence.
    fn flow_pair(&mut self) -> Parsed<Node<'a>> {
        let t = self.next()?; // the KEY token
        self.nodes += 1;
        let start = self.off(t.start_mark);
        let explicit = t.end_mark.index > t.start_mark.index;
        let ends = |d: &TokenData| {
            matches!(
                d,
                TokenData::Value | TokenData::FlowEntry | TokenData::FlowSequenceEnd
            )
        };
        let key = if self.peek_is(ends)? {
            self.empty(self.off(t.end_mark), t.end_mark)?
        } else {
            self.node(false, false)?
        };
        let (name, merge) = self.key_name(&key)?;
        let (colon, value) = match self.flow_value(&name, TokenData::FlowSequenceEnd)? {
            Some((colon, value)) => (Some(colon), value),
            None => (None, self.empty(key.span.end, t.end_mark)?),
        };
        let end = entry_end(&key, colon, &value);
        let span = Span {
            start,
            end,
            line: self.base_line + t.start_mark.line as usize,
            col: t.start_mark.column as usize + 1,
            end_line: value.span.end_line,
        };
        let (line_break, next_line) = self.line_facts(end);
        let entry = Entry {
            line_break,
            next_line,
            own_line: false,
            key,
            value,
            name,
            merge,
            explicit,
            start,
            colon,
            end,
            comma: None,
        };
        // One entry has no duplicate; this judges a merge key's value.
        Seen::default().check(self, &[], &entry)?;
        Ok(Node {
            value: Value::Map(Map {
                entries: vec![entry],
                flow: true,
                inner: start..end,
                indent: 0,
                after: end,
                eol: "\n",
            }),
            span,
            content: start,
            props: false,
            aliased: false,
            anchored: false,
        })
    }

    fn flow_mapping(&mut self, props: &Props, start_mark: Mark) -> Parsed<Node<'a>> {
        let open = self.next()?;
        self.enter(true, open.start_mark)?;
        let mut entries: Vec<Entry<'a>> = Vec::new();
        let mut seen = Seen::default();
        let close = loop {
            if self.peek_is(|d| matches!(d, TokenData::FlowMappingEnd))? {
                break self.next()?;
            }
            if let Some(last) = entries.last_mut() {
                let t = self.next()?;
                if !matches!(t.data, TokenData::FlowEntry) {
                    return Err(self.error(
                        t.start_mark,
                        "did not find expected ',' or '}' (while parsing a flow mapping)",
                    ));
                }
                last.comma = Some(self.off(t.start_mark));
                if self.peek_is(|d| matches!(d, TokenData::FlowMappingEnd))? {
                    break self.next()?;
                }
            }
            let ends = |d: &TokenData| {
                matches!(
                    d,
                    TokenData::Value | TokenData::FlowEntry | TokenData::FlowMappingEnd
                )
            };
            let (start, explicit, key, keyed) = if self.peek_is(|d| matches!(d, TokenData::Key))? {
                let t = self.next()?;
                let explicit = t.end_mark.index > t.start_mark.index;
                let key = if self.peek_is(ends)? {
                    self.empty(self.off(t.end_mark), t.end_mark)?
                } else {
                    self.node(false, false)?
                };
                (self.off(t.start_mark), explicit, key, true)
            } else {
                // No KEY token: a key with no `:` (`{a, b: c}`), or one the
                // scanner could not take for a simple key because a line
                // break stands before its `:` (`{a⏎: b}`). goyaml.v2 gives
                // it an empty value without looking further, so a `:` here
                // is what it refuses next: "did not find expected ',' or '}'".
                let key = self.node(false, false)?;
                (key.span.start, false, key, false)
            };
            let (name, merge) = self.key_name(&key)?;
            let value = match keyed {
                true => self.flow_value(&name, TokenData::FlowMappingEnd)?,
                false => None,
            };
            let (colon, value) = match value {
                Some((colon, value)) => (Some(colon), value),
                None => {
                    let at = key.span.end;
                    let mark = key_end_mark(&key, open.start_mark);
                    (None, self.empty(at, mark)?)
                }
            };
            let end = entry_end(&key, colon, &value);
            let (line_break, next_line) = self.line_facts(end);
            let entry = Entry {
                line_break,
                next_line,
                own_line: false,
                key,
                value,
                name,
                merge,
                explicit,
                start,
                colon,
                end,
                comma: None,
            };
            seen.check(self, &entries, &entry)?;
            entries.push(entry);
        };
        self.leave(true);
        let open_at = self.off(open.start_mark);
        let close_at = self.off(close.start_mark);
        let span = self.span(start_mark, close.end_mark);
        let after = self.line_end(span.end);
        Ok(Node {
            value: Value::Map(Map {
                entries,
                flow: true,
                inner: open_at + 1..close_at,
                indent: open.start_mark.column as usize,
                after,
                eol: "\n",
            }),
            span,
            content: open_at,
            props: props.start.is_some(),
            aliased: false,
            anchored: false,
        })
    }
}

/// The marks of a token whose data was moved out.
struct Token_ {
    start_mark: Mark,
    end_mark: Mark,
}

/// A mark standing for the end of a key, for an empty value placed there.
fn key_end_mark(key: &Node<'_>, fallback: Mark) -> Mark {
    let mut m = fallback;
    m.line = key.span.end_line.saturating_sub(1) as u64;
    m
}

/// Where an entry's text ends: after its value, or its `:`, or its key.
fn entry_end(key: &Node<'_>, colon: Option<usize>, value: &Node<'_>) -> usize {
    match colon {
        Some(c) if value.span.end > c => value.span.end,
        Some(c) => c + 1,
        None => key.span.end,
    }
}

/// Duplicate keys, found in linear time: a small mapping is searched, a
/// large one indexed.
#[derive(Default)]
struct Seen<'a> {
    index: Option<HashMap<Cow<'a, str>, usize>>,
}

const INDEX_FROM: usize = 16;

impl<'a> Seen<'a> {
    fn check(
        &mut self,
        b: &Builder<'a, '_>,
        entries: &[Entry<'a>],
        entry: &Entry<'a>,
    ) -> Parsed<()> {
        if entry.merge {
            // goyaml.v2 merges a mapping, or a sequence of mappings (aliases
            // of them included); any other value, null too, fails the whole
            // decode.
            let mergeable = match &entry.value.value {
                Value::Map(_) => true,
                Value::Seq(items) => items.iter().all(|i| matches!(i.value, Value::Map(_))),
                Value::Scalar(_) => false,
            };
            if !mergeable {
                return Err(b.error_at(
                    entry.value.span,
                    "map merge requires map or sequence of maps as the value",
                ));
            }
            return Ok(());
        }
        if self.index.is_none() && entries.len() >= INDEX_FROM {
            let mut index = HashMap::with_capacity(entries.len() * 2);
            for (i, e) in entries.iter().enumerate().filter(|(_, e)| !e.merge) {
                index.insert(e.name.clone(), i);
            }
            self.index = Some(index);
        }
        let first = match &mut self.index {
            Some(index) => {
                let first = index.get(&entry.name).copied();
                if first.is_none() {
                    index.insert(entry.name.clone(), entries.len());
                }
                first
            }
            None => entries
                .iter()
                .position(|e| !e.merge && e.name == entry.name),
        };
        match first {
            None => Ok(()),
            Some(i) => {
                let mut path = b.path.join(".");
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&entry.name);
                Err(YamlError::DuplicateKey {
                    key: path,
                    line: entry.key.span.line,
                    col: entry.key.span.col,
                    first_line: entries[i].key.span.line,
                })
            }
        }
    }
}

/// Past the last blank (or comment) line indented with a tab among those
/// that follow `at`.
/// Where the input has one, the scanner is still inside the scalar before it (a tab may not
/// start a line where a token could begin, so Go refuses it anywhere else):
/// our lines go after it, so it stays where it was read.
fn past_tabbed_blank_lines(text: &str, at: usize) -> usize {
    let (mut from, mut past) = (at, at);
    while from < text.len() {
        let rest = &text[from..];
        let (line, next) = match break_at(rest) {
            Some((i, brk)) => (&rest[..i], from + i + brk.len()),
            None => (rest, text.len()),
        };
        let content = line.trim_start_matches([' ', '\t']);
        if !(content.is_empty() || content.starts_with('#')) {
            break;
        }
        if line[..line.len() - content.len()].contains('\t') {
            past = next;
        }
        from = next;
    }
    past
}

/// How many YAML line breaks `text` holds.
fn count_breaks(mut text: &str) -> usize {
    let mut n = 0;
    while let Some((i, brk)) = break_at(text) {
        n += 1;
        text = &text[i + brk.len()..];
    }
    n
}

/// `!!binary` as goyaml.v2 decodes it: standard base64 (line breaks
/// ignored); bytes that are not UTF-8 become U+FFFD on the way to JSON.
fn decode_binary(text: &str) -> Option<String> {
    use base64::Engine as _;
    let joined: String = text.chars().filter(|c| !matches!(c, '\n' | '\r')).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(joined)
        .ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Flag the written nodes that aliases copy (found by their byte range).
fn mark_anchored(node: &mut Node<'_>, copied: &HashSet<(usize, usize)>) {
    if node.aliased {
        return;
    }
    if copied.contains(&(node.span.start, node.span.end)) {
        node.anchored = true;
    }
    stacker::maybe_grow(STACK_RED_ZONE, STACK_GROWTH, || match &mut node.value {
        Value::Scalar(_) => {}
        Value::Seq(items) => items.iter_mut().for_each(|n| mark_anchored(n, copied)),
        Value::Map(m) => m.entries.iter_mut().for_each(|e| {
            mark_anchored(&mut e.key, copied);
            mark_anchored(&mut e.value, copied);
        }),
    })
}

fn size_of_tree(node: &Node<'_>) -> usize {
    stacker::maybe_grow(STACK_RED_ZONE, STACK_GROWTH, || {
        1 + match &node.value {
            Value::Scalar(_) => 0,
            Value::Seq(items) => items.iter().map(size_of_tree).sum(),
            Value::Map(m) => m
                .entries
                .iter()
                .map(|e| size_of_tree(&e.key) + size_of_tree(&e.value))
                .sum(),
        }
    })
}

fn mark_aliased(node: &mut Node<'_>) {
    node.aliased = true;
    stacker::maybe_grow(STACK_RED_ZONE, STACK_GROWTH, || match &mut node.value {
        Value::Scalar(_) => {}
        Value::Seq(items) => items.iter_mut().for_each(mark_aliased),
        Value::Map(m) => m.entries.iter_mut().for_each(|e| {
            mark_aliased(&mut e.key);
            mark_aliased(&mut e.value);
        }),
    })
}

/// The JSON grammar, as far as kubectl's stream reader needs it.
mod json {
    /// Go's encoding/json refuses deeper nesting ("exceeded max depth").
    const MAX_DEPTH: usize = 10_000;

    /// Whether `text` starts with a JSON object Go's encoding/json decodes:
    /// JSON whitespace, then an object (what follows it does not matter).
    /// Strings are checked as Go checks them (a lone surrogate escape is
    /// fine: it reads as U+FFFD); the text is UTF-8 already.
    pub fn starts_with_object(text: &str) -> bool {
        let b = text.as_bytes();
        let i = ws(b, 0);
        b.get(i) == Some(&b'{') && value_end(b, i).is_some()
    }

    fn ws(b: &[u8], mut i: usize) -> usize {
        while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            i += 1;
        }
        i
    }

    /// The end of the value at `i`, without recursion (nesting is bounded
    /// only by [`MAX_DEPTH`]).
    fn value_end(b: &[u8], mut i: usize) -> Option<usize> {
        let mut open: Vec<u8> = Vec::new();
        loop {
            // A value starts at `i`.
            i = ws(b, i);
            match *b.get(i)? {
                b'{' if open.len() >= MAX_DEPTH => return None,
                b'{' => {
                    i = ws(b, i + 1);
                    if b.get(i) == Some(&b'}') {
                        i += 1;
                    } else {
                        open.push(b'}');
                        i = key_end(b, i)?;
                        continue;
                    }
                }
                b'[' if open.len() >= MAX_DEPTH => return None,
                b'[' => {
                    i = ws(b, i + 1);
                    if b.get(i) == Some(&b']') {
                        i += 1;
                    } else {
                        open.push(b']');
                        continue;
                    }
                }
                b'"' => i = string_end(b, i)?,
                b't' => i = literal_end(b, i, b"true")?,
                b'f' => i = literal_end(b, i, b"false")?,
                b'n' => i = literal_end(b, i, b"null")?,
                b'-' | b'0'..=b'9' => i = number_end(b, i)?,
                _ => return None,
            }
            // A value ended at `i`: close what it ends, or go on to the next.
            loop {
                let Some(&close) = open.last() else {
                    return Some(i);
                };
                i = ws(b, i);
                match *b.get(i)? {
                    b',' if close == b'}' => {
                        i = key_end(b, ws(b, i + 1))?;
                        break;
                    }
                    b',' => {
                        i += 1;
                        break;
                    }
                    c if c == close => {
                        open.pop();
                        i += 1;
                    }
                    _ => return None,
                }
            }
        }
    }

    /// A key and its colon at `i`: where its value starts.
    fn key_end(b: &[u8], i: usize) -> Option<usize> {
        let i = ws(b, string_end(b, i)?);
        (b.get(i) == Some(&b':')).then_some(i + 1)
    }

    fn string_end(b: &[u8], mut i: usize) -> Option<usize> {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        i += 1;
        loop {
            match *b.get(i)? {
                b'"' => return Some(i + 1),
                b'\\' => match *b.get(i + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                    b'u' if b.get(i + 2..i + 6)?.iter().all(u8::is_ascii_hexdigit) => i += 6,
                    _ => return None,
                },
                c if c < 0x20 => return None,
                _ => i += 1,
            }
        }
    }

    fn literal_end(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
        b[i..].starts_with(word).then_some(i + word.len())
    }

    fn number_end(b: &[u8], mut i: usize) -> Option<usize> {
        let digits =
            |b: &[u8], i: usize| i + b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match *b.get(i)? {
            b'0' => i += 1,
            b'1'..=b'9' => i = digits(b, i),
            _ => return None,
        }
        if b.get(i) == Some(&b'.') {
            let end = digits(b, i + 1);
            if end == i + 1 {
                return None;
            }
            i = end;
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let end = digits(b, i);
            if end == i {
                return None;
            }
            i = end;
        }
        Some(i)
    }

    #[cfg(test)]
    mod tests {
        use super::starts_with_object;

        #[test]
        fn objects_go_decodes_and_text_it_does_not() {
            for yes in [
                "{}",
                " \r\n\t{\"a\": [1, -0.5e+3, true, false, null, \"\\ud800\\n\\u00e9\", {}]} # after",
                "{\"a\":{\"b\":[[]]}}\n{\"second\": 1}",
            ] {
                assert!(starts_with_object(yes), "{yes:?}");
            }
            for no in [
                "",
                "[]",
                "\u{a0}{}",
                "{a: 1}",
                "{\"a\": 1,}",
                "{\"a\": 01}",
                "{\"a\": 1.}",
                "{\"a\": \"\\x41\"}",
                "{\"a\": \"tab\there\"}",
                "{\"a\": tru}",
                "{\"a\": 1",
                "{\"a\" 1}",
            ] {
                assert!(!starts_with_object(no), "{no:?}");
            }
            let deep = |n: usize| format!("{{\"a\": {}{}}}", "[".repeat(n), "]".repeat(n));
            assert!(starts_with_object(&deep(9_999)));
            assert!(!starts_with_object(&deep(10_000)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(doc: &str) -> Node<'_> {
        parse_document(doc, 0, 1).unwrap().unwrap()
    }

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
        let root = root(doc);
        assert_eq!(
            root.path(&["two", "image"]).and_then(Node::as_str),
            Some("x")
        );
        assert!(root.get("two").unwrap().aliased);
    }

    #[test]
    fn nodes_that_aliases_copy_are_marked_shared() {
        let doc = "a: &x {k: v}\nb: *x\nc: &unused {k: v}\n";
        let root = root(doc);
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
        let root = root(doc);
        let text = |k| &root.get(k).unwrap().as_scalar().unwrap().text;
        assert!(matches!(text("a"), Cow::Borrowed("plain")));
        assert!(matches!(text("b"), Cow::Borrowed("quoted")));
        assert_eq!(text("c"), "esc\tape");
    }

    #[test]
    fn keys_resolve_as_yaml_1_1_json_keys() {
        let root = root(
            "on: a\n0755: b\n1_000: c\n0o17: d\n1.5: e\n1e6: f\n\"on\": g\n!!str off: h\n08: i\n",
        );
        let names: Vec<&str> = root
            .as_map()
            .unwrap()
            .entries
            .iter()
            .map(|e| &*e.name)
            .collect();
        assert_eq!(
            names,
            ["true", "493", "1000", "15", "1.5", "1e+06", "on", "off", "8"]
        );
    }

    #[test]
    fn tags_decide_what_a_scalar_is() {
        let root = root("a: !!bool true\nb: !!null\nc: !!str 0755\nd: !!int \"0755\"\ne: \"true\"\nf: !!binary aGk=\n");
        assert_eq!(root.get_bool("a"), Some(true));
        assert!(root.get("b").unwrap().is_null());
        assert_eq!(root.get("c").unwrap().as_scalar().unwrap().kind, Kind::Str);
        assert_eq!(
            root.get("d").unwrap().as_scalar().unwrap().kind,
            Kind::Int(493)
        );
        assert_eq!(root.get_bool("e"), None);
        assert_eq!(root.get_str("f"), Some("hi"));
        let err = parse_document("a: !!null foo\n", 0, 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("!!null") && !err.contains("foo"), "{err}");
    }

    #[test]
    fn merge_keys_merge_in_order_as_goyaml_v2_does() {
        let root = root(
            "a: own\n<<: {a: merged, b: mb}\nc: first\n<<: {c: m2}\n!!merge <<: {d: tagged}\n\"<<\": {e: quoted}\nf: own\n<<: [{f: x, g: first}, {g: second}]\n",
        );
        assert_eq!(root.get_str("a"), Some("merged"));
        assert_eq!(root.get_str("b"), Some("mb"));
        assert_eq!(root.get_str("c"), Some("m2"));
        assert_eq!(root.get_str("d"), Some("tagged"));
        assert!(root.get("<<").is_some(), "a quoted << is a plain key");
        assert_eq!(root.get_str("f"), Some("x"));
        assert_eq!(root.get_str("g"), Some("first"));
        let pairs: Vec<(&str, &str)> = root
            .as_map()
            .unwrap()
            .pairs()
            .into_iter()
            .filter_map(|(k, v)| Some((k, v.as_str()?)))
            .collect();
        assert!(
            pairs.contains(&("a", "merged")) && pairs.contains(&("g", "first")),
            "{pairs:?}"
        );
    }

    #[test]
    fn unicode_line_breaks_end_comments() {
        let r = root("a: 1 # note\u{2028}b: 2\u{85}c: 3\n");
        assert_eq!(r.get_str("b"), Some("2"));
        assert_eq!(r.get_str("c"), Some("3"));
        assert_eq!(root_owned("d: \"x\u{2028}y\u{85}z\"\n"), "x\u{2028}y z");
    }

    fn root_owned(doc: &str) -> String {
        parse_document(doc, 0, 1)
            .unwrap()
            .unwrap()
            .get_str("d")
            .unwrap()
            .to_string()
    }

    #[test]
    fn the_scanner_reads_a_last_block_scalar_line_without_a_break() {
        // Without the final break kubectl's line reader adds, the scanner
        // alone reads the scalar as Go's yaml.v2 does (no break to keep);
        // the unpatched port panicked here.
        for (input, want) in [("a: |\n  text", "text"), ("a: >-\n  x\n  y", "x y")] {
            let mut scanner = Scanner::new();
            scanner.set_input(input.as_bytes());
            let scalars: Vec<String> = scanner
                .map(|t| t.expect("scans"))
                .filter_map(|t| match t.data {
                    TokenData::Scalar { value, .. } => Some(value),
                    _ => None,
                })
                .collect();
            assert_eq!(scalars, ["a", want], "{input:?}");
        }
        // And a document is read as kubectl reads it, with the break.
        assert_eq!(root("a: |\n  text").get_str("a"), Some("text\n"));
    }

    #[test]
    fn colons_before_flow_indicators_stay_in_the_scalar() {
        let root = root("a: {b: c, x:}\nd: [e:, f]\n");
        assert!(root.path(&["a", "x:"]).unwrap().is_null());
        assert_eq!(
            root.get("d").unwrap().as_seq().unwrap()[0].as_str(),
            Some("e:")
        );
    }

    #[test]
    fn a_comma_after_a_tag_belongs_to_the_tag_as_in_go() {
        // Go's yaml.v2 reads `,` `[` `]` as tag characters: `!!null,` is a
        // tag Go does not resolve, so `c` is the value and `: d` is refused.
        let err = parse_document("a: {b: !!null, c: d}\n", 0, 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("did not find expected ',' or '}'"), "{err}");
        let r = root("a: {b: !x,y z}\nc: [!x,y] w]\nd: !<tag:yaml.org,2002:str> 5\n");
        assert_eq!(r.path(&["a", "b"]).and_then(Node::as_str), Some("z"));
        assert_eq!(r.get("c").unwrap().as_seq().unwrap()[0].as_str(), Some("w"));
        assert_eq!(r.get_str("d"), Some("5"));
        // A tag ends at a blank or the end of its line; anything else after
        // it is refused, in any context.
        for text in ["a: {b: !x}\n", "a: [!x}]\n", "a: !x{ b\n"] {
            let err = parse_document(text, 0, 1).unwrap_err().to_string();
            assert!(
                err.contains("did not find expected whitespace or line break"),
                "{text:?}: {err}"
            );
        }
        // Where that text is no tag, it stays what it was.
        let r = root("a: 'x !y,z'\nb: \"!q,\"\nc: p !r,s # !t,\nd: {me !x, w: z}\n");
        assert_eq!(r.get_str("a"), Some("x !y,z"));
        assert!(r.path(&["d", "me !x"]).unwrap().is_null());
        assert_eq!(r.path(&["d", "w"]).and_then(Node::as_str), Some("z"));
        assert_eq!(r.get_str("b"), Some("!q,"));
        assert_eq!(r.get_str("c"), Some("p !r,s"));
    }

    #[test]
    fn a_block_scalar_at_the_very_end_reads_as_kubectl_reads_it() {
        for (chomp, value) in [
            ("|", "text\n"),
            ("|+", "text\n"),
            ("|-", "text"),
            (">", "text\n"),
        ] {
            let doc = format!("a: {chomp}\n    text");
            assert_eq!(root(&doc).get_str("a"), Some(value), "{doc:?}");
        }
    }

    #[test]
    fn go_limits_flow_depth_at_ten_thousand() {
        let deep = |n: usize| format!("x: {}{}\n", "[".repeat(n), "]".repeat(n));
        assert!(parse_document(&deep(10_000), 0, 1).is_ok());
        let err = parse_document(&deep(10_001), 0, 1).unwrap_err().to_string();
        assert!(err.contains("max depth"), "{err}");
    }

    #[test]
    fn duplicate_keys_are_found_in_linear_time_and_named_by_path() {
        let mut doc = String::from("a:\n");
        for i in 0..100_000 {
            doc.push_str(&format!("  k{i}: v\n"));
        }
        assert!(parse_document(&doc, 0, 1).is_ok());
        doc.push_str("  k5: again\n");
        let err = parse_document(&doc, 0, 1).unwrap_err().to_string();
        assert!(err.contains("`a.k5`") && !err.contains("again"), "{err}");
        let err = parse_document("on: 1\ntrue: 2\n", 0, 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`true`"), "{err}");
    }

    #[test]
    fn a_second_document_in_one_section_is_refused() {
        assert!(parse_document("a: 1\r---\rb: 2\r", 0, 1).is_err());
        assert!(parse_document("a: 1\r---\r", 0, 1).unwrap().is_some());
        assert!(parse_document("a: 1\r...\r", 0, 1).unwrap().is_some());
    }

    /// What a fuzz run's corpus, replayed through Helm, showed Go refusing
    /// and us reading (tests/fuzz_corpus.rs, testdata/fuzz/editor/).
    #[test]
    fn what_goyaml_v2_refuses_is_refused() {
        let refused = |doc: &str, message: &str| {
            let err = parse_document(doc, 0, 1).map(|r| r.and_then(|n| n.to_json()));
            let err = err.expect_err(doc).to_string();
            assert!(err.contains(message), "{doc:?}: {err}");
        };
        // A line break (any of Go's five) between a flow key and its `:`: the
        // key is no simple key, so the `:` is where Go wants `,` or `}`.
        for brk in ["\n", "\r", "\r\n", "\u{85}", "\u{2028}", "\u{2029}"] {
            refused(
                &format!("{{a{brk}: b}}"),
                "did not find expected ',' or '}'",
            );
            refused(
                &format!("x: {{\"a\"{brk}  : b}}"),
                "did not find expected ',' or '}'",
            );
            refused(
                &format!("x: [a{brk}: b]"),
                "did not find expected ',' or ']'",
            );
        }
        // A merge key takes a mapping or a sequence of mappings, nothing else.
        for doc in [
            "<<:\n",
            "\r? <<",
            "a: 1\n<<: ~\n",
            "a: &x 1\n<<: *x\n",
            "<<: [{a: 1}, b]\n",
        ] {
            refused(doc, "map merge requires map or sequence of maps");
        }
        refused("x: [<<: 1]\n", "map merge requires map or sequence of maps");
        // `...` before any document, and directives without `---`.
        refused("...\r\n", "did not find expected node content");
        refused("# c\n...\n", "did not find expected node content");
        refused("%YAML 1.1\n", "did not find expected <document start>");
        refused(
            "%YAML 1.1\na: 1\n",
            "did not find expected <document start>",
        );
        // Keys Go decodes as uint64, which sigs.k8s.io/yaml cannot convert.
        refused("9223372036854775808: a\n", "uint64");
        refused("x: {0xffffffffffffffff: a}\n", "uint64");
        // What Go reads alongside, as before.
        for (doc, json) in [
            ("x: {? a\n: b}\n", r#"{"x":{"a":"b"}}"#),
            ("x: {a, b: c}\n", r#"{"x":{"a":null,"b":"c"}}"#),
            ("x: {a: \u{85}, b: c}\n", r#"{"x":{"a":null,"b":"c"}}"#),
            ("x: [? a\n: b]\n", r#"{"x":[{"a":"b"}]}"#),
            ("<<: []\n", "{}"),
            ("x: [<<: {a: 1}]\n", r#"{"x":[{"a":1}]}"#),
            ("%YAML 1.1\n--- {a: 1}\n", r#"{"a":1}"#),
            ("a: 1\n...\n...\n", r#"{"a":1}"#),
            ("9223372036854775807: a\n", r#"{"9223372036854775807":"a"}"#),
            ("18446744073709551616: a\n", r#"{"1.8446744e+19":"a"}"#),
        ] {
            let read = root(doc).to_json().unwrap();
            assert_eq!(
                read,
                serde_json::from_str::<serde_json::Value>(json).unwrap(),
                "{doc:?}"
            );
        }
    }

    #[test]
    fn facts_of_entries() {
        let doc = "m:\n  ? labels\n  : {a: b}\n  x: 1 # c\n";
        let root = root(doc);
        let m = root.get("m").unwrap().as_map().unwrap();
        assert_eq!(m.indent, 2);
        assert!(m.entries[0].explicit);
        assert_eq!(&doc[m.entries[0].start..m.entries[0].start + 1], "?");
        assert_eq!(&doc[m.entries[0].colon.unwrap()..][..1], ":");
        assert_eq!(m.after, doc.len());
        assert_eq!(&doc[m.entries[1].line_break..], "\n");
        let doc = "{a: 1 , b: }";
        let flow = super::tests::root(doc);
        let m = flow.as_map().unwrap();
        assert_eq!(&doc[m.inner.clone()], "a: 1 , b: ");
        assert_eq!(m.entries[0].comma, Some(6));
        assert_eq!(m.entries[1].end, 10);
    }
}
