//! `netassist ip`: every interface as `ip addr` / ifconfig show it, loopback explained.

use rust_i18n::t;
use std::io::{self, Write};

use crate::netinfo::interfaces::{InterfaceInfo, all_interfaces};
use crate::sink::json::{JsonObject, push_json_string};

/// Writes the report for these interfaces.
pub fn write_report(out: &mut dyn Write, interfaces: &[InterfaceInfo], json: bool) -> io::Result<()> {
    for i in interfaces {
        if json {
            writeln!(out, "{}", to_json(i))?;
        } else {
            write_human(out, i)?;
        }
    }
    Ok(())
}

pub fn run(out: &mut dyn Write, json: bool) -> io::Result<()> {
    write_report(out, &all_interfaces(), json)
}

fn count(bytes: Option<u64>, packets: Option<u64>) -> String {
    match (bytes, packets) {
        (Some(b), Some(p)) => t!("ip.bytes_packets", b = b, p = p).into_owned(),
        (Some(b), None) => t!("words.bytes", n = b).into_owned(),
        (None, Some(p)) => t!("ip.packets", p = p).into_owned(),
        (None, None) => t!("ip.unknown").into_owned(),
    }
}

fn write_human(out: &mut dyn Write, i: &InterfaceInfo) -> io::Result<()> {
    let mtu = i.mtu.map(|m| format!("  mtu {m}")).unwrap_or_default();
    let name = crate::render::escape::shown_name(&i.name);
    writeln!(out, "{}: {name}  <{}>{mtu}  state {}", i.index, i.flags.join(","), i.state)?;
    if i.loopback {
        writeln!(out, "    {}", t!("ip.loopback"))?;
    }
    if let Some(mac) = &i.mac {
        writeln!(out, "    link/ether {mac}")?;
    }
    for a in &i.ipv4 {
        let brd = a.broadcast.map(|b| format!("  brd {b}")).unwrap_or_default();
        writeln!(out, "    inet  {}/{}{brd}", a.addr, a.prefix)?;
    }
    for a in &i.ipv6 {
        writeln!(out, "    inet6 {}/{}  scope {}", a.addr, a.prefix, a.scope)?;
    }
    if i.ipv4.is_empty() && i.ipv6.is_empty() {
        let why = if i.up { "".into() } else { t!("ip.down") };
        writeln!(out, "    {}{why}", t!("ip.no_address"))?;
    }
    writeln!(out, "    RX {}   TX {}", count(i.rx_bytes, i.rx_packets), count(i.tx_bytes, i.tx_packets))
}

fn to_json(i: &InterfaceInfo) -> String {
    let mut o = JsonObject::plain();
    o.num("index", i.index).str("name", &i.name).bool("up", i.up).str("state", &i.state);
    let mut flags = String::from("[");
    for (n, f) in i.flags.iter().enumerate() {
        if n > 0 {
            flags.push(',');
        }
        push_json_string(&mut flags, f);
    }
    flags.push(']');
    o.raw("flags", &flags);
    if let Some(m) = i.mtu {
        o.num("mtu", m);
    }
    if let Some(mac) = &i.mac {
        o.str("mac", mac);
    }
    o.bool("loopback", i.loopback);
    let v4: Vec<String> = i
        .ipv4
        .iter()
        .map(|a| {
            let mut x = JsonObject::plain();
            x.str("addr", &a.addr.to_string()).num("prefix", a.prefix);
            if let Some(b) = a.broadcast {
                x.str("broadcast", &b.to_string());
            }
            x.finish()
        })
        .collect();
    o.raw("ipv4", &format!("[{}]", v4.join(",")));
    let v6: Vec<String> = i
        .ipv6
        .iter()
        .map(|a| {
            let mut x = JsonObject::plain();
            x.str("addr", &a.addr.to_string()).num("prefix", a.prefix).str("scope", a.scope);
            x.finish()
        })
        .collect();
    o.raw("ipv6", &format!("[{}]", v6.join(",")));
    for (key, value) in
        [("rx_bytes", i.rx_bytes), ("rx_packets", i.rx_packets), ("tx_bytes", i.tx_bytes), ("tx_packets", i.tx_packets)]
    {
        if let Some(v) = value {
            o.num(key, v);
        }
    }
    o.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netinfo::interfaces::{Ipv4Info, Ipv6Info};

    fn lo(up: bool) -> InterfaceInfo {
        InterfaceInfo {
            index: 1,
            name: "lo".into(),
            up,
            state: "unknown".into(),
            flags: vec!["UP", "LOOPBACK", "RUNNING"],
            mtu: Some(65536),
            mac: None,
            loopback: true,
            ipv4: if up {
                vec![Ipv4Info { addr: "127.0.0.1".parse().unwrap(), prefix: 8, broadcast: None }]
            } else {
                vec![]
            },
            ipv6: if up { vec![Ipv6Info { addr: "::1".parse().unwrap(), prefix: 128, scope: "host" }] } else { vec![] },
            rx_bytes: Some(10),
            rx_packets: Some(1),
            tx_bytes: Some(10),
            tx_packets: Some(1),
        }
    }

    #[test]
    fn human_report_reads_like_ip_addr() {
        let mut out = Vec::new();
        write_report(&mut out, &[lo(true)], false).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "1: lo  <UP,LOOPBACK,RUNNING>  mtu 65536  state unknown\n    loopback: this machine itself; 127.0.0.1 (IPv4) and ::1 (IPv6) are named localhost\n    inet  127.0.0.1/8\n    inet6 ::1/128  scope host\n    RX 10 bytes, 1 packets   TX 10 bytes, 1 packets\n"
        );
    }

    #[test]
    fn an_interface_without_address_is_listed() {
        let mut out = Vec::new();
        write_report(&mut out, &[lo(false)], false).unwrap();
        assert!(String::from_utf8(out).unwrap().contains("    no address (the interface is down)\n"));
    }

    #[test]
    fn json_lines() {
        let mut out = Vec::new();
        write_report(&mut out, &[lo(true)], true).unwrap();
        let line = String::from_utf8(out).unwrap();
        assert!(line.starts_with(r#"{"index":1,"name":"lo","up":true,"state":"unknown","flags":["UP","LOOPBACK","RUNNING"],"mtu":65536,"loopback":true,"ipv4":[{"addr":"127.0.0.1","prefix":8}],"ipv6":[{"addr":"::1","prefix":128,"scope":"host"}]"#), "{line}");
    }
}
