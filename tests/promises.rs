//! README promises that had no test of their own: `--deny-file`, the JSON `explain` and
//! `buffers` events, the relay's `--dump both`, bench's `--payload-hex`/`--expect-hex`,
//! `--threads` and JSON `progress` lines.

use std::io::Write;
use std::process::Stdio;

use serde_json::Value;

use crate::util::*;

/// Runs `netassist bench ARGS --json`; returns (exit code, every JSON line).
fn bench_lines(args: &[&str]) -> (Option<i32>, Vec<Value>) {
    let out = bin().arg("bench").args(args).arg("--json").stdin(Stdio::null()).output().expect("runs");
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (out.status.code(), lines)
}

#[test]
fn a_deny_file_turns_its_clients_away() {
    let file = std::env::temp_dir().join(format!("na-deny-{}", std::process::id()));
    std::fs::write(&file, "10.0.0.0/8\n127.0.0.1\n").unwrap();
    let mut s = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--deny-file", file.to_str().unwrap(), "--json"]);
    let port = s.port();
    let mut c = client(port);
    assert!(read_to_end(&mut c).is_empty(), "closed at once, nothing said");
    let rejected = s.event("rejected", None);
    assert!(rejected["reason"].as_str().unwrap().contains("127.0.0.1"), "{rejected}");
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn json_explain_and_buffers_events() {
    let mut s = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--explain", "--sndbuf", "64K", "--json"]);
    // Before `listening`: the socket steps, and the buffer sizes asked and granted.
    let mut steps = Vec::new();
    let buffers = loop {
        let line = s.next_line().expect("a line");
        let v: Value = serde_json::from_str(&line).unwrap();
        match v["event"].as_str() {
            Some("explain") => steps.push(v["message"].as_str().unwrap().to_string()),
            Some("buffers") => break v,
            other => panic!("{other:?} before the buffers: {line}"),
        }
    };
    for call in ["socket(", "bind(", "listen("] {
        assert!(steps.iter().any(|m| m.contains(call)), "no {call} step in {steps:?}");
    }
    assert_eq!(buffers["sndbuf_asked"].as_u64(), Some(64 * 1024));
    // Linux doubles what is asked (within wmem_max): granted is at least what was asked.
    assert!(buffers["sndbuf"].as_u64().unwrap() >= 64 * 1024, "{buffers}");
    let port = s.port();
    let mut c = client(port);
    c.write_all(b"hi").unwrap();
    let data = s.event("data", Some(1));
    assert_eq!(data["text"], "hi");
}

#[test]
fn the_relay_dumps_text_and_hex_with_dump_both() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tport = l.local_addr().unwrap().port().to_string();
    let mut r = Proc::spawn(&["relay", "0", "127.0.0.1", &tport, "--bind", "127.0.0.1", "--dump", "both", "--no-time"]);
    let port = r.human_port();
    let mut c = client(port);
    let (mut t, _) = l.accept().unwrap();
    t.set_read_timeout(Some(PATIENCE)).unwrap();
    c.write_all(b"AT\r\n").unwrap();
    assert_eq!(read_n(&mut t, 4), b"AT\r\n");
    assert_eq!(r.line_where("the c->t line", |l| l.contains("c->t")), "#1 c->t 4 bytes: AT\\r\\n");
    let dump = r.next_line().unwrap();
    assert!(dump.starts_with("    0000  41 54 0d 0a") && dump.ends_with("|AT..|"), "{dump}");
}

#[test]
fn bench_checks_hex_payloads_and_their_answers() {
    let mut s = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--reply-hex", "06", "--quiet", "--json"]);
    let port = s.port().to_string();
    let args = ["127.0.0.1", &port, "-c", "2", "-d", "0.3", "--payload-hex", "01 03 00 00", "--expect-hex"];
    let (code, lines) = bench_lines(&[&args[..], &["06"]].concat());
    let summary = lines.last().unwrap();
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!((summary["len"].as_u64(), summary["mismatches"].as_u64()), (Some(4), Some(0)), "{summary}");
    assert!(summary["rounds"].as_u64().unwrap() > 0);
    // A wrong answer is caught, with what was expected and what came.
    let (code, lines) = bench_lines(&[&args[..], &["15"]].concat());
    let summary = lines.last().unwrap();
    assert_ne!(code, Some(0));
    assert!(summary["mismatches"].as_u64().unwrap() > 0, "{summary}");
    assert_eq!(summary["first_mismatch"]["expected_hex"], "15");
    assert_eq!(summary["first_mismatch"]["got_hex"], "06");
    s.event("closed", None);
}

#[test]
fn bench_threads_share_the_connections_and_progress_comes_each_second() {
    let mut s = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--echo", "--quiet", "--json"]);
    let port = s.port().to_string();
    let (code, lines) = bench_lines(&["127.0.0.1", &port, "-c", "4", "--threads", "2", "-d", "2.5"]);
    let summary = lines.last().unwrap();
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!((summary["threads"].as_u64(), summary["conns"].as_u64()), (Some(2), Some(4)), "{summary}");
    assert_eq!((summary["errors"].as_u64(), summary["mismatches"].as_u64()), (Some(0), Some(0)));
    // Every connection was served: the server saw four, each with round trips.
    let mut served = 0;
    while served < 4 {
        let closed = s.event("closed", None);
        assert!(closed["msgs_in"].as_u64().unwrap() > 0, "{closed}");
        served += 1;
    }
    let progress: Vec<&Value> = lines.iter().filter(|v| v["event"] == "progress").collect();
    assert!(progress.len() >= 2, "a progress object each second of 2.5: {progress:?}");
    let rounds: Vec<u64> = progress.iter().map(|p| p["rounds"].as_u64().unwrap()).collect();
    assert!(rounds.windows(2).all(|w| w[0] <= w[1]), "rounds only grow: {rounds:?}");
}

#[test]
fn the_relay_takes_max_conn_list_kick_and_quit() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tport = l.local_addr().unwrap().port().to_string();
    let mut r = Proc::spawn(&["relay", "0", "127.0.0.1", &tport, "--bind", "127.0.0.1", "--max-conn", "1", "--json"]);
    let port = r.port();
    let mut first = client(port);
    let (mut t, _) = l.accept().unwrap();
    t.set_read_timeout(Some(PATIENCE)).unwrap();
    r.event_where("the target leg", |v| v["event"] == "connected" && v["side"] == "initiated");
    // One more than --max-conn: closed at once, and said.
    let mut second = client(port);
    assert!(read_to_end(&mut second).is_empty());
    let rejected = r.event("rejected", None);
    assert!(rejected["reason"].as_str().unwrap().contains("1"), "{rejected}");
    r.type_line(":list");
    let list = r.event("clients", None);
    assert_eq!(list["clients"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["clients"][0]["id"], 1);
    r.type_line(":kick 1");
    assert_eq!(r.event("closed", Some(1))["reason"], "kicked");
    // The kicked client and its target leg both end.
    assert!(read_to_end(&mut first).is_empty());
    assert!(read_to_end(&mut t).is_empty());
    r.type_line(":quit");
    let stopped = r.event("stopped", None);
    assert_eq!(stopped["clients"], 1);
    assert!(r.wait().success());
}
