//! `netassist ping HOST`: is the host there? ICMP echo as ping does it (the unprivileged
//! ICMP socket where the OS allows it, else a raw socket), or with `--tcp PORT` the time a
//! TCP connect takes; a refused connect still proves the host is up. A line per probe, and
//! the summary ping prints.

use rust_i18n::t;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use surge_ping::{Client, Config, ICMP, IcmpPacket, PingIdentifier, PingSequence, SurgeError};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result, io_reason};
use crate::sink::json::JsonObject;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Any,
    V4,
    V6,
}

#[derive(Debug, Clone)]
pub struct PingOptions {
    /// `None`: until stopped.
    pub count: Option<u64>,
    pub interval: Duration,
    pub timeout: Duration,
    /// ICMP payload bytes.
    pub size: usize,
    pub tcp: Option<u16>,
    pub family: Family,
    pub json: bool,
}

/// Round-trip times of the replies; sent counts every probe.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub sent: u64,
    pub times: Vec<Duration>,
}

impl Summary {
    pub fn received(&self) -> u64 {
        self.times.len() as u64
    }

    /// Percent of probes without a reply.
    pub fn loss(&self) -> f64 {
        if self.sent == 0 { 0.0 } else { 100.0 * (self.sent - self.received()) as f64 / self.sent as f64 }
    }

    /// min, avg, max, mdev in milliseconds, as ping computes them.
    pub fn stats_ms(&self) -> Option<(f64, f64, f64, f64)> {
        if self.times.is_empty() {
            return None;
        }
        let ms: Vec<f64> = self.times.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        let n = ms.len() as f64;
        let avg = ms.iter().sum::<f64>() / n;
        let sq = ms.iter().map(|x| x * x).sum::<f64>() / n;
        let mdev = (sq - avg * avg).max(0.0).sqrt();
        let min = ms.iter().cloned().fold(f64::INFINITY, f64::min);
        let max = ms.iter().cloned().fold(0.0, f64::max);
        Some((min, avg, max, mdev))
    }
}

/// One probe's outcome.
enum Probe {
    Reply {
        from: IpAddr,
        bytes: usize,
        ttl: Option<u8>,
        time: Duration,
        note: Option<&'static str>,
    },
    /// An ICMP error about our probe (e.g. destination unreachable), from a router or host.
    Icmp {
        from: IpAddr,
        what: String,
    },
    Lost,
    Failed(String),
}

async fn pick_address(host: &str, family: Family, port: u16) -> Result<SocketAddr> {
    let addrs = crate::net::resolve(host, port).await?;
    addrs
        .iter()
        .copied()
        .find(|a| match family {
            Family::Any => true,
            Family::V4 => a.is_ipv4(),
            Family::V6 => a.is_ipv6(),
        })
        .ok_or_else(|| Error::Resolve {
            host: host.to_string(),
            reason: format!("it has no IPv{} address", if family == Family::V4 { 4 } else { 6 }),
        })
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 { format!("{ms:.3}") } else { format!("{ms:.1}") }
}

