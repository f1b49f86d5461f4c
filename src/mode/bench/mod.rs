//! `netassist bench HOST PORT`: a load generator that checks what comes back and tells the
//! truth about latency.
//!
//! Connections are shared out over `--threads` worker threads, each running a single-threaded
//! runtime: no cross-thread wake-ups on the hot path. Each connection's byte stream is a
//! position-dependent pattern (as in echoload), so checking an echo is one compare. With
//! `--rate` the load is an open loop: every message has a due time and its latency counts
//! from then, so a stalled server cannot hide behind a slowed client (coordinated omission).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::notice::Failure;

/// What each connection does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchMode {
    /// Send a message, wait for it (or --expect) to come back, again: round trips.
    Pingpong,
    /// Keep --window bytes in flight and check the echoed stream.
    Stream,
    /// Connect, exchange one message, close; again: the accept rate.
    Churn,
    /// Send only (what comes back is read and dropped).
    Sink,
}

crate::lang::value_enum!(BenchMode {
    Pingpong => "pingpong", t!("value.bench_mode.pingpong"),
    Stream => "stream", t!("value.bench_mode.stream"),
    Churn => "churn", t!("value.bench_mode.churn"),
    Sink => "sink", t!("value.bench_mode.sink"),
});

impl BenchMode {
    pub fn as_str(self) -> &'static str {
        match self {
            BenchMode::Pingpong => "pingpong",
            BenchMode::Stream => "stream",
            BenchMode::Churn => "churn",
            BenchMode::Sink => "sink",
        }
    }
}

#[derive(Debug, Clone)]
pub struct BenchConfig {
    pub target: SocketAddr,
    pub conns: usize,
    /// Message size (with --payload: its length).
    pub len: usize,
    pub duration: Duration,
    pub mode: BenchMode,
    pub window: usize,
    pub threads: usize,
    /// Messages per second in total, open loop.
    pub rate: Option<f64>,
    /// Connections opened per second while ramping up.
    pub connect_rate: Option<f64>,
    /// A fixed message instead of the checked pattern (for servers that do not echo).
    pub payload: Option<Bytes>,
    /// What the server answers each message with, when it does not echo.
    pub expect: Option<Bytes>,
    pub udp: bool,
    /// How long to wait for an answer before it counts as lost (UDP) or failed (TCP).
    pub timeout: Duration,
}

// ---- The pattern: connection `id`'s stream at position `pos` --------------------------

const PERIOD: usize = 65_521;
const CHUNK: usize = 64 * 1024;

static TABLE: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let mut x: u32 = 2_463_534_242;
    let mut t = vec![0u8; 2 * PERIOD + CHUNK];
    for i in 0..t.len() {
        if i < PERIOD {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            t[i] = x as u8;
        } else {
            t[i] = t[i % PERIOD];
        }
    }
    t
});

/// `len` (at most 64 KiB) bytes of connection `id`'s stream from `pos`.
fn pattern(id: u64, pos: u64, len: usize) -> &'static [u8] {
    let off = ((pos + id * 977) % PERIOD as u64) as usize;
    &TABLE[off..off + len.min(CHUNK)]
}

// ---- Counting ---------------------------------------------------------------------------

/// Figures every thread adds to as it goes, for the live line.
#[derive(Default)]
pub struct Live {
    pub rounds: AtomicU64,
    pub sent: AtomicU64,
    pub received: AtomicU64,
    pub errors: AtomicU64,
    pub mismatches: AtomicU64,
}

/// What one thread measured.
struct Tally {
    latency: Histogram<u64>,
    connect: Histogram<u64>,
    errors: BTreeMap<Failure, u64>,
    mismatches: u64,
    rounds: u64,
    sent: u64,
    received: u64,
    lost: u64,
    late: u64,
    alive: u64,
    /// The first wrong answer: what was expected and what came, for the report.
    first_mismatch: Option<Mismatch>,
}

/// A wrong answer: the first bytes that differ, from where they start.
#[derive(Debug, Clone)]
pub struct Mismatch {
    /// Where in the answer the difference starts.
    pub at: usize,
    pub expected: Vec<u8>,
    pub got: Vec<u8>,
}

