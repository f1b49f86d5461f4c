//! `bench` (and `bench merge`), `completions`, `manpage`, `ui` and the report commands'
//! arguments.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use super::parse::*;
use crate::render::TextEncoding;

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
