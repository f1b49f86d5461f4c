//! Drawing the UI from its state: settings and connections on the left, the receive log and
//! the send box on the right, counters at the bottom; help, questions and saved packets as
//! overlays. Nothing here changes the state but the log's window height.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};
use rust_i18n::t;

use super::app::{App, Ask, Field, Focus, State};

pub(super) const DIM: Style = Style::new().fg(Color::DarkGray);

pub(super) fn panel(title: String, focused: bool) -> Block<'static> {
    let style = if focused { Style::new().fg(Color::Cyan) } else { Style::new() };
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused { BorderType::Thick } else { BorderType::Plain })
        .border_style(style)
        .title(title)
}

/// `1.2 KB`
pub fn size(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.1} KB", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", n as f64 / 1e6),
        _ => format!("{:.2} GB", n as f64 / 1e9),
    }
}

pub fn draw(frame: &mut Frame<'_>, app: &mut App) {
    let area = frame.area();
    let [main, status] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
    let left_width = (area.width / 3).clamp(26, 40);
    let [left, right] = Layout::horizontal([Constraint::Length(left_width), Constraint::Min(20)]).areas(main);
    let settings_height = Field::ALL.len() as u16 + 2;
    let [settings, clients] = Layout::vertical([Constraint::Length(settings_height), Constraint::Min(3)]).areas(left);
    let [log, send] = Layout::vertical([Constraint::Min(3), Constraint::Length(5)]).areas(right);

    app.areas = super::app::Areas { settings, clients, log, send };
    draw_settings(frame, app, settings);
    draw_clients(frame, app, clients);
    super::log_view::draw_log(frame, app, log);
    draw_send(frame, app, send);
    draw_status(frame, app, status);
    if app.packets_open.is_some() {
        draw_packets(frame, app, area);
    }
    if app.rules_open.is_some() {
        super::rules::draw(frame, app, area);
    }
    if let Some((ask, text)) = &app.ask {
        draw_ask(frame, ask, text, area);
    }
    if app.help {
        draw_help(frame, area);
    }
}

fn draw_settings(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let state = match &app.state {
        State::Closed => t!("ui.state_closed"),
        State::Opening => t!("ui.state_opening"),
        State::Open(_) => t!("ui.state_open"),
    };
    let focused = app.focus == Focus::Settings;
    let lines: Vec<Line> = Field::ALL
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let style =
                if focused && i == app.field { Style::new().add_modifier(Modifier::REVERSED) } else { Style::new() };
            let value = app.settings.value(*f);
            Line::from(vec![Span::styled(crate::render::padded(&f.label(), 6), DIM), Span::styled(value, style)])
        })
        .collect();
    let block = panel(format!(" {state} "), focused);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn draw_clients(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let focused = app.focus == Focus::Clients;
    let (n, selected) = (app.clients.len(), app.selected.len());
    let title = if app.settings.role.is_server() {
        t!("ui.clients_title", n = n, selected = selected)
    } else {
        t!("ui.connection_title", n = n, selected = selected)
    };
    let mut lines = Vec::new();
    for (i, (id, row)) in app.clients.iter().enumerate() {
        let mark = if app.selected.contains(id) { "[x]" } else { "[ ]" };
        let style = if focused && i == app.client_cursor {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new()
        };
        lines.push(Line::styled(format!("{mark}#{id} {}", row.peer), style));
        lines.push(Line::styled(
            format!("    {}↓ {}↑ {}", size(row.bytes_in), size(row.bytes_out), app.uptime(row)),
            DIM,
        ));
    }
    if lines.is_empty() && app.settings.role.is_server() {
        lines.push(Line::styled(t!("ui.no_client"), DIM));
        if matches!(app.state, State::Open(_)) && !app.reachable.is_empty() {
            lines.push(Line::styled(t!("ui.reach_at"), DIM));
            lines.extend(app.reachable.iter().map(|a| Line::raw(format!(" {a}"))));
        }
    } else if lines.is_empty() {
        lines.push(Line::styled(t!("ui.not_connected"), DIM));
    }
    // Keep the cursor's client in view.
    let rows = area.height.saturating_sub(2) as usize;
    let skip = (app.client_cursor * 2 + 2).saturating_sub(rows);
    let lines: Vec<Line> = lines.into_iter().skip(skip).collect();
    frame.render_widget(Paragraph::new(lines).block(panel(title.into_owned(), focused)), area);
}

