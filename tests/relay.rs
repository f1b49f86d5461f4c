//! `netassist relay`: bytes exact both ways on both paths (zero-copy when nothing is shown,
//! copying when it is), FIN and RST passed on, a target that is not there, many clients,
//! bounded memory with a slow reader, and the capture file read back and reassembled.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use crate::util::*;

fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn target() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

/// A relay to 127.0.0.1:`to`, with `extra` arguments; returns it and its port.
fn relay(to: u16, extra: &[&str]) -> (Proc, u16) {
    let to = to.to_string();
    let mut args = vec!["relay", "0", "127.0.0.1", &to, "--bind", "127.0.0.1", "--json"];
    args.extend_from_slice(extra);
    let mut r = Proc::spawn(&args);
    let port = r.port();
    (r, port)
}

/// Both ways at once: the client sends `up`, the target sends `down`; each side then
/// half-closes and reads the other's bytes to the end.
fn exchange(relay_port: u16, listener: &TcpListener, up: &[u8], down: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut c = client(relay_port);
    let (mut t, _) = listener.accept().unwrap();
    t.set_read_timeout(Some(PATIENCE)).unwrap();
    let (mut c2, mut t2) = (c.try_clone().unwrap(), t.try_clone().unwrap());
    let (up, down) = (up.to_vec(), down.to_vec());
    let w1 = thread::spawn(move || {
        c2.write_all(&up).unwrap();
        c2.shutdown(Shutdown::Write).unwrap();
    });
    let w2 = thread::spawn(move || {
        t2.write_all(&down).unwrap();
        t2.shutdown(Shutdown::Write).unwrap();
    });
    let at_target = read_to_end(&mut t);
    let at_client = read_to_end(&mut c);
    w1.join().unwrap();
    w2.join().unwrap();
    (at_target, at_client)
}

#[test]
fn bytes_are_exact_both_ways_zero_copy() {
    let (listener, tport) = target();
    let (mut r, port) = relay(tport, &["--quiet"]);
    let (up, down) = (random_bytes(3 << 20, 1), random_bytes(5 << 20, 2));
    let (at_target, at_client) = exchange(port, &listener, &up, &down);
    assert!(at_target == up, "client->target differs ({} of {} bytes)", at_target.len(), up.len());
    assert!(at_client == down, "target->client differs ({} of {} bytes)", at_client.len(), down.len());
    let closed = r.event("closed", Some(1));
    assert_eq!(closed["reason"], "both_closed");
    assert_eq!((closed["bytes_in"].as_u64(), closed["bytes_out"].as_u64()), (Some(3 << 20), Some(5 << 20)));
}

/// The bytes a system call (`splice`, `recvfrom`) moved, from an strace log: each line's
/// result (`= N`), where positive (EAGAIN is -1). Netlink reads (the interfaces listed
/// for the banner) are not traffic.
fn moved_by(call: &str, log: &str) -> u64 {
    log.lines()
        .filter(|l| l.contains(&format!("{call}(")) && !l.contains("nlmsg"))
        .filter_map(|l| l.rsplit_once(" = ").and_then(|(_, n)| n.split_whitespace().next()?.parse::<i64>().ok()))
        .filter(|n| *n > 0)
        .map(|n| n as u64)
        .sum()
}

