//! Drives the real `netassist` binary: spawn it, read its output line by line on a thread,
//! wait for the event or line a test expects (with a generous deadline, never a sleep),
//! type into its stdin, signal it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a test waits for something that should happen at once.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The binary, in English whatever the machine's locale (tests of Chinese ask for it).
pub fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_netassist"));
    cmd.env("NETASSIST_LANG", "en");
    cmd
}

pub struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    errors: Receiver<String>,
    /// Every stdout line seen so far, for failure messages.
    pub seen: Vec<String>,
}

impl Proc {
    /// Starts `netassist ARGS` with stdin, stdout and stderr piped.
    pub fn spawn(args: &[&str]) -> Proc {
        Proc::spawn_with(bin().args(args).stdin(Stdio::piped()))
    }

    /// Starts `netassist ARGS` with stdin closed (as under a service manager).
    pub fn spawn_no_stdin(args: &[&str]) -> Proc {
        Proc::spawn_with(bin().args(args).stdin(Stdio::null()))
    }

    pub fn spawn_with(cmd: &mut Command) -> Proc {
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("the binary starts");
        let lines = reader(child.stdout.take().expect("piped"));
        let errors = reader(child.stderr.take().expect("piped"));
        let stdin = child.stdin.take();
        Proc { child, stdin, lines, errors, seen: Vec::new() }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The next stdout line, within PATIENCE.
    pub fn next_line(&mut self) -> Option<String> {
        match self.lines.recv_timeout(PATIENCE) {
            Ok(line) => {
                self.seen.push(line.clone());
                Some(line)
            }
            Err(RecvTimeoutError::Timeout) => {
                panic!("no output within {PATIENCE:?}; so far:\n{}", self.seen.join("\n"))
            }
            Err(RecvTimeoutError::Disconnected) => None,
        }
    }

    /// Waits for a stdout line that satisfies `pred`.
    pub fn line_where(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            match self.next_line() {
                Some(line) if pred(&line) => return line,
                Some(_) => {}
                None => break,
            }
        }
        panic!("never saw {what}; output was:\n{}\nstderr:\n{}", self.seen.join("\n"), self.stderr_now());
    }

    /// Waits for a JSON event that satisfies `pred`.
    pub fn event_where(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let line = self.line_where(what, |l| serde_json::from_str::<Value>(l).map(|v| pred(&v)).unwrap_or(false));
        serde_json::from_str(&line).expect("checked above")
    }

    /// Waits for the `event` event with `id` (if given).
    pub fn event(&mut self, event: &str, id: Option<u64>) -> Value {
        self.event_where(&format!("a {event} event for {id:?}"), |v| {
            v["event"] == event && id.is_none_or(|id| v["id"] == id)
        })
    }

    /// Waits for the `listening` event; returns the port.
    pub fn port(&mut self) -> u16 {
        let v = self.event("listening", None);
        self.port_of(&v)
    }

    /// The port of a `listening` event already read.
    pub fn port_of(&self, listening: &Value) -> u16 {
        let addr: SocketAddr = listening["addr"].as_str().expect("addr").parse().expect("an address");
        addr.port()
    }

    /// Waits until stderr has a line containing `text`; returns that line.
    pub fn stderr_wait(&mut self, text: &str) -> String {
        loop {
            match self.errors.recv_timeout(PATIENCE) {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => {}
                Err(_) => panic!("stderr never said {text:?}"),
            }
        }
    }

    /// Waits for the human "listening on ADDR" line; returns the port.
    pub fn human_port(&mut self) -> u16 {
        let line = self.line_where("the listening line", |l| l.contains("listening on "));
        let addr = line.split("listening on ").nth(1).and_then(|s| s.split_whitespace().next()).expect("an address");
        addr.parse::<SocketAddr>().expect("a socket address").port()
    }

