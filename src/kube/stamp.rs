//! Which checksum annotations each pod template should carry.

use std::collections::BTreeMap;

use sha2::{Digest as _, Sha256};

use crate::kube::digest::{self, Keys};
use crate::kube::inventory::{self, Index, Source, TargetKind};
use crate::kube::workload::{Rollout, Workload};
use crate::yaml::tree::{Node, Value};

pub const PREFIX: &str = "secret-rollout/";

/// Kubernetes caps the name part of an annotation key at 63 characters.
const NAME_PART_MAX: usize = 63;

fn kind_part(target: TargetKind) -> &'static str {
    match target {
        TargetKind::Secret => "secret.",
        TargetKind::ConfigMap => "configmap.",
    }
}

/// Whether an annotation key is one we write (and so refresh or remove).
/// Everything else under `metadata.annotations`, `secret-rollout/ignore`
/// included, is someone else's and is left alone.
pub fn is_ours(key: &str) -> bool {
    key.strip_prefix(PREFIX).is_some_and(|rest| {
        [TargetKind::Secret, TargetKind::ConfigMap]
            .iter()
            .any(|&t| rest.starts_with(kind_part(t)))
    })
}

/// `secret-rollout/secret.<name>` or `secret-rollout/configmap.<name>`.
///
/// Object names may be up to 253 characters; a name that does not fit (or is
/// not a valid key part) is cut and suffixed with a hash of the full name, so
/// the key stays unique and the same on every run.
pub fn annotation_key(target: TargetKind, name: &str) -> String {
    let kind = kind_part(target);
    let valid = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && name
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    if valid && kind.len() + name.len() <= NAME_PART_MAX {
        return format!("{PREFIX}{kind}{name}");
    }
    let hash = hex::encode(Sha256::digest(name.as_bytes()));
    let hash = &hash[..10];
    let room = NAME_PART_MAX - kind.len() - hash.len() - 1;
    // The head stops at the first character a key cannot hold: what follows
    // a line break or a space in a name that is no Kubernetes name may be
    // a value that ran on, and keys are shown in explain and diff.
    let head: String = name
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(room)
        .collect();
    format!("{PREFIX}{kind}{head}-{hash}")
}

/// One object a pod template consumes, with the source found for it and
/// every key any of its references reads.
pub struct Consumed<'w, 's> {
    pub target: TargetKind,
    /// The name the pod uses.
    pub name: &'w str,
    pub source: &'s Source,
    pub keys: Keys<'w>,
}

/// What a stamped workload consumes that we can digest, one entry per
/// object; `None` when we must not stamp it (immutable Jobs, bare Pods).
pub fn consumed<'w, 's>(
    w: &'w Workload,
    index: &Index<'s>,
    config_maps: bool,
) -> Option<Vec<Consumed<'w, 's>>> {
    if w.rollout != Rollout::Rolls {
        return None;
    }
    // A pod template reads a few objects: a list searched in place, then
    // sorted, costs less than a map per workload.
    let mut by_object: Vec<Consumed<'w, 's>> = Vec::new();
    for r in &w.refs {
        if r.target == TargetKind::ConfigMap && !config_maps {
            continue;
        }
        let Some(source) = index.find(r.target, &r.name, w.object.namespace.as_deref()) else {
            continue;
        };
        let at = match by_object
            .iter()
            .position(|c| c.target == r.target && c.name == r.name)
        {
            Some(at) => at,
            None => {
                by_object.push(Consumed {
                    target: r.target,
                    name: &r.name,
                    source,
                    keys: Keys::Some(Default::default()),
                });
                by_object.len() - 1
            }
        };
        by_object[at].keys.add(r.key.as_deref());
    }
    by_object.sort_unstable_by(|a, b| (a.target, a.name).cmp(&(b.target, b.name)));
    Some(by_object)
}

/// The annotations a workload's pod template should carry, or `None` when we
/// must not stamp it (immutable Jobs, bare Pods).
pub fn desired(
    w: &Workload,
    index: &Index<'_>,
    config_maps: bool,
    hmac_key: Option<&[u8]>,
) -> Option<BTreeMap<String, String>> {
    let consumed = consumed(w, index, config_maps)?;
    Some(
        consumed
            .iter()
            .map(|c| {
                (
                    annotation_key(c.target, c.name),
                    digest::digest(c.source.content(), &c.keys, hmac_key),
                )
            })
            .collect(),
    )
}

