//! The user's typed input: stdin read as lines of bytes on its own thread, and each line
//! turned into bytes to send (text in the chosen encoding, escapes, or hex) or, for the
//! server, into a [`Command`] (`@ID text`, `:list`, `:kick ID`, `:quit`, `:help`).

use rust_i18n::t;
use std::io::{self, BufRead};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::event::Events;
use crate::event::{Command, ConnId, EventKind, Target};
use crate::notice::Notice;
use crate::render::TextEncoding;
use crate::render::escape::text_to_bytes;
use crate::render::hex::parse_hex;

/// What ends each line sent from stdin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eol {
    Lf,
    Crlf,
    Cr,
    None,
}

crate::lang::value_enum!(Eol {
    Lf => "lf", t!("value.eol.lf"),
    Crlf => "crlf", t!("value.eol.crlf"),
    Cr => "cr", t!("value.eol.cr"),
    None => "none", t!("value.eol.none"),
});

impl Eol {
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Eol::Lf => b"\n",
            Eol::Crlf => b"\r\n",
            Eol::Cr => b"\r",
            Eol::None => b"",
        }
    }
}

/// How a line typed on stdin becomes bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdinFormat {
    /// The line as typed, in --encoding, then the --eol ending.
    Text,
    /// The line with escapes (`\r \n \t \\ \xHH`) turned into bytes, then the --eol ending.
    Escapes,
    /// The line is hex (01 02 ff); exactly those bytes, no line ending.
    Hex,
}

crate::lang::value_enum!(StdinFormat {
    Text => "text", t!("value.stdin_format.text"),
    Escapes => "escapes", t!("value.stdin_format.escapes"),
    Hex => "hex", t!("value.stdin_format.hex"),
});

#[derive(Debug, Clone, Copy)]
pub struct LineFormat {
    pub format: StdinFormat,
    pub eol: Eol,
    pub encoding: TextEncoding,
    /// `--checksum`: appended to every line's bytes (after its line ending).
    pub checksum: Option<crate::proto::checksum::Checksum>,
}

impl LineFormat {
    /// The bytes a typed line stands for.
    /// What the first typed line says once: the line end added to each line (the lesson's
    /// server counts 28 bytes where the lesson says 27), and how to leave it out.
    pub fn eol_note(&self) -> Option<Notice> {
        let shown = match self.eol {
            _ if self.format == StdinFormat::Hex => return None,
            Eol::None => return None,
            Eol::Lf => "\\n",
            Eol::Crlf => "\\r\\n",
            Eol::Cr => "\\r",
        };
        Some(Notice::EolAdded { eol: shown })
    }

    pub fn to_bytes(&self, line: &[u8]) -> Result<Bytes, String> {
        let mut out = match self.format {
            StdinFormat::Hex => {
                let text = std::str::from_utf8(line).map_err(|_| t!("input.hex_ascii").into_owned())?;
                // Exactly those bytes: no line ending.
                parse_hex(text).map_err(|e| e.to_string())?
            }
            StdinFormat::Escapes => {
                let text = std::str::from_utf8(line).map_err(|_| t!("input.not_utf8").into_owned())?;
                text_to_bytes(text, self.encoding).map_err(|e| e.to_string())?
            }
            StdinFormat::Text => match std::str::from_utf8(line) {
                Ok(text) => self.encoding.encode(text).map_err(|e| t!("input.unencodable", why = e).into_owned())?,
                // Not UTF-8, so not text typed on a terminal: these are already the bytes.
                Err(_) => line.to_vec(),
            },
        };
        if !matches!(self.format, StdinFormat::Hex) {
            out.extend_from_slice(self.eol.bytes());
        }
        if let Some(c) = &self.checksum {
            out = c.append(&out);
        }
        Ok(Bytes::from(out))
    }
}