fn draw_send(frame: &mut Frame<'_>, app: &mut App, area: Rect) {
    let focused = app.focus == Focus::Send;
    // Exactly what the bytes will be: hex adds no line end.
    let end = match app.settings.eol {
        crate::input::Eol::None => t!("ui.no_line_end").into_owned(),
        _ => format!("+ {}", app.settings.value(Field::LineEnd)),
    };
    let mut how = match app.settings.send_as {
        crate::input::StdinFormat::Hex => t!("ui.hex_no_line_end").into_owned(),
        crate::input::StdinFormat::Escapes => {
            t!("ui.with_escapes", encoding = app.settings.encoding.name(), end = end).into_owned()
        }
        crate::input::StdinFormat::Text => format!("{}, {end}", app.settings.encoding.name()),
    };
    if let Some(sum) = &app.settings.checksum {
        how.push_str(&format!(", +{sum}"));
    }
    let repeat = app
        .repeat
        .map(|(n, _)| t!("ui.every", ms = app.settings.interval_ms.unwrap_or(0), n = n).into_owned())
        .unwrap_or_default();
    let title = t!("ui.send_title", to = app.target_label(), how = how, repeat = repeat).into_owned();
    let mut block = panel(title, focused);
    if let Some(err) = &app.send_error {
        block = block
            .border_style(Style::new().fg(Color::Red))
            .title_bottom(Line::styled(format!(" {err} "), Style::new().fg(Color::Red)));
    }
    app.send.set_block(block);
    app.send.set_cursor_line_style(Style::new());
    app.send.set_cursor_style(if focused { Style::new().add_modifier(Modifier::REVERSED) } else { Style::new() });
    frame.render_widget(&app.send, area);
}

