//! The policy: which names and values count as sensitive, which env vars must
//! come from Secrets, rule severities, extra workload kinds.
//!
//! The built-in profile is `default-policy.yaml`, parsed like any user file,
//! so `policy --print-default` shows exactly what runs by default.
//!
//! A policy file extends the policy below it (the built-in profile, or for
//! a kustomize function config the command line's policy): it changes what
//! it names and inherits the rest, so a file that only adds a setting can
//! never drop a protection by leaving it out. Lists add to the inherited
//! ones (an entry with the id or name of an inherited one replaces that
//! entry), `rules:` overrides rule by rule, a scalar replaces. Starting from
//! nothing must be said in the file: `extends: none`.
//!
//! A policy file is read in two steps: serde (with serde-saphyr, which keeps
//! every value's line) reads its shape into the `raw` types, refusing unknown
//! fields and wrong types; then [`Policy::parse`] checks what serde cannot
//! (regular expressions, patterns, rule ids, empty selectors) and names the
//! line of the offending value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use regex::Regex;
use serde_saphyr::Spanned;

use crate::kube::gvk::ApiGroup;
pub use crate::kube::workload::WorkloadKind;
use crate::policy::rule::RuleId;
use crate::policy::rule::Severity;

pub const DEFAULT_POLICY: &str = include_str!("default-policy.yaml");

#[derive(Clone, Debug)]
pub struct Policy {
    /// Whether this policy was started from nothing (`extends: none` in
    /// the file or one below it) rather than from the built-in profile.
    pub from_nothing: bool,
    /// Upper-case substrings of env names that mark them sensitive.
    pub sensitive_names: Vec<String>,
    pub sensitive_values: Vec<Regex>,
    pub required_sources: Vec<RequiredSource>,
    /// Overrides of default severities; `None` turns a rule off.
    pub levels: BTreeMap<RuleId, Option<Severity>>,
    /// Rules no `secret-rollout/ignore` annotation can silence: naming one
    /// there is an error of its own, and the finding stays.
    pub unsuppressible: Vec<RuleId>,
    pub workload_kinds: Vec<WorkloadKind>,
    pub stamp_config_maps: bool,
    /// Rotation advice for `diff`: the secrets of external services.
    pub rotation: Vec<RotationGroup>,
    /// Files and directories holding Secrets that are not in the render
    /// (`secretsFrom:`), resolved against the policy file's directory and
    /// checked to stay inside it; read like `--secrets-from` paths. Where to
    /// read is not policy: these are the last file's own, never inherited.
    pub secrets_from: Vec<PathBuf>,
    /// `guard:`: exact names, quiet names, value formats, where Secrets go.
    pub guard: crate::policy::sensitivity::Guard,
}

/// "`env` must come from a Secret", generalising the0's admin-password rule.
#[derive(Clone, Debug)]
pub struct RequiredSource {
    /// Findings are `<id>-not-from-secret` and `<id>-missing`.
    pub id: String,
    pub env: String,
    /// Where the rule applies; everywhere when empty.
    pub workloads: Vec<Selector>,
    /// Workloads that must define the variable.
    pub required_in: Vec<Selector>,
    pub help: String,
}

impl RequiredSource {
    pub fn not_from_secret(&self) -> RuleId {
        RuleId::NotFromSecret(self.id.clone())
    }

    pub fn missing(&self) -> RuleId {
        RuleId::Missing(self.id.clone())
    }
}

/// The secrets of one external service (a database, object storage, …):
/// rotating those of several services in one change makes `diff` warn, and
/// a group's `note` is shown whenever one of its secrets rotates.
#[derive(Clone, Debug)]
pub struct RotationGroup {
    pub name: String,
    /// Secret key or env var name patterns, matched case-insensitively with
    /// `-` read as `_`.
    pub keys: Patterns,
    pub note: Option<String>,
}

impl RotationGroup {
    /// Whether a Secret key, or the env var that reads it, is this group's.
    pub fn matches(&self, name: &str) -> bool {
        self.keys.is_match(normalize(name))
    }
}

/// How sensitive names and rotation keys compare: upper case, `-` as `_`.
fn normalize(name: &str) -> String {
    name.to_ascii_uppercase().replace('-', "_")
}

/// Glob patterns, compiled, with the text they were written as (for
/// `policy --print-effective`).
#[derive(Clone, Debug, Default)]
pub struct Patterns {
    set: GlobSet,
    pub text: Vec<String>,
}

