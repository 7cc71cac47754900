//! New YAML, as the front ends describe it: a [`Content`] says what to write
//! (keys, values, their nesting); this module says how, in block form at a
//! column with the file's line break, or in flow form (YAML or JSON). Every
//! string goes through the one scalar writer, [`super::scalar`].

use super::layout::Dashes;
use super::scalar::{scalar, Context};

/// A value we write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// A string, written as [`scalar`] writes it in this context (in JSON,
    /// always quoted).
    Str(String, Context),
    Int(u64),
    Null,
    /// Text of several lines, ending in one `\n`: a literal block scalar
    /// (`|`) in block form where it can be one, else a quoted string.
    Text(String),
    Map(Vec<Field>),
    Seq(Vec<Content>),
}

/// One line of a mapping we write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Field {
    Pair(String, Content),
    /// A comment line (its text, after `# `), in block form only: JSON has
    /// no comments, so a flow form leaves it out.
    Comment(String),
}

/// What a flow collection is written as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// YAML: keys plain where they can be (`{a: "x"}`).
    Yaml,
    /// JSON, which YAML reads too: every key and string quoted.
    Json,
}

impl Content {
    /// A string written plain where YAML reads it back the same.
    pub fn str(value: impl Into<String>) -> Content {
        Content::Str(value.into(), Context::Yaml)
    }

    /// A string always written quoted.
    pub fn quoted(value: impl Into<String>) -> Content {
        Content::Str(value.into(), Context::Quoted)
    }

    /// A mapping of these pairs, in this order.
    pub fn map<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Content)>) -> Content {
        Content::Map(
            pairs
                .into_iter()
                .map(|(k, v)| Field::Pair(k.into(), v))
                .collect(),
        )
    }

    /// The flow form: on one line, never a block scalar.
    pub fn flow(&self, flow: Flow) -> String {
        let mut out = String::new();
        self.flow_into(flow, &mut out);
        out
    }

    fn flow_into(&self, flow: Flow, out: &mut String) {
        let context = |c: Context| match flow {
            Flow::Yaml => c,
            Flow::Json => Context::Quoted,
        };
        match self {
            Content::Str(s, c) => out.push_str(&scalar(s, context(*c))),
            Content::Int(i) => out.push_str(&i.to_string()),
            Content::Null => out.push_str("null"),
            Content::Text(t) => out.push_str(&scalar(t, Context::Quoted)),
            Content::Map(fields) => {
                out.push('{');
                let pairs = fields.iter().filter_map(|f| match f {
                    Field::Pair(k, v) => Some((k, v)),
                    Field::Comment(_) => None,
                });
                for (i, (k, v)) in pairs.enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&scalar(k, context(Context::Yaml)));
                    out.push_str(": ");
                    v.flow_into(flow, out);
                }
                out.push('}');
            }
            Content::Seq(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.flow_into(flow, out);
                }
                out.push(']');
            }
        }
    }

    /// A mapping as a document of its own, with `\n` line breaks.
    pub fn document(&self) -> String {
        let mut out = String::new();
        match self {
            Content::Map(fields) if has_pairs(fields) => {
                fields_block(fields, 0, None, "\n", &mut out)
            }
            other => {
                other.flow_into(Flow::Yaml, &mut out);
                out.push('\n');
            }
        }
        out
    }

    /// The lines of a mapping's fields in block form, at `indent`, each
    /// ending in `eol`.
    pub fn fields(&self, indent: usize, eol: &str) -> String {
        let mut out = String::new();
        match self {
            Content::Map(fields) => fields_block(fields, indent, None, eol, &mut out),
            _ => debug_assert!(false, "fields of a mapping only"),
        }
        out
    }

    /// The lines of `key: self` in block form, the key at `indent`, each
    /// line ending in `eol`; a sequence under the key puts its dashes as
    /// `dashes` says (inside it, [`Dashes::Indented`]).
    pub fn entry(&self, key: &str, indent: usize, dashes: Dashes, eol: &str) -> String {
        let mut out = String::new();
        let pad = " ".repeat(indent);
        pair(key, self, indent, &pad, dashes.columns(), eol, &mut out);
        out
    }

    /// The lines of `self` as a block sequence item, its dash at column
    /// `dash` and its content at `content` (`  - x`: 2 and 4), each line
    /// ending in `eol`.
    pub fn item(&self, dash: usize, content: usize, eol: &str) -> String {
        let mut out = String::new();
        self.item_into(dash, content, eol, &mut out);
        out
    }

    fn item_into(&self, dash: usize, content: usize, eol: &str, out: &mut String) {
        debug_assert!(content > dash);
        let lead = format!("{}-{}", " ".repeat(dash), " ".repeat(content - dash - 1));
        match self {
            Content::Map(fields) if has_pairs(fields) => {
                fields_block(fields, content, Some(&lead), eol, out)
            }
            Content::Seq(items) if !items.is_empty() => {
                out.push_str(lead.trim_end());
                out.push_str(eol);
                for item in items {
                    item.item_into(content, content + 2, eol, out);
                }
            }
            Content::Text(t) if literal_safe(t) => {
                out.push_str(&lead);
                out.push('|');
                out.push_str(eol);
                literal_lines(t, content, eol, out);
            }
            other => {
                out.push_str(&lead);
                other.flow_into(Flow::Yaml, out);
                out.push_str(eol);
            }
        }
    }
}

