//! The rule catalogue: every rule a policy can report, as a typed id.
//!
//! Ids are stable: they appear in output, in policy `rules:` and in
//! `secret-rollout/ignore` annotations. The built-in rules are [`Rule`]; a
//! policy's `requiredSources` entry `X` adds `X-not-from-secret` and
//! `X-missing`. Only [`RuleId`]'s `Display` spells an id and only
//! [`RuleId::parse`] reads one, so the two cannot drift apart.

use std::fmt;

/// How much a finding matters: an error fails the render or the gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// The built-in rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    SensitiveEnvPlainValue,
    SensitiveConfigMapValue,
    SensitiveCommandValue,
    SecretInEnv,
    MissingSecretKey,
    UnresolvedReference,
    DuplicateEnv,
    ImmutableJobNotStamped,
    UnknownSuppression,
    ForbiddenSuppression,
    UnkeyedDigest,
    ProviderRotationNotSeen,
    SecretAppliedWithoutOrder,
    SimultaneousRotation,
    RotationConsequence,
    LookupFailed,
    RotationNotReached,
    SuppressionWithoutReason,
    ExpiredSuppression,
    InvalidInput,
}

impl Rule {
    /// Whether a policy may change its severity or turn it off. Input that
    /// cannot be read is never a policy matter: it always fails the run.
    pub fn is_configurable(self) -> bool {
        self != Rule::InvalidInput
    }

    pub const ALL: [Rule; 20] = [
        Rule::SensitiveEnvPlainValue,
        Rule::SensitiveConfigMapValue,
        Rule::SensitiveCommandValue,
        Rule::SecretInEnv,
        Rule::MissingSecretKey,
        Rule::UnresolvedReference,
        Rule::DuplicateEnv,
        Rule::ImmutableJobNotStamped,
        Rule::UnknownSuppression,
        Rule::ForbiddenSuppression,
        Rule::UnkeyedDigest,
        Rule::ProviderRotationNotSeen,
        Rule::SecretAppliedWithoutOrder,
        Rule::SimultaneousRotation,
        Rule::RotationConsequence,
        Rule::LookupFailed,
        Rule::RotationNotReached,
        Rule::SuppressionWithoutReason,
        Rule::ExpiredSuppression,
        Rule::InvalidInput,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Rule::SensitiveEnvPlainValue => "sensitive-env-plain-value",
            Rule::SensitiveConfigMapValue => "sensitive-config-map-value",
            Rule::SensitiveCommandValue => "sensitive-command-value",
            Rule::SecretInEnv => "secret-in-env",
            Rule::MissingSecretKey => "missing-secret-key",
            Rule::UnresolvedReference => "unresolved-reference",
            Rule::DuplicateEnv => "duplicate-env",
            Rule::ImmutableJobNotStamped => "immutable-job-not-stamped",
            Rule::UnknownSuppression => "unknown-suppression",
            Rule::ForbiddenSuppression => "forbidden-suppression",
            Rule::UnkeyedDigest => "unkeyed-digest",
            Rule::ProviderRotationNotSeen => "provider-rotation-not-seen",
            Rule::SecretAppliedWithoutOrder => "secret-applied-without-order",
            Rule::SimultaneousRotation => "simultaneous-rotation",
            Rule::RotationConsequence => "rotation-consequence",
            Rule::LookupFailed => "lookup-failed",
            Rule::RotationNotReached => "rotation-not-reached",
            Rule::SuppressionWithoutReason => "suppression-without-reason",
            Rule::ExpiredSuppression => "expired-suppression",
            Rule::InvalidInput => "invalid-input",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            Rule::MissingSecretKey | Rule::ForbiddenSuppression | Rule::InvalidInput => {
                Severity::Error
            }
            Rule::SensitiveEnvPlainValue
            | Rule::SensitiveConfigMapValue
            | Rule::SensitiveCommandValue
            | Rule::SecretInEnv
            | Rule::SuppressionWithoutReason
            | Rule::ExpiredSuppression
            | Rule::UnresolvedReference
            | Rule::DuplicateEnv
            | Rule::UnknownSuppression
            | Rule::SecretAppliedWithoutOrder
            | Rule::SimultaneousRotation
            | Rule::LookupFailed => Severity::Warning,
            Rule::ImmutableJobNotStamped
            | Rule::UnkeyedDigest
            | Rule::ProviderRotationNotSeen
            | Rule::RotationConsequence
            | Rule::RotationNotReached => Severity::Note,
        }
    }

    /// One line on what the rule catches.
    pub fn summary(self) -> &'static str {
        match self {
            Rule::SensitiveEnvPlainValue => {
                "an env var has a plain value that is a credential: by its name (policy names, name tokens) or its value (known formats, URLs with user:password@, base64, entropy)"
            }
            Rule::SensitiveConfigMapValue => {
                "a ConfigMap key that reaches a container (envFrom, configMapKeyRef, volume) is a credential by its name or value"
            }
            Rule::SensitiveCommandValue => {
                "command, args, an exec handler or an exec probe carries a credential (a secret flag or assignment, a URL with a password, a known token format)"
            }
            Rule::SecretInEnv => {
                "guard.secretsAs: files (CIS 5.4.1): a Secret is read into env vars instead of mounted as files"
            }
            Rule::MissingSecretKey => {
                "a pod reads a key that the Secret or ConfigMap in the stream does not have"
            }
            Rule::UnresolvedReference => {
                "a pod uses a Secret or ConfigMap that is not in the rendered output, so its rotation cannot be stamped"
            }
            Rule::DuplicateEnv => "the same env var is defined twice in one container",
            Rule::ImmutableJobNotStamped => {
                "a Job that is not a Helm hook consumes Secrets but cannot be stamped (its template is immutable)"
            }
            Rule::UnknownSuppression => "a secret-rollout/ignore annotation names a rule that does not exist",
            Rule::ForbiddenSuppression => {
                "a secret-rollout/ignore annotation names a rule the policy makes unsuppressible; the finding stays"
            }
            Rule::UnkeyedDigest => {
                "Secret values are stamped as a plain sha256, which lets anyone who can read the workloads test guesses of a weak value; give a --digest-key-file"
            }
            Rule::ProviderRotationNotSeen => {
                "an ExternalSecret is stamped from its spec, so a rotation inside the secret store rolls nothing"
            }
            Rule::SecretAppliedWithoutOrder => {
                "(flux) the GitOps layout does not make Flux apply a stamped Secret before the HelmRelease that rolls its readers"
            }
            Rule::SimultaneousRotation => {
                "diff: one change rotates the secrets of more than one external service (the policy's rotation groups)"
            }
            Rule::RotationConsequence => {
                "diff: a rotated secret has a consequence the policy names (rotating JWT_SECRET logs every user out)"
            }
            Rule::SuppressionWithoutReason => {
                "a secret-rollout/ignore annotation gives no reason (it still suppresses)"
            }
            Rule::ExpiredSuppression => {
                "a secret-rollout/ignore annotation is past its `until` date (or the date cannot be read): it suppresses nothing"
            }
            Rule::RotationNotReached => {
                "a rotation does not reach a consumer: its changed stamp restarts nothing (OnDelete, paused, CronJob until its next run, PodTemplate, bare Pod), or the Secret or ConfigMap is immutable"
            }
            Rule::InvalidInput => {
                "an input cannot be read as manifests (YAML that does not parse, a value the API server would refuse, a pod template that cannot be stamped): nothing in it is checked, and the run exits 2"
            }
            Rule::LookupFailed => {
                "--lookup could not read a Secret or ConfigMap a pod uses from the cluster (not there, forbidden, no answer before the deadline), so its rotation is not stamped"
            }
        }
    }
}

