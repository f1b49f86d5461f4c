//! The one place where facts become sentences: every [`Notice`], [`Rejection`], explain
//! [`Step`], bench [`Failure`], [`CloseReason`] and [`Error`] is put in words here (English or
//! Chinese, from `locales/netassist.toml`). Engines carry facts ([`crate::notice`]); sinks and the UI call `Display` on them.
//! Adding a language is a change to this module alone; JSON keys and codes (`code()`
//! methods) never come from here.

use std::fmt;

use rust_i18n::t;

use crate::error::{Error, io_reason};
use crate::event::{CloseReason, Dir};
use crate::net::show_addr;
use crate::notice::{Failure, HelpFor, Notice, Rejection, Step, Turned};
use crate::render::escape::shown_name;
use crate::render::time::seconds;

/// "56 KiB", "1 byte", "300 bytes".
fn amount(n: usize) -> String {
    match n {
        n if n >= 10 * 1024 => t!("words.kib", n = n / 1024).into_owned(),
        1 => t!("words.one_byte").into_owned(),
        n => t!("words.bytes", n = n).into_owned(),
    }
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Notice::Help(HelpFor::Server) => t!("notice.help_server"),
            Notice::Help(HelpFor::Relay) => t!("notice.help_relay"),
            Notice::Help(HelpFor::Udp) => t!("notice.help_udp"),
            Notice::RelayOnlyForwards => t!("notice.relay_only_forwards"),
            Notice::NoSuchClient(id) => t!("notice.no_such_client", id = id),
            Notice::NotSentNoSuchClient(id) => t!("notice.not_sent_no_such_client", id = id),
            Notice::NoClient => t!("notice.no_client"),
            Notice::NoSuchSource(id) => t!("notice.no_such_source", id = id),
            Notice::NoSenderYet => t!("notice.no_sender_yet"),
            Notice::TooBigForDatagram { len, to, max } => {
                t!("notice.too_big_for_datagram", len = len, to = to, max = max)
            }
            Notice::CannotSend { to, why } => t!("notice.cannot_send", to = to, why = why),
            Notice::TooManyLater { to, max } => t!("notice.too_many_later", to = to, max = amount(*max)),
            Notice::CannotAnswer { to, why } => t!("notice.cannot_answer", to = to, why = why),
            Notice::LineNotSent { line, why } => t!("notice.line_not_sent", line = line, why = why),
            Notice::BadKick { ids } => t!("notice.bad_kick", ids = ids),
            Notice::UnknownCommand { word } => t!("notice.unknown_command", word = word),
            Notice::BadAddressee { what } => t!("notice.bad_addressee", what = what),
            Notice::NotSent { why } => t!("notice.not_sent", why = why),
            Notice::CannotReadFile { path, why } => t!("notice.cannot_read_file", path = path, why = why),
            Notice::FileUnread { path } => t!("notice.file_unread", path = path),
            Notice::AcceptFailed { connected, why, out_of_fds: true } => {
                t!("notice.accept_failed_fds", connected = connected, why = why)
            }
            Notice::AcceptFailed { connected, why, out_of_fds: false } => {
                t!("notice.accept_failed", connected = connected, why = why)
            }
            Notice::OpenFilesRaised { from, to } => t!("notice.open_files_raised", from = from, to = to),
            Notice::ChildStarted { id, cmd, pid } => match pid {
                Some(pid) => t!("notice.child_started", id = id, cmd = shown_name(cmd), pid = pid),
                None => t!("notice.child_started_no_pid", id = id, cmd = shown_name(cmd)),
            },
            Notice::ChildStderr { id, line } => t!("notice.child_stderr", id = id, line = shown_name(line)),
            Notice::ChildExited { id, status: crate::notice::ChildEnd::Code(code) } => {
                t!("notice.child_exited", id = id, code = code)
            }
            Notice::ChildExited { id, status: crate::notice::ChildEnd::Signal(sig) } => {
                t!("notice.child_killed", id = id, signal = sig)
            }
            Notice::ExecFailed { cmd, why } => t!("notice.exec_failed", cmd = shown_name(cmd), why = why),
            Notice::ViaProxy { proxy, target } => {
                t!("notice.via_proxy", proxy = shown_name(proxy), target = shown_name(target))
            }
            Notice::UnixNoAccess => t!("notice.unix_no_access"),
            Notice::TargetRule { allowed } if allowed.is_empty() => t!("notice.target_rule_default"),
            Notice::TargetRule { allowed } => t!("notice.target_rule", allowed = allowed.join(", ")),
            Notice::ProxyAsked { id, how, target } => {
                t!("notice.proxy_asked", id = id, how = how, target = shown_name(target))
            }
            Notice::TargetRefused { target, why } => {
                t!("notice.target_refused", target = shown_name(target), why = why)
            }
            Notice::RulesReloaded { file, count } => t!("notice.rules_reloaded", file = file, count = count),
            Notice::RulesKept { why } => t!("notice.rules_kept", why = why),
            Notice::SelfSigned { names, sha256 } => t!("notice.self_signed", names = names.join(", "), sha256 = sha256),
            Notice::Reconnecting { attempt, why, delay } => {
                t!("notice.reconnecting", attempt = attempt, why = why, delay = seconds(*delay))
            }
            Notice::GaveUp { failures } => t!("notice.gave_up", failures = failures),
            Notice::TargetRetry { why, every } => t!("notice.target_retry", why = why, every = seconds(*every)),
            Notice::NotDelivered { left, dir: Dir::C2T, id } => {
                t!("notice.not_delivered_c2t", amount = amount(*left), id = id)
            }
            Notice::NotDelivered { left, dir: _, id } => {
                t!("notice.not_delivered_t2c", amount = amount(*left), id = id)
            }
            Notice::Failed(e) => return write!(f, "{e}"),
            Notice::TargetBroke => t!("notice.target_broke"),
            Notice::EolAdded { eol } => t!("notice.eol_added", eol = eol),
            Notice::Os { why } => return f.write_str(why),
            Notice::Closed(reason) => return write!(f, "{reason}"),
        };
        f.write_str(&text)
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Rejection::Denied { rule } => t!("rejection.denied", rule = rule),
            Rejection::NotAllowed { shown, more } => {
                let more = if *more { ", ..." } else { "" };
                t!("rejection.not_allowed", list = format!("{}{more}", shown.join(", ")))
            }
            Rejection::MaxConn { connected: 1, max } => t!("rejection.max_conn_one", max = max),
            Rejection::MaxConn { connected, max } => t!("rejection.max_conn", connected = connected, max = max),
        };
        f.write_str(&text)
    }
}

