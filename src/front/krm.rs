//! The kustomize front end: secret-rollout as a KRM function and as a legacy
//! exec plugin.
//!
//! As a KRM function (a container or exec function, kustomize or kpt) it
//! reads a `config.kubernetes.io/v1` `ResourceList` and writes it back with
//! its `items` stamped and this run's findings in `results`. As a legacy exec
//! plugin (`$KUSTOMIZE_PLUGIN_HOME/secret-rollout/v1/secretrollout/SecretRollout`)
//! it reads a plain stream and the plugin's config file, and writes the
//! stamped stream. Both take their settings from a config object:
//!
//! ```yaml
//! apiVersion: secret-rollout/v1
//! kind: SecretRollout
//! metadata: {name: stamp}
//! namespace: the0            # the release namespace (optional)
//! requiredSources: [...]     # any policy field: then this is the policy
//! ```
//!
//! or, for the function, a ConfigMap with `data.namespace` and `data.policy`
//! (a policy file as a string).
//!
//! As everywhere, nothing is re-serialized: stamps and `results` are spliced
//! into the input text, so every other byte (the orchestrator's
//! `config.kubernetes.io/*` and `internal.config.kubernetes.io/*` annotations
//! among them) comes back as it went in. Annotations are metadata, and
//! metadata never counts towards a digest.

use std::fmt::Write as _;

use serde_json::json;

use std::path::Path;

use crate::kube::gvk::Gvk;
use crate::kube::place::{INDEX_ANNOTATIONS, PATH_ANNOTATIONS};
use crate::model::{self, Options};
use crate::policy::config::{Policy, API_VERSION, FUNCTION_CONFIG_KIND as KIND};
use crate::policy::finding::Finding;
use crate::policy::rule::Severity;
use crate::report;
use crate::trust::name;
use crate::yaml::stream;
use crate::yaml::tree::{self as yaml, Node, Value};
use crate::yaml::write::content::Content;
use crate::yaml::write::layout::Dashes;
use crate::yaml::write::{self, lines, map, Edit};

const CONFIG_MAP_KEYS: [&str; 2] = ["namespace", "policy"];

const POLICY_FAILED: u8 = 1;
const BAD_INPUT: u8 = 2;

/// What to write and how to exit.
#[derive(Debug, PartialEq, Eq)]
pub struct Output {
    pub stdout: String,
    /// Diagnostics for a person, already formatted (complete lines).
    pub stderr: String,
    pub exit: u8,
}

impl Output {
    fn bad(message: String) -> Output {
        Output {
            stdout: String::new(),
            stderr: format!("secret-rollout: error: {message}\n"),
            exit: BAD_INPUT,
        }
    }
}

/// Settings a config object carries; `None` keeps what the command line said.
#[derive(Debug, Default)]
pub struct Settings {
    pub namespace: Option<String>,
    pub policy: Option<Policy>,
}

impl Settings {
    /// These settings over the command line's. A policy's `secretsFrom:`
    /// paths are read here, relative to the working directory (kustomize
    /// runs a legacy exec plugin in the kustomization's directory; a
    /// container function sees no files, and says so).
    pub fn over(self, base: &Options) -> Result<Options, String> {
        let mut options = Options {
            namespace: self.namespace.or_else(|| base.namespace.clone()),
            ..base.clone()
        };
        if let Some(policy) = self.policy {
            if !policy.secrets_from.is_empty() {
                let more =
                    crate::sources::files::read(&policy.secrets_from, options.namespace.as_deref())
                        .map_err(|e| format!("secretsFrom: {e}"))?;
                options.secrets_from.extend(more);
            }
            options.policy = policy;
        }
        Ok(options)
    }
}

/// A config object we cannot use; names the line.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ConfigError {
    pub line: usize,
    pub message: String,
}

fn config_error(node: &Node<'_>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        line: node.span.line,
        message: message.into(),
    }
}

