//! Keys and the mouse become actions on the state; what needs the outside world comes back
//! as effects. Function keys work everywhere; the rest go to the focused panel.

use crossterm::event::{Event as Term, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEventKind};
use ratatui::layout::{Position, Rect};
use rust_i18n::t;

use super::app::{App, Ask, Effect, Field, Focus, Packet, State};
use super::packets;
use super::send::packet_bytes;

const ORDER: [Focus; 4] = [Focus::Settings, Focus::Clients, Focus::Log, Focus::Send];

/// The most a file sent with F5 may hold.
const MAX_FILE: u64 = 64 << 20;

pub fn handle(app: &mut App, event: Term) -> Vec<Effect> {
    match event {
        Term::Key(key) if key.kind != KeyEventKind::Release => key_event(app, key),
        Term::Mouse(m) => {
            mouse(app, m.kind, m.column, m.row);
            Vec::new()
        }
        Term::Paste(text) if app.focus == Focus::Send => {
            app.send.insert_str(text);
            app.check_send();
            Vec::new()
        }
        _ => Vec::new(),
    }
}

fn key_event(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Char('c' | 'q') if ctrl => return vec![Effect::Quit],
        KeyCode::F(10) => return vec![Effect::Quit],
        _ => {}
    }
    if app.help {
        app.help = false;
        return Vec::new();
    }
    if app.ask.is_some() {
        return ask_key(app, key);
    }
    if app.packets_open.is_some() {
        return packets_key(app, key);
    }
    if app.rules_open.is_some() {
        super::rules::key(app, key);
        return Vec::new();
    }
    match key.code {
        KeyCode::F(1) => app.help = true,
        KeyCode::F(2) => return vec![if app.state == State::Closed { Effect::Open } else { Effect::Close }],
        KeyCode::F(3) => app.rules_open = Some(0),
        KeyCode::F(4) => {
            app.settings.send_as = super::settings::next_send_as(app.settings.send_as, true);
            app.check_send();
        }
        KeyCode::F(5) => app.ask = Some((Ask::SendFile, String::new())),
        KeyCode::F(6) => app.ask = Some((Ask::SaveLog, String::new())),
        KeyCode::F(7) => app.packets_open = Some(0),
        KeyCode::F(8) => app.reset_counters(),
        KeyCode::F(9) => app.toggle_repeat(),
        KeyCode::Tab => app.focus = ORDER[(ORDER.iter().position(|f| *f == app.focus).unwrap_or(0) + 1) % 4],
        KeyCode::BackTab => app.focus = ORDER[(ORDER.iter().position(|f| *f == app.focus).unwrap_or(0) + 3) % 4],
        _ => {
            return match app.focus {
                Focus::Send => send_key(app, key),
                Focus::Settings => {
                    settings_key(app, key);
                    Vec::new()
                }
                Focus::Clients => clients_key(app, key),
                Focus::Log => {
                    log_key(app, key);
                    Vec::new()
                }
            };
        }
    }
    Vec::new()
}

fn send_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let newline = key.modifiers.contains(KeyModifiers::ALT)
        || (key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('j'));
    match key.code {
        KeyCode::Enter if !newline => return app.send_now().into_iter().collect(),
        KeyCode::Enter | KeyCode::Char('j') if newline => app.send.insert_newline(),
        KeyCode::Up if app.send.cursor().0 == 0 => app.history_step(true),
        KeyCode::Down if app.send.cursor().0 + 1 >= app.send.lines().len() => app.history_step(false),
        KeyCode::Esc => app.focus = Focus::Log,
        // As a shell's line editor: Ctrl-U and Ctrl-K cut to the start and the end of the
        // line, Ctrl-W the word before, Ctrl-A and Ctrl-E move to the start and the end.
        KeyCode::Char('u') if ctrl => {
            app.send.delete_line_by_head();
        }
        KeyCode::Char('k') if ctrl => {
            app.send.delete_line_by_end();
        }
        KeyCode::Char('w') if ctrl => {
            app.send.delete_word();
        }
        KeyCode::Char('a') if ctrl => app.send.move_cursor(ratatui_textarea::CursorMove::Head),
        KeyCode::Char('e') if ctrl => app.send.move_cursor(ratatui_textarea::CursorMove::End),
        _ => {
            app.send.input(key);
        }
    }
    app.check_send();
    Vec::new()
}

