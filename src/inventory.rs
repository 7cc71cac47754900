//! What the stream contains: Kubernetes objects, and among them the ones a
//! pod can consume (Secrets, ConfigMaps, and the objects that produce
//! Secrets in the cluster: SealedSecrets and ExternalSecrets).

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;

use crate::gvk::{GroupVersionKind, Gvk};
use crate::stream::{Parsed, HELM4_FILENAME};
use crate::yaml::{Node, Span, Value};

/// One Kubernetes object: a document, or an item of a `kind: List`.
#[derive(Clone, Copy, Debug)]
pub struct Object<'t, 'a> {
    /// 0-based document index.
    pub doc: usize,
    pub node: &'t Node<'a>,
    pub gvk: Gvk<'t>,
    pub name: &'t str,
    pub namespace: Option<&'t str>,
    /// The chart template it was rendered from, when Helm said.
    pub template: Option<&'t str>,
}

impl<'t, 'a> Object<'t, 'a> {
    fn new(doc: usize, node: &'t Node<'a>, template: Option<&'t str>) -> Option<Self> {
        let kind = node.get_str("kind")?;
        let metadata = node.get("metadata");
        let template = metadata
            .and_then(|m| m.path(&["annotations", HELM4_FILENAME]))
            .and_then(Node::as_str)
            .or(template);
        Some(Object {
            doc,
            node,
            gvk: Gvk::new(node.get_str("apiVersion").unwrap_or(""), kind),
            name: metadata.and_then(|m| m.get_str("name")).unwrap_or(""),
            namespace: metadata
                .and_then(|m| m.get_str("namespace"))
                .filter(|ns| !ns.is_empty()),
            template,
        })
    }

    pub fn annotation(&self, key: &str) -> Option<&'t str> {
        self.node
            .path(&["metadata", "annotations", key])
            .and_then(Node::as_str)
    }

    pub fn is_helm_hook(&self) -> bool {
        self.annotation("helm.sh/hook").is_some()
    }
}

/// An object's identity and place, owned: it outlives the document's tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectId {
    /// 0-based document index.
    pub doc: usize,
    pub gvk: GroupVersionKind,
    pub name: String,
    pub namespace: Option<String>,
    pub template: Option<String>,
    /// The whole object, where findings about it point.
    pub span: Span,
}

impl ObjectId {
    /// `Deployment/the0-api`, the way kubectl names things.
    pub fn display(&self) -> String {
        format!("{}/{}", self.gvk.kind, self.name)
    }
}

impl Object<'_, '_> {
    pub fn id(&self) -> ObjectId {
        ObjectId {
            doc: self.doc,
            gvk: self.gvk.owned(),
            name: self.name.to_string(),
            namespace: self.namespace.map(str::to_string),
            template: self.template.map(str::to_string),
            span: self.node.span,
        }
    }
}

/// Every object in the stream, in order; `kind: List` items are unpacked.
pub fn objects<'t, 'a>(parsed: &'t [Parsed<'a>]) -> Vec<Object<'t, 'a>> {
    let mut out = Vec::with_capacity(parsed.len());
    for p in parsed {
        let Some(root) = &p.root else { continue };
        let template = p.doc.source.as_deref();
        let is_list = root.get_str("kind") == Some("List");
        match root.get("items").and_then(Node::as_seq) {
            Some(items) if is_list => out.extend(
                items
                    .iter()
                    .filter_map(|item| Object::new(p.doc.index, item, template)),
            ),
            _ => out.extend(Object::new(p.doc.index, root, template)),
        }
    }
    out
}

/// What a pod reference points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TargetKind {
    Secret,
    ConfigMap,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Secret => "Secret",
            TargetKind::ConfigMap => "ConfigMap",
        }
    }
}

/// An object that provides a Secret or ConfigMap to pods.
pub struct Source {
    pub object: ObjectId,
    pub target: TargetKind,
    /// The name pods use (an ExternalSecret may name its target differently).
    pub name: String,
    /// Key → content as pods see it. For SealedSecrets and ExternalSecrets the
    /// plaintext is not in the stream; we hold what stands for it (the
    /// ciphertext, the remote reference), which changes when it does.
    pub entries: BTreeMap<String, Vec<u8>>,
    /// `type` for Secrets; part of the content a pod sees.
    pub secret_type: String,
    /// False when keys can appear that the stream does not show (an
    /// ExternalSecret with `dataFrom`), so a missing key is not an error.
    pub keys_known: bool,
}

/// Secret values must never reach a log, even a debug print: show the keys only.
impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("object", &self.object.display())
            .field("name", &self.name)
            .field("keys", &self.entries.keys().collect::<Vec<_>>())
            .field("secret_type", &self.secret_type)
            .field("keys_known", &self.keys_known)
            .finish_non_exhaustive()
    }
}

