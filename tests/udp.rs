//! `listen --udp` and `connect --udp`: against each other, against a Python UDP peer, the
//! edges of datagram sizes, port unreachable, stdin, and broadcast and multicast between two
//! network namespaces the test makes (as root; skipped otherwise).

use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::*;

fn udp_peer() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s
}

fn have_python() -> bool {
    Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success())
}

#[test]
fn client_and_server_with_gbk_hex_and_an_empty_datagram() {
    let mut server = Proc::spawn(&["listen", "0", "--udp", "--echo", "-e", "gbk", "--json"]);
    let listening = server.event("listening", None);
    assert_eq!(listening["proto"], "udp");
    let port = server.port_of(&listening).to_string();
    let mut client = Proc::spawn(&[
        "connect",
        "127.0.0.1",
        &port,
        "--udp",
        "-e",
        "gbk",
        "--send",
        "你好",
        "--send-hex",
        "ff 00",
        "--send",
        "",
        "--wait",
        "5",
        "--json",
    ]);
    let connected = server.event("connected", Some(1));
    assert_eq!((connected["proto"].as_str(), connected["side"].as_str()), (Some("udp"), Some("accepted")));
    for (len, hex, text) in [(4, "c4e3bac3", "你好"), (2, "ff00", "\u{fffd}\u{0}"), (0, "", "")] {
        let got = server.event_where("a datagram", |v| v["event"] == "data" && v["dir"] == "in");
        assert_eq!(
            (got["len"].as_u64(), got["hex"].as_str(), got["text"].as_str()),
            (Some(len), Some(hex), Some(text))
        );
        let back = client.event_where("the echo", |v| v["event"] == "data" && v["dir"] == "in");
        assert_eq!((back["len"].as_u64(), back["hex"].as_str()), (Some(len), Some(hex)));
        assert_eq!(back["peer"], format!("127.0.0.1:{port}"));
    }
}

