//! The reply rules panel (F3): rules as `--rule` takes them, each on or off, kept in
//! `rules.txt` beside `packets.txt`. The rules and the automatic reply (as a last `any`
//! rule) go to the running session at once, through its [`RuleSet`]: no client is closed
//! for a change.

use rust_i18n::t;
use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

use super::app::{App, Ask};
use super::settings::AutoReply;
use crate::proto::rules::{RuleSet, Rules};
use crate::render::TextEncoding;

/// One rule of the panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleLine {
    pub text: String,
    pub on: bool,
}

/// A rule turned off is kept in the file behind this mark.
const OFF: &str = "#off ";

fn path() -> Option<PathBuf> {
    super::packets::path().map(|p| p.with_file_name("rules.txt"))
}

pub fn parse(text: &str) -> Vec<RuleLine> {
    text.lines()
        .map(str::trim)
        .filter_map(|l| match l.strip_prefix(OFF) {
            Some(rule) => Some(RuleLine { text: rule.trim().into(), on: false }),
            None if l.is_empty() || l.starts_with('#') => None,
            None => Some(RuleLine { text: l.into(), on: true }),
        })
        .collect()
}

pub fn format(rules: &[RuleLine]) -> String {
    let mut out = String::from("# netassist reply rules: MATCH => REPLY, first match wins; '#off ' turns one off\n");
    for r in rules {
        out.push_str(if r.on { "" } else { OFF });
        out.push_str(&r.text);
        out.push('\n');
    }
    out
}

pub fn load() -> Vec<RuleLine> {
    path().and_then(|p| std::fs::read_to_string(p).ok()).map(|t| parse(&t)).unwrap_or_default()
}

fn save(rules: &[RuleLine]) -> Result<PathBuf, String> {
    let path = path().ok_or_else(|| t!("ui.no_config_dir").into_owned())?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(&path, format(rules)).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// What the session answers with: the rules that are on, then the automatic reply.
pub fn lines(rules: &[RuleLine], reply: &AutoReply) -> Vec<String> {
    let mut lines: Vec<String> = rules.iter().filter(|r| r.on).map(|r| r.text.clone()).collect();
    match reply {
        AutoReply::Off => {}
        AutoReply::Echo => lines.push("any => {echo}".into()),
        AutoReply::Text(t) => lines.push(format!("any => {t}")),
    }
    lines
}

/// Puts the panel's rules and the reply in force; says what is wrong when one does not parse.
pub fn apply(live: &RuleSet, rules: &[RuleLine], reply: &AutoReply, encoding: TextEncoding) -> Result<(), String> {
    live.replace(&lines(rules, reply), encoding).map(drop)
}

/// Checks one rule as typed.
pub fn check(text: &str, encoding: TextEncoding) -> Result<(), String> {
    Rules::parse(&[text.to_string()], encoding).map(drop)
}

/// A key while the panel is open.
pub fn key(app: &mut App, key: KeyEvent) {
    let at = app.rules_open.unwrap_or(0);
    let n = app.rules.len();
    match key.code {
        KeyCode::Esc | KeyCode::F(3) => app.rules_open = None,
        KeyCode::Up => app.rules_open = Some(at.saturating_sub(1)),
        KeyCode::Down => app.rules_open = Some((at + 1).min(n.saturating_sub(1))),
        KeyCode::Char('a') | KeyCode::Insert => app.ask = Some((Ask::Rule(None), String::new())),
        KeyCode::Enter | KeyCode::Char('e') if at < n => {
            app.ask = Some((Ask::Rule(Some(at)), app.rules[at].text.clone()));
        }
        KeyCode::Char(' ') if at < n => {
            app.rules[at].on = !app.rules[at].on;
            changed(app);
        }
        KeyCode::Char('d') | KeyCode::Delete if at < n => {
            app.rules.remove(at);
            app.rules_open = Some(at.min(app.rules.len().saturating_sub(1)));
            changed(app);
        }
        KeyCode::Char('+') if at > 0 && at < n => {
            app.rules.swap(at, at - 1);
            app.rules_open = Some(at - 1);
            changed(app);
        }
        _ => {}
    }
}

/// A rule typed in the question line: added (`None`) or put in place of rule `at`.
pub fn typed(app: &mut App, at: Option<usize>, text: &str) {
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    if let Err(e) = check(text, app.settings.encoding) {
        return app.say(format!("not kept: {e}"));
    }
    let rule = RuleLine { text: text.into(), on: true };
    let at = match at {
        Some(i) if i < app.rules.len() => {
            app.rules[i] = rule;
            i
        }
        _ => {
            app.rules.push(rule);
            app.rules.len() - 1
        }
    };
    app.rules_open = Some(at);
    changed(app);
}

/// After a change: saved, and in force in the running session.
fn changed(app: &mut App) {
    let saved = save(&app.rules);
    match app.apply_rules() {
        Err(e) => app.say(format!("rules not in force: {e}")),
        Ok(()) => match saved {
            Ok(path) => app.say(format!("rules in force, saved in {}", path.display())),
            Err(e) => app.say(format!("rules in force, not saved: {e}")),
        },
    }
}

pub fn draw(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let rect = super::view::centered(area, 76, (app.rules.len() as u16 + 4).clamp(6, 18));
    let cursor = app.rules_open.unwrap_or(0);
    let mut lines: Vec<Line> = app
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let style = if i == cursor { Style::new().add_modifier(Modifier::REVERSED) } else { Style::new() };
            let text = crate::render::escape::shown_name(&r.text);
            Line::styled(format!("{} {text}", if r.on { "[x]" } else { "[ ]" }), style)
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::styled(t!("ui.no_rules"), super::view::DIM));
    }
    lines.push(Line::styled(format!("then: the reply ({})", reply_shown(&app.settings.reply)), super::view::DIM));
    // Keep the cursor in view.
    let rows = rect.height.saturating_sub(2) as usize;
    let skip = (cursor + 2).saturating_sub(rows);
    let lines: Vec<Line> = lines.into_iter().skip(skip).collect();
    frame.render_widget(Clear, rect);
    let title = t!("ui.rules_title");
    frame.render_widget(Paragraph::new(lines).block(super::view::panel(title.into(), true)), rect);
}

