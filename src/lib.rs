//! secret-rollout reads rendered Kubernetes manifests, refuses unsafe secret
//! configurations, and stamps every pod template with a digest of the Secrets
//! and ConfigMaps it consumes, so a rotation rolls the pods by itself.
//!
//! The public API is small: [`analyze`] a stream under [`Options`] (which
//! carry a [`Policy`]), look at its [`Finding`]s, [`apply`] the stamps. The
//! [`report`] and [`format`](mod@format) modules show findings to people and CI,
//! [`explain`] answers "which pods roll if I rotate this Secret?", [`diff`]
//! "what will this upgrade roll, and why?", [`helm`] knows what is special
//! about running under Helm, and [`catalogue`] lists the rules a policy can
//! report.
//!
//! Inside, the pipeline runs one way: `stream` splits and `yaml` parses the
//! documents, `inventory` finds objects (typed by `gvk`) and secret sources,
//! `workload` finds pod templates, `reference` what they consume, `policy`
//! judges under `config` with the ids of `rule`, `stamp` and `digest` decide
//! annotations, and `edit` splices them into the original bytes. `location`
//! turns a line of the input into the line within the object's template or
//! source file, which is what a person can open.

mod config;
pub mod diff;
mod digest;
mod edit;
mod effective;
pub mod explain;
pub mod flux;
pub mod format;
mod guard;
mod gvk;
pub mod helm;
mod inventory;
pub mod krm;
pub mod kustomization;
pub mod layout;
mod location;
pub mod lookup;
pub mod name;
pub mod patch;
mod policy;
mod reference;
pub mod regular;
pub mod report;
mod rule;
mod secret_files;
mod sensitivity;
mod splice;
mod stamp;
mod stream;
mod workload;
mod yaml;

use std::collections::BTreeSet;

use rayon::prelude::*;

pub use config::{
    FunctionConfig, Patterns, Policy, PolicyError, RequiredSource, Selector, WorkloadKind,
    DEFAULT_POLICY,
};
pub use report::{Finding, Location, Place, PlaceKind, Severity};
pub use rule::{catalogue, Rule, RuleId, RuleInfo};
pub use secret_files::{read as read_secrets_from, FileError as SecretsFromError, Files};
pub use stamp::{StampSource, Stamped};
pub use stream::{EncodingError, Input};

/// Settings that change what is computed (not how it is shown).
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The release namespace: where objects without `metadata.namespace` live.
    pub namespace: Option<String>,
    /// Key for `hmac-sha256` digests; plain `sha256` without one.
    pub digest_key: Option<Vec<u8>>,
    pub policy: config::Policy,
    /// What `--secrets-from` files hold: pods that read it are stamped as
    /// if it were in the stream (which wins when both have an object).
    pub secrets_from: Files,
    /// `--lookup`: where to fetch the objects pods use that neither the
    /// stream nor the files hold (below both in precedence).
    pub lookup: Option<std::sync::Arc<dyn lookup::Fetch>>,
    /// Read every document as Go would, also the ones nothing reads: a gate
    /// must refuse what `kubectl apply` refuses. A post-renderer reads only
    /// what it judges (Helm parses its output anyway).
    pub read_all: bool,
}

/// The result of reading a stream: what is wrong with it and how to stamp it.
#[derive(Debug)]
pub struct Analysis {
    pub findings: Vec<Finding>,
    pub edits: Vec<edit::Edit>,
    /// Each pod template the edits stamp, and what its stamps stand for.
    pub stamped: Vec<stamp::Stamped>,
    /// How many objects the stream holds (0: an empty render).
    pub objects: usize,
    /// The stream holds objects and every one is a Helm hook: the first of
    /// the two calls of Helm 4's `separate` post-render strategy.
    pub hooks_only: bool,
}

impl Analysis {
    pub fn has_errors(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.is_active() && f.severity == Severity::Error)
    }
}

