//! Where a message ends in a byte stream (`--frame SPEC`). TCP delivers bytes, not
//! messages: two sends can arrive as one read and one send as two. A [`Splitter`] keeps
//! what it needs between reads and hands out whole messages, whatever the reads were.

use rust_i18n::t;
use std::fmt;

/// How messages are delimited.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FrameSpec {
    /// Each read is a message (what recv() returned).
    #[default]
    Raw,
    /// A message ends after these bytes (`line`: LF, `crlf`, `delim:HEX`).
    Delim(Vec<u8>),
    /// Every N bytes.
    Fixed(usize),
    /// A SIZE-byte length field at OFFSET counts the bytes after it, plus ADJUST.
    Len { size: usize, big_endian: bool, offset: usize, adjust: i64 },
    /// A gap of this many milliseconds with nothing received ends a message (the serial
    /// and DTU convention). The bytes never end one: the connection's clock does
    /// ([`Splitter::flush`]).
    Idle(u64),
}

impl FrameSpec {
    /// `raw`, `line`, `crlf`, `delim:7e`, `fixed:8`, `len:2`, `len:2:be:4:-2`, `modbus-tcp`,
    /// `idle:50`.
    pub fn parse(text: &str) -> Result<FrameSpec, String> {
        let lower = text.trim().to_ascii_lowercase();
        let mut parts = lower.split(':');
        let kind = parts.next().unwrap_or_default();
        let rest: Vec<&str> = parts.collect();
        let number = |s: &str, what: &str| s.parse::<i64>().map_err(|_| format!("'{s}' is not a number ({what})"));
        let spec = match (kind, rest.as_slice()) {
            ("raw", []) => FrameSpec::Raw,
            ("line" | "lf", []) => FrameSpec::Delim(b"\n".to_vec()),
            ("crlf", []) => FrameSpec::Delim(b"\r\n".to_vec()),
            ("delim", [hex]) => {
                let bytes = crate::render::hex::parse_hex(hex).map_err(|e| format!("delim: {e}"))?;
                if bytes.is_empty() {
                    return Err(t!("frame.delim").into_owned());
                }
                FrameSpec::Delim(bytes)
            }
            ("fixed", [n]) => match number(n, "fixed:N")? {
                n @ 1.. => FrameSpec::Fixed(n as usize),
                _ => return Err(t!("frame.fixed").into_owned()),
            },
            ("idle", [ms]) => match number(ms, "idle:MS")? {
                ms @ 1..=60_000 => FrameSpec::Idle(ms as u64),
                _ => return Err(t!("frame.idle").into_owned()),
            },
            ("modbus-tcp" | "mbap", []) => FrameSpec::Len { size: 2, big_endian: true, offset: 4, adjust: 0 },
            ("len", args) if !args.is_empty() && args.len() <= 4 => {
                let size = match args[0] {
                    "1" => 1,
                    "2" => 2,
                    "4" => 4,
                    other => return Err(t!("frame.len_size", other = other).into_owned()),
                };
                let mut big_endian = true;
                let mut numbers = Vec::new();
                for (i, a) in args[1..].iter().enumerate() {
                    match *a {
                        "be" if i == 0 => big_endian = true,
                        "le" if i == 0 => big_endian = false,
                        a => numbers.push(number(a, "len:SIZE[:be|le][:OFFSET][:ADJUST]")?),
                    }
                }
                let offset = match numbers.first() {
                    Some(&o) if o >= 0 => o as usize,
                    Some(_) => return Err(t!("frame.len_offset").into_owned()),
                    None => 0,
                };
                let adjust = numbers.get(1).copied().unwrap_or(0);
                if numbers.len() > 2 {
                    return Err(t!("frame.len_parts").into_owned());
                }
                FrameSpec::Len { size, big_endian, offset, adjust }
            }
            _ => {
                return Err(t!("frame.unknown", text = text).into_owned());
            }
        };
        Ok(spec)
    }

