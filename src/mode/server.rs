//! `netassist listen`: the lesson's multi-client TCP server, as a tool. The accept loop
//! gives each client an id and a task of its own (tasks, not threads: thousands of clients
//! cost little), keeps a registry of them for stdin commands (`@ID`, `:list`, `:kick`), and
//! on stop tells every client (FIN) and prints totals. What a client gets is a [`Service`]:
//! the echo/reply server here, the relay in `relay.rs`.

use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use std::future::Future;

use super::listener::Listener;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::connection::{self, CloseRequest, Conn, ConnOptions, Push};
use super::stream::Stream;
use crate::event::Events;
use crate::event::{CloseReason, Command, ConnId, Counters, EventKind, Proto, Side, Target, TlsInfo};
use crate::input::LineFormat;
use crate::netinfo::interfaces::reachable;
use crate::notice::{HelpFor, Notice, Rejection, Turned};

/// What an accepted client gets. `serve` runs between its `connected` and `closed` events
/// and says why it ended; the connection's counters and close requests live in `conn`.
pub trait Service: Send + Sync + 'static {
    fn serve(
        &self,
        stream: Stream,
        conn: Arc<Conn>,
        events: Events,
        stop: CancellationToken,
    ) -> impl Future<Output = CloseReason> + Send;

    /// Whether lines typed on stdin are sent to clients (a relay only forwards).
    fn takes_typed_lines(&self) -> bool {
        true
    }

    /// Whether each connection watches the stop token itself (the relay: it drains what it
    /// read first). Otherwise the accept loop makes a close request to each at a stop.
    fn watches_stop(&self) -> bool {
        false
    }
}

/// Where a server listens, and the addresses a peer can reach it at.
pub(crate) fn listening(
    proto: Proto,
    addr: crate::event::Peer,
    dual_stack: bool,
    backlog: Option<u32>,
    relay_to: Option<String>,
) -> EventKind {
    let reachable = addr.ip().map(|a| reachable(a, dual_stack)).unwrap_or_default();
    EventKind::Listening { proto, addr, dual_stack, backlog, reachable, relay_to }
}

/// Says a client is connected (with what its TLS handshake agreed on, if it made one).
pub(crate) async fn announce(events: &Events, conn: &Conn, stream: &Stream) {
    events.send(accepted(conn, stream.proto(), local_end(stream), stream.tls_info())).await;
}

/// The `connected` event of a client this server accepted on `local`.
fn accepted(conn: &Conn, proto: Proto, local: crate::event::Peer, tls: Option<Box<TlsInfo>>) -> EventKind {
    EventKind::Connected { id: conn.id, proto, peer: conn.peer.clone(), local, side: Side::Accepted, tls }
}

/// Our end of an accepted connection.
fn local_end(stream: &Stream) -> crate::event::Peer {
    stream.local().unwrap_or_else(|| std::net::SocketAddr::from(([0, 0, 0, 0], 0)).into())
}

/// The server of `netassist listen`: shows, echoes or answers what each client sends.
pub struct Answering(pub ConnOptions);

impl Service for Answering {
    // An `async move` block rather than an `async fn`: an async fn keeps its arguments
    // twice in its future (as given and as moved in), for every idle client.
    #[allow(clippy::manual_async_fn)]
    fn serve(
        &self,
        stream: Stream,
        conn: Arc<Conn>,
        events: Events,
        // A stop reaches the connection as a close request from the accept loop.
        _stop: CancellationToken,
    ) -> impl Future<Output = CloseReason> + Send {
        async move {
            announce(&events, &conn, &stream).await;
            connection::serve_stream(stream, &conn, &self.0, &events).await
        }
    }
}

/// How long a client has to finish its TLS handshake.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// A service behind TLS: the handshake first, then the service on the decrypted stream.
pub struct Tls<S> {
    pub acceptor: tokio_rustls::TlsAcceptor,
    pub inner: S,
}

/// A service run on a stream a wrapper (TLS) has already announced.
pub trait StreamService: Send + Sync + 'static {
    fn serve_stream(
        &self,
        stream: Stream,
        conn: Arc<Conn>,
        events: Events,
        stop: CancellationToken,
    ) -> impl Future<Output = CloseReason> + Send;
}

impl StreamService for Answering {
    async fn serve_stream(
        &self,
        stream: Stream,
        conn: Arc<Conn>,
        events: Events,
        _stop: CancellationToken,
    ) -> CloseReason {
        connection::serve_stream(stream, &conn, &self.0, &events).await
    }
}

