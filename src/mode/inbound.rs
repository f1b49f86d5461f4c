//! What happens to received bytes, in one place for every engine. The engines differ only in
//! how bytes move (readiness and a per-thread buffer for plain TCP, a stream for TLS, a
//! datagram for UDP); each hands what it read to an [`Inbound`]:
//!
//! ```text
//!   read ──▶ Splitter (where a message ends) ──message──▶ Responder (its answer) ──▶ engine
//!                                              └─ --verify marks it; --checksum is added to the answer
//! ```
//!
//! - The splitter ([`crate::proto::frame`]) splits a byte stream into messages (`--frame`);
//!   it keeps what it needs until a message is whole.
//! - The [`Responder`] chooses a message's answer: the first rule that matches
//!   ([`crate::proto::rules`]), else none, the message itself (`--echo`), or fixed bytes
//!   (`--reply`).
//! - [`Messages`] holds the run's settings: framing, checksums, rules.
//!
//! A new way to split is a variant of `FrameSpec`; a new way to answer is a change in
//! `Responder`. No engine changes for either.

use std::borrow::Cow;

use bytes::Bytes;

use crate::event::Mark;
use crate::proto::checksum::{Check, Checksum};
use crate::proto::frame::{Frame, FrameSpec, Splitter};
use crate::proto::rules::{Outcome, RuleSet, Rules};
use std::sync::Arc;

/// How a connection answers what it receives.
#[derive(Debug, Clone)]
pub enum Reply {
    None,
    /// Send back exactly what arrived.
    Echo,
    /// Send these bytes for every message received (the lesson's "ok，问题正在处理中...").
    Bytes(Bytes),
}

/// What a message is and what it carries: how the stream is split (`--frame`, with its
/// limit), the checksum checked on what comes in (`--verify`) and added to what goes out
/// (`--checksum`).
#[derive(Debug, Clone)]
pub struct Messages {
    pub frame: FrameSpec,
    pub max_frame: usize,
    pub verify: Option<Checksum>,
    pub append: Option<Checksum>,
    /// `--rule`, `--rules`: checked before the reply.
    pub rules: Option<std::sync::Arc<RuleSet>>,
}

impl Default for Messages {
    fn default() -> Self {
        Messages { frame: FrameSpec::Raw, max_frame: 1 << 20, verify: None, append: None, rules: None }
    }
}

impl Messages {
    /// What `--verify` says of a message.
    pub fn mark(&self, message: &[u8]) -> Mark {
        match &self.verify {
            None => Mark::None,
            Some(c) => {
                let name = c.name();
                match c.verify(message) {
                    Check::Ok => Mark::CheckOk(name),
                    Check::Short => Mark::CheckShort(name),
                    Check::Bad { expected, got } => Mark::CheckBad { name, expected, got },
                }
            }
        }
    }

    /// A message to send, with `--checksum` after it.
    pub fn outgoing<'m>(&self, bytes: &'m [u8]) -> Cow<'m, [u8]> {
        match &self.append {
            None => Cow::Borrowed(bytes),
            Some(c) => Cow::Owned(c.append(bytes)),
        }
    }
}

/// What to do about a message.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer<'m> {
    Nothing,
    Send(Cow<'m, [u8]>),
    /// A rule said `after MS`: send it that much later.
    Later(std::time::Duration, Vec<u8>),
    /// A rule said `close`.
    Close,
}

impl<'m> Answer<'m> {
    /// The bytes to send, if any.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Answer::Send(b) => Some(b),
            _ => None,
        }
    }
}

/// Chooses the answer to a message: the first rule that matches, else the reply. Holds its
/// own snapshot of the rules, taken again when they are reloaded: a message costs no lock
/// and no count shared with other connections.
#[derive(Debug, Clone)]
pub struct Responder<'a> {
    reply: &'a Reply,
    rules: Option<(&'a RuleSet, u64, Arc<Rules>)>,
}

impl<'a> Responder<'a> {
    pub fn new(reply: &'a Reply, rules: Option<&'a RuleSet>) -> Responder<'a> {
        Responder { reply, rules: rules.map(|set| (set, set.generation(), set.current())) }
    }

    /// What to do about `message`.
    pub fn answer<'m>(&mut self, message: &'m [u8]) -> Answer<'m>
    where
        'a: 'm,
    {
        if let Some((set, seen, rules)) = &mut self.rules {
            let now = set.generation();
            if now != *seen {
                (*seen, *rules) = (now, set.current());
            }
            match rules.answer(message) {
                Outcome::NoMatch => {}
                Outcome::Reply(bytes) => return Answer::Send(Cow::Owned(bytes)),
                Outcome::Later(after, bytes) => return Answer::Later(after, bytes),
                Outcome::Drop => return Answer::Nothing,
                Outcome::Close => return Answer::Close,
            }
        }
        let reply: &'a Reply = self.reply;
        match reply {
            Reply::None => Answer::Nothing,
            Reply::Echo => Answer::Send(Cow::Borrowed(message)),
            Reply::Bytes(b) => Answer::Send(Cow::Borrowed(b)),
        }
    }
}

