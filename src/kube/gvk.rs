//! An object's type, read once from `apiVersion` and `kind` (kube-rs's
//! GroupVersionKind): matching compares the group, never a prefix of text.

use std::borrow::Cow;

use crate::yaml::tree::Node;

/// The type of an object in the stream, borrowed from its document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Gvk<'a> {
    /// Empty for the core group (`apiVersion: v1`).
    pub group: &'a str,
    pub version: &'a str,
    pub kind: &'a str,
}

impl<'a> Gvk<'a> {
    /// `apps/v1` is group `apps`, version `v1`; `v1` is the core group.
    pub fn new(api_version: &'a str, kind: &'a str) -> Self {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        Gvk {
            group,
            version,
            kind,
        }
    }

    /// The type an object (or a document's root) says it is: `None`
    /// without a `kind`; a missing `apiVersion` is the empty one.
    pub fn of(node: &'a Node<'_>) -> Option<Self> {
        let kind = node.get_str("kind")?;
        Some(Gvk::new(node.get_str("apiVersion").unwrap_or(""), kind))
    }

    /// Whether this is `kind` in `group` (any version; `""` is core).
    pub fn is(&self, group: &str, kind: &str) -> bool {
        self.group == group && self.kind == kind
    }

    pub fn owned(self) -> GroupVersionKind {
        GroupVersionKind {
            group: held(self.group, GROUPS),
            version: held(self.version, VERSIONS),
            kind: held(self.kind, KINDS),
        }
    }
}

/// The groups, versions and kinds the built-in rules know: held borrowed, so
/// that a workload-dense stream does not hold a copy of `apps`, `v1` and
/// `Deployment` per object.
const GROUPS: &[&str] = &[
    "",
    "apps",
    "batch",
    "extensions",
    "argoproj.io",
    "bitnami.com",
    "external-secrets.io",
];
const VERSIONS: &[&str] = &["v1", "v1beta1", "v1beta2", "v1alpha1"];
const KINDS: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "PodTemplate",
    "Pod",
    "Job",
    "CronJob",
    "Rollout",
    "Secret",
    "ConfigMap",
    "SealedSecret",
    "ExternalSecret",
];

fn held(text: &str, known: &[&'static str]) -> Cow<'static, str> {
    match known.iter().find(|k| **k == text) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(text.to_string()),
    }
}

/// [`Gvk`], owned: it outlives the document's tree.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupVersionKind {
    pub group: Cow<'static, str>,
    pub version: Cow<'static, str>,
    pub kind: Cow<'static, str>,
}

impl GroupVersionKind {
    pub fn as_gvk(&self) -> Gvk<'_> {
        Gvk {
            group: &self.group,
            version: &self.version,
            kind: &self.kind,
        }
    }
}

/// A policy's `apiVersion` for a custom kind: `group/version`, or a bare
/// `group` that accepts every version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiGroup {
    pub group: String,
    /// `None`: any version.
    pub version: Option<String>,
}

impl ApiGroup {
    pub fn parse(text: &str) -> Self {
        match text.split_once('/') {
            Some((group, version)) => ApiGroup {
                group: group.to_string(),
                version: Some(version.to_string()),
            },
            None => ApiGroup {
                group: text.to_string(),
                version: None,
            },
        }
    }

    pub fn matches(&self, gvk: &Gvk<'_>) -> bool {
        match &self.version {
            Some(version) => gvk.group == self.group && gvk.version == *version,
            // A bare word is a group, or a core version such as `v1`.
            None => gvk.group == self.group || (gvk.group.is_empty() && gvk.version == self.group),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions_split_into_group_and_version() {
        assert_eq!(Gvk::new("apps/v1", "Deployment").group, "apps");
        assert_eq!(Gvk::new("apps/v1", "Deployment").version, "v1");
        let core = Gvk::new("v1", "Secret");
        assert_eq!((core.group, core.version), ("", "v1"));
        assert!(core.is("", "Secret"));
        assert!(!Gvk::new("bitnami.com.evil/v1", "SealedSecret").is("bitnami.com", "SealedSecret"));
    }

    #[test]
    fn a_node_says_its_type_when_it_has_a_kind() {
        fn doc(text: &'static str) -> Node<'static> {
            crate::yaml::tree::parse_document(text, 0, 1)
                .unwrap()
                .unwrap()
        }
        let root = doc("apiVersion: apps/v1\nkind: Deployment\n");
        assert_eq!(Gvk::of(&root), Some(Gvk::new("apps/v1", "Deployment")));
        let core = doc("kind: Secret\n");
        assert_eq!(Gvk::of(&core), Some(Gvk::new("", "Secret")));
        assert_eq!(Gvk::of(&doc("apiVersion: v1\n")), None);
    }

    #[test]
    fn policy_api_groups_match_a_version_or_all() {
        let any = ApiGroup::parse("apps.kruise.io");
        assert!(any.matches(&Gvk::new("apps.kruise.io/v1alpha1", "CloneSet")));
        assert!(any.matches(&Gvk::new("apps.kruise.io/v1beta1", "CloneSet")));
        assert!(!any.matches(&Gvk::new("apps.kruise.io.x/v1", "CloneSet")));
        let one = ApiGroup::parse("apps.kruise.io/v1alpha1");
        assert!(one.matches(&Gvk::new("apps.kruise.io/v1alpha1", "CloneSet")));
        assert!(!one.matches(&Gvk::new("apps.kruise.io/v1beta1", "CloneSet")));
        assert!(ApiGroup::parse("v1").matches(&Gvk::new("v1", "Pod")));
    }
}
