//! netassist: a network debugging assistant. It plays the other end of a conversation: a
//! TCP server for many clients, a TCP client; it shows what passes as text in the encoding
//! people really send (UTF-8, GBK, Big5, ...) or as hex, as human lines or JSON.
//!
//! Data flows one way:
//!
//! ```text
//!   socket ──bytes──▶ mode (server | client | udp | relay) ──Event──▶ sink (human | JSON | pcap)
//!     ▲                    connection.rs                  sink/, over render/ (pure)
//!     └──────── Command (send, kick, list, quit) ◀── stdin lines (input.rs) │ timers
//! ```
//!
//! - [`cli`] holds what the user typed; [`config`] turns it into checked settings (bytes to
//!   send, addresses) before any socket exists.
//! - [`net`] makes sockets the lesson's way (SO_REUSEADDR, backlog, dual-stack) and maps
//!   OS errors to messages a person can act on ([`error`]).
//! - [`mode`] runs a server, a client, UDP or the relay. [`mode::connection`] is one TCP
//!   connection's life, shared by server and client; the server's accept loop serves any
//!   [`mode::server::Service`] (the echo/reply server, the relay). Modes emit
//!   [`event::Event`]s and take [`event::Command`]s.
//! - [`sink`] renders events on a writer thread behind a channel bounded by events and by
//!   bytes (4 MiB of data): a slow terminal slows the sockets, it never grows memory.
//!   [`render`] is the pure byte→text/hex layer. Files (`--output`, the relay's `--pcap`)
//!   are sinks too, built from the same events, written in whole records; one that fails
//!   (a full disk) stops alone and the run ends saying so.
//! - A stop (signal, `:quit`) is a cancellation token every engine selects on ahead of
//!   reading; the relay then drains what it already read (`--drain`) before its FINs.
//! - With `--quiet` no per-message event is built: the hot path is read, write, count.
//! - [`tools`] are the report commands (`ip`, `ping`, `port`, `buffers`) over [`netinfo`],
//!   what the OS tells about interfaces and ports. They print lines, not events.
//! - [`tls`] wraps a TCP stream in TLS for a server, a client or either side of the relay;
//!   the engines see one [`mode::stream::Stream`] type, plain or TLS. [`access`] decides
//!   which peers a server accepts.
//! - [`ui`] is the terminal UI: it runs the same engines and is one more consumer of their
//!   events (a bounded channel again), with keys turned into the same commands.

pub mod access;
pub mod cli;
pub mod config;
pub mod error;
pub mod event;
pub mod input;
pub mod mode;
pub mod net;
pub mod netinfo;
pub mod render;
pub mod sink;
pub mod tls;
pub mod tools;
pub mod ui;

use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use crate::cli::{Cli, Command, ConnectArgs, ListenArgs, SocketArgs, ViewArgs};
use crate::error::{Error, Result};
use crate::event::CloseReason;
use crate::sink::{Events, Writer};

/// Runs the command line; returns the exit status, or the error to print.
pub fn run(cli: Cli) -> Result<ExitCode> {
    // With one CPU (a small VM, or pinned with taskset) a single-threaded runtime is
    // cheaper and strictly FIFO: measured fairer with 5000 clients, never slower. ping
    // always uses one: its prober and the ICMP receiver share a thread, so a reply's
    // time holds no cross-thread wakeup.
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let runtime = if cpus == 1 || matches!(cli.command, Command::Ping(_)) {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().enable_all().build()
    }
    .map_err(|source| Error::Io { context: "cannot start the runtime".into(), source })?;
    runtime.block_on(async {
        match cli.command {
            Command::Listen(args) => listen(args).await,
            Command::Connect(args) => connect(args).await,
            Command::Ip(args) => report(|out| tools::ip::run(out, args.json).map_err(output_error)),
            Command::Port(args) => report(|out| tools::port::run(out, args.port.as_deref(), args.free, args.json)),
            Command::Buffers(args) => report(|out| {
                tools::buffers::run(out, net::BufferRequest { send: args.sndbuf, recv: args.rcvbuf }, args.json)
            }),
            Command::Ping(args) => ping(args).await,
            Command::Relay(args) => relay(args).await,
            Command::Bench(args) => bench(args).await,
            Command::Ui(args) => {
                let settings = ui::app::Settings::default();
                terminal_ui(ui::UiStart { settings, open: false, log_lines: args.log_lines as usize }).await
            }
        }
    })
}

