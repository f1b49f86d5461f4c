//! What one read (or a gap, `--frame idle:MS`) produced on a connection: its messages,
//! their answers (written at once while the bytes are still in the buffer, else kept in
//! order), what is shown of them, and replies a rule delays (`after MS`). Both connection
//! loops in [`super::connection`] use it; only how bytes move differs between them.

use std::collections::VecDeque;
use std::io;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::conn::{CloseRequest, Conn};
use super::connection::{READ_BUFFER, write_now};
use super::inbound::{Answer, Inbound};
use super::timer::Timer;
use crate::event::{CloseReason, Dir, EventKind, Events, Mark, Sending};

/// Bytes being written; `at` of them have gone.
pub(super) struct Out {
    pub(super) bytes: Bytes,
    pub(super) at: usize,
    /// Taken from the queue, whose byte count includes it until it is written.
    pub(super) queued: bool,
    /// How many messages the bytes hold (answers to several messages of one read).
    pub(super) msgs: u64,
}

impl Out {
    pub(super) fn queued(bytes: Bytes) -> Out {
        Out { bytes, at: 0, queued: true, msgs: 1 }
    }
}

/// What one read produced.
pub(super) enum Read {
    Eof,
    Data(Got),
}

/// One read's messages and their answers.
#[derive(Default)]
pub(super) struct Got {
    /// Bytes read.
    pub(super) n: usize,
    /// Whole messages in them.
    pub(super) msgs: u64,
    /// Copies of the messages with their marks, for the views, when they want them.
    pub(super) shown: Vec<(Bytes, Mark)>,
    /// Answers written whole at once: bytes, count, copies for the views.
    pub(super) written: usize,
    pub(super) written_msgs: u64,
    pub(super) written_shown: Vec<Bytes>,
    /// Answers the socket did not take at once (the first in part): written later.
    pub(super) rest: Option<Out>,
    pub(super) error: Option<io::Error>,
    /// A rule said to close the connection.
    pub(super) close: bool,
    /// Replies a rule delays (`after MS`), for the connection's [`Later`].
    pub(super) later: Vec<(Duration, Bytes)>,
}

impl Got {
    /// A message was received; `answer` is what to send back, written at once when a
    /// socket is given and takes it, else kept to be written later.
    #[inline]
    pub(super) fn message(
        &mut self,
        message: &[u8],
        mark: Mark,
        answer: Answer<'_>,
        stream: Option<&TcpStream>,
        want_data: bool,
    ) {
        self.msgs += 1;
        if want_data {
            self.shown.push((Bytes::copy_from_slice(message), mark));
        }
        if answer == Answer::Close {
            self.close = true;
        }
        if self.close {
            return;
        }
        if let Answer::Later(after, bytes) = answer {
            self.later.push((after, Bytes::from(bytes)));
            return;
        }
        let Some(answer) = answer.bytes() else { return };
        if self.error.is_some() {
            return;
        }
        if let Some(rest) = &mut self.rest {
            // Behind an answer still waiting: in order, after it.
            let mut joined = Vec::with_capacity(rest.bytes.len() + answer.len());
            joined.extend_from_slice(&rest.bytes);
            joined.extend_from_slice(answer);
            rest.bytes = Bytes::from(joined);
            rest.msgs += 1;
            return;
        }
        let written = match stream.map(|s| write_now(s, answer)) {
            Some(Ok(w)) => w,
            Some(Err(e)) => {
                self.error = Some(e);
                return;
            }
            None => 0,
        };
        if written == answer.len() {
            self.written += written;
            self.written_msgs += 1;
            if want_data {
                self.written_shown.push(Bytes::copy_from_slice(answer));
            }
        } else {
            self.rest = Some(Out { bytes: Bytes::copy_from_slice(answer), at: written, queued: false, msgs: 1 });
        }
    }

