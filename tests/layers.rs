//! The library's folders are layers, and its imports run only downward: a
//! module may use its own layer or the ones below, never one above, and no
//! two files import each other, directly or round a circle. This reads the
//! `crate::…` paths of every source file (test modules aside: a test may
//! drive the whole pipeline) and checks both, so the shape docs/architecture.md
//! describes is the shape the code has.
//!
//! Run it alone with `cargo test --test layers`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The library's layers, bottom first (as in src/lib.rs and
/// docs/architecture.md).
const LAYERS: [&str; 9] = [
    "trust", "yaml", "kube", "policy", "report", "sources", "model", "query", "front",
];

/// The binary's layers, above every library layer: `cmd` runs commands
/// with the settings `cli` checked.
const BINARY: [&str; 2] = ["cli", "cmd"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, as a path relative to src/.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p.strip_prefix(src()).unwrap().to_path_buf());
        }
    }
}

/// The code of a file without its comments (a doc link is not an import)
/// and its unit tests (everything from a `#[cfg(test)]` that opens `mod
/// tests`).
fn non_test_code(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.split_inclusive('\n').peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if trimmed == "#[cfg(test)]"
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod tests"))
        {
            break;
        }
        if !trimmed.starts_with("//") {
            out.push_str(line);
        }
    }
    out
}

/// The module path of a file: `kube/inventory.rs` → `kube::inventory`,
/// `kube/mod.rs` → `kube`, `lib.rs` → ``.
fn module_of(file: &Path) -> String {
    let mut parts: Vec<String> = file
        .iter()
        .map(|c| c.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

/// The modules a file's code names, as module paths (`crate::kube::stamp::is_ours`
/// → `kube::stamp`; `super::args` in `cli/settings.rs` → `cli::args`), for
/// the library (`crate::`) or, in the binary's files, the binary's own
/// modules.
fn imports(file: &Path, code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let own = module_of(file);
    let parent = match own.rsplit_once("::") {
        Some((p, _)) if !file.ends_with("mod.rs") => p.to_string(),
        _ if file.ends_with("mod.rs") => own.clone(),
        _ => String::new(),
    };
    let mut out = BTreeSet::new();
    let mut add = |path: String| {
        // The longest module the path names: `kube::stamp::is_ours` → `kube::stamp`.
        let segments: Vec<&str> = path.split("::").collect();
        for n in (1..=segments.len()).rev() {
            let m = segments[..n].join("::");
            if modules.contains(&m) {
                if m != own {
                    out.insert(m);
                }
                return;
            }
        }
    };
    for (prefix, base) in [("crate::", String::new()), ("super::", parent)] {
        for (i, _) in code.match_indices(prefix) {
            if code[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let rest = &code[i + prefix.len()..];
            for path in expand(rest) {
                let full = if base.is_empty() {
                    path
                } else {
                    format!("{base}::{path}")
                };
                add(full);
            }
        }
    }
    out
}

/// The paths one `use` tree or expression path names: `kube::{stamp, digest::Keys}`
/// → `kube::stamp`, `kube::digest::Keys`.
fn expand(rest: &str) -> Vec<String> {
    let head: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
        .collect();
    let head = head.trim_end_matches(':').to_string();
    let after = &rest[head.len()..];
    if let Some(group) = after.strip_prefix("::{") {
        let mut depth = 1;
        let mut end = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        let inner = &group[..end];
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices().chain([(inner.len(), ',')]) {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    let item = inner[start..i.min(inner.len())].trim();
                    start = i + 1;
                    if item.is_empty() || item.starts_with("self") {
                        out.push(head.clone());
                    } else {
                        out.extend(expand(item).into_iter().map(|p| format!("{head}::{p}")));
                    }
                }
                _ => {}
            }
        }
        out
    } else {
        vec![head]
    }
}

/// The layer of a module: its folder's rank, with the binary above every
/// library layer; `None` for the crate roots.
fn rank(module: &str) -> Option<usize> {
    let top = module.split("::").next()?;
    LAYERS.iter().chain(&BINARY).position(|l| *l == top)
}

struct Crate {
    /// Module path → the modules its code names.
    edges: BTreeMap<String, BTreeSet<String>>,
}

fn read_crate() -> Crate {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(f)).collect();
    let mut edges = BTreeMap::new();
    for f in &files {
        let text = std::fs::read_to_string(src().join(f)).unwrap();
        edges.insert(module_of(f), imports(f, &non_test_code(&text), &modules));
    }
    Crate { edges }
}

