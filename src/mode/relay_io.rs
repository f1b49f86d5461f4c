//! The relay for streams that only read and write (TLS on either side, later other kinds):
//! the same rules as the readiness path in [`super::relay`], copying through a buffer per
//! direction. What was delivered is shown through the same [`Shown`].

use std::io;
use std::pin::pin;
use std::time::Duration;

use bytes::Bytes;
use socket2::SockRef;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::connection::{CloseRequest, Conn};
use super::relay::{Relay, count};
use super::relay_view::Shown;
use super::stream::Stream;
use super::timer::Timer;
use crate::event::{CloseReason, Dir, EventKind, Events};
use crate::notice::Notice;

/// One direction of the stream relay: bytes read, waiting to be written.
#[derive(Default)]
struct IoFlow {
    pending: Option<(Bytes, usize)>,
    eof: bool,
    passed: bool,
}

impl IoFlow {
    /// What is still to be written.
    fn unsent(&self) -> &[u8] {
        self.pending.as_ref().map_or(&[], |(b, at)| &b[*at..])
    }

    /// `n` more bytes were written: counted; when that finished the chunk, it is shown.
    async fn wrote(&mut self, n: usize, conn: &Conn, dir: Dir, shown: &mut Shown, events: &Events) {
        count(conn, dir, n, false);
        let (bytes, at) = self.pending.as_mut().expect("written only while pending");
        *at += n;
        if *at == bytes.len() {
            let (bytes, _) = self.pending.take().expect("present");
            shown.delivered(conn, dir, bytes, events).await;
        }
    }

    /// A read from the source finished: end of stream, or a chunk to pass on (counted and
    /// shown as it is written). An error is the source's failure.
    async fn took(
        &mut self,
        got: io::Result<usize>,
        buf: &[u8],
        conn: &Conn,
        dir: Dir,
        shown: &mut Shown,
        events: &Events,
    ) -> Result<(), ()> {
        if ended(&got) {
            self.eof = true;
            shown.ended(conn, dir, events).await;
            return Ok(());
        }
        let n = got.map_err(drop)?;
        count(conn, dir, 0, shown.reads_are_messages(dir));
        self.pending = Some((Bytes::copy_from_slice(&buf[..n]), 0));
        Ok(())
    }

    /// The drain deadline passed: shows what was written of the chunk in flight and names
    /// what was not delivered.
    async fn undelivered(&mut self, conn: &Conn, dir: Dir, shown: &mut Shown, events: &Events) {
        let Some((bytes, at)) = self.pending.take() else { return };
        if at > 0 {
            shown.delivered(conn, dir, bytes.slice(..at), events).await;
        }
        shown.ended(conn, dir, events).await;
        events
            .send(EventKind::Error {
                id: Some(conn.id),
                notice: Notice::NotDelivered { left: bytes.len() - at, dir, id: conn.id },
            })
            .await;
    }
}

/// A read that ended the stream: FIN, or (TLS) a close without close_notify, which many
/// peers do and which is no error here.
fn ended(got: &io::Result<usize>) -> bool {
    matches!(got, Ok(0)) || matches!(got, Err(e) if e.kind() == io::ErrorKind::UnexpectedEof)
}

