//! The benchmark's report: the human table with its latency histogram, and the JSON summary.

use super::*;

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
        let rate = c.rate.map(|r| format!(", open loop at {} msg/s", thousands(r as u64))).unwrap_or_default();
        s.push_str(&format!(
            "{proto} {} {}, {} connections x {} bytes, {:.2} s, {} thread{}{rate}\n",
            c.target,
            c.mode.as_str(),
            c.conns,
            c.payload.as_ref().map_or(c.len, |p| p.len()),
            self.seconds(),
            c.threads,
            if c.threads == 1 { "" } else { "s" }
        ));
        let what = match c.mode {
            BenchMode::Pingpong if !c.udp => "round trips",
            BenchMode::Churn if !c.udp => "connect-exchange-close cycles",
            BenchMode::Sink if !c.udp => "messages sent",
            _ if c.udp => "datagram round trips",
            _ => "messages echoed",
        };
        s.push_str(&format!("  {what:<26} {:>14}   {:>12}/s\n", thousands(t.rounds), thousands(self.rate() as u64)));
        s.push_str(&format!(
            "  {:<26} {:>11.1} MB   {:>10.2} MB/s\n",
            "sent",
            t.sent as f64 / 1e6,
            t.sent as f64 / 1e6 / self.seconds()
        ));
        s.push_str(&format!(
            "  {:<26} {:>11.1} MB   {:>10.2} MB/s\n",
            "received",
            t.received as f64 / 1e6,
            t.received as f64 / 1e6 / self.seconds()
        ));
        if !t.connect.is_empty() {
            s.push_str(&format!(
                "  {:<26} p50 {}  p99 {}  max {}  ({} connects)\n",
                "connect time",
                time(t.connect.value_at_quantile(0.5)),
                time(t.connect.value_at_quantile(0.99)),
                time(t.connect.max()),
                thousands(t.connect.len())
            ));
        }
        if !t.latency.is_empty() && c.mode != BenchMode::Stream {
            let from = if c.rate.is_some() { " (from when each was due)" } else { "" };
            s.push_str(&format!(
                "  {:<26} p50 {}  p90 {}  p99 {}  p99.9 {}  max {}{from}\n",
                "latency",
                time(self.quantile(0.5)),
                time(self.quantile(0.9)),
                time(self.quantile(0.99)),
                time(self.quantile(0.999)),
                time(t.latency.max())
            ));
        }
        if c.udp {
            s.push_str(&format!(
                "  {:<26} {} lost, {} answered late\n",
                "datagrams",
                thousands(t.lost),
                thousands(t.late)
            ));
        }
        s.push_str(&format!("  {:<26} {}\n", "mismatches", thousands(t.mismatches)));
        if let Some(m) = &t.first_mismatch {
            s.push_str(&format!("  {:<26} {}\n", "first mismatch", m.words()));
        }
        if t.errors.is_empty() {
            s.push_str(&format!("  {:<26} 0\n", "errors"));
        } else {
            let list: Vec<String> = t.errors.iter().map(|(k, v)| format!("{k} {v}")).collect();
            s.push_str(&format!("  {:<26} {} ({})\n", "errors", self.errors(), list.join(", ")));
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
        let mut s = String::from("  latency histogram\n");
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