/// A stream of new documents (mappings, `---` between them) after a block of
/// comment lines (each line's text, after `# `), with `\n` line breaks.
pub fn documents(comments: &[&str], docs: &[Content]) -> String {
    let mut out = String::new();
    for line in comments {
        debug_assert!(!line.contains(super::lines::BREAKS));
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&doc.document());
    }
    out
}

fn has_pairs(fields: &[Field]) -> bool {
    fields.iter().any(|f| matches!(f, Field::Pair(..)))
}

/// The fields of a mapping at `indent`; the first line starts with `lead`
/// instead of the indentation when given (a sequence item's dash).
fn fields_block(fields: &[Field], indent: usize, lead: Option<&str>, eol: &str, out: &mut String) {
    let pad = " ".repeat(indent);
    let mut lead = lead;
    for field in fields {
        let this = lead.take().unwrap_or(&pad);
        match field {
            Field::Pair(k, v) => pair(k, v, indent, this, Dashes::Indented.columns(), eol, out),
            Field::Comment(c) => {
                debug_assert!(!c.contains(super::lines::BREAKS));
                out.push_str(this);
                out.push_str("# ");
                out.push_str(c);
                out.push_str(eol);
            }
        }
    }
}

/// `key: value` at `indent`, the line starting with `lead`.
fn pair(
    key: &str,
    value: &Content,
    indent: usize,
    lead: &str,
    dashes: usize,
    eol: &str,
    out: &mut String,
) {
    out.push_str(lead);
    out.push_str(&scalar(key, Context::Yaml));
    out.push(':');
    match value {
        Content::Map(fields) if has_pairs(fields) => {
            out.push_str(eol);
            fields_block(fields, indent + 2, None, eol, out);
        }
        Content::Seq(items) if !items.is_empty() => {
            out.push_str(eol);
            for item in items {
                item.item_into(indent + dashes, indent + dashes + 2, eol, out);
            }
        }
        Content::Text(t) if literal_safe(t) => {
            out.push_str(" |");
            out.push_str(eol);
            literal_lines(t, indent + 2, eol, out);
        }
        other => {
            out.push(' ');
            other.flow_into(Flow::Yaml, out);
            out.push_str(eol);
        }
    }
}

/// The lines of a literal block scalar at `indent`; empty lines stay empty.
fn literal_lines(text: &str, indent: usize, eol: &str, out: &mut String) {
    let pad = " ".repeat(indent);
    for line in text.split_terminator('\n') {
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
        out.push_str(eol);
    }
}