impl Patterns {
    pub fn is_match(&self, name: impl AsRef<Path>) -> bool {
        self.set.is_match(name)
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

/// Matches a workload when every given field matches; lists match any item.
#[derive(Clone, Debug, Default)]
pub struct Selector {
    pub kinds: Vec<String>,
    /// Name patterns (`*` matches any run of characters).
    pub names: Patterns,
    pub labels: BTreeMap<String, String>,
    /// Container image patterns, as for names.
    pub images: Patterns,
}

/// The built-in profile, parsed once.
static BUILT_IN: std::sync::LazyLock<Policy> = std::sync::LazyLock::new(|| {
    let raw: raw::Policy = raw::read(DEFAULT_POLICY).expect("the built-in policy reads");
    let policy = Policy::from_raw(raw, Path::new(""), &Policy::nothing())
        .expect("the built-in policy is valid");
    // It says `extends: none` for the copy a user saves; it is the base.
    Policy {
        from_nothing: false,
        ..policy
    }
});

/// The built-in profile.
impl Default for Policy {
    fn default() -> Self {
        BUILT_IN.clone()
    }
}

/// A policy file we cannot use; names the line.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct PolicyError {
    pub line: usize,
    pub message: String,
    /// What rejected the value, when it was not the policy's own rules (a
    /// regular expression or pattern that does not compile).
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl PolicyError {
    fn at(at: &serde_saphyr::Location, message: impl Into<String>) -> Self {
        PolicyError {
            line: line_of(at),
            message: message.into(),
            source: None,
        }
    }

    fn caused_by(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
}

fn line_of(at: &serde_saphyr::Location) -> usize {
    usize::try_from(at.line()).unwrap_or(usize::MAX).max(1)
}

type Located<T> = Spanned<T>;

/// `extends:` values: the policy below the file (the default), or nothing.
pub const EXTENDS_DEFAULT: &str = "default";
pub const EXTENDS_NONE: &str = "none";

/// The `apiVersion` of a policy file and of a kustomize function config.
pub const API_VERSION: &str = "secret-rollout/v1";

/// The kind of a kustomize function config (see `front::krm`). kustomize
/// finds the legacy exec plugin for `secret-rollout/v1` `SecretRollout` at
/// `secret-rollout/v1/secretrollout/SecretRollout` under its plugin home,
/// and runs it with the config file as argv\[1\].
pub const FUNCTION_CONFIG_KIND: &str = "SecretRollout";

/// What a function config sets; `None` leaves the setting as it was.
#[derive(Debug)]
pub struct FunctionConfig {
    pub namespace: Option<String>,
    pub policy: Option<Policy>,
}

impl Policy {
    /// The policy a file with `extends: none` starts from: no sensitive
    /// names, no required sources, every rule at its default severity.
    pub fn nothing() -> Policy {
        Policy {
            from_nothing: true,
            sensitive_names: Vec::new(),
            sensitive_values: Vec::new(),
            required_sources: Vec::new(),
            levels: BTreeMap::new(),
            unsuppressible: Vec::new(),
            workload_kinds: Vec::new(),
            stamp_config_maps: true,
            rotation: Vec::new(),
            secrets_from: Vec::new(),
            guard: crate::policy::sensitivity::Guard {
                formats: false,
                entropy: false,
                ..crate::policy::sensitivity::Guard::default()
            },
        }
    }

    /// Read a policy file's text over the built-in profile (see the module
    /// comment). Relative paths in it are resolved against `dir`, the
    /// directory of the file.
    pub fn parse(text: &str, dir: &Path) -> Result<Policy, PolicyError> {
        Policy::parse_over(text, dir, &Policy::default())
    }

    /// Read a policy file's text over `base`, the policy in force without
    /// it; `extends: none` in the file starts from nothing instead.
    pub fn parse_over(text: &str, dir: &Path, base: &Policy) -> Result<Policy, PolicyError> {
        let raw: raw::Policy = raw::read(text)?;
        if raw.is_empty() {
            let top = serde_saphyr::Location::UNKNOWN;
            return Err(PolicyError::at(&top, "the policy is empty"));
        }
        Policy::from_raw(raw, dir, base)
    }

    /// What a kustomize function config of kind `SecretRollout` sets: the
    /// fields of a policy, next to its `metadata` and the release
    /// `namespace`. `text` is the config itself, or (`in_list`) the
    /// ResourceList whose `functionConfig` it is, so that errors name lines
    /// of the text the user has. Its policy fields extend `base`, as a
    /// policy file's do (`namespace` and `secretsFrom` are not policy and
    /// change none of it). Without a policy field, `policy` is `None`: the
    /// config leaves the policy alone.
    pub fn function_config(
        text: &str,
        in_list: bool,
        dir: &Path,
        base: &Policy,
    ) -> Result<FunctionConfig, PolicyError> {
        let config = if in_list {
            let list: raw::InList = raw::read(text)?;
            list.function_config.unwrap_or_default()
        } else {
            raw::read(text)?
        };
        match &config.kind {
            Some(k) if k.value == FUNCTION_CONFIG_KIND => {}
            Some(k) => {
                return Err(PolicyError::at(
                    &k.referenced,
                    format!("kind must be {FUNCTION_CONFIG_KIND}"),
                ))
            }
            None => {
                return Err(PolicyError::at(
                    &serde_saphyr::Location::UNKNOWN,
                    format!("kind: {FUNCTION_CONFIG_KIND} is required"),
                ))
            }
        }
        let namespace = config
            .namespace
            .as_ref()
            .map(|n| n.value.clone())
            .filter(|n| !n.is_empty());
        let (raw, has_policy) = config.into_policy();
        let policy = if has_policy {
            Some(Policy::from_raw(raw, dir, base)?)
        } else {
            None
        };
        Ok(FunctionConfig { namespace, policy })
    }

    /// The policy `raw` makes of `base` (or of nothing, with `extends:
    /// none`): see the module comment for how each field combines.
    fn from_raw(raw: raw::Policy, dir: &Path, base: &Policy) -> Result<Policy, PolicyError> {
        let top = serde_saphyr::Location::UNKNOWN;
        match &raw.api_version {
            Some(v) if v.value == API_VERSION => {}
            Some(v) => {
                return Err(PolicyError::at(
                    &v.referenced,
                    format!("apiVersion must be {API_VERSION}"),
                ))
            }
            None => {
                return Err(PolicyError::at(
                    &top,
                    format!("apiVersion: {API_VERSION} is required"),
                ))
            }
        }
        if let Some(kind) = raw.kind.as_ref().filter(|k| k.value != "Policy") {
            return Err(PolicyError::at(&kind.referenced, "kind must be Policy"));
        }
        let nothing = Policy::nothing();
        let base = match raw.extends.as_ref().map(|e| e.value.as_str()) {
            None | Some(EXTENDS_DEFAULT) => base,
            Some(EXTENDS_NONE) => &nothing,
            Some(_) => {
                let at = raw.extends.as_ref().map_or(top, |e| e.referenced);
                return Err(PolicyError::at(
                    &at,
                    format!("extends: expected `{EXTENDS_DEFAULT}` (the policy below this file, the default) or `{EXTENDS_NONE}` (start from nothing)"),
                ));
            }
        };
        let mut sensitive_names = base.sensitive_names.clone();
        for name in raw.sensitive_names {
            let name = normalize(&name);
            if !sensitive_names.contains(&name) {
                sensitive_names.push(name);
            }
        }
        let mut sensitive_values = base.sensitive_values.clone();
        for v in raw.sensitive_values.iter() {
            let regex = Regex::new(&v.value).map_err(|e| {
                PolicyError::at(&v.referenced, "sensitiveValues: not a regular expression")
                    .caused_by(e)
            })?;
            if !sensitive_values
                .iter()
                .any(|r| r.as_str() == regex.as_str())
            {
                sensitive_values.push(regex);
            }
        }
        let mut required_sources: Vec<RequiredSource> = base.required_sources.clone();
        let mut ids_here: Vec<String> = Vec::new();
        for item in raw.required_sources {
            let r = required_source(item.value)?;
            if ids_here.contains(&r.id) {
                return Err(PolicyError::at(
                    &item.referenced,
                    format!("requiredSources: id `{}` is given twice", r.id),
                ));
            }
            ids_here.push(r.id.clone());
            // The same id as an inherited entry: this file changes that one.
            match required_sources.iter_mut().find(|other| other.id == r.id) {
                Some(inherited) => *inherited = r,
                None => required_sources.push(r),
            }
        }
        let mut levels = base.levels.clone();
        for (id, level) in raw.rules {
            let Some(rule) =
                RuleId::parse(&id.value, |id| required_sources.iter().any(|r| r.id == id))
            else {
                return Err(PolicyError::at(
                    &id.referenced,
                    format!(
                        "rules: unknown rule id `{}` (see `secret-rollout rules`)",
                        id.value
                    ),
                ));
            };
            if matches!(rule, RuleId::BuiltIn(r) if !r.is_configurable()) {
                return Err(PolicyError::at(
                    &id.referenced,
                    format!(
                        "rules.{}: input that cannot be read is always an error (exit code 2); \
                         no policy changes that",
                        id.value
                    ),
                ));
            }
            let level = match level.value.as_str() {
                "error" => Some(Severity::Error),
                "warning" => Some(Severity::Warning),
                "note" => Some(Severity::Note),
                "off" => None,
                _ => {
                    return Err(PolicyError::at(
                        &level.referenced,
                        format!("rules.{}: expected error, warning, note or off", id.value),
                    ))
                }
            };
            levels.insert(rule, level);
        }
        let mut unsuppressible = base.unsuppressible.clone();
        for id in raw.unsuppressible {
            let Some(rule) =
                RuleId::parse(&id.value, |id| required_sources.iter().any(|r| r.id == id))
            else {
                return Err(PolicyError::at(
                    &id.referenced,
                    format!(
                        "unsuppressible: unknown rule id `{}` (see `secret-rollout rules`)",
                        id.value
                    ),
                ));
            };
            if !unsuppressible.contains(&rule) {
                unsuppressible.push(rule);
            }
        }
        let mut workload_kinds = base.workload_kinds.clone();
        for raw in raw.workload_kinds {
            let kind = workload_kind(raw)?;
            let same = |k: &&mut WorkloadKind| k.kind == kind.kind && k.api_group == kind.api_group;
            match workload_kinds.iter_mut().find(same) {
                Some(inherited) => *inherited = kind,
                None => workload_kinds.push(kind),
            }
        }
        let mut rotation = base.rotation.clone();
        if let Some(r) = raw.rotation {
            for group in r.value.groups {
                let group = rotation_group(group)?;
                match rotation.iter_mut().find(|g| g.name == group.name) {
                    Some(inherited) => *inherited = group,
                    None => rotation.push(group),
                }
            }
        }
        let secrets_from = raw
            .secrets_from
            .into_iter()
            .map(|p| secrets_from_path(&p, dir))
            .collect::<Result<_, _>>()?;
        Ok(Policy {
            from_nothing: base.from_nothing,
            sensitive_names,
            sensitive_values,
            required_sources,
            levels,
            unsuppressible,
            workload_kinds,
            stamp_config_maps: raw
                .stamp_config_maps
                .map_or(base.stamp_config_maps, |f| f.0),
            rotation,
            secrets_from,
            guard: guard(raw.guard, &base.guard)?,
        })
    }

    /// The severity of a rule under this policy; `None` when it is off.
    pub fn level(&self, rule: &RuleId) -> Option<Severity> {
        self.levels
            .get(rule)
            .copied()
            .unwrap_or(Some(rule.default_severity()))
    }

    /// Whether the name alone marks a credential (exact names and name
    /// tokens; see `sensitivity`).
    pub fn looks_sensitive(&self, name: &str) -> bool {
        self.names().signal(name).is_some()
    }

    /// The name side of the guard, prepared for a run.
    pub fn names(&self) -> crate::policy::sensitivity::Names {
        crate::policy::sensitivity::Names::new(
            self.sensitive_names.iter().map(String::as_str),
            self.guard
                .names
                .iter()
                .map(String::as_str)
                .chain(self.required_sources.iter().map(|r| r.env.as_str())),
            self.guard.quiet_names.iter().map(String::as_str),
        )
    }

    pub fn sensitive_value(&self, value: &str) -> bool {
        self.sensitive_values.iter().any(|r| r.is_match(value))
    }
}

/// A `secretsFrom:` entry: relative to the file's directory `dir`, and
/// inside it. What a file names may not reach past the file's own tree (an
/// application directory must not read another tenant's files): no
/// absolute path, no `..`, and, where the path exists, no symbolic link that
/// leads out. The walk of a directory found here does not follow links out
/// either (see `secret_files`).
fn secrets_from_path(p: &Located<String>, dir: &Path) -> Result<PathBuf, PolicyError> {
    use std::path::Component;
    let refuse = |why: &str| {
        PolicyError::at(
            &p.referenced,
            format!(
                "secretsFrom: `{}` {why}; paths here are relative to this file and stay inside its directory",
                p.value
            ),
        )
    };
    if p.value.is_empty() {
        return Err(PolicyError::at(&p.referenced, "secretsFrom: an empty path"));
    }
    let path = Path::new(&p.value);
    if path.is_absolute() || path.has_root() {
        return Err(refuse("is an absolute path"));
    }
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(refuse("goes up with `..`"));
    }
    let joined = dir.join(path);
    // Only an existing path can lead anywhere; one that does not exist is
    // refused when it is read, naming it.
    if let (Ok(real), Ok(top)) = (std::fs::canonicalize(&joined), canonical_dir(dir)) {
        if !real.starts_with(&top) {
            return Err(refuse("leads out of the directory through a symbolic link"));
        }
    }
    Ok(joined)
}

/// `dir` made absolute with every link resolved; `""` is the working directory.
fn canonical_dir(dir: &Path) -> std::io::Result<PathBuf> {
    if dir.as_os_str().is_empty() {
        std::env::current_dir()?.canonicalize()
    } else {
        dir.canonicalize()
    }
}

fn required_source(raw: raw::RequiredSource) -> Result<RequiredSource, PolicyError> {
    let id = raw.id;
    if !id
        .value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        || id.value.is_empty()
    {
        return Err(PolicyError::at(
            &id.referenced,
            "requiredSources id: use lower-case letters, digits and `-`",
        ));
    }
    if let Some(from) = raw.from.filter(|f| f.value != "secret") {
        return Err(PolicyError::at(
            &from.referenced,
            "requiredSources from: only `secret` is supported",
        ));
    }
    let env = raw.env;
    Ok(RequiredSource {
        help: raw
            .help
            .unwrap_or_else(|| format!("set {env} with `valueFrom.secretKeyRef` to a Secret")),
        id: id.value,
        workloads: selectors(raw.workloads.0)?,
        required_in: selectors(raw.required_in.0)?,
        env,
    })
}

fn selectors(raw: Vec<Located<raw::Selector>>) -> Result<Vec<Selector>, PolicyError> {
    raw.into_iter()
        .map(|s| {
            let at = s.referenced;
            let s = s.value;
            if s.kinds.is_empty() && s.names.is_empty() && s.labels.is_empty() && s.images.is_empty()
            {
                return Err(PolicyError::at(
                    &at,
                    "an empty selector would match every workload; give kinds, names, labels or images",
                ));
            }
            Ok(Selector {
                kinds: s.kinds.0,
                names: patterns("names", &s.names)?,
                labels: s.labels.into_iter().collect(),
                images: patterns("images", &s.images)?,
            })
        })
        .collect()
}

/// Glob patterns; `*` matches any run of characters, `/` included.
fn patterns(field: &str, raw: &[Located<String>]) -> Result<Patterns, PolicyError> {
    let mut set = GlobSetBuilder::new();
    for p in raw {
        let glob = Glob::new(&p.value).map_err(|e| {
            PolicyError::at(&p.referenced, format!("{field}: not a valid pattern")).caused_by(e)
        })?;
        set.add(glob);
    }
    let set = set.build().map_err(|e| {
        let at = raw
            .first()
            .map_or(serde_saphyr::Location::UNKNOWN, |p| p.referenced);
        PolicyError::at(&at, format!("{field}: not a valid pattern")).caused_by(e)
    })?;
    Ok(Patterns {
        set,
        text: raw.iter().map(|p| p.value.clone()).collect(),
    })
}

fn rotation_group(raw: Located<raw::RotationGroup>) -> Result<RotationGroup, PolicyError> {
    let at = raw.referenced;
    let raw = raw.value;
    if raw.name.value.trim().is_empty() {
        return Err(PolicyError::at(
            &raw.name.referenced,
            "rotation.groups: a group needs a name",
        ));
    }
    if raw.keys.is_empty() {
        return Err(PolicyError::at(
            &at,
            format!("rotation.groups: group `{}` has no keys", raw.name.value),
        ));
    }
    let keys: Vec<Located<String>> = raw
        .keys
        .into_iter()
        .map(|k| Located::new(normalize(&k.value), k.referenced, k.defined))
        .collect();
    Ok(RotationGroup {
        name: raw.name.value,
        keys: patterns("keys", &keys)?,
        note: raw.note.filter(|n| !n.trim().is_empty()),
    })
}

/// `guard:` over `base`'s: names add to the inherited ones, a switch
/// given replaces the inherited one.
fn guard(
    raw: Option<Located<raw::Guard>>,
    base: &crate::policy::sensitivity::Guard,
) -> Result<crate::policy::sensitivity::Guard, PolicyError> {
    use crate::policy::sensitivity::{Guard, SecretsAs};
    let Some(raw) = raw.map(|g| g.value) else {
        return Ok(base.clone());
    };
    let secrets_as = match raw.secrets_as {
        None => base.secrets_as,
        Some(v) => match v.value.as_str() {
            "env" => SecretsAs::Env,
            "files" => SecretsAs::Files,
            _ => {
                return Err(PolicyError::at(
                    &v.referenced,
                    "guard.secretsAs: expected env or files",
                ))
            }
        },
    };
    let add = |inherited: &[String], more: Vec<String>| -> Vec<String> {
        let mut all = inherited.to_vec();
        all.extend(more.into_iter().filter(|n| !inherited.contains(n)));
        all
    };
    Ok(Guard {
        names: add(&base.names, raw.names.0),
        quiet_names: add(&base.quiet_names, raw.quiet_names.0),
        formats: raw.formats.map_or(base.formats, |f| f.0),
        entropy: raw.entropy.map_or(base.entropy, |f| f.0),
        secrets_as,
    })
}

fn workload_kind(raw: Located<raw::WorkloadKind>) -> Result<WorkloadKind, PolicyError> {
    let raw = raw.value;
    let template: Vec<String> = raw.template.value.split('.').map(str::to_string).collect();
    if template.iter().any(String::is_empty) {
        return Err(PolicyError::at(
            &raw.template.referenced,
            "template: a dotted path such as spec.template",
        ));
    }
    Ok(WorkloadKind {
        api_group: ApiGroup::parse(&raw.api_version),
        kind: raw.kind,
        template,
    })
}

/// The file's shape, as serde reads it. Lists and maps have wrappers so a
/// wrong type reads "`field` must be a list" and `null` means empty, as it
/// always has.
mod raw {
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde::Deserialize;
    use serde_saphyr::MessageFormatter as _;

    use super::{Located, PolicyError};

    /// A scalar where a collection belongs.
    macro_rules! not_scalars {
        ($message:literal) => {
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Err(E::custom($message))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Err(E::custom($message))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Err(E::custom($message))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Err(E::custom($message))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Err(E::custom($message))
            }
        };
    }

    #[derive(Deserialize, Default)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub struct Policy {
        pub api_version: Option<Located<String>>,
        pub kind: Option<Located<String>>,
        pub extends: Option<Located<String>>,
        #[serde(default)]
        pub sensitive_names: List<String>,
        #[serde(default)]
        pub sensitive_values: List<Located<String>>,
        #[serde(default)]
        pub required_sources: List<Located<RequiredSource>>,
        #[serde(default)]
        pub rules: Map<Located<String>, Located<String>>,
        #[serde(default)]
        pub unsuppressible: List<Located<String>>,
        #[serde(default)]
        pub workload_kinds: List<Located<WorkloadKind>>,
        pub stamp_config_maps: Option<Flag>,
        pub rotation: Option<Located<Rotation>>,
        #[serde(default)]
        pub secrets_from: List<Located<String>>,
        pub guard: Option<Located<Guard>>,
    }

