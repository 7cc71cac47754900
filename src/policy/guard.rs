//! The plaintext-credential rules: every place a credential can sit in a pod
//! in clear text, judged by name and by value (`sensitivity`).
//!
//! - `sensitive-env-plain-value`: an env var's plain `value:`, after the
//!   kubelet's `$(VAR)` expansion (a sensitive variable fed from a plain one
//!   is plain; one fed from a Secret is not);
//! - `sensitive-config-map-value`: a ConfigMap key that reaches a container
//!   (`envFrom`, `configMapKeyRef`, a volume) with a secret name or value;
//! - `sensitive-command-value`: a flag or assignment with a secret name, or a
//!   credential, in `command`, `args`, exec handlers and exec probes;
//! - `secret-in-env`: under `guard.secretsAs: files` (CIS 5.4.1), a Secret
//!   read into an env var at all.
//!
//! Values are judged and dropped: a finding names the signal, the container
//! and the variable, never the value.

use std::collections::HashMap;

use crate::kube::inventory::{Index, Source, TargetKind};
use crate::kube::reference::{CommandWord, EnvSource, EnvVar, Reference, Via};
use crate::kube::workload::Workload;
use crate::policy::out::{At, Out};
use crate::policy::rule::Rule;
use crate::policy::sensitivity::{self, Feed, Names, SecretsAs, Signal};
use crate::trust::name::Name;

/// What a `$(VAR)` reference would read, per variable of a container.
enum Known {
    Text(String),
    /// From a Secret, a fieldRef, or a source we cannot read.
    Opaque,
}

pub(crate) fn check(out: &mut Out<'_>, index: &Index<'_>, names: &Names, guarded: &[&str]) {
    let w = out.w;
    let namespace = w.object.namespace.as_deref();
    let find = |r: &Reference| index.find(r.target, &r.name, namespace);
    // Containers in pod-spec order, each with its env and envFrom.
    let mut containers: Vec<&str> = Vec::new();
    for c in w
        .env
        .iter()
        .map(|v| v.container.as_str())
        .chain(w.refs.iter().filter_map(|r| r.container.as_deref()))
        .chain(w.commands.iter().map(|c| c.container.as_str()))
    {
        if !containers.contains(&c) {
            containers.push(c);
        }
    }
    for container in containers {
        let mut vars: HashMap<String, Known> = HashMap::new();
        // The kubelet sets envFrom first, then env, in order; `$(VAR)` sees
        // only what is set before it.
        for r in w
            .refs
            .iter()
            .filter(|r| r.container.as_deref() == Some(container))
        {
            let Via::EnvFrom { prefix } = &r.via else {
                continue;
            };
            let source = find(r);
            if r.target == TargetKind::ConfigMap {
                if let Some(cm) = source {
                    config_map_env_from(out, r, prefix, cm, names, guarded);
                }
            }
            let Some(source) = source else { continue };
            for (key, value) in &source.entries {
                let known = match (r.target, std::str::from_utf8(value)) {
                    (TargetKind::ConfigMap, Ok(text)) => Known::Text(text.to_string()),
                    _ => Known::Opaque,
                };
                vars.insert(format!("{prefix}{key}"), known);
            }
        }
        for v in w.env.iter().filter(|v| v.container == container) {
            file_into_config_map(out, v, names);
            let known = env_var(out, v, &vars, index, names, guarded);
            vars.insert(v.name.clone(), known);
        }
        let words: Vec<&CommandWord> = w
            .commands
            .iter()
            .filter(|c| c.container == container)
            .collect();
        commands(out, &words, &vars, names);
    }
    config_map_volumes(out, index, names);
    if out.policy.guard.secrets_as == SecretsAs::Files {
        secret_in_env(out);
    }
}

