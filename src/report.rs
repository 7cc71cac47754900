//! Findings and how they are shown to a person.

use std::fmt::Write as _;

use crate::rule::RuleId;

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
    /// The file the finding is about when it is not the input: a
    /// `--secrets-from` file. Line and column are then that file's.
    pub file: Option<String>,
    /// 0-based document index.
    pub doc: usize,
    pub template: Option<String>,
    pub line: usize,
    pub col: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The rule, e.g. `admin-password-not-from-secret`.
    pub rule: RuleId,
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
    /// Silenced by a `secret-rollout/ignore` annotation, with its reason.
    pub suppressed: Option<String>,
}

impl Finding {
    /// Counts towards the exit code and is shown by default.
    pub fn is_active(&self) -> bool {
        self.suppressed.is_none()
    }
}

/// Compiler-style text for a person:
///
/// ```text
/// error[admin-password-not-from-secret]: THE0_ADMIN_PASSWORD is a plain value
///   --> the0/templates/api.yaml (document 3) at <stdin>:41:13
///    = workload: Deployment/the0-api, container: api, variable: THE0_ADMIN_PASSWORD
///    = help: …
/// ```
pub fn text<'f>(findings: impl IntoIterator<Item = &'f Finding>, input_name: &str) -> String {
    let mut out = String::new();
    for f in findings {
        let _ = writeln!(out, "{}[{}]: {}", f.severity.as_str(), f.rule, f.message);
        let l = &f.location;
        match &l.file {
            Some(file) => {
                let _ = writeln!(out, "  --> {file}:{}:{}", l.line, l.col);
            }
            None => {
                let template = l.template.as_deref().unwrap_or("(no template)");
                let _ = writeln!(
                    out,
                    "  --> {template} (document {}) at {input_name}:{}:{}",
                    l.doc + 1,
                    l.line,
                    l.col
                );
            }
        }
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
        if let Some(reason) = &f.suppressed {
            let _ = writeln!(
                out,
                "   = suppressed: {}",
                if reason.is_empty() {
                    "(no reason given)"
                } else {
                    reason
                }
            );
        }
        out.push('\n');
    }
    out
}

/// Findings counted by severity; suppressed ones apart, never lost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
    pub notes: usize,
    pub suppressed: usize,
}

impl Counts {
    pub fn of<'f>(findings: impl IntoIterator<Item = &'f Finding>) -> Counts {
        let mut c = Counts::default();
        for f in findings {
            match (f.is_active(), f.severity) {
                (false, _) => c.suppressed += 1,
                (true, Severity::Error) => c.errors += 1,
                (true, Severity::Warning) => c.warnings += 1,
                (true, Severity::Note) => c.notes += 1,
            }
        }
        c
    }

    /// `2 errors, 1 warning, 0 notes (1 suppressed)`: the line a person reads first.
    pub fn summary(&self) -> String {
        let plural = |n: usize, word: &str| {
            if n == 1 {
                format!("{n} {word}")
            } else {
                format!("{n} {word}s")
            }
        };
        let mut line = format!(
            "{}, {}, {}",
            plural(self.errors, "error"),
            plural(self.warnings, "warning"),
            plural(self.notes, "note")
        );
        if self.suppressed > 0 {
            line.push_str(&format!(" ({} suppressed)", self.suppressed));
        }
        line
    }
}

/// The summary line of some findings.
pub fn summary(findings: &[Finding]) -> String {
    Counts::of(findings).summary()
}
