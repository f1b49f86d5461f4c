//! netassist as a device simulator: messages framed out of the byte stream however the
//! reads fall, checksums appended and verified, the Modbus answer byte-exact.

use std::io::Write;

use crate::util::*;

fn server(extra: &[&str]) -> (Proc, u16) {
    let mut args = vec!["listen", "0", "--bind", "127.0.0.1", "--json"];
    args.extend_from_slice(extra);
    let mut p = Proc::spawn(&args);
    let port = p.port();
    (p, port)
}

/// The texts of the next `n` data events in.
fn messages(p: &mut Proc, n: usize) -> Vec<serde_json::Value> {
    (0..n).map(|_| p.event_where("a message in", |v| v["event"] == "data" && v["dir"] == "in")).collect()
}

#[test]
fn lines_are_messages_however_the_reads_fall() {
    let (mut p, port) = server(&["--frame", "line"]);
    let mut c = client(port);
    // One byte at a time, then many messages in one write.
    for b in b"a\nb\nc" {
        c.write_all(&[*b]).unwrap();
        c.flush().unwrap();
    }
    c.write_all(b"d\ne\nf").unwrap();
    drop(c);
    let got: Vec<String> = messages(&mut p, 5).iter().map(|v| v["text"].as_str().unwrap().to_string()).collect();
    assert_eq!(got, ["a\n", "b\n", "cd\n", "e\n", "f"]);
    let closed = p.event("closed", Some(1));
    assert_eq!((closed["msgs_in"].as_u64(), closed["bytes_in"].as_u64()), (Some(5), Some(10)));
    let last = p.seen.iter().rev().find(|l| l.contains("\"text\":\"f\"")).unwrap().clone();
    assert!(last.contains("\"partial\":\"incomplete\""), "{last}");
}

#[test]
fn a_gap_ends_a_message_the_way_a_dtu_frames_them() {
    let (mut p, port) = server(&["--frame", "idle:300", "--reply", "ok"]);
    let mut c = client(port);
    // Two writes with no gap between them are one message; the answer comes after the gap.
    c.write_all(b"AT\r\n").unwrap();
    c.write_all(b"+CSQ").unwrap();
    assert_eq!(read_n(&mut c, 2), b"ok");
    assert_eq!(messages(&mut p, 1)[0]["text"], "AT\r\n+CSQ");
    c.write_all(b"X").unwrap();
    assert_eq!(read_n(&mut c, 2), b"ok");
    assert_eq!(messages(&mut p, 1)[0]["text"], "X");
    // The end of the stream ends a message too: it is whole, not cut short.
    c.write_all(b"bye").unwrap();
    drop(c);
    let last = messages(&mut p, 1).remove(0);
    assert_eq!((last["text"].as_str(), last.get("partial")), (Some("bye"), None), "{last}");
    let closed = p.event("closed", Some(1));
    assert_eq!((closed["msgs_in"].as_u64(), closed["msgs_out"].as_u64()), (Some(3), Some(2)));
}

#[test]
fn length_prefixed_and_past_the_limit() {
    let (mut p, port) = server(&["--frame", "modbus-tcp", "--max-frame", "64"]);
    let request = [0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x00, 0x00, 0x00, 0x02];
    let mut c = client(port);
    let mut two = request.to_vec();
    two.extend_from_slice(&request);
    for chunk in two.chunks(5) {
        c.write_all(chunk).unwrap();
        c.flush().unwrap();
    }
    for m in messages(&mut p, 2) {
        assert_eq!(m["hex"], "000100000006010300000002");
    }
    // A header that announces 1000 bytes is past --max-frame: shown raw, the connection goes on.
    c.write_all(&[0, 2, 0, 0, 0x03, 0xe8, 1, 3]).unwrap();
    let raw = messages(&mut p, 1).remove(0);
    assert_eq!((raw["partial"].as_str(), raw["max_frame"].as_u64()), (Some("too_long"), Some(64)), "{raw}");
}

