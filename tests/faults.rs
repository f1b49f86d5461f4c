//! Hostile and broken peers, and a hostile machine: each with what the user sees.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::*;

#[test]
fn allow_and_deny_close_a_refused_client_at_once_and_say_why() {
    let mut server = Proc::spawn(&[
        "listen",
        "0",
        "--bind",
        "127.0.0.1",
        "--allow",
        "127.0.0.0/8",
        "--deny",
        "127.0.0.2",
        "--echo",
        "--json",
    ]);
    let port = server.port();
    // 127.0.0.2 is this machine too: bind the client there.
    let denied = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    denied.bind(&"127.0.0.2:0".parse::<SocketAddr>().unwrap().into()).unwrap();
    denied.connect(&SocketAddr::from(([127, 0, 0, 1], port)).into()).unwrap();
    let mut denied: TcpStream = denied.into();
    denied.set_read_timeout(Some(PATIENCE)).unwrap();
    assert_eq!(read_to_end(&mut denied), b"");
    let rejected = server.event("rejected", None);
    assert!(rejected["peer"].as_str().unwrap().starts_with("127.0.0.2:"));
    assert_eq!(rejected["reason"], "denied by --deny 127.0.0.2/32; closed at once");
    let mut ok = client(port);
    ok.write_all(b"fine").unwrap();
    assert_eq!(read_n(&mut ok, 4), b"fine");
}

#[test]
fn an_allow_list_from_a_file_and_ipv4_clients_of_the_dual_stack_socket() {
    let path = std::env::temp_dir().join(format!("netassist-allow-{}", std::process::id()));
    std::fs::write(&path, "# only this machine's IPv6 loopback\n::1\n").unwrap();
    let mut server = Proc::spawn(&["listen", "0", "--allow-file", path.to_str().unwrap(), "--json"]);
    let port = server.port();
    // 127.0.0.1 arrives as ::ffff:127.0.0.1 on the dual-stack socket and matches no rule.
    let mut v4 = client(port);
    assert_eq!(read_to_end(&mut v4), b"");
    let rejected = server.event("rejected", None);
    assert!(rejected["reason"].as_str().unwrap().starts_with("not in any --allow network (::1/128)"), "{rejected}");
    std::fs::remove_file(&path).unwrap();
    let bad = bin().args(["listen", "0", "--allow", "lan"]).stdin(Stdio::null()).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("'lan' is not an address or a network"));
}

#[test]
fn udp_sources_that_are_not_allowed_are_dropped_and_named_once() {
    // One dual-stack socket: IPv4 loopback is denied, IPv6 loopback is not.
    let mut server = Proc::spawn(&["listen", "0", "--udp", "--deny", "127.0.0.0/8", "--echo", "--json"]);
    let port = server.port();
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    for _ in 0..3 {
        s.send_to(b"x", ("127.0.0.1", port)).unwrap();
    }
    // An allowed source's echo comes back only after the denied datagrams before it were
    // read: all three have been seen by then.
    let ok = std::net::UdpSocket::bind("[::1]:0").unwrap();
    ok.set_read_timeout(Some(PATIENCE)).unwrap();
    ok.send_to(b"y", ("::1", port)).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(ok.recv_from(&mut buf).map(|(n, _)| buf[..n].to_vec()).unwrap(), b"y");
    assert!(s.recv_from(&mut [0u8; 8]).is_err(), "no echo for a denied source");
    server.type_line(":list");
    let list = server.event("clients", None);
    assert_eq!(list["clients"].as_array().unwrap().len(), 1, "only the allowed source: {list}");
    assert_eq!(server.seen.iter().filter(|l| l.contains("\"rejected\"")).count(), 1, "named once");
}

/// A client socket with a small receive buffer that never reads.
fn deaf_client(port: u16) -> TcpStream {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s.set_recv_buffer_size(4096).unwrap();
    s.connect(&SocketAddr::from(([127, 0, 0, 1], port)).into()).unwrap();
    s.into()
}

#[test]
fn a_client_that_never_reads_is_dropped_not_buffered() {
    let mut server = Proc::spawn(&[
        "listen",
        "0",
        "--bind",
        "127.0.0.1",
        "--sndbuf",
        "4K",
        "--queue-limit",
        "64K",
        "--json",
        "--quiet",
    ]);
    let port = server.port();
    let _deaf = deaf_client(port);
    server.event("connected", Some(1));
    // The other client reads everything, until the last line.
    let mut reader = client(port);
    server.event("connected", Some(2));
    let reading = std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0u8; 65536];
        while !got.ends_with(b"last\n") {
            let n = reader.read(&mut buf).expect("the reader is still served");
            assert!(n > 0, "the reader was closed");
            got.extend_from_slice(&buf[..n]);
        }
        got.len()
    });
    let line = "x".repeat(999);
    for _ in 0..300 {
        server.type_line(&line);
    }
    server.type_line("last");
    let closed = server.event("closed", Some(1));
    assert_eq!(closed["reason"], "queue_full");
    assert!(closed["message"].as_str().unwrap().contains("65536 bytes"), "{closed}");
    assert_eq!(reading.join().unwrap(), 300 * 1000 + 5, "the reader got every byte");
}

