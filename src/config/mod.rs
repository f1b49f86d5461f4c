//! Checked settings built from what the user typed: addresses, payloads in bytes, reply
//! bytes. Everything that can be wrong with an argument is found here, before a socket is
//! opened or a byte is sent.

use rust_i18n::t;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;

use crate::cli::{BenchArgs, ConnectArgs, LineArgs, ListenArgs, SendArg, SocketArgs, ViewArgs};
use crate::error::{Error, Result};
use crate::input::LineFormat;
use crate::mode::bench::{BenchConfig, BenchMode};
use crate::mode::client::{ClientOptions, Payload};
use crate::mode::connection::{ConnOptions, Reply};
use crate::mode::inbound::Messages;
use crate::mode::server::ServerOptions;
use crate::mode::udp::UdpServerOptions;
use crate::mode::udp_client::UdpClientOptions;
use crate::net::{BindTo, BufferRequest, UdpSetup, max_datagram, parse_ip};
use crate::render::TextEncoding;
use crate::render::escape::text_to_bytes;
use crate::render::hex::parse_hex;
use crate::sink::human::ViewOptions;

mod relay;
pub use relay::*;

/// How long a closing connection keeps reading after its FIN.
pub(crate) const LINGER: Duration = Duration::from_secs(1);
/// What may wait for the client's one connection (stdin lines, `--send`).
pub(crate) const CLIENT_QUEUE: usize = 1 << 20;

fn argument(what: &str, message: impl ToString) -> Error {
    Error::Argument { what: what.to_string(), message: message.to_string() }
}

/// Typed text (with escapes) as bytes in the chosen encoding.
pub fn text_arg(what: &str, text: &str, encoding: TextEncoding) -> Result<Bytes> {
    text_to_bytes(text, encoding).map(Bytes::from).map_err(|e| argument(what, format!("{e} in '{text}'")))
}

/// `--frame`, `--max-frame`, `--verify`, `--checksum`.
pub fn messages(args: &crate::cli::MessageArgs, encoding: TextEncoding) -> Result<Messages> {
    let rules = crate::proto::rules::RuleSet::load(&args.rule, args.rules.as_deref(), encoding)
        .map_err(|e| argument(if args.rules.is_some() && !e.starts_with("rule ") { "--rules" } else { "--rule" }, e))?
        .map(std::sync::Arc::new);
    Ok(Messages {
        frame: args.frame.clone(),
        max_frame: args.max_frame,
        verify: args.verify,
        append: args.checksum,
        rules,
    })
}

pub fn hex_arg(what: &str, hex: &str) -> Result<Bytes> {
    let bytes = parse_hex(hex).map(Bytes::from).map_err(|e| argument(what, t!("config.in_hex", why = e, hex = hex)))?;
    if bytes.is_empty() {
        return Err(argument(what, t!("config.no_bytes")));
    }
    Ok(bytes)
}

pub fn view_options(view: &ViewArgs, explain: bool, raw: bool) -> ViewOptions {
    ViewOptions {
        show: view.show,
        encoding: view.encoding,
        timestamps: !view.no_time,
        explain,
        relay: false,
        raw_reads: raw,
        max_show: view.max_show,
        lines: view.lines,
    }
}

pub fn buffer_request(socket: &SocketArgs) -> BufferRequest {
    BufferRequest { send: socket.sndbuf, recv: socket.rcvbuf }
}

pub fn line_format(line: &LineArgs, encoding: TextEncoding) -> LineFormat {
    LineFormat { format: line.stdin_format, eol: line.eol, encoding, checksum: None }
}

