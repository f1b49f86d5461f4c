//! Streaming decode, fed in any chunks, gives what a one-shot decode gives, for every
//! supported encoding; malformed bytes are kept as themselves.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netassist::render::{Piece, TextEncoding};

const ENCODINGS: &[&str] =
    &["utf-8", "gbk", "gb18030", "big5", "shift_jis", "euc-kr", "utf-16le", "utf-16be", "latin1", "ascii"];

fn shown(encoding: TextEncoding, bytes: &[u8], cuts: &[u8]) -> (String, usize) {
    let mut decoder = encoding.decoder();
    let mut out = String::new();
    let mut malformed = 0;
    let mut push = |p: Piece<'_>| match p {
        Piece::Text(t) => out.push_str(t),
        Piece::Malformed(b) => {
            malformed += b.len();
            for x in b {
                out.push_str(&format!("\\x{x:02x}"));
            }
        }
    };
    let mut rest = bytes;
    for &cut in cuts {
        let n = usize::from(cut).min(rest.len());
        decoder.feed(&rest[..n], false, &mut push);
        rest = &rest[n..];
    }
    decoder.feed(rest, true, &mut push);
    (out, malformed)
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (which, ncuts) = (usize::from(data[0]) % ENCODINGS.len(), usize::from(data[1]) % 16);
    let rest = &data[2..];
    let (cuts, bytes) = rest.split_at(ncuts.min(rest.len()));
    let cuts: Vec<u8> = cuts.iter().map(|c| c % 9).collect();
    let encoding = TextEncoding::from_name(ENCODINGS[which]).expect("a known name");
    assert_eq!(shown(encoding, bytes, &cuts), shown(encoding, bytes, &[]));
});
