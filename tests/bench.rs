//! `netassist bench`: what it finds against good and bad servers, and its figures.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

use serde_json::Value;

use crate::util::*;

/// Runs `netassist bench ARGS --json`; returns (exit code, the summary, stderr).
fn bench(args: &[&str]) -> (Option<i32>, Value, String) {
    let out = bin().arg("bench").args(args).arg("--json").stdin(Stdio::null()).output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last =
        stdout.lines().last().unwrap_or_else(|| panic!("no output; stderr: {}", String::from_utf8_lossy(&out.stderr)));
    let summary: Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {last}"));
    assert_eq!(summary["event"], "summary", "the last line is the summary");
    (out.status.code(), summary, String::from_utf8_lossy(&out.stderr).into())
}

fn echo_server() -> (Proc, String) {
    let mut s = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--echo", "--quiet", "--json"]);
    let port = s.port().to_string();
    (s, port)
}

/// An echo server with a fault: `fault(connection bytes so far, chunk)` may change the chunk,
/// or return false to close the connection.
fn faulty_server(fault: impl Fn(u64, &mut [u8]) -> bool + Send + Sync + 'static) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    let fault = Arc::new(fault);
    thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut conn) = conn else { continue };
            let fault = fault.clone();
            thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let mut seen = 0u64;
                loop {
                    let n = match conn.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if !fault(seen, &mut buf[..n]) {
                        return;
                    }
                    seen += n as u64;
                    if conn.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

#[test]
fn against_our_echo_server_everything_checks_out() {
    let (_server, port) = echo_server();
    let (code, s, err) = bench(&["127.0.0.1", &port, "-c", "4", "-l", "100", "-d", "0.5"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(s["rounds"].as_u64().unwrap() > 100, "{s}");
    assert_eq!((s["errors"].as_u64(), s["mismatches"].as_u64()), (Some(0), Some(0)));
    assert_eq!((s["conns"].as_u64(), s["len"].as_u64(), s["mode"].as_str()), (Some(4), Some(100), Some("pingpong")));
    for key in ["rate", "mbps", "p50_us", "p90_us", "p99_us", "p999_us", "max_us", "connect_p50_us"] {
        // A real run moves bytes and takes time: none of these can be zero.
        assert!(s[key].as_f64().is_some_and(|v| v > 0.0), "{key} in {s}");
    }
    let p = |k: &str| s[k].as_f64().unwrap();
    assert!(p("p50_us") <= p("p90_us") && p("p90_us") <= p("p99_us") && p("p99_us") <= p("max_us"), "{s}");
    assert_eq!(s["sent_bytes"], s["received_bytes"]);
}

#[test]
fn one_changed_byte_in_a_thousand_is_caught() {
    let port = faulty_server(|seen, chunk| {
        for (i, b) in chunk.iter_mut().enumerate() {
            if (seen + i as u64) % 1000 == 999 {
                *b ^= 0x01;
            }
        }
        true
    });
    let (code, s, err) = bench(&["127.0.0.1", &port, "-c", "2", "-d", "0.5"]);
    assert!(s["mismatches"].as_u64().unwrap() > 0, "{s}");
    assert_eq!(code, Some(1));
    assert!(err.contains("mismatches"), "{err}");
}

#[test]
fn connections_closed_at_random_are_counted_and_replaced() {
    let closes = Arc::new(AtomicU64::new(0));
    let counter = closes.clone();
    let port = faulty_server(move |seen, _| {
        // Close roughly every fortieth read, at a different point per connection.
        let n = counter.fetch_add(1, Ordering::Relaxed);
        !(seen > 0 && n % 40 == 17)
    });
    let (code, s, _) = bench(&["127.0.0.1", &port, "-c", "4", "-d", "0.5"]);
    assert_eq!(code, Some(1));
    assert!(s["errors_by_kind"]["closed by the server"].as_u64().unwrap() > 0, "{s}");
    assert!(s["rounds"].as_u64().unwrap() > 100, "the lost connections were replaced: {s}");
    assert!(closes.load(Ordering::Relaxed) > 40);
}

#[test]
fn rate_mode_holds_its_rate() {
    let (_server, port) = echo_server();
    let (code, s, err) = bench(&["127.0.0.1", &port, "-c", "4", "--rate", "2000", "-d", "1"]);
    assert_eq!(code, Some(0), "{err}");
    // 2000 messages are due in the second (4 connections may each start one more): never
    // more go than are due, whatever the machine's load. How many of them finish inside the
    // second depends on the load (a busy CI machine), so the lower bound only says the rate
    // was held at all; lateness is what latency from the due time measures.
    let sent = s["sent_bytes"].as_u64().unwrap() / 64;
    let rounds = s["rounds"].as_u64().unwrap();
    assert!(sent <= 2004, "{sent} messages sent at 2000/s for 1 s");
    assert!(sent >= 1000, "{sent} messages sent at 2000/s for 1 s: the rate was not held");
    assert!(rounds <= sent, "{rounds} round trips of {sent} messages");
    assert_eq!(s["target_rate"], 2000.0);
}

#[test]
fn a_server_that_answers_something_else() {
    let mut server = Proc::spawn(&[
        "listen",
        "0",
        "--bind",
        "127.0.0.1",
        "--reply",
        "ok，问题正在处理中...",
        "-e",
        "gbk",
        "--quiet",
        "--json",
    ]);
    let port = server.port().to_string();
    let (code, s, err) = bench(&[
        "127.0.0.1",
        &port,
        "-c",
        "2",
        "-d",
        "0.3",
        "--payload",
        "你好服务端，我是客户端小黑!",
        "--expect",
        "ok，问题正在处理中...",
        "-e",
        "gbk",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(s["len"], 27);
    assert!(s["rounds"].as_u64().unwrap() > 10);
    // The wrong expectation is caught.
    let (code, s, _) =
        bench(&["127.0.0.1", &port, "-c", "1", "-d", "0.5", "--payload", "hi", "--expect", "ok!!", "-e", "gbk"]);
    assert_eq!(code, Some(1));
    let wrong = s["mismatches"].as_u64().unwrap();
    // Each wrong answer costs a pause before the next connection: a handful, not thousands.
    assert!((1..=10).contains(&wrong), "{s}");
    // The first one is shown: from the first differing byte, expected vs got.
    assert_eq!(s["first_mismatch"]["at"], 2, "{s}");
    assert_eq!(s["first_mismatch"]["expected_hex"], "2121", "{s}");
    assert_eq!(s["first_mismatch"]["got_hex"], "a3ac", "{s}");
}

#[test]
fn udp_round_trips() {
    let mut server = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--udp", "--echo", "--quiet", "--json"]);
    let port = server.port().to_string();
    let (code, s, err) = bench(&["127.0.0.1", &port, "--udp", "-c", "4", "-l", "512", "-d", "0.5"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(s["proto"], "udp");
    assert!(s["rounds"].as_u64().unwrap() > 100);
    assert_eq!((s["mismatches"].as_u64(), s["late"].as_u64()), (Some(0), Some(0)));
}

#[test]
fn udp_loss_is_counted() {
    // A UDP socket that never answers: every datagram is lost.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port().to_string();
    let (code, s, _) = bench(&["127.0.0.1", &port, "--udp", "-c", "2", "-d", "0.5", "--timeout", "100ms"]);
    assert_eq!(code, Some(0), "loss is a measurement, not an error");
    assert_eq!(s["rounds"], 0);
    assert!(s["lost"].as_u64().unwrap() >= 4, "{s}");
}

#[test]
fn udp_answers_after_the_timeout_are_late_not_wrong() {
    // Every datagram (numbered by bench) is echoed 150 ms later (a rule's delay); bench
    // waits 50 ms for each.
    let mut server = Proc::spawn(&[
        "listen",
        "0",
        "--bind",
        "127.0.0.1",
        "--udp",
        "--rule",
        "any => after 150 {echo}",
        "--quiet",
        "--json",
    ]);
    let port = server.port().to_string();
    let (code, s, err) = bench(&["127.0.0.1", &port, "--udp", "-c", "1", "-d", "0.6", "--timeout", "50ms"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(s["rounds"], 0, "nothing came back in time: {s}");
    assert!(s["lost"].as_u64().unwrap() >= 2, "{s}");
    assert!(s["late"].as_u64().unwrap() >= 1, "the answers that did come are counted late: {s}");
    assert_eq!(s["mismatches"], 0, "a late answer is not a wrong one: {s}");
}

#[test]
fn stream_churn_and_sink() {
    let (_server, port) = echo_server();
    let (code, s, err) = bench(&["127.0.0.1", &port, "--mode", "stream", "-c", "2", "--window", "64K", "-d", "0.5"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(s["received_bytes"].as_u64().unwrap() > 1_000_000, "{s}");
    // Bytes count when the kernel takes them: nothing comes back that was not sent.
    assert!(s["received_bytes"].as_u64() <= s["sent_bytes"].as_u64(), "{s}");
    let (code, s, err) = bench(&["127.0.0.1", &port, "--mode", "churn", "-c", "2", "-d", "0.5"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(s["rounds"].as_u64().unwrap() > 10, "{s}");
    let (code, s, err) = bench(&["127.0.0.1", &port, "--mode", "sink", "-c", "1", "-l", "1K", "-d", "0.3"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(s["sent_bytes"].as_u64().unwrap() > 1_000_000, "{s}");
}

#[test]
fn messages_larger_than_64k_are_checked_whole() {
    let (_server, port) = echo_server();
    let (code, s, err) = bench(&["127.0.0.1", &port, "-c", "1", "-l", "200K", "-d", "0.3"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(s["len"], 204_800);
    assert_eq!(s["sent_bytes"], s["received_bytes"]);
}

#[test]
fn nothing_listening_is_an_error() {
    let port = closed_port().to_string();
    let (code, s, err) = bench(&["127.0.0.1", &port, "-c", "2", "-d", "0.3"]);
    assert_eq!(code, Some(1));
    assert!(s["errors_by_kind"]["refused"].as_u64().unwrap() > 0);
    assert!(err.starts_with("error: 0 mismatches and"), "{err}");
}

#[test]
fn human_table_and_histogram() {
    let (_server, port) = echo_server();
    let out = bin().args(["bench", "127.0.0.1", &port, "-c", "2", "-d", "0.3"]).stdin(Stdio::null()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.starts_with(&format!("tcp 127.0.0.1:{port} pingpong, 2 connections x 64 bytes")), "{text}");
    for line in ["  round trips", "  latency                    p50 ", "  latency histogram", "%\n"] {
        assert!(text.contains(line), "{line:?} in:\n{text}");
    }
    // No live line when stderr is not a terminal.
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

/// `--connect-rate R` opens the connections R per second, not all at once: four at 8/s
/// span at least three intervals (375 ms). A lower bound only: a busy machine can only
/// make it later.
#[test]
fn connect_rate_spaces_the_connections() {
    let mut server = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--echo", "--json"]);
    let port = server.port().to_string();
    let run = std::thread::spawn(move || bench(&["127.0.0.1", &port, "-c", "4", "--connect-rate", "8", "-d", "1"]));
    server.event("connected", Some(1));
    let first = std::time::Instant::now();
    server.event("connected", Some(4));
    let span = first.elapsed();
    let (code, s, err) = run.join().unwrap();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(s["conns"], 4, "{s}");
    assert!(span >= std::time::Duration::from_millis(300), "four connections within {span:?}");
}
