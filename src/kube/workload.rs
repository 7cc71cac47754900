//! Objects that run pods, and where their pod template lives.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::kube::gvk::{ApiGroup, Gvk};
use crate::kube::inventory::{Object, ObjectId};
use crate::kube::reference::{self, CommandWord, EnvVar, Mount, Reference};
use crate::yaml::tree::{Node, Span};

/// A custom resource that runs pods from a template at `template`.
#[derive(Clone, Debug)]
pub struct WorkloadKind {
    /// `group/version`, or just `group` to accept every version.
    pub api_group: ApiGroup,
    pub kind: String,
    pub template: Vec<String>,
}

impl WorkloadKind {
    pub fn matches(&self, gvk: &Gvk<'_>) -> bool {
        gvk.kind == self.kind && self.api_group.matches(gvk)
    }
}

/// The annotation that silences rules for one workload:
/// `secret-rollout/ignore: "rule-a, rule-b: why"`.
pub const IGNORE: &str = "secret-rollout/ignore";

/// Whether stamping a workload's pod template makes Kubernetes roll it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rollout {
    /// Changing the template rolls the pods.
    Rolls,
    /// A Job that is not a Helm hook: its template is immutable, so a stamp
    /// would make `helm upgrade` fail with `field is immutable`.
    ImmutableJob,
    /// A bare Pod has no template and never rolls.
    BarePod,
}

impl Rollout {
    /// As `explain` and `diff` write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Rollout::Rolls => "stamped",
            Rollout::ImmutableJob => "immutable-job",
            Rollout::BarePod => "bare-pod",
        }
    }
}

/// Whether a changed stamp restarts the pods, when the workload is stamped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// A changed template rolls the pods.
    Restarts,
    /// A StatefulSet or DaemonSet with `updateStrategy.type: OnDelete`: the
    /// new template waits until someone deletes each pod.
    OnDelete,
    /// A Deployment with `spec.paused: true`: nothing rolls until resumed.
    Paused,
    /// A CronJob: running jobs keep the old value; the next run reads the new.
    NextRun,
    /// A core/v1 PodTemplate: a template other controllers copy; changing it
    /// restarts nothing by itself.
    Template,
    /// A bare Pod: never restarted.
    Never,
}

impl Reach {
    /// What happens to running pods when a consumed Secret rotates; `None`
    /// when they restart.
    pub fn describe(self) -> Option<&'static str> {
        Some(match self {
            Reach::Restarts => return None,
            Reach::OnDelete => {
                "updateStrategy OnDelete: the new stamp waits until each pod is deleted by hand"
            }
            Reach::Paused => "the Deployment is paused: nothing rolls until it is resumed",
            Reach::NextRun => {
                "a CronJob: running jobs keep the old value, the next run reads the new one"
            }
            Reach::Template => "a PodTemplate: changing it restarts nothing by itself",
            Reach::Never => "a bare Pod: nothing restarts it",
        })
    }
}

/// What the rules, the stamp and `explain` need to know of a workload: plain
/// owned data, read from the document's tree before the tree is dropped.
#[derive(Clone, Debug)]
pub struct Workload {
    pub object: ObjectId,
    /// Path of the template from the object root, for messages (a built-in
    /// kind's borrowed: one string less per workload).
    pub template_path: Cow<'static, str>,
    pub rollout: Rollout,
    /// Labels of the pod template, overridden by the workload's own.
    pub labels: BTreeMap<String, String>,
    /// Container images, init containers first.
    pub images: Box<[String]>,
    pub env: Box<[EnvVar]>,
    pub refs: Box<[Reference]>,
    /// Words of command lines (command, args, exec handlers, probes).
    pub commands: Box<[CommandWord]>,
    pub mounts: Box<[Mount]>,
    pub reach: Reach,
    /// `secret-rollout/ignore` values, on the workload and on its template.
    pub ignores: Box<[Ignore]>,
    /// A Helm hook (`helm.sh/hook`).
    pub hook: bool,
    /// A digest of its whole pod template but our own annotations
    /// ([`crate::kube::stamp::template_digest`]), when the model was asked
    /// for it: what `diff` compares. `None` otherwise (render needs none,
    /// and a workload-dense stream holds one pointer, not 32 bytes).
    pub template_digest: Option<Box<[u8; 32]>>,
}

/// One `secret-rollout/ignore` annotation.
#[derive(Clone, Debug)]
pub struct Ignore {
    pub value: String,
    pub span: Span,
    /// `metadata.annotations[secret-rollout/ignore]`, or the same under the template.
    pub path: String,
}

impl Workload {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }

    /// The full key path of something at `rel` in the pod spec.
    pub fn in_pod_spec(&self, rel: &str) -> String {
        if self.template_path.is_empty() {
            format!("spec.{rel}")
        } else {
            format!("{}.spec.{rel}", self.template_path)
        }
    }
}

/// A workload as found in a document's tree.
#[derive(Clone, Debug)]
pub struct Found<'t, 'a> {
    pub object: Object<'t, 'a>,
    /// The pod template (`metadata` + `spec`); for a bare Pod, the object.
    pub template: &'t Node<'a>,
    /// Path of the template from the object root, for messages.
    pub template_path: Cow<'static, str>,
    pub pod_spec: &'t Node<'a>,
    pub rollout: Rollout,
}