/// Suffixes of the rules a `requiredSources` entry adds.
const NOT_FROM_SECRET: &str = "-not-from-secret";
const MISSING: &str = "-missing";

/// Any rule a policy can report.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleId {
    BuiltIn(Rule),
    /// `<id>-not-from-secret`: the `requiredSources` entry's variable has
    /// another source than a Secret.
    NotFromSecret(String),
    /// `<id>-missing`: a workload the entry's `requiredIn` selects lacks it.
    Missing(String),
}

impl RuleId {
    /// The severity when the policy does not set one.
    pub fn default_severity(&self) -> Severity {
        match self {
            RuleId::BuiltIn(r) => r.severity(),
            RuleId::NotFromSecret(_) | RuleId::Missing(_) => Severity::Error,
        }
    }

    /// The rule `text` names under a policy whose `requiredSources` have
    /// the ids `is_required` accepts.
    pub fn parse(text: &str, is_required: impl Fn(&str) -> bool) -> Option<RuleId> {
        if let Some(&r) = Rule::ALL.iter().find(|r| r.id() == text) {
            return Some(RuleId::BuiltIn(r));
        }
        let source = |id: &str| is_required(id).then(|| id.to_string());
        if let Some(id) = text.strip_suffix(NOT_FROM_SECRET) {
            return source(id).map(RuleId::NotFromSecret);
        }
        text.strip_suffix(MISSING)
            .and_then(source)
            .map(RuleId::Missing)
    }
}

impl From<Rule> for RuleId {
    fn from(r: Rule) -> Self {
        RuleId::BuiltIn(r)
    }
}

impl PartialEq<Rule> for RuleId {
    fn eq(&self, other: &Rule) -> bool {
        *self == RuleId::BuiltIn(*other)
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleId::BuiltIn(r) => f.write_str(r.id()),
            RuleId::NotFromSecret(id) => write!(f, "{id}{NOT_FROM_SECRET}"),
            RuleId::Missing(id) => write!(f, "{id}{MISSING}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_need_their_required_source() {
        let required = |id: &str| id == "admin-password";
        assert_eq!(
            RuleId::parse("admin-password-missing", required),
            Some(RuleId::Missing("admin-password".into()))
        );
        for unknown in [
            "jwt-secret-missing",
            "admin-password",
            "-missing",
            "missing",
        ] {
            assert_eq!(RuleId::parse(unknown, required), None, "{unknown}");
        }
    }
}
