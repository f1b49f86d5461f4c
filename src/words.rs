//! The one place where facts become sentences: every [`Notice`], [`Rejection`], explain
//! [`Step`], bench [`Failure`], [`CloseReason`] and [`Error`] is put in words here (English
//! today). Engines carry facts ([`crate::notice`]); sinks and the UI call `Display` on them.
//! Adding a language is a change to this module alone; JSON keys and codes (`code()`
//! methods) never come from here.

use std::fmt;

use crate::error::{Error, io_reason};
use crate::event::{CloseReason, Dir};
use crate::net::show_addr;
use crate::notice::{Failure, HelpFor, Notice, Rejection, Step, Turned};
use crate::render::time::seconds;

const SERVER_HELP: &str = "\
Lines typed here go to every connected client.
  @ID text      send to one client (@1,3 text: to several); :list shows the ids
  :list         list the connected clients
  :kick ID      close a client (:kick 1,3 for several)
  :quit         stop the server (every client gets FIN)
  :help         this text
  \\text         send text that starts with : or @ (the backslash is dropped)";

const RELAY_HELP: &str = "\
A relay only forwards: lines typed here are not sent.
  :list         list the relayed clients
  :kick ID      close a client and its connection to the target (:kick 1,3 for several)
  :quit         stop the relay (bytes already read are still delivered, within --drain)
  :help         this text";

const UDP_HELP: &str = "\
A line typed here goes to the last source a datagram came from.
  @ID text      send to one source (@1,3 text: to several); :list shows the ids
  :list         list the sources seen, with their ids
  :kick ID      forget a source (it gets a new id if it sends again)
  :quit         stop
  :help         this text
  \\text         send text that starts with : or @ (the backslash is dropped)";

/// "56 KiB", "1 byte", "300 bytes".
fn amount(n: usize) -> String {
    match n {
        n if n >= 10 * 1024 => format!("{} KiB", n / 1024),
        1 => "1 byte".into(),
        n => format!("{n} bytes"),
    }
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notice::Help(HelpFor::Server) => f.write_str(SERVER_HELP),
            Notice::Help(HelpFor::Relay) => f.write_str(RELAY_HELP),
            Notice::Help(HelpFor::Udp) => f.write_str(UDP_HELP),
            Notice::RelayOnlyForwards => {
                f.write_str("a relay only forwards: typed lines are not sent; :help lists what works here")
            }
            Notice::NoSuchClient(id) => write!(f, "no client #{id}; :list shows who is connected"),
            Notice::NotSentNoSuchClient(id) => {
                write!(f, "no client #{id}; nothing was sent to it (:list shows who is connected)")
            }
            Notice::NoClient => f.write_str("no client is connected; nothing was sent"),
            Notice::NoSuchSource(id) => write!(f, "no peer #{id}; :list shows the sources seen"),
            Notice::NoSenderYet => {
                f.write_str("no datagram has come in yet: a line goes to the last sender (@ID for another)")
            }
            Notice::TooBigForDatagram { len, to, max } => {
                write!(f, "{len} bytes do not fit in one UDP datagram to {to} (at most {max})")
            }
            Notice::CannotSend { to, why } => write!(f, "cannot send to {to}: {why}"),
            Notice::TooManyLater { to, max } => write!(
                f,
                "a delayed answer to {to} was dropped: {} of them wait already (sources ask faster than `after` lets answers go)",
                amount(*max)
            ),
            Notice::CannotAnswer { to, why } => write!(f, "cannot answer {to}: {why}"),
            Notice::LineNotSent { line, why } => write!(f, "stdin line {line} not sent: {why}"),
            Notice::BadKick { ids } => {
                write!(f, "':kick {ids}' needs client ids, like :kick 2 or :kick 1,3 (:list shows them)")
            }
            Notice::UnknownCommand { word } => {
                write!(f, "unknown command ':{word}'; :help lists the commands (\\:{word} sends it as text)")
            }
            Notice::BadAddressee { what } => write!(
                f,
                "'@{what}' is not a client id; write @ID text (:list shows the ids), or \\@ to send a line starting with @"
            ),
            Notice::NotSent { why } => write!(f, "not sent: {why}"),
            Notice::CannotReadFile { path, why } => write!(f, "cannot read {path}: {why}"),
            Notice::FileUnread { path } => write!(f, "{path} should have been read before sending"),
            Notice::AcceptFailed { connected, why, out_of_fds } => {
                let hint = if *out_of_fds { " (out of file descriptors: raise `ulimit -n`)" } else { "" };
                write!(
                    f,
                    "cannot accept a new client with {connected} connected: {why}{hint}; still serving them and retrying"
                )
            }
            Notice::OpenFilesRaised { from, to } => {
                write!(
                    f,
                    "open files: soft limit raised from {from} to {to} (the hard limit), so that many clients fit"
                )
            }
            Notice::RulesReloaded { file, count } => write!(f, "rules reloaded from {file}: {count} in all"),
            Notice::RulesKept { why } => write!(f, "{why}; the rules stay as they were"),
            Notice::SelfSigned { names, sha256 } => write!(
                f,
                "TLS with a self-signed certificate for {}\nits SHA-256 fingerprint: {sha256}\nclients: netassist connect HOST PORT --tls --insecure, and compare the fingerprint",
                names.join(", ")
            ),
            Notice::Reconnecting { attempt, why, delay } => {
                write!(f, "attempt {attempt}: {why}; connecting again in {}", seconds(*delay))
            }
            Notice::GaveUp { failures } => write!(f, "giving up after {failures} failed attempts in a row"),
            Notice::TargetRetry { why, every } => write!(f, "{why}; trying again every {} (--retry)", seconds(*every)),
            Notice::NotDelivered { left, dir, id } => {
                let (from, to) = if *dir == Dir::C2T {
                    (format!("client #{id}"), "the target".to_string())
                } else {
                    ("the target".to_string(), format!("#{id}"))
                };
                write!(
                    f,
                    "{} from {from} not delivered to {to}: the stop's drain time ran out (--drain)",
                    amount(*left)
                )
            }
            Notice::Failed(e) => write!(f, "{e}"),
            Notice::TargetBroke => f.write_str("the connection to the target broke at once"),
            Notice::Os { why } => f.write_str(why),
            Notice::Closed(reason) => write!(f, "{reason}"),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Denied { rule } => write!(f, "denied by --deny {rule}"),
            Rejection::NotAllowed { shown, more } => {
                let more = if *more { ", ..." } else { "" };
                write!(f, "not in any --allow network ({}{more})", shown.join(", "))
            }
            Rejection::MaxConn { connected, max } => {
                let clients = if *connected == 1 { "client is" } else { "clients are" };
                write!(f, "{connected} {clients} connected, the --max-conn {max} limit")
            }
        }
    }
}

