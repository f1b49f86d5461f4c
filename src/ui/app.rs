//! The UI's state and its rules, without a terminal: engine events update it, actions (from
//! keys and the mouse) change it and may ask for effects (open, close, send, kick), which
//! the event loop carries out. Everything here is tested directly.

use rust_i18n::t;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;

use crate::event::{ConnId, Dir, Event, EventKind, Proto, Side, Target, seconds};
use crate::render::TextEncoding;
use crate::render::escape::shown_name;

pub use super::log::{Entry, EntryKind, LINE_BOUND, Log};
pub use super::meter::Meter;
pub use super::settings::{AutoReply, Field, RecvView, Role, Settings};

/// What the session is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Closed,
    Opening,
    /// Open: what it is (`listening on [::]:9090`).
    Open(String),
}

/// One client (server) or peer (UDP) in the connections panel.
#[derive(Debug, Clone)]
pub struct ClientRow {
    pub peer: crate::event::Peer,
    pub since: Instant,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

/// Which panel keys go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Settings,
    Clients,
    Log,
    Send,
}

/// A question at the bottom of the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    SaveLog,
    SendFile,
    Search,
    PacketName,
    /// Editing a settings field.
    Field(Field),
    /// A reply rule: a new one, or rule N edited.
    Rule(Option<usize>),
    /// The file to receive to.
    RecvFile,
}

/// What the event loop is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Open,
    Close,
    /// To a server's clients (or a client's one connection: `Target::All`).
    Send(Target, Bytes),
    Kick(Vec<ConnId>),
    Quit,
}

/// A payload kept under a name in the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub name: String,
    /// `text:...` (with escapes) or `hex:...`, as in the file.
    pub spec: String,
}

pub struct App {
    pub settings: Settings,
    pub field: usize,
    pub focus: Focus,
    pub state: State,
    pub clients: BTreeMap<ConnId, ClientRow>,
    pub client_cursor: usize,
    pub selected: BTreeSet<ConnId>,
    pub log: Log,
    pub send: ratatui_textarea::TextArea<'static>,
    pub history: Vec<String>,
    pub history_at: Option<usize>,
    /// What is wrong with the send box (bad hex), as typed.
    pub send_error: Option<String>,
    pub meter: Meter,
    pub status: Option<(String, Instant)>,
    /// An encoding received bytes fit better than the chosen one (`e` switches to it).
    pub suggested: Option<TextEncoding>,
    /// Per connection and received direction: watching for the wrong encoding.
    guessers: std::collections::HashMap<(ConnId, Dir), crate::render::guess::Guesser>,
    pub help: bool,
    pub ask: Option<(Ask, String)>,
    pub packets: Vec<Packet>,
    /// The saved-packets list is shown, with its cursor.
    pub packets_open: Option<usize>,
    /// Reply rules (F3), and the panel's cursor when it is shown.
    pub rules: Vec<super::rules::RuleLine>,
    pub rules_open: Option<usize>,
    /// The rules in force: the panel's, then the automatic reply. The session holds the
    /// same set, so a change reaches every connection without reopening.
    pub live: std::sync::Arc<crate::proto::rules::RuleSet>,
    /// Periodic send running: sent so far, and when the next is due.
    pub repeat: Option<(u64, Instant)>,
    /// Receive to a file (`r` in the log): every byte received goes there too.
    pub recv_file: Option<super::capture::RecvFile>,
    /// Where a peer can reach the listening server (shown while no client is connected).
    pub reachable: Vec<String>,
    /// Rows of the log's window at the last draw.
    pub log_rows: usize,
    /// Where the panels were drawn, for the mouse.
    pub areas: Areas,
    pub quit: bool,
}

/// The panels' places on the screen at the last draw.
#[derive(Debug, Clone, Copy, Default)]
pub struct Areas {
    pub settings: ratatui::layout::Rect,
    pub clients: ratatui::layout::Rect,
    pub log: ratatui::layout::Rect,
    pub send: ratatui::layout::Rect,
}