#[test]
fn every_import_runs_down_the_layers() {
    let c = read_crate();
    let mut upward = Vec::new();
    for (from, tos) in &c.edges {
        let Some(own) = rank(from) else { continue };
        for to in tos {
            if rank(to).is_some_and(|r| r > own) {
                upward.push(format!("{from} -> {to}"));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that run up the layers ({}):\n{}",
        LAYERS.join(" < "),
        upward.join("\n")
    );
    // The reader sees the crate: every layer has files that import below.
    assert!(c.edges["kube::stamp"].contains("kube::digest"));
    assert!(c.edges["model"].contains("sources::lookup"));
    assert!(c.edges["cli::settings"].contains("cli::inputs"));
}

#[test]
fn no_file_imports_round_a_circle() {
    let c = read_crate();
    // Depth-first search; a module met again while on the path closes a circle.
    fn visit<'a>(
        m: &'a str,
        c: &'a Crate,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
        circles: &mut Vec<String>,
    ) {
        if let Some(at) = path.iter().position(|p| *p == m) {
            let mut circle = path[at..].to_vec();
            circle.push(m);
            circles.push(circle.join(" -> "));
            return;
        }
        if !done.insert(m) {
            return;
        }
        path.push(m);
        for to in c.edges.get(m).into_iter().flatten() {
            // The crate roots re-export; they are not part of the layers.
            if rank(to).is_some() {
                visit(to, c, path, done, circles);
            }
        }
        path.pop();
    }
    let mut circles = Vec::new();
    let mut done = BTreeSet::new();
    for m in c.edges.keys() {
        visit(m, &c, &mut Vec::new(), &mut done, &mut circles);
    }
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn no_module_below_the_roots_imports_the_roots() {
    // `crate::Options` from inside a layer would hide an upward import
    // behind a re-export: name the module that defines it instead.
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut via_root = Vec::new();
    for f in files.iter().filter(|f| f.components().count() > 1) {
        let text = std::fs::read_to_string(src().join(f)).unwrap();
        let code = &non_test_code(&text);
        for (i, _) in code.match_indices("crate::") {
            let next = code[i + 7..].chars().next().unwrap_or(' ');
            let item: String = code[i + 7..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if next == '{' || (!item.is_empty() && rank(&item).is_none()) {
                via_root.push(format!("{}: crate::{item}", f.display()));
            }
        }
    }
    assert!(via_root.is_empty(), "{}", via_root.join("\n"));
}

#[test]
fn src_shows_the_layers_at_a_glance() {
    let mut top: Vec<String> = std::fs::read_dir(src())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert!(top.len() <= 10, "files directly in src/: {top:?}");
    let mut folders: Vec<String> = std::fs::read_dir(src())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    let mut expected: Vec<String> = LAYERS
        .iter()
        .chain(&BINARY)
        .map(|s| s.to_string())
        .collect();
    expected.sort();
    assert_eq!(
        folders, expected,
        "a folder of src/ that is not a layer, or a layer without one"
    );
}

#[test]
fn the_reader_finds_what_it_checks() {
    // The parser above on shapes the crate uses, so a silent miss cannot
    // pass the tests that rely on it.
    let modules: BTreeSet<String> = [
        "kube",
        "kube::stamp",
        "kube::digest",
        "cli",
        "cli::args",
        "yaml::tree",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let code = "use crate::kube::{stamp::is_ours, digest::{self, Keys}};\nlet x = crate::yaml::tree::parse(t);\nuse super::args::{self, Cli};\n";
    let got = imports(Path::new("cli/settings.rs"), code, &modules);
    let want: BTreeSet<String> = ["kube::stamp", "kube::digest", "yaml::tree", "cli::args"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        non_test_code("fn a() {}\n#[cfg(test)]\nmod tests {\n use crate::model;\n}\n"),
        "fn a() {}\n"
    );
}

#[test]
fn docs_architecture_names_the_layers_in_order() {
    // The table of docs/architecture.md is the contributors' map: it must be
    // the layers this test enforces, bottom first.
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/architecture.md"))
            .unwrap();
    let rows: Vec<&str> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`').map(|(name, _)| name))
        .collect();
    assert_eq!(rows, LAYERS, "docs/architecture.md's layer table");
    for binary in BINARY {
        assert!(
            doc.contains(&format!("`{binary}`")),
            "{binary} is described"
        );
    }
    // And the crate's front door says the same: its table, bottom first,
    // and a module for each layer.
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let table: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//! | [`"))
        .filter_map(|l| l.split_once('`').map(|(name, _)| name))
        .collect();
    assert_eq!(table, LAYERS, "src/lib.rs's layer table");
    let mut declared: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .filter_map(|l| l.strip_suffix(';'))
        .collect();
    declared.sort();
    let mut layers = LAYERS.to_vec();
    layers.sort();
    assert_eq!(declared, layers, "src/lib.rs declares a module per layer");
}
