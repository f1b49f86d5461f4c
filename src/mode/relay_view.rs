//! What the relay shows of the bytes it delivered, per direction: a data event per read
//! (the default), or per message with `--frame` (`--frame-c2t`, `--frame-t2c` for one
//! direction). The relay moves bytes the same either way; only what is shown and counted
//! as a message changes. Both relay paths (readiness and splice, read/write for TLS) hand
//! what they delivered here.

use bytes::Bytes;

use super::conn::Conn;
use crate::event::{Dir, EventKind, Events, Mark};
use crate::proto::frame::{Frame, FrameSpec, Splitter};

/// One relayed connection's views of its two directions.
pub struct Shown {
    /// Whether anyone wants data events.
    want: bool,
    /// The splitter of each direction that is framed: client to target, target to client.
    frames: [Option<Splitter>; 2],
    max: usize,
}

fn slot(dir: Dir) -> usize {
    usize::from(!matches!(dir, Dir::C2T | Dir::In))
}

impl Shown {
    pub fn new(want: bool, c2t: &FrameSpec, t2c: &FrameSpec, max: usize) -> Shown {
        let splitter = |spec: &FrameSpec| (*spec != FrameSpec::Raw).then(|| Splitter::new(spec.clone(), max));
        Shown { want, frames: [splitter(c2t), splitter(t2c)], max }
    }

    /// Whether delivered bytes must pass through user space: shown, or split into messages.
    pub fn copies(&self) -> bool {
        self.want || self.frames.iter().any(Option::is_some)
    }

    /// Whether a read counts as a message in `dir` (it is not framed).
    pub fn reads_are_messages(&self, dir: Dir) -> bool {
        self.frames[slot(dir)].is_none()
    }

    /// `bytes` reached the other side: shown as they came, or as the messages they complete.
    pub async fn delivered(&mut self, conn: &Conn, dir: Dir, bytes: Bytes, events: &Events) {
        let Some(splitter) = self.frames[slot(dir)].as_mut() else {
            if self.want {
                send(conn, dir, bytes, Mark::None, events).await;
            }
            return;
        };
        let (want, max) = (self.want, self.max);
        let mut messages = Vec::new();
        splitter.push(&bytes, |frame| {
            conn.count_delivered(matches!(dir, Dir::C2T | Dir::In), 0, true);
            if want {
                // Copies, not views of the chunk: what waits for the output holds only itself.
                messages.push(match frame {
                    Frame::Whole(m) => (Bytes::copy_from_slice(m), Mark::None),
                    Frame::TooLong(m) => (Bytes::copy_from_slice(m), Mark::TooLong(max)),
                });
            }
        });
        for (message, mark) in messages {
            send(conn, dir, message, mark, events).await;
        }
    }

    /// `dir` ended: what is held of a message that never completed is shown, marked.
    pub async fn ended(&mut self, conn: &Conn, dir: Dir, events: &Events) {
        let Some(rest) = self.frames[slot(dir)].as_mut().and_then(Splitter::rest) else { return };
        conn.count_delivered(matches!(dir, Dir::C2T | Dir::In), 0, true);
        if self.want {
            send(conn, dir, Bytes::from(rest), Mark::Incomplete, events).await;
        }
    }
}

async fn send(conn: &Conn, dir: Dir, bytes: Bytes, mark: Mark, events: &Events) {
    events.send(EventKind::Data { id: conn.id, peer: conn.peer.clone(), dir, bytes, mark }).await;
}