    /// The length of the first message in `data`, when it is all there. `Err(total)` when
    /// a length field says the message is `total` bytes (to compare with the limit).
    fn first(&self, data: &[u8]) -> Option<Result<usize, usize>> {
        match self {
            // `push` hands each read out whole for raw, and idle messages end by time.
            FrameSpec::Raw | FrameSpec::Idle(_) => None,
            FrameSpec::Delim(d) => find(data, d).map(|at| Ok(at + d.len())),
            FrameSpec::Fixed(n) => (data.len() >= *n).then_some(Ok(*n)),
            FrameSpec::Len { size, big_endian, offset, adjust } => {
                let header = offset + size;
                if data.len() < header {
                    return None;
                }
                let field = &data[*offset..header];
                let mut value: u64 = 0;
                for i in 0..*size {
                    let b = if *big_endian { field[i] } else { field[size - 1 - i] };
                    value = value << 8 | u64::from(b);
                }
                let total = (header as i64).saturating_add(value as i64).saturating_add(*adjust).max(header as i64);
                let total = total as usize;
                Some(if data.len() >= total { Ok(total) } else { Err(total) })
            }
        }
    }
}

impl fmt::Display for FrameSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameSpec::Raw => f.write_str("raw"),
            FrameSpec::Delim(d) if d == b"\n" => f.write_str("line"),
            FrameSpec::Delim(d) if d == b"\r\n" => f.write_str("crlf"),
            FrameSpec::Delim(d) => write!(f, "delim:{}", crate::render::hex::to_hex(d)),
            FrameSpec::Fixed(n) => write!(f, "fixed:{n}"),
            FrameSpec::Len { size, big_endian, offset, adjust } => {
                write!(f, "len:{size}:{}:{offset}:{adjust}", if *big_endian { "be" } else { "le" })
            }
            FrameSpec::Idle(ms) => write!(f, "idle:{ms}"),
        }
    }
}

fn find(data: &[u8], needle: &[u8]) -> Option<usize> {
    match needle {
        [b] => data.iter().position(|x| x == b),
        _ => data.windows(needle.len()).position(|w| w == needle),
    }
}

