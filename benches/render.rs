//! The rendering paths every shown message goes through: streaming decode with escaping,
//! hex dumps, plain hex, and parsing typed hex. `cargo bench --bench render`.

use divan::{Bencher, black_box, counter::BytesCount};
use netassist::render::escape::{escape_bytes_into, escape_text_into};
use netassist::render::hex::{dump_into, parse_hex, to_hex};
use netassist::render::{Piece, TextEncoding};

fn main() {
    divan::main();
}

/// Text as devices and people send it: mixed CJK and ASCII with line endings.
fn sample(encoding: &str, len: usize) -> Vec<u8> {
    let line = if encoding == "big5" {
        "你好伺服器，我是客戶端小黑! temperature=21.5C status=OK\r\n"
    } else {
        "你好服务端，我是客户端小黑! temperature=21.5C status=OK\r\n"
    };
    let text: String = line.chars().cycle().take(len).collect();
    TextEncoding::from_name(encoding).unwrap().encode(&text).unwrap()
}

#[divan::bench(args = ["utf-8", "gbk", "big5", "utf-16le", "latin1"])]
fn decode_and_escape_16k(bencher: Bencher, encoding: &str) {
    let enc = TextEncoding::from_name(encoding).unwrap();
    let bytes = if encoding == "latin1" { sample("utf-8", 16 * 1024) } else { sample(encoding, 8 * 1024) };
    bencher.counter(BytesCount::of_slice(&bytes)).bench(|| {
        let mut decoder = enc.decoder();
        let mut out = String::with_capacity(bytes.len() * 2);
        // Two reads, split mid-buffer, as a connection sees them.
        let (a, b) = bytes.split_at(bytes.len() / 2 + 1);
        for chunk in [a, b] {
            decoder.feed(black_box(chunk), false, |p| match p {
                Piece::Text(t) => escape_text_into(t, &mut out),
                Piece::Malformed(m) => escape_bytes_into(m, &mut out),
            });
        }
        out
    });
}

#[divan::bench(args = [64, 4096, 65536])]
fn hex_dump(bencher: Bencher, len: usize) {
    let bytes: Vec<u8> = (0..len).map(|i| i as u8).collect();
    bencher.counter(BytesCount::new(len)).bench(|| {
        let mut out = String::with_capacity(len * 5);
        dump_into(black_box(&bytes), "    ", &mut out);
        out
    });
}

#[divan::bench(args = [64, 4096, 65536])]
fn plain_hex(bencher: Bencher, len: usize) {
    let bytes: Vec<u8> = (0..len).map(|i| i as u8).collect();
    bencher.counter(BytesCount::new(len)).bench(|| to_hex(black_box(&bytes)));
}

#[divan::bench]
fn parse_typed_hex(bencher: Bencher) {
    let typed = "0x01,0x02,0xff ".repeat(256);
    bencher.counter(BytesCount::new(768usize)).bench(|| parse_hex(black_box(&typed)).unwrap());
}
