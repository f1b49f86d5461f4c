//! The terminal UI as a person uses it, in tmux: keys typed with send-keys, the screen read
//! with capture-pane.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::*;

/// A tmux session of its own, killed when dropped.
struct Tmux {
    name: String,
}

impl Tmux {
    /// Starts `netassist ARGS` in a new tmux session of `width` x `height`, or None without tmux.
    fn start(tag: &str, width: u16, height: u16, args: &[&str]) -> Option<Tmux> {
        Tmux::start_in("en", tag, width, height, args)
    }

    /// In this interface language.
    fn start_in(lang: &str, tag: &str, width: u16, height: u16, args: &[&str]) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            return None;
        }
        let name = format!("netassist-{}-{tag}", std::process::id());
        let config = std::env::temp_dir().join(format!("netassist-ui-{}-{tag}", std::process::id()));
        let command = format!(
            "NETASSIST_LANG={lang} NETASSIST_CONFIG_DIR={} {} {}",
            config.display(),
            env!("CARGO_BIN_EXE_netassist"),
            args.join(" ")
        );
        let ok = Command::new("tmux")
            .args(["new-session", "-d", "-s", &name, "-x", &width.to_string(), "-y", &height.to_string(), &command])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "tmux started");
        Some(Tmux { name })
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux").args(["capture-pane", "-p", "-t", &self.name]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen shows `text`; returns the screen.
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(Instant::now() < deadline, "the screen never showed {text:?}:\n{screen}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux").args(["send-keys", "-t", &self.name]).args(keys).status().unwrap();
        assert!(status.success());
    }

    /// Types text literally (not as key names).
    fn type_text(&self, text: &str) {
        let status = Command::new("tmux").args(["send-keys", "-l", "-t", &self.name, text]).status().unwrap();
        assert!(status.success());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ =
            Command::new("tmux").args(["kill-session", "-t", &self.name]).stderr(std::process::Stdio::null()).status();
    }
}

