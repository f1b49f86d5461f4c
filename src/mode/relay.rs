//! `netassist relay`: a TCP forwarder that shows the conversation. Each accepted client gets
//! its own connection to the target; bytes flow both ways until both sides are done. A FIN
//! from one side is passed on as a shutdown of the other's write side; a reset is passed on
//! as a reset. While one side cannot take more, the relay stops reading the other: a slow
//! reader slows its peer down instead of growing memory.

use std::future::poll_fn;
use std::io;
use std::net::Shutdown;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use socket2::SockRef;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::carry::{Carry, Delivered, Flow, Step};
use super::connection::{Conn, STOP_LINGER, with_read_buffer};
use super::proxy::TargetRule;
use super::relay_view::Shown;
use super::server::{Service, StreamService};
use super::stream::Stream;
use super::timer::Timer;
use crate::event::Events;
use crate::event::{CloseReason, Dir, EventKind, Peer, Side};
use crate::net::BufferRequest;
use crate::notice::Notice;
use crate::proto::frame::FrameSpec;

/// Where the relay sends its clients.
#[derive(Clone)]
pub enum Upstream {
    /// One target for every client: TCP (maybe TLS) or a Unix socket.
    Fixed(super::dial::DialTo),
    /// Each client names its target (`--socks5`, `--http-proxy`), within the rule.
    Socks5(Arc<TargetRule>),
    HttpProxy(Arc<TargetRule>),
    /// A child process per client (`listen --exec`).
    Exec(Arc<super::exec::ExecSpec>),
}

/// Where the relay sends its clients, and how it carries their bytes.
#[derive(Clone)]
pub struct Relay {
    pub upstream: Upstream,
    pub connect_timeout: Duration,
    pub idle_timeout: Option<Duration>,
    /// How long a closing relay keeps reading after sending FIN both ways.
    pub linger: Duration,
    /// At a stop, how long bytes already read may take to be written before the FINs.
    pub drain: Duration,
    /// `--retry SECS`: a target that is not up yet is tried again this often, while the
    /// client waits (socat's `retry`), instead of closing the client at once.
    pub retry: Option<Duration>,
    /// Speak TLS to the target (`--tls-target`): how, and the name to ask for.
    pub target_tls: Option<(tokio_rustls::TlsConnector, rustls::pki_types::ServerName<'static>)>,
    /// `--frame`: where a message ends, client to target and target to client; `--max-frame`.
    pub frames: (FrameSpec, FrameSpec),
    pub max_frame: usize,
}

impl Relay {
    /// The settings of `--exec`: a child per connection, with the idle timeout and the
    /// framing (`--frame`, `--max-frame`) of the command that runs it.
    pub fn exec(
        spec: Arc<super::exec::ExecSpec>,
        idle_timeout: Option<Duration>,
        frame: &FrameSpec,
        max_frame: usize,
    ) -> Relay {
        Relay {
            upstream: Upstream::Exec(spec),
            // No target is dialled.
            connect_timeout: Duration::ZERO,
            idle_timeout,
            linger: Duration::from_secs(1),
            drain: Duration::from_secs(2),
            retry: None,
            target_tls: None,
            frames: (frame.clone(), frame.clone()),
            max_frame,
        }
    }

    pub(super) fn shown(&self, events: &Events) -> Shown {
        Shown::new(events.wants_data(), &self.frames.0, &self.frames.1, self.max_frame)
    }
}

impl Service for Relay {
    async fn serve(
        self: Arc<Self>,
        client: Stream,
        conn: Arc<Conn>,
        events: Events,
        stop: CancellationToken,
    ) -> CloseReason {
        super::server::announce(&events, &conn, &client).await;
        self.relay(client, conn, events, stop).await
    }

    fn takes_typed_lines(&self) -> bool {
        false
    }