/// Input we refuse: never a policy matter, always the stream itself (or a
/// `--secrets-from` file).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{0}")]
    Parse(#[from] stream::ParseError),
    #[error("document {}{}, line {}: {}", .0.doc + 1, template_suffix(&.0.template), .0.span.line, .0)]
    Content(inventory::ContentError),
    #[error("document {}{}: {} ({}): {}", .doc + 1, template_suffix(.template), .workload, .path, .error)]
    Edit {
        doc: usize,
        template: Option<String>,
        workload: String,
        path: String,
        error: edit::EditError,
    },
    /// A ConfigMap of a `--secrets-from` file, read once a pod named it.
    #[error("{0}")]
    SecretsFrom(#[from] secret_files::FileError),
}

fn template_suffix(t: &Option<String>) -> String {
    t.as_deref().map(|t| format!(" ({t})")).unwrap_or_default()
}

/// Everything known about one stream: plain facts about its sources and
/// workloads, and for each workload we may stamp, the part of its pod
/// template an edit needs (`sites`, parallel to `workloads`).
pub(crate) struct Model<'s> {
    pub options: &'s Options,
    pub workloads: &'s [workload::Workload],
    pub sites: &'s [Option<yaml::Node<'s>>],
    pub index: &'s inventory::Index<'s>,
    /// What `--lookup` fetched for this stream, and what it could not.
    pub looked_up: &'s lookup::Fetched,
    /// The chart template of each document (see [`stream::Document`]).
    pub templates: &'s [Option<String>],
    /// How many objects the stream holds, and how many are Helm hooks.
    pub objects: usize,
    pub hooks: usize,
}

/// What one document contributes to the model.
#[derive(Default)]
struct DocFacts<'a> {
    objects: usize,
    hooks: usize,
    sources: Vec<inventory::Source>,
    workloads: Vec<(workload::Workload, Option<yaml::Node<'a>>)>,
}

/// What the stream's pod templates name. It is what is read of the
/// ConfigMaps the sniff set aside, and what the sources below the stream
/// are asked for: `--secrets-from` files (their ConfigMaps likewise), then
/// what `--lookup` fetches of whatever is still unresolved.
pub(crate) struct Referenced<'m> {
    pub workloads: &'m [workload::Workload],
    pub config_maps: BTreeSet<&'m str>,
    names: aho_corasick::AhoCorasick,
}

impl<'m> Referenced<'m> {
    fn of(workloads: &'m [workload::Workload]) -> Self {
        let config_maps: BTreeSet<&str> = workloads
            .iter()
            .flat_map(|w| &w.refs)
            .filter(|r| r.target == inventory::TargetKind::ConfigMap)
            .map(|r| r.name.as_str())
            .collect();
        let names = aho_corasick::AhoCorasick::new(config_maps.iter().filter(|n| !n.is_empty()))
            .expect("names make an automaton");
        Referenced {
            workloads,
            config_maps,
            names,
        }
    }

    /// Whether a ConfigMap set aside (see [`plan`]) may be one pods name: a
    /// document whose text holds none of their names cannot be (unless
    /// escapes or tags could spell a name).
    pub fn may_name(&self, text: &str, doc: &stream::Document) -> bool {
        doc.sniff.as_ref().is_none_or(|s| s.obfuscated)
            || (!self.config_maps.is_empty() && self.names.is_match(&text[doc.range.clone()]))
    }
}

/// What is done with a document, decided from its sniffed kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Read its tree: workloads, Secret producers, lists, and whatever the
    /// sniff is not certain about.
    Parse,
    /// A ConfigMap: read it only if a pod template may name it.
    Later,
    /// One object nobody reads (and no Helm hook): copied, never judged.
    Skip,
}

