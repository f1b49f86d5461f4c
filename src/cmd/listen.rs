//! `netassist listen PORT`: the TCP server (plain or TLS), or with `--udp` the UDP one.

use crate::proto::frame::FrameSpec;
use rust_i18n::t;
use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use super::{
    finish, narrate, open_files, output, stop_on_signals, stream_listener, tell_self_signed, terminal_ui, udp_port,
};
use crate::cli::ListenArgs;
use crate::error::{Error, Result};
use crate::{config, input, mode, net, tls, ui};

pub(crate) async fn listen(args: ListenArgs) -> Result<ExitCode> {
    if args.ui {
        udp_port(&args.port)
            .map_err(|_| Error::Argument { what: "--ui".into(), message: t!("config.unix_ui").into_owned() })?;
        let settings = config::ui_listen(&args)?;
        let rules = config::ui_rules(&args.messages, args.view.encoding)?;
        return terminal_ui(ui::UiStart { settings, open: true, log_lines: args.log_lines as usize, rules }).await;
    }
    if args.udp.udp {
        return listen_udp(args).await;
    }
    // Check every argument before the socket exists.
    let mut opts = config::listen_options(&args)?;
    let exec = config::exec_spec(args.exec.as_deref(), args.sh_exec.as_deref())?;
    let listening =
        stream_listener(&args.port, args.bind.as_deref(), args.backlog, config::buffer_request(&args.socket))?;
    opts.dual_stack = listening.dual_stack;
    let listener = listening.listener;
    let tls = config::server_tls(&args.tls).map(|setup| tls::server_config(&setup)).transpose()?;
    let stop = CancellationToken::new();
    stop_on_signals(stop.clone());
    let (events, writer) = output(&args.view, args.socket.explain, args.messages.frame == FrameSpec::Raw, &stop)?;
    if let Some(buffers) = listening.buffers {
        narrate(&events, &args.socket, listening.steps, buffers).await;
    }
    open_files(&events).await;
    super::reload_rules_on_hangup(opts.conn.messages.rules.clone(), events.clone(), stop.clone());
    let commands = Some(input::stdin_commands(opts.line, events.clone()));
    if let Some(spec) = exec {
        let spec = std::sync::Arc::new(spec);
        let service = mode::relay::Relay::exec(spec, args.idle_timeout, &args.messages.frame, args.messages.max_frame);
        let served = match tls {
            None => {
                mode::server::run_service(listener, &opts, std::sync::Arc::new(service), events, commands, stop).await
            }
            Some((config, made)) => {
                tell_self_signed(&events, made.as_ref()).await;
                let service = mode::server::Tls { acceptor: tokio_rustls::TlsAcceptor::from(config), inner: service };
                mode::server::run_service(listener, &opts, std::sync::Arc::new(service), events, commands, stop).await
            }
        };
        finish(writer)?;
        served.map_err(|source| Error::Io { context: t!("ctx.the_server_stopped").into_owned(), source })?;
        return Ok(ExitCode::SUCCESS);
    }
    let served = match tls {
        None => mode::server::run(listener, opts, events, commands, stop).await,
        Some((config, made)) => {
            tell_self_signed(&events, made.as_ref()).await;
            let service = mode::server::Tls {
                acceptor: tokio_rustls::TlsAcceptor::from(config),
                inner: mode::server::Answering(opts.conn.clone()),
            };
            mode::server::run_service(listener, &opts, std::sync::Arc::new(service), events, commands, stop).await
        }
    };
    finish(writer)?;
    served.map_err(|source| Error::Io { context: t!("ctx.the_server_stopped").into_owned(), source })?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn listen_udp(args: ListenArgs) -> Result<ExitCode> {
    let port = udp_port(&args.port)?;
    let bind = config::bind_to(args.bind.as_deref())?;
    let mut opts = config::udp_server_options(&args)?;
    let bound = net::bind_udp(bind, port, &config::udp_listen_setup(&args))?;
    opts.dual_stack = bound.dual_stack;
    let socket = tokio::net::UdpSocket::from_std(bound.socket)
        .map_err(|source| Error::Io { context: t!("ctx.cannot_register_the_udp_socket").into_owned(), source })?;
    let stop = CancellationToken::new();
    stop_on_signals(stop.clone());
    let (events, writer) = output(&args.view, args.socket.explain, args.messages.frame == FrameSpec::Raw, &stop)?;
    narrate(&events, &args.socket, bound.steps, bound.buffers).await;
    open_files(&events).await;
    super::reload_rules_on_hangup(opts.messages.rules.clone(), events.clone(), stop.clone());
    let commands = Some(input::stdin_commands(opts.line, events.clone()));
    let served = mode::udp::run_server(socket, opts, events, commands, stop).await;
    finish(writer)?;
    served.map_err(|source| Error::Io { context: t!("ctx.the_udp_server_stopped").into_owned(), source })?;
    Ok(ExitCode::SUCCESS)
}
