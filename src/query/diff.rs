//! What an upgrade from one render to the next rolls, and why: `secret-rollout
//! diff BEFORE AFTER` (two renders, or `helm get manifest` against a new one).
//!
//! Both sides are read the way `render` reads them and stamped the same way,
//! so a workload rolls exactly when its pod template would differ after
//! stamping: a stamp whose digest changes (a key it reads changed, or an
//! object it reads appeared or went) or anything else in the template. Our
//! own annotations on either side are left out, so a stored release that was
//! stamped compares with a new render that is not yet. Values are compared,
//! never shown: only key names leave this module.

use crate::trust::name::Name;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::kube::inventory::{Identity, Index, Source, TargetKind};
use crate::kube::reference::Via;
use crate::kube::stamp;
use crate::kube::workload::{Reach, Rollout, Workload};
use crate::model::{self, InputError, Model, Options};
use crate::policy::config::Policy;
use crate::policy::finding::{Counts, Finding};
use crate::policy::rule::Severity;
use crate::policy::rule::{Rule, RuleId};

/// What changes between two renders.
#[derive(Clone, Debug)]
pub struct Diff {
    /// Secrets and ConfigMaps whose content differs, by kind, namespace, name.
    pub objects: Vec<ObjectChange>,
    /// Every workload: those of the new render in its order, then the removed.
    pub workloads: Vec<WorkloadChange>,
    /// Rotation advice under the policy's `rotation:` groups.
    pub findings: Vec<Finding>,
}

/// On which side something is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// Only in the new render.
    Added,
    /// Only in the old one.
    Removed,
    Both,
}

impl Presence {
    fn as_str(self) -> &'static str {
        match self {
            Presence::Added => "added",
            Presence::Removed => "removed",
            Presence::Both => "both",
        }
    }
}

/// A Secret or ConfigMap whose content differs (key names only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectChange {
    pub kind: TargetKind,
    pub name: String,
    pub namespace: Option<String>,
    pub presence: Presence,
    /// Keys on both sides with different values.
    pub changed: Vec<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// What stands for every key changed (the Secret's `type`, a
    /// SealedSecret's templates, an ExternalSecret's store): every consumer's
    /// stamp changes.
    pub whole: bool,
}

/// One workload, and what the upgrade does to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkloadChange {
    /// `Deployment/the0-api`.
    pub workload: String,
    pub namespace: Option<String>,
    pub template: Option<String>,
    pub presence: Presence,
    pub rollout: Rollout,
    /// A Helm hook (it runs again on every upgrade anyway).
    pub hook: bool,
    /// Its pods are replaced by the upgrade.
    pub rolls: bool,
    /// Its pod template differs in more than our stamps.
    pub template_changed: bool,
    /// What it reads that changed.
    pub reads: Vec<ReadChange>,
    /// Whether a changed stamp restarts its pods; a workload whose stamp
    /// restarts nothing is not counted as rolling, except a CronJob, whose
    /// next run reads the new value.
    pub reach: Reach,
}

/// An object a workload reads, and what changed in what it reads of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadChange {
    pub kind: TargetKind,
    pub name: String,
    /// The keys it reads; `None` for the whole object (`envFrom`, a volume
    /// without `items`).
    pub reads: Option<Vec<String>>,
    /// The changed (added, removed) keys among those it reads.
    pub changed: Vec<String>,
    /// Some key of the object changed, read by this workload or not.
    pub object_changed: bool,
    /// What stands for every key changed (see [`ObjectChange::whole`]).
    pub whole: bool,
    /// Its stamp on this workload changes.
    pub stamp_changed: bool,
    pub found_before: bool,
    pub found_after: bool,
}

impl ReadChange {
    fn matters(&self) -> bool {
        self.stamp_changed || self.object_changed || self.found_before != self.found_after
    }

    /// It reads something of the object that changed.
    fn touched(&self) -> bool {
        !self.changed.is_empty() || self.whole || self.found_before != self.found_after
    }