/// The signals that fire for `name` holding `text`; empty when none.
/// `opaque`: the text holds a reference the kubelet fills from a Secret or
/// something unseen, so the name alone does not make it plain.
/// A value without a name to read it by: only what it says of itself (a
/// known format, the policy's sensitiveValues).
fn judge_value(out: &Out<'_>, text: &str) -> Vec<Signal> {
    sensitivity::value_signal(text, &out.policy.sensitive_values, out.policy.guard.formats)
        .into_iter()
        .collect()
}

fn judge(names: &Names, out: &Out<'_>, name: &str, text: &str, opaque: bool) -> Vec<Signal> {
    let guard = &out.policy.guard;
    let mut signals = Vec::new();
    // `EXISTING_SECRET_KEY: DATABASE_PASSWORD` names a key; it is not one.
    let names_a_key = sensitivity::is_constant_name(text) && names.signal(text).is_some();
    let placeholder = opaque || names_a_key || sensitivity::is_placeholder(text);
    if !placeholder {
        if let Some(s) = names.signal(name) {
            signals.push(s);
        }
    }
    if let Some(s) = sensitivity::value_signal(text, &out.policy.sensitive_values, guard.formats) {
        signals.push(s);
    }
    if guard.entropy && !placeholder && signals.is_empty() && sensitivity::random_looking(text) {
        if let Some(k) = names.key_like(name) {
            signals.push(Signal::Entropy(k));
        }
    }
    signals
}

fn because(signals: &[Signal]) -> String {
    signals
        .iter()
        .map(Signal::describe)
        .collect::<Vec<_>>()
        .join(", and ")
}

const TO_SECRET: &str = "put the value in a Secret and read it with `valueFrom.secretKeyRef` (or mount the Secret as a file)";

fn env_var(
    out: &mut Out<'_>,
    v: &EnvVar,
    vars: &HashMap<String, Known>,
    index: &Index<'_>,
    names: &Names,
    guarded: &[&str],
) -> Known {
    let w = out.w;
    match &v.source {
        EnvSource::Plain(value) => {
            let e = sensitivity::expand(value, |name| match vars.get(name) {
                Some(Known::Text(t)) => Some(Feed::Text(t)),
                Some(Known::Opaque) => Some(Feed::Opaque),
                None => None,
            });
            // Guarded variables have their own, stricter rule.
            if !guarded.contains(&v.name.as_str()) {
                let signals = judge(names, out, &v.name, &e.text, e.opaque);
                if !signals.is_empty() {
                    let via = if e.plain.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " (through {}, {} plain value{})",
                            e.plain
                                .iter()
                                .map(|p| format!("$({})", Name(p)))
                                .collect::<Vec<_>>()
                                .join(", "),
                            if e.plain.len() == 1 { "a" } else { "each" },
                            if e.plain.len() == 1 { "" } else { "s" }
                        )
                    };
                    out.rule(
                        Rule::SensitiveEnvPlainValue,
                        At::env(w, v),
                        Some(&v.container),
                        Some(&v.name),
                        format!(
                            "{} is a plain value{via}: {}; anyone who can read the workload can read it",
                            env_var_in(w, v),
                            because(&signals)
                        ),
                        TO_SECRET.into(),
                    );
                }
            }
            if e.opaque {
                Known::Opaque
            } else {
                Known::Text(e.text)
            }
        }
        EnvSource::ConfigMapKeyRef => {
            let r = w.refs.iter().find(|r| {
                r.target == TargetKind::ConfigMap
                    && r.container.as_deref() == Some(v.container.as_str())
                    && matches!(&r.via, Via::Env { var } if *var == v.name)
            });
            let Some(r) = r else { return Known::Opaque };
            let cm = index.find(r.target, &r.name, w.object.namespace.as_deref());
            let key = r.key.as_deref().unwrap_or("");
            let value = cm.and_then(|cm| cm.entries.get(key));
            let text = value.and_then(|b| std::str::from_utf8(b).ok());
            if !guarded.contains(&v.name.as_str()) {
                // Unseen ConfigMap: the name alone says a secret sits in it.
                let signals = match text {
                    Some(t) => judge(names, out, &v.name, t, false),
                    None => names.signal(&v.name).into_iter().collect(),
                };
                if !signals.is_empty() {
                    out.rule(
                        Rule::SensitiveConfigMapValue,
                        At::reference(w, r),
                        Some(&v.container),
                        Some(&v.name),
                        format!(
                            "{} reads key `{}` of ConfigMap {}: {}; ConfigMaps are not secret",
                            env_var_in(w, v),
                            Name(key),
                            Name(&r.name),
                            because(&signals)
                        ),
                        format!("move `{}` from ConfigMap {} to a Secret and read it with `valueFrom.secretKeyRef`", Name(key), Name(&r.name)),
                    );
                }
            }
            text.map_or(Known::Opaque, |t| Known::Text(t.to_string()))
        }
        EnvSource::SecretKeyRef
        | EnvSource::FieldRef
        | EnvSource::ResourceFieldRef
        | EnvSource::Other => Known::Opaque,
    }
}

