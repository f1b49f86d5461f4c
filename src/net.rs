//! Sockets made the way the lesson explains, with the errors a person can act on: a
//! listening TCP socket (dual-stack where the OS allows, SO_REUSEADDR, a backlog), host
//! names and IPv6 scopes resolved, and connects with a timeout across every address a name
//! has.

use rust_i18n::t;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockRef, Socket, Type};
use tokio::net::{TcpSocket, TcpStream};

use crate::error::{Error, Result, io_reason};
use crate::notice::Step;
use crate::render::time::seconds;

/// Where to listen: one address, or every interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindTo {
    /// `[::]` taking IPv4 clients too where the OS allows, else `0.0.0.0`.
    Everywhere,
    Addr(IpAddr, u32),
}

/// SO_SNDBUF / SO_RCVBUF sizes to ask the kernel for (`--sndbuf`, `--rcvbuf`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BufferRequest {
    pub send: Option<usize>,
    pub recv: Option<usize>,
}

/// SO_SNDBUF / SO_RCVBUF as the kernel reports them, with what was asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Buffers {
    pub send: usize,
    pub recv: usize,
    pub asked: BufferRequest,
}

/// What a socket call did, in the lesson's terms, for `--explain`.
pub type Steps = Vec<Step>;

/// A listening socket, not yet handed to tokio.
pub struct Listening {
    pub socket: std::net::TcpListener,
    pub dual_stack: bool,
    pub buffers: Buffers,
    pub steps: Steps,
}

fn bind_error(e: io::Error, addr: SocketAddr) -> Error {
    bind_error_for(e, addr, "tcp")
}

/// What bind() failing means, saying what holds the port when it is in use.
fn bind_error_for(e: io::Error, addr: SocketAddr, proto: &str) -> Error {
    match e.raw_os_error() {
        Some(libc::EADDRINUSE) => {
            Error::PortInUse { addr, port: addr.port(), held: crate::netinfo::ports::holders(addr.port(), proto) }
        }
        Some(libc::EACCES) | Some(libc::EPERM) => Error::PortPrivileged { port: addr.port() },
        Some(libc::EADDRNOTAVAIL) => Error::AddressNotLocal { addr },
        _ => Error::Io { context: format!("cannot listen on {addr}"), source: e },
    }
}

/// The lesson's server steps 1-3: create the socket, set SO_REUSEADDR, bind, listen.
pub fn listen_tcp(bind: BindTo, port: u16, backlog: u32, sizes: BufferRequest) -> Result<Listening> {
    let mut steps = Steps::new();
    let (socket, addr, dual_stack) = match bind {
        BindTo::Addr(ip, scope) => {
            let addr = with_scope(SocketAddr::new(ip, port), scope);
            (new_listener(addr, false, sizes, &mut steps).map_err(|e| bind_error(e, addr))?, addr, false)
        }
        BindTo::Everywhere => {
            let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
            match new_listener(v6, true, sizes, &mut steps) {
                Ok(socket) => (socket, v6, true),
                // No IPv6 on this machine: IPv4 alone.
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EAFNOSUPPORT) | Some(libc::EADDRNOTAVAIL) | Some(libc::EPROTONOSUPPORT)
                    ) =>
                {
                    steps.push(Step::NoIpv6 { why: io_reason(&e) });
                    let v4 = SocketAddr::from(([0, 0, 0, 0], port));
                    (new_listener(v4, false, sizes, &mut steps).map_err(|e| bind_error(e, v4))?, v4, false)
                }
                Err(e) => return Err(bind_error(e, v6)),
            }
        }
    };
    let backlog_arg = i32::try_from(backlog).unwrap_or(i32::MAX);
    socket.listen(backlog_arg).map_err(|e| bind_error(e, addr))?;
    steps.push(Step::Listen { backlog });
    socket.set_nonblocking(true).map_err(|e| Error::Io { context: format!("cannot listen on {addr}"), source: e })?;
    let buffers = granted(&SockRef::from(&socket), sizes);
    Ok(Listening { socket: socket.into(), dual_stack, buffers, steps })
}