#[test]
fn the_quiet_relay_moves_bulk_with_splice_and_copies_only_until_a_flow_proves_bulk() {
    // strace must be there and allowed to trace (ptrace): seen by tracing `true`'s execve.
    let probe = std::process::Command::new("strace").args(["-qq", "-e", "trace=execve", "true"]).output();
    if !probe.is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stderr).contains("execve(")) {
        eprintln!("skipped: strace is not installed or may not trace here");
        return;
    }
    let (listener, tport) = target();
    let log = std::env::temp_dir().join(format!("netassist-splice-{}.log", std::process::id()));
    let tport = tport.to_string();
    let mut cmd = std::process::Command::new("strace");
    cmd.args(["-f", "-qq", "-e", "trace=splice,recvfrom", "-o"])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_netassist"))
        .args(["relay", "0", "127.0.0.1", &tport, "--bind", "127.0.0.1", "--quiet", "--json"])
        .env("NETASSIST_LANG", "en")
        .stdin(std::process::Stdio::piped());
    let mut r = Proc::spawn_with(&mut cmd);
    let port = r.port();
    let (up, down) = (random_bytes(1 << 20, 3), random_bytes(2 << 20, 4));
    let (at_target, at_client) = exchange(port, &listener, &up, &down);
    assert!(at_target == up && at_client == down, "the bytes differ");
    r.event("closed", Some(1));
    r.type_line(":quit");
    assert!(r.wait().success());
    let traced = std::fs::read_to_string(&log).expect("strace wrote its log");
    let _ = std::fs::remove_file(&log);
    // A flow starts copying (a read and a write: no pipe for small messages) and moves to
    // splice once a read fills the 64 KiB buffer: socket -> pipe -> socket from then on.
    let (spliced, copied) = (moved_by("splice", &traced), moved_by("recvfrom", &traced));
    let traffic = (up.len() + down.len()) as u64;
    assert_eq!(spliced / 2 + copied, traffic, "every byte moved once: {spliced} spliced (twice), {copied} copied");
    assert!(copied <= traffic / 4, "bulk moves by splice: {copied} of {traffic} bytes copied");
}

