//! The UDP relay's client table, driven in this process: a full table forgets the quietest
//! client, a kicked or idle client's session ends and a new datagram opens a new one, and
//! every session's bytes are counted both ways.

use super::*;

use crate::event::{Command, Counters};
use std::net::UdpSocket as StdUdp;

/// What the relay's events say, in order, with data events left out.
struct Relay {
    port: u16,
    incoming: crate::event::Incoming,
    commands: tokio::sync::mpsc::Sender<Command>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<io::Result<()>>,
}

/// A relay in front of `target`, for at most `max_clients` clients.
async fn relay(target: SocketAddr, max_clients: usize, idle_timeout: Duration) -> Relay {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = socket.local_addr().unwrap().port();
    let relay = UdpRelay { target, idle_timeout, max_clients, dual_stack: false, access: Default::default() };
    let (events, incoming) = Events::channel(false);
    let (commands, rx) = tokio::sync::mpsc::channel(8);
    let stop = CancellationToken::new();
    let task = tokio::spawn(run_udp(socket, relay, events, Some(rx), stop.clone()));
    Relay { port, incoming, commands, stop, task }
}

impl Relay {
    /// The next `closed` event: (id, reason, counters).
    async fn closed(&mut self) -> (ConnId, CloseReason, Counters) {
        loop {
            if let EventKind::Closed { id, reason, counters, .. } = self.incoming.recv().await.unwrap().kind {
                return (id, reason, counters);
            }
        }
    }

    /// The next client announced: (id, its address as shown).
    async fn accepted(&mut self) -> (ConnId, String) {
        loop {
            if let EventKind::Connected { id, peer, side: Side::Accepted, .. } =
                self.incoming.recv().await.unwrap().kind
            {
                return (id, peer.to_string());
            }
        }
    }

    /// Stops the relay; returns what it served in all.
    async fn stop(mut self) -> (u64, Counters) {
        self.stop.cancel();
        self.task.await.unwrap().unwrap();
        loop {
            if let EventKind::Stopped { clients, counters, .. } = self.incoming.recv().await.unwrap().kind {
                return (clients, counters);
            }
        }
    }
}

/// A target that echoes every datagram, on a thread of its own.
fn echo_target() -> SocketAddr {
    let target = StdUdp::bind("127.0.0.1:0").unwrap();
    let addr = target.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = target.recv_from(&mut buf) {
            let _ = target.send_to(&buf[..n], from);
        }
    });
    addr
}

/// A client of the relay: sends `what` and waits for it back (from the relay's port).
async fn round_trip(client: &tokio::net::UdpSocket, port: u16, what: &[u8]) {
    client.send_to(what, ("127.0.0.1", port)).await.unwrap();
    let mut buf = [0u8; 2048];
    let (n, from) = client.recv_from(&mut buf).await.unwrap();
    assert_eq!((&buf[..n], from.port()), (what, port));
}

async fn client() -> tokio::net::UdpSocket {
    tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap()
}

#[tokio::test]
async fn a_full_table_forgets_the_client_quiet_the_longest() {
    let mut r = relay(echo_target(), 2, Duration::from_secs(60)).await;
    let (a, b, c) = (client().await, client().await, client().await);
    round_trip(&a, r.port, b"a1").await;
    round_trip(&b, r.port, b"b1").await;
    // a sends again, so b is now the quietest.
    round_trip(&a, r.port, b"a2").await;
    round_trip(&c, r.port, b"c1").await;
    let (id, reason, counters) = r.closed().await;
    assert_eq!(id, 2, "b, the second client, made room");
    assert_eq!(reason, CloseReason::Forgotten { max: 2, relay: true });
    assert_eq!((counters.bytes_in, counters.bytes_out), (2, 2));
    // a still has its session: its next datagram opens none.
    round_trip(&a, r.port, b"a3").await;
    let (clients, totals) = r.stop().await;
    assert_eq!(clients, 3, "three sessions were opened");
    assert_eq!((totals.bytes_in, totals.bytes_out), (10, 10), "every byte counted both ways");
}

#[tokio::test]
async fn a_kicked_client_comes_back_as_a_new_session() {
    let mut r = relay(echo_target(), 16, Duration::from_secs(60)).await;
    let a = client().await;
    round_trip(&a, r.port, b"first").await;
    let (id, peer) = r.accepted().await;
    assert_eq!((id, peer), (1, a.local_addr().unwrap().to_string()));
    r.commands.send(Command::Kick(vec![1, 7])).await.unwrap();
    let (id, reason, _) = r.closed().await;
    assert_eq!((id, reason), (1, CloseReason::Kicked));
    round_trip(&a, r.port, b"again").await;
    assert_eq!(r.accepted().await.0, 2);
    let (clients, totals) = r.stop().await;
    assert_eq!((clients, totals.bytes_in, totals.bytes_out), (2, 10, 10));
}

#[tokio::test]
async fn an_idle_client_is_forgotten_and_one_still_talking_is_not() {
    let idle = Duration::from_millis(300);
    let mut r = relay(echo_target(), 16, idle).await;
    let (quiet, busy) = (client().await, client().await);
    round_trip(&quiet, r.port, b"once").await;
    let since = Instant::now();
    let port = r.port;
    round_trip(&busy, port, b"0").await;
    // busy keeps talking until quiet's session ends.
    let (id, reason, _) = {
        let mut closed = std::pin::pin!(r.closed());
        loop {
            tokio::select! {
                c = &mut closed => break c,
                () = round_trip(&busy, port, b"1") => {}
            }
        }
    };
    assert!(since.elapsed() >= idle, "forgotten after {:?}", since.elapsed());
    assert_eq!((id, reason), (1, CloseReason::IdleTimeout(idle)));
    let (clients, _) = r.stop().await;
    assert_eq!(clients, 2);
}

/// A target that answers one client without pause does not starve another: the target
/// floods the first client's session until the second client's datagram reaches it, so
/// the second is answered only if the relay takes requests while answers pour in.
#[tokio::test]
async fn a_flood_of_answers_to_one_client_does_not_hold_up_another() {
    let target = StdUdp::bind("127.0.0.1:0").unwrap();
    let addr = target.local_addr().unwrap();
    let flooder = std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        let (_, flooded) = target.recv_from(&mut buf).unwrap();
        target.set_nonblocking(true).unwrap();
        let mut sent = 0u64;
        loop {
            let _ = target.send_to(b"flood", flooded);
            sent += 1;
            if let Ok((n, from)) = target.recv_from(&mut buf)
                && from != flooded
            {
                target.send_to(&buf[..n], from).unwrap();
                return sent;
            }
        }
    });
    let r = relay(addr, 16, Duration::from_secs(60)).await;
    let (a, b) = (client().await, client().await);
    a.send_to(b"start", ("127.0.0.1", r.port)).await.unwrap();
    // a's first answer: the flood has begun.
    let mut buf = [0u8; 64];
    assert_eq!(a.recv(&mut buf).await.unwrap(), 5);
    round_trip(&b, r.port, b"me too").await;
    let sent = flooder.join().unwrap();
    assert!(sent > 0);
    let (clients, totals) = r.stop().await;
    assert_eq!(clients, 2);
    assert!(totals.bytes_out >= 5 + 6, "{totals:?}");
}
