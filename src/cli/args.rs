//! The option groups `listen` and `connect` share, and their own arguments.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::parse::*;
use crate::input::{Eol, StdinFormat};
use crate::render::TextEncoding;
use crate::sink::human::Show;

/// What a message is and what it carries (`listen`, `connect`).
#[derive(Debug, Args)]
pub struct MessageArgs {
    /// Where a received message ends (see --help)
    #[arg(
        long,
        value_name = "SPEC",
        default_value = "raw",
        value_parser = parse_frame,
        help = "Where a received message ends: raw (each read), line, crlf, delim:HEX, fixed:N, len:SIZE[:be|le][:OFFSET][:ADJUST], modbus-tcp, idle:MS (a gap of MS ends it)"
    )]
    pub frame: crate::proto::frame::FrameSpec,

    /// A message longer than this without its end is shown raw as an error (e.g. 64K, 1M)
    #[arg(long, value_name = "BYTES", default_value = "1M", value_parser = parse_max_frame)]
    pub max_frame: usize,

    /// Append this checksum to every message sent (--send, typed lines, replies): sum8,
    /// xor8, lrc, crc8, crc16-modbus, crc16-xmodem, crc16-ccitt-false, crc16-ccitt,
    /// crc16-ibm, crc32; :be or :le sets the byte order
    #[arg(long, value_name = "ALG", value_parser = Hinted(parse_checksum, CHECKSUM_HINTS), hide_possible_values = true)]
    pub checksum: Option<crate::proto::checksum::Checksum>,

    /// Check the checksum every received message ends with, and mark it ok or BAD
    #[arg(long, value_name = "ALG", value_parser = Hinted(parse_checksum, CHECKSUM_HINTS), hide_possible_values = true)]
    pub verify: Option<crate::proto::checksum::Checksum>,

    /// Answer like the device would: 'MATCH => REPLY', checked in order before --reply
    /// (repeatable). MATCH: text:T prefix:T contains:T hex:HEX hexprefix:HEX re:REGEX any;
    /// REPLY: text or hex:HEX with {echo} {1}..{9} {counter} {time} {crc16-modbus}..., drop,
    /// close; "after MS REPLY" delays it
    #[arg(long, value_name = "RULE")]
    pub rule: Vec<String>,

    /// Rules from a file, one per line (# comments), after any --rule
    #[arg(long, value_name = "FILE")]
    pub rules: Option<std::path::PathBuf>,
}

/// How events are shown; shared by every mode.
#[derive(Debug, Args)]
pub struct ViewArgs {
    /// Text encoding, both ways: utf-8, gbk, gb18030, big5, shift_jis, euc-kr, utf-16le,
    /// utf-16be, latin1, ascii, or any WHATWG name (aliases: cp936, gb2312, utf8, sjis, ...);
    /// auto: each connection's text in the encoding its first bytes are in
    #[arg(long, short = 'e', value_name = "NAME", default_value = "utf-8", value_parser = Hinted(parse_encoding, ENCODING_HINTS), hide_possible_values = true)]
    pub encoding: TextEncoding,

    /// Show received and sent bytes as text, as a hex dump, or both
    #[arg(long, value_enum, value_name = "HOW", default_value_t = Show::Text)]
    pub show: Show,

    /// No timestamp at the start of each line
    #[arg(long)]
    pub no_time: bool,

    /// One JSON object per event per line, for scripts (see the README for the fields)
    #[arg(long)]
    pub json: bool,

    /// No line per message: connections, errors and totals only
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Show at most this many bytes of each message; the rest is counted, not shown (e.g. 256, 4K)
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub max_show: Option<usize>,

    /// Break shown text after each \n, one line per row, as socat -v does (the \n marks kept)
    #[arg(long)]
    pub lines: bool,

