//! Digests of the content a pod template consumes.
//!
//! The digest covers meaning, not text: `data` and `stringData`, wrapped or
//! unwrapped base64, key order and metadata make no difference. Only the keys
//! a template consumes count when it consumes specific keys, so rotating a key
//! that a workload does not read does not restart it.

use std::collections::{BTreeMap, BTreeSet};

use hmac::{Hmac, Mac};
use sha2::{Digest as _, Sha256};

/// Bumped if the byte layout below ever changes, so old and new never collide.
const DOMAIN: &[u8] = b"secret-rollout/digest/v1";

/// Which keys of a source a template consumes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Keys<'t> {
    All,
    Some(BTreeSet<&'t str>),
}

impl<'t> Keys<'t> {
    pub fn add(&mut self, key: Option<&'t str>) {
        match (self, key) {
            (Keys::All, _) => {}
            (this @ Keys::Some(_), None) => *this = Keys::All,
            (Keys::Some(set), Some(k)) => {
                set.insert(k);
            }
        }
    }

    fn includes(&self, key: &str) -> bool {
        match self {
            Keys::All => true,
            Keys::Some(set) => set.contains(key),
        }
    }
}

/// What a digest covers of a source (see [`crate::kube::inventory::Source`]
/// for what each part holds for each kind of source).
#[derive(Clone, Copy)]
pub struct Content<'s> {
    pub digest_kind: &'s str,
    pub secret_type: &'s str,
    pub entries: &'s BTreeMap<String, Vec<u8>>,
    pub shared: Option<&'s [u8]>,
}

/// A digest as written in the annotation: `sha256:<hex>`, or `hmac-sha256:<hex>`
/// when a key is configured. With a key, an annotation reader cannot test
/// guesses of a weak password against the digest.
pub fn digest(source: Content<'_>, keys: &Keys<'_>, hmac_key: Option<&[u8]>) -> String {
    let mut bytes = Vec::with_capacity(256);
    field(&mut bytes, DOMAIN);
    field(&mut bytes, source.digest_kind.as_bytes());
    field(&mut bytes, source.secret_type.as_bytes());
    for (key, value) in source.entries {
        if keys.includes(key) {
            field(&mut bytes, key.as_bytes());
            field(&mut bytes, value);
        }
    }
    // What stands for every key counts for every consumer. Kubernetes keys
    // are never empty, so an empty key cannot be mistaken for an entry; and
    // sources without it keep the digests they always had.
    if let Some(shared) = source.shared {
        field(&mut bytes, b"");
        field(&mut bytes, shared);
    }
    match hmac_key {
        None => format!("sha256:{}", hex::encode(Sha256::digest(&bytes))),
        Some(k) => {
            let mut mac = Hmac::<Sha256>::new_from_slice(k).expect("HMAC takes any key length");
            mac.update(&bytes);
            format!("hmac-sha256:{}", hex::encode(mac.finalize().into_bytes()))
        }
    }
}

/// Length-prefixed, so that no two different entry lists share bytes.
pub(crate) fn field(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    out.extend_from_slice(bytes);
}
