//! Findings and how they are shown to a person.

use std::fmt::Write as _;

/// Stable rule ids: they appear in output and in suppressions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    AdminPasswordNotFromSecret,
    AdminPasswordMissing,
    SensitiveEnvPlainValue,
    MissingSecretKey,
    UnresolvedReference,
    DuplicateEnv,
    ImmutableJobNotStamped,
}

impl Rule {
    pub const ALL: [Rule; 7] = [
        Rule::AdminPasswordNotFromSecret,
        Rule::AdminPasswordMissing,
        Rule::SensitiveEnvPlainValue,
        Rule::MissingSecretKey,
        Rule::UnresolvedReference,
        Rule::DuplicateEnv,
        Rule::ImmutableJobNotStamped,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Rule::AdminPasswordNotFromSecret => "admin-password-not-from-secret",
            Rule::AdminPasswordMissing => "admin-password-missing",
            Rule::SensitiveEnvPlainValue => "sensitive-env-plain-value",
            Rule::MissingSecretKey => "missing-secret-key",
            Rule::UnresolvedReference => "unresolved-reference",
            Rule::DuplicateEnv => "duplicate-env",
            Rule::ImmutableJobNotStamped => "immutable-job-not-stamped",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            Rule::AdminPasswordNotFromSecret
            | Rule::AdminPasswordMissing
            | Rule::MissingSecretKey => Severity::Error,
            Rule::SensitiveEnvPlainValue | Rule::UnresolvedReference | Rule::DuplicateEnv => {
                Severity::Warning
            }
            Rule::ImmutableJobNotStamped => Severity::Note,
        }
    }
}

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

/// Where a finding points: the document, the chart template it came from,
/// and the line and column in the input stream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    /// 0-based document index.
    pub doc: usize,
    pub template: Option<String>,
    pub line: usize,
    pub col: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub rule: Rule,
    pub severity: Severity,
    pub location: Location,
    /// `Deployment/the0-api`.
    pub workload: Option<String>,
    pub container: Option<String>,
    pub variable: Option<String>,
    /// What is wrong. Never contains a secret value.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

/// Compiler-style text for a person:
///
/// ```text
/// error[admin-password-not-from-secret]: THE0_ADMIN_PASSWORD is a plain value
///   --> the0/templates/api.yaml (document 3) at <stdin>:41:13
///    = workload: Deployment/the0-api, container: api, variable: THE0_ADMIN_PASSWORD
///    = help: …
/// ```
pub fn text(findings: &[Finding], input_name: &str) -> String {
    let mut out = String::new();
    for f in findings {
        let _ = writeln!(
            out,
            "{}[{}]: {}",
            f.severity.as_str(),
            f.rule.id(),
            f.message
        );
        let l = &f.location;
        let template = l.template.as_deref().unwrap_or("(no template)");
        let _ = writeln!(
            out,
            "  --> {template} (document {}) at {input_name}:{}:{}",
            l.doc + 1,
            l.line,
            l.col
        );
        let mut subject = Vec::new();
        if let Some(w) = &f.workload {
            subject.push(format!("workload: {w}"));
        }
        if let Some(c) = &f.container {
            subject.push(format!("container: {c}"));
        }
        if let Some(v) = &f.variable {
            subject.push(format!("variable: {v}"));
        }
        if !subject.is_empty() {
            let _ = writeln!(out, "   = {}", subject.join(", "));
        }
        if !f.help.is_empty() {
            let _ = writeln!(out, "   = help: {}", f.help);
        }
        out.push('\n');
    }
    out
}

/// `2 errors, 1 warning` — the line a person reads first.
pub fn summary(findings: &[Finding]) -> String {
    let count = |s| findings.iter().filter(|f| f.severity == s).count();
    let plural = |n: usize, word: &str| {
        if n == 1 {
            format!("{n} {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    format!(
        "{}, {}, {}",
        plural(count(Severity::Error), "error"),
        plural(count(Severity::Warning), "warning"),
        plural(count(Severity::Note), "note")
    )
}