/// File descriptors a process holds now.
fn open_fds(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

#[test]
fn a_quiet_relayed_connection_that_is_not_bulk_holds_no_pipe() {
    let (listener, tport) = target();
    let (mut r, port) = relay(tport, &["--quiet"]);
    let before = open_fds(r.pid());
    let mut c = client(port);
    let (mut t, _) = listener.accept().unwrap();
    t.set_read_timeout(Some(PATIENCE)).unwrap();
    r.event_where("the target leg", |v| v["event"] == "connected" && v["side"] == "initiated");
    for round in 0..20u8 {
        c.write_all(&[round; 100]).unwrap();
        assert_eq!(read_n(&mut t, 100), [round; 100]);
        t.write_all(&[round; 10]).unwrap();
        assert_eq!(read_n(&mut c, 10), [round; 10]);
    }
    // Its two sockets, and no pipe for either direction (a pipe is two more each).
    assert_eq!(open_fds(r.pid()) - before, 2, "small messages are copied, not spliced");
}

#[test]
fn bytes_are_exact_both_ways_when_shown_and_the_capture_reassembles() {
    let (listener, tport) = target();
    let pcap = std::env::temp_dir().join(format!("netassist-relay-{}.pcap", std::process::id()));
    let (mut r, port) = relay(tport, &["--quiet", "--pcap", pcap.to_str().unwrap()]);
    let (up, down) = (random_bytes(1 << 20, 3), random_bytes(2 << 20, 4));
    let (at_target, at_client) = exchange(port, &listener, &up, &down);
    assert!(at_target == up && at_client == down, "bytes differ");
    r.event("closed", Some(1));
    r.signal(libc::SIGINT);
    r.event("stopped", None);
    assert!(r.wait().success());

    let streams = reassemble(&std::fs::read(&pcap).unwrap());
    std::fs::remove_file(&pcap).unwrap();
    // Four streams: client->relay and relay->target carry `up`, the other two `down`.
    assert_eq!(streams.len(), 4, "{:?}", streams.keys().collect::<Vec<_>>());
    let ups = streams.values().filter(|s| s.bytes == up).count();
    let downs = streams.values().filter(|s| s.bytes == down).count();
    assert_eq!((ups, downs), (2, 2), "each way's bytes on both legs");
    assert!(streams.values().all(|s| s.syn && s.fin), "a handshake and a FIN on every stream");
    let client_leg: Vec<_> = streams.keys().filter(|(_, dst)| dst.port() == port).collect();
    assert_eq!(client_leg.len(), 1, "the client's leg has the relay's real port");
    assert!(streams.keys().any(|(_, dst)| dst.port() == tport), "the target's leg has the target's real port");
}

/// One direction of a TCP conversation read back from a capture.
#[derive(Default, Debug)]
struct Stream {
    bytes: Vec<u8>,
    syn: bool,
    fin: bool,
    rst: bool,
}

/// A direction's segments as read, before reassembly.
#[derive(Default)]
struct Collected {
    stream: Stream,
    /// (sequence number, payload)
    parts: Vec<(u32, Vec<u8>)>,
    /// The sequence number of the first byte (the SYN's plus one).
    first: Option<u32>,
}

/// Reads a pcap (Ethernet) and reassembles each TCP direction by sequence number; checks
/// that the segments leave no gap.
fn reassemble(file: &[u8]) -> BTreeMap<(SocketAddr, SocketAddr), Stream> {
    let mut segments: BTreeMap<(SocketAddr, SocketAddr), Collected> = BTreeMap::new();
    for captured in pcapng_packets(file) {
        let sliced = etherparse::SlicedPacket::from_ethernet(&captured.data).expect("a valid packet");
        let (src, dst) = match &sliced.net {
            Some(etherparse::NetSlice::Ipv4(ip)) => {
                (ip.header().source_addr().into(), ip.header().destination_addr().into())
            }
            Some(etherparse::NetSlice::Ipv6(ip)) => {
                (ip.header().source_addr().into(), ip.header().destination_addr().into())
            }
            other => panic!("not IP: {other:?}"),
        };
        let Some(etherparse::TransportSlice::Tcp(tcp)) = &sliced.transport else { panic!("not TCP") };
        let key = (SocketAddr::new(src, tcp.source_port()), SocketAddr::new(dst, tcp.destination_port()));
        let entry = segments.entry(key).or_default();
        if tcp.syn() {
            entry.stream.syn = true;
            entry.first = Some(tcp.sequence_number().wrapping_add(1));
        }
        entry.stream.fin |= tcp.fin();
        entry.stream.rst |= tcp.rst();
        if !tcp.payload().is_empty() {
            entry.parts.push((tcp.sequence_number(), tcp.payload().to_vec()));
        }
    }
    segments
        .into_iter()
        .map(|(key, Collected { mut stream, mut parts, first })| {
            parts.sort_by_key(|(seq, _)| seq.wrapping_sub(first.unwrap_or(0)));
            let mut next = first.expect("a SYN opens each stream");
            for (seq, payload) in parts {
                assert_eq!(seq, next, "no gap in {key:?}");
                next = next.wrapping_add(payload.len() as u32);
                stream.bytes.extend_from_slice(&payload);
            }
            (key, stream)
        })
        .collect()
}

#[test]
fn half_close_from_the_client_is_passed_on() {
    let (listener, tport) = target();
    let (mut r, port) = relay(tport, &[]);
    let mut c = client(port);
    let (mut t, _) = listener.accept().unwrap();
    t.set_read_timeout(Some(PATIENCE)).unwrap();
    c.write_all(b"question").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    // The target sees the bytes, then EOF; it can still answer.
    assert_eq!(read_to_end(&mut t), b"question");
    assert_eq!(r.event("half_closed", Some(1))["dir"], "c2t");
    t.write_all(b"answer").unwrap();
    drop(t);
    assert_eq!(read_to_end(&mut c), b"answer");
    assert_eq!(r.event("closed", Some(1))["reason"], "both_closed");
}

#[test]
fn half_close_from_the_target_is_passed_on() {
    let (listener, tport) = target();
    let (mut r, port) = relay(tport, &[]);
    let mut c = client(port);
    let (mut t, _) = listener.accept().unwrap();
    t.set_read_timeout(Some(PATIENCE)).unwrap();
    t.write_all(b"banner").unwrap();
    t.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_end(&mut c), b"banner");
    assert_eq!(r.event("half_closed", Some(1))["dir"], "t2c");
    c.write_all(b"still talking").unwrap();
    drop(c);
    assert_eq!(read_to_end(&mut t), b"still talking");
    r.event("closed", Some(1));
}

#[test]
fn a_refused_target_closes_the_client_with_a_reason() {
    let port_nobody = closed_port();
    let (mut r, port) = relay(port_nobody, &[]);
    let mut c = client(port);
    assert_eq!(read_to_end(&mut c), b"");
    let closed = r.event("closed", Some(1));
    assert_eq!(closed["reason"], "target_failed");
    assert!(closed["message"].as_str().unwrap().contains("refused"), "{closed}");
}

