//! The server's own tests: what an idle client costs and what a quiet echo allocates,
//! counted by the allocator (`crate::alloc_count`, installed for unit tests).

mod idle {
    use super::super::*;
    use crate::alloc_count::held_by_this_thread;
    use crate::mode::inbound::{Messages, Reply};

    /// Connects `n` clients (blocking sockets: no registration on this side), a few at a
    /// time, and waits until the server has announced each.
    async fn connect(port: u16, n: usize, into: &mut Vec<std::net::TcpStream>, incoming: &mut crate::event::Incoming) {
        for _ in 0..n / 20 {
            for _ in 0..20 {
                into.push(std::net::TcpStream::connect(("127.0.0.1", port)).unwrap());
            }
            let mut seen = 0;
            while seen < 20 {
                if let EventKind::Connected { .. } = incoming.recv().await.expect("the server runs").kind {
                    seen += 1;
                }
            }
        }
    }

    /// An echo server's settings, as `listen --echo` makes them.
    pub(super) fn options() -> (ServerOptions, ConnOptions) {
        let conn = ConnOptions {
            reply: Reply::Echo,
            messages: Messages::default(),
            idle_timeout: None,
            linger: Duration::from_millis(100),
        };
        let opts = ServerOptions {
            conn: conn.clone(),
            max_conn: None,
            queue_limit: 1 << 20,
            line: LineFormat {
                format: crate::input::StdinFormat::Text,
                eol: crate::input::Eol::Lf,
                encoding: crate::render::encoding::TextEncoding::from_name("utf-8").unwrap(),
                checksum: None,
            },
            dual_stack: false,
            backlog: 1024,
            access: Arc::default(),
            relay_to: None,
        };
        (opts, conn)
    }

    /// The promise behind "a tuned server holds almost nothing per idle client": counted by
    /// the allocator, exactly, on a current-thread runtime so that only the server's
    /// allocations are on this thread's count.
    #[test]
    fn an_idle_client_costs_at_most_1300_bytes() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let (events, mut incoming) = Events::channel(false);
            let (opts, conn) = options();
            let stop = CancellationToken::new();
            let server = tokio::spawn({
                let stop = stop.clone();
                async move { run_service(listener.into(), &opts, Arc::new(Answering(conn)), events, None, stop).await }
            });
            const N: usize = 400;
            let mut clients = Vec::with_capacity(2 * N);
            // The first clients grow what grows once (the registry, tokio's slabs).
            connect(port, N, &mut clients, &mut incoming).await;
            let before = held_by_this_thread();
            connect(port, N, &mut clients, &mut incoming).await;
            let per_client = (held_by_this_thread() - before) / N as isize;
            assert!(per_client > 300, "the count sees the connections ({per_client} bytes each)");
            // A million idle clients in 1.3 GB: the task (640 bytes with tokio's header), the
            // socket's registration (256), the connection's shared part (304) and its
            // registry entry. A future grown past the task's 640-byte size class fails here.
            assert!(per_client <= 1300, "an idle client holds {per_client} bytes; at most 1300 was promised");

            // And it is given back: every client gone and the server stopped, this thread
            // holds less than it did with half of them connected.
            drop(clients);
            let mut closed = 0;
            while closed < 2 * N {
                if let EventKind::Closed { .. } = incoming.recv().await.unwrap().kind {
                    closed += 1;
                }
            }
            stop.cancel();
            server.await.unwrap().unwrap();
            drop(incoming);
            let left = held_by_this_thread() - before;
            assert!(left < 0, "{left} bytes more than with {N} clients connected");
        });
    }
}

mod quiet {
    use super::super::*;
    use super::idle::options;
    use crate::alloc_count::allocations_by_this_thread;
    use std::io::{Read, Write};

    /// `--quiet`'s promise: no event, no copy, no allocation per message; the hot path is
    /// read, write, count. The server runs on this thread (a current-thread runtime), the
    /// client on another, so this thread's allocation count is the server's.
    #[test]
    fn a_quiet_echo_allocates_nothing_per_message() {
        const ROUNDS: usize = 2000;
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let (events, _incoming) = Events::channel(false);
            let (opts, conn) = options();
            let stop = CancellationToken::new();
            let server = tokio::spawn({
                let stop = stop.clone();
                async move { run_service(listener.into(), &opts, Arc::new(Answering(conn)), events, None, stop).await }
            });
            let (warm_tx, warm) = tokio::sync::oneshot::channel::<()>();
            let (start, started) = std::sync::mpsc::channel::<()>();
            let (done_tx, done) = tokio::sync::oneshot::channel::<usize>();
            let client = std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
                let mut buf = [0u8; 64];
                // Warm-up: the first messages may grow what grows once.
                for _ in 0..100 {
                    s.write_all(&[7; 64]).unwrap();
                    s.read_exact(&mut buf).unwrap();
                }
                warm_tx.send(()).unwrap();
                started.recv().unwrap();
                let mut echoed = 0;
                for i in 0..ROUNDS {
                    let msg = [i as u8; 64];
                    s.write_all(&msg).unwrap();
                    s.read_exact(&mut buf).unwrap();
                    echoed += usize::from(buf == msg);
                }
                done_tx.send(echoed).unwrap();
            });
            warm.await.unwrap();
            let before = allocations_by_this_thread();
            start.send(()).unwrap();
            let echoed = done.await.unwrap();
            let made = allocations_by_this_thread() - before;
            assert_eq!(echoed, ROUNDS, "every message came back whole");
            assert!(made < 20, "{made} allocations for {ROUNDS} messages: something is built per message");
            client.join().unwrap();
            stop.cancel();
            server.await.unwrap().unwrap();
        });
    }
}
