//! Secrets and ConfigMaps that live outside the render: files given with
//! `--secrets-from` (a GitOps directory, a kubectl-made Secret, a sealed or
//! SOPS-encrypted file). They are read like the stream's own sources, so a
//! pod that reads one is stamped with its digest and rolls when it changes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::kube::inventory::{self, ContentError, Origin, Source, TargetKind};
use crate::kube::plan::{plan, Plan, Referenced};
use crate::yaml::stream::{self, ParseError};

/// A `--secrets-from` path we cannot use. Every variant names the file.
/// The message holds the cause, so no variant also returns it as a source:
/// a chain printed with `{:#}` would say it twice.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("--secrets-from {path}: no such file or directory")]
    Missing { path: String },
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{path}: not UTF-8 (invalid byte at offset {offset})")]
    NotUtf8 { path: String, offset: usize },
    #[error("{path}: {error}")]
    Parse {
        path: String,
        error: Box<ParseError>,
    },
    #[error("{path}:{}: {error}", .error.span.line)]
    Content {
        path: String,
        error: Box<ContentError>,
    },
    #[error(
        "{first} and {second} both give {what} with different content; \
         keep one of them (or pass only one with --secrets-from)"
    )]
    Conflict {
        what: String,
        first: String,
        second: String,
    },
}

/// The files under `paths`: a file as given, a directory walked for
/// `*.yaml`, `*.yml` and `*.json` (hidden entries skipped, as `.git` should
/// be; FIFOs, sockets and devices skipped; links followed only inside the
/// directory), each file once, in a stable order.
pub fn files(paths: &[PathBuf]) -> Result<Vec<(PathBuf, String)>, FileError> {
    let mut out = Vec::new();
    for path in paths {
        let shown = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => FileError::Missing {
                path: shown.clone(),
            },
            _ => FileError::Io {
                path: shown.clone(),
                error: source,
            },
        })?;
        if !meta.is_dir() {
            out.push((path.clone(), shown));
            continue;
        }
        // Regular files only, links followed only inside the directory.
        let walk = crate::trust::regular::walk(path, |e| {
            !e.file_name().to_string_lossy().starts_with('.')
        });
        for entry in walk {
            let entry = entry.map_err(|e| FileError::Io {
                path: e
                    .path()
                    .map_or_else(|| shown.clone(), |p| walked(path, &shown, p)),
                error: e.into(),
            })?;
            if is_manifest(&entry) {
                let name = walked(path, &shown, &entry);
                out.push((entry, name));
            }
        }
    }
    // A file reached twice (a directory and a file in it) is read once.
    let mut seen = std::collections::HashSet::new();
    out.retain(|(p, _)| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    Ok(out)
}

/// How a message names a file found under the directory `root` (shown as
/// `root_shown`): the operator named the directory, so it is shown as
/// given; the names below it are the directory's, so each is shown as a
/// checked name (a file name may hold a line break or an escape).
fn walked(root: &Path, root_shown: &str, path: &Path) -> String {
    let below = path.strip_prefix(root).unwrap_or(path);
    let mut out = root_shown.trim_end_matches('/').to_string();
    for part in below.iter() {
        out.push('/');
        out.push_str(&crate::trust::name::shown(&part.to_string_lossy()));
    }
    out
}

fn is_manifest(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "yaml" | "yml" | "json"))
}

/// What the `--secrets-from` files hold: the sources read from them, and
/// the plain ConfigMaps set aside unread until a stream's pods name them
/// (a GitOps directory can hold many, some large). Documents that give no
/// source at all (workloads, HelmReleases, Kustomizations, CRDs) are known
/// by their sniffed kind and never parsed.
#[derive(Clone, Default)]
pub struct Files {
    sources: Vec<Source>,
    later: Vec<SetAside>,
    release_namespace: Option<String>,
}

/// A ConfigMap of a file, not yet read.
#[derive(Clone)]
struct SetAside {
    path: Arc<str>,
    text: Arc<str>,
    doc: stream::Document,
}

/// Counts only: set-aside text is never shown.
impl std::fmt::Debug for Files {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Files")
            .field("sources", &self.sources)
            .field("set_aside", &self.later.len())
            .finish()
    }
}

/// Each object once: two files that give the same object the same content
/// agree, different content is refused.
#[derive(Default)]
struct Seen(HashMap<(TargetKind, String, Option<String>), usize>);

impl Seen {
    /// Whether `s` is new; an error if it contradicts `known[i]`.
    fn add(
        &mut self,
        known: &[Source],
        s: &Source,
        release_namespace: Option<&str>,
    ) -> Result<bool, FileError> {
        let ns = s
            .object
            .namespace
            .clone()
            .or_else(|| release_namespace.map(str::to_string));
        let id = (s.target, s.name.clone(), ns);
        match self.0.get(&id) {
            Some(&i) if known[i].same_content(s) => Ok(false),
            Some(&i) => Err(FileError::Conflict {
                what: s.identity(),
                first: known[i].origin.to_string(),
                second: s.origin.to_string(),
            }),
            None => {
                self.0.insert(id, known.len());
                Ok(true)
            }
        }
    }
}

