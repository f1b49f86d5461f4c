//! The send box: what its text means as bytes (text in the chosen encoding with line
//! endings, or hex checked as it is typed), Enter, the history, periodic sends, and saved
//! packets' bytes.

use rust_i18n::t;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::app::{App, Effect, State};
use crate::input::{Eol, StdinFormat};
use crate::render::TextEncoding;
use crate::render::escape::text_to_bytes;
use crate::render::hex::parse_hex;

impl App {
    /// The send box's text as bytes to send, or why it cannot be: text in the chosen
    /// encoding (with its escapes turned into bytes in `escapes` mode) with the line ending
    /// after each line, or hex (exactly those bytes).
    pub fn send_bytes(&self) -> Result<Bytes, String> {
        let lines = self.send.lines();
        if self.settings.send_as == StdinFormat::Hex {
            return parse_hex(&lines.join(" ")).map(Bytes::from).map_err(|e| e.to_string());
        }
        let escapes = self.settings.send_as == StdinFormat::Escapes;
        let eol: &[u8] = match self.settings.eol {
            Eol::None => b"\n",
            other => other.bytes(),
        };
        let mut out = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(eol);
            }
            if escapes {
                out.extend(text_to_bytes(line, self.settings.encoding).map_err(|e| e.to_string())?);
            } else {
                out.extend(self.settings.encoding.encode(line).map_err(|e| e.to_string())?);
            }
        }
        out.extend_from_slice(self.settings.eol.bytes());
        Ok(Bytes::from(out))
    }

    /// Checks the send box as the user types (hex mode: a bad digit is shown at once).
    pub fn check_send(&mut self) {
        let empty = self.send.lines().iter().all(|l| l.is_empty());
        self.send_error = if empty { None } else { self.send_bytes().err() };
    }

    /// Enter in the send box: what to send, and the box is kept in the history.
    pub fn send_now(&mut self) -> Option<Effect> {
        if !matches!(self.state, State::Open(_)) {
            self.say(t!("ui.not_open"));
            return None;
        }
        match self.send_bytes() {
            Err(e) => {
                self.say(t!("notice.not_sent", why = e));
                None
            }
            Ok(bytes) => {
                let text = self.send.lines().join("\n");
                if !text.is_empty() && self.history.last() != Some(&text) {
                    self.history.push(text);
                }
                self.history_at = None;
                // Up brings it back.
                self.send = ratatui_textarea::TextArea::default();
                self.send_error = None;
                Some(Effect::Send(self.target(), bytes))
            }
        }
    }

    /// Up/Down in the send box at its first/last line: older or newer history.
    pub fn history_step(&mut self, older: bool) {
        if self.history.is_empty() {
            return;
        }
        let at = match (self.history_at, older) {
            (None, true) => self.history.len() - 1,
            (None, false) => return,
            (Some(0), true) => 0,
            (Some(i), true) => i - 1,
            (Some(i), false) if i + 1 >= self.history.len() => {
                self.history_at = None;
                self.send = ratatui_textarea::TextArea::default();
                return;
            }
            (Some(i), false) => i + 1,
        };
        self.history_at = Some(at);
        self.send = ratatui_textarea::TextArea::new(self.history[at].lines().map(String::from).collect());
        self.send.move_cursor(ratatui_textarea::CursorMove::End);
        self.check_send();
    }

    /// Periodic send: the next due time has come.
    pub fn repeat_due(&mut self, now: Instant) -> Option<Effect> {
        let (sent, due) = self.repeat?;
        if now < due {
            return None;
        }
        let every = Duration::from_millis(self.settings.interval_ms.unwrap_or(1000).max(1));
        if self.settings.count.is_some_and(|n| sent >= n) {
            self.repeat = None;
            self.say(t!("ui.periodic_done", n = sent));
            return None;
        }
        match self.send_bytes() {
            Ok(bytes) => {
                self.repeat = Some((sent + 1, due + every));
                Some(Effect::Send(self.target(), bytes))
            }
            Err(e) => {
                self.repeat = None;
                self.say(t!("ui.periodic_stopped_why", why = e));
                None
            }
        }
    }

    /// F9: starts or stops sending the send box every interval.
    pub fn toggle_repeat(&mut self) {
        if self.repeat.take().is_some() {
            self.say(t!("ui.periodic_stopped"));
            return;
        }
        match self.settings.interval_ms {
            None => self.say(t!("ui.set_interval")),
            Some(ms) => {
                self.repeat = Some((0, Instant::now()));
                let times = self
                    .settings
                    .count
                    .map_or(t!("ui.until_stopped").into_owned(), |n| t!("ui.times", n = n).into_owned());
                self.say(t!("ui.sending_every", ms = ms, times = times));
            }
        }
    }
}

