//! `netassist relay --udp`: each client address gets its own socket towards the target;
//! what the target answers on it goes back to that client. Clients are forgotten after the
//! idle timeout, or (the table full) the quietest first.
//!
//! One loop does it all, as a C relay would: datagrams from clients are taken many per call
//! on the listening socket, and the upstream sockets with answers are named together by a
//! `ReadySet` (`ready_set.rs`: an epoll set of their own on Linux), so an answer costs no
//! task wake-up and an idle client no task. Each pass serves both directions, so neither
//! can hold up the other.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::connection::Conn;
use super::dgram::Dgram;
use super::ready_set::ReadySet;
use super::recency::{IdHash, Recency};
use crate::event::Events;
use crate::event::{CloseReason, ConnId, Dir, EventKind, Proto, Side};
use crate::net::canonical;
use crate::notice::{HelpFor, Notice};

/// The largest datagram taken (the UDP maximum over IPv6; IPv4's is 65,507).
const DATAGRAM: usize = 65_536;

/// One client address of the UDP relay, with its own socket towards the target.
struct UdpSession {
    /// As the listening socket knows it (the key of [`Sessions::ids`]).
    client: SocketAddr,
    conn: Arc<Conn>,
    /// Connected to the target, non-blocking, in the relay's [`ReadySet`] (closing it
    /// takes it out).
    upstream: std::net::UdpSocket,
}

/// The relay's clients, by address and by id. An address is chosen by a peer, so it is
/// hashed with SipHash, once per datagram; everything after that goes by the id this
/// program gave out ([`IdHash`]), including the recency list a datagram touches.
#[derive(Default)]
struct Sessions {
    ids: HashMap<SocketAddr, ConnId>,
    by_id: HashMap<ConnId, UdpSession, IdHash>,
    /// Ids by when their client last sent: the quietest is forgotten to make room.
    recency: Recency<ConnId, IdHash>,
}

impl Sessions {
    fn len(&self) -> usize {
        self.by_id.len()
    }

    /// The id of `client`'s session, which just sent, if it has one.
    fn sent(&mut self, client: SocketAddr) -> Option<ConnId> {
        let id = *self.ids.get(&client)?;
        self.recency.touch(id);
        Some(id)
    }

    fn insert(&mut self, session: UdpSession) {
        let id = session.conn.id;
        self.ids.insert(session.client, id);
        self.recency.touch(id);
        self.by_id.insert(id, session);
    }

    fn remove(&mut self, id: ConnId) -> Option<UdpSession> {
        let s = self.by_id.remove(&id)?;
        self.ids.remove(&s.client);
        self.recency.remove(id);
        Some(s)
    }

    /// The session quiet the longest.
    fn oldest(&self) -> Option<ConnId> {
        self.recency.oldest()
    }
}

#[derive(Debug, Clone)]
pub struct UdpRelay {
    pub target: SocketAddr,
    /// Forget a client (and close its upstream socket) after this long without datagrams.
    pub idle_timeout: Duration,
    /// How many clients at once (each has a socket).
    pub max_clients: usize,
    pub dual_stack: bool,
    pub access: Arc<crate::access::Access>,
}

