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

/// What each connection does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchMode {
    /// Send a message, wait for it (or --expect) to come back, again: round trips
    Pingpong,
    /// Keep --window bytes in flight and check the echoed stream
    Stream,
    /// Connect, exchange one message, close; again: the accept rate
    Churn,
    /// Send only (what comes back is read and dropped)
    Sink,
}

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
    errors: BTreeMap<&'static str, u64>,
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

    fn error(&self, kind: &'static str) {
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
fn kind_of(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "refused",
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted | io::ErrorKind::BrokenPipe => "reset",
        io::ErrorKind::TimedOut => "timeout",
        io::ErrorKind::UnexpectedEof => "closed by the server",
        io::ErrorKind::AddrNotAvailable => "out of local ports",
        _ if e.raw_os_error() == Some(libc::EMFILE) || e.raw_os_error() == Some(libc::ENFILE) => {
            "out of file descriptors"
        }
        _ => "other I/O error",
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
    tally: Tally,
}

/// Runs the benchmark on `threads` threads; `live` is updated as it goes; `stop` ends it
/// early (ctrl-c), with the figures so far.
pub fn run(config: BenchConfig, live: Arc<Live>, stop: CancellationToken) -> io::Result<Report> {
    let threads = config.threads.clamp(1, config.conns.max(1));
    let started = std::time::Instant::now();
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
    Ok(Report { config, elapsed: started.elapsed(), tally })
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
            counts.error("connect timeout");
            None
        }
    }
}

/// What one message is: a fixed payload (with the answer expected for it), or `len` bytes
/// of the connection's pattern from `pos`.
enum Message<'a> {
    Fixed { out: &'a [u8], expect: &'a [u8] },
    Pattern { pos: u64, len: usize },
}

impl Message<'_> {
    fn new(config: &BenchConfig, pos: u64) -> Message<'_> {
        match &config.payload {
            Some(p) => Message::Fixed { out: p, expect: config.expect.as_deref().unwrap_or(p) },
            None => Message::Pattern { pos, len: config.len },
        }
    }

    fn sent_len(&self) -> usize {
        match self {
            Message::Fixed { out, .. } => out.len(),
            Message::Pattern { len, .. } => *len,
        }
    }

    fn answer_len(&self) -> usize {
        match self {
            Message::Fixed { expect, .. } => expect.len(),
            Message::Pattern { len, .. } => *len,
        }
    }

    /// Writes the message, the pattern in pieces of at most 64 KiB.
    async fn write<W: tokio::io::AsyncWrite + Unpin>(&self, w: &mut W, id: u64) -> io::Result<()> {
        match self {
            Message::Fixed { out, .. } => w.write_all(out).await,
            Message::Pattern { pos, len } => {
                let mut off = 0;
                while off < *len {
                    let piece = pattern(id, pos + off as u64, len - off);
                    w.write_all(piece).await?;
                    off += piece.len();
                }
                Ok(())
            }
        }
    }

    fn expected(&self) -> Option<&[u8]> {
        match self {
            Message::Fixed { expect, .. } => Some(expect),
            Message::Pattern { .. } => None,
        }
    }

    fn pos(&self) -> u64 {
        match self {
            Message::Fixed { .. } => 0,
            Message::Pattern { pos, .. } => *pos,
        }
    }
}

/// How long a connection that got a wrong answer waits before connecting again.
const WRONG_PAUSE: Duration = Duration::from_millis(100);

/// Reads exactly `want` bytes, comparing them with `expect` (or the pattern from `pos`).
/// Returns the first difference on a mismatch.
async fn read_checked(
    stream: &mut TcpStream,
    buf: &mut [u8],
    want: usize,
    expect: Option<&[u8]>,
    id: u64,
    pos: u64,
) -> io::Result<Result<(), Mismatch>> {
    let mut got = 0;
    while got < want {
        // A buffer larger than what is left: tokio then sees a short read and waits for
        // readiness instead of trying a read that would block.
        let n = stream.read(buf).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let take = n.min(want - got);
        // `buf` holds at most one pattern piece (64 KiB), so one compare covers it.
        let expected: &[u8] = match expect {
            Some(e) => &e[got..got + take],
            None => pattern(id, pos + got as u64, take),
        };
        if buf[..take] != *expected {
            return Ok(Err(Mismatch::new(expected, &buf[..take], got)));
        }
        if n > take {
            // More than was asked for.
            return Ok(Err(Mismatch::new(&[], &buf[take..n], want)));
        }
        got += take;
    }
    Ok(Ok(()))
}