impl App {
    pub fn new(settings: Settings, log_capacity: usize) -> App {
        App {
            settings,
            field: 0,
            // The send box first, so a user can answer at once.
            focus: Focus::Send,
            state: State::Closed,
            clients: BTreeMap::new(),
            client_cursor: 0,
            selected: BTreeSet::new(),
            log: Log::new(log_capacity),
            send: ratatui_textarea::TextArea::default(),
            history: Vec::new(),
            history_at: None,
            send_error: None,
            meter: Meter::new(),
            status: None,
            suggested: None,
            guessers: std::collections::HashMap::new(),
            help: false,
            ask: None,
            packets: Vec::new(),
            packets_open: None,
            rules: Vec::new(),
            rules_open: None,
            live: std::sync::Arc::new(crate::proto::rules::RuleSet::empty(TextEncoding::UTF8)),
            repeat: None,
            recv_file: None,
            reachable: Vec::new(),
            log_rows: 10,
            areas: Areas::default(),
            quit: false,
        }
    }

    /// Received bytes go to the file too, while one is open; a failure stops it, said once.
    fn receive_to_file(&mut self, bytes: &[u8]) {
        if let Some(file) = &mut self.recv_file
            && let Err(e) = file.write(bytes)
        {
            self.recv_file = None;
            self.say(e);
        }
    }

    /// `r` in the log: asks for a file, or stops writing to the one open.
    pub fn toggle_recv_file(&mut self) {
        match self.recv_file.take() {
            Some(file) => match file.finish() {
                Ok(said) | Err(said) => self.say(said),
            },
            None => self.ask = Some((Ask::RecvFile, String::new())),
        }
    }

    /// `e`: show received text in the encoding it was found to be in.
    pub fn take_suggestion(&mut self) {
        match self.suggested.take() {
            Some(encoding) => {
                self.settings.encoding = encoding;
                self.say(t!("hint.ui_switched", name = encoding.display_name()));
            }
            None => self.say(t!("hint.ui_none")),
        }
    }

    pub fn say(&mut self, text: impl Into<String>) {
        self.status = Some((text.into(), Instant::now()));
    }

    /// Takes in what the engine reports.
    pub fn on_event(&mut self, event: &Event) {
        let t = event.time;
        match &event.kind {
            EventKind::Listening { proto, addr, reachable, .. } => {
                // Where a peer can reach us: other machines' addresses first.
                let mut shown: Vec<&crate::event::Reachable> = reachable.iter().collect();
                shown.sort_by_key(|r| r.loopback);
                self.reachable = shown.iter().map(|r| crate::net::show_addr(&r.addr)).collect();
                let what = t!("ui.listening_on", addr = addr, proto = proto.as_str()).into_owned();
                // What was said before (`not open: ...`) is no longer true.
                self.status = None;
                self.log.info(t, None, what.clone());
                self.state = State::Open(what);
            }
            EventKind::Connected { id, proto, peer, local, side, tls } => {
                self.status = None;
                if *proto == Proto::Udp {
                    self.log.datagrams.insert(*id);
                }
                let (what, row) = match (side, proto) {
                    (Side::Accepted, Proto::Tcp | Proto::Unix) => {
                        (t!("ui.connected_from", peer = peer).into_owned(), true)
                    }
                    (Side::Accepted, Proto::Udp) => (t!("ui.new_source", peer = peer).into_owned(), true),
                    (Side::Initiated, _) => {
                        self.state = State::Open(if *proto == Proto::Udp {
                            t!("ui.sending_to", peer = peer, local = local).into_owned()
                        } else {
                            t!("ui.connected_to", peer = peer, local = local).into_owned()
                        });
                        (
                            t!("ui.connected_to", peer = peer, local = local).into_owned(),
                            !self.settings.role.is_server(),
                        )
                    }
                };
                let tls = tls.as_ref().map(|t| format!(" ({} {})", t.version, t.cipher)).unwrap_or_default();
                let tls = shown_name(&tls).into_owned();
                self.log.info(t, Some(*id), format!("{what}{tls}"));
                if row {
                    self.clients.insert(
                        *id,
                        ClientRow { peer: peer.clone(), since: Instant::now(), bytes_in: 0, bytes_out: 0 },
                    );
                }
            }
            EventKind::Rejected { peer, reason, turned } => self.log.error(
                t,
                None,
                t!("ui.rejected", peer = peer, why = shown_name(&format!("{reason}; {turned}"))).into_owned(),
            ),
            EventKind::Data { id, dir, bytes, .. } => {
                self.meter.count(*dir, bytes.len());
                if let Some(row) = self.clients.get_mut(id) {
                    match dir {
                        Dir::In | Dir::C2T => row.bytes_in += bytes.len() as u64,
                        Dir::Out | Dir::T2C => row.bytes_out += bytes.len() as u64,
                    }
                }
                if *dir != Dir::Out {
                    let guesser = self.guessers.entry((*id, *dir)).or_default();
                    if let Some(better) = guesser.feed(self.settings.encoding, bytes) {
                        self.suggested = Some(better);
                        self.say(t!("hint.ui", id = id, name = better.display_name()));
                    }
                }
                self.log.data(t, *id, *dir, bytes, self.settings.encoding);
                if matches!(dir, Dir::In | Dir::C2T) {
                    self.receive_to_file(bytes);
                }
            }
            EventKind::Closed { id, reason, .. } => {
                self.clients.remove(id);
                self.selected.remove(id);
                self.log.decoders.remove(&(*id, Dir::In));
                self.log.decoders.remove(&(*id, Dir::Out));
                self.guessers.retain(|(conn, _), _| conn != id);
                self.log.datagrams.remove(id);
                let line = t!("ui.closed_why", why = shown_name(&reason.to_string())).into_owned();
                if matches!(reason.code(), "reset" | "error" | "port_unreachable") {
                    self.log.error(t, Some(*id), line);
                } else {
                    self.log.info(t, Some(*id), line);
                }
                self.client_cursor = self.client_cursor.min(self.clients.len().saturating_sub(1));
            }
            EventKind::Clients(_) | EventKind::Buffers(_) | EventKind::Explain(_) => {}
            EventKind::Error { id, notice } => {
                let message = shown_name(&notice.to_string()).into_owned();
                self.log.error(t, *id, message.clone());
                self.say(format!("{}: {message}", crate::lang::error_label()));
            }
            EventKind::Note(notice) => {
                for line in notice.to_string().lines() {
                    self.log.info(t, None, line.to_string());
                }
            }
            EventKind::HalfClosed { id, .. } => self.log.info(t, Some(*id), t!("ui.fin_sent").into_owned()),
            EventKind::Stopped { .. } => {}
        }
    }

