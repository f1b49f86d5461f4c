//! Escapes both ways. Typed text (`--send`, `--reply`) takes `\r \n \t \\ \0 \e \xHH \u{H..}`
//! and becomes bytes in the chosen encoding (`\xHH` is a raw byte, never encoded). Received
//! text is shown with the same escapes for control characters, so a peer cannot drive the
//! user's terminal, and what is shown can be pasted into `--send` to send the same bytes.

use rust_i18n::t;
use std::fmt;

use super::encoding::{TextEncoding, Unencodable};

/// Why typed text could not become bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextError {
    /// A backslash followed by something that is not a known escape.
    BadEscape {
        position: usize,
        found: String,
    },
    Unencodable(Unencodable),
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextError::BadEscape { position, found } => {
                f.write_str(&t!("escape.bad", found = found, position = position))
            }
            TextError::Unencodable(u) => write!(f, "{u}"),
        }
    }
}

impl std::error::Error for TextError {}

/// Turns typed text with escapes into bytes: text runs are encoded with `encoding`, `\xHH`
/// bytes go out as they are.
pub fn text_to_bytes(input: &str, encoding: TextEncoding) -> Result<Vec<u8>, TextError> {
    let mut out = Vec::with_capacity(input.len());
    let mut run = String::new();
    // The 1-based position in `input` of each character of `run` (an escape is several
    // characters of input for one of the run).
    let mut run_at: Vec<usize> = Vec::new();
    let flush = |run: &mut String, run_at: &mut Vec<usize>, out: &mut Vec<u8>| {
        if run.is_empty() {
            return Ok(());
        }
        let bytes = encoding.encode(run).map_err(|mut u| {
            u.position = run_at.get(u.position - 1).copied().unwrap_or(u.position);
            TextError::Unencodable(u)
        })?;
        out.extend_from_slice(&bytes);
        run.clear();
        run_at.clear();
        Ok(())
    };
    // A character for the run, from the input's character `at` (0-based).
    let take = |run: &mut String, run_at: &mut Vec<usize>, c: char, at: usize| {
        run.push(c);
        run_at.push(at + 1);
    };
    let chars: Vec<char> = input.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '\\' {
            take(&mut run, &mut run_at, c, i);
            i += 1;
            continue;
        }
        let bad = |len: usize| TextError::BadEscape {
            position: i + 1,
            found: chars[i..(i + len).min(chars.len())].iter().collect(),
        };
        let simple = match chars.get(i + 1) {
            Some('r') => Some('\r'),
            Some('n') => Some('\n'),
            Some('t') => Some('\t'),
            Some('\\') => Some('\\'),
            Some('0') => Some('\0'),
            Some('e') => Some('\x1b'),
            _ => None,
        };
        if let Some(s) = simple {
            take(&mut run, &mut run_at, s, i);
            i += 2;
            continue;
        }
        match chars.get(i + 1) {
            Some('x') => {
                let digits: String = chars.iter().skip(i + 2).take(2).collect();
                let byte = (digits.len() == 2 && digits.chars().all(|d| d.is_ascii_hexdigit()))
                    .then(|| u8::from_str_radix(&digits, 16).ok())
                    .flatten()
                    .ok_or_else(|| bad(4))?;
                flush(&mut run, &mut run_at, &mut out)?;
                out.push(byte);
                i += 4;
            }
            Some('u') => {
                let close = chars[i..].iter().position(|&c| c == '}').map(|p| p + i);
                let parsed = match (chars.get(i + 2), close) {
                    (Some('{'), Some(close)) if close > i + 3 && close <= i + 9 => {
                        let hex: String = chars[i + 3..close].iter().collect();
                        u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32).map(|c| (c, close))
                    }
                    _ => None,
                };
                let (c, close) = parsed.ok_or_else(|| bad(close.map_or(2, |c| c + 1 - i)))?;
                take(&mut run, &mut run_at, c, i);
                i = close + 1;
            }
            _ => return Err(bad(2)),
        }
    }
    flush(&mut run, &mut run_at, &mut out)?;
    Ok(out)
}

/// Whether a character can act on a terminal or hide what a line says: C0 controls, DEL,
/// C1 controls, zero-width characters, bidirectional controls, line and paragraph
/// separators, the BOM.
pub fn acts_on_terminal(c: char) -> bool {
    matches!(
        c,
        '\0'..='\x1f'
            | '\x7f'..='\u{9f}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}'
    )
}