    /// `Secret the0-secrets: JWT_SECRET`, `Secret x (now in the render)`.
    fn describe(&self) -> String {
        let what = format!("{} {}", self.kind.as_str(), self.name);
        match (self.found_before, self.found_after) {
            (false, true) => return format!("{what} (found now, not before)"),
            (true, false) => return format!("{what} (found before, not now)"),
            _ => {}
        }
        let mut out = what;
        if !self.changed.is_empty() {
            out.push_str(&format!(": {}", self.changed.join(", ")));
        }
        if self.whole {
            out.push_str(" (its type or what stands for every key changed)");
        } else if self.reads.is_none() && !self.changed.is_empty() {
            out.push_str(" (reads all its keys)");
        }
        out
    }

    /// `Secret the0-secrets (MONGO_URI, NATS_PASSWORD)`: what it reads.
    fn describe_read(&self) -> String {
        match &self.reads {
            Some(keys) => format!("{} {} ({})", self.kind.as_str(), self.name, keys.join(", ")),
            None => format!("{} {} (all keys)", self.kind.as_str(), self.name),
        }
    }
}

/// An input that could not be read, and which one.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("{0}")]
    Before(InputError),
    #[error("{0}")]
    After(InputError),
}

/// Compare two renders under `options`: one model of each, read once.
pub fn diff(before: &str, after: &str, options: &Options) -> Result<Diff, DiffError> {
    // Every document read as Go would (a render `kubectl apply` refuses is
    // no upgrade), and each pod template's digest kept while its tree is.
    let options = &Options {
        read_all: true,
        template_digests: true,
        ..options.clone()
    };
    model::with_model(before, options, |b| {
        Ok(model::with_model(after, options, |a| {
            Ok(compare(b, a, options).shown())
        }))
    })
    .map_err(DiffError::Before)?
    .map_err(DiffError::After)
}

impl Diff {
    /// Every name and key from the renders as a message may show it (see
    /// [`crate::trust::name`]): each output format is made from this.
    fn shown(mut self) -> Diff {
        let name = |s: &mut String| *s = crate::trust::name::shown(s).into_owned();
        let names = |v: &mut Vec<String>| v.iter_mut().for_each(name);
        for o in &mut self.objects {
            name(&mut o.name);
            o.namespace.iter_mut().for_each(name);
            names(&mut o.changed);
            names(&mut o.added);
            names(&mut o.removed);
        }
        for w in &mut self.workloads {
            w.namespace.iter_mut().for_each(name);
            for r in &mut w.reads {
                name(&mut r.name);
                r.reads.iter_mut().for_each(names);
                names(&mut r.changed);
            }
        }
        self
    }
}

/// Which keys of a source changed against another: changed, added,
/// removed, and whether what stands for every key changed.
fn key_changes(before: &Source, after: &Source) -> (Vec<String>, Vec<String>, Vec<String>, bool) {
    let mut changed = Vec::new();
    let mut removed = Vec::new();
    for (k, v) in &before.entries {
        match after.entries.get(k) {
            Some(w) if w != v => changed.push(k.clone()),
            Some(_) => {}
            None => removed.push(k.clone()),
        }
    }
    let added = after
        .entries
        .keys()
        .filter(|k| !before.entries.contains_key(*k))
        .cloned()
        .collect();
    let whole = before.digest_kind != after.digest_kind
        || before.secret_type != after.secret_type
        || before.shared != after.shared
        || before.keys_known != after.keys_known;
    (changed, added, removed, whole)
}

/// The workloads of a render by identity. A render that holds one object
/// twice is applied as the last of them: so it is compared.
fn by_identity<'w>(workloads: &'w [Workload]) -> HashMap<Identity<'w>, &'w Workload> {
    workloads.iter().map(|w| (w.object.identity(), w)).collect()
}