fn output_error(source: std::io::Error) -> Error {
    Error::Io { context: "cannot write the output".into(), source }
}

/// Runs a report on stdout; output into a closed pipe (`| head`) ends quietly.
fn report(write: impl FnOnce(&mut dyn std::io::Write) -> Result<()>) -> Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match write(&mut out).and_then(|()| std::io::Write::flush(&mut out).map_err(output_error)) {
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e),
        Ok(()) => Ok(ExitCode::SUCCESS),
    }
}

async fn ping(args: cli::PingArgs) -> Result<ExitCode> {
    let stop = CancellationToken::new();
    stop_on_signals(stop.clone());
    let family = match (args.ipv4, args.ipv6) {
        (true, _) => tools::ping::Family::V4,
        (_, true) => tools::ping::Family::V6,
        _ => tools::ping::Family::Any,
    };
    let opts = tools::ping::PingOptions {
        count: (args.count > 0).then_some(args.count),
        interval: args.interval,
        timeout: args.timeout,
        size: usize::from(args.size),
        tcp: args.tcp,
        family,
        json: args.json,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match tools::ping::run(&mut out, &args.host, &opts, &stop).await {
        // Like ping: success when any reply came.
        Ok(summary) if summary.received() > 0 => Ok(ExitCode::SUCCESS),
        Ok(_) => Ok(ExitCode::FAILURE),
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e),
    }
}

/// Ctrl-c or SIGTERM cancels `stop` (a graceful end); a second one exits at once.
fn stop_on_signals(stop: CancellationToken) {
    tokio::spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        next_signal(&mut term).await;
        stop.cancel();
        next_signal(&mut term).await;
        std::process::exit(130);
    });
}

/// Raises the open-files soft limit to the hard limit: a server holds a descriptor per
/// client (the relay up to 6: two sockets and two pipes). Returns (old, new) when raised.
fn raise_open_files() -> Option<(u64, u64)> {
    // SAFETY: getrlimit/setrlimit with a valid resource and a struct we own.
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 || lim.rlim_cur >= lim.rlim_max {
        return None;
    }
    let old = lim.rlim_cur;
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: as above.
    (unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } == 0).then_some((old, lim.rlim_max))
}

/// Raises the open-files limit and says so in the banner when it did.
async fn open_files(events: &Events) {
    if let Some((old, new)) = raise_open_files() {
        events
            .send(event::EventKind::Note(format!(
                "open files: soft limit raised from {old} to {new} (the hard limit), so that many clients fit"
            )))
            .await;
    }
}

/// Waits for ctrl-c, or SIGTERM when its handler could be installed.
async fn next_signal(term: &mut Option<tokio::signal::unix::Signal>) {
    match term {
        Some(t) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = t.recv() => {}
            }
        }
        None => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// The sink the view arguments ask for, on its writer thread; with `--output`, also the
/// file of received bytes. When that file is stdout (`--output -`), the view goes to stderr.
fn output(view: &ViewArgs, explain: bool, stop: &CancellationToken) -> Result<(Events, Writer)> {
    let raw_stdout = view.output.as_deref().is_some_and(sink::is_stdout);
    let sink: Box<dyn sink::Sink> = match (view.json, raw_stdout) {
        (true, false) => Box::new(sink::json::Json::stdout(view.encoding)),
        (true, true) => Box::new(sink::json::Json::stderr(view.encoding)),
        (false, false) => Box::new(sink::human::Human::stdio(config::view_options(view, explain))),
        (false, true) => Box::new(sink::human::Human::stderr_only(config::view_options(view, explain))),
    };
    let Some(path) = &view.output else { return Ok(sink::spawn(sink, !view.quiet, stop.clone())) };
    let file = sink::RawOutput::create(path)
        .map_err(|source| Error::Io { context: format!("cannot write {}", path.display()), source })?;
    let sink: Box<dyn sink::Sink> = if view.quiet { Box::new(sink::WithoutData(sink)) } else { sink };
    let file: Box<dyn sink::Sink> = if path.as_os_str() == "-" {
        Box::new(file)
    } else {
        Box::new(sink::FileSink::new(format!("the output file {}", path.display()), Box::new(file)))
    };
    Ok(sink::spawn(Box::new(sink::Tee(vec![sink, file])), true, stop.clone()))
}

