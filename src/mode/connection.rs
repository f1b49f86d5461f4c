//! One TCP connection's life, for the server (one per client) and the client alike: read
//! what arrives (an event per message when a view wants it; an echo or a fixed reply when
//! asked), write what others queue for it (stdin lines, `--send`), close with a reason.
//!
//! Memory: an idle connection holds no buffer. Reads go into one buffer per worker thread;
//! bytes are copied out only when a view wants them or a write could not finish at once.
//! While a write is blocked the connection stops reading, so a peer that does not read
//! slows itself down instead of growing our memory; what others queue for it is bounded
//! by `queue_limit`.

use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::net::Shutdown;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::Either;
use socket2::SockRef;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::event::{CloseReason, Dir, EventKind};
use crate::event::{Events, Sending};

use super::conn::Outbox;
pub use super::conn::{CloseRequest, Conn, Push};
pub use super::inbound::Reply;
use super::inbound::{Answer, Inbound, Messages};
use super::received::{
    Delayed, Got, Out, Read, after_gap, finished_write, incomplete, read_and_answer, rearm, send_later,
};
pub use super::stream::Stream;
use super::timer::Timer;

#[derive(Debug, Clone)]
pub struct ConnOptions {
    pub reply: Reply,
    /// What a message is and carries (`--frame`, `--verify`, `--checksum` on replies).
    pub messages: Messages,
    pub idle_timeout: Option<Duration>,
    /// How long to keep reading after we sent FIN, so the peer's last bytes are seen and
    /// the close stays a FIN rather than a reset.
    pub linger: Duration,
}

/// Reads land here: one buffer per worker thread instead of one per connection. 64 KiB
/// stays in cache between the read and the write; measured faster and steadier than
/// 256 KiB for bulk echo, and as fast as a hand-written C epoll echo server.
const READ_BUF: usize = 64 * 1024;
thread_local! {
    pub(super) static READ_BUFFER: RefCell<Vec<u8>> = RefCell::new(vec![0; READ_BUF]);
}

/// Runs `f` on this worker thread's read buffer. `f` must not await: the buffer is only
/// borrowed for the synchronous read (and the write that follows it at once).
pub(crate) fn with_read_buffer<R>(f: impl FnOnce(&mut [u8]) -> R) -> R {
    READ_BUFFER.with_borrow_mut(|buf| f(buf))
}

