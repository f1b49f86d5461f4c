//! The benchmark's report: the human table with its latency histogram, and the JSON summary.

use super::*;
use rust_i18n::t;

// ---- Showing --------------------------------------------------------------------------------

pub(super) fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

/// `12.3 µs`, `4.56 ms`, `1.2 s`
pub(super) fn time(ns: u64) -> String {
    match ns {
        0..=9_999 => format!("{:.1} µs", us(ns)),
        10_000..=999_999 => format!("{:.0} µs", us(ns)),
        1_000_000..=999_999_999 => format!("{:.2} ms", ns as f64 / 1e6),
        _ => format!("{:.2} s", ns as f64 / 1e9),
    }
}

/// A row of the human table: its label in the first column, whatever the language.
pub(super) fn row(label: &str) -> String {
    format!("  {}", crate::render::padded(label, 27))
}

/// The latency row: p50, p90, p99, p99.9 and max of `h`, then `from` (what it counts from).
pub(super) fn latency_line(h: &Histogram<u64>, from: &str) -> String {
    let q = |q: f64| time(h.value_at_quantile(q));
    format!(
        "{}p50 {}  p90 {}  p99 {}  p99.9 {}  max {}{from}\n",
        row(&t!("bench.latency")),
        q(0.5),
        q(0.9),
        q(0.99),
        q(0.999),
        time(h.max())
    )
}

