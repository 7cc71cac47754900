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
pub mod explain;
pub mod flux;
pub mod format;
mod gvk;
pub mod helm;
mod inventory;
pub mod krm;
pub mod kustomization;
pub mod layout;
mod location;
pub mod lookup;
pub mod patch;
mod policy;
mod reference;
pub mod report;
mod rule;
mod secret_files;
mod splice;
mod stamp;
mod stream;
mod workload;
mod yaml;

pub use config::{
    FunctionConfig, Policy, PolicyError, RequiredSource, Selector, WorkloadKind, DEFAULT_POLICY,
};
pub use report::{Finding, Location, Place, PlaceKind, Severity};
pub use rule::{catalogue, Rule, RuleId, RuleInfo};
pub use secret_files::{read as read_secrets_from, FileError as SecretsFromError};

/// Settings that change what is computed (not how it is shown).
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The release namespace: where objects without `metadata.namespace` live.
    pub namespace: Option<String>,
    /// Key for `hmac-sha256` digests; plain `sha256` without one.
    pub digest_key: Option<Vec<u8>>,
    pub policy: config::Policy,
    /// Sources read from `--secrets-from` files: pods that read them are
    /// stamped as if they were in the stream (which wins when both have one).
    pub secrets_from: Vec<inventory::Source>,
    /// `--lookup`: where to fetch the objects pods use that neither the
    /// stream nor the files hold (below both in precedence).
    pub lookup: Option<std::sync::Arc<dyn lookup::Fetch>>,
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
pub(crate) struct Model<'s> {
    pub options: &'s Options,
    pub workloads: &'s [workload::Workload],
    pub sites: &'s [Option<yaml::Node<'s>>],
    pub index: &'s inventory::Index<'s>,
    /// What `--lookup` fetched for this stream, and what it could not.
    pub looked_up: &'s lookup::Fetched,
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

/// Parse a stream and hand its model to `f`. Each document's tree is read
/// and dropped as soon as it is parsed (in parallel), so memory holds the
/// facts, not the trees.
pub(crate) fn with_model<'a, R>(
    text: &'a str,
    options: &Options,
    f: impl FnOnce(&Model<'_>) -> Result<R, InputError>,
) -> Result<R, InputError> {
    let extra = &options.policy.workload_kinds;
    let read = |parsed: stream::Parsed<'a>| -> Result<DocFacts<'a>, InputError> {
        let objects = inventory::objects(std::slice::from_ref(&parsed));
        let mut facts = DocFacts {
            objects: objects.len(),
            hooks: objects.iter().filter(|o| o.is_helm_hook()).count(),
            ..DocFacts::default()
        };
        let wanted = objects.iter().any(|o| {
            inventory::is_source_kind(&o.gvk) || workload::is_workload_kind(&o.gvk, extra)
        });
        if !wanted {
            return Ok(facts);
        }
        let sources = inventory::sources(&objects).map_err(InputError::Content)?;
        let workloads = workload::find(&objects, extra)
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
    let docs = stream::parse_each(text, &read)?;
    let mut sources = Vec::new();
    let mut workloads = Vec::new();
    let mut sites = Vec::new();
    let (mut objects, mut hooks) = (0, 0);
    for doc in docs {
        objects += doc.objects;
        hooks += doc.hooks;
        sources.extend(doc.sources);
        for (w, site) in doc.workloads {
            workloads.push(w);
            sites.push(site);
        }
    }
    let mut index = inventory::Index::new(
        &sources,
        &options.secrets_from,
        options.namespace.as_deref(),
    );
    let looked_up = lookup::fetch_unresolved(options, &workloads, &index);
    index.add_below(&looked_up.sources);
    f(&Model {
        options,
        workloads: &workloads,
        sites: &sites,
        index: &index,
        looked_up: &looked_up,
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
        location::number_template_documents(text, &mut findings);
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
    }
}