/// Read settings from a function config, `config`, found in `text`: the
/// config file itself, or (`in_list`) the ResourceList whose
/// `functionConfig` it is. A `secret-rollout/v1` `SecretRollout` carries the
/// policy fields and `namespace`; a ConfigMap `data.namespace` and
/// `data.policy`, a policy file as a string.
///
/// Policy fields extend `base`, the command line's policy, as a policy
/// file extends the built-in profile: a config that only sets `namespace`
/// or `secretsFrom`, or one rule, keeps every other protection.
pub fn settings(
    config: &Node<'_>,
    text: &str,
    in_list: bool,
    base: &Policy,
) -> Result<Settings, ConfigError> {
    let api_version = config.get_str("apiVersion").unwrap_or("");
    match Gvk::new(api_version, config.get_str("kind").unwrap_or("")) {
        gvk if gvk == Gvk::new(API_VERSION, KIND) => {
            let c = Policy::function_config(text, in_list, Path::new(""), base).map_err(|e| {
                ConfigError {
                    line: e.line,
                    message: e.message,
                }
            })?;
            Ok(Settings {
                namespace: c.namespace,
                policy: c.policy,
            })
        }
        gvk if gvk == Gvk::new("v1", "ConfigMap") => {
            let Some(data) = config.get("data").filter(|d| !d.is_null()) else {
                return Ok(Settings::default());
            };
            let Some(map) = data.as_map() else {
                return Err(config_error(data, "ConfigMap data must be a mapping"));
            };
            for e in &map.entries {
                let key = e.key.as_str().unwrap_or("");
                if !CONFIG_MAP_KEYS.contains(&key) {
                    return Err(config_error(
                        &e.key,
                        format!(
                            "ConfigMap data: unknown key `{key}` (expected one of: {})",
                            CONFIG_MAP_KEYS.join(", ")
                        ),
                    ));
                }
            }
            let policy = match data.get("policy") {
                None => None,
                Some(p) => {
                    let text = p.as_str().ok_or_else(|| {
                        config_error(p, "data.policy must be a policy file as a string")
                    })?;
                    let policy = Policy::parse_over(text, Path::new(""), base).map_err(|e| ConfigError {
                        line: p.span.line,
                        message: format!(
                            "data.policy, line {} of the policy: {}",
                            e.line, e.message
                        ),
                    })?;
                    Some(policy)
                }
            };
            Ok(Settings {
                namespace: namespace(data.get("namespace"))?,
                policy,
            })
        }
        _ => Err(config_error(
            config,
            format!(
                "the function config must be apiVersion: {API_VERSION}, kind: {KIND} or a v1 ConfigMap \
                 (found apiVersion: {api_version:?}, kind: {:?})",
                config.get_str("kind").unwrap_or("")
            ),
        )),
    }
}

fn namespace(node: Option<&Node<'_>>) -> Result<Option<String>, ConfigError> {
    match node {
        None => Ok(None),
        Some(n) if n.is_null() => Ok(None),
        Some(n) => match n.as_str() {
            Some("") => Ok(None),
            Some(ns) => Ok(Some(ns.to_string())),
            None => Err(config_error(n, "namespace must be a string")),
        },
    }
}

fn parse(text: &str) -> Result<Vec<stream::Parsed<'_>>, stream::ParseError> {
    stream::parse_each(text, &Ok)
}

/// The index of the first document of a manifest stream that is a KRM
/// `ResourceList`, if one is. A stream is data, never configuration: `render`
/// refuses such a document rather than take it for a function call and
/// obey its `functionConfig` (only whoever runs the tool chooses the KRM
/// path: `secret-rollout krm`, the image's entry point, the legacy plugin's
/// name). Cheap for streams that never name the kind. A list spelled so
/// that this misses it (escapes, tags) is read as what kubectl reads it as,
/// its items: never as a function call either.
pub fn resource_list_in(text: &str) -> Option<usize> {
    // This runs over the whole stream before anything else does: one
    // search, in parallel, and most streams end here.
    stream::occurrences(text.as_bytes(), b"ResourceList").next()?;
    stream::split(text)
        .into_iter()
        // A sniffed kind is certain: only an unsniffed document, or one
        // whose kind is this, needs parsing.
        .filter(|d| {
            d.sniff
                .as_ref()
                .is_none_or(|s| &text[s.kind.clone()] == "ResourceList")
        })
        .filter(|d| text[d.range.clone()].contains("ResourceList"))
        .find_map(|doc| {
            let index = doc.index;
            let parsed = stream::parse_one(text, doc).ok()?;
            let root = parsed.root.as_ref()?;
            Gvk::of(root)
                .is_some_and(|g| is_list_kind(&g))
                .then_some(index)
        })
}

