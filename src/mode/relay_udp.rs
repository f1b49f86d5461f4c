//! `netassist relay --udp`: each client address gets its own socket towards the target;
//! what the target answers on it goes back to that client. Clients are forgotten after the
//! idle timeout, or (the table full) the quietest first.

use std::cell::RefCell;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::connection::Conn;
use super::dgram::Dgram;
use super::mmsg::Batch;
use crate::event::Events;
use crate::event::{CloseReason, Dir, EventKind, Proto, Side};
use crate::net::canonical;
use crate::notice::{HelpFor, Notice, Turned};

/// The largest datagram taken (the UDP maximum over IPv6; IPv4's is 65,507).
const DATAGRAM: usize = 65_536;

/// One client address of the UDP relay, with its own socket towards the target.
struct UdpSession {
    conn: Arc<Conn>,
    upstream: Arc<Dgram>,
    done: CancellationToken,
}

#[derive(Debug, Clone)]
pub struct UdpRelay {
    pub target: std::net::SocketAddr,
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
    use std::collections::HashMap;
    use std::net::SocketAddr;

    let started = Instant::now();
    let local = socket.local_addr()?;
    let to = Some(crate::net::show_addr(&relay.target));
    events.send(super::server::listening(Proto::Udp, local.into(), relay.dual_stack, None, to)).await;
    super::server::start_up_done();
    let socket = Arc::new(Dgram::from_tokio(socket)?);
    let want = events.wants_data();
    let mut sessions: HashMap<SocketAddr, UdpSession> = HashMap::new();
    let mut next_id = 1;
    let mut totals = crate::event::Counters::default();
    let mut served = 0u64;
    let mut batch = super::mmsg::Batch::new(DATAGRAM);
    let mut refused = super::udp::Refused::default();
    // Client addresses by when they last sent: the quietest is forgotten to make room.
    let mut recency = super::recency::Recency::<SocketAddr>::default();
    let mut sweep = tokio::time::interval((relay.idle_timeout / 4).max(Duration::from_millis(20)));
    let tracker = tokio_util::task::TaskTracker::new();
    // A session whose target said "port unreachable" is reported and forgotten at once,
    // not at the next sweep.
    let ended = Arc::new(tokio::sync::Notify::new());

    let closed = |conn: &Conn, reason: CloseReason, totals: &mut crate::event::Counters| {
        let counters = conn.counters();
        totals.add(&counters);
        EventKind::Closed { id: conn.id, peer: conn.peer.clone(), reason, counters, duration: conn.age() }
    };
    let end = |s: UdpSession, reason: CloseReason, totals: &mut crate::event::Counters| {
        s.done.cancel();
        closed(&s.conn, reason, totals)
    };

    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            cmd = super::server::next_command(&mut commands) => match cmd {
                None => commands = None,
                Some(cmd) => match cmd {
                    crate::event::Command::Quit => stop.cancel(),
                    crate::event::Command::List => {
                        let list = sessions.values().map(|s| s.conn.info()).collect();
                        events.send(EventKind::Clients(list)).await;
                    }
                    crate::event::Command::Kick(ids) => {
                        for id in ids {
                            let key = sessions.iter().find(|(_, s)| s.conn.id == id).map(|(k, _)| *k);
                            if let Some(k) = key {
                                recency.remove(k);
                            }
                            match key.and_then(|k| sessions.remove(&k)) {
                                Some(s) => events.send(end(s, CloseReason::Kicked, &mut totals)).await,
                                None => events.send(EventKind::Error { id: None, notice: Notice::NoSuchClient(id) }).await,
                            }
                        }
                    }
                    crate::event::Command::Help => events.send(EventKind::Note(Notice::Help(HelpFor::Relay))).await,
                    crate::event::Command::Send { .. } => events.send(EventKind::Error { id: None, notice: Notice::RelayOnlyForwards }).await,
                },
            },
            () = async { tokio::select! { _ = sweep.tick() => {}, () = ended.notified() => {} } } => {
                let idle: Vec<SocketAddr> = sessions.iter().filter(|(_, s)| s.conn.idle_for() >= relay.idle_timeout || s.done.is_cancelled()).map(|(k, _)| *k).collect();
                for key in idle {
                    recency.remove(key);
                    if let Some(s) = sessions.remove(&key) {
                        let reason = if s.done.is_cancelled() {
                            CloseReason::PortUnreachable(relay.target)
                        } else {
                            CloseReason::IdleTimeout(relay.idle_timeout)
                        };
                        events.send(end(s, reason, &mut totals)).await;
                    }
                }
            }
            ready = socket.ready(super::mmsg::READY) => {
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
                    if let Err(reason) = relay.access.check(from.ip()) {
                        if refused.first_time(from) {
                            events.send(EventKind::Rejected { peer: canonical(from).into(), reason, turned: Turned::Dropped }).await;
                        }
                        continue;
                    }
                    if !sessions.contains_key(&from) && sessions.len() >= relay.max_clients {
                        // Full: the client quiet the longest makes room, as `listen --udp` does,
                        // so a flood of one-off sources cannot lock new clients out.
                        while sessions.len() >= relay.max_clients {
                            let Some(oldest) = recency.oldest() else { break };
                            recency.remove(oldest);
                            if let Some(s) = sessions.remove(&oldest) {
                                let reason = CloseReason::Forgotten { max: relay.max_clients, relay: true };
                                events.send(end(s, reason, &mut totals)).await;
                            }
                        }
                    }
                    recency.touch(from);
                    // Not the entry API: the map is read (and events awaited) before the insert.
                    #[allow(clippy::map_entry)]
                    if !sessions.contains_key(&from) {
                        let id = next_id;
                        next_id += 1;
                        let opened = open_upstream(relay.target).await;
                        let conn = Arc::new(Conn::new(id, canonical(from), 0));
                        let here = crate::net::local_towards(local, canonical(from));
                        events.send(EventKind::Connected { id, proto: Proto::Udp, peer: canonical(from).into(), local: here.into(), side: Side::Accepted, tls: None }).await;
                        let upstream = match opened {
                            Ok(u) => Arc::new(u),
                            Err(e) => {
                                served += 1;
                                let reason = CloseReason::TargetFailed(Box::new(Notice::Os { why: crate::error::io_reason(&e) }));
                                events.send(closed(&conn, reason, &mut totals)).await;
                                continue;
                            }
                        };
                        served += 1;
                        if let Ok(up_local) = upstream.local_addr() {
                            events.send(EventKind::Connected { id, proto: Proto::Udp, peer: relay.target.into(), local: canonical(up_local).into(), side: Side::Initiated, tls: None }).await;
                        }
                        let done = stop.child_token();
                        let answers = Answers { upstream: upstream.clone(), socket: socket.clone(), client: from, conn: conn.clone(), events: events.clone(), ended: ended.clone() };
                        tracker.spawn(answers.back_to_client(done.clone()));
                        sessions.insert(from, UdpSession { conn, upstream, done });
                    }
                    let s = sessions.get(&from).expect("present or just made");
                    s.conn.count_in(n);
                    if want {
                        events.send(EventKind::Data { id: s.conn.id, peer: s.conn.peer.clone(), dir: Dir::C2T, bytes: Bytes::copy_from_slice(data), mark: crate::event::Mark::None }).await;
                    }
                    match s.upstream.try_send(data) {
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => { let _ = s.upstream.send(data).await; }
                        // The target is not there (an earlier ICMP port unreachable): the sweep reports it.
                        Err(_) => {
                            s.done.cancel();
                            ended.notify_one();
                        }
                    }
                    }
                }
            }
        }
    }
    for (_, s) in sessions.drain() {
        events.send(end(s, CloseReason::Stopping, &mut totals)).await;
    }
    tracker.close();
    tracker.wait().await;
    events.send(EventKind::Stopped { clients: served, counters: totals, duration: started.elapsed() }).await;
    Ok(())
}