fn settings_key(app: &mut App, key: KeyEvent) {
    let field = Field::ALL[app.field];
    let open = app.state != State::Closed;
    let changed = match key.code {
        KeyCode::Up => {
            app.field = (app.field + Field::ALL.len() - 1) % Field::ALL.len();
            false
        }
        KeyCode::Down => {
            app.field = (app.field + 1) % Field::ALL.len();
            false
        }
        KeyCode::Left | KeyCode::Right | KeyCode::Char(' ') if !field.is_text() || field == Field::Reply => {
            app.settings.cycle(field, key.code != KeyCode::Left);
            true
        }
        KeyCode::Enter if field.is_text() => {
            app.ask = Some((
                Ask::Field(field),
                app.settings.value(field).trim_start_matches('(').trim_end_matches(')').replace("all", ""),
            ));
            false
        }
        KeyCode::Enter => {
            app.settings.cycle(field, true);
            true
        }
        _ => false,
    };
    if changed {
        app.check_send();
        after_change(app, field, open);
    }
}

/// A setting changed: the reply is in force at once; what the socket or the framing is made
/// of takes a reopen.
fn after_change(app: &mut App, field: Field, open: bool) {
    match field {
        Field::Reply => match app.apply_rules() {
            Ok(()) if open => app.say(t!("ui.reply_in_force")),
            Ok(()) => {}
            Err(e) => app.say(t!("ui.reply_not_in_force", why = e)),
        },
        Field::Role | Field::Address | Field::Port | Field::Frame | Field::Verify if open => app.say(t!("ui.reopen")),
        _ => {}
    }
}

fn clients_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let n = app.clients.len();
    match key.code {
        KeyCode::Up => app.client_cursor = app.client_cursor.saturating_sub(1),
        KeyCode::Down => app.client_cursor = (app.client_cursor + 1).min(n.saturating_sub(1)),
        KeyCode::Char(' ') | KeyCode::Enter => app.toggle_selected(),
        KeyCode::Char('a') => app.select_all(),
        KeyCode::Char('k') | KeyCode::Delete => return app.kick().into_iter().collect(),
        KeyCode::Char('?') => app.help = true,
        _ => {}
    }
    Vec::new()
}

fn log_key(app: &mut App, key: KeyEvent) {
    let rows = app.log_rows.max(1);
    match key.code {
        KeyCode::Up => app.log.scroll(-1, rows),
        KeyCode::Down => app.log.scroll(1, rows),
        KeyCode::PageUp => app.log.scroll(-(rows as i64), rows),
        KeyCode::PageDown => app.log.scroll(rows as i64, rows),
        KeyCode::Home => app.log.scroll(i64::MIN / 2, rows),
        KeyCode::End => {
            app.log.paused = false;
            app.log.follow = true;
        }
        KeyCode::Char('p') => {
            app.log.paused = !app.log.paused;
            if app.log.paused {
                let first = app.log.first_shown(rows);
                app.log.top = app.log.entries.get(first).map_or(0, |e| e.seq);
                app.log.follow = false;
                app.say(t!("ui.paused"));
            } else {
                app.log.follow = true;
            }
        }
        KeyCode::Char('/') => app.ask = Some((Ask::Search, app.log.search.clone().unwrap_or_default())),
        KeyCode::Char('n') if !app.log.find_next(rows) => app.say(t!("ui.no_match")),
        KeyCode::Char('h') => app.settings.recv = app.settings.recv.next(true),
        KeyCode::Char('w') => app.log.wrap = !app.log.wrap,
        KeyCode::Char('r') => app.toggle_recv_file(),
        KeyCode::Char('b') => app.log.breaks = !app.log.breaks,
        KeyCode::Char('e') => app.take_suggestion(),
        KeyCode::Char('f') => {
            let under_cursor = app.client_ids().get(app.client_cursor).copied();
            app.log.filter = app.log.filter.next(under_cursor);
        }
        KeyCode::Left if !app.log.wrap => app.log.hscroll = app.log.hscroll.saturating_sub(8),
        KeyCode::Right if !app.log.wrap => app.log.hscroll += 8,
        KeyCode::Char('c') => app.log.clear(),
        KeyCode::Char('?') => app.help = true,
        _ => {}
    }
}

