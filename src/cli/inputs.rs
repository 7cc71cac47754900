//! Reading manifests: stdin, files, and directories walked for YAML files.

use std::fs::File;
use std::io::{ErrorKind, IsTerminal, Read, Seek, SeekFrom};
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rayon::prelude::*;

use secret_rollout::Input;

/// Where manifests come from: stdin, or files and directories as given
/// (directories are walked by [`each`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inputs {
    Stdin,
    Paths(Vec<PathBuf>),
}

impl Inputs {
    pub fn new(paths: Vec<PathBuf>) -> Self {
        if paths.is_empty() {
            Inputs::Stdin
        } else {
            Inputs::Paths(paths)
        }
    }
}

/// The name findings use for standard input.
pub use secret_rollout::report::STDIN;

/// Standard input as Go reads it (see [`Input`]): what `render` edits and
/// writes back in the input's own encoding.
pub fn stdin() -> Result<Input> {
    if std::io::stdin().is_terminal() {
        // Otherwise a person who forgot the pipe waits on a silent prompt.
        eprintln!(
            "secret-rollout: reading manifests from standard input (pipe a render in, \
             e.g. `helm template … | secret-rollout check`; Ctrl-D ends the input)"
        );
    }
    let bytes = read_stdin_bytes().context("reading stdin")?;
    Input::from_bytes(bytes).map_err(|e| anyhow::anyhow!("{STDIN}: {e}"))
}