/// `--bind`: an IP address (with `%scope` for link-local IPv6) or a host name of this machine.
pub fn bind_to(bind: Option<&str>) -> Result<BindTo> {
    let Some(text) = bind else { return Ok(BindTo::Everywhere) };
    if let Some((ip, scope)) = parse_ip(text) {
        return Ok(BindTo::Addr(ip, scope));
    }
    use std::net::ToSocketAddrs;
    let resolved: Option<IpAddr> = (text, 0).to_socket_addrs().ok().and_then(|mut a| a.next()).map(|a| a.ip());
    resolved.map(|ip| BindTo::Addr(ip, 0)).ok_or_else(|| argument("--bind", t!("config.bad_bind", text = text)))
}

/// The server's settings; `dual_stack` is false until the socket says otherwise.
pub fn listen_options(args: &ListenArgs) -> Result<ServerOptions> {
    let encoding = args.view.encoding;
    let reply = match (&args.reply, &args.reply_hex, args.echo) {
        (Some(text), _, _) => Reply::Bytes(text_arg("--reply", text, encoding)?),
        (_, Some(hex), _) => Reply::Bytes(hex_arg("--reply-hex", hex)?),
        (_, _, true) => Reply::Echo,
        _ => Reply::None,
    };
    Ok(ServerOptions {
        conn: ConnOptions {
            reply,
            messages: messages(&args.messages, encoding)?,
            idle_timeout: args.idle_timeout,
            linger: LINGER,
        },
        max_conn: args.max_conn.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        queue_limit: args.queue_limit,
        line: LineFormat { checksum: args.messages.checksum, ..line_format(&args.line, encoding) },
        dual_stack: false,
        backlog: args.backlog,
        access: access(&args.access)?,
        relay_to: None,
    })
}

/// How many UDP sources a server remembers at once.
pub(crate) const UDP_PEERS: usize = 65_536;

/// The UDP socket setup for `listen --udp`.
pub fn udp_listen_setup(args: &ListenArgs) -> UdpSetup {
    UdpSetup {
        broadcast: args.udp.broadcast,
        join: args.join.clone(),
        iface: args.udp.iface.clone(),
        ttl: None,
        multicast_loop: None,
        buffers: buffer_request(&args.socket),
    }
}

/// The UDP server's settings; `dual_stack` is false until the socket says otherwise.
pub fn udp_server_options(args: &ListenArgs) -> Result<UdpServerOptions> {
    if args.messages.frame != crate::proto::frame::FrameSpec::Raw {
        return Err(argument("--frame", t!("config.udp_frame")));
    }
    let tcp = listen_options(args)?;
    Ok(UdpServerOptions {
        reply: tcp.conn.reply,
        messages: tcp.conn.messages,
        idle_timeout: args.idle_timeout,
        line: tcp.line,
        dual_stack: false,
        max_peers: UDP_PEERS,
        access: tcp.access,
    })
}

/// The UDP socket setup for `connect --udp`.
pub fn udp_connect_setup(args: &ConnectArgs) -> UdpSetup {
    UdpSetup {
        broadcast: args.udp.broadcast,
        join: Vec::new(),
        iface: args.udp.iface.clone(),
        ttl: args.ttl,
        multicast_loop: args.multicast_loop,
        buffers: buffer_request(&args.socket),
    }
}

/// The UDP client's datagrams: each `--send` one datagram, files read whole now. Each must
/// fit in one datagram to `target`; found before anything is sent.
pub fn udp_client_options(args: &ConnectArgs, target: &SocketAddr) -> Result<UdpClientOptions> {
    let tcp = client_options(args)?;
    let max = max_datagram(target);
    let family = if target.is_ipv4() { "IPv4" } else { "IPv6" };
    let mut payloads = Vec::with_capacity(tcp.payloads.len());
    for (payload, given) in tcp.payloads.into_iter().zip(&args.sends) {
        let what = match given {
            SendArg::Text(_) => "--send",
            SendArg::Hex(_) => "--send-hex",
            SendArg::File(_) => "--send-file",
        };
        let too_big =
            |size: String| argument(what, t!("config.datagram_too_big", size = size, family = family, max = max));
        let bytes = match payload {
            Payload::Bytes(b) => b,
            // At most one byte over the limit is read: enough to know it does not fit,
            // whatever the file is (a huge file, /dev/zero, an endless pipe).
            Payload::File(path) => match read_at_most(&path, max)? {
                Sized::Fits(bytes) => Bytes::from(bytes),
                Sized::Over(Some(len)) => return Err(too_big(t!("words.bytes", n = len).into_owned())),
                Sized::Over(None) => return Err(too_big(t!("config.more_than", max = max).into_owned())),
            },
        };
        if bytes.len() > max {
            return Err(too_big(format!("{} bytes", bytes.len())));
        }
        payloads.push(Payload::Bytes(bytes));
    }
    Ok(UdpClientOptions {
        payloads,
        interval: tcp.interval,
        rounds: tcp.rounds,
        wait: tcp.wait,
        line: tcp.line,
        messages: tcp.conn.messages,
    })
}

