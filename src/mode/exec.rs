//! `--exec CMD` and `--sh-exec LINE` (ncat's `-e`/`-c`, socat's EXEC): a child process per
//! connection. The peer's bytes go to its stdin, its stdout goes back to the peer, each line
//! of its stderr is shown with the connection's id, and its exit status at the close. The
//! bytes cross through the relay's stream path (`relay_io::pump_io`), so ids,
//! views, JSON, framing and the limits all apply as to any connection.

use std::io;
use std::pin::Pin;
use std::process::{ExitStatus, Stdio};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, ReadBuf};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};
use tokio_util::sync::CancellationToken;

use super::connection::Conn;
use super::relay::Relay;
use super::stream::Stream;
use crate::event::{CloseReason, ConnId, Dir, EventKind, Events};
use crate::notice::Notice;

/// What to run for each connection.
#[derive(Debug, Clone)]
pub struct ExecSpec {
    pub program: String,
    pub args: Vec<String>,
    /// As the person gave it, for the lines that name it.
    pub shown: String,
}

impl ExecSpec {
    /// `--exec 'CMD ARGS'`: split as a shell would split words (quotes, backslashes), with
    /// no shell run.
    pub fn exec(line: &str) -> Result<ExecSpec, String> {
        let words = split_words(line)?;
        let Some((program, args)) = words.split_first() else {
            return Err(rust_i18n::t!("exec.empty").into_owned());
        };
        Ok(ExecSpec { program: program.clone(), args: args.to_vec(), shown: line.to_string() })
    }

    /// `--sh-exec 'LINE'`: `/bin/sh -c LINE`.
    pub fn shell(line: &str) -> Result<ExecSpec, String> {
        if line.trim().is_empty() {
            return Err(rust_i18n::t!("exec.empty").into_owned());
        }
        Ok(ExecSpec { program: "/bin/sh".into(), args: vec!["-c".into(), line.into()], shown: line.to_string() })
    }

    /// Starts the child, its three standard streams piped.
    pub fn spawn(&self) -> io::Result<Running> {
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(io::Error::other("no pipes to the child"));
        };
        let stderr = child.stderr.take();
        let pid = child.id();
        Ok(Running { child, io: ChildIo { stdin: Some(stdin), stdout }, stderr, pid })
    }
}

/// Words as `sh` splits them: blanks separate, quotes group, a backslash escapes.
fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => words.extend(word.take()),
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err(rust_i18n::t!("exec.unclosed_quote").into_owned()),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => w.push(c),
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => return Err(rust_i18n::t!("exec.unclosed_quote").into_owned()),
                        },
                        Some(c) => w.push(c),
                        None => return Err(rust_i18n::t!("exec.unclosed_quote").into_owned()),
                    }
                }
            }
            '\\' => {
                if let Some(c) = chars.next() {
                    word.get_or_insert_with(String::new).push(c);
                }
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

/// A started child.
pub struct Running {
    pub child: Child,
    pub io: ChildIo,
    pub stderr: Option<ChildStderr>,
    pub pid: Option<u32>,
}

/// A child's stdout (read) and stdin (written) as one stream; shutting it down closes the
/// child's stdin, which is its end of input.
pub struct ChildIo {
    stdin: Option<ChildStdin>,
    stdout: ChildStdout,
}

impl AsyncRead for ChildIo {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stdout).poll_read(cx, buf)
    }
}

impl AsyncWrite for ChildIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().stdin {
            Some(stdin) => Pin::new(stdin).poll_write(cx, buf),
            None => Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stdin {
            Some(stdin) => Pin::new(stdin).poll_flush(cx),
            None => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().stdin = None;
        Poll::Ready(Ok(()))
    }
}

/// The longest stderr line shown whole; the rest of a longer one is cut.
const STDERR_LINE: usize = 4096;

/// Shows each line of the child's stderr with the connection's id, until it closes.
async fn show_stderr(stderr: ChildStderr, id: ConnId, events: Events) {
    let mut lines = tokio::io::BufReader::with_capacity(1024, stderr);
    let mut line = Vec::new();
    loop {
        line.clear();
        // Bounded: a child that writes without newlines is shown in pieces.
        let mut limited = (&mut lines).take(STDERR_LINE as u64);
        match limited.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    line.pop();
                }
                let text = String::from_utf8_lossy(&line).into_owned();
                events.send(EventKind::Note(Notice::ChildStderr { id, line: text })).await;
            }
        }
    }
}