/// All of standard input in one buffer, each byte written once.
fn read_stdin_bytes() -> std::io::Result<Vec<u8>> {
    // A descriptor of our own for the open file that stdin is. Nothing has
    // read stdin before us, so Rust's buffer in front of it is empty.
    match std::io::stdin().as_fd().try_clone_to_owned() {
        Ok(fd) => read_all(File::from(fd)),
        // A closed stdin reads as empty, as `Stdin` has it.
        Err(e) if e.raw_os_error() == Some(libc::EBADF) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The rest of `file` (a regular file from its position on, or a pipe),
/// leaving its position at the end, as `read_to_end` does.
fn read_all(mut file: File) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let meta = file.metadata()?;
    if meta.is_file() {
        let pos = file.stream_position()?;
        let size = meta.len().saturating_sub(pos);
        buf = read_regular(&file, pos, usize::try_from(size).unwrap_or(usize::MAX))?;
        file.seek(SeekFrom::Start(pos + buf.len() as u64))?;
    }
    // The rest: of a pipe (how Helm calls us), all of it, in a buffer that
    // doubles as it fills (glibc moves a large buffer's pages to grow it,
    // without copying them); of a file, nothing, which a probe on the stack
    // sees, or what was added to it since its size was read.
    file.read_to_end(&mut buf)?;
    Ok(buf)
}

/// How much of a file each task of [`read_regular`] reads.
const PIECE: usize = 8 << 20;

/// The `size` bytes of a regular file from `pos` on, as its size was read,
/// in one buffer of that size: the pieces are read in parallel, so the
/// pages of the buffer are faulted in (and cleared by the kernel) on every
/// core at once. A file that shrank meanwhile is read again in one go.
fn read_regular(mut file: &File, pos: u64, size: usize) -> std::io::Result<Vec<u8>> {
    // calloc: fresh pages, untouched until a read writes them.
    let mut buf = vec![0; size];
    #[cfg(target_os = "linux")]
    huge_pages(&mut buf);
    let read = buf
        .par_chunks_mut(PIECE)
        .enumerate()
        .try_for_each(|(n, piece)| file.read_exact_at(piece, pos + (n * PIECE) as u64));
    match read {
        Ok(()) => Ok(buf),
        Err(e) if e.kind() == ErrorKind::UnexpectedEof => {
            let mut buf = Vec::new();
            file.seek(SeekFrom::Start(pos))?;
            file.read_to_end(&mut buf)?;
            Ok(buf)
        }
        Err(e) => Err(e),
    }
}

/// Ask for huge pages behind a large buffer: the kernel then clears and
/// maps it 2 MiB at a time, not 4 KiB (reading a 50 MB stream into fresh
/// memory is mostly page faults: this halved the read). A hint only: where
/// transparent huge pages are off, nothing changes. Only for a buffer of
/// the exact size: in one that doubles, the huge page at the end of what
/// was read would be memory nothing uses.
#[cfg(target_os = "linux")]
fn huge_pages(buf: &mut [u8]) {
    const HUGE: usize = 2 << 20;
    if buf.len() < 2 * HUGE {
        return;
    }
    // madvise takes whole pages: those inside the buffer.
    // SAFETY: sysconf only reads a constant of the system.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    let start = (buf.as_mut_ptr() as usize).next_multiple_of(page);
    let end = (buf.as_mut_ptr() as usize + buf.len()) / page * page;
    // SAFETY: the range lies within memory this buffer owns; the advice
    // changes how it is mapped, never what it holds.
    unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
}

/// Standard input as text Go would read.
pub fn read_stdin() -> Result<String> {
    Ok(stdin()?.into_text())
}

/// A manifest file as text Go would read (UTF-16 with a byte order mark;
/// a byte that is not UTF-8 as U+FFFD): for reading, never for writing back.
pub fn read_file(path: &Path) -> Result<String> {
    let bytes = secret_rollout::trust::regular::read(path)
        .with_context(|| format!("reading {}", path.display()))?;
    let input = Input::from_bytes(bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(input.into_text())
}

/// A file we may edit in place: UTF-8 only, so every byte we do not edit is
/// written back as it was.
pub fn read_utf8_file(path: &Path) -> Result<String> {
    let bytes = secret_rollout::trust::regular::read(path)
        .with_context(|| format!("reading {}", path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{}: input is not UTF-8 (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// The files named: files as given (each must be a regular file, which
/// reading checks), directories walked for `*.yaml`/`*.yml` regular files
/// in sorted order: FIFOs, sockets and devices are skipped, and links are
/// followed only to places inside the directory.
fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if !p.is_dir() {
            out.push(p.clone());
            continue;
        }
        for entry in secret_rollout::trust::regular::walk(p, |_| true) {
            let path = entry.with_context(|| format!("reading directory {}", p.display()))?;
            if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(path);
            }
        }
    }
    Ok(out)
}

/// Run `f(name, text)` over every input in parallel, keeping input order.
/// Returns the results and one message per input that could not be read or
/// parsed; an error only when there is nothing to read at all.
pub fn each<T: Send>(
    inputs: &Inputs,
    f: impl Fn(&str, &str) -> Result<T> + Sync,
) -> Result<(Vec<T>, Vec<String>)> {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for r in each_in_order(inputs, f)? {
        match r {
            Ok(v) => ok.push(v),
            Err(e) => bad.push(error_line(&e)),
        }
    }
    Ok((ok, bad))
}

/// The line an input that could not be read or parsed gets on stderr.
pub fn error_line(e: &anyhow::Error) -> String {
    format!("secret-rollout: error: {e:#}")
}

/// [`each`]'s results, each input's in its place.
pub fn each_in_order<T: Send>(
    inputs: &Inputs,
    f: impl Fn(&str, &str) -> Result<T> + Sync,
) -> Result<Vec<Result<T>>> {
    Ok(match inputs {
        Inputs::Stdin => vec![f(STDIN, &read_stdin()?)],
        Inputs::Paths(paths) => {
            let files = files(paths)?;
            anyhow::ensure!(
                !files.is_empty(),
                "no *.yaml or *.yml files under the given paths"
            );
            files
                .par_iter()
                .map(|p| {
                    let name = p.display().to_string();
                    read_file(p).and_then(|text| f(&name, &text))
                })
                .collect()
        }
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn temp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!(
            "secret-rollout-inputs-{name}-{}",
            std::process::id()
        ))
    }

    #[test]
    fn a_file_is_read_from_its_position_to_its_end_in_pieces() {
        let path = temp("file");
        // Pieces and a last one cut short; no byte in the same place twice.
        let bytes: Vec<u8> = (0..2 * PIECE + 12_345).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        for pos in [0, 1, PIECE as u64 + 7] {
            let mut file = File::open(&path).unwrap();
            file.seek(SeekFrom::Start(pos)).unwrap();
            let mut shared = file.try_clone().unwrap();
            assert!(read_all(file).unwrap() == bytes[pos as usize..], "{pos}");
            assert_eq!(shared.stream_position().unwrap(), bytes.len() as u64);
        }
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_file_that_changed_size_since_its_size_was_read_is_read_as_it_is() {
        let path = temp("changed");
        std::fs::write(&path, b"0123456789").unwrap();
        let file = File::open(&path).unwrap();
        // Shorter than the size given: read again in one go.
        assert_eq!(read_regular(&file, 2, 20).unwrap(), b"23456789");
        // Grown: the rest comes after the size given.
        let mut file = File::open(&path).unwrap();
        let mut buf = read_regular(&file, 0, 4).unwrap();
        file.seek(SeekFrom::Start(4)).unwrap();
        file.read_to_end(&mut buf).unwrap();
        assert_eq!(buf, b"0123456789");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_pipe_is_read_to_its_end() {
        let (reader, mut writer) = std::io::pipe().unwrap();
        let bytes: Vec<u8> = (0..300_000).map(|i| (i % 251) as u8).collect();
        let expected = bytes.clone();
        let writing = std::thread::spawn(move || writer.write_all(&bytes));
        let read = read_all(File::from(std::os::fd::OwnedFd::from(reader))).unwrap();
        writing.join().unwrap().unwrap();
        assert!(read == expected);
    }

    #[test]
    fn directories_are_walked_in_name_order_for_yaml_files_only() {
        let dir =
            std::env::temp_dir().join(format!("secret-rollout-inputs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for f in ["b.yaml", "a/z.yml", "a/notes.txt", "c.json", "a.yaml"] {
            let p = dir.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        let found = files(std::slice::from_ref(&dir)).unwrap();
        let names: Vec<_> = found
            .iter()
            .map(|p| p.strip_prefix(&dir).unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a/z.yml", "a.yaml", "b.yaml"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
