//! The rules, applied to every workload under a [`Policy`]. The built-in
//! policy protects the0's root admin password and catches the mistakes that
//! make a rotation silently not happen.

use crate::trust::name::{shown, Name};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashSet};

use crate::kube::inventory::{Index, Origin, Protection, Source, TargetKind};
use crate::kube::reference::{EnvSource, EnvVar, Reference, Via};
use crate::kube::workload::{Ignore, Reach, Rollout, Workload, IGNORE};
use crate::policy::config::{Policy, RequiredSource, Selector};
use crate::policy::finding::{Finding, Location};
use crate::policy::out::{At, Out};
use crate::policy::rule::{Rule, RuleId};
use crate::policy::sensitivity;

/// Runs every rule over the workloads; findings come out in stream order.
/// `hooks_alone`: the stream is one of Helm's post-render calls that carry
/// only the release's hooks (see [`HOOKS_ONLY_NOTE`]).
pub fn check(
    workloads: &[Workload],
    index: &Index<'_>,
    policy: &Policy,
    hooks_alone: bool,
) -> Vec<Finding> {
    let names = policy.names();
    // Each workload is judged on its own (against the index): in parallel,
    // the findings kept in workload order before the sort.
    let per_workload = |w: &Workload| {
        let mut out = Out::new(w, policy);
        let (vars, refs) = (&w.env, &w.refs);
        let mut by_container: BTreeMap<&str, Vec<&EnvVar>> = BTreeMap::new();
        for v in vars {
            by_container.entry(&v.container).or_default().push(v);
        }
        for rule in &policy.required_sources {
            if rule.workloads.is_empty() || rule.workloads.iter().any(|s| selects(s, w)) {
                for (container, vars) in &by_container {
                    required_source(&mut out, rule, container, vars);
                }
                required_from_config_map(&mut out, rule, refs, index);
            }
            if rule.required_in.iter().any(|s| selects(s, w))
                && w.rollout == Rollout::Rolls
                && !provides(w, &rule.env, vars, refs, index)
            {
                out.push(
                    rule.missing(),
                    At::object(w),
                    None,
                    Some(&rule.env),
                    format!(
                        "{} must get {} from a Secret, but no container has it",
                        w.object.display(),
                        rule.env
                    ),
                    format!("set it from a Secret: {}", rule.help),
                );
            }
        }
        let guarded: Vec<&str> = policy
            .required_sources
            .iter()
            .map(|r| r.env.as_str())
            .collect();
        for (container, vars) in &by_container {
            duplicate_env(&mut out, container, vars, &guarded);
        }
        crate::policy::guard::check(&mut out, index, &names, &guarded);
        references(&mut out, refs, index, hooks_alone);
        rotation_reach(&mut out, refs, index);
        let mut found = out.findings;
        suppress(w, policy, &mut found);
        found
    };
    let mut findings: Vec<Finding> = workloads.par_iter().flat_map_iter(per_workload).collect();
    findings.sort_by_key(|f| (f.location.doc, f.location.line, f.location.col));
    findings
}