fn new_listener(addr: SocketAddr, dual_stack: bool, sizes: BufferRequest, steps: &mut Steps) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    steps.push(Step::Socket { v6: addr.is_ipv6(), stream: true });
    if addr.is_ipv6() {
        socket.set_only_v6(!dual_stack)?;
        if dual_stack {
            steps.push(Step::DualStack);
        }
    }
    // The lesson's setsockopt(SOL_SOCKET, SO_REUSEADDR): the port is free again at once
    // after the server exits, despite connections in TIME_WAIT.
    socket.set_reuse_address(true)?;
    steps.push(Step::ReuseAddr { why: true });
    // Before listen(): accepted sockets inherit the sizes, and the receive window is
    // negotiated from them during the handshake.
    apply_buffers(&SockRef::from(&socket), sizes, steps)?;
    socket.bind(&addr.into())?;
    let bound = socket.local_addr().ok().and_then(|a| a.as_socket()).unwrap_or(addr);
    steps.push(Step::BindTcp { addr, port: bound.port(), picked: addr.port() == 0 });
    Ok(socket)
}

fn apply_buffers(socket: &SockRef<'_>, sizes: BufferRequest, steps: &mut Steps) -> io::Result<()> {
    if let Some(n) = sizes.send {
        socket.set_send_buffer_size(n)?;
        steps.push(Step::Buffer { send: true, asked: n, granted: socket.send_buffer_size()? });
    }
    if let Some(n) = sizes.recv {
        socket.set_recv_buffer_size(n)?;
        steps.push(Step::Buffer { send: false, asked: n, granted: socket.recv_buffer_size()? });
    }
    Ok(())
}

fn granted(socket: &SockRef<'_>, asked: BufferRequest) -> Buffers {
    Buffers { send: socket.send_buffer_size().unwrap_or(0), recv: socket.recv_buffer_size().unwrap_or(0), asked }
}

fn with_scope(addr: SocketAddr, scope: u32) -> SocketAddr {
    match addr {
        SocketAddr::V6(v6) if scope != 0 => SocketAddr::V6(SocketAddrV6::new(*v6.ip(), v6.port(), 0, scope)),
        other => other,
    }
}

/// An interface name or number after `%` in an IPv6 address, as the OS numbers it.
pub fn scope_id(scope: &str) -> Option<u32> {
    if let Ok(n) = scope.parse::<u32>() {
        return Some(n);
    }
    let name = std::ffi::CString::new(scope).ok()?;
    // SAFETY: if_nametoindex reads a NUL-terminated string we own.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    (index != 0).then_some(index)
}

/// Parses an IP address as people write it: `127.0.0.1`, `::1`, `[::1]`, `fe80::1%eth0`.
pub fn parse_ip(text: &str) -> Option<(IpAddr, u32)> {
    let text = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(text);
    match text.split_once('%') {
        Some((ip, scope)) => Some((IpAddr::V6(ip.parse().ok()?), scope_id(scope)?)),
        None => Some((text.parse().ok()?, 0)),
    }
}

/// Four dot-separated numbers that did not parse as an IPv4 address (`192.168.1.300`): a
/// mistyped address, never a name to look up.
fn looks_like_ipv4(host: &str) -> bool {
    let parts: Vec<&str> = host.split('.').collect();
    parts.len() == 4 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Every address a host (a name or an IP address) has for `port`.
pub async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>> {
    if let Some((ip, scope)) = parse_ip(host) {
        return Ok(vec![with_scope(SocketAddr::new(ip, port), scope)]);
    }
    if looks_like_ipv4(host) {
        return Err(Error::Argument { what: host.to_string(), message: t!("net.bad_ipv4").into_owned() });
    }
    let unresolvable = |reason: String| Error::Resolve { host: host.to_string(), reason };
    if host.is_empty() {
        return Err(unresolvable(t!("net.empty_name").into_owned()));
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| {
            let reason = io_reason(&e);
            unresolvable(reason.trim_start_matches("failed to lookup address information: ").to_string())
        })?
        .collect();
    if addrs.is_empty() {
        return Err(unresolvable(t!("net.no_address").into_owned()));
    }
    Ok(addrs)
}

fn connect_error(e: io::Error, addr: SocketAddr) -> Error {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => Error::Refused { addr, port: addr.port() },
        io::ErrorKind::NetworkUnreachable | io::ErrorKind::HostUnreachable => {
            Error::Unreachable { addr, reason: io_reason(&e) }
        }
        io::ErrorKind::TimedOut => {
            Error::ConnectTimeout { target: addr.to_string(), seconds: t!("net.os_gave_up").into_owned() }
        }
        _ => Error::Io { context: format!("cannot connect to {addr}"), source: e },
    }
}