/// The plan for `doc` of `text`. `workload_kinds`: the kinds whose pod
/// templates are read, with Helm hooks counted; `None` for a document that
/// can only give sources (a `--secrets-from` file).
pub(crate) fn plan(
    text: &str,
    doc: &stream::Document,
    workload_kinds: Option<&[config::WorkloadKind]>,
) -> Plan {
    let Some(sniff) = &doc.sniff else {
        return Plan::Parse;
    };
    let gvk = gvk::Gvk::new(&text[sniff.api_version.clone()], &text[sniff.kind.clone()]);
    if let Some(kinds) = workload_kinds {
        if sniff.maybe_hook || workload::is_workload_kind(&gvk, kinds) {
            return Plan::Parse;
        }
    }
    if gvk.is("", "ConfigMap") {
        Plan::Later
    } else if inventory::is_source_kind(&gvk) {
        Plan::Parse
    } else {
        Plan::Skip
    }
}

/// How many documents the first pass of [`with_model`] reads at a time (and
/// how many workloads [`analyze`] stamps at a time): enough to keep every
/// core busy, few enough that their results are small.
const FIRST_PASS_SLICE: usize = 4096;

/// Parse a stream and hand its model to `f`. Documents are split and their
/// kinds sniffed in one pass; only the ones that matter are parsed (in
/// parallel), and each tree is read and dropped at once, so memory holds
/// the facts, not the trees. Sources come from the stream, then from
/// `--secrets-from` files, then from the cluster (`--lookup`); each level
/// is asked only once the stream's pod templates are known ([`Referenced`]),
/// and an object found higher up wins.
pub(crate) fn with_model<'a, R>(
    text: &'a str,
    options: &Options,
    f: impl FnOnce(&Model<'_>) -> Result<R, InputError>,
) -> Result<R, InputError> {
    let kinds = &options.policy.workload_kinds;
    let read = |parsed: stream::Parsed<'a>| -> Result<DocFacts<'a>, InputError> {
        let objects = inventory::objects(std::slice::from_ref(&parsed));
        let mut facts = DocFacts {
            objects: objects.len(),
            hooks: objects.iter().filter(|o| o.is_helm_hook()).count(),
            ..DocFacts::default()
        };
        let wanted = objects.iter().any(|o| {
            inventory::is_source_kind(&o.gvk) || workload::is_workload_kind(&o.gvk, kinds)
        });
        if !wanted {
            return Ok(facts);
        }
        let sources = inventory::sources(&objects).map_err(InputError::Content)?;
        let workloads = workload::find(&objects, kinds)
            .iter()
            .map(|found| {
                let site = (found.rollout == workload::Rollout::Rolls)
                    .then(|| found.template.pruned_template());
                (found.facts(), site)
            })
            .collect();
        facts.sources = sources;
        facts.workloads = workloads;
        Ok(facts)
    };
    let parse = |doc: stream::Document| stream::parse_one(text, doc).map_err(InputError::from);
    let docs = stream::split(text);
    let templates: Vec<Option<String>> = docs.iter().map(|d| d.source.clone()).collect();
    let mut sources = Vec::new();
    let mut workloads = Vec::new();
    let mut sites = Vec::new();
    let mut later = Vec::new();
    let (mut objects, mut hooks) = (0, 0);
    // In slices, each read in parallel and taken in stream order before the
    // next: the per-document results of a stream of a million small
    // workloads are never all held at once, only their facts.
    let mut docs = docs.into_iter();
    loop {
        let slice: Vec<stream::Document> = docs.by_ref().take(FIRST_PASS_SLICE).collect();
        if slice.is_empty() {
            break;
        }
        let first: Vec<Result<(DocFacts<'a>, Option<stream::Document>), InputError>> = slice
            .into_par_iter()
            .map(|doc| {
                let unread = DocFacts {
                    objects: 1,
                    ..DocFacts::default()
                };
                match plan(text, &doc, Some(kinds)) {
                    Plan::Parse => Ok((read(parse(doc)?)?, None)),
                    Plan::Later => Ok((unread, Some(doc))),
                    Plan::Skip if options.read_all => parse(doc).map(|_| (unread, None)),
                    Plan::Skip => Ok((unread, None)),
                }
            })
            .collect();
        for r in first {
            let (doc, set_aside) = r?;
            objects += doc.objects;
            hooks += doc.hooks;
            sources.extend(doc.sources);
            for (w, site) in doc.workloads {
                workloads.push(w);
                sites.push(site);
            }
            later.extend(set_aside);
        }
    }
    // The emptied list of documents is as long as the stream: gone before
    // the rest of the model is built.
    drop(docs);
    let referenced = Referenced::of(&workloads);
    let named: Vec<Result<DocFacts<'a>, InputError>> = later
        .into_par_iter()
        .filter(|doc| options.read_all || referenced.may_name(text, doc))
        .map(|doc| {
            if referenced.may_name(text, &doc) {
                read(parse(doc)?)
            } else {
                parse(doc).map(|_| DocFacts::default())
            }
        })
        .collect();
    for r in named {
        // Counted as an object already; a ConfigMap has no pod template.
        sources.extend(r?.sources);
    }
    // Stream order decides among sources of the same name.
    sources.sort_by_key(|s| s.object.doc);
    let named_in_files = options.secrets_from.named(&referenced)?;
    let mut index = inventory::Index::new(
        &sources,
        options.secrets_from.sources(),
        options.namespace.as_deref(),
    );
    index.add_below(&named_in_files);
    let looked_up = lookup::fetch_unresolved(options, &referenced, &index);
    index.add_below(&looked_up.sources);
    f(&Model {
        options,
        workloads: &workloads,
        sites: &sites,
        index: &index,
        looked_up: &looked_up,
        templates: &templates,
        objects,
        hooks,
    })
}

/// Read a stream and decide findings and edits.
///
/// ```
/// let input = "\
/// apiVersion: v1
/// kind: Secret
/// metadata: {name: db}
/// stringData: {password: hunter2}
/// ---
/// apiVersion: apps/v1
/// kind: Deployment
/// metadata: {name: web}
/// spec:
///   template:
///     spec:
///       containers:
///       - name: web
///         envFrom: [{secretRef: {name: db}}]
/// ";
/// let options = secret_rollout::Options::default();
/// let mut analysis = secret_rollout::analyze(input, &options).unwrap();
/// assert!(!analysis.has_errors());
/// let output = secret_rollout::apply(input, &mut analysis);
/// assert!(output.contains("    metadata:\n      annotations:\n        secret-rollout/secret.db: \"sha256:"));
/// ```
pub fn analyze(text: &str, options: &Options) -> Result<Analysis, InputError> {
    with_model(text, options, |m| {
        let policy = &options.policy;
        let mut findings = findings(m);
        location::number_template_documents(m.templates, &mut findings);
        // Each workload's stamps and edits depend on it and the index only:
        // computed in parallel, a slice at a time (see FIRST_PASS_SLICE), and
        // taken in stream order (the first error in the stream wins,
        // whichever thread found it).
        type Stamps = Option<(Vec<edit::Edit>, Option<Stamped>)>;
        let per_workload = |(w, site): (&workload::Workload, &Option<yaml::Node<'_>>)| {
            let Some(site) = site else { return Ok(None) };
            let Some(desired) = stamp::desired(
                w,
                m.index,
                policy.stamp_config_maps,
                options.digest_key.as_deref(),
            ) else {
                return Ok(None);
            };
            let edits =
                edit::annotations(text, site, &desired).map_err(|error| InputError::Edit {
                    doc: w.object.doc,
                    template: w.object.template.clone(),
                    workload: w.object.display(),
                    path: w.template_path.clone(),
                    error,
                })?;
            Ok(Some((
                edits,
                stamp::stamped(w, m.index, policy.stamp_config_maps),
            )))
        };
        let mut edits = Vec::new();
        let mut stamped = Vec::new();
        for (workloads, sites) in m
            .workloads
            .chunks(FIRST_PASS_SLICE)
            .zip(m.sites.chunks(FIRST_PASS_SLICE))
        {
            let slice: Vec<Result<Stamps, InputError>> =
                workloads.par_iter().zip(sites).map(per_workload).collect();
            for r in slice {
                if let Some((more, stamp)) = r? {
                    edits.extend(more);
                    stamped.extend(stamp);
                }
            }
        }
        Ok(Analysis {
            findings,
            edits,
            stamped,
            objects: m.objects,
            hooks_only: m.objects > 0 && m.hooks == m.objects,
        })
    })
}

/// What the policy finds in a model: the rules, and the notes on its sources.
pub(crate) fn findings(m: &Model<'_>) -> Vec<Finding> {
    let policy = &m.options.policy;
    let mut findings = policy::check(m.workloads, m.index, policy);
    findings.extend(policy::source_notes(
        m.workloads,
        m.index,
        policy,
        m.options.digest_key.is_some(),
    ));
    findings.extend(m.looked_up.findings(policy));
    findings
}

/// The stream with our annotations spliced in.
pub fn apply(text: &str, analysis: &mut Analysis) -> String {
    edit::apply(text, &mut analysis.edits)
}

/// What the fuzz targets (fuzz/) and the tests that replay their findings
/// need of the inside: the YAML reader, the editor, and Go's meaning of a
/// stream. Not an API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::edit::{annotations, apply, Edit};
    pub use crate::stream::Input;
    pub use crate::yaml::{parse_document, Node, Value};

    use crate::{inventory, stream, yaml, InputError};

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
                        doc: p.doc.index + 1,
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

#[cfg(test)]
mod tests {
    use super::*;

    const HOOK: &str = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: m\n  annotations:\n    helm.sh/hook: pre-install\n";
    const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n";

    fn hooks_only(text: &str) -> bool {
        analyze(text, &Options::default()).unwrap().hooks_only
    }

    #[test]
    fn hooks_only_needs_objects_and_every_one_a_hook() {
        assert!(hooks_only(HOOK));
        assert!(hooks_only(&format!("{HOOK}---\n{HOOK}")));
        assert!(
            !hooks_only(&format!("{HOOK}---\n{SERVICE}")),
            "a Service is an object too"
        );
        assert!(!hooks_only(SERVICE));
        assert!(!hooks_only(""));
        assert!(!hooks_only("# only a comment\n"));
        // A document we do not parse still counts, and a hook is never missed.
        let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: c}\n";
        assert!(!hooks_only(&format!("{HOOK}---\n{crd}")));
        let hook_crd = format!("{crd}  annotations: {{helm.sh/hook: crd-install}}\n")
            .replace("metadata: {name: c}\n", "metadata:\n  name: c\n");
        assert!(hooks_only(&format!("{HOOK}---\n{hook_crd}")));
    }

    #[test]
    fn documents_nobody_reads_are_copied_unjudged_and_config_maps_read_when_named() {
        let bad_cm = |name: &str| {
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\nbinaryData: {{k: not-base64!}}\n")
        };
        let pod = "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        envFrom: [{configMapRef: {name: used}}]\n";
        let unused = format!("{}{pod}", bad_cm("other"));
        assert!(
            analyze(&unused, &Options::default()).is_ok(),
            "an unread ConfigMap is not judged"
        );
        let used = format!("{}{pod}", bad_cm("used"));
        let e = analyze(&used, &Options::default()).unwrap_err().to_string();
        assert!(e.contains("binaryData.k is not valid base64"), "{e}");
        // A good ConfigMap nobody names is not read either: it is not in the index.
        let both = format!(
            "{}---\n{}",
            bad_cm("other").replace("binaryData: {k: not-base64!}", "data: {}"),
            used.replace("binaryData: {k: not-base64!}", "data: {}")
        );
        with_model(&both, &Options::default(), |m| {
            let find = |name| {
                m.index
                    .find(inventory::TargetKind::ConfigMap, name, None)
                    .map(|s| s.name.clone())
            };
            assert_eq!(find("used").as_deref(), Some("used"));
            assert_eq!(find("other"), None);
            Ok(())
        })
        .unwrap();
    }
}
