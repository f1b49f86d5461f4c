//! `connect --udp`: sends datagrams to one target (once, periodically, or each typed
//! line) and shows every datagram that comes back, with its source. An ICMP port
//! unreachable ends the run with its own line.

use std::io;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::client::{Feed, Outlet, Payload, feed};
use super::dgram::Dgram;
use super::udp::{DATAGRAM, Peers, is_transient, lock};
use crate::event::{CloseReason, Counters, Dir, EventKind, Events, Proto, Side};
use crate::input::LineFormat;
use crate::net::{canonical, max_datagram};
use crate::notice::Notice;

#[derive(Debug, Clone)]
pub struct UdpClientOptions {
    /// Each one datagram (files are read whole beforehand).
    pub payloads: Vec<Payload>,
    pub interval: Option<Duration>,
    pub rounds: Option<u64>,
    pub wait: Option<Duration>,
    pub line: LineFormat,
    /// `--verify` marks what comes back (each datagram is one message).
    pub messages: super::inbound::Messages,
}

/// How a UDP client run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UdpEnd {
    /// Nothing left to send and no datagram for the wait.
    Done,
    Stopped,
    /// An ICMP port unreachable came back: nothing listens there.
    Refused,
}

/// Sends datagrams to the target and shows what comes back.
struct Datagrams<'a> {
    socket: &'a Dgram,
    target: SocketAddr,
    connected: bool,
    events: &'a Events,
    /// When a datagram last went either way, and the counters (one task uses them; the
    /// locks are never held across an await).
    last: &'a Mutex<Instant>,
    counters: &'a Mutex<Counters>,
    /// Set when an ICMP port unreachable came back: the run ends.
    refused: &'a tokio::sync::Notify,
}

impl Datagrams<'_> {
    async fn send(&self, bytes: &Bytes) -> Result<(), Notice> {
        let max = max_datagram(&self.target);
        if bytes.len() > max {
            return Err(Notice::TooBigForDatagram { len: bytes.len(), to: self.target, max });
        }
        let sent =
            if self.connected { self.socket.send(bytes).await } else { self.socket.send_to(bytes, self.target).await };
        match sent {
            // The ICMP error for an earlier datagram is reported to whichever call comes
            // next: this one. It ends the run, with its own line.
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                self.refused.notify_one();
                return Ok(());
            }
            Err(e) => return Err(Notice::CannotSend { to: self.target, why: crate::error::io_reason(&e) }),
            Ok(_) => {}
        }
        {
            let mut c = lock(self.counters);
            c.bytes_out += bytes.len() as u64;
            c.msgs_out += 1;
        }
        *lock(self.last) = Instant::now();
        if self.events.wants_data() {
            self.events
                .send(EventKind::Data {
                    id: 1,
                    peer: self.target.into(),
                    dir: Dir::Out,
                    bytes: bytes.clone(),
                    mark: crate::event::Mark::None,
                })
                .await;
        }
        Ok(())
    }
}

impl Outlet for Datagrams<'_> {
    async fn put(&self, payload: &Payload) -> Result<(), Notice> {
        match payload {
            Payload::Bytes(b) => self.send(b).await,
            Payload::File(path) => Err(Notice::FileUnread { path: path.display().to_string() }),
        }
    }

    async fn put_line(&self, bytes: Bytes) -> Result<(), Notice> {
        self.send(&bytes).await
    }
}

/// Runs the UDP client: sends, shows every datagram that comes back with its source.
pub async fn run_client(
    socket: UdpSocket,
    target: SocketAddr,
    connected: bool,
    opts: UdpClientOptions,
    events: Events,
    mut input: Option<mpsc::Receiver<Bytes>>,
    stop: CancellationToken,
) -> io::Result<UdpEnd> {
    let socket = Dgram::from_tokio(socket)?;
    let local = canonical(socket.local_addr()?);
    events
        .send(EventKind::Connected {
            id: 1,
            proto: Proto::Udp,
            peer: target.into(),
            local: local.into(),
            side: Side::Initiated,
            tls: None,
        })
        .await;
    let started = Instant::now();
    let last = Mutex::new(started);
    let counters = Mutex::new(Counters::default());
    // Replies from other sources (broadcast, multicast) get ids of their own.
    let peers = Mutex::new(Peers::new(4096));
    lock(&peers).note(target);
    let refused = tokio::sync::Notify::new();
    let out = Datagrams {
        socket: &socket,
        target,
        connected,
        events: &events,
        last: &last,
        counters: &counters,
        refused: &refused,
    };

    let receiving = async {
        // As many datagrams per system call as wait (recvmmsg); a short batch has taken all.
        let mut batch = super::mmsg::Batch::new(DATAGRAM);
        loop {
            socket.ready(super::mmsg::READY).await?;
            loop {
                let got = match batch.recv(&socket) {
                    Ok(got) => got,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => return Ok(UdpEnd::Refused),
                    Err(e) if is_transient(&e) => continue,
                    Err(e) => return Err(e),
                };
                *lock(&last) = Instant::now();
                {
                    let mut c = lock(&counters);
                    for i in 0..got {
                        c.bytes_in += batch.datagram(i).0.len() as u64;
                    }
                    c.msgs_in += got as u64;
                }
                for i in 0..got {
                    let (data, from) = batch.datagram(i);
                    let noted = lock(&peers).note(from);
                    let shown = canonical(from);
                    if noted.new {
                        events
                            .send(EventKind::Connected {
                                id: noted.id,
                                proto: Proto::Udp,
                                peer: shown.into(),
                                local: local.into(),
                                side: Side::Accepted,
                                tls: None,
                            })
                            .await;
                    }
                    if events.wants_data() {
                        let bytes = Bytes::copy_from_slice(data);
                        events
                            .send(EventKind::Data {
                                id: noted.id,
                                peer: shown.into(),
                                dir: Dir::In,
                                mark: opts.messages.mark(&bytes),
                                bytes,
                            })
                            .await;
                    }
                }
            }
        }
    };
    let sending = async {
        let plan = Feed { payloads: &opts.payloads, interval: opts.interval, rounds: opts.rounds };
        if let Err(notice) = feed(&out, &plan, input.as_mut(), &events).await {
            events.send(EventKind::Error { id: Some(1), notice }).await;
        }
        let Some(wait) = opts.wait else { return std::future::pending().await };
        loop {
            let quiet = lock(&last).elapsed();
            if quiet >= wait {
                return UdpEnd::Done;
            }
            tokio::time::sleep(wait - quiet).await;
        }
    };
    let end = tokio::select! {
        biased;
        () = refused.notified() => UdpEnd::Refused,
        end = receiving => end?,
        end = sending => end,
        () = stop.cancelled() => UdpEnd::Stopped,
    };
    let reason = match &end {
        UdpEnd::Done => CloseReason::Done(opts.wait.unwrap_or_default()),
        UdpEnd::Stopped => CloseReason::Stopping,
        UdpEnd::Refused => CloseReason::PortUnreachable(target),
    };
    let counters = *lock(&counters);
    events.send(EventKind::Closed { id: 1, peer: target.into(), reason, counters, duration: started.elapsed() }).await;
    Ok(end)
}
