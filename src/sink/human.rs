//! Human lines: one line per event with a local timestamp, received text decoded per
//! connection and direction, control characters escaped so a peer cannot drive the
//! terminal, hex as a dump. Errors go to stderr, everything else to stdout.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use anstyle::{AnsiColor, Style};
use rust_i18n::t;

use super::{Sink, write_line};
use crate::event::{ClientInfo, CloseReason, ConnId, Counters, Dir, Event, EventKind, Mark, Proto, Side, seconds};
use crate::render::escape::{escape_bytes_into, escape_text_into, shown_name};
use crate::render::guess::{self, Guesser};
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
    /// Each message is one read (no `--frame`): `--explain` may say that TCP is a stream.
    pub raw_reads: bool,
    /// `--max-show`: bytes of a message shown; the rest counted.
    pub max_show: Option<usize>,
    /// `--lines`: text broken after each `\n`, a row per line.
    pub lines: bool,
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
    /// Per connection and received direction: watching for the wrong `--encoding`.
    guessers: HashMap<(ConnId, Dir), Guesser>,
    /// With `--encoding auto`: the encoding each connection's received bytes are shown in.
    detected: HashMap<(ConnId, Dir), TextEncoding>,
    /// Connections whose last read ended inside a line (for the byte-stream remark).
    mid_line: std::collections::HashSet<ConnId>,
    /// The byte-stream remark (粘包/拆包) was made.
    stream_said: bool,
    /// A TCP server (not a relay) said it listens: its listening socket closes at the stop.
    tcp_listener: bool,
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
            tcp_listener: false,
            mid_line: std::collections::HashSet::new(),
            stream_said: false,
            guessers: HashMap::new(),
            detected: HashMap::new(),
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
        let label = self.paint(DIM, &t!("human.explain"));
        self.line(event, &format!("{label} {text}"))
    }

    /// The encoding this connection's bytes in this direction are shown in: the chosen
    /// one, or with `--encoding auto` the one its first telling bytes were found in.
    fn encoding_of(&self, id: ConnId, dir: Dir) -> TextEncoding {
        self.detected.get(&(id, dir)).copied().unwrap_or(self.opts.encoding)
    }

    /// Received bytes that the chosen encoding does not fit, but another does: one line
    /// per connection and direction. With `--encoding auto`, the first telling bytes
    /// choose the connection's encoding, and a line says which.
    fn guess(&mut self, event: &Event, id: ConnId, dir: Dir, bytes: &[u8]) -> io::Result<()> {
        if self.opts.encoding.is_auto() {
            if self.detected.contains_key(&(id, dir)) || bytes.iter().all(|b| b.is_ascii() && *b != 0) {
                return Ok(());
            }
            let found = guess::detect(bytes).unwrap_or(TextEncoding::UTF8);
            self.detected.insert((id, dir), found);
            let name = found.display_name();
            return self.line(event, &t!("hint.auto_chose", id = id, name = name));
        }
        let chosen = self.opts.encoding;
        if let Some(better) = self.guessers.entry((id, dir)).or_default().feed(chosen, bytes) {
            let (name, flag) = (better.display_name(), better.name());
            let what = self.paint(WARN, &t!("hint.hint"));
            return self.line(event, &t!("hint.looks_like", what = what, id = id, name = name, flag = flag));
        }
        Ok(())
    }

    /// Says once, with `--explain`, that TCP is a byte stream, when a read shows it with
    /// text lines: two lines in one read (粘包), or a line that a read ended inside and the
    /// next finished (拆包).
    fn byte_stream(&mut self, event: &Event, id: ConnId, bytes: &[u8]) -> io::Result<()> {
        if self.stream_said || !self.opts.raw_reads || bytes.is_empty() {
            return Ok(());
        }
        let ends = bytes.iter().filter(|b| **b == b'\n').count();
        let two_in_one = ends >= 2 || (ends == 1 && bytes.last() != Some(&b'\n'));
        let one_in_two = self.mid_line.contains(&id) && ends >= 1;
        if bytes.last() == Some(&b'\n') {
            self.mid_line.remove(&id);
        } else {
            self.mid_line.insert(id);
        }
        if two_in_one || one_in_two {
            self.stream_said = true;
            let key = if two_in_one { t!("human.explain_stuck") } else { t!("human.explain_split") };
            self.explain(event, &t!("human.explain_stream", id = id, what = key))?;
        }
        Ok(())
    }

    /// Decodes a chunk with the connection's streaming decoder, escaping for the terminal.
    fn text_of(&mut self, id: ConnId, dir: Dir, bytes: &[u8], last: bool) -> String {
        let encoding = self.encoding_of(id, dir);
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
            Dir::In => (t!("human.recv"), RECV),
            Dir::Out => (t!("human.sent"), SENT),
            Dir::C2T => ("c->t".into(), RECV),
            Dir::T2C => ("t->c".into(), SENT),
        };
        let count = byte_count(bytes.len() as u64);
        let mut marked = match mark {
            Mark::None => String::new(),
            Mark::Incomplete => t!("human.incomplete").into_owned(),
            Mark::TooLong(limit) => t!("human.too_long", limit = limit).into_owned(),
            Mark::CheckOk(name) => format!(" ({name} {})", self.paint(GOOD, "ok")),
            Mark::CheckShort(name) => t!("human.check_short", name = name, bad = self.paint(WARN, "BAD")).into_owned(),
            Mark::CheckBad { name, expected, got } => t!(
                "human.check_bad",
                name = name,
                bad = self.paint(WARN, "BAD"),
                expected = crate::render::hex::spaced(expected),
                got = crate::render::hex::spaced(got)
            )
            .into_owned(),
        };
        // "sent 40 bytes" for 14 Chinese characters: say the encoding that made them so many.
        let encoding = self.opts.encoding;
        if dir == Dir::Out && self.opts.show != Show::Hex && (!bytes.is_ascii() || encoding.name() != "utf-8") {
            marked.push_str(&format!(" ({})", encoding.name().to_ascii_uppercase()));
        }
        // `--max-show`: the rest of a longer message is counted, not shown.
        let (bytes, hidden) = match self.opts.max_show {
            Some(max) if bytes.len() > max && self.opts.show != Show::Len => (&bytes[..max], bytes.len() - max),
            _ => (bytes, 0),
        };
        let more = if hidden > 0 { t!("human.not_shown", n = hidden).into_owned() } else { String::new() };
        let head = format!("#{id} {} {count}{marked}:", self.paint(style, &verb));
        let shown = match self.opts.show {
            Show::Len => self.line(event, head.trim_end_matches(':')),
            Show::Text if self.opts.lines => {
                self.line(event, &head)?;
                self.text_rows(id, dir, bytes, &more)
            }
            Show::Text => {
                let text = self.text_of(id, dir, bytes, false);
                self.line(event, &format!("{head} {text}{more}"))
            }
            Show::Hex | Show::Both => {
                if self.opts.show == Show::Both && self.opts.lines {
                    self.line(event, &head)?;
                    self.text_rows(id, dir, bytes, "")?;
                } else if self.opts.show == Show::Both {
                    let text = self.text_of(id, dir, bytes, false);
                    self.line(event, &format!("{head} {text}"))?;
                } else {
                    self.line(event, &head)?;
                }
                let mut dump = String::new();
                dump_into(bytes, "    ", &mut dump);
                if hidden > 0 {
                    dump.push_str(&format!("    {}\n", more.trim_start()));
                }
                self.out.write_all(dump.as_bytes())
            }
        };
        if hidden > 0 {
            // What is not shown is not decoded: the next message starts afresh.
            self.decoders.remove(&(id, dir));
        }
        shown
    }

    /// `--lines`: the text in rows, each ending after a `\n` (shown as the mark it is).
    fn text_rows(&mut self, id: ConnId, dir: Dir, bytes: &[u8], more: &str) -> io::Result<()> {
        let mut rows = String::new();
        for piece in bytes.split_inclusive(|b| *b == b'\n') {
            let text = self.text_of(id, dir, piece, false);
            if !text.is_empty() {
                rows.push_str("    ");
                rows.push_str(&text);
                rows.push('\n');
            }
        }
        if !more.is_empty() {
            rows.push_str(&format!("    {}\n", more.trim_start()));
        }
        self.out.write_all(rows.as_bytes())
    }

    /// Text left in a connection's decoders when it closes: bytes of a character cut off.
    fn leftovers(&mut self, id: ConnId) -> String {
        let mut rest = String::new();
        for dir in [Dir::In, Dir::Out, Dir::C2T, Dir::T2C] {
            if self.decoders.contains_key(&(id, dir)) {
                let tail = self.text_of(id, dir, &[], true);
                if !tail.is_empty() {
                    let _ = write!(rest, "{}", t!("human.cut_character", dir = dir.as_str(), tail = tail));
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
        let word = t!("human.error");
        let label = if self.color_err { format!("{BAD}{word}{BAD:#}") } else { word.into_owned() };
        let _ = writeln!(self.err, "{label}: {who}{}", shown_name(message));
        Ok(())
    }
}

/// "1 byte", "27 bytes"; "27 字节".
fn byte_count(n: u64) -> String {
    if n == 1 { t!("words.one_byte").into_owned() } else { t!("words.bytes", n = n).into_owned() }
}

fn msg_count(n: u64) -> String {
    if n == 1 { t!("human.one_msg").into_owned() } else { t!("human.msgs", n = n).into_owned() }
}

fn chunk_count(n: u64) -> String {
    if n == 1 { t!("human.one_chunk").into_owned() } else { t!("human.chunks", n = n).into_owned() }
}

fn totals(c: &Counters) -> String {
    t!(
        "human.totals",
        bytes_in = byte_count(c.bytes_in),
        msgs_in = msg_count(c.msgs_in),
        bytes_out = byte_count(c.bytes_out),
        msgs_out = msg_count(c.msgs_out)
    )
    .into_owned()
}

fn relay_totals(c: &Counters) -> String {
    t!(
        "human.relay_totals",
        c2t = byte_count(c.bytes_in),
        chunks_c2t = chunk_count(c.msgs_in),
        t2c = byte_count(c.bytes_out),
        chunks_t2c = chunk_count(c.msgs_out)
    )
    .into_owned()
}

fn client_line(c: &ClientInfo, clock: &mut LocalClock) -> String {
    let since = clock.format(c.since);
    let k = &c.counters;
    format!(
        "  #{:<4} {:<24} {}",
        c.id,
        c.peer.ip().map_or_else(|| c.peer.to_string(), |a| crate::net::show_addr(&a)),
        t!(
            "human.client_line",
            since = &since[..8],
            bytes_in = k.bytes_in,
            msgs_in = msg_count(k.msgs_in),
            bytes_out = k.bytes_out,
            msgs_out = msg_count(k.msgs_out)
        )
    )
}

impl Sink for Human {
    fn event(&mut self, event: &Event) -> io::Result<()> {
        match &event.kind {
            EventKind::Listening { proto, addr, dual_stack, backlog, reachable, relay_to } => {
                let family = if *dual_stack {
                    t!("human.dual_stack")
                } else if addr.ip().is_none() {
                    "SOCK_STREAM".into()
                } else if addr.ip().is_some_and(|a| a.is_ipv6()) {
                    "IPv6".into()
                } else {
                    "IPv4".into()
                };
                let backlog = backlog.map(|b| t!("human.backlog", n = b)).unwrap_or_default();
                let what = self.paint(GOOD, &t!("human.listening"));
                let relaying = relay_to.as_ref().map(|to| t!("human.relaying_to", to = to)).unwrap_or_default();
                self.tcp_listener = *proto == Proto::Tcp && relay_to.is_none();
                let proto = proto.as_str();
                self.line(
                    event,
                    &t!(
                        "human.listening_on",
                        what = what,
                        addr = addr,
                        proto = proto,
                        family = family,
                        backlog = backlog,
                        relaying = relaying
                    ),
                )?;
                if self.opts.explain && *dual_stack {
                    self.explain(event, &t!("human.explain_dual_stack", port = addr.port().unwrap_or_default()))?;
                }
                if !reachable.is_empty() {
                    self.line(event, &t!("human.reachable_at"))?;
                }
                for r in reachable {
                    let note = match (r.loopback, r.addr.is_ipv4()) {
                        (true, true) => t!("human.loopback_v4"),
                        (true, false) => t!("human.loopback"),
                        (false, _) => "".into(),
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
                let port = local.port().unwrap_or_default();
                let body = match (side, proto) {
                    (Side::Accepted, Proto::Tcp | Proto::Unix) => {
                        let what = self.paint(GOOD, &t!("human.connected"));
                        t!("human.connected_from", id = id, what = what, peer = peer, local = local)
                    }
                    (Side::Accepted, Proto::Udp) => {
                        let what = self.paint(GOOD, &t!("human.new_source"));
                        t!("human.first_datagram", id = id, what = what, peer = peer)
                    }
                    (Side::Initiated, Proto::Tcp) => {
                        let what = self.paint(GOOD, &t!("human.connected"));
                        t!("human.connected_to", id = id, what = what, peer = peer, local = local, port = port)
                    }
                    (Side::Initiated, Proto::Unix) => {
                        let what = self.paint(GOOD, &t!("human.connected"));
                        t!("human.connected_to_unix", id = id, what = what, peer = peer)
                    }
                    (Side::Initiated, Proto::Udp) => {
                        let what = self.paint(GOOD, &t!("human.sending_datagrams"));
                        t!("human.connected_to", id = id, what = what, peer = peer, local = local, port = port)
                    }
                };
                self.line(event, &body)?;
                if let Some(t) = tls {
                    let alpn = t.alpn.as_ref().map(|a| format!(", ALPN {}", shown_name(a))).unwrap_or_default();
                    let peer = match (&t.peer_subject, &t.peer_sha256) {
                        (Some(s), Some(f)) => {
                            let until = t
                                .peer_not_after
                                .as_ref()
                                .map(|d| t!("human.valid_until", date = shown_name(d)))
                                .unwrap_or_default();
                            t!("human.peer_certificate", subject = shown_name(s), sha256 = f, until = until)
                        }
                        _ => t!("human.no_peer_certificate"),
                    };
                    let what = self.paint(GOOD, "TLS");
                    self.line(event, &format!("#{id} {what}: {}, {}{alpn}{peer}", t.version, t.cipher))?;
                }
                if self.opts.explain && *side == Side::Accepted && *proto == Proto::Tcp {
                    self.explain(event, &t!("human.explain_accept", id = id, peer = peer))?;
                }
                Ok(())
            }
            EventKind::Rejected { peer, reason, turned } => {
                let what = self.paint(WARN, &t!("human.rejected"));
                self.line(event, &format!("{what} {peer}: {}", shown_name(&format!("{reason}; {turned}"))))
            }
            EventKind::Data { id, dir, bytes, mark, .. } => {
                if *dir != Dir::Out && matches!(self.opts.show, Show::Text | Show::Both) {
                    self.guess(event, *id, *dir, bytes)?;
                }
                self.data(event, *id, *dir, bytes, mark)?;
                if self.opts.explain && *dir == Dir::In && !self.datagrams.contains(id) {
                    self.byte_stream(event, *id, bytes)?;
                }
                if self.opts.explain {
                    let n = bytes.len();
                    let text = match dir {
                        Dir::In => t!("human.explain_recv", id = id, n = n),
                        Dir::Out => t!("human.explain_send", id = id, n = n),
                        Dir::C2T => t!("human.explain_c2t", id = id, n = n),
                        Dir::T2C => t!("human.explain_t2c", id = id, n = n),
                    };
                    self.explain(event, &text)?;
                }
                Ok(())
            }
            EventKind::Closed { id, reason, counters, duration, .. } => {
                let rest = self.leftovers(*id);
                self.datagrams.remove(id);
                self.mid_line.remove(id);
                for dir in [Dir::In, Dir::C2T, Dir::T2C] {
                    self.guessers.remove(&(*id, dir));
                    self.detected.remove(&(*id, dir));
                }
                let what = self.paint(WARN, &t!("human.closed"));
                let counted = if self.opts.relay { relay_totals(counters) } else { totals(counters) };
                let said = reason.to_string();
                let time = seconds(*duration);
                let body = t!(
                    "human.closed_line",
                    id = id,
                    what = what,
                    reason = shown_name(&said),
                    counted = counted,
                    time = time,
                    rest = rest
                );
                self.line(event, &body)?;
                if self.opts.explain {
                    if *reason == CloseReason::PeerClosed {
                        self.explain(event, &t!("human.explain_recv_zero", id = id))?;
                    }
                    self.explain(event, &t!("human.explain_close", id = id))?;
                }
                Ok(())
            }
            EventKind::Clients(list) => {
                let n = list.len();
                let head = match n {
                    0 => t!("human.no_clients"),
                    1 => t!("human.one_client"),
                    n => t!("human.clients", n = n),
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
                    Some(n) if got == 2 * n => t!("human.buffer_doubled", kind = kind, got = got, n = n),
                    Some(n) => t!("human.buffer_asked", kind = kind, got = got, n = n),
                    None => t!("human.buffer", kind = kind, got = got),
                };
                let body = t!(
                    "human.buffers",
                    send = show("SO_SNDBUF", b.send, b.asked.send),
                    recv = show("SO_RCVBUF", b.recv, b.asked.recv)
                );
                self.line(event, &body)
            }
            EventKind::HalfClosed { id, dir } => {
                let what = self.paint(WARN, "FIN");
                let body = match dir {
                    Dir::C2T => t!("human.fin_c2t", id = id, what = what),
                    Dir::T2C => t!("human.fin_t2c", id = id, what = what),
                    // Only `--exec` passes a peer's FIN on: to the child, as the end of its stdin.
                    Dir::In => t!("human.fin_to_child", id = id, what = what),
                    Dir::Out => t!("human.fin_sent", id = id, what = what),
                };
                self.line(event, &body)
            }
            EventKind::Stopped { clients, counters, duration } => {
                let what = self.paint(GOOD, &t!("human.stopped"));
                let counted = if self.opts.relay { relay_totals(counters) } else { totals(counters) };
                let time = seconds(*duration);
                let body = if *clients == 1 {
                    t!("human.stopped_one", what = what, time = time, counted = counted)
                } else {
                    t!("human.stopped_many", what = what, time = time, clients = clients, counted = counted)
                };
                self.line(event, &body)?;
                if self.opts.explain && self.tcp_listener {
                    self.explain(event, &t!("human.explain_close_listener"))?;
                }
                Ok(())
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
#[path = "human_tests.rs"]
mod tests;
