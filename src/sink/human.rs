//! Human lines: one line per event with a local timestamp, received text decoded per
//! connection and direction, control characters escaped so a peer cannot drive the
//! terminal, hex as a dump. Errors go to stderr, everything else to stdout.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use anstyle::{AnsiColor, Style};

use super::{Sink, write_line};
use crate::event::{ClientInfo, CloseReason, ConnId, Counters, Dir, Event, EventKind, Mark, Proto, Side, seconds};
use crate::render::escape::{escape_bytes_into, escape_text_into, shown_name};
use crate::render::hex::dump_into;
use crate::render::time::LocalClock;
use crate::render::{Piece, StreamDecoder, TextEncoding};

/// How received (and sent) bytes are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// Only the length (a line per message, no content).
    Len,
    /// Decoded text, control characters escaped.
    Text,
    /// A hex dump: offset, bytes, printable column.
    Hex,
    /// The text line, then the dump.
    Both,
}

crate::lang::value_enum!(Show {
    Len => "len", t!("value.show.len"),
    Text => "text", t!("value.show.text"),
    Hex => "hex", t!("value.show.hex"),
    Both => "both", t!("value.show.both"),
});

/// What every view needs to know to render bytes.
#[derive(Debug, Clone, Copy)]
pub struct ViewOptions {
    pub show: Show,
    pub encoding: TextEncoding,
    pub timestamps: bool,
    /// Narrate each socket step in the lesson's terms (`--explain`).
    pub explain: bool,
    /// Relay wording: totals per direction between client and target.
    pub relay: bool,
}

pub struct Human {
    out: Box<dyn Write + Send>,
    err: Box<dyn Write + Send>,
    opts: ViewOptions,
    color_out: bool,
    color_err: bool,
    decoders: HashMap<(ConnId, Dir), StreamDecoder>,
    /// UDP ids: each datagram is decoded on its own, never joined to the next.
    datagrams: std::collections::HashSet<ConnId>,
    clock: LocalClock,
}

const DIM: Style = Style::new().dimmed();
const RECV: Style = AnsiColor::Green.on_default();
const SENT: Style = AnsiColor::Cyan.on_default();
const GOOD: Style = AnsiColor::Green.on_default().bold();
const WARN: Style = AnsiColor::Yellow.on_default();
const BAD: Style = AnsiColor::Red.on_default().bold();

impl Human {
    /// A view on stdout and stderr, coloured where anstream's rules allow (a terminal, no
    /// NO_COLOR).
    pub fn stdio(opts: ViewOptions) -> Human {
        let color_out = anstream::AutoStream::choice(&io::stdout()) != anstream::ColorChoice::Never;
        let color_err = anstream::AutoStream::choice(&io::stderr()) != anstream::ColorChoice::Never;
        Human::new(
            Box::new(io::BufWriter::with_capacity(64 * 1024, io::stdout())),
            Box::new(io::stderr()),
            opts,
            color_out,
            color_err,
        )
    }

    /// Status lines on stderr, when stdout carries the raw bytes (`--output -`).
    pub fn stderr_only(opts: ViewOptions) -> Human {
        let color = anstream::AutoStream::choice(&io::stderr()) != anstream::ColorChoice::Never;
        Human::new(Box::new(io::LineWriter::new(io::stderr())), Box::new(io::stderr()), opts, color, color)
    }

    pub fn new(
        out: Box<dyn Write + Send>,
        err: Box<dyn Write + Send>,
        opts: ViewOptions,
        color_out: bool,
        color_err: bool,
    ) -> Human {
        Human {
            out,
            err,
            opts,
            color_out,
            color_err,
            decoders: HashMap::new(),
            datagrams: Default::default(),
            clock: LocalClock::default(),
        }
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if self.color_out { format!("{style}{text}{style:#}") } else { text.to_string() }
    }

    fn prefix(&mut self, event: &Event) -> String {
        if self.opts.timestamps {
            let t = self.clock.format(event.time);
            format!("{} ", self.paint(DIM, &t))
        } else {
            String::new()
        }
    }

    fn line(&mut self, event: &Event, body: &str) -> io::Result<()> {
        let line = format!("{}{body}", self.prefix(event));
        write_line(&mut self.out, &line)
    }

