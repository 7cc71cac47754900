//! Flux HelmReleases: the post-render entry secret-rollout keeps in them.
//!
//! helm-controller cannot run secret-rollout when it upgrades a release; it
//! applies `spec.postRenderers[].kustomize.patches` to the render, in list
//! order. So CI renders the chart, [`crate::front::patch::plan`] decides the stamps,
//! and [`update`] writes them into the HelmRelease file as one post-render
//! entry of ours: found again on later runs by its shape (a `kustomize`
//! entry holding only patches that set `secret-rollout/` annotations),
//! refreshed or removed, and left alone when it already means the same.
//! Everything else in the file keeps its bytes.

use crate::front::patch::Stamp;
use crate::kube::gvk::Gvk;
use crate::trust::name::Name;
use crate::yaml::stream::{self, doc_name, ParseError, Parsed};
use crate::yaml::tree::{self as yaml, Node, Value};
use crate::yaml::write::content::{Content, Field};
use crate::yaml::write::seq::{self, SpliceError};
use crate::yaml::write::{self, map};

pub const GROUP: &str = "helm.toolkit.fluxcd.io";
pub const API_VERSION: &str = "helm.toolkit.fluxcd.io/v2";

/// A HelmRelease file we will not edit. Every variant says why; the caller
/// names the file.
#[derive(Debug, thiserror::Error)]
pub enum FluxError {
    #[error("{0}")]
    Parse(#[from] ParseError),
    #[error("holds no HelmRelease ({API_VERSION}){}", others(.found))]
    NoHelmRelease { found: Vec<String> },
    #[error("holds {} HelmReleases ({}); choose one with --name", .names.len(), .names.join(", "))]
    Several { names: Vec<String> },
    #[error("holds no HelmRelease named {name} (it holds {})", .names.join(", "))]
    NoSuchName { name: String, names: Vec<String> },
    #[error("{}, line {line}: {what}", doc_name(*.doc, None))]
    Shape {
        /// The document's 0-based index in the file.
        doc: usize,
        line: usize,
        what: String,
    },
    #[error("{}, {error}", doc_name(*.doc, None))]
    Splice { doc: usize, error: SpliceError },
}

fn others(found: &[String]) -> String {
    if found.is_empty() {
        String::new()
    } else {
        format!(
            "; found {}: secret-rollout writes only {API_VERSION} postRenderers, so move it to {API_VERSION} first",
            found.join(", ")
        )
    }
}

/// What the rest of the pipeline needs to know about the HelmRelease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    pub name: String,
    pub namespace: Option<String>,
    /// Helm's release name: `spec.releaseName`, else `<targetNamespace>-<name>`
    /// when a target namespace is set, else the name (as helm-controller has it).
    pub release_name: String,
    /// Where the release's objects go: `spec.targetNamespace`, else the
    /// HelmRelease's namespace.
    pub release_namespace: Option<String>,
}

/// The HelmRelease document to work on: the one named, or the only one.
struct Found<'a> {
    /// 0-based index in the file.
    doc: usize,
    root: Node<'a>,
}