    fn watches_stop(&self) -> bool {
        true
    }
}

impl StreamService for Relay {
    /// The client side after a TLS handshake (`--tls-listen`).
    async fn serve_stream(
        &self,
        client: Stream,
        conn: Arc<Conn>,
        events: Events,
        stop: CancellationToken,
    ) -> CloseReason {
        self.relay(client, conn, events, stop).await
    }
}

/// How long a proxy client has to say where it goes.
const ASKING: Duration = Duration::from_secs(10);

impl Relay {
    async fn relay(&self, mut client: Stream, conn: Arc<Conn>, events: Events, stop: CancellationToken) -> CloseReason {
        let (to, asked) = match &self.upstream {
            Upstream::Fixed(to) => (to.clone(), None),
            Upstream::Exec(spec) => {
                return super::exec::run_child(spec, client, &conn, self, [Dir::In, Dir::Out], &events, &stop).await;
            }
            Upstream::Socks5(rule) | Upstream::HttpProxy(rule) => {
                let socks = matches!(self.upstream, Upstream::Socks5(_));
                match self.asked(&mut client, socks, rule, &conn, &events, &stop).await {
                    Ok(found) => found,
                    Err(reason) => return reason,
                }
            }
        };
        let dial = super::dial::Dial {
            to,
            proxy: None,
            timeout: self.connect_timeout,
            sizes: BufferRequest::default(),
            tls: self.target_tls.clone(),
        };
        let mut said = false;
        let mut target = loop {
            match dial.dial(&stop).await {
                Ok(Some(dialed)) => break dialed.stream,
                Ok(None) => return CloseReason::Stopping,
                Err(e) => {
                    let why = crate::error::Shared::new(e);
                    let Some(every) = self.retry.filter(|_| asked.is_none()) else {
                        if let Some(asked) = &asked {
                            let _ = super::proxy::answer(&mut client, asked.how, None, false).await;
                        }
                        return CloseReason::TargetFailed(Box::new(Notice::Failed(why)));
                    };
                    if !said {
                        said = true;
                        let notice = Notice::TargetRetry { why, every };
                        events.send(EventKind::Error { id: Some(conn.id), notice }).await;
                    }
                    tokio::select! {
                        () = tokio::time::sleep(every) => {}
                        () = stop.cancelled() => return CloseReason::Stopping,
                        () = client_left(&client) => return CloseReason::PeerClosed,
                    }
                }
            }
        };
        client.no_delay();
        target.no_delay();
        let (Some(peer), Some(local)) = (target.peer(), target.local()) else {
            return CloseReason::TargetFailed(Box::new(Notice::TargetBroke));
        };
        let peer = match (&asked, peer) {
            (Some(a), Peer::Ip(addr)) if a.host.parse::<std::net::IpAddr>().is_err() => {
                Peer::Named { name: a.target(), addr }
            }
            (_, peer) => peer,
        };
        let tls = target.tls_info();
        let proto = target.proto();
        events.send(EventKind::Connected { id: conn.id, proto, peer, local, side: Side::Initiated, tls }).await;
        if let Some(asked) = asked {
            let bound = target.local_addr();
            if super::proxy::answer(&mut client, asked.how, bound, false).await.is_err() {
                return CloseReason::ClientReset;
            }
            if !asked.first.is_empty() {
                use tokio::io::AsyncWriteExt;
                if target.write_all(&asked.first).await.is_err() {
                    return CloseReason::TargetReset;
                }
                let mut shown = self.shown(&events);
                count(&conn, Dir::C2T, asked.first.len(), shown.reads_are_messages(Dir::C2T));
                shown.delivered(&conn, Dir::C2T, Bytes::from(asked.first), &events).await;
            }
        }
        match (client, target) {
            (Stream::Plain(client), Stream::Plain(target)) => pump(&client, &target, &conn, self, &events, &stop).await,
            (client, target) => {
                super::relay_io::pump_io(client, target, &conn, self, [Dir::C2T, Dir::T2C], &events, &stop).await
            }
        }
    }

    /// A proxy client's request: read, named, checked against the rule. `Err`: the client
    /// was answered with a refusal (or left) and is done.
    async fn asked(
        &self,
        client: &mut Stream,
        socks: bool,
        rule: &TargetRule,
        conn: &Conn,
        events: &Events,
        stop: &CancellationToken,
    ) -> Result<(super::dial::DialTo, Option<super::proxy::Asked>), CloseReason> {
        use super::proxy::{http_asked, socks5_asked};
        let reading = async { if socks { socks5_asked(client).await } else { http_asked(client).await } };
        let asked = tokio::select! {
            asked = tokio::time::timeout(ASKING, reading) => asked,
            () = stop.cancelled() => return Err(CloseReason::Stopping),
        };
        let refuse = |target: String, why: String| {
            let notice = Notice::TargetRefused { target, why };
            CloseReason::TargetFailed(Box::new(notice))
        };
        let asked = match asked {
            Ok(Ok(asked)) => asked,
            Ok(Err(why)) => return Err(refuse(String::from("?"), why)),
            Err(_) => {
                let why = rust_i18n::t!("proxy.no_answer", time = crate::render::time::seconds(ASKING)).into_owned();
                return Err(refuse(String::from("?"), why));
            }
        };
        let target = asked.target();
        events
            .send(EventKind::Note(Notice::ProxyAsked { id: conn.id, how: asked.how.as_str(), target: target.clone() }))
            .await;
        let addrs = match crate::net::resolve(&asked.host, asked.port).await {
            Ok(addrs) => addrs,
            Err(e) => {
                let _ = super::proxy::answer(client, asked.how, None, false).await;
                return Err(CloseReason::TargetFailed(Box::new(Notice::Failed(crate::error::Shared::new(e)))));
            }
        };
        // The address checked is the address dialled: no second lookup to slip past the rule.
        let Some(addr) = addrs.into_iter().find(|a| rule.allows(&asked.host, asked.port, *a)) else {
            let _ = super::proxy::answer(client, asked.how, None, true).await;
            return Err(refuse(target, rust_i18n::t!("proxy.not_allowed").into_owned()));
        };
        Ok((super::dial::DialTo::Tcp { host: addr.ip().to_string(), port: addr.port() }, Some(asked)))
    }
}

/// Completes when the client has closed (what it sent meanwhile stays queued for the target).
/// Only a TCP client can be watched without reading from it; for others it never completes.
async fn client_left(client: &Stream) {
    let Some(client) = client.tcp() else { return std::future::pending().await };
    loop {
        if client.readable().await.is_err() {
            return;
        }
        let mut byte = [0u8; 1];
        match client.peek(&mut byte).await {
            Ok(0) | Err(_) => return,
            // Data waits in the socket for the target: nothing to do until it is up.
            Ok(_) => std::future::pending::<()>().await,
        }
    }
}

/// Which side an I/O error happened on.
enum Failure {
    Client(io::Error),
    Target(io::Error),
}

fn is_reset(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted | io::ErrorKind::BrokenPipe)
}

