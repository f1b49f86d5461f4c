//! `netassist listen` against plain clients: the lesson's server scenario, many clients,
//! stdin commands, limits, and every way a client can go.

use std::io::Write;
use std::net::Shutdown;

use crate::util::*;

const GREETING: &str = "你好服务端，我是客户端小黑!";
const LESSON_REPLY: &str = "ok，问题正在处理中...";

#[test]
fn lesson_scenario_in_gbk_human_lines() {
    let mut server = Proc::spawn(&["listen", "0", "--reply", LESSON_REPLY, "--encoding", "gbk", "--no-time"]);
    let port = server.human_port();
    let mut c = client(port);
    let sent = gbk(GREETING);
    assert_eq!(sent.len(), 27);
    c.write_all(&sent).unwrap();
    let reply = read_n(&mut c, gbk(LESSON_REPLY).len());
    assert_eq!(reply, gbk(LESSON_REPLY));
    server.line_where("the connected line", |l| l.starts_with("#1 connected from 127.0.0.1:"));
    let got = server.line_where("the received line", |l| l.starts_with("#1 recv"));
    assert_eq!(got, format!("#1 recv 27 bytes: {GREETING}"));
    let replied = server.line_where("the reply line", |l| l.starts_with("#1 sent"));
    assert_eq!(replied, format!("#1 sent 21 bytes (GBK): {LESSON_REPLY}"));
    drop(c);
    let closed = server.line_where("the offline line", |l| l.starts_with("#1 closed"));
    assert!(closed.contains("peer closed the connection (recv returned 0 bytes)"), "{closed}");
}

#[test]
fn json_events_carry_every_field() {
    let mut server = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--echo", "--json"]);
    let listening = server.event("listening", None);
    assert_eq!(listening["proto"], "tcp");
    assert_eq!(listening["backlog"], 128);
    let port = server.port_of(&listening);
    assert_eq!(listening["reachable"][0], format!("127.0.0.1:{port}"));
    let mut c = client(port);
    let local = c.local_addr().unwrap().to_string();
    c.write_all(b"hi\x1b\xff").unwrap();
    assert_eq!(read_n(&mut c, 4), b"hi\x1b\xff");
    let connected = server.event("connected", Some(1));
    assert_eq!(connected["peer"], local);
    assert_eq!(connected["local"], format!("127.0.0.1:{port}"));
    assert_eq!(connected["side"], "accepted");
    let data = server.event_where("data in", |v| v["event"] == "data" && v["dir"] == "in");
    assert_eq!((data["id"].as_u64(), data["len"].as_u64()), (Some(1), Some(4)));
    assert_eq!(data["text"], "hi\u{1b}\u{fffd}");
    assert_eq!(data["hex"], "68691bff");
    assert_eq!(data["peer"], local);
    assert!(data["time"].as_str().unwrap().ends_with('Z'));
    let echoed = server.event_where("data out", |v| v["event"] == "data" && v["dir"] == "out");
    assert_eq!(echoed["hex"], "68691bff");
    c.shutdown(Shutdown::Write).unwrap();
    let closed = server.event("closed", Some(1));
    assert_eq!(closed["reason"], "peer_closed");
    assert_eq!((closed["bytes_in"].as_u64(), closed["bytes_out"].as_u64()), (Some(4), Some(4)));
    server.signal(libc::SIGINT);
    let stopped = server.event("stopped", None);
    assert_eq!((stopped["clients"].as_u64(), stopped["msgs_in"].as_u64()), (Some(1), Some(1)));
    assert!(server.wait().success());
}