/// Notes about what the stamps themselves reveal or cannot see, once per
/// run: each names every source it concerns and points at the first.
pub fn source_notes(
    workloads: &[Workload],
    index: &Index<'_>,
    policy: &Policy,
    keyed: bool,
) -> Vec<Finding> {
    let mut unkeyed: Vec<&Source> = Vec::new();
    let mut referenced: Vec<&Source> = Vec::new();
    let unkeyed_here = |s: &Source| {
        matches!(s.protection, Protection::Plaintext | Protection::Ciphertext)
            && s.target == TargetKind::Secret
            && s.has_plaintext
            && !keyed
    };
    // What each workload's stamps cover is found in parallel (a lookup
    // per reference), in stream order.
    let consumed: Vec<&Source> = workloads
        .par_iter()
        .flat_map_iter(|w| {
            crate::kube::stamp::consumed(w, index, policy.stamp_config_maps)
                .unwrap_or_default()
                .into_iter()
                .map(|c| c.source)
                .filter(|s| unkeyed_here(s) || s.protection == Protection::Reference)
        })
        .collect();
    // Each source once, in the order first consumed; a set, since a stream
    // of many workloads names many sources (of addresses: foldhash).
    let mut listed: HashSet<*const Source, foldhash::fast::RandomState> = HashSet::default();
    for s in consumed {
        let list = if unkeyed_here(s) {
            &mut unkeyed
        } else {
            &mut referenced
        };
        if listed.insert(std::ptr::from_ref(s)) {
            list.push(s);
        }
    }
    let names = |list: &[&Source]| {
        let mut names: Vec<String> = list.iter().map(|s| shown(&s.name).into_owned()).collect();
        names.sort();
        names.dedup();
        names.join(", ")
    };
    let mut out = Vec::new();
    let mut note = |rule: Rule, list: &[&Source], message: String, help: &str| {
        let rule = RuleId::from(rule);
        let (Some(first), Some(severity)) = (list.first(), policy.level(&rule)) else {
            return;
        };
        out.push(Finding {
            rule,
            severity,
            location: source_location(first),
            workload: None,
            container: None,
            variable: None,
            message,
            help: help.to_string(),
            suppressed: None,
        });
    };
    note(
        Rule::UnkeyedDigest,
        &unkeyed,
        format!(
            "pod templates carry a plain sha256 of the values of Secret {}: anyone who can read those workloads can test guesses of a short or weak value offline",
            names(&unkeyed)
        ),
        "give a key with `--digest-key-file FILE` (SECRET_ROLLOUT_DIGEST_KEY_FILE) for hmac-sha256 digests; adding or changing the key rolls every stamped workload once",
    );
    note(
        Rule::ProviderRotationNotSeen,
        &referenced,
        format!(
            "Secret {} comes from an ExternalSecret: its stamp covers the ExternalSecret's spec, so a rotation inside the secret store changes nothing here and rolls nothing",
            names(&referenced)
        ),
        "after rotating a value in the store, restart the consumers (or let a controller such as Reloader do it); changing the ExternalSecret's spec does roll them",
    );
    out
}

/// Where a finding about a source points: its document in the stream, or
/// its file.
pub(crate) fn source_location(s: &Source) -> Location {
    let file = match &s.origin {
        Origin::File { path, .. } => Some(path.clone()),
        // Never reached: --lookup requires a digest key, and a looked-up
        // Secret is plaintext, never a reference.
        Origin::Render | Origin::Cluster { .. } => None,
    };
    let place = file
        .is_none()
        .then(|| s.object.place(s.object.at.span))
        .flatten();
    Location {
        file,
        doc: s.object.at.doc,
        template: s.object.at.template.as_deref().map(str::to_string),
        line: s.object.at.span.line,
        col: s.object.at.span.col,
        place,
        path: None,
    }
}

/// Whether a selector matches a workload: every given field must match.
pub fn selects(s: &Selector, w: &Workload) -> bool {
    let kind = s.kinds.is_empty() || s.kinds.iter().any(|k| *k == w.object.gvk.kind);
    let name = s.names.is_empty() || s.names.is_match(&w.object.name);
    let labels = s.labels.iter().all(|(k, v)| w.label(k) == Some(v.as_str()));
    let images = s.images.is_empty() || w.images.iter().any(|image| s.images.is_match(image));
    kind && name && labels && images
}

fn required_source(out: &mut Out<'_>, rule: &RequiredSource, container: &str, vars: &[&EnvVar]) {
    let defs: Vec<&&EnvVar> = vars.iter().filter(|v| v.name == rule.env).collect();
    let what = match defs.as_slice() {
        [] => return,
        [one] => match &one.source {
            EnvSource::SecretKeyRef => return,
            EnvSource::Plain(_) => {
                "is set as a plain `value:`, so it sits in the workload in clear text".to_string()
            }
            EnvSource::ConfigMapKeyRef => {
                "comes from a ConfigMap (configMapKeyRef); ConfigMaps are not secret".to_string()
            }
            EnvSource::FieldRef => "comes from a fieldRef, not from a Secret".to_string(),
            EnvSource::ResourceFieldRef => {
                "comes from a resourceFieldRef, not from a Secret".to_string()
            }
            EnvSource::Other => "has a `valueFrom` without a secretKeyRef".to_string(),
        },
        many => format!(
            "is defined {} times in one container; Kubernetes keeps the last, and any plain copy is readable",
            many.len()
        ),
    };
    let at = At::env(out.w, defs.last().expect("not empty"));
    let w = out.w.object.display();
    out.push(
        rule.not_from_secret(),
        at,
        Some(container),
        Some(&rule.env),
        format!("{} in {w} (container {}) {what}", rule.env, Name(container)),
        rule.help.clone(),
    );
}