impl Mismatch {
    /// The bytes from the first difference on (at most 16 of each).
    fn new(expected: &[u8], got: &[u8], offset: usize) -> Mismatch {
        let at = expected.iter().zip(got).position(|(a, b)| a != b).unwrap_or(expected.len().min(got.len()));
        let show = |b: &[u8]| b[at.min(b.len())..b.len().min(at + 16)].to_vec();
        Mismatch { at: offset + at, expected: show(expected), got: show(got) }
    }

    fn words(&self) -> String {
        let hex = |b: &[u8]| if b.is_empty() { "nothing".to_string() } else { crate::render::hex::spaced(b) };
        format!("at byte {}: expected {}, got {}", self.at, hex(&self.expected), hex(&self.got))
    }
}

fn histogram() -> Histogram<u64> {
    // Nanoseconds from 1 ns to an hour, 3 significant digits.
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid histogram bounds")
}

impl Tally {
    fn new() -> Tally {
        Tally {
            latency: histogram(),
            connect: histogram(),
            errors: BTreeMap::new(),
            mismatches: 0,
            rounds: 0,
            sent: 0,
            received: 0,
            lost: 0,
            late: 0,
            alive: 0,
            first_mismatch: None,
        }
    }

    fn merge(&mut self, other: Tally) {
        let _ = self.latency.add(&other.latency);
        let _ = self.connect.add(&other.connect);
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
        self.mismatches += other.mismatches;
        self.rounds += other.rounds;
        self.sent += other.sent;
        self.received += other.received;
        self.lost += other.lost;
        self.late += other.late;
        self.alive += other.alive;
        if self.first_mismatch.is_none() {
            self.first_mismatch = other.first_mismatch;
        }
    }
}

/// A thread's tally and the live figures, as its connection tasks see them.
#[derive(Clone)]
struct Counts {
    tally: Rc<RefCell<Tally>>,
    live: Arc<Live>,
}

impl Counts {
    fn round(&self, latency: Duration, sent: usize, received: usize) {
        let mut t = self.tally.borrow_mut();
        t.latency.saturating_record(latency.as_nanos().max(1) as u64);
        t.rounds += 1;
        t.sent += sent as u64;
        t.received += received as u64;
        self.live.rounds.fetch_add(1, Ordering::Relaxed);
        self.live.sent.fetch_add(sent as u64, Ordering::Relaxed);
        self.live.received.fetch_add(received as u64, Ordering::Relaxed);
    }

    fn bytes(&self, sent: usize, received: usize) {
        let mut t = self.tally.borrow_mut();
        t.sent += sent as u64;
        t.received += received as u64;
        self.live.sent.fetch_add(sent as u64, Ordering::Relaxed);
        self.live.received.fetch_add(received as u64, Ordering::Relaxed);
    }

    fn error(&self, kind: Failure) {
        *self.tally.borrow_mut().errors.entry(kind).or_default() += 1;
        self.live.errors.fetch_add(1, Ordering::Relaxed);
    }

    fn mismatch(&self, sample: Option<Mismatch>) {
        let mut t = self.tally.borrow_mut();
        t.mismatches += 1;
        if t.first_mismatch.is_none() {
            t.first_mismatch = sample;
        }
        self.live.mismatches.fetch_add(1, Ordering::Relaxed);
    }

    fn connected(&self, took: Duration) {
        self.tally.borrow_mut().connect.saturating_record(took.as_nanos().max(1) as u64);
    }
}

/// Names an I/O error by kind, for the errors table.
fn kind_of(e: &io::Error) -> Failure {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => Failure::Refused,
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted | io::ErrorKind::BrokenPipe => Failure::Reset,
        io::ErrorKind::TimedOut => Failure::Timeout,
        io::ErrorKind::UnexpectedEof => Failure::ClosedByServer,
        io::ErrorKind::AddrNotAvailable => Failure::OutOfPorts,
        _ if matches!(e.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE)) => Failure::OutOfFds,
        _ => Failure::Other,
    }
}

/// Why a connection's loop stopped.
enum Stop {
    /// The run is over.
    Deadline,
    /// The connection failed: counted; reconnect.
    Lost,
    /// The answer was wrong: counted; reconnect after a pause, so that a server that always
    /// answers wrong is not hammered with connections.
    Wrong,
}

