//! Which Flux Kustomization applies what, and whether the Secrets a stamp
//! covers reach the cluster before the HelmRelease that rolls their readers.
//!
//! A stamp rolls pods, and a pod reads its Secret when it starts: if the new
//! Secret arrives after the upgrade, the pods keep the old value and nothing
//! rolls them again. What Flux guarantees (read from kustomize-controller,
//! fluxcd/pkg and sealed-secrets; docs/gitops.md, "Flux: ordering the Secret before the upgrade", has the
//! sources):
//!
//! - One Kustomization applies its objects in one server-side apply, kinds
//!   sorted: a `Secret` (plain, or SOPS-decrypted by kustomize-controller)
//!   is written before a HelmRelease in the same apply. Safe.
//! - A `SealedSecret` (or an `ExternalSecret`) is written by the apply, but
//!   its Secret by another controller, later: in the same Kustomization as
//!   the HelmRelease, helm-controller may upgrade first. Unsafe.
//! - A Kustomization with `dependsOn` waits until the dependency is Ready at
//!   the same source revision; Ready comes after its health checks, and
//!   with `wait: true` (or `healthChecks`) those include the SealedSecret.
//!   kstatus counts a SealedSecret as Current once `status.observedGeneration`
//!   matches, which the controller writes after the Secret, but also when it
//!   has no status yet and after a failed unseal; a `healthCheckExprs` entry
//!   on its `Synced` condition closes those gaps.
//!
//! The check reads the repository: Flux Kustomization objects and their
//! `spec.path`, kustomization files and their `resources`, or Flux's
//! generated "every YAML file below" when a path has none. When the layout
//! does not say which Kustomization applies a file, it says nothing.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::front::kustomization::KUSTOMIZATION_FILES;
use crate::front::patch::FileSource;
use crate::kube::gvk::Gvk;
use crate::policy::config::Policy;
use crate::policy::finding::{Finding, Location};
use crate::policy::rule::{Rule, RuleId};
use crate::yaml::stream;
use crate::yaml::tree::Node;

/// Something that applies a set of files in one go.
#[derive(Clone, Debug)]
struct Unit {
    /// `Kustomization flux-system/the0` or `the kustomization in clusters/prod`.
    label: String,
    /// `namespace/name` for Flux Kustomizations; `None` for a plain kustomization.
    id: Option<String>,
    depends_on: Vec<String>,
    wait: bool,
    /// `kind/name` of the objects listed in `healthChecks`.
    health_checks: Vec<String>,
    /// A `healthCheckExprs` entry covers SealedSecrets (group bitnami.com,
    /// kind SealedSecret or any).
    sealed_exprs: bool,
    files: BTreeSet<PathBuf>,
}

/// The findings about `sources` (the `--secrets-from` files that stamps in
/// `helmrelease` cover). `root` is the GitOps repository's root; without one
/// the git work tree around the HelmRelease is used.
/// `policy` sets the severity (or turns the rule off).
pub fn check(
    helmrelease: &Path,
    root: Option<&Path>,
    sources: &[FileSource],
    policy: &Policy,
) -> Vec<Finding> {
    let rule = RuleId::BuiltIn(Rule::SecretAppliedWithoutOrder);
    let Some(severity) = policy.level(&rule) else {
        return Vec::new();
    };
    if sources.is_empty() {
        return Vec::new();
    }
    let Ok(hr) = std::fs::canonicalize(helmrelease) else {
        return Vec::new();
    };
    let root = match root {
        Some(r) => std::fs::canonicalize(r).ok(),
        None => git_root(&hr),
    };
    let Some(root) = root else {
        return Vec::new();
    };
    let units = units(&root);
    let covering =
        |file: &Path| -> Vec<&Unit> { units.iter().filter(|u| u.files.contains(file)).collect() };
    let mut out: Vec<Finding> = Vec::new();
    let hr_units = covering(&hr);
    for source in sources {
        let Ok(file) = std::fs::canonicalize(&source.path) else {
            continue;
        };
        let async_kind = matches!(source.kind.as_str(), "SealedSecret" | "ExternalSecret");
        for a in &hr_units {
            for b in covering(&file) {
                let problem = if a.label == b.label {
                    async_kind.then(|| same_unit(source, a))
                } else if !depends(&units, a, b) {
                    Some(no_order(source, a, b))
                } else if async_kind
                    && !b.wait
                    && !b
                        .health_checks
                        .contains(&format!("{}/{}", source.kind, source.name))
                {
                    Some(not_waited(source, a, b))
                } else if source.kind == "SealedSecret" && !b.sealed_exprs {
                    Some(no_synced_check(source, b))
                } else {
                    None
                };
                if let Some((message, help)) = problem {
                    let workload = source.workloads.first().cloned();
                    let f = order_finding(severity, helmrelease, workload, message, help);
                    if !out.contains(&f) {
                        out.push(f);
                    }
                }
            }
        }
    }
    out
}