/// `VAR in Kind/name (container c)`: how a finding names an env var, with
/// every name from the stream shown as a checked name.
fn env_var_in(w: &Workload, v: &EnvVar) -> String {
    format!(
        "{} in {} (container {})",
        Name(&v.name),
        w.object.display(),
        Name(&v.container)
    )
}

/// Every key an `envFrom` ConfigMap hands the container.
fn config_map_env_from(
    out: &mut Out<'_>,
    r: &Reference,
    prefix: &str,
    cm: &Source,
    names: &Names,
    guarded: &[&str],
) {
    let w = out.w;
    let container = r.container.as_deref().unwrap_or("?");
    for (key, value) in &cm.entries {
        let name = format!("{prefix}{key}");
        // Guarded variables have their own, stricter rule (an error).
        if guarded.contains(&name.as_str()) {
            continue;
        }
        let Ok(text) = std::str::from_utf8(value) else {
            continue;
        };
        let signals = match named_value(key) {
            Some(_) => judge(names, out, &name, text, false),
            None => judge_value(out, text),
        };
        if signals.is_empty() {
            continue;
        }
        out.rule(
            Rule::SensitiveConfigMapValue,
            At::reference(w, r),
            Some(container),
            Some(&name),
            format!(
                "ConfigMap {} hands {} to {} (container {}) by envFrom: {}; ConfigMaps are not secret",
                Name(&r.name),
                Name(&name),
                w.object.display(),
                Name(container),
                because(&signals)
            ),
            format!(
                "move `{}` from ConfigMap {} to a Secret and add it with `envFrom.secretRef` or `valueFrom.secretKeyRef`",
                Name(key),
                Name(&r.name)
            ),
        );
    }
}

/// File extensions of configuration files: a ConfigMap key named
/// `auth.conf` or `oauth2-proxy.cfg` is judged by its content, not its name.
const CONFIG_EXTENSIONS: &[&str] = &[
    "conf",
    "cfg",
    "ini",
    "yaml",
    "yml",
    "json",
    "toml",
    "properties",
    "xml",
    "sh",
    "py",
    "js",
    "lua",
    "tpl",
    "env",
];

/// The part of a ConfigMap key that names its value (`db-password.txt` →
/// `db-password`), or `None` for a configuration file (`auth.conf`), which
/// is judged by its content alone.
fn named_value(key: &str) -> Option<&str> {
    match key.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => {
            (!CONFIG_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())).then_some(stem)
        }
        _ => Some(key),
    }
}

