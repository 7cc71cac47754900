//! The meaning oracle: Go's own YAML decoder, through the real kubectl.
//!
//! `kubectl patch --local -f FILE --type merge -p '{}' -o json` reads the files
//! the way every Kubernetes client does, applies an empty merge patch (a no-op)
//! and prints every object as JSON: exactly what `kubectl apply` would send.
//! It needs no cluster, discovery or schema, so custom kinds decode too.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// kubectl, offline: an empty kubeconfig and a scratch HOME, so it neither
/// reads the user's config nor tries to reach a cluster.
pub fn kubectl(scratch: &Path) -> Command {
    let kubeconfig = scratch.join("kubeconfig");
    if !kubeconfig.exists() {
        std::fs::write(&kubeconfig, "").unwrap();
    }
    let mut cmd = Command::new(super::tool("kubectl"));
    cmd.env("KUBECONFIG", &kubeconfig)
        .env("HOME", scratch)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT");
    cmd
}

/// The objects of the given files, in order, as `kubectl apply` would send them.
pub fn decode(scratch: &Path, files: &[&Path]) -> Result<Vec<Value>, String> {
    let mut cmd = kubectl(scratch);
    cmd.args([
        "patch", "--local", "--type", "merge", "-p", "{}", "-o", "json",
    ]);
    for f in files {
        cmd.arg("-f").arg(f);
    }
    let out = cmd.output().expect("run kubectl");
    if !out.status.success() {
        return Err(format!(
            "kubectl could not decode: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .map_err(|e| format!("kubectl printed JSON we cannot read: {e}"))
}

pub fn is_ours(key: &str) -> bool {
    key.starts_with("secret-rollout/secret.") || key.starts_with("secret-rollout/configmap.")
}

pub const TEMPLATE_PATHS: [&[&str]; 2] = [
    &["spec", "template"],
    &["spec", "jobTemplate", "spec", "template"],
];

pub fn object_id(o: &Value) -> String {
    format!(
        "{}/{}",
        o["kind"].as_str().unwrap_or("?"),
        o["metadata"]["name"].as_str().unwrap_or("?")
    )
}

pub fn template_of(o: &Value) -> Option<&Value> {
    TEMPLATE_PATHS
        .iter()
        .find_map(|path| path.iter().try_fold(o, |v, k| v.get(*k)))
}

/// Forget our annotations; an annotations or metadata map that is then empty
/// (or was null) means the same as none to the API server.
pub fn without_ours(mut object: Value) -> Value {
    let empty = |v: &Value| match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        _ => false,
    };
    for path in TEMPLATE_PATHS {
        let Some(Value::Object(template)) = path.iter().try_fold(&mut object, |v, k| v.get_mut(*k))
        else {
            continue;
        };
        if let Some(Value::Object(metadata)) = template.get_mut("metadata") {
            if let Some(Value::Object(annotations)) = metadata.get_mut("annotations") {
                annotations.retain(|k, _| !is_ours(k));
            }
            if metadata.get("annotations").is_some_and(empty) {
                metadata.remove("annotations");
            }
        }
        if template.get("metadata").is_some_and(empty) {
            template.remove("metadata");
        }
    }
    object
}

/// A line diff (longest common subsequence) with a little context.
pub fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let (n, k) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; k + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..k).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < k {
        if i < n && j < k && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if j < k && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            ops.push(('+', b[j]));
            j += 1;
        } else {
            ops.push(('-', a[i]));
            i += 1;
        }
    }
    let near = |x: usize| {
        ops[x.saturating_sub(3)..(x + 4).min(ops.len())]
            .iter()
            .any(|(op, _)| *op != ' ')
    };
    let mut out = String::from("--- expected\n+++ actual\n");
    let mut skipped = false;
    for (x, (op, line)) in ops.iter().enumerate() {
        if near(x) {
            if skipped {
                out.push_str("  ...\n");
                skipped = false;
            }
            let _ = writeln!(out, "{op} {}", line.replace('\r', "\\r"));
        } else {
            skipped = true;
        }
    }
    out
}

/// Split a stream where Kubernetes tooling does: at lines starting `---`.
pub fn documents(text: &str) -> Vec<&str> {
    let mut docs = Vec::new();
    let (mut start, mut pos) = (0, 0);
    for line in text.split_inclusive('\n') {
        if line.starts_with("---") && pos > start {
            docs.push(&text[start..pos]);
            start = pos;
        }
        pos += line.len();
    }
    docs.push(&text[start..]);
    docs
}