/// The findings about Secrets that a kustomize build holds only as what a
/// controller turns into them later (`written_later` of [`crate::front::patch::Plan`]):
/// applied in the same apply as their readers, the pods may start before the
/// Secret is there. `kustomization` is the file the finding points at.
pub fn same_build(
    kustomization: &Path,
    written_later: &[(String, Vec<String>)],
    policy: &Policy,
) -> Vec<Finding> {
    let rule = RuleId::BuiltIn(Rule::SecretAppliedWithoutOrder);
    let Some(severity) = policy.level(&rule) else {
        return Vec::new();
    };
    written_later
        .iter()
        .map(|(what, readers)| {
            let message = format!(
                "{what} is applied by the same build as {}; its controller writes the Secret after \
                 that apply, so the rollout may start first and the pods keep the old value",
                readers.join(", ")
            );
            let help = "apply it from a kustomization (a Flux Kustomization with `wait: true`) of \
                        its own, and make the one that applies its readers depend on it \
                        (docs/gitops.md: Flux, ordering)"
                .to_string();
            order_finding(
                severity,
                kustomization,
                readers.first().cloned(),
                message,
                help,
            )
        })
        .collect()
}

/// A `secret-applied-without-order` finding about `file` (the HelmRelease or
/// kustomization whose apply rolls the readers), on its first line.
fn order_finding(
    severity: crate::policy::rule::Severity,
    file: &Path,
    workload: Option<String>,
    message: String,
    help: String,
) -> Finding {
    Finding {
        rule: RuleId::BuiltIn(Rule::SecretAppliedWithoutOrder),
        severity,
        location: Location {
            file: Some(file.display().to_string()),
            doc: 0,
            template: None,
            line: 1,
            col: 1,
            place: None,
            path: None,
        },
        workload,
        container: None,
        variable: None,
        message,
        help,
        suppressed: None,
    }
}

fn what(s: &FileSource) -> String {
    format!("{} ({} in {}:{})", s.identity, s.kind, s.path, s.line)
}

fn rolls(s: &FileSource) -> String {
    s.workloads.join(", ")
}

fn same_unit(s: &FileSource, u: &Unit) -> (String, String) {
    (
        format!(
            "{} and this HelmRelease are applied by the same {}; its controller writes the \
             Secret after that apply, so helm-controller may roll {} first and the pods keep \
             the old value",
            what(s),
            u.label,
            rolls(s)
        ),
        "apply the Secret from its own Flux Kustomization with `wait: true` (and a \
         healthCheckExprs entry for SealedSecret), and list it in `dependsOn` of the one \
         that applies the HelmRelease (docs/gitops.md: Flux, ordering)"
            .to_string(),
    )
}

fn no_order(s: &FileSource, a: &Unit, b: &Unit) -> (String, String) {
    (
        format!(
            "{} is applied by {}, this HelmRelease by {}, with no `dependsOn` between them: \
             helm-controller may roll {} before the new Secret is there",
            what(s),
            b.label,
            a.label,
            rolls(s)
        ),
        format!(
            "add `dependsOn: [{{name: {}}}]` to {}",
            b.id.as_deref().map_or("<its Kustomization>", |id| id
                .rsplit('/')
                .next()
                .unwrap_or(id)),
            a.label
        ),
    )
}