impl Files {
    /// The sources read from the files, each object once.
    pub(crate) fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// The set-aside ConfigMaps that `referenced` may name, read now; those
    /// that are the same object as one of [`Files::sources`] must agree
    /// with it.
    pub(crate) fn named(&self, referenced: &Referenced<'_>) -> Result<Vec<Source>, FileError> {
        let per_doc: Vec<Result<Vec<Source>, FileError>> = self
            .later
            .par_iter()
            .filter(|l| referenced.may_name(&l.text, &l.doc))
            .map(|l| read_document(&l.path, &l.text, l.doc.clone()))
            .collect();
        if per_doc.is_empty() {
            return Ok(Vec::new());
        }
        let ns = self.release_namespace.as_deref();
        let mut seen = Seen::default();
        let mut known = self.sources.clone();
        for i in 0..known.len() {
            seen.add(&known[..i], &known[i], ns)?;
        }
        let first_new = known.len();
        for sources in per_doc {
            for s in sources? {
                if seen.add(&known, &s, ns)? {
                    known.push(s);
                }
            }
        }
        Ok(known.split_off(first_new))
    }

    /// More files' sources, below these (a policy's `secretsFrom:` read by
    /// a function config).
    pub(crate) fn extend(&mut self, more: Files) {
        self.sources.extend(more.sources);
        self.later.extend(more.later);
    }

    #[cfg(test)]
    pub(crate) fn from_sources(sources: Vec<Source>) -> Files {
        Files {
            sources,
            ..Files::default()
        }
    }
}

/// Read the files under `paths`: every Secret and ConfigMap (and the
/// objects that produce Secrets) they hold, ConfigMaps set aside until
/// asked for; objects of other kinds are skipped quietly. Two files that
/// give the same object different content are refused: which one is
/// applied is not ours to guess.
pub fn read(paths: &[PathBuf], release_namespace: Option<&str>) -> Result<Files, FileError> {
    let files = files(paths)?;
    let per_file: Vec<Result<FileContents, FileError>> = files
        .par_iter()
        .map(|(p, shown)| read_file(p, shown))
        .collect();
    let mut out = Files {
        release_namespace: release_namespace.map(str::to_string),
        ..Files::default()
    };
    let mut seen = Seen::default();
    for r in per_file {
        let (sources, later) = r?;
        for s in sources {
            if seen.add(&out.sources, &s, release_namespace)? {
                out.sources.push(s);
            }
        }
        out.later.extend(later);
    }
    Ok(out)
}

/// A file's sources, and its ConfigMaps set aside.
type FileContents = (Vec<Source>, Vec<SetAside>);

fn read_file(path: &Path, shown: &str) -> Result<FileContents, FileError> {
    let shown = shown.to_string();
    let bytes = crate::trust::regular::read(path).map_err(|source| FileError::Io {
        path: shown.clone(),
        error: source,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| FileError::NotUtf8 {
        path: shown.clone(),
        offset: e.utf8_error().valid_up_to(),
    })?;
    let mut sources = Vec::new();
    let mut later = Vec::new();
    let mut shared: Option<(Arc<str>, Arc<str>)> = None;
    for doc in stream::split(&text) {
        match plan(&text, &doc, None) {
            Plan::Skip => {}
            Plan::Parse => sources.extend(read_document(&shown, &text, doc)?),
            Plan::Later => {
                let (path, text) =
                    shared.get_or_insert_with(|| (Arc::from(shown.as_str()), Arc::from(&*text)));
                later.push(SetAside {
                    path: path.clone(),
                    text: text.clone(),
                    doc,
                });
            }
        }
    }
    Ok((sources, later))
}

/// The sources of one document of a file, with the file as their origin.
fn read_document(path: &str, text: &str, doc: stream::Document) -> Result<Vec<Source>, FileError> {
    let parsed = stream::parse_one(text, doc).map_err(|source| FileError::Parse {
        path: path.to_string(),
        error: Box::new(source),
    })?;
    // Findings about a file's objects name the file, never a chart
    // template's document: no numbering.
    let numbers = crate::kube::place::TemplateNumbers::default();
    let objects = inventory::objects(std::slice::from_ref(&parsed), &numbers);
    let mut sources = inventory::sources(&objects).map_err(|source| FileError::Content {
        path: path.to_string(),
        error: Box::new(source),
    })?;
    for s in &mut sources {
        s.origin = Origin::File {
            path: path.to_string(),
            line: s.object.at.span.line,
        };
    }
    Ok(sources)
}