fn port_on(screen: &str) -> u16 {
    let at = screen.find("listening on [::]:").expect("the listening line") + "listening on [::]:".len();
    screen[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().expect("a port")
}

#[test]
fn listen_ui_shows_gbk_and_utf8_and_sends_the_typed_answer() {
    let Some(ui) = Tmux::start("e2e", 100, 30, &["listen", "0", "--ui", "-e", "gbk", "--eol", "lf"]) else {
        eprintln!("skipped: tmux is not installed");
        return;
    };
    let port = port_on(&ui.wait_for("listening on [::]:"));
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(PATIENCE)).unwrap();
    c.write_all(&gbk("你好服务端，我是客户端小黑!")).unwrap();
    ui.wait_for("← 27 你好服务端，我是客户端小黑!");
    // Settings (Tab from the send box), down to the encoding, back one: gbk -> utf-8.
    ui.keys(&["Tab", "Down", "Down", "Down", "Down", "Left"]);
    ui.wait_for("Enc   utf-8");
    c.write_all("héllo 世界".as_bytes()).unwrap();
    ui.wait_for("héllo 世界");
    // Back to the send box (Settings -> Clients -> Log -> Send), type, Enter.
    ui.keys(&["Tab", "Tab", "Tab"]);
    ui.type_text("收到 ok");
    ui.keys(&["Enter"]);
    let want = "收到 ok\n".as_bytes();
    let mut got = vec![0u8; want.len()];
    c.read_exact(&mut got).unwrap();
    assert_eq!(got, want);
    ui.wait_for("→ 10 收到 ok\\n");
    // Quitting restores the terminal: the session ends.
    ui.keys(&["F10"]);
    let deadline = Instant::now() + PATIENCE;
    let alive = || {
        Command::new("tmux")
            .args(["has-session", "-t", &ui.name])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    while alive() {
        assert!(Instant::now() < deadline, "the UI did not quit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn connect_ui_sends_closes_and_reopens_with_keys() {
    let mut server = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--echo", "--json"]);
    let port = server.port().to_string();
    let Some(ui) = Tmux::start("client", 100, 30, &["connect", "127.0.0.1", &port, "--ui"]) else {
        eprintln!("skipped: tmux is not installed");
        return;
    };
    ui.wait_for("OPEN (F2)");
    ui.type_text("ping");
    ui.keys(&["Enter"]);
    // connect sends each line with LF, as without the UI.
    ui.wait_for("← 5 ping\\n");
    assert_eq!(server.event_where("the data", |v| v["event"] == "data" && v["dir"] == "in")["text"], "ping\n");
    // F2 closes, F2 opens again: a new connection.
    ui.keys(&["F2"]);
    ui.wait_for("closed (F2)");
    server.event("closed", Some(1));
    ui.keys(&["F2"]);
    ui.wait_for("OPEN (F2)");
    server.event("connected", Some(2));
}

#[test]
fn rules_and_the_reply_apply_at_once_without_dropping_a_device() {
    let Some(ui) = Tmux::start("rules", 100, 30, &["listen", "0", "--ui", "--frame", "line", "--checksum", "sum8"])
    else {
        eprintln!("skipped: tmux is not installed");
        return;
    };
    let port = port_on(&ui.wait_for("listening on [::]:"));
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(PATIENCE)).unwrap();
    ui.wait_for("#1 connected");
    // F3, a: a rule typed in; the connected client gets its answer, with the checksum.
    ui.keys(&["F3", "a"]);
    ui.wait_for("Rule MATCH => REPLY");
    ui.type_text(r"prefix:PING => PONG\n");
    ui.keys(&["Enter"]);
    ui.wait_for("rules in force");
    c.write_all(b"PING 1\n").unwrap();
    assert_eq!(read_n(&mut c, 6), b"PONG\n\x3e", "PONG\\n and its sum8");
    // Space turns it off, F3 closes the panel; the reply typed in settings answers instead.
    ui.keys(&["Space", "F3", "Tab"]);
    for _ in 0..7 {
        ui.keys(&["Down"]);
    }
    ui.keys(&["Enter"]);
    ui.wait_for("Reply (Enter sets");
    ui.keys(&["C-u"]);
    ui.type_text("hex:06");
    ui.keys(&["Enter"]);
    ui.wait_for("reply in force");
    c.write_all(b"PING 2\n").unwrap();
    assert_eq!(read_n(&mut c, 2), b"\x06\x06");
    // One connection all along; the rules were kept beside packets.txt.
    assert!(!ui.screen().contains("#2 connected"));
    let saved = std::env::temp_dir().join(format!("netassist-ui-{}-rules", std::process::id())).join("rules.txt");
    let text = std::fs::read_to_string(&saved).unwrap();
    assert!(text.contains(r"#off prefix:PING => PONG\n"), "{text}");
}

#[test]
fn a_client_with_retry_on_comes_back_when_the_server_closes() {
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port().to_string();
    let Some(ui) = Tmux::start("retry", 100, 30, &["connect", "127.0.0.1", &port, "--ui", "--reconnect"]) else {
        eprintln!("skipped: tmux is not installed");
        return;
    };
    ui.wait_for("Retry on");
    let (first, _) = server.accept().unwrap();
    drop(first);
    ui.wait_for("attempt 1: peer closed the connection");
    let (mut second, _) = server.accept().unwrap();
    ui.wait_for("#2 connected");
    // Typed lines go to the new connection.
    ui.type_text("hello");
    ui.keys(&["Enter"]);
    second.set_read_timeout(Some(PATIENCE)).unwrap();
    assert_eq!(read_n(&mut second, 5), b"hello");
}

#[test]
fn rules_given_on_the_command_line_answer_in_the_ui() {
    let Some(ui) =
        Tmux::start("cli-rules", 100, 30, &["listen", "0", "--ui", "--frame", "line", "--rule", "'prefix:HI => YO'"])
    else {
        eprintln!("skipped: tmux is not installed");
        return;
    };
    let port = port_on(&ui.wait_for("listening on [::]:"));
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(PATIENCE)).unwrap();
    c.write_all(b"HI there\n").unwrap();
    assert_eq!(read_n(&mut c, 2), b"YO");
    ui.keys(&["F3"]);
    ui.wait_for("[x] prefix:HI => YO");
    // F3 closes the panel; Tab twice (settings, clients); k kicks the client under the cursor.
    ui.keys(&["F3", "Tab", "Tab", "k"]);
    ui.wait_for("closed: kicked");
    let mut rest = Vec::new();
    assert_eq!(c.read_to_end(&mut rest).unwrap(), 0, "the kicked client got FIN");
    ui.wait_for("no client connected");
}

#[test]
fn a_tls_server_in_the_ui_with_a_self_signed_certificate() {
    let Some(ui) = Tmux::start("tls", 110, 30, &["listen", "0", "--ui", "--tls-self-signed"]) else {
        eprintln!("skipped: tmux is not installed");
        return;
    };
    ui.wait_for("TLS   self-signed");
    ui.wait_for("SHA-256 fingerprint");
    let port = port_on(&ui.wait_for("listening on [::]:"));
    let mut c = Proc::spawn(&[
        "connect",
        "127.0.0.1",
        &port.to_string(),
        "--tls",
        "--insecure",
        "--send",
        "hello tls",
        "--json",
    ]);
    c.event("connected", Some(1));
    ui.wait_for("TLS13_AES");
    ui.wait_for("← 9 hello tls");
}

#[test]
fn a_tls_client_in_the_ui_verifies_unless_insecure() {
    let mut server = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--tls-self-signed", "--echo", "--json"]);
    let port = server.port().to_string();
    // Verified against the system's roots, a self-signed server is refused, and says why.
    let Some(ui) = Tmux::start("tls-verify", 110, 30, &["connect", "127.0.0.1", &port, "--ui", "--tls"]) else {
        eprintln!("skipped: tmux is not installed");
        return;
    };
    ui.wait_for("TLS   on (verify)");
    ui.wait_for("TLS handshake with");
    drop(ui);
    let ui =
        Tmux::start("tls-insecure", 110, 30, &["connect", "127.0.0.1", &port, "--ui", "--tls", "--insecure"]).unwrap();
    ui.wait_for("TLS   insecure");
    ui.wait_for("TLS13_AES");
    ui.type_text("over tls");
    ui.keys(&["Enter"]);
    ui.wait_for("← 9 over tls");
    server.event_where("the echo", |v| v["event"] == "data" && v["dir"] == "out");
}

#[test]
fn the_ui_in_chinese_names_the_wrong_encoding_and_e_switches() {
    let Some(ui) = Tmux::start_in("zh", "zh", 80, 24, &["listen", "0", "--ui"]) else {
        eprintln!("skipped: tmux is not installed");
        return;
    };
    let screen = ui.wait_for("正在监听 [::]:");
    for words in ["模式  TCP 服务端", "编码  utf-8", "接收区 (text)", "客户端 0 个", "发送给 全部客户端", "F1 帮助"]
    {
        assert!(screen.contains(words), "{words} on:\n{screen}");
    }
    let at = screen.find("正在监听 [::]:").unwrap() + "正在监听 [::]:".len();
    let port: u16 = screen[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap();
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.write_all(&gbk("你好服务端，我是客户端小黑!")).unwrap();
    ui.wait_for("这些字节看起来是 GBK 编码");
    // To the log (send box -> settings -> clients -> log), then e.
    ui.keys(&["Tab", "Tab", "Tab", "e"]);
    ui.wait_for("编码  gbk");
    c.write_all(&gbk("再见")).unwrap();
    ui.wait_for("← 4 再见");
    ui.keys(&["F1"]);
    ui.wait_for("任何地方    F1 帮助");
}

/// SIGTERM (a service manager, `kill`) stops the UI as F10 does: the terminal is given
/// back (the alternate screen left, so the UI's frame is gone from the pane) and the exit
/// status is 0.
#[test]
fn sigterm_stops_the_ui_and_gives_the_terminal_back() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let tag = format!("netassist-{}-sigterm", std::process::id());
    let pidfile = std::env::temp_dir().join(format!("{tag}.pid"));
    let config = std::env::temp_dir().join(format!("{tag}-config"));
    let command = format!(
        "sh -c 'echo $$ > {}; exec env NETASSIST_LANG=en NETASSIST_CONFIG_DIR={} {} listen 0 --bind 127.0.0.1 --ui'",
        pidfile.display(),
        config.display(),
        env!("CARGO_BIN_EXE_netassist")
    );
    let ok = Command::new("tmux")
        .args(["new-session", "-d", "-s", &tag, "-x", "100", "-y", "30", &command, ";", "set-option", "-t", &tag])
        .args(["remain-on-exit", "on"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "tmux started");
    let ui = Tmux { name: tag };
    ui.wait_for("listening on 127.0.0.1:");
    let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    let _ = std::fs::remove_file(&pidfile);
    // SAFETY: kill(2) on the pid the shell wrote, which exec made netassist's.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let screen = ui.wait_for("Pane is dead");
    assert!(screen.contains("status 0"), "{screen}");
    assert!(!screen.contains("listening on"), "the UI's frame is still on the screen:\n{screen}");
    let _ = std::fs::remove_dir_all(&config);
}

/// `--log-lines N` keeps the last N lines of the log: with 10, thirty messages leave the
/// last ten on a screen tall enough for all of them, and the opening lines are gone.
#[test]
fn log_lines_bounds_what_the_log_keeps() {
    let Some(ui) = Tmux::start("loglines", 100, 60, &["listen", "0", "--ui", "--log-lines", "10"]) else {
        eprintln!("skipped: tmux is not installed");
        return;
    };
    let port = port_on(&ui.wait_for("listening on [::]:"));
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    for i in 1..=30 {
        let msg = format!("msg-{i:02}");
        c.write_all(msg.as_bytes()).unwrap();
        // One read, one line: the next goes once this one is shown.
        ui.wait_for(&msg);
    }
    let screen = ui.screen();
    assert!(screen.contains("msg-21") && screen.contains("msg-30"), "{screen}");
    assert!(!screen.contains("msg-20"), "more than 10 lines kept:\n{screen}");
    assert!(!screen.contains("opening: TCP server"), "the opening lines went first:\n{screen}");
}

/// NETASSIST_UI_TIMING=FILE: on exit the UI writes how long keys took to reach the screen
/// (`bench/ui_flood.sh` reads it), one line. (Keys that arrive while one is waiting for its
/// frame are timed together, from the first.)
#[test]
fn ui_timing_writes_key_to_frame_times_on_exit() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let tag = format!("netassist-{}-timing", std::process::id());
    let file = std::env::temp_dir().join(format!("{tag}.txt"));
    let config = std::env::temp_dir().join(format!("{tag}-config"));
    let command = format!(
        "env NETASSIST_LANG=en NETASSIST_CONFIG_DIR={} NETASSIST_UI_TIMING={} {} listen 0 --bind 127.0.0.1 --ui",
        config.display(),
        file.display(),
        env!("CARGO_BIN_EXE_netassist")
    );
    let ok = Command::new("tmux")
        .args(["new-session", "-d", "-s", &tag, "-x", "100", "-y", "30", &command])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "tmux started");
    let ui = Tmux { name: tag };
    ui.wait_for("listening on 127.0.0.1:");
    for (i, c) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        ui.type_text(c);
        ui.wait_for(&"abcde"[..=i]);
    }
    ui.keys(&["F10"]);
    let deadline = Instant::now() + PATIENCE;
    let line = loop {
        // Whole once it ends with its newline (the file is made, then written).
        if let Some(line) = std::fs::read_to_string(&file).ok().filter(|l| l.ends_with('\n')) {
            break line;
        }
        assert!(Instant::now() < deadline, "no timing file after F10");
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = std::fs::remove_file(&file);
    let _ = std::fs::remove_dir_all(&config);
    let field = |k: &str| -> f64 {
        let v = line.split_whitespace().find_map(|f| f.strip_prefix(&format!("{k}="))).expect(k);
        v.parse().expect(k)
    };
    assert!((1.0..=6.0).contains(&field("keys")), "{line}");
    assert!(field("p50_ms") <= field("p99_ms") && field("p99_ms") <= field("max_ms"), "{line}");
    assert!(field("max_ms") > 0.0, "{line}");
}