/// The socket steps taken so far (with `--explain`) and the buffer sizes granted (when
/// asked for, or explaining).
async fn narrate(events: &Events, socket: &SocketArgs, steps: Vec<String>, buffers: net::Buffers) {
    if socket.explain {
        for step in steps {
            events.send(event::EventKind::Explain(step)).await;
        }
    }
    if socket.explain || socket.sndbuf.is_some() || socket.rcvbuf.is_some() {
        events.send(event::EventKind::Buffers(buffers)).await;
    }
}

/// Waits for the writer; a closed output (`| head`) is a quiet end. A file that failed
/// during the run (a full disk) makes the end an error naming it.
fn finish(writer: Writer) -> Result<()> {
    let finished = writer.finish().map_err(|source| Error::Io { context: "cannot write the output".into(), source })?;
    match finished.incomplete.is_empty() {
        true => Ok(()),
        false => Err(Error::Failed(finished.incomplete.join("; "))),
    }
}

/// Runs the terminal UI; it needs a terminal.
async fn terminal_ui(start: ui::UiStart) -> Result<ExitCode> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Error::Argument {
            what: "ui".into(),
            message: "the terminal UI needs a terminal on stdin and stdout; without one, leave out --ui".into(),
        });
    }
    ui::run(start).await.map_err(|source| Error::Io { context: "the terminal UI failed".into(), source })?;
    Ok(ExitCode::SUCCESS)
}

async fn listen(args: ListenArgs) -> Result<ExitCode> {
    if args.ui {
        let settings = config::ui_listen(&args)?;
        return terminal_ui(ui::UiStart { settings, open: true, log_lines: args.log_lines as usize }).await;
    }
    if args.udp.udp {
        return listen_udp(args).await;
    }
    let bind = config::bind_to(args.bind.as_deref())?;
    // Check every argument before the socket exists.
    let mut opts = config::listen_options(&args)?;
    let listening = net::listen_tcp(bind, args.port, args.backlog, config::buffer_request(&args.socket))?;
    opts.dual_stack = listening.dual_stack;
    let listener = tokio::net::TcpListener::from_std(listening.socket)
        .map_err(|source| Error::Io { context: "cannot register the listening socket".into(), source })?;
    let tls = config::server_tls(&args.tls).map(|setup| tls::server_config(&setup)).transpose()?;
    let stop = CancellationToken::new();
    stop_on_signals(stop.clone());
    let (events, writer) = output(&args.view, args.socket.explain, &stop)?;
    narrate(&events, &args.socket, listening.steps, listening.buffers).await;
    open_files(&events).await;
    let commands = Some(input::stdin_commands(opts.line, events.clone()));
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
    served.map_err(|source| Error::Io { context: "the server stopped".into(), source })?;
    Ok(ExitCode::SUCCESS)
}

/// Tells the person about a certificate made at start: its names and its fingerprint, for
/// clients to compare with what they see.
async fn tell_self_signed(events: &Events, made: Option<&tls::SelfSigned>) {
    if let Some(made) = made {
        events
            .send(event::EventKind::Note(format!(
                "TLS with a self-signed certificate for {}\nits SHA-256 fingerprint: {}\nclients: netassist connect HOST PORT --tls --insecure, and compare the fingerprint",
                made.names.join(", "),
                made.sha256
            )))
            .await;
    }
}

