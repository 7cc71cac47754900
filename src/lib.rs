//! secret-rollout reads rendered Kubernetes manifests, refuses unsafe secret
//! configurations, and stamps every pod template with a digest of the Secrets
//! and ConfigMaps it consumes, so a rotation rolls the pods by itself.
//!
//! The public API is small: [`analyze`] a stream under [`Options`] (which
//! carry a [`Policy`]), look at its [`Finding`]s, [`apply`] the stamps. The
//! [`report`] module shows findings to people and CI, [`query`] answers
//! "which pods roll if I rotate this Secret?" and "what will this upgrade
//! roll, and why?", [`front`] holds what is special about each way the tool
//! runs (Helm, kustomize, Flux), and [`catalogue`] lists the rules a policy
//! can report.
//!
//! The folders are layers; a module imports only from its own layer or the
//! ones below it (`tests/layers.rs` checks this), from the bottom up:
//!
//! | layer       | holds                                                           |
//! |-------------|-----------------------------------------------------------------|
//! | [`trust`]   | the trust boundary: which files we read, which text a message shows |
//! | [`yaml`]    | YAML as Go reads it (the stream, the tree) and the write layer   |
//! | [`kube`]    | Kubernetes objects: kinds, workloads, references, sources, stamps |
//! | [`policy`]  | the policy, the rule catalogue, findings, the rules themselves   |
//! | [`report`]  | findings as text, JSON, SARIF, GitHub commands, Markdown          |
//! | [`sources`] | Secrets outside the stream: `--secrets-from` files, `--lookup`    |
//! | [`model`]   | one pass over a stream: its model, findings and stamps           |
//! | [`query`]   | `explain` and `diff`, answered from models                       |
//! | [`front`]   | Helm, kustomize (KRM, legacy plugin), Flux and kustomization files |
//!
//! docs/architecture.md walks through them.

pub mod front;
pub mod kube;
pub mod model;
pub mod policy;
pub mod query;
pub mod report;
pub mod sources;
pub mod trust;
pub mod yaml;

pub use kube::place::{Place, PlaceKind};
pub use kube::stamp::{StampSource, Stamped};
pub use model::{analyze, apply, Analysis, InputError, Options};
pub use policy::config::{
    FunctionConfig, Patterns, Policy, PolicyError, RequiredSource, Selector, WorkloadKind,
    DEFAULT_POLICY,
};
pub use policy::effective::{catalogue, RuleInfo};
pub use policy::finding::{Finding, Location};
pub use policy::rule::{Rule, RuleId, Severity};
pub use sources::files::{read as read_secrets_from, FileError as SecretsFromError, Files};
pub use yaml::stream::{EncodingError, Input};

/// What the fuzz targets (fuzz/) and the tests that replay their findings
/// need of the inside: the YAML reader, the editor, and Go's meaning of a
/// stream. Not an API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::yaml::stream::Input;
    pub use crate::yaml::tree::{parse_document, Node, Value};
    pub use crate::yaml::write::{apply, Edit};

    use crate::kube::inventory;
    use crate::model::InputError;
    use crate::yaml::{stream, tree as yaml};

    /// The edits that make `template`'s annotations hold exactly `desired`
    /// among the keys secret-rollout writes.
    pub fn annotations(
        text: &str,
        template: &Node<'_>,
        desired: &std::collections::BTreeMap<String, String>,
    ) -> Result<Vec<Edit>, crate::yaml::write::map::EditError> {
        crate::yaml::write::map::annotations(text, template, desired, crate::kube::stamp::is_ours)
    }

    /// Pieces of strings that stress every rule of writing a YAML scalar:
    /// the line breaks Go knows, quotes, comment and mapping indicators,
    /// blanks at either end, YAML 1.1 words, numbers, document markers,
    /// non-ASCII and control characters. The write layer's property tests
    /// and tests/writer.rs (against the real kubectl) build strings from them.
    pub const TRICKY_PIECES: &[&str] = &[
        "\n",
        "\r",
        "\r\n",
        "\u{85}",
        "\u{2028}",
        "\u{2029}",
        "\"",
        "'",
        "\\",
        "#",
        " #",
        ": ",
        ":",
        "- ",
        "? ",
        ",",
        "[",
        "]",
        "{",
        "}",
        "&a",
        "*a",
        "!t",
        "|",
        ">",
        "%",
        "@",
        "`",
        " ",
        "\t",
        "yes",
        "on",
        "No",
        "y",
        "~",
        "null",
        "true",
        "0644",
        "0x1F",
        "1e3",
        "-1",
        ".5",
        ".inf",
        "2001-12-14",
        "<<",
        "=",
        "é",
        "\u{1F600}",
        "\u{feff}",
        "\u{0}",
        "\u{1b}",
        "\u{7f}",
        "\u{9f}",
        "\u{fffe}",
        "a",
        "the0-api",
        "/",
        ".",
        "_",
        "---",
        "...",
    ];

    /// Every object of a stream as Go decodes it, as JSON (what `kubectl apply`
    /// would send, before defaults): every document parsed, lists expanded.
    /// For tests and fuzzing: the meaning that output must keep.
    pub fn decode(text: &str) -> Result<Vec<serde_json::Value>, InputError> {
        let parsed = stream::parse(text)?;
        let mut out = Vec::new();
        for p in &parsed {
            let Some(root) = &p.root else { continue };
            let items = match inventory::list_items(root) {
                Some(items) => items,
                None => std::slice::from_ref(root),
            };
            for item in items {
                out.push(item.to_json().ok_or_else(|| {
                    InputError::Parse(stream::ParseError {
                        doc: p.doc.index,
                        template: p.doc.source.clone(),
                        error: yaml::YamlError::Syntax {
                            line: item.span.line,
                            col: item.span.col,
                            path: String::new(),
                            message: "a value JSON cannot hold (NaN, infinity, or an integer \
                                      beyond 64 bits)"
                                .into(),
                        },
                    })
                })?);
            }
        }
        Ok(out)
    }
}
