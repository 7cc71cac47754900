//! The reference graph: which workloads consume which Secrets and
//! ConfigMaps, which keys, how, and what would be stamped. It answers
//! "which pods roll if I rotate this Secret?".

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::json;

use crate::kube::inventory::{Origin, TargetKind};
use crate::kube::reference::Via;
use crate::kube::workload::{Reach, Rollout};
use crate::kube::{digest, stamp};
use crate::model::{self, InputError, Model, Options};

/// One workload and everything it consumes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkloadUses {
    /// `Deployment/the0-api`.
    pub workload: String,
    pub namespace: Option<String>,
    pub template: Option<String>,
    pub rollout: Rollout,
    pub uses: Vec<Use>,
    /// Annotation key → digest that render would write.
    pub stamps: BTreeMap<String, String>,
    /// The stamps whose source is a file, not the render: the rollout they
    /// cause reads the new value only if that file is applied first.
    pub from_files: Vec<String>,
    /// The stamps whose source `--lookup` read from the cluster.
    pub from_cluster: Vec<String>,
    /// Whether a changed stamp restarts its pods (not when OnDelete, paused,
    /// a CronJob, a PodTemplate, a bare Pod).
    pub reach: Reach,
}

/// One reference from a container (or a pod volume) to an object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Use {
    /// `None` for pod volumes.
    pub container: Option<String>,
    /// `env`, `envFrom`, `volume` or `projected`.
    pub via: &'static str,
    /// The env var or volume name.
    pub through: Option<String>,
    pub kind: TargetKind,
    pub name: String,
    /// The key read; `None` for the whole object.
    pub key: Option<String>,
    pub optional: bool,
    /// Whether the object was found (in the stream or a `--secrets-from`
    /// file), and so can be stamped.
    pub resolved: bool,
    /// Where it was found: the render, a `--secrets-from` file, the
    /// cluster; `None` when nowhere.
    pub origin: Option<Origin>,
    /// Why `--lookup` did not find it in the cluster either.
    pub lookup_failed: Option<String>,
    /// The object is `immutable: true`: a rotation needs a new name.
    pub immutable: bool,
}

/// Build the graph for a stream.
pub fn graph(text: &str, options: &Options) -> Result<Vec<WorkloadUses>, InputError> {
    model::with_model(text, options, |m| Ok(build(m)))
}

/// Why `--secret NAME --key KEY` asks about nothing, when it does: the
/// Secret is known, its keys are known, and KEY is not one of them. An
/// answer as if the key existed ("rotating it rolls …") would mislead.
pub fn unknown_key(
    text: &str,
    options: &Options,
    secret: &str,
    key: &str,
) -> Result<Option<String>, InputError> {
    model::with_model(text, options, |m| {
        let Some(source) = m.index.find(TargetKind::Secret, secret, None) else {
            return Ok(None);
        };
        if !source.keys_known || source.entries.contains_key(key) {
            return Ok(None);
        }
        let keys: Vec<String> = source
            .entries
            .keys()
            .map(|k| crate::trust::name::shown(k).into_owned())
            .collect();
        Ok(Some(format!(
            "Secret {} has no key {} (its keys: {})",
            crate::trust::name::shown(secret),
            crate::trust::name::shown(key),
            if keys.is_empty() {
                "none".to_string()
            } else {
                keys.join(", ")
            }
        )))
    })
}

/// Names from the stream, as every output of explain shows them (see
/// [`crate::trust::name`]).
fn name(text: &str) -> String {
    crate::trust::name::shown(text).into_owned()
}

fn build(m: &Model<'_>) -> Vec<WorkloadUses> {
    let policy = &m.options.policy;
    m.workloads
        .iter()
        .map(|w| {
            let namespace = w.object.namespace.as_deref();
            let lookup_ns = namespace.or(m.options.lookup_namespace()).unwrap_or("");
            let uses = w
                .refs
                .iter()
                .map(|r| {
                    let (via, through) = match &r.via {
                        Via::Env { var } => ("env", Some(name(var))),
                        Via::EnvFrom { prefix } => {
                            ("envFrom", (!prefix.is_empty()).then(|| name(prefix)))
                        }
                        Via::Volume { volume } => ("volume", Some(name(volume))),
                        Via::Projected { volume } => ("projected", Some(name(volume))),
                    };
                    let found = m.index.find(r.target, &r.name, namespace);
                    Use {
                        container: r.container.as_deref().map(name),
                        via,
                        through,
                        kind: r.target,
                        name: name(&r.name),
                        key: r.key.as_deref().map(name),
                        optional: r.optional,
                        resolved: found.is_some(),
                        origin: found.map(|s| s.origin.clone()),
                        lookup_failed: m
                            .looked_up
                            .failure(r.target, lookup_ns, &r.name)
                            .map(|f| f.short()),
                        immutable: found.is_some_and(|s| s.immutable),
                    }
                })
                .collect();
            let consumed =
                stamp::consumed(w, m.index, policy.stamp_config_maps).unwrap_or_default();
            let stamps = consumed
                .iter()
                .map(|c| {
                    (
                        stamp::annotation_key(c.target, c.name),
                        digest::digest(
                            c.source.content(),
                            &c.keys,
                            m.options.digest_key.as_deref(),
                        ),
                    )
                })
                .collect();
            let from = |cluster: bool| {
                consumed
                    .iter()
                    .filter(|c| {
                        if cluster {
                            c.source.origin.is_cluster()
                        } else {
                            c.source.origin.is_file()
                        }
                    })
                    .map(|c| stamp::annotation_key(c.target, c.name))
                    .collect()
            };
            let (from_files, from_cluster) = (from(false), from(true));
            WorkloadUses {
                workload: w.object.display(),
                namespace: w.object.namespace.as_deref().map(name),
                template: w.object.at.template.as_deref().map(str::to_string),
                rollout: w.rollout,
                uses,
                stamps,
                from_files,
                from_cluster,
                reach: w.reach,
            }
        })
        .filter(|w| !w.uses.is_empty())
        .collect()
}