fn find<'a>(text: &'a str, name: Option<&str>) -> Result<Found<'a>, FluxError> {
    let docs: Vec<Parsed<'a>> = stream::parse(text)?;
    let mut candidates = Vec::new();
    let mut other_versions = Vec::new();
    for p in docs {
        let Some(root) = p.root else { continue };
        let Some(gvk) = Gvk::of(&root).filter(|g| g.is(GROUP, "HelmRelease")) else {
            continue;
        };
        let api = root.get_str("apiVersion").unwrap_or("");
        let n = root.path(&["metadata", "name"]).and_then(Node::as_str);
        let n = n.unwrap_or("").to_string();
        if gvk == Gvk::new(API_VERSION, "HelmRelease") {
            candidates.push((
                n,
                Found {
                    doc: p.doc.index,
                    root,
                },
            ));
        } else {
            other_versions.push(format!("HelmRelease {} as {}", Name(&n), Name(api)));
        }
    }
    // The file's names reach the message as checked names only.
    let names: Vec<String> = candidates
        .iter()
        .map(|(n, _)| Name(n).to_string())
        .collect();
    match name {
        Some(want) => {
            let mut matching: Vec<_> = candidates.into_iter().filter(|(n, _)| n == want).collect();
            match matching.len() {
                0 if names.is_empty() => Err(FluxError::NoHelmRelease {
                    found: other_versions,
                }),
                0 => Err(FluxError::NoSuchName {
                    name: want.to_string(),
                    names,
                }),
                1 => Ok(matching.pop().expect("one").1),
                _ => Err(FluxError::Several { names }),
            }
        }
        None => match candidates.len() {
            0 => Err(FluxError::NoHelmRelease {
                found: other_versions,
            }),
            1 => Ok(candidates.pop().expect("one").1),
            _ => Err(FluxError::Several { names }),
        },
    }
}

fn shape(found: &Found<'_>, node: &Node<'_>, what: &str) -> FluxError {
    FluxError::Shape {
        doc: found.doc,
        line: node.span.line,
        what: what.to_string(),
    }
}

fn spec<'n, 'a>(found: &'n Found<'a>) -> Result<&'n Node<'a>, FluxError> {
    let spec = found
        .root
        .get("spec")
        .ok_or_else(|| shape(found, &found.root, "the HelmRelease has no spec"))?;
    if spec.as_map().is_none() {
        return Err(shape(found, spec, "spec is not a mapping"));
    }
    Ok(spec)
}

/// Name, namespace and release coordinates of the HelmRelease.
pub fn release(text: &str, name: Option<&str>) -> Result<Release, FluxError> {
    let found = find(text, name)?;
    let spec = spec(&found)?;
    let meta = |k: &str| {
        found
            .root
            .path(&["metadata", k])
            .and_then(Node::as_str)
            .map(str::to_string)
    };
    let name = meta("name").unwrap_or_default();
    let namespace = meta("namespace").filter(|n| !n.is_empty());
    let target = spec
        .get_str("targetNamespace")
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    let release_name = match (
        spec.get_str("releaseName").filter(|n| !n.is_empty()),
        &target,
    ) {
        (Some(r), _) => r.to_string(),
        (None, Some(t)) => format!("{t}-{name}"),
        (None, None) => name.clone(),
    };
    Ok(Release {
        release_namespace: target.or_else(|| namespace.clone()),
        name,
        namespace,
        release_name,
    })
}

/// The post-render entry of ours, if the HelmRelease has one: its index in
/// `spec.postRenderers` and the stamps it writes.
fn owned(found: &Found<'_>) -> Result<Option<(usize, Vec<Stamp>)>, FluxError> {
    let spec = spec(found)?;
    let Some(list) = spec.get("postRenderers") else {
        return Ok(None);
    };
    let Some(items) = list.as_seq() else {
        return Ok(None);
    };
    let mut ours = None;
    for (i, item) in items.iter().enumerate() {
        if let Some(stamps) = read_entry(item) {
            if let Some((first, _)) = ours {
                let first: &Node<'_> = &items[first];
                return Err(shape(
                    found,
                    item,
                    &format!(
                        "spec.postRenderers holds two entries of secret-rollout's patches \
                         (the other at line {}); delete one",
                        first.span.line
                    ),
                ));
            }
            ours = Some((i, stamps));
        }
    }
    Ok(ours)
}

/// The stamps a post-render entry of ours writes (sorted), or `None` when
/// the entry is not one: `{kustomize: {patches: [{target, patch}, …]}}`
/// where every patch is exactly one we write.
fn read_entry(item: &Node<'_>) -> Option<Vec<Stamp>> {
    let kustomize = only(item, "kustomize")?;
    let patches = only(kustomize, "patches")?.as_seq()?;
    if patches.is_empty() {
        return None;
    }
    let mut stamps = Vec::new();
    for p in patches {
        let map = p.as_map()?;
        if map.entries.len() != 2 {
            return None;
        }
        let patch = p.get("patch")?.as_scalar()?;
        stamps.push(Stamp::read(p.get("target")?, &patch.text)?);
    }
    stamps.sort();
    Some(stamps)
}