fn compare(b: &Model<'_>, a: &Model<'_>, options: &Options) -> Diff {
    let objects = objects(b.index, a.index);
    let config_maps = options.policy.stamp_config_maps;
    let (before, after) = (by_identity(b.workloads), by_identity(a.workloads));
    let mut seen = HashSet::new();
    let mut workloads = Vec::new();
    for w in a.workloads {
        let k = w.object.identity();
        let last = after[&k];
        let mut change = WorkloadChange {
            workload: w.object.display(),
            namespace: w.object.namespace.clone(),
            template: w.object.at.template.as_deref().map(str::to_string),
            presence: Presence::Added,
            rollout: w.rollout,
            hook: last.hook,
            rolls: false,
            template_changed: false,
            reads: Vec::new(),
            reach: w.reach,
        };
        if let Some(old) = before.get(&k) {
            seen.insert(k);
            change.presence = Presence::Both;
            change.template_changed = last.template_digest != old.template_digest;
            let stamps = |w: &Workload, index: &Index<'_>| {
                stamp::desired(w, index, config_maps, None).unwrap_or_default()
            };
            let (stamps_before, stamps_after) = (stamps(old, b.index), stamps(w, a.index));
            change.reads = reads(old, w, b.index, a.index, config_maps)
                .into_iter()
                .map(|mut r| {
                    let stamp = stamp::annotation_key(r.kind, &r.name);
                    r.stamp_changed = stamps_before.get(&stamp) != stamps_after.get(&stamp);
                    r
                })
                .filter(ReadChange::matters)
                .collect();
            change.rolls = w.rollout == Rollout::Rolls
                && matches!(w.reach, Reach::Restarts | Reach::NextRun)
                && (change.template_changed || stamps_before != stamps_after);
        }
        workloads.push(change);
    }
    for w in b.workloads {
        let k = w.object.identity();
        if seen.contains(&k) {
            continue;
        }
        workloads.push(WorkloadChange {
            workload: w.object.display(),
            namespace: w.object.namespace.clone(),
            template: w.object.at.template.as_deref().map(str::to_string),
            presence: Presence::Removed,
            rollout: w.rollout,
            hook: before[&k].hook,
            rolls: false,
            template_changed: false,
            reads: Vec::new(),
            reach: w.reach,
        });
    }
    let findings = rotation_advice(&objects, a, &options.policy);
    Diff {
        objects: objects.into_iter().map(|(c, _)| c).collect(),
        workloads,
        findings,
    }
}

/// A Secret or ConfigMap as pods name it (whatever object provides it: a
/// SealedSecret's Secret is a Secret). Ordered as the output lists them: by
/// the kind's name, then namespace, then name.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Provided<'k> {
    kind: TargetKind,
    namespace: Option<&'k str>,
    name: &'k str,
}

impl Ord for Provided<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.kind.as_str(), self.namespace, self.name).cmp(&(
            other.kind.as_str(),
            other.namespace,
            other.name,
        ))
    }
}

impl PartialOrd for Provided<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Every Secret and ConfigMap whose content differs, with the source it is
/// now (or was) for pointing findings at.
fn objects<'s>(before: &Index<'s>, after: &Index<'s>) -> Vec<(ObjectChange, &'s Source)> {
    let by_key = |index: &Index<'s>| -> BTreeMap<Provided<'s>, &'s Source> {
        index
            .all()
            .map(|s| {
                let key = Provided {
                    kind: s.target,
                    namespace: s.object.namespace.as_deref(),
                    name: &s.name,
                };
                (key, s)
            })
            .collect()
    };
    let (old, new) = (by_key(before), by_key(after));
    let mut out = Vec::new();
    let keys: BTreeSet<&Provided<'s>> = old.keys().chain(new.keys()).collect();
    for k in keys {
        let mut change = ObjectChange {
            kind: k.kind,
            name: k.name.to_string(),
            namespace: k.namespace.map(str::to_string),
            presence: Presence::Both,
            changed: Vec::new(),
            added: Vec::new(),
            removed: Vec::new(),
            whole: false,
        };
        let at = match (old.get(k), new.get(k)) {
            (Some(b), Some(a)) => {
                let (changed, added, removed, whole) = key_changes(b, a);
                if changed.is_empty() && added.is_empty() && removed.is_empty() && !whole {
                    continue;
                }
                (change.changed, change.added, change.removed, change.whole) =
                    (changed, added, removed, whole);
                *a
            }
            (None, Some(a)) => {
                change.presence = Presence::Added;
                change.added = a.entries.keys().cloned().collect();
                *a
            }
            (Some(b), None) => {
                change.presence = Presence::Removed;
                change.removed = b.entries.keys().cloned().collect();
                *b
            }
            (None, None) => continue,
        };
        out.push((change, at));
    }
    out
}