/// A KRM function's input and output (kustomize, kpt). The pipeline reads
/// its `items` as objects, as kubectl does for every `*List` kind; its
/// `functionConfig` and `results` are not objects.
fn is_list_kind(gvk: &Gvk<'_>) -> bool {
    gvk.is("config.kubernetes.io", "ResourceList") && matches!(gvk.version, "v1" | "v1beta1")
}

/// The one document that is a `ResourceList`.
fn resource_list<'p, 'a>(docs: &'p [stream::Parsed<'a>]) -> Result<&'p Node<'a>, String> {
    let mut roots = docs.iter().filter_map(|d| d.root.as_ref());
    let (Some(root), None) = (roots.next(), roots.next()) else {
        return Err(NOT_A_LIST.into());
    };
    if !Gvk::of(root).is_some_and(|g| is_list_kind(&g)) || root.as_map().is_none() {
        return Err(NOT_A_LIST.into());
    }
    match root.get("items") {
        Some(items) if items.as_seq().is_some() || items.is_null() => Ok(root),
        _ => Err("the ResourceList has no `items` list".into()),
    }
}

const NOT_A_LIST: &str = "expected one config.kubernetes.io/v1 ResourceList on stdin (a KRM \
                          function's input); to stamp a plain stream use `secret-rollout render`, \
                          or give the legacy exec plugin's config file";

/// Run as a KRM function: `input` is a ResourceList; `base` holds the
/// command line's settings, which the `functionConfig` overrides.
///
/// A policy error exits 1 with the `results` written and the items as they
/// came (nothing is vouched for); bad input or a bad config exits 2, with
/// one error result when the ResourceList itself could be read.
pub fn function(input: &str, base: &Options) -> Output {
    let docs = match parse(input) {
        Ok(docs) => docs,
        Err(e) => return Output::bad(format!("<stdin>: {e}")),
    };
    let root = match resource_list(&docs) {
        Ok(root) => root,
        Err(e) => return Output::bad(format!("<stdin>: {e}")),
    };
    let list = List::new(input, root);
    let refuse = |message: String| -> Output {
        let mut edits = list.results(&[KrmResult::new(message.clone(), "error")]);
        Output {
            stdout: write::apply(input, &mut edits),
            stderr: format!("secret-rollout: error: {message}\n"),
            exit: BAD_INPUT,
        }
    };
    let options = match root.get("functionConfig").filter(|c| !c.is_null()) {
        None => base.clone(),
        Some(config) => match settings(config, input, true, &base.policy) {
            Ok(s) => match s.over(base) {
                Ok(options) => options,
                Err(e) => return refuse(format!("<stdin>: functionConfig: {e}")),
            },
            Err(e) => return refuse(format!("<stdin>: functionConfig: {e}")),
        },
    };
    let notice = notice(&options.policy, &base.policy, "the functionConfig");
    let analysis = match model::analyze(input, &options) {
        Ok(a) => a,
        Err(e) => return refuse(format!("<stdin>: {e}")),
    };
    let failed = analysis.has_errors();
    let mut findings: Vec<Finding> = analysis
        .findings
        .into_iter()
        .filter(Finding::is_active)
        .collect();
    let results: Vec<KrmResult> = findings.iter().map(|f| list.result(f)).collect();
    // The one finding patched after analysis, and on purpose: the model
    // reads a ResourceList's items as it reads any list (kubectl's way), so
    // every place it gives is final for every format; only this front end's
    // stderr names an item no path annotation names ("ResourceList
    // items[3]"), by the same mapping of a position to an item that points
    // each `results` entry at its `resourceRef`. Naming items so in the
    // model would change `check`'s output for every `kind: List` file.
    for f in &mut findings {
        if f.location.template.is_none() {
            f.location.template = Some(list.describe(list.item_of(&f.location)));
        }
    }
    let mut edits = if failed { Vec::new() } else { analysis.edits };
    edits.extend(list.results(&results));
    Output {
        stdout: write::apply(input, &mut edits),
        stderr: notice + &diagnostics(&findings, failed),
        exit: if failed { POLICY_FAILED } else { 0 },
    }
}

