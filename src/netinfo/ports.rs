//! Port numbers as the lesson teaches them (well-known 0-1023, dynamic 1024-65535) and as
//! IANA ranges them; service names (/etc/services, or an embedded table of common ones);
//! the range this OS picks client ports from; and who is bound to a port right now
//! (/proc/net/{tcp,udp}{,6}, with the owning process from /proc/PID/fd).

use rust_i18n::t;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The lesson's two classes.
pub fn lesson_class(port: u16) -> &'static str {
    if port <= 1023 { "well-known (0-1023)" } else { "dynamic (1024-65535)" }
}

/// IANA's three ranges (RFC 6335).
pub fn iana_class(port: u16) -> &'static str {
    match port {
        0..=1023 => "system (0-1023)",
        1024..=49151 => "registered (1024-49151)",
        _ => "dynamic/private (49152-65535)",
    }
}

/// The range this OS picks a client's local port from, where it tells.
pub fn ephemeral_range() -> Option<(u16, u16)> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let mut it = text.split_whitespace().map(|s| s.parse::<u16>().ok());
    Some((it.next()??, it.next()??))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub port: u16,
    pub proto: String,
    pub aliases: Vec<String>,
}

/// Common services, for machines without /etc/services.
const EMBEDDED: &[(&str, u16, &str)] = &[
    ("ftp-data", 20, "tcp"),
    ("ftp", 21, "tcp"),
    ("ssh", 22, "tcp"),
    ("telnet", 23, "tcp"),
    ("smtp", 25, "tcp"),
    ("domain", 53, "tcp"),
    ("domain", 53, "udp"),
    ("bootps", 67, "udp"),
    ("bootpc", 68, "udp"),
    ("tftp", 69, "udp"),
    ("http", 80, "tcp"),
    ("pop3", 110, "tcp"),
    ("ntp", 123, "udp"),
    ("imap2", 143, "tcp"),
    ("snmp", 161, "udp"),
    ("snmp-trap", 162, "udp"),
    ("ldap", 389, "tcp"),
    ("https", 443, "tcp"),
    ("https", 443, "udp"),
    ("submissions", 465, "tcp"),
    ("mbap", 502, "tcp"),
    ("syslog", 514, "udp"),
    ("submission", 587, "tcp"),
    ("ldaps", 636, "tcp"),
    ("imaps", 993, "tcp"),
    ("pop3s", 995, "tcp"),
    ("socks", 1080, "tcp"),
    ("openvpn", 1194, "udp"),
    ("ms-sql-s", 1433, "tcp"),
    ("mqtt", 1883, "tcp"),
    ("nfs", 2049, "tcp"),
    ("mysql", 3306, "tcp"),
    ("ms-wbt-server", 3389, "tcp"),
    ("sip", 5060, "udp"),
    ("postgresql", 5432, "tcp"),
    ("amqp", 5672, "tcp"),
    ("x11", 6000, "tcp"),
    ("redis", 6379, "tcp"),
    ("http-alt", 8080, "tcp"),
    ("mqtt-tls", 8883, "tcp"),
    ("memcached", 11211, "tcp"),
];

/// Where the service names came from when this machine has no /etc/services (JSON's
/// `services_from`; people read `ports.embedded` in their language).
pub const EMBEDDED_NAME: &str = "the embedded table (no /etc/services here)";

/// Where the service names came from.
pub const SERVICES_FILE: &str = "/etc/services";

/// Every service entry: from /etc/services, or the embedded table where it is missing.
pub fn services() -> (Vec<Service>, &'static str) {
    match std::fs::read_to_string(SERVICES_FILE) {
        Ok(text) => (parse_services(&text), SERVICES_FILE),
        Err(_) => (
            EMBEDDED
                .iter()
                .map(|&(name, port, proto)| Service { name: name.into(), port, proto: proto.into(), aliases: vec![] })
                .collect(),
            EMBEDDED_NAME,
        ),
    }
}

