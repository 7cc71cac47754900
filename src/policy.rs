//! The rules. The built-in profile protects the0's root admin password and
//! catches the mistakes that make a rotation silently not happen.

use std::collections::{BTreeMap, HashSet};

use crate::inventory::{Index, TargetKind};
use crate::reference::{self, EnvSource, EnvVar, Via};
use crate::report::{Finding, Location, Rule};
use crate::workload::{Rollout, Workload};
use crate::yaml::Span;

pub const ADMIN_PASSWORD: &str = "THE0_ADMIN_PASSWORD";

const ADMIN_FIX: &str =
    "remove it from the0Api.env and any plain `value:`; add it to the0Api.extraEnv as \
     `- name: THE0_ADMIN_PASSWORD` with `valueFrom: {secretKeyRef: {name: <secret>, key: <key>}}`";

/// Runs every rule over the workloads; findings come out in stream order.
pub fn check(workloads: &[Workload<'_, '_>], index: &Index<'_, '_, '_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for w in workloads {
        let at = |span: Span| location(w, span);
        let vars = reference::env_vars(w.pod_spec);
        let mut by_container: BTreeMap<&str, Vec<&EnvVar<'_, '_>>> = BTreeMap::new();
        for v in &vars {
            by_container.entry(v.container).or_default().push(v);
        }
        for (container, vars) in &by_container {
            admin_password_source(w, container, vars, &mut findings);
            duplicate_env(w, container, vars, &mut findings);
        }
        for v in &vars {
            sensitive_plain_value(w, v, &mut findings);
        }
        admin_password_from_config_map(w, index, &mut findings);
        if is_the0_api(w) && !provides_admin_password(w, &vars, index) {
            findings.push(Finding {
                rule: Rule::AdminPasswordMissing,
                severity: Rule::AdminPasswordMissing.severity(),
                location: at(w.object.node.span),
                workload: Some(w.object.display()),
                container: None,
                variable: Some(ADMIN_PASSWORD.into()),
                message: format!(
                    "{} is the0's API but no container gets {ADMIN_PASSWORD}; the API refuses to start without it",
                    w.object.display()
                ),
                help: format!("set it from a Secret: {ADMIN_FIX}"),
            });
        }
        references(w, index, &mut findings);
    }
    findings.sort_by_key(|f| (f.location.line, f.location.col));
    findings
}

fn location(w: &Workload<'_, '_>, span: Span) -> Location {
    Location {
        doc: w.object.doc,
        template: w.object.template.map(str::to_string),
        line: span.line,
        col: span.col,
    }
}

fn finding(
    rule: Rule,
    w: &Workload<'_, '_>,
    span: Span,
    container: Option<&str>,
    variable: Option<&str>,
    message: String,
    help: String,
) -> Finding {
    Finding {
        rule,
        severity: rule.severity(),
        location: location(w, span),
        workload: Some(w.object.display()),
        container: container.map(str::to_string),
        variable: variable.map(str::to_string),
        message,
        help,
    }
}

fn admin_password_source(
    w: &Workload<'_, '_>,
    container: &str,
    vars: &[&EnvVar<'_, '_>],
    out: &mut Vec<Finding>,
) {
    let defs: Vec<_> = vars.iter().filter(|v| v.name == ADMIN_PASSWORD).collect();
    let message = match defs.as_slice() {
        [] => return,
        [one] => match one.source {
            EnvSource::SecretKeyRef => return,
            EnvSource::Plain(_) => "is set as a plain `value:`, so the password sits in the Deployment in clear text".to_string(),
            EnvSource::ConfigMapKeyRef => "comes from a ConfigMap (configMapKeyRef); ConfigMaps are not secret".to_string(),
            EnvSource::FieldRef => "comes from a fieldRef, not from a Secret".to_string(),
            EnvSource::ResourceFieldRef => "comes from a resourceFieldRef, not from a Secret".to_string(),
            EnvSource::Other => "has a `valueFrom` without a secretKeyRef".to_string(),
        },
        many => format!(
            "is defined {} times in one container; Kubernetes keeps the last, and any plain copy is readable",
            many.len()
        ),
    };
    let at = defs.last().expect("not empty").node.span;
    out.push(finding(
        Rule::AdminPasswordNotFromSecret,
        w,
        at,
        Some(container),
        Some(ADMIN_PASSWORD),
        format!(
            "{ADMIN_PASSWORD} in {} (container {container}) {message}",
            w.object.display()
        ),
        ADMIN_FIX.to_string(),
    ));
}