async fn pingpong(
    mut stream: TcpStream,
    id: u64,
    config: &BenchConfig,
    counts: &Counts,
    schedule: &mut Schedule,
) -> Stop {
    let mut buf = vec![0u8; CHUNK];
    let mut pos = 0u64;
    let deadline = schedule.deadline;
    loop {
        let Some(began) = schedule.next(config, id).await else { return Stop::Deadline };
        let msg = Message::new(config, pos);
        let (sent, want) = (msg.sent_len(), msg.answer_len());
        let round = async {
            msg.write(&mut stream, id).await?;
            read_checked(&mut stream, &mut buf, want, msg.expected(), id, msg.pos()).await
        };
        let limit = (Instant::now() + config.timeout).min(deadline);
        match tokio::time::timeout_at(limit, round).await {
            Err(_) if Instant::now() >= deadline => return Stop::Deadline,
            Err(_) => {
                counts.error("no answer within the timeout");
                return Stop::Lost;
            }
            Ok(Err(e)) => {
                counts.error(kind_of(&e));
                return Stop::Lost;
            }
            Ok(Ok(Err(wrong))) => {
                counts.mismatch(Some(wrong));
                return Stop::Wrong;
            }
            Ok(Ok(Ok(()))) => {
                counts.round(schedule.done(began), sent, want);
                pos += sent as u64;
            }
        }
    }
}