/// What a workload reads, object by object, and which of those keys changed.
fn reads(
    before: &Workload,
    after: &Workload,
    index_before: &Index<'_>,
    index_after: &Index<'_>,
    config_maps: bool,
) -> Vec<ReadChange> {
    // Keys read per object; `None` for the whole object.
    let mut read: BTreeMap<(TargetKind, &str), Option<BTreeSet<&str>>> = BTreeMap::new();
    for r in before.refs.iter().chain(&after.refs) {
        if r.name.is_empty() || (r.target == TargetKind::ConfigMap && !config_maps) {
            continue;
        }
        let entry = read
            .entry((r.target, r.name.as_str()))
            .or_insert_with(|| Some(BTreeSet::new()));
        match (entry.as_mut(), &r.key) {
            (Some(keys), Some(k)) => {
                keys.insert(k.as_str());
            }
            _ => *entry = None,
        }
    }
    read.into_iter()
        .map(|((target, name), keys)| {
            let b = index_before.find(target, name, before.object.namespace.as_deref());
            let a = index_after.find(target, name, after.object.namespace.as_deref());
            let (mut changed, mut whole) = (Vec::new(), false);
            if let (Some(b), Some(a)) = (b, a) {
                let (c, added, removed, w) = key_changes(b, a);
                changed = c.into_iter().chain(added).chain(removed).collect();
                changed.sort();
                whole = w;
            }
            let object_changed = !changed.is_empty() || whole;
            if let Some(keys) = &keys {
                changed.retain(|k| keys.contains(k.as_str()));
            }
            ReadChange {
                kind: target,
                name: name.to_string(),
                reads: keys.map(|k| k.into_iter().map(str::to_string).collect()),
                changed,
                object_changed,
                whole,
                stamp_changed: false,
                found_before: b.is_some(),
                found_after: a.is_some(),
            }
        })
        .collect()
}

/// A Secret's name and one of its keys.
type SecretKey = (String, String);

