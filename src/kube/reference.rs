//! What a pod spec consumes from Secrets and ConfigMaps, and how.
//!
//! The results are plain owned data: they outlive the document's tree, which
//! is dropped as soon as its facts are read.

use crate::kube::inventory::TargetKind;
use crate::trust::name::Name;
use crate::yaml::tree::{Node, Span};

/// How a container or volume reaches the object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Via {
    /// `env[].valueFrom.secretKeyRef` / `configMapKeyRef`.
    Env { var: String },
    /// `envFrom[].secretRef` / `configMapRef`.
    EnvFrom { prefix: String },
    /// `volumes[].secret` / `configMap`.
    Volume { volume: String },
    /// `volumes[].projected.sources[]`.
    Projected { volume: String },
}

impl Via {
    pub fn describe(&self) -> String {
        match self {
            Via::Env { var } => format!("env {}", Name(var)),
            Via::EnvFrom { prefix } if prefix.is_empty() => "envFrom".to_string(),
            Via::EnvFrom { prefix } => format!("envFrom (prefix {})", Name(prefix)),
            Via::Volume { volume } => format!("volume {}", Name(volume)),
            Via::Projected { volume } => format!("projected volume {}", Name(volume)),
        }
    }
}

/// One use of a Secret or ConfigMap by a pod template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub target: TargetKind,
    pub name: String,
    /// The key consumed, or `None` for the whole object.
    pub key: Option<String>,
    pub via: Via,
    /// The container, for env and envFrom; volumes belong to the pod.
    pub container: Option<String>,
    pub optional: bool,
    pub span: Span,
    pub site: Site,
}

impl Reference {
    /// Key path from the pod spec:
    /// `containers[api].env[JWT_SECRET].valueFrom.secretKeyRef`.
    pub fn path(&self) -> String {
        let s = &self.site;
        let (secret, config_map) = match &self.via {
            Via::Env { .. } => ("secretKeyRef", "configMapKeyRef"),
            Via::EnvFrom { .. } => ("secretRef", "configMapRef"),
            Via::Volume { .. } | Via::Projected { .. } => ("secret", "configMap"),
        };
        let field = match self.target {
            TargetKind::Secret => secret,
            TargetKind::ConfigMap => config_map,
        };
        let container = self.container.as_deref().unwrap_or("");
        let mut path = match &self.via {
            Via::Env { var } => format!(
                "{}.{}.valueFrom.{field}",
                s.container(container),
                s.entry.spell("env", var)
            ),
            Via::EnvFrom { .. } => format!(
                "{}.envFrom[{}].{field}",
                s.container(container),
                s.entry.index
            ),
            Via::Volume { volume } => format!("{}.{field}", s.entry.spell("volumes", volume)),
            Via::Projected { volume } => format!(
                "{}.projected.sources[{}].{field}",
                s.entry.spell("volumes", volume),
                s.source
            ),
        };
        if let Some(i) = s.item {
            path.push_str(&format!(".items[{i}]"));
        }
        path
    }
}

/// Where an env var or a reference sits in the pod spec, in a few numbers;
/// its path is spelled only when a finding needs it (a string for every env
/// var of a large stream would cost megabytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Site {
    /// `containers`, `initContainers` or `ephemeralContainers`.
    pub group: Group,
    /// The container, for env and envFrom.
    pub container_at: Item,
    /// The `env`, `envFrom` or `volumes` entry.
    pub entry: Item,
    /// The entry of a projected volume's `sources`.
    pub source: u32,
    /// The entry of a volume source's `items`, when only those keys are read.
    pub item: Option<u32>,
}

/// Which list of the pod spec a container is in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Group {
    Init,
    #[default]
    Main,
    Ephemeral,
}

impl Group {
    fn field(self) -> &'static str {
        match self {
            Group::Init => "initContainers",
            Group::Main => "containers",
            Group::Ephemeral => "ephemeralContainers",
        }
    }
}

/// A list item: by its `name` when it has one, else by its index.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Item {
    pub index: u32,
    pub named: bool,
}

