//! What engines tell the person, as facts: a kind and its values, never a sentence. The
//! words for every fact here (and for [`crate::event::CloseReason`] and the crate's
//! [`crate::error::Error`]) are made in one place, [`crate::words`]: a second language is
//! a change there, not in the engines.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::event::{ConnId, Dir};

/// Which command list `:help` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelpFor {
    Server,
    Relay,
    Udp,
}

/// A remark (`Note`) or a problem (`Error`) that does not end the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// The `:help` text.
    Help(HelpFor),
    /// A line typed into a relay, which only forwards.
    RelayOnlyForwards,
    /// `:kick ID` (or a relay's) for an id nobody has.
    NoSuchClient(ConnId),
    /// `@ID text` for an id nobody has.
    NotSentNoSuchClient(ConnId),
    /// A typed line with nobody connected.
    NoClient,
    /// UDP: `@ID` or `:kick ID` for an unknown source.
    NoSuchSource(ConnId),
    /// UDP: a typed line before any datagram came in.
    NoSenderYet,
    /// UDP: a message larger than one datagram can carry to that peer.
    TooBigForDatagram { len: usize, to: SocketAddr, max: usize },
    /// UDP: sendto failed (the OS's words in `why`).
    CannotSend { to: SocketAddr, why: String },
    /// UDP: a delayed answer (`after MS`) was dropped: `max` bytes of them wait already.
    TooManyLater { to: SocketAddr, max: usize },
    /// UDP: an answer (`--echo`, `--reply`, a rule) could not be sent.
    CannotAnswer { to: SocketAddr, why: String },
    /// A stdin line that did not convert (bad hex, an unencodable character).
    LineNotSent { line: u64, why: String },
    /// `:kick` without ids it can read.
    BadKick { ids: String },
    /// A `:word` that is no command.
    UnknownCommand { word: String },
    /// `@what text` where `what` is no id list.
    BadAddressee { what: String },
    /// A typed message that could not go (the OS's or the encoder's words).
    NotSent { why: String },
    /// A `--send-file` that could not be read.
    CannotReadFile { path: String, why: String },
    /// A file payload reached the sender unread (a bug guard, said rather than panicked).
    FileUnread { path: String },
    /// accept() failed for a reason other than one client's (out of descriptors, memory).
    AcceptFailed { connected: usize, why: String, out_of_fds: bool },
    /// The open-files soft limit was raised to the hard limit.
    OpenFilesRaised { from: u64, to: u64 },
    /// SIGHUP re-read `--rules FILE`.
    RulesReloaded { file: String, count: usize },
    /// SIGHUP found a `--rules FILE` that does not parse (the parser's words in `why`).
    RulesKept { why: String },
    /// `--tls` with no certificate given: one was made.
    SelfSigned { names: Vec<String>, sha256: String },
    /// `connect --reconnect`: this attempt failed or ended; the next one comes after `delay`.
    Reconnecting { attempt: u64, why: Box<Notice>, delay: Duration },
    /// `connect --retries N`: that many failures in a row.
    GaveUp { failures: u32 },
    /// `relay --retry`: the target is not up yet (the dial error's words in `why`).
    TargetRetry { why: crate::error::Shared, every: Duration },
    /// Relay stop: the drain time ran out with bytes still waiting.
    NotDelivered { left: usize, dir: Dir, id: ConnId },
    /// An error of the crate's (a dial failure), put in words where it is shown.
    Failed(crate::error::Shared),
    /// Relay: the connection to the target broke as soon as it was made.
    TargetBroke,
    /// A connection ended this way.
    Closed(crate::event::CloseReason),
    /// An error in the OS's own words, with nothing of ours to add.
    Os { why: String },
    /// The first typed line: each gets this line end (`\n`), `--eol none` leaves it out.
    EolAdded { eol: &'static str },
    /// `--exec`: the child for a connection started.
    ChildStarted { id: ConnId, cmd: String, pid: Option<u32> },
    /// `--exec`: a line the child wrote to its stderr.
    ChildStderr { id: ConnId, line: String },
    /// `--exec`: the child ended so.
    ChildExited { id: ConnId, status: ChildEnd },
    /// `--exec`: the child could not be started.
    ExecFailed { cmd: String, why: String },
    /// A Unix socket's peer was let in although `--allow`/`--deny` were given: those
    /// rules are about IP addresses.
    UnixNoAccess,
    /// The proxy relay's rule for targets, said at start.
    TargetRule { allowed: Vec<String> },
    /// `connect --proxy`: the connection goes through this proxy to that target.
    ViaProxy { proxy: String, target: String },
    /// A proxy client asked for this target.
    ProxyAsked { id: ConnId, how: &'static str, target: String },
    /// A proxy client's target was refused (`why`: the rule, or what the client sent).
    TargetRefused { target: String, why: String },
}

/// How a child process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildEnd {
    Code(i32),
    Signal(i32),
}

