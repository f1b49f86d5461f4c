//! The receive log: a bounded ring of lines, each decoded per connection and direction as
//! it arrives, holding at most a bounded copy of its message.

use rust_i18n::t;
use std::collections::{HashMap, VecDeque};
use std::time::SystemTime;

use bytes::Bytes;

use crate::event::{ConnId, Dir};
use crate::render::escape::{escape_bytes_into, escape_text_into};
use crate::render::{Piece, StreamDecoder, TextEncoding};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    Data { dir: Dir, len: usize },
    Info,
    Error,
}

/// Which lines of the log are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    All,
    /// One client's lines.
    Client(ConnId),
    /// What came in, or what went out (data only).
    In,
    Out,
}

impl Filter {
    pub fn passes(self, e: &Entry) -> bool {
        match self {
            Filter::All => true,
            Filter::Client(id) => e.id == Some(id),
            Filter::In => matches!(e.kind, EntryKind::Data { dir: Dir::In | Dir::C2T, .. }),
            Filter::Out => matches!(e.kind, EntryKind::Data { dir: Dir::Out | Dir::T2C, .. }),
        }
    }

    /// All, then the client under the cursor (if any), in, out.
    pub fn next(self, client: Option<ConnId>) -> Filter {
        match (self, client) {
            (Filter::All, Some(id)) => Filter::Client(id),
            (Filter::All, None) | (Filter::Client(_), _) => Filter::In,
            (Filter::In, _) => Filter::Out,
            (Filter::Out, _) => Filter::All,
        }
    }

    pub fn label(self) -> String {
        match self {
            Filter::All => String::new(),
            Filter::Client(id) => t!("ui.only_client", id = id).into_owned(),
            Filter::In => t!("ui.only_in").into_owned(),
            Filter::Out => t!("ui.only_out").into_owned(),
        }
    }
}

/// One line of the receive log.
#[derive(Debug, Clone)]
pub struct Entry {
    pub seq: u64,
    pub time: SystemTime,
    pub id: Option<ConnId>,
    pub kind: EntryKind,
    /// Decoded text (escaped) or the info line.
    pub text: String,
    /// The first bytes, for the hex view.
    pub bytes: Bytes,
}

/// The most bytes of one message kept for the hex view, and characters of its text.
pub(crate) const KEEP_BYTES: usize = 4096;
pub(crate) const KEEP_CHARS: usize = 4096;
/// The longest escape one character becomes (`\u{10FFFF}`).
const ESCAPE_MAX: usize = 10;
/// What one line of the log may hold at most, in bytes: its text, its kept bytes and the
/// entry itself. The README quotes it.
pub const LINE_BOUND: usize = KEEP_CHARS + ESCAPE_MAX + KEEP_BYTES + std::mem::size_of::<Entry>();

impl Entry {
    /// Bytes of memory this line holds.
    pub fn held(&self) -> usize {
        self.text.capacity() + self.bytes.len()
    }
}

/// The largest index at most `at` that starts a character of `s`.
pub(crate) fn floor_char_boundary(s: &str, at: usize) -> usize {
    if at >= s.len() {
        return s.len();
    }
    (0..=at).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0)
}

/// The receive log: a bounded ring, decoded per connection and direction as it arrives.
pub struct Log {
    pub entries: VecDeque<Entry>,
    pub capacity: usize,
    next_seq: u64,
    /// Each with the encoding it decodes: a change of encoding starts a new one.
    pub(crate) decoders: HashMap<(ConnId, Dir), (TextEncoding, StreamDecoder)>,
    /// UDP ids: each datagram is decoded on its own.
    pub(crate) datagrams: std::collections::HashSet<ConnId>,
    /// Follow the newest line; off when scrolled back or paused.
    pub follow: bool,
    /// Long lines wrap (on by default); when off they are cut and scroll sideways.
    pub wrap: bool,
    /// Columns scrolled sideways, when not wrapping.
    pub hscroll: usize,
    /// Which lines are shown (`f` cycles).
    pub filter: Filter,
    /// Text view: a message's lines start new rows after each `\n` (`b` toggles).
    pub breaks: bool,
    /// The first line shown when not following.
    pub top: u64,
    pub paused: bool,
    pub search: Option<String>,
}