#[test]
fn the_modbus_read_is_answered_with_a_correct_crc() {
    let (mut p, port) =
        server(&["--reply-hex", "01 03 04 00 0a 00 0b", "--checksum", "crc16-modbus", "--verify", "crc16-modbus"]);
    let mut c = client(port);
    c.write_all(&[0x01, 0x03, 0x00, 0x00, 0x00, 0x02, 0xc4, 0x0b]).unwrap();
    assert_eq!(read_n(&mut c, 9), [0x01, 0x03, 0x04, 0x00, 0x0a, 0x00, 0x0b, 0x9b, 0xf6]);
    let good = messages(&mut p, 1).remove(0);
    assert_eq!((good["check"].as_str(), good["checksum"].as_str()), (Some("ok"), Some("crc16-modbus")));
    c.write_all(&[0x01, 0x03, 0x00, 0x00, 0x00, 0x02, 0x0b, 0xc4]).unwrap();
    read_n(&mut c, 9);
    let bad = messages(&mut p, 1).remove(0);
    assert_eq!((bad["check"].as_str(), bad["check_expected"].as_str()), (Some("bad"), Some("c40b")), "{bad}");
}

#[test]
fn the_client_appends_its_checksum_and_marks_what_it_gets() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let device = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let got = read_n(&mut s, 8);
        s.write_all(&[0x01, 0x03, 0x04, 0x00, 0x0a, 0x00, 0x0b, 0x9b, 0xf6]).unwrap();
        got
    });
    let out = bin()
        .args(["connect", "127.0.0.1", &port, "--send-hex", "01 03 00 00 00 02", "--checksum", "crc16-modbus"])
        .args(["--verify", "crc16-modbus", "--wait", "0.3", "--no-time", "--show", "hex"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(device.join().unwrap(), [0x01, 0x03, 0x00, 0x00, 0x00, 0x02, 0xc4, 0x0b]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("#1 recv 9 bytes (crc16-modbus ok)"), "{text}");
}

#[test]
fn the_checksum_calculator() {
    let out = bin().args(["checksum", "crc16-modbus", "01 03 00 00 00 02"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "crc16-modbus: c4 0b\n01 03 00 00 00 02 c4 0b\n");
    let out = bin().args(["checksum", "crc32", "--text", "123456789", "--json"]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"checksum\":\"crc32\",\"hex\":\"cbf43926\",\"message_hex\":\"313233343536373839cbf43926\"}\n"
    );
    let out = bin().args(["checksum", "crc99", "01"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bin().args(["listen", "0", "--frame", "lines"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("one of: raw, line, crlf"));
}

#[test]
fn rules_answer_like_the_device() {
    let dir = std::env::temp_dir().join(format!("netassist-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("rules.txt");
    std::fs::write(&file, "# an AT modem\nre:^AT\\+CSQ => +CSQ: 23,99\\r\\nOK\\r\\n\ntext:ATZ\\r\\n => close\n")
        .unwrap();
    let (mut p, port) = server(&[
        "--rule",
        "hexprefix:01 03 => hex:01 03 04 00 0a 00 0b {crc16-modbus}",
        "--rule",
        r"text:AT\r\n => OK\r\n",
        "--rules",
        file.to_str().unwrap(),
        "--frame",
        "crlf",
        "--reply",
        "ERROR\\r\\n",
    ]);
    let mut c = client(port);
    c.write_all(b"AT\r\nAT+CSQ\r\nAT+X\r\n").unwrap();
    assert_eq!(read_n(&mut c, 4 + 17 + 7), b"OK\r\n+CSQ: 23,99\r\nOK\r\nERROR\r\n");
    c.write_all(b"ATZ\r\n").unwrap();
    assert_eq!(read_to_end(&mut c), b"");
    let closed = p.event("closed", Some(1));
    assert_eq!(closed["reason"], "rule_close");
    std::fs::remove_dir_all(&dir).unwrap();
    // The issue's Modbus example, as written, without framing.
    let (_p, port) = server(&["--rule", "hexprefix:01 03 => hex:01 03 04 00 0a 00 0b {crc16-modbus}"]);
    let mut c = client(port);
    c.write_all(&[0x01, 0x03, 0x00, 0x00, 0x00, 0x02, 0xc4, 0x0b]).unwrap();
    assert_eq!(read_n(&mut c, 9), [0x01, 0x03, 0x04, 0x00, 0x0a, 0x00, 0x0b, 0x9b, 0xf6]);
    // A bad rule is found at start, named.
    let out = bin().args(["listen", "0", "--rule", "start:AT => OK"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: --rule: rule 'start:AT => OK': 'start:AT' is not a match"), "{err}");
}

#[test]
fn reconnect_comes_back_to_a_server_that_went_away() {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut client = Proc::spawn(&[
        "connect",
        "127.0.0.1",
        &port.to_string(),
        "--send",
        "hello",
        "--reconnect",
        "0.05",
        "--wait",
        "30",
        "--json",
    ]);
    // Twice the server takes the greeting and hangs up: each new connection sends it again.
    for _ in 0..2 {
        let (mut s, _) = listener.accept().unwrap();
        assert_eq!(read_n(&mut s, 5), b"hello");
    }
    // The server goes away: attempts fail, and are said; then it is back.
    drop(listener);
    client.event_where("a failed attempt", |v| {
        v["event"] == "note" && v["message"].as_str().is_some_and(|m| m.contains("refused"))
    });
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let (mut s, _) = listener.accept().unwrap();
    assert_eq!(read_n(&mut s, 5), b"hello");
    client.event("connected", None);
    client.signal(libc::SIGINT);
    let stopped = client.event("stopped", None);
    assert_eq!((stopped["clients"].as_u64(), stopped["bytes_out"].as_u64()), (Some(3), Some(15)), "{stopped}");
    client.wait();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    // With --retries it gives up, with the last error.
    let port = closed_port().to_string();
    let out = bin()
        .args(["connect", "127.0.0.1", &port, "--send", "x", "--reconnect", "0.01", "--retries", "3"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("giving up after 3 failed attempts in a row"), "{err}");
    assert!(err.ends_with(&format!("error: connection to 127.0.0.1:{port} refused: nothing listens on port {port} there; is the server running?\n")), "{err}");
}

#[test]
fn udp_datagrams_get_rules_checksums_and_marks() {
    let mut p = Proc::spawn(&[
        "listen",
        "0",
        "--bind",
        "127.0.0.1",
        "--udp",
        "--json",
        "--verify",
        "sum8",
        "--rule",
        "hexprefix:01 => hex:81 {sum8}",
        "--checksum",
        "xor8",
    ]);
    let port = p.port();
    let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(PATIENCE)).unwrap();
    peer.send_to(&[0x01, 0x02, 0x03], ("127.0.0.1", port)).unwrap();
    let mut buf = [0u8; 16];
    let (n, _) = peer.recv_from(&mut buf).unwrap();
    // The rule's own sum8, then --checksum's xor8 over all of it.
    assert_eq!(&buf[..n], [0x81, 0x81, 0x00]);
    let got = p.event_where("the datagram", |v| v["event"] == "data" && v["dir"] == "in");
    assert_eq!(got["check"], "ok", "{got}");
    let out = bin().args(["listen", "0", "--udp", "--frame", "line"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    // The UDP client marks what comes back too.
    let mut echo = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--udp", "--echo", "--quiet", "--json"]);
    let eport = echo.port().to_string();
    let out = bin()
        .args(["connect", "127.0.0.1", &eport, "--udp", "--send-hex", "01 02", "--checksum", "sum8"])
        .args(["--verify", "sum8", "--wait", "0.3", "--json"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let back = text.lines().find(|l| l.contains("\"dir\":\"in\"")).unwrap_or_else(|| panic!("{text}"));
    assert!(back.contains("\"hex\":\"010203\"") && back.contains("\"check\":\"ok\""), "{back}");
}

#[test]
fn a_rules_file_is_read_again_on_sighup() {
    let dir = std::env::temp_dir().join(format!("netassist-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("rules.txt");
    std::fs::write(&file, "prefix:ping => one\n").unwrap();
    let (mut p, port) = server(&["--rules", file.to_str().unwrap()]);
    let mut c = client(port);
    c.write_all(b"ping").unwrap();
    assert_eq!(read_n(&mut c, 3), b"one");
    std::fs::write(&file, "prefix:ping => two\n").unwrap();
    p.signal(libc::SIGHUP);
    p.event_where("the reload", |v| {
        v["event"] == "note" && v["message"].as_str().is_some_and(|m| m.contains("rules reloaded"))
    });
    c.write_all(b"ping").unwrap();
    assert_eq!(read_n(&mut c, 3), b"two");
    // A file that no longer parses keeps the old rules.
    std::fs::write(&file, "prefix:ping =>\nnonsense\n").unwrap();
    p.signal(libc::SIGHUP);
    p.event_where("the refusal", |v| {
        v["event"] == "error" && v["message"].as_str().is_some_and(|m| m.contains("stay as they were"))
    });
    c.write_all(b"ping").unwrap();
    assert_eq!(read_n(&mut c, 3), b"two");
    drop(c);
    p.signal(libc::SIGINT);
    assert_eq!(p.wait().code(), Some(0));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_relay_waits_for_a_target_that_is_not_up_yet() {
    let port = closed_port();
    let mut relay = Proc::spawn(&[
        "relay",
        "0",
        "127.0.0.1",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--retry",
        "0.05",
        "--json",
    ]);
    let rport = relay.port();
    let mut c = client(rport);
    c.write_all(b"hi").unwrap();
    relay.event_where("the wait", |v| {
        v["event"] == "error" && v["message"].as_str().is_some_and(|m| m.contains("trying again every 50ms"))
    });
    let target = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let (mut s, _) = target.accept().unwrap();
    assert_eq!(read_n(&mut s, 2), b"hi", "what the client sent while it waited");
    s.write_all(b"ok").unwrap();
    assert_eq!(read_n(&mut c, 2), b"ok");
}

#[test]
fn the_relay_shows_and_counts_messages_per_direction() {
    let target = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let to = target.local_addr().unwrap().port().to_string();
    let args = ["relay", "0", "127.0.0.1", &to, "--bind", "127.0.0.1", "--json"];
    let mut r = Proc::spawn(&[&args[..], &["--frame-c2t", "line", "--frame-t2c", "len:1"]].concat());
    let mut c = client(r.port());
    let (mut t, _) = target.accept().unwrap();
    t.set_read_timeout(Some(PATIENCE)).unwrap();
    // Lines from the client, one byte at a time; length-prefixed answers in one write.
    for b in b"a\nbc\nd" {
        c.write_all(&[*b]).unwrap();
    }
    t.write_all(b"\x02xy\x01z").unwrap();
    assert_eq!(read_n(&mut t, 6), b"a\nbc\nd", "the bytes pass unchanged");
    assert_eq!(read_n(&mut c, 5), b"\x02xy\x01z");
    drop((c, t));
    let mut seen = Vec::new();
    while seen.len() < 5 {
        let v = r.event_where("a message", |v| v["event"] == "data");
        seen.push((
            v["dir"].as_str().unwrap().to_string(),
            v["hex"].as_str().unwrap().to_string(),
            v.get("partial").cloned(),
        ));
    }
    let c2t: Vec<_> = seen.iter().filter(|s| s.0 == "c2t").map(|s| s.1.as_str()).collect();
    let t2c: Vec<_> = seen.iter().filter(|s| s.0 == "t2c").map(|s| s.1.as_str()).collect();
    assert_eq!((c2t, t2c), (vec!["610a", "62630a", "64"], vec!["027879", "017a"]));
    assert!(seen.iter().any(|s| s.1 == "64" && s.2.as_ref().is_some_and(|p| p == "incomplete")), "{seen:?}");
    let closed = r.event("closed", Some(1));
    assert_eq!((closed["msgs_in"].as_u64(), closed["msgs_out"].as_u64()), (Some(3), Some(2)), "{closed}");
    // Framing and UDP, or a time gap in the relay, are refused with their reasons.
    for (extra, want) in [(&["--udp", "--frame", "line"][..], "datagram"), (&["--frame", "idle:50"][..], "idle:MS")] {
        let out = bin().args([&args[..], extra].concat()).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(want), "{err}");
    }
}

#[test]
fn after_ms_delays_a_reply_while_others_go_at_once() {
    // TCP: the delayed answer comes after the one to the message that followed it.
    let (mut p, port) = server(&["--frame", "line", "--rule", r"text:PING\n => after 300 PONG", "--reply", "x"]);
    let mut c = client(port);
    c.write_all(b"PING\nQ\n").unwrap();
    assert_eq!(read_n(&mut c, 5), b"xPONG");
    drop(c);
    let closed = p.event("closed", Some(1));
    assert_eq!((closed["msgs_in"].as_u64(), closed["msgs_out"].as_u64()), (Some(2), Some(2)), "{closed}");
    // UDP the same, with the checksum added to the delayed answer too.
    let mut u = Proc::spawn(&[
        "listen",
        "0",
        "--bind",
        "127.0.0.1",
        "--udp",
        "--json",
        "--checksum",
        "xor8",
        "--rule",
        "text:PING => after 300 PONG",
        "--reply",
        "x",
    ]);
    let port = u.port();
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.send_to(b"PING", ("127.0.0.1", port)).unwrap();
    s.send_to(b"Q", ("127.0.0.1", port)).unwrap();
    let mut buf = [0u8; 64];
    let n = s.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"xx", "x and its xor8");
    let n = s.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"PONG\x16", "PONG and its xor8");
    let out =
        u.event_where("the delayed answer shown", |v| v["event"] == "data" && v["dir"] == "out" && v["text"] != "xx");
    assert_eq!(out["hex"], "504f4e4716");
}