/// Content that cannot be what the API server would store.
#[derive(Debug, thiserror::Error)]
#[error("{object}: {what}")]
pub struct ContentError {
    pub object: String,
    pub what: String,
    pub doc: usize,
    pub template: Option<String>,
    pub span: Span,
}

/// Whether objects of this kind provide Secrets or ConfigMaps to pods.
pub fn is_source_kind(gvk: &Gvk<'_>) -> bool {
    source_kind(gvk).is_some()
}

#[derive(Clone, Copy)]
enum SourceKind {
    Secret,
    ConfigMap,
    SealedSecret,
    ExternalSecret,
}

fn source_kind(gvk: &Gvk<'_>) -> Option<SourceKind> {
    Some(match (gvk.group, gvk.kind) {
        ("", "Secret") => SourceKind::Secret,
        ("", "ConfigMap") => SourceKind::ConfigMap,
        ("bitnami.com", "SealedSecret") => SourceKind::SealedSecret,
        ("external-secrets.io", "ExternalSecret") => SourceKind::ExternalSecret,
        _ => return None,
    })
}

/// Secrets and ConfigMaps by their object kind, then by name.
pub fn sources(objects: &[Object<'_, '_>]) -> Result<Vec<Source>, ContentError> {
    let mut out = Vec::new();
    for obj in objects {
        let source = match source_kind(&obj.gvk) {
            Some(SourceKind::Secret) => secret(obj)?,
            Some(SourceKind::ConfigMap) => config_map(obj)?,
            Some(SourceKind::SealedSecret) => sealed_secret(obj),
            Some(SourceKind::ExternalSecret) => external_secret(obj),
            None => continue,
        };
        out.push(source);
    }
    Ok(out)
}

fn content_error(obj: &Object<'_, '_>, node: &Node<'_>, what: String) -> ContentError {
    ContentError {
        object: obj.id().display(),
        what,
        doc: obj.doc,
        template: obj.template.map(str::to_string),
        span: node.span,
    }
}

fn secret(obj: &Object<'_, '_>) -> Result<Source, ContentError> {
    let mut entries = BTreeMap::new();
    if let Some(data) = obj.node.get("data").and_then(Node::as_map) {
        for (key, value) in data.pairs() {
            let text = value.as_str().unwrap_or("");
            let bytes = decode_base64(text).map_err(|()| {
                content_error(
                    obj,
                    value,
                    format!("data.{key} is not valid base64 (the value is not shown)"),
                )
            })?;
            entries.insert(key.to_string(), bytes);
        }
    }
    // The API server merges stringData over data.
    if let Some(data) = obj.node.get("stringData").and_then(Node::as_map) {
        for (key, value) in data.pairs() {
            entries.insert(key.to_string(), scalar_bytes(value));
        }
    }
    Ok(Source {
        object: obj.id(),
        target: TargetKind::Secret,
        name: obj.name.to_string(),
        entries,
        secret_type: obj.node.get_str("type").unwrap_or("Opaque").to_string(),
        keys_known: true,
    })
}

fn config_map(obj: &Object<'_, '_>) -> Result<Source, ContentError> {
    let mut entries = BTreeMap::new();
    if let Some(data) = obj.node.get("data").and_then(Node::as_map) {
        for (key, value) in data.pairs() {
            entries.insert(key.to_string(), scalar_bytes(value));
        }
    }
    if let Some(data) = obj.node.get("binaryData").and_then(Node::as_map) {
        for (key, value) in data.pairs() {
            let bytes = decode_base64(value.as_str().unwrap_or("")).map_err(|()| {
                content_error(obj, value, format!("binaryData.{key} is not valid base64"))
            })?;
            entries.insert(key.to_string(), bytes);
        }
    }
    Ok(Source {
        object: obj.id(),
        target: TargetKind::ConfigMap,
        name: obj.name.to_string(),
        entries,
        secret_type: String::new(),
        keys_known: true,
    })
}

fn sealed_secret(obj: &Object<'_, '_>) -> Source {
    let spec = obj.node.get("spec");
    let mut entries = BTreeMap::new();
    if let Some(data) = spec
        .and_then(|s| s.get("encryptedData"))
        .and_then(Node::as_map)
    {
        for (key, value) in data.pairs() {
            entries.insert(key.to_string(), scalar_bytes(value));
        }
    }
    let secret_type = spec
        .and_then(|s| s.path(&["template", "type"]))
        .and_then(Node::as_str)
        .unwrap_or("Opaque");
    Source {
        object: obj.id(),
        target: TargetKind::Secret,
        name: obj.name.to_string(),
        entries,
        secret_type: secret_type.to_string(),
        keys_known: true,
    }
}