impl fmt::Display for Turned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Turned::ClosedAtOnce => "closed at once",
            Turned::Dropped => "its datagrams are dropped",
        })
    }
}

fn family(v6: bool) -> &'static str {
    if v6 { "AF_INET6" } else { "AF_INET" }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Socket { v6, stream: true } => write!(f, "socket({}, SOCK_STREAM): a new TCP socket", family(*v6)),
            Step::Socket { v6, stream: false } => write!(f, "socket({}, SOCK_DGRAM): a new UDP socket", family(*v6)),
            Step::DualStack => f.write_str("setsockopt(IPV6_V6ONLY, 0): it takes IPv4 clients too"),
            Step::ReuseAddr { why: true } => f.write_str(
                "setsockopt(SO_REUSEADDR, 1): the port can be bound again at once after the server stops, despite old connections in TIME_WAIT",
            ),
            Step::ReuseAddr { why: false } => f.write_str("setsockopt(SO_REUSEADDR, 1)"),
            Step::Buffer { send, asked, granted } => {
                let name = if *send { "SO_SNDBUF" } else { "SO_RCVBUF" };
                write!(f, "setsockopt({name}, {asked}): granted {granted}")
            }
            Step::BindTcp { addr, port, picked } => {
                let what = if addr.ip().is_unspecified() { "every address of this machine" } else { "this address only" };
                let chosen = if *picked { format!("; port 0 asked the OS to pick one: {port}") } else { String::new() };
                write!(f, "bind({}): the socket owns port {port} on {what}{chosen}", show_addr(addr))
            }
            Step::BindUdp { addr, port } => {
                write!(f, "bind({}): the socket receives datagrams for port {port}", show_addr(addr))
            }
            Step::Listen { backlog } => write!(
                f,
                "listen({backlog}): the socket is passive now: it only accepts connections, each as a new socket; up to {backlog} finished handshakes may wait for accept()"
            ),
            Step::NoIpv6 { why } => write!(f, "no IPv6 here ({why}): an IPv4 socket instead"),
            Step::Resolve { host, ips } => {
                let list: Vec<String> = ips.iter().map(ToString::to_string).collect();
                write!(f, "resolve '{host}': {}", list.join(", "))
            }
            Step::Connected { addr, local_port, range } => {
                let local = local_port.map(|p| p.to_string()).unwrap_or_default();
                let range = range.map(|(lo, hi)| format!(" from its range {lo}-{hi}")).unwrap_or_default();
                write!(
                    f,
                    "connect({}): the three-way handshake is done; the client did not bind(), so the OS chose local port {local}{range}",
                    show_addr(addr)
                )
            }
            Step::ConnectFailed { addr, why } => write!(f, "connect({}): {why}", show_addr(addr)),
            Step::Broadcast { client: true } => {
                f.write_str("setsockopt(SO_BROADCAST, 1): datagrams may go to a broadcast address")
            }
            Step::Broadcast { client: false } => f.write_str("setsockopt(SO_BROADCAST, 1)"),
            Step::Joined { group: group @ std::net::IpAddr::V4(_) } => {
                write!(f, "setsockopt(IP_ADD_MEMBERSHIP, {group}): joined the group")
            }
            Step::Joined { group } => write!(f, "setsockopt(IPV6_JOIN_GROUP, {group}): joined the group"),
            Step::UdpConnect { addr } => write!(
                f,
                "connect({}): no handshake for UDP; it fixes where datagrams go and which ones are taken in",
                show_addr(addr)
            ),
            Step::LocalPort(port) => write!(f, "the OS chose local port {port}"),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // In English a kind's words are its JSON code; another language words each here.
        f.write_str(self.code())
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::PeerClosed => f.write_str("peer closed the connection (recv returned 0 bytes)"),
            CloseReason::Reset => f.write_str("connection reset by peer"),
            CloseReason::IdleTimeout(d) => write!(f, "idle timeout: no data for {}", seconds(*d)),
            CloseReason::Kicked => f.write_str("kicked"),
            CloseReason::Stopping => f.write_str("stopping"),
            CloseReason::Done(d) => write!(f, "done: nothing left to send and no data for {}", seconds(*d)),
            CloseReason::QueueFull(limit) => {
                write!(f, "dropped: the client does not read and its send queue reached {limit} bytes")
            }
            CloseReason::PortUnreachable(addr) => write!(f, "nothing listens on {addr}: ICMP port unreachable"),
            CloseReason::BothClosed => f.write_str("both sides closed (each FIN passed on)"),
            CloseReason::ClientReset => f.write_str("the client reset the connection (passed on to the target)"),
            CloseReason::TargetReset => f.write_str("the target reset the connection (passed on to the client)"),
            CloseReason::TargetFailed(why) => {
                write!(f, "the target could not be reached: {why}; the client was closed")
            }
            CloseReason::RuleClose => f.write_str("closed by a rule (=> close)"),
            CloseReason::Forgotten { max, relay: false } => {
                write!(f, "forgotten: {max} sources are remembered at most")
            }
            CloseReason::Forgotten { max, relay: true } => write!(f, "forgotten: {max} clients are relayed at most"),
            CloseReason::TlsTimeout(d) => write!(f, "TLS handshake failed: no handshake within {}", seconds(*d)),
            CloseReason::TlsFailed(why) => write!(f, "TLS handshake failed: {why}"),
            CloseReason::Failed(notice) => write!(f, "{notice}"),
            CloseReason::Error(e) => f.write_str(e),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::PortInUse { addr, port, held } => {
                let held = held.as_ref().map(|h| format!(", held by {h}")).unwrap_or_default();
                write!(
                    f,
                    "port {port} is already in use on {addr}{held}; pick another port or stop the program using it (`netassist port {port}` shows more)"
                )
            }
            Error::PortPrivileged { port } => write!(
                f,
                "port {port} needs privileges: ports 0-1023 are well-known ports only root may bind here; run as root or pick a port from 1024 to 65535"
            ),
            Error::AddressNotLocal { addr } => {
                write!(f, "cannot bind {addr}: that address is not on this machine; `netassist ip` lists its addresses")
            }
            Error::Resolve { host, reason } => {
                write!(f, "cannot resolve host '{host}': {reason}; check the name, or give an IP address")
            }
            Error::Refused { addr, port } => {
                write!(f, "connection to {addr} refused: nothing listens on port {port} there; is the server running?")
            }
            Error::ConnectTimeout { target, seconds } => write!(
                f,
                "connecting to {target} timed out after {seconds}; is the host up and the port open? (raise it with --connect-timeout)"
            ),
            Error::Unreachable { addr, reason } => {
                write!(
                    f,
                    "cannot reach {addr}: {reason}; check the address and this machine's network (`netassist ip`)"
                )
            }
            Error::UdpRefused { addr } => {
                write!(
                    f,
                    "nothing listens on {addr} (UDP): it answered with ICMP port unreachable; is the server running?"
                )
            }
            Error::Tls { peer, reason } => write!(f, "TLS handshake with {peer} failed: {reason}"),
            Error::Reset { addr } => write!(f, "connection to {addr} was reset by the peer"),
            Error::Failed(what) => f.write_str(what),
            Error::Argument { what, message } | Error::Denied { what, message } => write!(f, "{what}: {message}"),
            Error::File { path, source } => {
                write!(f, "cannot read {}: {}; check the path and its permissions", path.display(), io_reason(source))
            }
            Error::Io { context, source } => write!(f, "{context}: {}", io_reason(source)),
        }
    }
}
