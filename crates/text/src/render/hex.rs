//! Hex both ways: what people type (`01 02 ff`, `0102ff`, `0x01,0x02`, `01:02`) into bytes,
//! with the position of a bad digit; bytes into a dump (offset, bytes, printable column)
//! and into plain lowercase hex for JSON.

use rust_i18n::t;
use std::fmt::{self, Write};

/// Why typed hex could not become bytes. Positions are 1-based characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HexError {
    BadDigit { position: usize, found: char },
    OddDigits { position: usize, token: String },
}

impl fmt::Display for HexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HexError::BadDigit { position, found } => {
                f.write_str(&t!("hex.bad_digit", found = found.escape_debug(), position = position))
            }
            HexError::OddDigits { position, token } => {
                f.write_str(&t!("hex.odd_digits", token = token, position = position))
            }
        }
    }
}

impl std::error::Error for HexError {}

fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, ',' | ':' | '-' | ';')
}

/// Parses hex bytes. Separators (space, comma, colon, dash) split tokens; a token is digits in
/// pairs, optionally after `0x`. A token of odd length (`7`, `0x1`, `7E012`) is an error
/// naming its position: `7E 0` is never quietly `7e 00`.
pub fn parse_hex(input: &str) -> Result<Vec<u8>, HexError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::with_capacity(chars.len() / 2);
    let mut i = 0;
    while i < chars.len() {
        if is_separator(chars[i]) {
            i += 1;
            continue;
        }
        let start = i;
        if chars[i] == '0' && matches!(chars.get(i + 1), Some('x' | 'X')) {
            i += 2;
        }
        let digits_start = i;
        while i < chars.len() && !is_separator(chars[i]) {
            if !chars[i].is_ascii_hexdigit() {
                return Err(HexError::BadDigit { position: i + 1, found: chars[i] });
            }
            i += 1;
        }
        let digits = &chars[digits_start..i];
        let value = |c: char| c.to_digit(16).expect("checked to be a hex digit") as u8;
        match digits.len() {
            0 => {
                // "0x" with nothing after it: the x is not a digit.
                return Err(HexError::BadDigit { position: start + 2, found: chars[start + 1] });
            }
            n if n % 2 == 1 => {
                return Err(HexError::OddDigits { position: start + 1, token: chars[start..i].iter().collect() });
            }
            _ => out.extend(digits.chunks(2).map(|p| value(p[0]) << 4 | value(p[1]))),
        }
    }
    Ok(out)
}

const DIGITS: &[u8; 16] = b"0123456789abcdef";

fn push_byte(out: &mut String, b: u8) {
    out.push(char::from(DIGITS[usize::from(b >> 4)]));
    out.push(char::from(DIGITS[usize::from(b & 15)]));
}

/// Lowercase hex, no separators.
pub fn to_hex(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.extend_from_slice(&[DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]]);
    }
    String::from_utf8(out).expect("hex digits are ASCII")
}

/// Lowercase hex with a space between bytes (`7e 01 ff`), as people type it.
pub fn spaced(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, &b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        push_byte(&mut out, b);
    }
    out
}

/// Appends a dump, 16 bytes a line: `indent`, offset, the bytes in two groups of eight, and
/// the printable ASCII column, as `hexdump -C` shows it. Each line ends with '\n'.
pub fn dump_into(bytes: &[u8], indent: &str, out: &mut String) {
    let wide = bytes.len() > 0x10000;
    for (line, chunk) in bytes.chunks(16).enumerate() {
        let offset = line * 16;
        out.push_str(indent);
        if wide {
            write!(out, "{offset:08x}  ").expect("String write");
        } else {
            write!(out, "{offset:04x}  ").expect("String write");
        }
        for i in 0..16 {
            match chunk.get(i) {
                Some(&b) => {
                    push_byte(out, b);
                    out.push(' ');
                }
                None => out.push_str("   "),
            }
            if i == 7 {
                out.push(' ');
            }
        }
        out.push(' ');
        out.push('|');
        out.extend(chunk.iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { char::from(b) } else { '.' }));
        out.push_str("|\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaced_puts_one_space_between_bytes() {
        assert_eq!(spaced(&[0x7e, 0x01, 0xff]), "7e 01 ff");
        assert_eq!(spaced(&[0x05]), "05");
        assert_eq!(spaced(&[]), "");
    }

    #[test]
    fn accepts_the_forms_people_type() {
        let want = vec![0x01, 0x02, 0xff];
        for input in [
            "01 02 ff",
            "0102ff",
            "0x01,0x02,0xff",
            "0x01 0x02 0xFF",
            "01:02:FF",
            "01-02-ff",
            " 01\t02\nff ",
            "0x0102ff",
            "0x01 0x02 0xff",
        ] {
            assert_eq!(parse_hex(input).unwrap(), want, "{input:?}");
        }
        assert_eq!(parse_hex("").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn errors_give_the_position() {
        assert_eq!(parse_hex("01 0g").unwrap_err(), HexError::BadDigit { position: 5, found: 'g' });
        assert_eq!(parse_hex("0x").unwrap_err(), HexError::BadDigit { position: 2, found: 'x' });
        assert_eq!(parse_hex("ab 123").unwrap_err(), HexError::OddDigits { position: 4, token: "123".into() });
        // One rule for every group of odd length, a single digit too: never a quiet 0 in front.
        assert_eq!(parse_hex("7E 0").unwrap_err(), HexError::OddDigits { position: 4, token: "0".into() });
        assert_eq!(parse_hex("7E a").unwrap_err(), HexError::OddDigits { position: 4, token: "a".into() });
        assert_eq!(parse_hex("7E012").unwrap_err(), HexError::OddDigits { position: 1, token: "7E012".into() });
        assert_eq!(parse_hex("01,0x1").unwrap_err(), HexError::OddDigits { position: 4, token: "0x1".into() });
        assert!(parse_hex("你好").unwrap_err().to_string().starts_with("'你' at position 1 is not a hex digit"));
    }

    #[test]
    fn offsets_widen_only_past_64k() {
        for (len, digits) in [(0x10000usize, 4), (0x10001, 8)] {
            let mut out = String::new();
            dump_into(&vec![0u8; len], "", &mut out);
            let last = out.lines().last().unwrap();
            let offset = last.split_whitespace().next().unwrap();
            assert_eq!(offset.len(), digits, "{len} bytes: {last}");
        }
    }

    #[test]
    fn plain_hex_is_lowercase() {
        assert_eq!(to_hex(&[0, 0xab, 0xff]), "00abff");
    }

    #[test]
    fn dump_looks_like_hexdump_c() {
        let mut out = String::new();
        dump_into(b"Hello, world!\r\n\x00\x01abc", "  ", &mut out);
        assert_eq!(
            out,
            "  0000  48 65 6c 6c 6f 2c 20 77  6f 72 6c 64 21 0d 0a 00  |Hello, world!...|\n\
             \x20 0010  01 61 62 63                                       |.abc|\n"
        );
    }

    proptest::proptest! {
        #[test]
        fn bytes_to_hex_and_back(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            proptest::prop_assert_eq!(parse_hex(&to_hex(&bytes)).unwrap(), bytes.clone());
            let spaced: Vec<String> = bytes.iter().map(|b| format!("0x{b:02X}")).collect();
            proptest::prop_assert_eq!(parse_hex(&spaced.join(", ")).unwrap(), bytes);
        }
    }
}