/// What [`read_at_most`] found.
enum Sized {
    Fits(Vec<u8>),
    /// More than the limit: the size when the file says it.
    Over(Option<u64>),
}

/// Reads a file (`-` is stdin) when it holds at most `limit` bytes; never reads more than
/// one byte over.
fn read_at_most(path: &std::path::Path, limit: usize) -> Result<Sized> {
    use std::io::Read;
    let failed = |source| Error::File { path: path.to_path_buf(), source };
    let mut all = Vec::new();
    let over = limit as u64 + 1;
    if path.as_os_str() == "-" {
        std::io::stdin().lock().take(over).read_to_end(&mut all).map_err(failed)?;
    } else {
        let file = std::fs::File::open(path).map_err(failed)?;
        if let Ok(meta) = file.metadata()
            && meta.is_file()
            && meta.len() > limit as u64
        {
            return Ok(Sized::Over(Some(meta.len())));
        }
        file.take(over).read_to_end(&mut all).map_err(failed)?;
    }
    Ok(if all.len() > limit { Sized::Over(None) } else { Sized::Fits(all) })
}

/// Who may connect, from `--allow`, `--deny` and their files.
pub fn access(args: &crate::cli::AccessArgs) -> Result<std::sync::Arc<crate::access::Access>> {
    let mut allow = args.allow.clone();
    for path in &args.allow_file {
        allow.extend(crate::access::read_nets(path, "--allow-file")?);
    }
    let mut deny = args.deny.clone();
    for path in &args.deny_file {
        deny.extend(crate::access::read_nets(path, "--deny-file")?);
    }
    Ok(std::sync::Arc::new(crate::access::Access::new(allow, deny)))
}

/// The server side of TLS, when asked for.
pub fn server_tls(args: &crate::cli::ServerTlsArgs) -> Option<crate::tls::ServerSetup> {
    (args.tls || args.tls_self_signed).then(|| crate::tls::ServerSetup {
        cert: args.cert.clone(),
        key: args.key.clone(),
        self_signed: args.tls_self_signed,
        client_ca: args.client_ca.clone(),
        alpn: args.alpn.clone(),
    })
}

/// The client side of TLS, when asked for.
pub fn client_tls(args: &crate::cli::ClientTlsArgs) -> Option<crate::tls::ClientSetup> {
    args.tls.then(|| crate::tls::ClientSetup {
        insecure: args.insecure,
        sni: args.sni.clone(),
        alpn: args.alpn.clone(),
        ca: args.ca.clone(),
        pins: args.pin.clone(),
        cert: args.cert.clone(),
        key: args.key.clone(),
    })
}

/// Where `connect` goes: `host port`, `host:port`, `[v6]:port` or `unix:PATH`.
pub fn connect_target(args: &ConnectArgs) -> Result<crate::mode::dial::DialTo> {
    use crate::mode::dial::DialTo;
    if let Some(addr) = crate::unix::UnixAddr::parse(&args.host) {
        let addr = addr.map_err(|m| argument("connect", m))?;
        if args.port.is_some() {
            return Err(argument("connect", t!("config.unix_port")));
        }
        if args.udp.udp {
            return Err(argument("--udp", t!("config.unix_udp")));
        }
        if args.proxy.is_some() {
            return Err(argument("--proxy", t!("config.unix_proxy")));
        }
        return Ok(DialTo::Unix(addr));
    }
    let (host, port) = host_and_port("connect", &args.host, args.port)?;
    Ok(DialTo::Tcp { host, port })
}

