//! Proxies: reaching a target through one (`connect --proxy`, SOCKS5 or HTTP CONNECT, the
//! target's name resolved by the proxy), and being one (`relay --socks5`, `relay
//! --http-proxy`): reading what each client asks for, checking it against the target rule,
//! and answering once the target is reached or refused.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use rust_i18n::t;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::net::{BufferRequest, Connected, connect_tcp};

/// Which protocol the proxy speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyKind {
    /// SOCKS5 (RFC 1928), with user and password (RFC 1929) when given.
    Socks5,
    /// HTTP CONNECT.
    Http,
}

/// A proxy to reach targets through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    pub kind: ProxyKind,
    pub host: String,
    pub port: u16,
    pub auth: Option<(String, String)>,
}

impl Proxy {
    /// `socks5://[USER:PASS@]HOST:PORT` (or `socks5h://`), `http://[USER:PASS@]HOST:PORT`.
    pub fn parse(s: &str) -> std::result::Result<Proxy, String> {
        let bad = || t!("proxy.bad_url", url = crate::render::escape::shown_name(s)).into_owned();
        let (scheme, rest) = s.split_once("://").ok_or_else(bad)?;
        let (kind, default_port) = match scheme.to_ascii_lowercase().as_str() {
            "socks5" | "socks5h" => (ProxyKind::Socks5, 1080),
            "http" => (ProxyKind::Http, 8080),
            _ => return Err(bad()),
        };
        let rest = rest.trim_end_matches('/');
        let (auth, hostport) = match rest.rsplit_once('@') {
            Some((auth, hp)) => {
                let (u, p) = auth.split_once(':').unwrap_or((auth, ""));
                (Some((percent_decode(u), percent_decode(p))), hp)
            }
            None => (None, rest),
        };
        let (host, port) = split_host_port(hostport).ok_or_else(bad)?;
        let port = match port {
            Some(p) => p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(bad)?,
            None => default_port,
        };
        if host.is_empty() {
            return Err(bad());
        }
        Ok(Proxy { kind, host, port, auth })
    }

