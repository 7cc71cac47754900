//! Replays what fuzzing found (testdata/fuzz/<target>/) through the same
//! property checks the fuzz targets run (fuzz/props.rs), so a fixed finding
//! stays fixed without a fuzzer.

#[path = "../fuzz/props.rs"]
mod props;

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/fuzz")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no cases in {}", dir.display());
    files
        .into_iter()
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect()
}

fn replay(target: &str, check: fn(&[u8])) {
    for (path, bytes) in corpus(target) {
        let result = std::panic::catch_unwind(|| check(&bytes));
        assert!(result.is_ok(), "{} fails its properties", path.display());
    }
}

#[test]
fn stream_cases_keep_their_properties() {
    replay("stream", props::stream);
}

#[test]
fn editor_cases_keep_their_properties() {
    replay("editor", props::editor);
}