/// Warns that `--insecure` checks nothing.
fn warn_insecure(setup: Option<&tls::ClientSetup>) {
    if setup.is_some_and(|s| s.insecure) {
        let mut err = anstream::stderr();
        let _ = std::io::Write::write_all(
            &mut err,
            b"warning: --insecure: the server's certificate is not checked; anyone on the path could read and change this connection\n",
        );
    }
}

async fn listen_udp(args: ListenArgs) -> Result<ExitCode> {
    let bind = config::bind_to(args.bind.as_deref())?;
    let mut opts = config::udp_server_options(&args)?;
    let bound = net::bind_udp(bind, args.port, &config::udp_listen_setup(&args))?;
    opts.dual_stack = bound.dual_stack;
    let socket = tokio::net::UdpSocket::from_std(bound.socket)
        .map_err(|source| Error::Io { context: "cannot register the UDP socket".into(), source })?;
    let stop = CancellationToken::new();
    stop_on_signals(stop.clone());
    let (events, writer) = output(&args.view, args.socket.explain, &stop)?;
    narrate(&events, &args.socket, bound.steps, bound.buffers).await;
    open_files(&events).await;
    let commands = Some(input::stdin_commands(opts.line, events.clone()));
    let served = mode::udp::run_server(socket, opts, events, commands, stop).await;
    finish(writer)?;
    served.map_err(|source| Error::Io { context: "the UDP server stopped".into(), source })?;
    Ok(ExitCode::SUCCESS)
}

async fn bench(args: cli::BenchArgs) -> Result<ExitCode> {
    use std::sync::Arc;
    use std::sync::atomic::Ordering::Relaxed;

    let (host, port) = config::host_and_port("bench", &args.host, args.port)?;
    let target = net::resolve(&host, port).await?[0];
    let config = config::bench_config(&args, target)?;
    // Each connection is a descriptor: room for many.
    let _ = raise_open_files();
    let stop = CancellationToken::new();
    stop_on_signals(stop.clone());
    let live = Arc::new(mode::bench::Live::default());
    let duration = config.duration;
    let mut running = tokio::task::spawn_blocking({
        let (live, stop) = (live.clone(), stop.clone());
        move || mode::bench::run(config, live, stop)
    });
    // The live line: on stderr when it is a terminal (indicatif hides it otherwise); with
    // --json, a progress object each second on stdout.
    let bar = (!args.json).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(indicatif::ProgressStyle::with_template("{spinner} {msg}").expect("a valid template"));
        bar
    });
    let began = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
    let (mut last_rounds, mut last_at, mut ticks) = (0u64, began, 0u64);
    let mut stdout = std::io::stdout();
    let report = loop {
        tokio::select! {
            done = &mut running => break done.map_err(|e| Error::Io { context: "the benchmark stopped".into(), source: std::io::Error::other(e) })?,
            _ = tick.tick() => {
                ticks += 1;
                let rounds = live.rounds.load(Relaxed);
                let now = tokio::time::Instant::now();
                let rate = (rounds - last_rounds) as f64 / (now - last_at).as_secs_f64().max(1e-3);
                if let Some(bar) = &bar {
                    bar.set_message(format!(
                        "{:.1}/{:.0}s  {:>10.0} msg/s  {:.1} MB in  errors {}  mismatches {}",
                        began.elapsed().as_secs_f64(),
                        duration.as_secs_f64(),
                        rate,
                        live.received.load(Relaxed) as f64 / 1e6,
                        live.errors.load(Relaxed),
                        live.mismatches.load(Relaxed)
                    ));
                    bar.tick();
                }
                if ticks % 10 == 0 {
                    if args.json {
                        let line = format!(
                            "{{\"event\":\"progress\",\"elapsed_s\":{:.1},\"rate\":{:.1},\"rounds\":{rounds},\"errors\":{},\"mismatches\":{}}}\n",
                            began.elapsed().as_secs_f64(), rate, live.errors.load(Relaxed), live.mismatches.load(Relaxed)
                        );
                        let _ = std::io::Write::write_all(&mut stdout, line.as_bytes());
                    }
                    (last_rounds, last_at) = (rounds, now);
                }
            }
        }
    };
    let report = report.map_err(|source| Error::Io { context: "cannot run the benchmark".into(), source })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let text = if args.json { format!("{}\n", report.json()) } else { report.human() };
    match std::io::Write::write_all(&mut stdout, text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(source) => return Err(output_error(source)),
        Ok(()) => {}
    }
    if report.failed() {
        return Err(Error::Failed(format!(
            "{} mismatches and {} errors against {target}; the figures above say which",
            report.mismatches(),
            report.errors()
        )));
    }
    Ok(ExitCode::SUCCESS)
}

