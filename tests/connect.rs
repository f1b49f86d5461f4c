//! `netassist connect` against plain servers: the lesson's client scenario, ordered and
//! periodic sends, stdin lines and half-close, the wait, files, how it ends.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};

use crate::util::*;

fn server() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

fn accept(l: &TcpListener) -> TcpStream {
    let (s, _) = l.accept().unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s
}

#[test]
fn lesson_client_in_gbk() {
    let (l, port) = server();
    let mut c = Proc::spawn(&[
        "connect",
        "127.0.0.1",
        &port.to_string(),
        "--send",
        "你好服务端，我是客户端小黑!",
        "--encoding",
        "gbk",
        "--json",
    ]);
    let mut s = accept(&l);
    assert_eq!(read_n(&mut s, 27), gbk("你好服务端，我是客户端小黑!"));
    s.write_all(&gbk("hello")).unwrap();
    let connected = c.event("connected", Some(1));
    assert_eq!(connected["side"], "initiated");
    assert_eq!(connected["local"], s.peer_addr().unwrap().to_string(), "the local port the OS chose");
    let reply = c.event_where("the reply", |v| v["event"] == "data" && v["dir"] == "in");
    assert_eq!(reply["text"], "hello");
    drop(s);
    assert_eq!(c.event("closed", Some(1))["reason"], "peer_closed");
    assert!(c.wait().success());
}

#[test]
fn human_lines_name_the_local_port() {
    let (l, port) = server();
    let mut c = Proc::spawn(&["connect", &format!("127.0.0.1:{port}"), "--send", "x", "--no-time"]);
    let mut s = accept(&l);
    assert_eq!(read_n(&mut s, 1), b"x");
    let line = c.line_where("connected", |l| l.starts_with("#1 connected"));
    let local = s.peer_addr().unwrap();
    assert_eq!(
        line,
        format!("#1 connected to 127.0.0.1:{port} from {local} (local port {} chosen by the OS)", local.port())
    );
    drop(s);
    let closed = c.line_where("closed", |l| l.starts_with("#1 closed"));
    assert!(closed.contains("peer closed the connection"), "{closed}");
}

#[test]
fn sends_go_in_order_every_interval() {
    let (l, port) = server();
    let mut c = Proc::spawn(&[
        "connect",
        "127.0.0.1",
        &port.to_string(),
        "--send",
        "a",
        "--send-hex",
        "01 02",
        "--send",
        r"\r\n",
        "--interval",
        "20",
        "--count",
        "3",
        "--wait",
        "0.3",
        "--json",
    ]);
    let mut s = accept(&l);
    // Three rounds in order, and no fourth: the client closes after its quiet --wait.
    assert_eq!(read_to_end(&mut s), b"a\x01\x02\r\na\x01\x02\r\na\x01\x02\r\n");
    for _ in 0..9 {
        c.event_where("a send", |v| v["event"] == "data" && v["dir"] == "out");
    }
    let closed = c.event("closed", Some(1));
    assert_eq!((closed["msgs_out"].as_u64(), closed["bytes_out"].as_u64()), (Some(9), Some(15)), "{closed}");
    assert!(c.wait().success());
}

#[test]
fn stdin_lines_then_half_close_then_replies_until_the_server_closes() {
    let (l, port) = server();
    let mut c =
        Proc::spawn(&["connect", "127.0.0.1", &port.to_string(), "--eol", "crlf", "--wait", "forever", "--json"]);
    let mut s = accept(&l);
    c.type_line("hello");
    assert_eq!(read_n(&mut s, 7), b"hello\r\n");
    c.close_stdin();
    // The client half-closed: the server reads EOF, yet can still answer.
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    s.write_all(b"bye").unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let reply = c.event_where("the reply", |v| v["event"] == "data" && v["dir"] == "in");
    assert_eq!(reply["text"], "bye");
    assert_eq!(c.event("closed", Some(1))["reason"], "peer_closed");
    assert!(c.wait().success());
}

#[test]
fn stdin_hex_lines() {
    let (l, port) = server();
    let mut c = Proc::spawn(&["connect", "127.0.0.1", &port.to_string(), "--stdin-format", "hex", "--json"]);
    let mut s = accept(&l);
    c.type_line("de ad be ef");
    assert_eq!(read_n(&mut s, 4), b"\xde\xad\xbe\xef");
    c.type_line("zz");
    assert!(c.stderr_wait("stdin line 2 not sent").contains("position 1"));
    c.type_line("0x01");
    assert_eq!(read_n(&mut s, 1), b"\x01");
}

#[test]
fn ends_after_the_wait_without_data() {
    let (l, port) = server();
    let mut c =
        Proc::spawn(&["connect", "127.0.0.1", &port.to_string(), "--send", "ping", "--wait", "200ms", "--json"]);
    let mut s = accept(&l);
    assert_eq!(read_n(&mut s, 4), b"ping");
    // The client ends on its own, with FIN.
    assert_eq!(read_to_end(&mut s), b"");
    let closed = c.event("closed", Some(1));
    assert_eq!(closed["reason"], "done");
    assert!(c.wait().success());
}

