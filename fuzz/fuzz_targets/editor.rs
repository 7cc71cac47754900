#![no_main]
//! The annotation editor on any document taken as a pod template.

#[path = "../props.rs"]
mod props;

libfuzzer_sys::fuzz_target!(|data: &[u8]| props::editor(data));