/// Writes as much as the socket takes now.
pub(crate) fn write_now(stream: &TcpStream, bytes: &[u8]) -> io::Result<usize> {
    let mut at = 0;
    while at < bytes.len() {
        match stream.try_write(&bytes[at..]) {
            Ok(n) => at += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(at)
}

fn io_reason(e: &io::Error) -> CloseReason {
    match e.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted | io::ErrorKind::BrokenPipe => {
            CloseReason::Reset
        }
        _ => CloseReason::Error(crate::error::io_reason(e)),
    }
}

/// How long a stopping run (ctrl-c, SIGTERM, `:quit`) keeps reading after its FIN: a stop
/// must win within 100 ms even against a peer that never stops sending.
pub(crate) const STOP_LINGER: Duration = Duration::from_millis(100);

/// How long to keep reading after our FIN for a close with this reason.
pub(crate) fn linger_for(reason: &CloseReason, linger: Duration) -> Duration {
    match reason {
        CloseReason::Stopping => linger.min(STOP_LINGER),
        _ => linger,
    }
}

/// How long a peer that sent FIN gets to take what we still have queued for it.
const FLUSH_AFTER_EOF: Duration = Duration::from_secs(5);

/// What the outbox asks of the connection next.
enum Step {
    /// Close now (kick, stop, idle): queued bytes are dropped.
    Close(CloseReason),
    /// Write these queued bytes.
    Write(Bytes),
    /// Everything queued is written: send FIN, keep reading.
    HalfClose,
    Wait,
}

/// Looks at the outbox under its lock (when it holds anything); the caller acts once the
/// lock is released.
fn next_step(conn: &Conn, idle_writer: bool, half_closed: bool) -> Step {
    let Some(mut ob) = conn.outbox_if_busy() else { return Step::Wait };
    let step = take_step(&mut ob, idle_writer, half_closed);
    conn.note_taken(&ob);
    step
}

fn take_step(ob: &mut Outbox, idle_writer: bool, half_closed: bool) -> Step {
    if let Some(CloseRequest::Now(reason)) = &ob.close {
        let reason = reason.clone();
        ob.queue.clear();
        ob.queued = 0;
        return Step::Close(reason);
    }
    if !idle_writer {
        return Step::Wait;
    }
    if let Some(bytes) = ob.queue.pop_front() {
        return Step::Write(bytes);
    }
    if matches!(ob.close, Some(CloseRequest::AfterWrites)) && !half_closed {
        ob.close = None;
        return Step::HalfClose;
    }
    Step::Wait
}

/// Runs the connection until it ends; returns why. The caller owns the stream and closes it.
/// A stop reaches it as a close request on `conn` (the server closes every connection it
/// has; a client, its own), not as a token each connection polls on every turn.
// An `async move` block rather than an `async fn`: an async fn keeps its arguments twice
// in its future (as given and as moved in), in every idle client's task.
#[allow(clippy::manual_async_fn)]
pub fn serve<'a>(
    stream: &'a TcpStream,
    conn: &'a Conn,
    opts: &'a ConnOptions,
    events: &'a Events,
) -> impl Future<Output = CloseReason> + 'a {
    async move {
        let want_data = events.wants_data();
        let mut inbound = Inbound::new(&opts.messages, &opts.reply);
        let mut pending: Option<Out> = None;
        let mut read_open = true;
        let mut half_closed = false;
        // Set once we decided to close: we sent FIN and read until EOF or the deadline.
        let mut finishing: Option<CloseReason> = None;
        let mut idle = Timer::after(opts.idle_timeout);
        let mut deadline = Timer::default();
        let mut deadline_armed = false;
        // `--frame idle:MS`: when the message held ends for want of more bytes.
        let mut gap = Timer::default();
        let mut gap_armed = false;
        // Replies a rule delays (`after MS`).
        let mut later = Delayed::default();

        let shutdown_write = || {
            let _ = SockRef::from(stream).shutdown(Shutdown::Write);
        };

        loop {
            if finishing.is_none() {
                // The step is not held across the await below (it would size the future).
                let half_closing = match next_step(conn, pending.is_none(), half_closed) {
                    Step::Close(reason) => {
                        let linger = linger_for(&reason, opts.linger);
                        finishing = Some(reason);
                        conn.space.notify_waiters();
                        pending = None;
                        shutdown_write();
                        deadline.set(Instant::now() + linger);
                        deadline_armed = true;
                        continue;
                    }
                    Step::Write(bytes) => {
                        pending = Some(Out::queued(bytes));
                        false
                    }
                    Step::HalfClose => {
                        half_closed = true;
                        shutdown_write();
                        true
                    }
                    // The peer sent FIN and we have written everything: done.
                    Step::Wait if pending.is_none() && !read_open => return CloseReason::PeerClosed,
                    Step::Wait => false,
                };
                if half_closing {
                    events.send(EventKind::HalfClosed { id: conn.id, dir: Dir::Out }).await;
                    continue;
                }
            } else if !read_open {
                return finishing.take().expect("checked above");
            }

            tokio::select! {
                biased;
                // Ahead of reading: a peer that never stops sending cannot hold a close open.
                () = deadline.fired(), if deadline_armed => {
                    return match finishing.take() {
                        Some(reason) => reason,
                        // The peer sent FIN but does not take what we still have for it.
                        None => CloseReason::PeerClosed,
                    };
                }
                () = conn.woken(), if finishing.is_none() => {}
                // poll_fn over the socket's own waker slots: no waiter kept in the future.
                ready = poll_fn(|cx| stream.poll_write_ready(cx)), if pending.is_some() && finishing.is_none() => {
                    if let Err(e) = ready {
                        return io_reason(&e);
                    }
                    let out = pending.as_mut().expect("guarded by the branch condition");
                    match write_now(stream, &out.bytes[out.at..]) {
                        Ok(w) => out.at += w,
                        Err(e) => return io_reason(&e),
                    }
                    if out.at == out.bytes.len() {
                        finished_write(pending.take().expect("just written"), conn, want_data, events).await;
                    }
                }
                ready = poll_fn(|cx| stream.poll_read_ready(cx)), if read_open && (pending.is_none() || finishing.is_some()) => {
                    if let Err(e) = ready {
                        return io_reason(&e);
                    }
                    let answering = finishing.is_none() && !half_closed;
                    // Awaited after the match, so that what the read returned is not held
                    // across the await (it would size every connection's future).
                    let (sending, ended) = match read_and_answer(stream, &mut inbound, want_data, answering) {
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => (Sending::done(), None),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => (Sending::done(), None),
                        Err(e) => return io_reason(&e),
                        Ok(Read::Eof) => {
                            read_open = false;
                            if finishing.is_none() && !deadline_armed {
                                deadline.set(Instant::now() + FLUSH_AFTER_EOF);
                                deadline_armed = true;
                            }
                            (incomplete(&mut inbound, conn, want_data, events), None)
                        }
                        Ok(Read::Data(mut got)) => {
                            gap_armed = rearm(&inbound, &mut gap);
                            later.schedule(&mut got, conn);
                            settle(got, conn, events, &mut pending)
                        }
                    };
                    sending.await;
                    if let Some(reason) = ended {
                        return reason;
                    }
                }
                () = gap.fired(), if gap_armed && pending.is_none() && read_open && finishing.is_none() => {
                    gap_armed = false;
                    let (sending, ended) = {
                        let mut got = after_gap(&mut inbound, Some(stream), want_data, !half_closed);
                        later.schedule(&mut got, conn);
                        settle(got, conn, events, &mut pending)
                    };
                    sending.await;
                    if let Some(reason) = ended {
                        return reason;
                    }
                }
                bytes = later.due(), if later.waiting() && finishing.is_none() => send_later(conn, bytes),
                () = idle.fired(), if opts.idle_timeout.is_some() && finishing.is_none() => {
                    conn.idle_fired(opts.idle_timeout.expect("guarded by the branch condition"), &mut idle);
                }
            }
        }
    }
}

