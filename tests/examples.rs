//! The lesson's programs: the Rust examples (examples/) against the lesson's own Python
//! programs (tests/lesson/), and netassist in the lesson's role of NetAssist.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::util::*;

const GREETING: &str = "你好服务端，我是客户端小黑!";

fn example(name: &str) -> PathBuf {
    // cargo test builds the examples next to the binary's directory.
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_netassist"));
    bin.parent().expect("target dir").join("examples").join(name)
}

fn lesson(name: &str) -> String {
    format!("{}/tests/lesson/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn have_python() -> bool {
    let ok = Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: python3 is not installed");
    }
    ok
}

/// Starts a server that prints its port on its first line ("listening on ADDR:PORT" or
/// "port PORT"); returns it (every wait on its output has a deadline) and the port.
fn start(cmd: &mut Command) -> (Proc, u16) {
    let mut server = Proc::spawn_with(cmd.arg("0").stdin(Stdio::null()));
    let first = server.next_line().expect("a first line");
    let port = first.rsplit([':', ' ']).next().unwrap().parse().unwrap_or_else(|_| panic!("a port in {first:?}"));
    (server, port)
}

fn output(cmd: &mut Command) -> String {
    let out = cmd.stdin(Stdio::null()).output().expect("runs");
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn rust_server_with_the_lessons_python_client() {
    if !have_python() {
        return;
    }
    let (mut server, port) = start(&mut Command::new(example("tcp_server")));
    let client = output(Command::new("python3").arg(lesson("client.py")).arg(port.to_string()));
    assert!(client.contains("接收服务端的数据为: ok, 问题正在处理中..."), "{client}");
    assert!(server.wait().success());
    let printed = server.rest();
    assert!(printed[0].starts_with("客户端的ip地址和端口号: 127.0.0.1:"), "{printed:?}");
    assert_eq!(printed[1], "接收数据的长度为: 27");
    assert_eq!(printed[2], format!("接收客户端的数据为: {GREETING}"));
}

#[test]
fn rust_client_with_the_lessons_python_server() {
    if !have_python() {
        return;
    }
    let (mut server, port) = start(Command::new("python3").arg(lesson("server.py")));
    let client = output(Command::new(example("tcp_client")).args(["127.0.0.1", &port.to_string()]));
    assert!(client.contains("接收服务端的数据为: ok, 问题正在处理中..."), "{client}");
    assert!(server.wait().success());
    let printed = server.rest();
    assert!(printed.contains(&"接收数据的长度为: 27".to_string()), "{printed:?}");
    assert!(printed.contains(&format!("接收客户端的数据为: {GREETING}")), "{printed:?}");
}

#[test]
fn rust_thread_server_serves_two_python_clients() {
    if !have_python() {
        return;
    }
    let (mut server, port) = start(&mut Command::new(example("tcp_server_threads")));
    for _ in 0..2 {
        let client = output(Command::new("python3").arg(lesson("client.py")).arg(port.to_string()));
        assert!(client.contains("接收服务端的数据为: ok，问题正在处理中..."), "{client}");
    }
    for _ in 0..2 {
        server.line_where("a client going offline", |l| l.starts_with("客户端下线了: 127.0.0.1:"));
    }
}

#[test]
fn netassist_plays_netassist_for_the_lessons_client() {
    if !have_python() {
        return;
    }
    let mut server = Proc::spawn(&["listen", "0", "--reply", "ok，问题正在处理中...", "--encoding", "gbk", "--json"]);
    let port = server.port();
    let client = output(Command::new("python3").arg(lesson("client.py")).arg(port.to_string()));
    assert!(client.contains("接收服务端的数据为: ok，问题正在处理中..."), "{client}");
    let data = server.event_where("the greeting", |v| v["event"] == "data" && v["dir"] == "in");
    assert_eq!((data["len"].as_u64(), data["text"].as_str()), (Some(27), Some(GREETING)));
}

#[test]
fn netassist_clients_for_the_lessons_thread_server() {
    if !have_python() {
        return;
    }
    let (mut server, port) = start(Command::new("python3").arg(lesson("server_threads.py")));
    let port = port.to_string();
    let args = ["connect", "127.0.0.1", &port, "-e", "gbk", "--eol", "none", "--wait", "forever", "--json"];
    let mut a = Proc::spawn(&args);
    let mut b = Proc::spawn(&args);
    // The lesson's threads print with two writes per line (text, then newline), so a line
    // printed by one thread can be split by another's: let both accept lines come first.
    for _ in 0..2 {
        server.line_where("a client accepted", |l| l.starts_with("客户端连接成功:"));
    }
    // One after the other: two of the lesson's threads printing at once can mix their lines.
    for (c, text) in [(&mut a, "hello1"), (&mut b, "hello2")] {
        c.type_line(text);
        let reply = c.event_where("the reply", |v| v["event"] == "data" && v["dir"] == "in");
        assert_eq!(reply["text"], "ok，问题正在处理中...");
    }
    let mut got = [false; 2];
    while !(got[0] && got[1]) {
        let line = server.line_where("a message", |l| l.starts_with("hello1 ") || l.starts_with("hello2 "));
        got[usize::from(line.starts_with("hello2 "))] = true;
    }
    // End of input: netassist half-closes; the lesson's server sees recv() return 0 and
    // closes. Again one after the other, for the same reason.
    for c in [&mut a, &mut b] {
        c.close_stdin();
        assert_eq!(c.event("closed", Some(1))["reason"], "peer_closed");
        server.line_where("a client going offline", |l| l.starts_with("客户端下线了:"));
    }
}