/// Reads stdin lines (without their "\n" or "\r\n") on a thread of its own. The channel
/// closes at end of input. When the process runs in the background of a shell, reading the
/// terminal fails with EIO (SIGTTIN is ignored); the thread then waits to be brought to
/// the foreground instead of giving up.
pub fn stdin_lines() -> mpsc::Receiver<Vec<u8>> {
    #[cfg(unix)]
    // SAFETY: setting a signal to SIG_IGN has no preconditions.
    unsafe {
        libc::signal(libc::SIGTTIN, libc::SIG_IGN);
    }
    let (tx, rx) = mpsc::channel(64);
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            let stdin = io::stdin();
            let mut input = stdin.lock();
            let mut line = Vec::new();
            loop {
                line.clear();
                match input.read_until(b'\n', &mut line) {
                    Ok(0) => return,
                    Ok(_) => {
                        if line.last() == Some(&b'\n') {
                            line.pop();
                            if line.last() == Some(&b'\r') {
                                line.pop();
                            }
                        }
                        if tx.blocking_send(std::mem::take(&mut line)).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if e.raw_os_error() == Some(libc::EIO) => std::thread::sleep(Duration::from_secs(1)),
                    Err(_) => return,
                }
            }
        })
        .expect("spawning a thread at start-up");
    rx
}

/// Stdin lines as server commands. A line that is no command is reported on `events`. The
/// task ends when the engine drops the receiver.
pub fn stdin_commands(format: LineFormat, events: Events) -> mpsc::Receiver<Command> {
    let sends = |c: &Command| matches!(c, Command::Send { .. });
    converted_lines(events, format.eol_note(), sends, move |_, line| server_command(line, &format))
}

/// Stdin lines as messages for a client to send. A line that cannot become bytes is
/// reported and skipped: a typo does not end the session.
pub fn stdin_messages(format: LineFormat, events: Events) -> mpsc::Receiver<Bytes> {
    converted_lines(
        events,
        format.eol_note(),
        |_| true,
        move |n, line| format.to_bytes(line).map_err(|why| Notice::LineNotSent { line: n, why }),
    )
}

/// Stdin lines, each converted (given its number from 1 and its bytes); a line that does
/// not convert is reported on `events` and skipped. Ends with stdin, or when the receiver
/// is dropped.
/// `note` is said once, before the first line that converts to an item that `sends`.
fn converted_lines<T: Send + 'static>(
    events: Events,
    mut note: Option<Notice>,
    sends: impl Fn(&T) -> bool + Send + 'static,
    mut convert: impl FnMut(u64, &[u8]) -> Result<T, Notice> + Send + 'static,
) -> mpsc::Receiver<T> {
    let mut lines = stdin_lines();
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        let mut n = 0u64;
        loop {
            let line = tokio::select! {
                line = lines.recv() => line,
                () = tx.closed() => return,
            };
            let Some(line) = line else { return };
            n += 1;
            match convert(n, &line) {
                Ok(item) => {
                    if sends(&item)
                        && let Some(note) = note.take()
                    {
                        events.send(EventKind::Note(note)).await;
                    }
                    if tx.send(item).await.is_err() {
                        return;
                    }
                }
                Err(notice) => events.send(EventKind::Error { id: None, notice }).await,
            }
        }
    });
    rx
}

fn parse_ids(text: &str) -> Option<Vec<ConnId>> {
    let ids: Option<Vec<ConnId>> = text.split(',').map(|s| s.trim().trim_start_matches('#').parse().ok()).collect();
    ids.filter(|v| !v.is_empty())
}