/// Relays datagrams: each client address gets an upstream socket connected to the target;
/// what the target sends back on it goes to that client.
pub async fn run_udp(
    socket: tokio::net::UdpSocket,
    relay: UdpRelay,
    events: Events,
    mut commands: Option<tokio::sync::mpsc::Receiver<crate::event::Command>>,
    stop: CancellationToken,
) -> io::Result<()> {
    let started = Instant::now();
    let local = socket.local_addr()?;
    let to = Some(crate::net::show_addr(&relay.target));
    events.send(super::server::listening(Proto::Udp, local.into(), relay.dual_stack, None, to)).await;
    super::server::start_up_done();
    let socket = Dgram::from_tokio(socket)?;
    let upstreams = ReadySet::new()?;
    let mut ready_ids = Vec::with_capacity(super::ready_set::MAX_READY);
    // What targets answer lands here, to be sent on together.
    let mut out_bufs: Vec<Vec<u8>> = (0..super::mmsg::SLOTS).map(|_| vec![0u8; DATAGRAM]).collect();
    let mut out: Vec<(SocketAddr, usize)> = Vec::with_capacity(super::mmsg::SLOTS);
    let want = events.wants_data();
    let mut sessions = Sessions::default();
    let mut next_id = 1;
    let mut totals = crate::event::Counters::default();
    let mut served = 0u64;
    let mut batch = super::mmsg::Batch::new(DATAGRAM);
    let mut refused = super::udp::Refused::default();
    let mut sweep = tokio::time::interval((relay.idle_timeout / 4).max(Duration::from_millis(20)));
    // Sessions whose target said "port unreachable" in a pass: reported and forgotten at the
    // end of it, not at the next sweep.
    let mut unreachable: Vec<ConnId> = Vec::new();
    // Made once, not on every turn: a fresh one joins and leaves the token's waiter list (a
    // lock each) every time the loop goes round.
    let mut stopped = std::pin::pin!(stop.cancelled());

    let closed = |conn: &Conn, reason: CloseReason, totals: &mut crate::event::Counters| {
        let counters = conn.counters();
        totals.add(&counters);
        EventKind::Closed { id: conn.id, peer: conn.peer.clone(), reason, counters, duration: conn.age() }
    };
    let end = |s: UdpSession, reason: CloseReason, totals: &mut crate::event::Counters| {
        upstreams.remove(std::os::fd::AsFd::as_fd(&s.upstream), s.conn.id);
        closed(&s.conn, reason, totals)
    };

    loop {
        tokio::select! {
            biased;
            () = &mut stopped => break,
            cmd = super::server::next_command(&mut commands) => match cmd {
                None => commands = None,
                Some(cmd) => match cmd {
                    crate::event::Command::Quit => stop.cancel(),
                    crate::event::Command::List => {
                        let list = sessions.by_id.values().map(|s| s.conn.info()).collect();
                        events.send(EventKind::Clients(list)).await;
                    }
                    crate::event::Command::Kick(ids) => {
                        for id in ids {
                            match sessions.remove(id) {
                                Some(s) => events.send(end(s, CloseReason::Kicked, &mut totals)).await,
                                None => events.send(EventKind::Error { id: None, notice: Notice::NoSuchClient(id) }).await,
                            }
                        }
                    }
                    crate::event::Command::Help => events.send(EventKind::Note(Notice::Help(HelpFor::Relay))).await,
                    crate::event::Command::Send { .. } => events.send(EventKind::Error { id: None, notice: Notice::RelayOnlyForwards }).await,
                },
            },
            _ = sweep.tick() => {
                let idle: Vec<ConnId> = sessions.by_id.values().filter(|s| s.conn.idle_for() >= relay.idle_timeout).map(|s| s.conn.id).collect();
                for id in idle {
                    if let Some(s) = sessions.remove(id) {
                        events.send(end(s, CloseReason::IdleTimeout(relay.idle_timeout), &mut totals)).await;
                    }
                }
            }
            (answers, requests) = both_ways(upstreams.ready(), socket.ready(super::mmsg::READY)) => {
                if let Some(ready) = answers {
                    // Answers from the target, one per client a pass, sent on to their
                    // clients together (sendmmsg on the listening socket; in order for each
                    // client: one socket, read by this loop alone). The set is
                    // level-triggered: a socket with more waiting is named again in the next
                    // pass, which spares the read that would only say EAGAIN.
                    let mut ready = ready?;
                    ready.take(&mut ready_ids)?;
                    for &id in &ready_ids {
                        let Some(s) = sessions.by_id.get(&id) else { continue };
                        let slot = out.len();
                        let n = match ready.recv(id, &s.upstream, &mut out_bufs[slot]) {
                            Ok(n) => n,
                            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => continue,
                            // ICMP port unreachable from the target.
                            Err(_) => {
                                unreachable.push(id);
                                continue;
                            }
                        };
                        s.conn.count_out(n);
                        if want {
                            events.send(EventKind::Data { id, peer: s.conn.peer.clone(), dir: Dir::T2C, bytes: Bytes::copy_from_slice(&out_bufs[slot][..n]), mark: crate::event::Mark::None }).await;
                        }
                        out.push((s.client, n));
                        if out.len() == out_bufs.len() {
                            send_answers(&socket, &out_bufs, &mut out).await;
                        }
                    }
                    send_answers(&socket, &out_bufs, &mut out).await;
                    ready.done(ready_ids.is_empty());
                }
                if let Some(ready) = requests {
                    ready?;
                    // Up to 64 datagrams a turn, as many per system call as wait (recvmmsg); then
                    // the other branches get their turn.
                    let mut taken = 0;
                    while taken < 64 {
                        let got = match batch.recv(&socket) {
                            Ok(got) => got,
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            // An ICMP error about an earlier answer; the socket goes on.
                            Err(e) if super::udp::is_transient(&e) => {
                                taken += 1;
                                continue;
                            }
                            Err(e) => return Err(e),
                        };
                        taken += got;
                        for i in 0..got {
                            let (data, from) = batch.datagram(i);
                            let n = data.len();
                            if !refused.admits(&relay.access, from, &events).await {
                                continue;
                            }
                            let id = match sessions.sent(from) {
                                Some(id) => id,
                                None => {
                                    // Full: the client quiet the longest makes room, as `listen --udp` does,
                                    // so a flood of one-off sources cannot lock new clients out.
                                    while sessions.len() >= relay.max_clients {
                                        let Some(oldest) = sessions.oldest() else { break };
                                        if let Some(s) = sessions.remove(oldest) {
                                            let reason = CloseReason::Forgotten { max: relay.max_clients, relay: true };
                                            events.send(end(s, reason, &mut totals)).await;
                                        }
                                    }
                                    let id = next_id;
                                    next_id += 1;
                                    let opened = open_upstream(relay.target, &upstreams, id);
                                    let conn = Arc::new(Conn::new(id, canonical(from), 0));
                                    let here = crate::net::local_towards(local, canonical(from));
                                    events.send(EventKind::Connected { id, proto: Proto::Udp, peer: canonical(from).into(), local: here.into(), side: Side::Accepted, tls: None }).await;
                                    served += 1;
                                    let upstream = match opened {
                                        Ok(u) => u,
                                        Err(e) => {
                                            let reason = CloseReason::TargetFailed(Box::new(Notice::Os { why: crate::error::io_reason(&e) }));
                                            events.send(closed(&conn, reason, &mut totals)).await;
                                            continue;
                                        }
                                    };
                                    if let Ok(up_local) = upstream.local_addr() {
                                        events.send(EventKind::Connected { id, proto: Proto::Udp, peer: relay.target.into(), local: canonical(up_local).into(), side: Side::Initiated, tls: None }).await;
                                    }
                                    sessions.insert(UdpSession { client: from, conn, upstream });
                                    id
                                }
                            };
                            let s = &sessions.by_id[&id];
                            s.conn.count_in(n);
                            if want {
                                events.send(EventKind::Data { id: s.conn.id, peer: s.conn.peer.clone(), dir: Dir::C2T, bytes: Bytes::copy_from_slice(data), mark: crate::event::Mark::None }).await;
                            }
                            // An error: the target is not there (an earlier ICMP port unreachable).
                            if super::dgram::send_when_room(&s.upstream, data).await.is_err() {
                                unreachable.push(id);
                            }
                        }
                    }
                }
                for id in unreachable.drain(..) {
                    if let Some(s) = sessions.remove(id) {
                        events.send(end(s, CloseReason::PortUnreachable(relay.target), &mut totals)).await;
                    }
                }
            }
        }
    }
    for (_, s) in sessions.by_id.drain() {
        events.send(end(s, CloseReason::Stopping, &mut totals)).await;
    }
    events.send(EventKind::Stopped { clients: served, counters: totals, duration: started.elapsed() }).await;
    Ok(())
}

