//! What the user typed: clap types, with value parsers that turn each argument into a
//! checked value once (ports, durations, sizes, encodings). `config` builds the run.

use rust_i18n::t;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::input::{Eol, StdinFormat};
use crate::render::TextEncoding;
use crate::render::encoding::COMMON_NAMES;
use crate::sink::human::Show;

#[derive(Debug, Parser)]
#[command(
    name = "netassist",
    version,
    about = "A network debugging assistant: play the other end of a TCP conversation",
    long_about = "A network debugging assistant: play the other end of a TCP conversation.\n\n\
                  `listen` is a server that serves many clients at once; `connect` is a client.\n\
                  Both show every message with its length, as text in the encoding you choose\n\
                  (UTF-8, GBK, Big5, ...) or as hex, and print JSON lines for scripts with --json.",
    after_help = "Examples (the lesson's programs):\n  \
                  netassist listen 9090 --reply 'ok，问题正在处理中...' --encoding gbk\n  \
                  netassist connect 127.0.0.1 9090 --send '你好服务端，我是客户端小黑!' --encoding gbk"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Language of the interface: zh or en (default: NETASSIST_LANG, LC_ALL, LC_MESSAGES, LANG)
    #[arg(long, global = true, value_enum, value_name = "LANG")]
    pub lang: Option<crate::lang::Lang>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Listen for TCP clients (or UDP datagrams), show what they send, answer them
    #[command(after_help = concat!(
        "Typed on stdin while it runs:\n",
        "  text          send the line to every connected client\n",
        "  @ID text      send to one client (@1,3 text: to several)\n",
        "  :list         list the connected clients with their ids\n",
        "  :kick ID      close a client\n",
        "  :quit         stop (every client gets FIN, totals are printed)\n",
        "  :help         list these\n",
        "  \\text         send a line that starts with : or @\n\n",
        "Examples:\n",
        "  netassist listen 9090\n",
        "  netassist listen 9090 --reply 'ok，问题正在处理中...' --encoding gbk\n",
        "  netassist listen 0 --echo --json\n",
        "  netassist listen 9999 --udp --echo\n",
        "  netassist listen 5000 --udp --join 239.1.2.3 --iface eth0\n\n",
        "With --udp a typed line goes to the last source a datagram came from."
    ))]
    Listen(ListenArgs),
    /// Connect to a TCP (or UDP) server, send text or bytes, show every reply
    #[command(after_help = concat!(
        "Without --send, --send-hex or --send-file, each line typed on stdin is sent; at the end\n",
        "of stdin the connection is half-closed and replies are shown until the server closes\n",
        "or --wait passes.\n\n",
        "Examples:\n",
        "  netassist connect 127.0.0.1 9090 --send '你好服务端，我是客户端小黑!' --encoding gbk\n",
        "  netassist connect localhost 9090 --send-hex '01 02 ff' --show hex\n",
        "  netassist connect 192.168.1.10 502 --send 'AT\\r\\n' --interval 1000 --count 5\n",
        "  netassist connect 127.0.0.1 9999 --udp --send-hex '01 02 03'\n",
        "  netassist connect 192.168.1.255 9999 --udp --broadcast --send hello"
    ))]
    Connect(ConnectArgs),
    /// List this machine's interfaces and addresses, as ifconfig or ip addr do
    Ip(IpArgs),
    /// Is a host there? ICMP echo as ping does it, or timed TCP connects (--tcp PORT)
    #[command(after_help = concat!(
        "ICMP needs permission: netassist tries the unprivileged ICMP socket, then a raw socket.
",
        "Where neither is allowed, --tcp PORT times TCP connects instead; a refused connect
",
        "still proves the host is up.

",
        "Examples:
",
        "  netassist ping 127.0.0.1
",
        "  netassist ping localhost -c 10 -i 0.2
",
        "  netassist ping example.com --tcp 443"
    ))]
    Ping(PingArgs),
    /// What a port number means, the services known for it, and who uses it here now
    #[command(after_help = concat!(
        "Examples:
",
        "  netassist port 8080
",
        "  netassist port http
