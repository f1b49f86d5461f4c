//! Pure rendering, shared by every view and never touching a socket: encodings (streaming
//! decode, strict encode), escapes, hex, timestamps.

pub mod encoding;
pub mod escape;
pub mod guess;
pub mod hex;
pub mod time;

pub use encoding::{Piece, StreamDecoder, TextEncoding};
