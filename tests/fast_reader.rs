//! The fast reader of plain block YAML (src/yaml/tree/fast.rs) against the
//! full, scanner-driven reader: on every document of every file under
//! testdata/, and on generated manifest-like YAML in many styles, the
//! subset's edges and what lies beyond them. Where the fast reader reads a
//! document, the scanner must read the same tree, every field equal; where
//! it gives up, the reader's answer must be the scanner's (the property is
//! fuzz/props.rs's `fast_reader`, which the `stream` fuzz target checks too).

#[path = "../fuzz/props.rs"]
mod props;

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use secret_rollout::Input;

#[test]
fn every_testdata_document_reads_the_same_and_most_of_helms_read_fast() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let all: Vec<PathBuf> = walkdir::WalkDir::new(&root)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .collect();
    // (documents, read fast) per folder of rendered charts.
    let mut helm = [("helm3", 0, 0), ("helm4", 0, 0)];
    let (mut all_docs, mut all_fast) = (0, 0);
    for path in &all {
        let Ok(input) = Input::from_bytes(std::fs::read(path).unwrap()) else {
            continue;
        };
        let text = input.text();
        let read = props::fast_reader(text);
        all_docs += secret_rollout::yaml::stream::split(text).len();
        all_fast += read;
        let folder = path.strip_prefix(&root).unwrap().iter().next().unwrap();
        for (name, docs, fast) in &mut helm {
            if folder == *name && path.extension().is_some_and(|e| e == "yaml") {
                *docs += secret_rollout::yaml::stream::split(text).len();
                *fast += read;
            }
        }
    }
    eprintln!("testdata/: {all_fast} of {all_docs} documents read by the fast reader");
    assert!(all_fast > 0);
    for (name, docs, fast) in helm {
        eprintln!("testdata/{name}: {fast} of {docs} documents read by the fast reader");
        assert!(
            fast * 10 >= docs * 8,
            "testdata/{name}: only {fast} of {docs} documents read fast"
        );
    }
}

/// A manifest-like tree; scalars and keys are written as they are, so some
/// are no plain scalars at all.
#[derive(Clone, Debug)]
enum Tree {
    Scalar(String),
    Map(Vec<(String, Tree)>),
    Seq(Vec<Tree>),
    /// `[a, "b"]`, written on one line.
    Flow(Vec<String>),
    /// A block scalar: its header (`|-`) and lines, each indented as the
    /// scalar is, blank ones with some spaces.
    Block(&'static str, Vec<&'static str>),
}

/// Scalars and keys the subset holds: plain words, YAML 1.1 words and
/// numbers (which name keys differently), indicators inside, quoted forms.
const PLAIN: &[&str] = &[
    "name",
    "app.kubernetes.io/name",
    "the0-api",
    "v1",
    "Deployment",
    "x",
    "a b",
    "a  b",
    "on",
    "Off",
    "y",
    "~",
    "null",
    "NULL",
    "0755",
    "08",
    "0x1F",
    "0o17",
    "0b101",
    "1_000",
    "-1",
    "+1",
    "1e3",
    "1.5",
    ".5",
    ".inf",
    "-.Inf",
    ".nan",
    "9223372036854775807",
    "2001-12-14",
    "-x",
    "--flag=1",
    "?x",
    ":x",
    "a:b",
    "http://x:80/y",
    "a,b",
    "a#b",
    "a'b",
    "[x]",
    "'q'",
    "''",
    "'a: b # c'",
    "\"d\"",
    "\"\"",
    "\"a: b # c\"",
    "\"on\"",
    "'0755'",
];

/// Scalars and keys beyond the subset, or that Go refuses somewhere.
const TRICKY: &[&str] = &[
    "",
    "9223372036854775808",
    "18446744073709551616",
    "<<",
    "a #b",
    "a: b",
    "a:",
    "x:  ",
    "- x",
    "-",
    "? x",
    "&a x",
    "*a",
    "!!str x",
    "!x y",
    "|",
    ">-",
    "%x",
    "@x",
    "`x`",
    "'it''s'",
    "'unclosed",
    "\"unclosed",
    "\"a\\tb\"",
    "'x' y",
    "{}",
    "[]",
    "{ }",
    "{x}",
    "[a, b]",
    "{a: 1}",
    "café",
    "tab\there",
    "cr\rhere",
    "---",
    "...",
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(&PLAIN[..6]).prop_map(str::to_string),
        8 => prop::sample::select(PLAIN).prop_map(str::to_string),
        1 => prop::sample::select(TRICKY).prop_map(str::to_string),
        1 => (prop::sample::select(PLAIN), prop::sample::select(PLAIN))
            .prop_map(|(a, b)| format!("{a}{b}")),
        1 => "[a-z]{1,3}",
    ]
}