pub async fn run(out: &mut dyn Write, host: &str, opts: &PingOptions, stop: &CancellationToken) -> Result<Summary> {
    let io = |e: io::Error| Error::Io { context: t!("ctx.cannot_write_the_output").into_owned(), source: e };
    let target = pick_address(host, opts.family, opts.tcp.unwrap_or(0)).await?;
    let shown = crate::net::show_addr(&target);
    let ip_shown = if target.ip().to_string() == host { String::new() } else { format!(" ({})", target.ip()) };

    let mut icmp = None;
    // What the probes went over, for the summary: "tcp", or the ICMP socket kind.
    let mut via = "tcp";
    if opts.tcp.is_none() {
        let kind = if target.is_ipv4() { ICMP::V4 } else { ICMP::V6 };
        let config = Config::builder().kind(kind).sock_type_hint(socket2::Type::DGRAM).build();
        let client = Client::new(&config).map_err(|e| permission_error(e, host))?;
        let unprivileged = client.get_socket().get_type() == socket2::Type::DGRAM;
        via = if unprivileged { "icmp_dgram" } else { "icmp_raw" };
        let how = if unprivileged { t!("ping.unprivileged") } else { t!("ping.raw") };
        if !opts.json {
            let line = t!("ping.start_icmp", host = host, ip = ip_shown, size = opts.size, how = how);
            writeln!(out, "{line}").map_err(io)?;
        }
        let mut pinger = client.pinger(target.ip(), PingIdentifier(std::process::id() as u16)).await;
        pinger.timeout(opts.timeout);
        if let SocketAddr::V6(v6) = target {
            pinger.scope_id(v6.scope_id());
        }
        icmp = Some((client, pinger));
    } else if !opts.json {
        let line = t!("ping.start_tcp", host = host, ip = ip_shown, port = target.port());
        writeln!(out, "{line}").map_err(io)?;
    }

    let payload: Vec<u8> = (0..opts.size).map(|i| (i % 256) as u8).collect();
    let mut summary = Summary::default();
    let mut ticks = tokio::time::interval_at(Instant::now(), opts.interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut seq: u64 = 0;
    let started = Instant::now();
    while opts.count.is_none_or(|n| seq < n) {
        tokio::select! {
            _ = ticks.tick() => {}
            () = stop.cancelled() => break,
        }
        seq += 1;
        summary.sent += 1;
        let probe = tokio::select! {
            p = async {
                match icmp.as_mut() {
                    Some((_, pinger)) => icmp_probe(pinger, seq, &payload).await,
                    None => tcp_probe(target, opts.timeout).await,
                }
            } => p,
            () = stop.cancelled() => { summary.sent -= 1; break; }
        };
        if let Probe::Reply { time, .. } = &probe {
            summary.times.push(*time);
        }
        let line = if opts.json { probe_json(&probe, seq, &shown) } else { probe_human(&probe, seq, &shown, opts) };
        writeln!(out, "{line}").map_err(io)?;
        out.flush().map_err(io)?;
    }
    let elapsed = started.elapsed();
    let line = if opts.json { summary_json(&summary, host, via) } else { summary_human(&summary, host, elapsed) };
    writeln!(out, "{line}").map_err(io)?;
    Ok(summary)
}

fn permission_error(e: io::Error, host: &str) -> Error {
    if e.kind() == io::ErrorKind::PermissionDenied {
        Error::Denied { what: "ping".into(), message: t!("ping.permission", host = host).into_owned() }
    } else {
        Error::Io { context: t!("ctx.cannot_open_an_icmp_socket").into_owned(), source: e }
    }
}

async fn icmp_probe(pinger: &mut surge_ping::Pinger, seq: u64, payload: &[u8]) -> Probe {
    // Timed here, from before the send: surge-ping takes its send time after the send
    // returns, and on loopback the reply can be stamped before that (it then reports 0).
    let started = Instant::now();
    let result = pinger.ping(PingSequence(seq as u16), payload).await;
    let time = started.elapsed();
    match result {
        Ok((IcmpPacket::V4(p), _)) => {
            // Type 0 is an echo reply; anything else is an error about our probe.
            if p.get_icmp_type().0 == 0 {
                Probe::Reply {
                    from: IpAddr::V4(p.get_source()),
                    bytes: p.get_size(),
                    ttl: p.get_ttl(),
                    time,
                    note: None,
                }
            } else {
                Probe::Icmp {
                    from: IpAddr::V4(p.get_source()),
                    what: icmpv4_error(p.get_icmp_type().0, p.get_icmp_code().0),
                }
            }
        }
        Ok((IcmpPacket::V6(p), _)) => {
            if p.get_icmpv6_type().0 == 129 {
                Probe::Reply { from: IpAddr::V6(p.get_source()), bytes: p.get_size(), ttl: None, time, note: None }
            } else {
                Probe::Icmp { from: IpAddr::V6(p.get_source()), what: format!("ICMPv6 type {}", p.get_icmpv6_type().0) }
            }
        }
        Err(SurgeError::Timeout { .. }) => Probe::Lost,
        Err(SurgeError::IOError(e)) => Probe::Failed(io_reason(&e)),
        Err(e) => Probe::Failed(e.to_string()),
    }
}

fn icmpv4_error(kind: u8, code: u8) -> String {
    match (kind, code) {
        (3, 0) => t!("ping.net_unreachable").into_owned(),
        (3, 1) => t!("ping.host_unreachable").into_owned(),
        (3, 3) => t!("ping.port_unreachable").into_owned(),
        (3, 13) => t!("ping.prohibited").into_owned(),
        (3, c) => t!("ping.dest_unreachable", code = c).into_owned(),
        (11, _) => t!("ping.ttl_exceeded").into_owned(),
        (k, c) => format!("ICMP type {k} code {c}"),
    }
}

async fn tcp_probe(target: SocketAddr, timeout: Duration) -> Probe {
    let started = Instant::now();
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(target)).await {
        Ok(Ok(_stream)) => {
            Probe::Reply { from: target.ip(), bytes: 0, ttl: None, time: started.elapsed(), note: Some("connected") }
        }
        Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => Probe::Reply {
            from: target.ip(),
            bytes: 0,
            ttl: None,
            time: started.elapsed(),
            note: Some("refused: the host is up, nothing listens on that port"),
        },
        Ok(Err(e)) => Probe::Failed(io_reason(&e)),
        Err(_) => Probe::Lost,
    }
}