    /// Counts and shows what was received and answered; returns what is left to write.
    /// The counting happens at once; the views' events go as [`Events::send_all`] sends
    /// them (await the `Sending`; then act on the result).
    pub(super) fn report<'a>(self, conn: &'a Conn, events: &'a Events) -> (io::Result<Option<Out>>, Sending<'a>) {
        if self.close {
            conn.close(CloseRequest::Now(CloseReason::RuleClose));
        }
        // Counted before anything is shown: what was written is counted even while the
        // views are behind (`:list` in the meantime sees it).
        conn.count_in_msgs(self.n, self.msgs);
        if self.written_msgs > 0 {
            conn.count_out_msgs(self.written, self.written_msgs);
        }
        if self.shown.is_empty() && self.written_shown.is_empty() {
            return (self.error.map_or(Ok(self.rest), Err), Sending::done());
        }
        let id = conn.id;
        let received = self.shown.into_iter().map(move |(bytes, mark)| (Dir::In, bytes, mark));
        // After an error the answers written before it are not shown (they are counted).
        let answered = if self.error.is_some() { Vec::new() } else { self.written_shown };
        let answered = answered.into_iter().map(|bytes| (Dir::Out, bytes, Mark::None));
        let kinds = received.chain(answered).map(move |(dir, bytes, mark)| EventKind::Data {
            id,
            peer: conn.peer.clone(),
            dir,
            bytes,
            mark,
        });
        (self.error.map_or(Ok(self.rest), Err), events.send_all(kinds))
    }
}

/// Reads what the socket has into this thread's buffer and hands it to `inbound`; answers
/// are written at once, while the bytes are still in the buffer.
pub(super) fn read_and_answer(
    stream: &TcpStream,
    inbound: &mut Inbound<'_>,
    want_data: bool,
    answering: bool,
) -> io::Result<Read> {
    READ_BUFFER.with_borrow_mut(|buf| {
        // A read that does not fill the buffer took all there was: readiness is cleared
        // with it, instead of by one more read that only says EAGAIN.
        let n = super::carry::read_drained(stream, buf)?;
        if n == 0 {
            return Ok(Read::Eof);
        }
        let mut got = Got { n, ..Got::default() };
        inbound.on_read(&buf[..n], |message, mark, answer| {
            let answer = if answering { answer } else { Answer::Nothing };
            got.message(message, mark, answer, Some(stream), want_data)
        });
        Ok(Read::Data(got))
    })
}

/// `--frame idle:MS`: nothing came for the gap, so what is held is a message; its answer
/// is written at once when a socket is given and takes it.
pub(super) fn after_gap(
    inbound: &mut Inbound<'_>,
    stream: Option<&TcpStream>,
    want_data: bool,
    answering: bool,
) -> Got {
    let mut got = Got::default();
    inbound.on_gap(|message, mark, answer| {
        let answer = if answering { answer } else { Answer::Nothing };
        got.message(message, mark, answer, stream, want_data)
    });
    got
}

/// After a read: with `idle:MS` and a message held, the gap starts again; returns whether
/// it is armed.
pub(super) fn rearm(inbound: &Inbound<'_>, gap: &mut Timer) -> bool {
    match inbound.gap() {
        Some(after) => {
            gap.set(Instant::now() + after);
            true
        }
        None => false,
    }
}

/// The stream ended: what the framer holds of a message that never completed is a message
/// too, marked incomplete (with `idle:MS` the end of the stream ends it: not marked).
pub(super) fn incomplete<'a>(
    inbound: &mut Inbound<'_>,
    conn: &Conn,
    want_data: bool,
    events: &'a Events,
) -> Sending<'a> {
    let mark = if inbound.by_time() { Mark::None } else { Mark::Incomplete };
    if let Some(bytes) = inbound.rest() {
        conn.count_in_msgs(0, 1);
        if want_data {
            return events.send(EventKind::Data { id: conn.id, peer: conn.peer.clone(), dir: Dir::In, bytes, mark });
        }
    }
    Sending::done()
}

/// A write finished: count it, give its room in the queue back, show it.
pub(super) fn finished_write<'a>(done: Out, conn: &Conn, want_data: bool, events: &'a Events) -> Sending<'a> {
    conn.count_out_msgs(done.bytes.len(), done.msgs);
    if done.queued {
        conn.outbox().queued -= done.bytes.len();
        conn.space.notify_waiters();
    }
    if !want_data {
        return Sending::done();
    }
    events.send(EventKind::Data {
        id: conn.id,
        peer: conn.peer.clone(),
        dir: Dir::Out,
        bytes: done.bytes,
        mark: Mark::None,
    })
}

/// Replies waiting for their time (`after MS`), earliest first, with the one timer that
/// wakes the connection for the first of them. Bounded by bytes: a peer that asks faster
/// than the delay lets answers go cannot grow memory.
pub(crate) struct Later<T> {
    queue: VecDeque<(Instant, usize, T)>,
    held: usize,
    max: usize,
}

