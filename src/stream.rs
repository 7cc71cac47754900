//! Splitting a multi-document YAML stream the way Kubernetes tooling does.
//!
//! kubectl's YAML reader and Helm both cut a stream at lines that begin with
//! `---`; YAML itself forbids such a line inside any scalar, so cutting by
//! lines agrees with the parser and lets each document be parsed (and
//! reported on) on its own. We never copy: a document is a byte range.

use std::ops::Range;

use rayon::prelude::*;

use crate::yaml::{self, Node, YamlError};

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
}

const BOM: &str = "\u{feff}";

/// Split `text` into documents. Text before the first `---` is a document
/// too (Helm 4 sends no leading marker). A UTF-8 byte order mark is skipped.
pub fn split(text: &str) -> Vec<Document> {
    let body_start = if text.starts_with(BOM) { BOM.len() } else { 0 };
    let mut docs = Vec::new();
    let mut start = body_start;
    let mut start_line = 1;
    let mut line_no = 1;
    let mut pos = body_start;
    while pos < text.len() {
        let line_end = memchr_newline(text, pos);
        let line = &text[pos..line_end];
        let next = (line_end + 1).min(text.len());
        if is_marker(line, "---") {
            if pos > start {
                push(&mut docs, text, start..pos, start_line);
            }
            start = pos;
            start_line = line_no;
        } else if is_marker(line, "...") {
            push(&mut docs, text, start..next, start_line);
            start = next;
            start_line = line_no + 1;
        }
        pos = next;
        line_no += 1;
        if line_end == text.len() {
            break;
        }
    }
    if start < text.len() || docs.is_empty() {
        push(&mut docs, text, start..text.len(), start_line);
    }
    docs
}

fn push(docs: &mut Vec<Document>, text: &str, range: Range<usize>, line: usize) {
    let source = helm_source(&text[range.clone()]);
    docs.push(Document {
        index: docs.len(),
        range,
        line,
        source,
    });
}

fn memchr_newline(text: &str, from: usize) -> usize {
    text.as_bytes()[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(text.len(), |i| from + i)
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

fn helm4_source(doc: &str) -> Option<String> {
    let at = doc.find(HELM4_FILENAME)?;
    let rest = doc[at + HELM4_FILENAME.len()..].trim_start_matches(['\'', '"']);
    let rest = rest.strip_prefix(':')?;
    let value = rest.lines().next()?.trim();
    let value = value.trim_matches(|c| c == '\'' || c == '"');
    (!value.is_empty()).then(|| value.to_string())
}

/// The template path Helm 3 writes as `# Source: chart/templates/x.yaml` in
/// the comment block before a document's content.
fn helm3_source(doc: &str) -> Option<String> {
    for line in doc.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(path) = line.strip_prefix("# Source: ") {
            return Some(path.trim().to_string());
        }
        let trimmed = line.trim_start();
        if !(trimmed.is_empty() || trimmed.starts_with('#') || is_marker(line, "---")) {
            return None;
        }
    }
    None
}

/// A document together with its parsed tree (`None` when it has no content).
#[derive(Debug)]
pub struct Parsed<'a> {
    pub doc: Document,
    pub root: Option<Node<'a>>,
}

/// Input that is not YAML we can trust; names the document and line.
#[derive(Debug, thiserror::Error)]
#[error("document {doc}{}: {error}", template_suffix(.template))]
pub struct ParseError {
    /// 1-based document number, as a person counts.
    pub doc: usize,
    pub template: Option<String>,
    #[source]
    pub error: YamlError,
}

fn template_suffix(template: &Option<String>) -> String {
    template
        .as_deref()
        .map(|t| format!(" ({t})"))
        .unwrap_or_default()
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
    let follows_end: Vec<bool> = std::iter::once(false)
        .chain(
            docs.iter()
                .map(|d| ends_with_end_marker(&text[d.range.clone()])),
        )
        .collect();
    let results: Vec<Result<T, E>> = docs
        .into_par_iter()
        .enumerate()
        .map(|(i, doc)| {
            let slice = &text[doc.range.clone()];
            let fail = |error| ParseError {
                doc: doc.index + 1,
                template: doc.source.clone(),
                error,
            };
            let root = yaml::parse_document(slice, doc.range.start, doc.line)
                .map_err(|e| E::from(fail(e)))?;
            // kubectl and Helm cut streams only at `---` lines and decode the
            // first YAML document of each piece: content between `...` and the
            // next `---` never reaches the cluster. We would read it as an
            // object (and stamp from it), so refuse rather than disagree.
            if let (true, Some(node)) = (follows_end[i], &root) {
                if !is_marker(slice.lines().next().unwrap_or(""), "---") {
                    return Err(E::from(fail(YamlError::Syntax {
                        line: node.span.line,
                        col: node.span.col,
                        message: "content after a `...` document end marker must start with a \
                                  `---` line; kubectl and Helm would ignore it"
                            .into(),
                    })));
                }
            }
            read(Parsed { doc, root })
        })
        .collect();
    // The first bad document in stream order, whichever thread found it.
    results.into_iter().collect()
}

/// The document's last line is a `...` marker.
fn ends_with_end_marker(doc: &str) -> bool {
    doc.trim_end_matches(['\n', '\r'])
        .rsplit('\n')
        .next()
        .is_some_and(|line| is_marker(line, "..."))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(texts("a: 1\n...\nb: 2\n"), ["a: 1\n...\n", "b: 2\n"]);
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
    fn content_after_a_document_end_marker_needs_a_new_document() {
        assert!(parse("a: 1\n...\n---\nb: 2\n").is_ok());
        assert!(parse("a: 1\n...\n# only a comment\n---\nb: 2\n").is_ok());
        let err = parse("a: 1\n...\nb: 2\n").unwrap_err();
        assert_eq!(err.doc, 2);
        assert_eq!(err.error.line(), 3);
    }

    #[test]
    fn empty_input_is_one_empty_document() {
        assert_eq!(texts(""), [""]);
    }
}
