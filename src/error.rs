//! Errors a person can cause or meet, each saying what happened, what was involved and what
//! to do. `main` prints one line (`error: ...`) and exits non-zero.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "port {port} is already in use on {addr}{}; pick another port or stop the program using it (`netassist port {port}` shows more)",
        .held.as_ref().map(|h| format!(", held by {h}")).unwrap_or_default()
    )]
    PortInUse { addr: SocketAddr, port: u16, held: Option<String> },

    #[error(
        "port {port} needs privileges: ports 0-1023 are well-known ports only root may bind here; run as root or pick a port from 1024 to 65535"
    )]
    PortPrivileged { port: u16 },

    #[error("cannot bind {addr}: that address is not on this machine; `netassist ip` lists its addresses")]
    AddressNotLocal { addr: SocketAddr },

    #[error("cannot resolve host '{host}': {reason}; check the name, or give an IP address")]
    Resolve { host: String, reason: String },

    #[error("connection to {addr} refused: nothing listens on port {port} there; is the server running?")]
    Refused { addr: SocketAddr, port: u16 },

    #[error(
        "connecting to {target} timed out after {seconds}; is the host up and the port open? (raise it with --connect-timeout)"
    )]
    ConnectTimeout { target: String, seconds: String },

    #[error("cannot reach {addr}: {reason}; check the address and this machine's network (`netassist ip`)")]
    Unreachable { addr: SocketAddr, reason: String },

    #[error("nothing listens on {addr} (UDP): it answered with ICMP port unreachable; is the server running?")]
    UdpRefused { addr: SocketAddr },

    #[error("TLS handshake with {peer} failed: {reason}")]
    Tls { peer: String, reason: String },

    #[error("connection to {addr} was reset by the peer")]
    Reset { addr: SocketAddr },

    /// A benchmark found wrong bytes or lost connections.
    #[error("{0}")]
    Failed(String),

    /// A bad argument value that clap could not catch: bad hex, a bad escape, an unencodable
    /// character. `what` names the argument.
    #[error("{what}: {message}")]
    Argument { what: String, message: String },

    /// Something the command line asked for that this machine refuses (ICMP without
    /// permission, a broadcast address without --broadcast): exit status 1.
    #[error("{what}: {message}")]
    Denied { what: String, message: String },

    #[error("cannot read {}: {}; check the path and its permissions", .path.display(), io_reason(.source))]
    File { path: PathBuf, source: io::Error },

    #[error("{context}: {}", io_reason(.source))]
    Io { context: String, source: io::Error },
}

/// The OS's words for an I/O error, without Rust's "(os error N)" suffix.
pub fn io_reason(e: &io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

impl Error {
    /// A mistake in the command line (exit status 2), rather than something that happened.
    pub fn is_usage(&self) -> bool {
        matches!(self, Error::Argument { .. })
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