/// Keep only what touches Secret `name`: the workloads that roll when it is
/// rotated, with the keys they read. With `key`, only the workloads that
/// read that key (or the whole Secret).
pub fn only_secret(graph: Vec<WorkloadUses>, name: &str, key: Option<&str>) -> Vec<WorkloadUses> {
    graph
        .into_iter()
        .filter_map(|mut w| {
            w.uses
                .retain(|u| u.kind == TargetKind::Secret && u.name == name);
            if let Some(key) = key {
                if !w.uses.iter().any(|u| reads(u, key)) {
                    return None;
                }
            }
            let stamp = stamp::annotation_key(TargetKind::Secret, name);
            w.stamps.retain(|k, _| *k == stamp);
            w.from_files.retain(|k| *k == stamp);
            w.from_cluster.retain(|k| *k == stamp);
            (!w.uses.is_empty()).then_some(w)
        })
        .collect()
}

/// A use reads `key`: that key, or the whole object.
fn reads(u: &Use, key: &str) -> bool {
    u.key.as_deref().is_none_or(|k| k == key)
}

fn short(digest: &str) -> String {
    let (algo, hex) = digest.split_once(':').unwrap_or(("", digest));
    format!("{algo}:{}", &hex[..hex.len().min(12)])
}

pub fn text(graph: &[WorkloadUses]) -> String {
    let mut out = String::new();
    for w in graph {
        let _ = write!(out, "{}", w.workload);
        if let Some(t) = &w.template {
            let _ = write!(out, " ({t})");
        }
        out.push('\n');
        let mut by_container: BTreeMap<String, Vec<&Use>> = BTreeMap::new();
        for u in &w.uses {
            let label = u
                .container
                .as_ref()
                .map_or_else(|| "pod volumes".to_string(), |c| format!("container {c}"));
            by_container.entry(label).or_default().push(u);
        }
        for (label, uses) in by_container {
            let _ = writeln!(out, "  {label}");
            for u in uses {
                let how = match &u.through {
                    Some(t) => format!("{} {t}", u.via),
                    None => u.via.to_string(),
                };
                let key = u
                    .key
                    .as_ref()
                    .map_or_else(|| "all keys".to_string(), |k| format!("key {k}"));
                let state = match &u.origin {
                    Some(Origin::Render) => "in stream".to_string(),
                    Some(elsewhere) => format!("from {elsewhere}"),
                    None => match (&u.lookup_failed, u.optional) {
                        (Some(why), true) => format!("not found, optional; lookup: {why}"),
                        (Some(why), false) => {
                            format!("NOT found (lookup: {why}): rotation not stamped")
                        }
                        (None, true) => "not found, optional".to_string(),
                        (None, false) => "NOT found: rotation not stamped".to_string(),
                    },
                };
                let immutable = if u.immutable {
                    " (immutable: rotate by a new name)"
                } else {
                    ""
                };
                let _ = writeln!(
                    out,
                    "    {how} <- {} {} {key} [{state}]{immutable}",
                    u.kind.as_str(),
                    u.name
                );
            }
        }
        match w.rollout {
            Rollout::Rolls if w.stamps.is_empty() => {
                let _ = writeln!(out, "  stamps: none (nothing it reads was found)");
            }
            Rollout::Rolls => {
                if let Some(why) = w.reach.describe() {
                    let _ = writeln!(out, "  rotation reach: {why}");
                }
                for (k, d) in &w.stamps {
                    let order = if w.from_files.contains(k) {
                        " (source from a file: apply it before the upgrade)"
                    } else if w.from_cluster.contains(k) {
                        " (source read from the cluster)"
                    } else {
                        ""
                    };
                    let _ = writeln!(out, "  stamp {k} = {}{order}", short(d));
                }
            }
            Rollout::ImmutableJob => {
                let _ = writeln!(
                    out,
                    "  not stamped: a Job that is not a Helm hook has an immutable template"
                );
            }
            Rollout::BarePod => {
                let _ = writeln!(out, "  not stamped: a bare Pod does not roll");
            }
        }
        out.push('\n');
    }
    out
}

