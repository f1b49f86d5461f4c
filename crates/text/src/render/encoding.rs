//! Text encodings both ways: names and the aliases people type, strict encoding of what
//! the user typed (an unencodable character is an error that names it), and a streaming
//! decoder per connection and direction, so a character split across two reads prints whole
//! and a malformed byte is reported as exactly that byte.
//!
//! encoding_rs does most of the work; UTF-16 encoding, true ISO-8859-1 and ASCII are done
//! here because encoding_rs cannot encode UTF-16 and maps latin1/ascii to windows-1252.

use rust_i18n::t;
use std::fmt;

/// One text encoding, as chosen with `--encoding`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TextEncoding {
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Anything encoding_rs decodes and encodes itself (UTF-8, GBK, Big5, ...).
    Whatwg(&'static encoding_rs::Encoding),
    /// encoding_rs decodes these; we encode them by hand.
    Utf16Le,
    Utf16Be,
    /// ISO-8859-1: byte n is U+00nn, both ways.
    Latin1,
    /// 7-bit ASCII: bytes above 0x7f are malformed.
    Ascii,
    /// `--encoding auto`: each connection's received text is shown in the encoding its
    /// first bytes are in (see `render::guess`); UTF-8 until then, and for what is sent.
    Auto,
}

/// The encodings listed in `--help` and in error messages; any other WHATWG label works too.
pub const COMMON_NAMES: &str = "utf-8, gbk, gb18030, big5, shift_jis, euc-kr, utf-16le, utf-16be, latin1, ascii, auto";

/// A character the chosen encoding has no bytes for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unencodable {
    pub character: char,
    /// 1-based position of the character in the text.
    pub position: usize,
    pub encoding: &'static str,
}

impl fmt::Display for Unencodable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = format!("{:04X}", u32::from(self.character));
        let c = self.character.escape_debug();
        f.write_str(&t!("encoding.unencodable", c = c, code = code, position = self.position, encoding = self.encoding))
    }
}

impl TextEncoding {
    pub const UTF8: TextEncoding = TextEncoding { kind: Kind::Whatwg(encoding_rs::UTF_8) };

    /// Looks an encoding up by the name a person types: case-insensitive, `_` or `-` alike,
    /// with the Windows code page aliases (cp936, cp950, cp932, cp949) encoding_rs lacks.
    pub fn from_name(name: &str) -> Option<TextEncoding> {
        let norm = name.trim().to_ascii_lowercase().replace('_', "-");
        let kind = match norm.as_str() {
            "cp936" | "ms936" | "windows-936" | "gb2312" | "gbk" => Kind::Whatwg(encoding_rs::GBK),
            "cp950" | "ms950" | "windows-950" => Kind::Whatwg(encoding_rs::BIG5),
            "cp932" | "ms932" | "windows-932" | "sjis" | "shift-jis" => Kind::Whatwg(encoding_rs::SHIFT_JIS),
            "cp949" | "ms949" | "uhc" => Kind::Whatwg(encoding_rs::EUC_KR),
            "utf-16le" | "utf16le" | "utf-16-le" => Kind::Utf16Le,
            "utf-16be" | "utf16be" | "utf-16-be" => Kind::Utf16Be,
            "latin1" | "latin-1" | "l1" | "iso-8859-1" | "iso8859-1" | "iso88591" | "cp819" => Kind::Latin1,
            "ascii" | "us-ascii" | "ansi-x3.4-1968" => Kind::Ascii,
            "auto" | "detect" => Kind::Auto,
            // Without a byte order mark "utf-16" is ambiguous: make the user choose.
            "utf-16" | "utf16" | "ucs-2" | "unicode" => return None,
            _ => {
                let found = encoding_rs::Encoding::for_label_no_replacement(norm.as_bytes())
                    .or_else(|| encoding_rs::Encoding::for_label_no_replacement(norm.replace('-', "_").as_bytes()))?;
                if found == encoding_rs::UTF_16LE {
                    Kind::Utf16Le
                } else if found == encoding_rs::UTF_16BE {
                    Kind::Utf16Be
                } else {
                    Kind::Whatwg(found)
                }
            }
        };
        Some(TextEncoding { kind })
    }