/// Converts a packet's spec into bytes.
pub fn packet_bytes(spec: &str, encoding: TextEncoding) -> Result<Bytes, String> {
    if let Some(hex) = spec.strip_prefix("hex:") {
        parse_hex(hex).map(Bytes::from).map_err(|e| e.to_string())
    } else {
        let text = spec.strip_prefix("text:").unwrap_or(spec);
        crate::render::escape::text_to_bytes(text, encoding).map(Bytes::from).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Target;
    use crate::ui::app::tests::server_app;
    use crate::ui::settings::Settings;

    #[test]
    fn what_the_send_box_sends() {
        let mut app = server_app();
        app.send.insert_str("你好");
        app.settings.eol = Eol::Crlf;
        assert_eq!(app.send_bytes().unwrap(), Bytes::from_static(b"\xc4\xe3\xba\xc3\r\n"));
        app.send.insert_newline();
        app.send.insert_str("2");
        assert_eq!(app.send_bytes().unwrap(), Bytes::from_static(b"\xc4\xe3\xba\xc3\r\n2\r\n"));
        // An AT command typed with its escapes, sent with CR alone; plain text keeps them literal.
        app.send = ratatui_textarea::TextArea::new(vec![r"AT+RST\r\n\x1a".into()]);
        app.settings.eol = Eol::Cr;
        app.settings.send_as = StdinFormat::Escapes;
        assert_eq!(app.send_bytes().unwrap(), Bytes::from_static(b"AT+RST\r\n\x1a\r"));
        app.settings.send_as = StdinFormat::Text;
        assert_eq!(app.send_bytes().unwrap(), Bytes::from_static(b"AT+RST\\r\\n\\x1a\r"));
        app.settings.send_as = StdinFormat::Escapes;
        app.send = ratatui_textarea::TextArea::new(vec![r"bad \q".into()]);
        app.check_send();
        assert!(app.send_error.is_some(), "a bad escape is shown as typed");
        // Hex is checked as it is typed.
        app.send = ratatui_textarea::TextArea::default();
        app.settings.send_as = StdinFormat::Hex;
        app.send.insert_str("01 023");
        app.check_send();
        assert!(app.send_error.as_deref().unwrap().contains("odd number of hex digits"));
        app.send = ratatui_textarea::TextArea::new(vec!["01 zz".into()]);
        app.check_send();
        assert!(app.send_error.as_deref().unwrap().contains("'z' at position 4"), "{:?}", app.send_error);
        app.send = ratatui_textarea::TextArea::new(vec!["01 02 ff".into()]);
        app.check_send();
        assert_eq!(app.send_error, None);
        assert_eq!(app.send_now(), Some(Effect::Send(Target::All, Bytes::from_static(b"\x01\x02\xff"))));
        assert!(app.send.lines().iter().all(String::is_empty), "cleared after sending");
        app.history_step(true);
        assert_eq!(app.send.lines(), ["01 02 ff"]);
    }

    #[test]
    fn nothing_is_sent_while_closed() {
        let mut app = App::new(Settings::default(), 10);
        app.send.insert_str("x");
        assert_eq!(app.send_now(), None);
        assert!(app.status.as_ref().unwrap().0.contains("F2 opens"));
    }

    #[test]
    fn periodic_send_counts_and_stops() {
        let mut app = server_app();
        app.send.insert_str("tick");
        app.settings.interval_ms = Some(100);
        app.settings.count = Some(2);
        app.toggle_repeat();
        let t0 = Instant::now();
        assert!(matches!(app.repeat_due(t0), Some(Effect::Send(..))));
        assert_eq!(app.repeat_due(t0), None, "not due yet");
        assert!(matches!(app.repeat_due(t0 + Duration::from_millis(150)), Some(Effect::Send(..))));
        assert_eq!(app.repeat_due(t0 + Duration::from_secs(1)), None);
        assert_eq!(app.repeat, None, "done after two");
    }
}