/// The value of a mapping's one entry, when its key is `key`.
fn only<'n, 'a>(node: &'n Node<'a>, key: &str) -> Option<&'n Node<'a>> {
    let [entry] = node.as_map()?.entries.as_slice() else {
        return None;
    };
    (entry.key.as_str() == Some(key)).then_some(&entry.value)
}

/// The stamps the HelmRelease's entry of ours writes now (none without one).
pub fn current(text: &str, name: Option<&str>) -> Result<Vec<Stamp>, FluxError> {
    let found = find(text, name)?;
    Ok(owned(&found)?.map(|(_, s)| s).unwrap_or_default())
}

/// The comment said above our entry's patches, inside the entry, so it
/// goes wherever the entry goes (a flow form, which is JSON, leaves it out).
pub const MARKER: &str =
    "Written by `secret-rollout flux`; do not edit. Run it again after a rotation.";

/// The post-render entry for `stamps`: `{kustomize: {patches: [{target,
/// patch}, …]}}`, each patch as a literal block where it can be one.
pub fn entry(stamps: &[Stamp]) -> Content {
    let patches = stamps
        .iter()
        .map(|s| {
            Content::map([
                ("target", s.target_content()),
                ("patch", Content::Text(s.patch_text())),
            ])
        })
        .collect();
    let kustomize = Content::Map(vec![
        Field::Comment(MARKER.into()),
        Field::Pair("patches".into(), Content::Seq(patches)),
    ]);
    Content::map([("kustomize", kustomize)])
}

/// The HelmRelease file with our post-render entry holding exactly `stamps`
/// (sorted): added, refreshed, removed when there are none, or untouched
/// when it already means that.
pub fn update(text: &str, name: Option<&str>, stamps: &[Stamp]) -> Result<String, FluxError> {
    let found = find(text, name)?;
    let spec = spec(&found)?;
    let map = spec.as_map().expect("checked by spec()");
    let splice_err = |error| FluxError::Splice {
        doc: found.doc,
        error,
    };
    let ours = owned(&found)?;
    let item = || entry(stamps);
    // A list that a merge key (`<<`) supplies, or that one overrides, is
    // not ours to write: an explicit key beside it would replace the user's
    // own post-renderers in Go's reading (or do nothing), and editing the
    // merged mapping would change every other place that uses it.
    let explicit = map.entry("postRenderers");
    let merged = match explicit {
        None => map.merges("postRenderers"),
        Some(_) => map.own("postRenderers").is_none(),
    };
    if merged && !(stamps.is_empty() && ours.is_none()) {
        return Err(shape(
            &found,
            explicit
                .or_else(|| map.entries.iter().find(|e| e.merge))
                .map_or(spec, |e| &e.key),
            "spec.postRenderers comes through a merge key (`<<`); write the list in spec itself \
             and run again",
        ));
    }
    let mut edits = match (explicit, ours) {
        (None, _) if stamps.is_empty() => vec![],
        (None, _) => seq::add_key(text, spec, "postRenderers", &item()).map_err(splice_err)?,
        (Some(e), Some((i, current))) => {
            if current == stamps {
                vec![]
            } else if stamps.is_empty() {
                seq::remove(text, map, e, i).map_err(splice_err)?
            } else {
                seq::replace(text, &e.value, i, &item()).map_err(splice_err)?
            }
        }
        (Some(_), None) if stamps.is_empty() => vec![],
        (Some(e), None) => {
            if !(e.value.is_null() || e.value.as_seq().is_some()) {
                return Err(shape(&found, &e.value, "spec.postRenderers is not a list"));
            }
            seq::append(text, map, e, &item()).map_err(splice_err)?
        }
    };
    Ok(write::apply(text, &mut edits))
}

