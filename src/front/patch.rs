//! Stamps as kustomize patches.
//!
//! Flux's helm-controller and kustomize cannot run secret-rollout when they
//! deploy, but they apply strategic-merge patches. So CI reads the render,
//! decides the annotations `render` would write, and keeps them in Git as one
//! patch per workload: [`plan`] decides them, [`Stamp::patch_text`] writes
//! one, and [`Stamp::read`] recognises one we wrote, so a later run can find
//! it again, compare it by meaning and refresh or remove it.

use std::collections::BTreeMap;

use crate::kube::inventory::Origin;
use crate::kube::stamp::{self, is_ours};
use crate::model::{self, InputError, Options};
use crate::policy::finding::Finding;
use crate::yaml::tree::{self as yaml, Node};
use crate::yaml::write::content::{Content, Field};

/// The annotations one workload's pod template must carry, as a patch
/// targets it: by kind and name, and by namespace only when the rendered
/// object has one (a target with a namespace silently matches nothing when
/// the object has none, which is how Helm renders most charts).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp {
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    pub api_version: String,
    /// Keys from the object to its pod template: `spec`, `template`.
    pub template_path: Vec<String>,
    /// Our annotation keys; `None` deletes a key of ours that the render has
    /// and `render` would remove.
    pub annotations: BTreeMap<String, Option<String>>,
}

/// A Secret (or what produces one) that a stamp covers and that lives in a
/// `--secrets-from` file: someone else applies it, so the order matters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSource {
    pub path: String,
    pub line: usize,
    /// The kind and name of the object in the file: `SealedSecret`, `the0-root-admin`.
    pub kind: String,
    pub name: String,
    /// `Secret the0-root-admin in namespace the0`.
    pub identity: String,
    /// Workloads whose stamp covers it, `Deployment/the0-api`.
    pub workloads: Vec<String>,
}

/// What a render asks for.
#[derive(Debug)]
pub struct Plan {
    pub findings: Vec<Finding>,
    pub stamps: Vec<Stamp>,
    pub file_sources: Vec<FileSource>,
    /// Stamped sources that the render itself holds but a controller turns
    /// into the Secret later (SealedSecret, ExternalSecret), with their
    /// readers: applied in one go with them, the pods may start first.
    pub written_later: Vec<(String, Vec<String>)>,
    /// Objects in the render; none means the render is missing.
    pub objects: usize,
}

impl Plan {
    /// The stamps that differ from `previous` (what the file held): their
    /// workloads roll when the change is applied. A workload whose stamps go
    /// away does not roll for that; it rolls for any change to its template.
    pub fn rolling<'p>(&'p self, previous: &[Stamp]) -> Vec<&'p Stamp> {
        self.stamps
            .iter()
            .filter(|s| {
                !previous.iter().any(|p| {
                    p.kind == s.kind
                        && p.name == s.name
                        && p.namespace == s.namespace
                        && p.annotations == s.annotations
                })
            })
            .collect()
    }

    /// One line for a person: which workloads this change rolls.
    pub fn rolling_summary(&self, previous: &[Stamp]) -> String {
        let rolling: Vec<String> = self.rolling(previous).iter().map(|s| s.display()).collect();
        match rolling.len() {
            0 => "secret-rollout: no workload will roll".to_string(),
            1 => format!("secret-rollout: 1 workload will roll: {}", rolling[0]),
            n => format!(
                "secret-rollout: {n} workloads will roll: {}",
                rolling.join(", ")
            ),
        }
    }

    pub fn has_errors(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.is_active() && f.severity == crate::policy::rule::Severity::Error)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{0}")]
    Input(#[from] InputError),
    #[error(
        "{kind}/{name} appears twice in the render (namespaces {}), and a patch target \
         cannot tell an object without a namespace from the others; give every copy a \
         metadata.namespace",
        .namespaces.join(", ")
    )]
    Ambiguous {
        kind: String,
        name: String,
        namespaces: Vec<String>,
    },
}

