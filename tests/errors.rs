//! Every error a person can meet: one line on stderr that says what to do, a non-zero exit,
//! never a panic. And output into a closed pipe ends quietly.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use crate::util::*;

/// Runs netassist to the end; returns (exit code, stdout, stderr).
fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = bin().args(args).stdin(Stdio::null()).output().expect("runs");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// Asserts a one-line error containing `want`, exit status `code`, and no panic.
fn assert_error(args: &[&str], code: i32, want: &str) {
    let (status, _, err) = run(args);
    assert_eq!(status, Some(code), "exit status of {args:?}; stderr: {err}");
    assert!(err.contains(want), "stderr of {args:?} lacks {want:?}: {err}");
    assert!(!err.contains("panicked") && !err.contains("backtrace"), "{err}");
    if code == 1 || err.starts_with("error: --") {
        assert_eq!(err.lines().count(), 1, "one line, said once: {err}");
        assert!(err.starts_with("error: "), "{err}");
    }
}

#[test]
fn port_in_use() {
    let mut first = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--json"]);
    let port = first.port().to_string();
    assert_error(
        &["listen", &port, "--bind", "127.0.0.1"],
        1,
        &format!(
            "port {port} is already in use on 127.0.0.1:{port}, held by pid {} (netassist) listening on 127.0.0.1:{port}; pick another port or stop the program using it",
            first.pid()
        ),
    );
}