/// The relay for streams that only read and write (TLS on either side, Unix sockets, a
/// child's pipes): the same rules as [`pump`], copying through a buffer per direction.
/// `dirs`: how the views name what the client sends and what the other end sends (c2t and
/// t2c in the relay; in and out for `--exec`).
pub(super) async fn pump_io(
    client: Stream,
    target: Stream,
    conn: &Conn,
    relay: &Relay,
    dirs: [Dir; 2],
    events: &Events,
    stop: &CancellationToken,
) -> CloseReason {
    use std::os::fd::{AsRawFd, BorrowedFd};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut shown = relay.shown(events);
    // The sockets underneath, to pass a reset on after the streams are split.
    // (A stream that is not TCP has no reset to pass on: it is closed.)
    let (client_fd, target_fd) = (client.tcp().map(|s| s.as_raw_fd()), target.tcp().map(|s| s.as_raw_fd()));
    let reset = |fd: Option<std::os::fd::RawFd>| {
        if let Some(fd) = fd {
            // SAFETY: the fd belongs to a stream this function owns until it returns.
            let fd = unsafe { BorrowedFd::borrow_raw(fd) };
            let _ = SockRef::from(&fd).set_linger(Some(Duration::ZERO));
        }
    };
    let (mut crd, mut cwr) = tokio::io::split(client);
    let (mut trd, mut twr) = tokio::io::split(target);
    let (mut cbuf, mut tbuf) = (vec![0u8; 16 * 1024], vec![0u8; 16 * 1024]);
    let (mut c2t, mut t2c) = (IoFlow::default(), IoFlow::default());
    let mut cancelled = pin!(stop.cancelled());
    let mut idle = Timer::after(relay.idle_timeout);
    let mut draining = false;
    let mut drain_deadline = Timer::default();

    loop {
        let stopped = draining && c2t.pending.is_none() && t2c.pending.is_none();
        if let Some(reason) = conn.close_now().or(stopped.then_some(CloseReason::Stopping)) {
            let linger = super::connection::linger_for(&reason, relay.linger);
            let _ = tokio::time::timeout(linger, async { tokio::join!(cwr.shutdown(), twr.shutdown()) }).await;
            return reason;
        }
        if c2t.eof && c2t.pending.is_none() && !c2t.passed {
            c2t.passed = true;
            let _ = twr.shutdown().await;
            events.send(EventKind::HalfClosed { id: conn.id, dir: dirs[0] }).await;
        }
        if t2c.eof && t2c.pending.is_none() && !t2c.passed {
            t2c.passed = true;
            let _ = cwr.shutdown().await;
            events.send(EventKind::HalfClosed { id: conn.id, dir: dirs[1] }).await;
            // A child whose output ended has exited, or soon will: its peer is done too.
            if matches!(relay.upstream, super::relay::Upstream::Exec(_)) {
                conn.close(CloseRequest::Now(CloseReason::ChildEnded));
                continue;
            }
        }
        if c2t.passed && t2c.passed {
            return CloseReason::BothClosed;
        }
        tokio::select! {
            biased;
            () = &mut cancelled, if !draining => {
                draining = true;
                drain_deadline.set(Instant::now() + relay.drain);
            }
            () = drain_deadline.fired(), if draining => {
                c2t.undelivered(conn, dirs[0], &mut shown, events).await;
                t2c.undelivered(conn, dirs[1], &mut shown, events).await;
                conn.close(CloseRequest::Now(CloseReason::Stopping));
            }
            () = conn.woken() => {}
            wrote = twr.write(c2t.unsent()), if c2t.pending.is_some() => {
                let ok = match wrote {
                    Ok(n) => {
                        c2t.wrote(n, conn, dirs[0], &mut shown, events).await;
                        c2t.pending.is_some() || twr.flush().await.is_ok()
                    }
                    Err(_) => false,
                };
                if !ok {
                    reset(client_fd);
                    return CloseReason::TargetReset;
                }
            }
            wrote = cwr.write(t2c.unsent()), if t2c.pending.is_some() => {
                let ok = match wrote {
                    Ok(n) => {
                        t2c.wrote(n, conn, dirs[1], &mut shown, events).await;
                        t2c.pending.is_some() || cwr.flush().await.is_ok()
                    }
                    Err(_) => false,
                };
                if !ok {
                    reset(target_fd);
                    return CloseReason::ClientReset;
                }
            }
            got = crd.read(&mut cbuf), if !draining && !c2t.eof && c2t.pending.is_none() => {
                if c2t.took(got, &cbuf, conn, dirs[0], &mut shown, events).await.is_err() {
                    reset(target_fd);
                    return CloseReason::ClientReset;
                }
            }
            got = trd.read(&mut tbuf), if !draining && !t2c.eof && t2c.pending.is_none() => {
                if t2c.took(got, &tbuf, conn, dirs[1], &mut shown, events).await.is_err() {
                    reset(client_fd);
                    return CloseReason::TargetReset;
                }
            }
            () = idle.fired(), if relay.idle_timeout.is_some() && !draining => conn.idle_fired(relay.idle_timeout.expect("guarded"), &mut idle),
        }
    }
}
