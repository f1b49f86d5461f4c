//! Device protocols' building blocks: where a message ends in a byte stream ([`frame`]) and
//! the checksums frames carry ([`checksum`]), both pure and in `netassist-text`, and the
//! reply rules of a device simulator ([`rules`]).

pub use netassist_text::proto::{checksum, frame};
pub mod rules;
