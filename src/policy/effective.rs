//! A policy shown to people: the whole policy in force as a policy file
//! (`policy --print-effective`), and which of the built-in profile's
//! protections it has off (said once per run, so a policy that starts from
//! nothing cannot weaken the guard without anyone reading it).
//!
//! Every string is written as a JSON string, which YAML reads as the same
//! double-quoted scalar: a sensitive name such as `ON` or a pattern starting
//! with `*` cannot change meaning when the file is read back.

use std::fmt::Write as _;

use serde_json::json;

use crate::policy::config::{Policy, Selector, EXTENDS_NONE};
use crate::policy::rule::{Rule, RuleId, Severity};

/// A JSON value as YAML flow text.
fn flow(value: serde_json::Value) -> String {
    value.to_string()
}

fn selector(s: &Selector) -> String {
    let mut fields = serde_json::Map::new();
    if !s.kinds.is_empty() {
        fields.insert("kinds".into(), json!(s.kinds));
    }
    if !s.names.is_empty() {
        fields.insert("names".into(), json!(s.names.text));
    }
    if !s.labels.is_empty() {
        fields.insert("labels".into(), json!(s.labels));
    }
    if !s.images.is_empty() {
        fields.insert("images".into(), json!(s.images.text));
    }
    flow(serde_json::Value::Object(fields))
}