/// Parses /etc/services: `name port/proto [aliases...] [# comment]`.
pub fn parse_services(text: &str) -> Vec<Service> {
    text.lines()
        .filter_map(|line| {
            let line = line.split('#').next()?;
            let mut words = line.split_whitespace();
            let name = words.next()?;
            let (port, proto) = words.next()?.split_once('/')?;
            Some(Service {
                name: name.to_string(),
                port: port.parse().ok()?,
                proto: proto.to_string(),
                aliases: words.map(String::from).collect(),
            })
        })
        .collect()
}

/// The ports a service name (or alias) stands for, case-insensitively.
pub fn ports_named(name: &str, services: &[Service]) -> Vec<u16> {
    let mut ports: Vec<u16> = services
        .iter()
        .filter(|s| s.name.eq_ignore_ascii_case(name) || s.aliases.iter().any(|a| a.eq_ignore_ascii_case(name)))
        .map(|s| s.port)
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// A socket bound to a port on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundSocket {
    pub proto: &'static str,
    pub local: SocketAddr,
    /// `listening` (TCP), `bound` (UDP), or another TCP state.
    pub state: &'static str,
    pub pid: Option<u32>,
    pub process: Option<String>,
    /// The other end, for a TCP connection (not a listening socket).
    pub remote: Option<SocketAddr>,
}

/// A TCP state from /proc/net/tcp, as `ss` names it.
fn tcp_state(code: u8) -> &'static str {
    match code {
        0x01 => "ESTABLISHED",
        0x02 => "SYN-SENT",
        0x03 => "SYN-RECV",
        0x04 => "FIN-WAIT-1",
        0x05 => "FIN-WAIT-2",
        0x06 => "TIME-WAIT",
        0x07 => "CLOSE",
        0x08 => "CLOSE-WAIT",
        0x09 => "LAST-ACK",
        0x0a => "listening",
        0x0b => "CLOSING",
        _ => "unknown",
    }
}

/// Sockets bound to `port` now: listening TCP sockets, TCP connections whose local end is
/// the port (TIME-WAIT included: they can hold a port too), and bound UDP sockets.
pub fn bound_to(port: u16) -> Vec<BoundSocket> {
    let mut found = Vec::new();
    for (file, proto) in [("tcp", "tcp"), ("tcp6", "tcp"), ("udp", "udp"), ("udp6", "udp")] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/net/{file}")) else { continue };
        for entry in parse_proc_net(&text) {
            let wanted = match proto {
                "tcp" => true,
                _ => entry.state == 0x07 || entry.state == 0x01,
            };
            if entry.local.port() == port && wanted {
                let (state, remote) = match proto {
                    "tcp" if entry.state == 0x0a => ("listening", None),
                    "tcp" => (tcp_state(entry.state), Some(entry.remote)),
                    _ => ("bound", None),
                };
                let socket = BoundSocket { proto, local: entry.local, state, pid: None, process: None, remote };
                found.push((socket, entry.inode));
            }
        }
    }
    // Listening sockets first, then connections.
    found.sort_by_key(|(s, _)| s.remote.is_some());
    if found.is_empty() {
        return vec![];
    }
    let owners = socket_owners();
    found
        .into_iter()
        .map(|(mut s, inode)| {
            if let Some((pid, name)) = owners.get(&inode) {
                s.pid = Some(*pid);
                s.process = Some(name.clone());
            }
            s
        })
        .collect()
}

struct ProcNetEntry {
    local: SocketAddr,
    remote: SocketAddr,
    state: u8,
    inode: u64,
}

/// Parses /proc/net/tcp-style tables. Addresses are hex words in host byte order.
fn parse_proc_net(text: &str) -> Vec<ProcNetEntry> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            Some(ProcNetEntry {
                local: proc_addr(f.get(1)?)?,
                remote: proc_addr(f.get(2)?)?,
                state: u8::from_str_radix(f.get(3)?, 16).ok()?,
                inode: f.get(9)?.parse().ok()?,
            })
        })
        .collect()
}