use tokio::io::AsyncReadExt as _;

/// How long a child whose peer has gone gets to exit by itself before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// Runs a child for one connection: relays between `peer` and the child until either ends,
/// then reports how the child ended. `dirs`: the direction of what the peer sends, then of
/// what the child sends.
pub async fn run_child(
    spec: &ExecSpec,
    peer: Stream,
    conn: &Conn,
    settings: &Relay,
    dirs: [Dir; 2],
    events: &Events,
    stop: &CancellationToken,
) -> CloseReason {
    let mut running = match spec.spawn() {
        Ok(r) => r,
        Err(e) => {
            let why = crate::error::io_reason(&e);
            return CloseReason::Failed(Box::new(Notice::ExecFailed { cmd: spec.shown.clone(), why }));
        }
    };
    events.send(EventKind::Note(Notice::ChildStarted { id: conn.id, cmd: spec.shown.clone(), pid: running.pid })).await;
    let stderr = running.stderr.take().map(|e| tokio::spawn(show_stderr(e, conn.id, events.clone())));
    let reason =
        super::relay_io::pump_io(peer, Stream::Child(Box::new(running.io)), conn, settings, dirs, events, stop).await;
    let status = match tokio::time::timeout(EXIT_GRACE, running.child.wait()).await {
        Ok(status) => status.ok(),
        Err(_) => {
            let _ = running.child.start_kill();
            running.child.wait().await.ok()
        }
    };
    if let Some(task) = stderr {
        let _ = task.await;
    }
    if let Some(status) = status {
        events.send(EventKind::Note(Notice::ChildExited { id: conn.id, status: exit_text(status) })).await;
    }
    reason
}

/// `exit 0`, `exit 3`, `killed by signal 9`.
fn exit_text(status: ExitStatus) -> crate::notice::ChildEnd {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => crate::notice::ChildEnd::Code(code),
        (None, Some(sig)) => crate::notice::ChildEnd::Signal(sig),
        (None, None) => crate::notice::ChildEnd::Code(-1),
    }
}

/// `connect --exec`: the child joined to the server's connection until either ends; the
/// connection is announced and its end told as any client's.
pub async fn connect_child(
    spec: &ExecSpec,
    server: Stream,
    settings: &Relay,
    events: &Events,
    stop: &CancellationToken,
) -> (CloseReason, crate::event::Counters) {
    let (peer, local) = (server.peer(), server.local());
    let peer = peer.unwrap_or_else(|| std::net::SocketAddr::from(([0, 0, 0, 0], 0)).into());
    let local = local.unwrap_or_else(|| std::net::SocketAddr::from(([0, 0, 0, 0], 0)).into());
    server.no_delay();
    let (tls, proto) = (server.tls_info(), server.proto());
    let side = crate::event::Side::Initiated;
    events.send(EventKind::Connected { id: 1, proto, peer: peer.clone(), local, side, tls }).await;
    let conn = Conn::new(1, peer.clone(), 0);
    let reason = run_child(spec, server, &conn, settings, [Dir::In, Dir::Out], events, stop).await;
    let counters = conn.counters();
    let duration = conn.age();
    events.send(EventKind::Closed { id: 1, peer, reason: reason.clone(), counters, duration }).await;
    (reason, counters)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_as_sh_splits_them() {
        let w = |s: &str| split_words(s).unwrap();
        assert_eq!(w("cat"), ["cat"]);
        assert_eq!(w("  grep -v  'a b' \"c \\\"d\\\"\" e\\ f "), ["grep", "-v", "a b", "c \"d\"", "e f"]);
        assert_eq!(w("echo ''"), ["echo", ""]);
        assert!(split_words("echo 'open").is_err());
        assert!(ExecSpec::exec("   ").is_err());
        assert_eq!(ExecSpec::shell("echo hi").unwrap().args, ["-c", "echo hi"]);
    }

    #[tokio::test]
    async fn a_child_reads_what_is_written_and_its_stdin_closes_at_shutdown() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut running = ExecSpec::exec("cat").unwrap().spawn().unwrap();
        running.io.write_all(b"hello\n").await.unwrap();
        running.io.shutdown().await.unwrap();
        let mut out = Vec::new();
        running.io.read_to_end(&mut out).await.unwrap();
        assert_eq!(out, b"hello\n");
        assert!(running.child.wait().await.unwrap().success());
    }
}
