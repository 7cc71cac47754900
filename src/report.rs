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

/// What kind of thing a [`Place`] names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaceKind {
    /// A chart template (`the0/templates/the0-api.yaml`): Helm 3's
    /// `# Source:` comment or Helm 4's filename annotation.
    Template,
    /// The file kustomize (or another KRM orchestrator) read the object
    /// from: its `internal.config.kubernetes.io/path` or
    /// `config.kubernetes.io/path` annotation.
    File,
}

impl PlaceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PlaceKind::Template => "template",
            PlaceKind::File => "file",
        }
    }
}

/// A position in a chart template's rendered output or in a source file.
///
/// The line is counted within the object's document, from its first line of
/// content (after Helm's `---` and `# Source:` lines), leaving out the lines
/// that Helm 4 or kustomize added (their filename and path annotations, and
/// an `annotations:` line that holds nothing else). Helm 4 and kustomize
/// re-serialize the stream, so its lines are not the ones the user rendered;
/// counted this way they are, for Helm 3 and Helm 4 alike.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub kind: PlaceKind,
    pub path: String,
    /// 1-based: which of the documents rendered from this template (in the
    /// order `helm template --show-only` prints them) or read from this file.
    pub document: usize,
    /// How many documents the input holds from this template; 0 when not
    /// known (a file named by kustomize's annotations).
    pub documents: usize,
    /// 1-based line within that document. (No column: Helm 4 and kustomize
    /// re-indent sequences, so only the line is the user's.)
    pub line: usize,
    /// The chart template as a file of the repository, at the template's
    /// own line (`check --chart-root`): what a pull request's diff shows.
    pub chart_file: Option<ChartFile>,
}

/// A chart template's file, as the user named the chart's directory, and a
/// 1-based line of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChartFile {
    pub path: String,
    pub line: usize,
}

impl Place {
    /// `the0/templates/the0-api.yaml, document 2, line 81`; the document is
    /// named only when the template rendered several.
    pub fn describe(&self) -> String {
        if self.documents == 1 {
            format!("{}, line {}", self.path, self.line)
        } else {
            format!(
                "{}, document {}, line {}",
                self.path, self.document, self.line
            )
        }
    }
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
///   --> the0/templates/the0-api.yaml, document 2, line 81
///    = path: spec.template.spec.containers[api].env[THE0_ADMIN_PASSWORD]
///    = workload: Deployment/the0-api, container: api, variable: THE0_ADMIN_PASSWORD
///    = help: …
/// ```
///
/// A line of standard input is shown only when nothing better is known:
/// Helm's stream is not something the user can open. A file given as input
/// is, so its line comes first.
pub fn text<'f>(findings: impl IntoIterator<Item = &'f Finding>, input_name: &str) -> String {
    let mut out = String::new();
    for f in findings {
        let _ = writeln!(out, "{}[{}]: {}", f.severity.as_str(), f.rule, f.message);
        let _ = writeln!(out, "  --> {}", position(&f.location, input_name));
        if let Some(path) = &f.location.path {
            let _ = writeln!(out, "   = path: {path}");
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

/// The `-->` line: where to look, most openable first.
pub fn position(l: &Location, input_name: &str) -> String {
    if let Some(file) = &l.file {
        return format!("{file}:{}:{}", l.line, l.col);
    }
    let stream = format!("{input_name}:{}:{}", l.line, l.col);
    match (&l.place, input_name == crate::format::STDIN) {
        (Some(place), true) => place.describe(),
        (Some(place), false) => format!("{stream} ({})", place.describe()),
        // A template without a place is a name another front end gave the
        // object (a ResourceList item): say it, then where in the input.
        (None, _) => match &l.template {
            Some(t) => format!("{t} (document {}) at {stream}", l.doc + 1),
            None => format!("{stream} (document {})", l.doc + 1),
        },
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

/// The summary line of some findings.
pub fn summary(findings: &[Finding]) -> String {
    Counts::of(findings).summary()
}

/// At most this many workloads are listed in [`stamps`]; a person wants the
/// shape of the render on one screen, `explain` has the rest.
const STAMPS_LISTED: usize = 30;

/// What `render` stamped, for a person watching: one line per pod template,
/// naming the Secrets and ConfigMaps its stamps stand for and where each was
/// found when that is not the render itself.
pub fn stamps(stamped: &[crate::Stamped]) -> String {
    let mut out = String::new();
    let templates = if stamped.len() == 1 {
        "template"
    } else {
        "templates"
    };
    let _ = writeln!(
        out,
        "secret-rollout: stamped {} pod {templates}",
        stamped.len()
    );
    let width = stamped
        .iter()
        .take(STAMPS_LISTED)
        .map(|s| s.workload.chars().count())
        .max()
        .unwrap_or(0);
    for s in stamped.iter().take(STAMPS_LISTED) {
        let sources: Vec<String> = s
            .sources
            .iter()
            .map(|c| match &c.origin {
                crate::inventory::Origin::Render => format!("{}/{}", c.target.as_str(), c.name),
                origin => format!("{}/{} ({origin})", c.target.as_str(), c.name),
            })
            .collect();
        let sources = if sources.is_empty() {
            "nothing it reads is known (no stamp)".to_string()
        } else {
            sources.join(", ")
        };
        let _ = writeln!(out, "  {:width$}  <- {sources}", s.workload);
    }
    if stamped.len() > STAMPS_LISTED {
        let _ = writeln!(
            out,
            "  … and {} more (`secret-rollout explain` lists them all)",
            stamped.len() - STAMPS_LISTED
        );
    }
    out
}
