//! The UI's settings: the session's role and address, encodings, views, the automatic
//! reply, framing and checksums, periodic sends; edited field by field in the settings
//! panel.

use crate::input::{Eol, StdinFormat};
use crate::proto::checksum::Checksum;
use crate::proto::frame::FrameSpec;
use crate::render::TextEncoding;
use rust_i18n::t;

/// What the session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    TcpServer,
    TcpClient,
    UdpServer,
    UdpClient,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::TcpServer, Role::TcpClient, Role::UdpServer, Role::UdpClient];

    pub fn label(self) -> String {
        match self {
            Role::TcpServer => t!("ui.role_tcp_server"),
            Role::TcpClient => t!("ui.role_tcp_client"),
            Role::UdpServer => t!("ui.role_udp_server"),
            Role::UdpClient => t!("ui.role_udp_client"),
        }
        .into_owned()
    }

    pub fn is_server(self) -> bool {
        matches!(self, Role::TcpServer | Role::UdpServer)
    }

    pub fn is_udp(self) -> bool {
        matches!(self, Role::UdpServer | Role::UdpClient)
    }
}

/// TLS for a TCP session: a client verifies the server (or, `Insecure`, does not); a server
/// makes a self-signed certificate and shows its fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    Off,
    On,
    /// A client that checks nothing of the server's certificate (a warning says so).
    Insecure,
}

/// How received messages are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvView {
    Text,
    Hex,
    /// Offset, hex and the text column, as `hexdump -C` (in the chosen encoding).
    Dump,
}

impl RecvView {
    pub fn label(self) -> &'static str {
        match self {
            RecvView::Text => "text",
            RecvView::Hex => "hex",
            RecvView::Dump => "hexdump",
        }
    }

    /// The next view (`h` in the log, Left/Right in the settings).
    pub fn next(self, forward: bool) -> RecvView {
        match (self, forward) {
            (RecvView::Text, true) | (RecvView::Dump, false) => RecvView::Hex,
            (RecvView::Hex, true) | (RecvView::Text, false) => RecvView::Dump,
            (RecvView::Dump, true) | (RecvView::Hex, false) => RecvView::Text,
        }
    }
}

/// How a server answers what it receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutoReply {
    Off,
    Echo,
    Text(String),
}

/// The encodings offered in the settings (any other works from the command line).
pub const ENCODINGS: [&str; 10] =
    ["utf-8", "gbk", "gb18030", "big5", "shift_jis", "euc-kr", "utf-16le", "utf-16be", "latin1", "ascii"];

#[derive(Debug, Clone)]
pub struct Settings {
    pub role: Role,
    /// For a server the address to bind (empty: every interface); for a client the host.
    pub address: String,
    pub port: String,
    pub encoding: TextEncoding,
    /// How received bytes are shown.
    pub recv: RecvView,
    pub timestamps: bool,
    pub reply: AutoReply,
    /// What the send box holds: text, text with escapes (`\r \n \xHH`), or hex.
    pub send_as: StdinFormat,
    pub eol: Eol,
    /// Send the send box again every this many milliseconds (NetAssist's 定时发送).
    pub interval_ms: Option<u64>,
    /// How many times (none: until stopped).
    pub count: Option<u64>,
    /// Where a received message ends (`--frame`).
    pub frame: FrameSpec,
    /// Appended to what is sent and to replies (`--checksum`).
    pub checksum: Option<Checksum>,
    /// Checked on what is received (`--verify`).
    pub verify: Option<Checksum>,
    /// A TCP client connects again when the connection fails or the server ends it.
    pub reconnect: bool,
    pub tls: TlsMode,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            role: Role::TcpServer,
            address: String::new(),
            port: "9090".into(),
            encoding: TextEncoding::UTF8,
            recv: RecvView::Text,
            timestamps: true,
            reply: AutoReply::Off,
            send_as: StdinFormat::Text,
            eol: Eol::None,
            interval_ms: None,
            count: None,
            frame: FrameSpec::Raw,
            checksum: None,
            verify: None,
            reconnect: false,
            tls: TlsMode::Off,
        }
    }
}