// ---- Running ------------------------------------------------------------------------------

/// The measured run, ready to be shown.
pub struct Report {
    pub config: BenchConfig,
    pub elapsed: Duration,
    /// The wall clock when the run began (for merging runs from many machines).
    pub started_at: std::time::SystemTime,
    tally: Tally,
}

/// Runs the benchmark on `threads` threads; `live` is updated as it goes; `stop` ends it
/// early (ctrl-c), with the figures so far.
pub fn run(config: BenchConfig, live: Arc<Live>, stop: CancellationToken) -> io::Result<Report> {
    let threads = config.threads.clamp(1, config.conns.max(1));
    let started = std::time::Instant::now();
    let started_at = std::time::SystemTime::now();
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (config, live, stop) = (config.clone(), live.clone(), stop.clone());
            std::thread::Builder::new().name(format!("bench-{t}")).spawn(move || -> io::Result<Tally> {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                Ok(rt.block_on(thread_main(config, t, threads, start, live, stop)))
            })
        })
        .collect::<Result<_, _>>()?;
    let mut tally = Tally::new();
    for h in handles {
        let t = h.join().map_err(|_| io::Error::other("a bench thread panicked"))??;
        tally.merge(t);
    }
    // The run may end early: every connection refused, or ctrl-c.
    Ok(Report { config, elapsed: started.elapsed(), started_at, tally })
}

async fn thread_main(
    config: BenchConfig,
    thread: usize,
    threads: usize,
    start: Instant,
    live: Arc<Live>,
    stop: CancellationToken,
) -> Tally {
    let counts = Counts { tally: Rc::new(RefCell::new(Tally::new())), live };
    let deadline = start + config.duration;
    let local = tokio::task::LocalSet::new();
    let config = Rc::new(config);
    for id in (thread..config.conns).step_by(threads) {
        let (config, counts) = (config.clone(), counts.clone());
        local.spawn_local(async move {
            if let Some(rate) = config.connect_rate {
                tokio::time::sleep_until(start + Duration::from_secs_f64(id as f64 / rate)).await;
            }
            connection(id as u64, &config, &counts, start, deadline).await;
        });
    }
    // Stopping drops the LocalSet and with it every connection task.
    tokio::select! {
        () = local => {}
        () = stop.cancelled() => {}
    }
    std::mem::replace(&mut *counts.tally.borrow_mut(), Tally::new())
}

/// Waits until `at` to within microseconds: tokio's timer for all but the last two
/// milliseconds (it rounds up to the next millisecond, and a parked runtime's wake-up rounds
/// again), then yielding until the moment comes. A message sent late by the client's timer
/// would otherwise count as the server's latency.
async fn sleep_precisely(at: Instant) {
    let coarse = at - Duration::from_millis(2);
    if coarse > Instant::now() {
        tokio::time::sleep_until(coarse).await;
    }
    while Instant::now() < at {
        tokio::task::yield_now().await;
    }
}

/// The time message `k` of connection `id` is due in an open loop, if there is one.
fn due(config: &BenchConfig, start: Instant, id: u64, k: u64) -> Option<Instant> {
    let rate = config.rate?;
    let per_conn = rate / config.conns as f64;
    // Spread the connections' first messages over one interval.
    let offset = id as f64 / rate;
    Some(start + Duration::from_secs_f64(offset + k as f64 / per_conn))
}

/// One connection's messages in time: when each is due (open loop) and when its latency
/// starts. In an open loop a message's latency counts from when it was due, whether it was
/// sent then or waited for the previous answer: a stalled server cannot hide behind a
/// client that waits for it (coordinated omission).
struct Schedule {
    /// Messages so far on this connection id.
    k: u64,
    start: Instant,
    deadline: Instant,
}

impl Schedule {
    /// Waits until the next message is due; returns when its latency starts, or `None` once
    /// the run is over.
    async fn next(&mut self, config: &BenchConfig, id: u64) -> Option<Instant> {
        let due_at = due(config, self.start, id, self.k);
        if let Some(at) = due_at {
            if at >= self.deadline {
                tokio::time::sleep_until(self.deadline).await;
                return None;
            }
            sleep_precisely(at).await;
        }
        Some(due_at.unwrap_or_else(Instant::now))
    }

