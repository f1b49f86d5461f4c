//! What the user typed: clap types, with value parsers that turn each argument into a
//! checked value once (ports, durations, sizes, encodings). `config` builds the run.
//!
//! By concern: the command tree and its parsing here; the option groups `listen` and
//! `connect` share and their own arguments in `args`; the relay's in `relay`; bench and the
//! report commands in `tools`; value parsers in `parse`.

mod args;
mod parse;
mod relay;
mod tools;

pub use args::*;
pub use parse::*;
pub use relay::*;
pub use tools::*;

use std::path::PathBuf;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};

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

pub(super) fn ordered_sends(m: &ArgMatches) -> Vec<SendArg> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::encoding::COMMON_NAMES;
    use std::time::Duration;

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