impl<S: StreamService + Service> Service for Tls<S> {
    async fn serve(&self, stream: Stream, conn: Arc<Conn>, events: Events, stop: CancellationToken) -> CloseReason {
        let local = local_end(&stream);
        let proto = stream.proto();
        // TLS is served over TCP (another kind of stream needs its own TLS variant).
        let Stream::Plain(tcp) = stream else {
            return CloseReason::Error(crate::error::io_reason(&io::ErrorKind::Unsupported.into()));
        };
        let shaking = tokio::time::timeout(HANDSHAKE, self.acceptor.accept(tcp));
        let shaken = tokio::select! {
            shaken = shaking => shaken,
            () = stop.cancelled() => return CloseReason::Stopping,
        };
        let reason = match shaken {
            Ok(Ok(tls)) => {
                let stream = Stream::TlsServer(Box::new(tls));
                events.send(accepted(&conn, proto, local, stream.tls_info())).await;
                return self.inner.serve_stream(stream, conn, events, stop).await;
            }
            Ok(Err(e)) => CloseReason::TlsFailed(crate::tls::handshake_error(&e)),
            Err(_) => CloseReason::TlsTimeout(HANDSHAKE),
        };
        // The client did connect; it failed the handshake.
        events.send(accepted(&conn, proto, local, None)).await;
        reason
    }

    fn takes_typed_lines(&self) -> bool {
        self.inner.takes_typed_lines()
    }

    fn watches_stop(&self) -> bool {
        self.inner.watches_stop()
    }
}

#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub conn: ConnOptions,
    pub max_conn: Option<usize>,
    /// Bytes that may wait for one client before it is dropped as not reading.
    pub queue_limit: usize,
    pub line: LineFormat,
    /// Facts about the listening socket, for the `listening` event.
    pub dual_stack: bool,
    pub backlog: u32,
    /// Who may connect.
    pub access: Arc<crate::access::Access>,
    /// The relay's target as a person gave it (`host:port`), for its banner and help.
    pub relay_to: Option<String>,
}

type Registry = Arc<Mutex<BTreeMap<ConnId, Arc<Conn>>>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Totals of the clients that have gone.
#[derive(Default)]
struct Totals {
    clients: u64,
    counters: Counters,
}

/// Serves clients until `stop` is cancelled (ctrl-c, SIGTERM, `:quit`). `lines` are the
/// lines typed on stdin, if it is read.
pub async fn run(
    listener: Listener,
    opts: ServerOptions,
    events: Events,
    commands: Option<mpsc::Receiver<Command>>,
    stop: CancellationToken,
) -> io::Result<()> {
    let service = Arc::new(Answering(opts.conn.clone()));
    run_service(listener, &opts, service, events, commands, stop).await
}

/// The accept loop, for any service.
pub(crate) async fn run_service<S: Service>(
    listener: Listener,
    opts: &ServerOptions,
    service: Arc<S>,
    events: Events,
    mut commands: Option<mpsc::Receiver<Command>>,
    stop: CancellationToken,
) -> io::Result<()> {
    let started = Instant::now();
    let local = listener.local()?;
    events.send(listening(listener.proto(), local, opts.dual_stack, Some(opts.backlog), opts.relay_to.clone())).await;
    if matches!(listener, Listener::Unix(_)) && opts.access.limits() {
        events.send(EventKind::Note(Notice::UnixNoAccess)).await;
    }

    let registry: Registry = Arc::default();
    let totals: Arc<Mutex<Totals>> = Arc::default();
    let tracker = TaskTracker::new();
    let mut next_id: ConnId = 1;
    // After an accept error such as EMFILE: when to try again, and whether we said so.
    let mut paused_until: Option<Instant> = None;
    let mut backoff = Duration::from_millis(50);
    let mut told_accept_error = false;
    let mut stalled = tokio::task::JoinSet::new();

    loop {
        let resume = paused_until.unwrap_or_else(Instant::now);
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            // While a push waits for a client to make room, typed commands wait too.
            cmd = next_command(&mut commands), if stalled.is_empty() => match cmd {
                Some(Command::Send { .. }) if !service.takes_typed_lines() => {
                    events.send(EventKind::Error { id: None, notice: Notice::RelayOnlyForwards }).await;
                }
                Some(cmd) => {
                    let help = if opts.relay_to.is_some() { HelpFor::Relay } else { HelpFor::Server };
                    handle(cmd, &registry, &events, &stop, &mut stalled, help).await
                }
                None => commands = None,
            },
            Some(_) = stalled.join_next(), if !stalled.is_empty() => {}
            () = tokio::time::sleep_until(resume), if paused_until.is_some() => paused_until = None,
            accepted = listener.accept(), if paused_until.is_none() => match accepted {
                Ok((stream, peer)) => {
                    backoff = Duration::from_millis(50);
                    told_accept_error = false;
                    if let Some(Err(reason)) = peer.ip().map(|a| opts.access.check(a.ip())) {
                        drop(stream);
                        events.send(EventKind::Rejected { peer, reason, turned: Turned::ClosedAtOnce }).await;
                        continue;
                    }
                    if let Some(max) = opts.max_conn {
                        let n = lock(&registry).len();
                        if n >= max {
                            drop(stream);
                            let reason = Rejection::MaxConn { connected: n, max };
                            events.send(EventKind::Rejected { peer, reason, turned: Turned::ClosedAtOnce }).await;
                            continue;
                        }
                    }
                    let id = next_id;
                    next_id += 1;
                    let conn = Arc::new(Conn::new(id, peer, opts.queue_limit));
                    lock(&registry).insert(id, conn.clone());
                    let (registry, totals, events, stop, service) =
                        (registry.clone(), totals.clone(), events.clone(), stop.clone(), service.clone());
                    tracker.spawn(async move {
                        let reason = service.serve(stream, conn.clone(), events.clone(), stop).await;
                        lock(&registry).remove(&id);
                        let counters = conn.counters();
                        {
                            let mut t = lock(&totals);
                            t.clients += 1;
                            t.counters.add(&counters);
                        }
                        let peer = conn.peer.clone();
                        events.send(EventKind::Closed { id, peer, reason, counters, duration: conn.age() }).await;
                    });
                }
                Err(e) if is_transient(&e) => {}
                Err(e) => {
                    // Out of file descriptors or memory: keep serving the clients we have,
                    // try again shortly, and say so once.
                    if !told_accept_error {
                        told_accept_error = true;
                        let notice = Notice::AcceptFailed {
                            connected: lock(&registry).len(),
                            why: crate::error::io_reason(&e),
                            out_of_fds: matches!(e.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE)),
                        };
                        events.send(EventKind::Error { id: None, notice }).await;
                    }
                    paused_until = Some(Instant::now() + backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            },
        }
    }

    // No new clients from here on; every client gets FIN.
    drop(listener);
    if !service.watches_stop() {
        for conn in lock(&registry).values() {
            conn.close(CloseRequest::Now(CloseReason::Stopping));
        }
    }
    tracker.close();
    tracker.wait().await;
    let (clients, counters) = {
        let t = lock(&totals);
        (t.clients, t.counters)
    };
    events.send(EventKind::Stopped { clients, counters, duration: started.elapsed() }).await;
    Ok(())
}