    pub fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is piped");
        writeln!(stdin, "{line}").expect("stdin is open");
        stdin.flush().expect("stdin is open");
    }

    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: kill with a pid we own and a valid signal number.
        unsafe { libc::kill(self.pid(), signal) };
    }

    /// Waits for the process to end; panics after PATIENCE.
    pub fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "still running after {PATIENCE:?}; output:\n{}", self.seen.join("\n"));
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Everything left on stdout after the process ended.
    pub fn rest(&mut self) -> Vec<String> {
        let mut rest = Vec::new();
        while let Some(line) = self.next_line() {
            rest.push(line);
        }
        rest
    }

    /// Everything on stderr so far.
    pub fn stderr_now(&self) -> String {
        let mut out = String::new();
        while let Ok(line) = self.errors.try_recv() {
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    /// stderr once the process ended.
    pub fn stderr_all(&mut self) -> String {
        let mut out = String::new();
        while let Ok(line) = self.errors.recv_timeout(PATIENCE) {
            out.push_str(&line);
            out.push('\n');
        }
        out
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn reader(stream: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            match line {
                Ok(line) => {
                    if tx.send(line).is_err() {
                        return;
                    }
                }
                Err(_) => return,
            }
        }
    });
    rx
}

/// A plain client playing the other end, as the lesson's Python client does.
pub fn client(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connects");
    s.set_read_timeout(Some(PATIENCE)).expect("timeout");
    s.set_nodelay(true).expect("nodelay");
    s
}

/// Reads exactly `n` bytes.
pub fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    s.read_exact(&mut buf).expect("the expected bytes arrive");
    buf
}

/// Reads until the peer closes; returns what came.
pub fn read_to_end(s: &mut TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).expect("the peer closes");
    buf
}

/// A port that nothing listens on (bound, noted, released).
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

pub fn gbk(text: &str) -> Vec<u8> {
    let (bytes, _, bad) = encoding_rs::GBK.encode(text);
    assert!(!bad, "{text} is GBK");
    bytes.into_owned()
}

/// A packet of a capture file.
pub struct Captured {
    pub data: Vec<u8>,
    pub orig_len: usize,
    pub comment: Option<String>,
}

/// The packets of a pcapng file netassist wrote, checking that every block is whole (a
/// section header, an interface with Ethernet links, then packets).
pub fn pcapng_packets(file: &[u8]) -> Vec<Captured> {
    let word = |at: usize| u32::from_le_bytes(file[at..at + 4].try_into().expect("4 bytes")) as usize;
    assert!(file.len() >= 48, "a section and an interface header");
    assert_eq!((word(0), word(8)), (0x0a0d_0d0a, 0x1a2b_3c4d), "pcapng's section header, little-endian");
    let mut at = word(4);
    assert_eq!((word(at), u16::from_le_bytes([file[at + 8], file[at + 9]])), (1, 1), "an Ethernet interface");
    at += word(at + 4);
    let mut packets = Vec::new();
    while at < file.len() {
        assert!(at + 12 <= file.len(), "a block header cut at {at} of {}", file.len());
        let total = word(at + 4);
        assert!(at + total <= file.len(), "a block cut: it ends at {}, the file at {}", at + total, file.len());
        assert_eq!(word(at + total - 4), total, "the block's length at both ends");
        assert_eq!(word(at), 6, "an Enhanced Packet Block");
        let (caplen, orig_len) = (word(at + 20), word(at + 24));
        let data = file[at + 28..at + 28 + caplen].to_vec();
        let mut opt = at + 28 + caplen.next_multiple_of(4);
        let mut comment = None;
        while opt + 4 <= at + total - 4 {
            let (code, len) =
                (u16::from_le_bytes([file[opt], file[opt + 1]]), u16::from_le_bytes([file[opt + 2], file[opt + 3]]));
            if code == 0 {
                break;
            }
            if code == 1 {
                comment = Some(String::from_utf8_lossy(&file[opt + 4..opt + 4 + usize::from(len)]).into_owned());
            }
            opt += 4 + usize::from(len).next_multiple_of(4);
        }
        packets.push(Captured { data, orig_len, comment });
        at += total;
    }
    packets
}
