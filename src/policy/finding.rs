//! A finding: what a rule found, where, about which workload, container and
//! variable, and how to fix it. Rules make them; [`crate::report`] shows them.

use crate::kube::place::Place;
use crate::policy::rule::{RuleId, Severity};

/// Where a finding points: the document and position in the input, and
/// where a person finds the same thing in what they can open.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    /// The file the finding is about when it is not the input: a
    /// `--secrets-from` file. Line and column are then that file's.
    pub file: Option<String>,
    /// 0-based document index.
    pub doc: usize,
    /// The chart template the object was rendered from, when Helm said.
    pub template: Option<String>,
    /// 1-based line and column in the input (the stream Helm sent, or the
    /// file as given).
    pub line: usize,
    pub col: usize,
    /// The chart template or source file the object came from, and the line
    /// within its document: what a person can open, unlike a line of the
    /// stream Helm 4 or kustomize re-serialized.
    pub place: Option<Place>,
    /// The key path within the object, readable:
    /// `spec.template.spec.containers[api].env[THE0_ADMIN_PASSWORD]`.
    /// `None` when the finding is about the object as a whole.
    pub path: Option<String>,
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