impl Item {
    fn of(index: usize, node: &Node<'_>) -> Item {
        Item {
            index: u32::try_from(index).unwrap_or(u32::MAX),
            named: node.get_str("name").is_some_and(|n| !n.is_empty()),
        }
    }

    /// `field[name]`, or `field[index]` for an item without a name (or
    /// with one a message may not show, see [`crate::trust::name`]).
    fn spell(self, field: &str, name: &str) -> String {
        if self.named && crate::trust::name::checked(name).is_some_and(|n| n.len() == name.len()) {
            format!("{field}[{name}]")
        } else {
            format!("{field}[{}]", self.index)
        }
    }
}

impl Site {
    pub fn container(&self, name: &str) -> String {
        self.container_at.spell(self.group.field(), name)
    }
}

/// One `env[]` entry of a container, as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvVar {
    pub container: String,
    pub name: String,
    /// The whole entry, where findings point.
    pub span: Span,
    pub site: Site,
    pub source: EnvSource,
}

impl EnvVar {
    /// Key path from the pod spec: `containers[api].env[JWT_SECRET]`.
    pub fn path(&self) -> String {
        format!(
            "{}.{}",
            self.site.container(&self.container),
            self.site.entry.spell("env", &self.name)
        )
    }
}

/// Where an env var's value comes from. A plain value is kept only to judge
/// whether it looks secret; it is never printed.
#[derive(Clone, PartialEq, Eq)]
pub enum EnvSource {
    /// `value:` (possibly empty) with no `valueFrom`.
    Plain(String),
    SecretKeyRef,
    ConfigMapKeyRef,
    FieldRef,
    ResourceFieldRef,
    /// `valueFrom` with nothing we recognise in it.
    Other,
}

impl std::fmt::Debug for EnvSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EnvSource::Plain(_) => f.write_str("Plain(..)"),
            EnvSource::SecretKeyRef => f.write_str("SecretKeyRef"),
            EnvSource::ConfigMapKeyRef => f.write_str("ConfigMapKeyRef"),
            EnvSource::FieldRef => f.write_str("FieldRef"),
            EnvSource::ResourceFieldRef => f.write_str("ResourceFieldRef"),
            EnvSource::Other => f.write_str("Other"),
        }
    }
}

/// The containers of a pod spec: init containers first, as the kubelet runs
/// them, then the containers, then ephemeral containers (which a Pod may
/// carry once `kubectl debug` added them).
pub fn containers<'t, 'a>(pod_spec: &'t Node<'a>) -> impl Iterator<Item = &'t Node<'a>> {
    containers_at(pod_spec).map(|(_, c)| c)
}

/// The containers with where they are: a site with `group` and
/// `container_at` set.
fn containers_at<'t, 'a>(pod_spec: &'t Node<'a>) -> impl Iterator<Item = (Site, &'t Node<'a>)> {
    [Group::Init, Group::Main, Group::Ephemeral]
        .into_iter()
        .filter_map(move |group| Some((group, pod_spec.get(group.field()).and_then(Node::as_seq)?)))
        .flat_map(|(group, items)| {
            items.iter().enumerate().map(move |(i, c)| {
                let site = Site {
                    group,
                    container_at: Item::of(i, c),
                    ..Site::default()
                };
                (site, c)
            })
        })
}

pub fn container_name<'t>(container: &'t Node<'_>) -> &'t str {
    container.get_str("name").unwrap_or("?")
}

