//! Which encoding received bytes are really in, for the mistake every learner makes first:
//! GBK read as UTF-8 (`\xc4\xe3\xba...`), or UTF-8 read as GBK (mojibake shown as if it
//! were text). chardetng, the detector Firefox ships (by encoding_rs's author), guesses
//! among the legacy encodings and UTF-8; UTF-16 without a byte order mark is recognised
//! here by its zero bytes. A [`Guesser`] watches one connection's first bytes and speaks
//! at most once.

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};

use super::{Piece, TextEncoding};

/// How many of a connection's first bytes are looked at.
const SAMPLE: usize = 4096;

/// Non-ASCII bytes seen before a chosen encoding that fits is trusted.
const ENOUGH: usize = 16;

/// Watches one connection's received bytes until it knows whether the chosen encoding fits.
#[derive(Debug, Default)]
pub struct Guesser {
    seen: Vec<u8>,
    settled: bool,
}

impl Guesser {
    /// Takes the next received bytes; returns the encoding to suggest, once, when `chosen`
    /// does not fit them and another common encoding does.
    pub fn feed(&mut self, chosen: TextEncoding, bytes: &[u8]) -> Option<TextEncoding> {
        if self.settled {
            return None;
        }
        // Plain ASCII fits every choice: nothing is kept for it (an idle or ASCII-only
        // connection holds no sample), until a byte that can tell encodings apart comes.
        if self.seen.is_empty() && bytes.iter().all(|b| b.is_ascii() && *b != 0) {
            return None;
        }
        let room = SAMPLE - self.seen.len();
        self.seen.extend_from_slice(&bytes[..bytes.len().min(room)]);
        let full = self.seen.len() >= SAMPLE;
        let non_ascii = self.seen.iter().filter(|b| !b.is_ascii()).count();
        if non_ascii == 0 && looks_utf16(&self.seen).is_none() {
            self.settle_if(full);
            return None;
        }
        let guess = detect(&self.seen);
        let fits = clean(chosen, &self.seen);
        let better = guess.filter(|g| *g != chosen && clean(*g, &self.seen));
        match (fits, better) {
            // Bytes that do not decode, and a common encoding in which they do.
            (false, Some(g)) => {
                self.settled = true;
                Some(g)
            }
            // Valid UTF-8 that also decodes as GBK or Big5: mojibake, far more likely UTF-8.
            (true, Some(g)) if g.is_utf8() && multibyte_utf8(&self.seen) >= 2 => {
                self.settled = true;
                Some(g)
            }
            // Text with a NUL in every other byte "decodes" in anything: it is UTF-16.
            (true, Some(g)) if g.is_utf16() => {
                self.settled = true;
                Some(g)
            }
            _ => {
                self.settle_if(full || (fits && non_ascii >= ENOUGH));
                None
            }
        }
    }

    fn settle_if(&mut self, done: bool) {
        if done {
            self.settled = true;
            self.seen = Vec::new();
        }
    }
}