/// A socket connected to the target for client `id`, watched by `upstreams` under that id.
fn open_upstream(target: SocketAddr, upstreams: &ReadySet, id: ConnId) -> io::Result<std::net::UdpSocket> {
    let any: SocketAddr =
        if target.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { (std::net::Ipv6Addr::UNSPECIFIED, 0).into() };
    let upstream = std::net::UdpSocket::bind(any)?;
    upstream.connect(target)?;
    upstream.set_nonblocking(true)?;
    upstreams.add(std::os::fd::AsFd::as_fd(&upstream), id)?;
    Ok(upstream)
}

/// Sends the answers read, each to its client, as many per system call as the socket takes.
async fn send_answers(socket: &Dgram, bufs: &[Vec<u8>], out: &mut Vec<(SocketAddr, usize)>) {
    let mut start = 0;
    while start < out.len() {
        let batch = out[start..].iter().zip(&bufs[start..]).map(|(&(to, n), buf)| (to, &buf[..n]));
        match super::mmsg::send(socket, batch) {
            Ok(sent) => start += sent,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let (to, n) = out[start];
                let _ = socket.send_to(&bufs[start][..n], to).await;
                start += 1;
            }
            // A client that cannot be reached: its answer is dropped, as the network would.
            Err(_) => start += 1,
        }
    }
    out.clear();
}

/// Waits until `answers` or `requests` is ready, and gives each that is: both ways get a
/// turn in the same pass, so a flood one way cannot starve the other.
async fn both_ways<A: Future, R: Future>(answers: A, requests: R) -> (Option<A::Output>, Option<R::Output>) {
    let (mut answers, mut requests) = (std::pin::pin!(answers), std::pin::pin!(requests));
    std::future::poll_fn(|cx| {
        let a = answers.as_mut().poll(cx);
        let r = requests.as_mut().poll(cx);
        match (a, r) {
            (std::task::Poll::Pending, std::task::Poll::Pending) => std::task::Poll::Pending,
            (a, r) => std::task::Poll::Ready((ready(a), ready(r))),
        }
    })
    .await
}

fn ready<T>(p: std::task::Poll<T>) -> Option<T> {
    match p {
        std::task::Poll::Ready(t) => Some(t),
        std::task::Poll::Pending => None,
    }
}

#[cfg(test)]
#[path = "relay_udp_tests.rs"]
mod tests;