/// A read's messages counted and what is left of their answers set to be written: the
/// views' events still to await, and why to close if writing an answer failed.
fn settle<'a>(
    got: Got,
    conn: &'a Conn,
    events: &'a Events,
    pending: &mut Option<Out>,
) -> (Sending<'a>, Option<CloseReason>) {
    let (result, sending) = got.report(conn, events);
    match result {
        Ok(rest) => {
            *pending = rest;
            (sending, None)
        }
        Err(e) => (sending, Some(io_reason(&e))),
    }
}

/// One connection's life on any stream: plain TCP takes the readiness-based path
/// ([`serve`]), every other kind the read/write one ([`serve_io`]); what happens to a
/// received message is the same on both ([`Inbound`]). The stream is borrowed: its owner
/// is the connection's task, and a copy in each layer would size every idle client's task.
pub fn serve_stream<'a>(
    stream: &'a mut Stream,
    conn: &'a Conn,
    opts: &'a ConnOptions,
    events: &'a Events,
) -> impl Future<Output = CloseReason> + 'a {
    // Not an async fn: the future is one of the two, with nothing of its own beside it.
    match stream {
        Stream::Plain(tcp) => Either::Left(serve(tcp, conn, opts, events)),
        // Boxed: its larger future would otherwise size every plain connection's task too.
        other => Either::Right(Box::pin(serve_io(other, conn, opts, events))),
    }
}