/// A ConfigMap in the stream that hands the admin password to a container by `envFrom`.
fn admin_password_from_config_map(
    w: &Workload<'_, '_>,
    index: &Index<'_, '_, '_>,
    out: &mut Vec<Finding>,
) {
    for r in reference::references(w.pod_spec) {
        let (TargetKind::ConfigMap, Via::EnvFrom { prefix }) = (r.target, r.via) else {
            continue;
        };
        let Some(key) = ADMIN_PASSWORD.strip_prefix(prefix) else {
            continue;
        };
        let Some(cm) = index.find(TargetKind::ConfigMap, r.name, w.object.namespace) else {
            continue;
        };
        if cm.entries.contains_key(key) {
            out.push(finding(
                Rule::AdminPasswordNotFromSecret,
                w,
                r.span,
                r.container,
                Some(ADMIN_PASSWORD),
                format!(
                    "{ADMIN_PASSWORD} reaches {} (container {}) from ConfigMap {} by envFrom; ConfigMaps are not secret",
                    w.object.display(),
                    r.container.unwrap_or("?"),
                    r.name
                ),
                format!("remove {key} from ConfigMap {}; {ADMIN_FIX}", r.name),
            ));
        }
    }
}

fn duplicate_env(
    w: &Workload<'_, '_>,
    container: &str,
    vars: &[&EnvVar<'_, '_>],
    out: &mut Vec<Finding>,
) {
    let mut seen = HashSet::new();
    let mut reported = HashSet::new();
    for v in vars {
        // The admin password has its own, stricter rule.
        if v.name == ADMIN_PASSWORD {
            continue;
        }
        if !seen.insert(v.name) && reported.insert(v.name) {
            out.push(finding(
                Rule::DuplicateEnv,
                w,
                v.node.span,
                Some(container),
                Some(v.name),
                format!(
                    "{} is defined more than once in {} (container {container}); Kubernetes silently keeps the last",
                    v.name,
                    w.object.display()
                ),
                "keep one definition; check the0Api.env against the0Api.extraEnv".into(),
            ));
        }
    }
}

fn sensitive_plain_value(w: &Workload<'_, '_>, v: &EnvVar<'_, '_>, out: &mut Vec<Finding>) {
    let EnvSource::Plain(value) = v.source else {
        return;
    };
    if v.name == ADMIN_PASSWORD || is_harmless_value(value) {
        return;
    }
    let what = if looks_sensitive(v.name) && !v.name.ends_with("_FILE") {
        "has a secret-looking name and a plain value"
    } else if url_has_password(value) {
        "embeds credentials in a URL (scheme://user:password@host)"
    } else {
        return;
    };
    out.push(finding(
        Rule::SensitiveEnvPlainValue,
        w,
        v.node.span,
        Some(v.container),
        Some(v.name),
        format!(
            "{} in {} (container {}) {what}; the value is readable by anyone who can read the workload",
            v.name,
            w.object.display(),
            v.container
        ),
        "put the value in a Secret and use `valueFrom.secretKeyRef`".into(),
    ));
}

const SENSITIVE_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "SECRET",
    "TOKEN",
    "API_KEY",
    "APIKEY",
    "PRIVATE_KEY",
    "ACCESS_KEY",
    "CREDENTIAL",
    "AUTH_KEY",
    "CLIENT_SECRET",
    "DSN",
];

pub fn looks_sensitive(name: &str) -> bool {
    let upper = name.to_ascii_uppercase().replace('-', "_");
    SENSITIVE_WORDS.iter().any(|w| upper.contains(w))
}

/// Values that cannot be a secret: empty, a `$(VAR)` reference, a path, a
/// number, a boolean, a duration.
fn is_harmless_value(value: &str) -> bool {
    let v = value.trim();
    v.is_empty()
        || (v.starts_with("$(") && v.ends_with(')') && !v[2..].contains("$("))
        || v.starts_with('/')
        || v.parse::<f64>().is_ok()
        || matches!(
            v.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off"
        )
        || is_duration(v)
}

fn is_duration(v: &str) -> bool {
    let digits = v.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &v[digits.len()..];
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && matches!(unit, "ms" | "s" | "m" | "h" | "d")
}

