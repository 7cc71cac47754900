//! Benchmark baseline only (see `scripts/bench`): what a naive post-renderer
//! does. Reads a multi-document YAML stream on stdin, parses every document
//! into a `serde_yaml::Value` and emits each one again, separated by `---`.
//! Comments, quoting and layout are lost; nothing is checked or stamped.

use std::io::{Read, Write};

use serde::Deserialize;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for document in serde_yaml::Deserializer::from_str(&input) {
        let value = serde_yaml::Value::deserialize(document)?;
        if value.is_null() {
            continue; // empty document (e.g. only a comment between separators)
        }
        out.write_all(b"---\n")?;
        out.write_all(serde_yaml::to_string(&value)?.as_bytes())?;
    }
    out.flush()?;
    Ok(())
}
