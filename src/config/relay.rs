//! The relay's settings (its target, or the targets proxy clients name; TLS on either
//! side; framing) and the ways to reach a target that `connect` shares with it (`--exec`,
//! `--proxy`).

use rust_i18n::t;

use super::{CLIENT_QUEUE, LINGER, access, argument, host_and_port};
use crate::cli::RelayArgs;
use crate::error::Result;
use crate::input::LineFormat;
use crate::mode::connection::{ConnOptions, Reply};
use crate::mode::inbound::Messages;
use crate::mode::server::ServerOptions;
use crate::proto::frame::FrameSpec;

/// The relay's TLS: towards clients, and towards the target.
pub fn relay_tls(args: &RelayArgs) -> (Option<crate::tls::ServerSetup>, Option<crate::tls::ClientSetup>) {
    let listen = (args.tls_listen).then(|| crate::tls::ServerSetup {
        cert: args.cert.clone(),
        key: args.key.clone(),
        self_signed: args.tls_self_signed,
        client_ca: args.client_ca.clone(),
        alpn: args.alpn.clone(),
    });
    let target = args.tls_target.then(|| crate::tls::ClientSetup {
        insecure: args.insecure,
        sni: args.sni.clone(),
        alpn: args.alpn.clone(),
        ca: args.ca.clone(),
        pins: Vec::new(),
        cert: args.target_cert.clone(),
        key: args.target_key.clone(),
    });
    (listen, target)
}

/// `relay --frame`, `--frame-c2t`, `--frame-t2c`: where a message ends, client to target
/// and target to client. A direction's own flag wins over `--frame`.
pub fn relay_frames(args: &RelayArgs) -> Result<(FrameSpec, FrameSpec)> {
    let both = args.frame.clone().unwrap_or_default();
    let c2t = args.frame_c2t.clone().unwrap_or_else(|| both.clone());
    let t2c = args.frame_t2c.clone().unwrap_or(both);
    let framed = c2t != FrameSpec::Raw || t2c != FrameSpec::Raw;
    if framed && args.udp {
        return Err(argument("--frame", t!("config.udp_frame")));
    }
    if matches!(c2t, FrameSpec::Idle(_)) || matches!(t2c, FrameSpec::Idle(_)) {
        return Err(argument("--frame", t!("config.relay_idle")));
    }
    Ok((c2t, t2c))
}

/// The accept loop's settings for the relay; `dual_stack` is false until the socket says
/// otherwise.
pub fn relay_accept_options(args: &RelayArgs) -> Result<ServerOptions> {
    Ok(ServerOptions {
        conn: ConnOptions {
            reply: Reply::None,
            messages: Messages::default(),
            idle_timeout: args.idle_timeout,
            linger: LINGER,
        },
        max_conn: args.max_conn.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        queue_limit: CLIENT_QUEUE,
        line: LineFormat {
            format: crate::input::StdinFormat::Text,
            eol: crate::input::Eol::Lf,
            encoding: args.encoding,
            checksum: None,
        },
        dual_stack: false,
        backlog: args.backlog,
        access: access(&args.access)?,
        relay_to: Some(match relay_upstream(args)? {
            RelayTo::Fixed(to) => to.to_string(),
            RelayTo::Socks5(_) => t!("config.socks5_targets").into_owned(),
            RelayTo::Http(_) => t!("config.http_targets").into_owned(),
        }),
    })
}

/// Where the relay sends clients, as the command line says.
pub enum RelayTo {
    Fixed(crate::mode::dial::DialTo),
    Socks5(crate::mode::proxy::TargetRule),
    Http(crate::mode::proxy::TargetRule),
}

/// `relay ... TARGET_HOST TARGET_PORT`, `TARGET_HOST:PORT`, `unix:PATH`, `--socks5`, `--http-proxy`.
pub fn relay_upstream(args: &RelayArgs) -> Result<RelayTo> {
    use crate::mode::dial::DialTo;
    let rule = || crate::mode::proxy::TargetRule::parse(&args.allow_target).map_err(|m| argument("--allow-target", m));
    if args.socks5 {
        return Ok(RelayTo::Socks5(rule()?));
    }
    if args.http_proxy {
        return Ok(RelayTo::Http(rule()?));
    }
    if !args.allow_target.is_empty() {
        return Err(argument("--allow-target", t!("config.allow_target_alone")));
    }
    let host = args.target_host.as_deref().unwrap_or_default();
    if let Some(addr) = crate::unix::UnixAddr::parse(host) {
        let addr = addr.map_err(|m| argument("relay", m))?;
        if args.target_port.is_some() {
            return Err(argument("relay", t!("config.unix_port")));
        }
        if args.udp {
            return Err(argument("--udp", t!("config.unix_udp")));
        }
        return Ok(RelayTo::Fixed(DialTo::Unix(addr)));
    }
    let (host, port) = host_and_port("relay", host, args.target_port)?;
    Ok(RelayTo::Fixed(DialTo::Tcp { host, port }))
}

/// `--exec CMD` or `--sh-exec LINE`.
pub fn exec_spec(exec: Option<&str>, sh: Option<&str>) -> Result<Option<crate::mode::exec::ExecSpec>> {
    use crate::mode::exec::ExecSpec;
    match (exec, sh) {
        (Some(cmd), _) => ExecSpec::exec(cmd).map(Some).map_err(|m| argument("--exec", m)),
        (None, Some(line)) => ExecSpec::shell(line).map(Some).map_err(|m| argument("--sh-exec", m)),
        (None, None) => Ok(None),
    }
}

/// `connect --proxy URL|env`.
pub fn proxy(arg: Option<&str>) -> Result<Option<crate::mode::proxy::Proxy>> {
    use crate::mode::proxy::Proxy;
    match arg {
        None => Ok(None),
        Some("env") => match Proxy::from_env() {
            Some(p) => p.map(Some).map_err(|m| argument("--proxy env", m)),
            None => Err(argument("--proxy", t!("proxy.no_env"))),
        },
        Some(url) => Proxy::parse(url).map(Some).map_err(|m| argument("--proxy", m)),
    }
}
