//! The write layer: every byte of YAML we produce is made here. In the spirit
//! of toml_edit, the positioned tree ([`crate::yaml::tree`]) owns where
//! things are and how they are written, and an edit is a splice of the
//! original text: the front ends say what to change (which key, which
//! item, what value, as [`content::Content`]), this layer decides how (the
//! bytes, the style, the columns and line breaks of the text around it)
//! and copies every other byte as it was.
//!
//! Re-serializing a tree changes meaning in ways Go's parser notices (`on`
//! → `"on"`, `0644` → `"0644"`), so nothing is ever re-serialized.
//!
//! - [`lines`]: the line breaks Go's reader knows, for readers and writers;
//! - [`scalar`]: the one scalar writer;
//! - [`content`]: new values, in block or flow form;
//! - [`layout`]: the columns of the text around an edit;
//! - [`map`]: edits of a mapping (our annotations, a key's value, a copy
//!   of a block moved left);
//! - [`seq`]: edits of a sequence (add, replace, remove an item);
//! - here: [`Edit`] and applying edits.

pub mod content;
pub mod layout;
pub mod lines;
pub mod map;
pub mod scalar;
pub mod seq;

use std::ops::Range;

/// Replace `range` of the original text with `text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub text: String,
}

/// Apply non-overlapping edits; an insertion may sit at the end of a removal.
pub fn apply(text: &str, edits: &mut [Edit]) -> String {
    let grow: usize = edits.iter().map(|e| e.text.len()).sum();
    let mut out = Vec::with_capacity(text.len() + grow);
    write(text.as_bytes(), edits, &mut |piece| {
        out.extend_from_slice(piece);
        Ok(())
    })
    .expect("writing to memory cannot fail");
    String::from_utf8(out).expect("edits keep UTF-8 boundaries")
}

/// Hand `text` with `edits` applied to `sink` in pieces: the bytes between
/// edits are never copied into a second buffer.
pub fn write(
    text: &[u8],
    edits: &mut [Edit],
    sink: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
) -> std::io::Result<()> {
    edits.sort_by_key(|e| (e.range.start, e.range.end));
    let mut at = 0;
    for e in edits.iter() {
        assert!(
            e.range.start >= at,
            "edits overlap at byte {}",
            e.range.start
        );
        sink(&text[at..e.range.start])?;
        sink(e.text.as_bytes())?;
        at = e.range.end;
    }
    sink(&text[at..])
}