    /// The proxy from the environment (`--proxy env`): ALL_PROXY, then HTTPS_PROXY (either
    /// case), `None` when neither is set.
    pub fn from_env() -> Option<std::result::Result<Proxy, String>> {
        ["ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
            .map(|v| Proxy::parse(&v))
    }

    /// `socks5://host:port`, without the password.
    pub fn shown(&self) -> String {
        let scheme = match self.kind {
            ProxyKind::Socks5 => "socks5",
            ProxyKind::Http => "http",
        };
        format!("{scheme}://{}", crate::net::host_port(&self.host, self.port))
    }

    /// Connects to the proxy, then asks it for `host:port`; all within `timeout`.
    pub async fn connect(&self, host: &str, port: u16, timeout: Duration, sizes: BufferRequest) -> Result<Connected> {
        let deadline = Instant::now() + timeout;
        let mut connected = connect_tcp(&self.host, self.port, timeout, sizes).await?;
        let left = deadline.saturating_duration_since(Instant::now());
        let fail =
            |reason: String| Error::Proxy { proxy: self.shown(), target: crate::net::host_port(host, port), reason };
        let asked = match self.kind {
            ProxyKind::Socks5 => tokio::time::timeout(left, self.socks5(&mut connected.stream, host, port)).await,
            ProxyKind::Http => tokio::time::timeout(left, self.http(&mut connected.stream, host, port)).await,
        };
        match asked {
            Ok(Ok(())) => Ok(connected),
            Ok(Err(reason)) => Err(fail(reason)),
            Err(_) => Err(fail(t!("proxy.no_answer", time = crate::render::time::seconds(timeout)).into_owned())),
        }
    }

    async fn socks5<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        s: &mut S,
        host: &str,
        port: u16,
    ) -> std::result::Result<(), String> {
        let io = |e: std::io::Error| crate::error::io_reason(&e);
        let methods: &[u8] = if self.auth.is_some() { &[5, 2, 0, 2] } else { &[5, 1, 0] };
        s.write_all(methods).await.map_err(io)?;
        let mut chosen = [0u8; 2];
        s.read_exact(&mut chosen).await.map_err(io)?;
        if chosen[0] != 5 {
            return Err(t!("proxy.not_socks5").into_owned());
        }
        match (chosen[1], &self.auth) {
            (0, _) => {}
            (2, Some((user, pass))) => {
                let (u, p) = (user.as_bytes(), pass.as_bytes());
                let (Ok(ul), Ok(pl)) = (u8::try_from(u.len()), u8::try_from(p.len())) else {
                    return Err(t!("proxy.auth_too_long").into_owned());
                };
                let mut msg = vec![1, ul];
                msg.extend_from_slice(u);
                msg.push(pl);
                msg.extend_from_slice(p);
                s.write_all(&msg).await.map_err(io)?;
                let mut status = [0u8; 2];
                s.read_exact(&mut status).await.map_err(io)?;
                if status[1] != 0 {
                    return Err(t!("proxy.auth_refused").into_owned());
                }
            }
            _ => return Err(t!("proxy.no_method").into_owned()),
        }
        let mut req = vec![5, 1, 0];
        push_socks_addr(&mut req, host).ok_or_else(|| t!("proxy.name_too_long").into_owned())?;
        req.extend_from_slice(&port.to_be_bytes());
        s.write_all(&req).await.map_err(io)?;
        let mut head = [0u8; 4];
        s.read_exact(&mut head).await.map_err(io)?;
        if head[1] != 0 {
            return Err(socks_reply_text(head[1]));
        }
        // The bound address, which says nothing we show.
        let skip = match head[3] {
            1 => 4,
            4 => 16,
            3 => usize::from(s.read_u8().await.map_err(io)?),
            _ => return Err(t!("proxy.not_socks5").into_owned()),
        };
        let mut rest = vec![0u8; skip + 2];
        s.read_exact(&mut rest).await.map_err(io)?;
        Ok(())
    }

    async fn http<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        s: &mut S,
        host: &str,
        port: u16,
    ) -> std::result::Result<(), String> {
        use base64::Engine;
        let io = |e: std::io::Error| crate::error::io_reason(&e);
        let target = crate::net::host_port(host, port);
        let mut req = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
        if let Some((u, p)) = &self.auth {
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
            req.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).await.map_err(io)?;
        // The answer's head, a byte at a time: what follows it is the target's.
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            if head.len() >= HEAD_MAX {
                return Err(t!("proxy.head_too_long").into_owned());
            }
            head.push(s.read_u8().await.map_err(io)?);
        }
        let status = String::from_utf8_lossy(head.split(|b| *b == b'\r').next().unwrap_or_default()).into_owned();
        let code = status.split_whitespace().nth(1).unwrap_or_default();
        if status.starts_with("HTTP/1.") && code.starts_with('2') {
            Ok(())
        } else {
            Err(t!("proxy.http_refused", status = crate::render::escape::shown_name(&status)).into_owned())
        }
    }
}

/// The longest request or response head read from a proxy's peer.
pub const HEAD_MAX: usize = 16 * 1024;

/// SOCKS5's address: IPv4, IPv6 or a name (at most 255 bytes).
fn push_socks_addr(req: &mut Vec<u8>, host: &str) -> Option<()> {
    match host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => {
            req.push(1);
            req.extend_from_slice(&ip.octets());
        }
        Ok(IpAddr::V6(ip)) => {
            req.push(4);
            req.extend_from_slice(&ip.octets());
        }
        Err(_) => {
            req.push(3);
            req.push(u8::try_from(host.len()).ok()?);
            req.extend_from_slice(host.as_bytes());
        }
    }
    Some(())
}