/// A connected client socket, with what it took.
pub struct Connected {
    pub stream: TcpStream,
    pub buffers: Buffers,
    pub steps: Steps,
}

/// The lesson's client steps 1-2: create a socket and connect, trying each address of the
/// host in turn within one overall timeout.
pub async fn connect_tcp(host: &str, port: u16, timeout: Duration, sizes: BufferRequest) -> Result<Connected> {
    let deadline = Instant::now() + timeout;
    let addrs = resolve(host, port).await?;
    let mut steps = Steps::new();
    if parse_ip(host).is_none() {
        steps.push(Step::Resolve { host: host.to_string(), ips: addrs.iter().map(|a| a.ip()).collect() });
    }
    let target = if addrs.len() == 1 { addrs[0].to_string() } else { format!("{host} port {port}") };
    let mut last = None;
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        let socket = if addr.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }
            .map_err(|e| Error::Io { context: format!("cannot create a socket for {addr}"), source: e })?;
        steps.push(Step::Socket { v6: addr.is_ipv6(), stream: true });
        apply_buffers(&SockRef::from(&socket), sizes, &mut steps).map_err(|e| Error::Io {
            context: t!("ctx.cannot_set_the_socket_s_buffer_sizes").into_owned(),
            source: e,
        })?;
        match tokio::time::timeout(left, socket.connect(addr)).await {
            Ok(Ok(stream)) => {
                steps.push(Step::Connected {
                    addr,
                    local_port: stream.local_addr().ok().map(|a| a.port()),
                    range: crate::netinfo::ports::ephemeral_range(),
                });
                let buffers = granted(&SockRef::from(&stream), sizes);
                if sizes.send.is_none() {
                    steps.push(Step::SendBufferGrown { got: buffers.send });
                }
                return Ok(Connected { stream, buffers, steps });
            }
            Ok(Err(e)) => {
                steps.push(Step::ConnectFailed { addr, why: io_reason(&e) });
                last = Some(connect_error(e, addr));
            }
            Err(_) => break,
        }
    }
    Err(last.unwrap_or(Error::ConnectTimeout { target, seconds: seconds(timeout) }))
}

/// Sets TCP_NODELAY: netassist writes whole messages, and a person waits for each.
pub fn no_delay(stream: &TcpStream) {
    let _ = SockRef::from(stream).set_tcp_nodelay(true);
}

/// Shows an address as a person would type it back, with the interface name as IPv6 scope.
/// `host:port`, with an IPv6 address in brackets.
pub fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

pub fn show_addr(addr: &SocketAddr) -> String {
    match addr {
        SocketAddr::V6(v6) if v6.scope_id() != 0 => {
            let mut name = [0 as libc::c_char; libc::IF_NAMESIZE];
            // SAFETY: if_indextoname writes at most IF_NAMESIZE bytes into the buffer we own.
            let got = unsafe { libc::if_indextoname(v6.scope_id(), name.as_mut_ptr()) };
            let scope = if got.is_null() {
                v6.scope_id().to_string()
            } else {
                // SAFETY: on success the buffer holds a NUL-terminated name.
                unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) }.to_string_lossy().into_owned()
            };
            format!("[{}%{scope}]:{}", v6.ip(), v6.port())
        }
        other => other.to_string(),
    }
}