/// Items of a flow sequence: what the subset reads there, and what it
/// leaves to the scanner (keys, nesting, comments, indicators).
const FLOW: &[&str] = &[
    "a",
    "b c",
    "\"--x=1\"",
    "'y'",
    "-1",
    "on",
    "~",
    "\"\"",
    "a-b",
    "a'b",
    "",
    "a: b",
    "a:b",
    "?x",
    ":x",
    "[x]",
    "{x}",
    "#x",
    "x #y",
    "- x",
    "&a x",
    "!t x",
    "\"a\\\"b\"",
    "'it''s'",
];

/// Lines of block scalars: text, more indented text, blank (written with
/// some spaces), text that looks like YAML.
const LINES: &[&str] = &[
    "text",
    "more text",
    "  more indented",
    "",
    "",
    "a: b",
    "# no comment",
    "- x",
    "   ",
    "'q'",
];

const HEADERS: &[&str] = &[
    "|", "|", "|", "|-", "|-", "|+", ">", ">-", ">+", "| # c", "|  ", "|#c", "|2", "|-1", ">\t",
    "|x",
];

/// Keys: mostly distinct (a repeated key is the scanner's to report).
fn key() -> impl Strategy<Value = String> {
    prop_oneof![2 => "[a-z][a-z0-9.-]{0,8}", 1 => word()]
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = prop_oneof![
        8 => word().prop_map(Tree::Scalar),
        1 => prop::collection::vec(
            prop_oneof![
                4 => prop::sample::select(&FLOW[..10]),
                1 => prop::sample::select(FLOW),
            ]
            .prop_map(str::to_string),
            0..4
        )
        .prop_map(Tree::Flow),
        1 => (
            prop::sample::select(HEADERS),
            prop::collection::vec(prop::sample::select(LINES), 0..5)
        )
            .prop_map(|(h, lines)| Tree::Block(h, lines)),
    ];
    leaf.prop_recursive(6, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec((key(), inner.clone()), 0..5).prop_map(Tree::Map),
            prop::collection::vec(inner, 0..5).prop_map(Tree::Seq),
        ]
    })
}

/// Writes a tree in the styles the bytes choose.
struct Writer<'s> {
    out: String,
    choices: std::iter::Cycle<std::slice::Iter<'s, u8>>,
}

impl Writer<'_> {
    fn choose(&mut self, n: u8) -> u8 {
        self.choices.next().copied().unwrap_or(0) % n
    }

    /// Blank and comment lines, now and then, at any indentation.
    fn between(&mut self) {
        match self.choose(12) {
            0 => self.out.push('\n'),
            1 => self.out.push_str("# a comment: - x\n"),
            2 => {
                let n = usize::from(self.choose(6));
                self.out.push_str(&format!("{}# indented\n", " ".repeat(n)));
            }
            3 => self.out.push_str("   \n"),
            _ => {}
        }
    }

    fn end_of_line(&mut self) {
        match self.choose(40) {
            0..4 => self.out.push_str(" # after"),
            4..8 => self.out.push_str("  "),
            8 => self.out.push_str("#x"),
            _ => {}
        }
        self.out.push('\n');
    }

    fn step(&mut self) -> usize {
        [2, 2, 2, 4, 1, 3][usize::from(self.choose(6))]
    }

    /// A value after `key:` or `- `, where the line is open.
    fn value(&mut self, tree: &Tree, indent: usize, in_seq: bool) {
        match tree {
            Tree::Scalar(s) => {
                self.out.push(' ');
                self.out.push_str(s);
                self.end_of_line();
            }
            Tree::Flow(items) => {
                let sep = [", ", ",", " , "][usize::from(self.choose(3))];
                let trailing = if self.choose(4) == 0 { "," } else { "" };
                self.out
                    .push_str(&format!(" [{}{trailing}]", items.join(sep)));
                self.end_of_line();
            }
            Tree::Block(header, lines) => {
                self.out.push(' ');
                self.out.push_str(header);
                self.out.push('\n');
                let step = self.step();
                for line in lines {
                    if line.is_empty() {
                        let n = usize::from(self.choose(8));
                        self.out.push_str(&" ".repeat(n));
                    } else {
                        self.out.push_str(&" ".repeat(indent + step));
                        self.out.push_str(line);
                    }
                    self.out.push('\n');
                }
            }
            Tree::Map(entries) if entries.is_empty() => {
                let empty = if self.choose(3) == 0 { " { }" } else { " {}" };
                self.out.push_str(empty);
                self.end_of_line();
            }
            Tree::Seq(items) if items.is_empty() => {
                self.out.push_str(" []");
                self.end_of_line();
            }
            Tree::Map(entries) if in_seq && self.choose(3) > 0 => {
                // Compact: the first key on the entry's line.
                let col = indent + 2 + usize::from(self.choose(2));
                self.out.push_str(&" ".repeat(col - indent - 1));
                self.map(entries, col, true);
            }
            Tree::Seq(items) if in_seq && self.choose(3) == 0 => {
                self.out.push(' ');
                self.seq(items, indent + 2, true);
            }
            _ => {
                if self.choose(6) == 0 {
                    self.out.push_str(" # opens");
                }
                self.out.push('\n');
                self.between();
                let indentless = !in_seq && self.choose(2) == 0;
                match tree {
                    Tree::Seq(items) if indentless => self.seq(items, indent, false),
                    Tree::Seq(items) => {
                        let step = self.step();
                        self.seq(items, indent + step, false);
                    }
                    Tree::Map(entries) => {
                        let step = self.step();
                        self.map(entries, indent + step, false);
                    }
                    _ => unreachable!("written on the line"),
                }
            }
        }
    }

    fn map(&mut self, entries: &[(String, Tree)], indent: usize, inline_first: bool) {
        for (i, (key, value)) in entries.iter().enumerate() {
            if i > 0 || !inline_first {
                self.between();
                self.out.push_str(&" ".repeat(indent));
            }
            self.out.push_str(key);
            if self.choose(16) == 0 {
                self.out.push(' ');
            }
            self.out.push(':');
            match value {
                Tree::Scalar(s) if s.is_empty() && self.choose(2) == 0 => self.end_of_line(),
                _ => self.value(value, indent, false),
            }
        }
        if entries.is_empty() {
            self.out.push_str("{}\n");
        }
    }

    fn seq(&mut self, items: &[Tree], indent: usize, inline_first: bool) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 || !inline_first {
                self.between();
                self.out.push_str(&" ".repeat(indent));
            }
            self.out.push('-');
            match item {
                Tree::Scalar(s) if s.is_empty() => self.end_of_line(),
                _ => self.value(item, indent, true),
            }
        }
        if items.is_empty() {
            self.out.push_str("[]\n");
        }
    }
}