/// F6 saves what the log shows to the file named at its prompt: as text lines, or as JSON
/// lines when the name ends `.json`.
#[test]
fn f6_saves_the_log_as_text_or_json() {
    let Some(ui) = Tmux::start("f6", 100, 30, &["listen", "0", "--ui"]) else {
        eprintln!("skipped: tmux is not installed");
        return;
    };
    let port = port_on(&ui.wait_for("listening on [::]:"));
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.write_all(b"alpha").unwrap();
    ui.wait_for("alpha");
    c.write_all(b"beta").unwrap();
    ui.wait_for("beta");
    let dir = std::env::temp_dir().join(format!("netassist-f6-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["log.txt", "log.json"] {
        let path = dir.join(name);
        ui.keys(&["F6"]);
        ui.type_text(path.to_str().unwrap());
        ui.keys(&["Enter"]);
        let deadline = Instant::now() + PATIENCE;
        let saved = loop {
            if let Some(text) = std::fs::read_to_string(&path).ok().filter(|t| t.contains("beta")) {
                break text;
            }
            assert!(Instant::now() < deadline, "{name} was not saved:\n{}", ui.screen());
            std::thread::sleep(Duration::from_millis(20));
        };
        let alpha = saved.lines().find(|l| l.contains("alpha")).expect("alpha saved");
        assert!(saved.find("alpha") < saved.find("beta"), "in order:\n{saved}");
        if name.ends_with(".json") {
            let v: serde_json::Value = serde_json::from_str(alpha).expect("a JSON line");
            assert_eq!(v["text"], "alpha", "{alpha}");
        } else {
            assert!(alpha.ends_with("#1 recv 5 alpha"), "{alpha}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