/// What a config's policy has off of the built-in protections that the
/// command line's (`base`) had on: said once, before the findings.
fn notice(policy: &Policy, base: &Policy, source: &str) -> String {
    if policy.protections_off() == base.protections_off() {
        return String::new();
    }
    policy.protections_notice(source).unwrap_or_default()
}

/// Run as a legacy exec plugin: `config` is the plugin's config file (named
/// `config_name` in messages), `input` the stream kustomize hands it.
pub fn legacy(config_name: &str, config: &str, input: &str, base: &Options) -> Output {
    let root = match yaml::parse_document(config, 0, 1) {
        Ok(Some(root)) => root,
        Ok(None) => return Output::bad(format!("{config_name}: the plugin config is empty")),
        Err(e) => return Output::bad(format!("{config_name}: {e}")),
    };
    if root.get_str("kind") == Some("ConfigMap") {
        return Output::bad(format!(
            "{config_name}: a legacy exec plugin's config is a {API_VERSION} {KIND}; kustomize \
             would look for a ConfigMap plugin"
        ));
    }
    let options = match settings(&root, config, false, &base.policy) {
        Ok(s) => match s.over(base) {
            Ok(options) => options,
            Err(e) => return Output::bad(format!("{config_name}: {e}")),
        },
        Err(e) => return Output::bad(format!("{config_name}: {e}")),
    };
    let notice = notice(&options.policy, &base.policy, config_name);
    let mut analysis = match model::analyze(input, &options) {
        Ok(a) => a,
        Err(e) => return Output::bad(format!("<stdin>: {e}")),
    };
    let failed = analysis.has_errors();
    let findings: Vec<Finding> = analysis
        .findings
        .iter()
        .filter(|f| f.is_active())
        .cloned()
        .collect();
    let stderr = notice + &diagnostics(&findings, failed);
    if failed {
        return Output {
            stdout: String::new(),
            stderr,
            exit: POLICY_FAILED,
        };
    }
    Output {
        stdout: model::apply(input, &mut analysis),
        stderr,
        exit: 0,
    }
}

/// The same text `render` shows: the findings, then a summary line.
fn diagnostics(findings: &[Finding], failed: bool) -> String {
    if findings.is_empty() {
        return String::new();
    }
    let mut text = report::text(findings, "<stdin>");
    let summary = report::summary(findings);
    if failed {
        let _ = writeln!(text, "secret-rollout: refusing to render: {summary}");
    } else {
        let _ = writeln!(text, "secret-rollout: rendered with {summary}");
    }
    text
}

/// The executable name that makes the binary a KRM function (for an exec
/// function, whose orchestrator gives it no arguments): a link or copy of
/// secret-rollout under this name runs `secret-rollout krm`.
pub const FUNCTION_EXECUTABLE: &str = "secret-rollout-krm";

/// When kustomize runs us as `SecretRollout CONFIG [ARGS…]` (a legacy exec
/// plugin is the binary itself under that name), run `secret-rollout krm
/// CONFIG [ARGS…]`; as `secret-rollout-krm [ARGS…]`, `secret-rollout krm
/// [ARGS…]`. The name is chosen by whoever installs the binary, never by
/// the input: these and the `krm` subcommand are the only ways in to the
/// KRM path.
pub fn plugin_args(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let invoked_as_plugin = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .is_some_and(|name| name == KIND || name == FUNCTION_EXECUTABLE);
    if !invoked_as_plugin {
        return args;
    }
    let mut out = Vec::with_capacity(args.len() + 1);
    out.push("secret-rollout".into());
    out.push("krm".into());
    out.extend(args.into_iter().skip(1));
    out
}

/// The ResourceList being answered: where its items are, and where its
/// `results` go.
struct List<'t, 'a> {
    text: &'t str,
    root: &'t Node<'a>,
    items: &'t [Node<'a>],
    /// Byte offset of the start of each line, to turn a finding's line and
    /// column back into an offset.
    lines: Vec<usize>,
}

