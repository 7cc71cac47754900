//! Secrets and ConfigMaps that live outside the render: files given with
//! `--secrets-from` (a GitOps directory, a kubectl-made Secret, a sealed or
//! SOPS-encrypted file). They are read like the stream's own sources, so a
//! pod that reads one is stamped with its digest and rolls when it changes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::inventory::{self, ContentError, Origin, Source, TargetKind};
use crate::stream::{self, ParseError};

/// A `--secrets-from` path we cannot use. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("--secrets-from {path}: no such file or directory")]
    Missing { path: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not UTF-8 (invalid byte at offset {offset})")]
    NotUtf8 { path: String, offset: usize },
    #[error("{path}: {source}")]
    Parse {
        path: String,
        #[source]
        source: ParseError,
    },
    #[error("{path}:{}: {source}", .source.span.line)]
    Content {
        path: String,
        #[source]
        source: Box<ContentError>,
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
/// be), each file once, in a stable order.
pub fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, FileError> {
    let mut out = Vec::new();
    for path in paths {
        let shown = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => FileError::Missing {
                path: shown.clone(),
            },
            _ => FileError::Io {
                path: shown.clone(),
                source,
            },
        })?;
        if !meta.is_dir() {
            out.push(path.clone());
            continue;
        }
        let walk = walkdir::WalkDir::new(path)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
        for entry in walk {
            let entry = entry.map_err(|e| FileError::Io {
                path: e
                    .path()
                    .map_or_else(|| shown.clone(), |p| p.display().to_string()),
                source: e.into(),
            })?;
            if entry.file_type().is_file() && is_manifest(entry.path()) {
                out.push(entry.into_path());
            }
        }
    }
    // A file reached twice (a directory and a file in it) is read once.
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    Ok(out)
}

fn is_manifest(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "yaml" | "yml" | "json"))
}

/// Read every Secret and ConfigMap (and the objects that produce them) the
/// files under `paths` hold; objects of other kinds are skipped quietly. Two
/// files that give the same object different content are refused: which
/// one is applied is not ours to guess.
pub fn read(paths: &[PathBuf], release_namespace: Option<&str>) -> Result<Vec<Source>, FileError> {
    let files = files(paths)?;
    let per_file: Vec<Result<Vec<Source>, FileError>> =
        files.par_iter().map(|p| read_file(p)).collect();
    let mut out: Vec<Source> = Vec::new();
    let mut by_id: HashMap<(TargetKind, String, Option<String>), usize> = HashMap::new();
    for sources in per_file {
        for s in sources? {
            let ns = s
                .object
                .namespace
                .clone()
                .or_else(|| release_namespace.map(str::to_string));
            let id = (s.target, s.name.clone(), ns);
            match by_id.get(&id) {
                Some(&i) if out[i].same_content(&s) => {}
                Some(&i) => {
                    return Err(FileError::Conflict {
                        what: s.identity(),
                        first: out[i].origin.to_string(),
                        second: s.origin.to_string(),
                    })
                }
                None => {
                    by_id.insert(id, out.len());
                    out.push(s);
                }
            }
        }
    }
    Ok(out)
}

fn read_file(path: &Path) -> Result<Vec<Source>, FileError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| FileError::Io {
        path: shown.clone(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| FileError::NotUtf8 {
        path: shown.clone(),
        offset: e.utf8_error().valid_up_to(),
    })?;
    let docs = stream::parse_each(&text, &|parsed| -> Result<_, ParseError> {
        let objects = inventory::objects(std::slice::from_ref(&parsed));
        Ok(inventory::sources(&objects))
    })
    .map_err(|source| FileError::Parse {
        path: shown.clone(),
        source,
    })?;
    let mut out = Vec::new();
    for sources in docs {
        let sources = sources.map_err(|source| FileError::Content {
            path: shown.clone(),
            source: Box::new(source),
        })?;
        for mut s in sources {
            s.origin = Origin::File {
                path: shown.clone(),
                line: s.object.span.line,
            };
            out.push(s);
        }
    }
    Ok(out)
}
