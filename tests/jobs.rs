//! The socat and ncat jobs with real peers: Unix sockets (redis-server on one, through the
//! relay), `--exec` as an echo server checked by `netassist bench`, proxies (curl through
//! `relay --socks5` and `--http-proxy`, `connect --proxy` through ncat's HTTP proxy and our
//! SOCKS5 relay), and the dump controls. A test whose peer program is missing says so and
//! skips; CI installs them all.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::util::*;

/// A scratch directory of this test's own, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("na-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, file: &str) -> String {
        self.0.join(file).to_str().unwrap().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn have(program: &str) -> bool {
    let found = Command::new(program).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    if !found {
        eprintln!("skipped: {program} is not installed");
    }
    found
}

/// A server that answers each HTTP request with `hi` (and keeps the connection).
fn http_server() -> (Proc, String) {
    let reply = "HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nhi";
    let mut s = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--reply", reply, "--json", "--quiet"]);
    let port = s.port().to_string();
    (s, port)
}

#[test]
fn a_unix_socket_server_shows_who_connected_and_removes_its_file() {
    let dir = Scratch::new("unix-listen");
    let sock = dir.path("s.sock");
    // A socket file left by a program that is gone: replaced, not refused.
    drop(UnixListener::bind(&sock).unwrap());
    let mut s = Proc::spawn(&["listen", &format!("unix:{sock}"), "--echo", "--json"]);
    let listening = s.event("listening", None);
    assert_eq!(
        (listening["proto"].as_str(), listening["addr"].as_str()),
        (Some("unix"), Some(&*format!("unix:{sock}")))
    );
    let mut c = UnixStream::connect(&sock).unwrap();
    c.set_read_timeout(Some(PATIENCE)).unwrap();
    let payload: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    let mut reader = c.try_clone().unwrap();
    let echoed = std::thread::spawn(move || {
        let mut got = vec![0u8; 100_000];
        reader.read_exact(&mut got).unwrap();
        got
    });
    c.write_all(&payload).unwrap();
    assert_eq!(echoed.join().unwrap(), payload, "every byte back, in order");
    let connected = s.event("connected", Some(1));
    assert_eq!(connected["proto"], "unix");
    assert_eq!(connected["pid"].as_u64(), Some(u64::from(std::process::id())), "SO_PEERCRED names this process");
    assert_eq!(connected["uid"].as_u64(), Some(u64::from(unsafe { libc::getuid() })));
    drop(c);
    s.event("closed", Some(1));
    s.signal(libc::SIGINT);
    assert!(s.wait().success());
    assert!(!std::path::Path::new(&sock).exists(), "the listener removes its socket file at exit");
}

#[test]
fn a_live_socket_or_a_plain_file_is_never_taken_over() {
    let dir = Scratch::new("unix-busy");
    let sock = dir.path("busy.sock");
    let _live = UnixListener::bind(&sock).unwrap();
    let out = bin().args(["listen", &format!("unix:{sock}")]).stdin(Stdio::null()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("already answers on") && err.lines().count() == 1, "{err}");
    let file = dir.path("plain");
    std::fs::write(&file, "keep me").unwrap();
    let out = bin().args(["listen", &format!("unix:{file}")]).stdin(Stdio::null()).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a socket"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
}