    /// The message is answered: returns its latency.
    fn done(&mut self, began: Instant) -> Duration {
        self.k += 1;
        began.elapsed()
    }
}

async fn connection(id: u64, config: &BenchConfig, counts: &Counts, start: Instant, deadline: Instant) {
    let mut k = Schedule { k: 0, start, deadline };
    let k = &mut k;
    loop {
        if Instant::now() >= deadline {
            return;
        }
        let stop = if config.udp {
            udp_connection(id, config, counts, k).await
        } else if config.mode == BenchMode::Churn {
            churn_once(id, config, counts, k).await
        } else {
            let stream = match connect(config, counts, deadline).await {
                Some(s) => s,
                None => {
                    // Refused or failed: wait a little before the next try, or give up if
                    // the run is over.
                    let pause = Instant::now() + Duration::from_millis(100);
                    tokio::time::sleep_until(pause.min(deadline)).await;
                    continue;
                }
            };
            counts.tally.borrow_mut().alive += 1;
            let stop = match config.mode {
                BenchMode::Pingpong => pingpong(stream, id, config, counts, k).await,
                BenchMode::Stream => stream_mode(stream, id, config, counts, deadline).await,
                BenchMode::Sink => sink(stream, id, config, counts, k).await,
                BenchMode::Churn => unreachable!("handled above"),
            };
            if matches!(stop, Stop::Lost | Stop::Wrong) {
                counts.tally.borrow_mut().alive -= 1;
            }
            stop
        };
        match stop {
            Stop::Deadline => return,
            Stop::Wrong => tokio::time::sleep_until((Instant::now() + WRONG_PAUSE).min(deadline)).await,
            Stop::Lost => {}
        }
    }
}

async fn connect(config: &BenchConfig, counts: &Counts, deadline: Instant) -> Option<TcpStream> {
    let began = Instant::now();
    let limit = (began + config.timeout).min(deadline);
    match tokio::time::timeout_at(limit, TcpStream::connect(config.target)).await {
        Ok(Ok(s)) => {
            counts.connected(began.elapsed());
            let _ = s.set_nodelay(true);
            Some(s)
        }
        Ok(Err(e)) => {
            counts.error(kind_of(&e));
            None
        }
        Err(_) if Instant::now() >= deadline => None,
        Err(_) => {
            counts.error(Failure::ConnectTimeout);
            None
        }
    }
}

pub mod merge;
mod modes;
mod report;

use modes::{WRONG_PAUSE, churn_once, pingpong, sink, stream_mode, udp_connection};

#[cfg(test)]
mod tests {
    use super::report::{thousands, time};
    use super::*;

    #[test]
    fn the_pattern_repeats_only_per_period_and_differs_per_connection() {
        assert_eq!(pattern(0, 0, 16), pattern(0, PERIOD as u64, 16));
        assert_ne!(pattern(0, 0, 16), pattern(1, 0, 16));
        assert_eq!(pattern(3, 10, 100)[5..], pattern(3, 15, 95)[..]);
        assert_eq!(pattern(0, PERIOD as u64 - 1, CHUNK).len(), CHUNK);
    }

    #[test]
    fn open_loop_schedule() {
        let config = BenchConfig {
            target: "127.0.0.1:1".parse().unwrap(),
            conns: 4,
            len: 8,
            duration: Duration::from_secs(1),
            mode: BenchMode::Pingpong,
            window: 0,
            threads: 1,
            rate: Some(1000.0),
            connect_rate: None,
            payload: None,
            expect: None,
            udp: false,
            timeout: Duration::from_secs(1),
        };
        let start = Instant::now();
        // 1000/s over 4 connections: each every 4 ms, the connections 1 ms apart.
        assert_eq!(due(&config, start, 0, 1).unwrap() - start, Duration::from_millis(4));
        assert_eq!(due(&config, start, 2, 0).unwrap() - start, Duration::from_millis(2));
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(time(61_500), "62 µs");
        assert_eq!(time(2_500_000), "2.50 ms");
    }
}