/// RFC 1928's reply codes, in words.
fn socks_reply_text(code: u8) -> String {
    let what = match code {
        1 => t!("proxy.socks_general"),
        2 => t!("proxy.socks_not_allowed"),
        3 => t!("proxy.socks_net_unreachable"),
        4 => t!("proxy.socks_host_unreachable"),
        5 => t!("proxy.socks_refused"),
        6 => t!("proxy.socks_ttl"),
        7 => t!("proxy.socks_command"),
        8 => t!("proxy.socks_address_type"),
        _ => t!("proxy.socks_other"),
    };
    format!("{what} (SOCKS5 {code})")
}

/// `host:port`, `[v6]:port`, or a bare host.
fn split_host_port(s: &str) -> Option<(String, Option<&str>)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after {
            "" => Some((host.to_string(), None)),
            a => Some((host.to_string(), Some(a.strip_prefix(':')?))),
        };
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => Some((h.to_string(), Some(p))),
        Some(_) => None,
        None => Some((s.to_string(), None)),
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What a proxy client asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    pub host: String,
    pub port: u16,
    pub how: Asking,
    /// Bytes to send the target first: a plain HTTP request's head, rewritten for the
    /// target, and what the client sent after it.
    pub first: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asking {
    Socks5,
    HttpConnect,
    /// A plain request with an absolute URI (`GET http://host/path`).
    HttpRequest,
}

impl Asking {
    pub fn as_str(self) -> &'static str {
        match self {
            Asking::Socks5 => "SOCKS5",
            Asking::HttpConnect => "HTTP CONNECT",
            Asking::HttpRequest => "HTTP",
        }
    }
}

impl Asked {
    pub fn target(&self) -> String {
        crate::net::host_port(&self.host, self.port)
    }
}

/// Serves a SOCKS5 client's greeting and request (any user and password are taken, and
/// the user named); returns its target. The answer comes from [`answer`].
pub async fn socks5_asked<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S) -> std::result::Result<Asked, String> {
    let io = |e: std::io::Error| crate::error::io_reason(&e);
    let mut hello = [0u8; 2];
    s.read_exact(&mut hello).await.map_err(io)?;
    if hello[0] != 5 {
        return Err(t!("proxy.client_not_socks5", first = hello[0]).into_owned());
    }
    let mut methods = vec![0u8; usize::from(hello[1])];
    s.read_exact(&mut methods).await.map_err(io)?;
    if methods.contains(&0) {
        s.write_all(&[5, 0]).await.map_err(io)?;
    } else if methods.contains(&2) {
        s.write_all(&[5, 2]).await.map_err(io)?;
        let mut v = [0u8; 2];
        s.read_exact(&mut v).await.map_err(io)?;
        let mut user = vec![0u8; usize::from(v[1])];
        s.read_exact(&mut user).await.map_err(io)?;
        let plen = s.read_u8().await.map_err(io)?;
        let mut pass = vec![0u8; usize::from(plen)];
        s.read_exact(&mut pass).await.map_err(io)?;
        s.write_all(&[1, 0]).await.map_err(io)?;
    } else {
        let _ = s.write_all(&[5, 0xff]).await;
        return Err(t!("proxy.client_no_method").into_owned());
    }
    let mut req = [0u8; 4];
    s.read_exact(&mut req).await.map_err(io)?;
    if req[1] != 1 {
        let _ = s.write_all(&[5, 7, 0, 1, 0, 0, 0, 0, 0, 0]).await;
        return Err(t!("proxy.client_not_connect", cmd = req[1]).into_owned());
    }
    let host = match req[3] {
        1 => {
            let mut a = [0u8; 4];
            s.read_exact(&mut a).await.map_err(io)?;
            IpAddr::from(a).to_string()
        }
        4 => {
            let mut a = [0u8; 16];
            s.read_exact(&mut a).await.map_err(io)?;
            IpAddr::from(a).to_string()
        }
        3 => {
            let len = s.read_u8().await.map_err(io)?;
            let mut name = vec![0u8; usize::from(len)];
            s.read_exact(&mut name).await.map_err(io)?;
            String::from_utf8_lossy(&name).into_owned()
        }
        t => {
            let _ = s.write_all(&[5, 8, 0, 1, 0, 0, 0, 0, 0, 0]).await;
            return Err(t!("proxy.client_address_type", kind = t).into_owned());
        }
    };
    let port = s.read_u16().await.map_err(io)?;
    Ok(Asked { host, port, how: Asking::Socks5, first: Vec::new() })
}

