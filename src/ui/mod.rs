//! `netassist ui`: the NetAssist window in a terminal. Settings and connections on the left,
//! the receive log and the send box on the right, counters at the bottom.
//!
//! The event loop takes keys first, then engine events in bounded batches, and draws at most
//! every 33 ms and only when something changed, so a flood of data cannot make the screen
//! unresponsive; the log is a bounded ring, and the engine's event channel is bounded (a
//! UI that falls behind slows the sockets). The terminal is restored on quit, ctrl-c,
//! SIGTERM and on a panic.

pub mod app;
pub mod capture;
pub mod keys;
pub mod log;
pub mod log_view;
pub mod meter;
pub mod packets;
pub mod rules;
pub mod send;
pub mod session;
pub mod settings;
pub mod view;

use rust_i18n::t;
use std::io;
use std::time::{Duration, Instant};

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, EventStream,
};
use futures_util::StreamExt;
use ratatui::DefaultTerminal;

use self::app::{App, Effect, Settings, State};
use self::session::Session;
use crate::event::Command;
use crate::event::Events;

/// How the UI starts.
pub struct UiStart {
    pub settings: Settings,
    /// Open (listen or connect) at once, as `listen --ui` and `connect --ui` do.
    pub open: bool,
    /// Lines the log keeps.
    pub log_lines: usize,
    /// `--rule`s and the lines of `--rules FILE`: the rules panel starts with these
    /// instead of `rules.txt` (saved there only once changed).
    pub rules: Vec<String>,
}

/// The most engine events taken in one go before keys and drawing get a turn.
const BATCH: usize = 2000;
/// At most this often the screen is redrawn.
const FRAME: Duration = Duration::from_millis(33);

pub async fn run(start: UiStart) -> io::Result<()> {
    let mut terminal = ratatui::init();
    crossterm::execute!(io::stdout(), EnableMouseCapture, EnableBracketedPaste)?;
    // ratatui's hook restores the screen on a panic; mouse reporting must go too.
    let restore_screen = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = crossterm::execute!(io::stdout(), DisableMouseCapture, DisableBracketedPaste);
        restore_screen(info);
    }));
    let result = event_loop(&mut terminal, start).await;
    let _ = crossterm::execute!(io::stdout(), DisableMouseCapture, DisableBracketedPaste);
    ratatui::restore();
    result
}

async fn wait_for(session: &mut Option<Session>) -> Option<String> {
    match session {
        Some(s) => (&mut s.task).await.unwrap_or_else(|e| Some(t!("ui.session_failed", why = e).into_owned())),
        None => std::future::pending().await,
    }
}

async fn event_loop(terminal: &mut DefaultTerminal, start: UiStart) -> io::Result<()> {
    let (events, mut incoming) = Events::channel(true);
    let mut app = App::new(start.settings, start.log_lines);
    app.packets = packets::load();
    app.rules = if start.rules.is_empty() {
        rules::load()
    } else {
        start.rules.iter().map(|text| rules::RuleLine { text: text.clone(), on: true }).collect()
    };
    let mut session: Option<Session> = None;
    if start.open {
        apply(Effect::Open, &mut app, &mut session, &events);
    }
    let mut keys = EventStream::new();
    let mut frame = tokio::time::interval(FRAME);
    frame.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut dirty = true;
    let mut last_second = Instant::now();
    // For benchmarks (NETASSIST_UI_TIMING=FILE): how long from a key's arrival to the end
    // of the frame showing it; nothing is kept otherwise.
    let timing = std::env::var_os("NETASSIST_UI_TIMING");
    let mut key_waiting: Option<Instant> = None;
    let mut key_to_frame: Vec<Duration> = Vec::new();

    while !app.quit {
        let effects: Vec<Effect> = tokio::select! {
            biased;
            key = keys.next() => match key {
                Some(Ok(event)) => {
                    dirty = true;
                    if timing.is_some() {
                        key_waiting.get_or_insert_with(Instant::now);
                    }
                    keys::handle(&mut app, event)
                }
                // No terminal to read from any more.
                _ => vec![Effect::Quit],
            },
            Some(first) = incoming.recv() => {
                app.on_event(&first);
                for _ in 0..BATCH {
                    match incoming.try_recv() {
                        Some(event) => app.on_event(&event),
                        None => break,
                    }
                }
                dirty = true;
                Vec::new()
            }
            ended = wait_for(&mut session) => {
                session = None;
                app.session_ended(ended);
                dirty = true;
                Vec::new()
            }
            _ = terminate.recv() => vec![Effect::Quit],
            _ = frame.tick() => {
                let now = Instant::now();
                app.meter.tick(now);
                // Uptimes and rates change every second.
                if now.duration_since(last_second) >= Duration::from_secs(1) {
                    last_second = now;
                    dirty = true;
                }
                if dirty {
                    terminal.draw(|f| view::draw(f, &mut app))?;
                    dirty = false;
                    if let Some(at) = key_waiting.take() {
                        key_to_frame.push(at.elapsed());
                    }
                }
                app.repeat_due(now).into_iter().collect()
            }
        };
        for effect in effects {
            apply(effect, &mut app, &mut session, &events);
        }
    }
    if let Some(s) = session.take() {
        s.stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(2), s.task).await;
    }
    if let Some(path) = timing {
        key_to_frame.sort();
        let ms = |q: f64| {
            key_to_frame.get(((key_to_frame.len() as f64 - 1.0) * q) as usize).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        let line =
            format!("keys={} p50_ms={:.1} p99_ms={:.1} max_ms={:.1}\n", key_to_frame.len(), ms(0.5), ms(0.99), ms(1.0));
        let _ = std::fs::write(path, line);
    }
    Ok(())
}

fn apply(effect: Effect, app: &mut App, session: &mut Option<Session>, events: &Events) {
    match effect {
        Effect::Open if session.is_none() => {
            app.log.info(
                std::time::SystemTime::now(),
                None,
                t!("ui.opening_what", role = app.settings.role.label(), port = app.settings.port).into_owned(),
            );
            // The rules are read in the encoding chosen now.
            if let Err(e) = app.apply_rules() {
                app.say(t!("ui.rules_not_in_force", why = e));
            }
            *session = Some(session::open(&app.settings, app.live.clone(), events.clone()));
            app.state = State::Opening;
        }
        Effect::Open => {}
        Effect::Close => {
            if let Some(s) = session {
                s.stop.cancel();
            }
        }
        Effect::Send(to, bytes) => match session {
            Some(s) => {
                // Whatever is sent (the box, a packet, a file, a periodic send) ends with the checksum.
                let bytes = match &app.settings.checksum {
                    Some(c) => bytes::Bytes::from(c.append(&bytes)),
                    None => bytes,
                };
                match s.send(to, bytes) {
                    Err(e) => app.say(e),
                    // A stale `not sent` or `not open` line gives way to the state.
                    Ok(()) => app.status = None,
                }
            }
            None => app.say(t!("ui.not_open")),
        },
        Effect::Kick(ids) => match session {
            Some(s) => {
                if let Err(e) = s.command(Command::Kick(ids)) {
                    app.say(e);
                }
            }
            None => app.say(t!("ui.not_open")),
        },
        Effect::Quit => app.quit = true,
    }
}