pub(super) fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Report {
    fn seconds(&self) -> f64 {
        self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn rate(&self) -> f64 {
        self.tally.rounds as f64 / self.seconds()
    }

    pub fn errors(&self) -> u64 {
        self.tally.errors.values().sum()
    }

    pub fn mismatches(&self) -> u64 {
        self.tally.mismatches
    }

    /// Whether the run found something wrong: mismatches, lost connections, errors.
    pub fn failed(&self) -> bool {
        self.errors() > 0 || self.mismatches() > 0
    }

    fn quantile(&self, q: f64) -> u64 {
        if self.tally.latency.is_empty() { 0 } else { self.tally.latency.value_at_quantile(q) }
    }

    pub fn human(&self) -> String {
        let c = &self.config;
        let t = &self.tally;
        let proto = if c.udp { "udp" } else { "tcp" };
        let mut s = String::new();
        let rate = c.rate.map(|r| t!("bench.open_loop", rate = thousands(r as u64))).unwrap_or_default();
        let threads = if c.threads == 1 { t!("bench.one_thread") } else { t!("bench.threads", n = c.threads) };
        s.push_str(&t!(
            "bench.head",
            proto = proto,
            target = c.target,
            mode = c.mode.as_str(),
            conns = c.conns,
            len = c.payload.as_ref().map_or(c.len, |p| p.len()),
            seconds = format!("{:.2}", self.seconds()),
            threads = threads,
            rate = rate
        ));
        s.push('\n');
        let what = match c.mode {
            BenchMode::Pingpong if !c.udp => t!("bench.round_trips"),
            BenchMode::Churn if !c.udp => t!("bench.cycles"),
            BenchMode::Sink if !c.udp => t!("bench.messages_sent"),
            _ if c.udp => t!("bench.datagram_round_trips"),
            _ => t!("bench.messages_echoed"),
        };
        s.push_str(&format!("{}{:>14}   {:>12}/s\n", row(&what), thousands(t.rounds), thousands(self.rate() as u64)));
        for (label, bytes) in [(t!("bench.sent"), t.sent), (t!("bench.received"), t.received)] {
            let mb = bytes as f64 / 1e6;
            s.push_str(&format!("{}{:>11.1} MB   {:>10.2} MB/s\n", row(&label), mb, mb / self.seconds()));
        }
        if !t.connect.is_empty() {
            s.push_str(&format!(
                "{}p50 {}  p99 {}  max {}  {}\n",
                row(&t!("bench.connect_time")),
                time(t.connect.value_at_quantile(0.5)),
                time(t.connect.value_at_quantile(0.99)),
                time(t.connect.max()),
                t!("bench.connects", n = thousands(t.connect.len()))
            ));
        }
        if !t.latency.is_empty() && c.mode != BenchMode::Stream {
            let from = if c.rate.is_some() { t!("bench.from_due") } else { "".into() };
            s.push_str(&latency_line(&t.latency, &from));
        }
        if c.udp {
            let lost = t!("bench.lost_late", lost = thousands(t.lost), late = thousands(t.late));
            s.push_str(&format!("{}{lost}\n", row(&t!("bench.datagrams"))));
        }
        s.push_str(&format!("{}{}\n", row(&t!("bench.mismatches")), thousands(t.mismatches)));
        if let Some(m) = &t.first_mismatch {
            s.push_str(&format!("{}{}\n", row(&t!("bench.first_mismatch")), m.words()));
        }
        if t.errors.is_empty() {
            s.push_str(&format!("{}0\n", row(&t!("bench.errors"))));
        } else {
            let list: Vec<String> = t.errors.iter().map(|(k, v)| format!("{k} {v}")).collect();
            s.push_str(&format!("{}{} ({})\n", row(&t!("bench.errors")), self.errors(), list.join(", ")));
        }
        if !t.latency.is_empty() && c.mode != BenchMode::Stream && c.mode != BenchMode::Sink {
            s.push_str(&self.histogram_lines());
        }
        s
    }

    /// The latency distribution drawn with bars, one line per power-of-two bucket.
    fn histogram_lines(&self) -> String {
        let h = &self.tally.latency;
        let (lo, hi) = (h.min().max(1), h.max().max(1));
        let first = 63 - lo.leading_zeros();
        let last = 63 - hi.leading_zeros();
        let buckets: Vec<(u64, u64, u64)> = (first..=last)
            .map(|b| {
                let (low, high) = (1u64 << b, (1u64 << (b + 1)) - 1);
                (low, high, h.count_between(low, high))
            })
            .collect();
        let most = buckets.iter().map(|b| b.2).max().unwrap_or(1).max(1);
        let total = h.len().max(1);
        let mut s = format!("  {}\n", t!("bench.histogram"));
        for (low, high, count) in buckets {
            let bar = "█".repeat(((count * 40).div_ceil(most)) as usize);
            s.push_str(&format!(
                "    {:>9} - {:<9} {:<40} {:>5.1}%\n",
                time(low),
                time(high),
                bar,
                100.0 * count as f64 / total as f64
            ));
        }
        s
    }

    pub fn json(&self) -> String {
        let c = &self.config;
        let t = &self.tally;
        let mut o = crate::sink::json::JsonObject::plain();
        o.str("event", "summary").str("target", &c.target.to_string()).str("proto", if c.udp { "udp" } else { "tcp" });
        o.str("mode", c.mode.as_str()).num("conns", c.conns).num("len", c.payload.as_ref().map_or(c.len, |p| p.len()));
        o.num("threads", c.threads).num("duration_s", format!("{:.3}", self.seconds()));
        if let Some(r) = c.rate {
            o.num("target_rate", r);
        }
        o.num("rounds", t.rounds).num("rate", format!("{:.1}", self.rate()));
        let mb = |bytes: u64| format!("{:.3}", bytes as f64 / 1e6 / self.seconds());
        let main = if c.mode == BenchMode::Sink { t.sent } else { t.received };
        o.num("mbps", mb(main)).num("mbps_sent", mb(t.sent)).num("mbps_received", mb(t.received));
        o.num("sent_bytes", t.sent).num("received_bytes", t.received);
        for (key, q) in [("p50_us", 0.5), ("p90_us", 0.9), ("p99_us", 0.99), ("p999_us", 0.999)] {
            o.num(key, format!("{:.1}", us(self.quantile(q))));
        }
        o.num("max_us", format!("{:.1}", us(t.latency.max())));
        if !t.connect.is_empty() {
            o.num("connect_p50_us", format!("{:.1}", us(t.connect.value_at_quantile(0.5))));
            o.num("connect_max_us", format!("{:.1}", us(t.connect.max())));
        }
        o.num("errors", self.errors());
        let mut kinds = crate::sink::json::JsonObject::plain();
        for (k, v) in &t.errors {
            kinds.num(k.code(), v);
        }
        o.raw("errors_by_kind", &kinds.finish());
        o.num("mismatches", t.mismatches).num("lost", t.lost).num("late", t.late);
        let start = merge::unix_ms(self.started_at);
        o.num("start_unix_ms", start).num("end_unix_ms", start + self.elapsed.as_millis() as u64);
        o.str("histogram", &merge::encode(&t.latency));
        if let Some(m) = &t.first_mismatch {
            let mut x = crate::sink::json::JsonObject::plain();
            x.num("at", m.at)
                .str("expected_hex", &crate::render::hex::to_hex(&m.expected))
                .str("got_hex", &crate::render::hex::to_hex(&m.got));
            o.raw("first_mismatch", &x.finish());
        }
        o.finish()
    }
}