/// A socket connected to the target, for one client.
async fn open_upstream(target: std::net::SocketAddr) -> io::Result<Dgram> {
    let any: std::net::SocketAddr =
        if target.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { (std::net::Ipv6Addr::UNSPECIFIED, 0).into() };
    let upstream = tokio::net::UdpSocket::bind(any).await?;
    upstream.connect(target).await?;
    Dgram::from_tokio(upstream)
}

thread_local! {
    /// What targets answer lands here: one batch per worker thread, not a 64 KiB buffer per
    /// client. Four slots: a target mostly answers one datagram at a time.
    static ANSWERS: RefCell<Batch> = RefCell::new(Batch::with_slots(4, DATAGRAM));
}

/// One client's way back: what its upstream socket receives goes to it.
struct Answers {
    upstream: Arc<Dgram>,
    socket: Arc<Dgram>,
    client: std::net::SocketAddr,
    conn: Arc<Conn>,
    events: Events,
    /// Told when the target turned out not to be there.
    ended: Arc<tokio::sync::Notify>,
}

impl Answers {
    /// Sends what the target answers on one client's upstream socket back to that client, in
    /// order. Answers are taken a batch at a time (recvmmsg; a short batch has taken all there
    /// was, which spares the call that would only say EAGAIN) and, when nothing shows them,
    /// sent at once from the thread's batch; shown ones (and any the socket had no room for)
    /// are copied, shown, then sent.
    async fn back_to_client(self, done: CancellationToken) {
        let Answers { upstream, socket, client, conn, events, ended } = self;
        let gone = || {
            done.cancel();
            ended.notify_one();
        };
        let mut later: Vec<Bytes> = Vec::new();
        // Made once: a `cancelled()` made each turn joins and leaves the token's waiter list
        // (a lock each) for every answer. Polled after the socket, it is not looked at on a
        // turn the socket is ready.
        let mut cancelled = std::pin::pin!(done.cancelled());
        loop {
            tokio::select! {
                biased;
                ready = upstream.ready(super::mmsg::READY) => if ready.is_err() {
                    gone();
                    return;
                },
                () = &mut cancelled => return,
            }
            loop {
                let want = events.wants_data();
                let got = ANSWERS.with_borrow_mut(|batch| {
                    let n = batch.recv(&upstream)?;
                    for i in 0..n {
                        let (data, _) = batch.datagram(i);
                        conn.count_out(data.len());
                        if want || !later.is_empty() {
                            later.push(Bytes::copy_from_slice(data));
                            continue;
                        }
                        match socket.try_send_to(data, client) {
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => later.push(Bytes::copy_from_slice(data)),
                            // A client that cannot be reached: its answers are dropped, as the
                            // network would.
                            _ => {}
                        }
                    }
                    Ok::<_, io::Error>(n)
                });
                match got {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    // ICMP port unreachable from the target: the main loop reports and forgets.
                    Err(_) => {
                        gone();
                        return;
                    }
                }
                for bytes in later.drain(..) {
                    if want {
                        let dir = Dir::T2C;
                        let data = EventKind::Data {
                            id: conn.id,
                            peer: conn.peer.clone(),
                            dir,
                            bytes: bytes.clone(),
                            mark: crate::event::Mark::None,
                        };
                        events.send(data).await;
                    }
                    let _ = socket.send_to(&bytes, client).await;
                }
            }
        }
    }
}