/// The same life as [`serve`], for a stream that only reads and writes (TLS): the plain TCP
/// path above stays readiness-based and buffer-free while idle; a TLS connection holds
/// rustls's buffers anyway, and one read buffer of its own.
pub async fn serve_io<S: AsyncRead + AsyncWrite>(
    io: S,
    conn: &Conn,
    opts: &ConnOptions,
    events: &Events,
) -> CloseReason {
    let want_data = events.wants_data();
    let mut inbound = Inbound::new(&opts.messages, &opts.reply);
    let (mut rd, mut wr) = tokio::io::split(io);
    let mut rbuf = vec![0u8; 16 * 1024];
    let mut pending: Option<Out> = None;
    let mut read_open = true;
    let mut half_closed = false;
    let mut idle = Timer::after(opts.idle_timeout);
    let mut eof_deadline = Timer::default();
    let mut eof_armed = false;
    let mut gap = Timer::default();
    let mut gap_armed = false;
    let mut later = Delayed::default();

    loop {
        match next_step(conn, pending.is_none(), half_closed) {
            Step::Close(reason) => {
                conn.space.notify_waiters();
                // close_notify and FIN; then what the peer still sends, for a moment.
                let linger = linger_for(&reason, opts.linger);
                let _ = tokio::time::timeout(linger, wr.shutdown()).await;
                let _ =
                    tokio::time::timeout(linger, async { while matches!(rd.read(&mut rbuf).await, Ok(n) if n > 0) {} })
                        .await;
                return reason;
            }
            Step::Write(bytes) => pending = Some(Out::queued(bytes)),
            Step::HalfClose => {
                half_closed = true;
                let _ = wr.shutdown().await;
                events.send(EventKind::HalfClosed { id: conn.id, dir: Dir::Out }).await;
                continue;
            }
            Step::Wait if pending.is_none() && !read_open => return CloseReason::PeerClosed,
            Step::Wait => {}
        }
        let unsent: &[u8] = pending.as_ref().map_or(&[], |p| &p.bytes[p.at..]);
        tokio::select! {
            biased;
            () = conn.woken() => {}
            written = wr.write(unsent), if pending.is_some() => {
                let n = match written {
                    Ok(n) => n,
                    Err(e) => return io_reason(&e),
                };
                let out = pending.as_mut().expect("guarded by the branch condition");
                out.at += n;
                if out.at == out.bytes.len() {
                    if let Err(e) = wr.flush().await {
                        return io_reason(&e);
                    }
                    finished_write(pending.take().expect("just written"), conn, want_data, events).await;
                }
            }
            got = rd.read(&mut rbuf), if read_open && pending.is_none() => {
                // A TLS peer closing without close_notify ends the stream like a FIN.
                let got = match got {
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
                    other => other,
                };
                let n = match got {
                    Ok(0) => {
                        read_open = false;
                        incomplete(&mut inbound, conn, want_data, events).await;
                        if !eof_armed {
                            eof_deadline.set(Instant::now() + FLUSH_AFTER_EOF);
                            eof_armed = true;
                        }
                        continue;
                    }
                    Ok(n) => n,
                    Err(e) => return io_reason(&e),
                };
                let mut got = Got { n, ..Got::default() };
                // Answers are written by the branch above, in the order of their messages.
                inbound.on_read(&rbuf[..n], |message, mark, answer| {
                    let answer = if half_closed { Answer::Nothing } else { answer };
                    got.message(message, mark, answer, None, want_data)
                });
                gap_armed = rearm(&inbound, &mut gap);
                later.schedule(&mut got, conn);
                let (sending, ended) = settle(got, conn, events, &mut pending);
                sending.await;
                if let Some(reason) = ended {
                    return reason;
                }
            }
            () = gap.fired(), if gap_armed && pending.is_none() && read_open => {
                gap_armed = false;
                let mut got = after_gap(&mut inbound, None, want_data, !half_closed);
                later.schedule(&mut got, conn);
                let (sending, ended) = settle(got, conn, events, &mut pending);
                sending.await;
                if let Some(reason) = ended {
                    return reason;
                }
            }
            bytes = later.due(), if later.waiting() => send_later(conn, bytes),
            () = idle.fired(), if opts.idle_timeout.is_some() => {
                conn.idle_fired(opts.idle_timeout.expect("guarded by the branch condition"), &mut idle);
            }
            () = eof_deadline.fired(), if eof_armed => return CloseReason::PeerClosed,
        }
    }
}