/// Reads an HTTP proxy client's request head: CONNECT host:port, or a request with an
/// absolute URI, rewritten to the origin form for the target.
pub async fn http_asked<S: AsyncRead + Unpin>(s: &mut S) -> std::result::Result<Asked, String> {
    let io = |e: std::io::Error| crate::error::io_reason(&e);
    let mut buf = Vec::with_capacity(1024);
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() >= HEAD_MAX {
            return Err(t!("proxy.head_too_long").into_owned());
        }
        let mut chunk = [0u8; 2048];
        let n = s.read(&mut chunk).await.map_err(io)?;
        if n == 0 {
            return Err(t!("proxy.client_left").into_owned());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let line_end = buf.iter().position(|b| *b == b'\r').unwrap_or(0);
    let line = String::from_utf8_lossy(&buf[..line_end]).into_owned();
    let mut parts = line.split(' ');
    let (Some(method), Some(uri), Some(version)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(t!("proxy.bad_request", line = crate::render::escape::shown_name(&line)).into_owned());
    };
    if method.eq_ignore_ascii_case("CONNECT") {
        let (host, port) = split_host_port(uri)
            .and_then(|(h, p)| Some((h, p?.parse::<u16>().ok()?)))
            .ok_or_else(|| t!("proxy.bad_request", line = crate::render::escape::shown_name(&line)).into_owned())?;
        // What came after the head (a client that did not wait for the answer).
        return Ok(Asked { host, port, how: Asking::HttpConnect, first: buf[end..].to_vec() });
    }
    let Some(rest) = uri.strip_prefix("http://").or_else(|| uri.strip_prefix("HTTP://")) else {
        return Err(t!("proxy.not_absolute", line = crate::render::escape::shown_name(&line)).into_owned());
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = split_host_port(authority)
        .and_then(|(h, p)| Some((h, p.map_or(Some(80), |p| p.parse::<u16>().ok())?)))
        .ok_or_else(|| t!("proxy.bad_request", line = crate::render::escape::shown_name(&line)).into_owned())?;
    let mut first = format!("{method} {path} {version}").into_bytes();
    first.extend_from_slice(&buf[line_end..]);
    Ok(Asked { host, port, how: Asking::HttpRequest, first })
}

/// Answers a proxy client: its target is reached (`bound`), or refused (`refused`: by the
/// rule, else unreachable).
pub async fn answer<S: AsyncWrite + Unpin>(
    s: &mut S,
    how: Asking,
    bound: Option<SocketAddr>,
    refused_by_rule: bool,
) -> std::io::Result<()> {
    match how {
        Asking::Socks5 => {
            let code = match (bound, refused_by_rule) {
                (Some(_), _) => 0,
                (None, true) => 2,
                (None, false) => 5,
            };
            let mut reply = vec![5, code, 0];
            match bound {
                Some(SocketAddr::V6(a)) => {
                    reply.push(4);
                    reply.extend_from_slice(&a.ip().octets());
                    reply.extend_from_slice(&a.port().to_be_bytes());
                }
                Some(SocketAddr::V4(a)) => {
                    reply.push(1);
                    reply.extend_from_slice(&a.ip().octets());
                    reply.extend_from_slice(&a.port().to_be_bytes());
                }
                None => reply.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0]),
            }
            s.write_all(&reply).await
        }
        Asking::HttpConnect | Asking::HttpRequest => {
            let status: &[u8] = match (bound, refused_by_rule) {
                (Some(_), _) if how == Asking::HttpRequest => return Ok(()),
                (Some(_), _) => b"HTTP/1.1 200 Connection established\r\n\r\n",
                (None, true) => b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                (None, false) => b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            };
            s.write_all(status).await?;
            s.flush().await
        }
    }
}

