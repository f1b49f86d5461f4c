//! The commands that report on this machine and its network rather than hold a
//! conversation: `ip`, `port`, `buffers`, `ping`. Each writes human lines or JSON lines.

pub mod buffers;
pub mod ip;
pub mod ping;
pub mod port;