/// Whether a literal block scalar (`|`, which keeps one final line break)
/// holds exactly `text`: it ends in one `\n` and in no other line break, has
/// a line with content, the first of which starts with no blank (that would
/// need an indentation indicator), and every character can stand in a block
/// scalar as itself (no control character, no byte order mark).
fn literal_safe(text: &str) -> bool {
    let Some(body) = text.strip_suffix('\n') else {
        return false;
    };
    // Only empty lines would clip to nothing.
    let Some(first) = body.split('\n').find(|l| !l.is_empty()) else {
        return false;
    };
    !body.ends_with('\n')
        && !first.starts_with([' ', '\t'])
        && body.chars().all(|c| {
            matches!(c, '\n' | ' '..='~')
                || (c >= '\u{a0}'
                    && !matches!(
                        c,
                        '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
                    ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Content {
        Content::Map(vec![
            Field::Pair("kind".into(), Content::str("Deployment")),
            Field::Comment("ours".into()),
            Field::Pair(
                "list".into(),
                Content::Seq(vec![
                    Content::map([("a", Content::Int(1)), ("b", Content::Null)]),
                    Content::quoted("x"),
                ]),
            ),
            Field::Pair("patch".into(), Content::Text("a: 1\nb: 2\n".into())),
            Field::Pair("odd".into(), Content::Text("  lead\n".into())),
            Field::Pair("blank".into(), Content::Text("\n".into())),
            Field::Pair("empty".into(), Content::Map(vec![])),
        ])
    }

    #[test]
    fn block_and_flow_forms() {
        assert_eq!(
            sample().document(),
            "kind: Deployment\n# ours\nlist:\n  - a: 1\n    b: null\n  - \"x\"\npatch: |\n  a: 1\n  b: 2\nodd: \"  lead\\n\"\nblank: \"\\n\"\nempty: {}\n"
        );
        assert_eq!(
            sample().flow(Flow::Yaml),
            "{kind: Deployment, list: [{a: 1, b: null}, \"x\"], patch: \"a: 1\\nb: 2\\n\", odd: \"  lead\\n\", blank: \"\\n\", empty: {}}"
        );
        assert_eq!(
            Content::map([("k", Content::str("v"))]).flow(Flow::Json),
            "{\"k\": \"v\"}"
        );
        assert_eq!(
            sample().item(2, 4, "\r\n"),
            "  - kind: Deployment\r\n    # ours\r\n    list:\r\n      - a: 1\r\n        b: null\r\n      - \"x\"\r\n    patch: |\r\n      a: 1\r\n      b: 2\r\n    odd: \"  lead\\n\"\r\n    blank: \"\\n\"\r\n    empty: {}\r\n"
        );
        assert_eq!(
            Content::Seq(vec![Content::str("a")]).entry("k", 2, Dashes::AtKey, "\n"),
            "  k:\n  - a\n"
        );
    }

    proptest::proptest! {
        /// A literal block is written only where it reads back as the text.
        #[test]
        fn text_reads_back_as_itself(s in ".*", lines in proptest::collection::vec("[ a#:|-]{0,3}", 0..4)) {
            for text in [s.clone(), format!("{s}\n"), lines.join("\n"), lines.join("\n") + "\n"] {
                let doc = Content::map([("t", Content::Text(text.clone()))]).document();
                let root = crate::yaml::tree::parse_document(&doc, 0, 1).unwrap().unwrap();
                proptest::prop_assert_eq!(root.get_str("t"), Some(text.as_str()), "{}", doc);
            }
        }
    }

    #[test]
    fn what_we_write_reads_back_as_we_meant() {
        let doc = sample().document();
        let root = crate::yaml::tree::parse_document(&doc, 0, 1)
            .unwrap()
            .unwrap();
        assert_eq!(root.get_str("patch"), Some("a: 1\nb: 2\n"));
        assert_eq!(root.get_str("odd"), Some("  lead\n"));
        let flow = sample().flow(Flow::Json);
        let json: serde_json::Value = serde_json::from_str(&flow).unwrap();
        assert_eq!(json["list"][0]["a"], 1);
        assert_eq!(json["patch"], "a: 1\nb: 2\n");
    }
}