/// `scheme://user:password@host` with a literal password (not `$(VAR)`).
pub fn url_has_password(value: &str) -> bool {
    let Some(scheme_end) = value.find("://") else {
        return false;
    };
    let rest = &value[scheme_end + 3..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let Some(at) = authority.rfind('@') else {
        return false;
    };
    let Some((_, password)) = authority[..at].split_once(':') else {
        return false;
    };
    let is_reference = password.starts_with("$(") && password.ends_with(')');
    !password.is_empty() && !is_reference
}

/// the0's API Deployment, whatever the release or `fullnameOverride` made its
/// name: the chart labels it `app.kubernetes.io/name: the0` and
/// `app.kubernetes.io/component: api`.
pub fn is_the0_api(w: &Workload<'_, '_>) -> bool {
    if w.rollout != Rollout::Rolls {
        return false;
    }
    let labelled = w.label("app.kubernetes.io/component") == Some("api")
        && (w.label("app.kubernetes.io/name") == Some("the0")
            || w.label("app.kubernetes.io/part-of") == Some("the0"));
    labelled || w.object.name == "the0-api" || w.object.name.ends_with("-the0-api")
}

/// Whether some container can see the admin password: an env entry of any
/// kind (wrong kinds are reported by their own rule), or an `envFrom` source
/// that holds it or that we cannot see into.
fn provides_admin_password(
    w: &Workload<'_, '_>,
    vars: &[EnvVar<'_, '_>],
    index: &Index<'_, '_, '_>,
) -> bool {
    if vars.iter().any(|v| v.name == ADMIN_PASSWORD) {
        return true;
    }
    reference::references(w.pod_spec).iter().any(|r| {
        let Via::EnvFrom { prefix } = r.via else {
            return false;
        };
        let Some(key) = ADMIN_PASSWORD.strip_prefix(prefix) else {
            return false;
        };
        match index.find(r.target, r.name, w.object.namespace) {
            Some(source) => source.entries.contains_key(key) || !source.keys_known,
            None => true,
        }
    })
}

fn references(w: &Workload<'_, '_>, index: &Index<'_, '_, '_>, out: &mut Vec<Finding>) {
    let mut unresolved_reported = HashSet::new();
    let mut consumes_in_stream = false;
    for r in reference::references(w.pod_spec) {
        if r.name.is_empty() {
            continue;
        }
        let kind = r.target.as_str();
        match index.find(r.target, r.name, w.object.namespace) {
            None => {
                if !r.optional && unresolved_reported.insert((r.target, r.name)) {
                    out.push(finding(
                        Rule::UnresolvedReference,
                        w,
                        r.span,
                        r.container,
                        var_of(&r.via),
                        format!(
                            "{} uses {kind} {} ({}), which is not in the rendered output; its rotation cannot be stamped",
                            w.object.display(),
                            r.name,
                            r.via.describe()
                        ),
                        format!(
                            "render the {kind} in the same release, or restart {} yourself when it changes",
                            w.object.display()
                        ),
                    ));
                }
            }
            Some(source) => {
                consumes_in_stream = true;
                let Some(key) = r.key else { continue };
                if r.optional || !source.keys_known || source.entries.contains_key(key) {
                    continue;
                }
                out.push(finding(
                    Rule::MissingSecretKey,
                    w,
                    r.span,
                    r.container,
                    var_of(&r.via),
                    format!(
                        "{} reads key `{key}` of {kind} {} ({}), but that {kind} has no such key; the pod will not start",
                        w.object.display(),
                        r.name,
                        r.via.describe()
                    ),
                    format!("add `{key}` to {kind} {}, fix the key name, or mark the reference `optional: true`", r.name),
                ));
            }
        }
    }
    if consumes_in_stream && w.rollout == Rollout::ImmutableJob {
        out.push(finding(
            Rule::ImmutableJobNotStamped,
            w,
            w.object.node.span,
            None,
            None,
            format!(
                "{} consumes Secrets or ConfigMaps but was not stamped: a Job's pod template is immutable, so a changed stamp would make `helm upgrade` fail",
                w.object.display()
            ),
            "make it a Helm hook (helm.sh/hook) to have it stamped, or give the Job a new name when its inputs change".into(),
        ));
    }
}

fn var_of<'t>(via: &Via<'t>) -> Option<&'t str> {
    match via {
        Via::Env { var } => Some(var),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_names() {
        for name in [
            "DB_PASSWORD",
            "JWT_SECRET",
            "GITHUB_TOKEN",
            "api-key",
            "AWS_SECRET_ACCESS_KEY",
            "SENTRY_DSN",
        ] {
            assert!(looks_sensitive(name), "{name}");
        }
        for name in ["LOG_LEVEL", "NAMESPACE", "PORT", "MINIO_BUCKET"] {
            assert!(!looks_sensitive(name), "{name}");
        }
    }

    #[test]
    fn harmless_values() {
        for v in [
            "",
            "$(DB_PASSWORD)",
            "/run/secrets/db",
            "8",
            "true",
            "30s",
            "24h",
        ] {
            assert!(is_harmless_value(v), "{v}");
        }
        for v in ["hunter2", "s3cr3t-value", "$(A)$(B)x"] {
            assert!(!is_harmless_value(v), "{v}");
        }
    }

    #[test]
    fn credentials_in_urls() {
        assert!(url_has_password("postgres://the0:hunter2@db:5432/the0"));
        assert!(url_has_password(
            "mongodb://root:p%40ss@mongo/?authSource=admin"
        ));
        assert!(!url_has_password(
            "postgres://the0:$(DB_PASSWORD)@db:5432/the0"
        ));
        assert!(!url_has_password("https://user@example.com/x:y@z"));
        assert!(!url_has_password("nats://nats:4222"));
        assert!(!url_has_password("not a url"));
    }
}
