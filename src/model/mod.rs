//! The pipeline: one pass over a stream builds its [`Model`] (objects,
//! workloads, what they reference, the sources they read with their origins),
//! and every command is a function of it. Documents are split and their kinds
//! sniffed in one pass; only the ones that matter are parsed (in parallel),
//! and each tree is read and dropped at once, so memory holds the facts, not
//! the trees. Each document's chart template is numbered at the split, so
//! every object is read with its final place and a rule's finding is
//! complete when made. `diff` asks for each pod template's digest
//! ([`Options::template_digests`]) and so reads each input once.

use rayon::prelude::*;

use crate::kube::place::TemplateNumbers;
use crate::kube::plan::{plan, Plan, Referenced};
use crate::kube::{inventory, stamp, workload};
use crate::policy::finding::{Finding, Location};
use crate::policy::rule::{Rule, Severity};
use crate::policy::{check, config};
use crate::sources::files;
use crate::sources::lookup::{self, Fetch as _};
use crate::yaml::{stream, tree as yaml, write};

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
    pub secrets_from: files::Files,
    /// `--lookup`: where to fetch the objects pods use that neither the
    /// stream nor the files hold (below both in precedence).
    pub lookup: Option<std::sync::Arc<dyn lookup::Fetch>>,
    /// Read every document as Go would, also the ones nothing reads: a gate
    /// must refuse what `kubectl apply` refuses. A post-renderer reads only
    /// what it judges (Helm parses its output anyway).
    pub read_all: bool,
    /// Keep a digest of every workload's pod template
    /// ([`workload::Workload::template_digest`]), read while its tree is at
    /// hand: what `diff` compares. Off for render, which pays nothing.
    pub template_digests: bool,
    /// Helm may post-render the release's hooks in a call of their own (a
    /// Helm 4 plugin, whose SDK callers may choose the `separate`
    /// strategy): a stream of hooks only then says so where a hook uses an
    /// object that is not in it.
    pub hooks_called_apart: bool,
    /// Tell what each stamped pod template stands for
    /// ([`Analysis::stamped`]): render lists it for a person watching.
    /// Off where nobody will read it, which pays nothing per workload.
    pub list_stamps: bool,
}

impl Options {
    /// `--lookup`: check that digests will be keyed, read the kubeconfig (no
    /// request yet), and fetch from that cluster. The release namespace
    /// becomes the context's when `--namespace` was not given.
    pub fn enable_lookup(
        &mut self,
        timeout: std::time::Duration,
    ) -> Result<(), lookup::LookupError> {
        if self.digest_key.is_none() {
            return Err(lookup::LookupError::NeedsDigestKey);
        }
        let cluster = lookup::Cluster::from_environment(timeout)?;
        if self.namespace.is_none() {
            self.namespace = Some(cluster.default_namespace().to_string());
        }
        self.lookup = Some(std::sync::Arc::new(cluster));
        Ok(())
    }

    /// Where `--lookup` looks for objects without a namespace: `--namespace`,
    /// else the kubeconfig context's. `None` when lookup is off.
    pub fn lookup_namespace(&self) -> Option<&str> {
        let cluster = self.lookup.as_ref()?;
        Some(
            self.namespace
                .as_deref()
                .unwrap_or(cluster.default_namespace()),
        )
    }
}