    /// The session ended (closed by the user, or it failed).
    pub fn session_ended(&mut self, why: Option<String>) {
        if let Some(why) = why {
            self.log.error(SystemTime::now(), None, why.clone());
            self.say(format!("{}: {why}", crate::lang::error_label()));
        } else {
            self.log.info(SystemTime::now(), None, t!("ui.closed").into_owned());
        }
        self.state = State::Closed;
        self.reachable.clear();
        self.clients.clear();
        self.selected.clear();
        self.repeat = None;
    }

    /// Where the send box's bytes go: the selected clients, or all of them.
    pub fn target(&self) -> Target {
        if self.settings.role.is_server() && !self.selected.is_empty() {
            Target::Ids(self.selected.iter().copied().collect())
        } else {
            Target::All
        }
    }

    pub fn target_label(&self) -> String {
        match (self.settings.role, self.target()) {
            (Role::UdpServer, Target::All) => t!("ui.last_sender").into_owned(),
            (r, Target::All) if r.is_server() => t!("ui.all_clients").into_owned(),
            (_, Target::All) => t!("ui.the_server").into_owned(),
            (_, Target::Ids(ids)) => ids.iter().map(|i| format!("#{i}")).collect::<Vec<_>>().join(","),
        }
    }

    /// The clients in the panel, in order.
    pub fn client_ids(&self) -> Vec<ConnId> {
        self.clients.keys().copied().collect()
    }

    pub fn toggle_selected(&mut self) {
        if let Some(id) = self.client_ids().get(self.client_cursor).copied()
            && !self.selected.remove(&id)
        {
            self.selected.insert(id);
        }
    }

    pub fn select_all(&mut self) {
        if self.selected.len() == self.clients.len() {
            self.selected.clear();
        } else {
            self.selected = self.clients.keys().copied().collect();
        }
    }

