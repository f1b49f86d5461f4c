//! The one vocabulary of every mode: sockets produce [`Event`]s, views render them. Events
//! carry raw bytes and facts, never formatted text; formatting belongs to the sinks.

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use bytes::Bytes;

/// A short per-run id for a connection (TCP) or a peer address (UDP), shown as `#3`.
pub type ConnId = u64;

/// Which way bytes went, seen from netassist (or, in the relay, between the two legs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    In,
    Out,
    /// Relay: from the client to the target.
    C2T,
    /// Relay: from the target to the client.
    T2C,
}

impl Dir {
    pub fn as_str(self) -> &'static str {
        match self {
            Dir::In => "in",
            Dir::Out => "out",
            Dir::C2T => "c2t",
            Dir::T2C => "t2c",
        }
    }
}

/// Who is at an end of a connection: an IP address and port, a Unix socket (with the
/// peer process's credentials when the OS gives them), or a target a proxy client named.
/// Its text is in `Display`; events, sinks and the UI carry a `Peer` and need no other change.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Peer {
    Ip(SocketAddr),
    /// `unix:PATH` or `unix:@NAME` (an accepted client's own socket has no name: this is the
    /// listener's), with SO_PEERCRED's pid and uid.
    Unix {
        path: String,
        pid: Option<i32>,
        uid: Option<u32>,
    },
    /// A target reached by the name a client (SOCKS5, HTTP CONNECT) or a proxy asked for.
    Named {
        name: String,
        addr: SocketAddr,
    },
}

impl Peer {
    /// The peer's IP address and port, for what only IP peers have (access rules, UDP).
    pub fn ip(&self) -> Option<SocketAddr> {
        match self {
            Peer::Ip(a) | Peer::Named { addr: a, .. } => Some(*a),
            Peer::Unix { .. } => None,
        }
    }

    /// The port, for an IP peer.
    pub fn port(&self) -> Option<u16> {
        self.ip().map(|a| a.port())
    }

    /// The address without the credentials (for a JSON field of its own).
    pub fn address(&self) -> String {
        match self {
            Peer::Ip(a) => a.to_string(),
            Peer::Unix { path, .. } => path.clone(),
            Peer::Named { name, .. } => name.clone(),
        }
    }
}

impl From<SocketAddr> for Peer {
    fn from(addr: SocketAddr) -> Peer {
        Peer::Ip(addr)
    }
}

impl std::str::FromStr for Peer {
    type Err = std::net::AddrParseError;

    /// `127.0.0.1:9`, `[::1]:9`.
    fn from_str(s: &str) -> Result<Peer, Self::Err> {
        s.parse::<SocketAddr>().map(Peer::Ip)
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Ip(a) => a.fmt(f),
            Peer::Unix { path, pid, uid } => {
                // A path is the user's or the OS's: shown escaped. An accepted client's own
                // socket has none: it is its process.
                let cred = match (pid, uid) {
                    (Some(pid), Some(uid)) => format!("pid {pid}, uid {uid}"),
                    (None, Some(uid)) => format!("uid {uid}"),
                    _ => String::new(),
                };
                match (path.is_empty(), cred.is_empty()) {
                    (true, true) => f.write_str("unix"),
                    (true, false) => f.write_str(&cred),
                    (false, true) => f.write_str(&crate::render::escape::shown_name(path)),
                    (false, false) => write!(f, "{} ({cred})", crate::render::escape::shown_name(path)),
                }
            }
            Peer::Named { name, addr } => write!(f, "{} ({addr})", crate::render::escape::shown_name(name)),
        }
    }
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The peer sent FIN: the lesson's `recv()` returning 0 bytes.
    PeerClosed,
    /// The peer sent RST (or the OS reported the connection broken).
    Reset,
    IdleTimeout(Duration),
    Kicked,
    /// The server is stopping (ctrl-c, SIGTERM, `:quit`); the client was sent FIN.
    Stopping,
    /// The client finished: nothing left to send and no data for the `--wait` time.
    Done(Duration),
    /// The client did not read what was queued for it and the queue limit was reached.
    QueueFull(usize),
    /// UDP: an ICMP port unreachable came back: nothing listens at the target.
    PortUnreachable(SocketAddr),
    /// Relay: both sides sent FIN, each passed on to the other.
    BothClosed,
    /// Relay: the client reset its connection; the target was reset too.
    ClientReset,
    /// Relay: the target reset its connection; the client was reset too.
    TargetReset,
    /// Relay: the target could not be reached for this client.
    TargetFailed(Box<crate::notice::Notice>),
    /// A rule (`--rule ... => close`) closed it.
    RuleClose,
    /// `--exec`: the child's output ended (it exited): the peer was closed.
    ChildEnded,
    /// UDP: the quietest source, forgotten to make room (`--max-peers`, or the relay's
    /// client limit when `relay`).
    Forgotten {
        max: usize,
        relay: bool,
    },
    /// TLS server: no handshake within this time.
    TlsTimeout(Duration),
    /// TLS server: the handshake failed (rustls's words).
    TlsFailed(String),
    /// What the client was to send could not go (an unreadable file, a failed send).
    Failed(Box<crate::notice::Notice>),
    /// Another error from the OS (its words).
    Error(String),
}

