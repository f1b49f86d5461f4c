//! JSON lines: one object per event on stdout, fields in a fixed order, for scripts and
//! tests. `text` is decoded with the connection's streaming decoder (malformed bytes become
//! U+FFFD), `hex` always carries the exact bytes. The README documents every field.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use super::{Sink, write_line};
use crate::event::{ConnId, Counters, Dir, Event, EventKind, Mark};
use crate::render::hex::to_hex;
use crate::render::time::rfc3339_utc;
use crate::render::{Piece, StreamDecoder, TextEncoding};

/// Builds one JSON object, fields in the order they are added.
pub struct JsonObject {
    buf: String,
}

impl JsonObject {
    pub fn new(event: &str, time: std::time::SystemTime) -> JsonObject {
        let mut o = JsonObject { buf: String::from("{") };
        o.str("event", event);
        o.str("time", &rfc3339_utc(time));
        o
    }

    /// An object without the event and time fields (reports, nested objects).
    pub fn plain() -> JsonObject {
        JsonObject { buf: String::from("{") }
    }

    fn key(&mut self, key: &str) {
        if self.buf.len() > 1 {
            self.buf.push(',');
        }
        push_json_string(&mut self.buf, key);
        self.buf.push(':');
    }

    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        push_json_string(&mut self.buf, value);
        self
    }

    pub fn num(&mut self, key: &str, value: impl std::fmt::Display) -> &mut Self {
        self.key(key);
        write!(self.buf, "{value}").expect("String write");
        self
    }

    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.key(key);
        self.buf.push_str(if value { "true" } else { "false" });
        self
    }

    pub fn addr(&mut self, key: &str, value: &impl std::fmt::Display) -> &mut Self {
        self.str(key, &value.to_string())
    }

    /// A value that is already JSON (an array or object built by the caller).
    pub fn raw(&mut self, key: &str, json: &str) -> &mut Self {
        self.key(key);
        self.buf.push_str(json);
        self
    }

    pub fn counters(&mut self, c: &Counters) -> &mut Self {
        self.num("bytes_in", c.bytes_in)
            .num("bytes_out", c.bytes_out)
            .num("msgs_in", c.msgs_in)
            .num("msgs_out", c.msgs_out)
    }

    pub fn finish(mut self) -> String {
        self.buf.push('}');
        self.buf
    }
}

