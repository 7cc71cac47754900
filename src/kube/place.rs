//! Positions a person can open. A finding's line in the input is a line of
//! Helm's (or kustomize's) stream; these turn it into the line within the
//! object's document as the user rendered or wrote it, and name the chart
//! template or source file it came from ([`Place`]).

use std::collections::HashMap;
use std::sync::Arc;

use crate::yaml::stream::HELM4_FILENAME;
use crate::yaml::tree::Node;

/// What kind of thing a [`Place`] names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaceKind {
    /// A chart template (`the0/templates/the0-api.yaml`): Helm 3's
    /// `# Source:` comment or Helm 4's filename annotation.
    Template,
    /// The file kustomize (or another KRM orchestrator) read the object
    /// from: its `internal.config.kubernetes.io/path` or
    /// `config.kubernetes.io/path` annotation.
    File,
}

impl PlaceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PlaceKind::Template => "template",
            PlaceKind::File => "file",
        }
    }
}

/// A position in a chart template's rendered output or in a source file.
///
/// The line is counted within the object's document, from its first line of
/// content (after Helm's `---` and `# Source:` lines), leaving out the lines
/// that Helm 4 or kustomize added (their filename and path annotations, and
/// an `annotations:` line that holds nothing else). Helm 4 and kustomize
/// re-serialize the stream, so its lines are not the ones the user rendered;
/// counted this way they are, for Helm 3 and Helm 4 alike.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub kind: PlaceKind,
    pub path: String,
    /// 1-based: which of the documents rendered from this template (in the
    /// order `helm template --show-only` prints them) or read from this file.
    pub document: usize,
    /// How many documents the input holds from this template; 0 when not
    /// known (a file named by kustomize's annotations).
    pub documents: usize,
    /// 1-based line within that document. (No column: Helm 4 and kustomize
    /// re-indent sequences, so only the line is the user's.)
    pub line: usize,
    /// The chart template as a file of the repository, at the template's
    /// own line (`check --chart-root`): what a pull request's diff shows.
    pub chart_file: Option<ChartFile>,
}

/// A chart template's file, as the user named the chart's directory, and a
/// 1-based line of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChartFile {
    pub path: String,
    pub line: usize,
}

impl Place {
    /// `the0/templates/the0-api.yaml, document 2, line 81`; the document is
    /// named only when the template rendered several.
    pub fn describe(&self) -> String {
        if self.documents == 1 {
            format!("{}, line {}", self.path, self.line)
        } else {
            format!(
                "{}, document {}, line {}",
                self.path, self.document, self.line
            )
        }
    }
}

/// Which of the documents rendered from one chart template a document is,
/// and how many that template rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ordinal {
    /// 1-based, in stream order (as `helm template --show-only` prints them).
    pub document: usize,
    /// 0 when not known.
    pub documents: usize,
}

impl Ordinal {
    /// A document the split named no template for (or an object that is
    /// not in the stream): the first, of an unknown number.
    pub const UNKNOWN: Ordinal = Ordinal {
        document: 1,
        documents: 0,
    };
}

impl Default for Ordinal {
    fn default() -> Self {
        Ordinal::UNKNOWN
    }
}

/// Every document's [`Ordinal`], counted once the stream is split (each
/// document's template is known before any is parsed), so that an object
/// carries its final place from the moment it is read and a rule's finding
/// needs no numbering afterwards.
#[derive(Debug, Default)]
pub struct TemplateNumbers {
    /// By document index: its template (an index into `templates`) and
    /// its number among that template's documents; `None` when the split
    /// named no template for it.
    docs: Vec<Option<(usize, usize)>>,
    /// Each template once, with how many documents it rendered.
    templates: Vec<(Arc<str>, usize)>,
    /// Asked once a document; foldhash, randomly seeded (the names come
    /// from the input).
    by_name: HashMap<Arc<str>, usize, foldhash::fast::RandomState>,
}

