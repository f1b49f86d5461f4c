//! `netassist relay LISTEN_PORT TARGET_HOST TARGET_PORT`: TCP (plain or TLS on either
//! side) or UDP, with its view and capture file.

use rust_i18n::t;
use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use super::{finish, open_files, stop_on_signals, tell_self_signed, warn_insecure};
use crate::error::{Error, Result};
use crate::sink::{Events, Writer};
use crate::{cli, config, input, mode, net, sink, tls};

/// The relay's view (a line per chunk by default), plus the capture file if asked for.
pub(crate) fn relay_output(args: &cli::RelayArgs, stop: &CancellationToken) -> Result<(Events, Writer)> {
    let view: Box<dyn sink::Sink> = if args.json {
        Box::new(sink::json::Json::stdout(args.encoding))
    } else {
        let opts = sink::human::ViewOptions {
            raw_reads: false,
            show: args.dump,
            encoding: args.encoding,
            timestamps: !args.no_time,
            explain: false,
            relay: true,
            max_show: args.max_show,
            lines: args.lines,
        };
        Box::new(sink::human::Human::stdio(opts))
    };
    let view: Box<dyn sink::Sink> = match args.only.as_deref() {
        Some("c2t") => Box::new(sink::Only(crate::event::Dir::C2T, view)),
        Some("t2c") => Box::new(sink::Only(crate::event::Dir::T2C, view)),
        _ => view,
    };
    let Some(path) = &args.pcap else { return Ok(sink::spawn(view, !args.quiet, stop.clone())) };
    let capture = sink::pcap::Pcap::create(path)
        .map_err(|source| Error::Io { context: format!("cannot write the capture file {}", path.display()), source })?;
    let capture = sink::FileSink::new(t!("sink.capture_file", path = path.display()).into_owned(), Box::new(capture));
    let view: Box<dyn sink::Sink> = if args.quiet { Box::new(sink::WithoutData(view)) } else { view };
    Ok(sink::spawn(Box::new(sink::Tee(vec![view, Box::new(capture)])), true, stop.clone()))
}

pub(crate) async fn relay(args: cli::RelayArgs) -> Result<ExitCode> {
    let frames = config::relay_frames(&args)?;
    let relay_to = config::relay_upstream(&args)?;
    let mut opts = config::relay_accept_options(&args)?;
    if args.udp {
        let config::RelayTo::Fixed(mode::dial::DialTo::Tcp { host, port }) = &relay_to else {
            return Err(Error::Argument { what: "--udp".into(), message: t!("config.unix_udp").into_owned() });
        };
        // A target name that does not resolve is found now, not at the first client.
        let target = net::resolve(host, *port).await?[0];
        let bind = config::bind_to(args.bind.as_deref())?;
        return relay_udp(args, bind, target, opts).await;
    }
    if let config::RelayTo::Fixed(mode::dial::DialTo::Tcp { host, port }) = &relay_to {
        net::resolve(host, *port).await?;
    }
    let listening =
        super::stream_listener(&args.listen_port, args.bind.as_deref(), args.backlog, net::BufferRequest::default())?;
    opts.dual_stack = listening.dual_stack;
    let listener = listening.listener;
    let (listen_tls, target_tls) = config::relay_tls(&args);
    warn_insecure(target_tls.as_ref());
    let target_tls = match (target_tls, &relay_to) {
        (Some(setup), config::RelayTo::Fixed(to)) => {
            let name = match to {
                mode::dial::DialTo::Tcp { host, .. } => host.clone(),
                mode::dial::DialTo::Unix(_) => "localhost".to_string(),
            };
            Some((tokio_rustls::TlsConnector::from(tls::client_config(&setup)?), tls::server_name(&setup, &name)?))
        }
        _ => None,
    };
    let listen_tls = listen_tls.map(|setup| tls::server_config(&setup)).transpose()?;
    let (upstream, rule) = match relay_to {
        config::RelayTo::Fixed(to) => (mode::relay::Upstream::Fixed(to), None),
        config::RelayTo::Socks5(rule) => {
            let rule = std::sync::Arc::new(rule);
            (mode::relay::Upstream::Socks5(rule.clone()), Some(rule))
        }
        config::RelayTo::Http(rule) => {
            let rule = std::sync::Arc::new(rule);
            (mode::relay::Upstream::HttpProxy(rule.clone()), Some(rule))
        }
    };
    let service = mode::relay::Relay {
        upstream,
        connect_timeout: args.connect_timeout,
        idle_timeout: args.idle_timeout,
        linger: std::time::Duration::from_secs(1),
        drain: args.drain,
        retry: args.retry,
        target_tls,
        frames,
        max_frame: args.max_frame,
    };
    let stop = CancellationToken::new();
    stop_on_signals(stop.clone());
    let (events, writer) = relay_output(&args, &stop)?;
    open_files(&events).await;
    if let Some(rule) = rule {
        events.send(crate::event::EventKind::Note(crate::notice::Notice::TargetRule { allowed: rule.shown() })).await;
    }
    let commands = Some(input::stdin_commands(opts.line, events.clone()));
    let served = match listen_tls {
        None => mode::server::run_service(listener, &opts, std::sync::Arc::new(service), events, commands, stop).await,
        Some((config, made)) => {
            tell_self_signed(&events, made.as_ref()).await;
            let service = mode::server::Tls { acceptor: tokio_rustls::TlsAcceptor::from(config), inner: service };
            mode::server::run_service(listener, &opts, std::sync::Arc::new(service), events, commands, stop).await
        }
    };
    finish(writer)?;
    served.map_err(|source| Error::Io { context: t!("ctx.the_relay_stopped").into_owned(), source })?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn relay_udp(
    args: cli::RelayArgs,
    bind: net::BindTo,
    target: std::net::SocketAddr,
    opts: mode::server::ServerOptions,
) -> Result<ExitCode> {
    let bound = net::bind_udp(bind, super::udp_port(&args.listen_port)?, &net::UdpSetup::default())?;
    let socket = tokio::net::UdpSocket::from_std(bound.socket)
        .map_err(|source| Error::Io { context: t!("ctx.cannot_register_the_udp_socket").into_owned(), source })?;
    let relay = mode::relay_udp::UdpRelay {
        target,
        idle_timeout: args.idle_timeout.unwrap_or(std::time::Duration::from_secs(60)),
        max_clients: args.max_conn.map_or(4096, |n| usize::try_from(n).unwrap_or(usize::MAX)),
        dual_stack: bound.dual_stack,
        access: opts.access,
    };
    let line = opts.line;
    let stop = CancellationToken::new();
    stop_on_signals(stop.clone());
    let (events, writer) = relay_output(&args, &stop)?;
    let commands = Some(input::stdin_commands(line, events.clone()));
    let served = mode::relay_udp::run_udp(socket, relay, events, commands, stop).await;
    finish(writer)?;
    served.map_err(|source| Error::Io { context: t!("ctx.the_udp_relay_stopped").into_owned(), source })?;
    Ok(ExitCode::SUCCESS)
}
