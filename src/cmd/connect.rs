//! `netassist connect HOST PORT`: the TCP client (plain or TLS), or with `--udp` the UDP one.

use crate::proto::frame::FrameSpec;
use rust_i18n::t;
use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use super::{finish, narrate, output, stop_on_signals, terminal_ui, warn_insecure};
use crate::cli::ConnectArgs;
use crate::error::{Error, Result};
use crate::event::CloseReason;
use crate::notice::Notice;
use crate::{config, input, mode, net, tls, ui};

pub(crate) async fn connect_udp(args: ConnectArgs, host: String, port: u16) -> Result<ExitCode> {
    let target = net::resolve(&host, port).await?[0];
    let opts = config::udp_client_options(&args, &target)?;
    let (socket, connected, steps) = net::udp_client(target, &config::udp_connect_setup(&args))?;
    let buffers = net::Buffers {
        send: socket2::SockRef::from(&socket).send_buffer_size().unwrap_or(0),
        recv: socket2::SockRef::from(&socket).recv_buffer_size().unwrap_or(0),
        asked: config::buffer_request(&args.socket),
    };
    let socket = tokio::net::UdpSocket::from_std(socket)
        .map_err(|source| Error::Io { context: t!("ctx.cannot_register_the_udp_socket").into_owned(), source })?;
    let stop = CancellationToken::new();
    stop_on_signals(stop.clone());
    let reads_stdin = opts.payloads.is_empty();
    let (events, writer) = output(&args.view, args.socket.explain, args.messages.frame == FrameSpec::Raw, &stop)?;
    narrate(&events, &args.socket, steps, buffers).await;
    let input = reads_stdin.then(|| input::stdin_messages(opts.line, events.clone()));
    let ended = mode::udp_client::run_client(socket, target, connected, opts, events, input, stop).await;
    finish(writer)?;
    match ended.map_err(|source| Error::Io { context: t!("ctx.the_udp_socket_failed").into_owned(), source })? {
        mode::udp_client::UdpEnd::Refused => Err(Error::UdpRefused { addr: net::canonical(target) }),
        _ => Ok(ExitCode::SUCCESS),
    }
}

pub(crate) async fn connect(args: ConnectArgs) -> Result<ExitCode> {
    if args.ui {
        let settings = config::ui_connect(&args)?;
        let rules = config::ui_rules(&args.messages, args.view.encoding)?;
        return terminal_ui(ui::UiStart { settings, open: true, log_lines: args.log_lines as usize, rules }).await;
    }
    let to = config::connect_target(&args)?;
    if args.udp.udp {
        let mode::dial::DialTo::Tcp { host, port } = to else { unreachable!("checked by connect_target") };
        return connect_udp(args, host, port).await;
    }
    let opts = config::client_options(&args)?;
    let proxy = config::proxy(args.proxy.as_deref())?;
    let exec = config::exec_spec(args.exec.as_deref(), args.sh_exec.as_deref())?;
    let tls_setup = config::client_tls(&args.tls);
    let tls = match &tls_setup {
        Some(setup) => {
            let name = match &to {
                mode::dial::DialTo::Tcp { host, .. } => host.as_str(),
                mode::dial::DialTo::Unix(_) => "localhost",
            };
            Some((tokio_rustls::TlsConnector::from(tls::client_config(setup)?), tls::server_name(setup, name)?))
        }
        None => None,
    };
    warn_insecure(tls_setup.as_ref());
    let stop = CancellationToken::new();
    stop_on_signals(stop.clone());
    let dial =
        mode::dial::Dial { to, proxy, timeout: args.connect_timeout, sizes: config::buffer_request(&args.socket), tls };
    if let Some(spec) = exec {
        return connect_exec(&args, &dial, spec, stop).await;
    }
    let Some(every) = args.reconnect else {
        let Some(connected) = dial.dial(&stop).await? else { return Ok(ExitCode::from(130)) };
        let stream = connected.stream;
        let reads_stdin = opts.payloads.is_empty();
        let (events, writer) = output(&args.view, args.socket.explain, args.messages.frame == FrameSpec::Raw, &stop)?;
        narrate(&events, &args.socket, connected.steps, connected.buffers).await;
        via_proxy(&events, &dial).await;
        let mut input = reads_stdin.then(|| input::stdin_messages(opts.line, events.clone()));
        let peer = stream.peer_addr();
        let ended = mode::client::run(stream, 1, &opts, events, input.as_mut(), stop).await;
        // The stdin task holds an output handle until its receiver is gone.
        drop(input);
        finish(writer)?;
        let (reason, _) =
            ended.map_err(|source| Error::Io { context: t!("ctx.the_connection_failed").into_owned(), source })?;
        return match (reason, peer) {
            (CloseReason::Reset, Some(addr)) => Err(Error::Reset { addr }),
            (CloseReason::Error(message), _) => Err(Error::Io {
                context: t!("ctx.the_connection_failed").into_owned(),
                source: std::io::Error::other(message),
            }),
            (CloseReason::Failed(notice), _) => Err(Error::Io {
                context: t!("ctx.the_connection_failed").into_owned(),
                source: std::io::Error::other(notice.to_string()),
            }),
            _ => Ok(ExitCode::SUCCESS),
        };
    };
    reconnecting(&args, &dial, opts, every, stop).await
}