/// Rotating Secret `name` (or only its `key`): who rolls, reading what. The
/// graph is [`only_secret`]'s without a key: with one, the workloads that
/// read only other keys are listed apart, as not rolled by it.
pub fn secret_text(graph: &[WorkloadUses], name: &str, key: Option<&str>) -> String {
    if graph.is_empty() {
        return format!("No workload in the stream uses Secret {name}.\n");
    }
    let origin = graph
        .iter()
        .flat_map(|w| &w.uses)
        .find_map(|u| u.origin.as_ref());
    let what = match key {
        Some(key) => format!("key {key} of Secret {name}"),
        None => format!("Secret {name}"),
    };
    let mut out = match origin {
        None | Some(Origin::Render) => format!("Rotating {what} affects:\n"),
        Some(elsewhere) => format!("Rotating {what} ({elsewhere}) affects:\n"),
    };
    let (affected, others): (Vec<&WorkloadUses>, Vec<&WorkloadUses>) = graph
        .iter()
        .partition(|w| key.is_none_or(|k| w.uses.iter().any(|u| reads(u, k))));
    let width = graph.iter().map(|w| w.workload.len()).max().unwrap_or(0);
    if affected.is_empty() {
        out.push_str("  nothing: no workload reads it\n");
    }
    for w in &affected {
        let fate = match w.rollout {
            Rollout::Rolls if w.stamps.is_empty() => "not stamped (the Secret was not found)",
            Rollout::Rolls if !w.from_files.is_empty() => {
                "rolls when a key it reads changes, if the Secret's file is applied first"
            }
            Rollout::Rolls => "rolls when a key it reads changes",
            Rollout::ImmutableJob => "NOT rolled: immutable Job template",
            Rollout::BarePod => "NOT rolled: bare Pod",
        };
        // Stamped, but the stamp restarts nothing (OnDelete, paused, ...).
        let reach = match (w.rollout, w.reach.describe()) {
            (Rollout::Rolls, Some(why)) if !w.stamps.is_empty() => format!(", but {why}"),
            _ => String::new(),
        };
        let immutable = if w.uses.iter().any(|u| u.immutable) {
            " (the Secret is immutable: rotate by a new name)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {:width$}  keys: {}  -> {fate}{reach}{immutable}",
            w.workload,
            keys_read(w)
        );
    }
    if !others.is_empty() {
        let _ = writeln!(
            out,
            "Not rolled by it (they read other keys of Secret {name}):"
        );
        for w in others {
            let _ = writeln!(out, "  {:width$}  keys: {}", w.workload, keys_read(w));
        }
    }
    out
}

/// `A, B` or `(all keys)`: what a workload reads of the object its uses name.
fn keys_read(w: &WorkloadUses) -> String {
    let mut keys: Vec<String> = w
        .uses
        .iter()
        .map(|u| u.key.clone().unwrap_or_else(|| "(all keys)".into()))
        .collect();
    keys.sort();
    keys.dedup();
    keys.join(", ")
}

pub fn json(graph: &[WorkloadUses]) -> serde_json::Value {
    json!({
        "version": 1,
        "workloads": graph.iter().map(|w| json!({
            "workload": w.workload,
            "namespace": w.namespace,
            "template": w.template,
            "rollout": w.rollout.as_str(),
            "stamps": w.stamps,
            "stamps_from_files": w.from_files,
            "stamps_from_cluster": w.from_cluster,
            "reach": w.reach.describe(),
            "uses": w.uses.iter().map(|u| json!({
                "container": u.container,
                "via": u.via,
                "through": u.through,
                "kind": u.kind.as_str(),
                "name": u.name,
                "key": u.key,
                "optional": u.optional,
                "resolved": u.resolved,
                "origin": u.origin.as_ref().map(Origin::to_string),
                "lookup_failed": u.lookup_failed,
                "immutable": u.immutable,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// Graphviz: workloads on the left, Secrets and ConfigMaps on the right,
/// one edge per (workload, object) labelled with the keys read.
pub fn dot(graph: &[WorkloadUses]) -> String {
    let mut out =
        String::from("digraph secret_rollout {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n");
    let mut objects = BTreeMap::new();
    let mut edges: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for w in graph {
        let _ = writeln!(out, "  {} [shape=box];", quote(&w.workload));
        for u in &w.uses {
            let object = format!("{}/{}", u.kind.as_str(), u.name);
            objects.insert(object.clone(), u.resolved);
            edges
                .entry((w.workload.clone(), object))
                .or_default()
                .push(u.key.clone().unwrap_or_else(|| "*".into()));
        }
    }
    for (object, resolved) in &objects {
        let style = if *resolved { "" } else { ", style=dashed" };
        let _ = writeln!(out, "  {} [shape=ellipse{style}];", quote(object));
    }
    for ((w, o), mut keys) in edges {
        keys.sort();
        keys.dedup();
        let _ = writeln!(
            out,
            "  {} -> {} [label={}];",
            quote(&w),
            quote(&o),
            quote(&keys.join(", "))
        );
    }
    out.push_str("}\n");
    out
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
