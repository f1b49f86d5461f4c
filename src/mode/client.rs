//! `netassist connect`: the lesson's TCP client, as a tool. Sends what was given on the
//! command line (in order, once or every `--interval`) or each line typed on stdin, shows
//! every reply, and ends when the server closes, on ctrl-c, or when nothing is left to send
//! and no data came for `--wait`.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::connection::{self, CloseRequest, Conn, ConnOptions};
use super::stream::Stream;
use crate::event::Events;
use crate::event::{CloseReason, EventKind, Side};
use crate::input::LineFormat;
use crate::notice::Notice;

/// One thing to send, from `--send`, `--send-hex` or `--send-file`.
#[derive(Debug, Clone)]
pub enum Payload {
    Bytes(Bytes),
    /// Read when it is sent (`-` is stdin, as raw bytes).
    File(PathBuf),
}

#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub conn: ConnOptions,
    /// What to send; empty means: the lines typed on stdin.
    pub payloads: Vec<Payload>,
    pub interval: Option<Duration>,
    /// How many rounds of `payloads`; `None` is every `interval` until stopped.
    pub rounds: Option<u64>,
    /// How long to wait for data once nothing is left to send; `None` waits for the server.
    pub wait: Option<Duration>,
    pub line: LineFormat,
    pub queue_limit: usize,
}

/// Runs the client on a connected stream (plain or TLS) until it ends; returns why and
/// what it counted. `id` numbers the connection (`--reconnect` makes several); typed input
/// carries over from one connection to the next.
pub async fn run(
    mut stream: Stream,
    id: crate::event::ConnId,
    opts: &ClientOptions,
    events: Events,
    input: Option<&mut mpsc::Receiver<Bytes>>,
    stop: CancellationToken,
) -> std::io::Result<(CloseReason, crate::event::Counters)> {
    let gone = || std::io::Error::from(std::io::ErrorKind::NotConnected);
    let peer = stream.peer().ok_or_else(gone)?;
    let local = stream.local().ok_or_else(gone)?;
    stream.no_delay();
    let tls = stream.tls_info();
    let proto = stream.proto();
    events.send(EventKind::Connected { id, proto, peer: peer.clone(), local, side: Side::Initiated, tls }).await;
    let conn = Conn::new(id, peer.clone(), opts.queue_limit);

    let feeding = async {
        let plan = Feed { payloads: &opts.payloads, interval: opts.interval, rounds: opts.rounds };
        let reads_stdin = opts.payloads.is_empty();
        if let Err(notice) = feed(&conn, &plan, input, &events).await {
            events.send(EventKind::Error { id: Some(id), notice: notice.clone() }).await;
            conn.close(CloseRequest::Now(CloseReason::Failed(Box::new(notice))));
            return std::future::pending().await;
        }
        if reads_stdin {
            // End of input: half-close, then keep showing replies.
            conn.close(CloseRequest::AfterWrites);
        }
        let Some(wait) = opts.wait else { return std::future::pending().await };
        loop {
            conn.drained().await;
            let quiet = conn.idle_for();
            if quiet >= wait {
                conn.close(CloseRequest::Now(CloseReason::Done(wait)));
                return std::future::pending().await;
            }
            tokio::time::sleep(wait - quiet).await;
        }
    };
    let serving = connection::serve_stream(&mut stream, &conn, &opts.conn, &events);
    // A stop is a close request, as the server makes one to each of its connections.
    let stopping = async {
        stop.cancelled().await;
        conn.close(CloseRequest::Now(CloseReason::Stopping));
        std::future::pending().await
    };
    let reason = tokio::select! {
        reason = serving => reason,
        never = feeding => never,
        never = stopping => never,
    };
    let counters = conn.counters();
    events.send(EventKind::Closed { id, peer, reason: reason.clone(), counters, duration: conn.age() }).await;
    Ok((reason, counters))
}

/// Where a client's bytes go: a TCP connection's queue, or UDP datagrams.
pub(crate) trait Outlet {
    /// Sends (or queues) one payload; an error ends the feeding.
    fn put(&self, payload: &Payload) -> impl Future<Output = Result<(), Notice>>;
    /// Sends one typed line; an error is shown and the next line still goes.
    fn put_line(&self, bytes: Bytes) -> impl Future<Output = Result<(), Notice>>;
}

impl Outlet for Conn {
    async fn put(&self, payload: &Payload) -> Result<(), Notice> {
        match payload {
            Payload::Bytes(b) => {
                self.push_wait(b.clone()).await;
                Ok(())
            }
            Payload::File(path) => send_file(self, path).await,
        }
    }

    async fn put_line(&self, bytes: Bytes) -> Result<(), Notice> {
        self.push_wait(bytes).await;
        Ok(())
    }
}

/// What a client sends and how often.
pub(crate) struct Feed<'a> {
    pub payloads: &'a [Payload],
    pub interval: Option<Duration>,
    pub rounds: Option<u64>,
}

/// Sends the payloads (once, or every interval), or else each message typed (stdin lines,
/// the UI's send box) until the input ends. Returns once everything is handed to the outlet.
pub(crate) async fn feed<O: Outlet>(
    outlet: &O,
    feed: &Feed<'_>,
    input: Option<&mut mpsc::Receiver<Bytes>>,
    events: &Events,
) -> Result<(), Notice> {
    if feed.payloads.is_empty() {
        let Some(input) = input else { return Ok(()) };
        while let Some(bytes) = input.recv().await {
            // One message that cannot go does not end the session.
            if let Err(e) = outlet.put_line(bytes).await {
                events.send(EventKind::Error { id: None, notice: e }).await;
            }
        }
        return Ok(());
    }
    let mut ticks = feed.interval.map(|every| {
        let mut t = tokio::time::interval_at(Instant::now(), every);
        t.set_missed_tick_behavior(MissedTickBehavior::Delay);
        t
    });
    let mut round = 0;
    while feed.rounds.is_none_or(|n| round < n) {
        if let Some(t) = ticks.as_mut() {
            t.tick().await;
        }
        for payload in feed.payloads {
            outlet.put(payload).await?;
        }
        round += 1;
    }
    Ok(())
}

/// Streams a file (or stdin for `-`) in chunks, waiting for room in the queue.
async fn send_file(conn: &Conn, path: &PathBuf) -> Result<(), Notice> {
    let cannot = |e: std::io::Error| Notice::CannotReadFile {
        path: path.display().to_string(),
        why: crate::error::io_reason(&e),
    };
    let mut reader: Box<dyn tokio::io::AsyncRead + Unpin + Send> = if path.as_os_str() == "-" {
        Box::new(tokio::io::stdin())
    } else {
        Box::new(tokio::fs::File::open(path).await.map_err(cannot)?)
    };
    loop {
        let mut chunk = BytesMut::with_capacity(64 * 1024);
        let n = reader.read_buf(&mut chunk).await.map_err(cannot)?;
        if n == 0 {
            return Ok(());
        }
        conn.push_wait(chunk.freeze()).await;
    }
}