    /// The canonical name, as shown in output and messages: encoding_rs's, lowercase where
    /// its own is not (GB18030 and the UTF-8 labels are found by its label lookup).
    pub fn name(&self) -> &'static str {
        match self.kind {
            Kind::Whatwg(e) if e == encoding_rs::UTF_8 => "utf-8",
            Kind::Whatwg(e) if e == encoding_rs::GBK => "gbk",
            Kind::Whatwg(e) if e == encoding_rs::BIG5 => "big5",
            Kind::Whatwg(e) if e == encoding_rs::SHIFT_JIS => "shift_jis",
            Kind::Whatwg(e) if e == encoding_rs::EUC_KR => "euc-kr",
            Kind::Whatwg(e) => e.name(),
            Kind::Utf16Le => "utf-16le",
            Kind::Utf16Be => "utf-16be",
            Kind::Latin1 => "latin1",
            Kind::Ascii => "ascii",
            Kind::Auto => "auto",
        }
    }

    pub fn is_utf8(&self) -> bool {
        self.kind == Kind::Whatwg(encoding_rs::UTF_8)
    }

    /// The name as people write it in prose: GBK, UTF-8, Big5, Shift_JIS.
    pub fn display_name(&self) -> String {
        match self.name() {
            "big5" => "Big5".into(),
            "shift_jis" => "Shift_JIS".into(),
            "latin1" => "Latin-1".into(),
            name => name.to_ascii_uppercase(),
        }
    }

    /// `--encoding auto`: choose per connection from what it sends.
    pub fn is_auto(&self) -> bool {
        self.kind == Kind::Auto
    }

    pub fn is_utf16(&self) -> bool {
        matches!(self.kind, Kind::Utf16Le | Kind::Utf16Be)
    }

    /// Encodes `text`, failing on the first character this encoding has no bytes for.
    pub fn encode(&self, text: &str) -> Result<Vec<u8>, Unencodable> {
        let unencodable = |byte_index: usize, character: char| Unencodable {
            character,
            position: text[..byte_index].chars().count() + 1,
            encoding: self.name(),
        };
        match self.kind {
            Kind::Utf16Le => Ok(text.encode_utf16().flat_map(u16::to_le_bytes).collect()),
            Kind::Utf16Be => Ok(text.encode_utf16().flat_map(u16::to_be_bytes).collect()),
            Kind::Latin1 | Kind::Ascii => {
                let limit = if self.kind == Kind::Latin1 { 0xff } else { 0x7f };
                text.char_indices()
                    .map(|(i, c)| match u8::try_from(u32::from(c)) {
                        Ok(b) if u32::from(b) <= limit => Ok(b),
                        _ => Err(unencodable(i, c)),
                    })
                    .collect()
            }
            Kind::Auto => Ok(text.as_bytes().to_vec()),
            Kind::Whatwg(e) if e == encoding_rs::UTF_8 => Ok(text.as_bytes().to_vec()),
            Kind::Whatwg(e) => {
                let mut encoder = e.new_encoder();
                let capacity = encoder
                    .max_buffer_length_from_utf8_without_replacement(text.len())
                    .expect("text fits in memory, so its worst-case encoding length fits usize");
                let mut out = vec![0u8; capacity];
                let (result, read, written) = encoder.encode_from_utf8_without_replacement(text, &mut out, true);
                match result {
                    encoding_rs::EncoderResult::InputEmpty => {
                        out.truncate(written);
                        Ok(out)
                    }
                    encoding_rs::EncoderResult::Unmappable(c) => Err(unencodable(read - c.len_utf8(), c)),
                    encoding_rs::EncoderResult::OutputFull => {
                        unreachable!("the buffer has the worst-case length encoding_rs asked for")
                    }
                }
            }
        }
    }

    /// A fresh streaming decoder, one per connection and direction.
    pub fn decoder(&self) -> StreamDecoder {
        let inner = match self.kind {
            Kind::Whatwg(e) => Inner::Rs(Box::new(e.new_decoder_without_bom_handling())),
            Kind::Utf16Le => Inner::Rs(Box::new(encoding_rs::UTF_16LE.new_decoder_without_bom_handling())),
            Kind::Utf16Be => Inner::Rs(Box::new(encoding_rs::UTF_16BE.new_decoder_without_bom_handling())),
            Kind::Latin1 => Inner::Latin1,
            Kind::Ascii => Inner::Ascii,
            Kind::Auto => Inner::Rs(Box::new(encoding_rs::UTF_8.new_decoder_without_bom_handling())),
        };
        StreamDecoder { inner, recent: Recent::default() }
    }

    /// Decodes a complete byte string at once (malformed bytes become U+FFFD).
    pub fn decode_lossy(&self, bytes: &[u8]) -> String {
        let mut out = String::new();
        self.decoder().feed(bytes, true, |piece| match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Malformed(_) => out.push('\u{FFFD}'),
        });
        out
    }
}