/// `0100007F:1F90` (hex words in host byte order) as an address.
fn proc_addr(field: &str) -> Option<SocketAddr> {
    let (ip, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let ip = match ip.len() {
        8 => IpAddr::V4(Ipv4Addr::from(u32::from_str_radix(ip, 16).ok()?.to_ne_bytes())),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_mut(4).enumerate() {
                let word = u32::from_str_radix(&ip[i * 8..i * 8 + 8], 16).ok()?;
                chunk.copy_from_slice(&word.to_ne_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// In words, what holds a port now (for "already in use"): `pid 812 (nginx) listening on
/// 0.0.0.0:80`, or `3 connections in TIME-WAIT`.
pub fn holders(port: u16, proto: &str) -> Option<String> {
    let sockets: Vec<BoundSocket> = bound_to(port).into_iter().filter(|s| s.proto == proto).collect();
    let first = sockets.first()?;
    if first.remote.is_none() {
        let who = match (&first.pid, &first.process) {
            (Some(pid), Some(name)) => format!("pid {pid} ({})", crate::render::escape::shown_name(name)),
            _ => t!("ports.unnamed").into_owned(),
        };
        return Some(
            t!("ports.holder", who = who, state = first.state, local = crate::net::show_addr(&first.local))
                .into_owned(),
        );
    }
    let mut states: Vec<&str> = sockets.iter().map(|s| s.state).collect();
    states.dedup();
    let n = sockets.len();
    let also = if states.contains(&"TIME-WAIT") { t!("ports.time_wait") } else { "".into() };
    let states = states.join("/");
    Some(
        if n == 1 {
            t!("ports.one_connection", states = states, also = also)
        } else {
            t!("ports.connections", n = n, states = states, also = also)
        }
        .into_owned(),
    )
}

/// Socket inode → (pid, process name), for the processes we may look into.
fn socket_owners() -> HashMap<u64, (u32, String)> {
    let mut owners = HashMap::new();
    let Ok(procs) = std::fs::read_dir("/proc") else { return owners };
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else { continue };
        let mut name = None;
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else { continue };
            let target = target.to_string_lossy();
            let Some(inode) = target.strip_prefix("socket:[").and_then(|s| s.strip_suffix(']')) else { continue };
            let Ok(inode) = inode.parse::<u64>() else { continue };
            let name = name.get_or_insert_with(|| {
                std::fs::read_to_string(p.path().join("comm")).map(|s| s.trim().to_string()).unwrap_or_default()
            });
            owners.entry(inode).or_insert((pid, name.clone()));
        }
    }
    owners
}

/// A port free for TCP and UDP now, as the OS hands out for port 0.
pub fn free_port() -> std::io::Result<u16> {
    let mut last = None;
    for _ in 0..20 {
        let tcp = std::net::TcpListener::bind("0.0.0.0:0")?;
        let port = tcp.local_addr()?.port();
        match std::net::UdpSocket::bind(("0.0.0.0", port)) {
            Ok(_) => return Ok(port),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free port found")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(lesson_class(80), "well-known (0-1023)");
        assert_eq!(lesson_class(1024), "dynamic (1024-65535)");
        assert_eq!(iana_class(49151), "registered (1024-49151)");
        assert_eq!(iana_class(49152), "dynamic/private (49152-65535)");
    }

    #[test]
    fn services_file_lines() {
        let s = parse_services("# c\nhttp\t\t80/tcp\t\twww\t\t# WorldWideWeb\nhttps 443/udp\nbad line\n");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0], Service { name: "http".into(), port: 80, proto: "tcp".into(), aliases: vec!["www".into()] });
        assert_eq!(ports_named("WWW", &s), vec![80]);
        assert_eq!(ports_named("nothing", &s), Vec::<u16>::new());
    }

    #[test]
    fn proc_net_addresses() {
        let v4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0\n";
        let e = parse_proc_net(v4);
        assert_eq!(e[0].local, "127.0.0.1:8080".parse().unwrap());
        assert_eq!((e[0].state, e[0].inode), (0x0a, 12345));
        let v6 = "header\n   0: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 999 1\n";
        assert_eq!(parse_proc_net(v6)[0].local, "[::1]:80".parse().unwrap());
    }

    #[test]
    fn a_listener_is_found_with_its_process() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let found = bound_to(port);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].proto, found[0].state), ("tcp", "listening"));
        assert_eq!(found[0].pid, Some(std::process::id()));
    }
}
