//! The counters at the bottom of the UI: bytes and messages each way since the last reset
//! (F8), and the rate over about the last second.

use std::time::{Duration, Instant};

use crate::event::{Counters, Dir};

/// RX/TX totals since the last reset, and the rate over the last second or so.
#[derive(Debug, Clone)]
pub struct Meter {
    pub totals: Counters,
    pub since: Instant,
    window_start: Instant,
    window_in: u64,
    window_out: u64,
    pub rate_in: f64,
    pub rate_out: f64,
}

impl Meter {
    pub(super) fn new() -> Meter {
        let now = Instant::now();
        Meter {
            totals: Counters::default(),
            since: now,
            window_start: now,
            window_in: 0,
            window_out: 0,
            rate_in: 0.0,
            rate_out: 0.0,
        }
    }

    pub(super) fn count(&mut self, dir: Dir, n: usize) {
        match dir {
            Dir::In | Dir::C2T => {
                self.totals.bytes_in += n as u64;
                self.totals.msgs_in += 1;
                self.window_in += n as u64;
            }
            Dir::Out | Dir::T2C => {
                self.totals.bytes_out += n as u64;
                self.totals.msgs_out += 1;
                self.window_out += n as u64;
            }
        }
    }

    /// Updates the rates once a second has passed.
    pub fn tick(&mut self, now: Instant) {
        let span = now.duration_since(self.window_start);
        if span >= Duration::from_secs(1) {
            self.rate_in = self.window_in as f64 / span.as_secs_f64();
            self.rate_out = self.window_out as f64 / span.as_secs_f64();
            self.window_start = now;
            self.window_in = 0;
            self.window_out = 0;
        }
    }
}