/// The common encoding these bytes are most likely in; `None` for plain ASCII or an
/// encoding outside the common set (a guess of windows-1252 helps nobody here).
pub fn detect(bytes: &[u8]) -> Option<TextEncoding> {
    if let Some(utf16) = looks_utf16(bytes) {
        return Some(utf16);
    }
    if bytes.is_ascii() {
        return None;
    }
    if clean(TextEncoding::UTF8, bytes) {
        return Some(TextEncoding::UTF8);
    }
    let mut detector = EncodingDetector::new(Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    let found = detector.guess(None, Utf8Detection::Allow);
    let name = found.name();
    if ["GBK", "gb18030", "Big5", "Shift_JIS", "EUC-KR", "EUC-JP", "UTF-8"].contains(&name) {
        TextEncoding::from_name(name)
    } else {
        None
    }
}

/// Decodes with no malformed byte (a character cut off at the end does not count).
fn clean(encoding: TextEncoding, bytes: &[u8]) -> bool {
    let mut ok = true;
    encoding.decoder().feed(bytes, false, |piece| {
        if let Piece::Malformed(_) = piece {
            ok = false;
        }
    });
    ok
}

/// Characters of two or more bytes in valid UTF-8.
fn multibyte_utf8(bytes: &[u8]) -> usize {
    bytes.iter().filter(|b| (0xc2..=0xf4).contains(*b)).count()
}

/// UTF-16 without a byte order mark: text in the Latin or CJK ranges has a zero (or a
/// small) byte in every other position.
fn looks_utf16(bytes: &[u8]) -> Option<TextEncoding> {
    let pairs = bytes.len() / 2;
    if pairs < 2 {
        return None;
    }
    let zeros = |offset: usize| bytes.iter().skip(offset).step_by(2).take(pairs).filter(|b| **b == 0).count();
    let (even, odd) = (zeros(0), zeros(1));
    // Most high bytes zero (ASCII text) and no low byte zero.
    let le = odd * 2 >= pairs && even == 0;
    let be = even * 2 >= pairs && odd == 0;
    match (le, be) {
        (true, false) => TextEncoding::from_name("utf-16le"),
        (false, true) => TextEncoding::from_name("utf-16be"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(name: &str) -> TextEncoding {
        TextEncoding::from_name(name).unwrap()
    }

    const GREETING: &str = "你好服务端，我是客户端小黑!";

    #[test]
    fn gbk_read_as_utf8_is_named() {
        let bytes = enc("gbk").encode(GREETING).unwrap();
        let mut g = Guesser::default();
        assert_eq!(g.feed(TextEncoding::UTF8, &bytes), Some(enc("gbk")));
        assert_eq!(g.feed(TextEncoding::UTF8, &bytes), None, "once per connection");
    }

    #[test]
    fn utf8_read_as_gbk_is_mojibake_and_named() {
        let mut g = Guesser::default();
        assert_eq!(g.feed(enc("gbk"), GREETING.as_bytes()), Some(TextEncoding::UTF8));
    }

    #[test]
    fn big5_and_utf16_are_recognised() {
        let big5 = enc("big5").encode("你好，這是繁體中文的訊息").unwrap();
        assert_eq!(detect(&big5), Some(enc("big5")));
        let le = enc("utf-16le").encode("hello, world").unwrap();
        assert_eq!(detect(&le), Some(enc("utf-16le")));
        let be = enc("utf-16be").encode("hello, world").unwrap();
        assert_eq!(detect(&be), Some(enc("utf-16be")));
        let mut g = Guesser::default();
        assert_eq!(g.feed(TextEncoding::UTF8, &le), Some(enc("utf-16le")));
    }

    #[test]
    fn a_fitting_choice_is_left_alone() {
        let mut g = Guesser::default();
        assert_eq!(g.feed(enc("gbk"), &enc("gbk").encode(GREETING).unwrap()), None);
        assert!(g.settled, "16 non-ASCII bytes that fit are enough");
        let mut g = Guesser::default();
        assert_eq!(g.feed(TextEncoding::UTF8, GREETING.as_bytes()), None);
        let mut g = Guesser::default();
        for _ in 0..300 {
            assert_eq!(g.feed(TextEncoding::UTF8, b"GET / HTTP/1.1\r\n"), None);
        }
        assert_eq!(g.seen.capacity(), 0, "plain ASCII is not kept");
    }

    #[test]
    fn a_character_cut_across_reads_is_not_a_mistake() {
        let bytes = GREETING.as_bytes();
        let mut g = Guesser::default();
        assert_eq!(g.feed(TextEncoding::UTF8, &bytes[..4]), None);
        assert_eq!(g.feed(TextEncoding::UTF8, &bytes[4..]), None);
    }

    #[test]
    fn plain_ascii_is_not_kept_even_once() {
        let mut g = Guesser::default();
        assert_eq!(g.feed(TextEncoding::UTF8, b"GET / HTTP/1.1\r\n"), None);
        assert_eq!(g.seen.capacity(), 0);
    }

    /// Only a connection's first 4096 bytes are looked at: GBK after them is not named.
    #[test]
    fn only_the_first_4096_bytes_are_looked_at() {
        let mut g = Guesser::default();
        assert_eq!(g.feed(TextEncoding::UTF8, "ééééééé".as_bytes()), None);
        let mut rest = vec![b'a'; SAMPLE - 14];
        rest.extend(enc("gbk").encode(GREETING).unwrap());
        assert_eq!(g.feed(TextEncoding::UTF8, &rest), None);
        assert!(g.settled);
    }

    /// A NUL is not plain ASCII: what follows is still looked at.
    #[test]
    fn a_nul_then_gbk_is_named() {
        let mut g = Guesser::default();
        assert_eq!(g.feed(TextEncoding::UTF8, b"a\0"), None);
        assert!(!g.settled);
        assert_eq!(g.feed(TextEncoding::UTF8, &enc("gbk").encode(GREETING).unwrap()), Some(enc("gbk")));
    }

    /// UTF-8 that also decodes as GBK is named only with two multibyte characters or more.
    #[test]
    fn mojibake_needs_two_multibyte_characters() {
        assert_eq!(Guesser::default().feed(enc("gbk"), "aéb".as_bytes()), None);
        assert_eq!(Guesser::default().feed(enc("gbk"), "éé".as_bytes()), Some(TextEncoding::UTF8));
    }

    /// Latin-1 decodes any bytes: GBK read as Latin-1 is not a mistake the bytes show.
    #[test]
    fn a_choice_that_decodes_everything_is_left_alone() {
        assert_eq!(Guesser::default().feed(enc("latin1"), &enc("gbk").encode(GREETING).unwrap()), None);
    }

    /// Bytes that fit no common encoding: nothing is said, and more bytes are still looked at.
    #[test]
    fn bytes_in_no_common_encoding_keep_it_watching() {
        let mut g = Guesser::default();
        let odd: Vec<u8> = (0..40).map(|i| if i % 2 == 0 { 0xff } else { b'a' }).collect();
        assert_eq!(g.feed(TextEncoding::UTF8, &odd), None);
        assert!(!g.settled);
    }

    #[test]
    fn utf16_needs_two_characters() {
        assert_eq!(detect(b"a\0b\0"), Some(enc("utf-16le")));
        assert_eq!(detect(b"a\0"), None);
    }
}