#[test]
fn send_file_arrives_exactly() {
    let (l, port) = server();
    let dir = std::env::temp_dir().join(format!("netassist-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("payload.bin");
    let payload: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(&path, &payload).unwrap();
    let mut c = Proc::spawn(&[
        "connect",
        "127.0.0.1",
        &port.to_string(),
        "--send-file",
        path.to_str().unwrap(),
        "--quiet",
        "--json",
    ]);
    let mut s = accept(&l);
    assert_eq!(read_n(&mut s, payload.len()), payload);
    drop(s);
    let closed = c.event("closed", Some(1));
    assert_eq!(closed["bytes_out"].as_u64(), Some(payload.len() as u64));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--send-file -` sends stdin's bytes exactly (binary, not lines), then, with no `--wait`
/// given, waits the default 2 s of quiet and ends with FIN.
#[test]
fn send_file_dash_sends_stdin_exactly_then_waits_the_default_two_seconds() {
    let (l, port) = server();
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8).collect();
    let mut child = bin()
        .args(["connect", "127.0.0.1", &port.to_string(), "--send-file", "-", "--quiet", "--json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feed = payload.clone();
    let feeder = std::thread::spawn(move || stdin.write_all(&feed));
    let mut s = accept(&l);
    assert_eq!(read_n(&mut s, payload.len()), payload);
    feeder.join().unwrap().unwrap();
    let quiet = std::time::Instant::now();
    assert_eq!(read_to_end(&mut s), b"", "nothing after the file, then FIN");
    let waited = quiet.elapsed();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let closed = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["event"] == "closed")
        .expect("a closed event");
    assert_eq!(closed["reason"], "done");
    assert_eq!(closed["bytes_out"].as_u64(), Some(payload.len() as u64));
    // The default wait, not an immediate close (nor `forever`): a lower bound only.
    assert!(waited >= std::time::Duration::from_millis(1900), "closed after {waited:?} of quiet");
}

/// A name with several addresses: each is tried in turn. In a mount namespace of the
/// test's own, /etc/hosts gives `multi.test` two loopback addresses; the first one the
/// resolver returns (127.0.0.1, the closer match to the source) refuses, the second
/// (127.0.0.2) is where the server is.
#[test]
fn each_address_of_a_name_is_tried_in_turn() {
    let l = TcpListener::bind("127.0.0.2:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let hosts = std::env::temp_dir().join(format!("netassist-hosts-{}", std::process::id()));
    std::fs::write(&hosts, "127.0.0.2 multi.test\n127.0.0.1 multi.test\n").unwrap();
    let script = format!(
        "mount --bind {} /etc/hosts && exec {} connect multi.test {port} --send hi --wait 0.2 --explain --json",
        hosts.display(),
        env!("CARGO_BIN_EXE_netassist")
    );
    let server = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        read_n(&mut s, 2)
    });
    let out =
        std::process::Command::new("unshare").args(["-m", "sh", "-c", &script]).env("NETASSIST_LANG", "en").output();
    let _ = std::fs::remove_file(&hosts);
    let out = out.unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("mount") || err.contains("unshare") {
        eprintln!("skipped: no mount namespace here ({err})");
        return;
    }
    assert!(out.status.success(), "{err}");
    assert_eq!(server.join().unwrap(), b"hi");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let events: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let tried = |what: &str| events.iter().any(|v| v.to_string().contains(what));
    assert!(tried(&format!("127.0.0.1:{port}")), "the first address was tried: {stdout}");
    let connected = events.iter().find(|v| v["event"] == "connected").expect("connected");
    assert_eq!(connected["peer"], format!("127.0.0.2:{port}"), "{stdout}");
}

#[test]
fn a_reset_by_the_server_is_an_error() {
    let (l, port) = server();
    let mut c = Proc::spawn(&["connect", "127.0.0.1", &port.to_string(), "--wait", "forever", "--json"]);
    let s = accept(&l);
    c.event("connected", Some(1));
    socket2::SockRef::from(&s).set_linger(Some(std::time::Duration::ZERO)).unwrap();
    drop(s);
    let status = c.wait();
    assert_eq!(status.code(), Some(1));
    let err = c.stderr_all();
    assert!(err.contains(&format!("error: connection to 127.0.0.1:{port} was reset by the peer")), "{err}");
}

#[test]
fn ipv6_literal() {
    let Ok(l) = TcpListener::bind("[::1]:0") else {
        eprintln!("skipped: no IPv6 loopback here");
        return;
    };
    let port = l.local_addr().unwrap().port();
    let mut c = Proc::spawn(&["connect", "::1", &port.to_string(), "--send", "six", "--json"]);
    let mut s = accept(&l);
    assert_eq!(read_n(&mut s, 3), b"six");
    assert_eq!(c.event("connected", Some(1))["peer"], format!("[::1]:{port}"));
}

#[test]
fn against_our_own_server() {
    let mut server = Proc::spawn(&["listen", "0", "--echo", "--json", "--encoding", "big5"]);
    let port = server.port();
    let mut c = Proc::spawn(&["connect", "localhost", &port.to_string(), "--send", "繁體中文", "-e", "big5", "--json"]);
    let echoed = c.event_where("the echo", |v| v["event"] == "data" && v["dir"] == "in");
    assert_eq!(echoed["text"], "繁體中文");
    let got = server.event_where("the data", |v| v["event"] == "data" && v["dir"] == "in");
    assert_eq!(got["text"], "繁體中文");
    assert_eq!(got["len"], 8);
}
