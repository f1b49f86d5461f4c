//! The promises a hostile peer, a careless user or an SRE broke once: bounded memory,
//! nothing lost at a stop, a stop that wins against a flood, one clear line, nothing raw
//! on the terminal. Each test failed before its fix.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::util::{PATIENCE, bin};

/// Waits until `cond` holds (polling), or panics after PATIENCE.
fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !cond() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn interrupt(child: &Child) {
    // SAFETY: kill with a pid we own and a valid signal number.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
}

/// Waits for the child to end; panics when it is still running after PATIENCE.
fn ended(child: &mut Child, what: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what}: still running {PATIENCE:?} after ctrl-c");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A server that sends without end to whoever connects.
fn flooding_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let chunk = vec![b'x'; 64 * 1024];
        while s.write_all(&chunk).is_ok() {}
    });
    port
}

fn file_len(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

#[test]
fn ctrl_c_stops_connect_while_the_server_floods() {
    let port = flooding_server();
    let dir = tempdir();
    let out = dir.join("out.txt");
    let mut child = bin()
        .args(["connect", "127.0.0.1", &port.to_string(), "--show", "hex"])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("create"))
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    until("output flows", || file_len(&out) > 1 << 20);
    interrupt(&child);
    ended(&mut child, "connect");
}

#[test]
fn ctrl_c_stops_a_server_while_a_client_floods() {
    let dir = tempdir();
    let out = dir.join("out.txt");
    let mut child = bin()
        .args(["listen", "0", "--bind", "127.0.0.1", "--json"])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("create"))
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    until("listening", || std::fs::read_to_string(&out).is_ok_and(|t| t.contains("listening")));
    let text = std::fs::read_to_string(&out).expect("read");
    let v: serde_json::Value = serde_json::from_str(text.lines().next().expect("a line")).expect("json");
    let port: std::net::SocketAddr = v["addr"].as_str().expect("addr").parse().expect("addr");
    let mut s = TcpStream::connect(("127.0.0.1", port.port())).expect("connects");
    std::thread::spawn(move || {
        let chunk = vec![b'y'; 64 * 1024];
        while s.write_all(&chunk).is_ok() {}
    });
    until("output flows", || file_len(&out) > 1 << 20);
    interrupt(&child);
    ended(&mut child, "listen");
}

/// A fresh directory of this test's own.
pub fn tempdir() -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("netassist-hardening-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir
}

/// Waits for a child with wait4: its exit status and the most memory it held (max RSS, KiB).
fn wait_rss(child: &mut Child, what: &str) -> (i32, i64) {
    let pid = child.id() as i32;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let mut status = 0;
        // SAFETY: a zeroed rusage is valid; wait4 on our own child.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let got = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if got == pid {
            let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { 128 + libc::WTERMSIG(status) };
            return (code, usage.ru_maxrss);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what}: still running after {PATIENCE:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_udp_file_too_big_is_refused_without_reading_it() {
    let receiver = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = receiver.local_addr().expect("addr").port().to_string();
    let dir = tempdir();
    let sparse = dir.join("big.bin");
    std::fs::File::create(&sparse).expect("create").set_len(100 << 20).expect("a sparse 100 MB file");
    for (file, said) in [
        (sparse.to_str().expect("utf-8"), "104857600 bytes do not fit"),
        ("/dev/zero", "more than 65507 bytes do not fit"),
    ] {
        let mut child = bin()
            .args(["connect", "127.0.0.1", &port, "--udp", "--send-file", file])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts");
        let (code, rss_kib) = wait_rss(&mut child, file);
        let mut err = String::new();
        child.stderr.take().expect("piped").read_to_string(&mut err).expect("stderr");
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(said), "{err}");
        assert!(rss_kib < 32 * 1024, "{file}: {rss_kib} KiB held to refuse it");
    }
}

#[test]
fn an_endless_tcp_file_streams_in_constant_memory_and_ctrl_c_stops_it() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port().to_string();
    let taken = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = taken.clone();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let mut buf = vec![0u8; 256 * 1024];
        while let Ok(n @ 1..) = s.read(&mut buf) {
            counter.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        }
    });
    let mut child = bin()
        .args(["connect", "127.0.0.1", &port, "--send-file", "/dev/zero", "--quiet"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    until("200 MB sent", || taken.load(std::sync::atomic::Ordering::Relaxed) > 200 << 20);
    interrupt(&child);
    let (_, rss_kib) = wait_rss(&mut child, "connect --send-file /dev/zero");
    assert!(rss_kib < 48 * 1024, "{rss_kib} KiB held while streaming 200 MB");
}