    /// A line of `--explain` narration.
    fn explain(&mut self, event: &Event, text: &str) -> io::Result<()> {
        let label = self.paint(DIM, "explain:");
        self.line(event, &format!("{label} {text}"))
    }

    /// Decodes a chunk with the connection's streaming decoder, escaping for the terminal.
    fn text_of(&mut self, id: ConnId, dir: Dir, bytes: &[u8], last: bool) -> String {
        let encoding = self.opts.encoding;
        let datagram = self.datagrams.contains(&id);
        let decoder = self.decoders.entry((id, dir)).or_insert_with(|| encoding.decoder());
        let mut text = String::with_capacity(bytes.len() + 8);
        decoder.feed(bytes, last || datagram, |piece| match piece {
            Piece::Text(t) => escape_text_into(t, &mut text),
            Piece::Malformed(b) => escape_bytes_into(b, &mut text),
        });
        if datagram {
            self.decoders.remove(&(id, dir));
        }
        text
    }

    fn data(&mut self, event: &Event, id: ConnId, dir: Dir, bytes: &[u8], mark: &Mark) -> io::Result<()> {
        let (verb, style) = match dir {
            Dir::In => ("recv", RECV),
            Dir::Out => ("sent", SENT),
            Dir::C2T => ("c->t", RECV),
            Dir::T2C => ("t->c", SENT),
        };
        let unit = if bytes.len() == 1 { "byte" } else { "bytes" };
        let marked = match mark {
            Mark::None => String::new(),
            Mark::Incomplete => " (incomplete: the stream ended inside this message)".into(),
            Mark::TooLong(limit) => format!(" (no message end within --max-frame {limit} bytes: shown raw)"),
            Mark::CheckOk(name) => format!(" ({name} {})", self.paint(GOOD, "ok")),
            Mark::CheckShort(name) => format!(" ({name} {}: shorter than the checksum)", self.paint(WARN, "BAD")),
            Mark::CheckBad { name, expected, got } => format!(
                " ({name} {}: expected {}, got {})",
                self.paint(WARN, "BAD"),
                crate::render::hex::spaced(expected),
                crate::render::hex::spaced(got)
            ),
        };
        let head = format!("#{id} {} {} {unit}{marked}:", self.paint(style, verb), bytes.len());
        match self.opts.show {
            Show::Len => self.line(event, head.trim_end_matches(':')),
            Show::Text => {
                let text = self.text_of(id, dir, bytes, false);
                self.line(event, &format!("{head} {text}"))
            }
            Show::Hex | Show::Both => {
                let body = if self.opts.show == Show::Both {
                    format!("{head} {}", self.text_of(id, dir, bytes, false))
                } else {
                    head
                };
                self.line(event, &body)?;
                let mut dump = String::new();
                dump_into(bytes, "    ", &mut dump);
                self.out.write_all(dump.as_bytes())
            }
        }
    }

    /// Text left in a connection's decoders when it closes: bytes of a character cut off.
    fn leftovers(&mut self, id: ConnId) -> String {
        let mut rest = String::new();
        for dir in [Dir::In, Dir::Out, Dir::C2T, Dir::T2C] {
            if self.decoders.contains_key(&(id, dir)) {
                let tail = self.text_of(id, dir, &[], true);
                if !tail.is_empty() {
                    let _ = write!(rest, "; {} ended inside a character: {tail}", dir.as_str());
                }
                self.decoders.remove(&(id, dir));
            }
        }
        rest
    }

