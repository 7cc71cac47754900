//! What the stream contains: Kubernetes objects, and among them the ones a
//! pod can consume (Secrets, ConfigMaps, and the objects that produce
//! Secrets in the cluster: SealedSecrets and ExternalSecrets).

use crate::trust::name::Name;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use base64::Engine as _;

use crate::kube::gvk::{GroupVersionKind, Gvk};
use crate::kube::place::{self, DocLines, Ordinal, Place, PlaceKind, TemplateNumbers};
use crate::yaml::stream::{Parsed, HELM4_FILENAME};
use crate::yaml::tree::{Node, Span, Value};

/// One Kubernetes object: a document, or an item of a `kind: List`.
#[derive(Clone, Copy, Debug)]
pub struct Object<'t, 'a> {
    /// 0-based document index.
    pub doc: usize,
    pub node: &'t Node<'a>,
    /// The document's root: the object itself, or the `List` holding it.
    pub root: &'t Node<'a>,
    pub gvk: Gvk<'t>,
    pub name: &'t str,
    pub namespace: Option<&'t str>,
    /// The chart template it was rendered from, when Helm said.
    pub template: Option<&'t str>,
    /// The same name, shared by the objects of that template.
    held: Option<&'t Arc<str>>,
    /// Which of that template's documents it is in.
    pub ordinal: Ordinal,
}

impl<'t, 'a> Object<'t, 'a> {
    fn new(
        doc: usize,
        root: &'t Node<'a>,
        node: &'t Node<'a>,
        template: Option<&'t str>,
        numbers: &'t TemplateNumbers,
    ) -> Option<Self> {
        let gvk = Gvk::of(node)?;
        let metadata = node.get("metadata");
        let template = metadata
            .and_then(|m| m.path(&["annotations", HELM4_FILENAME]))
            .and_then(Node::as_str)
            .or(template);
        Some(Object {
            doc,
            node,
            root,
            gvk,
            name: metadata.and_then(|m| m.get_str("name")).unwrap_or(""),
            namespace: metadata
                .and_then(|m| m.get_str("namespace"))
                .filter(|ns| !ns.is_empty()),
            template,
            held: template.and_then(|t| numbers.held(doc, t)),
            ordinal: template.map_or(Ordinal::UNKNOWN, |t| numbers.ordinal(doc, t)),
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

/// What an object is, wherever it stands: its API group and kind, namespace
/// and name (not the version, which a chart may bump). Two renders' objects
/// are the same object when their identities are equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identity<'a> {
    pub group: &'a str,
    pub kind: &'a str,
    pub namespace: Option<&'a str>,
    pub name: &'a str,
}

/// Where an object stands in its input: which document, which chart
/// template, which lines. Apart from what it is ([`Identity`]), since the
/// same object stands elsewhere in the next render.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Position {
    /// 0-based document index.
    pub doc: usize,
    /// Shared by the objects of one template.
    pub template: Option<Arc<str>>,
    /// Which of its template's documents it is in.
    pub ordinal: Ordinal,
    /// The whole object, where findings about it point.
    pub span: Span,
    /// Input lines to lines of the object's document.
    pub lines: DocLines,
    /// The source file kustomize's path annotations name, and the object's
    /// 0-based index in it (boxed: most streams have none).
    pub file: Option<Box<(String, Option<usize>)>>,
}

/// An object, owned (it outlives the document's tree): what it is, and
/// where it stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectId {
    pub gvk: GroupVersionKind,
    pub name: String,
    pub namespace: Option<String>,
    pub at: Position,
}

impl ObjectId {
    /// `Deployment/the0-api`, the way kubectl names things (as checked
    /// names: this goes into messages).
    pub fn display(&self) -> String {
        format!("{}/{}", Name(&self.gvk.kind), Name(&self.name))
    }

    pub fn identity(&self) -> Identity<'_> {
        Identity {
            group: &self.gvk.group,
            kind: &self.gvk.kind,
            namespace: self.namespace.as_deref(),
            name: &self.name,
        }
    }

    /// Where a person finds `span` of this object: in its chart template's
    /// rendered output or in the file kustomize read it from. Complete when
    /// made: the object knows its template's document numbers.
    pub fn place(&self, span: Span) -> Option<Place> {
        let at = &self.at;
        let (kind, path, ordinal) = match (&at.template, at.file.as_deref()) {
            (Some(t), _) => (PlaceKind::Template, t.to_string(), at.ordinal),
            (None, Some((f, index))) => (
                PlaceKind::File,
                f.clone(),
                Ordinal {
                    document: index.map_or(1, |i| i + 1),
                    documents: 0,
                },
            ),
            (None, None) => return None,
        };
        Some(Place {
            kind,
            path,
            document: ordinal.document,
            documents: ordinal.documents,
            line: at.lines.relative(span.line),
            chart_file: None,
        })
    }
}