    /// Also write every byte received, exactly as it came, to FILE (all connections, in
    /// order of arrival)
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Socket options a learner (or a tuner) sets, and the narration of each socket step.
#[derive(Debug, Args)]
pub struct SocketArgs {
    /// Ask for this SO_SNDBUF (the socket's send buffer); what the kernel granted is printed
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub sndbuf: Option<usize>,

    /// Ask for this SO_RCVBUF (the socket's receive buffer); what the kernel granted is printed
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub rcvbuf: Option<usize>,

    /// Narrate each socket step as it happens (socket, bind, listen, accept, recv, send, close)
    #[arg(long)]
    pub explain: bool,
}

/// Who may connect.
#[derive(Debug, Args)]
pub struct AccessArgs {
    /// Accept only clients from this network (repeatable; 10.0.0.0/8, 192.168.1.7, fe80::/10)
    #[arg(long, value_name = "CIDR", value_parser = crate::access::parse_net)]
    pub allow: Vec<ipnet::IpNet>,

    /// Refuse clients from this network (repeatable; wins over --allow)
    #[arg(long, value_name = "CIDR", value_parser = crate::access::parse_net)]
    pub deny: Vec<ipnet::IpNet>,

    /// --allow networks from a file, one per line (# comments)
    #[arg(long, value_name = "FILE")]
    pub allow_file: Vec<PathBuf>,

    /// --deny networks from a file, one per line (# comments)
    #[arg(long, value_name = "FILE")]
    pub deny_file: Vec<PathBuf>,
}

/// TLS for a server (`listen --tls`).
#[derive(Debug, Args)]
pub struct ServerTlsArgs {
    /// Speak TLS to clients (with --cert and --key, or --tls-self-signed)
    #[arg(long)]
    pub tls: bool,

    /// The server's certificate chain (PEM)
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,

    /// The server's private key (PEM)
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,

    /// Make a certificate for this host's names and addresses at start (implies --tls); its
    /// SHA-256 fingerprint is printed
    #[arg(long, conflicts_with_all = ["cert", "key"])]
    pub tls_self_signed: bool,

    /// Require client certificates signed by this CA (PEM)
    #[arg(long, value_name = "FILE")]
    pub client_ca: Option<PathBuf>,

    /// Offer this application protocol (ALPN; repeatable, e.g. h2, http/1.1)
    #[arg(long, value_name = "PROTO")]
    pub alpn: Vec<String>,
}

/// TLS for a client (`connect --tls`).
#[derive(Debug, Args)]
pub struct ClientTlsArgs {
    /// Speak TLS to the server; its certificate is checked against the system's roots
    #[arg(long)]
    pub tls: bool,

    /// Do not check the server's certificate (a warning says so)
    #[arg(long, requires = "tls")]
    pub insecure: bool,

    /// Ask for this server name (SNI) and check the certificate against it (default: HOST)
    #[arg(long, value_name = "NAME", requires = "tls")]
    pub sni: Option<String>,

    /// Ask for this application protocol (ALPN; repeatable)
    #[arg(long, value_name = "PROTO", requires = "tls")]
    pub alpn: Vec<String>,

    /// Trust this CA (PEM) instead of the system's roots; a self-signed server certificate
    /// given here is trusted as itself (pinned)
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub ca: Option<PathBuf>,

    /// Trust the server certificate with this SHA-256 fingerprint (AB:CD:..., as netassist
    /// prints it; repeatable)
    #[arg(long, value_name = "SHA256", requires = "tls")]
    pub pin: Vec<String>,

    /// A client certificate (PEM), for servers that ask for one
    #[arg(long, value_name = "FILE", requires_all = ["tls", "key"])]
    pub cert: Option<PathBuf>,

    /// The client certificate's private key (PEM)
    #[arg(long, value_name = "FILE", requires_all = ["tls", "cert"])]
    pub key: Option<PathBuf>,
}

/// UDP instead of TCP, with the options datagrams have.
#[derive(Debug, Args)]
pub struct UdpArgs {
    /// UDP instead of TCP: each message is one datagram, shown with its source
    #[arg(long)]
    pub udp: bool,

