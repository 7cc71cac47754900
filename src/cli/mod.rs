//! What every command shares: raw flags ([`args`]), the checked settings
//! built from them ([`settings`]), reading inputs ([`inputs`]), where
//! diagnostics go ([`diagnostics`]), stdout and exit codes.

pub mod args;
pub mod diagnostics;
pub mod in_place;
pub mod inputs;
pub mod memory;
pub mod settings;

use std::io::{ErrorKind, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};

/// How a run ends. On anything but success nothing is written to stdout
/// (Helm reads a lone `---` as "no resources" and deletes everything).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    /// A finding at or above the failing severity.
    PolicyFailed = 1,
    /// Bad input, usage or I/O.
    BadInput = 2,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// Write `text` to stdout. A reader that has gone away (`check … | head`)
/// is not an error: it has seen what it wanted, so we stop writing quietly.
pub fn print(text: &str) -> Result<()> {
    print_with(|out| out.write_all(text.as_bytes()))
}

/// Write to stdout through `write`, buffered, in pieces (a large render is
/// never held twice); a reader that has gone away ends it quietly, as for
/// [`print`].
pub fn print_with(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    match write(&mut stdout).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing stdout"),
    }
}