/// Turns a line typed into the server's stdin into a command.
pub fn server_command(line: &[u8], format: &LineFormat) -> Result<Command, Notice> {
    let bytes = |line: &[u8]| format.to_bytes(line).map_err(|why| Notice::NotSent { why });
    if let Some(rest) = line.strip_prefix(b"\\") {
        return Ok(Command::Send { to: Target::All, bytes: bytes(rest)? });
    }
    if let Some(cmd) = line.strip_prefix(b":") {
        let cmd = String::from_utf8_lossy(cmd);
        let (word, arg) = cmd.split_once(char::is_whitespace).unwrap_or((&cmd, ""));
        return match (word, arg.trim()) {
            ("list" | "ls", _) => Ok(Command::List),
            ("quit" | "q" | "exit", _) => Ok(Command::Quit),
            ("help" | "h" | "?", _) => Ok(Command::Help),
            ("kick", ids) => parse_ids(ids).map(Command::Kick).ok_or_else(|| Notice::BadKick { ids: ids.to_string() }),
            _ => Err(Notice::UnknownCommand { word: word.to_string() }),
        };
    }
    if let Some(addressed) = line.strip_prefix(b"@") {
        let end = addressed.iter().position(|b| b.is_ascii_whitespace()).unwrap_or(addressed.len());
        let ids = std::str::from_utf8(&addressed[..end])
            .ok()
            .and_then(parse_ids)
            .ok_or_else(|| Notice::BadAddressee { what: String::from_utf8_lossy(&addressed[..end]).into_owned() })?;
        let text = addressed.get(end + 1..).unwrap_or_default();
        return Ok(Command::Send { to: Target::Ids(ids), bytes: bytes(text)? });
    }
    Ok(Command::Send { to: Target::All, bytes: bytes(line)? })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(format: StdinFormat, eol: Eol, encoding: &str) -> LineFormat {
        LineFormat { format, eol, encoding: TextEncoding::from_name(encoding).unwrap(), checksum: None }
    }

    fn send(to: Target, bytes: &[u8]) -> Command {
        Command::Send { to, bytes: Bytes::copy_from_slice(bytes) }
    }

    #[test]
    fn lines_become_bytes() {
        let gbk = fmt(StdinFormat::Text, Eol::Crlf, "gbk");
        assert_eq!(gbk.to_bytes("你好".as_bytes()).unwrap(), &b"\xc4\xe3\xba\xc3\r\n"[..]);
        // Bytes that are not UTF-8 are not terminal text: they go as they are.
        assert_eq!(gbk.to_bytes(b"\xc4\xe3").unwrap(), &b"\xc4\xe3\r\n"[..]);
        let esc = fmt(StdinFormat::Escapes, Eol::None, "utf-8");
        assert_eq!(esc.to_bytes(br"AT\r\n\x00").unwrap(), &b"AT\r\n\x00"[..]);
        let hex = fmt(StdinFormat::Hex, Eol::Lf, "utf-8");
        assert_eq!(hex.to_bytes(b"01 02 ff").unwrap(), &b"\x01\x02\xff"[..]);
        assert!(hex.to_bytes(b"01 0z").unwrap_err().contains("position 5"));
        let text = fmt(StdinFormat::Text, Eol::Lf, "gbk");
        assert!(text.to_bytes("😀".as_bytes()).unwrap_err().contains("U+1F600"));
    }

    #[test]
    fn server_lines_become_commands() {
        let f = fmt(StdinFormat::Text, Eol::Lf, "utf-8");
        assert_eq!(server_command(b"hello", &f).unwrap(), send(Target::All, b"hello\n"));
        assert_eq!(server_command(b"@2 hi there", &f).unwrap(), send(Target::Ids(vec![2]), b"hi there\n"));
        assert_eq!(server_command(b"@1,3 x", &f).unwrap(), send(Target::Ids(vec![1, 3]), b"x\n"));
        assert_eq!(server_command(b"@#4", &f).unwrap(), send(Target::Ids(vec![4]), b"\n"));
        assert_eq!(server_command(b":list", &f).unwrap(), Command::List);
        assert_eq!(server_command(b":kick 1,2", &f).unwrap(), Command::Kick(vec![1, 2]));
        assert_eq!(server_command(b":quit", &f).unwrap(), Command::Quit);
        assert_eq!(server_command(br"\:list", &f).unwrap(), send(Target::All, b":list\n"));
        assert_eq!(server_command(br"\@1 x", &f).unwrap(), send(Target::All, b"@1 x\n"));
        assert_eq!(server_command(b":kick", &f).unwrap_err(), Notice::BadKick { ids: String::new() });
        assert_eq!(server_command(b":frob", &f).unwrap_err(), Notice::UnknownCommand { word: "frob".into() });
        assert_eq!(server_command(b"@bob hi", &f).unwrap_err(), Notice::BadAddressee { what: "bob".into() });
    }
}