fn not_waited(s: &FileSource, a: &Unit, b: &Unit) -> (String, String) {
    (
        format!(
            "{} depends on {}, but that applies {} without `wait: true` or a health check on \
             it, so it is Ready as soon as the {} is written, before its Secret is",
            a.label,
            b.label,
            what(s),
            s.kind
        ),
        format!("set `wait: true` on {}", b.label),
    )
}

fn no_synced_check(s: &FileSource, b: &Unit) -> (String, String) {
    (
        format!(
            "{} waits for {}, but kstatus counts a SealedSecret as ready when it has no status \
             yet (a new one) and after a failed unseal",
            b.label,
            what(s)
        ),
        "add to its spec.healthCheckExprs: {apiVersion: bitnami.com/v1alpha1, kind: \
         SealedSecret, failed: \"status.conditions.filter(e, e.type == 'Synced').all(e, \
         e.status == 'False')\", current: \"status.conditions.filter(e, e.type == \
         'Synced').all(e, e.status == 'True')\"}"
            .to_string(),
    )
}

/// Whether `a` waits for `b`, through `dependsOn` chains.
fn depends(units: &[Unit], a: &Unit, b: &Unit) -> bool {
    let Some(target) = &b.id else { return false };
    let by_id: HashMap<&str, &Unit> = units
        .iter()
        .filter_map(|u| u.id.as_deref().map(|id| (id, u)))
        .collect();
    let mut seen = BTreeSet::new();
    let mut todo: Vec<&Unit> = vec![a];
    while let Some(u) = todo.pop() {
        for d in &u.depends_on {
            if d == target {
                return true;
            }
            if seen.insert(d.clone()) {
                todo.extend(by_id.get(d.as_str()));
            }
        }
    }
    false
}

fn git_root(file: &Path) -> Option<PathBuf> {
    file.ancestors()
        .skip(1)
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// Every Flux Kustomization in the repository, and every kustomization file
/// that no other one includes (what a Flux Kustomization would point at).
fn units(root: &Path) -> Vec<Unit> {
    let mut flux = Vec::new();
    let mut kfiles = Vec::new();
    let walk = ignore::WalkBuilder::new(root)
        .sort_by_file_name(Ord::cmp)
        .build();
    for entry in walk.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy();
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        if KUSTOMIZATION_FILES.contains(&name.as_ref()) {
            kfiles.push(path.to_path_buf());
        }
        let manifest = name.ends_with(".yaml") || name.ends_with(".yml");
        let Ok(text) = crate::trust::regular::read_to_string(path) else {
            continue;
        };
        if manifest && text.contains("kustomize.toolkit.fluxcd.io") {
            flux.extend(flux_kustomizations(root, &text));
        }
    }
    let mut units = flux;
    let mut included = BTreeSet::new();
    let closures: Vec<(PathBuf, BTreeSet<PathBuf>)> = kfiles
        .iter()
        .filter_map(|k| {
            let dir = k.parent()?.to_path_buf();
            let files = dir_files(&dir);
            included.extend(files.iter().filter(|f| **f != *k).cloned());
            Some((k.clone(), files))
        })
        .collect();
    for (k, files) in closures {
        if included.contains(&k) {
            continue;
        }
        let covered = units.iter().any(|u| u.id.is_some() && u.files.contains(&k));
        if covered {
            continue;
        }
        let dir = k.parent().unwrap_or(root);
        let shown = dir.strip_prefix(root).unwrap_or(dir).display().to_string();
        units.push(Unit {
            label: format!(
                "kustomize build of {} (whatever Flux Kustomization applies it)",
                if shown.is_empty() { ".".into() } else { shown }
            ),
            id: None,
            depends_on: Vec::new(),
            wait: false,
            health_checks: Vec::new(),
            sealed_exprs: false,
            files,
        });
    }
    units
}

