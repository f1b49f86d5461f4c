//! What this machine's network looks like: interfaces and their addresses.

pub mod interfaces;
pub mod ports;
