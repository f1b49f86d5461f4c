//! `listen --udp` and `connect --udp`: datagrams, each shown with its source and length,
//! never cut (received into 64 KiB, the most a datagram holds). Sources get ids as they
//! appear, in a table of bounded size (the least recently seen is forgotten first), so a
//! flood of new source addresses cannot grow memory.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::connection::Reply;
use super::dgram::Dgram;
use super::received::Later;
use crate::event::Events;
use crate::event::{ClientInfo, CloseReason, Command, ConnId, Counters, Dir, EventKind, Proto, Side, Target};
use crate::input::LineFormat;
use crate::net::{canonical, max_datagram};
use crate::notice::{HelpFor, Notice, Turned};

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Room for the largest datagram there is (65535 bytes of IPv6 payload).
pub(super) const DATAGRAM: usize = 65_536;
/// Bytes of delayed answers (`after MS`) that may wait at once, for all sources together.
const LATER_BYTES: usize = 4 << 20;
/// Datagrams taken per wake-up before the other work (stdin, timers, stop) gets a turn.
const BATCH: usize = 64;

/// One source address seen: its id, where answers go, and its counts.
pub(super) struct Source {
    /// As shown: IPv4 clients of a dual-stack socket as IPv4.
    addr: SocketAddr,
    /// As the socket knows it, for replies.
    reply_to: SocketAddr,
    since: SystemTime,
    /// When its first datagram came, for how long it was known.
    first: Instant,
    seen: Instant,
    counters: Counters,
}

/// The sources seen so far, by address and by id.
pub(super) struct Peers {
    pub(super) ids: HashMap<SocketAddr, ConnId>,
    pub(super) by_id: BTreeMap<ConnId, Source>,
    pub(super) next: ConnId,
    pub(super) last_sender: Option<ConnId>,
    pub(super) max: usize,
    pub(super) seen_total: u64,
    /// Ids by when they were last seen: the one to forget first, idle ones, in O(1).
    pub(super) recency: super::recency::Recency<ConnId, super::recency::IdHash>,
}

/// What `Peers::note` found.
pub(super) struct Noted {
    pub(super) id: ConnId,
    pub(super) new: bool,
    /// The peer forgotten to make room, if the table was full.
    pub(super) forgotten: Option<(ConnId, Source)>,
}

impl Peers {
    pub(super) fn new(max: usize) -> Peers {
        Peers {
            ids: HashMap::new(),
            by_id: BTreeMap::new(),
            next: 1,
            last_sender: None,
            max: max.max(1),
            seen_total: 0,
            recency: super::recency::Recency::default(),
        }
    }

    /// Records traffic with `reply_to`, giving it an id if it is new.
    pub(super) fn note(&mut self, reply_to: SocketAddr) -> Noted {
        self.note_at(reply_to, Instant::now())
    }

    /// [`Peers::note`] at a time the caller read once for a whole batch of datagrams.
    pub(super) fn note_at(&mut self, reply_to: SocketAddr, now: Instant) -> Noted {
        if let Some(&id) = self.ids.get(&reply_to) {
            self.seen(id, now);
            return Noted { id, new: false, forgotten: None };
        }
        let mut forgotten = None;
        if self.by_id.len() >= self.max
            && let Some(id) = self.recency.oldest()
        {
            forgotten = self.forget(id).map(|p| (id, p));
        }
        let id = self.next;
        self.next += 1;
        self.seen_total += 1;
        self.ids.insert(reply_to, id);
        let peer = Source {
            addr: canonical(reply_to),
            reply_to,
            since: SystemTime::now(),
            first: now,
            seen: now,
            counters: Counters::default(),
        };
        self.by_id.insert(id, peer);
        self.recency.touch(id);
        Noted { id, new: true, forgotten }
    }

    /// Traffic with `id` just now.
    pub(super) fn seen(&mut self, id: ConnId, now: Instant) {
        if let Some(p) = self.by_id.get_mut(&id) {
            p.seen = now;
            self.recency.touch(id);
        }
    }

    /// The source quiet the longest, if it has been quiet for `limit`: sweeping looks at
    /// the idle ones and one more, never at every source.
    pub(super) fn oldest_idle(&self, limit: Duration) -> Option<ConnId> {
        let id = self.recency.oldest()?;
        self.by_id.get(&id).is_some_and(|p| p.seen.elapsed() >= limit).then_some(id)
    }

