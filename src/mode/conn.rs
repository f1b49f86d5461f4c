//! The part of a connection others see: its id, counters and outbound queue (bounded by
//! `queue_limit`), and the requests to close it. Engines, stdin and the UI queue bytes and
//! ask for closes here; the connection's own task ([`super::connection`]) carries them out.

use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::Poll;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::task::AtomicWaker;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::event::{ClientInfo, CloseReason, ConnId, Counters, Peer};

/// Milliseconds on a monotonic clock that is cheap to read: every read and write of a
/// connection notes the time, and the precise clock (`Instant::now`) costs a TSC read and
/// arithmetic each time (measured: 0.6% of `relay --udp`'s CPU per round trip). On Linux
/// the coarse clock is a load from the vDSO page, as fresh as the last timer tick.
#[cfg(target_os = "linux")]
fn coarse_ms() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: writes the time into `ts`, which outlives the call.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000
}

/// How far [`coarse_ms`] can lag the time, in whole milliseconds (a tick: 1-10 ms).
#[cfg(target_os = "linux")]
fn coarse_tick_ms() -> u64 {
    static TICK: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICK.get_or_init(|| {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: writes the resolution into `ts`, which outlives the call.
        unsafe { libc::clock_getres(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
        (ts.tv_sec as u64 * 1000 + (ts.tv_nsec as u64).div_ceil(1_000_000)).max(1)
    })
}

#[cfg(not(target_os = "linux"))]
fn coarse_ms() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed().as_millis() as u64
}

#[cfg(not(target_os = "linux"))]
fn coarse_tick_ms() -> u64 {
    0
}

/// Ask a connection to close.
#[derive(Debug, Clone)]
pub enum CloseRequest {
    /// Stop writing, send FIN, and end with this reason.
    Now(CloseReason),
    /// Send FIN once everything queued is written; keep reading (a half-close).
    AfterWrites,
}

/// Whether a message was queued.
#[derive(Debug, PartialEq, Eq)]
pub enum Push {
    Queued,
    /// The queue limit was reached: the peer does not read.
    Full,
}

/// The part of a connection others see: its id and counters, its outbound queue.
pub struct Conn {
    pub id: ConnId,
    pub peer: Peer,
    pub since: SystemTime,
    started: Instant,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    msgs_in: AtomicU64,
    msgs_out: AtomicU64,
    /// When the last byte went in or out, in [`coarse_ms`].
    last_activity: AtomicU64,
    pub(super) outbox: Mutex<Outbox>,
    /// Wakes the connection task: something was queued, or a close was requested. A flag
    /// and an atomic waker: polled on every turn of the connection's loop, where a
    /// `Notify` would take its mutex each time.
    woke: AtomicBool,
    waker: AtomicWaker,
    /// Whether the outbox holds anything (bytes or a close request): set and cleared under
    /// its lock, read without it, so that a turn of a connection's loop with nothing queued
    /// takes no lock.
    has_work: AtomicBool,
    /// A stop asked a connection that drains first (the relay) to do so.
    stopping: AtomicBool,
    /// Wakes producers waiting for room in the queue.
    pub(super) space: Notify,
    queue_limit: usize,
}

#[derive(Default)]
pub(super) struct Outbox {
    pub(super) queue: VecDeque<Bytes>,
    pub(super) queued: usize,
    pub(super) close: Option<CloseRequest>,
}

impl Conn {
    pub fn new(id: ConnId, peer: impl Into<Peer>, queue_limit: usize) -> Conn {
        Conn {
            id,
            peer: peer.into(),
            since: SystemTime::now(),
            started: Instant::now(),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            msgs_in: AtomicU64::new(0),
            msgs_out: AtomicU64::new(0),
            last_activity: AtomicU64::new(coarse_ms()),
            outbox: Mutex::new(Outbox::default()),
            woke: AtomicBool::new(false),
            waker: AtomicWaker::new(),
            has_work: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            space: Notify::new(),
            queue_limit,
        }
    }

    pub(super) fn outbox(&self) -> std::sync::MutexGuard<'_, Outbox> {
        // A panic while holding this lock cannot leave the queue inconsistent: keep going.
        self.outbox.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues bytes for this connection without waiting. A message larger than the limit
    /// is still taken when nothing else is queued.
    pub fn push(&self, bytes: Bytes) -> Push {
        let mut ob = self.outbox();
        if ob.queued > 0 && ob.queued + bytes.len() > self.queue_limit {
            return Push::Full;
        }
        ob.queued += bytes.len();
        ob.queue.push_back(bytes);
        self.has_work_now(ob);
        Push::Queued
    }

    /// Queues bytes, waiting while the queue is full (the client: back-pressure to stdin).
    pub async fn push_wait(&self, bytes: Bytes) {
        loop {
            let mut room = pin!(self.space.notified());
            room.as_mut().enable();
            {
                let mut ob = self.outbox();
                if ob.queued == 0 || ob.queued + bytes.len() <= self.queue_limit {
                    ob.queued += bytes.len();
                    ob.queue.push_back(bytes);
                    self.has_work_now(ob);
                    return;
                }
            }
            room.await;
        }
    }

    /// Waits until everything queued has been handed to the socket (or dropped by a close).
    pub async fn drained(&self) {
        loop {
            let mut room = pin!(self.space.notified());
            room.as_mut().enable();
            if self.outbox().queued == 0 {
                return;
            }
            room.await;
        }
    }

    /// Asks the connection to close. A `Now` request wins over an earlier `AfterWrites`.
    pub fn close(&self, request: CloseRequest) {
        let mut ob = self.outbox();
        match (&ob.close, &request) {
            (Some(CloseRequest::Now(_)), _) => return,
            (_, CloseRequest::Now(_)) | (None, _) => ob.close = Some(request),
            _ => return,
        }
        self.has_work_now(ob);
    }

    pub fn counters(&self) -> Counters {
        Counters {
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            msgs_in: self.msgs_in.load(Ordering::Relaxed),
            msgs_out: self.msgs_out.load(Ordering::Relaxed),
        }
    }

    pub fn info(&self) -> ClientInfo {
        ClientInfo { id: self.id, peer: self.peer.clone(), since: self.since, counters: self.counters() }
    }

    /// How long since a byte last went either way.
    /// Never more than it has been: short by up to two ticks of the coarse clock.
    pub fn idle_for(&self) -> Duration {
        let quiet = coarse_ms().saturating_sub(self.last_activity.load(Ordering::Relaxed));
        Duration::from_millis(quiet.saturating_sub(coarse_tick_ms()))
    }

    pub fn queue_limit(&self) -> usize {
        self.queue_limit
    }

    pub fn age(&self) -> Duration {
        self.started.elapsed()
    }

    pub(super) fn touch(&self) {
        self.last_activity.store(coarse_ms(), Ordering::Relaxed);
    }

    /// The outbox under its lock, or `None` without taking it when it holds nothing.
    pub(super) fn outbox_if_busy(&self) -> Option<std::sync::MutexGuard<'_, Outbox>> {
        self.has_work.load(Ordering::Acquire).then(|| self.outbox())
    }

    /// Called under the outbox's lock by the connection once it has taken what was there.
    pub(super) fn note_taken(&self, ob: &Outbox) {
        if ob.queue.is_empty() && ob.close.is_none() {
            self.has_work.store(false, Ordering::Release);
        }
    }

    /// Asks a connection that drains before it closes (the relay) to stop.
    pub(crate) fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
        self.wake_up();
    }

    /// Whether [`stop`](Self::stop) was called.
    pub(crate) fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// A `Now` close request, if one was made (kick, stop, idle).
    pub(crate) fn close_now(&self) -> Option<CloseReason> {
        match &self.outbox_if_busy()?.close {
            Some(CloseRequest::Now(reason)) => Some(reason.clone()),
            _ => None,
        }
    }

    /// Something was put in the outbox: says so while still holding its lock, releases it,
    /// then wakes the connection.
    fn has_work_now(&self, ob: std::sync::MutexGuard<'_, Outbox>) {
        self.has_work.store(true, Ordering::Release);
        drop(ob);
        self.wake_up();
    }

    /// Wakes the connection's task (or the next wait for [`woken`](Self::woken)).
    fn wake_up(&self) {
        self.woke.store(true, Ordering::Release);
        self.waker.wake();
    }

    /// Completes when something was queued or a close was requested since the last time
    /// it completed. Holds nothing: a fresh one each turn of a loop costs no more.
    pub(crate) fn woken(&self) -> impl Future<Output = ()> + '_ {
        poll_fn(|cx| {
            if self.woke.swap(false, Ordering::Acquire) {
                return Poll::Ready(());
            }
            self.waker.register(cx.waker());
            // A wake between the check and the registration left only the flag.
            if self.woke.swap(false, Ordering::Acquire) { Poll::Ready(()) } else { Poll::Pending }
        })
    }

    pub(crate) fn count_in(&self, n: usize) {
        self.count_in_msgs(n, 1);
    }

    /// `n` bytes received, holding `msgs` whole messages.
    pub(crate) fn count_in_msgs(&self, n: usize, msgs: u64) {
        self.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
        self.msgs_in.fetch_add(msgs, Ordering::Relaxed);
        self.touch();
    }

    /// `n` bytes written, holding `msgs` messages.
    pub(crate) fn count_out_msgs(&self, n: usize, msgs: u64) {
        self.bytes_out.fetch_add(n as u64, Ordering::Relaxed);
        self.msgs_out.fetch_add(msgs, Ordering::Relaxed);
        self.touch();
    }

    /// The relay: `n` bytes delivered one way (`inbound`: from the client), and one
    /// message more when a read began it.
    pub(crate) fn count_delivered(&self, inbound: bool, n: usize, message: bool) {
        let (bytes, msgs) = if inbound { (&self.bytes_in, &self.msgs_in) } else { (&self.bytes_out, &self.msgs_out) };
        bytes.fetch_add(n as u64, Ordering::Relaxed);
        if message {
            msgs.fetch_add(1, Ordering::Relaxed);
        }
        self.touch();
    }

    pub(crate) fn count_out(&self, n: usize) {
        self.count_out_msgs(n, 1);
    }

    /// The idle timer (`Timer::after(idle_timeout)`) fired: closes the connection if it has been quiet
    /// for `limit`, else sets the timer for the rest of it.
    pub(crate) fn idle_fired(&self, limit: Duration, timer: &mut super::timer::Timer) {
        let quiet = self.idle_for();
        if quiet >= limit {
            self.close(CloseRequest::Now(CloseReason::IdleTimeout(limit)));
        } else {
            timer.set(Instant::now() + (limit - quiet));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The coarse clock behind the idle timeout never says a connection has been quiet for
    /// longer than it has (a timeout must not close it early), and it does move.
    #[test]
    fn idle_time_never_runs_ahead_of_the_real_time() {
        let conn = Conn::new(1, "127.0.0.1:1".parse::<std::net::SocketAddr>().unwrap(), 0);
        let before = std::time::Instant::now();
        conn.touch();
        loop {
            let idle = conn.idle_for();
            assert!(idle <= before.elapsed(), "{idle:?} idle after {:?}", before.elapsed());
            if idle >= Duration::from_millis(20) {
                break;
            }
            std::hint::spin_loop();
        }
    }
}