/// A host and a port as typed: `host port`, `host:port` or `[v6]:port`.
pub fn host_and_port(command: &str, host: &str, port: Option<u16>) -> Result<(String, u16)> {
    if let Some(port) = port {
        return Ok((host.to_string(), port));
    }
    let missing = || argument(command, t!("config.no_port", host = host, command = command));
    let (host, port) = if let Some(rest) = host.strip_prefix('[') {
        rest.split_once("]:").ok_or_else(missing)?
    } else {
        match host.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, p),
            _ => return Err(missing()),
        }
    };
    let port = crate::cli::parse_port(port).map_err(|e| argument(command, e))?;
    Ok((host.to_string(), port))
}

/// The load `bench` puts on `target`.
pub fn bench_config(args: &BenchArgs, target: SocketAddr) -> Result<BenchConfig> {
    let payload = match (&args.payload, &args.payload_hex) {
        (Some(t), _) => Some(text_arg("--payload", t, args.encoding)?),
        (_, Some(h)) => Some(hex_arg("--payload-hex", h)?),
        _ => None,
    };
    let expect = match (&args.expect, &args.expect_hex) {
        (Some(t), _) => Some(text_arg("--expect", t, args.encoding)?),
        (_, Some(h)) => Some(hex_arg("--expect-hex", h)?),
        _ => None,
    };
    if expect.is_some() && payload.is_none() {
        return Err(argument("--expect", t!("config.expect_alone")));
    }
    if payload.is_some() && args.mode == BenchMode::Stream {
        return Err(argument("--payload", t!("config.payload_stream")));
    }
    let len = payload.as_ref().map_or(args.len, Bytes::len);
    if len == 0 && !args.udp {
        return Err(argument("--len", t!("config.len_zero")));
    }
    if args.udp {
        if args.mode != BenchMode::Pingpong {
            return Err(argument("--udp", t!("config.udp_mode")));
        }
        let max = max_datagram(&target);
        if len > max {
            return Err(argument("--len", t!("config.len_datagram", len = len, max = max)));
        }
    }
    for (what, rate) in [("--rate", args.rate), ("--connect-rate", args.connect_rate)] {
        if rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
            return Err(argument(what, t!("config.rate")));
        }
    }
    let timeout = args.timeout.unwrap_or(if args.udp { Duration::from_millis(200) } else { Duration::from_secs(5) });
    Ok(BenchConfig {
        target,
        conns: usize::try_from(args.conns).unwrap_or(usize::MAX),
        len,
        duration: args.duration,
        mode: args.mode,
        window: args.window,
        threads: usize::try_from(args.threads).unwrap_or(1),
        rate: args.rate,
        connect_rate: args.connect_rate,
        payload,
        expect,
        udp: args.udp,
        timeout,
    })
}