/// Appends `s` as a JSON string. Control characters, DEL and C1 controls are escaped, so
/// the line is safe on a terminal too.
pub fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if crate::render::escape::acts_on_terminal(c) => {
                write!(out, "\\u{:04x}", u32::from(c)).expect("String write")
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

pub struct Json {
    out: Box<dyn Write + Send>,
    /// Errors are also told to the person, as one line on stderr.
    err: Box<dyn Write + Send>,
    encoding: TextEncoding,
    decoders: HashMap<(ConnId, Dir), StreamDecoder>,
    /// UDP ids: each datagram is decoded on its own, never joined to the next.
    datagrams: std::collections::HashSet<ConnId>,
}

impl Json {
    pub fn stdout(encoding: TextEncoding) -> Json {
        Json::new(Box::new(io::BufWriter::with_capacity(64 * 1024, io::stdout())), Box::new(io::stderr()), encoding)
    }

    /// Events on stderr, when stdout carries the raw bytes (`--output -`).
    pub fn stderr(encoding: TextEncoding) -> Json {
        Json::new(Box::new(io::LineWriter::new(io::stderr())), Box::new(io::sink()), encoding)
    }

    pub fn new(out: Box<dyn Write + Send>, err: Box<dyn Write + Send>, encoding: TextEncoding) -> Json {
        Json { out, err, encoding, decoders: HashMap::new(), datagrams: Default::default() }
    }

    fn text_of(&mut self, id: ConnId, dir: Dir, bytes: &[u8]) -> String {
        let encoding = self.encoding;
        let datagram = self.datagrams.contains(&id);
        let decoder = self.decoders.entry((id, dir)).or_insert_with(|| encoding.decoder());
        let mut text = String::with_capacity(bytes.len());
        decoder.feed(bytes, datagram, |piece| match piece {
            Piece::Text(t) => text.push_str(t),
            Piece::Malformed(_) => text.push('\u{FFFD}'),
        });
        if datagram {
            self.decoders.remove(&(id, dir));
        }
        text
    }
}

impl Sink for Json {
    fn event(&mut self, event: &Event) -> io::Result<()> {
        let t = event.time;
        let line = match &event.kind {
            EventKind::Listening { proto, addr, dual_stack, backlog, reachable, relay_to } => {
                let mut o = JsonObject::new("listening", t);
                o.str("proto", proto.as_str()).addr("addr", addr).bool("dual_stack", *dual_stack);
                if let Some(b) = backlog {
                    o.num("backlog", b);
                }
                if let Some(to) = relay_to {
                    o.str("target", to);
                }
                let mut list = String::from("[");
                for (i, r) in reachable.iter().enumerate() {
                    if i > 0 {
                        list.push(',');
                    }
                    push_json_string(&mut list, &crate::net::show_addr(&r.addr));
                }
                list.push(']');
                o.raw("reachable", &list);
                o.finish()
            }
            EventKind::Connected { id, proto, peer, local, side, tls } => {
                if *proto == crate::event::Proto::Udp {
                    self.datagrams.insert(*id);
                }
                let mut o = JsonObject::new("connected", t);
                o.num("id", id).str("proto", proto.as_str());
                match peer {
                    // The address as scripts want it; the name the proxy client asked for apart.
                    crate::event::Peer::Named { name, addr } => {
                        o.addr("peer", addr).str("target", name);
                    }
                    crate::event::Peer::Unix { path, pid, uid } => {
                        o.str("peer", path);
                        if let Some(pid) = pid {
                            o.num("pid", pid);
                        }
                        if let Some(uid) = uid {
                            o.num("uid", uid);
                        }
                    }
                    crate::event::Peer::Ip(a) => {
                        o.addr("peer", a);
                    }
                }
                o.str("local", &local.address());
                o.str("side", side.as_str());
                if let Some(t) = tls {
                    let mut x = JsonObject::plain();
                    x.str("version", &t.version).str("cipher", &t.cipher);
                    if let Some(a) = &t.alpn {
                        x.str("alpn", a);
                    }
                    if let Some(s) = &t.peer_subject {
                        x.str("peer_subject", s);
                    }
                    if let Some(f) = &t.peer_sha256 {
                        x.str("peer_sha256", f);
                    }
                    if let Some(d) = &t.peer_not_after {
                        x.str("peer_not_after", d);
                    }
                    o.raw("tls", &x.finish());
                }
                o.finish()
            }
            EventKind::Rejected { peer, reason, turned } => {
                let mut o = JsonObject::new("rejected", t);
                o.addr("peer", peer).str("reason", &format!("{reason}; {turned}"));
                o.finish()
            }
            EventKind::Data { id, peer, dir, bytes, mark } => {
                let text = self.text_of(*id, *dir, bytes);
                let mut o = JsonObject::new("data", t);
                o.num("id", id).addr("peer", peer).str("dir", dir.as_str()).num("len", bytes.len());
                o.str("text", &text).str("hex", &to_hex(bytes));
                match mark {
                    Mark::None => {}
                    Mark::Incomplete => {
                        o.str("partial", "incomplete");
                    }
                    Mark::TooLong(limit) => {
                        o.str("partial", "too_long").num("max_frame", limit);
                    }
                    Mark::CheckOk(name) | Mark::CheckShort(name) => {
                        o.str("check", mark.check_code().unwrap_or_default()).str("checksum", name);
                    }
                    Mark::CheckBad { name, expected, .. } => {
                        o.str("check", "bad").str("checksum", name).str("check_expected", &to_hex(expected));
                    }
                }
                o.finish()
            }
            EventKind::Closed { id, peer, reason, counters, duration } => {
                self.datagrams.remove(id);
                self.decoders.remove(&(*id, Dir::In));
                self.decoders.remove(&(*id, Dir::Out));
                let mut o = JsonObject::new("closed", t);
                o.num("id", id).addr("peer", peer).str("reason", reason.code());
                o.str("message", &reason.to_string()).counters(counters);
                o.num("duration_ms", duration.as_millis());
                o.finish()
            }
            EventKind::Clients(list) => {
                let mut arr = String::from("[");
                for (i, c) in list.iter().enumerate() {
                    if i > 0 {
                        arr.push(',');
                    }
                    let mut item = JsonObject::plain();
                    item.num("id", c.id).addr("peer", &c.peer).str("since", &rfc3339_utc(c.since));
                    item.counters(&c.counters);
                    arr.push_str(&item.finish());
                }
                arr.push(']');
                let mut o = JsonObject::new("clients", t);
                o.raw("clients", &arr);
                o.finish()
            }
            EventKind::Error { id, notice } => {
                let message = &notice.to_string();
                let who = id.map(|id| format!("#{id} ")).unwrap_or_default();
                let _ = writeln!(self.err, "error: {who}{}", crate::render::escape::shown_name(message));
                let mut o = JsonObject::new("error", t);
                if let Some(id) = id {
                    o.num("id", id);
                }
                o.str("message", message);
                o.finish()
            }
            EventKind::Note(notice) => {
                let mut o = JsonObject::new("note", t);
                o.str("message", &notice.to_string());
                o.finish()
            }
            EventKind::Explain(step) => {
                let mut o = JsonObject::new("explain", t);
                o.str("message", &step.to_string());
                o.finish()
            }
            EventKind::Buffers(b) => {
                let mut o = JsonObject::new("buffers", t);
                o.num("sndbuf", b.send).num("rcvbuf", b.recv);
                if let Some(n) = b.asked.send {
                    o.num("sndbuf_asked", n);
                }
                if let Some(n) = b.asked.recv {
                    o.num("rcvbuf_asked", n);
                }
                o.finish()
            }
            EventKind::HalfClosed { id, dir } => {
                let mut o = JsonObject::new("half_closed", t);
                o.num("id", id).str("dir", dir.as_str());
                o.finish()
            }
            EventKind::Stopped { clients, counters, duration } => {
                let mut o = JsonObject::new("stopped", t);
                o.num("clients", clients).counters(counters).num("duration_ms", duration.as_millis());
                o.finish()
            }
        };
        write_line(&mut self.out, &line)
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

    #[test]
    fn strings_are_escaped_as_json_does() {
        let mut s = String::new();
        push_json_string(&mut s, "a\"b\\c\n\x1b\u{9b}你");
        assert_eq!(s, r#""a\"b\\c\n\u001b\u009b你""#);
        // Zero-width and bidi characters cannot hide or reorder what a line says.
        let mut s = String::new();
        push_json_string(&mut s, "a\u{200b}\u{202e}\u{2066}\u{feff}\u{2028}b");
        assert_eq!(s, r#""a\u200b\u202e\u2066\ufeff\u2028b""#);
    }

    #[test]
    fn data_event_has_text_and_exact_hex() {
        let out = Shared::default();
        let mut json = Json::new(Box::new(out.clone()), Box::new(io::sink()), TextEncoding::from_name("gbk").unwrap());
        let event = Event {
            time: std::time::UNIX_EPOCH,
            kind: EventKind::Data {
                id: 7,
                peer: "[::1]:9".parse::<std::net::SocketAddr>().unwrap().into(),
                dir: Dir::In,
                bytes: Bytes::from_static(b"\xc4\xe3\xff\xc4"),
                mark: crate::event::Mark::None,
            },
        };
        json.event(&event).unwrap();
        assert_eq!(
            out.text(),
            "{\"event\":\"data\",\"time\":\"1970-01-01T00:00:00.000000Z\",\"id\":7,\"peer\":\"[::1]:9\",\
             \"dir\":\"in\",\"len\":4,\"text\":\"你\u{FFFD}\",\"hex\":\"c4e3ffc4\"}\n"
        );
    }
}
