//! Reading what a path names, when the path may not be what it claims.
//!
//! Every file secret-rollout reads (a manifest, a `--secrets-from` file, a
//! policy, a digest key, a plugin config) must be a regular file: a FIFO
//! would block the read forever, a device such as `/dev/zero` never ends,
//! and a socket or directory is no file at all. The path is looked at
//! before it is opened, opened without blocking (`O_NONBLOCK`: opening a
//! FIFO otherwise waits for a writer), and what was opened is looked at
//! again, so a FIFO swapped in between the two cannot hang the run.
//!
//! Directory walks skip such entries, and follow a symbolic link only when
//! it leads to somewhere inside the directory being walked ([`inside`]).

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// What a path is, when it is not a regular file.
fn not_regular(meta: &Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    if t.is_file() {
        None
    } else if t.is_dir() {
        Some("a directory")
    } else if t.is_fifo() {
        Some("a FIFO")
    } else if t.is_socket() {
        Some("a socket")
    } else if t.is_char_device() {
        Some("a character device")
    } else if t.is_block_device() {
        Some("a block device")
    } else {
        Some("not a regular file")
    }
}

fn refuse(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{what}, not a regular file; only regular files are read"),
    )
}

/// Open `path` for reading if it is a regular file (links followed).
pub fn open(path: &Path) -> io::Result<File> {
    if let Some(what) = not_regular(&std::fs::metadata(path)?) {
        return Err(refuse(what));
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    // The path may name something else by now: judge what was opened.
    if let Some(what) = not_regular(&file.metadata()?) {
        return Err(refuse(what));
    }
    Ok(file)
}

/// The bytes of the regular file `path` names (see [`open`]).
pub fn read(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = open(path)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The text of the regular file `path` names, which must be UTF-8.
pub fn read_to_string(path: &Path) -> io::Result<String> {
    String::from_utf8(read(path)?).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// For a directory walk from `root`: whether `path` (reached through the
/// walk) is still inside `root` once every link is resolved. A path that
/// cannot be resolved (a dangling link) counts as inside, so that reading
/// it fails and names it.
pub fn inside(root: &Path, path: &Path) -> bool {
    match (std::fs::canonicalize(root), std::fs::canonicalize(path)) {
        (Ok(root), Ok(path)) => path.starts_with(root),
        _ => true,
    }
}

/// A walk of `root` for regular files: links are followed only inside it
/// ([`inside`]), and FIFOs, sockets and devices are left out. `keep`
/// filters entries before they are descended into (hidden ones, say).
pub fn walk(
    root: &Path,
    keep: impl Fn(&walkdir::DirEntry) -> bool,
) -> impl Iterator<Item = walkdir::Result<PathBuf>> {
    let top = root.to_path_buf();
    walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(move |e| {
            e.depth() == 0 || (keep(e) && (!e.path_is_symlink() || inside(&top, e.path())))
        })
        .filter_map(|entry| match entry {
            Ok(e) if e.file_type().is_file() => Some(Ok(e.into_path())),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_directories_are_refused() {
        for (path, what) in [("/dev/zero", "a character device"), ("/", "a directory")] {
            let e = read(Path::new(path)).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
            assert!(e.to_string().starts_with(what), "{path}: {e}");
        }
    }
}