    /// `guard:` (read by `sensitivity::Guard::from_raw`).
    #[derive(Deserialize, Default)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub struct Guard {
        #[serde(default)]
        pub names: List<String>,
        #[serde(default)]
        pub quiet_names: List<String>,
        pub formats: Option<Flag>,
        pub entropy: Option<Flag>,
        pub secrets_as: Option<Located<String>>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Rotation {
        #[serde(default)]
        pub groups: List<Located<RotationGroup>>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct RotationGroup {
        pub name: Located<String>,
        #[serde(default)]
        pub keys: List<Located<String>>,
        pub note: Option<String>,
    }

    impl Policy {
        pub fn is_empty(&self) -> bool {
            self.api_version.is_none()
                && self.kind.is_none()
                && self.extends.is_none()
                && self.sensitive_names.is_empty()
                && self.sensitive_values.is_empty()
                && self.required_sources.is_empty()
                && self.rules.0.is_empty()
                && self.unsuppressible.is_empty()
                && self.workload_kinds.is_empty()
                && self.stamp_config_maps.is_none()
                && self.rotation.is_none()
                && self.secrets_from.is_empty()
                && self.guard.is_none()
        }
    }

    /// A kustomize function config: a policy's fields, and the object's
    /// `metadata` and the release `namespace`.
    #[derive(Deserialize, Default)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub struct FunctionConfig {
        pub api_version: Option<Located<String>>,
        pub kind: Option<Located<String>>,
        #[serde(rename = "metadata")]
        pub _metadata: Option<serde::de::IgnoredAny>,
        pub namespace: Option<Located<String>>,
        pub extends: Option<Located<String>>,
        #[serde(default)]
        pub sensitive_names: List<String>,
        #[serde(default)]
        pub sensitive_values: List<Located<String>>,
        #[serde(default)]
        pub required_sources: List<Located<RequiredSource>>,
        #[serde(default)]
        pub rules: Map<Located<String>, Located<String>>,
        #[serde(default)]
        pub unsuppressible: List<Located<String>>,
        #[serde(default)]
        pub workload_kinds: List<Located<WorkloadKind>>,
        pub stamp_config_maps: Option<Flag>,
        pub rotation: Option<Located<Rotation>>,
        #[serde(default)]
        pub secrets_from: List<Located<String>>,
        pub guard: Option<Located<Guard>>,
    }

