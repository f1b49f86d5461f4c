//! Receive to a file (NetAssist's 接收转向文件): while on, every byte received is appended
//! to a file, raw and whole (not the log's 4 KiB per line), as `--output` does. And F6:
//! the log saved as it is shown.

use rust_i18n::t;
use std::io::Write;
use std::path::PathBuf;

use super::app::{App, EntryKind, RecvView};
use crate::event::Dir;

/// The file received bytes go to.
pub struct RecvFile {
    pub path: PathBuf,
    file: std::io::BufWriter<std::fs::File>,
    pub bytes: u64,
}

impl RecvFile {
    /// Opens (creates or truncates) the file.
    pub fn create(path: &str) -> Result<RecvFile, String> {
        let file = std::fs::File::create(path)
            .map_err(|e| t!("ui.cannot_write", file = path, why = crate::error::io_reason(&e)).into_owned())?;
        Ok(RecvFile { path: path.into(), file: std::io::BufWriter::new(file), bytes: 0 })
    }

    /// Appends received bytes; an error is said once by the caller, which stops.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.file.write_all(bytes).map_err(|e| self.failed(&e))?;
        self.bytes += bytes.len() as u64;
        Ok(())
    }

    /// Flushes and closes; says how much went in.
    pub fn finish(mut self) -> Result<String, String> {
        self.file.flush().map_err(|e| self.failed(&e))?;
        Ok(t!("ui.received_in", n = self.bytes, file = self.path.display()).into_owned())
    }

    fn failed(&self, e: &std::io::Error) -> String {
        t!("ui.recv_file_stopped", file = self.path.display(), why = crate::error::io_reason(e)).into_owned()
    }
}

impl App {
    /// The log as a file: lines as shown, or JSON lines (one object per entry).
    pub fn export(&self, json: bool) -> String {
        let mut out = String::new();
        let mut clock = crate::render::time::LocalClock::default();
        // What is shown: the filter's lines, with or without time, as text, hex or a dump.
        let view = self.settings.recv;
        for e in self.log.entries.iter().filter(|e| self.log.filter.passes(e)) {
            if json {
                let mut o = crate::sink::json::JsonObject::new(
                    match e.kind {
                        EntryKind::Data { .. } => "data",
                        EntryKind::Info => "info",
                        EntryKind::Error => "error",
                    },
                    e.time,
                );
                if let Some(id) = e.id {
                    o.num("id", id);
                }
                if let EntryKind::Data { dir, len } = e.kind {
                    o.str("dir", dir.as_str()).num("len", len);
                    o.str("hex", &crate::render::hex::to_hex(&e.bytes));
                }
                o.str("text", &e.text);
                out.push_str(&o.finish());
            } else {
                let mut head = Vec::new();
                if self.settings.timestamps {
                    head.push(clock.format(e.time));
                }
                if let Some(id) = e.id {
                    head.push(format!("#{id}"));
                }
                if let EntryKind::Data { dir, len } = e.kind {
                    head.push(format!("{} {len}", if matches!(dir, Dir::In | Dir::C2T) { "recv" } else { "sent" }));
                }
                out.push_str(&head.join(" "));
                let data = matches!(e.kind, EntryKind::Data { .. });
                match view {
                    RecvView::Hex if data => {
                        out.push(' ');
                        out.push_str(&crate::render::hex::spaced(&e.bytes));
                    }
                    _ if head.is_empty() => out.push_str(&e.text),
                    RecvView::Dump if data => {
                        out.push('\n');
                        crate::render::hex::dump_into(&e.bytes, "  ", &mut out);
                        out.pop();
                    }
                    _ => {
                        out.push(' ');
                        out.push_str(&e.text);
                    }
                }
            }
            out.push('\n');
        }
        out
    }
}