#[test]
fn two_clients_stdin_broadcast_and_at_id() {
    let mut server = Proc::spawn(&["listen", "0", "--json"]);
    let port = server.port();
    let mut a = client(port);
    server.event("connected", Some(1));
    let mut b = client(port);
    server.event("connected", Some(2));
    server.type_line("to everyone");
    assert_eq!(read_n(&mut a, 12), b"to everyone\n");
    assert_eq!(read_n(&mut b, 12), b"to everyone\n");
    server.type_line("@2 only you");
    assert_eq!(read_n(&mut b, 9), b"only you\n");
    server.type_line("@1 and you");
    // If #1 had got "only you", these bytes would differ.
    assert_eq!(read_n(&mut a, 8), b"and you\n");
    server.type_line("@7 nobody");
    let err = server.stderr_wait("no client #7");
    assert!(err.contains("error: no client #7; nothing was sent to it"), "{err}");
    server.type_line(":list");
    let list = server.event("clients", None);
    assert_eq!(list["clients"].as_array().unwrap().len(), 2);
    assert_eq!(list["clients"][1]["bytes_out"], 21);
}

#[test]
fn kick_closes_one_client() {
    let mut server = Proc::spawn(&["listen", "0", "--json"]);
    let port = server.port();
    let mut a = client(port);
    server.event("connected", Some(1));
    let mut b = client(port);
    server.event("connected", Some(2));
    server.type_line(":kick 1");
    assert_eq!(read_to_end(&mut a), b"");
    assert_eq!(server.event("closed", Some(1))["reason"], "kicked");
    server.type_line("still here");
    assert_eq!(read_n(&mut b, 11), b"still here\n");
}

#[test]
fn max_conn_closes_the_one_too_many() {
    let mut server = Proc::spawn(&["listen", "0", "--max-conn", "1", "--json"]);
    let port = server.port();
    let mut a = client(port);
    server.event("connected", Some(1));
    let mut extra = client(port);
    assert_eq!(read_to_end(&mut extra), b"");
    let rejected = server.event("rejected", None);
    assert_eq!(rejected["peer"], extra.local_addr().unwrap().to_string());
    assert!(rejected["reason"].as_str().unwrap().contains("--max-conn 1"));
    // The first client is still served.
    server.type_line("ok");
    assert_eq!(read_n(&mut a, 3), b"ok\n");
}

#[test]
fn idle_timeout_closes_a_silent_client() {
    let mut server = Proc::spawn(&["listen", "0", "--idle-timeout", "300ms", "--json"]);
    let port = server.port();
    let mut c = client(port);
    assert_eq!(read_to_end(&mut c), b"");
    let closed = server.event("closed", Some(1));
    assert_eq!(closed["reason"], "idle_timeout");
    assert!(closed["duration_ms"].as_u64().unwrap() >= 300);
}

#[test]
fn a_reset_is_reported_and_others_are_still_served() {
    let mut server = Proc::spawn(&["listen", "0", "--echo", "--json"]);
    let port = server.port();
    let doomed = client(port);
    server.event("connected", Some(1));
    let mut other = client(port);
    server.event("connected", Some(2));
    socket2::SockRef::from(&doomed).set_linger(Some(std::time::Duration::ZERO)).unwrap();
    drop(doomed); // close with SO_LINGER 0 sends RST
    assert_eq!(server.event("closed", Some(1))["reason"], "reset");
    other.write_all(b"still?").unwrap();
    assert_eq!(read_n(&mut other, 6), b"still?");
}

#[test]
fn half_close_gets_the_reply_then_fin() {
    let mut server = Proc::spawn(&["listen", "0", "--reply", "got it", "--json"]);
    let port = server.port();
    let mut c = client(port);
    c.write_all(b"question").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_end(&mut c), b"got it");
    assert_eq!(server.event("closed", Some(1))["reason"], "peer_closed");
}

#[test]
fn gbk_character_split_across_two_writes_prints_whole() {
    let mut server = Proc::spawn(&["listen", "0", "--encoding", "gbk", "--json"]);
    let port = server.port();
    let mut c = client(port);
    let ni = gbk("你好");
    c.write_all(&ni[..1]).unwrap();
    let first = server.event_where("the first byte", |v| v["event"] == "data");
    assert_eq!((first["len"].as_u64(), first["text"].as_str()), (Some(1), Some("")));
    c.write_all(&ni[1..]).unwrap();
    let second = server.event_where("the rest", |v| v["event"] == "data");
    assert_eq!((second["len"].as_u64(), second["text"].as_str()), (Some(3), Some("你好")));
}