/// The relay's view (a line per chunk by default), plus the capture file if asked for.
fn relay_output(args: &cli::RelayArgs, stop: &CancellationToken) -> Result<(Events, Writer)> {
    let view: Box<dyn sink::Sink> = if args.json {
        Box::new(sink::json::Json::stdout(args.encoding))
    } else {
        let opts = sink::human::ViewOptions {
            show: args.dump,
            encoding: args.encoding,
            timestamps: !args.no_time,
            explain: false,
            relay: true,
        };
        Box::new(sink::human::Human::stdio(opts))
    };
    let Some(path) = &args.pcap else { return Ok(sink::spawn(view, !args.quiet, stop.clone())) };
    let capture = sink::pcap::Pcap::create(path)
        .map_err(|source| Error::Io { context: format!("cannot write the capture file {}", path.display()), source })?;
    let capture = sink::FileSink::new(format!("the capture file {}", path.display()), Box::new(capture));
    let view: Box<dyn sink::Sink> = if args.quiet { Box::new(sink::WithoutData(view)) } else { view };
    Ok(sink::spawn(Box::new(sink::Tee(vec![view, Box::new(capture)])), true, stop.clone()))
}

async fn relay(args: cli::RelayArgs) -> Result<ExitCode> {
    // A target name that does not resolve is found now, not at the first client.
    let target = net::resolve(&args.target_host, args.target_port).await?[0];
    let bind = config::bind_to(args.bind.as_deref())?;
    let mut opts = config::relay_accept_options(&args)?;
    if args.udp {
        return relay_udp(args, bind, target, opts).await;
    }
    let listening = net::listen_tcp(bind, args.listen_port, args.backlog, net::BufferRequest::default())?;
    opts.dual_stack = listening.dual_stack;
    let listener = tokio::net::TcpListener::from_std(listening.socket)
        .map_err(|source| Error::Io { context: "cannot register the listening socket".into(), source })?;
    let (listen_tls, target_tls) = config::relay_tls(&args);
    warn_insecure(target_tls.as_ref());
    let target_tls = match target_tls {
        Some(setup) => Some((
            tokio_rustls::TlsConnector::from(tls::client_config(&setup)?),
            tls::server_name(&setup, &args.target_host)?,
        )),
        None => None,
    };
    let listen_tls = listen_tls.map(|setup| tls::server_config(&setup)).transpose()?;
    let service = mode::relay::Relay {
        target_host: args.target_host.clone(),
        target_port: args.target_port,
        connect_timeout: args.connect_timeout,
        idle_timeout: args.idle_timeout,
        linger: std::time::Duration::from_secs(1),
        drain: args.drain,
        target_tls,
    };
    let stop = CancellationToken::new();
    stop_on_signals(stop.clone());
    let (events, writer) = relay_output(&args, &stop)?;
    open_files(&events).await;
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
    served.map_err(|source| Error::Io { context: "the relay stopped".into(), source })?;
    Ok(ExitCode::SUCCESS)
}