/// An address as it should be shown: IPv4 clients of a dual-stack socket appear as
/// `::ffff:a.b.c.d`; show them as the IPv4 address they are.
pub fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_forms() {
        assert_eq!(parse_ip("127.0.0.1"), Some(("127.0.0.1".parse().unwrap(), 0)));
        assert_eq!(parse_ip("[::1]"), Some(("::1".parse().unwrap(), 0)));
        assert_eq!(parse_ip("fe80::1%lo").map(|(_, s)| s != 0), Some(true));
        assert_eq!(parse_ip("fe80::1%nosuchif0"), None);
        assert_eq!(parse_ip("localhost"), None);
    }

    #[test]
    fn mapped_addresses_show_as_ipv4() {
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:80".parse().unwrap();
        assert_eq!(canonical(mapped).to_string(), "127.0.0.1:80");
    }

    #[tokio::test]
    async fn port_in_use_is_named() {
        let first =
            listen_tcp(BindTo::Addr("127.0.0.1".parse().unwrap(), 0), 0, 128, BufferRequest::default()).unwrap();
        let port = first.socket.local_addr().unwrap().port();
        let err = listen_tcp(BindTo::Addr("127.0.0.1".parse().unwrap(), 0), port, 128, BufferRequest::default())
            .err()
            .unwrap();
        assert!(matches!(err, Error::PortInUse { port: p, .. } if p == port), "{err}");
    }

    #[tokio::test]
    async fn refused_is_named() {
        // A port that was free a moment ago: bind, note the port, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let err = connect_tcp("127.0.0.1", port, Duration::from_secs(5), BufferRequest::default()).await.err().unwrap();
        assert!(matches!(err, Error::Refused { .. }), "{err}");
    }
}

/// The largest UDP payload an IPv4 datagram carries: 65535 - 20 (IP) - 8 (UDP).
pub const MAX_UDP_V4: usize = 65_507;
/// The largest UDP payload an IPv6 datagram carries without jumbograms: 65535 - 8 (UDP).
pub const MAX_UDP_V6: usize = 65_527;

/// The largest payload one datagram to `addr` can carry.
pub fn max_datagram(addr: &SocketAddr) -> usize {
    if addr.is_ipv4() { MAX_UDP_V4 } else { MAX_UDP_V6 }
}

/// Socket options for UDP: broadcast, multicast groups and how multicast is sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UdpSetup {
    pub broadcast: bool,
    pub join: Vec<IpAddr>,
    /// Interface (name, or an IPv4 address of it) for joining and sending multicast.
    pub iface: Option<String>,
    pub ttl: Option<u32>,
    pub multicast_loop: Option<bool>,
    pub buffers: BufferRequest,
}

/// A bound UDP socket, not yet handed to tokio.
pub struct BoundUdp {
    pub socket: std::net::UdpSocket,
    pub dual_stack: bool,
    pub buffers: Buffers,
    pub steps: Steps,
}

/// The interface named by `--iface` as its IPv4 address and its index.
fn interface(iface: &str) -> Result<(Ipv4Addr, u32)> {
    let unknown = || Error::Argument {
        what: "--iface".into(),
        message: format!("no interface '{iface}' here; `netassist ip` lists them"),
    };
    if let Ok(ip) = iface.parse::<Ipv4Addr>() {
        let index = netdev::get_interfaces()
            .into_iter()
            .find(|i| i.ipv4.iter().any(|n| n.addr() == ip))
            .map(|i| i.index)
            .ok_or_else(unknown)?;
        return Ok((ip, index));
    }
    let found = netdev::get_interfaces().into_iter().find(|i| i.name == iface).ok_or_else(unknown)?;
    let v4 = found.ipv4.first().map(|n| n.addr()).unwrap_or(Ipv4Addr::UNSPECIFIED);
    Ok((v4, found.index))
}

