//! The interface in Chinese and English: the lesson's scenario in both (snapshots), JSON
//! the same in both, `--help` in Chinese, and the encoding mistakes a learner makes, caught.

use std::io::Write;
use std::process::Stdio;

use crate::util::*;

const GREETING: &str = "你好服务端，我是客户端小黑!";
const LESSON_REPLY: &str = "ok，问题正在处理中...";

/// `netassist ARGS` in the language the locale variables ask for (`LANG=...`).
fn spawn_in(lang: &str, args: &[&str]) -> Proc {
    let mut cmd = bin();
    cmd.env_remove("NETASSIST_LANG").env_remove("LC_ALL").env_remove("LC_MESSAGES").env("LANG", lang);
    Proc::spawn_with(cmd.args(args).stdin(Stdio::piped()))
}

/// The port in a `--bind 127.0.0.1` server's first line, whatever the language
/// ("listening on 127.0.0.1:P" or "正在监听 127.0.0.1:P").
fn port_of(server: &mut Proc) -> u16 {
    let line = server.line_where("the listening line", |l| l.contains("127.0.0.1:"));
    let after = line.split("127.0.0.1:").nth(1).expect("a port");
    after.chars().take_while(char::is_ascii_digit).collect::<String>().parse().expect("a port number")
}

/// The lesson's server, one GBK client that greets it and leaves; what the server printed,
/// ports and times made stable.
fn lesson_transcript(server: &mut Proc) -> String {
    let port = port_of(server);
    let mut c = client(port);
    c.write_all(&gbk(GREETING)).unwrap();
    let reply = read_n(&mut c, gbk(LESSON_REPLY).len());
    assert_eq!(reply, gbk(LESSON_REPLY));
    let local = c.local_addr().unwrap().port();
    drop(c);
    server.line_where("the closing line", |l| l.starts_with("#1 ") && (l.contains("closed") || l.contains("已关闭")));
    server.type_line(":quit");
    let end = server.wait();
    assert!(end.success());
    server
        .seen
        .iter()
        .filter(|l| !l.starts_with("  ") || l.contains("127.0.0.1"))
        .map(|l| {
            let l = l.replace(&port.to_string(), "PORT").replace(&local.to_string(), "LOCAL");
            // Durations: "after 3ms" / "历时 3ms", "after 1.234s".
            let mut out = String::new();
            for word in l.split_inclusive([' ', '：', '，', ':']) {
                let trimmed = word.trim_end_matches([' ', '：', '，', ':']);
                let is_time = trimmed.ends_with("ms")
                    || trimmed.ends_with("µs")
                    || (trimmed.ends_with('s') && trimmed[..trimmed.len() - 1].parse::<f64>().is_ok());
                if is_time && trimmed.starts_with(|c: char| c.is_ascii_digit()) {
                    out.push_str(&word.replacen(trimmed, "TIME", 1));
                } else {
                    out.push_str(word);
                }
            }
            out
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_lesson_in_chinese_from_lang() {
    let mut server = spawn_in(
        "zh_CN.UTF-8",
        &["listen", "0", "--bind", "127.0.0.1", "--reply", LESSON_REPLY, "--encoding", "gbk", "--no-time"],
    );
    let text = lesson_transcript(&mut server);
    assert!(text.contains("#1 收到 27 字节: 你好服务端，我是客户端小黑!"), "{text}");
    insta::assert_snapshot!("lesson_zh", text);
}

#[test]
fn the_lesson_in_english_with_lang_en_on_a_chinese_machine() {
    let mut server = spawn_in(
        "zh_CN.UTF-8",
        &[
            "listen",
            "0",
            "--bind",
            "127.0.0.1",
            "--reply",
            LESSON_REPLY,
            "--encoding",
            "gbk",
            "--no-time",
            "--lang",
            "en",
        ],
    );
    let text = lesson_transcript(&mut server);
    assert!(text.contains("#1 recv 27 bytes: 你好服务端，我是客户端小黑!"), "{text}");
    insta::assert_snapshot!("lesson_en", text);
}

/// One JSON session: a client says hello, the server asks for a missing client; what the
/// server printed, times and ports taken out.
fn json_session(lang: &str) -> Vec<serde_json::Value> {
    let mut server = spawn_in(lang, &["listen", "0", "--bind", "127.0.0.1", "--json", "--echo"]);
    let port = server.port();
    let mut c = client(port);
    c.write_all(b"hello").unwrap();
    assert_eq!(read_n(&mut c, 5), b"hello");
    server.type_line("@7 nobody");
    let mut events = vec![server.event("error", None)];
    drop(c);
    events.push(server.event("closed", Some(1)));
    for e in &mut events {
        let o = e.as_object_mut().unwrap();
        for volatile in ["time", "peer", "local", "duration_ms"] {
            o.remove(volatile);
        }
    }
    events
}

#[test]
fn json_is_the_same_in_every_language() {
    let zh = json_session("zh_CN.UTF-8");
    let en = json_session("en_US.UTF-8");
    assert_eq!(zh, en);
    assert_eq!(zh[0]["message"], "no client #7; nothing was sent to it (:list shows who is connected)");
    assert_eq!(zh[1]["reason"], "peer_closed");
}

#[test]
fn help_and_errors_in_chinese() {
    let out = bin().env("NETASSIST_LANG", "zh").args(["listen", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success());
    for words in ["用法:", "选项:", "监听的端口", "--reply <TEXT>", "可选值:", "（默认：128）"] {
        assert!(help.contains(words), "{words} in:\n{help}");
    }
    // `help COMMAND` is the same page.
    let out = bin().env("NETASSIST_LANG", "zh").args(["help", "listen"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8(out.stdout).unwrap().contains("监听的端口"));
    let out = bin().env("NETASSIST_LANG", "zh").args(["connect", "127.0.0.1", "1"]).output().unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(err.starts_with("错误: 连接 127.0.0.1:1 被拒绝"), "{err}");
}

/// What a server with `--encoding ENCODING` printed for one client that sent `bytes`.
fn server_saw(encoding: &str, bytes: &[u8], wanted: &str) -> Vec<String> {
    let mut server = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--encoding", encoding, "--no-time"]);
    let port = server.human_port();
    let mut c = client(port);
    c.write_all(bytes).unwrap();
    server.line_where(wanted, |l| l.starts_with("#1 recv"));
    drop(c);
    server.line_where("the close", |l| l.starts_with("#1 closed"));
    server.seen.iter().filter(|l| l.contains("#1") && !l.contains("connected")).cloned().collect()
}

#[test]
fn gbk_read_as_utf8_gets_one_hint() {
    let mut bytes = gbk(GREETING);
    bytes.extend(gbk(GREETING));
    let seen = server_saw("utf-8", &bytes, "the received line");
    let hints: Vec<&String> = seen.iter().filter(|l| l.contains("look like")).collect();
    assert_eq!(hints, vec!["hint #1: these bytes look like GBK; try --encoding gbk"], "{seen:?}");
}

#[test]
fn utf8_read_as_gbk_is_called_mojibake() {
    let seen = server_saw("gbk", GREETING.as_bytes(), "the received line");
    assert!(seen.contains(&"hint #1: these bytes look like UTF-8; try --encoding utf-8".to_string()), "{seen:?}");
    // The right choice says nothing.
    let seen = server_saw("gbk", &gbk(GREETING), "the received line");
    assert!(!seen.iter().any(|l| l.contains("look like")), "{seen:?}");
}

#[test]
fn auto_chooses_per_connection() {
    let big5 = encoding_rs::BIG5.encode("你好，這是繁體中文的訊息").0.into_owned();
    for (bytes, name) in [(gbk(GREETING), "GBK"), (GREETING.as_bytes().to_vec(), "UTF-8"), (big5, "Big5")] {
        let seen = server_saw("auto", &bytes, "the received line");
        let chose = format!("#1 these bytes look like {name}: shown as {name} from now on (--encoding auto)");
        assert_eq!(seen[0], chose, "{seen:?}");
        assert!(seen[1].starts_with(&format!("#1 recv {} bytes: ", bytes.len())), "{seen:?}");
        let text = seen[1].split(": ").nth(1).unwrap();
        assert!(text == GREETING || text == "你好，這是繁體中文的訊息", "{seen:?}");
    }
}

#[test]
fn sent_bytes_name_their_encoding() {
    let mut server = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--no-time"]);
    let port = server.human_port();
    let mut client = Proc::spawn(&["connect", "127.0.0.1", &port.to_string(), "--send", GREETING, "--no-time"]);
    let sent = client.line_where("the sent line", |l| l.starts_with("#1 sent"));
    assert_eq!(sent, format!("#1 sent 40 bytes (UTF-8): {GREETING}"));
    server.line_where("the received line", |l| l.starts_with("#1 recv 40 bytes"));
}

#[test]
fn the_first_typed_line_says_a_line_end_is_added() {
    let mut server = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--no-time"]);
    let port = server.human_port();
    let mut c = client(port);
    server.line_where("the client", |l| l.starts_with("#1 connected"));
    server.type_line(":list");
    server.line_where("the list", |l| l.starts_with("1 client connected"));
    server.type_line("你好服务端，我是客户端小黑!");
    assert_eq!(read_n(&mut c, 41), format!("{GREETING}\n").as_bytes(), "the line and its \\n");
    server.type_line("again");
    assert_eq!(read_n(&mut c, 6), b"again\n");
    server.line_where("the second line sent", |l| l.starts_with("#1 sent 6 bytes"));
    let notes: Vec<&String> = server.seen.iter().filter(|l| l.contains("line end")).collect();
    assert_eq!(notes, vec!["a line end (\\n) is added to each typed line; --eol none sends the line alone"]);
}

#[test]
fn explain_says_once_that_tcp_is_a_byte_stream() {
    let mut server = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--explain", "--no-time"]);
    let port = server.human_port();
    let mut c = client(port);
    c.write_all(b"first\nsecond\n").unwrap();
    let said = server.line_where("the remark", |l| l.contains("TCP is a byte stream"));
    assert!(said.starts_with("explain: #1 two lines came in one read: TCP is a byte stream"), "{said}");
    assert!(said.contains("粘包/拆包") && said.contains("--frame line"), "{said}");
    c.write_all(b"third\nfourth\n").unwrap();
    server.line_where("the next read", |l| l.contains("third"));
    drop(c);
    server.line_where("the close", |l| l.starts_with("#1 closed"));
    assert_eq!(server.seen.iter().filter(|l| l.contains("byte stream")).count(), 1, "once");
    // With --frame line the messages are lines: nothing to say.
    let mut server = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--explain", "--frame", "line"]);
    let port = server.human_port();
    let mut c = client(port);
    c.write_all(b"first\nsecond\n").unwrap();
    server.line_where("the second line", |l| l.contains("#1 recv 7 bytes"));
    drop(c);
    server.line_where("the close", |l| l.contains("#1 closed"));
    assert!(!server.seen.iter().any(|l| l.contains("byte stream")));
}