/// Where proxy clients may go: `--allow-target CIDR|HOST:PORT`; without any, anywhere but
/// loopback, private and link-local addresses.
#[derive(Debug, Clone, Default)]
pub struct TargetRule {
    nets: Vec<ipnet::IpNet>,
    exact: Vec<(String, u16)>,
}

impl TargetRule {
    pub fn parse(items: &[String]) -> std::result::Result<TargetRule, String> {
        let mut rule = TargetRule::default();
        for item in items {
            if let Ok(net) = item.parse::<ipnet::IpNet>() {
                rule.nets.push(net);
            } else if let Ok(ip) = item.parse::<IpAddr>() {
                rule.nets.push(ipnet::IpNet::from(ip));
            } else if let Some((h, Some(p))) = split_host_port(item)
                && let Ok(p) = p.parse::<u16>()
            {
                rule.exact.push((h.to_ascii_lowercase(), p));
            } else {
                return Err(t!("proxy.bad_target_rule", item = crate::render::escape::shown_name(item)).into_owned());
            }
        }
        Ok(rule)
    }

    /// The rule in words for the start: what is allowed (empty: the default).
    pub fn shown(&self) -> Vec<String> {
        self.nets
            .iter()
            .map(ToString::to_string)
            .chain(self.exact.iter().map(|(h, p)| crate::net::host_port(h, *p)))
            .collect()
    }

    /// Whether a client may reach `addr`, which it asked for as `host:port`.
    pub fn allows(&self, host: &str, port: u16, addr: SocketAddr) -> bool {
        let ip = addr.ip().to_canonical();
        if self.nets.is_empty() && self.exact.is_empty() {
            return !internal(ip);
        }
        let host = host.to_ascii_lowercase();
        self.nets.iter().any(|n| n.contains(&ip))
            || self.exact.iter().any(|(h, p)| *p == port && (*h == host || h.parse::<IpAddr>().ok() == Some(ip)))
    }
}