fn probe_human(probe: &Probe, seq: u64, target: &str, opts: &PingOptions) -> String {
    match probe {
        Probe::Reply { from, bytes, ttl, time, note: None } => {
            let ttl = ttl.map(|t| format!(" ttl={t}")).unwrap_or_default();
            t!("ping.reply", bytes = bytes, from = from, seq = seq, ttl = ttl, time = ms(*time)).into_owned()
        }
        Probe::Reply { time, note: Some(note), .. } => {
            let note = if note.starts_with("refused") { t!("ping.refused") } else { t!("ping.connected") };
            t!("ping.tcp_reply", target = target, seq = seq, note = note, time = ms(*time)).into_owned()
        }
        Probe::Icmp { from, what } => t!("ping.icmp", from = from, seq = seq, what = what).into_owned(),
        Probe::Lost => t!("ping.lost", seq = seq, time = crate::event::seconds(opts.timeout)).into_owned(),
        Probe::Failed(why) => t!("ping.failed", seq = seq, why = why).into_owned(),
    }
}

fn probe_json(probe: &Probe, seq: u64, target: &str) -> String {
    let mut o = JsonObject::plain();
    match probe {
        Probe::Reply { from, bytes, ttl, time, note } => {
            o.str("event", "reply").num("seq", seq).str("from", &from.to_string());
            if note.is_none() {
                o.num("bytes", bytes);
            }
            if let Some(t) = ttl {
                o.num("ttl", t);
            }
            o.num("time_ms", format!("{:.3}", time.as_secs_f64() * 1000.0));
            if let Some(n) = note {
                o.str("tcp", if n.starts_with("refused") { "refused" } else { "connected" });
            }
        }
        Probe::Icmp { from, what } => {
            o.str("event", "icmp_error").num("seq", seq).str("from", &from.to_string()).str("message", what);
        }
        Probe::Lost => {
            o.str("event", "timeout").num("seq", seq).str("to", target);
        }
        Probe::Failed(why) => {
            o.str("event", "error").num("seq", seq).str("message", why);
        }
    }
    o.finish()
}

fn summary_human(s: &Summary, host: &str, elapsed: Duration) -> String {
    let probes = if s.sent == 1 { t!("ping.one_probe") } else { t!("ping.probes", n = s.sent) };
    let replies = if s.received() == 1 { t!("ping.one_reply") } else { t!("ping.replies", n = s.received()) };
    let loss = format!("{:.0}", s.loss());
    let mut text =
        t!("ping.summary", host = host, probes = probes, replies = replies, loss = loss, time = elapsed.as_millis())
            .into_owned();
    if let Some((min, avg, max, mdev)) = s.stats_ms() {
        text.push_str(&format!("\nrtt min/avg/max/mdev = {min:.3}/{avg:.3}/{max:.3}/{mdev:.3} ms"));
    }
    text
}

fn summary_json(s: &Summary, host: &str, via: &str) -> String {
    let mut o = JsonObject::plain();
    o.str("event", "summary").str("host", host).str("via", via).num("sent", s.sent).num("received", s.received());
    o.num("loss", format!("{:.1}", s.loss()));
    if let Some((min, avg, max, mdev)) = s.stats_ms() {
        o.num("min_ms", format!("{min:.3}"))
            .num("avg_ms", format!("{avg:.3}"))
            .num("max_ms", format!("{max:.3}"))
            .num("mdev_ms", format!("{mdev:.3}"));
    }
    o.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_as_ping_computes_it() {
        let s = Summary {
            sent: 4,
            times: vec![Duration::from_millis(1), Duration::from_millis(2), Duration::from_millis(3)],
        };
        assert_eq!(s.loss(), 25.0);
        let (min, avg, max, mdev) = s.stats_ms().unwrap();
        assert_eq!((min, avg, max), (1.0, 2.0, 3.0));
        assert!((mdev - 0.816).abs() < 0.001);
        assert_eq!(
            summary_json(&s, "h", "tcp"),
            r#"{"event":"summary","host":"h","via":"tcp","sent":4,"received":3,"loss":25.0,"min_ms":1.000,"avg_ms":2.000,"max_ms":3.000,"mdev_ms":0.816}"#
        );
    }
}