/// The result of reading a stream: what is wrong with it and how to stamp it.
#[derive(Debug)]
pub struct Analysis {
    pub findings: Vec<Finding>,
    pub edits: Vec<write::Edit>,
    /// Each pod template the edits stamp, and what its stamps stand for
    /// (empty unless [`Options::list_stamps`]).
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
    #[error("{}, line {}: {}", stream::doc_name(.0.doc, .0.template.as_deref()), .0.span.line, .0)]
    Content(inventory::ContentError),
    #[error("{}: {} ({}): {}", stream::doc_name(*.doc, .template.as_deref()), .workload, .path, .error)]
    Edit {
        doc: usize,
        template: Option<String>,
        workload: String,
        path: String,
        error: write::map::EditError,
    },
    /// A ConfigMap of a `--secrets-from` file, read once a pod named it.
    #[error("{0}")]
    SecretsFrom(#[from] files::FileError),
}

impl InputError {
    /// The error as an `invalid-input` finding, for the formats that list
    /// findings by file and line (check's JSON and SARIF): where the input
    /// went wrong, and the error's own message, whose names are already
    /// checked ([`crate::trust::name`]) and which never holds a value.
    /// `None` when the error has no line to point at (a `--secrets-from`
    /// file that cannot be read at all, two files that disagree).
    pub fn finding(&self) -> Option<Finding> {
        let (location, workload, help) = match self {
            InputError::Parse(e) => (
                parse_location(e),
                None,
                "fix the YAML: kubectl refuses it as well",
            ),
            InputError::Content(e) => (
                content_location(e),
                None,
                "fix the value: the API server refuses it as well",
            ),
            InputError::Edit {
                doc,
                template,
                workload,
                error,
                ..
            } => (
                Location {
                    doc: *doc,
                    template: template.clone(),
                    line: error.line,
                    // The edit names the line only.
                    col: 1,
                    ..Location::default()
                },
                Some(workload.clone()),
                "write the pod template's metadata out in full, so that its stamps can be written",
            ),
            InputError::SecretsFrom(e) => {
                let (path, location) = match e {
                    files::FileError::Parse { path, error } => (path, parse_location(error)),
                    files::FileError::Content { path, error } => (path, content_location(error)),
                    _ => return None,
                };
                (
                    Location {
                        file: Some(path.clone()),
                        ..location
                    },
                    None,
                    "fix the --secrets-from file: kubectl refuses it as well",
                )
            }
        };
        Some(Finding {
            rule: Rule::InvalidInput.into(),
            severity: Rule::InvalidInput.severity(),
            location,
            workload,
            container: None,
            variable: None,
            message: self.to_string(),
            help: format!("{help}; nothing in this input was checked"),
            suppressed: None,
        })
    }
}

fn parse_location(e: &stream::ParseError) -> Location {
    let (line, col) = match &e.error {
        yaml::YamlError::Syntax { line, col, .. }
        | yaml::YamlError::DuplicateKey { line, col, .. } => (*line, *col),
    };
    Location {
        doc: e.doc,
        template: e.template.clone(),
        line,
        col,
        ..Location::default()
    }
}

fn content_location(e: &inventory::ContentError) -> Location {
    Location {
        doc: e.doc,
        template: e.template.clone(),
        line: e.span.line,
        col: e.span.col,
        ..Location::default()
    }
}

/// Everything known about one stream: plain facts about its sources and
/// workloads, and for each workload we may stamp, where in its pod template
/// the stamps go (`sites`, parallel to `workloads`).
pub(crate) struct Model<'s> {
    pub options: &'s Options,
    pub workloads: &'s [workload::Workload],
    pub sites: &'s [Option<write::map::Site>],
    pub index: &'s inventory::Index<'s>,
    /// What `--lookup` fetched for this stream, and what it could not.
    pub looked_up: &'s lookup::Fetched,
    /// How many objects the stream holds, and how many are Helm hooks.
    pub objects: usize,
    pub hooks: usize,
}

