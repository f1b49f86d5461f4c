//! Errors a person can cause or meet, each saying what happened, what was involved and what
//! to do. `main` prints one line (`error: ...`) and exits non-zero. Their words are made in
//! [`crate::words`].

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    PortInUse {
        addr: SocketAddr,
        port: u16,
        held: Option<String>,
    },

    PortPrivileged {
        port: u16,
    },

    AddressNotLocal {
        addr: SocketAddr,
    },

    Resolve {
        host: String,
        reason: String,
    },

    Refused {
        addr: SocketAddr,
        port: u16,
    },

    ConnectTimeout {
        target: String,
        seconds: String,
    },

    Unreachable {
        addr: SocketAddr,
        reason: String,
    },

    UdpRefused {
        addr: SocketAddr,
    },

    Tls {
        peer: String,
        reason: String,
    },

    Reset {
        addr: SocketAddr,
    },

    /// A Unix socket address something else answers on.
    UnixInUse {
        addr: String,
    },

    /// A path to listen on that is there and is not a socket.
    NotASocket {
        path: PathBuf,
    },

    UnixConnect {
        addr: String,
        reason: String,
    },

    /// A proxy did not (or could not) reach the target.
    Proxy {
        proxy: String,
        target: String,
        reason: String,
    },

    /// A benchmark found wrong bytes or lost connections.
    Failed(String),

    /// A bad argument value that clap could not catch: bad hex, a bad escape, an unencodable
    /// character. `what` names the argument.
    Argument {
        what: String,
        message: String,
    },

    /// Something the command line asked for that this machine refuses (ICMP without
    /// permission, a broadcast address without --broadcast): exit status 1.
    Denied {
        what: String,
        message: String,
    },

    File {
        path: PathBuf,
        source: io::Error,
    },

    Io {
        context: String,
        source: io::Error,
    },
}

/// The OS's words for an I/O error, without Rust's "(os error N)" suffix.
pub fn io_reason(e: &io::Error) -> String {
    // In Chinese, the errors people meet most, in the words the lesson uses.
    if let Some(code) = e.raw_os_error()
        && crate::lang::current() == crate::lang::Lang::Zh
        && let Some(text) = crate::_rust_i18n_try_translate("zh-CN", format!("os.e{code}"))
    {
        return text.into_owned();
    }
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

/// An error carried in an event (a notice, a close reason): shared, compared by identity.
#[derive(Debug, Clone)]
pub struct Shared(pub Arc<Error>);

impl Shared {
    pub fn new(e: Error) -> Shared {
        Shared(Arc::new(e))
    }
}

impl PartialEq for Shared {
    fn eq(&self, other: &Shared) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Shared {}

impl std::fmt::Display for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
