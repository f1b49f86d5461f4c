//! netassist's pure parts, which never touch a socket: [`render`] turns bytes into text in
//! an encoding, escapes, hex and timestamps (and text back into bytes), and [`proto`] holds
//! the device protocols' building blocks, where a message ends in a byte stream and the
//! checksums frames carry.
//!
//! A crate of its own so that its tests build in a second, not the whole tool's:
//! `bench/mutants.sh` mutates every function here and runs these tests each time. Its
//! messages are in `locales/netassist-text.toml`, both languages side by side, and follow
//! the language the tool sets (`rust_i18n::set_locale`).

pub mod proto;
pub mod render;

rust_i18n::i18n!("locales", fallback = "en");