/// The rows of the settings panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Role,
    Address,
    Port,
    Tls,
    Encoding,
    Receive,
    Timestamps,
    Reply,
    Retry,
    Frame,
    Verify,
    SendAs,
    LineEnd,
    Checksum,
    Interval,
    Count,
}

impl Field {
    pub const ALL: [Field; 16] = [
        Field::Role,
        Field::Address,
        Field::Port,
        Field::Tls,
        Field::Encoding,
        Field::Receive,
        Field::Timestamps,
        Field::Reply,
        Field::Retry,
        Field::Frame,
        Field::Verify,
        Field::SendAs,
        Field::LineEnd,
        Field::Checksum,
        Field::Interval,
        Field::Count,
    ];

    pub fn label(self) -> String {
        match self {
            Field::Role => t!("ui.field_mode"),
            Field::Address => t!("ui.field_addr"),
            Field::Port => t!("ui.field_port"),
            Field::Encoding => t!("ui.field_enc"),
            Field::Receive => t!("ui.field_recv"),
            Field::Timestamps => t!("ui.field_time"),
            Field::Reply => t!("ui.field_reply"),
            Field::Retry => t!("ui.field_retry"),
            Field::Tls => "TLS".into(),
            Field::Frame => t!("ui.field_frame"),
            Field::Verify => t!("ui.field_check"),
            Field::Checksum => t!("ui.field_sum"),
            Field::SendAs => t!("ui.field_send"),
            Field::LineEnd => t!("ui.field_eol"),
            Field::Interval => t!("ui.field_every"),
            Field::Count => t!("ui.field_times"),
        }
        .into_owned()
    }

    /// Fields typed in (the others cycle through their values).
    pub fn is_text(self) -> bool {
        matches!(
            self,
            Field::Address
                | Field::Port
                | Field::Reply
                | Field::Frame
                | Field::Verify
                | Field::Checksum
                | Field::Interval
                | Field::Count
        )
    }
}

impl Settings {
    pub fn value(&self, field: Field) -> String {
        match field {
            Field::Role => self.role.label(),
            Field::Address if self.address.is_empty() && self.role.is_server() => "(all)".into(),
            Field::Address => self.address.clone(),
            Field::Port => self.port.clone(),
            Field::Encoding => self.encoding.name().into(),
            Field::Receive => self.recv.label().into(),
            Field::Timestamps => if self.timestamps { "on" } else { "off" }.into(),
            Field::Reply => match &self.reply {
                AutoReply::Off => "off".into(),
                AutoReply::Echo => "echo".into(),
                AutoReply::Text(t) => t.clone(),
            },
            Field::Tls if self.role.is_udp() => "-".into(),
            Field::Tls => match (self.tls, self.role.is_server()) {
                (TlsMode::Off, _) => "off",
                (_, true) => "self-signed",
                (TlsMode::On, false) => "on (verify)",
                (TlsMode::Insecure, false) => "insecure",
            }
            .into(),
            Field::Retry if self.role != Role::TcpClient => "-".into(),
            Field::Retry => if self.reconnect { "on" } else { "off" }.into(),
            Field::Frame => self.frame.to_string(),
            Field::Verify => self.verify.as_ref().map_or("off".into(), |c| c.to_string()),
            Field::Checksum => self.checksum.as_ref().map_or("off".into(), |c| c.to_string()),
            Field::SendAs => send_as_label(self.send_as).into(),
            Field::LineEnd => match self.eol {
                Eol::None => "none",
                Eol::Lf => "LF",
                Eol::Crlf => "CRLF",
                Eol::Cr => "CR",
            }
            .into(),
            Field::Interval => self.interval_ms.map_or("off".into(), |ms| format!("{ms} ms")),
            Field::Count => self.count.map_or("no limit".into(), |n| n.to_string()),
        }
    }