impl Policy {
    /// This policy as a complete policy file (`extends: none`): read back,
    /// it is this policy. `source` says where it came from, for the
    /// heading comment. `secretsFrom` paths are listed as a comment: where
    /// to read is not policy, and they are relative to their own file.
    pub fn to_yaml(&self, source: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# The policy in force: {source}.\n\
             # Complete, so it says `extends: none`; rules not under `rules:` have the\n\
             # severity `secret-rollout rules` lists as their default."
        );
        out.push_str("apiVersion: secret-rollout/v1\nkind: Policy\n");
        let _ = writeln!(out, "extends: {EXTENDS_NONE}");
        let _ = writeln!(out, "sensitiveNames: {}", flow(json!(self.sensitive_names)));
        let values: Vec<&str> = self.sensitive_values.iter().map(|r| r.as_str()).collect();
        let _ = writeln!(out, "sensitiveValues: {}", flow(json!(values)));
        if self.required_sources.is_empty() {
            out.push_str("requiredSources: []\n");
        } else {
            out.push_str("requiredSources:\n");
        }
        for r in &self.required_sources {
            let _ = writeln!(out, "  - id: {}", flow(json!(r.id)));
            let _ = writeln!(out, "    env: {}", flow(json!(r.env)));
            for (key, list) in [("workloads", &r.workloads), ("requiredIn", &r.required_in)] {
                if list.is_empty() {
                    continue;
                }
                let _ = writeln!(out, "    {key}:");
                for s in list {
                    let _ = writeln!(out, "      - {}", selector(s));
                }
            }
            let _ = writeln!(out, "    help: {}", flow(json!(r.help)));
        }
        let rules: serde_json::Map<String, serde_json::Value> = self
            .levels
            .iter()
            .map(|(id, level)| {
                let level = level.map_or("off", |s| s.as_str());
                (id.to_string(), json!(level))
            })
            .collect();
        let _ = writeln!(out, "rules: {}", flow(serde_json::Value::Object(rules)));
        let unsuppressible: Vec<String> =
            self.unsuppressible.iter().map(|r| r.to_string()).collect();
        let _ = writeln!(out, "unsuppressible: {}", flow(json!(unsuppressible)));
        if self.rotation.is_empty() {
            out.push_str("rotation: {groups: []}\n");
        } else {
            out.push_str("rotation:\n  groups:\n");
        }
        for g in &self.rotation {
            let _ = writeln!(out, "    - name: {}", flow(json!(g.name)));
            let _ = writeln!(out, "      keys: {}", flow(json!(g.keys.text)));
            if let Some(note) = &g.note {
                let _ = writeln!(out, "      note: {}", flow(json!(note)));
            }
        }
        if self.workload_kinds.is_empty() {
            out.push_str("workloadKinds: []\n");
        } else {
            out.push_str("workloadKinds:\n");
        }
        for k in &self.workload_kinds {
            let api_version = match &k.api_group.version {
                Some(v) => format!("{}/{v}", k.api_group.group),
                None => k.api_group.group.clone(),
            };
            let _ = writeln!(
                out,
                "  - {}",
                flow(json!({
                    "apiVersion": api_version,
                    "kind": k.kind,
                    "template": k.template.join("."),
                }))
            );
        }
        let _ = writeln!(out, "stampConfigMaps: {}", self.stamp_config_maps);
        let g = &self.guard;
        let secrets_as = match g.secrets_as {
            crate::policy::sensitivity::SecretsAs::Env => "env",
            crate::policy::sensitivity::SecretsAs::Files => "files",
        };
        let _ = writeln!(
            out,
            "guard: {}",
            flow(json!({
                "names": g.names,
                "quietNames": g.quiet_names,
                "formats": g.formats,
                "entropy": g.entropy,
                "secretsAs": secrets_as,
            }))
        );
        if !self.secrets_from.is_empty() {
            out.push_str(
                "# Also read for Secrets outside the render (secretsFrom: of the policy file;\n\
                 # not policy, and relative to that file):\n",
            );
            for p in &self.secrets_from {
                let _ = writeln!(out, "#   {}", p.display());
            }
        }
        out
    }

    /// The built-in profile's protections this policy has off or weaker,
    /// one phrase each: required sources it lacks or replaces, sensitive
    /// names and values and unsuppressible rules it lacks, and rules it
    /// turns off or lowers. Empty when it keeps them all.
    pub fn protections_off(&self) -> Vec<String> {
        let built_in = Policy::default();
        let mut off = Vec::new();
        for r in &built_in.required_sources {
            match self.required_sources.iter().find(|o| o.id == r.id) {
                None => off.push(format!(
                    "requiredSources `{}` ({} from a Secret)",
                    r.id, r.env
                )),
                Some(o) if o.env != r.env || !same_selectors(o, r) => off.push(format!(
                    "requiredSources `{}` (replaced by the policy's own)",
                    r.id
                )),
                Some(_) => {}
            }
        }
        let names: Vec<&str> = built_in
            .sensitive_names
            .iter()
            .filter(|n| !self.sensitive_names.contains(n))
            .map(String::as_str)
            .collect();
        if !names.is_empty() {
            off.push(format!("sensitiveNames {}", names.join(", ")));
        }
        let values = built_in
            .sensitive_values
            .iter()
            .filter(|v| {
                !self
                    .sensitive_values
                    .iter()
                    .any(|o| o.as_str() == v.as_str())
            })
            .count();
        if values > 0 {
            off.push(format!("{values} of the built-in sensitiveValues"));
        }
        let guard_names: Vec<&str> = built_in
            .guard
            .names
            .iter()
            .filter(|n| !self.guard.names.contains(n))
            .map(String::as_str)
            .collect();
        if !guard_names.is_empty() {
            off.push(format!("guard.names {}", guard_names.join(", ")));
        }
        let quiet: Vec<&str> = self
            .guard
            .quiet_names
            .iter()
            .filter(|n| !built_in.guard.quiet_names.contains(n))
            .map(String::as_str)
            .collect();
        if !quiet.is_empty() {
            off.push(format!(
                "guard.quietNames {} (never counted by name)",
                quiet.join(", ")
            ));
        }
        for (on, was, what) in [
            (
                self.guard.formats,
                built_in.guard.formats,
                "guard.formats (credential formats in values)",
            ),
            (
                self.guard.entropy,
                built_in.guard.entropy,
                "guard.entropy (random-looking values under key-like names)",
            ),
        ] {
            if was && !on {
                off.push(format!("{what} off"));
            }
        }
        let unsuppressible: Vec<String> = built_in
            .unsuppressible
            .iter()
            .filter(|r| !self.unsuppressible.contains(r))
            .map(RuleId::to_string)
            .collect();
        if !unsuppressible.is_empty() {
            off.push(format!("unsuppressible {}", unsuppressible.join(", ")));
        }
        let mut rules: Vec<RuleId> = Rule::ALL.iter().map(|&r| RuleId::BuiltIn(r)).collect();
        for r in &built_in.required_sources {
            if self.required_sources.iter().any(|o| o.id == r.id) {
                rules.push(r.not_from_secret());
                rules.push(r.missing());
            }
        }
        for rule in rules {
            let Some(was) = built_in.level(&rule) else {
                continue;
            };
            match self.level(&rule) {
                None => off.push(format!("rule {rule} off")),
                // Later severities are weaker (error, warning, note).
                Some(now) if now > was => off.push(format!(
                    "rule {rule} {} (built-in: {})",
                    now.as_str(),
                    was.as_str()
                )),
                Some(_) => {}
            }
        }
        off
    }

    /// The one line a run says when [`Policy::protections_off`] is not
    /// empty; `None` when the policy keeps every built-in protection.
    pub fn protections_notice(&self, source: &str) -> Option<String> {
        let off = self.protections_off();
        if off.is_empty() {
            return None;
        }
        let start = if self.from_nothing {
            " starts from nothing (extends: none) and"
        } else {
            ""
        };
        Some(format!(
            "secret-rollout: warning: {source}{start} has built-in protections off: {}\n",
            off.join("; ")
        ))
    }
}