impl Object<'_, '_> {
    pub fn id(&self) -> ObjectId {
        ObjectId {
            gvk: self.gvk.owned(),
            name: self.name.to_string(),
            namespace: self.namespace.map(str::to_string),
            at: Position {
                doc: self.doc,
                template: self.held.cloned().or_else(|| self.template.map(Arc::from)),
                ordinal: self.ordinal,
                span: self.node.span,
                lines: DocLines::of(self.root, self.node),
                file: place::annotated_file(self.node).map(Box::new),
            },
        }
    }
}

/// Every object in the stream, in order. A document with an `items`
/// sequence is a list whatever its kind (`List`, `SecretList`, even
/// `Deployment`): kubectl decodes any such object as a list and applies its
/// items instead, and so does Helm. `items: null` holds no objects.
/// `numbers`: the stream's documents numbered within their templates.
pub fn objects<'t, 'a>(
    parsed: &'t [Parsed<'a>],
    numbers: &'t TemplateNumbers,
) -> Vec<Object<'t, 'a>> {
    let mut out = Vec::with_capacity(parsed.len());
    for p in parsed {
        let Some(root) = &p.root else { continue };
        let template = p.doc.source.as_deref();
        let object = |node| Object::new(p.doc.index, root, node, template, numbers);
        match list_items(root) {
            Some(items) => out.extend(items.iter().filter_map(object)),
            None => out.extend(object(root)),
        }
    }
    out
}

/// The items of an object kubectl takes for a list.
pub fn list_items<'t, 'a>(root: &'t Node<'a>) -> Option<&'t [Node<'a>]> {
    let items = root.get("items")?;
    if items.is_null() {
        return Some(&[]);
    }
    items.as_seq()
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

/// Where a source was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// In the stream being rendered: what gets applied with the release.
    Render,
    /// In a file given with `--secrets-from`: applied by someone else (Flux,
    /// kubectl), so the pods it rolls depend on it being applied first.
    File { path: String, line: usize },
    /// Read from the cluster with `--lookup`: what is there now, so the
    /// rollout reads the value the stamp covers.
    Cluster { context: String, namespace: String },
}

impl Origin {
    pub fn is_file(&self) -> bool {
        matches!(self, Origin::File { .. })
    }

    pub fn is_cluster(&self) -> bool {
        matches!(self, Origin::Cluster { .. })
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Render => f.write_str("render"),
            Origin::File { path, line } => write!(f, "{path}:{line}"),
            Origin::Cluster { context, namespace } => {
                write!(f, "cluster context {context}, namespace {namespace}")
            }
        }
    }
}

/// What a source's digest is computed over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protection {
    /// The values themselves (a Secret or ConfigMap): a digest without a key
    /// lets anyone who can read the workload test guesses of a weak value.
    Plaintext,
    /// Ciphertext that stands for the values (SealedSecret, SOPS): it
    /// changes whenever a value is re-encrypted, and reveals nothing.
    Ciphertext,
    /// A description of where a controller fetches the values
    /// (ExternalSecret): a rotation inside the provider does not change it.
    Reference,
}

/// An object that provides a Secret or ConfigMap to pods.
#[derive(Clone)]
pub struct Source {
    /// The object that produces it (a Secret, or a SealedSecret, …).
    pub object: ObjectId,
    pub origin: Origin,
    pub target: TargetKind,
    /// The name pods use (an ExternalSecret may name its target differently).
    pub name: String,
    /// Key → content as pods see it. For SealedSecrets, SOPS files and
    /// ExternalSecrets the plaintext is not there; we hold what stands for it
    /// (the ciphertext, the remote reference), which changes when it does.
    pub entries: BTreeMap<String, Vec<u8>>,
    /// Content that stands for every key (an ExternalSecret's store, its
    /// `dataFrom`; a SealedSecret's templates): counted in every digest.
    pub shared: Option<Vec<u8>>,
    /// `type` for Secrets; part of the content a pod sees.
    pub secret_type: String,
    /// False when keys can appear that the source does not show (an
    /// ExternalSecret with `dataFrom`), so a missing key is not an error.
    pub keys_known: bool,
    pub protection: Protection,
    /// Whether some digested value is plaintext (a SOPS file may leave keys
    /// unencrypted).
    pub has_plaintext: bool,
    /// The kind as it enters the digest: `Secret`, `ConfigMap`, `SealedSecret`,
    /// `ExternalSecret`, or `Secret+sops`. Sources of different kinds never
    /// share a digest, and the digests of plain objects stay what they were.
    pub digest_kind: &'static str,
    /// `immutable: true`: the API server refuses any change to its data, so
    /// a rotation needs a new object (a new name).
    pub immutable: bool,
}