    /// Kicks the selected clients, or the one under the cursor.
    pub fn kick(&mut self) -> Option<Effect> {
        let ids: Vec<ConnId> = if self.selected.is_empty() {
            self.client_ids().get(self.client_cursor).copied().into_iter().collect()
        } else {
            self.selected.iter().copied().collect()
        };
        (!ids.is_empty()).then_some(Effect::Kick(ids))
    }

    pub fn reset_counters(&mut self) {
        self.meter = Meter::new();
        self.say(t!("ui.counters_reset"));
    }

    /// Puts the rules and the automatic reply in force (at once, in a running session).
    pub fn apply_rules(&self) -> Result<(), String> {
        super::rules::apply(&self.live, &self.rules, &self.settings.reply, self.settings.encoding)
    }

    pub fn uptime(&self, row: &ClientRow) -> String {
        seconds(Duration::from_secs(row.since.elapsed().as_secs()))
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::event::{CloseReason, Counters, TlsInfo};

    fn at(kind: EventKind) -> Event {
        Event { time: std::time::UNIX_EPOCH, kind }
    }

    fn peer(port: u16) -> crate::event::Peer {
        std::net::SocketAddr::from(([127, 0, 0, 1], port)).into()
    }

    pub(crate) fn server_app() -> App {
        let mut app =
            App::new(Settings { encoding: TextEncoding::from_name("gbk").unwrap(), ..Settings::default() }, 100);
        app.on_event(&at(EventKind::Listening {
            proto: Proto::Tcp,
            addr: "[::]:9090".parse().unwrap(),
            dual_stack: true,
            backlog: Some(128),
            reachable: vec![],
            relay_to: None,
        }));
        for (id, port) in [(1, 5001), (2, 5002)] {
            app.on_event(&at(EventKind::Connected {
                id,
                proto: Proto::Tcp,
                peer: peer(port),
                local: "127.0.0.1:9090".parse().unwrap(),
                side: Side::Accepted,
                tls: None::<Box<TlsInfo>>,
            }));
        }
        app
    }

    fn data(id: ConnId, dir: Dir, bytes: &[u8]) -> Event {
        at(EventKind::Data {
            id,
            peer: peer(5000 + id as u16),
            dir,
            bytes: Bytes::copy_from_slice(bytes),
            mark: crate::event::Mark::None,
        })
    }

    #[test]
    fn events_fill_the_clients_the_log_and_the_counters() {
        let mut app = server_app();
        assert_eq!(app.state, State::Open("listening on [::]:9090 (tcp)".into()));
        assert_eq!(app.client_ids(), vec![1, 2]);
        // A GBK character split across two reads prints whole, on the second line.
        let ni = [0xc4u8, 0xe3];
        app.on_event(&data(1, Dir::In, &ni[..1]));
        app.on_event(&data(1, Dir::In, &ni[1..]));
        app.on_event(&data(2, Dir::Out, b"ok\r\n"));
        let texts: Vec<&str> = app.log.entries.iter().rev().take(3).map(|e| e.text.as_str()).collect();
        assert_eq!(texts, vec!["ok\\r\\n", "你", ""]);
        assert_eq!((app.meter.totals.bytes_in, app.meter.totals.msgs_in, app.meter.totals.bytes_out), (2, 2, 4));
        assert_eq!((app.clients[&1].bytes_in, app.clients[&2].bytes_out), (2, 4));
        app.on_event(&at(EventKind::Closed {
            id: 1,
            peer: peer(5001),
            reason: CloseReason::PeerClosed,
            counters: Counters::default(),
            duration: Duration::ZERO,
        }));
        assert_eq!(app.client_ids(), vec![2]);
        app.reset_counters();
        assert_eq!(app.meter.totals, Counters::default());
    }

    #[test]
    fn a_new_encoding_applies_to_what_comes_next() {
        let mut app = server_app();
        app.on_event(&data(1, Dir::In, b"\xc4\xe3"));
        app.settings.encoding = TextEncoding::UTF8;
        app.on_event(&data(1, Dir::In, "世".as_bytes()));
        let texts: Vec<&str> = app.log.entries.iter().rev().take(2).map(|e| e.text.as_str()).collect();
        assert_eq!(texts, vec!["世", "你"]);
    }

    #[test]
    fn the_wrong_encoding_is_named_and_e_switches() {
        let mut app = App::new(Settings::default(), 100);
        let gbk = TextEncoding::from_name("gbk").unwrap();
        app.on_event(&data(1, Dir::In, &gbk.encode("你好服务端，我是客户端小黑!").unwrap()));
        assert_eq!(app.suggested, Some(gbk));
        let said = &app.status.as_ref().unwrap().0;
        assert!(said.contains("GBK") && said.contains("e (in the log)"), "{said}");
        app.take_suggestion();
        assert_eq!((app.settings.encoding, app.suggested), (gbk, None));
        app.on_event(&data(1, Dir::In, &gbk.encode("你好").unwrap()));
        assert_eq!(app.log.entries.back().unwrap().text, "你好");
        // Text that fits says nothing.
        let mut app = App::new(Settings::default(), 100);
        app.on_event(&data(1, Dir::In, "你好服务端，我是客户端小黑!".as_bytes()));
        assert_eq!((app.suggested, app.status.is_none()), (None, true));
    }

    #[test]
    fn the_log_is_a_bounded_ring() {
        let mut app = App::new(Settings::default(), 50);
        for i in 0..500u32 {
            app.on_event(&data(1, Dir::In, &i.to_be_bytes()));
        }
        assert_eq!(app.log.entries.len(), 50);
        assert_eq!(app.log.entries.front().unwrap().seq, 450);
        // Huge messages keep only their start.
        app.on_event(&data(1, Dir::In, &vec![b'a'; 100_000]));
        let last = app.log.entries.back().unwrap();
        assert_eq!(last.kind, EntryKind::Data { dir: Dir::In, len: 100_000 });
        assert!(last.held() <= LINE_BOUND, "{} bytes held by one line", last.held());
    }

    #[test]
    fn a_flood_of_big_reads_holds_at_most_the_line_bound_per_line() {
        // Reads as the engines make them: 64 KiB copies. A view of them would pin each whole.
        let read = Bytes::from(vec![0xffu8; 64 * 1024]);
        for encoding in ["utf-8", "latin1", "ascii", "gbk"] {
            let mut app = App::new(Settings::default(), 50);
            app.settings.encoding = TextEncoding::from_name(encoding).unwrap();
            for _ in 0..30 {
                app.on_event(&at(EventKind::Data {
                    id: 1,
                    peer: peer(5001),
                    dir: Dir::In,
                    bytes: read.clone(),
                    mark: crate::event::Mark::None,
                }));
                app.on_event(&data(1, Dir::In, &[b'a'; 60_000]));
            }
            assert_eq!(app.log.entries.len(), 50);
            let most = app.log.entries.iter().map(Entry::held).max().unwrap();
            assert!(most <= LINE_BOUND, "{encoding}: a line holds {most} bytes");
            // The ring's own slots (it grows by doubling) plus what each line holds.
            let slots = app.log.entries.capacity() * std::mem::size_of::<Entry>();
            assert!(app.log.held() <= slots + 50 * LINE_BOUND, "{encoding}: {} bytes", app.log.held());
            // Nothing of the reads is pinned: dropping ours leaves the log's copies alone.
            assert!(app.log.entries.iter().all(|e| e.bytes.as_ptr() != read.as_ptr()));
        }
    }

    #[test]
    fn selected_clients_are_the_target_and_can_be_kicked() {
        let mut app = server_app();
        assert_eq!(app.target_label(), "all clients");
        app.client_cursor = 1;
        app.toggle_selected();
        assert_eq!(app.target(), Target::Ids(vec![2]));
        assert_eq!(app.target_label(), "#2");
        assert_eq!(app.kick(), Some(Effect::Kick(vec![2])));
        app.select_all();
        assert_eq!(app.target(), Target::Ids(vec![1, 2]));
        app.select_all();
        assert_eq!(app.target(), Target::All);
    }

    #[test]
    fn settings_cycle_and_take_typed_values() {
        let mut s = Settings::default();
        s.cycle(Field::Role, true);
        assert_eq!(s.role, Role::TcpClient);
        s.cycle(Field::Encoding, false);
        assert_eq!(s.encoding.name(), "ascii");
        s.cycle(Field::Reply, true);
        assert_eq!(s.reply, AutoReply::Echo);
        assert!(s.set_text(Field::Port, "70000").unwrap_err().contains("out of range"));
        s.set_text(Field::Interval, "250").unwrap();
        assert_eq!(s.value(Field::Interval), "250 ms");
        s.set_text(Field::Reply, "ok\\r\\n").unwrap();
        assert_eq!(s.reply, AutoReply::Text("ok\\r\\n".into()));
    }

    #[test]
    fn search_and_scroll() {
        let mut app = App::new(Settings::default(), 100);
        for i in 0..40 {
            app.on_event(&data(1, Dir::In, format!("line {i}").as_bytes()));
        }
        app.log.scroll(-10, 10);
        assert!(!app.log.follow);
        assert_eq!(app.log.first_shown(10), 20);
        app.log.scroll(100, 10);
        assert!(app.log.follow, "scrolling to the end follows again");
        app.log.search = Some("LINE 7".into());
        assert!(app.log.find_next(10));
        assert_eq!(app.log.entries[app.log.first_shown(10)].text, "line 7");
    }

    #[test]
    fn the_log_saves_as_text_or_json_lines() {
        let mut app = server_app();
        app.on_event(&data(1, Dir::In, b"\xc4\xe3"));
        let json = app.export(true);
        let last: serde_json::Value = serde_json::from_str(json.lines().last().unwrap()).unwrap();
        assert_eq!(
            (last["event"].as_str(), last["hex"].as_str(), last["text"].as_str()),
            (Some("data"), Some("c4e3"), Some("你"))
        );
        assert!(app.export(false).lines().last().unwrap().ends_with("#1 recv 2 你"));
        // F6 saves what the view shows: no time when it is off, hex in the hex view, a dump
        // in the hexdump view, only the filter's lines.
        app.settings.timestamps = false;
        app.settings.recv = RecvView::Hex;
        assert_eq!(app.export(false).lines().last(), Some("#1 recv 2 c4 e3"));
        app.settings.recv = RecvView::Dump;
        let dump = app.export(false);
        assert!(dump.contains("\n#1 recv 2\n  0000  c4 e3 ") && dump.starts_with("listening"), "{dump:?}");
        app.log.filter = crate::ui::log::Filter::Out;
        assert_eq!(app.export(false), "", "nothing went out");
    }

    #[test]
    fn a_listening_server_says_where_peers_reach_it_and_the_status_follows_the_state() {
        let mut app = App::new(Settings::default(), 10);
        app.say("not open: F2 opens the connection (or starts the server)");
        let reach = |ip: &str, loopback| crate::event::Reachable {
            addr: format!("{ip}:9090").parse().unwrap(),
            interface: "x".into(),
            loopback,
        };
        app.on_event(&at(EventKind::Listening {
            proto: Proto::Tcp,
            addr: "[::]:9090".parse().unwrap(),
            dual_stack: true,
            backlog: None,
            reachable: vec![reach("127.0.0.1", true), reach("192.168.1.7", false)],
            relay_to: None,
        }));
        assert_eq!(app.reachable, ["192.168.1.7:9090", "127.0.0.1:9090"], "other machines' first");
        assert_eq!(app.status, None, "the stale line gives way to the state");
        app.session_ended(None);
        assert!(app.reachable.is_empty());
    }

    #[test]
    fn receive_to_file_keeps_every_byte_of_what_came_in() {
        let mut app = server_app();
        let path = std::env::temp_dir().join(format!("netassist-recv-{}.bin", std::process::id()));
        app.toggle_recv_file();
        assert!(matches!(app.ask, Some((Ask::RecvFile, _))));
        app.ask = None;
        app.recv_file = Some(super::super::capture::RecvFile::create(path.to_str().unwrap()).unwrap());
        // More than a log line keeps, in two messages; what goes out is not received.
        let big: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        app.on_event(&data(1, Dir::In, &big));
        app.on_event(&data(1, Dir::Out, b"not this"));
        app.on_event(&data(2, Dir::In, b"tail"));
        app.toggle_recv_file();
        assert!(app.recv_file.is_none());
        assert!(app.status.as_ref().unwrap().0.starts_with("10004 bytes received are in"), "{:?}", app.status);
        let mut want = big.clone();
        want.extend_from_slice(b"tail");
        assert_eq!(std::fs::read(&path).unwrap(), want);
        let _ = std::fs::remove_file(&path);
    }
}