/// Keys of ConfigMaps mounted as volumes: a key named like a secret, or
/// content holding a known credential.
fn config_map_volumes(out: &mut Out<'_>, index: &Index<'_>, names: &Names) {
    let w = out.w;
    for r in &w.refs {
        if r.target != TargetKind::ConfigMap
            || !matches!(r.via, Via::Volume { .. } | Via::Projected { .. })
        {
            continue;
        }
        let Some(cm) = index.find(r.target, &r.name, w.object.namespace.as_deref()) else {
            continue;
        };
        for (key, value) in &cm.entries {
            if r.key.as_deref().is_some_and(|k| k != key) {
                continue;
            }
            let Ok(text) = std::str::from_utf8(value) else {
                continue;
            };
            let mut signals = Vec::new();
            if let Some(stem) = named_value(key).filter(|_| !sensitivity::is_placeholder(text)) {
                signals.extend(names.signal(stem));
            }
            signals.extend(sensitivity::value_signal(
                text,
                &out.policy.sensitive_values,
                out.policy.guard.formats,
            ));
            if signals.is_empty() {
                continue;
            }
            out.rule(
                Rule::SensitiveConfigMapValue,
                At::reference(w, r),
                None,
                None,
                    format!(
                    "key `{}` of ConfigMap {} is mounted into {} ({}): {}; ConfigMaps are not secret",
                    Name(key),
                    Name(&r.name),
                    w.object.display(),
                    r.via.describe(),
                    because(&signals)
                ),
                format!(
                    "move `{}` to a Secret and mount that Secret instead (`volumes[].secret`)",
                    Name(key)
                ),
            );
        }
    }
}

/// Command lines: `--name=value`, `--name value` and `NAME=value` words
/// whose name is secret, and any word with a credential in it.
fn commands(
    out: &mut Out<'_>,
    words: &[&CommandWord],
    vars: &HashMap<String, Known>,
    names: &Names,
) {
    let w = out.w;
    // (item, shell word): a list item may hold a whole shell line.
    let mut split: Vec<(usize, String, bool)> = Vec::new();
    let mut reported = vec![false; words.len()];
    for (i, c) in words.iter().enumerate() {
        // A flag's value is in the same list: `--flag` at the end of
        // `command` does not take its value from `args`.
        if i > 0 && words[i - 1].field != c.field {
            split.push((i, String::new(), false));
        }
        let (text, opaque) = if c.field.expands() {
            let e = sensitivity::expand(&c.text, |name| match vars.get(name) {
                Some(Known::Text(t)) => Some(Feed::Text(t)),
                Some(Known::Opaque) => Some(Feed::Opaque),
                None => None,
            });
            (e.text, e.opaque)
        } else {
            (c.text.clone(), false)
        };
        for word in text.split(|ch: char| ch.is_whitespace() || matches!(ch, ';' | '&' | '|')) {
            let word = word.trim_matches(|ch| matches!(ch, '"' | '\'' | '`'));
            if !word.is_empty() {
                split.push((i, word.to_string(), opaque));
            }
        }
    }
    for (n, (i, word, opaque)) in split.iter().enumerate() {
        if reported[*i] || word.is_empty() {
            continue;
        }
        let c = words[*i];
        let (name, value) = if let Some((name, value)) = assignment(word) {
            (Some(name), value)
        } else if let Some(flag) = word.strip_prefix("--").filter(|f| !f.is_empty()) {
            match split.get(n + 1) {
                Some((_, next, _)) if !next.is_empty() && !next.starts_with('-') => {
                    (Some(flag), next.as_str())
                }
                _ => (None, word.as_str()),
            }
        } else {
            (None, word.as_str())
        };
        let value = value.trim_matches(|ch| matches!(ch, '"' | '\''));
        // In a shell line, `$…` is the shell's: a variable or a command
        // substitution, read at run time, not a value written here.
        let shell = value.starts_with('$');
        let signals = match name {
            Some(name) => judge(names, out, name, value, *opaque || shell),
            None => judge_value(out, value),
        };
        if signals.is_empty() {
            continue;
        }
        reported[*i] = true;
        // The flag or variable as written, without its value.
        let shown = name.map(|_| word.split('=').next().unwrap_or(word).to_string());
        let what = match &shown {
            Some(n) => format!("`{}`", Name(n)),
            None => "a word".to_string(),
        };
        out.rule(
            Rule::SensitiveCommandValue,
            At {
                span: c.span,
                path: Some(w.in_pod_spec(&c.path())),
            },
            Some(&c.container),
            shown.as_deref(),
            format!(
                "{what} in {} of {} (container {}) carries a plain value: {}; anyone who can read the workload (or the process list) can read it",
                c.field.path(),
                w.object.display(),
                Name(&c.container),
                because(&signals)
            ),
            "read it from a file the program is given (a mounted Secret), or from an env var set with `valueFrom.secretKeyRef` and passed as `$(VAR)`".into(),
        );
    }
}