impl Source {
    /// What its digest covers.
    pub fn content(&self) -> crate::kube::digest::Content<'_> {
        crate::kube::digest::Content {
            digest_kind: self.digest_kind,
            secret_type: &self.secret_type,
            entries: &self.entries,
            shared: self.shared.as_deref(),
        }
    }

    /// Same content: what a digest would see, wherever it came from.
    pub fn same_content(&self, other: &Source) -> bool {
        self.target == other.target
            && self.digest_kind == other.digest_kind
            && self.secret_type == other.secret_type
            && self.entries == other.entries
            && self.shared == other.shared
            && self.keys_known == other.keys_known
    }

    /// `Secret the0-root-admin in namespace the0`: the object pods read.
    pub fn identity(&self) -> String {
        match &self.object.namespace {
            Some(ns) => format!(
                "{} {} in namespace {}",
                self.target.as_str(),
                Name(&self.name),
                Name(ns)
            ),
            None => format!("{} {}", self.target.as_str(), Name(&self.name)),
        }
    }

    /// `Secret the0-root-admin` (or `Secret x (from SealedSecret y)`).
    pub fn describe(&self) -> String {
        let target = self.target.as_str();
        if self.object.gvk.kind == target && self.digest_kind == target {
            format!("{target} {}", Name(&self.name))
        } else if self.digest_kind == "Secret+sops" {
            format!("{target} {} (SOPS-encrypted)", Name(&self.name))
        } else {
            format!(
                "{target} {} (from {} {})",
                Name(&self.name),
                Name(&self.object.gvk.kind),
                Name(&self.object.name)
            )
        }
    }
}

/// Secret values must never reach a log, even a debug print: show the keys only.
impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("object", &self.object.display())
            .field("origin", &self.origin)
            .field("name", &self.name)
            .field("keys", &self.entries.keys().collect::<Vec<_>>())
            .field("secret_type", &self.secret_type)
            .field("keys_known", &self.keys_known)
            .field("protection", &self.protection)
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

