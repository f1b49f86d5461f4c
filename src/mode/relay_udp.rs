//! `netassist relay --udp`: each client address gets its own socket towards the target;
//! what the target answers on it goes back to that client. Clients are forgotten after the
//! idle timeout, or (the table full) the quietest first.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::connection::Conn;
use crate::event::Events;
use crate::event::{CloseReason, Dir, EventKind, Proto, Side};
use crate::net::canonical;
use crate::notice::{HelpFor, Notice, Turned};

/// One client address of the UDP relay, with its own socket towards the target.
struct UdpSession {
    conn: Arc<Conn>,
    upstream: Arc<tokio::net::UdpSocket>,
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
    let socket = Arc::new(socket);
    let want = events.wants_data();
    let mut sessions: HashMap<SocketAddr, UdpSession> = HashMap::new();
    let mut next_id = 1;
    let mut totals = crate::event::Counters::default();
    let mut served = 0u64;
    let mut buf = vec![0u8; 65_536];
    let mut refused = super::udp::Refused::default();
    // Client addresses by when they last sent: the quietest is forgotten to make room.
    let mut recency = super::recency::Recency::<SocketAddr>::default();
    let mut sweep = tokio::time::interval((relay.idle_timeout / 4).max(Duration::from_millis(20)));
    let tracker = tokio_util::task::TaskTracker::new();

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
            _ = sweep.tick() => {
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
            ready = socket.readable() => {
                ready?;
                for _ in 0..64 {
                    let (n, from) = match socket.try_recv_from(&mut buf) {
                        Ok(got) => got,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused || e.kind() == io::ErrorKind::ConnectionReset => continue,
                        Err(e) => return Err(e),
                    };
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
                        tracker.spawn(back_to_client(upstream.clone(), socket.clone(), from, conn.clone(), events.clone(), done.clone()));
                        sessions.insert(from, UdpSession { conn, upstream, done });
                    }
                    let s = sessions.get(&from).expect("present or just made");
                    s.conn.count_in(n);
                    if want {
                        events.send(EventKind::Data { id: s.conn.id, peer: s.conn.peer.clone(), dir: Dir::C2T, bytes: Bytes::copy_from_slice(&buf[..n]), mark: crate::event::Mark::None }).await;
                    }
                    match s.upstream.try_send(&buf[..n]) {
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => { let _ = s.upstream.send(&buf[..n]).await; }
                        // The target is not there (an earlier ICMP port unreachable): the sweep reports it.
                        Err(_) => s.done.cancel(),
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
async fn open_upstream(target: std::net::SocketAddr) -> io::Result<tokio::net::UdpSocket> {
    let any: std::net::SocketAddr =
        if target.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { (std::net::Ipv6Addr::UNSPECIFIED, 0).into() };
    let upstream = tokio::net::UdpSocket::bind(any).await?;
    upstream.connect(target).await?;
    Ok(upstream)
}

/// Sends what the target answers on one client's upstream socket back to that client.
async fn back_to_client(
    upstream: Arc<tokio::net::UdpSocket>,
    socket: Arc<tokio::net::UdpSocket>,
    client: std::net::SocketAddr,
    conn: Arc<Conn>,
    events: Events,
    done: CancellationToken,
) {
    let mut buf = vec![0u8; 65_536];
    loop {
        let n = tokio::select! {
            () = done.cancelled() => return,
            got = upstream.recv(&mut buf) => match got {
                Ok(n) => n,
                // ICMP port unreachable from the target: the main loop reports and forgets.
                Err(_) => {
                    done.cancel();
                    return;
                }
            },
        };
        conn.count_out(n);
        if events.wants_data() {
            events
                .send(EventKind::Data {
                    id: conn.id,
                    peer: conn.peer.clone(),
                    dir: Dir::T2C,
                    bytes: Bytes::copy_from_slice(&buf[..n]),
                    mark: crate::event::Mark::None,
                })
                .await;
        }
        if socket.send_to(&buf[..n], client).await.is_err() {
            continue;
        }
    }
}