/// `--name=value`, `-name=value` or `NAME=value` (a shell assignment).
fn assignment(word: &str) -> Option<(&str, &str)> {
    let (name, value) = word.split_once('=')?;
    let bare = name.trim_start_matches('-');
    let ok = !bare.is_empty()
        && bare
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bare
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    ok.then_some((bare, value))
}

/// The Secret or ConfigMap volume a container sees at `path`: a mount
/// whose path is `path` or a directory above it.
pub(crate) fn mounted_from<'w>(
    w: &'w Workload,
    container: &str,
    path: &str,
) -> Option<&'w Reference> {
    let m = w
        .mounts
        .iter()
        .filter(|m| m.container == container)
        .find(|m| {
            let dir = m.mount_path.trim_end_matches('/');
            path == dir
                || path
                    .strip_prefix(dir)
                    .is_some_and(|rest| rest.starts_with('/'))
        })?;
    w.refs.iter().find(|r| {
        matches!(&r.via, Via::Volume { volume } | Via::Projected { volume } if *volume == m.volume)
    })
}

/// `DB_PASSWORD_FILE` pointing into a mounted ConfigMap: the secret is a
/// file of a ConfigMap.
fn file_into_config_map(out: &mut Out<'_>, v: &EnvVar, names: &Names) {
    let w = out.w;
    let EnvSource::Plain(path) = &v.source else {
        return;
    };
    let Some(stem) = v.name.strip_suffix("_FILE") else {
        return;
    };
    let Some(signal) = names.signal(stem) else {
        return;
    };
    let Some(r) = mounted_from(w, &v.container, path).filter(|r| r.target == TargetKind::ConfigMap)
    else {
        return;
    };
    out.rule(
        Rule::SensitiveConfigMapValue,
        At::env(w, v),
        Some(&v.container),
        Some(&v.name),
        format!(
            "{} points into ConfigMap {} ({}): {} for {}; ConfigMaps are not secret",
            env_var_in(w, v),
            Name(&r.name),
            r.via.describe(),
            signal.describe(),
            Name(stem)
        ),
        format!(
            "mount a Secret at that path instead of ConfigMap {}",
            Name(&r.name)
        ),
    );
}

/// CIS 5.4.1: "Prefer using Secrets as files over Secrets as environment
/// variables"; reported only when the policy asks for files.
fn secret_in_env(out: &mut Out<'_>) {
    let w = out.w;
    for r in &w.refs {
        if r.target != TargetKind::Secret {
            continue;
        }
        let (what, var) = match &r.via {
            Via::Env { var } => (
                format!("{} reads Secret {}", Name(var), Name(&r.name)),
                Some(var.as_str()),
            ),
            Via::EnvFrom { .. } => (
                format!("envFrom reads all of Secret {}", Name(&r.name)),
                None,
            ),
            Via::Volume { .. } | Via::Projected { .. } => continue,
        };
        out.rule(
            Rule::SecretInEnv,
            At::reference(w, r),
            r.container.as_deref(),
            var,
            format!(
                "{what} into env vars of {} (container {}); the policy keeps Secrets in files (guard.secretsAs: files, CIS Kubernetes Benchmark 5.4.1)",
                w.object.display(),
                Name(r.container.as_deref().unwrap_or("?"))
            ),
            "mount the Secret as a volume and point the program at the file (often a `*_FILE` variable)".into(),
        );
    }
}
