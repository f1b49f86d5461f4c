//! The commands' wiring, one module each: each builds its checked settings from
//! [`crate::config`], makes the socket, starts the output ([`crate::sink`]) and runs its
//! engine ([`crate::mode`]). What they share is here: the output, signals, the end.

pub mod bench;
pub mod checksum;
pub mod connect;
pub mod docs;
pub mod listen;
pub mod ping;
pub mod relay;

use rust_i18n::t;
use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use crate::cli::{SocketArgs, ViewArgs};
use crate::error::{Error, Result};
use crate::notice::Notice;
use crate::sink::{Events, Writer};
use crate::{config, event, net, sink, tls, ui};

pub(crate) fn output_error(source: std::io::Error) -> Error {
    Error::Io { context: t!("ctx.cannot_write_the_output").into_owned(), source }
}

/// Runs a report on stdout; output into a closed pipe (`| head`) ends quietly.
pub(crate) fn report(write: impl FnOnce(&mut dyn std::io::Write) -> Result<()>) -> Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match write(&mut out).and_then(|()| std::io::Write::flush(&mut out).map_err(output_error)) {
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e),
        Ok(()) => Ok(ExitCode::SUCCESS),
    }
}

/// Ctrl-c or SIGTERM cancels `stop` (a graceful end); a second one exits at once.
pub(crate) fn stop_on_signals(stop: CancellationToken) {
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
pub(crate) fn raise_open_files() -> Option<(u64, u64)> {
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
pub(crate) async fn open_files(events: &Events) {
    if let Some((old, new)) = raise_open_files() {
        events.send(event::EventKind::Note(Notice::OpenFilesRaised { from: old, to: new })).await;
    }
}

/// With a `--rules FILE`: SIGHUP re-reads it while serving goes on; a file that does not
/// parse is named and the rules stay as they were.
pub(crate) fn reload_rules_on_hangup(
    rules: Option<std::sync::Arc<crate::proto::rules::RuleSet>>,
    events: Events,
    stop: CancellationToken,
) {
    let Some(rules) = rules.filter(|r| r.file().is_some()) else { return };
    let Ok(mut hangup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else { return };
    tokio::spawn(async move {
        let file = rules.file().map(|f| f.display().to_string()).unwrap_or_default();
        // Ends with the run: it holds an output handle, which the end waits for.
        while tokio::select! {
            got = hangup.recv() => got.is_some(),
            () = stop.cancelled() => false,
        } {
            let said = match rules.reload() {
                Ok(count) => event::EventKind::Note(Notice::RulesReloaded { file: file.clone(), count }),
                Err(e) => event::EventKind::Error { id: None, notice: Notice::RulesKept { why: e.to_string() } },
            };
            events.send(said).await;
        }
    });
}

/// Waits for ctrl-c, or SIGTERM when its handler could be installed.
pub(crate) async fn next_signal(term: &mut Option<tokio::signal::unix::Signal>) {
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
/// `raw`: messages are reads (no `--frame`), so `--explain` may say that TCP is a stream.
pub(crate) fn output(view: &ViewArgs, explain: bool, raw: bool, stop: &CancellationToken) -> Result<(Events, Writer)> {
    let raw_stdout = view.output.as_deref().is_some_and(sink::is_stdout);
    let sink: Box<dyn sink::Sink> = match (view.json, raw_stdout) {
        (true, false) => Box::new(sink::json::Json::stdout(view.encoding)),
        (true, true) => Box::new(sink::json::Json::stderr(view.encoding)),
        (false, false) => Box::new(sink::human::Human::stdio(config::view_options(view, explain, raw))),
        (false, true) => Box::new(sink::human::Human::stderr_only(config::view_options(view, explain, raw))),
    };
    let Some(path) = &view.output else { return Ok(sink::spawn(sink, !view.quiet, stop.clone())) };
    let file = sink::RawOutput::create(path)
        .map_err(|source| Error::Io { context: format!("cannot write {}", path.display()), source })?;
    let sink: Box<dyn sink::Sink> = if view.quiet { Box::new(sink::WithoutData(sink)) } else { sink };
    let file: Box<dyn sink::Sink> = if path.as_os_str() == "-" {
        Box::new(file)
    } else {
        Box::new(sink::FileSink::new(t!("sink.output_file", path = path.display()).into_owned(), Box::new(file)))
    };
    Ok(sink::spawn(Box::new(sink::Tee(vec![sink, file])), true, stop.clone()))
}

/// The socket steps taken so far (with `--explain`) and the buffer sizes granted (when
/// asked for, or explaining).
pub(crate) async fn narrate(events: &Events, socket: &SocketArgs, steps: net::Steps, buffers: net::Buffers) {
    if socket.explain {
        for step in steps {
            events.send(event::EventKind::Explain(step)).await;
        }
    }
    if socket.explain || socket.sndbuf.is_some() || socket.rcvbuf.is_some() {
        events.send(event::EventKind::Buffers(buffers)).await;
    }
}

/// The listening socket of a stream server: TCP on a port (the lesson's steps, told with
/// `--explain`), or a Unix socket. `dual_stack` is what the TCP socket says.
pub(crate) struct StreamListening {
    pub listener: crate::mode::listener::Listener,
    pub dual_stack: bool,
    pub steps: net::Steps,
    pub buffers: Option<net::Buffers>,
}

pub(crate) fn stream_listener(
    on: &crate::cli::ListenOn,
    bind: Option<&str>,
    backlog: u32,
    sizes: net::BufferRequest,
) -> Result<StreamListening> {
    use crate::mode::listener::Listener;
    match on {
        crate::cli::ListenOn::Unix(addr) => {
            if bind.is_some() {
                return Err(Error::Argument { what: "--bind".into(), message: t!("config.unix_bind").into_owned() });
            }
            let listening = crate::unix::listen(addr, backlog)?;
            Ok(StreamListening {
                listener: Listener::Unix(listening),
                dual_stack: false,
                steps: Vec::new(),
                buffers: None,
            })
        }
        crate::cli::ListenOn::Port(port) => {
            let bind = config::bind_to(bind)?;
            let listening = net::listen_tcp(bind, *port, backlog, sizes)?;
            let listener = tokio::net::TcpListener::from_std(listening.socket).map_err(|source| Error::Io {
                context: t!("ctx.cannot_register_the_listening_socket").into_owned(),
                source,
            })?;
            Ok(StreamListening {
                listener: Listener::Tcp(listener),
                dual_stack: listening.dual_stack,
                steps: listening.steps,
                buffers: Some(listening.buffers),
            })
        }
    }
}

/// The port of a UDP server, which a Unix socket cannot be.
pub(crate) fn udp_port(on: &crate::cli::ListenOn) -> Result<u16> {
    match on {
        crate::cli::ListenOn::Port(p) => Ok(*p),
        crate::cli::ListenOn::Unix(_) => {
            Err(Error::Argument { what: "--udp".into(), message: t!("config.unix_udp").into_owned() })
        }
    }
}

/// Waits for the writer; a closed output (`| head`) is a quiet end. A file that failed
/// during the run (a full disk) makes the end an error naming it.
pub(crate) fn finish(writer: Writer) -> Result<()> {
    let finished = writer
        .finish()
        .map_err(|source| Error::Io { context: t!("ctx.cannot_write_the_output").into_owned(), source })?;
    match finished.incomplete.is_empty() {
        true => Ok(()),
        false => Err(Error::Failed(finished.incomplete.join("; "))),
    }
}

/// Runs the terminal UI; it needs a terminal.
pub(crate) async fn terminal_ui(start: ui::UiStart) -> Result<ExitCode> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Error::Argument { what: "ui".into(), message: t!("cmd.needs_terminal").into_owned() });
    }
    ui::run(start)
        .await
        .map_err(|source| Error::Io { context: t!("ctx.the_terminal_ui_failed").into_owned(), source })?;
    Ok(ExitCode::SUCCESS)
}

/// Tells the person about a certificate made at start: its names and its fingerprint, for
/// clients to compare with what they see.
pub(crate) async fn tell_self_signed(events: &Events, made: Option<&tls::SelfSigned>) {
    if let Some(made) = made {
        events
            .send(event::EventKind::Note(Notice::SelfSigned { names: made.names.clone(), sha256: made.sha256.clone() }))
            .await;
    }
}

/// Warns that `--insecure` checks nothing.
pub(crate) fn warn_insecure(setup: Option<&tls::ClientSetup>) {
    if setup.is_some_and(|s| s.insecure) {
        let mut err = anstream::stderr();
        let _ = std::io::Write::write_all(&mut err, format!("{}\n", t!("cmd.insecure")).as_bytes());
    }
}