async fn stream_mode(stream: TcpStream, id: u64, config: &BenchConfig, counts: &Counts, deadline: Instant) -> Stop {
    let window = config.window.max(1) as u64;
    let (mut sent, mut recvd) = (0u64, 0u64);
    let mut buf = vec![0u8; CHUNK];
    let mut sleep = std::pin::pin!(tokio::time::sleep_until(deadline));
    loop {
        tokio::select! {
            () = &mut sleep => return Stop::Deadline,
            ready = stream.readable() => {
                if ready.is_err() {
                    counts.error("other I/O error");
                    return Stop::Lost;
                }
                match stream.try_read(&mut buf) {
                    Ok(0) => { counts.error(kind_of(&io::ErrorKind::UnexpectedEof.into())); return Stop::Lost; }
                    Ok(n) => {
                        if recvd + n as u64 > sent {
                            counts.mismatch(Some(Mismatch::new(&[], &buf[..n], 0)));
                            return Stop::Wrong;
                        }
                        if buf[..n] != *pattern(id, recvd, n) {
                            counts.mismatch(Some(Mismatch::new(pattern(id, recvd, n), &buf[..n], recvd as usize)));
                            return Stop::Wrong;
                        }
                        recvd += n as u64;
                        counts.bytes(0, n);
                        // Messages of --len bytes that came back whole (their bytes were
                        // counted as the kernel took them).
                        let before = (recvd - n as u64) / config.len as u64;
                        for _ in before..recvd / config.len as u64 {
                            counts.round(Duration::ZERO, 0, 0);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => { counts.error(kind_of(&e)); return Stop::Lost; }
                }
            }
            ready = stream.writable(), if sent - recvd < window => {
                if ready.is_err() {
                    counts.error("other I/O error");
                    return Stop::Lost;
                }
                let room = (window - (sent - recvd)).min(CHUNK as u64) as usize;
                match stream.try_write(pattern(id, sent, room)) {
                    Ok(n) => {
                        // Counted when the kernel takes them, as the server counts them in.
                        sent += n as u64;
                        counts.bytes(n, 0);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => { counts.error(kind_of(&e)); return Stop::Lost; }
                }
            }
        }
    }
}

async fn churn_once(id: u64, config: &BenchConfig, counts: &Counts, schedule: &mut Schedule) -> Stop {
    let deadline = schedule.deadline;
    let Some(began) = schedule.next(config, id).await else { return Stop::Deadline };
    let Some(mut stream) = connect(config, counts, deadline).await else {
        // Refused or failed: counted; a pause before the next try.
        tokio::time::sleep_until((Instant::now() + Duration::from_millis(100)).min(deadline)).await;
        return if Instant::now() >= deadline { Stop::Deadline } else { Stop::Lost };
    };
    let mut buf = vec![0u8; CHUNK];
    let msg = Message::new(config, 0);
    let (sent, want) = (msg.sent_len(), msg.answer_len());
    let round = async {
        msg.write(&mut stream, id).await?;
        read_checked(&mut stream, &mut buf, want, msg.expected(), id, 0).await
    };
    let limit = (Instant::now() + config.timeout).min(deadline);
    match tokio::time::timeout_at(limit, round).await {
        Err(_) if Instant::now() >= deadline => Stop::Deadline,
        Err(_) => {
            counts.error("no answer within the timeout");
            Stop::Lost
        }
        Ok(Err(e)) => {
            counts.error(kind_of(&e));
            Stop::Lost
        }
        Ok(Ok(Err(wrong))) => {
            counts.mismatch(Some(wrong));
            Stop::Wrong
        }
        Ok(Ok(Ok(()))) => {
            counts.round(schedule.done(began), sent, want);
            // Closing with nothing unread sends FIN; the loop connects again.
            Stop::Lost
        }
    }
}

async fn sink(mut stream: TcpStream, id: u64, config: &BenchConfig, counts: &Counts, schedule: &mut Schedule) -> Stop {
    let deadline = schedule.deadline;
    let (mut reader, mut writer) = stream.split();
    let mut pos = 0u64;
    let sending = async {
        loop {
            let Some(began) = schedule.next(config, id).await else { return Ok(()) };
            let msg = Message::new(config, pos);
            msg.write(&mut writer, id).await?;
            counts.round(schedule.done(began), msg.sent_len(), 0);
            pos += msg.sent_len() as u64;
        }
    };
    // What the server sends back is read and dropped, so it never blocks on us.
    let draining = async {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = reader.read(&mut buf).await?;
            if n == 0 {
                return Err::<(), io::Error>(io::ErrorKind::UnexpectedEof.into());
            }
            counts.bytes(0, n);
        }
    };
    let outcome = tokio::time::timeout_at(deadline, async {
        tokio::select! {
            r = sending => r,
            r = draining => r,
        }
    })
    .await;
    match outcome {
        Err(_) | Ok(Ok(())) => Stop::Deadline,
        Ok(Err(e)) => {
            counts.error(kind_of(&e));
            Stop::Lost
        }
    }
}

/// UDP round trips on a connected socket: each datagram carries its number in its first
/// 8 bytes (when it has room), so a late answer is told from a wrong one.
async fn udp_connection(id: u64, config: &BenchConfig, counts: &Counts, schedule: &mut Schedule) -> Stop {
    let deadline = schedule.deadline;
    let any: SocketAddr =
        if config.target.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { (std::net::Ipv6Addr::UNSPECIFIED, 0).into() };
    let socket = match UdpSocket::bind(any).await {
        Ok(s) => s,
        Err(e) => {
            counts.error(kind_of(&e));
            tokio::time::sleep_until(deadline).await;
            return Stop::Deadline;
        }
    };
    if let Err(e) = socket.connect(config.target).await {
        counts.error(kind_of(&e));
        tokio::time::sleep_until(deadline).await;
        return Stop::Deadline;
    }
    counts.tally.borrow_mut().alive += 1;
    let mut out = vec![0u8; config.payload.as_ref().map_or(config.len, |p| p.len())];
    let mut buf = vec![0u8; 65_536];
    loop {
        let Some(began) = schedule.next(config, id).await else { return Stop::Deadline };
        let number = schedule.k;
        match &config.payload {
            Some(p) => out.copy_from_slice(p),
            None => {
                let len = out.len();
                out.copy_from_slice(pattern(id, number * len as u64, len));
                if len >= 8 {
                    out[..8].copy_from_slice(&number.to_le_bytes());
                }
            }
        }
        if let Err(e) = socket.send(&out).await {
            counts.error(kind_of(&e));
            return Stop::Lost;
        }
        let expect: &[u8] = match (&config.payload, &config.expect) {
            (Some(_), Some(e)) => e,
            _ => &out,
        };
        let limit = (Instant::now() + config.timeout).min(deadline);
        loop {
            match tokio::time::timeout_at(limit, socket.recv(&mut buf)).await {
                Err(_) if Instant::now() >= deadline => return Stop::Deadline,
                Err(_) => {
                    counts.tally.borrow_mut().lost += 1;
                    schedule.done(began);
                    break;
                }
                Ok(Err(e)) => {
                    // ICMP port unreachable and the like.
                    schedule.done(began);
                    counts.error(kind_of(&e));
                    tokio::time::sleep_until((Instant::now() + Duration::from_millis(100)).min(deadline)).await;
                    break;
                }
                Ok(Ok(n)) => {
                    let numbered = config.payload.is_none() && out.len() >= 8;
                    if numbered && n >= 8 && buf[..8] != out[..8] {
                        // An answer to an earlier datagram, after we gave up on it.
                        counts.tally.borrow_mut().late += 1;
                        continue;
                    }
                    let latency = schedule.done(began);
                    if buf[..n] != *expect {
                        counts.mismatch(Some(Mismatch::new(expect, &buf[..n], 0)));
                    } else {
                        counts.round(latency, out.len(), n);
                    }
                    break;
                }
            }
        }
    }
}

// ---- Showing --------------------------------------------------------------------------------

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

/// `12.3 µs`, `4.56 ms`, `1.2 s`
fn time(ns: u64) -> String {
    match ns {
        0..=9_999 => format!("{:.1} µs", us(ns)),
        10_000..=999_999 => format!("{:.0} µs", us(ns)),
        1_000_000..=999_999_999 => format!("{:.2} ms", ns as f64 / 1e6),
        _ => format!("{:.2} s", ns as f64 / 1e9),
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Report {
    fn seconds(&self) -> f64 {
        self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn rate(&self) -> f64 {
        self.tally.rounds as f64 / self.seconds()
    }

    pub fn errors(&self) -> u64 {
        self.tally.errors.values().sum()
    }

    pub fn mismatches(&self) -> u64 {
        self.tally.mismatches
    }

    /// Whether the run found something wrong: mismatches, lost connections, errors.
    pub fn failed(&self) -> bool {
        self.errors() > 0 || self.mismatches() > 0
    }

    fn quantile(&self, q: f64) -> u64 {
        if self.tally.latency.is_empty() { 0 } else { self.tally.latency.value_at_quantile(q) }
    }

    pub fn human(&self) -> String {
        let c = &self.config;
        let t = &self.tally;
        let proto = if c.udp { "udp" } else { "tcp" };
        let mut s = String::new();
        let rate = c.rate.map(|r| format!(", open loop at {} msg/s", thousands(r as u64))).unwrap_or_default();
        s.push_str(&format!(
            "{proto} {} {}, {} connections x {} bytes, {:.2} s, {} thread{}{rate}\n",
            c.target,
            c.mode.as_str(),
            c.conns,
            c.payload.as_ref().map_or(c.len, |p| p.len()),
            self.seconds(),
            c.threads,
            if c.threads == 1 { "" } else { "s" }
        ));
        let what = match c.mode {
            BenchMode::Pingpong if !c.udp => "round trips",
            BenchMode::Churn if !c.udp => "connect-exchange-close cycles",
            BenchMode::Sink if !c.udp => "messages sent",
            _ if c.udp => "datagram round trips",
            _ => "messages echoed",
        };
        s.push_str(&format!("  {what:<26} {:>14}   {:>12}/s\n", thousands(t.rounds), thousands(self.rate() as u64)));
        s.push_str(&format!(
            "  {:<26} {:>11.1} MB   {:>10.2} MB/s\n",
            "sent",
            t.sent as f64 / 1e6,
            t.sent as f64 / 1e6 / self.seconds()
        ));
        s.push_str(&format!(
            "  {:<26} {:>11.1} MB   {:>10.2} MB/s\n",
            "received",
            t.received as f64 / 1e6,
            t.received as f64 / 1e6 / self.seconds()
        ));
        if !t.connect.is_empty() {
            s.push_str(&format!(
                "  {:<26} p50 {}  p99 {}  max {}  ({} connects)\n",
                "connect time",
                time(t.connect.value_at_quantile(0.5)),
                time(t.connect.value_at_quantile(0.99)),
                time(t.connect.max()),
                thousands(t.connect.len())
            ));
        }
        if !t.latency.is_empty() && c.mode != BenchMode::Stream {
            let from = if c.rate.is_some() { " (from when each was due)" } else { "" };
            s.push_str(&format!(
                "  {:<26} p50 {}  p90 {}  p99 {}  p99.9 {}  max {}{from}\n",
                "latency",
                time(self.quantile(0.5)),
                time(self.quantile(0.9)),
                time(self.quantile(0.99)),
                time(self.quantile(0.999)),
                time(t.latency.max())
            ));
        }
        if c.udp {
            s.push_str(&format!(
                "  {:<26} {} lost, {} answered late\n",
                "datagrams",
                thousands(t.lost),
                thousands(t.late)
            ));
        }
        s.push_str(&format!("  {:<26} {}\n", "mismatches", thousands(t.mismatches)));
        if let Some(m) = &t.first_mismatch {
            s.push_str(&format!("  {:<26} {}\n", "first mismatch", m.words()));
        }
        if t.errors.is_empty() {
            s.push_str(&format!("  {:<26} 0\n", "errors"));
        } else {
            let list: Vec<String> = t.errors.iter().map(|(k, v)| format!("{k} {v}")).collect();
            s.push_str(&format!("  {:<26} {} ({})\n", "errors", self.errors(), list.join(", ")));
        }
        if !t.latency.is_empty() && c.mode != BenchMode::Stream && c.mode != BenchMode::Sink {
            s.push_str(&self.histogram_lines());
        }
        s
    }

    /// The latency distribution drawn with bars, one line per power-of-two bucket.
    fn histogram_lines(&self) -> String {
        let h = &self.tally.latency;
        let (lo, hi) = (h.min().max(1), h.max().max(1));
        let first = 63 - lo.leading_zeros();
        let last = 63 - hi.leading_zeros();
        let buckets: Vec<(u64, u64, u64)> = (first..=last)
            .map(|b| {
                let (low, high) = (1u64 << b, (1u64 << (b + 1)) - 1);
                (low, high, h.count_between(low, high))
            })
            .collect();
        let most = buckets.iter().map(|b| b.2).max().unwrap_or(1).max(1);
        let total = h.len().max(1);
        let mut s = String::from("  latency histogram\n");
        for (low, high, count) in buckets {
            let bar = "█".repeat(((count * 40).div_ceil(most)) as usize);
            s.push_str(&format!(
                "    {:>9} - {:<9} {:<40} {:>5.1}%\n",
                time(low),
                time(high),
                bar,
                100.0 * count as f64 / total as f64
            ));
        }
        s
    }

    pub fn json(&self) -> String {
        let c = &self.config;
        let t = &self.tally;
        let mut o = crate::sink::json::JsonObject::plain();
        o.str("event", "summary").str("target", &c.target.to_string()).str("proto", if c.udp { "udp" } else { "tcp" });
        o.str("mode", c.mode.as_str()).num("conns", c.conns).num("len", c.payload.as_ref().map_or(c.len, |p| p.len()));
        o.num("threads", c.threads).num("duration_s", format!("{:.3}", self.seconds()));
        if let Some(r) = c.rate {
            o.num("target_rate", r);
        }
        o.num("rounds", t.rounds).num("rate", format!("{:.1}", self.rate()));
        let mb = |bytes: u64| format!("{:.3}", bytes as f64 / 1e6 / self.seconds());
        let main = if c.mode == BenchMode::Sink { t.sent } else { t.received };
        o.num("mbps", mb(main)).num("mbps_sent", mb(t.sent)).num("mbps_received", mb(t.received));
        o.num("sent_bytes", t.sent).num("received_bytes", t.received);
        for (key, q) in [("p50_us", 0.5), ("p90_us", 0.9), ("p99_us", 0.99), ("p999_us", 0.999)] {
            o.num(key, format!("{:.1}", us(self.quantile(q))));
        }
        o.num("max_us", format!("{:.1}", us(t.latency.max())));
        if !t.connect.is_empty() {
            o.num("connect_p50_us", format!("{:.1}", us(t.connect.value_at_quantile(0.5))));
            o.num("connect_max_us", format!("{:.1}", us(t.connect.max())));
        }
        o.num("errors", self.errors());
        let mut kinds = crate::sink::json::JsonObject::plain();
        for (k, v) in &t.errors {
            kinds.num(k, v);
        }
        o.raw("errors_by_kind", &kinds.finish());
        o.num("mismatches", t.mismatches).num("lost", t.lost).num("late", t.late);
        if let Some(m) = &t.first_mismatch {
            let mut x = crate::sink::json::JsonObject::plain();
            x.num("at", m.at)
                .str("expected_hex", &crate::render::hex::to_hex(&m.expected))
                .str("got_hex", &crate::render::hex::to_hex(&m.got));
            o.raw("first_mismatch", &x.finish());
        }
        o.finish()
    }
}

#[cfg(test)]
mod tests {
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