fn external_secret(obj: &Object<'_, '_>) -> Source {
    let spec = obj.node.get("spec");
    let name = spec
        .and_then(|s| s.path(&["target", "name"]))
        .and_then(Node::as_str)
        .unwrap_or(obj.name);
    let mut entries = BTreeMap::new();
    for item in spec
        .and_then(|s| s.get("data"))
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        if let Some(key) = item.get_str("secretKey") {
            let mut described = Vec::new();
            if let Some(remote) = item.get("remoteRef") {
                canonical(remote, &mut described);
            }
            entries.insert(key.to_string(), described);
        }
    }
    let data_from = spec.and_then(|s| s.get("dataFrom"));
    if let Some(from) = data_from {
        // Keys we cannot name; the reference itself still stands for content.
        let mut described = Vec::new();
        canonical(from, &mut described);
        entries.insert(String::new(), described);
    }
    Source {
        object: obj.id(),
        target: TargetKind::Secret,
        name: name.to_string(),
        entries,
        secret_type: "Opaque".to_string(),
        keys_known: data_from.is_none(),
    }
}

/// Go's `encoding/base64` as used for `[]byte` JSON fields: standard alphabet,
/// padding required, line breaks ignored.
fn decode_base64(text: &str) -> Result<Vec<u8>, ()> {
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    );
    if text.contains(['\n', '\r']) {
        let joined: String = text.chars().filter(|c| !matches!(c, '\n' | '\r')).collect();
        engine.decode(joined).map_err(drop)
    } else {
        engine.decode(text).map_err(drop)
    }
}

fn scalar_bytes(node: &Node<'_>) -> Vec<u8> {
    node.as_str().unwrap_or("").as_bytes().to_vec()
}

/// A deterministic byte form of a subtree, for digesting objects whose
/// content is a description rather than data.
fn canonical(node: &Node<'_>, out: &mut Vec<u8>) {
    match &node.value {
        Value::Scalar(s) => {
            out.push(b's');
            out.extend_from_slice(&(s.text.len() as u64).to_be_bytes());
            out.extend_from_slice(s.text.as_bytes());
        }
        Value::Seq(items) => {
            out.push(b'[');
            items.iter().for_each(|n| canonical(n, out));
            out.push(b']');
        }
        Value::Map(m) => {
            let mut pairs = m.pairs();
            pairs.sort_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (k, v) in pairs {
                out.extend_from_slice(&(k.len() as u64).to_be_bytes());
                out.extend_from_slice(k.as_bytes());
                canonical(v, out);
            }
            out.push(b'}');
        }
    }
}

/// Finds the source a pod in `namespace` means by `name`.
///
/// Objects without `metadata.namespace` live in the release namespace, which
/// Helm 4 does not tell us. `release_namespace` (from `--namespace`) settles
/// it; without it an object with no namespace matches any namespace, because a
/// missed match leaves pods on an old Secret, while a false one only restarts.
pub struct Index<'s> {
    by_name: HashMap<(TargetKind, &'s str), Vec<&'s Source>>,
    release_namespace: Option<&'s str>,
}

impl<'s> Index<'s> {
    pub fn new(sources: &'s [Source], release_namespace: Option<&'s str>) -> Self {
        let mut by_name: HashMap<_, Vec<_>> = HashMap::new();
        for s in sources {
            by_name
                .entry((s.target, s.name.as_str()))
                .or_default()
                .push(s);
        }
        Index {
            by_name,
            release_namespace,
        }
    }

    pub fn find(
        &self,
        target: TargetKind,
        name: &str,
        namespace: Option<&str>,
    ) -> Option<&'s Source> {
        let candidates = self.by_name.get(&(target, name))?;
        let pod_ns = namespace.or(self.release_namespace);
        let exact = candidates
            .iter()
            .find(|s| s.object.namespace.as_deref().or(self.release_namespace) == pod_ns);
        exact
            .or_else(|| {
                // Unknown release namespace on one side: accept the match.
                candidates.iter().find(|s| {
                    self.release_namespace.is_none()
                        && (s.object.namespace.is_none() || namespace.is_none())
                })
            })
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_values() {
        let parsed = crate::stream::parse(
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {token: hunter2}\n",
        )
        .unwrap();
        let objects = objects(&parsed);
        let found = sources(&objects).unwrap();
        let shown = format!("{found:?}");
        assert!(shown.contains("token"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn base64_like_go() {
        assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode_base64("aGVs\nbG8=").unwrap(), b"hello");
        assert_eq!(decode_base64("aGVs\r\nbG8=\n").unwrap(), b"hello");
        assert!(decode_base64("aGVs bG8=").is_err());
        assert!(decode_base64("aGVsbG8").is_err());
    }
}