/// What the splitter hands out.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A whole message.
    Whole(&'a [u8]),
    /// Bytes that grew past the limit without a message ending: shown raw, then dropped.
    TooLong(&'a [u8]),
}

/// One stream's splitter: the spec, what is held of a message not yet whole, the limit.
#[derive(Debug, Clone)]
pub struct Splitter {
    spec: FrameSpec,
    held: Vec<u8>,
    max: usize,
}

impl Splitter {
    pub fn new(spec: FrameSpec, max: usize) -> Splitter {
        Splitter { spec, held: Vec::new(), max: max.max(1) }
    }

    /// Feeds a read; `each` gets every whole message it completes (and what grew too long).
    pub fn push(&mut self, chunk: &[u8], mut each: impl FnMut(Frame<'_>)) {
        if self.spec == FrameSpec::Raw {
            return each(Frame::Whole(chunk));
        }
        if self.held.is_empty() {
            // Messages wholly inside this read go out without a copy; only a tail is kept.
            let used = self.take(chunk, &mut each);
            self.keep(&chunk[used..], &mut each);
            return;
        }
        let mut held = std::mem::take(&mut self.held);
        held.extend_from_slice(chunk);
        let used = self.take(&held, &mut each);
        self.keep(&held[used..], &mut each);
        if self.held.is_empty() {
            // Reuse the allocation when it is small; give a large one back.
            held.clear();
            if held.capacity() <= 64 * 1024 {
                self.held = held;
            }
        }
    }

    /// Hands out the whole messages at the start of `data`; returns how much they used.
    fn take(&self, data: &[u8], each: &mut impl FnMut(Frame<'_>)) -> usize {
        let mut at = 0;
        while let Some(Ok(n)) = self.spec.first(&data[at..]) {
            if n > self.max {
                break;
            }
            each(Frame::Whole(&data[at..at + n]));
            at += n;
        }
        at
    }

    /// Keeps the start of a message, unless it is already past the limit.
    fn keep(&mut self, rest: &[u8], each: &mut impl FnMut(Frame<'_>)) {
        let too_long = rest.len() > self.max
            || matches!(self.spec.first(rest), Some(Err(total)) | Some(Ok(total)) if total > self.max);
        if too_long {
            each(Frame::TooLong(rest));
            self.held.clear();
            return;
        }
        self.held.clear();
        self.held.extend_from_slice(rest);
    }

    /// At the end of the stream: what is held of a message that never completed.
    pub fn rest(&mut self) -> Option<Vec<u8>> {
        (!self.held.is_empty()).then(|| std::mem::take(&mut self.held))
    }

    /// Bytes held for a message not yet whole.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// `idle:MS`: the gap after which what is held is a whole message.
    pub fn gap(&self) -> Option<std::time::Duration> {
        match self.spec {
            FrameSpec::Idle(ms) => Some(std::time::Duration::from_millis(ms)),
            _ => None,
        }
    }

    /// The gap came (`idle:MS`): what is held is a whole message.
    pub fn flush(&mut self, each: impl FnOnce(Frame<'_>)) {
        if !self.held.is_empty() {
            each(Frame::Whole(&self.held));
            self.held.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `reads` and returns the messages (`!` in front: too long) and what is left.
    fn split(spec: &str, max: usize, reads: &[&[u8]]) -> (Vec<String>, Option<Vec<u8>>) {
        let mut s = Splitter::new(FrameSpec::parse(spec).unwrap(), max);
        let mut out = Vec::new();
        for r in reads {
            s.push(r, |f| {
                out.push(match f {
                    Frame::Whole(m) => String::from_utf8_lossy(m).into_owned(),
                    Frame::TooLong(m) => format!("!{}", String::from_utf8_lossy(m)),
                })
            });
        }
        (out, s.rest())
    }

    #[test]
    fn lines_are_whole_whatever_the_reads() {
        let want = (vec!["ab\n".to_string(), "c\n".into(), "d\n".into()], Some(b"e".to_vec()));
        assert_eq!(split("line", 100, &[b"ab\nc\nd\ne"]), want);
        let bytes = b"ab\nc\nd\ne";
        let one_by_one: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(split("line", 100, &one_by_one), want);
        assert_eq!(split("crlf", 100, &[b"a\r", b"\nb\r\n"]).0, ["a\r\n", "b\r\n"]);
        assert_eq!(split("delim:7e", 100, &[b"~x~", b"y~"]).0, ["~", "x~", "y~"]);
        assert_eq!(split("delim:0d0a", 100, &[b"AT\r", b"\nOK\r\nER"]).0, ["AT\r\n", "OK\r\n"]);
    }

    #[test]
    fn fixed_and_length_prefixed() {
        assert_eq!(split("fixed:3", 100, &[b"abcde", b"fg"]), (vec!["abc".into(), "def".into()], Some(b"g".to_vec())));
        // A 2-byte big-endian length at 0, counting what follows it.
        assert_eq!(split("len:2", 100, &[b"\x00\x02ab\x00", b"\x01c\x00"]).0, ["\x00\x02ab", "\x00\x01c"]);
        assert_eq!(split("len:1:le:0:-1", 100, &[b"\x03ab\x02c"]).0, ["\x03ab", "\x02c"]);
        assert_eq!(split("len:2:le", 100, &[b"\x01\x00z"]).0, ["\x01\x00z"]);
        // Modbus TCP: the MBAP header's length (at 4) counts the unit id and the PDU.
        let request = [0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x00, 0x00, 0x00, 0x02];
        let mut two = request.to_vec();
        two.extend_from_slice(&request);
        let mut s = Splitter::new(FrameSpec::parse("modbus-tcp").unwrap(), 1 << 20);
        let mut n = 0;
        for b in two.chunks(5) {
            s.push(b, |f| {
                assert_eq!(f, Frame::Whole(&request));
                n += 1;
            });
        }
        assert_eq!((n, s.rest()), (2, None));
    }

    #[test]
    fn idle_holds_everything_until_the_gap() {
        let mut s = Splitter::new(FrameSpec::parse("idle:20").unwrap(), 100);
        assert_eq!(s.gap(), Some(std::time::Duration::from_millis(20)));
        s.push(b"AT\r\n", |_| panic!("bytes never end an idle message"));
        s.push(b"OK", |_| panic!("bytes never end an idle message"));
        let mut out = Vec::new();
        s.flush(|f| out.push(format!("{f:?}")));
        assert_eq!(out, [format!("{:?}", Frame::Whole(b"AT\r\nOK"))]);
        assert_eq!((s.held(), s.rest()), (0, None));
        s.flush(|_| panic!("nothing held, nothing to flush"));
        // Exactly the limit is a whole message when the gap comes.
        let mut s = Splitter::new(FrameSpec::parse("idle:20").unwrap(), 4);
        s.push(b"abcd", |f| panic!("{f:?} before the gap"));
        let mut out = Vec::new();
        s.flush(|f| out.push(format!("{f:?}")));
        assert_eq!(out, [format!("{:?}", Frame::Whole(b"abcd"))]);
        // Past the limit without a gap: shown raw, as for any framing.
        assert_eq!(split("idle:20", 4, &[b"abc", b"defg"]).0, ["!abcdefg"]);
    }

    #[test]
    fn past_the_limit_is_shown_raw_and_the_stream_goes_on() {
        assert_eq!(split("line", 4, &[b"abcdefg", b"h\nok\n"]).0, ["!abcdefg", "h\n", "ok\n"]);
        assert_eq!(split("len:1", 4, &[b"\x09abc", b"\x01x"]).0, ["!\x09abc", "\x01x"]);
        assert_eq!(split("raw", 1, &[b"abc"]).0, ["abc"]);
    }

    #[test]
    fn specs_parse_and_print() {
        for (text, shown) in [
            ("raw", "raw"),
            ("line", "line"),
            ("CRLF", "crlf"),
            ("delim:7E", "delim:7e"),
            ("fixed:8", "fixed:8"),
            ("len:2", "len:2:be:0:0"),
            ("len:4:le:2:-4", "len:4:le:2:-4"),
            ("modbus-tcp", "len:2:be:4:0"),
            ("idle:50", "idle:50"),
        ] {
            assert_eq!(FrameSpec::parse(text).unwrap().to_string(), shown, "{text}");
        }
        // Each bad spec gets the message about its own mistake.
        for (bad, says) in [
            ("lines", "is not a framing"),
            ("delim:", "delim: give the bytes"),
            ("delim:7", "odd number of hex digits"),
            ("fixed:0", "at least 1 byte"),
            ("len:3", "1, 2 or 4 bytes"),
            ("len:2:be:-1", "offset cannot be negative"),
            ("len:2:1:2:3", "too many parts"),
            ("len", "is not a framing"),
            ("len:2:be:1:2:3", "is not a framing"),
            // The byte order comes right after the size, or not at all.
            ("len:2:le:be", "'be' is not a number"),
            ("len:2:be:le", "'le' is not a number"),
            ("idle:0", "from 1 to 60000 ms"),
            ("idle", "is not a framing"),
        ] {
            let error = FrameSpec::parse(bad).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
        assert_eq!(FrameSpec::parse("len:2:be:1:0").unwrap().to_string(), "len:2:be:1:0");
    }

    #[test]
    fn lengths_at_their_edges() {
        // A length of 0: the message is the header alone.
        assert_eq!(split("len:1", 100, &[b"\x00\x00"]).0, ["\x00", "\x00"]);
        // Both bytes of a 2-byte length count: 0x0102 is 258.
        let mut message = vec![0x01, 0x02];
        message.extend(std::iter::repeat_n(b'x', 258));
        let (got, rest) = split("len:2", 1000, &[&message, b"\x00"]);
        assert_eq!((got.len(), got[0].len(), rest), (1, 260, Some(vec![0])));
        // A message exactly as long as the limit is whole; one byte more is too long.
        assert_eq!(split("fixed:4", 4, &[b"abcd"]).0, ["abcd"]);
        assert_eq!(split("fixed:5", 4, &[b"abcde"]).0, ["!abcde"]);
    }

    #[test]
    fn a_held_buffer_is_reused_when_small_and_given_back_when_large() {
        let mut s = Splitter::new(FrameSpec::parse("line").unwrap(), 1 << 20);
        s.push(b"ab", |_| {});
        assert_eq!(s.held(), 2);
        s.push(&[b'x'; 10_000], |_| {});
        s.push(b"c\n", |_| {});
        assert!(s.held.capacity() >= 10_000, "a buffer up to 64 KiB is kept for the next message");
        let big = vec![b'x'; 100_000];
        s.push(&big, |_| {});
        s.push(b"\n", |_| {});
        assert_eq!((s.held(), s.held.capacity()), (0, 0), "a 100 KB buffer is given back");
    }
}