    pub(super) fn forget(&mut self, id: ConnId) -> Option<Source> {
        self.recency.remove(id);
        let peer = self.by_id.remove(&id)?;
        self.ids.remove(&peer.reply_to);
        if self.last_sender == Some(id) {
            self.last_sender = None;
        }
        Some(peer)
    }

    pub(super) fn list(&self) -> Vec<ClientInfo> {
        self.by_id
            .iter()
            .map(|(&id, p)| ClientInfo { id, peer: p.addr.into(), since: p.since, counters: p.counters })
            .collect()
    }
}

fn closed(id: ConnId, peer: Source, reason: CloseReason) -> EventKind {
    EventKind::Closed { id, peer: peer.addr.into(), reason, counters: peer.counters, duration: peer.first.elapsed() }
}

#[derive(Debug, Clone)]
pub struct UdpServerOptions {
    pub reply: Reply,
    /// `--verify`, `--checksum`, rules: a datagram is one message (no `--frame`).
    pub messages: super::inbound::Messages,
    /// Forget a source after this long without a datagram either way.
    pub idle_timeout: Option<Duration>,
    pub line: LineFormat,
    pub dual_stack: bool,
    /// How many sources are remembered at once.
    pub max_peers: usize,
    /// Who may send.
    pub access: std::sync::Arc<crate::access::Access>,
}

/// Sources refused lately, so each is named once rather than per datagram (bounded).
#[derive(Default)]
pub(crate) struct Refused(std::collections::HashSet<SocketAddr>);

impl Refused {
    /// Whether `access` lets `from` send; a source refused is named once (an event), not
    /// for every datagram.
    pub(crate) async fn admits(&mut self, access: &crate::access::Access, from: SocketAddr, events: &Events) -> bool {
        let Err(reason) = access.check(from.ip()) else { return true };
        if self.first_time(from) {
            events.send(EventKind::Rejected { peer: canonical(from).into(), reason, turned: Turned::Dropped }).await;
        }
        false
    }

    /// Whether `from` is newly refused (and should be named).
    fn first_time(&mut self, from: SocketAddr) -> bool {
        if self.0.len() >= 1024 {
            self.0.clear();
        }
        self.0.insert(from)
    }
}