/// A ConfigMap in the stream that hands the variable to a container by `envFrom`.
fn required_from_config_map(
    out: &mut Out<'_>,
    rule: &RequiredSource,
    refs: &[Reference],
    index: &Index<'_>,
) {
    for r in refs {
        let (TargetKind::ConfigMap, Via::EnvFrom { prefix }) = (r.target, &r.via) else {
            continue;
        };
        let Some(key) = rule.env.strip_prefix(prefix) else {
            continue;
        };
        let namespace = out.w.object.namespace.as_deref();
        let Some(cm) = index.find(TargetKind::ConfigMap, &r.name, namespace) else {
            continue;
        };
        if cm.entries.contains_key(key) {
            let w = out.w.object.display();
            out.push(
                rule.not_from_secret(),
                At::reference(out.w, r),
                r.container.as_deref(),
                Some(&rule.env),
                format!(
                    "{} reaches {w} (container {}) from ConfigMap {} by envFrom; ConfigMaps are not secret",
                    rule.env,
                    Name(r.container.as_deref().unwrap_or("?")),
                    Name(&r.name)
                ),
                format!(
                    "remove {} from ConfigMap {}; {}",
                    Name(key),
                    Name(&r.name),
                    rule.help
                ),
            );
        }
    }
}

fn duplicate_env(out: &mut Out<'_>, container: &str, vars: &[&EnvVar], guarded: &[&str]) {
    let mut seen = HashSet::new();
    let mut reported = HashSet::new();
    for v in vars {
        // Guarded variables have their own, stricter rule.
        if guarded.contains(&v.name.as_str()) {
            continue;
        }
        if !seen.insert(&v.name) && reported.insert(&v.name) {
            let w = out.w.object.display();
            out.rule(
                Rule::DuplicateEnv,
                At::env(out.w, v),
                Some(container),
                Some(&v.name),
                format!(
                    "{} is defined more than once in {w} (container {}); Kubernetes silently keeps the last",
                    Name(&v.name),
                    Name(container)
                ),
                "keep one definition; for the0, check the0Api.env against the0Api.extraEnv".into(),
            );
        }
    }
}

/// Whether some container can see `env`: an env entry of any kind (wrong
/// kinds are reported by their own rule), or an `envFrom` source that holds
/// it or that we cannot see into.
fn provides(
    w: &Workload,
    env: &str,
    vars: &[EnvVar],
    refs: &[Reference],
    index: &Index<'_>,
) -> bool {
    if vars.iter().any(|v| v.name == env) {
        return true;
    }
    // `<env>_FILE` naming a file in a mounted Secret: the program reads the
    // Secret from there (the `_FILE` convention of the official images).
    let file_var = format!("{env}_FILE");
    if vars.iter().any(|v| {
        v.name == file_var
            && matches!(&v.source, EnvSource::Plain(path)
                if crate::policy::guard::mounted_from(w, &v.container, path)
                    .is_some_and(|r| r.target == TargetKind::Secret))
    }) {
        return true;
    }
    refs.iter().any(|r| {
        let Via::EnvFrom { prefix } = &r.via else {
            return false;
        };
        let Some(key) = env.strip_prefix(prefix.as_str()) else {
            return false;
        };
        match index.find(r.target, &r.name, w.object.namespace.as_deref()) {
            Some(source) => source.entries.contains_key(key) || !source.keys_known,
            None => true,
        }
    })
}

/// Appended to the message of an `unresolved-reference` in a post-render
/// call of hooks alone.
pub const HOOKS_ONLY_NOTE: &str =
    " (this post-renderer call received only the release's hooks; Helm sends the other manifests in a separate call)";

/// Why an object a hook uses is missing when Helm sent the hooks on their
/// own: it is (probably) rendered by the chart, just not in this call, and
/// the hook is not stamped for it.
fn hooks_alone_help(workload: &str) -> String {
    format!(
        "Helm post-rendered the release's hooks in a call of their own (the Helm 4 SDK's \
         `separate` post-render strategy), so objects rendered by the chart's other templates \
         are not visible here and {workload} is not stamped for them; a hook Job runs anew on every \
         install/upgrade and reads the current value anyway. Use the `combined` strategy \
         (the helm CLI's default) to have hooks stamped, or render the object as a hook too"
    )
}