impl Found<'_, '_> {
    fn reach(&self) -> Reach {
        let o = &self.object;
        let spec = o.node.get("spec");
        let strategy = spec
            .and_then(|s| s.path(&["updateStrategy", "type"]))
            .and_then(Node::as_str);
        match (o.gvk.group, o.gvk.kind) {
            _ if self.rollout == Rollout::BarePod => Reach::Never,
            ("apps" | "extensions", "StatefulSet" | "DaemonSet")
                if strategy == Some("OnDelete") =>
            {
                Reach::OnDelete
            }
            ("apps" | "extensions", "Deployment")
                if spec.and_then(|s| s.get_bool("paused")) == Some(true) =>
            {
                Reach::Paused
            }
            ("batch", "CronJob") => Reach::NextRun,
            ("", "PodTemplate") => Reach::Template,
            _ => Reach::Restarts,
        }
    }

    /// Read what the rules need, so the tree can go.
    pub fn facts(&self) -> Workload {
        let mut labels = BTreeMap::new();
        for node in [self.template, self.object.node] {
            if let Some(map) = node.path(&["metadata", "labels"]).and_then(Node::as_map) {
                for (k, v) in map.pairs() {
                    if let Some(v) = v.as_str() {
                        labels.insert(k.to_string(), v.to_string());
                    }
                }
            }
        }
        // For a bare Pod the template is the object itself: read it once.
        let template = (!std::ptr::eq(self.template, self.object.node)).then_some(self.template);
        let ignores = std::iter::once(("", self.object.node))
            .chain(template.map(|t| (&*self.template_path, t)))
            .filter_map(|(at, n)| Some((at, n.path(&["metadata", "annotations", IGNORE])?)))
            .filter_map(|(at, n)| {
                Some(Ignore {
                    value: n.as_str()?.to_string(),
                    span: n.span,
                    path: if at.is_empty() {
                        format!("metadata.annotations[{IGNORE}]")
                    } else {
                        format!("{at}.metadata.annotations[{IGNORE}]")
                    },
                })
            })
            .collect();
        // Held for the whole run, one per workload: no spare capacity (a
        // Vec that grew by one push holds room for four), and no capacity
        // field either.
        fn exact<T>(v: Vec<T>) -> Box<[T]> {
            v.into_boxed_slice()
        }
        Workload {
            object: self.object.id(),
            template_path: self.template_path.clone(),
            rollout: self.rollout,
            labels,
            images: exact(
                reference::containers(self.pod_spec)
                    .map(|c| c.get_str("image").unwrap_or("").to_string())
                    .collect(),
            ),
            env: exact(reference::env_vars(self.pod_spec)),
            refs: exact(reference::references(self.pod_spec)),
            commands: exact(reference::command_words(self.pod_spec)),
            mounts: exact(reference::mounts(self.pod_spec)),
            reach: self.reach(),
            ignores: exact(ignores),
            hook: self.object.is_helm_hook(),
            template_digest: None,
        }
    }
}

/// Finds the pod template of every object that has one: the built-in
/// kinds, and custom resources the policy names.
pub fn find<'t, 'a>(objects: &[Object<'t, 'a>], extra: &[WorkloadKind]) -> Vec<Found<'t, 'a>> {
    objects.iter().filter_map(|o| workload(o, extra)).collect()
}

/// Whether objects of this kind can run pods (and so are worth a tree).
pub fn is_workload_kind(gvk: &Gvk<'_>, extra: &[WorkloadKind]) -> bool {
    built_in(gvk).is_some() || extra.iter().any(|k| k.matches(gvk))
}

/// The pod template path of the built-in workload kinds.
fn built_in(gvk: &Gvk<'_>) -> Option<(&'static [&'static str], &'static str)> {
    Some(match (gvk.group, gvk.kind) {
        ("apps" | "extensions", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") => {
            (&["spec", "template"], "spec.template")
        }
        ("", "ReplicationController") => (&["spec", "template"], "spec.template"),
        // core/v1 PodTemplate: its template is a top-level field.
        ("", "PodTemplate") => (&["template"], "template"),
        ("batch", "Job") => (&["spec", "template"], "spec.template"),
        ("batch", "CronJob") => (
            &["spec", "jobTemplate", "spec", "template"],
            "spec.jobTemplate.spec.template",
        ),
        ("argoproj.io", "Rollout") => (&["spec", "template"], "spec.template"),
        ("", "Pod") => (&[], ""),
        _ => return None,
    })
}

fn workload<'t, 'a>(obj: &Object<'t, 'a>, extra: &[WorkloadKind]) -> Option<Found<'t, 'a>> {
    if let Some(custom) = extra.iter().find(|k| k.matches(&obj.gvk)) {
        let path: Vec<&str> = custom.template.iter().map(String::as_str).collect();
        let template = obj.node.path(&path)?;
        let pod_spec = template.get("spec").filter(|s| s.as_map().is_some())?;
        return Some(Found {
            object: *obj,
            template,
            template_path: Cow::Owned(custom.template.join(".")),
            pod_spec,
            rollout: Rollout::Rolls,
        });
    }
    let (path, template_path) = built_in(&obj.gvk)?;
    let template = obj.node.path(path)?;
    let pod_spec = if path.is_empty() {
        obj.node.get("spec")?
    } else {
        template.get("spec")?
    };
    pod_spec.as_map()?;
    let mut w = Found {
        object: *obj,
        template,
        template_path: Cow::Borrowed(template_path),
        pod_spec,
        rollout: Rollout::Rolls,
    };
    if obj.gvk.kind == "Pod" {
        w.rollout = Rollout::BarePod;
    } else if obj.gvk.kind == "Job" && !obj.is_helm_hook() {
        w.rollout = Rollout::ImmutableJob;
    }
    Some(w)
}
