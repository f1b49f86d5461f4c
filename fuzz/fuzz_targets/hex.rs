//! The hex parser: never panics; what it accepts prints back to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netassist::render::hex::{dump_into, parse_hex, to_hex};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(bytes) = parse_hex(&text) {
        assert_eq!(parse_hex(&to_hex(&bytes)).expect("plain hex parses"), bytes);
    }
    let mut dump = String::new();
    dump_into(data, "", &mut dump);
    assert_eq!(dump.lines().count(), data.len().div_ceil(16));
});