impl Log {
    pub fn new(capacity: usize) -> Log {
        Log {
            entries: VecDeque::new(),
            capacity: capacity.max(10),
            next_seq: 0,
            decoders: HashMap::new(),
            datagrams: Default::default(),
            follow: true,
            wrap: true,
            hscroll: 0,
            filter: Filter::All,
            breaks: false,
            top: 0,
            paused: false,
            search: None,
        }
    }

    fn push(&mut self, time: SystemTime, id: Option<ConnId>, kind: EntryKind, text: String, bytes: Bytes) {
        if self.entries.len() >= self.capacity {
            self.entries.pop_front();
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.entries.push_back(Entry { seq, time, id, kind, text, bytes });
    }

    pub fn info(&mut self, time: SystemTime, id: Option<ConnId>, text: String) {
        self.push(time, id, EntryKind::Info, text, Bytes::new());
    }

    pub fn error(&mut self, time: SystemTime, id: Option<ConnId>, text: String) {
        self.push(time, id, EntryKind::Error, text, Bytes::new());
    }

    pub(crate) fn data(&mut self, time: SystemTime, id: ConnId, dir: Dir, bytes: &Bytes, encoding: TextEncoding) {
        let entry = self.decoders.entry((id, dir)).or_insert_with(|| (encoding, encoding.decoder()));
        if entry.0 != encoding {
            *entry = (encoding, encoding.decoder());
        }
        let decoder = &mut entry.1;
        let mut text = String::new();
        // The whole message goes through the decoder (its state carries on), but only the
        // first KEEP_CHARS bytes of text are kept, whatever one decoded piece holds.
        let datagram = self.datagrams.contains(&id);
        decoder.feed(bytes, datagram, |p| {
            let room = KEEP_CHARS.saturating_sub(text.len());
            if room == 0 {
                return;
            }
            match p {
                Piece::Text(t) => escape_text_into(&t[..floor_char_boundary(t, room)], &mut text),
                Piece::Malformed(b) => escape_bytes_into(&b[..b.len().min(room)], &mut text),
            }
        });
        if datagram {
            self.decoders.remove(&(id, dir));
        }
        text.truncate(floor_char_boundary(&text, KEEP_CHARS + ESCAPE_MAX));
        text.shrink_to_fit();
        // A copy, never a view: a slice of the read would pin its whole buffer.
        let kept = Bytes::copy_from_slice(&bytes[..bytes.len().min(KEEP_BYTES)]);
        self.push(time, Some(id), EntryKind::Data { dir, len: bytes.len() }, text, kept);
    }

    /// Bytes of memory the log's lines hold (their entries, texts and kept bytes).
    pub fn held(&self) -> usize {
        self.entries.iter().map(Entry::held).sum::<usize>() + self.entries.capacity() * std::mem::size_of::<Entry>()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.follow = true;
    }

    /// The index in `entries` of the first line to show in a window of `rows` lines.
    pub fn first_shown(&self, rows: usize) -> usize {
        if self.follow {
            return self.entries.len().saturating_sub(rows);
        }
        let first_seq = self.entries.front().map_or(0, |e| e.seq);
        (self.top.saturating_sub(first_seq) as usize).min(self.entries.len().saturating_sub(1))
    }

    /// Scrolls by `delta` lines (negative: back); at the end it follows again.
    pub fn scroll(&mut self, delta: i64, rows: usize) {
        let first = self.first_shown(rows) as i64;
        let last_start = self.entries.len().saturating_sub(rows) as i64;
        let target = (first + delta).clamp(0, last_start.max(0));
        if target >= last_start && !self.paused {
            self.follow = true;
        } else {
            self.follow = false;
            self.top = self.entries.get(target as usize).map_or(0, |e| e.seq);
        }
    }

    /// Finds the next line (after the shown top) containing the search text; shows it.
    pub fn find_next(&mut self, rows: usize) -> bool {
        let Some(query) = self.search.clone().filter(|q| !q.is_empty()) else { return false };
        let query = query.to_lowercase();
        let start = if self.follow { 0 } else { self.first_shown(rows) + 1 };
        let found = (start..self.entries.len())
            .chain(0..start.min(self.entries.len()))
            .find(|&i| self.entries[i].text.to_lowercase().contains(&query));
        match found {
            Some(i) => {
                self.follow = false;
                self.top = self.entries[i].seq;
                true
            }
            None => false,
        }
    }
}