/// The answer to a message, with `--checksum` added.
fn answered<'a: 'm, 'm>(responder: &mut Responder<'a>, messages: &Messages, message: &'m [u8]) -> Answer<'m> {
    match responder.answer(message) {
        Answer::Send(bytes) => Answer::Send(match messages.outgoing(&bytes) {
            Cow::Owned(with_sum) => Cow::Owned(with_sum),
            Cow::Borrowed(_) => bytes,
        }),
        Answer::Later(after, bytes) => Answer::Later(after, messages.outgoing(&bytes).into_owned()),
        other => other,
    }
}

/// One connection's receive side: its splitter (with what it holds), the responder, and
/// what messages carry.
pub struct Inbound<'a> {
    /// Raw framing, no --verify, no --checksum.
    plain: bool,
    splitter: Splitter,
    responder: Responder<'a>,
    messages: &'a Messages,
}

impl<'a> Inbound<'a> {
    pub fn new(messages: &'a Messages, reply: &'a Reply) -> Inbound<'a> {
        let plain = messages.frame == FrameSpec::Raw && messages.verify.is_none() && messages.append.is_none();
        let responder = Responder::new(reply, messages.rules.as_deref());
        Inbound { plain, splitter: Splitter::new(messages.frame.clone(), messages.max_frame), responder, messages }
    }

    /// Feeds what one read returned; calls `each(message, mark, answer)` for every whole
    /// message (and for bytes past the limit, marked, with no answer).
    #[inline]
    pub fn on_read(&mut self, chunk: &[u8], mut each: impl FnMut(&[u8], Mark, Answer<'_>)) {
        let (responder, messages) = (&mut self.responder, self.messages);
        if self.plain {
            // Each read a message, nothing to check or add: the echo server's hot path.
            return each(chunk, Mark::None, responder.answer(chunk));
        }
        self.splitter.push(chunk, |frame| match frame {
            Frame::Whole(message) => each(message, messages.mark(message), answered(responder, messages, message)),
            Frame::TooLong(bytes) => each(bytes, Mark::TooLong(messages.max_frame), Answer::Nothing),
        });
    }

    /// What is left of an incomplete message when the stream ends.
    pub fn rest(&mut self) -> Option<Bytes> {
        self.splitter.rest().map(Bytes::from)
    }

    /// `--frame idle:MS`: when the bytes held make a message if nothing comes for this
    /// long. The engine calls [`Inbound::on_gap`] when it passes.
    pub fn gap(&self) -> Option<std::time::Duration> {
        self.splitter.gap().filter(|_| self.splitter.held() > 0)
    }

    /// `--frame`: whether the framing is by time (`idle:MS`): a stream's end then ends a
    /// message rather than cutting one short.
    pub fn by_time(&self) -> bool {
        self.splitter.gap().is_some()
    }

    /// The gap passed: what is held is a message, marked and answered like any other.
    pub fn on_gap(&mut self, each: impl FnOnce(&[u8], Mark, Answer<'_>)) {
        let (responder, messages) = (&mut self.responder, self.messages);
        self.splitter.flush(|frame| {
            if let Frame::Whole(message) = frame {
                each(message, messages.mark(message), answered(responder, messages, message))
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_messages_are_reads_and_answers_follow_the_reply() {
        let ok = Reply::Bytes(Bytes::from_static(b"ok"));
        for (reply, want) in [(Reply::None, None), (Reply::Echo, Some(&b"ab"[..])), (ok, Some(&b"ok"[..]))] {
            let messages = Messages::default();
            let mut inbound = Inbound::new(&messages, &reply);
            let mut seen = Vec::new();
            inbound.on_read(b"ab", |m, _, a| seen.push((m.to_vec(), a.bytes().map(<[u8]>::to_vec))));
            assert_eq!(seen, vec![(b"ab".to_vec(), want.map(<[u8]>::to_vec))]);
            assert!(inbound.rest().is_none());
        }
    }
}