/// Makes the next close of `stream` a reset: SO_LINGER 0.
fn reset_on_close(stream: &TcpStream) {
    let _ = SockRef::from(stream).set_linger(Some(Duration::ZERO));
}

/// Passes a failure on to the other side and says what happened.
fn failed(failure: Failure, client: &TcpStream, target: &TcpStream) -> CloseReason {
    match failure {
        Failure::Client(e) if is_reset(&e) => {
            reset_on_close(target);
            CloseReason::ClientReset
        }
        Failure::Target(e) if is_reset(&e) => {
            reset_on_close(client);
            CloseReason::TargetReset
        }
        Failure::Client(e) | Failure::Target(e) => {
            reset_on_close(client);
            reset_on_close(target);
            CloseReason::Error(crate::error::io_reason(&e))
        }
    }
}

async fn pump(
    client: &TcpStream,
    target: &TcpStream,
    conn: &Conn,
    relay: &Relay,
    events: &Events,
    stop: &CancellationToken,
) -> CloseReason {
    let mut shown = relay.shown(events);
    let want = shown.copies();
    let (mut c2t, mut t2c) = (Flow::new(Carry::new(want)), Flow::new(Carry::new(want)));
    let mut idle = Timer::after(relay.idle_timeout);
    // Set at a graceful stop: nothing more is read; what was read is written until then.
    let mut draining = false;
    let mut drain_deadline = Timer::default();
    if stop.is_cancelled() {
        conn.stop();
    }

    loop {
        if let Some(reason) = conn.close_now() {
            return finish(client, target, reason, relay.linger).await;
        }
        // A stop: the accept loop's `Conn::stop`, a flag read each turn where the token
        // would take a lock.
        if !draining && conn.stopping() {
            draining = true;
            drain_deadline.set(Instant::now() + relay.drain);
        }
        if draining && !c2t.carry.busy() && !t2c.carry.busy() {
            return finish(client, target, CloseReason::Stopping, STOP_LINGER).await;
        }
        // Pass each FIN on once everything read before it has been written.
        for (flow, dst, dir) in [(&mut c2t, target, Dir::C2T), (&mut t2c, client, Dir::T2C)] {
            if flow.eof && !flow.carry.busy() && !flow.passed {
                flow.passed = true;
                let _ = SockRef::from(dst).shutdown(Shutdown::Write);
                events.send(EventKind::HalfClosed { id: conn.id, dir }).await;
            }
        }
        if c2t.passed && t2c.passed {
            return CloseReason::BothClosed;
        }

        let outcome: Result<(), Failure> = tokio::select! {
            biased;
            () = drain_deadline.fired(), if draining => {
                for (flow, dir) in [(&mut c2t, Dir::C2T), (&mut t2c, Dir::T2C)] {
                    undelivered(flow, conn, dir, &mut shown, events).await;
                }
                return finish(client, target, CloseReason::Stopping, STOP_LINGER).await;
            }
            () = conn.woken() => Ok(()),
            // poll_fn over the sockets' own waker slots: no waiter made and dropped per turn.
            ready = poll_fn(|cx| target.poll_write_ready(cx)), if c2t.carry.busy() => match ready {
                Ok(()) => delivered(c2t.carry.drain(target, want), conn, Dir::C2T, &mut shown, events).await.map_err(Failure::Target),
                Err(e) => Err(Failure::Target(e)),
            },
            ready = poll_fn(|cx| client.poll_write_ready(cx)), if t2c.carry.busy() => match ready {
                Ok(()) => delivered(t2c.carry.drain(client, want), conn, Dir::T2C, &mut shown, events).await.map_err(Failure::Client),
                Err(e) => Err(Failure::Client(e)),
            },
            ready = poll_fn(|cx| client.poll_read_ready(cx)), if !draining && !c2t.eof && !c2t.carry.busy() => match ready {
                Ok(()) => step(client, target, &mut c2t, conn, Dir::C2T, &mut shown, events).await,
                Err(e) => Err(Failure::Client(e)),
            },
            ready = poll_fn(|cx| target.poll_read_ready(cx)), if !draining && !t2c.eof && !t2c.carry.busy() => match ready {
                Ok(()) => step(target, client, &mut t2c, conn, Dir::T2C, &mut shown, events).await,
                Err(e) => Err(Failure::Target(e)),
            },
            () = idle.fired(), if relay.idle_timeout.is_some() && !draining => {
                conn.idle_fired(relay.idle_timeout.expect("guarded"), &mut idle);
                Ok(())
            }
        };
        if let Err(failure) = outcome {
            return failed(failure, client, target);
        }
    }
}