/// `spec.values` as a values file for `helm template -f`: the same bytes,
/// moved left ([`map::detach`], which refuses a copy that would not read as
/// the same tree: an alias to an anchor outside `values`, say).
pub fn values(text: &str, name: Option<&str>) -> Result<String, FluxError> {
    let found = find(text, name)?;
    let spec = spec(&found)?;
    let Some(values) = spec.get("values").filter(|v| !v.is_null()) else {
        return Ok("{}\n".to_string());
    };
    if values.as_map().is_none() {
        return Err(shape(&found, values, "spec.values is not a mapping"));
    }
    if values.aliased {
        return Err(shape(
            &found,
            values,
            "spec.values is an alias; write the values out under spec.values",
        ));
    }
    let Some(out) = map::detach(text, values) else {
        return Err(shape(
            &found,
            values,
            "spec.values cannot be copied out without changing its meaning (an alias to an \
             anchor outside it, or a line indented less than its keys)",
        ));
    };
    if let Some((node, why)) = read_differently(values) {
        return Err(shape(&found, node, &format!("spec.values: {why}")));
    }
    Ok(out)
}

/// The first plain scalar in `node` that Flux and `helm template -f` read
/// differently. kustomize-controller reads the HelmRelease with kustomize's
/// YAML 1.2 reader: `on`, `yes`, `y`, `off`, `no`, `n` are strings to it and
/// a date becomes an RFC 3339 timestamp string; Helm reads a values file with
/// YAML 1.1, where those words are booleans and a date stays as written.
/// The bytes cannot mean both, so say which to write (measured with real
/// kustomize and helm in tests/flux.rs).
fn read_differently<'n, 'a>(node: &'n Node<'a>) -> Option<(&'n Node<'a>, String)> {
    match &node.value {
        Value::Scalar(s) => {
            if s.style != yaml::Style::Plain || s.tagged {
                return None;
            }
            let t: &str = &s.text;
            let word = matches!(
                t,
                "y" | "Y"
                    | "yes"
                    | "Yes"
                    | "YES"
                    | "n"
                    | "N"
                    | "no"
                    | "No"
                    | "NO"
                    | "on"
                    | "On"
                    | "ON"
                    | "off"
                    | "Off"
                    | "OFF"
            );
            if word {
                let b = s.as_bool().unwrap_or_default();
                return Some((
                    node,
                    format!(
                        "`{t}` is the string \"{t}\" to Flux but {b} to `helm template -f`; \
                         write {b} or \"{t}\""
                    ),
                ));
            }
            let date = t.len() >= 8
                && t.as_bytes()[..4].iter().all(u8::is_ascii_digit)
                && t.as_bytes()[4] == b'-'
                && t[5..]
                    .split(['-', 'T', 't', ' '])
                    .take(2)
                    .all(|p| (1..=2).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
            date.then(|| {
                (
                    node,
                    format!(
                        "Flux turns the date `{t}` into an RFC 3339 timestamp string, \
                         `helm template -f` keeps it as written; quote it"
                    ),
                )
            })
        }
        Value::Seq(items) => items.iter().find_map(read_differently),
        Value::Map(m) => m
            .entries
            .iter()
            .find_map(|e| read_differently(&e.key).or_else(|| read_differently(&e.value))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn stamp(name: &str, digest: &str) -> Stamp {
        Stamp {
            kind: "Deployment".into(),
            name: name.into(),
            namespace: None,
            api_version: "apps/v1".into(),
            template_path: vec!["spec".into(), "template".into()],
            annotations: BTreeMap::from([(
                "secret-rollout/secret.the0-root-admin".into(),
                Some(digest.into()),
            )]),
        }
    }

    const HR: &str = "\
# The0 in production.
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: the0 # the release
  namespace: the0
spec:
  interval: 10m
  values:
    the0Api:
      enabled: true   # kept as written
      mode: 0644
";

    #[test]
    fn a_new_entry_is_added_found_again_refreshed_and_removed() {
        let one = [stamp("the0-api", "sha256:1")];
        let added = update(HR, None, &one).unwrap();
        assert!(added.starts_with(HR), "everything before stays:\n{added}");
        assert_eq!(
            &added[HR.len()..],
            "  postRenderers:\n    - kustomize:\n        # Written by `secret-rollout flux`; do not edit. Run it again after \
             a rotation.\n        patches:\n          - target:\n              \
             kind: Deployment\n              name: the0-api\n            patch: |\n              \
             apiVersion: apps/v1\n              kind: Deployment\n              metadata:\n                \
             name: the0-api\n              spec:\n                template:\n                  \
             metadata:\n                    annotations:\n                      \
             secret-rollout/secret.the0-root-admin: \"sha256:1\"\n"
        );
        assert_eq!(current(&added, None).unwrap(), one);
        assert_eq!(
            update(&added, None, &one).unwrap(),
            added,
            "a second run is a no-op"
        );
        let two = [stamp("the0-api", "sha256:2")];
        let refreshed = update(&added, None, &two).unwrap();
        assert_eq!(refreshed, added.replace("sha256:1", "sha256:2"));
        assert_eq!(
            update(&refreshed, None, &[]).unwrap(),
            HR,
            "removed: the file as it was"
        );
    }

    #[test]
    fn other_post_renderers_keep_their_bytes() {
        let theirs = format!(
            "{HR}  postRenderers:\n    # theirs first\n    - kustomize:\n        images:\n          \
             - {{name: nginx, newTag: \"1.2\"}}\n"
        );
        let one = [stamp("the0-api", "sha256:1")];
        let added = update(&theirs, None, &one).unwrap();
        assert!(added.starts_with(&theirs), "{added}");
        assert_eq!(current(&added, None).unwrap(), one);
        assert_eq!(update(&added, None, &[]).unwrap(), theirs);
    }

    #[test]
    fn an_entry_reformatted_by_hand_means_the_same_and_is_left_alone() {
        let one = [stamp("the0-api", "sha256:1")];
        let flow = format!(
            "{HR}  postRenderers: [{{kustomize: {{patches: [{{target: {{name: the0-api, kind: \
             Deployment}}, patch: \"kind: Deployment\\napiVersion: apps/v1\\nmetadata: {{name: \
             the0-api}}\\nspec: {{template: {{metadata: {{annotations: \
             {{secret-rollout/secret.the0-root-admin: 'sha256:1'}}}}}}}}\\n\"}}]}}}}]\n"
        );
        assert_eq!(current(&flow, None).unwrap(), one);
        assert_eq!(update(&flow, None, &one).unwrap(), flow);
        let two = [stamp("the0-api", "sha256:2")];
        let refreshed = update(&flow, None, &two).unwrap();
        assert!(refreshed.starts_with(&format!("{HR}  postRenderers: [{{\"kustomize\"")));
        assert_eq!(current(&refreshed, None).unwrap(), two);
    }

    #[test]
    fn several_helmreleases_only_the_named_one_changes() {
        let other = HR.replace("name: the0 # the release", "name: other");
        let text = format!("{HR}---\n{other}");
        assert!(matches!(
            update(&text, None, &[]),
            Err(FluxError::Several { .. })
        ));
        let one = [stamp("the0-api", "sha256:1")];
        let out = update(&text, Some("other"), &one).unwrap();
        assert!(out.starts_with(&format!("{HR}---\n{other}")));
        assert_eq!(current(&out, Some("other")).unwrap(), one);
        assert_eq!(current(&out, Some("the0")).unwrap(), []);
        assert!(matches!(
            update(&text, Some("nope"), &[]),
            Err(FluxError::NoSuchName { .. })
        ));
    }

    #[test]
    fn not_a_v2_helmrelease_is_refused_and_says_why() {
        let beta = HR.replace("/v2\n", "/v2beta1\n");
        let err = update(&beta, None, &[]).unwrap_err().to_string();
        assert!(
            err.contains("HelmRelease the0 as helm.toolkit.fluxcd.io/v2beta1"),
            "{err}"
        );
        let err = update("apiVersion: v1\nkind: ConfigMap\n", None, &[]).unwrap_err();
        assert!(matches!(err, FluxError::NoHelmRelease { .. }));
        let scalar = format!("{HR}  postRenderers: nope\n");
        let err = update(&scalar, None, &[stamp("a", "b")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 13: spec.postRenderers is not a list"),
            "{err}"
        );
    }

    #[test]
    fn values_are_the_same_bytes_moved_left() {
        assert_eq!(
            values(HR, None).unwrap(),
            "the0Api:\n  enabled: true   # kept as written\n  mode: 0644\n"
        );
        let crlf = HR.replace('\n', "\r\n");
        assert_eq!(
            values(&crlf, None).unwrap(),
            "the0Api:\r\n  enabled: true   # kept as written\r\n  mode: 0644\r\n"
        );
        let flow = HR.replace(
            "  values:\n    the0Api:\n      enabled: true   # kept as written\n      mode: 0644\n",
            "  values: {a: [1, \"yes\"]}\n",
        );
        assert_eq!(values(&flow, None).unwrap(), "{a: [1, \"yes\"]}\n");
        let none = HR.split("  values:").next().unwrap().to_string();
        assert_eq!(values(&none, None).unwrap(), "{}\n");
        let block = HR.replace(
            "mode: 0644\n",
            "script: |\n        echo hi\n\n          indented\n",
        );
        assert_eq!(
            values(&block, None).unwrap(),
            "the0Api:\n  enabled: true   # kept as written\n  script: |\n    echo hi\n\n      indented\n"
        );
    }

    #[test]
    fn values_that_cannot_be_copied_faithfully_are_refused() {
        let outside = HR
            .replace("name: the0 # the release", "name: &n the0")
            .replace("mode: 0644", "mode: *n");
        assert!(values(&outside, None).is_err());
        let scalar = HR.replace("  values:\n    the0Api:", "  values: |\n    the0Api:");
        assert!(values(&scalar, None).is_err());
        for (plain, said) in [
            (
                "on",
                "`on` is the string \"on\" to Flux but true to `helm template -f`",
            ),
            ("No", "`No` is the string \"No\" to Flux but false"),
            (
                "2002-12-14",
                "Flux turns the date `2002-12-14` into an RFC 3339",
            ),
            ("2001-12-14t21:59:43.10-05:00", "the date"),
        ] {
            let text = HR.replace("mode: 0644", &format!("mode: {plain}"));
            let err = values(&text, None).unwrap_err().to_string();
            assert!(
                err.contains("line 12: spec.values: ") && err.contains(said),
                "{err}"
            );
            let quoted = HR.replace("mode: 0644", &format!("mode: \"{plain}\""));
            assert!(
                values(&quoted, None).is_ok(),
                "quoted, it means the same to both"
            );
        }
        let key = HR.replace("mode: 0644", "y: 1");
        assert!(
            values(&key, None).unwrap_err().to_string().contains("`y`"),
            "keys too"
        );
    }

    #[test]
    fn release_coordinates_follow_helm_controller() {
        let r = release(HR, None).unwrap();
        assert_eq!(
            (r.release_name.as_str(), r.release_namespace.as_deref()),
            ("the0", Some("the0"))
        );
        let t = HR.replace(
            "  interval: 10m\n",
            "  interval: 10m\n  targetNamespace: prod\n",
        );
        let r = release(&t, None).unwrap();
        assert_eq!(
            (r.release_name.as_str(), r.release_namespace.as_deref()),
            ("prod-the0", Some("prod"))
        );
        let n = t.replace("  interval: 10m\n", "  interval: 10m\n  releaseName: x\n");
        assert_eq!(release(&n, None).unwrap().release_name, "x");
    }
}