/// The stamps a render asks for. `previous` are the stamps the patches in Git
/// write now: when the render was built with them applied (kustomize builds
/// the directory, patches included), their keys are not stale keys of the
/// render, so they are not deleted.
pub fn plan(render: &str, options: &Options, previous: &[Stamp]) -> Result<Plan, PlanError> {
    let mut plan = model::with_model(render, options, |m| {
        let findings = model::findings(m);
        let mut stamps = Vec::new();
        let mut file_sources: Vec<FileSource> = Vec::new();
        let mut written_later: Vec<(String, Vec<String>)> = Vec::new();
        for (w, site) in m.workloads.iter().zip(m.sites) {
            let Some(site) = site else { continue };
            let policy = &options.policy;
            let key = options.digest_key.as_deref();
            let Some(consumed) = stamp::consumed(w, m.index, policy.stamp_config_maps) else {
                continue;
            };
            let Some(desired) = stamp::desired(w, m.index, policy.stamp_config_maps, key) else {
                continue;
            };
            let ns = w.object.namespace.clone();
            let mine = |s: &&Stamp| s.kind == w.object.gvk.kind && s.name == w.object.name;
            let written: Vec<&String> = previous
                .iter()
                .filter(|s| mine(s) && s.namespace == ns)
                .flat_map(|s| s.annotations.keys())
                .collect();
            let mut annotations: BTreeMap<String, Option<String>> =
                desired.into_iter().map(|(k, v)| (k, Some(v))).collect();
            for key in site.ours() {
                if !annotations.contains_key(key) && !written.iter().any(|k| *k == key) {
                    annotations.insert(key.to_string(), None);
                }
            }
            if annotations.is_empty() {
                continue;
            }
            for c in &consumed {
                let later = matches!(
                    &*c.source.object.gvk.kind,
                    "SealedSecret" | "ExternalSecret"
                );
                if later && c.source.origin == Origin::Render {
                    let what = format!(
                        "{} (from {} {})",
                        c.source.identity(),
                        c.source.object.gvk.kind,
                        crate::trust::name::Name(&c.source.object.name)
                    );
                    let at = match written_later.iter().position(|(w, _)| *w == what) {
                        Some(at) => at,
                        None => {
                            written_later.push((what, Vec::new()));
                            written_later.len() - 1
                        }
                    };
                    let readers = &mut written_later[at].1;
                    if !readers.contains(&w.object.display()) {
                        readers.push(w.object.display());
                    }
                }
                if let Origin::File { path, line } = &c.source.origin {
                    let found = file_sources
                        .iter_mut()
                        .find(|f| f.path == *path && f.line == *line);
                    let entry = match found {
                        Some(f) => f,
                        None => {
                            file_sources.push(FileSource {
                                path: path.clone(),
                                line: *line,
                                kind: c.source.object.gvk.kind.to_string(),
                                name: c.source.object.name.clone(),
                                identity: c.source.identity(),
                                workloads: Vec::new(),
                            });
                            file_sources.last_mut().expect("just pushed")
                        }
                    };
                    if !entry.workloads.contains(&w.object.display()) {
                        entry.workloads.push(w.object.display());
                    }
                }
            }
            stamps.push(Stamp {
                kind: w.object.gvk.kind.to_string(),
                name: w.object.name.clone(),
                namespace: ns,
                api_version: api_version(&w.object.gvk),
                template_path: w.template_path.split('.').map(str::to_string).collect(),
                annotations,
            });
        }
        Ok(Plan {
            findings,
            stamps,
            file_sources,
            written_later,
            objects: m.objects,
        })
    })?;
    plan.stamps.sort();
    plan.stamps.dedup();
    for pair in plan.stamps.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let clash = a.kind == b.kind
            && a.name == b.name
            && (a.namespace.is_none() || b.namespace.is_none() || a.namespace == b.namespace);
        if clash {
            let mut namespaces: Vec<String> = plan
                .stamps
                .iter()
                .filter(|s| s.kind == a.kind && s.name == a.name)
                .map(|s| s.namespace.clone().unwrap_or_else(|| "(none)".into()))
                .collect();
            namespaces.dedup();
            return Err(PlanError::Ambiguous {
                kind: a.kind.clone(),
                name: a.name.clone(),
                namespaces,
            });
        }
    }
    Ok(plan)
}