#[test]
fn a_burst_of_a_thousand_past_max_conn() {
    let mut server = Proc::spawn(&[
        "listen",
        "0",
        "--bind",
        "127.0.0.1",
        "--backlog",
        "1024",
        "--max-conn",
        "10",
        "--echo",
        "--json",
    ]);
    let port = server.port();
    let target: socket2::SockAddr = SocketAddr::from(([127, 0, 0, 1], port)).into();
    let mut burst = Vec::new();
    for _ in 0..1000 {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        s.set_nonblocking(true).unwrap();
        let _ = s.connect(&target);
        burst.push(s);
    }
    let (mut connected, mut rejected) = (0, 0);
    while connected + rejected < 1000 {
        let v = server.event_where("connected or rejected", |v| v["event"] == "connected" || v["event"] == "rejected");
        if v["event"] == "connected" { connected += 1 } else { rejected += 1 }
    }
    assert_eq!((connected, rejected), (10, 990));
    drop(burst);
    // Still serving.
    for _ in 0..10 {
        server.event("closed", None);
    }
    let mut c = client(port);
    c.write_all(b"alive").unwrap();
    assert_eq!(read_n(&mut c, 5), b"alive");
}

#[test]
fn out_of_file_descriptors_it_says_so_once_and_keeps_serving() {
    // 64 descriptors: some for the process itself, the rest for clients.
    let script =
        format!("ulimit -n 64 && exec {} listen 0 --bind 127.0.0.1 --echo --json", env!("CARGO_BIN_EXE_netassist"));
    let mut server = Proc::spawn_with(Command::new("sh").args(["-c", &script]).stdin(Stdio::null()));
    let port = server.port();
    let mut clients: Vec<TcpStream> = (0..100).map(|_| client(port)).collect();
    let err = server.event("error", None);
    let message = err["message"].as_str().unwrap();
    assert!(message.contains("Too many open files") && message.contains("raise `ulimit -n`"), "{message}");
    // The clients it has are still served.
    let c = &mut clients[0];
    c.write_all(b"still").unwrap();
    assert_eq!(read_n(c, 5), b"still");
    // Once clients leave, the waiting ones are accepted: the last one to connect was surely
    // waiting (64 descriptors hold fewer than 60 clients), and is echoed only once accepted.
    clients.drain(..50);
    let last = clients.last_mut().unwrap();
    let late_port = last.local_addr().unwrap().port();
    last.write_all(b"late").unwrap();
    assert_eq!(read_n(last, 4), b"late");
    server.event_where("the late client accepted", |v| {
        v["event"] == "connected" && v["peer"].as_str().is_some_and(|p| p.ends_with(&format!(":{late_port}")))
    });
    // Every line up to the late client's acceptance: the shortage was said once, however
    // often accept() was retried meanwhile.
    assert_eq!(server.seen.iter().filter(|l| l.contains("\"event\":\"error\"")).count(), 1, "said once");
}

#[test]
fn a_target_that_accepts_and_never_answers() {
    let target = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tport = target.local_addr().unwrap().port().to_string();
    let mut relay =
        Proc::spawn(&["relay", "0", "127.0.0.1", &tport, "--bind", "127.0.0.1", "--idle-timeout", "300ms", "--json"]);
    let port = relay.port();
    let mut c = client(port);
    let (_t, _) = target.accept().unwrap();
    c.write_all(b"hello?").unwrap();
    assert_eq!(read_to_end(&mut c), b"", "closed after the idle time");
    assert_eq!(relay.event("closed", Some(1))["reason"], "idle_timeout");
}

#[test]
fn sigpipe_never_kills_the_server() {
    let big = "y".repeat(60_000);
    let mut server = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--reply", &big, "--quiet", "--json"]);
    let port = server.port();
    // Clients that ask and leave before the answer is written.
    for _ in 0..50 {
        let mut c = client(port);
        c.write_all(b"?").unwrap();
        socket2::SockRef::from(&c).set_linger(Some(Duration::ZERO)).unwrap();
    }
    for _ in 0..50 {
        server.event("closed", None);
    }
    let mut c = client(port);
    c.write_all(b"?").unwrap();
    assert_eq!(read_n(&mut c, 60_000).len(), 60_000);
}

#[test]
fn a_silent_client_does_not_hold_up_the_others() {
    let mut server = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--echo", "--json"]);
    let port = server.port();
    let _silent = client(port);
    server.event("connected", Some(1));
    let mut talker = client(port);
    talker.write_all(b"hi").unwrap();
    assert_eq!(read_n(&mut talker, 2), b"hi");
}

#[test]
fn hostile_bytes_never_reach_the_terminal_raw_but_files_keep_them() {
    let path = std::env::temp_dir().join(format!("netassist-output-{}", std::process::id()));
    let mut server =
        Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--no-time", "--output", path.to_str().unwrap()]);
    let port = server.human_port();
    let evil = b"\x1b]0;pwned\x07\x1b[2J\x9b31m\xe2\x80\xae\r\n";
    let mut c = client(port);
    c.write_all(evil).unwrap();
    let line = server.line_where("the data", |l| l.starts_with("#1 recv"));
    assert!(!line.contains('\x1b') && !line.contains('\x07') && !line.contains('\u{202e}'), "{line:?}");
    assert_eq!(line, "#1 recv 23 bytes: \\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u{202e}\\r\\n");
    drop(c);
    server.line_where("closed", |l| l.starts_with("#1 closed"));
    server.signal(libc::SIGINT);
    server.wait();
    assert_eq!(std::fs::read(&path).unwrap(), evil, "--output keeps the exact bytes");
    std::fs::remove_file(&path).unwrap();
}
