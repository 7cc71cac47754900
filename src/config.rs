//! The policy: which names and values count as sensitive, which env vars must
//! come from Secrets, rule severities, extra workload kinds.
//!
//! The built-in profile is `default-policy.yaml`, parsed like any user file,
//! so `policy --print-default` shows exactly what runs by default.

use std::collections::BTreeMap;

use regex::Regex;

use crate::gvk::{ApiGroup, Gvk};
use crate::report::Severity;
use crate::rule::RuleId;
use crate::yaml::{self, Node, Value};

pub const DEFAULT_POLICY: &str = include_str!("default-policy.yaml");

#[derive(Clone, Debug)]
pub struct Policy {
    /// Upper-case substrings of env names that mark them sensitive.
    pub sensitive_names: Vec<String>,
    pub sensitive_values: Vec<Regex>,
    pub required_sources: Vec<RequiredSource>,
    /// Overrides of default severities; `None` turns a rule off.
    pub levels: BTreeMap<RuleId, Option<Severity>>,
    pub workload_kinds: Vec<WorkloadKind>,
    pub stamp_config_maps: bool,
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

/// Matches a workload when every given field matches; lists match any item.
#[derive(Clone, Debug, Default)]
pub struct Selector {
    pub kinds: Vec<String>,
    /// Names; `*` matches any run of characters.
    pub names: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// Container images; `*` matches any run of characters.
    pub images: Vec<String>,
}

/// A custom resource that runs pods from a template at `template`.
#[derive(Clone, Debug)]
pub struct WorkloadKind {
    /// `group/version`, or just `group` to accept every version.
    pub api_group: ApiGroup,
    pub kind: String,
    pub template: Vec<String>,
}

impl WorkloadKind {
    pub fn matches(&self, gvk: &Gvk<'_>) -> bool {
        gvk.kind == self.kind && self.api_group.matches(gvk)
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::parse(DEFAULT_POLICY).expect("the built-in policy is valid")
    }
}

/// A policy file we cannot use; names the line.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct PolicyError {
    pub line: usize,
    pub message: String,
}

fn err(node: &Node<'_>, message: impl Into<String>) -> PolicyError {
    PolicyError {
        line: node.span.line,
        message: message.into(),
    }
}

