//! Where the rules write: one workload's findings, each placed at a span of
//! its pod template and kept at the severity the policy sets (or dropped
//! when the policy turns the rule off). [`crate::policy::check`] and
//! [`crate::policy::guard`] both write through it.

use crate::kube::reference::{EnvVar, Reference};
use crate::kube::workload::Workload;
use crate::policy::config::Policy;
use crate::policy::finding::{Finding, Location};
use crate::policy::rule::{Rule, RuleId};
use crate::trust::name::shown;
use crate::yaml::tree::Span;

/// What a finding points at: a span of the workload, and its key path
/// (`None` for the workload as a whole).
pub(crate) struct At {
    pub span: Span,
    pub path: Option<String>,
}

impl At {
    pub fn object(w: &Workload) -> At {
        At {
            span: w.object.at.span,
            path: None,
        }
    }

    pub fn env(w: &Workload, v: &EnvVar) -> At {
        At {
            span: v.span,
            path: Some(w.in_pod_spec(&v.path())),
        }
    }

    pub fn reference(w: &Workload, r: &Reference) -> At {
        At {
            span: r.span,
            path: Some(w.in_pod_spec(&r.path())),
        }
    }
}

/// Collects one workload's findings at the severities the policy sets.
pub(crate) struct Out<'w> {
    pub w: &'w Workload,
    pub policy: &'w Policy,
    pub findings: Vec<Finding>,
}

impl<'w> Out<'w> {
    pub fn new(w: &'w Workload, policy: &'w Policy) -> Out<'w> {
        Out {
            w,
            policy,
            findings: Vec::new(),
        }
    }

    pub fn push(
        &mut self,
        rule: RuleId,
        at: At,
        container: Option<&str>,
        variable: Option<&str>,
        message: String,
        help: String,
    ) {
        let Some(severity) = self.policy.level(&rule) else {
            return;
        };
        self.findings.push(Finding {
            rule,
            severity,
            location: location(self.w, at),
            workload: Some(self.w.object.display()),
            container: container.map(|c| shown(c).into_owned()),
            variable: variable.map(|v| shown(v).into_owned()),
            message,
            help,
            suppressed: None,
        });
    }

    pub fn rule(
        &mut self,
        rule: Rule,
        at: At,
        container: Option<&str>,
        variable: Option<&str>,
        message: String,
        help: String,
    ) {
        self.push(rule.into(), at, container, variable, message, help);
    }
}

fn location(w: &Workload, at: At) -> Location {
    Location {
        file: None,
        doc: w.object.at.doc,
        template: w.object.at.template.as_deref().map(str::to_string),
        line: at.span.line,
        col: at.span.col,
        place: w.object.place(at.span),
        path: at.path,
    }
}
