//! `netassist buffers`: a new TCP socket's send and receive buffers, the system's defaults
//! and limits, and what they mean for send() and recv(), as the lesson explains.

use rust_i18n::t;
use std::io::{self, Write};

use socket2::{Domain, Protocol, Socket, Type};

use crate::error::{Error, Result};
use crate::net::BufferRequest;
use crate::sink::json::JsonObject;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BufferReport {
    pub sndbuf: usize,
    pub rcvbuf: usize,
    pub asked: BufferRequest,
    /// min, default, max
    pub tcp_wmem: Option<[u64; 3]>,
    pub tcp_rmem: Option<[u64; 3]>,
    pub wmem_max: Option<u64>,
    pub rmem_max: Option<u64>,
    pub wmem_default: Option<u64>,
    pub rmem_default: Option<u64>,
}

fn sysctl(path: &str) -> Option<String> {
    std::fs::read_to_string(format!("/proc/sys/{path}")).ok()
}

fn one(path: &str) -> Option<u64> {
    sysctl(path)?.trim().parse().ok()
}

fn three(path: &str) -> Option<[u64; 3]> {
    let v: Vec<u64> = sysctl(path)?.split_whitespace().filter_map(|s| s.parse().ok()).collect();
    Some([*v.first()?, *v.get(1)?, *v.get(2)?])
}

/// Makes a new TCP socket (asking for the sizes, if any) and reads what the kernel gives it.
pub fn measure(asked: BufferRequest) -> io::Result<BufferReport> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    if let Some(n) = asked.send {
        socket.set_send_buffer_size(n)?;
    }
    if let Some(n) = asked.recv {
        socket.set_recv_buffer_size(n)?;
    }
    Ok(BufferReport {
        sndbuf: socket.send_buffer_size()?,
        rcvbuf: socket.recv_buffer_size()?,
        asked,
        tcp_wmem: three("net/ipv4/tcp_wmem"),
        tcp_rmem: three("net/ipv4/tcp_rmem"),
        wmem_max: one("net/core/wmem_max"),
        rmem_max: one("net/core/rmem_max"),
        wmem_default: one("net/core/wmem_default"),
        rmem_default: one("net/core/rmem_default"),
    })
}

pub fn run(out: &mut dyn Write, asked: BufferRequest, json: bool) -> Result<()> {
    let r = measure(asked)
        .map_err(|e| Error::Io { context: t!("ctx.cannot_create_a_tcp_socket").into_owned(), source: e })?;
    let written = if json { writeln!(out, "{}", to_json(&r)) } else { write_human(out, &r) };
    written.map_err(|e| Error::Io { context: t!("ctx.cannot_write_the_output").into_owned(), source: e })
}

fn granted(got: usize, asked: Option<usize>, max: Option<u64>) -> String {
    match asked {
        None => String::new(),
        Some(n) if got == 2 * n => t!("buffers.doubled", n = n).into_owned(),
        Some(n) => match max {
            Some(m) if (n as u64) > m => t!("buffers.capped", n = n, m = m).into_owned(),
            _ => t!("buffers.asked", n = n).into_owned(),
        },
    }
}

pub fn write_human(out: &mut dyn Write, r: &BufferReport) -> io::Result<()> {
    writeln!(out, "{}", t!("buffers.new_socket"))?;
    let send = granted(r.sndbuf, r.asked.send, r.wmem_max);
    writeln!(out, "{}", t!("buffers.sndbuf", n = format!("{:>9}", r.sndbuf), granted = send))?;
    let recv = granted(r.rcvbuf, r.asked.recv, r.rmem_max);
    writeln!(out, "{}", t!("buffers.rcvbuf", n = format!("{:>9}", r.rcvbuf), granted = recv))?;
    if r.tcp_wmem.is_some() || r.wmem_max.is_some() {
        writeln!(out, "{}", t!("buffers.sysctl"))?;
    }
    let triple = |t: [u64; 3]| format!("{:<24}", format!("{} {} {}", t[0], t[1], t[2]));
    if let Some(t) = r.tcp_wmem {
        writeln!(out, "  net.ipv4.tcp_wmem   {}{}", triple(t), t!("buffers.tcp_wmem"))?;
    }
    if let Some(t) = r.tcp_rmem {
        writeln!(out, "  net.ipv4.tcp_rmem   {}{}", triple(t), t!("buffers.tcp_rmem"))?;
    }
    if let Some(m) = r.wmem_max {
        writeln!(out, "  net.core.wmem_max   {m:<24}{}", t!("buffers.wmem_max"))?;
    }
    if let Some(m) = r.rmem_max {
        writeln!(out, "  net.core.rmem_max   {m:<24}{}", t!("buffers.rmem_max"))?;
    }
    if let (Some(w), Some(r)) = (r.wmem_default, r.rmem_default) {
        writeln!(out, "  net.core.wmem_default {w}, rmem_default {r}{}", t!("buffers.defaults"))?;
    }
    writeln!(out, "{}", t!("buffers.what_this_means"))?;
    for line in t!("buffers.meaning").lines() {
        writeln!(out, "  {line}")?;
    }
    Ok(())
}

fn to_json(r: &BufferReport) -> String {
    let mut o = JsonObject::plain();
    o.num("sndbuf", r.sndbuf).num("rcvbuf", r.rcvbuf);
    if let Some(n) = r.asked.send {
        o.num("sndbuf_asked", n);
    }
    if let Some(n) = r.asked.recv {
        o.num("rcvbuf_asked", n);
    }
    for (key, t) in [("tcp_wmem", r.tcp_wmem), ("tcp_rmem", r.tcp_rmem)] {
        if let Some(t) = t {
            o.raw(key, &format!("[{},{},{}]", t[0], t[1], t[2]));
        }
    }
    for (key, v) in [
        ("wmem_max", r.wmem_max),
        ("rmem_max", r.rmem_max),
        ("wmem_default", r.wmem_default),
        ("rmem_default", r.rmem_default),
    ] {
        if let Some(v) = v {
            o.num(key, v);
        }
    }
    o.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_doubles_a_request() {
        let r = measure(BufferRequest { send: Some(50_000), recv: Some(60_000) }).unwrap();
        if cfg!(target_os = "linux") {
            assert_eq!((r.sndbuf, r.rcvbuf), (100_000, 120_000));
            let mut out = Vec::new();
            write_human(&mut out, &r).unwrap();
            let text = String::from_utf8(out).unwrap();
            assert!(
                text.contains("SO_SNDBUF     100000 bytes  its send buffer  (asked 50000: Linux doubles the request"),
                "{text}"
            );
            assert!(text.contains("send() does not send to the peer"));
        }
    }
}