/// Loopback, private, link-local, unspecified: this machine's and its networks' own.
fn internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4.is_unspecified() || v4.is_broadcast()
        }
        IpAddr::V6(v6) => {
            let s = v6.segments()[0];
            v6.is_loopback() || v6.is_unspecified() || (s & 0xfe00) == 0xfc00 || (s & 0xffc0) == 0xfe80
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls() {
        let p = Proxy::parse("socks5://u:p%40ss@127.0.0.1:1081").unwrap();
        assert_eq!((p.kind, p.host.as_str(), p.port), (ProxyKind::Socks5, "127.0.0.1", 1081));
        assert_eq!(p.auth, Some(("u".into(), "p@ss".into())));
        let p = Proxy::parse("http://[::1]:3128/").unwrap();
        assert_eq!((p.kind, p.host.as_str(), p.port, p.auth), (ProxyKind::Http, "::1", 3128, None));
        assert_eq!(Proxy::parse("socks5h://proxy").unwrap().port, 1080);
        for bad in ["127.0.0.1:1080", "ftp://x:1", "socks5://:1", "http://x:0", "http://x:99999"] {
            assert!(Proxy::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_target_rule() {
        let any = TargetRule::default();
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert!(!any.allows("localhost", 80, a("127.0.0.1:80")));
        assert!(!any.allows("x", 80, a("192.168.1.1:80")));
        assert!(!any.allows("x", 80, a("[fd00::1]:80")));
        assert!(any.allows("x", 80, a("93.184.215.14:80")));
        let some = TargetRule::parse(&["127.0.0.0/8".into(), "db.local:5432".into()]).unwrap();
        assert!(some.allows("localhost", 80, a("127.0.0.1:80")));
        assert!(some.allows("DB.local", 5432, a("10.0.0.5:5432")));
        assert!(!some.allows("db.local", 5433, a("10.0.0.5:5433")));
        assert!(!some.allows("x", 80, a("93.184.215.14:80")), "with rules given, only they allow");
        assert!(TargetRule::parse(&["nonsense".into()]).is_err());
    }

    #[tokio::test]
    async fn socks5_both_ends() {
        let (mut client, mut server) = tokio::io::duplex(1024);
        let proxy = Proxy::parse("socks5://me:secret@127.0.0.1:1").unwrap();
        let asking = tokio::spawn(async move { proxy.socks5(&mut client, "example.com", 8080).await.map(|()| client) });
        let asked = socks5_asked(&mut server).await.unwrap();
        assert_eq!((asked.host.as_str(), asked.port, asked.how), ("example.com", 8080, Asking::Socks5));
        answer(&mut server, Asking::Socks5, Some(a("127.0.0.1:9")), false).await.unwrap();
        asking.await.unwrap().unwrap();

        fn a(s: &str) -> SocketAddr {
            s.parse().unwrap()
        }
    }

    #[tokio::test]
    async fn socks5_refusal_is_the_client_error() {
        let (mut client, mut server) = tokio::io::duplex(1024);
        let proxy = Proxy::parse("socks5://127.0.0.1:1").unwrap();
        let asking = tokio::spawn(async move { proxy.socks5(&mut client, "10.0.0.1", 22).await });
        let asked = socks5_asked(&mut server).await.unwrap();
        assert_eq!(asked.host, "10.0.0.1");
        answer(&mut server, Asking::Socks5, None, true).await.unwrap();
        let err = asking.await.unwrap().unwrap_err();
        assert!(err.contains("SOCKS5 2"), "{err}");
    }

    #[tokio::test]
    async fn http_requests_as_a_proxy_reads_them() {
        let mut connect: &[u8] = b"CONNECT db:5432 HTTP/1.1\r\nHost: db:5432\r\n\r\nearly";
        let asked = http_asked(&mut connect).await.unwrap();
        assert_eq!((asked.host.as_str(), asked.port, asked.how), ("db", 5432, Asking::HttpConnect));
        assert_eq!(asked.first, b"early");
        let mut get: &[u8] = b"GET http://example.com/a?b HTTP/1.1\r\nHost: example.com\r\n\r\nbody";
        let asked = http_asked(&mut get).await.unwrap();
        assert_eq!((asked.host.as_str(), asked.port, asked.how), ("example.com", 80, Asking::HttpRequest));
        assert_eq!(asked.first, b"GET /a?b HTTP/1.1\r\nHost: example.com\r\n\r\nbody");
        let mut origin: &[u8] = b"GET /a HTTP/1.1\r\n\r\n";
        assert!(http_asked(&mut origin).await.is_err());
        let mut endless: &[u8] = &[b'a'; HEAD_MAX + 10];
        assert!(http_asked(&mut endless).await.is_err());
    }

    #[tokio::test]
    async fn http_connect_client() {
        let (mut client, mut server) = tokio::io::duplex(1024);
        let proxy = Proxy::parse("http://127.0.0.1:1").unwrap();
        let asking = tokio::spawn(async move { proxy.http(&mut client, "::1", 80).await });
        let asked = http_asked(&mut server).await.unwrap();
        assert_eq!((asked.host.as_str(), asked.port), ("::1", 80));
        answer(&mut server, Asking::HttpConnect, None, true).await.unwrap();
        let err = asking.await.unwrap().unwrap_err();
        assert!(err.contains("403"), "{err}");
    }
}
