//! The lesson's first half, runnable: `ip`, `ping`, `port`, `buffers`, and `--explain`.

use std::process::{Command, Stdio};

use serde_json::Value;

use crate::util::*;

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = bin().args(args).stdin(Stdio::null()).output().expect("runs");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn json_lines(stdout: &str) -> Vec<Value> {
    stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

/// Whether this machine lets a test make network namespaces and switch to an ordinary user.
fn can_unshare_and_setpriv() -> bool {
    let ok = |cmd: &mut Command| cmd.stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    ok(Command::new("unshare").args(["-n", "true"]))
        && ok(Command::new("setpriv").args(["--reuid=65534", "--regid=65534", "--clear-groups", "true"]))
}

#[test]
fn ip_lists_loopback_as_this_machine() {
    let (code, out, _) = run(&["ip", "--json"]);
    assert_eq!(code, Some(0));
    let all = json_lines(&out);
    let lo = all.iter().find(|i| i["loopback"] == true).expect("a loopback interface");
    assert_eq!(lo["ipv4"][0]["addr"], "127.0.0.1");
    assert_eq!(lo["ipv4"][0]["prefix"], 8);
    let indexes: Vec<u64> = all.iter().map(|i| i["index"].as_u64().unwrap()).collect();
    assert!(indexes.windows(2).all(|w| w[0] < w[1]), "sorted by index: {indexes:?}");
    let (_, human, _) = run(&["ip"]);
    assert!(human.contains("127.0.0.1 (IPv4) and ::1 (IPv6) are named localhost"), "{human}");
    assert!(human.contains("    inet  127.0.0.1/8\n"), "{human}");
}

#[test]
fn ip_lists_an_interface_without_address() {
    // A fresh network namespace has a loopback that is down and has no address.
    if !Command::new("unshare").args(["-n", "true"]).status().is_ok_and(|s| s.success()) {
        eprintln!("skipped: cannot create a network namespace here");
        return;
    }
    let out = Command::new("unshare").args(["-n", env!("CARGO_BIN_EXE_netassist"), "ip"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("1: lo  <LOOPBACK>"), "{text}");
    assert!(text.contains("no address (the interface is down)"), "{text}");
}

#[test]
fn ping_over_icmp_v4_and_v6() {
    for host in ["127.0.0.1", "::1"] {
        let (code, out, err) = run(&["ping", host, "-c", "2", "-i", "0.05", "--json"]);
        if err.contains("ICMP needs permission") {
            eprintln!("skipped: no ICMP socket allowed for this user here");
            return;
        }
        assert_eq!(code, Some(0), "{err}");
        let lines = json_lines(&out);
        assert_eq!(lines.len(), 3, "{out}");
        assert_eq!((lines[0]["event"].as_str(), lines[0]["seq"].as_u64()), (Some("reply"), Some(1)));
        assert_eq!(lines[0]["from"], host);
        assert_eq!(lines[0]["bytes"], 64);
        let s = &lines[2];
        assert_eq!(
            (s["event"].as_str(), s["sent"].as_u64(), s["received"].as_u64()),
            (Some("summary"), Some(2), Some(2))
        );
        assert_eq!(s["loss"].as_f64(), Some(0.0));
        assert!(s["min_ms"].as_f64().unwrap() <= s["avg_ms"].as_f64().unwrap());
        assert!(s["avg_ms"].as_f64().unwrap() <= s["max_ms"].as_f64().unwrap());
    }
    let (_, human, _) = run(&["ping", "127.0.0.1", "-c", "1"]);
    assert!(human.contains("64 bytes from 127.0.0.1: icmp_seq=1"), "{human}");
    assert!(human.contains("1 probe sent, 1 reply, 0% loss"), "{human}");
}

/// `-s SIZE` sets the payload (a reply is SIZE + 8 bytes of ICMP header), and `-c 0`
/// pings until interrupted, then prints the summary of what it sent.
#[test]
fn ping_sizes_its_payload_and_with_count_zero_runs_until_interrupted() {
    let (_, _, err) = run(&["ping", "127.0.0.1", "-c", "1", "--json"]);
    if err.contains("ICMP needs permission") {
        eprintln!("skipped: no ICMP socket allowed for this user here");
        return;
    }
    let mut ping = Proc::spawn(&["ping", "127.0.0.1", "-c", "0", "-i", "0.05", "-s", "100", "--json"]);
    for seq in 1..=3 {
        let reply = ping.event_where("a reply", |v| v["event"] == "reply");
        assert_eq!((reply["seq"].as_u64(), reply["bytes"].as_u64()), (Some(seq), Some(108)), "{reply}");
    }
    ping.signal(libc::SIGINT);
    let summary = ping.event_where("the summary", |v| v["event"] == "summary");
    let sent = summary["sent"].as_u64().unwrap();
    assert!(sent >= 3, "{summary}");
    assert!(summary["received"].as_u64().unwrap() >= 3, "{summary}");
    assert!(ping.wait().success());
}

#[test]
fn ping_over_tcp_counts_a_refusal_as_a_reply() {
    for host in ["127.0.0.1", "::1"] {
        let port = closed_port().to_string();
        let (code, out, _) = run(&["ping", host, "--tcp", &port, "-c", "2", "-i", "0.05", "--json"]);
        assert_eq!(code, Some(0));
        let lines = json_lines(&out);
        assert_eq!(lines[0]["tcp"], "refused");
        assert_eq!(lines[2]["received"], 2);
        assert_eq!(lines[2]["via"], "tcp");
    }
    let mut server = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--json", "--quiet"]);
    let port = server.port().to_string();
    let (_, out, _) = run(&["ping", "127.0.0.1", "--tcp", &port, "-c", "1", "--json"]);
    assert_eq!(json_lines(&out)[0]["tcp"], "connected");
    let (_, human, _) = run(&["ping", "127.0.0.1", "--tcp", &closed_port().to_string(), "-c", "1"]);
    assert!(human.contains("refused: the host is up, nothing listens on that port"), "{human}");
}

/// Runs netassist as the ordinary user nobody inside a network namespace of its own,
/// after `setup` (run as root there).
fn as_nobody_in_namespace(setup: &str, args: &str) -> std::process::Output {
    let script = format!(
        "ip link set lo up && {setup} exec setpriv --reuid=65534 --regid=65534 --clear-groups {} {args}",
        env!("CARGO_BIN_EXE_netassist")
    );
    Command::new("unshare").args(["-n", "sh", "-c", &script]).output().unwrap()
}

#[test]
fn ping_uses_the_unprivileged_icmp_socket_where_allowed() {
    if !can_unshare_and_setpriv() {
        eprintln!("skipped: needs unshare -n and setpriv (run as root)");
        return;
    }
    let out =
        as_nobody_in_namespace("sysctl -qw net.ipv4.ping_group_range='0 2147483647' &&", "ping 127.0.0.1 -c 1 --json");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text} {}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!((summary["via"].as_str(), summary["received"].as_u64()), (Some("icmp_dgram"), Some(1)));
}

#[test]
fn ping_without_icmp_permission_says_so_and_suggests_tcp() {
    if !can_unshare_and_setpriv() {
        eprintln!("skipped: needs unshare -n and setpriv (run as root)");
        return;
    }
    let out = as_nobody_in_namespace("sysctl -qw net.ipv4.ping_group_range='1 0' &&", "ping 127.0.0.1 -c 1");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: ping: ICMP needs permission here"), "{err}");
    assert!(err.contains("netassist ping 127.0.0.1 --tcp PORT"), "{err}");
}

#[test]
fn port_names_classes_services_and_who_listens() {
    let mut server = Proc::spawn(&["listen", "0", "--json", "--quiet"]);
    let port = server.port();
    let (code, out, _) = run(&["port", &port.to_string(), "--json"]);
    assert_eq!(code, Some(0));
    let r: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(r["lesson_class"], "dynamic");
    let bound = r["bound"].as_array().unwrap();
    assert!(
        bound.iter().any(|b| b["proto"] == "tcp" && b["state"] == "listening" && b["process"] == "netassist"),
        "{r}"
    );
    let (_, human, _) = run(&["port", "22"]);
    assert!(human.contains("well-known (0-1023)"), "{human}");
    assert!(human.contains("ssh (tcp)"), "{human}");
    let (code, out, _) = run(&["port", "http", "--json"]);
    assert_eq!(code, Some(0));
    assert_eq!(json_lines(&out)[0]["port"], 80);
}

#[test]
fn port_free_can_be_bound() {
    let (code, out, _) = run(&["port", "--free"]);
    assert_eq!(code, Some(0));
    let port: u16 = out.trim().parse().expect("just a number");
    std::net::TcpListener::bind(("0.0.0.0", port)).expect("free for TCP");
    std::net::UdpSocket::bind(("0.0.0.0", port)).expect("free for UDP");
}

#[test]
fn port_errors() {
    let (code, _, err) = run(&["port", "65536"]);
    assert_eq!(code, Some(2));
    assert_eq!(err, "error: port: 65536 is out of range; a port is a number from 0 to 65535\n");
    let (code, _, err) = run(&["port", "no-such-service-here"]);
    assert_eq!(code, Some(2));
    assert!(err.starts_with("error: port: no service is named 'no-such-service-here'"), "{err}");
}

#[test]
fn buffers_shows_what_the_kernel_grants() {
    let (code, out, _) = run(&["buffers", "--sndbuf", "50000", "--json"]);
    assert_eq!(code, Some(0));
    let r: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(r["sndbuf_asked"], 50000);
    assert_eq!(r["sndbuf"], 100000, "Linux doubles the request");
    assert!(r["tcp_rmem"].as_array().unwrap().len() == 3);
    let (_, human, _) = run(&["buffers"]);
    assert!(human.contains("send() does not send to the peer"), "{human}");
    assert!(human.contains("recv() does not take bytes from the network"), "{human}");
}

#[test]
fn explain_narrates_the_lessons_steps() {
    let mut server = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--explain", "--reply", "ok", "--no-time"]);
    let port = server.human_port();
    let mut client = Proc::spawn(&[
        "connect",
        "127.0.0.1",
        &port.to_string(),
        "--send",
        "hi",
        "--explain",
        "--no-time",
        "--rcvbuf",
        "50000",
    ]);
    let chosen = client.line_where("the OS's choice", |l| l.contains("so the OS chose local port"));
    assert!(
        chosen.starts_with(&format!("explain: connect(127.0.0.1:{port}): the three-way handshake is done")),
        "{chosen}"
    );
    let granted = client.line_where("the buffers", |l| l.starts_with("buffers:"));
    assert!(granted.contains("SO_RCVBUF 100000 bytes (asked 50000: Linux doubles it"), "{granted}");
    client.line_where("recv narrated", |l| {
        l.starts_with("explain: #1 recv() took 2 bytes from the socket's receive buffer, where the OS had put them")
    });
    server.line_where("accept narrated", |l| l.starts_with("explain: #1 accept() returned a new socket"));
    server.line_where("send narrated", |l| {
        l.starts_with("explain: #1 send() handed 2 bytes to the socket's send buffer")
    });
    server.line_where("recv 0 narrated", |l| {
        l.starts_with("explain: #1 recv() returned 0 bytes: the peer closed its side")
    });
    let setup = server.seen.join("\n");
    let bind = format!(
        "bind(127.0.0.1:0): the socket owns port {port} on this address only; port 0 asked the OS to pick one: {port}"
    );
    for step in ["socket(AF_INET, SOCK_STREAM)", "setsockopt(SO_REUSEADDR, 1)", &bind, "listen(128)"] {
        assert!(setup.contains(step), "{step} in:\n{setup}");
    }
}

#[test]
fn end_of_input_sends_fin_and_says_so() {
    let mut server = Proc::spawn(&["listen", "0", "--json"]);
    let port = server.port();
    let mut c = Proc::spawn(&["connect", "127.0.0.1", &port.to_string(), "--json", "--wait", "forever"]);
    c.event("connected", Some(1));
    c.close_stdin();
    c.event("half_closed", Some(1));
    assert_eq!(server.event("closed", Some(1))["reason"], "peer_closed");
    assert_eq!(c.event("closed", Some(1))["reason"], "peer_closed");
}

/// `-W SECS`: how long each probe waits for its reply. In namespaces of the test's own, a
/// veth whose other end has no address: nothing answers, so each probe times out after
/// `-W` (0.3 s), and the run ends well before the default wait (2 s) could have passed.
#[test]
fn ping_waits_w_seconds_for_each_reply() {
    let (a, b) = (format!("naw{}a", std::process::id()), format!("naw{}b", std::process::id()));
    let (va, vb) = (format!("nw{}a", std::process::id() % 100_000), format!("nw{}b", std::process::id() % 100_000));
    let ip = |args: &[&str]| Command::new("ip").args(args).status().is_ok_and(|s| s.success());
    if !ip(&["netns", "add", &a]) {
        eprintln!("skipped: needs root and ip netns to make a silent host");
        return;
    }
    let made = ip(&["netns", "add", &b])
        && ip(&["link", "add", &va, "type", "veth", "peer", "name", &vb])
        && ip(&["link", "set", &va, "netns", &a])
        && ip(&["link", "set", &vb, "netns", &b])
        && ip(&["-n", &a, "addr", "add", "10.98.0.1/24", "dev", &va])
        && ip(&["-n", &a, "link", "set", &va, "up"])
        && ip(&["-n", &b, "link", "set", &vb, "up"]);
    let started = std::time::Instant::now();
    let out = made.then(|| {
        Command::new("ip")
            .args(["netns", "exec", &a, env!("CARGO_BIN_EXE_netassist")])
            .args(["ping", "10.98.0.2", "-c", "2", "-i", "0.1", "-W", "0.3", "--json"])
            .env("NETASSIST_LANG", "en")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    });
    let took = started.elapsed();
    ip(&["netns", "del", &a]);
    ip(&["netns", "del", &b]);
    let out = out.expect("the namespaces were made");
    let lines = json_lines(&String::from_utf8_lossy(&out.stdout));
    let timeouts: Vec<u64> =
        lines.iter().filter(|v| v["event"] == "timeout").filter_map(|v| v["seq"].as_u64()).collect();
    assert_eq!(timeouts, [1, 2], "{lines:?}");
    let s = lines.last().unwrap();
    assert_eq!((s["sent"].as_u64(), s["received"].as_u64()), (Some(2), Some(0)), "{s}");
    assert_eq!(out.status.code(), Some(1), "no reply at all");
    assert!(took >= std::time::Duration::from_millis(300), "waited {took:?}");
    assert!(took < std::time::Duration::from_secs(2), "{took:?}: -W 0.3 was not used");
}
