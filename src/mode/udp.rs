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

use super::client::{Feed, Outlet, Payload, feed};
use super::connection::Reply;
use crate::event::Events;
use crate::event::{ClientInfo, CloseReason, Command, ConnId, Counters, Dir, EventKind, Proto, Side, Target};
use crate::input::LineFormat;
use crate::net::{canonical, max_datagram};
use crate::notice::{HelpFor, Notice, Turned};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Room for the largest datagram there is (65535 bytes of IPv6 payload).
const DATAGRAM: usize = 65_536;
/// Datagrams taken per wake-up before the other work (stdin, timers, stop) gets a turn.
const BATCH: usize = 64;

struct Peer {
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
struct Peers {
    ids: HashMap<SocketAddr, ConnId>,
    by_id: BTreeMap<ConnId, Peer>,
    next: ConnId,
    last_sender: Option<ConnId>,
    max: usize,
    seen_total: u64,
    /// Ids by when they were last seen: the one to forget first, idle ones, in O(1).
    recency: super::recency::Recency<ConnId>,
}

/// What `Peers::note` found.
struct Noted {
    id: ConnId,
    new: bool,
    /// The peer forgotten to make room, if the table was full.
    forgotten: Option<(ConnId, Peer)>,
}

impl Peers {
    fn new(max: usize) -> Peers {
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
    fn note(&mut self, reply_to: SocketAddr) -> Noted {
        let now = Instant::now();
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
        let peer = Peer {
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
    fn seen(&mut self, id: ConnId, now: Instant) {
        if let Some(p) = self.by_id.get_mut(&id) {
            p.seen = now;
            self.recency.touch(id);
        }
    }

    /// The source quiet the longest, if it has been quiet for `limit`: sweeping looks at
    /// the idle ones and one more, never at every source.
    fn oldest_idle(&self, limit: Duration) -> Option<ConnId> {
        let id = self.recency.oldest()?;
        self.by_id.get(&id).is_some_and(|p| p.seen.elapsed() >= limit).then_some(id)
    }

    fn forget(&mut self, id: ConnId) -> Option<Peer> {
        self.recency.remove(id);
        let peer = self.by_id.remove(&id)?;
        self.ids.remove(&peer.reply_to);
        if self.last_sender == Some(id) {
            self.last_sender = None;
        }
        Some(peer)
    }

    fn list(&self) -> Vec<ClientInfo> {
        self.by_id
            .iter()
            .map(|(&id, p)| ClientInfo { id, peer: p.addr.into(), since: p.since, counters: p.counters })
            .collect()
    }
}

fn closed(id: ConnId, peer: Peer, reason: CloseReason) -> EventKind {
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
    /// Whether `from` is newly refused (and should be named).
    pub(crate) fn first_time(&mut self, from: SocketAddr) -> bool {
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
    let local = socket.local_addr()?;
    events.send(super::server::listening(Proto::Udp, local, opts.dual_stack, None, None)).await;
    let want_data = events.wants_data();
    let mut responder = super::inbound::Responder::new(&opts.reply, opts.messages.rules.as_deref());
    let mut peers = Peers::new(opts.max_peers);
    let mut totals = Counters::default();
    let mut buf = vec![0u8; DATAGRAM];
    let mut refused = Refused::default();
    let sweep_every = opts.idle_timeout.map_or(Duration::from_secs(3600), |d| (d / 4).max(Duration::from_millis(20)));
    let mut sweep = tokio::time::interval(sweep_every);

    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
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
            ready = socket.readable() => {
                ready?;
                for _ in 0..BATCH {
                    let (n, from) = match socket.try_recv_from(&mut buf) {
                        Ok(got) => got,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        // An ICMP error about an earlier reply; the socket goes on.
                        Err(e) if is_transient(&e) => continue,
                        Err(e) => return Err(e),
                    };
                    if let Err(reason) = opts.access.check(from.ip()) {
                        if refused.first_time(from) {
                            events.send(EventKind::Rejected { peer: canonical(from).into(), reason, turned: Turned::Dropped }).await;
                        }
                        continue;
                    }
                    let noted = peers.note(from);
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
                        events.send(EventKind::Connected { id: noted.id, proto: Proto::Udp, peer: shown.into(), local: here, side: Side::Accepted, tls: None }).await;
                    }
                    if want_data {
                        let (bytes, mark) = (Bytes::copy_from_slice(&buf[..n]), opts.messages.mark(&buf[..n]));
                        events.send(EventKind::Data { id: noted.id, peer: shown.into(), dir: Dir::In, bytes, mark }).await;
                    }
                    // A datagram is a message: the responder answers it as the TCP engines do.
                    let answered = responder.answer(&buf[..n]);
                    let answer = answered.bytes().map(|a| opts.messages.outgoing(a));
                    if let Some(answer) = answer.as_deref() {
                        let len = answer.len();
                        let shown_answer = want_data.then(|| Bytes::copy_from_slice(answer));
                        if let Err(e) = send_to(&socket, answer, from).await {
                            events.send(EventKind::Error { id: Some(noted.id), notice: Notice::CannotAnswer { to: shown, why: crate::error::io_reason(&e) } }).await;
                            continue;
                        }
                        count_out(&mut peers, &mut totals, noted.id, len);
                        if let Some(bytes) = shown_answer {
                            events.send(EventKind::Data { id: noted.id, peer: shown.into(), dir: Dir::Out, bytes, mark: crate::event::Mark::None }).await;
                        }
                    }
                }
            }
        }
    }
    events.send(EventKind::Stopped { clients: peers.seen_total, counters: totals, duration: started.elapsed() }).await;
    Ok(())
}

/// Errors a UDP socket reports about earlier datagrams (ICMP), not about itself.
fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::Interrupted
    )
}