/// `apps/v1`, or `v1` for the core group.
fn api_version(gvk: &crate::kube::gvk::GroupVersionKind) -> String {
    if gvk.group.is_empty() {
        gvk.version.to_string()
    } else {
        format!("{}/{}", gvk.group, gvk.version)
    }
}

impl Stamp {
    /// `Deployment/the0-api`, with the namespace when it has one.
    pub fn display(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{} in namespace {ns}", self.kind, self.name),
            None => format!("{}/{}", self.kind, self.name),
        }
    }

    /// `namespace.name`, or the name alone: unique among a plan's stamps of
    /// one kind.
    pub fn display_id(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}.{}", self.name),
            None => self.name.clone(),
        }
    }

    /// The patch target's fields, in the order we write them.
    pub fn target(&self) -> Vec<(&'static str, &str)> {
        let mut out = vec![("kind", self.kind.as_str()), ("name", self.name.as_str())];
        if let Some(ns) = &self.namespace {
            out.push(("namespace", ns));
        }
        out
    }

    /// The patch target, as we write it.
    pub fn target_content(&self) -> Content {
        Content::map(self.target().into_iter().map(|(k, v)| (k, Content::str(v))))
    }

    /// The strategic-merge patch: the object's identity and, under its pod
    /// template, our annotations (values quoted, so they stay strings to
    /// every reader; `None` as null, which deletes the key).
    pub fn patch(&self) -> Content {
        let annotations = Content::Map(
            self.annotations
                .iter()
                .map(|(k, v)| {
                    let value = v.as_deref().map_or(Content::Null, Content::quoted);
                    Field::Pair(k.clone(), value)
                })
                .collect(),
        );
        let mut below = Content::map([("metadata", Content::map([("annotations", annotations)]))]);
        for key in self.template_path.iter().rev() {
            below = Content::map([(key.as_str(), below)]);
        }
        let mut metadata = vec![("name", Content::str(&self.name))];
        if let Some(ns) = &self.namespace {
            metadata.push(("namespace", Content::str(ns)));
        }
        let mut fields = vec![
            Field::Pair("apiVersion".into(), Content::str(&self.api_version)),
            Field::Pair("kind".into(), Content::str(&self.kind)),
            Field::Pair("metadata".into(), Content::map(metadata)),
        ];
        if let Content::Map(below) = below {
            fields.extend(below);
        }
        Content::Map(fields)
    }

    /// [`Stamp::patch`] as the text of a document, one line per `\n`.
    pub fn patch_text(&self) -> String {
        self.patch().document()
    }

    /// The patch and its target as one JSON object, for flow-style files.
    pub fn json(&self) -> serde_json::Value {
        let target: serde_json::Map<String, serde_json::Value> = self
            .target()
            .into_iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::from(v)))
            .collect();
        serde_json::json!({"target": target, "patch": self.patch_text()})
    }

    /// The stamp a patch of ours writes, or `None` when `target` and `patch`
    /// are not exactly what [`Stamp::patch_text`] and [`Stamp::target`]
    /// produce (by meaning: quoting, layout and comments may differ).
    pub fn read(target: &Node<'_>, patch: &str) -> Option<Stamp> {
        let root = yaml::parse_document(patch, 0, 1).ok()??;
        let map = root.as_map()?;
        let keys: Vec<&str> = map.entries.iter().filter_map(|e| e.key.as_str()).collect();
        if keys.len() != 4 || map.entries.len() != 4 {
            return None;
        }
        let api_version = root.get_str("apiVersion")?.to_string();
        let kind = root.get_str("kind")?.to_string();
        let meta = root.get("metadata")?.as_map()?;
        let name = meta.get("name")?.as_str()?.to_string();
        let namespace = match meta.get("namespace") {
            Some(n) => Some(n.as_str()?.to_string()),
            None => None,
        };
        if meta.entries.len() != 1 + usize::from(namespace.is_some()) {
            return None;
        }
        let top = keys
            .iter()
            .find(|k| !matches!(**k, "apiVersion" | "kind" | "metadata"))?;
        // Down single-key mappings to the template's `metadata: {annotations: {…}}`.
        let mut template_path = vec![top.to_string()];
        let mut node = root.get(top)?;
        let annotations = loop {
            let inner = node.as_map()?;
            let [entry] = inner.entries.as_slice() else {
                return None;
            };
            let key = entry.key.as_str()?;
            if key == "metadata" {
                let meta = entry.value.as_map()?;
                let [a] = meta.entries.as_slice() else {
                    return None;
                };
                if a.key.as_str() != Some("annotations") {
                    return None;
                }
                break a.value.as_map()?;
            }
            template_path.push(key.to_string());
            node = &entry.value;
        };
        let mut out = BTreeMap::new();
        for e in &annotations.entries {
            let k = e.key.as_str()?;
            if !is_ours(k) {
                return None;
            }
            let v = if e.value.is_null() {
                None
            } else {
                Some(e.value.as_scalar()?.text.to_string())
            };
            out.insert(k.to_string(), v);
        }
        let stamp = Stamp {
            kind,
            name,
            namespace,
            api_version,
            template_path,
            annotations: out,
        };
        let tmap = target.as_map()?;
        let want = stamp.target();
        if tmap.entries.len() != want.len() {
            return None;
        }
        for (k, v) in want {
            if tmap.get(k)?.as_str()? != v {
                return None;
            }
        }
        Some(stamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp() -> Stamp {
        Stamp {
            kind: "CronJob".into(),
            name: "gc".into(),
            namespace: Some("the0".into()),
            api_version: "batch/v1".into(),
            template_path: ["spec", "jobTemplate", "spec", "template"]
                .map(String::from)
                .to_vec(),
            annotations: BTreeMap::from([
                ("secret-rollout/secret.db".into(), Some("sha256:ab".into())),
                ("secret-rollout/secret.old".into(), None),
            ]),
        }
    }

    fn target(s: &Stamp) -> String {
        let parts: Vec<String> = s
            .target()
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        format!("{{{}}}", parts.join(", "))
    }

    #[test]
    fn a_patch_reads_back_as_the_stamp_that_wrote_it() {
        let s = stamp();
        assert_eq!(
            s.patch_text(),
            "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: gc\n  namespace: the0\n\
             spec:\n  jobTemplate:\n    spec:\n      template:\n        metadata:\n          \
             annotations:\n            secret-rollout/secret.db: \"sha256:ab\"\n            \
             secret-rollout/secret.old: null\n"
        );
        let t = target(&s);
        let t = yaml::parse_document(&t, 0, 1).unwrap().unwrap();
        assert_eq!(Stamp::read(&t, &s.patch_text()), Some(s));
    }

    #[test]
    fn patches_with_anything_else_are_not_ours() {
        let s = stamp();
        let t = target(&s);
        let t = yaml::parse_document(&t, 0, 1).unwrap().unwrap();
        let text = s.patch_text();
        let with_label = text.replace(
            "        metadata:\n",
            "        metadata:\n          labels: {a: b}\n",
        );
        let foreign_key = text.replace("secret-rollout/secret.old", "checksum/config");
        let more_spec = text.replace(
            "spec:\n  jobTemplate:",
            "spec:\n  suspend: true\n  jobTemplate:",
        );
        for other in [
            with_label,
            foreign_key,
            more_spec,
            "[]".into(),
            "a: [".into(),
        ] {
            assert_eq!(Stamp::read(&t, &other), None, "{other}");
        }
        let other_target = yaml::parse_document("{kind: CronJob, name: gc}", 0, 1)
            .unwrap()
            .unwrap();
        assert_eq!(Stamp::read(&other_target, &text), None, "namespace differs");
    }
}