/// What one document contributes to the model.
#[derive(Default)]
struct DocFacts {
    objects: usize,
    hooks: usize,
    sources: Vec<inventory::Source>,
    workloads: Vec<(workload::Workload, Option<write::map::Site>)>,
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
    let docs = stream::split(text);
    // Every document's template is known now, before any is parsed: each
    // object is read with its final place.
    let numbers = TemplateNumbers::of(docs.iter().map(|d| d.source.as_deref()));
    let read = |parsed: stream::Parsed<'a>| -> Result<DocFacts, InputError> {
        let objects = inventory::objects(std::slice::from_ref(&parsed), &numbers);
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
                    .then(|| write::map::Site::of(text, found.template, stamp::is_ours));
                let mut facts = found.facts();
                if options.template_digests {
                    facts.template_digest = Some(Box::new(stamp::template_digest(found.template)));
                }
                (facts, site)
            })
            .collect();
        facts.sources = sources;
        facts.workloads = workloads;
        Ok(facts)
    };
    let parse = |doc: stream::Document| stream::parse_one(text, doc).map_err(InputError::from);
    // Each document's plan first: the documents to parse are as many as the
    // workloads at most (a list aside), which is the room the model's
    // lists take at once, instead of growing by copies that leave their
    // old room behind.
    let plans: Vec<Plan> = docs
        .par_iter()
        .map(|doc| plan(text, doc, Some(kinds)))
        .collect();
    let parsed = plans.iter().filter(|&&p| p == Plan::Parse).count();
    let mut sources = Vec::new();
    let mut workloads = Vec::with_capacity(parsed);
    let mut sites = Vec::with_capacity(parsed);
    let mut later = Vec::new();
    let (mut objects, mut hooks) = (0, 0);
    // In slices, each read in parallel and taken in stream order before the
    // next: the per-document results of a stream of a million small
    // workloads are never all held at once, only their facts.
    let mut docs = docs.into_iter().zip(plans);
    loop {
        let slice: Vec<(stream::Document, Plan)> = docs.by_ref().take(FIRST_PASS_SLICE).collect();
        if slice.is_empty() {
            break;
        }
        let first: Vec<Result<(DocFacts, Option<stream::Document>), InputError>> = slice
            .into_par_iter()
            .map(|(doc, plan)| {
                let unread = DocFacts {
                    objects: 1,
                    ..DocFacts::default()
                };
                match plan {
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
    let named: Vec<Result<DocFacts, InputError>> = later
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
    // Every object is read: the numbering (a word or three per document)
    // goes before the model grows any further.
    drop(numbers);
    for r in named {
        // Counted as an object already; a ConfigMap has no pod template.
        sources.extend(r?.sources);
    }
    // Stream order decides among sources of the same name.
    sources.sort_by_key(|s| s.object.at.doc);
    let named_in_files = options.secrets_from.named(&referenced)?;
    let mut index = inventory::Index::new(
        &sources,
        options.secrets_from.sources(),
        options.namespace.as_deref(),
    );
    index.add_below(&named_in_files);
    let looked_up = match (&options.lookup, options.lookup_namespace()) {
        (Some(cluster), Some(namespace)) => lookup::fetch_unresolved(
            cluster.as_ref(),
            namespace,
            options.policy.stamp_config_maps,
            &referenced,
            &index,
        ),
        _ => lookup::Fetched::default(),
    };
    index.add_below(&looked_up.sources);
    let result = f(&Model {
        options,
        workloads: &workloads,
        sites: &sites,
        index: &index,
        looked_up: &looked_up,
        objects,
        hooks,
    });
    // Freeing the facts of a workload-dense stream is a few frees per
    // workload: done by the pool, idle by now, while the caller goes on
    // (render writes its output).
    rayon::spawn(move || drop((workloads, sites)));
    result
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
        let findings = findings(m);
        // Each workload's stamps and edits depend on it and the index only:
        // computed in parallel, a slice at a time (see FIRST_PASS_SLICE), and
        // taken in stream order (the first error in the stream wins,
        // whichever thread found it).
        type Stamps = Option<(Vec<write::Edit>, Option<stamp::Stamped>)>;
        let per_workload = |(w, site): (&workload::Workload, &Option<write::map::Site>)| {
            let Some(site) = site else { return Ok(None) };
            let Some(desired) = stamp::desired(
                w,
                m.index,
                policy.stamp_config_maps,
                options.digest_key.as_deref(),
            ) else {
                return Ok(None);
            };
            let mut edits = site
                .edits(text, &desired)
                .map_err(|error| InputError::Edit {
                    doc: w.object.at.doc,
                    template: w.object.at.template.as_deref().map(str::to_string),
                    workload: w.object.display(),
                    path: w.template_path.to_string(),
                    error,
                })?;
            // Held until the output is written, one or more per stamped
            // workload: no spare capacity (a text that grew by pushes may
            // hold twice its length).
            for e in &mut edits {
                e.text.shrink_to_fit();
            }
            let stamped = options
                .list_stamps
                .then(|| stamp::stamped(w, m.index, policy.stamp_config_maps))
                .flatten();
            Ok(Some((edits, stamped)))
        };
        // One edit per stamped workload, most often.
        let mut edits = Vec::with_capacity(m.sites.iter().flatten().count());
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
    // Known before any rule runs: the stream is one of Helm's calls with
    // the hooks alone, so an object a hook uses is missing for that reason.
    let hooks_alone = m.options.hooks_called_apart && m.objects > 0 && m.hooks == m.objects;
    let mut findings = check::check(m.workloads, m.index, policy, hooks_alone);
    findings.extend(check::source_notes(
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
    write::apply(text, &mut analysis.edits)
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
    fn a_hook_alone_in_its_call_says_why_its_secret_is_missing() {
        let hook = format!("{HOOK}spec:\n  template:\n    spec:\n      containers:\n      - name: m\n        envFrom: [{{secretRef: {{name: db}}}}]\n");
        let unresolved = |text: &str, apart: bool| {
            let options = Options {
                hooks_called_apart: apart,
                ..Options::default()
            };
            let findings = analyze(text, &options).unwrap().findings;
            let f = findings
                .into_iter()
                .find(|f| f.rule == Rule::UnresolvedReference)
                .expect("the Secret is not in the stream");
            f.message.ends_with(check::HOOKS_ONLY_NOTE)
        };
        assert!(unresolved(&hook, true));
        assert!(!unresolved(&hook, false), "only where Helm may call so");
        assert!(
            !unresolved(&format!("{hook}---\n{SERVICE}"), true),
            "not hooks alone"
        );
    }

    #[test]
    fn bad_input_is_a_finding_at_its_document_and_line() {
        let shared = "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: x}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: &meta {name: web}\nspec:\n  template:\n    metadata: *meta\n    spec:\n      containers:\n      - name: web\n        envFrom: [{secretRef: {name: db}}]\n";
        let e = analyze(shared, &Options::default()).unwrap_err();
        assert!(matches!(e, InputError::Edit { .. }), "{e}");
        let f = e.finding().expect("an edit error names its line");
        assert_eq!(f.rule, Rule::InvalidInput);
        assert_eq!(f.severity, Severity::Error);
        assert_eq!((f.location.doc, f.location.line), (1, 11));
        assert_eq!(f.workload.as_deref(), Some("Deployment/web"));
        assert_eq!(f.message, e.to_string());
        assert!(f.help.ends_with("nothing in this input was checked"));

        let bad = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: s}\n  data: {k: 'not base64'}\n";
        let e = analyze(bad, &Options::default()).unwrap_err();
        let f = e.finding().unwrap();
        assert_eq!(
            (f.location.doc, f.location.line, f.location.col),
            (0, 7, 13)
        );
        assert_eq!(f.location.file, None, "the input itself");
        assert!(!f.message.contains("not base64"), "{}", f.message);
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