/// The Secrets and ConfigMaps these objects give pods, in order.
pub fn sources(objects: &[Object<'_, '_>]) -> Result<Vec<Source>, ContentError> {
    let mut out = Vec::new();
    for obj in objects {
        let source = match source_kind(&obj.gvk) {
            Some(SourceKind::Secret) if is_sops(obj.node) => sops_secret(obj)?,
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

/// A source with the object's own name, before its content is read.
fn source(obj: &Object<'_, '_>, target: TargetKind, protection: Protection) -> Source {
    Source {
        object: obj.id(),
        origin: Origin::Render,
        target,
        name: obj.name.to_string(),
        entries: BTreeMap::new(),
        shared: None,
        secret_type: String::new(),
        keys_known: true,
        protection,
        has_plaintext: protection == Protection::Plaintext,
        digest_kind: target.as_str(),
        immutable: obj.node.get_bool("immutable").unwrap_or(false),
    }
}

fn secret_type(node: Option<&Node<'_>>) -> String {
    node.and_then(|n| n.get_str("type"))
        .unwrap_or("Opaque")
        .to_string()
}

fn secret(obj: &Object<'_, '_>) -> Result<Source, ContentError> {
    let mut s = source(obj, TargetKind::Secret, Protection::Plaintext);
    if let Some(data) = obj.node.get("data").and_then(Node::as_map) {
        for (key, value) in data.pairs() {
            let bytes = base64_value(obj, "data", key, value)?;
            s.entries.insert(key.to_string(), bytes);
        }
    }
    // The API server merges stringData over data.
    if let Some(data) = obj.node.get("stringData").and_then(Node::as_map) {
        for (key, value) in data.pairs() {
            s.entries.insert(key.to_string(), scalar_bytes(value));
        }
    }
    s.secret_type = secret_type(Some(obj.node));
    Ok(s)
}

fn base64_value(
    obj: &Object<'_, '_>,
    field: &str,
    key: &str,
    value: &Node<'_>,
) -> Result<Vec<u8>, ContentError> {
    decode_base64(value.as_str().unwrap_or("")).map_err(|()| {
        content_error(
            obj,
            value,
            format!(
                "{field}.{} is not valid base64 (the value is not shown)",
                Name(key)
            ),
        )
    })
}

/// A Secret encrypted with SOPS carries a top-level `sops:` mapping, which
/// Flux's kustomize-controller strips when it decrypts the file.
fn is_sops(node: &Node<'_>) -> bool {
    node.get("sops").and_then(Node::as_map).is_some()
}

/// SOPS encrypts each value on its own (`ENC[AES256_GCM,data:…,iv:…,…]`) and
/// keeps a value's IV while it is unchanged, so each ENC string stands for
/// its key: rotating one key changes only that key's digest input. The
/// `sops.mac` and `sops.lastmodified` fields change on every edit and are
/// never read. Values left unencrypted (by `encrypted_regex` and friends)
/// are plaintext and read as in any Secret.
fn sops_secret(obj: &Object<'_, '_>) -> Result<Source, ContentError> {
    if obj.name.starts_with("ENC[") {
        let at = obj.node.path(&["metadata", "name"]).unwrap_or(obj.node);
        return Err(content_error(
            obj,
            at,
            "metadata.name is SOPS-encrypted, so no pod can be matched to it; encrypt only \
             data and stringData (encrypted_regex: ^(data|stringData)$), as Flux documents"
                .into(),
        ));
    }
    let mut s = source(obj, TargetKind::Secret, Protection::Ciphertext);
    s.digest_kind = "Secret+sops";
    s.has_plaintext = false;
    for field in ["data", "stringData"] {
        let Some(data) = obj.node.get(field).and_then(Node::as_map) else {
            continue;
        };
        for (key, value) in data.pairs() {
            let text = value.as_str().unwrap_or("");
            let bytes = if text.starts_with("ENC[") {
                let mut b = b"enc:".to_vec();
                b.extend_from_slice(text.as_bytes());
                b
            } else {
                s.has_plaintext = true;
                if field == "data" {
                    base64_value(obj, field, key, value)?
                } else {
                    text.as_bytes().to_vec()
                }
            };
            s.entries.insert(key.to_string(), bytes);
        }
    }
    s.secret_type = secret_type(Some(obj.node));
    Ok(s)
}

fn config_map(obj: &Object<'_, '_>) -> Result<Source, ContentError> {
    let mut s = source(obj, TargetKind::ConfigMap, Protection::Plaintext);
    if let Some(data) = obj.node.get("data").and_then(Node::as_map) {
        for (key, value) in data.pairs() {
            s.entries.insert(key.to_string(), scalar_bytes(value));
        }
    }
    if let Some(data) = obj.node.get("binaryData").and_then(Node::as_map) {
        for (key, value) in data.pairs() {
            let bytes = decode_base64(value.as_str().unwrap_or("")).map_err(|()| {
                content_error(
                    obj,
                    value,
                    format!("binaryData.{} is not valid base64", Name(key)),
                )
            })?;
            s.entries.insert(key.to_string(), bytes);
        }
    }
    Ok(s)
}

/// The Secret a SealedSecret produces. The controller always names it after
/// the SealedSecret and puts it in the SealedSecret's namespace, whatever
/// `spec.template.metadata` says (sealed-secrets' `Unseal` sets both), and
/// takes `type` from the template. Each key's ciphertext stands for its
/// value; every seal uses a fresh session key, so re-sealing rolls the
/// consumers even for an unchanged value (the safe direction).
fn sealed_secret(obj: &Object<'_, '_>) -> Source {
    let mut s = source(obj, TargetKind::Secret, Protection::Ciphertext);
    s.digest_kind = "SealedSecret";
    s.has_plaintext = false;
    let spec = obj.node.get("spec");
    let encrypted = spec
        .and_then(|s| s.get("encryptedData"))
        .and_then(Node::as_map);
    for (key, value) in encrypted.map(|m| m.pairs()).unwrap_or_default() {
        s.entries.insert(key.to_string(), scalar_bytes(value));
    }
    // `spec.template.data` holds Go templates over the decrypted values: a
    // templated key can read any of them, so it stands for its template and
    // all the ciphertext; a null template removes the key.
    if let Some(templates) = spec
        .and_then(|s| s.path(&["template", "data"]))
        .and_then(Node::as_map)
    {
        let mut all = Vec::new();
        for (key, value) in encrypted.map(|m| m.pairs()).unwrap_or_default() {
            crate::kube::digest::field(&mut all, key.as_bytes());
            crate::kube::digest::field(&mut all, &scalar_bytes(value));
        }
        for (key, value) in templates.pairs() {
            if value.is_null() {
                s.entries.remove(key);
                continue;
            }
            let mut content = b"template:".to_vec();
            crate::kube::digest::field(&mut content, &scalar_bytes(value));
            content.extend_from_slice(&all);
            s.entries.insert(key.to_string(), content);
        }
    }
    // The deprecated `spec.data` seals the whole Secret at once.
    if let Some(whole) = spec.and_then(|s| s.get("data")).and_then(Node::as_str) {
        s.shared = Some(whole.as_bytes().to_vec());
        s.keys_known = false;
    }
    s.secret_type = secret_type(spec.and_then(|s| s.get("template")));
    s
}

/// The Secret an ExternalSecret makes (`spec.target.name`, else its own
/// name). Each `data[]` item's remote reference stands for its key; the rest
/// of the spec (store, `dataFrom`, templates) stands for every key. A
/// rotation inside the provider changes none of it.
fn external_secret(obj: &Object<'_, '_>) -> Source {
    let mut s = source(obj, TargetKind::Secret, Protection::Reference);
    s.digest_kind = "ExternalSecret";
    s.has_plaintext = false;
    s.secret_type = "Opaque".to_string();
    let Some(spec) = obj.node.get("spec") else {
        return s;
    };
    if let Some(name) = spec.path(&["target", "name"]).and_then(Node::as_str) {
        s.name = name.to_string();
    }
    for item in spec.get("data").and_then(Node::as_seq).unwrap_or_default() {
        if let Some(key) = item.get_str("secretKey") {
            let mut described = Vec::new();
            canonical(item, &mut described);
            s.entries.insert(key.to_string(), described);
        }
    }
    if let Some(map) = spec.as_map() {
        // `refreshInterval` says how often, not what: changing it must not
        // roll anything.
        let mut rest = Vec::new();
        let mut pairs = map.pairs();
        pairs.retain(|(k, _)| !matches!(*k, "data" | "refreshInterval"));
        pairs.sort_by(|a, b| a.0.cmp(b.0));
        for (k, v) in pairs {
            crate::kube::digest::field(&mut rest, k.as_bytes());
            canonical(v, &mut rest);
        }
        s.shared = Some(rest);
    }
    s.keys_known = spec.get("dataFrom").is_none_or(Node::is_null)
        && spec.path(&["target", "template"]).is_none_or(Node::is_null);
    s
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
pub(crate) fn canonical(node: &Node<'_>, out: &mut Vec<u8>) {
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
    /// Asked once a reference of every workload: foldhash, whose seed is
    /// random as SipHash's is (the names come from the input), at a
    /// fraction of its cost.
    by_name: HashMap<(TargetKind, &'s str), Vec<&'s Source>, foldhash::fast::RandomState>,
    release_namespace: Option<&'s str>,
}

impl<'s> Index<'s> {
    /// `render`: the sources in the stream; `files`: those read with
    /// `--secrets-from`. An object in the render wins over a file naming the
    /// same object: the render is what gets applied with the release.
    pub fn new(
        render: &'s [Source],
        files: &'s [Source],
        release_namespace: Option<&'s str>,
    ) -> Self {
        let mut by_name: HashMap<_, Vec<&'s Source>, _> = HashMap::default();
        for s in render {
            by_name
                .entry((s.target, s.name.as_str()))
                .or_default()
                .push(s);
        }
        let mut index = Index {
            by_name,
            release_namespace,
        };
        index.add_below(files);
        index
    }

    /// Add sources that lose to every source already here for the same
    /// object (files below the render, the cluster below both).
    pub fn add_below(&mut self, more: &'s [Source]) {
        let release_namespace = self.release_namespace;
        let ns = |x: &Source| x.object.namespace.clone();
        for s in more {
            let same = self.by_name.entry((s.target, s.name.as_str())).or_default();
            let shadowed = same.iter().any(|r| {
                ns(r).as_deref().or(release_namespace) == ns(s).as_deref().or(release_namespace)
            });
            if !shadowed {
                same.push(s);
            }
        }
    }

    /// Every source pods can find, in no particular order.
    pub fn all(&self) -> impl Iterator<Item = &'s Source> + '_ {
        self.by_name.values().flatten().copied()
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
        let parsed = crate::yaml::stream::parse(
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {token: hunter2}\n",
        )
        .unwrap();
        let numbers = TemplateNumbers::default();
        let objects = objects(&parsed, &numbers);
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