impl<'t, 'a> List<'t, 'a> {
    fn new(text: &'t str, root: &'t Node<'a>) -> Self {
        let items = root.get("items").and_then(Node::as_seq).unwrap_or_default();
        List {
            text,
            root,
            items,
            // Lines as the parser counts them (Go's).
            lines: lines::line_starts(text),
        }
    }

    fn offset(&self, location: &crate::policy::finding::Location) -> usize {
        let Some(&start) = self.lines.get(location.line.saturating_sub(1)) else {
            return self.text.len();
        };
        let line = &self.text[start..];
        start
            + line
                .char_indices()
                .nth(location.col.saturating_sub(1))
                .map_or(line.len(), |(i, _)| i)
    }

    /// The index of the item a finding points into.
    fn item_of(&self, location: &crate::policy::finding::Location) -> Option<usize> {
        let at = self.offset(location);
        last_starting_at_or_before(self.items, at)
    }

    fn describe(&self, item: Option<usize>) -> String {
        let Some(i) = item else {
            return "the ResourceList".into();
        };
        match annotation(&self.items[i], &PATH_ANNOTATIONS) {
            Some(path) => format!("{path} (ResourceList items[{i}])"),
            None => format!("ResourceList items[{i}]"),
        }
    }

    /// A finding as a KRM function result.
    fn result(&self, f: &Finding) -> KrmResult {
        let message = if f.help.is_empty() {
            f.message.clone()
        } else {
            format!("{}; fix: {}", f.message, f.help)
        };
        let severity = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "info",
        };
        let mut r = KrmResult::new(message, severity);
        if let Some(i) = self.item_of(&f.location) {
            let item = &self.items[i];
            let metadata = item.get("metadata");
            // The item's fields are the stream's: each reaches the result
            // (which kustomize prints) as a checked name only.
            fn shown(text: Option<&str>) -> std::borrow::Cow<'_, str> {
                text.map(name::shown).unwrap_or_default()
            }
            let mut reference = vec![
                ("apiVersion", shown(item.get_str("apiVersion"))),
                ("kind", shown(item.get_str("kind"))),
                ("name", shown(metadata.and_then(|m| m.get_str("name")))),
            ];
            if let Some(ns) = metadata.and_then(|m| m.get_str("namespace")) {
                reference.push(("namespace", name::shown(ns)));
            }
            let reference: Vec<(&str, &str)> = reference.iter().map(|(k, v)| (*k, &**v)).collect();
            r.push_map("resourceRef", &reference);
            let path = field_path(item, self.offset(&f.location));
            if !path.is_empty() {
                r.push_map("field", &[("path", &path)]);
            }
            if let Some(path) = annotation(item, &PATH_ANNOTATIONS) {
                let mut file = vec![("path", Content::quoted(path))];
                if let Some(index) =
                    annotation(item, &INDEX_ANNOTATIONS).and_then(|i| i.trim().parse::<u64>().ok())
                {
                    file.push(("index", Content::Int(index)));
                }
                r.0.push(("file", Content::map(file)));
            }
        }
        let rule = f.rule.to_string();
        let mut tags = vec![("rule", rule.as_str())];
        for (key, value) in [
            ("workload", &f.workload),
            ("container", &f.container),
            ("variable", &f.variable),
        ] {
            if let Some(v) = value {
                tags.push((key, v));
            }
        }
        r.push_map("tags", &tags);
        r
    }

    /// Edits that make the ResourceList's `results` exactly `results`: the
    /// field is output only, so whatever an earlier step left there goes.
    fn results(&self, results: &[KrmResult]) -> Vec<Edit> {
        let value = (!results.is_empty())
            .then(|| Content::Seq(results.iter().map(KrmResult::content).collect()));
        // At the key's column, as kustomize writes the list it hands us.
        map::put(
            self.text,
            self.root,
            "results",
            value.as_ref(),
            Dashes::AtKey,
        )
    }
}

/// A path or index annotation of an item, for `results` and messages: only
/// when it is a name (see [`crate::trust::name`]).
fn annotation<'n>(item: &'n Node<'_>, keys: &[&str]) -> Option<&'n str> {
    let annotations = item.path(&["metadata", "annotations"])?;
    keys.iter()
        .find_map(|k| annotations.get_str(k))
        .and_then(crate::trust::name::checked)
}