/// A name or message from a peer or the OS (a certificate subject, a process name, an
/// error text), safe to print: what [`acts_on_terminal`] is escaped as data is; other
/// characters, the backslash too, stay as they are.
pub fn shown_name(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(acts_on_terminal) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut buf = [0u8; 4];
    for c in text.chars() {
        if acts_on_terminal(c) {
            escape_text_into(c.encode_utf8(&mut buf), &mut out);
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Appends `text` to `out` with every character that could act on a terminal escaped
/// (see [`acts_on_terminal`]), and the backslash itself.
pub fn escape_text_into(text: &str, out: &mut String) {
    out.reserve(text.len());
    let bytes = text.as_bytes();
    let mut safe_from = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // Every character to escape starts with an ASCII byte or 0xC2 (U+0080-U+009F) or
        // 0xE2 (the bidi controls); everything else is copied in runs.
        let needs = match b {
            0x00..=0x1f | b'\\' | 0x7f => true,
            0xc2 => matches!(bytes.get(i + 1), Some(0x80..=0x9f)),
            0xe2 => matches!(
                (bytes.get(i + 1), bytes.get(i + 2)),
                (Some(0x80), Some(0x8b..=0x8f | 0xa8..=0xae)) | (Some(0x81), Some(0xa6..=0xa9))
            ),
            0xef => matches!((bytes.get(i + 1), bytes.get(i + 2)), (Some(0xbb), Some(0xbf))),
            _ => false,
        };
        if !needs {
            i += 1;
            continue;
        }
        out.push_str(&text[safe_from..i]);
        let c = text[i..].chars().next().expect("i is at a character boundary");
        match c {
            '\\' => out.push_str("\\\\"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if u32::from(c) < 0x80 => {
                out.push_str("\\x");
                push_hex2(out, u32::from(c) as u8);
            }
            c => {
                out.push_str("\\u{");
                let v = u32::from(c);
                push_hex2(out, (v >> 8) as u8);
                push_hex2(out, v as u8);
                out.push('}');
            }
        }
        i += c.len_utf8();
        safe_from = i;
    }
    out.push_str(&text[safe_from..]);
}

fn push_hex2(out: &mut String, b: u8) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.push(char::from(DIGITS[usize::from(b >> 4)]));
    out.push(char::from(DIGITS[usize::from(b & 15)]));
}

/// Appends bytes that are not text in the chosen encoding as `\xHH`.
pub fn escape_bytes_into(bytes: &[u8], out: &mut String) {
    for &b in bytes {
        out.push_str("\\x");
        push_hex2(out, b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_escapes_name_exactly_what_was_found() {
        let bad = |text: &str| match text_to_bytes(text, TextEncoding::UTF8) {
            Err(TextError::BadEscape { position, found }) => (position, found),
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(bad("ab\\xZ1cd"), (3, "\\xZ1".to_string()));
        assert_eq!(bad("ab\\x1"), (3, "\\x1".to_string()));
        assert_eq!(bad("x\\u{110000}yz"), (2, "\\u{110000}".to_string()));
        assert_eq!(bad("x\\u{}yz"), (2, "\\u{}".to_string()));
        let shown = text_to_bytes("a\\q", TextEncoding::UTF8).unwrap_err().to_string();
        assert!(shown.starts_with("bad escape '\\q' at position 2;"), "{shown}");
    }

    #[test]
    fn bytes_that_are_not_text_are_written_as_hex_escapes() {
        let mut out = String::from("ok ");
        escape_bytes_into(&[0x01, 0xff, 0x7e], &mut out);
        assert_eq!(out, "ok \\x01\\xff\\x7e");
    }

    fn utf8(s: &str) -> Result<Vec<u8>, TextError> {
        text_to_bytes(s, TextEncoding::UTF8)
    }

    fn shown(s: &str) -> String {
        let mut out = String::new();
        escape_text_into(s, &mut out);
        out
    }

    #[test]
    fn invisible_and_reordering_characters_are_shown() {
        assert_eq!(
            shown("a\u{200b}b\u{200d}\u{202e}c\u{2067}\u{feff}\u{2028}\u{2029}"),
            r"a\u{200b}b\u{200d}\u{202e}c\u{2067}\u{feff}\u{2028}\u{2029}"
        );
        // Their neighbours are left alone.
        assert_eq!(
            shown("\u{200a}\u{2010}\u{2027}\u{202f}\u{2065}\u{206a}\u{fefe}你"),
            "\u{200a}\u{2010}\u{2027}\u{202f}\u{2065}\u{206a}\u{fefe}你"
        );
        for c in ['\u{200b}', '\u{2028}', '\u{feff}', '\u{1b}', '\u{9b}'] {
            assert!(acts_on_terminal(c), "{c:?}");
        }
    }

    #[test]
    fn names_from_peers_are_made_safe_and_otherwise_kept() {
        let subject = "CN=\x1b]0;title\x07\x1b[2J\rFAKE";
        assert_eq!(shown_name(subject), r"CN=\x1b]0;title\x07\x1b[2J\rFAKE");
        assert_eq!(shown_name(r"C:\dir 名前"), r"C:\dir 名前");
        assert!(matches!(shown_name("plain"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn escapes_become_bytes() {
        assert_eq!(utf8(r"AT\r\n").unwrap(), b"AT\r\n");
        assert_eq!(utf8(r"a\tb\\c\0\e").unwrap(), b"a\tb\\c\0\x1b");
        assert_eq!(utf8(r"\x00\xFF").unwrap(), vec![0, 0xff]);
        assert_eq!(utf8(r"\u{4f60}").unwrap(), "你".as_bytes());
        assert_eq!(utf8("").unwrap(), b"");
    }

    #[test]
    fn raw_bytes_are_not_encoded() {
        let gbk = TextEncoding::from_name("gbk").unwrap();
        assert_eq!(text_to_bytes(r"你\xff", gbk).unwrap(), vec![0xc4, 0xe3, 0xff]);
        let le = TextEncoding::from_name("utf-16le").unwrap();
        assert_eq!(text_to_bytes(r"A\x01", le).unwrap(), vec![0x41, 0, 1]);
    }

    #[test]
    fn bad_escapes_say_where() {
        assert_eq!(utf8(r"ab\q").unwrap_err(), TextError::BadEscape { position: 3, found: r"\q".into() });
        assert_eq!(utf8(r"\x4").unwrap_err(), TextError::BadEscape { position: 1, found: r"\x4".into() });
        assert_eq!(utf8(r"x\xzz").unwrap_err(), TextError::BadEscape { position: 2, found: r"\xzz".into() });
        assert!(matches!(utf8("end\\"), Err(TextError::BadEscape { position: 4, .. })));
        assert!(matches!(utf8(r"\u{110000}"), Err(TextError::BadEscape { position: 1, .. })));
        assert!(matches!(utf8(r"\u{}"), Err(TextError::BadEscape { .. })));
    }

    #[test]
    fn unencodable_position_counts_the_whole_argument() {
        let gbk = TextEncoding::from_name("gbk").unwrap();
        let err = text_to_bytes(r"\x01ab😀", gbk).unwrap_err();
        let TextError::Unencodable(u) = err else { panic!("{err:?}") };
        assert_eq!((u.character, u.position), ('😀', 7));
    }

    #[test]
    fn positions_after_an_escape_count_from_the_right_place() {
        let gbk = TextEncoding::from_name("gbk").unwrap();
        // A text run that starts right after an escape.
        for (input, at) in [(r"\x01\r😀", 7), (r"\x01\u{1F600}", 5), (r"a\tb😀", 5)] {
            match text_to_bytes(input, gbk).unwrap_err() {
                TextError::Unencodable(u) => assert_eq!((u.character, u.position), ('😀', at), "{input}"),
                other => panic!("{input}: {other:?}"),
            }
        }
        // Seven digits are too many for \u{...}.
        assert!(matches!(utf8(r"\u{0000041}"), Err(TextError::BadEscape { position: 1, .. })));
        // The found text of a \u error is the whole escape, at its position.
        assert_eq!(
            utf8(r"x\u{110000}").unwrap_err(),
            TextError::BadEscape { position: 2, found: r"\u{110000}".into() }
        );
        // U+0080 is the first C1 control: escaped with four digits.
        assert_eq!(shown("\u{80}"), r"\u{0080}");
        assert_eq!(shown("\u{7f}"), r"\x7f");
    }

    #[test]
    fn control_characters_are_shown_escaped() {
        assert_eq!(shown("hi\r\n"), r"hi\r\n");
        assert_eq!(shown("\x1b]0;pwned\x07"), r"\x1b]0;pwned\x07");
        assert_eq!(shown("a\\b"), r"a\\b");
        assert_eq!(shown("\u{9b}2J\u{202e}"), r"\u{009b}2J\u{202e}");
        assert_eq!(shown("你好 ok"), "你好 ok");
    }

    #[test]
    fn shown_text_can_be_sent_again() {
        let original = "a\\b\r\n\x1b[0m\u{85}\t你";
        assert_eq!(utf8(&shown(original)).unwrap(), original.as_bytes());
    }
}
