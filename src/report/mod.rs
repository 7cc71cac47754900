//! Findings shown to people and CI: compiler-style text and the summary
//! lines here, the machine formats in [`format`].

pub mod chart;
pub mod format;

use std::fmt::Write as _;

use crate::policy::finding::{Counts, Finding, Location};
use crate::yaml::stream::doc_name;

/// The name findings use for standard input.
pub const STDIN: &str = "<stdin>";

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
    match (&l.place, input_name == STDIN) {
        (Some(place), true) => place.describe(),
        (Some(place), false) => format!("{stream} ({})", place.describe()),
        // A template without a place is a name another front end gave the
        // object (a ResourceList item): say it, then where in the input.
        (None, _) => match &l.template {
            Some(t) => format!("{t} ({}) at {stream}", doc_name(l.doc, None)),
            None => format!("{stream} ({})", doc_name(l.doc, None)),
        },
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
pub fn stamps(stamped: &[crate::kube::stamp::Stamped]) -> String {
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
                crate::kube::inventory::Origin::Render => {
                    format!("{}/{}", c.target.as_str(), c.name)
                }
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