/// The last of `nodes` (in text order) that starts at or before `at`.
fn last_starting_at_or_before(nodes: &[Node<'_>], at: usize) -> Option<usize> {
    let n = nodes.partition_point(|n| n.span.start <= at);
    n.checked_sub(1)
}

/// The path from `node` to the outermost node that starts at `at`, as in
/// `spec.template.spec.containers[0].env[2]`; empty when that is `node`.
fn field_path(node: &Node<'_>, at: usize) -> String {
    let mut path = String::new();
    let mut node = node;
    loop {
        match &node.value {
            // A block sequence starts where its first item does: go on to the item.
            Value::Seq(items)
                if node.span.start != at || items.first().is_some_and(|i| i.span.start == at) =>
            {
                let Some(i) = last_starting_at_or_before(items, at) else {
                    break;
                };
                let _ = write!(path, "[{i}]");
                node = &items[i];
            }
            _ if node.span.start == at => break,
            Value::Map(m) => {
                let n = m.entries.partition_point(|e| e.key.span.start <= at);
                let Some(e) = n.checked_sub(1).map(|i| &m.entries[i]) else {
                    break;
                };
                push_key(&mut path, e.key.as_str().unwrap_or(""));
                if at < e.value.span.start {
                    break; // on the key itself
                }
                node = &e.value;
            }
            Value::Seq(_) | Value::Scalar(_) => break,
        }
    }
    path
}

fn push_key(path: &mut String, key: &str) {
    let plain = !key.is_empty() && !key.contains(['.', '[', ']', '"', ' ']);
    if plain {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        let _ = write!(path, "[{}]", json!(key));
    }
}

/// One entry of `results`, fields in the order the KRM functions spec
/// lists them. Strings are always quoted (JSON strings, in block and flow
/// form alike): no message can turn into anything but a string.
struct KrmResult(Vec<(&'static str, Content)>);

impl KrmResult {
    fn new(message: String, severity: &str) -> Self {
        KrmResult(vec![
            ("message", Content::quoted(message)),
            ("severity", Content::quoted(severity)),
        ])
    }

    fn push_map(&mut self, key: &'static str, entries: &[(&'static str, &str)]) {
        let entries = entries.iter().map(|(k, v)| (*k, Content::quoted(*v)));
        self.0.push((key, Content::map(entries)));
    }

    fn content(&self) -> Content {
        Content::map(self.0.iter().cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value as Json;

    fn opts() -> Options {
        Options::default()
    }

    const LIST: &str = "\
apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: v1
  kind: Secret
  metadata:
    name: db
    annotations:
      config.kubernetes.io/index: '0'
      internal.config.kubernetes.io/index: '0'
      internal.config.kubernetes.io/path: 'db.yaml'
  stringData: {password: hunter2}
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: web
    namespace: prod
    annotations:
      internal.config.kubernetes.io/path: 'web.yaml'
      internal.config.kubernetes.io/index: '3'
  spec:
    template:
      spec:
        containers:
        - name: web
          envFrom: [{secretRef: {name: db}}]
          env:
          - name: API_TOKEN
            value: plain
";

    #[test]
    fn items_are_stamped_and_results_name_the_item_field_and_file() {
        let out = function(LIST, &opts());
        assert_eq!(out.exit, 0, "{}", out.stderr);
        let (before, after) = out.stdout.split_at(LIST.len());
        assert_eq!(
            before, LIST,
            "the items' text comes back as it was, stamps appended"
        );
        assert!(after.starts_with("      metadata:\n        annotations:\n          secret-rollout/secret.db: \"sha256:"), "{after}");
        let results = &out.stdout[out.stdout.find("\nresults:\n").expect("results") + 1..];
        // The warning, and the note that the Secret's digest has no key.
        assert_eq!(
            results.lines().filter(|l| l.starts_with("- ")).count(),
            2,
            "{results}"
        );
        assert!(
            results.contains("    rule: \"unkeyed-digest\"\n"),
            "{results}"
        );
        assert!(results.contains("  severity: \"warning\"\n"), "{results}");
        assert!(results.contains("  resourceRef:\n    apiVersion: \"apps/v1\"\n    kind: \"Deployment\"\n    name: \"web\"\n    namespace: \"prod\"\n"), "{results}");
        assert!(
            results.contains("  field:\n    path: \"spec.template.spec.containers[0].env[0]\"\n"),
            "{results}"
        );
        assert!(
            results.contains("  file:\n    path: \"web.yaml\"\n    index: 3\n"),
            "{results}"
        );
        assert!(!out.stdout.contains("hunter2\"") && !results.contains("plain\""));
        assert!(
            out.stderr.contains("warning[sensitive-env-plain-value]"),
            "{}",
            out.stderr
        );
    }

    #[test]
    fn a_second_run_changes_nothing() {
        let once = function(LIST, &opts());
        let twice = function(&once.stdout, &opts());
        assert_eq!(twice, once);
    }

    #[test]
    fn a_policy_error_exits_1_with_results_and_unstamped_items() {
        let config = "\
functionConfig:
  apiVersion: secret-rollout/v1
  kind: SecretRollout
  metadata: {name: x}
  sensitiveNames: [TOKEN]
  rules: {sensitive-env-plain-value: error}
";
        let input = format!("{LIST}{config}");
        let out = function(&input, &opts());
        assert_eq!(out.exit, 1);
        assert!(
            out.stdout.starts_with(&input),
            "items come back as they were"
        );
        assert!(out.stdout[input.len()..].starts_with("results:\n- message: "));
        assert!(out.stdout.contains("  severity: \"error\"\n"));
        assert!(
            out.stderr.contains("refusing to render: 1 error"),
            "{}",
            out.stderr
        );
    }

    #[test]
    fn json_input_gets_json_results() {
        let input = r#"{"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"}, "spec": {"template": {"spec": {"containers": [{"name": "c", "env": [{"name": "DB_PASSWORD", "value": "x"}]}]}}}}]}"#;
        let out = function(input, &opts());
        assert_eq!(out.exit, 0, "{}", out.stderr);
        let v: Json = serde_json::from_str(&out.stdout).expect("still JSON");
        assert_eq!(v["results"][0]["severity"], "warning");
        assert_eq!(
            v["results"][0]["field"]["path"],
            "spec.template.spec.containers[0].env[0]"
        );
        assert_eq!(
            v["items"],
            serde_json::from_str::<Json>(input).unwrap()["items"]
        );
    }

    #[test]
    fn line_ends_and_a_missing_final_newline_survive_two_runs() {
        for input in [
            LIST.trim_end().to_string(),
            LIST.replace('\n', "\r\n"),
            LIST.trim_end().replace('\n', "\r\n"),
        ] {
            let once = function(&input, &opts());
            assert_eq!(once.exit, 0, "{}", once.stderr);
            assert_eq!(once.stdout.ends_with('\n'), input.ends_with('\n'));
            if input.contains("\r\n") {
                let lines = once.stdout.matches('\n').count();
                assert_eq!(
                    once.stdout.matches("\r\n").count(),
                    lines,
                    "every line ends in CRLF"
                );
            }
            assert!(once.stdout.contains("results:"));
            let twice = function(&once.stdout, &opts());
            assert_eq!(twice.stdout, once.stdout, "{input:?}");
        }
    }

    #[test]
    fn old_results_are_replaced() {
        let input = format!("{LIST}results:\n- message: old\n  severity: error\n");
        let out = function(&input, &opts());
        assert!(!out.stdout.contains("old"), "{}", out.stdout);
        assert_eq!(out.stdout.matches("results:").count(), 1);
        let clean = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nresults: [{message: old}]\nfunctionConfig: null\n";
        let out = function(clean, &opts());
        assert_eq!(out.stdout, "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig: null\n");
    }

    fn settings_of(text: &str) -> Result<Settings, ConfigError> {
        let node = yaml::parse_document(text, 0, 1).unwrap().unwrap();
        settings(&node, text, false, &Policy::default())
    }

    #[test]
    fn function_config_sets_namespace_and_policy() {
        let s = settings_of(
            "apiVersion: secret-rollout/v1\nkind: SecretRollout\nmetadata: {name: x}\nnamespace: the0\nsensitiveNames: [FOO]\n",
        )
        .unwrap();
        assert_eq!(s.namespace.as_deref(), Some("the0"));
        let policy = s.policy.expect("policy fields make a policy");
        assert!(policy.looks_sensitive("MY_FOO"));
        assert!(
            policy.looks_sensitive("PASSWORD"),
            "it extends the built-in policy"
        );
        assert_eq!(policy.required_sources[0].env, "THE0_ADMIN_PASSWORD");
        let none = settings_of(
            "apiVersion: secret-rollout/v1\nkind: SecretRollout\nextends: none\nsensitiveNames: [FOO]\n",
        )
        .unwrap()
        .policy
        .unwrap();
        assert!(!none.looks_sensitive("PASSWORD") && none.required_sources.is_empty());

        let only_ns =
            settings_of("apiVersion: secret-rollout/v1\nkind: SecretRollout\nnamespace: a\n")
                .unwrap();
        assert!(
            only_ns.policy.is_none(),
            "no policy fields: the built-in one"
        );

        let e = settings_of("apiVersion: secret-rollout/v1\nkind: SecretRollout\nnamespaces: a\n")
            .unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("unknown field `namespaces`"), "{e}");
    }

    #[test]
    fn config_map_form() {
        let s = settings_of(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  namespace: the0\n  policy: |\n    apiVersion: secret-rollout/v1\n    sensitiveNames: [FOO]\n",
        )
        .unwrap();
        assert_eq!(s.namespace.as_deref(), Some("the0"));
        let policy = s.policy.unwrap();
        assert!(policy.looks_sensitive("FOO") && policy.looks_sensitive("PASSWORD"));
        let bad =
            settings_of("apiVersion: v1\nkind: ConfigMap\ndata: {namespaec: a}\n").unwrap_err();
        assert!(bad.message.contains("unknown key `namespaec`"));
    }

    #[test]
    fn a_bad_function_config_is_an_error_result() {
        let input = format!("{LIST}functionConfig: {{apiVersion: v1, kind: Secret}}\n");
        let out = function(&input, &opts());
        assert_eq!(out.exit, 2);
        assert!(out.stdout.starts_with(&input));
        assert!(
            out.stdout
                .contains("functionConfig: line 30: the function config must be"),
            "{}",
            out.stdout
        );
    }

    #[test]
    fn not_a_resource_list() {
        assert_eq!(resource_list_in(LIST), Some(0));
        assert_eq!(
            resource_list_in("apiVersion: v1\nkind: List\nitems: []\n"),
            None
        );
        let second = format!("apiVersion: v1\nkind: List\nitems: []\n---\n{LIST}");
        assert_eq!(resource_list_in(&second), Some(1));
        assert_eq!(
            resource_list_in("{\"apiVersion\": \"config.kubernetes.io/v1\", \"kind\": \"ResourceList\", \"items\": []}"),
            Some(0)
        );
        let out = function("apiVersion: v1\nkind: List\nitems: []\n", &opts());
        assert_eq!((out.exit, out.stdout.as_str()), (2, ""));
        assert!(out
            .stderr
            .contains("expected one config.kubernetes.io/v1 ResourceList"));
    }

    #[test]
    fn legacy_plugin_is_run_as_krm_with_the_config_file() {
        let args = |v: &[&str]| v.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        assert_eq!(
            plugin_args(args(&[
                "/home/u/.config/kustomize/plugin/secret-rollout/v1/secretrollout/SecretRollout",
                "/tmp/cfg",
                "--namespace=a"
            ])),
            args(&["secret-rollout", "krm", "/tmp/cfg", "--namespace=a"])
        );
        assert_eq!(
            plugin_args(args(&["secret-rollout", "check"])),
            args(&["secret-rollout", "check"])
        );
        assert_eq!(
            plugin_args(args(&["/usr/local/bin/secret-rollout-krm"])),
            args(&["secret-rollout", "krm"])
        );
    }

    #[test]
    fn field_paths_quote_keys_with_dots() {
        let text = "metadata:\n  annotations:\n    a.b/c: x\n";
        let root = yaml::parse_document(text, 0, 1).unwrap().unwrap();
        assert_eq!(
            field_path(&root, text.find('x').unwrap()),
            "metadata.annotations[\"a.b/c\"]"
        );
        assert_eq!(field_path(&root, 0), "");
    }
}