impl Policy {
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let root = yaml::parse_document(text, 0, 1).map_err(|e| PolicyError {
            line: e.line(),
            message: e.to_string(),
        })?;
        let Some(root) = root else {
            return Err(PolicyError {
                line: 1,
                message: "the policy is empty".into(),
            });
        };
        let map = fields(
            &root,
            "the policy",
            &[
                "apiVersion",
                "kind",
                "sensitiveNames",
                "sensitiveValues",
                "requiredSources",
                "rules",
                "workloadKinds",
                "stampConfigMaps",
            ],
        )?;
        match map.get("apiVersion") {
            Some(v) if v.as_str() == Some("secret-rollout/v1") => {}
            Some(v) => return Err(err(v, "apiVersion must be secret-rollout/v1")),
            None => return Err(err(&root, "apiVersion: secret-rollout/v1 is required")),
        }
        if let Some(kind) = map.get("kind") {
            if kind.as_str() != Some("Policy") {
                return Err(err(kind, "kind must be Policy"));
            }
        }
        let sensitive_names = match map.get("sensitiveNames") {
            None => vec![],
            Some(n) => strings(n, "sensitiveNames")?
                .into_iter()
                .map(|s| s.to_ascii_uppercase().replace('-', "_"))
                .collect(),
        };
        let sensitive_values = match map.get("sensitiveValues") {
            None => vec![],
            Some(n) => seq(n, "sensitiveValues")?
                .iter()
                .map(|item| {
                    let text = string(item, "sensitiveValues item")?;
                    Regex::new(text).map_err(|e| {
                        err(
                            item,
                            format!("sensitiveValues: not a regular expression: {e}"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let required_sources = match map.get("requiredSources") {
            None => vec![],
            Some(n) => seq(n, "requiredSources")?
                .iter()
                .map(required_source)
                .collect::<Result<_, _>>()?,
        };
        let mut levels = BTreeMap::new();
        if let Some(rules) = map.get("rules").filter(|r| !r.is_null()) {
            let Some(m) = rules.as_map() else {
                return Err(err(
                    rules,
                    "rules must map rule ids to error, warning, note or off",
                ));
            };
            for entry in &m.entries {
                let id = string(&entry.key, "rule id")?;
                let Some(rule) = RuleId::parse(id, &required_sources) else {
                    return Err(err(
                        &entry.key,
                        format!("rules: unknown rule id `{id}` (see `secret-rollout rules`)"),
                    ));
                };
                let level = match entry.value.as_str() {
                    Some("error") => Some(Severity::Error),
                    Some("warning") => Some(Severity::Warning),
                    Some("note") => Some(Severity::Note),
                    Some("off") => None,
                    _ => {
                        return Err(err(
                            &entry.value,
                            format!("rules.{id}: expected error, warning, note or off"),
                        ))
                    }
                };
                levels.insert(rule, level);
            }
        }
        finish(
            map,
            sensitive_names,
            sensitive_values,
            required_sources,
            levels,
        )
    }

    /// The severity of a rule under this policy; `None` when it is off.
    pub fn level(&self, rule: &RuleId) -> Option<Severity> {
        self.levels
            .get(rule)
            .copied()
            .unwrap_or(Some(rule.default_severity()))
    }

    pub fn looks_sensitive(&self, name: &str) -> bool {
        let upper = name.to_ascii_uppercase().replace('-', "_");
        self.sensitive_names
            .iter()
            .any(|w| upper.contains(w.as_str()))
    }

    pub fn sensitive_value(&self, value: &str) -> bool {
        self.sensitive_values.iter().any(|r| r.is_match(value))
    }
}

fn finish(
    map: BTreeMap<&str, &Node<'_>>,
    sensitive_names: Vec<String>,
    sensitive_values: Vec<Regex>,
    required_sources: Vec<RequiredSource>,
    levels: BTreeMap<RuleId, Option<Severity>>,
) -> Result<Policy, PolicyError> {
    let workload_kinds = match map.get("workloadKinds") {
        None => vec![],
        Some(n) => seq(n, "workloadKinds")?
            .iter()
            .map(workload_kind)
            .collect::<Result<_, _>>()?,
    };
    let stamp_config_maps = match map.get("stampConfigMaps") {
        None => true,
        Some(n) => n
            .as_scalar()
            .and_then(|s| s.as_bool())
            .ok_or_else(|| err(n, "stampConfigMaps must be true or false"))?,
    };
    Ok(Policy {
        sensitive_names,
        sensitive_values,
        required_sources,
        levels,
        workload_kinds,
        stamp_config_maps,
    })
}

/// The fields of a mapping, refusing unknown ones (a typo must not silently
/// weaken the policy).
fn fields<'n, 'a>(
    node: &'n Node<'a>,
    what: &str,
    allowed: &[&str],
) -> Result<BTreeMap<&'n str, &'n Node<'a>>, PolicyError> {
    let Some(m) = node.as_map() else {
        return Err(err(node, format!("{what} must be a mapping")));
    };
    let mut out = BTreeMap::new();
    for e in &m.entries {
        let key = string(&e.key, "key")?;
        if !allowed.contains(&key) {
            return Err(err(
                &e.key,
                format!(
                    "{what}: unknown field `{key}` (expected one of: {})",
                    allowed.join(", ")
                ),
            ));
        }
        out.insert(key, &e.value);
    }
    Ok(out)
}

fn string<'n>(node: &'n Node<'_>, what: &str) -> Result<&'n str, PolicyError> {
    match &node.value {
        Value::Scalar(s) if !s.is_null() => Ok(&s.text),
        _ => Err(err(node, format!("{what} must be a string"))),
    }
}

fn seq<'n, 'a>(node: &'n Node<'a>, what: &str) -> Result<&'n [Node<'a>], PolicyError> {
    if node.is_null() {
        return Ok(&[]);
    }
    node.as_seq()
        .ok_or_else(|| err(node, format!("{what} must be a list")))
}

fn strings(node: &Node<'_>, what: &str) -> Result<Vec<String>, PolicyError> {
    seq(node, what)?
        .iter()
        .map(|n| string(n, what).map(str::to_string))
        .collect()
}

fn required_source(node: &Node<'_>) -> Result<RequiredSource, PolicyError> {
    let m = fields(
        node,
        "requiredSources item",
        &["id", "env", "from", "workloads", "requiredIn", "help"],
    )?;
    let need = |key: &str| -> Result<String, PolicyError> {
        m.get(key)
            .ok_or_else(|| err(node, format!("requiredSources item: `{key}` is required")))
            .and_then(|n| string(n, key).map(str::to_string))
    };
    let id = need("id")?;
    if !id
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(err(
            m["id"],
            "requiredSources id: use lower-case letters, digits and `-`",
        ));
    }
    if let Some(from) = m.get("from") {
        if from.as_str() != Some("secret") {
            return Err(err(
                from,
                "requiredSources from: only `secret` is supported",
            ));
        }
    }
    let env = need("env")?;
    let selectors = |key: &str| -> Result<Vec<Selector>, PolicyError> {
        match m.get(key) {
            None => Ok(vec![]),
            Some(n) => seq(n, key)?.iter().map(selector).collect(),
        }
    };
    Ok(RequiredSource {
        help: m
            .get("help")
            .map(|n| string(n, "help"))
            .transpose()?
            .map_or_else(
                || format!("set {env} with `valueFrom.secretKeyRef` to a Secret"),
                str::to_string,
            ),
        id,
        env,
        workloads: selectors("workloads")?,
        required_in: selectors("requiredIn")?,
    })
}

fn selector(node: &Node<'_>) -> Result<Selector, PolicyError> {
    let m = fields(node, "selector", &["kinds", "names", "labels", "images"])?;
    let list = |key: &str| m.get(key).map_or(Ok(vec![]), |n| strings(n, key));
    let mut labels = BTreeMap::new();
    if let Some(l) = m.get("labels") {
        let Some(lm) = l.as_map() else {
            return Err(err(l, "labels must be a mapping"));
        };
        for e in &lm.entries {
            labels.insert(
                string(&e.key, "label")?.to_string(),
                string(&e.value, "label value")?.to_string(),
            );
        }
    }
    let s = Selector {
        kinds: list("kinds")?,
        names: list("names")?,
        labels,
        images: list("images")?,
    };
    if s.kinds.is_empty() && s.names.is_empty() && s.labels.is_empty() && s.images.is_empty() {
        return Err(err(
            node,
            "an empty selector would match every workload; give kinds, names, labels or images",
        ));
    }
    Ok(s)
}

fn workload_kind(node: &Node<'_>) -> Result<WorkloadKind, PolicyError> {
    let m = fields(
        node,
        "workloadKinds item",
        &["apiVersion", "kind", "template"],
    )?;
    let get = |key: &str| {
        m.get(key)
            .ok_or_else(|| err(node, format!("workloadKinds item: `{key}` is required")))
            .and_then(|n| string(n, key))
    };
    let template: Vec<String> = get("template")?.split('.').map(str::to_string).collect();
    if template.iter().any(String::is_empty) {
        return Err(err(
            m["template"],
            "template: a dotted path such as spec.template",
        ));
    }
    Ok(WorkloadKind {
        api_group: ApiGroup::parse(get("apiVersion")?),
        kind: get("kind")?.to_string(),
        template,
    })
}

/// `*` matches any run of characters; everything else literally.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            let Some(rest) = text.strip_prefix(head) else {
                return false;
            };
            (0..=rest.len())
                .filter(|&i| rest.is_char_boundary(i))
                .any(|i| glob_match(tail, &rest[i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*-the0-api", "trading-the0-api"));
        assert!(!glob_match("*-the0-api", "the0-api"));
        assert!(glob_match("ghcr.io/*/api:*", "ghcr.io/the0/api:1.2"));
        assert!(glob_match("exact", "exact"));
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
    }
}
