//! Reading rendered manifests in tests: documents by kind and name, and the
//! `secret-rollout/` stamps on them, by text (what a reviewer reads).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize as _;

/// One document of helm's output.
#[derive(Debug)]
pub struct Doc {
    pub source: String,
    pub kind: String,
    pub name: String,
    pub text: String,
}

pub fn docs(text: &str) -> Vec<Doc> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, out: &mut Vec<Doc>| {
        let t = std::mem::take(cur);
        let find = |prefix: &str| {
            t.lines()
                .find_map(|l| l.strip_prefix(prefix))
                .map(|v| v.trim().trim_matches(['\'', '"']).to_string())
                .unwrap_or_default()
        };
        let kind = find("kind: ");
        if !kind.is_empty() {
            out.push(Doc {
                source: find("# Source: "),
                kind,
                name: find("  name: "),
                text: t,
            });
        }
    };
    for line in text.lines() {
        if line.starts_with("---") {
            flush(&mut cur, &mut out);
        }
        cur.push_str(line);
        cur.push('\n');
    }
    flush(&mut cur, &mut out);
    out
}

pub fn find<'d>(docs: &'d [Doc], kind: &str, name: &str) -> &'d Doc {
    docs.iter()
        .find(|d| d.kind == kind && d.name == name)
        .unwrap_or_else(|| panic!("{kind}/{name} not in output"))
}

/// `secret-rollout/...` annotations of a document.
pub fn stamps(doc: &Doc) -> BTreeMap<String, String> {
    doc.text
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l.strip_prefix("secret-rollout/")?;
            let (k, v) = rest.split_once(": ")?;
            Some((k.to_string(), v.trim_matches('"').to_string()))
        })
        .collect()
}

/// Every stamp in a stream, by `Kind/name`.
pub fn all_stamps(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    docs(text)
        .iter()
        .map(|d| (format!("{}/{}", d.kind, d.name), stamps(d)))
        .filter(|(_, s)| !s.is_empty())
        .collect()
}

/// Exactly the workloads whose stamps differ, with the keys that differ.
pub fn changed(
    a: &BTreeMap<String, BTreeMap<String, String>>,
    b: &BTreeMap<String, BTreeMap<String, String>>,
) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for w in a.keys().chain(b.keys()) {
        let (x, y) = (
            a.get(w).cloned().unwrap_or_default(),
            b.get(w).cloned().unwrap_or_default(),
        );
        let keys: BTreeSet<String> = x
            .keys()
            .chain(y.keys())
            .filter(|k| x.get(*k) != y.get(*k))
            .cloned()
            .collect();
        if !keys.is_empty() {
            out.insert(w.clone(), keys.into_iter().collect());
        }
    }
    out
}

/// What rotating the0's admin password changes: the api's stamp of it.
pub fn only_admin_changed() -> BTreeMap<String, Vec<String>> {
    BTreeMap::from([(
        "Deployment/the0-api".to_string(),
        vec!["secret.the0-root-admin".to_string()],
    )])
}

/// Who reads Secret `secret`, and which keys (`None`: the whole Secret),
/// read straight from the manifests with serde_yaml.
pub fn consumers(stream: &str, secret: &str) -> BTreeMap<String, Option<BTreeSet<String>>> {
    let mut out: BTreeMap<String, Option<BTreeSet<String>>> = BTreeMap::new();
    for doc in serde_yaml::Deserializer::from_str(stream) {
        let v = serde_yaml::Value::deserialize(doc).unwrap();
        let kind = v["kind"].as_str().unwrap_or_default();
        let pod = match kind {
            "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
                &v["spec"]["template"]["spec"]
            }
            "CronJob" => &v["spec"]["jobTemplate"]["spec"]["template"]["spec"],
            "Pod" => &v["spec"],
            _ => continue,
        };
        let workload = format!("{kind}/{}", v["metadata"]["name"].as_str().unwrap());
        let mut keys: Option<BTreeSet<String>> = Some(BTreeSet::new());
        let mut uses = false;
        let mut read_keys = |k: Option<Vec<String>>, uses: &mut bool| {
            *uses = true;
            match (k, keys.as_mut()) {
                (Some(k), Some(set)) => set.extend(k),
                _ => keys = None,
            }
        };
        let seq = |v: &serde_yaml::Value| v.as_sequence().cloned().unwrap_or_default();
        let items = |v: &serde_yaml::Value| {
            v.as_sequence().map(|s| {
                s.iter()
                    .map(|i| i["key"].as_str().unwrap().to_string())
                    .collect()
            })
        };
        for list in ["initContainers", "containers"] {
            for c in seq(&pod[list]) {
                for e in seq(&c["env"]) {
                    let r = &e["valueFrom"]["secretKeyRef"];
                    if r["name"].as_str() == Some(secret) {
                        read_keys(
                            Some(vec![r["key"].as_str().unwrap().to_string()]),
                            &mut uses,
                        );
                    }
                }
                for e in seq(&c["envFrom"]) {
                    if e["secretRef"]["name"].as_str() == Some(secret) {
                        read_keys(None, &mut uses);
                    }
                }
            }
        }
        for vol in seq(&pod["volumes"]) {
            if vol["secret"]["secretName"].as_str() == Some(secret) {
                read_keys(items(&vol["secret"]["items"]), &mut uses);
            }
            for s in seq(&vol["projected"]["sources"]) {
                if s["secret"]["name"].as_str() == Some(secret) {
                    read_keys(items(&s["secret"]["items"]), &mut uses);
                }
            }
        }
        if uses {
            out.insert(workload, keys);
        }
    }
    out
}