/// With `--proxy`: says that the address on the `connected` line is the proxy's.
async fn via_proxy(events: &crate::sink::Events, dial: &mode::dial::Dial) {
    if let Some(proxy) = &dial.proxy {
        let notice = Notice::ViaProxy { proxy: proxy.shown(), target: dial.to.to_string() };
        events.send(crate::event::EventKind::Note(notice)).await;
    }
}

/// `connect --exec`: the server's connection joined to a child process.
async fn connect_exec(
    args: &ConnectArgs,
    dial: &mode::dial::Dial,
    spec: mode::exec::ExecSpec,
    stop: CancellationToken,
) -> Result<ExitCode> {
    let Some(connected) = dial.dial(&stop).await? else { return Ok(ExitCode::from(130)) };
    let (events, writer) = output(&args.view, args.socket.explain, args.messages.frame == FrameSpec::Raw, &stop)?;
    narrate(&events, &args.socket, connected.steps, connected.buffers).await;
    via_proxy(&events, dial).await;
    let spec = std::sync::Arc::new(spec);
    let settings = mode::relay::Relay::exec(spec.clone(), None, &args.messages.frame, args.messages.max_frame);
    let (reason, _) = mode::exec::connect_child(&spec, connected.stream, &settings, &events, &stop).await;
    drop(events);
    finish(writer)?;
    match reason {
        CloseReason::Failed(notice) => Err(Error::Failed(notice.to_string())),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// The longest wait between two attempts of `--reconnect`.
const RECONNECT_MAX: std::time::Duration = std::time::Duration::from_secs(30);

/// `--reconnect`: connects again whenever the connection fails or the server ends it,
/// waiting longer after each failure in a row; typed input carries over; the totals count
/// every connection.
async fn reconnecting(
    args: &ConnectArgs,
    dial: &mode::dial::Dial,
    opts: mode::client::ClientOptions,
    every: std::time::Duration,
    stop: CancellationToken,
) -> Result<ExitCode> {
    use crate::event::EventKind;
    let started = tokio::time::Instant::now();
    let (events, writer) = output(&args.view, args.socket.explain, args.messages.frame == FrameSpec::Raw, &stop)?;
    let mut input = opts.payloads.is_empty().then(|| input::stdin_messages(opts.line, events.clone()));
    let (mut attempt, mut failures, mut connections) = (0u64, 0u32, 0u64);
    let mut totals = crate::event::Counters::default();
    let mut delay = every;
    let mut last_error = None;
    loop {
        attempt += 1;
        let why = match dial.dial(&stop).await {
            Ok(None) => break,
            Err(e) => {
                failures += 1;
                let why = crate::error::Shared::new(e);
                last_error = Some(why.clone());
                Notice::Failed(why)
            }
            Ok(Some(connected)) => {
                connections += 1;
                (failures, delay) = (0, every);
                narrate(&events, &args.socket, connected.steps, connected.buffers).await;
                let ended =
                    mode::client::run(connected.stream, attempt, &opts, events.clone(), input.as_mut(), stop.clone())
                        .await;
                match ended {
                    Ok((reason, counters)) => {
                        totals.add(&counters);
                        match reason {
                            CloseReason::Stopping | CloseReason::Done(_) => break,
                            // Typed input ended and the server closed after it: done.
                            CloseReason::PeerClosed if input.as_ref().is_some_and(|i| i.is_closed()) => break,
                            other => Notice::Closed(other),
                        }
                    }
                    Err(e) => Notice::Os { why: crate::error::io_reason(&e) },
                }
            }
        };
        if stop.is_cancelled() {
            break;
        }
        if args.retries.is_some_and(|n| failures >= n) {
            events.send(EventKind::Error { id: None, notice: Notice::GaveUp { failures } }).await;
            break;
        }
        events.send(EventKind::Note(Notice::Reconnecting { attempt, why: Box::new(why), delay })).await;
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = stop.cancelled() => break,
        }
        if failures > 0 {
            delay = (delay * 2).min(RECONNECT_MAX);
        }
    }
    events.send(EventKind::Stopped { clients: connections, counters: totals, duration: started.elapsed() }).await;
    drop((events, input));
    finish(writer)?;
    match (last_error, args.retries.is_some_and(|n| failures >= n)) {
        // The output is finished: the notices that shared the error are gone.
        (Some(e), true) => Err(std::sync::Arc::try_unwrap(e.0).unwrap_or_else(|e| Error::Failed(e.to_string()))),
        _ => Ok(ExitCode::SUCCESS),
    }
}
