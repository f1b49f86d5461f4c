//! Pure rendering, shared by every view and never touching a socket: encodings (streaming
//! decode, strict encode), escapes, hex, timestamps.

pub mod encoding;
pub mod escape;
pub mod guess;
pub mod hex;
pub mod time;

pub use encoding::{Piece, StreamDecoder, TextEncoding};

/// `text` padded with spaces to `width` terminal columns (a CJK character takes two), so
/// labels line up in either language.
pub fn padded(text: &str, width: usize) -> String {
    let used = unicode_width::UnicodeWidthStr::width(text);
    format!("{text}{}", " ".repeat(width.saturating_sub(used)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn padded_counts_columns_not_characters() {
        assert_eq!(super::padded("中文", 6), "中文  ");
        assert_eq!(super::padded("ab", 4), "ab  ");
        assert_eq!(super::padded("abcdef", 4), "abcdef");
    }
}
