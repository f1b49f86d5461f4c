//! The escape parser: never panics, in any encoding; shown text sends back the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netassist::render::TextEncoding;
use netassist::render::escape::{escape_text_into, text_to_bytes};

const ENCODINGS: &[&str] =
    &["utf-8", "gbk", "gb18030", "big5", "shift_jis", "euc-kr", "utf-16le", "utf-16be", "latin1", "ascii"];

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let encoding = TextEncoding::from_name(ENCODINGS[usize::from(which) % ENCODINGS.len()]).expect("a known name");
    let _ = text_to_bytes(&text, encoding);
    // What the views show of received text, typed back, is the text again.
    let mut shown = String::new();
    escape_text_into(&text, &mut shown);
    let again = text_to_bytes(&shown, TextEncoding::UTF8).expect("shown text is valid escape syntax");
    assert_eq!(again, text.as_bytes());
});
