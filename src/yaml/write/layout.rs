//! The layout of the text around an edit, read from the positioned tree:
//! the column of a node, the dash and content columns of a sequence item,
//! and how far the file sets a sequence's dashes right of its key. New lines
//! follow what they find here.

use super::lines::line_start;
use crate::yaml::tree::Node;

/// 0-based column of a node, in bytes; indentation is spaces, so it matches.
pub fn indent_of(text: &str, node: &Node<'_>) -> usize {
    node.span.start - line_start(text, node.span.start)
}

/// Only spaces before the node on its line: it starts its own line.
pub fn starts_line(text: &str, node: &Node<'_>) -> bool {
    text[line_start(text, node.span.start)..node.span.start]
        .bytes()
        .all(|b| b == b' ')
}

/// The dash and content columns of a block sequence item: `  - x` gives
/// (2, 4); `None` when the item does not start its own line.
pub fn item_columns(text: &str, item: &Node<'_>) -> Option<(usize, usize)> {
    let from = line_start(text, item.span.start);
    let prefix = &text[from..item.span.start];
    let dash = prefix.find('-')?;
    let blank = |s: &str| s.bytes().all(|b| b == b' ');
    (blank(&prefix[..dash]) && prefix.len() > dash + 1 && blank(&prefix[dash + 1..]))
        .then_some((dash, prefix.len()))
}

/// Whether a sequence is written in flow style (`[…]`).
pub fn is_flow_seq(text: &str, seq: &Node<'_>) -> bool {
    let body = &text[seq.span.start..seq.span.end];
    match seq.as_seq().and_then(|items| items.first()) {
        Some(first) => text[seq.span.start..first.span.start].contains('['),
        None => body.contains('['),
    }
}

/// Where a block sequence we write under a new key puts its dashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dashes {
    /// Two columns right of the key (`key:\n  - a`): what we write in the
    /// files people keep (a HelmRelease, a kustomization).
    Indented,
    /// At the key's column (`key:\n- a`): how kustomize's kyaml writes, so a
    /// ResourceList we answer reads like the ones its orchestrator writes.
    AtKey,
}

impl Dashes {
    /// Columns from the key to the dash.
    pub fn columns(self) -> usize {
        match self {
            Dashes::Indented => 2,
            Dashes::AtKey => 0,
        }
    }
}