/// Pieces an edit may drop anywhere: each takes the text outside the
/// subset, or into an error, or changes nothing.
const EDITS: &[&str] = &[
    "\t",
    "\r",
    "\r\n",
    "é",
    "\u{feff}",
    "\u{85}",
    "&a ",
    "*a",
    "!!str ",
    "|\n  x\n",
    ">\n",
    "[a]",
    "{a: b}",
    "? ",
    "<<: {a: 1}\n",
    "...\n",
    "---\n",
    "%YAML 1.1\n",
    "'",
    "\"",
    "\\",
    "#",
    " #",
    ": ",
    "- ",
    "\n",
    " ",
    "  ",
    "x",
    "a: 1\n",
    "  b: 2\n",
    "- c\n",
    "\u{0}",
];

fn document() -> impl Strategy<Value = String> {
    (
        tree(),
        prop::collection::vec(any::<u8>(), 1..64),
        prop_oneof![
            2 => Just(Vec::new()),
            1 => prop::collection::vec((any::<prop::sample::Index>(), 0..EDITS.len() + 2), 1..3),
        ],
    )
        .prop_map(|(tree, choices, edits)| {
            let mut w = Writer {
                out: String::new(),
                choices: choices.iter().cycle(),
            };
            match w.choose(6) {
                0 => w.out.push_str("---\n"),
                1 => w.out.push_str("---\n# Source: chart/templates/x.yaml\n"),
                2 => w.out.push_str("--- # c\n"),
                _ => {}
            }
            let root_indent = usize::from(w.choose(8) == 0);
            w.out.push_str(&" ".repeat(root_indent));
            match &tree {
                Tree::Seq(items) if !items.is_empty() => w.seq(items, root_indent, true),
                Tree::Map(entries) if !entries.is_empty() => w.map(entries, root_indent, true),
                _ => w.map(&[("root".to_string(), tree.clone())], root_indent, true),
            }
            if w.choose(6) == 0 {
                w.out.pop();
            }
            let mut text = w.out;
            for (at, edit) in edits {
                let mut at = at.index(text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                match EDITS.get(edit) {
                    Some(piece) => text.insert_str(at, piece),
                    // Cut the text short.
                    None if edit > EDITS.len() => text.truncate(at),
                    // Drop a byte (or a character).
                    None if at < text.len() => {
                        text.remove(at);
                    }
                    None => {}
                }
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn the_fast_reader_reads_what_the_scanner_reads(doc in document()) {
        props::fast_reader(&doc);
    }
}

#[test]
fn the_generated_documents_cover_both_sides_of_the_subset() {
    // The property above means little unless the fast reader reads many of
    // the generated documents and gives up on many.
    let mut runner = TestRunner::deterministic();
    let (mut read, n) = (0, 1000);
    for _ in 0..n {
        let doc = document().new_tree(&mut runner).unwrap().current();
        read += props::fast_reader(&doc);
    }
    eprintln!("{read} of {n} generated documents read fast");
    assert!(
        read * 3 > n && read * 3 < 2 * n,
        "{read} of {n} generated documents read fast"
    );
}
