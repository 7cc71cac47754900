//! Kustomizations (plain kustomize, or the directory a Flux Kustomization
//! builds): the stamp transformer secret-rollout keeps beside one.
//!
//! The stamps go into a file of builtin `PatchTransformer`s listed under the
//! kustomization's `transformers:`, not under `patches:`. kustomize runs
//! `patches:` before the kustomization's `namespace` and `namePrefix`, and
//! a patch there must name an object as it was before them; the build output
//! we read shows the names after them. `transformers:` run after, on the
//! names the build prints (tests/kustomization.rs measures both with the
//! real kustomize).

use crate::front::patch::Stamp;
use crate::kube::gvk::Gvk;
use crate::yaml::stream::{self, doc_name, ParseError};
use crate::yaml::tree::Node;
use crate::yaml::write;
use crate::yaml::write::content::{self, Content};
use crate::yaml::write::seq::{self, SpliceError};

/// The transformer file, beside the kustomization.
pub const FILE: &str = "secret-rollout.transformer.yaml";

/// The names kustomize looks for in a directory, in its order.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

#[derive(Debug, thiserror::Error)]
pub enum KustomizationError {
    #[error("{0}")]
    Parse(#[from] ParseError),
    #[error("is not a kustomization (no mapping at its top)")]
    NotAMapping,
    #[error("line {line}: `transformers` is not a list")]
    NotAList { line: usize },
    #[error("{0}")]
    Splice(#[from] SpliceError),
    #[error(
        "{} is not a PatchTransformer that secret-rollout wrote; this file is \
         secret-rollout's: move your own transformers to another file",
        doc_name(*.doc, None)
    )]
    NotOurs {
        /// The document's 0-based index in the file.
        doc: usize,
    },
}

const HEADER: [&str; 4] = [
    "Written by `secret-rollout kustomization`; do not edit. Run it again after a rotation.",
    "The checksums `render` would stamp, as builtin PatchTransformers: kustomize",
    "runs them after this kustomization's namespace, namePrefix and patches, so",
    "the targets are the names its build prints.",
];

/// The transformer file for `stamps`.
pub fn transformer(stamps: &[Stamp]) -> String {
    let docs: Vec<Content> = stamps
        .iter()
        .map(|s| {
            let name = format!(
                "secret-rollout.{}.{}",
                s.kind.to_ascii_lowercase(),
                s.display_id()
            );
            Content::map([
                ("apiVersion", Content::str("builtin")),
                ("kind", Content::str("PatchTransformer")),
                ("metadata", Content::map([("name", Content::str(name))])),
                ("target", s.target_content()),
                ("patch", Content::Text(s.patch_text())),
            ])
        })
        .collect();
    content::documents(&HEADER, &docs)
}

/// The stamps a transformer file of ours writes (sorted); refused when any
/// document in it is not one we write.
pub fn read_transformer(text: &str) -> Result<Vec<Stamp>, KustomizationError> {
    let mut stamps = Vec::new();
    for d in stream::parse(text)? {
        let Some(root) = &d.root else { continue };
        let doc = d.doc.index;
        let ours = Gvk::of(root) == Some(Gvk::new("builtin", "PatchTransformer"));
        let stamp = ours
            .then(|| {
                let patch = root.get("patch")?.as_scalar()?;
                Stamp::read(root.get("target")?, &patch.text)
            })
            .flatten()
            .ok_or(KustomizationError::NotOurs { doc })?;
        stamps.push(stamp);
    }
    stamps.sort();
    Ok(stamps)
}

fn is_our_item(node: &Node<'_>) -> bool {
    node.as_str()
        .is_some_and(|s| s.trim_start_matches("./") == FILE)
}

/// The kustomization with [`FILE`] listed under `transformers:` (`listed`),
/// or not listed; every other byte kept.
pub fn update(text: &str, listed: bool) -> Result<String, KustomizationError> {
    let docs = stream::parse(text)?;
    let root = docs
        .iter()
        .find_map(|d| d.root.as_ref())
        .filter(|r| r.as_map().is_some())
        .ok_or(KustomizationError::NotAMapping)?;
    let map = root.as_map().expect("checked");
    let item = Content::str(FILE);
    let entry = map.entry("transformers");
    let mut edits = match entry {
        None if listed => seq::add_key(text, root, "transformers", &item)?,
        None => vec![],
        Some(e) => {
            if !(e.value.is_null() || e.value.as_seq().is_some()) {
                return Err(KustomizationError::NotAList {
                    line: e.value.span.line,
                });
            }
            let items = e.value.as_seq().unwrap_or(&[]);
            match (items.iter().position(is_our_item), listed) {
                (Some(_), true) | (None, false) => vec![],
                (None, true) => seq::append(text, map, e, &item)?,
                (Some(i), false) => seq::remove(text, map, e, i)?,
            }
        }
    };
    Ok(write::apply(text, &mut edits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn stamp() -> Stamp {
        Stamp {
            kind: "Deployment".into(),
            name: "prod-the0-api".into(),
            namespace: Some("the0".into()),
            api_version: "apps/v1".into(),
            template_path: vec!["spec".into(), "template".into()],
            annotations: BTreeMap::from([(
                "secret-rollout/secret.x".into(),
                Some("sha256:1".into()),
            )]),
        }
    }

    #[test]
    fn the_transformer_file_reads_back() {
        let two = [
            stamp(),
            Stamp {
                name: "web".into(),
                ..stamp()
            },
        ];
        let text = transformer(&two);
        assert!(text.contains("metadata:\n  name: secret-rollout.deployment.the0.prod-the0-api\ntarget:\n  kind: Deployment\n  name: prod-the0-api\n  namespace: the0\npatch: |\n  apiVersion: apps/v1\n"), "{text}");
        let mut sorted = two.to_vec();
        sorted.sort();
        assert_eq!(read_transformer(&text).unwrap(), sorted);
        let theirs = format!("{text}---\napiVersion: builtin\nkind: LabelTransformer\n");
        assert!(matches!(
            read_transformer(&theirs),
            Err(KustomizationError::NotOurs { doc: 2 })
        ));
        let err = read_transformer(&theirs).unwrap_err().to_string();
        assert!(
            err.starts_with("document 3 is not a PatchTransformer"),
            "{err}"
        );
    }

    #[test]
    fn the_reference_is_added_once_and_removed() {
        let plain = "# c\nresources:\n  - a.yaml\n";
        let listed = update(plain, true).unwrap();
        assert_eq!(listed, format!("{plain}transformers:\n  - {FILE}\n"));
        assert_eq!(update(&listed, true).unwrap(), listed);
        assert_eq!(update(&listed, false).unwrap(), plain);
        let theirs = "transformers:\n- mine.yaml # keep\n";
        let with = update(theirs, true).unwrap();
        assert_eq!(with, format!("{theirs}- {FILE}\n"));
        assert_eq!(update(&with, false).unwrap(), theirs);
        let flow = "{\"resources\": [\"a.yaml\"], \"transformers\": []}\n";
        assert_eq!(
            update(flow, true).unwrap(),
            format!("{{\"resources\": [\"a.yaml\"], \"transformers\": [\"{FILE}\"]}}\n")
        );
        assert!(matches!(
            update("transformers: x\n", true),
            Err(KustomizationError::NotAList { line: 1 })
        ));
    }
}