    fn error(&mut self, id: Option<ConnId>, message: &str) -> io::Result<()> {
        // Keep the order the person sees: what was printed before the error comes first.
        self.out.flush()?;
        let who = id.map(|id| format!("#{id} ")).unwrap_or_default();
        let label = if self.color_err { format!("{BAD}error{BAD:#}") } else { "error".to_string() };
        let _ = writeln!(self.err, "{label}: {who}{}", shown_name(message));
        Ok(())
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn totals(c: &Counters) -> String {
    format!(
        "{} in ({}), {} out ({})",
        plural(c.bytes_in, "byte", "bytes"),
        plural(c.msgs_in, "msg", "msgs"),
        plural(c.bytes_out, "byte", "bytes"),
        plural(c.msgs_out, "msg", "msgs")
    )
}

fn relay_totals(c: &Counters) -> String {
    format!(
        "{} client->target ({}), {} target->client ({})",
        plural(c.bytes_in, "byte", "bytes"),
        plural(c.msgs_in, "chunk", "chunks"),
        plural(c.bytes_out, "byte", "bytes"),
        plural(c.msgs_out, "chunk", "chunks")
    )
}

fn client_line(c: &ClientInfo, clock: &mut LocalClock) -> String {
    let since = clock.format(c.since);
    let k = &c.counters;
    format!(
        "  #{:<4} {:<24} since {}  in {} B/{}  out {} B/{}",
        c.id,
        c.peer.ip().map_or_else(|| c.peer.to_string(), |a| crate::net::show_addr(&a)),
        &since[..8],
        k.bytes_in,
        plural(k.msgs_in, "msg", "msgs"),
        k.bytes_out,
        plural(k.msgs_out, "msg", "msgs")
    )
}

impl Sink for Human {
    fn event(&mut self, event: &Event) -> io::Result<()> {
        match &event.kind {
            EventKind::Listening { proto, addr, dual_stack, backlog, reachable, relay_to } => {
                let family = if *dual_stack {
                    "IPv4 and IPv6"
                } else if addr.is_ipv6() {
                    "IPv6"
                } else {
                    "IPv4"
                };
                let backlog = backlog.map(|b| format!(", backlog {b}")).unwrap_or_default();
                let what = self.paint(GOOD, "listening");
                let relaying = relay_to.as_ref().map(|t| format!("; relaying to {t}")).unwrap_or_default();
                self.line(event, &format!("{what} on {addr} ({}, {family}{backlog}){relaying}", proto.as_str()))?;
                if !reachable.is_empty() {
                    self.line(event, "a peer can reach it at:")?;
                }
                for r in reachable {
                    let note = if r.loopback {
                        if r.addr.is_ipv4() {
                            " (this machine only; its name is localhost)"
                        } else {
                            " (this machine only)"
                        }
                    } else {
                        ""
                    };
                    let body = format!("  {:<40} {}{note}", crate::net::show_addr(&r.addr), shown_name(&r.interface));
                    self.line(event, &body)?;
                }
                Ok(())
            }
            EventKind::Connected { id, proto, peer, local, side, tls } => {
                if *proto == Proto::Udp {
                    self.datagrams.insert(*id);
                }
                let body = match (side, proto) {
                    (Side::Accepted, Proto::Tcp) => {
                        format!("#{id} {} from {peer} (to {local})", self.paint(GOOD, "connected"))
                    }
                    (Side::Accepted, Proto::Udp) => {
                        format!("#{id} {} {peer}: its first datagram", self.paint(GOOD, "new source"))
                    }
                    (Side::Initiated, Proto::Tcp) => format!(
                        "#{id} {} to {peer} from {local} (local port {} chosen by the OS)",
                        self.paint(GOOD, "connected"),
                        local.port()
                    ),
                    (Side::Initiated, Proto::Udp) => format!(
                        "#{id} {} to {peer} from {local} (local port {} chosen by the OS)",
                        self.paint(GOOD, "sending datagrams"),
                        local.port()
                    ),
                };
                self.line(event, &body)?;
                if let Some(t) = tls {
                    let alpn = t.alpn.as_ref().map(|a| format!(", ALPN {}", shown_name(a))).unwrap_or_default();
                    let peer = match (&t.peer_subject, &t.peer_sha256) {
                        (Some(s), Some(f)) => {
                            let until = t
                                .peer_not_after
                                .as_ref()
                                .map(|d| format!(", valid until {}", shown_name(d)))
                                .unwrap_or_default();
                            format!("; peer certificate {} (SHA-256 {f}{until})", shown_name(s))
                        }
                        _ => "; no peer certificate".to_string(),
                    };
                    let what = self.paint(GOOD, "TLS");
                    self.line(event, &format!("#{id} {what}: {}, {}{alpn}{peer}", t.version, t.cipher))?;
                }
                if self.opts.explain && *side == Side::Accepted && *proto == Proto::Tcp {
                    let text = format!(
                        "#{id} accept() returned a new socket for this client; the listening socket goes on accepting"
                    );
                    self.explain(event, &text)?;
                }
                Ok(())
            }
            EventKind::Rejected { peer, reason, turned } => {
                let what = self.paint(WARN, "rejected");
                self.line(event, &format!("{what} {peer}: {}", shown_name(&format!("{reason}; {turned}"))))
            }
            EventKind::Data { id, dir, bytes, mark, .. } => {
                self.data(event, *id, *dir, bytes, mark)?;
                if self.opts.explain {
                    let n = bytes.len();
                    let text = match dir {
                        Dir::In => format!(
                            "#{id} recv() took {n} bytes from the socket's receive buffer, where the OS had put them"
                        ),
                        Dir::Out => format!(
                            "#{id} send() handed {n} bytes to the socket's send buffer; the OS sends them from there"
                        ),
                        Dir::C2T => {
                            format!("#{id} recv() took {n} bytes from the client, send() handed them to the target")
                        }
                        Dir::T2C => {
                            format!("#{id} recv() took {n} bytes from the target, send() handed them to the client")
                        }
                    };
                    self.explain(event, &text)?;
                }
                Ok(())
            }
            EventKind::Closed { id, reason, counters, duration, .. } => {
                let rest = self.leftovers(*id);
                self.datagrams.remove(id);
                let what = self.paint(WARN, "closed");
                let counted = if self.opts.relay { relay_totals(counters) } else { totals(counters) };
                let said = reason.to_string();
                let body = format!("#{id} {what}: {}; {counted} after {}{rest}", shown_name(&said), seconds(*duration));
                self.line(event, &body)?;
                if self.opts.explain {
                    if *reason == CloseReason::PeerClosed {
                        self.explain(event, &format!("#{id} recv() returned 0 bytes: the peer closed its side"))?;
                    }
                    self.explain(event, &format!("#{id} close(): the socket is closed"))?;
                }
                Ok(())
            }
            EventKind::Clients(list) => {
                let n = list.len();
                let head = match n {
                    0 => "no client is connected".to_string(),
                    1 => "1 client connected:".to_string(),
                    n => format!("{n} clients connected:"),
                };
                self.line(event, &head)?;
                for c in list {
                    let body = client_line(c, &mut self.clock);
                    self.line(event, &body)?;
                }
                Ok(())
            }
            EventKind::Error { id, notice } => self.error(*id, &notice.to_string()),
            EventKind::Note(notice) => {
                for l in notice.to_string().lines() {
                    self.line(event, l)?;
                }
                Ok(())
            }
            EventKind::Explain(step) => self.explain(event, &step.to_string()),
            EventKind::Buffers(b) => {
                let show = |kind: &str, got: usize, asked: Option<usize>| match asked {
                    Some(n) if got == 2 * n => format!(
                        "{kind} {got} bytes (asked {n}: Linux doubles it, the extra half for its own bookkeeping)"
                    ),
                    Some(n) => format!("{kind} {got} bytes (asked {n})"),
                    None => format!("{kind} {got} bytes"),
                };
                let body = format!(
                    "buffers: {}, {}",
                    show("SO_SNDBUF", b.send, b.asked.send),
                    show("SO_RCVBUF", b.recv, b.asked.recv)
                );
                self.line(event, &body)
            }
            EventKind::HalfClosed { id, dir } => {
                let what = self.paint(WARN, "FIN");
                let body = match dir {
                    Dir::C2T => {
                        format!("#{id} {what} from the client, passed on to the target: no more bytes client->target")
                    }
                    Dir::T2C => {
                        format!("#{id} {what} from the target, passed on to the client: no more bytes target->client")
                    }
                    _ => {
                        format!("#{id} {what} sent (shutdown of the write side): nothing more to send, still receiving")
                    }
                };
                self.line(event, &body)
            }
            EventKind::Stopped { clients, counters, duration } => {
                let what = self.paint(GOOD, "stopped");
                let plural = if *clients == 1 { "" } else { "s" };
                let counted = if self.opts.relay { relay_totals(counters) } else { totals(counters) };
                let body = format!("{what} after {}: {clients} client{plural}, {counted}", seconds(*duration));
                self.line(event, &body)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::testing::Shared;
    use bytes::Bytes;
    use std::time::Duration;

    fn view(show: Show, encoding: &str) -> (Human, Shared, Shared) {
        let (out, err) = (Shared::default(), Shared::default());
        let opts = ViewOptions {
            show,
            encoding: TextEncoding::from_name(encoding).unwrap(),
            timestamps: false,
            explain: false,
            relay: false,
        };
        let human = Human::new(Box::new(out.clone()), Box::new(err.clone()), opts, false, false);
        (human, out, err)
    }

    fn data(id: ConnId, dir: Dir, bytes: &[u8]) -> Event {
        Event::now(EventKind::Data {
            id,
            peer: "127.0.0.1:5000".parse::<std::net::SocketAddr>().unwrap().into(),
            dir,
            bytes: Bytes::copy_from_slice(bytes),
            mark: crate::event::Mark::None,
        })
    }

    #[test]
    fn gbk_split_across_reads_prints_whole_on_the_second_line() {
        let (mut h, out, _) = view(Show::Text, "gbk");
        h.event(&data(1, Dir::In, &[0xc4])).unwrap();
        h.event(&data(1, Dir::In, &[0xe3, 0xba, 0xc3])).unwrap();
        assert_eq!(out.text(), "#1 recv 1 byte: \n#1 recv 3 bytes: 你好\n");
    }

    #[test]
    fn directions_and_connections_decode_apart() {
        let (mut h, out, _) = view(Show::Text, "utf-8");
        let ni = "你".as_bytes();
        h.event(&data(1, Dir::In, &ni[..1])).unwrap();
        h.event(&data(2, Dir::In, b"x")).unwrap();
        h.event(&data(1, Dir::Out, b"y")).unwrap();
        h.event(&data(1, Dir::In, &ni[1..])).unwrap();
        assert_eq!(out.text(), "#1 recv 1 byte: \n#2 recv 1 byte: x\n#1 sent 1 byte: y\n#1 recv 2 bytes: 你\n");
    }

    #[test]
    fn hostile_bytes_are_escaped() {
        let (mut h, out, _) = view(Show::Text, "utf-8");
        h.event(&data(1, Dir::In, b"\x1b]0;owned\x07\x1b[2J\xff\r\n")).unwrap();
        assert_eq!(out.text(), "#1 recv 17 bytes: \\x1b]0;owned\\x07\\x1b[2J\\xff\\r\\n\n");
    }

    #[test]
    fn hex_and_both() {
        let (mut h, out, _) = view(Show::Both, "utf-8");
        h.event(&data(3, Dir::Out, b"ok\n")).unwrap();
        assert_eq!(
            out.text(),
            "#3 sent 3 bytes: ok\\n\n    0000  6f 6b 0a                                          |ok.|\n"
        );
    }

    #[test]
    fn a_character_cut_off_at_close_is_shown() {
        let (mut h, out, _) = view(Show::Text, "utf-8");
        h.event(&data(1, Dir::In, &"你".as_bytes()[..2])).unwrap();
        h.event(&Event::now(EventKind::Closed {
            id: 1,
            peer: "127.0.0.1:5000".parse::<std::net::SocketAddr>().unwrap().into(),
            reason: CloseReason::PeerClosed,
            counters: Counters { bytes_in: 2, msgs_in: 1, ..Counters::default() },
            duration: Duration::from_millis(1500),
        }))
        .unwrap();
        assert_eq!(
            out.text(),
            "#1 recv 2 bytes: \n#1 closed: peer closed the connection (recv returned 0 bytes); \
             2 bytes in (1 msg), 0 bytes out (0 msgs) after 1.5s; in ended inside a character: \\xe4\\xbd\n"
        );
    }

    #[test]
    fn relay_lines_show_the_direction() {
        let (mut h, out, _) = view(Show::Len, "utf-8");
        h.opts.relay = true;
        h.event(&data(2, Dir::C2T, b"abc")).unwrap();
        h.event(&data(2, Dir::T2C, b"x")).unwrap();
        h.event(&Event::now(EventKind::HalfClosed { id: 2, dir: Dir::C2T })).unwrap();
        assert_eq!(
            out.text(),
            "#2 c->t 3 bytes\n#2 t->c 1 byte\n#2 FIN from the client, passed on to the target: no more bytes client->target\n"
        );
    }

    #[test]
    fn errors_go_to_stderr() {
        let (mut h, out, err) = view(Show::Text, "utf-8");
        let notice = crate::notice::Notice::NoSuchClient(4);
        h.event(&Event::now(EventKind::Error { id: Some(4), notice })).unwrap();
        assert_eq!(out.text(), "");
        assert_eq!(err.text(), "error: #4 no client #4; :list shows who is connected\n");
    }
}