impl fmt::Debug for TextEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for TextEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a decoder hands out: decoded text, or bytes that are not text in this encoding.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Malformed(&'a [u8]),
}

/// Decodes a byte stream in pieces; bytes of a character that is not complete yet are kept
/// for the next call.
pub struct StreamDecoder {
    inner: Inner,
    recent: Recent,
}

enum Inner {
    Rs(Box<encoding_rs::Decoder>),
    Latin1,
    Ascii,
}

/// The last bytes fed before the current call: a malformed sequence reported by encoding_rs
/// may have started in an earlier buffer, and we show its bytes exactly.
#[derive(Default)]
struct Recent {
    bytes: [u8; 8],
    len: usize,
}

impl Recent {
    fn remember(&mut self, src: &[u8]) {
        let cap = self.bytes.len();
        if src.len() >= cap {
            self.bytes.copy_from_slice(&src[src.len() - cap..]);
            self.len = cap;
        } else {
            let keep = (cap - src.len()).min(self.len);
            self.bytes.copy_within(self.len - keep..self.len, 0);
            self.bytes[keep..keep + src.len()].copy_from_slice(src);
            self.len = keep + src.len();
        }
    }
}

impl StreamDecoder {
    /// Feeds `src`; `last` says the stream ends here (pending bytes are then malformed).
    /// `emit` receives the pieces in order.
    pub fn feed(&mut self, src: &[u8], last: bool, mut emit: impl FnMut(Piece<'_>)) {
        match &mut self.inner {
            Inner::Latin1 => {
                for run in split_runs(src, |b| b.is_ascii()) {
                    match run {
                        (true, ascii) => emit(Piece::Text(std::str::from_utf8(ascii).expect("ASCII is UTF-8"))),
                        (false, high) => {
                            let text: String = high.iter().map(|&b| char::from(b)).collect();
                            emit(Piece::Text(&text));
                        }
                    }
                }
            }
            Inner::Ascii => {
                for run in split_runs(src, |b| b.is_ascii()) {
                    match run {
                        (true, bytes) => {
                            emit(Piece::Text(std::str::from_utf8(bytes).expect("ASCII bytes are valid UTF-8")))
                        }
                        (false, bytes) => emit(Piece::Malformed(bytes)),
                    }
                }
            }
            Inner::Rs(decoder) => {
                let mut buf = [0u8; 2048];
                let mut rest = src;
                loop {
                    let out = std::str::from_utf8_mut(&mut buf).expect("a zeroed buffer is valid UTF-8");
                    let (result, read, written) = decoder.decode_to_str_without_replacement(rest, out, last);
                    if written > 0 {
                        emit(Piece::Text(&out[..written]));
                    }
                    match result {
                        encoding_rs::DecoderResult::InputEmpty => break,
                        encoding_rs::DecoderResult::OutputFull => {}
                        encoding_rs::DecoderResult::Malformed(len, after) => {
                            // The malformed bytes end `after` bytes before what has been
                            // consumed so far, counting the remembered earlier bytes first.
                            let consumed = src.len() - rest.len() + read;
                            let end = (self.recent.len + consumed).saturating_sub(usize::from(after));
                            let start = end.saturating_sub(usize::from(len));
                            let mut bad = [0u8; 8];
                            for (slot, i) in bad.iter_mut().zip(start..end) {
                                *slot =
                                    if i < self.recent.len { self.recent.bytes[i] } else { src[i - self.recent.len] };
                            }
                            emit(Piece::Malformed(&bad[..end - start]));
                        }
                    }
                    rest = &rest[read..];
                }
            }
        }
        self.recent.remember(src);
    }
}

/// Splits bytes into maximal runs for which `pred` is the same.
fn split_runs(src: &[u8], pred: impl Fn(u8) -> bool) -> impl Iterator<Item = (bool, &[u8])> {
    let mut rest = src;
    std::iter::from_fn(move || {
        let first = *rest.first()?;
        let kind = pred(first);
        let n = rest.iter().position(|&b| pred(b) != kind).unwrap_or(rest.len());
        let (run, tail) = rest.split_at(n);
        rest = tail;
        Some((kind, run))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_utf16_and_prose_names() {
        for name in ["auto", "detect", "AUTO"] {
            assert!(TextEncoding::from_name(name).is_some_and(|e| e.is_auto()), "{name}");
        }
        assert!(!TextEncoding::UTF8.is_auto() && !TextEncoding::UTF8.is_utf16());
        assert!(enc("utf-16le").is_utf16() && enc("utf-16be").is_utf16() && !enc("gbk").is_utf16());
        for (name, prose) in
            [("gbk", "GBK"), ("utf-8", "UTF-8"), ("big5", "Big5"), ("sjis", "Shift_JIS"), ("latin1", "Latin-1")]
        {
            assert_eq!(enc(name).display_name(), prose);
        }
    }

    /// A decoder hands out no empty text pieces (a view would draw an empty span for each).
    #[test]
    fn no_empty_pieces() {
        let mut d = enc("gbk").decoder();
        let mut pieces = Vec::new();
        d.feed(b"\xff\xffa", true, |p| {
            pieces.push(match p {
                Piece::Text(t) => format!("text {t:?}"),
                Piece::Malformed(b) => format!("malformed {b:02x?}"),
            })
        });
        assert_eq!(pieces, ["malformed [ff]", "malformed [ff]", "text \"a\""]);
    }

    #[test]
    fn aliases_people_type() {
        for (alias, name) in
            [("cp932", "shift_jis"), ("utf16le", "utf-16le"), ("utf-16-be", "utf-16be"), ("CP936", "gbk")]
        {
            assert_eq!(TextEncoding::from_name(alias).map(|e| e.name()), Some(name), "{alias}");
        }
        let gbk = TextEncoding::from_name("gbk").unwrap();
        assert_eq!(format!("{gbk}"), "gbk");
        assert_eq!(format!("{gbk:?}"), "gbk");
        assert!(TextEncoding::UTF8.is_utf8() && !gbk.is_utf8());
    }

    fn enc(name: &str) -> TextEncoding {
        TextEncoding::from_name(name).unwrap_or_else(|| panic!("{name} is known"))
    }

    /// Decodes `bytes` fed in the given chunk sizes; malformed bytes as `\xHH`.
    fn decode_in_chunks(e: TextEncoding, bytes: &[u8], chunks: &[usize]) -> String {
        let mut d = e.decoder();
        let mut out = String::new();
        let mut rest = bytes;
        let mut push = |p: Piece<'_>| match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Malformed(b) => b.iter().for_each(|b| out.push_str(&format!("\\x{b:02x}"))),
        };
        for &n in chunks {
            let n = n.min(rest.len());
            d.feed(&rest[..n], false, &mut push);
            rest = &rest[n..];
        }
        d.feed(rest, true, &mut push);
        out
    }

    #[test]
    fn names_and_aliases() {
        for (alias, name) in [
            ("UTF8", "utf-8"),
            ("utf_8", "utf-8"),
            ("cp936", "gbk"),
            ("GB2312", "gbk"),
            ("gb18030", "gb18030"),
            ("big5", "big5"),
            ("cp950", "big5"),
            ("Shift_JIS", "shift_jis"),
            ("sjis", "shift_jis"),
            ("euc-kr", "euc-kr"),
            ("cp949", "euc-kr"),
            ("utf-16le", "utf-16le"),
            ("UTF-16BE", "utf-16be"),
            ("latin1", "latin1"),
            ("ISO-8859-1", "latin1"),
            ("ascii", "ascii"),
            ("windows-1252", "windows-1252"),
            ("koi8-r", "KOI8-R"),
        ] {
            assert_eq!(enc(alias).name(), name, "alias {alias}");
        }
        for unknown in ["utf-16", "klingon", "", "replacement", "iso-2022-kr"] {
            assert!(TextEncoding::from_name(unknown).is_none(), "{unknown}");
        }
    }

    #[test]
    fn lesson_greeting_is_27_bytes_in_gbk() {
        let bytes = enc("gbk").encode("你好服务端，我是客户端小黑!").unwrap();
        assert_eq!(bytes.len(), 27);
        assert_eq!(&bytes[..4], &[0xc4, 0xe3, 0xba, 0xc3]);
    }

    #[test]
    fn unencodable_character_is_named() {
        let err = enc("gbk").encode("ok 😀").unwrap_err();
        assert_eq!(err.character, '😀');
        assert_eq!(err.position, 4);
        assert_eq!(err.to_string(), "character '😀' (U+1F600) at position 4 cannot be encoded in gbk");
        assert_eq!(enc("latin1").encode("aé€").unwrap_err().position, 3);
        assert_eq!(enc("ascii").encode("é").unwrap_err().character, 'é');
        assert_eq!(enc("latin1").encode("é").unwrap(), vec![0xe9]);
    }

    #[test]
    fn utf16_is_encoded_by_hand() {
        assert_eq!(enc("utf-16le").encode("A中").unwrap(), vec![0x41, 0, 0x2d, 0x4e]);
        assert_eq!(enc("utf-16be").encode("A中").unwrap(), vec![0, 0x41, 0x4e, 0x2d]);
        assert_eq!(enc("utf-16le").encode("😀").unwrap(), vec![0x3d, 0xd8, 0x00, 0xde]);
    }

    #[test]
    fn character_split_across_reads_prints_whole() {
        let gbk = enc("gbk").encode("你好").unwrap();
        for split in 0..=gbk.len() {
            assert_eq!(decode_in_chunks(enc("gbk"), &gbk, &[split]), "你好");
        }
        let utf8 = "你好".as_bytes();
        assert_eq!(decode_in_chunks(enc("utf-8"), utf8, &[1, 1, 1, 1]), "你好");
    }

    #[test]
    fn malformed_bytes_are_kept_exactly() {
        assert_eq!(decode_in_chunks(enc("utf-8"), b"a\xffb", &[]), "a\\xffb");
        // A lead byte at the end of the stream.
        assert_eq!(decode_in_chunks(enc("utf-8"), b"ok\xe4\xbd", &[]), "ok\\xe4\\xbd");
        // A GBK lead byte in one read, a bad trail in the next.
        assert_eq!(decode_in_chunks(enc("gbk"), b"\x81\x7fz", &[1]), "\\x81\x7fz");
        assert_eq!(decode_in_chunks(enc("ascii"), b"a\x80\x81b", &[2]), "a\\x80\\x81b");
        assert_eq!(decode_in_chunks(enc("latin1"), b"\xe9t\xe9", &[1]), "été");
    }

    #[test]
    fn bom_is_not_sniffed() {
        assert_eq!(decode_in_chunks(enc("gbk"), b"\xef\xbb\xbfA", &[]), enc("gbk").decode_lossy(b"\xef\xbb\xbfA"));
        assert_eq!(decode_in_chunks(enc("utf-8"), b"\xef\xbb\xbfA", &[]), "\u{feff}A");
    }

    proptest::proptest! {
        #[test]
        fn streaming_decode_equals_one_shot(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            chunks in proptest::collection::vec(0usize..8, 0..16),
            which in 0usize..10,
        ) {
            let name = ["utf-8", "gbk", "gb18030", "big5", "shift_jis", "euc-kr", "utf-16le",
                        "utf-16be", "latin1", "ascii"][which];
            let e = enc(name);
            proptest::prop_assert_eq!(decode_in_chunks(e, &bytes, &chunks), decode_in_chunks(e, &bytes, &[]));
        }

        #[test]
        fn encode_then_decode_round_trips(text in "\\PC{0,20}", which in 0usize..8) {
            let name = ["utf-8", "gbk", "gb18030", "big5", "shift_jis", "euc-kr", "utf-16le", "utf-16be"][which];
            let e = enc(name);
            // The bytes survive a round trip. (The text may not: Shift_JIS maps ¥ to 0x5C,
            // which is also the backslash, as WHATWG and Windows do.)
            if let Ok(bytes) = e.encode(&text) {
                let again = e.encode(&e.decode_lossy(&bytes)).expect("decoded text encodes");
                proptest::prop_assert_eq!(again, bytes);
            }
        }

        #[test]
        fn pieces_reassemble_to_the_input(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            chunks in proptest::collection::vec(0usize..8, 0..16),
            which in 0usize..3,
        ) {
            let e = enc(["utf-8", "utf-16le", "ascii"][which]);
            let mut d = e.decoder();
            let mut out = Vec::new();
            let mut push = |p: Piece<'_>| match p {
                Piece::Text(t) => out.extend(e.encode(t).unwrap()),
                Piece::Malformed(b) => out.extend_from_slice(b),
            };
            let mut rest = &bytes[..];
            for n in chunks {
                let n = n.min(rest.len());
                d.feed(&rest[..n], false, &mut push);
                rest = &rest[n..];
            }
            d.feed(rest, true, &mut push);
            proptest::prop_assert_eq!(out, bytes);
        }
    }
}