fn flux_kustomizations(root: &Path, text: &str) -> Vec<Unit> {
    let Ok(docs) = stream::parse(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for d in &docs {
        let Some(node) = &d.root else { continue };
        if !Gvk::of(node).is_some_and(|g| g.is("kustomize.toolkit.fluxcd.io", "Kustomization")) {
            continue;
        }
        let meta = |k| node.path(&["metadata", k]).and_then(Node::as_str);
        let name = meta("name").unwrap_or("").to_string();
        let ns = meta("namespace").unwrap_or("").to_string();
        let spec = node.get("spec");
        let get = |k: &str| spec.and_then(|s| s.get(k));
        let list = |k: &str| get(k).and_then(Node::as_seq).unwrap_or(&[]);
        let path = get("path").and_then(Node::as_str).unwrap_or("./");
        let dir = root.join(path.trim_start_matches('/'));
        let depends_on = list("dependsOn")
            .iter()
            .filter_map(|d| {
                let n = d.get_str("name")?;
                let dns = d.get_str("namespace").unwrap_or(&ns);
                Some(format!("{dns}/{n}"))
            })
            .collect();
        let health_checks = list("healthChecks")
            .iter()
            .filter_map(|h| Some(format!("{}/{}", h.get_str("kind")?, h.get_str("name")?)))
            .collect();
        // A selector of objects, not an object: its kind may be left out.
        let sealed_exprs = list("healthCheckExprs").iter().any(|e| {
            e.get_str("apiVersion").is_some_and(|api| {
                let kind = e.get_str("kind").unwrap_or("SealedSecret");
                Gvk::new(api, kind).is("bitnami.com", "SealedSecret")
            })
        });
        out.push(Unit {
            label: format!("Flux Kustomization {ns}/{name} ({path})"),
            id: Some(format!("{ns}/{name}")),
            depends_on,
            wait: get("wait")
                .and_then(Node::as_scalar)
                .and_then(|s| s.as_bool())
                .unwrap_or(false),
            health_checks,
            sealed_exprs,
            files: std::fs::canonicalize(&dir)
                .map(|d| dir_files(&d))
                .unwrap_or_default(),
        });
    }
    out
}

/// The files a build of `dir` reads: its kustomization's resources, or, as
/// Flux generates one, every YAML file below it (a directory with its own
/// kustomization counted as that kustomization).
fn dir_files(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut seen = BTreeSet::new();
    collect_dir(dir, &mut out, &mut seen, true);
    out
}

fn kustomization_in(dir: &Path) -> Option<PathBuf> {
    KUSTOMIZATION_FILES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

fn collect_dir(
    dir: &Path,
    out: &mut BTreeSet<PathBuf>,
    seen: &mut BTreeSet<PathBuf>,
    generate: bool,
) {
    if !seen.insert(dir.to_path_buf()) {
        return;
    }
    if let Some(k) = kustomization_in(dir) {
        collect_kustomization(&k, out, seen);
        return;
    }
    if !generate {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect_dir(&p, out, seen, true);
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            if let Ok(p) = std::fs::canonicalize(&p) {
                out.insert(p);
            }
        }
    }
}

fn collect_kustomization(k: &Path, out: &mut BTreeSet<PathBuf>, seen: &mut BTreeSet<PathBuf>) {
    let Ok(k) = std::fs::canonicalize(k) else {
        return;
    };
    out.insert(k.clone());
    let Ok(text) = crate::trust::regular::read_to_string(&k) else {
        return;
    };
    let Ok(docs) = stream::parse(&text) else {
        return;
    };
    let dir = k.parent().unwrap_or(Path::new("/")).to_path_buf();
    for d in &docs {
        let Some(node) = &d.root else { continue };
        for key in ["resources", "bases", "components"] {
            let Some(items) = node.get(key).and_then(Node::as_seq) else {
                continue;
            };
            for item in items {
                let Some(rel) = item.as_str() else { continue };
                let Ok(p) = std::fs::canonicalize(dir.join(rel)) else {
                    continue; // a URL, or missing: kustomize's business
                };
                if p.is_dir() {
                    collect_dir(&p, out, seen, false);
                } else {
                    out.insert(p);
                }
            }
        }
    }
}
