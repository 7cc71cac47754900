//! secret-rollout reads rendered Kubernetes manifests, refuses unsafe secret
//! configurations, and stamps every pod template with a digest of the Secrets
//! and ConfigMaps it consumes, so a rotation rolls the pods by itself.
//!
//! The pipeline runs one way: [`stream`] splits and [`yaml`] parses the
//! documents, [`inventory`] finds objects and secret sources, [`workload`]
//! finds pod templates, [`reference`] what they consume, [`policy`] judges,
//! [`stamp`] and [`digest`] decide annotations, and [`edit`] splices them
//! into the original bytes.

pub mod cli;
pub mod config;
pub mod digest;
pub mod edit;
pub mod explain;
pub mod format;
pub mod helm;
pub mod inventory;
pub mod policy;
pub mod reference;
pub mod report;
pub mod stamp;
pub mod stream;
pub mod workload;
pub mod yaml;

use std::collections::BTreeSet;

use rayon::prelude::*;
use report::{Finding, Severity};

/// Settings that change what is computed (not how it is shown).
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The release namespace: where objects without `metadata.namespace` live.
    pub namespace: Option<String>,
    /// Key for `hmac-sha256` digests; plain `sha256` without one.
    pub digest_key: Option<Vec<u8>>,
    pub policy: config::Policy,
}

/// The result of reading a stream: what is wrong with it and how to stamp it.
#[derive(Debug)]
pub struct Analysis {
    pub findings: Vec<Finding>,
    pub edits: Vec<edit::Edit>,
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

/// Input we refuse: never a policy matter, always the stream itself.
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
}

fn template_suffix(t: &Option<String>) -> String {
    t.as_deref().map(|t| format!(" ({t})")).unwrap_or_default()
}

/// Everything known about one stream: plain facts about its sources and
/// workloads, and for each workload we may stamp, the part of its pod
/// template an edit needs (`sites`, parallel to `workloads`).
pub struct Model<'s> {
    pub options: &'s Options,
    pub workloads: &'s [workload::Workload],
    pub sites: &'s [Option<yaml::Node<'s>>],
    pub index: &'s inventory::Index<'s>,
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

/// The Secrets and ConfigMaps that pod templates in the stream name.
#[derive(Debug, Default)]
pub struct Referenced {
    pub secrets: BTreeSet<String>,
    pub config_maps: BTreeSet<String>,
}

/// What is done with a document, decided from its sniffed kind.
enum Plan {
    /// Read its tree: workloads, Secret producers, lists, and whatever the
    /// sniff is not certain about.
    Parse,
    /// A ConfigMap: read it only if a pod template may name it.
    Later,
    /// One object nobody reads (and no Helm hook): copied, never judged.
    Skip,
}

fn plan(text: &str, doc: &stream::Document, options: &Options) -> Plan {
    let Some(sniff) = &doc.sniff else {
        return Plan::Parse;
    };
    let kind = &text[sniff.kind.clone()];
    let api_version = &text[sniff.api_version.clone()];
    if sniff.maybe_hook
        || workload::is_workload_kind(api_version, kind, &options.policy.workload_kinds)
    {
        return Plan::Parse;
    }
    match (api_version, kind) {
        ("v1", "ConfigMap") => Plan::Later,
        _ if inventory::is_source_kind(api_version, kind) => Plan::Parse,
        _ => Plan::Skip,
    }
}

