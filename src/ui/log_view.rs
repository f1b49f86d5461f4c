//! The receive log as drawn: each entry as text (wrapped to the panel by default, or cut
//! and scrolled sideways), as hex, or as a hexdump (offset, hex, and the text column in
//! the chosen encoding, 8 or 16 bytes a row by width). Wide (CJK) characters are never split.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use rust_i18n::t;
use unicode_width::UnicodeWidthChar;

use super::app::{App, EntryKind, Focus};
use super::log::{Entry, Filter};
use super::settings::RecvView;
use super::view::{DIM, panel};
use crate::event::Dir;
use crate::render::TextEncoding;
use crate::render::time::LocalClock;

pub fn draw_log(frame: &mut Frame<'_>, app: &mut App, area: Rect) {
    let rows = area.height.saturating_sub(2) as usize;
    let width = area.width.saturating_sub(2) as usize;
    app.log_rows = rows;
    let focused = app.focus == Focus::Log;
    let view = app.settings.recv;
    let mut title = t!("ui.log_title", view = view.label()).into_owned();
    if view == RecvView::Text && !app.log.wrap {
        title.push_str(&t!("ui.log_cut"));
    }
    title.push_str(&t!("ui.log_arrows"));
    if app.log.paused {
        title.push_str(&t!("ui.log_paused"));
    } else if !app.log.follow {
        title.push_str(&t!("ui.log_scrolled"));
    }
    if let Some(q) = &app.log.search {
        title.push_str(&t!("ui.log_search", q = q));
    }
    let filter = app.log.filter;
    if filter != Filter::All {
        title.push_str(&t!("ui.log_filter", filter = filter.label()));
    }
    let mut clock = LocalClock::default();
    let query = app.log.search.as_ref().map(|q| q.to_lowercase()).filter(|q| !q.is_empty());
    let cut = view == RecvView::Text && !app.log.wrap;
    let mut render = |e: &Entry| -> Vec<Line<'static>> {
        let line = entry_line(e, app.settings.timestamps, view, &mut clock, query.as_deref());
        let lines = if app.log.breaks && view == RecvView::Text && matches!(e.kind, EntryKind::Data { .. }) {
            at_line_ends(line)
        } else {
            vec![line]
        };
        let mut out: Vec<Line<'static>> =
            if cut { lines } else { lines.into_iter().flat_map(|l| wrap(l, width)).collect() };
        if view == RecvView::Dump && matches!(e.kind, EntryKind::Data { .. }) {
            out.extend(dump_rows(&e.bytes, width, app.settings.encoding));
        }
        out
    };
    let entries = &app.log.entries;
    let lines: Vec<Line> = if app.log.follow {
        // The newest at the bottom: entries from the end until the window is full.
        let mut tail: Vec<Line> = Vec::new();
        for e in entries.iter().rev().filter(|e| filter.passes(e)) {
            let mut mine = render(e);
            mine.append(&mut tail);
            tail = mine;
            if tail.len() >= rows {
                break;
            }
        }
        let skip = tail.len().saturating_sub(rows);
        tail.into_iter().skip(skip).collect()
    } else {
        // Scrolled back: from the top line on.
        let first = app.log.first_shown(rows);
        let mut head = Vec::new();
        for e in entries.iter().skip(first).filter(|e| filter.passes(e)) {
            head.extend(render(e));
            if head.len() >= rows {
                break;
            }
        }
        head.truncate(rows);
        head
    };
    let mut paragraph = Paragraph::new(lines).block(panel(title, focused));
    if cut {
        paragraph = paragraph.scroll((0, app.log.hscroll.min(u16::MAX as usize) as u16));
    }
    frame.render_widget(paragraph, area);
}