fn ask_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let Some((ask, mut text)) = app.ask.take() else { return Vec::new() };
    match key.code {
        KeyCode::Esc => return Vec::new(),
        KeyCode::Enter => return answer(app, ask, text),
        KeyCode::Backspace => {
            text.pop();
        }
        // Ctrl-U empties the line, as in a shell.
        KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => text.clear(),
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => text.push(c),
        _ => {}
    }
    app.ask = Some((ask, text));
    Vec::new()
}

fn answer(app: &mut App, ask: Ask, text: String) -> Vec<Effect> {
    match ask {
        Ask::Field(field) => match app.settings.set_text(field, &text) {
            Err(e) => app.say(e),
            Ok(()) => after_change(app, field, app.state != State::Closed),
        },
        Ask::Search => {
            app.log.search = (!text.is_empty()).then_some(text);
            let rows = app.log_rows;
            if app.log.search.is_some() && !app.log.find_next(rows) {
                app.say(t!("ui.no_match"));
            }
        }
        Ask::SaveLog => {
            let json = text.ends_with(".json") || text.ends_with(".jsonl");
            match std::fs::write(&text, app.export(json)) {
                Ok(()) => app.say(t!("ui.saved_lines", n = app.log.entries.len(), file = text)),
                Err(e) => app.say(t!("ui.cannot_write", file = text, why = e)),
            }
        }
        Ask::SendFile => {
            let read = std::fs::metadata(&text).and_then(|m| {
                if m.len() > MAX_FILE {
                    Err(std::io::Error::other(t!("ui.file_too_big", n = m.len(), max = MAX_FILE).into_owned()))
                } else {
                    std::fs::read(&text)
                }
            });
            match read {
                Ok(bytes) if matches!(app.state, State::Open(_)) => {
                    app.say(t!("ui.sending_file", n = bytes.len(), file = text));
                    return vec![Effect::Send(app.target(), bytes.into())];
                }
                Ok(_) => app.say(t!("ui.not_open")),
                Err(e) => app.say(t!("ui.cannot_read", file = text, why = e)),
            }
        }
        Ask::PacketName => {
            let lines = app.send.lines().join("\n");
            let spec = if app.settings.send_as == crate::input::StdinFormat::Hex {
                format!("hex:{lines}")
            } else {
                let mut escaped = String::new();
                crate::render::escape::escape_text_into(&lines, &mut escaped);
                format!("text:{escaped}")
            };
            app.packets.retain(|p| p.name != text);
            app.packets.push(Packet { name: text.clone(), spec });
            match packets::save(&app.packets) {
                Ok(path) => app.say(t!("ui.saved_packet", name = text, file = path.display())),
                Err(e) => app.say(e),
            }
            app.packets_open = Some(app.packets.len() - 1);
        }
        Ask::Rule(at) => super::rules::typed(app, at, &text),
        Ask::RecvFile if text.trim().is_empty() => {}
        Ask::RecvFile => match super::capture::RecvFile::create(text.trim()) {
            Ok(file) => {
                app.say(t!("ui.receiving_to", file = file.path.display()));
                app.recv_file = Some(file);
            }
            Err(e) => app.say(e),
        },
    }
    Vec::new()
}