impl TemplateNumbers {
    /// `templates`: each document's chart template, in stream order.
    pub fn of<'t>(templates: impl IntoIterator<Item = Option<&'t str>>) -> TemplateNumbers {
        let mut numbers = TemplateNumbers::default();
        for template in templates {
            let doc = template.map(|t| {
                // A template's name is copied once, not once a document.
                let i = match numbers.by_name.get(t) {
                    Some(&i) => i,
                    None => {
                        let name: Arc<str> = t.into();
                        numbers.templates.push((name.clone(), 0));
                        numbers.by_name.insert(name, numbers.templates.len() - 1);
                        numbers.templates.len() - 1
                    }
                };
                let count = &mut numbers.templates[i].1;
                *count += 1;
                (i, *count)
            });
            numbers.docs.push(doc);
        }
        numbers
    }

    /// The ordinal of document `doc` for an object of `template` (which a
    /// Helm 4 annotation on a list item may name apart from its document's).
    pub fn ordinal(&self, doc: usize, template: &str) -> Ordinal {
        let Some(Some((i, n))) = self.docs.get(doc) else {
            return Ordinal::UNKNOWN;
        };
        // Nearly always its document's own template: no hashing per object.
        let documents = match &self.templates[*i] {
            (name, count) if **name == *template => *count,
            _ => self
                .by_name
                .get(template)
                .map_or(0, |&j| self.templates[j].1),
        };
        Ordinal {
            document: *n,
            documents,
        }
    }

    /// The name of `template` as numbered here, to be shared by every
    /// object rendered from it (a workload-dense stream holds one per
    /// object); `None` for a template no document's split named.
    pub fn held(&self, doc: usize, template: &str) -> Option<&Arc<str>> {
        match self.docs.get(doc) {
            Some(Some((i, _))) if *self.templates[*i].0 == *template => Some(&self.templates[*i].0),
            _ => self.by_name.get(template).map(|&j| &self.templates[j].0),
        }
    }
}

/// kustomize's annotations for the file an object was read from, and its
/// index there; the `internal.` ones win (kyaml writes both). The KRM front
/// end reads them too, to name the file of a result.
pub const PATH_ANNOTATIONS: [&str; 2] = [
    "internal.config.kubernetes.io/path",
    "config.kubernetes.io/path",
];
pub const INDEX_ANNOTATIONS: [&str; 2] = [
    "internal.config.kubernetes.io/index",
    "config.kubernetes.io/index",
];

/// Annotations a tool adds on its way to us, which the user never wrote:
/// their lines do not count in a document's line numbers.
fn tool_added(key: &str) -> bool {
    key == HELM4_FILENAME
        || key.starts_with("internal.config.kubernetes.io/")
        || PATH_ANNOTATIONS.contains(&key)
        || INDEX_ANNOTATIONS.contains(&key)
        || matches!(
            key,
            "config.k8s.io/id"
                | "config.kubernetes.io/origin"
                | "alpha.config.kubernetes.io/transformations"
        )
}

/// How to turn a line of the input into a line of the object's document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocLines {
    /// The input line of the document's first line of content.
    pub start: usize,
    /// Input lines (inclusive ranges, in order) that a tool added; boxed
    /// exactly, since every object of a large stream holds one.
    pub added: Box<[(usize, usize)]>,
}

impl DocLines {
    /// For the object at `node` in a document whose content starts at `root`.
    pub fn of(root: &Node<'_>, node: &Node<'_>) -> DocLines {
        let mut added = Vec::new();
        let annotations = node.get("metadata").and_then(|m| {
            m.as_map()?
                .entry("annotations")
                .filter(|e| e.value.as_map().is_some_and(|a| !a.flow))
        });
        if let Some(entry) = annotations {
            let map = entry.value.as_map().expect("checked above");
            let mut all = !map.entries.is_empty();
            for e in &map.entries {
                if e.key.as_str().is_some_and(tool_added) {
                    added.push((e.key.span.line, e.value.span.end_line.max(e.key.span.line)));
                } else {
                    all = false;
                }
            }
            // Helm 4 writes `annotations:` itself when the chart had none.
            if all {
                added.push((entry.key.span.line, entry.key.span.line));
            }
            added.sort_unstable();
        }
        DocLines {
            start: root.span.line,
            added: added.into_boxed_slice(),
        }
    }