async fn relay_udp(
    args: cli::RelayArgs,
    bind: net::BindTo,
    target: std::net::SocketAddr,
    opts: mode::server::ServerOptions,
) -> Result<ExitCode> {
    let bound = net::bind_udp(bind, args.listen_port, &net::UdpSetup::default())?;
    let socket = tokio::net::UdpSocket::from_std(bound.socket)
        .map_err(|source| Error::Io { context: "cannot register the UDP socket".into(), source })?;
    let relay = mode::relay::UdpRelay {
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
    let served = mode::relay::run_udp(socket, relay, events, commands, stop).await;
    finish(writer)?;
    served.map_err(|source| Error::Io { context: "the UDP relay stopped".into(), source })?;
    Ok(ExitCode::SUCCESS)
}

async fn connect_udp(args: ConnectArgs, host: String, port: u16) -> Result<ExitCode> {
    let target = net::resolve(&host, port).await?[0];
    let opts = config::udp_client_options(&args, &target)?;
    let (socket, connected, steps) = net::udp_client(target, &config::udp_connect_setup(&args))?;
    let buffers = net::Buffers {
        send: socket2::SockRef::from(&socket).send_buffer_size().unwrap_or(0),
        recv: socket2::SockRef::from(&socket).recv_buffer_size().unwrap_or(0),
        asked: config::buffer_request(&args.socket),
    };
    let socket = tokio::net::UdpSocket::from_std(socket)
        .map_err(|source| Error::Io { context: "cannot register the UDP socket".into(), source })?;
    let stop = CancellationToken::new();
    stop_on_signals(stop.clone());
    let reads_stdin = opts.payloads.is_empty();
    let (events, writer) = output(&args.view, args.socket.explain, &stop)?;
    narrate(&events, &args.socket, steps, buffers).await;
    let input = reads_stdin.then(|| input::stdin_messages(opts.line, events.clone()));
    let ended = mode::udp::run_client(socket, target, connected, opts, events, input, stop).await;
    finish(writer)?;
    match ended.map_err(|source| Error::Io { context: "the UDP socket failed".into(), source })? {
        mode::udp::UdpEnd::Refused => Err(Error::UdpRefused { addr: net::canonical(target) }),
        _ => Ok(ExitCode::SUCCESS),
    }
}

async fn connect(args: ConnectArgs) -> Result<ExitCode> {
    if args.ui {
        let settings = config::ui_connect(&args)?;
        return terminal_ui(ui::UiStart { settings, open: true, log_lines: args.log_lines as usize }).await;
    }
    let (host, port) = config::connect_target(&args)?;
    if args.udp.udp {
        return connect_udp(args, host, port).await;
    }
    let opts = config::client_options(&args)?;
    let tls_setup = config::client_tls(&args.tls);
    let tls = match &tls_setup {
        Some(setup) => {
            Some((tokio_rustls::TlsConnector::from(tls::client_config(setup)?), tls::server_name(setup, &host)?))
        }
        None => None,
    };
    warn_insecure(tls_setup.as_ref());
    let stop = CancellationToken::new();
    stop_on_signals(stop.clone());
    let dial = mode::dial::Dial {
        host,
        port,
        timeout: args.connect_timeout,
        sizes: config::buffer_request(&args.socket),
        tls,
    };
    let Some(connected) = dial.dial(&stop).await? else { return Ok(ExitCode::from(130)) };
    let stream = connected.stream;
    let reads_stdin = opts.payloads.is_empty();
    let (events, writer) = output(&args.view, args.socket.explain, &stop)?;
    narrate(&events, &args.socket, connected.steps, connected.buffers).await;
    let input = reads_stdin.then(|| input::stdin_messages(opts.line, events.clone()));
    let peer = stream.tcp().peer_addr().ok();
    let ended = mode::client::run(stream, opts, events, input, stop).await;
    finish(writer)?;
    let reason = ended.map_err(|source| Error::Io { context: "the connection failed".into(), source })?;
    match (reason, peer) {
        (CloseReason::Reset, Some(addr)) => Err(Error::Reset { addr: net::canonical(addr) }),
        (CloseReason::Error(message), _) => {
            Err(Error::Io { context: "the connection failed".into(), source: std::io::Error::other(message) })
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}