#[test]
fn a_target_that_closes_first() {
    let (listener, tport) = target();
    let (mut r, port) = relay(tport, &[]);
    let mut c = client(port);
    let (t, _) = listener.accept().unwrap();
    drop(t);
    assert_eq!(read_to_end(&mut c), b"");
    drop(c);
    assert_eq!(r.event("closed", Some(1))["reason"], "both_closed");
}

#[test]
fn a_client_reset_is_passed_on_as_a_reset() {
    let (listener, tport) = target();
    let pcap = std::env::temp_dir().join(format!("netassist-rst-{}.pcap", std::process::id()));
    let (mut r, port) = relay(tport, &["--pcap", pcap.to_str().unwrap()]);
    let c = client(port);
    let (mut t, _) = listener.accept().unwrap();
    t.set_read_timeout(Some(PATIENCE)).unwrap();
    r.event_where("the target leg", |v| v["event"] == "connected" && v["side"] == "initiated");
    socket2::SockRef::from(&c).set_linger(Some(Duration::ZERO)).unwrap();
    drop(c);
    assert_eq!(r.event("closed", Some(1))["reason"], "client_reset");
    let mut buf = [0u8; 8];
    let err = t.read(&mut buf).expect_err("a reset, not a FIN");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset);
    r.signal(libc::SIGINT);
    assert!(r.wait().success());
    // The capture shows it as it happened: the client's RST, passed on to the target.
    let streams = reassemble(&std::fs::read(&pcap).unwrap());
    std::fs::remove_file(&pcap).unwrap();
    let reset: Vec<_> = streams.iter().filter(|(_, s)| s.rst).map(|(k, _)| *k).collect();
    assert_eq!(reset.len(), 2, "an RST on each leg: {reset:?}");
    assert!(reset.iter().any(|(_, dst)| dst.port() == port), "from the client to the relay");
    assert!(reset.iter().any(|(_, dst)| dst.port() == tport), "from the relay to the target");
    assert!(streams.values().all(|s| !s.fin), "a reset, not a FIN, on either leg");
}