",
        "  netassist port --free        # a port that is free now, for scripts"
    ))]
    Port(PortArgs),
    /// A TCP socket's send and receive buffers, the system's limits, and what they mean
    Buffers(BuffersArgs),
    /// Forward clients to a target and show what they say to each other (a man in the middle)
    #[command(after_help = concat!(
        "Each client gets its own connection to the target; FIN and reset are passed on.\n",
        "By default a line per chunk: time, id, direction (c->t client to target, t->c back) and\n",
        "length; --dump text|hex|both shows the bytes too.\n\n",
        "Examples:\n",
        "  netassist relay 8080 127.0.0.1 80\n",
        "  netassist relay 1883 broker.local 1883 --dump both --pcap mqtt.pcap\n",
        "  netassist relay 5353 127.0.0.1 53 --udp --dump hex"
    ))]
    Relay(RelayArgs),
    /// Load a server: round trips, streams, connection churn; every byte checked, honest latency
    #[command(after_help = concat!(
        "Against an echo server every byte that comes back is checked. For a server that answers\n",
        "something else, give --payload and --expect. With --rate the load is an open loop and\n",
        "each latency counts from when its message was due, so a stalled server shows.\n\n",
        "Examples:\n",
        "  netassist bench 127.0.0.1 9090 -c 16 -l 64 -d 10\n",
        "  netassist bench 127.0.0.1 9090 --mode stream -c 4 --window 256K\n",
        "  netassist bench 127.0.0.1 9090 --rate 20000 -c 50\n",
        "  netassist bench 127.0.0.1 9090 --payload '你好' --expect 'ok，问题正在处理中...' -e gbk"
    ))]
    Bench(BenchArgs),
    /// The NetAssist window in a terminal: settings, clients, receive log, send box, counters
    #[command(after_help = "F1 in the UI lists the keys. listen --ui and connect --ui start in it with their options.")]
    Ui(UiArgs),
    /// Compute a checksum (the calculator kept open beside NetAssist)
    #[command(after_help = concat!(
        "Algorithms: sum8, xor8, lrc, crc8, crc16-modbus, crc16-xmodem, crc16-ccitt-false,\n",
        "crc16-ccitt, crc16-ibm, crc32; :be or :le after the name sets the byte order.\n\n",
        "Examples:\n",
        "  netassist checksum crc16-modbus '01 03 00 00 00 02'     # c4 0b\n",
        "  netassist checksum sum8 --text 'AT+CSQ' -e gbk"
    ))]
    Checksum(ChecksumArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish)
    #[command(after_help = concat!(
        "Examples:\n",
        "  netassist completions bash > /etc/bash_completion.d/netassist\n",
        "  netassist completions zsh > ~/.zfunc/_netassist\n",
        "  netassist completions fish > ~/.config/fish/completions/netassist.fish"
    ))]
    Completions(CompletionsArgs),
    /// Print the man page of netassist or of one command (roff, as man reads it)
    #[command(after_help = concat!(
        "Examples:\n",
        "  netassist manpage listen | man -l -\n",
        "  netassist manpage --dir target/man"
    ))]
    Manpage(ManpageArgs),
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Merge the JSON summaries of bench runs (many processes or machines) into one result
    #[command(after_help = concat!(
        "Rounds, bytes, rates and errors are summed; percentiles come from the runs' latency\n",
        "histograms added together, never from averaged percentiles; how long the runs ran at\n",
        "once is said.\n\n",
        "Examples:\n",
        "  netassist bench merge a.json b.json c.json\n",
        "  kubectl logs -l job-name=netassist-bench | netassist bench merge -\n",
        "  parallel --nonall -S h1,h2,h3 netassist bench 10.0.0.5 9090 -d 30 --json | netassist bench merge -"
    ))]
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Files with the output of bench --json (- reads stdin); other lines are skipped
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// One JSON object (the merged summary, itself mergeable)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManpageArgs {
    /// The command whose page to print (default: netassist's own)
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
    /// Write every page (netassist.1, netassist-listen.1, ...) into this directory
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    pub dir: Option<PathBuf>,
}