/// The next command, or never once there is no input left.
pub(crate) async fn next_command<T>(commands: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match commands {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Errors that concern one connection attempt only; accept again at once.
fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    ) || matches!(e.raw_os_error(), Some(libc::EPROTO) | Some(libc::EPERM))
}

async fn handle(
    cmd: Command,
    registry: &Registry,
    events: &Events,
    stop: &CancellationToken,
    stalled: &mut tokio::task::JoinSet<()>,
    help: HelpFor,
) {
    let error = |notice: Notice| EventKind::Error { id: None, notice };
    match cmd {
        Command::Send { to, bytes } => {
            let (problems, waiting) = send(registry, &to, bytes);
            for problem in problems {
                events.send(error(problem)).await;
            }
            for push in waiting {
                stalled.spawn(push.wait());
            }
        }
        Command::Kick(ids) => {
            for id in ids {
                let conn = lock(registry).get(&id).cloned();
                match conn {
                    Some(conn) => conn.close(CloseRequest::Now(CloseReason::Kicked)),
                    None => events.send(error(Notice::NoSuchClient(id))).await,
                }
            }
        }
        Command::List => {
            let list = lock(registry).values().map(|c| c.info()).collect();
            events.send(EventKind::Clients(list)).await;
        }
        Command::Help => events.send(EventKind::Note(Notice::Help(help))).await,
        Command::Quit => stop.cancel(),
    }
}

/// Queues bytes for the target clients; returns what went wrong, as messages.
/// How long a client whose queue is full may take to make room before it is dropped as
/// not reading. Meanwhile typed lines wait (stdin is not read): a slow client slows the
/// typist, a dead one is dropped.
const STALL: Duration = Duration::from_secs(2);

/// Queues bytes for the target clients. Returns what went wrong, and the pushes that must
/// wait for room (each drops its client if no room comes within [`STALL`]).
fn send(registry: &Registry, to: &Target, bytes: Bytes) -> (Vec<Notice>, Vec<Stalled>) {
    let registry = lock(registry);
    let targets: Vec<Result<&Arc<Conn>, ConnId>> = match to {
        Target::All => registry.values().map(Ok).collect(),
        Target::Ids(ids) => ids.iter().map(|id| registry.get(id).ok_or(*id)).collect(),
    };
    if targets.is_empty() {
        return (vec![Notice::NoClient], Vec::new());
    }
    let mut problems = Vec::new();
    let mut stalled = Vec::new();
    for target in targets {
        match target {
            Ok(conn) => {
                if conn.push(bytes.clone()) == Push::Full {
                    stalled.push(Stalled { conn: conn.clone(), bytes: bytes.clone() });
                }
            }
            Err(id) => problems.push(Notice::NotSentNoSuchClient(id)),
        }
    }
    (problems, stalled)
}

/// A push waiting for a client to make room in its queue.
pub(crate) struct Stalled {
    conn: Arc<Conn>,
    bytes: Bytes,
}

impl Stalled {
    async fn wait(self) {
        if tokio::time::timeout(STALL, self.conn.push_wait(self.bytes)).await.is_err() {
            self.conn.close(CloseRequest::Now(CloseReason::QueueFull(self.conn.queue_limit())));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn an_idle_client_costs_at_most_2000_bytes() {
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
            // 2000 bytes: a million idle clients in 2 GB.
            assert!(per_client <= 2000, "an idle client holds {per_client} bytes; at most 2000 was promised");

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

#[cfg(test)]
mod quiet_tests {
    use super::tests::options;
    use super::*;
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
