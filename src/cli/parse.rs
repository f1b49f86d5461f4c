//! Value parsers: each argument turned into a checked value once (ports, durations, sizes,
//! encodings, frames, checksums), with the hints completions offer.

use rust_i18n::t;
use std::time::Duration;

use crate::render::TextEncoding;
use crate::render::encoding::COMMON_NAMES;

pub(super) fn parse_max_frame(s: &str) -> Result<usize, String> {
    match parse_size(s)? {
        0 => Err(t!("cli.max_frame_zero").into_owned()),
        n => Ok(n),
    }
}

pub(super) fn parse_frame(s: &str) -> Result<crate::proto::frame::FrameSpec, String> {
    crate::proto::frame::FrameSpec::parse(s)
}

/// A parser that also names the values people type most, for shell completion (any other
/// value the parser takes still works; `--help` lists them in its own words).
#[derive(Clone)]
pub struct Hinted<F>(pub F, pub &'static [&'static str]);

impl<F> clap::builder::TypedValueParser for Hinted<F>
where
    F: clap::builder::TypedValueParser,
{
    type Value = F::Value;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Self::Value, clap::Error> {
        self.0.parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(self.1.iter().map(|name| clap::builder::PossibleValue::new(*name))))
    }
}

pub(super) const ENCODING_HINTS: &[&str] =
    &["utf-8", "gbk", "gb18030", "big5", "shift_jis", "euc-kr", "utf-16le", "utf-16be", "latin1", "ascii", "auto"];

pub(super) const CHECKSUM_HINTS: &[&str] = &[
    "sum8",
    "xor8",
    "lrc",
    "crc8",
    "crc16-modbus",
    "crc16-xmodem",
    "crc16-ccitt-false",
    "crc16-ccitt",
    "crc16-ibm",
    "crc32",
];

pub(super) fn parse_checksum(s: &str) -> Result<crate::proto::checksum::Checksum, String> {
    crate::proto::checksum::Checksum::parse(s)
}

/// Where a server listens: a TCP/UDP port, or a Unix socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenOn {
    Port(u16),
    Unix(crate::unix::UnixAddr),
}

impl std::fmt::Display for ListenOn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ListenOn::Port(p) => p.fmt(f),
            ListenOn::Unix(a) => a.fmt(f),
        }
    }
}

/// `9090`, `unix:/tmp/x.sock`, `unix:@name`.
pub fn parse_listen_on(s: &str) -> Result<ListenOn, String> {
    match crate::unix::UnixAddr::parse(s) {
        Some(addr) => addr.map(ListenOn::Unix),
        None => parse_port(s).map(ListenOn::Port),
    }
}

pub fn parse_port(s: &str) -> Result<u16, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if n <= 65535 => Ok(n as u16),
        Ok(n) => Err(t!("cli.port_range", n = n).into_owned()),
        Err(_) => Err(t!("cli.not_a_port", s = s).into_owned()),
    }
}

pub fn parse_encoding(s: &str) -> Result<TextEncoding, String> {
    TextEncoding::from_name(s).ok_or_else(|| {
        if s.trim().eq_ignore_ascii_case("utf-16") || s.trim().eq_ignore_ascii_case("utf16") {
            t!("cli.utf16").into_owned()
        } else {
            t!("cli.unknown_encoding", s = s, known = COMMON_NAMES).into_owned()
        }
    })
}

/// Seconds as people write them: `2`, `1.5`, `500ms`, `30s`, `2m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (t, 1.0)
    };
    let bad = || t!("cli.not_a_duration", s = s).into_owned();
    let value: f64 = number.trim().parse().map_err(|_| bad())?;
    if !value.is_finite() || value < 0.0 || value * scale > 1e9 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(value * scale))
}

/// How long `connect` waits for data once nothing is left to send; `None`: forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait(pub Option<Duration>);

pub(super) fn parse_wait(s: &str) -> Result<Wait, String> {
    match s.trim() {
        "forever" | "inf" | "none" => Ok(Wait(None)),
        _ => parse_duration(s).map(|d| Wait(Some(d))),
    }
}

/// Milliseconds (a bare number), or a duration with a unit.
pub(super) fn parse_interval(s: &str) -> Result<Duration, String> {
    let d = match s.trim().parse::<u64>() {
        Ok(ms) => Duration::from_millis(ms),
        Err(_) => parse_duration(s)?,
    };
    if d.is_zero() {
        return Err(t!("cli.interval_zero").into_owned());
    }
    Ok(d)
}

pub(super) fn parse_on_off(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "on" | "yes" | "true" | "1" => Ok(true),
        "off" | "no" | "false" | "0" => Ok(false),
        _ => Err(t!("cli.on_off", s = s).into_owned()),
    }
}

/// Bytes: `65536`, `64K`, `1M`, `1G` (powers of 1024).
/// `--queue-limit`: a size of at least one byte (0 would drop every client at its first reply).
pub(super) fn parse_queue_limit(s: &str) -> Result<usize, String> {
    match parse_size(s)? {
        0 => Err(t!("cli.queue_zero").into_owned()),
        n => Ok(n),
    }
}

pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim().to_ascii_uppercase();
    let t = t.strip_suffix("IB").or_else(|| t.strip_suffix('B')).unwrap_or(&t);
    let (number, scale) = match t.chars().last() {
        Some('K') => (&t[..t.len() - 1], 1usize << 10),
        Some('M') => (&t[..t.len() - 1], 1 << 20),
        Some('G') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    number
        .trim()
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| t!("cli.not_a_size", s = s).into_owned())
}