impl CloseReason {
    /// A stable token for scripts (the JSON `reason` field).
    pub fn code(&self) -> &'static str {
        match self {
            CloseReason::PeerClosed => "peer_closed",
            CloseReason::Reset => "reset",
            CloseReason::IdleTimeout(_) => "idle_timeout",
            CloseReason::Kicked => "kicked",
            CloseReason::Stopping => "stopping",
            CloseReason::Done(_) => "done",
            CloseReason::QueueFull(_) => "queue_full",
            CloseReason::PortUnreachable(_) => "port_unreachable",
            CloseReason::BothClosed => "both_closed",
            CloseReason::ClientReset => "client_reset",
            CloseReason::TargetReset => "target_reset",
            CloseReason::TargetFailed(_) => "target_failed",
            CloseReason::RuleClose => "rule_close",
            CloseReason::ChildEnded => "child_ended",
            CloseReason::Forgotten { .. }
            | CloseReason::TlsTimeout(_)
            | CloseReason::TlsFailed(_)
            | CloseReason::Failed(_)
            | CloseReason::Error(_) => "error",
        }
    }
}

pub use crate::render::time::seconds;

/// Byte and message counters of one connection, or of a whole run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub msgs_in: u64,
    pub msgs_out: u64,
}

impl Counters {
    pub fn add(&mut self, other: &Counters) {
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.msgs_in += other.msgs_in;
        self.msgs_out += other.msgs_out;
    }
}

/// A connected client, as `:list` shows it.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub id: ConnId,
    pub peer: Peer,
    pub since: SystemTime,
    pub counters: Counters,
}

/// What a TLS handshake agreed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// `TLS 1.3`
    pub version: String,
    /// `TLS13_AES_256_GCM_SHA384`
    pub cipher: String,
    pub alpn: Option<String>,
    /// The peer certificate's subject (`CN=localhost`), if it sent one.
    pub peer_subject: Option<String>,
    /// SHA-256 of the peer certificate, `AB:CD:...`.
    pub peer_sha256: Option<String>,
    /// The last day the peer certificate is valid.
    pub peer_not_after: Option<String>,
}

/// An address a peer can reach a listening socket at.
#[derive(Debug, Clone)]
pub struct Reachable {
    pub addr: SocketAddr,
    pub interface: String,
    pub loopback: bool,
}

/// Who opened a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// A client connected to our listening socket.
    Accepted,
    /// We connected to a server (the OS chose our local port).
    Initiated,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Accepted => "accepted",
            Side::Initiated => "initiated",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
    /// A Unix stream socket: a byte stream as TCP is.
    Unix,
}