/// Every env var of every container.
pub fn env_vars(pod_spec: &Node<'_>) -> Vec<EnvVar> {
    let mut out = Vec::new();
    for (at, c) in containers_at(pod_spec) {
        let container = container_name(c);
        for (i, e) in c
            .get("env")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let Some(name) = e.get_str("name") else {
                continue;
            };
            let source = match e.get("valueFrom").filter(|v| !v.is_null()) {
                None => EnvSource::Plain(e.get_str("value").unwrap_or("").to_string()),
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
                container: container.to_string(),
                name: name.to_string(),
                span: e.span,
                site: Site {
                    entry: Item::of(i, e),
                    ..at
                },
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
pub fn references(pod_spec: &Node<'_>) -> Vec<Reference> {
    let mut out = Vec::new();
    for (at, c) in containers_at(pod_spec) {
        let container = Some(container_name(c).to_string());
        for (i, e) in c
            .get("env")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let var = e.get_str("name").unwrap_or("?");
            let site = Site {
                entry: Item::of(i, e),
                ..at
            };
            for (field, target) in [
                ("secretKeyRef", TargetKind::Secret),
                ("configMapKeyRef", TargetKind::ConfigMap),
            ] {
                if let Some(r) = e.path(&["valueFrom", field]).filter(|r| !r.is_null()) {
                    out.push(Reference {
                        target,
                        name: r.get_str("name").unwrap_or("").to_string(),
                        key: Some(r.get_str("key").unwrap_or("").to_string()),
                        via: Via::Env {
                            var: var.to_string(),
                        },
                        container: container.clone(),
                        optional: r.get_bool("optional").unwrap_or(false),
                        span: r.span,
                        site,
                    });
                }
            }
        }
        for (i, e) in c
            .get("envFrom")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let prefix = e.get_str("prefix").unwrap_or("");
            for (field, target) in [
                ("secretRef", TargetKind::Secret),
                ("configMapRef", TargetKind::ConfigMap),
            ] {
                if let Some(r) = e.get(field).filter(|r| !r.is_null()) {
                    out.push(Reference {
                        target,
                        name: r.get_str("name").unwrap_or("").to_string(),
                        key: None,
                        via: Via::EnvFrom {
                            prefix: prefix.to_string(),
                        },
                        container: container.clone(),
                        optional: r.get_bool("optional").unwrap_or(false),
                        span: r.span,
                        site: Site {
                            entry: Item::of(i, e),
                            ..at
                        },
                    });
                }
            }
        }
    }
    for (i, v) in pod_spec
        .get("volumes")
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let volume = v.get_str("name").unwrap_or("?").to_string();
        let at = Site {
            entry: Item::of(i, v),
            ..Site::default()
        };
        if let Some(s) = v.get("secret").filter(|s| !s.is_null()) {
            let name = s.get_str("secretName").unwrap_or("");
            let via = Via::Volume {
                volume: volume.clone(),
            };
            push_volume(&mut out, s, TargetKind::Secret, name, &via, at);
        }
        if let Some(s) = v.get("configMap").filter(|s| !s.is_null()) {
            let name = s.get_str("name").unwrap_or("");
            let via = Via::Volume {
                volume: volume.clone(),
            };
            push_volume(&mut out, s, TargetKind::ConfigMap, name, &via, at);
        }
        for (j, src) in v
            .path(&["projected", "sources"])
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            for (field, target) in [
                ("secret", TargetKind::Secret),
                ("configMap", TargetKind::ConfigMap),
            ] {
                if let Some(s) = src.get(field).filter(|s| !s.is_null()) {
                    let name = s.get_str("name").unwrap_or("");
                    let via = Via::Projected {
                        volume: volume.clone(),
                    };
                    let site = Site {
                        source: u32::try_from(j).unwrap_or(u32::MAX),
                        ..at
                    };
                    push_volume(&mut out, s, target, name, &via, site);
                }
            }
        }
    }
    out
}

/// A volume source consumes the listed `items` keys, or the whole object.
fn push_volume(
    out: &mut Vec<Reference>,
    source: &Node<'_>,
    target: TargetKind,
    name: &str,
    via: &Via,
    site: Site,
) {
    let optional = source.get_bool("optional").unwrap_or(false);
    let items = source
        .get("items")
        .and_then(Node::as_seq)
        .filter(|i| !i.is_empty());
    let reference = |key: Option<&str>, span, site| Reference {
        target,
        name: name.to_string(),
        key: key.map(str::to_string),
        via: via.clone(),
        container: None,
        optional,
        span,
        site,
    };
    match items {
        None => out.push(reference(None, source.span, site)),
        Some(items) => out.extend(items.iter().enumerate().map(|(i, item)| {
            let site = Site {
                item: Some(u32::try_from(i).unwrap_or(u32::MAX)),
                ..site
            };
            reference(Some(item.get_str("key").unwrap_or("")), item.span, site)
        })),
    }
}

