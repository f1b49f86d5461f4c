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
//!   send, addresses) before any socket exists; [`cmd`] wires each command (settings,
//!   socket, output, engine). This file only dispatches.
//! - Every engine hands what it reads to [`mode::inbound`]: a framer decides where a message
//!   ends, a responder chooses its answer. Servers, clients and the relay reach a peer
//!   through [`mode::dial`] (resolve, connect, TLS). New framings, reply rules and dial
//!   steps are each a change in one of those two places.
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
//! - An idle TCP client holds no buffer: one task and its `Conn`, about 1.2 KB in all
//!   (timers and delayed replies allocated when first used, an event queued without a
//!   future of its own, the TLS path boxed, the stream held once: each layer of the
//!   connection's future borrows it from the task). [`alloc_count`] counts it exactly: a
//!   unit test holds it to 1300 bytes, and `bench/many_clients.sh` builds with
//!   `--features count-alloc` to report it. The task and the socket's registration are
//!   aligned to 128 bytes by tokio: [`alloc_pool`] serves such blocks from pools of their
//!   size, where glibc would waste about 350 bytes per client around them.
//! - UDP engines (server, relay, client) take datagrams many per system call
//!   (recvmmsg/sendmmsg, `mode/mmsg.rs`) on sockets registered with the runtime for
//!   reading only (`mode/dgram.rs`: a write registration is woken by every datagram the
//!   kernel frees); a full send buffer is waited for, never a reason to drop an answer.
//! - [`proto`] holds the device protocols' pure parts: frame splitting (`--frame`),
//!   checksums (`--checksum`, `--verify`, `netassist checksum`) and reply rules (`--rule`),
//!   used by [`mode::inbound`].
//! - [`tools`] are the report commands (`ip`, `ping`, `port`, `buffers`) over [`netinfo`],
//!   what the OS tells about interfaces and ports. They print lines, not events.
//! - [`tls`] wraps a TCP stream in TLS for a server, a client or either side of the relay;
//!   the engines see one [`mode::stream::Stream`] type, plain or TLS, and take their
//!   TCP-only paths (readiness, splice, resets) only when `Stream::tcp` gives a socket. A
//!   new kind of stream is a variant there; who is at its other end is an
//!   [`event::Peer`]. [`access`] decides which peers a server accepts.
//! - Events carry facts, not sentences: a [`notice::Notice`], an explain
//!   [`notice::Step`], a [`notice::Rejection`], a [`event::CloseReason`]. [`words`] alone
//!   turns them (and [`error::Error`]) into words, in the language [`lang`] chose (English
//!   or Chinese); every sentence a person reads comes from `locales/netassist.toml` through
//!   `t!`, both languages side by side, checked by `build.rs`. `--help` is clap's English,
//!   walked once into Chinese by [`help_zh`]. JSON keys and codes never come from words,
//!   and with `--json` the language is English.
//! - Received bytes that the chosen encoding does not fit are named once per connection by
//!   [`render::guess`] (chardetng), in the human view and the UI; `--encoding auto` lets
//!   it choose.
//! - [`ui`] is the terminal UI: it runs the same engines and is one more consumer of their
//!   events (a bounded channel again), with keys turned into the same commands.

pub mod access;
pub mod alloc_count;
pub mod alloc_pool;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod error;
pub mod event;
pub mod help_zh;
pub mod input;
pub mod lang;
pub mod mode;
pub mod net;
pub mod netinfo;
pub mod notice;
pub mod proto;
/// The pure byte→text/hex layer, in its own crate (`crates/text`).
pub use netassist_text::render;
pub mod sink;
pub mod tls;
pub mod tools;
pub mod ui;
pub mod unix;
pub mod words;

rust_i18n::i18n!("locales", fallback = "en");

// Unit tests measure what engines hold (an idle client's cost) with the counting allocator.
#[cfg(test)]
#[global_allocator]
static TEST_ALLOC: alloc_count::Counting = alloc_count::Counting::new();

use rust_i18n::t;
use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::error::{Error, Result};

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
    .map_err(|source| Error::Io { context: t!("ctx.cannot_start_the_runtime").into_owned(), source })?;
    runtime.block_on(async {
        match cli.command {
            Command::Listen(args) => cmd::listen::listen(args).await,
            Command::Connect(args) => cmd::connect::connect(args).await,
            Command::Ip(args) => cmd::report(|out| tools::ip::run(out, args.json).map_err(cmd::output_error)),
            Command::Port(args) => cmd::report(|out| tools::port::run(out, args.port.as_deref(), args.free, args.json)),
            Command::Buffers(args) => cmd::report(|out| {
                tools::buffers::run(out, net::BufferRequest { send: args.sndbuf, recv: args.rcvbuf }, args.json)
            }),
            Command::Ping(args) => cmd::ping::ping(args).await,
            Command::Relay(args) => cmd::relay::relay(args).await,
            Command::Bench(args) => cmd::bench::bench(args).await,
            Command::Checksum(args) => cmd::report(|out| cmd::checksum::run(out, &args)),
            Command::Completions(args) => cmd::docs::completions(&args),
            Command::Manpage(args) => cmd::docs::manpage(&args),
            Command::Ui(args) => {
                let settings = ui::app::Settings::default();
                cmd::terminal_ui(ui::UiStart {
                    settings,
                    open: false,
                    log_lines: args.log_lines as usize,
                    rules: Vec::new(),
                })
                .await
            }
        }
    })
}