#[test]
fn a_plain_udp_peer_and_the_largest_datagram() {
    let mut server = Proc::spawn(&["listen", "0", "--udp", "--echo", "--quiet", "--json"]);
    let port = server.port();
    let peer = udp_peer();
    let big: Vec<u8> = (0..65_507u32).map(|i| (i * 7) as u8).collect();
    peer.send_to(&big, ("127.0.0.1", port)).unwrap();
    let mut buf = vec![0u8; 70_000];
    let (n, _) = peer.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], &big[..], "65507 bytes come back whole");
    // And the other way: our client sends one that size to a plain peer.
    let path = std::env::temp_dir().join(format!("netassist-udp-{}.bin", std::process::id()));
    std::fs::write(&path, &big).unwrap();
    let receiver = udp_peer();
    let rport = receiver.local_addr().unwrap().port().to_string();
    let out = bin()
        .args(["connect", "127.0.0.1", &rport, "--udp", "--send-file", path.to_str().unwrap(), "--wait", "0.1"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (n, _) = receiver.recv_from(&mut buf).unwrap();
    assert_eq!(n, 65_507);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_datagram_too_big_is_refused_before_anything_is_sent() {
    let receiver = udp_peer();
    let port = receiver.local_addr().unwrap().port().to_string();
    let path = std::env::temp_dir().join(format!("netassist-udp-big-{}.bin", std::process::id()));
    std::fs::write(&path, vec![0u8; 65_508]).unwrap();
    let out = bin()
        .args(["connect", "127.0.0.1", &port, "--udp", "--send", "first", "--send-file", path.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        err,
        "error: --send-file: 65508 bytes do not fit in one UDP datagram over IPv4 (at most 65507); send less, or use TCP\n"
    );
    receiver.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    assert!(receiver.recv_from(&mut [0u8; 16]).is_err(), "not even the first datagram went");
}

#[test]
fn port_unreachable_is_one_clear_line() {
    let port = {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port().to_string()
    };
    let out = bin()
        .args(["connect", "127.0.0.1", &port, "--udp", "--send", "anyone?"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        err,
        format!(
            "error: nothing listens on 127.0.0.1:{port} (UDP): it answered with ICMP port unreachable; is the server running?\n"
        )
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("closed: nothing listens on 127.0.0.1:{port}: ICMP port unreachable")),
        "{stdout}"
    );
}

#[test]
fn python_peers_both_ways() {
    if !have_python() {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    // Our server, a Python client.
    let mut server = Proc::spawn(&["listen", "0", "--udp", "--reply", "pong", "--json"]);
    let port = server.port();
    let script = format!(
        "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(10); \
         s.sendto('汉字'.encode('gbk'), ('127.0.0.1', {port})); print(s.recvfrom(100)[0].decode())"
    );
    let out = Command::new("python3").args(["-c", &script]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "pong");
    let got = server.event_where("the datagram", |v| v["event"] == "data" && v["dir"] == "in");
    assert_eq!(got["hex"], "babad7d6");
    // A Python echo server, our client.
    let mut py = Proc::spawn_with(Command::new("python3").args([
        "-c",
        "import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1',0)); \
         print(s.getsockname()[1], flush=True); d,a=s.recvfrom(65536); s.sendto(d[::-1],a)",
    ]));
    let pport = py.next_line().unwrap();
    let mut c = Proc::spawn(&["connect", "127.0.0.1", &pport, "--udp", "--send", "abc", "--json"]);
    let back = c.event_where("the reply", |v| v["event"] == "data" && v["dir"] == "in");
    assert_eq!(back["text"], "cba");
}

#[test]
fn stdin_goes_to_the_last_sender_or_at_id() {
    let mut server = Proc::spawn(&["listen", "0", "--udp", "--json"]);
    let port = server.port();
    let (a, b) = (udp_peer(), udp_peer());
    a.send_to(b"from a", ("127.0.0.1", port)).unwrap();
    server.event("connected", Some(1));
    b.send_to(b"from b", ("127.0.0.1", port)).unwrap();
    server.event("connected", Some(2));
    let mut buf = [0u8; 64];
    server.type_line("to the last");
    let (n, _) = b.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"to the last\n");
    server.type_line("@1 to a");
    let (n, _) = a.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"to a\n");
    server.type_line(":list");
    let list = server.event("clients", None);
    assert_eq!(list["clients"].as_array().unwrap().len(), 2);
    assert_eq!(list["clients"][0]["peer"], a.local_addr().unwrap().to_string());
}

#[test]
fn ipv6_datagrams() {
    let mut server = Proc::spawn(&["listen", "0", "--udp", "--echo", "--json"]);
    let port = server.port().to_string();
    let Ok(probe) = UdpSocket::bind("[::1]:0") else {
        eprintln!("skipped: no IPv6 loopback");
        return;
    };
    drop(probe);
    let mut c = Proc::spawn(&["connect", "::1", &port, "--udp", "--send", "six", "--json"]);
    let back = c.event_where("the echo", |v| v["event"] == "data" && v["dir"] == "in");
    assert_eq!(back["peer"], format!("[::1]:{port}"));
    assert!(server.event("connected", Some(1))["peer"].as_str().unwrap().starts_with("[::1]:"));
}

#[test]
fn idle_sources_are_forgotten() {
    let mut server = Proc::spawn(&["listen", "0", "--udp", "--idle-timeout", "200ms", "--json"]);
    let port = server.port();
    udp_peer().send_to(b"x", ("127.0.0.1", port)).unwrap();
    let closed = server.event("closed", Some(1));
    assert_eq!(closed["reason"], "idle_timeout");
    // Forgotten once quiet for the whole timeout, not sooner.
    assert!(closed["duration_ms"].as_u64().unwrap() >= 200, "{closed}");
}

/// Two network namespaces joined by a veth pair: A (10.N.0.1, fd77:N::1) and B (.2, ::2).
/// Removed when dropped.
struct Namespaces {
    a: String,
    b: String,
}

impl Namespaces {
    fn new(tag: &str) -> Option<Namespaces> {
        let can = Command::new("ip").args(["netns", "list"]).output().is_ok_and(|o| o.status.success())
            && unsafe { libc::geteuid() } == 0;
        if !can {
            return None;
        }
        let id = std::process::id() % 10_000;
        let ns = Namespaces { a: format!("na{id}{tag}a"), b: format!("na{id}{tag}b") };
        let (va, vb) = (format!("v{id}{tag}a"), format!("v{id}{tag}b"));
        let net = Namespaces::octet(tag);
        let script = format!(
            "set -e; ip netns add {a}; ip netns add {b}; ip link add {va} type veth peer name {vb}; \
             ip link set {va} netns {a}; ip link set {vb} netns {b}; \
             ip -n {a} addr add 10.{net}.0.1/24 brd + dev {va}; ip -n {b} addr add 10.{net}.0.2/24 brd + dev {vb}; \
             ip -n {a} addr add fd77:{net}::1/64 dev {va} nodad; ip -n {b} addr add fd77:{net}::2/64 dev {vb} nodad; \
             ip -n {a} link set {va} up; ip -n {b} link set {vb} up; ip -n {a} link set lo up; ip -n {b} link set lo up",
            a = ns.a,
            b = ns.b
        );
        // This machine can make test hosts: failing to is a failure, not a skip.
        let out = Command::new("sh").args(["-c", &script]).output().expect("sh runs");
        assert!(out.status.success(), "cannot make the test namespaces: {}", String::from_utf8_lossy(&out.stderr));
        Some(ns)
    }

    /// The second octet of the test hosts' IPv4 network, one per test, below 256.
    fn octet(tag: &str) -> u32 {
        let offset = match tag {
            "b" => 0,
            "n" => 50,
            _ => 100,
        };
        100 + offset + std::process::id() % 50
    }

    fn net(&self, tag: &str) -> u32 {
        Namespaces::octet(tag)
    }

    fn iface(&self, side: char, tag: &str) -> String {
        format!("v{}{tag}{side}", std::process::id() % 10_000)
    }

    /// netassist ARGS inside namespace `ns`.
    fn run(&self, ns: &str, args: &[&str]) -> Proc {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns, env!("CARGO_BIN_EXE_netassist")]).args(args).stdin(Stdio::piped());
        Proc::spawn_with(&mut cmd)
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

#[test]
fn broadcast_between_namespaces() {
    let Some(ns) = Namespaces::new("b") else {
        eprintln!("skipped: needs root and ip netns to make test hosts");
        return;
    };
    let net = ns.net("b");
    let mut server = ns.run(&ns.a, &["listen", "0", "--udp", "--bind", "0.0.0.0", "--echo", "--json"]);
    let port = server.port().to_string();
    let mut client = ns.run(
        &ns.b,
        &[
            "connect",
            &format!("10.{net}.0.255"),
            &port,
            "--udp",
            "--broadcast",
            "--send",
            "hello all",
            "--wait",
            "5",
            "--json",
        ],
    );
    let got = server.event_where("the broadcast", |v| v["event"] == "data" && v["dir"] == "in");
    assert_eq!(got["text"], "hello all");
    assert!(got["peer"].as_str().unwrap().starts_with(&format!("10.{net}.0.2:")), "{got}");
    // The echo comes back from A's own address: a source of its own on the client.
    let back = client.event_where("the echo", |v| v["event"] == "data" && v["dir"] == "in");
    assert_eq!(back["peer"], format!("10.{net}.0.1:{port}"));
}

#[test]
fn broadcast_needs_the_flag() {
    let Some(ns) = Namespaces::new("n") else {
        eprintln!("skipped: needs root and ip netns to make test hosts");
        return;
    };
    let net = ns.net("n");
    let mut client = ns.run(&ns.b, &["connect", &format!("10.{net}.0.255"), "9", "--udp", "--send", "x"]);
    assert_eq!(client.wait().code(), Some(1));
    let err = client.stderr_all();
    assert_eq!(
        err,
        format!("error: connect: 10.{net}.0.255 is a broadcast address here: add --broadcast to send to it\n")
    );
}

#[test]
fn multicast_v4_and_v6_between_namespaces() {
    let Some(ns) = Namespaces::new("m") else {
        eprintln!("skipped: needs root and ip netns to make test hosts");
        return;
    };
    let (ia, ib) = (ns.iface('a', "m"), ns.iface('b', "m"));
    for group in ["239.77.0.1", "ff12::77"] {
        let mut server = ns.run(&ns.a, &["listen", "0", "--udp", "--join", group, "--iface", &ia, "--json"]);
        let port = server.port().to_string();
        // A member of the group on the sender's own host: `--multicast-loop off` keeps the
        // sender's datagram from it.
        let mut local = ns.run(&ns.b, &["listen", &port, "--udp", "--join", group, "--iface", &ib, "--json"]);
        local.port();
        let mut client = ns.run(
            &ns.b,
            &[
                "connect",
                group,
                &port,
                "--udp",
                "--iface",
                &ib,
                "--ttl",
                "1",
                "--multicast-loop",
                "off",
                "--send",
                group,
                "--wait",
                "0.3",
                "--json",
            ],
        );
        let got = server.event_where("the multicast datagram", |v| v["event"] == "data" && v["dir"] == "in");
        assert_eq!(got["text"], group);
        assert!(client.wait().success(), "{}", client.stderr_all());
        // With the loop on, the local member does get a datagram: the marker must be the
        // first it saw (the one sent with the loop off never came).
        let mut marker = ns.run(
            &ns.b,
            &[
                "connect",
                group,
                &port,
                "--udp",
                "--iface",
                &ib,
                "--multicast-loop",
                "on",
                "--send",
                "marker",
                "--wait",
                "0.3",
            ],
        );
        let first = local.event_where("the first datagram on the sender's host", |v| v["event"] == "data");
        assert_eq!(first["text"], "marker", "{first}");
        assert!(marker.wait().success(), "{}", marker.stderr_all());
    }
}

#[test]
fn a_burst_from_several_sources_is_answered_whole_and_in_order() {
    // Datagrams that wait together are taken and answered in batches (recvmmsg,
    // sendmmsg): none may be lost or overtake another of its source. (90 small datagrams
    // fit in a default receive buffer: a loss would be ours, not the kernel's.)
    let mut server = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--udp", "--echo", "--quiet", "--json"]);
    let port = server.port();
    let peers: Vec<UdpSocket> = (0..3).map(|_| udp_peer()).collect();
    for round in 0..30u32 {
        for (p, peer) in peers.iter().enumerate() {
            peer.send_to(format!("{p}:{round:04}").as_bytes(), ("127.0.0.1", port)).unwrap();
        }
    }
    let mut buf = [0u8; 64];
    for (p, peer) in peers.iter().enumerate() {
        for round in 0..30u32 {
            let (n, _) = peer.recv_from(&mut buf).expect("every answer comes back");
            assert_eq!(std::str::from_utf8(&buf[..n]).unwrap(), format!("{p}:{round:04}"), "in order");
        }
    }
    server.type_line(":quit");
    let stopped = server.event("stopped", None);
    assert_eq!((stopped["msgs_in"].as_u64(), stopped["msgs_out"].as_u64()), (Some(90), Some(90)));
}

/// A full send buffer is waited out, never a datagram dropped by us: in a network namespace
/// of this test's own thread, lo gets a slow queue (tbf), where the server's answers wait,
/// so its small send buffer (--sndbuf 4096) fills and sends are refused with EAGAIN (seen
/// with strace). Every datagram the server took is answered (its totals), and the client
/// gets every answer, in order. (Datagrams the flood overflows the server's receive buffer
/// with are dropped by the kernel, as a network would; they are never counted as taken.)
#[test]
fn a_full_udp_send_buffer_is_waited_for_not_dropped() {
    let tools = ["tc", "strace"].iter().all(|t| Command::new(t).arg("-V").output().is_ok());
    if !tools {
        eprintln!("skipped: needs tc and strace");
        return;
    }
    // A thread of its own: the namespace is this thread's (and its children's) alone.
    std::thread::spawn(|| {
        // SAFETY: unshare on this thread only; no other thread's namespace changes.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            eprintln!("skipped: cannot create a network namespace here (run as root)");
            return;
        }
        let run = |args: &[&str]| {
            let ok = Command::new(args[0]).args(&args[1..]).status().is_ok_and(|s| s.success());
            assert!(ok, "{args:?} failed");
        };
        run(&["ip", "link", "set", "lo", "up"]);
        run(&["tc", "qdisc", "add", "dev", "lo", "root", "tbf", "rate", "100mbit", "burst", "16kb", "limit", "16mb"]);
        let trace = tempfile_path("udp-full-sndbuf.strace");
        let mut cmd = Command::new("strace");
        cmd.args(["-f", "-qq", "-e", "trace=sendmmsg,sendto", "-o", &trace])
            .arg(env!("CARGO_BIN_EXE_netassist"))
            .args(["listen", "0", "--udp", "--echo", "--quiet", "--json", "--bind", "127.0.0.1", "--sndbuf", "4096"])
            .env("NETASSIST_LANG", "en")
            .stdin(Stdio::null());
        let mut server = Proc::spawn_with(&mut cmd);
        let port = server.port();
        let c = udp_peer();
        c.connect(("127.0.0.1", port)).unwrap();
        let _ = socket2::SockRef::from(&c).set_recv_buffer_size(8 << 20);
        const N: u32 = 3000;
        let reader = {
            let c = c.try_clone().unwrap();
            std::thread::spawn(move || {
                c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                let mut got = Vec::new();
                let mut buf = [0u8; 2000];
                // Until the answers stop: two seconds of quiet after the last.
                while let Ok(n) = c.recv(&mut buf) {
                    assert_eq!(n, 1000, "an answer is the datagram itself");
                    assert!(buf[..n].chunks(4).all(|w| w == &buf[..4]), "an answer is whole");
                    got.push(u32::from_be_bytes(buf[..4].try_into().unwrap()));
                }
                got
            })
        };
        for i in 0..N {
            c.send(&i.to_be_bytes().repeat(250)).unwrap();
        }
        let got = reader.join().unwrap();
        // strace is between us and the server: the signal goes to the server itself.
        let children = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", server.pid())).unwrap();
        let pid: i32 = children.split_whitespace().next().expect("strace runs the server").parse().unwrap();
        // SAFETY: kill with a pid of our own child's child and a valid signal.
        unsafe { libc::kill(pid, libc::SIGINT) };
        let stopped = server.event("stopped", None);
        server.wait();
        let (taken, answered) = (stopped["msgs_in"].as_u64().unwrap(), stopped["msgs_out"].as_u64().unwrap());
        let refused = std::fs::read_to_string(&trace).unwrap().matches("EAGAIN").count();
        let _ = std::fs::remove_file(&trace);
        assert!(refused > 0, "the send buffer never filled: nothing was tested");
        assert_eq!(answered, taken, "every datagram taken was answered ({refused} sends refused for room)");
        assert!(taken >= 100, "only {taken} of {N} datagrams reached the server");
        assert_eq!(got.len() as u64, answered, "the client got every answer sent");
        assert!(got.windows(2).all(|w| w[0] < w[1]), "answers in the order sent");
    })
    .join()
    .unwrap();
}

/// A path for a scratch file of this test run.
fn tempfile_path(name: &str) -> String {
    std::env::temp_dir().join(format!("netassist-{}-{name}", std::process::id())).display().to_string()
}