    /// The 1-based line within the document of input line `line`.
    pub fn relative(&self, line: usize) -> usize {
        let before: usize = self
            .added
            .iter()
            .map(|&(a, b)| {
                if b < line {
                    b + 1 - a
                } else {
                    line.saturating_sub(a)
                }
            })
            .sum();
        (line + 1).saturating_sub(self.start + before).max(1)
    }
}

/// The source file kustomize's annotations name, and the object's 0-based
/// index in it when they say.
pub fn annotated_file(node: &Node<'_>) -> Option<(String, Option<usize>)> {
    let annotations = node.path(&["metadata", "annotations"])?;
    let first = |keys: [&str; 2]| {
        keys.iter()
            .find_map(|k| annotations.get(k).and_then(Node::as_str))
    };
    // Shown in messages: only a name-like path, never whatever the
    // annotation holds.
    let path = first(PATH_ANNOTATIONS).and_then(crate::trust::name::checked)?;
    let index = first(INDEX_ANNOTATIONS).and_then(|i| i.trim().parse().ok());
    Some((path.to_string(), index))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(doc: &str) -> DocLines {
        let parsed = crate::yaml::stream::parse(doc).unwrap();
        let root = parsed[0].root.as_ref().unwrap();
        DocLines::of(root, root)
    }

    #[test]
    fn helm4s_filename_annotation_and_its_annotations_line_do_not_count() {
        let helm4 = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  annotations:\n    postrenderer.helm.sh/postrender-filename: 'c/templates/s.yaml'\nstringData:\n  a: b\n";
        let l = lines(helm4);
        assert_eq!(&*l.added, [(5, 5), (6, 6)]);
        assert_eq!(
            l.relative(7),
            5,
            "stringData is line 5 as the chart rendered it"
        );
        assert_eq!(l.relative(4), 4);
        let helm3 = "---\n# Source: c/templates/s.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  a: b\n";
        let l = lines(helm3);
        assert_eq!(l.relative(7), 5);
    }

    #[test]
    fn the_users_own_annotations_keep_their_line() {
        let doc = "kind: Job\nmetadata:\n  annotations:\n    helm.sh/hook: pre-install\n    postrenderer.helm.sh/postrender-filename: x\n    config.kubernetes.io/index: '0'\nspec: {}\n";
        let l = lines(doc);
        assert_eq!(&*l.added, [(5, 5), (6, 6)]);
        assert_eq!(l.relative(7), 5);
        assert_eq!(l.relative(4), 4);
    }

    #[test]
    fn documents_are_numbered_within_their_template_in_stream_order() {
        let numbers = TemplateNumbers::of([Some("a"), None, Some("b"), Some("a")]);
        let ordinal = |doc, template| {
            let o = numbers.ordinal(doc, template);
            (o.document, o.documents)
        };
        assert_eq!(ordinal(0, "a"), (1, 2));
        assert_eq!(ordinal(3, "a"), (2, 2));
        assert_eq!(ordinal(2, "b"), (1, 1));
        assert_eq!(ordinal(1, "a"), (1, 0), "no template for this document");
        assert_eq!(ordinal(9, "a"), (1, 0), "not in the stream");
        assert_eq!(ordinal(0, "c"), (1, 0), "a template the stream never named");
        // A list item Helm 4 annotated with another template than its document's.
        assert_eq!(ordinal(0, "b"), (1, 1));
    }

    #[test]
    fn kustomize_path_annotations_name_the_file() {
        let parsed = crate::yaml::stream::parse(
            "kind: Deployment\nmetadata:\n  annotations:\n    config.kubernetes.io/path: old.yaml\n    internal.config.kubernetes.io/path: base/api.yaml\n    internal.config.kubernetes.io/index: '2'\n",
        )
        .unwrap();
        let root = parsed[0].root.as_ref().unwrap();
        assert_eq!(
            annotated_file(root),
            Some(("base/api.yaml".to_string(), Some(2)))
        );
    }
}