fn references(out: &mut Out<'_>, refs: &[Reference], index: &Index<'_>, hooks_alone: bool) {
    let w = out.w;
    let mut unresolved_reported = HashSet::new();
    let mut consumes_in_stream = false;
    for r in refs {
        if r.name.is_empty() {
            continue;
        }
        let kind = r.target.as_str();
        let var = match &r.via {
            Via::Env { var } => Some(var.as_str()),
            _ => None,
        };
        match index.find(r.target, &r.name, w.object.namespace.as_deref()) {
            None => {
                if !r.optional && unresolved_reported.insert((r.target, &r.name)) {
                    let mut message = format!(
                        "{} uses {kind} {} ({}), which is not in this render; its rotation cannot be stamped",
                        w.object.display(),
                        Name(&r.name),
                        r.via.describe()
                    );
                    let help = if hooks_alone {
                        message.push_str(HOOKS_ONLY_NOTE);
                        hooks_alone_help(&w.object.display())
                    } else {
                        format!(
                            "give the file or directory that holds it to `--secrets-from PATH` (or the policy's `secretsFrom:`), read it from the cluster with `--lookup`, render it in the same release, or restart {} yourself when it changes",
                            w.object.display()
                        )
                    };
                    out.rule(
                        Rule::UnresolvedReference,
                        At::reference(w, r),
                        r.container.as_deref(),
                        var,
                        message,
                        help,
                    );
                }
            }
            Some(source) => {
                consumes_in_stream = true;
                let Some(key) = &r.key else { continue };
                if r.optional || !source.keys_known || source.entries.contains_key(key) {
                    continue;
                }
                out.rule(
                    Rule::MissingSecretKey,
                    At::reference(w, r),
                    r.container.as_deref(),
                    var,
                    format!(
                        "{} reads key `{}` of {kind} {} ({}), but that {kind}{} has no such key; the pod will not start",
                        w.object.display(),
                        Name(key),
                        Name(&r.name),
                        r.via.describe(),
                        match &source.origin {
                            Origin::File { .. } | Origin::Cluster { .. } => {
                                format!(" ({})", source.origin)
                            }
                            Origin::Render => String::new(),
                        }
                    ),
                    format!(
                        "add `{}` to {kind} {}, fix the key name, or mark the reference `optional: true`",
                        Name(key),
                        Name(&r.name)
                    ),
                );
            }
        }
    }
    if consumes_in_stream && w.rollout == Rollout::ImmutableJob {
        out.rule(
            Rule::ImmutableJobNotStamped,
            At::object(w),
            None,
            None,
            format!(
                "{} consumes Secrets or ConfigMaps but was not stamped: a Job's pod template is immutable, so a changed stamp would make `helm upgrade` fail",
                w.object.display()
            ),
            "make it a Helm hook (helm.sh/hook) to have it stamped, or give the Job a new name when its inputs change".into(),
        );
    }
}