/// Serves datagrams until `stop` is cancelled.
pub async fn run_server(
    socket: UdpSocket,
    opts: UdpServerOptions,
    events: Events,
    mut commands: Option<mpsc::Receiver<Command>>,
    stop: CancellationToken,
) -> io::Result<()> {
    let started = Instant::now();
    let socket = Dgram::from_tokio(socket)?;
    let local = socket.local_addr()?;
    events.send(super::server::listening(Proto::Udp, local.into(), opts.dual_stack, None, None)).await;
    super::server::start_up_done();
    let want_data = events.wants_data();
    let mut responder = super::inbound::Responder::new(&opts.reply, opts.messages.rules.as_deref());
    let mut peers = Peers::new(opts.max_peers);
    let mut totals = Counters::default();
    let mut batch = super::mmsg::Batch::new(DATAGRAM);
    // Answers of one batch, sent together when nothing shows them: (id, to, shown, where
    // in `arena`).
    let mut replies: Vec<(ConnId, SocketAddr, SocketAddr, std::ops::Range<usize>)> = Vec::new();
    let mut arena: Vec<u8> = Vec::new();
    let mut refused = Refused::default();
    let sweep_every = opts.idle_timeout.map_or(Duration::from_secs(3600), |d| (d / 4).max(Duration::from_millis(20)));
    let mut sweep = tokio::time::interval(sweep_every);
    // Answers a rule delays (`after MS`): to whom, and what.
    let mut later: Later<(ConnId, SocketAddr, SocketAddr, Bytes)> = Later::new(LATER_BYTES);
    let mut later_timer = super::timer::Timer::default();

    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            () = later_timer.fired(), if later.waiting() => {
                if let Some((id, to, shown, bytes)) = later.due(&mut later_timer) {
                    let answer = Answering { socket: &socket, events: &events, want_data };
                    answer.send(&mut peers, &mut totals, (id, to, shown), &bytes).await;
                }
            }
            cmd = super::server::next_command(&mut commands) => match cmd {
                Some(cmd) => command(cmd, &socket, &mut peers, &mut totals, &events, &stop).await,
                None => commands = None,
            },
            _ = sweep.tick(), if opts.idle_timeout.is_some() => {
                let limit = opts.idle_timeout.expect("guarded");
                // Oldest first, stopping at the first that is not idle.
                while let Some(id) = peers.oldest_idle(limit) {
                    if let Some(p) = peers.forget(id) {
                        events.send(closed(id, p, CloseReason::IdleTimeout(limit))).await;
                    }
                }
            }
            ready = socket.ready(super::mmsg::READY) => {
                ready?;
                let mut taken = 0;
                while taken < BATCH {
                    let got = match batch.recv(&socket) {
                        Ok(got) => got,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        // An ICMP error about an earlier reply; the socket goes on.
                        Err(e) if is_transient(&e) => {
                            taken += 1;
                            continue;
                        }
                        Err(e) => return Err(e),
                    };
                    taken += got;
                    // One clock reading for the batch: when its sources were last seen.
                    let now = Instant::now();
                    for i in 0..got {
                    let (data, from) = batch.datagram(i);
                    let n = data.len();
                    if !refused.admits(&opts.access, from, &events).await {
                        continue;
                    }
                    let noted = peers.note_at(from, now);
                    if let Some((id, p)) = noted.forgotten {
                        let reason = CloseReason::Forgotten { max: opts.max_peers, relay: false };
                        events.send(closed(id, p, reason)).await;
                    }
                    let peer = peers.by_id.get_mut(&noted.id).expect("just noted");
                    let shown = peer.addr;
                    peer.counters.bytes_in += n as u64;
                    peer.counters.msgs_in += 1;
                    totals.bytes_in += n as u64;
                    totals.msgs_in += 1;
                    peers.last_sender = Some(noted.id);
                    if noted.new {
                        let here = crate::net::local_towards(local, shown);
                        events.send(EventKind::Connected { id: noted.id, proto: Proto::Udp, peer: shown.into(), local: here.into(), side: Side::Accepted, tls: None }).await;
                    }
                    if want_data {
                        let (bytes, mark) = (Bytes::copy_from_slice(data), opts.messages.mark(data));
                        events.send(EventKind::Data { id: noted.id, peer: shown.into(), dir: Dir::In, bytes, mark }).await;
                    }
                    // A datagram is a message: the responder answers it as the TCP engines do.
                    let answered = responder.answer(data);
                    if let super::inbound::Answer::Later(after, bytes) = &answered {
                        let bytes = Bytes::from(opts.messages.outgoing(bytes).into_owned());
                        if !later.add(*after, bytes.len(), (noted.id, from, shown, bytes), &mut later_timer) {
                            let notice = Notice::TooManyLater { to: shown, max: LATER_BYTES };
                            events.send(EventKind::Error { id: Some(noted.id), notice }).await;
                        }
                    }
                    let answer = answered.bytes().map(|a| opts.messages.outgoing(a));
                    if let Some(answer) = answer.as_deref() {
                        if want_data {
                            let answering = Answering { socket: &socket, events: &events, want_data };
                            answering.send(&mut peers, &mut totals, (noted.id, from, shown), answer).await;
                        } else {
                            arena.extend_from_slice(answer);
                            replies.push((noted.id, from, shown, arena.len() - answer.len()..arena.len()));
                        }
                    }
                    }
                    if !replies.is_empty() {
                        let answering = Answering { socket: &socket, events: &events, want_data };
                        answering.send_all(&mut peers, &mut totals, &replies, &arena).await;
                        replies.clear();
                        // What a burst of large answers took is given back.
                        arena.clear();
                        arena.shrink_to(DATAGRAM);
                    }
                    // Fewer than there was room for: all there were (readiness is cleared).
                    if got < super::mmsg::SLOTS {
                        break;
                    }
                }
            }
        }
    }
    events.send(EventKind::Stopped { clients: peers.seen_total, counters: totals, duration: started.elapsed() }).await;
    Ok(())
}

/// Errors a UDP socket reports about earlier datagrams (ICMP), not about itself.
pub(super) fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::Interrupted
    )
}

/// Sends a datagram's answer (now, or when a rule's delay is over): counted and shown; a
/// failure is said, and serving goes on.
struct Answering<'a> {
    socket: &'a Dgram,
    events: &'a Events,
    want_data: bool,
}