impl fmt::Display for Turned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&match self {
            Turned::ClosedAtOnce => t!("turned.closed_at_once"),
            Turned::Dropped => t!("turned.dropped"),
        })
    }
}

fn family(v6: bool) -> &'static str {
    if v6 { "AF_INET6" } else { "AF_INET" }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Step::Socket { v6, stream: true } => t!("step.socket_tcp", family = family(*v6)),
            Step::Socket { v6, stream: false } => t!("step.socket_udp", family = family(*v6)),
            Step::DualStack => t!("step.dual_stack"),
            Step::ReuseAddr { why: true } => t!("step.reuse_addr_why"),
            Step::ReuseAddr { why: false } => t!("step.reuse_addr"),
            Step::Buffer { send, asked, granted } => {
                let name = if *send { "SO_SNDBUF" } else { "SO_RCVBUF" };
                t!("step.buffer", name = name, asked = asked, granted = granted)
            }
            Step::BindTcp { addr, port, picked } => {
                let what = if addr.ip().is_unspecified() { t!("step.every_address") } else { t!("step.this_address") };
                let chosen = if *picked { t!("step.port_picked", port = port) } else { "".into() };
                t!("step.bind_tcp", addr = show_addr(addr), port = port, what = what, chosen = chosen)
            }
            Step::BindUdp { addr, port } => t!("step.bind_udp", addr = show_addr(addr), port = port),
            Step::Listen { backlog } => t!("step.listen", backlog = backlog),
            Step::NoIpv6 { why } => t!("step.no_ipv6", why = why),
            Step::Resolve { host, ips } => {
                let list: Vec<String> = ips.iter().map(ToString::to_string).collect();
                t!("step.resolve", host = host, ips = list.join(", "))
            }
            Step::Connected { addr, local_port, range } => {
                let local = local_port.map(|p| p.to_string()).unwrap_or_default();
                let range = range.map(|(lo, hi)| t!("step.from_range", lo = lo, hi = hi)).unwrap_or_default();
                t!("step.connected", addr = show_addr(addr), local = local, range = range)
            }
            Step::ConnectFailed { addr, why } => return write!(f, "connect({}): {why}", show_addr(addr)),
            Step::Broadcast { client: true } => t!("step.broadcast_client"),
            Step::Broadcast { client: false } => "setsockopt(SO_BROADCAST, 1)".into(),
            Step::Joined { group: group @ std::net::IpAddr::V4(_) } => {
                t!("step.joined", call = "IP_ADD_MEMBERSHIP", group = group)
            }
            Step::Joined { group } => t!("step.joined", call = "IPV6_JOIN_GROUP", group = group),
            Step::UdpConnect { addr } => t!("step.udp_connect", addr = show_addr(addr)),
            Step::LocalPort(port) => t!("step.local_port", port = port),
            Step::SendBufferGrown { got } => t!("human.explain_sndbuf", got = got),
        };
        f.write_str(&text)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&match self {
            Failure::ConnectTimeout => t!("failure.connect_timeout"),
            Failure::NoAnswer => t!("failure.no_answer"),
            Failure::Refused => t!("failure.refused"),
            Failure::Reset => t!("failure.reset"),
            Failure::Timeout => t!("failure.timeout"),
            Failure::ClosedByServer => t!("failure.closed_by_server"),
            Failure::OutOfPorts => t!("failure.out_of_ports"),
            Failure::OutOfFds => t!("failure.out_of_fds"),
            Failure::Other => t!("failure.other"),
        })
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            CloseReason::PeerClosed => t!("close.peer_closed"),
            CloseReason::Reset => t!("close.reset"),
            CloseReason::IdleTimeout(d) => t!("close.idle_timeout", time = seconds(*d)),
            CloseReason::Kicked => t!("close.kicked"),
            CloseReason::Stopping => t!("close.stopping"),
            CloseReason::Done(d) => t!("close.done", time = seconds(*d)),
            CloseReason::QueueFull(limit) => t!("close.queue_full", limit = limit),
            CloseReason::PortUnreachable(addr) => t!("close.port_unreachable", addr = addr),
            CloseReason::BothClosed => t!("close.both_closed"),
            CloseReason::ClientReset => t!("close.client_reset"),
            CloseReason::TargetReset => t!("close.target_reset"),
            CloseReason::TargetFailed(why) => t!("close.target_failed", why = why),
            CloseReason::RuleClose => t!("close.rule_close"),
            CloseReason::ChildEnded => t!("close.child_ended"),
            CloseReason::Forgotten { max, relay: false } => t!("close.forgotten_source", max = max),
            CloseReason::Forgotten { max, relay: true } => t!("close.forgotten_client", max = max),
            CloseReason::TlsTimeout(d) => t!("close.tls_timeout", time = seconds(*d)),
            CloseReason::TlsFailed(why) => t!("close.tls_failed", why = why),
            CloseReason::Failed(notice) => return write!(f, "{notice}"),
            CloseReason::Error(e) => return f.write_str(e),
        };
        f.write_str(&text)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Error::PortInUse { addr, port, held: Some(held) } => {
                t!("error.port_in_use_held", addr = addr, port = port, held = held)
            }
            Error::PortInUse { addr, port, held: None } => t!("error.port_in_use", addr = addr, port = port),
            Error::PortPrivileged { port } => t!("error.port_privileged", port = port),
            Error::AddressNotLocal { addr } => t!("error.address_not_local", addr = addr),
            Error::Resolve { host, reason } => t!("error.resolve", host = host, reason = reason),
            Error::Refused { addr, port } => t!("error.refused", addr = addr, port = port),
            Error::ConnectTimeout { target, seconds } => t!("error.connect_timeout", target = target, time = seconds),
            Error::Unreachable { addr, reason } => t!("error.unreachable", addr = addr, reason = reason),
            Error::UdpRefused { addr } => t!("error.udp_refused", addr = addr),
            Error::Tls { peer, reason } => t!("error.tls", peer = peer, reason = reason),
            Error::Reset { addr } => t!("error.reset", addr = addr),
            Error::Proxy { proxy, target, reason } => {
                t!("error.proxy", proxy = shown_name(proxy), target = shown_name(target), reason = reason)
            }
            Error::UnixInUse { addr } => t!("error.unix_in_use", addr = shown_name(addr)),
            Error::NotASocket { path } => t!("error.not_a_socket", path = shown_name(&path.display().to_string())),
            Error::UnixConnect { addr, reason } => {
                t!("error.unix_connect", addr = shown_name(addr), reason = shown_name(reason))
            }
            Error::Failed(what) => return f.write_str(what),
            Error::Argument { what, message } | Error::Denied { what, message } => {
                return write!(f, "{what}: {message}");
            }
            Error::File { path, source } => t!("error.file", path = path.display(), why = io_reason(source)),
            Error::Io { context, source } => return write!(f, "{context}: {}", io_reason(source)),
        };
        f.write_str(&text)
    }
}