/// Where a rotation stops short: the workload's stamp changes but nothing
/// restarts its pods, or a consumed object is immutable and cannot change
/// at all. Once per workload, and once per immutable object it reads.
fn rotation_reach(out: &mut Out<'_>, refs: &[Reference], index: &Index<'_>) {
    let w = out.w;
    let namespace = w.object.namespace.as_deref();
    let mut consumed: Vec<&Source> = Vec::new();
    let mut immutable_reported = Vec::new();
    for r in refs.iter().filter(|r| !r.name.is_empty()) {
        let Some(source) = index.find(r.target, &r.name, namespace) else {
            continue;
        };
        if !consumed.iter().any(|s| std::ptr::eq(*s, source)) {
            consumed.push(source);
        }
        if source.immutable && !immutable_reported.iter().any(|s| std::ptr::eq(*s, source)) {
            immutable_reported.push(source);
            let kind = r.target.as_str();
            out.rule(
                Rule::RotationNotReached,
                At::reference(w, r),
                r.container.as_deref(),
                None,
                format!(
                    "{} reads {kind} {}, which is immutable: its data cannot change, so a rotation needs a new {kind}",
                    w.object.display(),
                    r.name
                ),
                format!(
                    "rotate by creating a {kind} with a new name (a content hash in the name, as kustomize's generators do) and pointing {} at it; the new name rolls it",
                    w.object.display()
                ),
            );
        }
    }
    // A CronJob's next run reads the new value: expected, so shown by
    // `explain` and `diff` but not reported.
    let Some(why) = w.reach.describe().filter(|_| w.reach != Reach::NextRun) else {
        return;
    };
    if consumed.is_empty() || w.rollout == Rollout::ImmutableJob {
        return;
    }
    let mut names: Vec<String> = consumed
        .iter()
        .map(|s| format!("{} {}", s.target.as_str(), s.name))
        .collect();
    names.sort();
    names.dedup();
    out.rule(
        Rule::RotationNotReached,
        At::object(w),
        None,
        None,
        format!(
            "a rotation of {} does not restart {}: {why}",
            names.join(", "),
            w.object.display()
        ),
        match w.reach {
            Reach::OnDelete => {
                "use updateStrategy RollingUpdate, or delete its pods after each rotation".into()
            }
            Reach::Paused => {
                "resume the Deployment (`kubectl rollout resume`) after a rotation".into()
            }
            Reach::Template => {
                "restart what the controller created from the template yourself".into()
            }
            _ => format!(
                "run it from a Deployment or Job, or recreate {} after each rotation",
                w.object.display()
            ),
        },
    );
}

/// Mark findings silenced by the workload's `secret-rollout/ignore`
/// annotation (on the workload or its pod template), and report ids there
/// that name no rule, or a rule the policy makes unsuppressible (which stays
/// active: a guard cannot be switched off quietly from the chart).
fn suppress(w: &Workload, policy: &Policy, findings: &mut Vec<Finding>) {
    let mut unknown = Vec::new();
    let mut forbidden = Vec::new();
    let mut unreasoned = Vec::new();
    let mut expired = Vec::new();
    let today = today();
    for ignore in &w.ignores {
        let (ids, reason) = parse_ignore(&ignore.value);
        let (reason, until) = split_expiry(reason);
        if reason.is_empty() {
            unreasoned.push(ignore);
        }
        // Past its date (or with a date we cannot read), a suppression
        // suppresses nothing: fail closed, and say so.
        let lapsed = match until {
            None => None,
            Some(Ok(date)) if date >= today => None,
            Some(Ok(date)) => Some(format!("expired on {date}")),
            Some(Err(text)) => Some(format!(
                "has an expiry `until {}` that is not a date (YYYY-MM-DD), so it counts as expired",
                Name(text)
            )),
        };
        let mut rules = Vec::with_capacity(ids.len());
        for id in ids {
            match RuleId::parse(id, |id| policy.required_sources.iter().any(|r| r.id == id)) {
                Some(rule) if policy.unsuppressible.contains(&rule) => {
                    forbidden.push((ignore, rule));
                }
                Some(rule) => rules.push(rule),
                None => unknown.push((ignore, id.to_string())),
            }
        }
        if let Some(lapsed) = lapsed {
            let silenced: Vec<String> = rules
                .iter()
                .filter(|r| findings.iter().any(|f| f.rule == **r))
                .map(ToString::to_string)
                .collect();
            expired.push((ignore, lapsed, silenced));
            continue;
        }
        let reason = shown_reason(reason, policy);
        for f in findings.iter_mut() {
            if f.suppressed.is_none() && rules.contains(&f.rule) {
                f.suppressed = Some(reason.clone());
            }
        }
    }
    let mut out = Out::new(w, policy);
    let at = |ignore: &Ignore| At {
        span: ignore.span,
        path: Some(ignore.path.clone()),
    };
    for ignore in unreasoned {
        out.rule(
            Rule::SuppressionWithoutReason,
            at(ignore),
            None,
            None,
            format!(
                "{IGNORE} on {} gives no reason; it still suppresses, but nobody can tell later why",
                w.object.display()
            ),
            "add `: why` after the rule ids, and an expiry if it is temporary: \
             `rule-id: dummy values in the dev chart; until 2027-03-31`"
                .into(),
        );
    }
    for (ignore, lapsed, silenced) in expired {
        let now = if silenced.is_empty() {
            String::new()
        } else {
            format!("; {} reported again", silenced.join(", "))
        };
        out.rule(
            Rule::ExpiredSuppression,
            at(ignore),
            None,
            None,
            format!(
                "{IGNORE} on {} {lapsed}: it suppresses nothing{now}",
                w.object.display()
            ),
            "fix what it suppressed, or renew it with a new reason and date".into(),
        );
    }
    for (ignore, id) in unknown {
        out.rule(
            Rule::UnknownSuppression,
            at(ignore),
            None,
            None,
            format!(
                "{IGNORE} on {} names `{}`, which is not a rule; nothing is suppressed by it",
                w.object.display(),
                Name(&id)
            ),
            "use an id from `secret-rollout rules`".into(),
        );
    }
    for (ignore, rule) in forbidden {
        out.rule(
            Rule::ForbiddenSuppression,
            at(ignore),
            None,
            None,
            format!(
                "{IGNORE} on {} names `{rule}`, which the policy makes unsuppressible; it is not suppressed",
                w.object.display()
            ),
            format!(
                "remove `{rule}` from the annotation and fix what it reports; only the policy file \
                 (`unsuppressible:`, `rules:`) can change how `{rule}` is reported"
            ),
        );
    }
    findings.extend(out.findings);
}