/// The terminal UI's own options.
#[derive(Debug, Args)]
pub struct UiArgs {
    /// Lines the receive log keeps (older ones go)
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(10..=10_000_000))]
    pub log_lines: u64,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub then: Option<BenchCommand>,

    /// The server: a name or an IP address (HOST:PORT works too)
    #[arg(value_name = "HOST", required = true)]
    pub host: Option<String>,

    /// Its port
    #[arg(value_parser = parse_port)]
    pub port: Option<u16>,

    /// Connections (UDP: sockets) at once
    #[arg(short = 'c', long, value_name = "CONNS", default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub conns: u64,

    /// Message size in bytes
    #[arg(short = 'l', long, value_name = "LEN", default_value = "64", value_parser = parse_size)]
    pub len: usize,

    /// How long to run
    #[arg(short = 'd', long, value_name = "SECS", default_value = "5", value_parser = parse_duration)]
    pub duration: Duration,

    /// What each connection does
    #[arg(long, value_enum, default_value_t = crate::mode::bench::BenchMode::Pingpong)]
    pub mode: crate::mode::bench::BenchMode,

    /// Bytes kept in flight per connection in stream mode
    #[arg(long, value_name = "BYTES", default_value = "256K", value_parser = parse_size)]
    pub window: usize,

    /// Worker threads (each runs its share of the connections)
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub threads: u64,

    /// Open loop: this many messages per second in all; latency counts from when each was due
    #[arg(long, value_name = "MSGS_PER_SEC")]
    pub rate: Option<f64>,

    /// Open connections at this many per second (a ramp)
    #[arg(long, value_name = "PER_SEC")]
    pub connect_rate: Option<f64>,

    /// Send this text (escapes, --encoding) instead of the checked pattern
    #[arg(long, value_name = "TEXT", conflicts_with = "payload_hex")]
    pub payload: Option<String>,

    /// Send these bytes instead of the checked pattern
    #[arg(long, value_name = "HEX")]
    pub payload_hex: Option<String>,

    /// The answer the server gives to each message (default: the message itself)
    #[arg(long, value_name = "TEXT", conflicts_with = "expect_hex")]
    pub expect: Option<String>,

    /// The answer, as bytes
    #[arg(long, value_name = "HEX")]
    pub expect_hex: Option<String>,

    /// UDP datagram round trips, with loss counted
    #[arg(long)]
    pub udp: bool,

    /// How long to wait for an answer (default 5s; with --udp 200ms, then the datagram is lost)
    #[arg(long, value_name = "SECS", value_parser = parse_duration)]
    pub timeout: Option<Duration>,

    /// Text encoding of --payload and --expect
    #[arg(long, short = 'e', value_name = "NAME", default_value = "utf-8", value_parser = Hinted(parse_encoding, ENCODING_HINTS), hide_possible_values = true)]
    pub encoding: TextEncoding,

    /// JSON lines: progress each second, and the last line the summary
    #[arg(long)]
    pub json: bool,
}

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