#[test]
fn many_clients_at_once() {
    let mut echo = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--echo", "--quiet", "--json"]);
    let eport = echo.port();
    let (_r, port) = relay(eport, &["--quiet"]);
    let workers: Vec<_> = (0..50u64)
        .map(|i| {
            thread::spawn(move || {
                let mut c = client(port);
                let data = random_bytes(20_000, i + 10);
                let mut w = c.try_clone().unwrap();
                let sent = data.clone();
                let writer = thread::spawn(move || w.write_all(&sent).unwrap());
                assert_eq!(read_n(&mut c, data.len()), data);
                writer.join().unwrap();
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
}

fn rss_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status.lines().find(|l| l.starts_with("VmRSS:")).unwrap().split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Pushes bytes at `writer` until it blocks (its peer stopped taking them), then returns how
/// much went.
fn push_until_blocked(writer: &mut TcpStream) -> usize {
    writer.set_write_timeout(Some(Duration::from_millis(500))).unwrap();
    let chunk = vec![7u8; 64 * 1024];
    let mut sent = 0;
    while let Ok(n) = writer.write(&chunk) {
        sent += n;
        assert!(sent < 512 << 20, "512 MiB went into a relay whose reader does not read");
    }
    sent
}

#[test]
fn a_slow_reader_keeps_memory_bounded_either_way() {
    for shown in [false, true] {
        let (listener, tport) = target();
        let extra: &[&str] = if shown { &["--dump", "len"] } else { &["--quiet"] };
        let (r, port) = relay(tport, extra);
        let before = rss_kib(r.pid());
        // The target does not read what the client sends.
        let mut c = client(port);
        let (mut t, _) = listener.accept().unwrap();
        let sent = push_until_blocked(&mut c);
        // And the client does not read what the target sends.
        let sent_back = push_until_blocked(&mut t);
        let grown = rss_kib(r.pid()).saturating_sub(before);
        // Quiet, the bytes wait in the kernel (sockets, splice pipes): what grows is a read
        // buffer per worker thread and a chunk per direction (measured 0.5-0.7 MiB). Shown,
        // the output may hold its 4 MiB of data besides, in the allocator's per-thread
        // arenas (measured 8.6-9.4 MiB).
        let bound = if shown { 16 * 1024 } else { 2 * 1024 };
        assert!(grown < bound, "the relay grew by {grown} KiB holding {sent} + {sent_back} bytes nobody read");
    }
}

#[test]
fn json_directions_and_the_target_leg() {
    let (listener, tport) = target();
    let (mut r, port) = relay(tport, &[]);
    let mut c = client(port);
    let (mut t, _) = listener.accept().unwrap();
    t.set_read_timeout(Some(PATIENCE)).unwrap();
    c.write_all(b"up").unwrap();
    assert_eq!(read_n(&mut t, 2), b"up");
    t.write_all(b"down").unwrap();
    assert_eq!(read_n(&mut c, 4), b"down");
    let leg = r.event_where("the target leg", |v| v["event"] == "connected" && v["side"] == "initiated");
    assert_eq!(leg["peer"], format!("127.0.0.1:{tport}"));
    assert_eq!(leg["local"], t.peer_addr().unwrap().to_string());
    let up = r.event_where("c2t", |v| v["event"] == "data" && v["dir"] == "c2t");
    assert_eq!(up["text"], "up");
    let down = r.event_where("t2c", |v| v["event"] == "data" && v["dir"] == "t2c");
    assert_eq!(down["text"], "down");
}

#[test]
fn sigterm_leaves_a_complete_capture() {
    let (listener, tport) = target();
    let pcap = std::env::temp_dir().join(format!("netassist-sigterm-{}.pcap", std::process::id()));
    let (mut r, port) = relay(tport, &["--pcap", pcap.to_str().unwrap()]);
    let mut c = client(port);
    let (mut t, _) = listener.accept().unwrap();
    t.set_read_timeout(Some(PATIENCE)).unwrap();
    c.write_all(b"before the end").unwrap();
    assert_eq!(read_n(&mut t, 14), b"before the end");
    r.event_where("the data", |v| v["event"] == "data");
    r.signal(libc::SIGTERM);
    r.event("stopped", None);
    assert!(r.wait().success());
    let streams = reassemble(&std::fs::read(&pcap).unwrap());
    std::fs::remove_file(&pcap).unwrap();
    assert_eq!(streams.values().filter(|s| s.bytes == b"before the end").count(), 2);
    assert!(streams.values().all(|s| s.fin), "the stop closed every stream with FIN");
}

#[test]
fn udp_relay_forwards_datagrams_both_ways() {
    let mut echo = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--udp", "--echo", "--quiet", "--json"]);
    let eport = echo.port().to_string();
    let mut r = Proc::spawn(&["relay", "0", "127.0.0.1", &eport, "--bind", "127.0.0.1", "--udp", "--json"]);
    let port = r.port();
    let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut buf = vec![0u8; 70_000];
    for payload in [b"hello".to_vec(), vec![], random_bytes(60_000, 9)] {
        peer.send_to(&payload, ("127.0.0.1", port)).unwrap();
        let (n, from) = peer.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], &payload[..]);
        assert_eq!(from.port(), port, "the answer comes from the relay");
    }
    let up = r.event_where("c2t", |v| v["event"] == "data" && v["dir"] == "c2t");
    assert_eq!(up["text"], "hello");
    r.event_where("t2c", |v| v["event"] == "data" && v["dir"] == "t2c");
}

/// A UDP target with nothing listening answers with ICMP port unreachable: the relay
/// closes that client's session saying so (the error wakes the upstream socket by itself,
/// with nothing to read), well before the idle timeout.
#[test]
fn udp_relay_says_when_the_target_port_is_unreachable() {
    let port = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    let args = ["relay", "0", "127.0.0.1", &port, "--bind", "127.0.0.1", "--udp", "--json", "--idle-timeout", "60"];
    let mut r = Proc::spawn(&args);
    let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    client.send_to(b"anyone?", ("127.0.0.1", r.port())).unwrap();
    let closed = r.event("closed", Some(1));
    assert_eq!(closed["reason"], "port_unreachable", "{closed}");
    r.signal(libc::SIGINT);
    assert!(r.wait().success());
}

/// Bursts from two clients at once, taken many per system call on both sides of the UDP
/// relay: each client gets every datagram back, in the order it sent them, whether the
/// relay shows them (answers copied, shown, then sent) or not (sent from the batch).
#[test]
fn udp_relay_bursts_keep_order_and_lose_nothing() {
    let mut echo = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--udp", "--echo", "--quiet", "--json"]);
    let eport = echo.port().to_string();
    for shown in [&["--quiet"][..], &[]] {
        let mut args = vec!["relay", "0", "127.0.0.1", &eport, "--bind", "127.0.0.1", "--udp", "--json"];
        args.extend_from_slice(shown);
        let mut r = Proc::spawn(&args);
        let port = r.port();
        let clients: Vec<std::net::UdpSocket> =
            (0..2).map(|_| std::net::UdpSocket::bind("127.0.0.1:0").unwrap()).collect();
        // 2 x 60 datagrams of 40 bytes fit the sockets' default buffers with room to spare.
        const BURST: u32 = 60;
        for i in 0..BURST {
            for (c, client) in clients.iter().enumerate() {
                let datagram = format!("client {c} datagram {i:>4} .................");
                client.send_to(datagram.as_bytes(), ("127.0.0.1", port)).unwrap();
            }
        }
        for (c, client) in clients.iter().enumerate() {
            client.set_read_timeout(Some(PATIENCE)).unwrap();
            let mut buf = [0u8; 100];
            for i in 0..BURST {
                let n =
                    client.recv(&mut buf).unwrap_or_else(|e| panic!("{shown:?}: client {c} got {i} of {BURST}: {e}"));
                let got = String::from_utf8_lossy(&buf[..n]);
                assert_eq!(got, format!("client {c} datagram {i:>4} ................."), "{shown:?}");
            }
        }
        r.signal(libc::SIGINT);
        let stopped = r.event("stopped", None);
        let bytes = u64::from(BURST) * 2 * 40;
        assert_eq!(
            (stopped["bytes_in"].as_u64(), stopped["bytes_out"].as_u64()),
            (Some(bytes), Some(bytes)),
            "{stopped}"
        );
        assert!(r.wait().success());
    }
}

#[test]
fn tshark_opens_the_capture() {
    let Ok(version) = std::process::Command::new("tshark").arg("--version").output() else {
        eprintln!("skipped: tshark is not installed");
        return;
    };
    assert!(version.status.success());
    let (listener, tport) = target();
    let pcap = std::env::temp_dir().join(format!("netassist-tshark-{}.pcap", std::process::id()));
    let (mut r, port) = relay(tport, &["--quiet", "--pcap", pcap.to_str().unwrap()]);
    let (at_target, at_client) = exchange(port, &listener, b"GET / HTTP/1.0\r\n\r\n", b"HTTP/1.0 200 OK\r\n\r\nhi");
    assert_eq!((at_target.len(), at_client.len()), (18, 21));
    r.event("closed", Some(1));
    r.signal(libc::SIGINT);
    assert!(r.wait().success());
    let out = std::process::Command::new("tshark")
        .args(["-r", pcap.to_str().unwrap(), "-q", "-z", "follow,tcp,ascii,0"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("GET / HTTP/1.0") && text.contains("HTTP/1.0 200 OK"), "{text}");
    // tshark's analysis finds nothing wrong: no lost segment, bad checksum or retransmission.
    let out = std::process::Command::new("tshark")
        .args(["-r", pcap.to_str().unwrap(), "-o", "tcp.check_checksum:TRUE", "-Y", "_ws.expert.severity >= 6291456"])
        .output()
        .unwrap();
    std::fs::remove_file(&pcap).unwrap();
    let warned = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && warned.trim().is_empty(), "tshark warns: {warned}");
}