/// A suppression's reason as findings carry it: plain prose from the chart
/// ([`crate::trust::name::prose`]), and left out whole when a word of it
/// looks like a credential, since a reason is shown in every format.
fn shown_reason(reason: &str, policy: &Policy) -> String {
    if reason.is_empty() {
        return String::new();
    }
    let credential = reason.split_whitespace().any(|word| {
        let word = word.trim_matches(|c: char| matches!(c, ',' | ';' | '(' | ')' | '\''));
        sensitivity::value_signal(word, &policy.sensitive_values, policy.guard.formats).is_some()
            || sensitivity::random_looking(word)
    });
    if credential {
        crate::trust::name::LEFT_OUT.to_string()
    } else {
        crate::trust::name::prose(reason).into_owned()
    }
}

/// `"reason; until 2027-03-31"` → ("reason", Some(Ok(2027-03-31))): the
/// expiry is the last `;`-separated part when it starts with `until`.
fn split_expiry(reason: &str) -> (&str, Option<Result<jiff::civil::Date, &str>>) {
    let (head, tail) = match reason.rsplit_once(';') {
        Some((head, tail)) => (head.trim(), tail.trim()),
        None => ("", reason.trim()),
    };
    match tail.strip_prefix("until") {
        Some(date) if date.starts_with(char::is_whitespace) => {
            let date = date.trim();
            (head, Some(date.parse().map_err(|_| date)))
        }
        _ => (reason, None),
    }
}

/// Today in UTC, for suppression expiry dates.
fn today() -> jiff::civil::Date {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
}

/// `"a, b: reason"` → (["a", "b"], "reason").
pub fn parse_ignore(value: &str) -> (Vec<&str>, &str) {
    let (ids, reason) = value.split_once(':').unwrap_or((value, ""));
    let ids = ids
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    (ids, reason.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_annotation_syntax() {
        assert_eq!(
            parse_ignore("sensitive-env-plain-value, duplicate-env: dev chart only"),
            (
                vec!["sensitive-env-plain-value", "duplicate-env"],
                "dev chart only"
            )
        );
        assert_eq!(parse_ignore("duplicate-env"), (vec!["duplicate-env"], ""));
        let date = |s: &str| s.parse::<jiff::civil::Date>().unwrap();
        assert_eq!(
            split_expiry("dev chart; until 2027-03-31"),
            ("dev chart", Some(Ok(date("2027-03-31"))))
        );
        assert_eq!(
            split_expiry("until 2020-01-01"),
            ("", Some(Ok(date("2020-01-01"))))
        );
        assert_eq!(split_expiry("a; b"), ("a; b", None));
        assert_eq!(
            split_expiry("until tomorrow; fine"),
            ("until tomorrow; fine", None)
        );
        assert_eq!(
            split_expiry("x; until next week"),
            ("x", Some(Err("next week")))
        );
        assert_eq!(split_expiry("x; untilted"), ("x; untilted", None));
    }
}