fn udp_error(e: io::Error, addr: SocketAddr) -> Error {
    bind_error_for(e, addr, "udp")
}

/// A UDP socket to listen on: every interface (dual-stack) unless `--bind`, or the family
/// of the multicast groups to join.
pub fn bind_udp(bind: BindTo, port: u16, setup: &UdpSetup) -> Result<BoundUdp> {
    let mut steps = Steps::new();
    let all_v4 = !setup.join.is_empty() && setup.join.iter().all(IpAddr::is_ipv4);
    let all_v6 = !setup.join.is_empty() && setup.join.iter().all(IpAddr::is_ipv6);
    let (addr, dual_stack) = match bind {
        BindTo::Addr(ip, scope) => (with_scope(SocketAddr::new(ip, port), scope), false),
        // Joining IPv4 groups takes an IPv4 socket, IPv6 groups an IPv6 one.
        BindTo::Everywhere if all_v4 => (SocketAddr::from(([0, 0, 0, 0], port)), false),
        BindTo::Everywhere if all_v6 => (SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port), false),
        BindTo::Everywhere => (SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port), true),
    };
    let make = |addr: SocketAddr, dual: bool, steps: &mut Steps| -> io::Result<Socket> {
        let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        steps.push(Step::Socket { v6: addr.is_ipv6(), stream: false });
        if addr.is_ipv6() {
            socket.set_only_v6(!dual)?;
        }
        // Only to share a group's port with other programs on this host: on Linux a UDP
        // port with SO_REUSEADDR can be bound twice, and the second server would silently
        // take the first one's datagrams instead of being told the port is in use.
        if !setup.join.is_empty() {
            socket.set_reuse_address(true)?;
            steps.push(Step::ReuseAddr { why: false });
        }
        apply_buffers(&SockRef::from(&socket), setup.buffers, steps)?;
        socket.bind(&addr.into())?;
        let port = socket.local_addr().ok().and_then(|a| a.as_socket()).map_or(addr.port(), |a| a.port());
        steps.push(Step::BindUdp { addr, port });
        Ok(socket)
    };
    let (socket, dual_stack) = match make(addr, dual_stack, &mut steps) {
        Ok(s) => (s, dual_stack),
        Err(e) if dual_stack && matches!(e.raw_os_error(), Some(libc::EAFNOSUPPORT) | Some(libc::EADDRNOTAVAIL)) => {
            let v4 = SocketAddr::from(([0, 0, 0, 0], port));
            (make(v4, false, &mut steps).map_err(|e| udp_error(e, v4))?, false)
        }
        Err(e) => return Err(udp_error(e, addr)),
    };
    let options =
        |e: io::Error| Error::Io { context: t!("ctx.cannot_set_a_udp_socket_option").into_owned(), source: e };
    if setup.broadcast {
        socket.set_broadcast(true).map_err(options)?;
        steps.push(Step::Broadcast { client: false });
    }
    let iface = setup.iface.as_deref().map(interface).transpose()?;
    for group in &setup.join {
        match group {
            IpAddr::V4(g) if g.is_multicast() => {
                let local = iface.map_or(Ipv4Addr::UNSPECIFIED, |(a, _)| a);
                socket.join_multicast_v4(g, &local).map_err(|e| join_error(e, *group))?;
                steps.push(Step::Joined { group: *group });
            }
            IpAddr::V6(g) if g.is_multicast() => {
                socket.join_multicast_v6(g, iface.map_or(0, |(_, i)| i)).map_err(|e| join_error(e, *group))?;
                steps.push(Step::Joined { group: *group });
            }
            _ => {
                return Err(Error::Argument {
                    what: "--join".into(),
                    message: format!("{group} is not a multicast address (IPv4 224.0.0.0/4, IPv6 ff00::/8)"),
                });
            }
        }
    }
    socket.set_nonblocking(true).map_err(options)?;
    let buffers = granted(&SockRef::from(&socket), setup.buffers);
    Ok(BoundUdp { socket: socket.into(), dual_stack, buffers, steps })
}