fn packets_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let at = app.packets_open.unwrap_or(0);
    match key.code {
        KeyCode::Esc | KeyCode::F(7) => app.packets_open = None,
        KeyCode::Up => app.packets_open = Some(at.saturating_sub(1)),
        KeyCode::Down => app.packets_open = Some((at + 1).min(app.packets.len().saturating_sub(1))),
        KeyCode::Char('s') => app.ask = Some((Ask::PacketName, String::new())),
        KeyCode::Char('d') if at < app.packets.len() => {
            app.packets.remove(at);
            if let Err(e) = packets::save(&app.packets) {
                app.say(e);
            }
            app.packets_open = Some(at.min(app.packets.len().saturating_sub(1)));
        }
        KeyCode::Enter => {
            let Some(packet) = app.packets.get(at).cloned() else { return Vec::new() };
            if !matches!(app.state, State::Open(_)) {
                app.say(t!("ui.not_open"));
                return Vec::new();
            }
            return match packet_bytes(&packet.spec, app.settings.encoding) {
                Ok(bytes) => {
                    app.say(format!("sent packet {}", packet.name));
                    vec![Effect::Send(app.target(), bytes)]
                }
                Err(e) => {
                    app.say(format!("packet {}: {e}", packet.name));
                    Vec::new()
                }
            };
        }
        _ => {}
    }
    Vec::new()
}

fn inside(r: Rect, column: u16, row: u16) -> bool {
    r.contains(Position { x: column, y: row })
}

fn mouse(app: &mut App, kind: MouseEventKind, column: u16, row: u16) {
    let a = app.areas;
    match kind {
        MouseEventKind::ScrollUp if inside(a.log, column, row) => app.log.scroll(-3, app.log_rows.max(1)),
        MouseEventKind::ScrollDown if inside(a.log, column, row) => app.log.scroll(3, app.log_rows.max(1)),
        MouseEventKind::Down(MouseButton::Left) => {
            if inside(a.settings, column, row) {
                app.focus = Focus::Settings;
                let line = row.saturating_sub(a.settings.y + 1) as usize;
                if line < Field::ALL.len() {
                    app.field = line;
                }
            } else if inside(a.clients, column, row) {
                app.focus = Focus::Clients;
                let line = row.saturating_sub(a.clients.y + 1) as usize / 2;
                if line < app.clients.len() {
                    app.client_cursor = line;
                    app.toggle_selected();
                }
            } else if inside(a.log, column, row) {
                app.focus = Focus::Log;
            } else if inside(a.send, column, row) {
                app.focus = Focus::Send;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::settings::Settings;

    fn press(app: &mut App, code: KeyCode, ctrl: bool) {
        let modifiers = if ctrl { KeyModifiers::CONTROL } else { KeyModifiers::NONE };
        key_event(app, KeyEvent::new(code, modifiers));
    }

    #[test]
    fn the_send_box_edits_as_a_shell_line() {
        let mut app = App::new(Settings::default(), 10);
        app.focus = Focus::Send;
        app.send.insert_str("AT+CSQ hello world");
        press(&mut app, KeyCode::Char('w'), true);
        assert_eq!(app.send.lines(), ["AT+CSQ hello "], "Ctrl-W cuts the word before");
        press(&mut app, KeyCode::Char('a'), true);
        press(&mut app, KeyCode::Char('k'), true);
        assert_eq!(app.send.lines(), [""], "Ctrl-A then Ctrl-K cut it all");
        app.send.insert_str("AT+RST");
        press(&mut app, KeyCode::Char('u'), true);
        assert_eq!(app.send.lines(), [""], "Ctrl-U cuts to the start, not one character");
        app.send.insert_str("ab");
        press(&mut app, KeyCode::Char('a'), true);
        press(&mut app, KeyCode::Char('x'), false);
        press(&mut app, KeyCode::Char('e'), true);
        press(&mut app, KeyCode::Char('y'), false);
        assert_eq!(app.send.lines(), ["xaby"]);
    }
}