/// Where in a container a command line sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandField {
    Command,
    Args,
    PostStart,
    PreStop,
    LivenessProbe,
    ReadinessProbe,
    StartupProbe,
}

impl CommandField {
    const ALL: [(CommandField, &'static [&'static str]); 7] = [
        (CommandField::Command, &["command"]),
        (CommandField::Args, &["args"]),
        (
            CommandField::PostStart,
            &["lifecycle", "postStart", "exec", "command"],
        ),
        (
            CommandField::PreStop,
            &["lifecycle", "preStop", "exec", "command"],
        ),
        (
            CommandField::LivenessProbe,
            &["livenessProbe", "exec", "command"],
        ),
        (
            CommandField::ReadinessProbe,
            &["readinessProbe", "exec", "command"],
        ),
        (
            CommandField::StartupProbe,
            &["startupProbe", "exec", "command"],
        ),
    ];

    pub fn path(self) -> &'static str {
        match self {
            CommandField::Command => "command",
            CommandField::Args => "args",
            CommandField::PostStart => "lifecycle.postStart.exec.command",
            CommandField::PreStop => "lifecycle.preStop.exec.command",
            CommandField::LivenessProbe => "livenessProbe.exec.command",
            CommandField::ReadinessProbe => "readinessProbe.exec.command",
            CommandField::StartupProbe => "startupProbe.exec.command",
        }
    }

    /// Whether the kubelet expands `$(VAR)` in it (only `command` and
    /// `args`; exec handlers and probes run as written).
    pub fn expands(self) -> bool {
        matches!(self, CommandField::Command | CommandField::Args)
    }
}

/// One word of a container's `command`, `args`, or of an exec handler or
/// probe command. Kept to judge whether it holds a credential; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct CommandWord {
    pub container: String,
    pub site: Site,
    pub field: CommandField,
    pub index: u32,
    pub text: String,
    pub span: Span,
}

impl std::fmt::Debug for CommandWord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandWord")
            .field("container", &self.container)
            .field("field", &self.field)
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl CommandWord {
    /// `containers[api].args[2]`.
    pub fn path(&self) -> String {
        format!(
            "{}.{}[{}]",
            self.site.container(&self.container),
            self.field.path(),
            self.index
        )
    }
}

/// Every word of every command line of every container.
pub fn command_words(pod_spec: &Node<'_>) -> Vec<CommandWord> {
    let mut out = Vec::new();
    for (site, c) in containers_at(pod_spec) {
        let container = container_name(c);
        for (field, path) in CommandField::ALL {
            let Some(words) = c.path(path).and_then(Node::as_seq) else {
                continue;
            };
            for (i, w) in words.iter().enumerate() {
                let Some(text) = w.as_str().filter(|t| !t.is_empty()) else {
                    continue;
                };
                out.push(CommandWord {
                    container: container.to_string(),
                    site,
                    field,
                    index: u32::try_from(i).unwrap_or(u32::MAX),
                    text: text.to_string(),
                    span: w.span,
                });
            }
        }
    }
    out
}

/// A container's `volumeMounts` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    pub container: String,
    pub volume: String,
    pub mount_path: String,
    pub sub_path: Option<String>,
}

/// Every volume mount of every container.
pub fn mounts(pod_spec: &Node<'_>) -> Vec<Mount> {
    let mut out = Vec::new();
    for (_, c) in containers_at(pod_spec) {
        for m in c
            .get("volumeMounts")
            .and_then(Node::as_seq)
            .unwrap_or_default()
        {
            let (Some(volume), Some(path)) = (m.get_str("name"), m.get_str("mountPath")) else {
                continue;
            };
            out.push(Mount {
                container: container_name(c).to_string(),
                volume: volume.to_string(),
                mount_path: path.to_string(),
                sub_path: m.get_str("subPath").map(str::to_string),
            });
        }
    }
    out
}