fn draw_status(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let m = &app.meter;
    let state = match (&app.status, &app.state) {
        (Some((text, at)), _) if at.elapsed().as_secs() < 5 => text.clone(),
        (_, State::Open(what)) => what.clone(),
        (_, State::Opening) => t!("ui.opening").into_owned(),
        (_, State::Closed) => t!("ui.closed").into_owned(),
    };
    let line = Line::from(vec![
        Span::styled(t!("ui.f1_help"), DIM),
        Span::styled(
            format!("RX {} ({}) {}/s ", size(m.totals.bytes_in), m.totals.msgs_in, size(m.rate_in as u64)),
            Style::new().fg(Color::Green),
        ),
        Span::styled(
            format!("TX {} ({}) {}/s ", size(m.totals.bytes_out), m.totals.msgs_out, size(m.rate_out as u64)),
            Style::new().fg(Color::Cyan),
        ),
        Span::styled(
            app.recv_file.as_ref().map(|f| format!("→ {} {} ", f.path.display(), size(f.bytes))).unwrap_or_default(),
            Style::new().fg(Color::Yellow),
        ),
        Span::raw(format!("│ {state}")),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

pub(super) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height }
}

/// The keys, as F1 shows them.
pub fn help() -> String {
    t!("ui.help").into_owned()
}

fn draw_help(frame: &mut Frame<'_>, area: Rect) {
    let help = help();
    let rect = centered(area, 76, help.lines().count() as u16 + 2);
    frame.render_widget(Clear, rect);
    let block = panel(t!("ui.keys_title").into_owned(), true);
    frame.render_widget(Paragraph::new(help).block(block).wrap(Wrap { trim: false }), rect);
}

fn draw_ask(frame: &mut Frame<'_>, ask: &Ask, text: &str, area: Rect) {
    let question = match ask {
        Ask::SaveLog => t!("ui.ask_save_log"),
        Ask::SendFile => t!("ui.ask_send_file"),
        Ask::Search => t!("ui.ask_search"),
        Ask::PacketName => t!("ui.ask_packet"),
        Ask::Field(f) => t!("ui.ask_field", field = f.label()),
        Ask::RecvFile => t!("ui.ask_recv_file"),
        Ask::Rule(_) => t!("ui.ask_rule"),
    };
    let rect = centered(area, 70, 3);
    frame.render_widget(Clear, rect);
    let line =
        Line::from(vec![Span::raw(text.to_string()), Span::styled(" ", Style::new().add_modifier(Modifier::REVERSED))]);
    frame.render_widget(Paragraph::new(line).block(panel(format!(" {question} "), true)), rect);
}

fn draw_packets(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let rect = centered(area, 60, (app.packets.len() as u16 + 4).clamp(5, 16));
    frame.render_widget(Clear, rect);
    let cursor = app.packets_open.unwrap_or(0);
    let mut lines: Vec<Line> = app
        .packets
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let style = if i == cursor { Style::new().add_modifier(Modifier::REVERSED) } else { Style::new() };
            Line::styled(format!("{:<12} {}", p.name, p.spec), style)
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::styled(t!("ui.no_packets"), DIM));
    }
    let block = panel(t!("ui.packets_title").into_owned(), true);
    frame.render_widget(Paragraph::new(lines).block(block).alignment(Alignment::Left), rect);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, EventKind, Proto, Side};
    use crate::render::TextEncoding;
    use crate::ui::app::Settings;
    use bytes::Bytes;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn screen(app: &mut App, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|f| draw(f, app)).unwrap();
        terminal.backend().to_string()
    }

    fn at(kind: EventKind) -> Event {
        Event { time: std::time::UNIX_EPOCH, kind }
    }

    /// A GBK server with two clients and some traffic; no timestamps, so screens repeat.
    fn busy_server() -> App {
        let settings =
            Settings { encoding: TextEncoding::from_name("gbk").unwrap(), timestamps: false, ..Settings::default() };
        let mut app = App::new(settings, 100);
        app.on_event(&at(EventKind::Listening {
            proto: Proto::Tcp,
            addr: "[::]:9090".parse().unwrap(),
            dual_stack: true,
            backlog: Some(128),
            reachable: vec![],
            relay_to: None,
        }));
        for (id, port) in [(1u64, 51528u16), (2, 51714)] {
            let peer = format!("127.0.0.1:{port}").parse().unwrap();
            app.on_event(&at(EventKind::Connected {
                id,
                proto: Proto::Tcp,
                peer,
                local: "127.0.0.1:9090".parse().unwrap(),
                side: Side::Accepted,
                tls: None,
            }));
        }
        let data = |id, dir, bytes: &[u8]| {
            at(EventKind::Data {
                id,
                peer: "127.0.0.1:51528".parse().unwrap(),
                dir,
                bytes: Bytes::copy_from_slice(bytes),
                mark: crate::event::Mark::None,
            })
        };
        let gbk = TextEncoding::from_name("gbk").unwrap();
        app.on_event(&data(1, crate::event::Dir::In, &gbk.encode("你好服务端，我是客户端小黑!").unwrap()));
        app.on_event(&data(1, crate::event::Dir::Out, &gbk.encode("ok，问题正在处理中...").unwrap()));
        app.on_event(&data(2, crate::event::Dir::In, b"hello2\x1b[2J"));
        app.selected.insert(2);
        app.send.insert_str("收到");
        app
    }

    #[test]
    fn closed_at_80x24() {
        let mut app = App::new(Settings { timestamps: false, ..Settings::default() }, 100);
        insta::assert_snapshot!(screen(&mut app, 80, 24));
    }

    #[test]
    fn a_busy_server_with_wide_characters() {
        let mut app = busy_server();
        insta::assert_snapshot!(screen(&mut app, 80, 24));
    }

    #[test]
    fn at_80x24_long_lines_wrap_and_the_hexdump_view() {
        let mut app = busy_server();
        // A Modbus answer that a cut line lost the registers of.
        let modbus = [0x13, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07, 0x01, 0x03, 0x04, 0x12, 0x34, 0x56, 0x78];
        app.settings.recv = crate::ui::settings::RecvView::Hex;
        app.on_event(&at(EventKind::Data {
            id: 2,
            peer: "127.0.0.1:51714".parse().unwrap(),
            dir: crate::event::Dir::In,
            bytes: Bytes::copy_from_slice(&modbus),
            mark: crate::event::Mark::None,
        }));
        let wrapped = screen(&mut app, 80, 24);
        assert!(wrapped.contains("56 78"), "the last register is on screen:\n{wrapped}");
        insta::assert_snapshot!("wrapped_hex", wrapped);
        app.settings.recv = crate::ui::settings::RecvView::Dump;
        insta::assert_snapshot!("hexdump", screen(&mut app, 80, 24));
        // Wrap off: cut, and a sideways scroll brings the end into view.
        app.settings.recv = crate::ui::settings::RecvView::Text;
        app.log.wrap = false;
        insta::assert_snapshot!("cut", screen(&mut app, 80, 24));
        // f: one client's lines, then what came in only.
        app.log.filter = crate::ui::log::Filter::All.next(Some(2));
        let only_2 = screen(&mut app, 80, 24);
        assert!(only_2.contains("#2 ← 14") && !only_2.contains("#1 ←") && only_2.contains("only #2"), "{only_2}");
        app.log.filter = app.log.filter.next(Some(2));
        let only_in = screen(&mut app, 80, 24);
        assert!(
            only_in.contains("#1 ← 27") && !only_in.contains("#1 → 21") && !only_in.contains("connected from"),
            "{only_in}"
        );
    }

    #[test]
    fn hex_view_and_a_bad_hex_send_box() {
        let mut app = busy_server();
        app.settings.recv = crate::ui::settings::RecvView::Hex;
        app.settings.send_as = crate::input::StdinFormat::Hex;
        app.send = ratatui_textarea::TextArea::new(vec!["01 0g".into()]);
        app.check_send();
        insta::assert_snapshot!(screen(&mut app, 100, 24));
    }

    #[test]
    fn help_fits_80x24() {
        let mut app = busy_server();
        app.help = true;
        insta::assert_snapshot!(screen(&mut app, 80, 24));
    }
}