    impl FunctionConfig {
        /// The policy it holds (its `kind` is ours, not `Policy`), and
        /// whether it holds any policy field.
        pub fn into_policy(self) -> (Policy, bool) {
            let policy = Policy {
                api_version: None,
                kind: None,
                extends: self.extends,
                sensitive_names: self.sensitive_names,
                sensitive_values: self.sensitive_values,
                required_sources: self.required_sources,
                rules: self.rules,
                unsuppressible: self.unsuppressible,
                workload_kinds: self.workload_kinds,
                stamp_config_maps: self.stamp_config_maps,
                rotation: self.rotation,
                secrets_from: self.secrets_from,
                guard: self.guard,
            };
            // `secretsFrom` alone gives the policy below unchanged, with
            // these paths to read: where to read is not policy.
            let has_policy = !policy.is_empty();
            let policy = Policy {
                api_version: self.api_version,
                ..policy
            };
            (policy, has_policy)
        }
    }

    /// A ResourceList, for its `functionConfig` only.
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct InList {
        pub function_config: Option<FunctionConfig>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub struct RequiredSource {
        pub id: Located<String>,
        pub env: String,
        pub from: Option<Located<String>>,
        #[serde(default)]
        pub workloads: List<Located<Selector>>,
        #[serde(default)]
        pub required_in: List<Located<Selector>>,
        pub help: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Selector {
        #[serde(default)]
        pub kinds: List<String>,
        #[serde(default)]
        pub names: List<Located<String>>,
        #[serde(default)]
        pub labels: Map<String, String>,
        #[serde(default)]
        pub images: List<Located<String>>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub struct WorkloadKind {
        pub api_version: String,
        pub kind: String,
        pub template: Located<String>,
    }

    /// Read the text; every error names its line and the field it is in.
    pub fn read<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, PolicyError> {
        let options = serde_saphyr::options! { with_snippet: false };
        let mut path = None;
        serde_saphyr::with_deserializer_from_str_with_options(text, options, |de| {
            serde_path_to_error::deserialize(de).map_err(|e| {
                path = Some(e.path().clone());
                e.into_inner()
            })
        })
        .map_err(|e| {
            let at = e.location().unwrap_or(serde_saphyr::Location::UNKNOWN);
            let message = serde_saphyr::DefaultMessageFormatter.format_message(e.without_snippet());
            // An unknown field is reported as itself: name the mapping it is in.
            let path = path
                .as_ref()
                .map(|p| field_path(p, message.starts_with("unknown field")))
                .unwrap_or_default();
            let message = if path.is_empty() {
                message.into_owned()
            } else if message.starts_with(MUST_BE) {
                format!("{path} {message}")
            } else {
                format!("{path}: {message}")
            };
            PolicyError::at(&at, message)
        })
    }

    /// `requiredSources[0].workloads[1]`, without the `value` steps that
    /// [`Located`] adds, and without the last key if `drop_key`.
    fn field_path(path: &serde_path_to_error::Path, drop_key: bool) -> String {
        let mut out = String::new();
        let mut segments: Vec<_> = path.iter().collect();
        if drop_key
            && matches!(
                segments.last(),
                Some(serde_path_to_error::Segment::Map { .. })
            )
        {
            segments.pop();
        }
        for s in segments {
            match s {
                serde_path_to_error::Segment::Seq { index } => out.push_str(&format!("[{index}]")),
                serde_path_to_error::Segment::Map { key } if key == "value" => {}
                serde_path_to_error::Segment::Map { key } => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(key);
                }
                serde_path_to_error::Segment::Enum { .. }
                | serde_path_to_error::Segment::Unknown => {}
            }
        }
        out
    }

    /// Messages of our own wrappers, which read after the field's name.
    const MUST_BE: &str = "must be ";

    /// A YAML list; `null` reads as empty.
    pub struct List<T>(pub Vec<T>);

    impl<T> Default for List<T> {
        fn default() -> Self {
            List(Vec::new())
        }
    }

    impl<T> std::ops::Deref for List<T> {
        type Target = Vec<T>;
        fn deref(&self) -> &Vec<T> {
            &self.0
        }
    }

    impl<T> IntoIterator for List<T> {
        type Item = T;
        type IntoIter = std::vec::IntoIter<T>;
        fn into_iter(self) -> Self::IntoIter {
            self.0.into_iter()
        }
    }

    impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<T>(PhantomData<T>);
            impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
                type Value = List<T>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a list")
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List<T>, A::Error> {
                    let mut out = Vec::new();
                    while let Some(item) = seq.next_element()? {
                        out.push(item);
                    }
                    Ok(List(out))
                }
                fn visit_unit<E: de::Error>(self) -> Result<List<T>, E> {
                    Ok(List::default())
                }
                fn visit_none<E: de::Error>(self) -> Result<List<T>, E> {
                    Ok(List::default())
                }
                fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<List<T>, A::Error> {
                    Err(de::Error::custom("must be a list"))
                }
                not_scalars!("must be a list");
            }
            d.deserialize_any(V(PhantomData))
        }
    }

    /// A YAML mapping, in file order; `null` reads as empty.
    pub struct Map<K, V>(pub Vec<(K, V)>);

    impl<K, V> Default for Map<K, V> {
        fn default() -> Self {
            Map(Vec::new())
        }
    }

    impl<K, V> Map<K, V> {
        pub fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
    }

    impl<K, V> IntoIterator for Map<K, V> {
        type Item = (K, V);
        type IntoIter = std::vec::IntoIter<(K, V)>;
        fn into_iter(self) -> Self::IntoIter {
            self.0.into_iter()
        }
    }

    impl<'de, K: Deserialize<'de>, W: Deserialize<'de>> Deserialize<'de> for Map<K, W> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<K, W>(PhantomData<(K, W)>);
            impl<'de, K: Deserialize<'de>, W: Deserialize<'de>> Visitor<'de> for V<K, W> {
                type Value = Map<K, W>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a mapping")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Map<K, W>, A::Error> {
                    let mut out = Vec::new();
                    while let Some(entry) = map.next_entry()? {
                        out.push(entry);
                    }
                    Ok(Map(out))
                }
                fn visit_unit<E: de::Error>(self) -> Result<Map<K, W>, E> {
                    Ok(Map::default())
                }
                fn visit_none<E: de::Error>(self) -> Result<Map<K, W>, E> {
                    Ok(Map::default())
                }
                fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Map<K, W>, A::Error> {
                    Err(de::Error::custom("must be a mapping"))
                }
                not_scalars!("must be a mapping");
            }
            d.deserialize_any(V(PhantomData))
        }
    }

    /// A boolean written as one: `true`/`false` (or YAML 1.1's `yes`/`no`
    /// unquoted), never a quoted string that only looks like one.
    pub struct Flag(pub bool);

    impl<'de> Deserialize<'de> for Flag {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Flag;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("true or false")
                }
                fn visit_bool<E: de::Error>(self, b: bool) -> Result<Flag, E> {
                    Ok(Flag(b))
                }
                fn visit_unit<E: de::Error>(self) -> Result<Flag, E> {
                    Err(E::custom("must be true or false"))
                }
                fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Flag, A::Error> {
                    Err(de::Error::custom("must be true or false"))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Flag, A::Error> {
                    Err(de::Error::custom("must be true or false"))
                }
                fn visit_str<E: de::Error>(self, _: &str) -> Result<Flag, E> {
                    Err(E::custom("must be true or false"))
                }
                fn visit_i64<E: de::Error>(self, _: i64) -> Result<Flag, E> {
                    Err(E::custom("must be true or false"))
                }
                fn visit_u64<E: de::Error>(self, _: u64) -> Result<Flag, E> {
                    Err(E::custom("must be true or false"))
                }
                fn visit_f64<E: de::Error>(self, _: f64) -> Result<Flag, E> {
                    Err(E::custom("must be true or false"))
                }
            }
            d.deserialize_any(V)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Policy, PolicyError> {
        Policy::parse(text, Path::new("/repo/policies"))
    }

    #[test]
    fn the_built_in_policy_parses() {
        let p = Policy::default();
        assert_eq!(p.required_sources[0].env, "THE0_ADMIN_PASSWORD");
        assert_eq!(
            p.required_sources[0].not_from_secret().to_string(),
            "admin-password-not-from-secret"
        );
        assert!(p.looks_sensitive("jwt-secret"));
        assert!(p.sensitive_value("postgres://u:p@h/db"));
        assert!(!p.sensitive_value("postgres://u:$(PW)@h/db"));
        assert!(p.secrets_from.is_empty());
        let group = |key: &str| {
            p.rotation
                .iter()
                .find(|g| g.matches(key))
                .map(|g| g.name.as_str())
        };
        assert_eq!(group("jwt-secret"), Some("JWT"));
        assert_eq!(group("DATABASE_URL"), Some("database"));
        assert_eq!(group("NATS_PASSWORD"), Some("NATS"));
        assert_eq!(group("NODE_ENV"), None);
        assert!(p
            .rotation
            .iter()
            .any(|g| g.name == "JWT" && g.note.is_some()));
        assert_eq!(
            p.unsuppressible,
            [
                p.required_sources[0].not_from_secret(),
                p.required_sources[0].missing()
            ]
        );
    }

    #[test]
    fn name_and_image_patterns() {
        let p = parse(
            "apiVersion: secret-rollout/v1\nextends: none\nrequiredSources:\n- id: x\n  env: X\n  workloads:\n  - names: ['*-the0-api', exact]\n    images: ['ghcr.io/*/api:*']\n",
        )
        .unwrap();
        let s = &p.required_sources[0].workloads[0];
        assert!(s.names.is_match("trading-the0-api"));
        assert!(!s.names.is_match("the0-api"));
        assert!(s.names.is_match("exact"));
        assert!(s.images.is_match("ghcr.io/the0/api:1.2"));
        assert!(!s.images.is_match("docker.io/the0/api:1.2"));
    }

    #[test]
    fn secrets_from_is_relative_to_the_policy_file_and_stays_inside_it() {
        let p =
            parse("apiVersion: secret-rollout/v1\nsecretsFrom:\n  - clusters/prod\n  - ./sealed\n")
                .unwrap();
        assert_eq!(
            p.secrets_from,
            [
                PathBuf::from("/repo/policies/clusters/prod"),
                PathBuf::from("/repo/policies/./sealed")
            ]
        );
        for (entry, why) in [
            ("''", "an empty path"),
            ("../clusters/prod", "`../clusters/prod` goes up with `..`"),
            ("a/../../b", "goes up with `..`"),
            ("/etc/sealed", "`/etc/sealed` is an absolute path"),
        ] {
            let e = parse(&format!(
                "apiVersion: secret-rollout/v1\nsecretsFrom: [{entry}]\n"
            ))
            .unwrap_err();
            assert_eq!(e.line, 2, "{e}");
            assert!(e.message.contains(why), "{entry}: {e}");
        }
    }

    #[test]
    fn a_file_extends_the_built_in_profile_and_changes_only_what_it_names() {
        let p = parse(
            "apiVersion: secret-rollout/v1\nsensitiveNames: [session-key]\nrules: {unkeyed-digest: off}\n",
        )
        .unwrap();
        let built_in = Policy::default();
        assert!(p.looks_sensitive("X_SESSION_KEY") && p.looks_sensitive("API_TOKEN"));
        assert_eq!(p.required_sources[0].env, "THE0_ADMIN_PASSWORD");
        assert_eq!(p.unsuppressible, built_in.unsuppressible);
        assert_eq!(p.rotation.len(), built_in.rotation.len());
        assert_eq!(
            p.level(&RuleId::BuiltIn(crate::policy::rule::Rule::UnkeyedDigest)),
            None
        );
        assert!(!p.from_nothing);
        // An entry with an inherited id or name replaces that entry.
        let p = parse(
            "apiVersion: secret-rollout/v1\nrequiredSources: [{id: admin-password, env: ADMIN_PW}]\nrotation: {groups: [{name: JWT, keys: [JWT_KEY]}]}\n",
        )
        .unwrap();
        assert_eq!(p.required_sources.len(), 1);
        assert_eq!(p.required_sources[0].env, "ADMIN_PW");
        let jwt = p.rotation.iter().find(|g| g.name == "JWT").unwrap();
        assert!(jwt.matches("jwt-key") && !jwt.matches("JWT_SECRET"));
        assert_eq!(p.rotation.len(), built_in.rotation.len());
        // `extends: none` starts from nothing.
        let p =
            parse("apiVersion: secret-rollout/v1\nextends: none\nsensitiveNames: [X]\n").unwrap();
        assert!(p.from_nothing && p.required_sources.is_empty() && !p.looks_sensitive("PASSWORD"));
        let e = parse("apiVersion: secret-rollout/v1\nextends: nothing\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(e.message.contains("extends: expected `default`"), "{e}");
    }

    #[test]
    fn errors_name_the_line_and_the_field() {
        let cases = [
            ("apiVersion: secret-rollout/v1\nfoo: 1\n", 2, "unknown field `foo`"),
            (
                "apiVersion: secret-rollout/v1\nrequiredSources:\n- id: a\n  env: A\n  workloads:\n  - {names: [x]}\n  - {nams: [x]}\n",
                7,
                "requiredSources[0].workloads[1]: unknown field `nams`",
            ),
            (
                "apiVersion: secret-rollout/v1\nrequiredSources:\n- id: a\n",
                3,
                "requiredSources[0]: missing field `env`",
            ),
            (
                "apiVersion: secret-rollout/v1\nrequiredSources:\n- {id: a, env: A}\n- {id: a, env: B}\n",
                4,
                "id `a` is given twice",
            ),
            ("apiVersion: secret-rollout/v1\nrules: [a]\n", 2, "rules must be a mapping"),
            ("apiVersion: secret-rollout/v1\nstampConfigMaps: 1\n", 2, "stampConfigMaps must be true or false"),
            (
                "apiVersion: secret-rollout/v1\nrequiredSources:\n- id: a\n  env: A\n  workloads:\n  - names: ['[x']\n",
                6,
                "names: not a valid pattern",
            ),
            ("apiVersion: secret-rollout/v2\n", 1, "apiVersion must be secret-rollout/v1"),
            (
                "apiVersion: secret-rollout/v1\nrotation:\n  groups:\n  - name: db\n    keys: []\n",
                4,
                "group `db` has no keys",
            ),
            (
                "apiVersion: secret-rollout/v1\nrotation:\n  groups:\n  - name: db\n    key: [A]\n",
                5,
                "rotation.groups[0]: unknown field `key`",
            ),
            (
                "apiVersion: secret-rollout/v1\nunsuppressible:\n  - duplicate-env\n  - admin-pasword-missing\n",
                4,
                "unsuppressible: unknown rule id `admin-pasword-missing`",
            ),
            ("# nothing\n", 1, "the policy is empty"),
        ];
        for (text, line, message) in cases {
            let e = parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text}: {e}");
            assert!(e.to_string().contains(message), "{text}: {e}");
        }
    }

    #[test]
    fn null_lists_are_empty_and_unquoted_yaml_11_booleans_count() {
        let p = parse(
            "apiVersion: secret-rollout/v1\nextends: none\nsensitiveNames: ~\nrules:\nstampConfigMaps: no\n",
        )
        .unwrap();
        assert!(p.sensitive_names.is_empty() && p.levels.is_empty());
        assert!(!p.stamp_config_maps);
        let e = parse("apiVersion: secret-rollout/v1\nstampConfigMaps: \"no\"\n").unwrap_err();
        assert!(
            e.to_string()
                .contains("stampConfigMaps must be true or false"),
            "{e}"
        );
    }
}