/// One entry as one logical line: time, id, arrow and length, then the text or hex.
fn entry_line(
    e: &Entry,
    timestamps: bool,
    view: RecvView,
    clock: &mut LocalClock,
    query: Option<&str>,
) -> Line<'static> {
    let mut spans = Vec::new();
    if timestamps {
        spans.push(Span::styled(format!("{} ", clock.format(e.time)), DIM));
    }
    if let Some(id) = e.id {
        spans.push(Span::raw(format!("#{id} ")));
    }
    let hit = query.is_some_and(|q| e.text.to_lowercase().contains(q));
    let body_style = if hit { Style::new().add_modifier(Modifier::REVERSED) } else { Style::new() };
    match &e.kind {
        EntryKind::Data { dir, len } => {
            let (arrow, color) = match dir {
                Dir::In | Dir::C2T => ("←", Color::Green),
                Dir::Out | Dir::T2C => ("→", Color::Cyan),
            };
            spans.push(Span::styled(format!("{arrow} {len} "), Style::new().fg(color)));
            let body = match view {
                RecvView::Text => e.text.clone(),
                RecvView::Hex => {
                    let mut hex = crate::render::hex::spaced(&e.bytes);
                    if e.bytes.len() < *len {
                        hex.push_str(" ...");
                    }
                    hex
                }
                // The rows below say it all.
                RecvView::Dump if e.bytes.len() < *len => format!("(the first {} bytes)", e.bytes.len()),
                RecvView::Dump => String::new(),
            };
            spans.push(Span::styled(body, body_style));
        }
        EntryKind::Info => spans.push(Span::styled(e.text.clone(), body_style.fg(Color::Yellow))),
        EntryKind::Error => spans.push(Span::styled(e.text.clone(), body_style.fg(Color::Red))),
    }
    Line::from(spans)
}

