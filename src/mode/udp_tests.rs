//! The UDP server's tests: its source table (ids, the cap at its real size), the idle
//! sweep on tokio's paused clock, and what a quiet echo allocates.

use super::*;

/// A UDP server's settings, as `listen --udp` makes them, for 16 sources.
fn options(reply: Reply, idle_timeout: Option<Duration>) -> UdpServerOptions {
    UdpServerOptions {
        reply,
        messages: super::super::inbound::Messages::default(),
        idle_timeout,
        line: crate::input::LineFormat {
            format: crate::input::StdinFormat::Text,
            eol: crate::input::Eol::Lf,
            encoding: crate::render::encoding::TextEncoding::from_name("utf-8").unwrap(),
            checksum: None,
        },
        dual_stack: false,
        max_peers: 16,
        access: Default::default(),
    }
}

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

/// The cap at its real size: 65,536 sources remembered, the 65,537th makes the oldest
/// go, and what the table holds stops growing at the cap (counted by the allocator).
#[test]
fn the_source_table_holds_65536_and_no_more() {
    use crate::alloc_count::held_by_this_thread;
    let cap = crate::config::UDP_PEERS;
    assert_eq!(cap, 65_536);
    let source = |i: usize| SocketAddr::from(([127, 1, (i >> 8) as u8, i as u8], 40_000 + (i % 7) as u16));
    let mut peers = Peers::new(cap);
    let start = held_by_this_thread();
    for i in 0..cap {
        let noted = peers.note(source(i));
        assert!(noted.new && noted.forgotten.is_none(), "source {i}");
    }
    let full = held_by_this_thread();
    for i in cap..cap + 5000 {
        let noted = peers.note(source(i + (1 << 16)));
        let (id, gone) = noted.forgotten.expect("the oldest goes when full");
        assert_eq!((id, gone.addr), ((i - cap + 1) as u64, source(i - cap)));
    }
    assert_eq!(peers.by_id.len(), cap);
    let after = held_by_this_thread();
    assert!(full > start, "the count sees the table");
    // Past the cap, sources replace each other: at most a little slack in the maps.
    assert!(after - full < (full - start) / 8, "grew from {} to {} bytes past the cap", full - start, after - start);
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
    let EventKind::Closed { duration, .. } = closed(id, peer, CloseReason::Kicked) else { panic!("a closed event") };
    assert_eq!(duration, Duration::from_secs(6));
}

/// A source is forgotten once quiet for the whole timeout, and no later than one sweep
/// (a quarter of the timeout) after it: timed on tokio's paused clock, which moves
/// only to the next timer, so the bound is exact and the test takes no wall time.
#[tokio::test(start_paused = true)]
async fn an_idle_source_is_forgotten_within_a_quarter_of_the_timeout_after_it() {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = socket.local_addr().unwrap().port();
    let opts = options(Reply::None, Some(Duration::from_secs(8)));
    let (events, mut incoming) = Events::channel(false);
    let stop = CancellationToken::new();
    let server = tokio::spawn(run_server(socket, opts, events, None, stop.clone()));
    let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.send_to(b"x", ("127.0.0.1", port)).unwrap();
    let (mut seen, mut closed) = (None, None);
    while closed.is_none() {
        match incoming.recv().await.unwrap().kind {
            EventKind::Connected { .. } => seen = Some(Instant::now()),
            EventKind::Closed { reason, .. } => closed = Some((Instant::now(), reason)),
            _ => {}
        }
    }
    let (at, reason) = closed.unwrap();
    let after = at - seen.expect("the source was announced first");
    assert_eq!(reason, CloseReason::IdleTimeout(Duration::from_secs(8)));
    assert!(after >= Duration::from_secs(8), "forgotten after {after:?}, sooner than the timeout");
    assert!(after <= Duration::from_secs(10), "forgotten after {after:?}: more than a sweep (2 s) late");
    stop.cancel();
    server.await.unwrap().unwrap();
}

/// `--quiet`'s promise for datagrams: no event, no copy, no allocation per datagram or per
/// batch (the system calls' arrays live on the stack). The server runs on this thread (a
/// current-thread runtime), the clients on another, so this thread's count is the
/// server's. Four sources send at once, so batches of several datagrams are taken and
/// answered together.
#[test]
fn a_quiet_udp_echo_allocates_nothing_per_datagram() {
    use crate::alloc_count::allocations_by_this_thread;
    const ROUNDS: usize = 500;
    const SOURCES: usize = 4;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let port = socket.local_addr().unwrap().port();
        let opts = options(Reply::Echo, None);
        let (events, _incoming) = Events::channel(false);
        let stop = CancellationToken::new();
        let server = tokio::spawn(run_server(socket, opts, events, None, stop.clone()));
        let (warm_tx, warm) = tokio::sync::oneshot::channel::<()>();
        let (start, started) = std::sync::mpsc::channel::<()>();
        let (done_tx, done) = tokio::sync::oneshot::channel::<usize>();
        let client = std::thread::spawn(move || {
            let peers: Vec<std::net::UdpSocket> = (0..SOURCES)
                .map(|_| {
                    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
                    s.connect(("127.0.0.1", port)).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    s
                })
                .collect();
            let mut buf = [0u8; 128];
            let mut round = |i: usize| {
                for (k, s) in peers.iter().enumerate() {
                    s.send(&[(i + k) as u8; 64]).unwrap();
                }
                let mut echoed = 0;
                for (k, s) in peers.iter().enumerate() {
                    let n = s.recv(&mut buf).unwrap();
                    echoed += usize::from(buf[..n] == [(i + k) as u8; 64]);
                }
                echoed
            };
            // Warm-up: the sources are noted, what grows once grows.
            for i in 0..50 {
                round(i);
            }
            warm_tx.send(()).unwrap();
            started.recv().unwrap();
            let echoed = (0..ROUNDS).map(&mut round).sum();
            done_tx.send(echoed).unwrap();
        });
        warm.await.unwrap();
        let before = allocations_by_this_thread();
        start.send(()).unwrap();
        let echoed = done.await.unwrap();
        let made = allocations_by_this_thread() - before;
        assert_eq!(echoed, ROUNDS * SOURCES, "every datagram came back whole");
        assert!(made < 20, "{made} allocations for {} datagrams: something is built per datagram", ROUNDS * SOURCES);
        client.join().unwrap();
        stop.cancel();
        server.await.unwrap().unwrap();
    });
}
