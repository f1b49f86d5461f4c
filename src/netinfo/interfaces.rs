//! Interfaces and their addresses (netdev), sorted by interface index, and the addresses
//! a peer can use to reach a socket bound here.

use std::net::{IpAddr, SocketAddr, SocketAddrV6};

use crate::event::Reachable;

/// Up interfaces with their addresses, by index.
pub fn up_interfaces() -> Vec<netdev::Interface> {
    let mut all: Vec<_> = netdev::get_interfaces().into_iter().filter(|i| i.is_up()).collect();
    all.sort_by_key(|i| i.index);
    all
}

/// The addresses a peer can connect to for a socket bound to `bound`: every address of
/// every up interface for an unspecified bind (IPv4 only for `0.0.0.0`), else the one.
pub fn reachable(bound: SocketAddr, dual_stack: bool) -> Vec<Reachable> {
    let port = bound.port();
    let interfaces = up_interfaces();
    if !bound.ip().is_unspecified() {
        let interface =
            interfaces.iter().find(|i| i.ip_addrs().contains(&bound.ip())).map(|i| i.name.clone()).unwrap_or_default();
        return vec![Reachable { addr: bound, interface, loopback: bound.ip().is_loopback() }];
    }
    let want_v4 = bound.is_ipv4() || dual_stack;
    let want_v6 = bound.is_ipv6();
    let mut out = Vec::new();
    for i in &interfaces {
        if want_v4 {
            for net in &i.ipv4 {
                let addr = SocketAddr::new(IpAddr::V4(net.addr()), port);
                out.push(Reachable { addr, interface: i.name.clone(), loopback: i.is_loopback() });
            }
        }
        if want_v6 {
            for net in &i.ipv6 {
                let ip = net.addr();
                // Link-local addresses need the interface as scope to be reachable.
                let scope = if (ip.segments()[0] & 0xffc0) == 0xfe80 { i.index } else { 0 };
                let addr = SocketAddr::V6(SocketAddrV6::new(ip, port, 0, scope));
                out.push(Reachable { addr, interface: i.name.clone(), loopback: i.is_loopback() });
            }
        }
    }
    out
}