/// The policy's rotation advice on the Secret keys that changed value: a
/// warning when they belong to more than one external service, and each
/// group's note. A key belongs to the first group its name, or the name of an
/// env var that reads it, matches.
fn rotation_advice(
    objects: &[(ObjectChange, &Source)],
    after: &Model<'_>,
    policy: &Policy,
) -> Vec<Finding> {
    // The env var names that read each (Secret, key) in the new render.
    let mut vars: HashMap<(&str, &str), Vec<String>> = HashMap::new();
    for w in after.workloads {
        for r in w.refs.iter().filter(|r| r.target == TargetKind::Secret) {
            match (&r.via, &r.key) {
                (Via::Env { var }, Some(k)) => vars
                    .entry((r.name.as_str(), k.as_str()))
                    .or_default()
                    .push(var.clone()),
                (Via::EnvFrom { prefix }, None) => {
                    for (c, _) in objects.iter().filter(|(c, _)| c.name == r.name) {
                        for k in &c.changed {
                            vars.entry((r.name.as_str(), k.as_str()))
                                .or_default()
                                .push(format!("{prefix}{k}"));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    // Group index -> the (Secret, key)s it rotates, and the first Secret.
    let mut hit: BTreeMap<usize, (Vec<SecretKey>, &Source)> = BTreeMap::new();
    for (c, source) in objects {
        if c.kind != TargetKind::Secret || c.presence != Presence::Both {
            continue;
        }
        for k in &c.changed {
            let names = vars.get(&(c.name.as_str(), k.as_str()));
            let group = policy.rotation.iter().position(|g| {
                g.matches(k) || names.is_some_and(|vs| vs.iter().any(|v| g.matches(v)))
            });
            if let Some(g) = group {
                hit.entry(g)
                    .or_insert_with(|| (Vec::new(), source))
                    .0
                    .push((c.name.clone(), k.clone()));
            }
        }
    }
    let describe = |keys: &[SecretKey]| {
        let mut by_secret: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (s, k) in keys {
            by_secret.entry(s).or_default().push(k);
        }
        by_secret
            .iter()
            .map(|(s, ks)| {
                let ks: Vec<String> = ks.iter().map(|k| Name(k).to_string()).collect();
                format!("Secret {}: {}", Name(s), ks.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut out = Vec::new();
    let mut push = |rule: Rule, at: &Source, message: String, help: String| {
        let rule = RuleId::from(rule);
        if let Some(severity) = policy.level(&rule) {
            out.push(Finding {
                rule,
                severity,
                location: crate::policy::check::source_location(at),
                workload: None,
                container: None,
                variable: None,
                message,
                help,
                suppressed: None,
            });
        }
    };
    if hit.len() > 1 {
        let first = hit.values().next().expect("more than one").1;
        let services: Vec<String> = hit
            .iter()
            .map(|(g, (keys, _))| format!("{} ({})", policy.rotation[*g].name, describe(keys)))
            .collect();
        push(
            Rule::SimultaneousRotation,
            first,
            format!(
                "this change rotates the secrets of {} external services at once: {}",
                hit.len(),
                services.join(", ")
            ),
            "rotate one service at a time: one upgrade per service, checking it before the next, \
             so that a failure has one cause; the services are the policy's `rotation:` groups"
                .into(),
        );
    }
    for (g, (keys, source)) in &hit {
        let group = &policy.rotation[*g];
        if let Some(note) = &group.note {
            push(
                Rule::RotationConsequence,
                source,
                format!("{} rotates ({}): {note}", group.name, describe(keys)),
                format!(
                    "make sure it is meant (the policy's rotation group `{}` says so of its secrets); \
                     announce it or pick a quiet time",
                    group.name
                ),
            );
        }
    }
    out
}

impl Diff {
    pub fn rolling(&self) -> impl Iterator<Item = &WorkloadChange> {
        self.workloads.iter().filter(|w| w.rolls)
    }

    /// Workloads on both sides that do not roll.
    pub fn staying(&self) -> impl Iterator<Item = &WorkloadChange> {
        self.workloads
            .iter()
            .filter(|w| !w.rolls && w.presence == Presence::Both)
    }

    pub fn has_findings_at(&self, threshold: Severity) -> bool {
        self.findings
            .iter()
            .any(|f| f.is_active() && f.severity <= threshold)
    }

    fn summary(&self) -> String {
        let (roll, stay) = (self.rolling().count(), self.staying().count());
        let mut line = format!(
            "{roll} workload{} roll{}, {stay} do{} not",
            if roll == 1 { "" } else { "s" },
            if roll == 1 { "s" } else { "" },
            if stay == 1 { "es" } else { "" },
        );
        let added = self.count(Presence::Added);
        let removed = self.count(Presence::Removed);
        if added > 0 {
            line.push_str(&format!(", {added} new"));
        }
        if removed > 0 {
            line.push_str(&format!(", {removed} removed"));
        }
        line
    }

    fn count(&self, p: Presence) -> usize {
        self.workloads.iter().filter(|w| w.presence == p).count()
    }
}

/// Why a workload rolls: `Secret the0-secrets: JWT_SECRET; pod template changed`.
fn why(w: &WorkloadChange) -> String {
    let mut reasons: Vec<String> = w
        .reads
        .iter()
        .filter(|r| r.stamp_changed)
        .map(ReadChange::describe)
        .collect();
    if w.template_changed {
        reasons.push("pod template changed".into());
    }
    if let Some(why) = w.reach.describe() {
        // A CronJob: counted as rolling, and said how.
        reasons.push(why.to_string());
    }
    reasons.join("; ")
}

/// Why a workload that stays does not roll.
fn why_not(w: &WorkloadChange) -> String {
    let changed: Vec<String> = w
        .reads
        .iter()
        .filter(|r| r.touched())
        .map(ReadChange::describe)
        .collect();
    match (w.rollout, w.reach.describe()) {
        (Rollout::ImmutableJob, _) if !changed.is_empty() => format!(
            "reads {}, but a Job that is not a hook has an immutable template: restart it yourself",
            changed.join("; ")
        ),
        (Rollout::BarePod, _) if !changed.is_empty() => format!(
            "reads {}, but a bare Pod never rolls: recreate it yourself",
            changed.join("; ")
        ),
        (Rollout::Rolls, Some(reach)) if !changed.is_empty() => format!(
            "reads {}, and its stamp changes, but {reach}",
            changed.join("; "),
        ),
        _ if w.reads.is_empty() => "reads nothing that changed".into(),
        _ => format!(
            "reads {}: none of them changed",
            w.reads
                .iter()
                .map(ReadChange::describe_read)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn hook_mark(w: &WorkloadChange) -> &'static str {
    if w.hook {
        " [Helm hook: runs again on every upgrade]"
    } else {
        ""
    }
}

fn object_line(c: &ObjectChange) -> String {
    let mut parts = Vec::new();
    match c.presence {
        Presence::Added => parts.push("new".to_string()),
        Presence::Removed => parts.push("removed".to_string()),
        Presence::Both => {}
    }
    for (list, what) in [
        (&c.changed, "changed"),
        (&c.added, "added"),
        (&c.removed, "removed"),
    ] {
        if !list.is_empty() && c.presence == Presence::Both {
            parts.push(format!("{} {what}", list.join(", ")));
        }
    }
    if c.whole {
        parts.push("its type or what stands for every key changed".into());
    }
    let ns = c
        .namespace
        .as_deref()
        .map(|n| format!(" (namespace {n})"))
        .unwrap_or_default();
    format!("{} {}{ns}: {}", c.kind.as_str(), c.name, parts.join("; "))
}

/// Text for a person.
pub fn text(d: &Diff, after_name: &str) -> String {
    let mut out = String::new();
    if d.objects.is_empty() {
        out.push_str("No Secret or ConfigMap changed.\n");
    } else {
        out.push_str("Changed:\n");
        for c in &d.objects {
            let _ = writeln!(out, "  {}", object_line(c));
        }
    }
    let width = d
        .workloads
        .iter()
        .map(|w| w.workload.len())
        .max()
        .unwrap_or(0);
    let rolling: Vec<_> = d.rolling().collect();
    let _ = writeln!(out, "\nWill roll ({}):", rolling.len());
    if rolling.is_empty() {
        out.push_str("  nothing\n");
    }
    for w in rolling {
        let _ = writeln!(out, "  {:width$}  {}{}", w.workload, why(w), hook_mark(w));
    }
    let staying: Vec<_> = d.staying().collect();
    let _ = writeln!(out, "\nWill not roll ({}):", staying.len());
    for w in staying {
        let _ = writeln!(out, "  {:width$}  {}", w.workload, why_not(w));
    }
    for (p, title) in [(Presence::Added, "New"), (Presence::Removed, "Removed")] {
        let list: Vec<_> = d.workloads.iter().filter(|w| w.presence == p).collect();
        if !list.is_empty() {
            let _ = writeln!(out, "\n{title} ({}):", list.len());
            for w in list {
                let _ = writeln!(out, "  {}", w.workload);
            }
        }
    }
    out.push('\n');
    out.push_str(&crate::report::text(&d.findings, after_name));
    let _ = writeln!(
        out,
        "secret-rollout: {}; {}",
        d.summary(),
        Counts::of(&d.findings).summary()
    );
    out
}

/// The documented JSON (docs/output.md, "diff").
pub fn json(d: &Diff, before_name: &str, after_name: &str) -> Value {
    let counts = Counts::of(&d.findings);
    json!({
        "version": 1,
        "before": before_name,
        "after": after_name,
        "summary": {
            "rolling": d.rolling().count(),
            "not_rolling": d.staying().count(),
            "added": d.count(Presence::Added),
            "removed": d.count(Presence::Removed),
            "errors": counts.errors,
            "warnings": counts.warnings,
            "notes": counts.notes,
        },
        "objects": d.objects.iter().map(|c| json!({
            "kind": c.kind.as_str(),
            "name": c.name,
            "namespace": c.namespace,
            "presence": c.presence.as_str(),
            "changed": c.changed,
            "added": c.added,
            "removed": c.removed,
            "whole": c.whole,
        })).collect::<Vec<_>>(),
        "workloads": d.workloads.iter().map(|w| json!({
            "workload": w.workload,
            "namespace": w.namespace,
            "template": w.template,
            "presence": w.presence.as_str(),
            "rollout": w.rollout.as_str(),
            "hook": w.hook,
            "rolls": w.rolls,
            "template_changed": w.template_changed,
            "reach": w.reach.describe(),
            "reads": w.reads.iter().map(|r| json!({
                "kind": r.kind.as_str(),
                "name": r.name,
                "reads": r.reads,
                "changed": r.changed,
                "object_changed": r.object_changed,
                "whole": r.whole,
                "stamp_changed": r.stamp_changed,
                "found_before": r.found_before,
                "found_after": r.found_after,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "findings": d.findings.iter().map(|f| crate::report::format::finding_json(after_name, f)).collect::<Vec<_>>(),
    })
}

/// Markdown for a pull-request comment.
pub fn markdown(d: &Diff, after_name: &str) -> String {
    let code = |s: &str| format!("`{}`", s.replace('`', "'").replace('|', "\\|"));
    let mut out = String::from("### secret-rollout diff\n\n");
    let _ = writeln!(out, "**{}**.\n", d.summary());
    for c in &d.objects {
        let _ = writeln!(out, "- {}", crate::report::format::cell(&object_line(c)));
    }
    if !d.objects.is_empty() {
        out.push('\n');
    }
    let rolling: Vec<_> = d.rolling().collect();
    if !rolling.is_empty() {
        out.push_str("| will roll | because |\n|---|---|\n");
        for w in rolling {
            let _ = writeln!(
                out,
                "| {} | {}{} |",
                code(&w.workload),
                crate::report::format::cell(&why(w)),
                hook_mark(w)
            );
        }
        out.push('\n');
    }
    let staying: Vec<_> = d.staying().collect();
    if !staying.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{} will not roll</summary>\n\n| workload | why not |\n|---|---|",
            staying.len()
        );
        for w in staying {
            let _ = writeln!(
                out,
                "| {} | {} |",
                code(&w.workload),
                crate::report::format::cell(&why_not(w))
            );
        }
        out.push_str("\n</details>\n\n");
    }
    for f in d.findings.iter().filter(|f| f.is_active()) {
        let alert = match f.severity {
            Severity::Error => "CAUTION",
            Severity::Warning => "WARNING",
            Severity::Note => "NOTE",
        };
        let _ = writeln!(
            out,
            "> [!{alert}]\n> **{}** `{}`: {}<br>**Fix:** {}<br>_{}_\n",
            f.severity.as_str(),
            f.rule,
            crate::report::format::cell(&f.message),
            crate::report::format::cell(&f.help),
            crate::report::format::cell(&crate::report::position(&f.location, after_name)),
        );
    }
    out
}