/// The line-break view: the message text (the last span, escaped) starts a new row after
/// each `\n` it shows; the `\r\n` stays visible. Continuation rows are indented under the
/// text. An escaped backslash (`\\`) followed by `n` is not a line end.
pub fn at_line_ends(line: Line<'static>) -> Vec<Line<'static>> {
    let mut spans = line.spans;
    let Some(body) = spans.pop() else { return vec![Line::from(spans)] };
    let indent: usize = spans.iter().map(|s| s.width()).sum();
    let mut pieces = Vec::new();
    let mut piece = String::new();
    let mut chars = body.content.chars().peekable();
    while let Some(c) = chars.next() {
        piece.push(c);
        if c == '\\' {
            match chars.next() {
                Some('n') => {
                    piece.push('n');
                    if chars.peek().is_some() {
                        pieces.push(std::mem::take(&mut piece));
                    }
                }
                Some(other) => piece.push(other),
                None => {}
            }
        }
    }
    pieces.push(piece);
    let mut rows = Vec::with_capacity(pieces.len());
    for (i, p) in pieces.into_iter().enumerate() {
        let mut row = if i == 0 { spans.clone() } else { vec![Span::raw(" ".repeat(indent))] };
        row.push(Span::styled(p, body.style));
        rows.push(Line::from(row));
    }
    rows
}

/// Splits a line into rows of at most `width` columns, never inside a character.
pub fn wrap(line: Line<'static>, width: usize) -> Vec<Line<'static>> {
    let width = width.max(2);
    let mut rows = Vec::new();
    let mut row: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for span in line.spans {
        let mut piece = String::new();
        for c in span.content.chars() {
            let w = c.width().unwrap_or(0);
            if used + w > width {
                if !piece.is_empty() {
                    row.push(Span::styled(std::mem::take(&mut piece), span.style));
                }
                rows.push(Line::from(std::mem::take(&mut row)));
                used = 0;
            }
            piece.push(c);
            used += w;
        }
        if !piece.is_empty() {
            row.push(Span::styled(piece, span.style));
        }
    }
    if !row.is_empty() || rows.is_empty() {
        rows.push(Line::from(row));
    }
    rows
}

/// Hexdump rows of `bytes`: 16 a row when the panel is wide enough, else 8.
pub fn dump_rows(bytes: &[u8], width: usize, encoding: TextEncoding) -> Vec<Line<'static>> {
    // "0000  " + 3 per byte + a gap + " " + the text column (a column per byte).
    let per_row = if width >= 6 + 16 * 3 + 1 + 1 + 16 { 16 } else { 8 };
    bytes
        .chunks(per_row)
        .enumerate()
        .map(|(i, chunk)| {
            let mut hex = String::with_capacity(per_row * 3 + 1);
            for j in 0..per_row {
                match chunk.get(j) {
                    Some(b) => hex.push_str(&format!("{b:02x} ")),
                    None => hex.push_str("   "),
                }
                if j + 1 == per_row / 2 {
                    hex.push(' ');
                }
            }
            Line::from(vec![
                Span::styled(format!("{:04x}  ", i * per_row), DIM),
                Span::raw(hex),
                Span::styled(text_column(chunk, encoding), Style::new().fg(Color::Yellow)),
            ])
        })
        .collect()
}

/// The text column of a row: a character where the bytes at a position are one (in the
/// chosen encoding), padded to a column per byte; a dot for a byte that is not text.
pub fn text_column(row: &[u8], encoding: TextEncoding) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < row.len() {
        let found = (1..=4.min(row.len() - i)).find_map(|k| {
            let text = encoding.decode_lossy(&row[i..i + k]);
            let mut chars = text.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if c != '\u{FFFD}' && !c.is_control() => Some((c, k)),
                _ => None,
            }
        });
        match found {
            Some((c, k)) => {
                out.push(c);
                let w = c.width().unwrap_or(1);
                out.extend(std::iter::repeat_n(' ', k.saturating_sub(w)));
                i += k;
            }
            None => {
                out.push('.');
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: &[Line<'_>]) -> Vec<String> {
        lines.iter().map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect()).collect()
    }

    #[test]
    fn wrapping_never_splits_a_wide_character() {
        let rows = wrap(Line::from(vec![Span::raw("#1 ← 6 "), Span::raw("你好世界")]), 10);
        assert_eq!(text(&rows), ["#1 ← 6 你", "好世界"]);
        for r in &rows {
            assert!(r.width() <= 10);
        }
        assert_eq!(text(&wrap(Line::from(""), 10)), [""]);
    }

    #[test]
    fn the_line_break_view_starts_a_row_after_each_line_end() {
        let line = Line::from(vec![Span::raw("#1 ← 24 "), Span::raw(r"数据1\r\n数据2\r\nC:\\new")]);
        assert_eq!(text(&at_line_ends(line)), [r"#1 ← 24 数据1\r\n", r"        数据2\r\n", r"        C:\\new"]);
        let single = Line::from(vec![Span::raw("x "), Span::raw(r"ok\n")]);
        assert_eq!(text(&at_line_ends(single)), [r"x ok\n"], "a line end at the end adds no empty row");
    }

    #[test]
    fn the_dump_shows_text_in_the_encoding() {
        let gbk = TextEncoding::from_name("gbk").unwrap();
        // 你好 in GBK, then a byte that is not text.
        assert_eq!(text_column(&[0xc4, 0xe3, 0xba, 0xc3, 0x41, 0x00], gbk), "你好A.");
        // UTF-8: three bytes, two columns, one space of padding.
        assert_eq!(text_column("中x".as_bytes(), TextEncoding::UTF8), "中 x");
        let rows = dump_rows(&(0u8..20).collect::<Vec<_>>(), 80, TextEncoding::UTF8);
        assert_eq!(rows.len(), 2, "16 a row when wide");
        assert!(text(&rows)[1].starts_with("0010  10 11 12 13"), "{:?}", text(&rows));
        assert_eq!(dump_rows(&[0; 20], 40, TextEncoding::UTF8).len(), 3, "8 a row when narrow");
    }
}