#[derive(Debug, Args)]
pub struct IpArgs {
    /// One JSON object per interface per line
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PingArgs {
    /// A name or an IP address
    pub host: String,

    /// How many probes (0: until ctrl-c)
    #[arg(short = 'c', long, value_name = "COUNT", default_value_t = 4)]
    pub count: u64,

    /// Time between probes
    #[arg(short = 'i', long, value_name = "SECS", default_value = "1", value_parser = parse_duration)]
    pub interval: Duration,

    /// How long to wait for each reply
    #[arg(short = 'W', long, value_name = "SECS", default_value = "2", value_parser = parse_duration)]
    pub timeout: Duration,

    /// ICMP payload size in bytes
    #[arg(short = 's', long, value_name = "SIZE", default_value_t = 56, value_parser = clap::value_parser!(u16).range(0..=65000))]
    pub size: u16,

    /// Time TCP connects to this port instead of ICMP echo
    #[arg(long, value_name = "PORT", value_parser = parse_port)]
    pub tcp: Option<u16>,

    /// IPv4 only
    #[arg(short = '4', conflicts_with = "ipv6")]
    pub ipv4: bool,

    /// IPv6 only
    #[arg(short = '6')]
    pub ipv6: bool,

    /// One JSON object per probe per line; the last line is the summary
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ChecksumArgs {
    /// The algorithm
    #[arg(value_name = "ALG", value_parser = Hinted(parse_checksum, CHECKSUM_HINTS), hide_possible_values = true)]
    pub alg: crate::proto::checksum::Checksum,

    /// The bytes, in hex (01 03 00 00 00 02)
    #[arg(value_name = "HEX", required_unless_present = "text")]
    pub hex: Option<String>,

    /// Text instead of hex (escapes like \r\n work), in --encoding
    #[arg(long, value_name = "TEXT", conflicts_with = "hex")]
    pub text: Option<String>,

    /// Text encoding for --text
    #[arg(long, short = 'e', value_name = "NAME", default_value = "utf-8", value_parser = Hinted(parse_encoding, ENCODING_HINTS), hide_possible_values = true)]
    pub encoding: TextEncoding,

    /// JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PortArgs {
    /// A port number (0-65535) or a service name (http, ssh, mqtt, ...)
    #[arg(value_name = "PORT|NAME", required_unless_present = "free")]
    pub port: Option<String>,

    /// Print a port that is free now (TCP and UDP)
    #[arg(long, conflicts_with = "port")]
    pub free: bool,

    /// JSON lines
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BuffersArgs {
    /// Ask for this SO_SNDBUF and show what the kernel grants
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub sndbuf: Option<usize>,

    /// Ask for this SO_RCVBUF and show what the kernel grants
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub rcvbuf: Option<usize>,

    /// One JSON object
    #[arg(long)]
    pub json: bool,
}

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

fn parse_max_frame(s: &str) -> Result<usize, String> {
    match parse_size(s)? {
        0 => Err(t!("cli.max_frame_zero").into_owned()),
        n => Ok(n),
    }
}

fn parse_frame(s: &str) -> Result<crate::proto::frame::FrameSpec, String> {
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

const ENCODING_HINTS: &[&str] =
    &["utf-8", "gbk", "gb18030", "big5", "shift_jis", "euc-kr", "utf-16le", "utf-16be", "latin1", "ascii", "auto"];

const CHECKSUM_HINTS: &[&str] = &[
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

fn parse_checksum(s: &str) -> Result<crate::proto::checksum::Checksum, String> {
    crate::proto::checksum::Checksum::parse(s)
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

impl Cli {
    /// Parses the command line (exiting with clap's message on a usage error).
    /// Parses the command line (exiting with clap's message on a usage error), after setting
    /// the interface language from `--lang` or the environment, so `--help` is in it too.
    pub fn parse_args() -> Cli {
        let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
        let lang = crate::lang::Lang::from_args(&args)
            .unwrap_or_else(|| crate::lang::Lang::from_env(|name| std::env::var(name).ok()));
        crate::lang::set(lang);
        let command = Cli::localized_command();
        let matches = command.try_get_matches_from(args).unwrap_or_else(|e| crate::help_zh::exit(e, lang));
        let cli = Cli::from_matches(&matches).unwrap_or_else(|e| crate::help_zh::exit(e, lang));
        // JSON is the same in every language: its messages too.
        if cli.json() {
            crate::lang::set(crate::lang::Lang::En);
        }
        cli
    }

    /// The command tree with its help in the interface's language.
    pub fn localized_command() -> clap::Command {
        match crate::lang::current() {
            crate::lang::Lang::Zh => crate::help_zh::localize(Cli::command()),
            crate::lang::Lang::En => Cli::command(),
        }
    }

    /// Whether the output is JSON lines.
    pub fn json(&self) -> bool {
        match &self.command {
            Command::Listen(a) => a.view.json,
            Command::Connect(a) => a.view.json,
            Command::Ip(a) => a.json,
            Command::Ping(a) => a.json,
            Command::Port(a) => a.json,
            Command::Buffers(a) => a.json,
            Command::Relay(a) => a.json,
            Command::Bench(a) => a.json || matches!(&a.then, Some(BenchCommand::Merge(m)) if m.json),
            Command::Checksum(a) => a.json,
            Command::Ui(_) | Command::Completions(_) | Command::Manpage(_) => false,
        }
    }

    pub fn from_matches(matches: &ArgMatches) -> Result<Cli, clap::Error> {
        let mut cli = Cli::from_arg_matches(matches)?;
        if let (Command::Connect(args), Some(("connect", sub))) = (&mut cli.command, matches.subcommand()) {
            args.sends = ordered_sends(sub);
        }
        Ok(cli)
    }

    /// For tests: parse these words as a command line.
    pub fn try_parse_words<I, T>(words: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = Cli::command().try_get_matches_from(words)?;
        Cli::from_matches(&matches)
    }
}

fn ordered_sends(m: &ArgMatches) -> Vec<SendArg> {
    let mut all: Vec<(usize, SendArg)> = Vec::new();
    let mut collect = |id: &str, make: &dyn Fn(&ArgMatches, usize) -> SendArg| {
        if let Some(indices) = m.indices_of(id) {
            for (n, index) in indices.enumerate() {
                all.push((index, make(m, n)));
            }
        }
    };
    collect("send", &|m, n| {
        SendArg::Text(m.get_many::<String>("send").expect("present").nth(n).expect("in range").clone())
    });
    collect("send_hex", &|m, n| {
        SendArg::Hex(m.get_many::<String>("send_hex").expect("present").nth(n).expect("in range").clone())
    });
    collect("send_file", &|m, n| {
        SendArg::File(m.get_many::<PathBuf>("send_file").expect("present").nth(n).expect("in range").clone())
    });
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, s)| s).collect()
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

fn parse_wait(s: &str) -> Result<Wait, String> {
    match s.trim() {
        "forever" | "inf" | "none" => Ok(Wait(None)),
        _ => parse_duration(s).map(|d| Wait(Some(d))),
    }
}

/// Milliseconds (a bare number), or a duration with a unit.
fn parse_interval(s: &str) -> Result<Duration, String> {
    let d = match s.trim().parse::<u64>() {
        Ok(ms) => Duration::from_millis(ms),
        Err(_) => parse_duration(s)?,
    };
    if d.is_zero() {
        return Err(t!("cli.interval_zero").into_owned());
    }
    Ok(d)
}

fn parse_on_off(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "on" | "yes" | "true" | "1" => Ok(true),
        "off" | "no" | "false" | "0" => Ok(false),
        _ => Err(t!("cli.on_off", s = s).into_owned()),
    }
}

/// Bytes: `65536`, `64K`, `1M`, `1G` (powers of 1024).
/// `--queue-limit`: a size of at least one byte (0 would drop every client at its first reply).
fn parse_queue_limit(s: &str) -> Result<usize, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_keep_command_line_order() {
        let cli = Cli::try_parse_words([
            "netassist",
            "connect",
            "h",
            "1",
            "--send-hex",
            "01",
            "--send",
            "a",
            "--send-file",
            "f",
            "--send",
            "b",
        ])
        .unwrap();
        let Command::Connect(c) = cli.command else { panic!() };
        assert_eq!(
            c.sends,
            vec![
                SendArg::Hex("01".into()),
                SendArg::Text("a".into()),
                SendArg::File("f".into()),
                SendArg::Text("b".into())
            ]
        );
    }

    #[test]
    fn completion_hints_are_the_names_the_parsers_know() {
        let checksums: Vec<&str> = crate::proto::checksum::NAMES.iter().map(|(n, _)| *n).collect();
        assert_eq!(CHECKSUM_HINTS, checksums.as_slice());
        assert_eq!(ENCODING_HINTS.join(", "), COMMON_NAMES);
        for name in ENCODING_HINTS {
            assert!(parse_encoding(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn values_people_type() {
        assert_eq!(parse_port("65535"), Ok(65535));
        assert!(parse_port("65536").unwrap_err().contains("out of range"));
        assert!(parse_port("http").unwrap_err().contains("not a port number"));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("-1").is_err());
        assert_eq!(parse_wait("forever"), Ok(Wait(None)));
        assert_eq!(parse_interval("250"), Ok(Duration::from_millis(250)));
        assert!(parse_interval("0").is_err());
        assert_eq!(parse_size("64K"), Ok(65536));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert!(parse_size("lots").is_err());
        assert!(parse_encoding("utf-16").unwrap_err().contains("utf-16le"));
        assert!(parse_encoding("klingon").unwrap_err().contains("known: utf-8, gbk"));
    }
}