    /// Allow broadcast datagrams (SO_BROADCAST), to send to an address like 192.168.1.255
    #[arg(long, requires = "udp")]
    pub broadcast: bool,

    /// The interface for multicast: a name (eth0) or one of its IPv4 addresses
    #[arg(long, value_name = "IFACE", requires = "udp")]
    pub iface: Option<String>,
}

/// How lines typed on stdin become bytes.
#[derive(Debug, Args)]
pub struct LineArgs {
    /// Line ending added to each line typed on stdin
    #[arg(long, value_enum, value_name = "END", default_value_t = Eol::Lf)]
    pub eol: Eol,

    /// How a line typed on stdin becomes bytes
    #[arg(long, value_enum, value_name = "HOW", default_value_t = StdinFormat::Text)]
    pub stdin_format: StdinFormat,
}

#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Port to listen on (0: the OS picks one, and it is printed), or unix:PATH, unix:@NAME
    #[arg(value_name = "PORT", value_parser = parse_listen_on)]
    pub port: ListenOn,

    /// Listen on this address only (default: every interface, IPv4 and IPv6)
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,

    /// How many connections may wait to be accepted (the lesson's listen(128))
    #[arg(long, value_name = "N", default_value_t = 128)]
    pub backlog: u32,

    /// Answer every message received with TEXT (escapes: \r \n \t \\ \xHH)
    #[arg(long, value_name = "TEXT", conflicts_with_all = ["echo", "reply_hex"])]
    pub reply: Option<String>,

    /// Answer every message received with these bytes (01 02 ff)
    #[arg(long, value_name = "HEX", conflicts_with = "echo")]
    pub reply_hex: Option<String>,

    /// Send back every message as it arrived
    #[arg(long)]
    pub echo: bool,

    /// Give each client a process of its own: what the client sends goes to its stdin, its
    /// stdout back to the client (words split as sh does; no shell runs)
    #[arg(long, value_name = "CMD", conflicts_with_all = ["echo", "reply", "reply_hex", "sh_exec", "udp", "ui"])]
    pub exec: Option<String>,

    /// As --exec, through /bin/sh -c LINE (pipes, redirections)
    #[arg(long, value_name = "LINE", conflicts_with_all = ["echo", "reply", "reply_hex", "udp", "ui"])]
    pub sh_exec: Option<String>,

    /// Serve at most N clients at once; one more is closed at once and a line says so
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_conn: Option<u64>,

    /// Close a client after this long without data either way (e.g. 30, 1.5, 500ms, 2m)
    #[arg(long, value_name = "SECS", value_parser = parse_duration)]
    pub idle_timeout: Option<Duration>,

    /// Bytes that may wait for a client that does not read before it is dropped (e.g. 1M)
    #[arg(long, value_name = "BYTES", default_value = "1M", value_parser = parse_queue_limit)]
    pub queue_limit: usize,

    #[command(flatten)]
    pub tls: ServerTlsArgs,

    #[command(flatten)]
    pub access: AccessArgs,

    /// Start in the terminal UI, with these options
    #[arg(long)]
    pub ui: bool,

    /// With --ui: lines the receive log keeps
    #[arg(long, value_name = "N", default_value_t = 10_000, requires = "ui")]
    pub log_lines: u64,

    #[command(flatten)]
    pub udp: UdpArgs,

    /// Join this multicast group (repeatable; IPv4 224.0.0.0/4 or IPv6 ff00::/8)
    #[arg(long, value_name = "GROUP", requires = "udp")]
    pub join: Vec<std::net::IpAddr>,

    #[command(flatten)]
    pub line: LineArgs,

    #[command(flatten)]
    pub messages: MessageArgs,

    #[command(flatten)]
    pub socket: SocketArgs,

    #[command(flatten)]
    pub view: ViewArgs,
}

