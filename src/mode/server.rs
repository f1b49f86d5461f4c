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
use futures_util::FutureExt;
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
    /// The future owns what it is given, once: every idle client holds this future (in its
    /// task), so a layer that took the stream by value and passed it on would hold it twice.
    fn serve(
        self: Arc<Self>,
        stream: Stream,
        conn: Arc<Conn>,
        events: Events,
        stop: CancellationToken,
    ) -> impl Future<Output = CloseReason> + Send + 'static;

    /// Whether lines typed on stdin are sent to clients (a relay only forwards).
    fn takes_typed_lines(&self) -> bool {
        true
    }

    /// Whether each connection stops on its own terms (the relay: it drains what it read
    /// first); the accept loop then calls `Conn::stop` on each at a stop (and the token is
    /// cancelled, for what waits on it). Otherwise it makes a close request to each.
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

/// Start-up is over (the socket listens): gives the heap's free pages back to the OS.
/// glibc keeps what start-up freed (parsing the command line, listing interfaces for the
/// listening line: about a megabyte) for later allocations; a server that then idles,
/// or holds thousands of small connections, never needs it.
pub(crate) fn start_up_done() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the OS; it takes the allocator's locks.
    unsafe {
        libc::malloc_trim(0);
    }
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
    // Not an `async fn`: that would keep the arguments twice (as given and as moved in),
    // the stream among them, in every idle client's task.
    #[allow(clippy::manual_async_fn)]
    fn serve(
        self: Arc<Self>,
        mut stream: Stream,
        conn: Arc<Conn>,
        events: Events,
        // A stop reaches the connection as a close request from the accept loop.
        _stop: CancellationToken,
    ) -> impl Future<Output = CloseReason> + Send + 'static {
        // The one owner of the stream; what it calls borrows it.
        async move {
            announce(&events, &conn, &stream).await;
            connection::serve_stream(&mut stream, &conn, &self.0, &events).await
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
        mut stream: Stream,
        conn: Arc<Conn>,
        events: Events,
        _stop: CancellationToken,
    ) -> CloseReason {
        connection::serve_stream(&mut stream, &conn, &self.0, &events).await
    }
}

impl<S: StreamService + Service> Service for Tls<S> {
    async fn serve(
        self: Arc<Self>,
        stream: Stream,
        conn: Arc<Conn>,
        events: Events,
        stop: CancellationToken,
    ) -> CloseReason {
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

/// What a connection's task does once its service has ended: the registry forgets it, its
/// counters join the totals, and the `closed` event says why it ended.
struct Gone {
    registry: Registry,
    totals: Arc<Mutex<Totals>>,
    events: Events,
}

impl Gone {
    async fn closed(self: Arc<Self>, conn: Arc<Conn>, reason: CloseReason) {
        let id = conn.id;
        lock(&self.registry).remove(&id);
        let counters = conn.counters();
        {
            let mut t = lock(&self.totals);
            t.clients += 1;
            t.counters.add(&counters);
        }
        let peer = conn.peer.clone();
        self.events.send(EventKind::Closed { id, peer, reason, counters, duration: conn.age() }).await;
    }
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
    start_up_done();
    if matches!(listener, Listener::Unix(_)) && opts.access.limits() {
        events.send(EventKind::Note(Notice::UnixNoAccess)).await;
    }

    let registry: Registry = Arc::default();
    let totals: Arc<Mutex<Totals>> = Arc::default();
    let tracker = TaskTracker::new();
    let gone = Arc::new(Gone { registry: registry.clone(), totals: totals.clone(), events: events.clone() });
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
                    let serving = service.clone().serve(stream, conn.clone(), events.clone(), stop.clone());
                    let gone = gone.clone();
                    // `then` rather than an async block around both: the block would keep
                    // its own slot for the stream it passes on, beside the one in `serving`.
                    tracker.spawn(serving.then(move |reason| gone.closed(conn, reason)));
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
    for conn in lock(&registry).values() {
        if service.watches_stop() {
            conn.stop();
        } else {
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
#[path = "server_tests.rs"]
mod tests;