#[test]
fn ctrl_c_sends_fin_to_every_client_and_prints_totals() {
    let mut server = Proc::spawn(&["listen", "0", "--no-time"]);
    let port = server.human_port();
    let mut a = client(port);
    let mut b = client(port);
    server.line_where("two clients", |l| l.starts_with("#2 connected"));
    a.write_all(b"x").unwrap();
    server.line_where("the byte", |l| l.starts_with("#1 recv"));
    server.signal(libc::SIGINT);
    assert_eq!(read_to_end(&mut a), b"");
    assert_eq!(read_to_end(&mut b), b"");
    let stopped = server.line_where("the totals", |l| l.starts_with("stopped after"));
    assert!(stopped.contains("2 clients, 1 byte in (1 msg), 0 bytes out (0 msgs)"), "{stopped}");
    assert!(server.wait().success());
}

#[test]
fn sigterm_stops_gracefully_too() {
    let mut server = Proc::spawn(&["listen", "0", "--json"]);
    let port = server.port();
    let mut c = client(port);
    server.event("connected", Some(1));
    server.signal(libc::SIGTERM);
    assert_eq!(read_to_end(&mut c), b"");
    assert_eq!(server.event("closed", Some(1))["reason"], "stopping");
    server.event("stopped", None);
    assert!(server.wait().success());
}

#[test]
fn keeps_serving_with_stdin_closed() {
    let mut server = Proc::spawn_no_stdin(&["listen", "0", "--echo", "--json"]);
    let port = server.port();
    for round in 0..2u8 {
        let mut c = client(port);
        c.write_all(&[round]).unwrap();
        assert_eq!(read_n(&mut c, 1), [round]);
    }
}

#[test]
fn quit_from_stdin_stops() {
    let mut server = Proc::spawn(&["listen", "0", "--json"]);
    server.port();
    server.type_line(":quit");
    server.event("stopped", None);
    assert!(server.wait().success());
}

#[test]
fn quiet_shows_no_messages_but_totals() {
    let mut server = Proc::spawn(&["listen", "0", "--echo", "--quiet", "--json"]);
    let port = server.port();
    let mut c = client(port);
    c.write_all(b"abc").unwrap();
    assert_eq!(read_n(&mut c, 3), b"abc");
    drop(c);
    server.event("closed", Some(1));
    server.signal(libc::SIGINT);
    let stopped = server.event("stopped", None);
    assert_eq!((stopped["bytes_in"].as_u64(), stopped["bytes_out"].as_u64()), (Some(3), Some(3)));
    assert!(!server.seen.iter().any(|l| l.contains("\"event\":\"data\"")), "{:?}", server.seen);
}

#[test]
fn ipv6_clients_are_served_on_the_dual_stack_socket() {
    let mut server = Proc::spawn(&["listen", "0", "--echo", "--json"]);
    let port = server.port();
    let Ok(mut c) = std::net::TcpStream::connect(("::1", port)) else {
        eprintln!("skipped: no IPv6 loopback here");
        return;
    };
    c.write_all(b"v6").unwrap();
    assert_eq!(read_n(&mut c, 2), b"v6");
    let connected = server.event("connected", Some(1));
    assert!(connected["peer"].as_str().unwrap().starts_with("[::1]:"), "{connected}");
}

#[test]
fn hex_view_dumps_the_bytes() {
    let mut server = Proc::spawn(&["listen", "0", "--show", "hex", "--no-time"]);
    let port = server.human_port();
    let mut c = client(port);
    c.write_all(b"\x00\x01AB").unwrap();
    server.line_where("the header", |l| l == "#1 recv 4 bytes:");
    let dump = server.next_line().unwrap();
    assert_eq!(dump, "    0000  00 01 41 42                                       |..AB|");
}
