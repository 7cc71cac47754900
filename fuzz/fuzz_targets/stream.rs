#![no_main]
//! The stream reader and the whole render: any bytes in.

#[path = "../props.rs"]
mod props;

libfuzzer_sys::fuzz_target!(|data: &[u8]| props::stream(data));