/// Counts and shows what a drain wrote.
async fn delivered(
    moved: io::Result<Delivered>,
    conn: &Conn,
    dir: Dir,
    shown: &mut Shown,
    events: &Events,
) -> io::Result<()> {
    let moved = moved?;
    count(conn, dir, moved.n, false);
    if let Some(bytes) = moved.shown {
        shown.delivered(conn, dir, bytes, events).await;
    }
    Ok(())
}

/// The drain deadline passed with bytes of `flow` still unwritten: shows the part of a
/// chunk that was written, and names what was not delivered.
async fn undelivered(flow: &mut Flow, conn: &Conn, dir: Dir, shown: &mut Shown, events: &Events) {
    let left = flow.carry.waiting();
    if left == 0 {
        return;
    }
    if let Some(bytes) = flow.carry.written_part() {
        shown.delivered(conn, dir, bytes, events).await;
    }
    shown.ended(conn, dir, events).await;
    events.send(EventKind::Error { id: Some(conn.id), notice: Notice::NotDelivered { left, dir, id: conn.id } }).await;
}

/// Reads from `src` and forwards to `dst`; the events say what passed.
async fn step(
    src: &TcpStream,
    dst: &TcpStream,
    flow: &mut Flow,
    conn: &Conn,
    dir: Dir,
    shown: &mut Shown,
    events: &Events,
) -> Result<(), Failure> {
    let from_client = dir == Dir::C2T;
    let side = |read_side: bool, e: io::Error| {
        if read_side == from_client { Failure::Client(e) } else { Failure::Target(e) }
    };
    match flow.carry.step(src, dst, shown.copies()) {
        Err((true, e)) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
        Err((read, e)) => Err(side(read, e)),
        Ok(Step::Eof) => {
            flow.eof = true;
            shown.ended(conn, dir, events).await;
            Ok(())
        }
        Ok(Step::Moved(moved)) => {
            // Unframed, a read is a message; its bytes count as they are written.
            count(conn, dir, moved.n, shown.reads_are_messages(dir));
            if let Some(bytes) = moved.shown {
                shown.delivered(conn, dir, bytes, events).await;
            }
            Ok(())
        }
    }
}

/// Counts `n` bytes delivered in `dir`, and a message when a read began one.
pub(super) fn count(conn: &Conn, dir: Dir, n: usize, message: bool) {
    conn.count_delivered(matches!(dir, Dir::C2T | Dir::In), n, message);
}

/// Closes both sides with FIN, reading what still comes for a moment so the closes stay
/// FINs rather than resets.
async fn finish(client: &TcpStream, target: &TcpStream, reason: CloseReason, linger: Duration) -> CloseReason {
    let _ = SockRef::from(client).shutdown(Shutdown::Write);
    let _ = SockRef::from(target).shutdown(Shutdown::Write);
    let _ = tokio::time::timeout(linger, async { tokio::join!(read_to_eof(client), read_to_eof(target)) }).await;
    reason
}

/// Reads and drops what a socket still sends, until its FIN (or an error).
async fn read_to_eof(s: &TcpStream) {
    loop {
        if s.readable().await.is_err() {
            return;
        }
        let done = with_read_buffer(|buf| match s.try_read(buf) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => e.kind() != io::ErrorKind::WouldBlock,
        });
        if done {
            return;
        }
    }
}