async fn send_to(socket: &UdpSocket, bytes: &[u8], to: SocketAddr) -> io::Result<()> {
    match socket.try_send_to(bytes, to) {
        Ok(_) => Ok(()),
        // The socket's send buffer is full: wait for room rather than drop the datagram.
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => socket.send_to(bytes, to).await.map(|_| ()),
        Err(e) => Err(e),
    }
}

fn count_out(peers: &mut Peers, totals: &mut Counters, id: ConnId, len: usize) {
    if let Some(p) = peers.by_id.get_mut(&id) {
        p.counters.bytes_out += len as u64;
        p.counters.msgs_out += 1;
    }
    peers.seen(id, Instant::now());
    totals.bytes_out += len as u64;
    totals.msgs_out += 1;
}

async fn command(
    cmd: Command,
    socket: &UdpSocket,
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
                match send_to(socket, &bytes, reply_to).await {
                    Ok(()) => {
                        count_out(peers, totals, id, bytes.len());
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
    socket: &'a UdpSocket,
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
    let local = canonical(socket.local_addr()?);
    events
        .send(EventKind::Connected {
            id: 1,
            proto: Proto::Udp,
            peer: target.into(),
            local,
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
        let mut buf = vec![0u8; DATAGRAM];
        loop {
            let (n, from) = match socket.recv_from(&mut buf).await {
                Ok(got) => got,
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => return Ok(UdpEnd::Refused),
                Err(e) if is_transient(&e) => continue,
                Err(e) => return Err(e),
            };
            *lock(&last) = Instant::now();
            {
                let mut c = lock(&counters);
                c.bytes_in += n as u64;
                c.msgs_in += 1;
            }
            let noted = lock(&peers).note(from);
            let shown = canonical(from);
            if noted.new {
                events
                    .send(EventKind::Connected {
                        id: noted.id,
                        proto: Proto::Udp,
                        peer: shown.into(),
                        local,
                        side: Side::Accepted,
                        tls: None,
                    })
                    .await;
            }
            if events.wants_data() {
                let bytes = Bytes::copy_from_slice(&buf[..n]);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_get_ids_and_the_oldest_is_forgotten_when_full() {
        let mut peers = Peers::new(2);
        let a: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:2".parse().unwrap();
        let c: SocketAddr = "[::ffff:127.0.0.1]:3".parse().unwrap();
        assert!(peers.note(a).new);
        assert_eq!(peers.note(b).id, 2);
        let again = peers.note(a);
        assert_eq!((again.id, again.new), (1, false));
        let third = peers.note(c);
        assert_eq!(third.id, 3);
        // b was seen least recently.
        assert_eq!(third.forgotten.map(|(id, p)| (id, p.addr)), Some((2, b)));
        assert_eq!(peers.by_id[&3].addr.to_string(), "127.0.0.1:3");
        assert_eq!(peers.seen_total, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_forgotten_source_was_known_from_its_first_datagram() {
        let mut peers = Peers::new(4);
        let a: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let id = peers.note(a).id;
        tokio::time::advance(Duration::from_secs(5)).await;
        peers.note(a);
        tokio::time::advance(Duration::from_secs(1)).await;
        let peer = peers.forget(id).unwrap();
        let EventKind::Closed { duration, .. } = closed(id, peer, CloseReason::Kicked) else {
            panic!("a closed event")
        };
        assert_eq!(duration, Duration::from_secs(6));
    }
}
