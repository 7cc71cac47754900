//! Objects that run pods, and where their pod template lives.

use crate::config::WorkloadKind;
use crate::inventory::Object;
use crate::yaml::Node;

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

#[derive(Clone, Debug)]
pub struct Workload<'t, 'a> {
    pub object: Object<'t, 'a>,
    /// The pod template (`metadata` + `spec`); for a bare Pod, the object.
    pub template: &'t Node<'a>,
    /// Path of the template from the object root, for messages.
    pub template_path: String,
    pub pod_spec: &'t Node<'a>,
    pub rollout: Rollout,
}

impl<'t, 'a> Workload<'t, 'a> {
    /// Labels of the workload and of its pod template, the workload's first.
    pub fn label(&self, key: &str) -> Option<&'t str> {
        let own = self
            .object
            .node
            .path(&["metadata", "labels", key])
            .and_then(Node::as_str);
        own.or_else(|| {
            self.template
                .path(&["metadata", "labels", key])
                .and_then(Node::as_str)
        })
    }

    pub fn is_helm_hook(&self) -> bool {
        self.object.annotation("helm.sh/hook").is_some()
    }
}

/// Finds the pod template of every object that has one: the built-in
/// kinds, and custom resources the policy names.
pub fn find<'t, 'a>(objects: &[Object<'t, 'a>], extra: &[WorkloadKind]) -> Vec<Workload<'t, 'a>> {
    objects.iter().filter_map(|o| workload(o, extra)).collect()
}

/// Whether objects of this kind can run pods (and so are worth a tree).
pub fn is_workload_kind(api_version: &str, kind: &str, extra: &[WorkloadKind]) -> bool {
    built_in(api_version, kind).is_some() || extra.iter().any(|k| k.matches(api_version, kind))
}

/// The pod template path of the built-in workload kinds.
fn built_in(api_version: &str, kind: &str) -> Option<(&'static [&'static str], &'static str)> {
    let group = api_version.split('/').next().unwrap_or("");
    Some(match (group, kind) {
        ("apps" | "extensions", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") => {
            (&["spec", "template"], "spec.template")
        }
        ("v1", "ReplicationController") => (&["spec", "template"], "spec.template"),
        ("batch", "Job") => (&["spec", "template"], "spec.template"),
        ("batch", "CronJob") => (
            &["spec", "jobTemplate", "spec", "template"],
            "spec.jobTemplate.spec.template",
        ),
        ("argoproj.io", "Rollout") => (&["spec", "template"], "spec.template"),
        ("v1", "Pod") => (&[], ""),
        _ => return None,
    })
}

fn workload<'t, 'a>(obj: &Object<'t, 'a>, extra: &[WorkloadKind]) -> Option<Workload<'t, 'a>> {
    if let Some(custom) = extra.iter().find(|k| k.matches(obj.api_version, obj.kind)) {
        let path: Vec<&str> = custom.template.iter().map(String::as_str).collect();
        let template = obj.node.path(&path)?;
        let pod_spec = template.get("spec").filter(|s| s.as_map().is_some())?;
        return Some(Workload {
            object: *obj,
            template,
            template_path: custom.template.join("."),
            pod_spec,
            rollout: Rollout::Rolls,
        });
    }
    let (path, template_path) = built_in(obj.api_version, obj.kind)?;
    let template = obj.node.path(path)?;
    let pod_spec = if path.is_empty() {
        obj.node.get("spec")?
    } else {
        template.get("spec")?
    };
    pod_spec.as_map()?;
    let mut w = Workload {
        object: *obj,
        template,
        template_path: template_path.to_string(),
        pod_spec,
        rollout: Rollout::Rolls,
    };
    if obj.kind == "Pod" {
        w.rollout = Rollout::BarePod;
    } else if obj.kind == "Job" && !w.is_helm_hook() {
        w.rollout = Rollout::ImmutableJob;
    }
    Some(w)
}