pub fn client_options(args: &ConnectArgs) -> Result<ClientOptions> {
    let encoding = args.view.encoding;
    let messages = messages(&args.messages, encoding)?;
    // A message to send, with `--checksum` after it.
    let message = |bytes: Bytes| Payload::Bytes(Bytes::from(messages.outgoing(&bytes).into_owned()));
    let mut payloads = Vec::with_capacity(args.sends.len());
    for send in &args.sends {
        payloads.push(match send {
            SendArg::Text(t) => message(text_arg("--send", t, encoding)?),
            SendArg::Hex(h) => message(hex_arg("--send-hex", h)?),
            SendArg::File(path) => {
                if path.as_os_str() != "-" {
                    // Found unreadable now rather than after connecting.
                    let file =
                        std::fs::File::open(path).map_err(|source| Error::File { path: path.clone(), source })?;
                    if file.metadata().is_ok_and(|m| m.is_dir()) {
                        return Err(argument("--send-file", t!("config.directory", path = path.display())));
                    }
                }
                Payload::File(path.clone())
            }
        });
    }
    if payloads.is_empty() && (args.interval.is_some() || args.count.is_some()) {
        let which = if args.interval.is_some() { "--interval" } else { "--count" };
        return Err(argument(which, t!("config.nothing_to_repeat")));
    }
    let rounds = match (args.count, args.interval) {
        (Some(n), _) => Some(n),
        (None, Some(_)) => None,
        (None, None) => Some(1),
    };
    Ok(ClientOptions {
        conn: ConnOptions { reply: Reply::None, messages, idle_timeout: None, linger: LINGER },
        payloads,
        interval: args.interval,
        rounds,
        wait: args.wait.0,
        line: LineFormat { checksum: args.messages.checksum, ..line_format(&args.line, encoding) },
        queue_limit: CLIENT_QUEUE,
    })
}

/// The UI's settings for `listen --ui`.
pub fn ui_listen(args: &ListenArgs) -> Result<crate::ui::app::Settings> {
    use crate::ui::app::{AutoReply, Role, Settings};
    use crate::ui::settings::TlsMode;
    let t = &args.tls;
    if t.cert.is_some() || t.key.is_some() || t.client_ca.is_some() || !t.alpn.is_empty() {
        return Err(argument("--ui", t!("config.ui_server_tls")));
    }
    let tls = if t.tls || t.tls_self_signed { TlsMode::On } else { TlsMode::Off };
    let reply = match (&args.reply, &args.reply_hex, args.echo) {
        (Some(t), _, _) => AutoReply::Text(t.clone()),
        (_, Some(h), _) => {
            hex_arg("--reply-hex", h)?;
            AutoReply::Text(format!("hex:{h}"))
        }
        (_, _, true) => AutoReply::Echo,
        _ => AutoReply::Off,
    };
    Ok(Settings {
        role: if args.udp.udp { Role::UdpServer } else { Role::TcpServer },
        address: args.bind.clone().unwrap_or_default(),
        port: args.port.to_string(),
        encoding: args.view.encoding,
        recv: recv_view(args.view.show),
        timestamps: !args.view.no_time,
        reply,
        send_as: args.line.stdin_format,
        eol: args.line.eol,
        interval_ms: None,
        count: None,
        frame: args.messages.frame.clone(),
        checksum: args.messages.checksum,
        verify: args.messages.verify,
        reconnect: false,
        tls,
    })
}

/// `--rule`s and `--rules FILE` for the UI's rules panel, checked as the command line's are.
pub fn ui_rules(args: &crate::cli::MessageArgs, encoding: crate::render::TextEncoding) -> Result<Vec<String>> {
    let mut lines = args.rule.clone();
    if let Some(path) = &args.rules {
        let text = std::fs::read_to_string(path).map_err(|source| Error::File { path: path.clone(), source })?;
        lines.extend(crate::proto::rules::Rules::lines_of(&text));
    }
    crate::proto::rules::Rules::parse(&lines, encoding).map_err(|e| argument("--rule", e))?;
    Ok(lines)
}

/// `--show` as the UI's receive view: `both` is the hexdump.
fn recv_view(show: crate::sink::human::Show) -> crate::ui::settings::RecvView {
    use crate::sink::human::Show;
    use crate::ui::settings::RecvView;
    match show {
        Show::Hex => RecvView::Hex,
        Show::Both => RecvView::Dump,
        _ => RecvView::Text,
    }
}