/// Parse a stream and hand its model to `f`. Documents are split and their
/// kinds sniffed in one pass; only the ones that matter are parsed (in
/// parallel), and each tree is read and dropped at once, so memory holds
/// the facts, not the trees.
pub fn with_model<R>(
    text: &str,
    options: &Options,
    f: impl FnOnce(&Model<'_>) -> Result<R, InputError>,
) -> Result<R, InputError> {
    with_model_and_sources(text, options, |_| Ok(Vec::new()), f)
}

/// [`with_model`], with more sources than the stream holds: `extra` learns
/// which Secrets and ConfigMaps the stream's pod templates name and returns
/// sources for them (from files, say); they are indexed after the stream's
/// own, which win a tie.
pub fn with_model_and_sources<'a, R>(
    text: &'a str,
    options: &Options,
    extra: impl FnOnce(&Referenced) -> Result<Vec<inventory::Source>, InputError>,
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
            inventory::is_source_kind(o.api_version, o.kind)
                || workload::is_workload_kind(o.api_version, o.kind, kinds)
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
    let first: Vec<Result<(DocFacts<'a>, Option<stream::Document>), InputError>> = docs
        .into_par_iter()
        .map(|doc| match plan(text, &doc, options) {
            Plan::Parse => Ok((read(parse(doc)?)?, None)),
            Plan::Later => Ok((
                DocFacts {
                    objects: 1,
                    ..DocFacts::default()
                },
                Some(doc),
            )),
            Plan::Skip => Ok((
                DocFacts {
                    objects: 1,
                    ..DocFacts::default()
                },
                None,
            )),
        })
        .collect();
    let mut facts = Vec::with_capacity(first.len());
    let mut later = Vec::new();
    for r in first {
        let (f, doc) = r?;
        facts.push(f);
        later.extend(doc);
    }
    let mut referenced = Referenced::default();
    for (w, _) in facts.iter().flat_map(|f| &f.workloads) {
        for r in &w.refs {
            match r.target {
                inventory::TargetKind::Secret => referenced.secrets.insert(r.name.clone()),
                inventory::TargetKind::ConfigMap => referenced.config_maps.insert(r.name.clone()),
            };
        }
    }
    // A ConfigMap whose text holds none of the names pods use cannot be one
    // of them (unless escapes or tags could spell a name).
    let names =
        aho_corasick::AhoCorasick::new(referenced.config_maps.iter().filter(|n| !n.is_empty()))
            .expect("names make an automaton");
    let maybe_named = |doc: &stream::Document| {
        doc.sniff.as_ref().is_none_or(|s| s.obfuscated)
            || (!referenced.config_maps.is_empty() && names.is_match(&text[doc.range.clone()]))
    };
    let second: Vec<Result<DocFacts<'a>, InputError>> = later
        .into_par_iter()
        .filter(|doc| maybe_named(doc))
        .map(|doc| {
            let mut f = read(parse(doc)?)?;
            // Counted as an object already.
            f.objects = 0;
            f.hooks = 0;
            Ok(f)
        })
        .collect();
    for r in second {
        facts.push(r?);
    }
    let mut sources = Vec::new();
    let mut workloads = Vec::new();
    let mut sites = Vec::new();
    let (mut objects, mut hooks) = (0, 0);
    for doc in facts {
        objects += doc.objects;
        hooks += doc.hooks;
        sources.extend(doc.sources);
        for (w, site) in doc.workloads {
            workloads.push(w);
            sites.push(site);
        }
    }
    // Stream order decides among sources of the same name, as before.
    sources.sort_by_key(|s| s.object.doc);
    sources.extend(extra(&referenced)?);
    let index = inventory::Index::new(&sources, options.namespace.as_deref());
    f(&Model {
        options,
        workloads: &workloads,
        sites: &sites,
        index: &index,
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
        let findings = policy::check(m.workloads, m.index, policy);
        let mut edits = Vec::new();
        for (w, site) in m.workloads.iter().zip(m.sites) {
            let Some(site) = site else { continue };
            let Some(desired) = stamp::desired(
                w,
                m.index,
                policy.stamp_config_maps,
                options.digest_key.as_deref(),
            ) else {
                continue;
            };
            let more =
                edit::annotations(text, site, &desired).map_err(|error| InputError::Edit {
                    doc: w.object.doc,
                    template: w.object.template.clone(),
                    workload: w.object.display(),
                    path: w.template_path.clone(),
                    error,
                })?;
            edits.extend(more);
        }
        Ok(Analysis {
            findings,
            edits,
            hooks_only: m.objects > 0 && m.hooks == m.objects,
        })
    })
}

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

/// The stream with our annotations spliced in.
pub fn apply(text: &str, analysis: &mut Analysis) -> String {
    edit::apply(text, &mut analysis.edits)
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
        let mut referenced = None;
        with_model_and_sources(
            &used.replace("binaryData: {k: not-base64!}", "data: {}"),
            &Options::default(),
            |r| {
                referenced = Some(r.config_maps.clone());
                Ok(Vec::new())
            },
            |m| {
                assert_eq!(
                    m.index
                        .find(inventory::TargetKind::ConfigMap, "used", None)
                        .map(|s| s.name.as_str()),
                    Some("used")
                );
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(
            referenced.unwrap().into_iter().collect::<Vec<_>>(),
            ["used"]
        );
    }
}