fn same_selectors(
    a: &crate::policy::config::RequiredSource,
    b: &crate::policy::config::RequiredSource,
) -> bool {
    let text = |list: &[Selector]| list.iter().map(selector).collect::<Vec<_>>();
    text(&a.workloads) == text(&b.workloads) && text(&a.required_in) == text(&b.required_in)
}

/// A rule as catalogued for people and for SARIF.
#[derive(Clone, Debug)]
pub struct RuleInfo {
    pub id: RuleId,
    /// `None` when the policy turns it off.
    pub level: Option<Severity>,
    pub summary: String,
}

/// Every rule the policy can report: those made from its `requiredSources`
/// first, then the built-in ones.
pub fn catalogue(policy: &Policy) -> Vec<RuleInfo> {
    let info = |id: RuleId, summary: String| RuleInfo {
        level: policy.level(&id),
        id,
        summary,
    };
    let mut out: Vec<RuleInfo> = policy
        .required_sources
        .iter()
        .flat_map(|r| {
            [
                info(
                    r.not_from_secret(),
                    format!(
                        "{} must come from a Secret through valueFrom.secretKeyRef, never a plain value, a ConfigMap or a second definition",
                        r.env
                    ),
                ),
                info(
                    r.missing(),
                    format!("the workloads that need {} must define it", r.env),
                ),
            ]
        })
        .collect();
    out.extend(
        Rule::ALL
            .iter()
            .map(|&r| info(r.into(), r.summary().to_string())),
    );
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn every_rule_is_catalogued_once_and_its_id_reads_back() {
        let policy = Policy::default();
        let c = catalogue(&policy);
        let mut ids: Vec<String> = c.iter().map(|r| r.id.to_string()).collect();
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n);
        assert!(ids.contains(&"admin-password-not-from-secret".to_string()));
        assert!(ids.contains(&"admin-password-missing".to_string()));
        for r in &c {
            let text = r.id.to_string();
            assert_eq!(
                RuleId::parse(&text, |id| policy
                    .required_sources
                    .iter()
                    .any(|r| r.id == id))
                .as_ref(),
                Some(&r.id),
                "{text}"
            );
        }
    }

    #[test]
    fn the_built_in_profile_has_every_protection_and_prints_back_to_itself() {
        let p = Policy::default();
        assert!(p.protections_off().is_empty());
        assert_eq!(p.protections_notice("the built-in profile"), None);
        let printed = p.to_yaml("the built-in profile");
        let again = Policy::parse(&printed, Path::new("")).unwrap();
        assert!(again.from_nothing, "the printed file says extends: none");
        assert_eq!(again.to_yaml("the built-in profile"), printed);
        assert!(again.protections_off().is_empty(), "{printed}");
    }

    #[test]
    fn a_policy_from_nothing_names_what_is_off() {
        let p = Policy::parse(
            "apiVersion: secret-rollout/v1\nextends: none\nsensitiveNames: [PASSWORD]\n",
            Path::new(""),
        )
        .unwrap();
        let notice = p.protections_notice("policy p.yaml").unwrap();
        assert!(notice.contains("starts from nothing"), "{notice}");
        assert!(
            notice.contains("requiredSources `admin-password`"),
            "{notice}"
        );
        assert!(
            notice.contains("sensitiveNames PASSWD, PASS, PWD, PASSPHRASE"),
            "{notice}"
        );
        assert!(!notice.contains("PASSWORD,"), "{notice}");
        assert!(notice.contains("unsuppressible admin-password-not-from-secret"));
        assert!(notice.contains("guard.formats (credential formats in values) off"));
        assert_eq!(notice.lines().count(), 1);
    }

    #[test]
    fn a_rule_turned_off_or_lowered_by_name_is_said() {
        let p = Policy::parse(
            "apiVersion: secret-rollout/v1\nrules: {admin-password-missing: warning, duplicate-env: off}\n",
            Path::new(""),
        )
        .unwrap();
        assert_eq!(
            p.protections_off(),
            [
                "rule duplicate-env off",
                "rule admin-password-missing warning (built-in: error)"
            ]
        );
    }
}
