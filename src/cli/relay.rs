//! `relay`'s arguments.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::parse::*;
use super::*;
use crate::render::TextEncoding;
use crate::sink::human::Show;

#[derive(Debug, Args)]
pub struct RelayArgs {
    /// Port to listen on for clients (0: the OS picks one), or unix:PATH, unix:@NAME
    #[arg(value_name = "LISTEN_PORT", value_parser = parse_listen_on)]
    pub listen_port: ListenOn,

    /// Where to forward clients: a name or an IP address (HOST:PORT works too), or unix:PATH
    #[arg(required_unless_present_any = ["socks5", "http_proxy"], conflicts_with_all = ["socks5", "http_proxy"])]
    pub target_host: Option<String>,

    /// The target's port
    #[arg(value_parser = parse_port)]
    pub target_port: Option<u16>,

    /// Be a SOCKS5 proxy: each client names its target (CONNECT, with or without a password)
    #[arg(long, conflicts_with_all = ["http_proxy", "udp", "tls_target"])]
    pub socks5: bool,

    /// Be an HTTP proxy: CONNECT, and plain requests with an absolute URI
    #[arg(long, conflicts_with_all = ["udp", "tls_target"])]
    pub http_proxy: bool,

    /// With --socks5 or --http-proxy: where clients may go (repeatable): a network
    /// (127.0.0.0/8), an address, or HOST:PORT. Default: anywhere but loopback and private
    /// addresses
    #[arg(long, value_name = "CIDR|HOST:PORT")]
    pub allow_target: Vec<String>,

    /// Listen on this address only (default: every interface, IPv4 and IPv6)
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,

    /// How many connections may wait to be accepted
    #[arg(long, value_name = "N", default_value_t = 128)]
    pub backlog: u32,

    /// Relay at most N clients at once; one more is closed at once and a line says so
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_conn: Option<u64>,

    /// Close a relayed connection after this long without data either way (UDP: forget
    /// the client; default 60s)
    #[arg(long, value_name = "SECS", value_parser = parse_duration)]
    pub idle_timeout: Option<Duration>,

    /// Give up connecting to the target after this long
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_duration)]
    pub connect_timeout: Duration,

    /// When the target is not up, keep the client and try again every SECS (socat's retry)
    #[arg(long, value_name = "SECS", value_parser = parse_duration)]
    pub retry: Option<Duration>,

    /// At a graceful stop, how long bytes already read from one side may take to reach the
    /// other before both get FIN; what is left is counted and named (e.g. 2, 500ms)
    #[arg(long, value_name = "SECS", default_value = "2", value_parser = parse_duration)]
    pub drain: Duration,

    /// What to show of each chunk: only its length, or the bytes as text, hex or both
    #[arg(long, visible_alias = "show", value_enum, value_name = "HOW", default_value_t = Show::Len)]
    pub dump: Show,

    /// Show and count messages, not reads, both ways: where a message ends (line, crlf,
    /// delim:HEX, fixed:N, len:..., modbus-tcp; see listen --help). The bytes pass unchanged
    #[arg(long, value_name = "SPEC", value_parser = parse_frame)]
    pub frame: Option<crate::proto::frame::FrameSpec>,

    /// --frame for what the client sends only (client to target)
    #[arg(long, value_name = "SPEC", value_parser = parse_frame)]
    pub frame_c2t: Option<crate::proto::frame::FrameSpec>,

    /// --frame for what the target sends only (target to client)
    #[arg(long, value_name = "SPEC", value_parser = parse_frame)]
    pub frame_t2c: Option<crate::proto::frame::FrameSpec>,

    /// A message longer than this without its end is shown raw, marked (e.g. 64K, 1M)
    #[arg(long, value_name = "BYTES", default_value = "1M", value_parser = parse_max_frame)]
    pub max_frame: usize,

    /// Also write a capture file that Wireshark and tshark open
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,

    /// Relay UDP datagrams: one upstream socket per client address
    #[arg(long, conflicts_with_all = ["tls_listen", "tls_target"])]
    pub udp: bool,

    /// Speak TLS to clients (terminate it here, to read what they say): with --cert and
    /// --key, or --tls-self-signed
    #[arg(long)]
    pub tls_listen: bool,

    /// The relay's certificate chain for --tls-listen (PEM)
    #[arg(long, value_name = "FILE", requires = "tls_listen")]
    pub cert: Option<PathBuf>,

    /// The relay's private key for --tls-listen (PEM)
    #[arg(long, value_name = "FILE", requires = "tls_listen")]
    pub key: Option<PathBuf>,

    /// Make a certificate for --tls-listen at start; its fingerprint is printed
    #[arg(long, requires = "tls_listen", conflicts_with_all = ["cert", "key"])]
    pub tls_self_signed: bool,

    /// Require client certificates signed by this CA (PEM) on --tls-listen
    #[arg(long, value_name = "FILE", requires = "tls_listen")]
    pub client_ca: Option<PathBuf>,

    /// Speak TLS to the target; its certificate is checked against the system's roots
    #[arg(long)]
    pub tls_target: bool,

    /// Do not check the target's certificate
    #[arg(long, requires = "tls_target")]
    pub insecure: bool,

    /// The name to ask the target for (SNI; default: TARGET_HOST)
    #[arg(long, value_name = "NAME", requires = "tls_target")]
    pub sni: Option<String>,

    /// Trust this CA (PEM) for the target's certificate
    #[arg(long, value_name = "FILE", requires = "tls_target")]
    pub ca: Option<PathBuf>,

    /// A client certificate (PEM) to show the target
    #[arg(long, value_name = "FILE", requires_all = ["tls_target", "target_key"])]
    pub target_cert: Option<PathBuf>,

    /// Its private key (PEM)
    #[arg(long, value_name = "FILE", requires_all = ["tls_target", "target_cert"])]
    pub target_key: Option<PathBuf>,

    /// Application protocols (ALPN) to offer clients and ask the target for (repeatable)
    #[arg(long, value_name = "PROTO")]
    pub alpn: Vec<String>,

    #[command(flatten)]
    pub access: AccessArgs,

    /// Text encoding for --dump text (utf-8, gbk, big5, ...)
    #[arg(long, short = 'e', value_name = "NAME", default_value = "utf-8", value_parser = Hinted(parse_encoding, ENCODING_HINTS), hide_possible_values = true)]
    pub encoding: TextEncoding,

    /// No timestamp at the start of each line
    #[arg(long)]
    pub no_time: bool,

    /// One JSON object per event per line (dir is c2t or t2c)
    #[arg(long)]
    pub json: bool,

    /// Show at most this many bytes of each message; the rest is counted, not shown (e.g. 256, 4K)
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub max_show: Option<usize>,

    /// Break shown text after each \n, one line per row, as socat -v does (the \n marks kept)
    #[arg(long)]
    pub lines: bool,

    /// Show only what goes one way (c2t: client to target, t2c: target to client); both
    /// are still counted and captured
    #[arg(long, value_name = "DIR", value_parser = ["c2t", "t2c"], hide_possible_values = true)]
    pub only: Option<String>,

    /// Only connections opening and closing, with byte totals
    #[arg(long, short = 'q')]
    pub quiet: bool,
}