    /// Moves a cycling field to its next (or previous) value.
    pub fn cycle(&mut self, field: Field, forward: bool) {
        let step = |i: usize, n: usize| if forward { (i + 1) % n } else { (i + n - 1) % n };
        match field {
            Field::Role => {
                let i = Role::ALL.iter().position(|r| *r == self.role).unwrap_or(0);
                self.role = Role::ALL[step(i, Role::ALL.len())];
            }
            Field::Encoding => {
                let i = ENCODINGS.iter().position(|e| *e == self.encoding.name()).unwrap_or(0);
                self.encoding = TextEncoding::from_name(ENCODINGS[step(i, ENCODINGS.len())]).expect("a known encoding");
            }
            Field::Receive => self.recv = self.recv.next(forward),
            Field::Timestamps => self.timestamps = !self.timestamps,
            Field::Retry => self.reconnect = !self.reconnect,
            Field::Tls => {
                self.tls = match (self.tls, self.role.is_server()) {
                    (TlsMode::Off, _) => TlsMode::On,
                    (TlsMode::On, false) => TlsMode::Insecure,
                    _ => TlsMode::Off,
                }
            }
            Field::SendAs => self.send_as = next_send_as(self.send_as, forward),
            Field::LineEnd => {
                let all = [Eol::None, Eol::Lf, Eol::Crlf, Eol::Cr];
                let i = all.iter().position(|e| *e == self.eol).unwrap_or(0);
                self.eol = all[step(i, all.len())];
            }
            Field::Reply => {
                self.reply = match (&self.reply, forward) {
                    (AutoReply::Off, true) | (AutoReply::Text(_), false) => AutoReply::Echo,
                    (AutoReply::Echo, true) => AutoReply::Text("ok".into()),
                    (AutoReply::Echo, false) | (AutoReply::Text(_), true) => AutoReply::Off,
                    (AutoReply::Off, false) => AutoReply::Text("ok".into()),
                };
            }
            _ => {}
        }
    }

    /// Sets a typed field; returns why the text is not acceptable.
    pub fn set_text(&mut self, field: Field, text: &str) -> Result<(), String> {
        let text = text.trim();
        match field {
            Field::Address => self.address = text.into(),
            Field::Port => {
                crate::cli::parse_port(text)?;
                self.port = text.into();
            }
            Field::Reply => {
                self.reply = match text {
                    "" | "off" => AutoReply::Off,
                    "echo" => AutoReply::Echo,
                    t => AutoReply::Text(t.into()),
                }
            }
            Field::Frame => self.frame = FrameSpec::parse(if text.is_empty() { "raw" } else { text })?,
            Field::Verify => self.verify = checksum(text)?,
            Field::Checksum => self.checksum = checksum(text)?,
            Field::Interval => {
                self.interval_ms = match text {
                    "" | "off" | "0" => None,
                    t => Some(
                        t.trim_end_matches("ms")
                            .trim()
                            .parse()
                            .map_err(|_| format!("'{t}' is not a number of milliseconds"))?,
                    ),
                }
            }
            Field::Count => {
                self.count = match text {
                    "" | "0" | "no limit" => None,
                    t => Some(t.parse().map_err(|_| format!("'{t}' is not a count"))?),
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// `off` (or nothing), or a checksum name (`crc16-modbus`, `sum8:le`).
fn checksum(text: &str) -> Result<Option<Checksum>, String> {
    match text {
        "" | "off" => Ok(None),
        name => Checksum::parse(name).map(Some),
    }
}

/// The send box's mode as the settings show it.
pub fn send_as_label(format: StdinFormat) -> &'static str {
    match format {
        StdinFormat::Text => "text",
        StdinFormat::Escapes => "escapes",
        StdinFormat::Hex => "hex",
    }
}

/// The next send mode (F4, or Left/Right in the settings): text, escapes, hex.
pub fn next_send_as(format: StdinFormat, forward: bool) -> StdinFormat {
    let all = [StdinFormat::Text, StdinFormat::Escapes, StdinFormat::Hex];
    let i = all.iter().position(|f| *f == format).unwrap_or(0);
    all[if forward { (i + 1) % 3 } else { (i + 2) % 3 }]
}