/// Why a client was turned away before it was served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// `--deny NET` matched.
    Denied { rule: String },
    /// `--allow` networks were given and none matched (`shown` lists the first few; `more`
    /// when there are others).
    NotAllowed { shown: Vec<String>, more: bool },
    /// `--max-conn` clients were already connected.
    MaxConn { connected: usize, max: usize },
}

/// What happened to a rejected peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turned {
    /// TCP: accepted, then closed at once.
    ClosedAtOnce,
    /// UDP: its datagrams are dropped.
    Dropped,
}

/// One socket call, in the lesson's terms (`--explain`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// socket(): `stream` is TCP, else UDP.
    Socket { v6: bool, stream: bool },
    /// IPV6_V6ONLY off on a listener: it takes IPv4 clients too.
    DualStack,
    /// SO_REUSEADDR; `why` says what it is for (the TCP listener does).
    ReuseAddr { why: bool },
    /// SO_SNDBUF (`send`) or SO_RCVBUF: asked and granted.
    Buffer { send: bool, asked: usize, granted: usize },
    /// A TCP listener's bind(): `picked` when port 0 let the OS choose `port`.
    BindTcp { addr: SocketAddr, port: u16, picked: bool },
    /// A UDP socket's bind().
    BindUdp { addr: SocketAddr, port: u16 },
    /// listen(backlog).
    Listen { backlog: u32 },
    /// No IPv6 on this machine: an IPv4 socket instead.
    NoIpv6 { why: String },
    /// A host name resolved.
    Resolve { host: String, ips: Vec<IpAddr> },
    /// connect() done: the OS chose the local port (from its range, when known).
    Connected { addr: SocketAddr, local_port: Option<u16>, range: Option<(u16, u16)> },
    /// connect() failed with the OS's words.
    ConnectFailed { addr: SocketAddr, why: String },
    /// SO_BROADCAST; `client` explains what it allows.
    Broadcast { client: bool },
    /// A multicast group joined (IP_ADD_MEMBERSHIP or IPV6_JOIN_GROUP).
    Joined { group: IpAddr },
    /// A UDP connect(): no handshake.
    UdpConnect { addr: SocketAddr },
    /// The OS chose this local port for a UDP client.
    LocalPort(u16),
    /// A connected TCP socket's SO_SNDBUF, sized by the kernel at the handshake.
    SendBufferGrown { got: usize },
}

/// What a benchmark counts as an error, by kind. The JSON key is [`Failure::code`], which
/// never changes with the language; tables list kinds in the order of their codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Failure {
    ConnectTimeout,
    NoAnswer,
    Refused,
    Reset,
    Timeout,
    ClosedByServer,
    OutOfPorts,
    OutOfFds,
    Other,
}

impl Failure {
    /// The key in `errors_by_kind`.
    pub fn code(self) -> &'static str {
        match self {
            Failure::ConnectTimeout => "connect timeout",
            Failure::NoAnswer => "no answer within the timeout",
            Failure::Refused => "refused",
            Failure::Reset => "reset",
            Failure::Timeout => "timeout",
            Failure::ClosedByServer => "closed by the server",
            Failure::OutOfPorts => "out of local ports",
            Failure::OutOfFds => "out of file descriptors",
            Failure::Other => "other I/O error",
        }
    }
}

impl Ord for Failure {
    fn cmp(&self, other: &Failure) -> std::cmp::Ordering {
        self.code().cmp(other.code())
    }
}

impl PartialOrd for Failure {
    fn partial_cmp(&self, other: &Failure) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
