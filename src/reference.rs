//! What a pod spec consumes from Secrets and ConfigMaps, and how.

use crate::inventory::TargetKind;
use crate::yaml::{Node, Span};

/// How a container or volume reaches the object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via<'t> {
    /// `env[].valueFrom.secretKeyRef` / `configMapKeyRef`.
    Env { var: &'t str },
    /// `envFrom[].secretRef` / `configMapRef`.
    EnvFrom { prefix: &'t str },
    /// `volumes[].secret` / `configMap`.
    Volume { volume: &'t str },
    /// `volumes[].projected.sources[]`.
    Projected { volume: &'t str },
}

impl Via<'_> {
    pub fn describe(&self) -> String {
        match self {
            Via::Env { var } => format!("env {var}"),
            Via::EnvFrom { prefix: "" } => "envFrom".to_string(),
            Via::EnvFrom { prefix } => format!("envFrom (prefix {prefix})"),
            Via::Volume { volume } => format!("volume {volume}"),
            Via::Projected { volume } => format!("projected volume {volume}"),
        }
    }
}

/// One use of a Secret or ConfigMap by a pod template.
#[derive(Clone, Debug)]
pub struct Reference<'t> {
    pub target: TargetKind,
    pub name: &'t str,
    /// The key consumed, or `None` for the whole object.
    pub key: Option<&'t str>,
    pub via: Via<'t>,
    /// The container, for env and envFrom; volumes belong to the pod.
    pub container: Option<&'t str>,
    pub optional: bool,
    pub span: Span,
}

/// One `env[]` entry of a container, as written.
#[derive(Clone, Debug)]
pub struct EnvVar<'t, 'a> {
    pub container: &'t str,
    pub name: &'t str,
    pub node: &'t Node<'a>,
    pub source: EnvSource<'t>,
}

/// Where an env var's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvSource<'t> {
    /// `value:` (possibly empty) with no `valueFrom`.
    Plain(&'t str),
    SecretKeyRef,
    ConfigMapKeyRef,
    FieldRef,
    ResourceFieldRef,
    /// `valueFrom` with nothing we recognise in it.
    Other,
}

/// The containers of a pod spec: init containers first, as the kubelet runs them.
pub fn containers<'t, 'a>(pod_spec: &'t Node<'a>) -> impl Iterator<Item = &'t Node<'a>> {
    ["initContainers", "containers"]
        .into_iter()
        .filter_map(move |field| pod_spec.get(field).and_then(Node::as_seq))
        .flatten()
}

pub fn container_name<'t>(container: &'t Node<'_>) -> &'t str {
    container.get_str("name").unwrap_or("?")
}

/// Every env var of every container.
pub fn env_vars<'t, 'a>(pod_spec: &'t Node<'a>) -> Vec<EnvVar<'t, 'a>> {
    let mut out = Vec::new();
    for c in containers(pod_spec) {
        let container = container_name(c);
        for e in c.get("env").and_then(Node::as_seq).unwrap_or_default() {
            let Some(name) = e.get_str("name") else {
                continue;
            };
            let source = match e.get("valueFrom").filter(|v| !v.is_null()) {
                None => EnvSource::Plain(e.get_str("value").unwrap_or("")),
                Some(from) => {
                    if has(from, "secretKeyRef") {
                        EnvSource::SecretKeyRef
                    } else if has(from, "configMapKeyRef") {
                        EnvSource::ConfigMapKeyRef
                    } else if has(from, "fieldRef") {
                        EnvSource::FieldRef
                    } else if has(from, "resourceFieldRef") {
                        EnvSource::ResourceFieldRef
                    } else {
                        EnvSource::Other
                    }
                }
            };
            out.push(EnvVar {
                container,
                name,
                node: e,
                source,
            });
        }
    }
    out
}

fn has(node: &Node<'_>, key: &str) -> bool {
    node.get(key).is_some_and(|v| !v.is_null())
}

/// Every Secret and ConfigMap reference of a pod spec.
pub fn references<'t>(pod_spec: &'t Node<'_>) -> Vec<Reference<'t>> {
    let mut out = Vec::new();
    for c in containers(pod_spec) {
        let container = Some(container_name(c));
        for e in c.get("env").and_then(Node::as_seq).unwrap_or_default() {
            let var = e.get_str("name").unwrap_or("?");
            for (field, target) in [
                ("secretKeyRef", TargetKind::Secret),
                ("configMapKeyRef", TargetKind::ConfigMap),
            ] {
                if let Some(r) = e.path(&["valueFrom", field]).filter(|r| !r.is_null()) {
                    out.push(Reference {
                        target,
                        name: r.get_str("name").unwrap_or(""),
                        key: Some(r.get_str("key").unwrap_or("")),
                        via: Via::Env { var },
                        container,
                        optional: r.get_bool("optional").unwrap_or(false),
                        span: r.span,
                    });
                }
            }
        }
        for e in c.get("envFrom").and_then(Node::as_seq).unwrap_or_default() {
            let prefix = e.get_str("prefix").unwrap_or("");
            for (field, target) in [
                ("secretRef", TargetKind::Secret),
                ("configMapRef", TargetKind::ConfigMap),
            ] {
                if let Some(r) = e.get(field).filter(|r| !r.is_null()) {
                    out.push(Reference {
                        target,
                        name: r.get_str("name").unwrap_or(""),
                        key: None,
                        via: Via::EnvFrom { prefix },
                        container,
                        optional: r.get_bool("optional").unwrap_or(false),
                        span: r.span,
                    });
                }
            }
        }
    }
    for v in pod_spec
        .get("volumes")
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        let volume = v.get_str("name").unwrap_or("?");
        if let Some(s) = v.get("secret").filter(|s| !s.is_null()) {
            let name = s.get_str("secretName").unwrap_or("");
            push_volume(
                &mut out,
                s,
                TargetKind::Secret,
                name,
                Via::Volume { volume },
            );
        }
        if let Some(s) = v.get("configMap").filter(|s| !s.is_null()) {
            let name = s.get_str("name").unwrap_or("");
            push_volume(
                &mut out,
                s,
                TargetKind::ConfigMap,
                name,
                Via::Volume { volume },
            );
        }
        for src in v
            .path(&["projected", "sources"])
            .and_then(Node::as_seq)
            .unwrap_or_default()
        {
            for (field, target) in [
                ("secret", TargetKind::Secret),
                ("configMap", TargetKind::ConfigMap),
            ] {
                if let Some(s) = src.get(field).filter(|s| !s.is_null()) {
                    let name = s.get_str("name").unwrap_or("");
                    push_volume(&mut out, s, target, name, Via::Projected { volume });
                }
            }
        }
    }
    out
}

/// A volume source consumes the listed `items` keys, or the whole object.
fn push_volume<'t>(
    out: &mut Vec<Reference<'t>>,
    source: &'t Node<'_>,
    target: TargetKind,
    name: &'t str,
    via: Via<'t>,
) {
    let optional = source.get_bool("optional").unwrap_or(false);
    let items = source
        .get("items")
        .and_then(Node::as_seq)
        .filter(|i| !i.is_empty());
    match items {
        None => out.push(Reference {
            target,
            name,
            key: None,
            via,
            container: None,
            optional,
            span: source.span,
        }),
        Some(items) => out.extend(items.iter().map(|item| Reference {
            target,
            name,
            key: Some(item.get_str("key").unwrap_or("")),
            via,
            container: None,
            optional,
            span: item.span,
        })),
    }
}
