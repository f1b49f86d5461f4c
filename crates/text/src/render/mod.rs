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