/// A UDP port is refused to a second server too (Linux lets two UDP sockets with
/// SO_REUSEADDR share a port, the second silently taking the first one's datagrams); with
/// --join both may share it, as members of a group do.
#[test]
fn udp_port_in_use() {
    let mut first = Proc::spawn(&["listen", "0", "--udp", "--bind", "127.0.0.1", "--json"]);
    let port = first.port().to_string();
    // Spawned, not run to its end: a second server that is wrongly let in would never end.
    let mut second = Proc::spawn_no_stdin(&["listen", &port, "--udp", "--bind", "127.0.0.1"]);
    assert_eq!(second.wait().code(), Some(1), "the second server is refused");
    let err = second.stderr_all();
    assert!(err.starts_with(&format!("error: port {port} is already in use")), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn port_out_of_range() {
    assert_error(&["listen", "70000"], 2, "port 70000 is out of range; a port is a number from 0 to 65535");
    assert_error(&["connect", "127.0.0.1", "65536"], 2, "out of range");
}

#[test]
fn privileged_port_without_permission() {
    // As an ordinary user (nobody), if this machine lets us become one.
    let probe = Command::new("setpriv").args(["--reuid=65534", "--regid=65534", "--clear-groups", "true"]).status();
    if !probe.map(|s| s.success()).unwrap_or(false) {
        eprintln!("skipped: cannot run as an ordinary user here (setpriv)");
        return;
    }
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", env!("CARGO_BIN_EXE_netassist"), "listen", "80"])
        .args(["--bind", "127.0.0.1"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("port 80 needs privileges"), "{err}");
}

#[test]
fn bind_address_not_on_this_machine() {
    // 192.0.2.0/24 is TEST-NET-1; binding it sends nothing anywhere.
    assert_error(&["listen", "0", "--bind", "192.0.2.123"], 1, "that address is not on this machine");
}

#[test]
fn connection_refused() {
    let port = closed_port().to_string();
    assert_error(
        &["connect", "127.0.0.1", &port, "--send", "x"],
        1,
        &format!("connection to 127.0.0.1:{port} refused: nothing listens on port {port} there"),
    );
}

#[test]
fn host_not_found() {
    // In a network namespace of its own nothing can leave this machine, not even a DNS query.
    let probe = Command::new("unshare").args(["-n", "true"]).status();
    if !probe.map(|s| s.success()).unwrap_or(false) {
        eprintln!("skipped: cannot create a network namespace here (unshare -n)");
        return;
    }
    let out = Command::new("unshare")
        .args(["-n", env!("CARGO_BIN_EXE_netassist"), "connect", "no-such-host.invalid", "80", "--send", "x"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("error: cannot resolve host 'no-such-host.invalid': "), "{err}");
    assert_eq!(err.lines().count(), 1);
}

#[test]
fn connect_timeout() {
    // A listener that never accepts, with its queue full: further SYNs go unanswered.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&"127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap().into()).unwrap();
    socket.listen(0).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        s.set_nonblocking(true).unwrap();
        let _ = s.connect(&addr.into());
        fillers.push(s);
    }
    let port = addr.port().to_string();
    assert_error(
        &["connect", "127.0.0.1", &port, "--connect-timeout", "300ms", "--send", "x"],
        1,
        "timed out after 300ms",
    );
}

#[test]
fn bad_arguments() {
    let port = closed_port().to_string();
    let connect = |extra: &[&str]| {
        let mut args = vec!["connect", "127.0.0.1", port.as_str()];
        args.extend_from_slice(extra);
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (connect(&["--send-hex", "01 0g"]), 2, "--send-hex: 'g' at position 5 is not a hex digit"),
        (connect(&["--send-hex", "7E 0"]), 2, "--send-hex: '0' at position 4 has an odd number of hex digits"),
        (connect(&["--send-hex", ""]), 2, "--send-hex: no bytes given"),
        (connect(&["--send", r"bad\q"]), 2, r"--send: bad escape '\q' at position 4"),
        (
            connect(&["--send", "smile 😀", "--encoding", "gbk"]),
            2,
            "character '😀' (U+1F600) at position 7 cannot be encoded in gbk",
        ),
        (connect(&["--send-file", "/nonexistent/file"]), 1, "cannot read /nonexistent/file: No such file or directory"),
        (connect(&["--encoding", "klingon"]), 2, "unknown encoding 'klingon'"),
        (connect(&["--send-file", "/tmp"]), 2, "--send-file: /tmp is a directory"),
        (vec!["connect".into(), "127.0.0.1".into(), "--send".into(), "x".into()], 2, "no port"),
        (vec!["listen".into(), "0".into(), "--queue-limit".into(), "0".into()], 2, "a queue of 0 bytes holds nothing"),
        (
            vec!["listen".into(), "0".into(), "--reply".into(), "😀".into(), "-e".into(), "latin1".into()],
            2,
            "--reply: character '😀'",
        ),
    ];
    for (args, code, want) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_error(&args, code, want);
    }
}

#[test]
fn listen_into_a_closed_pipe_ends_quietly() {
    let mut child = bin()
        .args(["listen", "0", "--bind", "127.0.0.1", "--echo", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut line = String::new();
    while !line.contains("\"listening\"") {
        let mut first = [0u8; 512];
        let n = out.read(&mut first).unwrap();
        assert!(n > 0, "the listening event comes");
        line.push_str(&String::from_utf8_lossy(&first[..n]));
    }
    let listening = line.lines().find(|l| l.contains("\"listening\"")).expect("the listening event first");
    let v: serde_json::Value = serde_json::from_str(listening).unwrap();
    let port: std::net::SocketAddr = v["addr"].as_str().unwrap().parse().unwrap();
    drop(out); // as `| head -1` does
    // Output now has nowhere to go: the next events end the run.
    let mut c = client(port.port());
    c.write_all(b"x").unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?} {err}");
    assert_eq!(err, "");
}

#[test]
fn connect_into_head_ends_quietly() {
    let mut server = Proc::spawn(&["listen", "0", "--json"]);
    let port = server.port();
    let script =
        format!("{} connect 127.0.0.1 {port} --send-hex 00 --interval 5 | head -n 2", env!("CARGO_BIN_EXE_netassist"));
    let out = Command::new("bash").args(["-o", "pipefail", "-c", &script]).stdin(Stdio::null()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
    assert_eq!(err, "");
    assert!(out.status.success(), "{:?}", out.status);
}