/// One `--send`, `--send-hex` or `--send-file`, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendArg {
    Text(String),
    Hex(String),
    File(PathBuf),
}

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The server
    #[arg(
        value_name = "HOST",
        help = "Server: a name or an IP address (HOST:PORT and [IPv6]:PORT work too), or unix:PATH"
    )]
    pub host: String,

    /// Server port
    #[arg(value_parser = parse_port)]
    pub port: Option<u16>,

    /// Give up connecting after this long
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_duration)]
    pub connect_timeout: Duration,

    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "udp",
        help = "Connect through a proxy, which resolves the server's name: socks5://[USER:PASS@]HOST:PORT, http://HOST:PORT (CONNECT), or env (ALL_PROXY, then HTTPS_PROXY)"
    )]
    pub proxy: Option<String>,

    /// Run CMD and join it to the connection: the server's bytes go to its stdin, its stdout
    /// to the server (words split as sh does)
    #[arg(long, value_name = "CMD", conflicts_with_all = ["send", "send_hex", "send_file", "sh_exec", "udp", "ui", "reconnect"])]
    pub exec: Option<String>,

    /// As --exec, through /bin/sh -c LINE
    #[arg(long, value_name = "LINE", conflicts_with_all = ["send", "send_hex", "send_file", "udp", "ui", "reconnect"])]
    pub sh_exec: Option<String>,

    /// When the connection is refused, reset or closed by the server, connect again: after
    /// SECS (default 1), doubling to 30 s; sends start again on each new connection
    #[arg(long, value_name = "SECS", num_args = 0..=1, default_missing_value = "1", value_parser = parse_duration)]
    pub reconnect: Option<Duration>,

    /// With --reconnect: give up after this many failed attempts in a row
    #[arg(long, value_name = "N", requires = "reconnect")]
    pub retries: Option<u32>,

    /// Send TEXT (repeatable; sent in order; escapes: \r \n \t \\ \xHH)
    #[arg(long, value_name = "TEXT")]
    pub send: Vec<String>,

    /// Send these bytes (repeatable): 01 02 ff, 0102ff or 0x01,0x02
    #[arg(long, value_name = "HEX")]
    pub send_hex: Vec<String>,

    /// Send a file's bytes (repeatable; - is stdin)
    #[arg(long, value_name = "PATH")]
    pub send_file: Vec<PathBuf>,

    /// Send everything again every MS milliseconds (NetAssist's 定时发送)
    #[arg(long, value_name = "MS", value_parser = parse_interval)]
    pub interval: Option<Duration>,

    /// How many times to send (default: once; with --interval, until stopped)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// Once nothing is left to send, end after this long without data (`forever`: wait
    /// for the server to close)
    #[arg(long, value_name = "SECS", default_value = "2", value_parser = parse_wait)]
    pub wait: Wait,

    #[command(flatten)]
    pub tls: ClientTlsArgs,

    /// Start in the terminal UI, with these options
    #[arg(long)]
    pub ui: bool,

    /// With --ui: lines the receive log keeps
    #[arg(long, value_name = "N", default_value_t = 10_000, requires = "ui")]
    pub log_lines: u64,

    #[command(flatten)]
    pub udp: UdpArgs,

    /// Time to live (hop limit) of the datagrams sent, multicast or not
    #[arg(long, value_name = "N", requires = "udp", value_parser = clap::value_parser!(u32).range(1..=255))]
    pub ttl: Option<u32>,

    /// Whether multicast datagrams sent also reach listeners on this machine
    #[arg(long, value_name = "on|off", requires = "udp", value_parser = parse_on_off)]
    pub multicast_loop: Option<bool>,

    #[command(flatten)]
    pub line: LineArgs,

    #[command(flatten)]
    pub messages: MessageArgs,

    #[command(flatten)]
    pub socket: SocketArgs,

    #[command(flatten)]
    pub view: ViewArgs,

    /// The --send, --send-hex and --send-file values in command-line order.
    #[arg(skip)]
    pub sends: Vec<SendArg>,
}
