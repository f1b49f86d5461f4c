//! What happens to received bytes, in one place for every engine. The engines differ only in
//! how bytes move (readiness and a per-thread buffer for plain TCP, a stream for TLS, a
//! datagram for UDP); each hands what it read to an [`Inbound`]:
//!
//! ```text
//!   read ──▶ Framer (where a message ends) ──message──▶ Responder (its answer) ──▶ engine
//! ```
//!
//! - The [`Framer`] splits a byte stream into messages. Today each read is one message
//!   (`raw`); a framer that needs more bytes keeps them until the message is whole.
//! - The [`Responder`] chooses a message's answer: none, the message itself (`--echo`), or
//!   fixed bytes (`--reply`).
//!
//! A new way to split (`--frame`) is a variant of `Framer`; a new way to answer (rules) is
//! a change in `Responder`. No engine changes for either.

use bytes::Bytes;

/// How a connection answers what it receives.
#[derive(Debug, Clone)]
pub enum Reply {
    None,
    /// Send back exactly what arrived.
    Echo,
    /// Send these bytes for every message received (the lesson's "ok，问题正在处理中...").
    Bytes(Bytes),
}

/// Where one message ends in the byte stream.
#[derive(Debug, Clone, Default)]
pub enum Framer {
    /// Each read is a message (what TCP's recv() returned).
    #[default]
    Raw,
}

impl Framer {
    /// Calls `each` with every whole message `chunk` completes, in order.
    pub fn split(&mut self, chunk: &[u8], mut each: impl FnMut(&[u8])) {
        match self {
            Framer::Raw => each(chunk),
        }
    }

    /// At the end of the stream: what is left of a message that never completed.
    pub fn rest(&mut self) -> Option<Bytes> {
        match self {
            Framer::Raw => None,
        }
    }
}

/// Chooses the answer to a message.
#[derive(Debug, Clone, Copy)]
pub struct Responder<'a> {
    reply: &'a Reply,
}

impl<'a> Responder<'a> {
    pub fn new(reply: &'a Reply) -> Responder<'a> {
        Responder { reply }
    }

    /// The bytes to send back for `message`, if any.
    pub fn answer<'m>(&self, message: &'m [u8]) -> Option<&'m [u8]>
    where
        'a: 'm,
    {
        match self.reply {
            Reply::None => None,
            Reply::Echo => Some(message),
            Reply::Bytes(b) => Some(b),
        }
    }

    /// Whether any message can have an answer (else the engines skip the work).
    pub fn answers(&self) -> bool {
        !matches!(self.reply, Reply::None)
    }
}

/// One connection's receive side: its framer (with its state) and the responder.
pub struct Inbound<'a> {
    framer: Framer,
    responder: Responder<'a>,
}

impl<'a> Inbound<'a> {
    pub fn new(framer: Framer, reply: &'a Reply) -> Inbound<'a> {
        Inbound { framer, responder: Responder::new(reply) }
    }

    /// Feeds what one read returned; calls `each(message, answer)` for every whole message.
    pub fn on_read(&mut self, chunk: &[u8], mut each: impl FnMut(&[u8], Option<&[u8]>)) {
        let responder = self.responder;
        self.framer.split(chunk, |message| each(message, responder.answer(message)));
    }

    /// What is left of an incomplete message when the stream ends.
    pub fn rest(&mut self) -> Option<Bytes> {
        self.framer.rest()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_messages_are_reads_and_answers_follow_the_reply() {
        let ok = Reply::Bytes(Bytes::from_static(b"ok"));
        for (reply, want) in [(Reply::None, None), (Reply::Echo, Some(&b"ab"[..])), (ok, Some(&b"ok"[..]))] {
            let mut inbound = Inbound::new(Framer::Raw, &reply);
            let mut seen = Vec::new();
            inbound.on_read(b"ab", |m, a| seen.push((m.to_vec(), a.map(<[u8]>::to_vec))));
            assert_eq!(seen, vec![(b"ab".to_vec(), want.map(<[u8]>::to_vec))]);
            assert!(inbound.rest().is_none());
        }
    }
}