impl Answering<'_> {
    /// The answers of a batch, in order, as few system calls as the kernel takes them in.
    async fn send_all(
        &self,
        peers: &mut Peers,
        totals: &mut Counters,
        replies: &[(ConnId, SocketAddr, SocketAddr, std::ops::Range<usize>)],
        arena: &[u8],
    ) {
        let now = Instant::now();
        let mut at = 0;
        while at < replies.len() {
            match super::mmsg::send(self.socket, replies[at..].iter().map(|(_, to, _, r)| (*to, &arena[r.clone()]))) {
                Ok(went) => {
                    for (id, _, _, r) in &replies[at..at + went] {
                        count_out(peers, totals, *id, r.len(), now);
                    }
                    at += went;
                }
                // No room now, or an error of this one: the one-at-a-time path waits for
                // room, or says what went wrong; then the rest go on.
                Err(_) => {
                    let (id, to, shown, r) = &replies[at];
                    self.send(peers, totals, (*id, *to, *shown), &arena[r.clone()]).await;
                    at += 1;
                }
            }
        }
    }

    /// To `(id, address to send to, address shown)`.
    async fn send(
        &self,
        peers: &mut Peers,
        totals: &mut Counters,
        to: (ConnId, SocketAddr, SocketAddr),
        answer: &[u8],
    ) {
        let (id, addr, shown) = to;
        if let Err(e) = self.socket.send_to(answer, addr).await {
            let notice = Notice::CannotAnswer { to: shown, why: crate::error::io_reason(&e) };
            return self.events.send(EventKind::Error { id: Some(id), notice }).await;
        }
        count_out(peers, totals, id, answer.len(), Instant::now());
        if self.want_data {
            let bytes = Bytes::copy_from_slice(answer);
            self.events
                .send(EventKind::Data { id, peer: shown.into(), dir: Dir::Out, bytes, mark: crate::event::Mark::None })
                .await;
        }
    }
}

fn count_out(peers: &mut Peers, totals: &mut Counters, id: ConnId, len: usize, now: Instant) {
    if let Some(p) = peers.by_id.get_mut(&id) {
        p.counters.bytes_out += len as u64;
        p.counters.msgs_out += 1;
    }
    peers.seen(id, now);
    totals.bytes_out += len as u64;
    totals.msgs_out += 1;
}

async fn command(
    cmd: Command,
    socket: &Dgram,
    peers: &mut Peers,
    totals: &mut Counters,
    events: &Events,
    stop: &CancellationToken,
) {
    let error = |notice: Notice| EventKind::Error { id: None, notice };
    match cmd {
        Command::Send { to, bytes } => {
            let ids = match to {
                Target::All => match peers.last_sender {
                    Some(id) => vec![id],
                    None => return events.send(error(Notice::NoSenderYet)).await,
                },
                Target::Ids(ids) => ids,
            };
            for id in ids {
                let Some(peer) = peers.by_id.get(&id) else {
                    events.send(error(Notice::NoSuchSource(id))).await;
                    continue;
                };
                let (shown, reply_to) = (peer.addr, peer.reply_to);
                let max = max_datagram(&shown);
                if bytes.len() > max {
                    events.send(error(Notice::TooBigForDatagram { len: bytes.len(), to: shown, max })).await;
                    continue;
                }
                match socket.send_to(&bytes, reply_to).await {
                    Ok(_) => {
                        count_out(peers, totals, id, bytes.len(), Instant::now());
                        if events.wants_data() {
                            events
                                .send(EventKind::Data {
                                    id,
                                    peer: shown.into(),
                                    dir: Dir::Out,
                                    bytes: bytes.clone(),
                                    mark: crate::event::Mark::None,
                                })
                                .await;
                        }
                    }
                    Err(e) => {
                        let notice = Notice::CannotSend { to: shown, why: crate::error::io_reason(&e) };
                        events.send(EventKind::Error { id: Some(id), notice }).await;
                    }
                }
            }
        }
        Command::Kick(ids) => {
            for id in ids {
                match peers.forget(id) {
                    Some(p) => events.send(closed(id, p, CloseReason::Kicked)).await,
                    None => events.send(error(Notice::NoSuchSource(id))).await,
                }
            }
        }
        Command::List => events.send(EventKind::Clients(peers.list())).await,
        Command::Help => events.send(EventKind::Note(Notice::Help(HelpFor::Udp))).await,
        Command::Quit => stop.cancel(),
    }
}

#[cfg(test)]
#[path = "udp_tests.rs"]
mod tests;