impl Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Unix => "unix",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Event {
    pub time: SystemTime,
    pub kind: EventKind,
}

impl Event {
    pub fn now(kind: EventKind) -> Event {
        Event { time: SystemTime::now(), kind }
    }
}

#[derive(Debug, Clone)]
pub enum EventKind {
    /// A socket is bound and listening.
    Listening {
        proto: Proto,
        addr: Peer,
        /// Whether one IPv6 socket also takes IPv4 clients.
        dual_stack: bool,
        backlog: Option<u32>,
        reachable: Vec<Reachable>,
        /// The relay's target (`host:port`), for a relay.
        relay_to: Option<String>,
    },
    Connected {
        id: ConnId,
        proto: Proto,
        peer: Peer,
        local: Peer,
        side: Side,
        /// What the TLS handshake agreed on, for a TLS connection.
        tls: Option<Box<TlsInfo>>,
    },
    /// A client was closed at once, before it got an id's worth of service.
    Rejected {
        peer: Peer,
        reason: crate::notice::Rejection,
        turned: crate::notice::Turned,
    },
    Data {
        id: ConnId,
        peer: Peer,
        dir: Dir,
        bytes: Bytes,
        /// What the framer or the checksum check says of this message.
        mark: Mark,
    },
    Closed {
        id: ConnId,
        peer: Peer,
        reason: CloseReason,
        counters: Counters,
        duration: Duration,
    },
    /// The answer to `:list`.
    Clients(Vec<ClientInfo>),
    /// Something went wrong that does not end the run.
    Error {
        id: Option<ConnId>,
        notice: crate::notice::Notice,
    },
    /// A remark for the person at the terminal (e.g. a `:help` text, a rules reload).
    Note(crate::notice::Notice),
    /// A socket call narrated in the lesson's terms (`--explain`).
    Explain(crate::notice::Step),
    /// The socket's buffer sizes as the kernel granted them (`--sndbuf`, `--rcvbuf`).
    Buffers(crate::net::Buffers),
    /// A byte stream ended with FIN: for a client `Out` (we shut our write side: nothing
    /// more to send, still receiving); for the relay `C2T` or `T2C` (one side sent FIN and
    /// it was passed on to the other).
    HalfClosed {
        id: ConnId,
        dir: Dir,
    },
    /// The run ends: totals.
    Stopped {
        clients: u64,
        counters: Counters,
        duration: Duration,
    },
}

// ---- The engines' side of the output ----------------------------------------------------

mod queue;
pub use queue::{Events, Incoming, QUEUE_BYTES, Sending};

/// What is known of one message beyond its bytes (`--frame`, `--verify`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Mark {
    #[default]
    None,
    /// The stream ended inside a message: these are its first bytes.
    Incomplete,
    /// No message ended within `--max-frame` bytes: these are shown raw.
    TooLong(usize),
    /// `--verify`: the trailing checksum is right.
    CheckOk(&'static str),
    /// `--verify`: it is not; what the bytes before it give, and what came.
    CheckBad { name: &'static str, expected: Vec<u8>, got: Vec<u8> },
    /// `--verify`: the message is shorter than a checksum.
    CheckShort(&'static str),
}

impl Mark {
    /// For JSON's `check` field.
    pub fn check_code(&self) -> Option<&'static str> {
        match self {
            Mark::CheckOk(_) => Some("ok"),
            Mark::CheckBad { .. } | Mark::CheckShort(_) => Some("bad"),
            _ => None,
        }
    }
}

/// Who a command is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    All,
    Ids(Vec<ConnId>),
}

/// What the user asks of a running mode: from stdin lines, and later from UI keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Send { to: Target, bytes: Bytes },
    Kick(Vec<ConnId>),
    List,
    Help,
    Quit,
}