impl<T> Later<T> {
    /// At most `max` bytes of replies wait at once.
    pub(crate) fn new(max: usize) -> Later<T> {
        Later { queue: VecDeque::new(), held: 0, max }
    }

    /// Schedules `item` (`len` bytes) for `after` from now, and sets the timer for the
    /// earliest; `false` when that would hold more than the bound (nothing is kept).
    pub(crate) fn add(&mut self, after: Duration, len: usize, item: T, timer: &mut Timer) -> bool {
        if self.held + len > self.max {
            return false;
        }
        let at = Instant::now() + after;
        // Usually last (one delay for all): look from the back.
        let i = self.queue.iter().rposition(|(t, _, _)| *t <= at).map_or(0, |i| i + 1);
        self.queue.insert(i, (at, len, item));
        self.held += len;
        self.arm(timer);
        true
    }

    /// Bytes of replies waiting.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.held
    }

    /// Whether something waits (the timer is set for it).
    pub(crate) fn waiting(&self) -> bool {
        !self.queue.is_empty()
    }

    /// The timer fired: the item now due, and the timer set for the next.
    pub(crate) fn due(&mut self, timer: &mut Timer) -> Option<T> {
        let (_, len, item) = self.queue.pop_front()?;
        self.held -= len;
        self.arm(timer);
        Some(item)
    }

    fn arm(&self, timer: &mut Timer) {
        if let Some((at, _, _)) = self.queue.front() {
            timer.set(*at);
        }
    }
}

/// A TCP connection's delayed replies and the timer for the first of them, allocated at
/// the first reply a rule delays: most connections never have one, and every idle
/// client's future would otherwise hold both.
#[derive(Default)]
pub(super) struct Delayed(Option<Box<(Later<Bytes>, Timer)>>);

impl Delayed {
    /// Takes a read's delayed replies. More than the connection's queue limit waiting is a
    /// peer that asks faster than it is answered: it is dropped, as one whose queue is full.
    pub(super) fn schedule(&mut self, got: &mut Got, conn: &Conn) {
        if got.later.is_empty() {
            return;
        }
        let (later, timer) =
            &mut **self.0.get_or_insert_with(|| Box::new((Later::new(conn.queue_limit()), Timer::default())));
        for (after, bytes) in got.later.drain(..) {
            if !later.add(after, bytes.len(), bytes, timer) {
                conn.close(CloseRequest::Now(CloseReason::QueueFull(conn.queue_limit())));
                return;
            }
        }
    }

    /// Whether a reply waits.
    pub(super) fn waiting(&self) -> bool {
        self.0.as_ref().is_some_and(|d| d.0.waiting())
    }

    /// The next reply, when its time comes; never while none waits. Cancel-safe: the timer
    /// and the queue are looked at in one poll.
    pub(super) fn due(&mut self) -> impl Future<Output = Bytes> + '_ {
        std::future::poll_fn(move |cx| {
            let Some(d) = self.0.as_mut() else { return Poll::Pending };
            let (later, timer) = &mut **d;
            if !later.waiting() || timer.poll_fired(cx).is_pending() {
                return Poll::Pending;
            }
            match later.due(timer) {
                Some(bytes) => Poll::Ready(bytes),
                None => Poll::Pending,
            }
        })
    }
}

/// A delayed reply is due: it joins the connection's queue (a peer that does not read and
/// lets the queue fill is dropped, as for any queued bytes).
pub(super) fn send_later(conn: &Conn, bytes: Bytes) {
    if conn.push(bytes) == super::conn::Push::Full {
        conn.close(CloseRequest::Now(CloseReason::QueueFull(conn.queue_limit())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn delayed_replies_are_bounded_by_bytes_and_leave_in_time_order() {
        let mut timer = Timer::default();
        let mut later = Later::new(10);
        assert!(later.add(Duration::from_millis(300), 4, "late", &mut timer));
        assert!(later.add(Duration::from_millis(100), 4, "soon", &mut timer));
        assert!(!later.add(Duration::from_millis(100), 4, "over", &mut timer), "12 bytes would pass 10");
        assert_eq!(later.held(), 8, "what is refused is not kept");
        timer.fired().await;
        assert_eq!(later.due(&mut timer), Some("soon"));
        assert_eq!(later.held(), 4);
        timer.fired().await;
        assert_eq!(later.due(&mut timer), Some("late"));
        assert_eq!((later.held(), later.waiting()), (0, false));
    }
}