/// The UI's settings for `connect --ui`.
pub fn ui_connect(args: &ConnectArgs) -> Result<crate::ui::app::Settings> {
    use crate::ui::app::{AutoReply, Role, Settings};
    use crate::ui::settings::TlsMode;
    let t = &args.tls;
    if t.sni.is_some() || t.ca.is_some() || !t.pin.is_empty() || t.cert.is_some() || !t.alpn.is_empty() {
        return Err(argument("--ui", t!("config.ui_client_tls")));
    }
    let tls = match (t.tls, t.insecure) {
        (false, _) => TlsMode::Off,
        (true, false) => TlsMode::On,
        (true, true) => TlsMode::Insecure,
    };
    let crate::mode::dial::DialTo::Tcp { host, port } = connect_target(args)? else {
        return Err(argument("--ui", t!("config.unix_ui")));
    };
    Ok(Settings {
        role: if args.udp.udp { Role::UdpClient } else { Role::TcpClient },
        address: host,
        port: port.to_string(),
        encoding: args.view.encoding,
        recv: recv_view(args.view.show),
        timestamps: !args.view.no_time,
        reply: AutoReply::Off,
        send_as: args.line.stdin_format,
        eol: args.line.eol,
        interval_ms: args.interval.map(|d| d.as_millis() as u64),
        count: args.count,
        frame: args.messages.frame.clone(),
        checksum: args.messages.checksum,
        verify: args.messages.verify,
        reconnect: args.reconnect.is_some(),
        tls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};

    fn connect(words: &[&str]) -> ConnectArgs {
        let mut all = vec!["netassist", "connect"];
        all.extend_from_slice(words);
        match Cli::try_parse_words(all).unwrap().command {
            Command::Connect(c) => c,
            other => unreachable!("parsed a connect command line, got {other:?}"),
        }
    }

    #[test]
    fn targets_as_people_write_them() {
        use crate::mode::dial::DialTo;
        let tcp = |host: &str, port| DialTo::Tcp { host: host.into(), port };
        assert_eq!(connect_target(&connect(&["h", "80"])).unwrap(), tcp("h", 80));
        assert_eq!(connect_target(&connect(&["127.0.0.1:9090"])).unwrap(), tcp("127.0.0.1", 9090));
        assert_eq!(connect_target(&connect(&["[::1]:9090"])).unwrap(), tcp("::1", 9090));
        let unix = crate::unix::UnixAddr::Path("/run/x.sock".into());
        assert_eq!(connect_target(&connect(&["unix:/run/x.sock"])).unwrap(), DialTo::Unix(unix));
        assert!(connect_target(&connect(&["unix:/run/x.sock", "80"])).is_err(), "a Unix socket has no port");
        assert!(connect_target(&connect(&["unix:/run/x.sock", "--udp"])).is_err());
        assert!(connect_target(&connect(&["unix:/run/x.sock", "--proxy", "socks5://h:1"])).is_err());
        assert!(connect_target(&connect(&["::1"])).is_err());
        assert!(connect_target(&connect(&["h:99999"])).unwrap_err().to_string().contains("out of range"));
    }

    #[test]
    fn bad_payloads_are_found_before_connecting() {
        let err = client_options(&connect(&["h", "1", "--send-hex", "01 0g"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--send-hex: 'g' at position 5 is not a hex digit (0-9, a-f); bytes are written like 01 02 ff, 0102ff or 0x01,0x02 (in '01 0g')"
        );
        let err = client_options(&connect(&["h", "1", "--send", "ok😀", "-e", "gbk"])).unwrap_err();
        assert!(
            err.to_string().starts_with("--send: character '😀' (U+1F600) at position 3 cannot be encoded in gbk"),
            "{err}"
        );
        let err = client_options(&connect(&["h", "1", "--send-file", "/nonexistent/x"])).unwrap_err();
        assert!(err.to_string().starts_with("cannot read /nonexistent/x: No such file or directory"), "{err}");
        let err = client_options(&connect(&["h", "1", "--interval", "100"])).unwrap_err();
        assert!(err.to_string().contains("nothing to repeat"), "{err}");
    }
}