fn join_error(e: io::Error, group: IpAddr) -> Error {
    Error::Io {
        context: format!("cannot join the multicast group {group} (is there a route for multicast? try --iface)"),
        source: e,
    }
}

/// A UDP client socket aimed at `target`: connected for unicast, so an ICMP port
/// unreachable comes back as an error; unconnected for broadcast and multicast, whose
/// replies come from other addresses.
pub fn udp_client(target: SocketAddr, setup: &UdpSetup) -> Result<(std::net::UdpSocket, bool, Steps)> {
    let mut steps = Steps::new();
    let options = |e: io::Error| Error::Io { context: t!("ctx.cannot_set_up_the_udp_socket").into_owned(), source: e };
    let socket = Socket::new(Domain::for_address(target), Type::DGRAM, Some(Protocol::UDP)).map_err(options)?;
    steps.push(Step::Socket { v6: target.is_ipv6(), stream: false });
    apply_buffers(&SockRef::from(&socket), setup.buffers, &mut steps).map_err(options)?;
    if setup.broadcast {
        socket.set_broadcast(true).map_err(options)?;
        steps.push(Step::Broadcast { client: true });
    }
    let multicast = target.ip().is_multicast();
    let iface = setup.iface.as_deref().map(interface).transpose()?;
    match target.ip() {
        IpAddr::V4(_) => {
            if let Some(ttl) = setup.ttl {
                if multicast { socket.set_multicast_ttl_v4(ttl) } else { socket.set_ttl_v4(ttl) }.map_err(options)?;
            }
            if let Some(on) = setup.multicast_loop {
                socket.set_multicast_loop_v4(on).map_err(options)?;
            }
            if let (true, Some((addr, _))) = (multicast, iface) {
                socket.set_multicast_if_v4(&addr).map_err(options)?;
            }
        }
        IpAddr::V6(_) => {
            if let Some(hops) = setup.ttl {
                if multicast { socket.set_multicast_hops_v6(hops) } else { socket.set_unicast_hops_v6(hops) }
                    .map_err(options)?;
            }
            if let Some(on) = setup.multicast_loop {
                socket.set_multicast_loop_v6(on).map_err(options)?;
            }
            if let (true, Some((_, index))) = (multicast, iface) {
                socket.set_multicast_if_v6(index).map_err(options)?;
            }
        }
    }
    let unspecified: SocketAddr =
        if target.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { (Ipv6Addr::UNSPECIFIED, 0).into() };
    socket.bind(&unspecified.into()).map_err(options)?;
    let connected = !setup.broadcast && !multicast;
    if connected {
        socket.connect(&target.into()).map_err(|e| match e.kind() {
            io::ErrorKind::PermissionDenied => Error::Denied {
                what: "connect".into(),
                message: format!("{} is a broadcast address here: add --broadcast to send to it", target.ip()),
            },
            _ => connect_error(e, target),
        })?;
        steps.push(Step::UdpConnect { addr: target });
    }
    let local = socket.local_addr().ok().and_then(|a| a.as_socket()).map(|a| a.port()).unwrap_or(0);
    steps.push(Step::LocalPort(local));
    socket.set_nonblocking(true).map_err(options)?;
    Ok((socket.into(), connected, steps))
}

/// The address this machine answers `peer` from on `local`'s port: for a socket bound to
/// every address, the kernel's choice of source address towards the peer (a UDP connect
/// sends nothing; it only looks up the route).
pub fn local_towards(local: SocketAddr, peer: SocketAddr) -> SocketAddr {
    let local = canonical(local);
    if !local.ip().is_unspecified() {
        return local;
    }
    let any: SocketAddr = if peer.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { (Ipv6Addr::UNSPECIFIED, 0).into() };
    std::net::UdpSocket::bind(any)
        .and_then(|s| {
            s.connect(peer)?;
            s.local_addr()
        })
        .map(|a| SocketAddr::new(canonical(a).ip(), local.port()))
        .unwrap_or(local)
}
