//! The modes: each a `run(...)` that takes a bound listener or a connected stream, an
//! event sink and a shutdown token, so tests hand them sockets on port 0.

pub mod bench;
mod carry;
pub mod client;
pub mod conn;
pub mod connection;
mod dgram;
pub mod dial;
pub mod exec;
pub mod inbound;
pub mod listener;
mod mmsg;
pub mod proxy;
mod ready_set;
mod received;
pub mod recency;
pub mod relay;
mod relay_io;
pub mod relay_udp;
pub mod relay_view;
pub mod server;
#[cfg(target_os = "linux")]
pub mod splice;
pub mod stream;
mod timer;
pub mod udp;
pub mod udp_client;