/// What a stamped pod template stands for, told for a person: the workload
/// and the objects its stamps cover, with where each was found (never a
/// digest or a value). `None` where [`desired`] is `None`.
pub fn stamped(w: &Workload, index: &Index<'_>, config_maps: bool) -> Option<Stamped> {
    let consumed = consumed(w, index, config_maps)?;
    Some(Stamped {
        workload: w.object.display(),
        sources: consumed
            .iter()
            .map(|c| StampSource {
                target: c.target,
                name: c.name.to_string(),
                origin: c.source.origin.clone(),
            })
            .collect(),
    })
}

/// One stamped pod template (see [`stamped`]).
#[derive(Clone, Debug)]
pub struct Stamped {
    pub workload: String,
    pub sources: Vec<StampSource>,
}

/// One object a stamp stands for.
#[derive(Clone, Debug)]
pub struct StampSource {
    pub target: TargetKind,
    pub name: String,
    pub origin: crate::kube::inventory::Origin,
}

/// A digest of a pod template but the annotations we write: two renders'
/// templates differ in more than our stamps exactly when theirs differ.
pub fn template_digest(template: &Node<'_>) -> [u8; 32] {
    let mut bytes = Vec::new();
    template_bytes(template, &mut bytes);
    Sha256::digest(&bytes).into()
}

/// The canonical bytes of a pod template without the annotations we write.
/// A `metadata` or `annotations` mapping that held only ours counts as
/// absent: stamping creates them.
fn template_bytes(template: &Node<'_>, out: &mut Vec<u8>) {
    let Value::Map(map) = &template.value else {
        inventory::canonical(template, out);
        return;
    };
    let mut pairs = map.pairs();
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    out.push(b'{');
    for (k, v) in pairs {
        match (k, &v.value) {
            ("metadata", Value::Map(metadata)) => {
                let mut fields = Vec::new();
                let mut meta = metadata.pairs();
                meta.sort_by(|a, b| a.0.cmp(b.0));
                for (mk, mv) in meta {
                    match (mk, &mv.value) {
                        ("annotations", Value::Map(annotations)) => {
                            let mut kept = annotations.pairs();
                            kept.retain(|(ak, _)| !is_ours(ak));
                            if kept.is_empty() {
                                continue;
                            }
                            kept.sort_by(|a, b| a.0.cmp(b.0));
                            digest::field(&mut fields, mk.as_bytes());
                            fields.push(b'{');
                            for (ak, av) in kept {
                                digest::field(&mut fields, ak.as_bytes());
                                inventory::canonical(av, &mut fields);
                            }
                            fields.push(b'}');
                        }
                        _ => {
                            digest::field(&mut fields, mk.as_bytes());
                            inventory::canonical(mv, &mut fields);
                        }
                    }
                }
                if !fields.is_empty() {
                    digest::field(out, k.as_bytes());
                    out.push(b'{');
                    out.extend_from_slice(&fields);
                    out.push(b'}');
                }
            }
            _ => {
                digest::field(out, k.as_bytes());
                inventory::canonical(v, out);
            }
        }
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn we_own_the_keys_we_write_and_no_others() {
        assert!(is_ours(&annotation_key(TargetKind::Secret, "db")));
        assert!(is_ours(&annotation_key(
            TargetKind::ConfigMap,
            &"c".repeat(90)
        )));
        for other in [
            "secret-rollout/ignore",
            "secret-rollout/secretx.db",
            "checksum/secret",
        ] {
            assert!(!is_ours(other), "{other}");
        }
    }

    #[test]
    fn short_names_are_kept() {
        assert_eq!(
            annotation_key(TargetKind::Secret, "the0-secrets"),
            "secret-rollout/secret.the0-secrets"
        );
        assert_eq!(
            annotation_key(TargetKind::ConfigMap, "the0-config"),
            "secret-rollout/configmap.the0-config"
        );
    }

    #[test]
    fn long_names_are_shortened_deterministically_and_stay_distinct() {
        let a = "a".repeat(100) + "-one";
        let b = "a".repeat(100) + "-two";
        let ka = annotation_key(TargetKind::Secret, &a);
        let kb = annotation_key(TargetKind::Secret, &b);
        assert_ne!(ka, kb);
        assert_eq!(ka, annotation_key(TargetKind::Secret, &a));
        for k in [&ka, &kb] {
            let name_part = k.strip_prefix(PREFIX).unwrap();
            assert_eq!(name_part.len(), NAME_PART_MAX);
            assert!(name_part.ends_with(|c: char| c.is_ascii_alphanumeric()));
        }
    }
}
