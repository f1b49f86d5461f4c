//! Opening and closing what the settings describe: a TCP or UDP server, a TCP or UDP client,
//! on a task of its own. The UI sends it commands (servers) or bytes (clients); what
//! happens comes back as events; the task's result says how it ended.

use rust_i18n::t;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::app::{Role, Settings};
use super::settings::TlsMode;
use crate::config::{CLIENT_QUEUE, LINGER, UDP_PEERS};
use crate::event::Events;
use crate::event::{CloseReason, Command, EventKind};
use crate::input::{LineFormat, StdinFormat};
use crate::mode::connection::{ConnOptions, Reply};
use crate::mode::inbound::Messages;
use crate::net::{BufferRequest, UdpSetup};
use crate::notice::Notice;
use crate::proto::frame::FrameSpec;
use crate::proto::rules::RuleSet;

/// Where the UI's input goes.
pub enum Input {
    Commands(mpsc::Sender<Command>),
    Bytes(mpsc::Sender<Bytes>),
}

pub struct Session {
    pub stop: CancellationToken,
    pub input: Input,
    /// `Some(why)` when it failed.
    pub task: JoinHandle<Option<String>>,
}

impl Session {
    /// Hands a message to the engine; says so when it cannot take more now.
    pub fn send(&self, to: crate::event::Target, bytes: Bytes) -> Result<(), String> {
        let sent = match &self.input {
            Input::Commands(tx) => tx.try_send(Command::Send { to, bytes }).map_err(|e| e.to_string()),
            Input::Bytes(tx) => tx.try_send(bytes).map_err(|e| e.to_string()),
        };
        sent.map_err(|e| t!("ui.busy", why = e).into_owned())
    }

    pub fn command(&self, cmd: Command) -> Result<(), String> {
        match &self.input {
            Input::Commands(tx) => tx.try_send(cmd).map_err(|e| t!("ui.not_done", why = e).into_owned()),
            Input::Bytes(_) => Err(t!("ui.only_server_kicks").into_owned()),
        }
    }
}

/// What a message is (the settings' framing and checksums) and how it is answered: by the
/// UI's live rules, which end with the automatic reply.
fn messages(settings: &Settings, live: &Arc<RuleSet>) -> Messages {
    Messages {
        // A datagram is a message already.
        frame: if settings.role.is_udp() { FrameSpec::Raw } else { settings.frame.clone() },
        verify: settings.verify,
        append: settings.checksum,
        rules: Some(live.clone()),
        ..Messages::default()
    }
}

fn line_format(settings: &Settings) -> LineFormat {
    LineFormat { format: StdinFormat::Text, eol: settings.eol, encoding: settings.encoding, checksum: None }
}

/// Starts what the settings describe.
pub fn open(settings: &Settings, live: Arc<RuleSet>, events: Events) -> Session {
    let stop = CancellationToken::new();
    let s = settings.clone();
    let token = stop.clone();
    let (input, task) = if settings.role.is_server() {
        let (tx, rx) = mpsc::channel(256);
        (Input::Commands(tx), tokio::spawn(async move { serve(s, live, events, rx, token).await.err() }))
    } else {
        let (tx, rx) = mpsc::channel(256);
        (Input::Bytes(tx), tokio::spawn(async move { client(s, live, events, rx, token).await.err() }))
    };
    Session { stop, input, task }
}

async fn serve(
    s: Settings,
    live: Arc<RuleSet>,
    events: Events,
    commands: mpsc::Receiver<Command>,
    stop: CancellationToken,
) -> Result<(), String> {
    let port = crate::cli::parse_port(&s.port)?;
    let bind =
        crate::config::bind_to((!s.address.is_empty()).then_some(s.address.as_str())).map_err(|e| e.to_string())?;
    let conn = ConnOptions { reply: Reply::None, messages: messages(&s, &live), idle_timeout: None, linger: LINGER };
    let access = Arc::new(crate::access::Access::default());
    if s.role == Role::UdpServer {
        let bound = crate::net::bind_udp(bind, port, &UdpSetup::default()).map_err(|e| e.to_string())?;
        let socket = tokio::net::UdpSocket::from_std(bound.socket).map_err(|e| e.to_string())?;
        let opts = crate::mode::udp::UdpServerOptions {
            messages: conn.messages.clone(),
            reply: Reply::None,
            idle_timeout: None,
            line: line_format(&s),
            dual_stack: bound.dual_stack,
            max_peers: UDP_PEERS,
            access,
        };
        return crate::mode::udp::run_server(socket, opts, events, Some(commands), stop)
            .await
            .map_err(|e| e.to_string());
    }
    let listening = crate::net::listen_tcp(bind, port, 128, BufferRequest::default()).map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::from_std(listening.socket).map_err(|e| e.to_string())?;
    let opts = crate::mode::server::ServerOptions {
        conn,
        max_conn: None,
        // As `listen --queue-limit`'s default.
        queue_limit: CLIENT_QUEUE,
        line: line_format(&s),
        dual_stack: listening.dual_stack,
        backlog: 128,
        access,
        relay_to: None,
    };
    if s.tls == TlsMode::Off {
        return crate::mode::server::run(listener.into(), opts, events, Some(commands), stop)
            .await
            .map_err(|e| e.to_string());
    }
    // A certificate made now; its fingerprint in the log, for clients to compare.
    let setup = crate::tls::ServerSetup { self_signed: true, ..Default::default() };
    let (config, made) = crate::tls::server_config(&setup).map_err(|e| e.to_string())?;
    crate::cmd::tell_self_signed(&events, made.as_ref()).await;
    let service = crate::mode::server::Tls {
        acceptor: tokio_rustls::TlsAcceptor::from(config),
        inner: crate::mode::server::Answering(opts.conn.clone()),
    };
    crate::mode::server::run_service(listener.into(), &opts, Arc::new(service), events, Some(commands), stop)
        .await
        .map_err(|e| e.to_string())
}