fn reply_shown(reply: &AutoReply) -> String {
    match reply {
        AutoReply::Off => "off".into(),
        AutoReply::Echo => "echo".into(),
        AutoReply::Text(t) => crate::render::escape::shown_name(t).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_keeps_rules_on_and_off() {
        let rules = vec![
            RuleLine { text: r"text:AT\r\n => OK\r\n".into(), on: true },
            RuleLine { text: "hexprefix:01 03 => hex:01 03 04 00 0a 00 0b {crc16-modbus}".into(), on: false },
        ];
        assert_eq!(parse(&format(&rules)), rules);
        assert_eq!(parse("# a comment\n\n  any => x  \n"), vec![RuleLine { text: "any => x".into(), on: true }]);
    }

    #[test]
    fn the_reply_is_the_last_rule_and_applies_at_once() {
        let rules = vec![
            RuleLine { text: "prefix:PING => PONG".into(), on: true },
            RuleLine { text: "any => never".into(), on: false },
        ];
        let live = RuleSet::empty(TextEncoding::UTF8);
        let before = live.generation();
        apply(&live, &rules, &AutoReply::Text(r"ok\n".into()), TextEncoding::UTF8).unwrap();
        assert!(live.generation() > before, "connections see the change");
        let now = live.current();
        use crate::proto::rules::Outcome;
        assert_eq!(now.answer(b"PING"), Outcome::Reply(b"PONG".to_vec()));
        assert_eq!(now.answer(b"other"), Outcome::Reply(b"ok\n".to_vec()));
        apply(&live, &rules, &AutoReply::Echo, TextEncoding::UTF8).unwrap();
        assert_eq!(live.current().answer(b"other"), Outcome::Reply(b"other".to_vec()));
        apply(&live, &[], &AutoReply::Text("hex:01 02".into()), TextEncoding::UTF8).unwrap();
        assert_eq!(live.current().answer(b"x"), Outcome::Reply(vec![1, 2]));
        // A bad rule leaves what was in force.
        let bad = [RuleLine { text: "nonsense".into(), on: true }];
        assert!(apply(&live, &bad, &AutoReply::Off, TextEncoding::UTF8).is_err());
        assert_eq!(live.current().answer(b"x"), Outcome::Reply(vec![1, 2]));
    }
}
