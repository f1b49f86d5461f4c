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

/// One interface as `ip addr` / ifconfig show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceInfo {
    pub index: u32,
    pub name: String,
    pub up: bool,
    /// The operational state: up, down, unknown (loopback reports unknown), ...
    pub state: String,
    pub flags: Vec<&'static str>,
    pub mtu: Option<u32>,
    pub mac: Option<String>,
    pub loopback: bool,
    pub ipv4: Vec<Ipv4Info>,
    pub ipv6: Vec<Ipv6Info>,
    pub rx_bytes: Option<u64>,
    pub rx_packets: Option<u64>,
    pub tx_bytes: Option<u64>,
    pub tx_packets: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4Info {
    pub addr: std::net::Ipv4Addr,
    pub prefix: u8,
    pub broadcast: Option<std::net::Ipv4Addr>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6Info {
    pub addr: std::net::Ipv6Addr,
    pub prefix: u8,
    pub scope: &'static str,
}

/// The interface flags `ip link` shows, in its order.
const FLAGS: &[(libc::c_int, &str)] = &[
    (libc::IFF_UP, "UP"),
    (libc::IFF_BROADCAST, "BROADCAST"),
    (libc::IFF_LOOPBACK, "LOOPBACK"),
    (libc::IFF_POINTOPOINT, "POINTOPOINT"),
    (libc::IFF_RUNNING, "RUNNING"),
    (libc::IFF_NOARP, "NOARP"),
    (libc::IFF_PROMISC, "PROMISC"),
    (libc::IFF_ALLMULTI, "ALLMULTI"),
    (libc::IFF_MULTICAST, "MULTICAST"),
    (libc::IFF_LOWER_UP, "LOWER_UP"),
    (libc::IFF_DORMANT, "DORMANT"),
];

/// An IPv6 address's scope, as Linux names it.
pub fn ipv6_scope(ip: &std::net::Ipv6Addr) -> &'static str {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        "host"
    } else if first & 0xffc0 == 0xfe80 {
        "link"
    } else if first & 0xffc0 == 0xfec0 {
        "site"
    } else {
        "global"
    }
}

/// A counter from /sys/class/net/NAME/statistics, where the OS has it.
fn sys_counter(name: &str, counter: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/sys/class/net/{name}/statistics/{counter}")).ok()?.trim().parse().ok()
}

/// Every interface, up or down, with or without an address, by index.
pub fn all_interfaces() -> Vec<InterfaceInfo> {
    let mut all: Vec<InterfaceInfo> = netdev::get_interfaces()
        .into_iter()
        .map(|i| {
            let flags = FLAGS.iter().filter(|(bit, _)| i.flags & (*bit as u32) != 0).map(|(_, n)| *n).collect();
            let broadcast_capable = i.is_broadcast();
            let ipv4 = i
                .ipv4
                .iter()
                .map(|n| Ipv4Info {
                    addr: n.addr(),
                    prefix: n.prefix_len(),
                    broadcast: (broadcast_capable && n.prefix_len() < 31).then(|| n.broadcast()),
                })
                .collect();
            let ipv6 = i
                .ipv6
                .iter()
                .map(|n| Ipv6Info { addr: n.addr(), prefix: n.prefix_len(), scope: ipv6_scope(&n.addr()) })
                .collect();
            let mac = i.mac_addr.filter(|_| !i.is_loopback()).map(|m| m.to_string());
            let stats = i.stats.as_ref();
            InterfaceInfo {
                index: i.index,
                up: i.is_up(),
                state: i.oper_state.as_str().to_string(),
                flags,
                mtu: i.mtu,
                mac,
                loopback: i.is_loopback(),
                ipv4,
                ipv6,
                rx_bytes: stats.map(|s| s.rx_bytes).or_else(|| sys_counter(&i.name, "rx_bytes")),
                tx_bytes: stats.map(|s| s.tx_bytes).or_else(|| sys_counter(&i.name, "tx_bytes")),
                rx_packets: sys_counter(&i.name, "rx_packets"),
                tx_packets: sys_counter(&i.name, "tx_packets"),
                name: i.name,
            }
        })
        .collect();
    all.sort_by_key(|i| i.index);
    all
}