#[test]
fn connect_to_a_unix_socket_and_an_abstract_name() {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("na-test-{}", std::process::id());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let l = UnixListener::bind_addr(&addr).unwrap();
    let server = std::thread::spawn(move || {
        let (mut c, _) = l.accept().unwrap();
        let mut got = [0u8; 3];
        c.read_exact(&mut got).unwrap();
        c.write_all(b"bye").unwrap();
        got
    });
    let out = bin()
        .args(["connect", &format!("unix:@{name}"), "--send", "a\\x00b", "--wait", "forever", "--json"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(&server.join().unwrap(), b"a\x00b");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let events: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let connected = events.iter().find(|e| e["event"] == "connected").unwrap();
    assert_eq!(connected["peer"], format!("unix:@{name}"));
    assert!(events.iter().any(|e| e["event"] == "data" && e["dir"] == "in" && e["text"] == "bye"), "{stdout}");
}

#[test]
fn redis_on_a_unix_socket_through_the_relay() {
    if !have("redis-server") || !have("redis-cli") {
        return;
    }
    let dir = Scratch::new("redis");
    let sock = dir.path("redis.sock");
    let mut redis = Command::new("redis-server")
        .args(["--port", "0", "--unixsocket", &sock, "--save", "", "--dir", &dir.path("")])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while UnixStream::connect(&sock).is_err() {
        assert!(started.elapsed() < PATIENCE, "redis-server did not start");
        std::thread::yield_now();
    }
    let pcap = dir.path("redis.pcap");
    let mut r = Proc::spawn(&["relay", "0", &format!("unix:{sock}"), "--bind", "127.0.0.1", "--json", "--pcap", &pcap]);
    let port = r.port().to_string();
    let cli = |args: &[&str]| {
        let out = Command::new("redis-cli").args(["-p", &port]).args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(cli(&["set", "greeting", "你好"]), "OK");
    assert_eq!(cli(&["--raw", "get", "greeting"]), "你好");
    let target = r.event_where("the target leg", |v| v["event"] == "connected" && v["side"] == "initiated");
    assert_eq!((target["proto"].as_str(), target["peer"].as_str()), (Some("unix"), Some(&*format!("unix:{sock}"))));
    assert_eq!(target["pid"].as_u64(), Some(u64::from(redis.id())), "the target's pid, from SO_PEERCRED");
    let up = r.event_where("the SET", |v| v["event"] == "data" && v["dir"] == "c2t");
    assert!(up["text"].as_str().unwrap().contains("greeting"), "{up}");
    r.event("closed", Some(2));
    r.signal(libc::SIGINT);
    assert!(r.wait().success());
    let _ = redis.kill();
    let _ = redis.wait();
    // The Unix leg's first packet names the socket and the process behind it.
    let comments: Vec<String> =
        pcapng_packets(&std::fs::read(&pcap).unwrap()).into_iter().filter_map(|p| p.comment).collect();
    let named = format!("unix:{sock} (pid {}, uid ", redis.id());
    assert_eq!(comments.iter().filter(|c| c.starts_with(&named)).count(), 2, "one per connection: {comments:?}");
    if have("tshark") {
        // The Unix leg has made-up loopback addresses: tshark follows it as TCP.
        let out = Command::new("tshark").args(["-r", &pcap, "-q", "-z", "follow,tcp,ascii,1"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.contains("greeting") && text.contains("+OK"), "{text}");
        let out = Command::new("tshark")
            .args(["-r", &pcap, "-Y", "frame.comment", "-T", "fields", "-e", "frame.comment"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.lines().any(|l| l.starts_with(&named)), "tshark shows the socket's path: {text}");
    }
}

#[test]
fn a_unix_socket_client_side_relayed_to_tcp() {
    let (l, tport) = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let p = l.local_addr().unwrap().port();
        (l, p)
    };
    let dir = Scratch::new("unix-relay");
    let sock = dir.path("front.sock");
    let mut r = Proc::spawn(&["relay", &format!("unix:{sock}"), "127.0.0.1", &tport.to_string(), "--json"]);
    r.event("listening", None);
    let mut c = UnixStream::connect(&sock).unwrap();
    c.write_all(b"to tcp").unwrap();
    c.shutdown(std::net::Shutdown::Write).unwrap();
    let (mut t, _) = l.accept().unwrap();
    t.set_read_timeout(Some(PATIENCE)).unwrap();
    assert_eq!(read_to_end(&mut t), b"to tcp");
    t.write_all(b"back").unwrap();
    drop(t);
    let mut back = Vec::new();
    c.set_read_timeout(Some(PATIENCE)).unwrap();
    c.read_to_end(&mut back).unwrap();
    assert_eq!(back, b"back");
    let closed = r.event("closed", Some(1));
    assert_eq!(closed["reason"], "both_closed");
}

#[test]
fn exec_cat_is_an_echo_server_byte_exact_under_bench() {
    let mut s = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--exec", "cat", "--json", "--quiet"]);
    let port = s.port().to_string();
    let out = bin()
        .args(["bench", "127.0.0.1", &port, "-c", "4", "-l", "1000", "-d", "0.5", "--json"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert!(out.status.success(), "{summary}");
    assert_eq!((summary["errors"].as_u64(), summary["mismatches"].as_u64()), (Some(0), Some(0)), "{summary}");
    assert!(summary["rounds"].as_u64().unwrap() > 0);
    assert_eq!(summary["sent_bytes"], summary["received_bytes"]);
    // Each of bench's connections had a cat of its own, which ended when its client did.
    let mut exited = std::collections::BTreeSet::new();
    while exited.len() < 4 {
        let note = s.event_where("a child's exit", |v| {
            v["event"] == "note" && v["message"].as_str().is_some_and(|m| m.contains("the child exited"))
        });
        let message = note["message"].as_str().unwrap().to_string();
        assert!(message.ends_with("the child exited with status 0"), "{message}");
        exited.insert(message);
    }
}

#[test]
fn sh_exec_shows_stderr_and_the_exit_status_and_its_end_closes_the_client() {
    let line = "read x; echo \"got $x\"; echo oops >&2; exit 3";
    let mut s = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--sh-exec", line, "--json"]);
    let port = s.port();
    let mut c = client(port);
    c.write_all(b"ping\n").unwrap();
    // The child exits: the client gets its output, then FIN, without closing first.
    assert_eq!(read_to_end(&mut c), b"got ping\n");
    let said = |s: &mut Proc, what: &str| {
        let what = what.to_string();
        s.event_where(&what.clone(), move |v| {
            v["event"] == "note" && v["message"].as_str().is_some_and(|m| m.contains(&what))
        })
    };
    said(&mut s, "#1 stderr: oops");
    said(&mut s, "#1 the child exited with status 3");
    let closed = s.event("closed", Some(1));
    assert_eq!(closed["reason"], "child_ended", "the child's end closed the client, which had not closed");
    assert_eq!((closed["bytes_in"].as_u64(), closed["bytes_out"].as_u64()), (Some(5), Some(9)));
}

#[test]
fn connect_exec_joins_a_child_to_the_server() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    let server = std::thread::spawn(move || {
        let (mut c, _) = l.accept().unwrap();
        c.set_read_timeout(Some(PATIENCE)).unwrap();
        c.write_all("问候\n".as_bytes()).unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        read_to_end(&mut c)
    });
    let out = bin()
        .args(["connect", "127.0.0.1", &port, "--exec", "tr a-z A-Z", "--json"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(server.join().unwrap(), "问候\n".as_bytes(), "the child's stdout went to the server");
    let out = bin()
        .args(["connect", "127.0.0.1", "1", "--exec", "definitely-not-a-program-here"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn curl_through_the_socks5_relay_with_the_target_rule() {
    if !have("curl") {
        return;
    }
    let (_web, wport) = http_server();
    let dir = Scratch::new("socks");
    let pcap = dir.path("socks.pcap");
    let mut r = Proc::spawn(&[
        "relay",
        "0",
        "--socks5",
        "--bind",
        "127.0.0.1",
        "--allow-target",
        "127.0.0.1/32",
        "--json",
        "--pcap",
        &pcap,
    ]);
    let port = r.port();
    let proxy = format!("127.0.0.1:{port}");
    let out = Command::new("curl")
        .args(["-s", "--max-time", "10", "--socks5-hostname", &proxy, &format!("http://localhost:{wport}/x")])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi");
    let target = r.event_where("the target", |v| v["event"] == "connected" && v["side"] == "initiated");
    assert_eq!(target["target"], format!("localhost:{wport}"), "the name the client asked for");
    assert_eq!(target["peer"], format!("127.0.0.1:{wport}"));
    let get = r.event_where("the request", |v| v["event"] == "data" && v["dir"] == "c2t");
    assert!(get["text"].as_str().unwrap().starts_with("GET /x HTTP/1.1"), "{get}");
    r.event("closed", Some(1));
    // A target outside the rule: refused with SOCKS5's "not allowed", named in the view.
    let out = Command::new("curl")
        .args(["-s", "--max-time", "10", "--socks5-hostname", &proxy, &format!("http://127.0.0.2:{wport}/")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(97), "curl's 'SOCKS5 connection failed'");
    let closed = r.event("closed", Some(2));
    assert_eq!(closed["reason"], "target_failed");
    r.signal(libc::SIGINT);
    assert!(r.wait().success());
    if have("tshark") {
        let out = Command::new("tshark")
            .args(["-r", &pcap, "-Y", "http.request", "-T", "fields", "-e", "http.request.uri"])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).lines().next(), Some("/x"), "tshark reads the request");
    }
}

#[test]
fn curl_through_the_http_proxy_plain_and_connect() {
    if !have("curl") {
        return;
    }
    let (_web, wport) = http_server();
    let dir = Scratch::new("httpproxy");
    let pcap = dir.path("http.pcap");
    let mut r = Proc::spawn(&[
        "relay",
        "0",
        "--http-proxy",
        "--bind",
        "127.0.0.1",
        "--allow-target",
        "127.0.0.0/8",
        "--json",
        "--pcap",
        &pcap,
    ]);
    let proxy = format!("http://127.0.0.1:{}", r.port());
    let url = format!("http://127.0.0.1:{wport}/page");
    for tunnel in [false, true] {
        let mut curl = Command::new("curl");
        curl.args(["-s", "--max-time", "10", "-x", &proxy, &url]);
        if tunnel {
            curl.arg("-p");
        }
        let out = curl.output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hi", "tunnel: {tunnel}");
    }
    // The plain request reaches the target in origin form, as a server expects it.
    let get = r.event_where("the plain request", |v| v["event"] == "data" && v["dir"] == "c2t" && v["id"] == 1);
    assert!(get["text"].as_str().unwrap().starts_with("GET /page HTTP/1.1\r\n"), "{get}");
    r.event("closed", Some(2));
    r.signal(libc::SIGINT);
    assert!(r.wait().success());
    if have("tshark") {
        let out = Command::new("tshark")
            .args(["-r", &pcap, "-Y", "http.request", "-T", "fields", "-e", "http.request.uri"])
            .output()
            .unwrap();
        let uris = String::from_utf8_lossy(&out.stdout);
        assert!(uris.lines().filter(|l| *l == "/page").count() >= 2, "both requests in the capture: {uris}");
    }
}

#[test]
fn connect_through_ncats_http_proxy_and_our_socks5_relay() {
    let (mut echo, eport) = {
        let mut e = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--echo", "--json", "--quiet"]);
        let p = e.port().to_string();
        (e, p)
    };
    let mut relay =
        Proc::spawn(&["relay", "0", "--socks5", "--bind", "127.0.0.1", "--allow-target", "127.0.0.1", "--json"]);
    let socks = format!("socks5://user:p%40ss@127.0.0.1:{}", relay.port());
    let through = |proxy: &str, host: &str| {
        bin()
            .args(["connect", host, &eport, "--proxy", proxy, "--send", "through\\n", "--json"])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = through(&socks, "localhost");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(r#""dir":"in""#) && stdout.contains(r#""text":"through\n""#), "{stdout}");
    let asked = relay.event_where("the request", |v| v["event"] == "note");
    assert!(asked["message"].as_str().unwrap().contains(&format!("asks for localhost:{eport} (SOCKS5)")), "{asked}");
    echo.event("closed", Some(1));
    // The default rule of a proxy refuses loopback: the client says why, in one line.
    let mut strict = Proc::spawn(&["relay", "0", "--socks5", "--bind", "127.0.0.1", "--json"]);
    let out = through(&format!("socks5://127.0.0.1:{}", strict.port()), "127.0.0.1");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("not allowed by its rules (SOCKS5 2)"), "{err}");
    strict.event("closed", Some(1));
    if !have("ncat") {
        return;
    }
    let free = TcpListener::bind("127.0.0.1:0").unwrap();
    let nport = free.local_addr().unwrap().port().to_string();
    drop(free);
    let mut ncat = Command::new("ncat")
        .args(["-l", "127.0.0.1", &nport, "--proxy-type", "http", "-k"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", nport.parse::<u16>().unwrap())).is_err() {
        assert!(started.elapsed() < PATIENCE, "ncat did not start");
        std::thread::yield_now();
    }
    let out = through(&format!("http://127.0.0.1:{nport}"), "127.0.0.1");
    let _ = ncat.kill();
    let _ = ncat.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(r#""text":"through\n""#), "{stdout}");
}

#[test]
fn dump_controls_cut_break_and_pick_a_direction() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let tport = l.local_addr().unwrap().port().to_string();
    let mut r = Proc::spawn(&[
        "relay",
        "0",
        "127.0.0.1",
        &tport,
        "--bind",
        "127.0.0.1",
        "--dump",
        "text",
        "--lines",
        "--max-show",
        "12",
        "--only",
        "c2t",
        "--no-time",
    ]);
    let port = r.human_port();
    let mut c = client(port);
    let (mut t, _) = l.accept().unwrap();
    t.set_read_timeout(Some(PATIENCE)).unwrap();
    c.write_all(b"one\ntwo\nthree and more\n").unwrap();
    assert_eq!(read_n(&mut t, 23), b"one\ntwo\nthree and more\n", "the bytes pass whole");
    t.write_all(b"reply\n").unwrap();
    assert_eq!(read_n(&mut c, 6), b"reply\n");
    drop((c, t));
    let head = r.line_where("the c->t line", |l| l.contains("c->t"));
    assert_eq!(head, "#1 c->t 23 bytes:");
    assert_eq!(r.next_line().unwrap(), "    one\\n");
    assert_eq!(r.next_line().unwrap(), "    two\\n");
    assert_eq!(r.next_line().unwrap(), "    thre");
    assert_eq!(r.next_line().unwrap(), "    … (11 more bytes not shown)");
    let closed = r.line_where("closed", |l| l.contains("closed"));
    assert!(closed.contains("6 bytes target->client"), "counted though not shown: {closed}");
    assert!(!r.seen.iter().any(|l| l.starts_with("#1 t->c")), "--only c2t shows no t->c line: {:?}", r.seen);
}
