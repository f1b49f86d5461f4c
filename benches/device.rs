//! What the device simulator adds per message: splitting a stream into frames, matching
//! rules, checksums. `cargo bench --bench device`.

use divan::{Bencher, black_box, counter::ItemsCount};
use netassist::proto::checksum::Checksum;
use netassist::proto::frame::{FrameSpec, Splitter};
use netassist::proto::rules::Rules;
use netassist::render::TextEncoding;

fn main() {
    divan::main();
}

/// 1000 messages of 64 bytes (63 and a line end), in 16 KiB reads as a connection sees them.
#[divan::bench(args = ["raw", "line", "fixed:64", "len:2"])]
fn split_1000_messages(bencher: Bencher, spec: &str) {
    let mut stream = Vec::new();
    for i in 0..1000u32 {
        let mut m = vec![b'a' + (i % 26) as u8; 64];
        m[0] = 0;
        m[1] = 62;
        m[63] = b'\n';
        stream.extend_from_slice(&m);
    }
    let spec = FrameSpec::parse(spec).unwrap();
    bencher.counter(ItemsCount::new(1000usize)).bench(|| {
        let mut s = Splitter::new(spec.clone(), 1 << 20);
        let mut n = 0usize;
        for read in stream.chunks(16 * 1024) {
            s.push(black_box(read), |_| n += 1);
        }
        n
    });
}

/// The 10th of 10 rules matches (the worst case of first-match-wins), per message.
#[divan::bench(args = ["prefix", "hexprefix", "re"])]
fn ten_rules_per_message(bencher: Bencher, kind: &str) {
    let mut lines: Vec<String> = (0..9).map(|i| format!("prefix:CMD{i} => OK{i}\\r\\n")).collect();
    lines.push(match kind {
        "prefix" => "prefix:AT+CSQ => +CSQ: 23,99\\r\\n".into(),
        "hexprefix" => "hexprefix:41 54 2b => hex:01 02 {crc16-modbus}".into(),
        _ => r"re:^AT\+(\w+) => +{1}: 1\r\n".into(),
    });
    let rules = Rules::parse(&lines, TextEncoding::UTF8).unwrap();
    let message = b"AT+CSQ\r\n";
    bencher.bench(|| rules.answer(black_box(message)));
}

#[divan::bench(args = ["sum8", "crc16-modbus", "crc32"])]
fn checksum_of_64_bytes(bencher: Bencher, name: &str) {
    let c = Checksum::parse(name).unwrap();
    let bytes = [0x5au8; 64];
    bencher.bench(|| c.of(black_box(&bytes)));
}