async fn client(
    s: Settings,
    live: Arc<RuleSet>,
    events: Events,
    input: mpsc::Receiver<Bytes>,
    stop: CancellationToken,
) -> Result<(), String> {
    let port = crate::cli::parse_port(&s.port)?;
    let host = if s.address.is_empty() { "127.0.0.1".to_string() } else { s.address.clone() };
    if s.role == Role::UdpClient {
        let target = crate::net::resolve(&host, port).await.map_err(|e| e.to_string())?[0];
        let (socket, connected, _) = crate::net::udp_client(target, &UdpSetup::default()).map_err(|e| e.to_string())?;
        let socket = tokio::net::UdpSocket::from_std(socket).map_err(|e| e.to_string())?;
        let opts = crate::mode::udp_client::UdpClientOptions {
            messages: messages(&s, &live),
            payloads: Vec::new(),
            interval: None,
            rounds: Some(1),
            wait: None,
            line: line_format(&s),
        };
        return match crate::mode::udp_client::run_client(socket, target, connected, opts, events, Some(input), stop)
            .await
        {
            Ok(crate::mode::udp_client::UdpEnd::Refused) => {
                Err(t!("close.port_unreachable", addr = target).into_owned())
            }
            Ok(_) => Ok(()),
            Err(e) => Err(e.to_string()),
        };
    }
    let tls = match s.tls {
        TlsMode::Off => None,
        mode => {
            let setup = crate::tls::ClientSetup { insecure: mode == TlsMode::Insecure, ..Default::default() };
            let config = crate::tls::client_config(&setup).map_err(|e| e.to_string())?;
            let name = crate::tls::server_name(&setup, &host).map_err(|e| e.to_string())?;
            Some((tokio_rustls::TlsConnector::from(config), name))
        }
    };
    let dial = crate::mode::dial::Dial {
        to: crate::mode::dial::DialTo::Tcp { host, port },
        proxy: None,
        timeout: Duration::from_secs(10),
        sizes: BufferRequest::default(),
        tls,
    };
    let opts = crate::mode::client::ClientOptions {
        conn: ConnOptions { reply: Reply::None, messages: messages(&s, &live), idle_timeout: None, linger: LINGER },
        payloads: Vec::new(),
        interval: None,
        rounds: Some(1),
        wait: None,
        line: line_format(&s),
        queue_limit: CLIENT_QUEUE,
    };
    let mut input = input;
    // With Retry on: connect again after a failure or the server's close, waiting 1 s,
    // doubling to 30 s, as `connect --reconnect`; typed lines wait meanwhile.
    let mut delay = RETRY_FIRST;
    for attempt in 1.. {
        let why = match dial.dial(&stop).await {
            Ok(None) => return Ok(()),
            Err(e) if !s.reconnect => return Err(e.to_string()),
            Err(e) => Notice::Failed(crate::error::Shared::new(e)),
            Ok(Some(connected)) => {
                delay = RETRY_FIRST;
                let ended = crate::mode::client::run(
                    connected.stream,
                    attempt,
                    &opts,
                    events.clone(),
                    Some(&mut input),
                    stop.clone(),
                )
                .await
                .map_err(|e| e.to_string())?;
                match ended.0 {
                    CloseReason::Stopping | CloseReason::Done(_) => return Ok(()),
                    _ if !s.reconnect => return Ok(()),
                    reason => Notice::Closed(reason),
                }
            }
        };
        events.send(EventKind::Note(Notice::Reconnecting { attempt, why: Box::new(why), delay })).await;
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = stop.cancelled() => return Ok(()),
        }
        delay = (delay * 2).min(RETRY_MAX);
    }
    Ok(())
}

/// The first wait of Retry, and the longest.
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(30);
