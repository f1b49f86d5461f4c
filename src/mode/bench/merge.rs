//! `netassist bench merge`: one honest result from many `bench --json` runs (many machines,
//! many processes). Counts, bytes and rates are summed; percentiles come from the runs'
//! latency histograms added together (HdrHistogram's V2 format, base64, in each summary),
//! never from averaged percentiles; how far the runs' time windows overlap is said, since
//! summed rates mean "all at once" only where they overlap.

use std::collections::BTreeMap;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use rust_i18n::t;
use serde_json::Value;

use super::report::{latency_line, row, thousands, us};

/// Milliseconds since the Unix epoch.
pub fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// A latency histogram as summaries carry it: V2, base64.
pub fn encode(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    V2Serializer::new().serialize(h, &mut bytes).expect("a histogram serializes into memory");
    STANDARD.encode(bytes)
}

fn decode(text: &str) -> Result<Histogram<u64>, String> {
    let bytes = STANDARD.decode(text).map_err(|e| e.to_string())?;
    Deserializer::new().deserialize(&mut bytes.as_slice()).map_err(|e| format!("{e:?}"))
}

/// One run's summary, as read back.
#[derive(Debug)]
pub struct Run {
    pub rounds: u64,
    pub rate: f64,
    pub conns: u64,
    pub sent_bytes: u64,
    pub received_bytes: u64,
    pub duration_s: f64,
    pub start_ms: u64,
    pub end_ms: u64,
    pub errors: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    pub mismatches: u64,
    pub lost: u64,
    pub late: u64,
    pub latency: Histogram<u64>,
}

impl Run {
    /// A `summary` (or an earlier `merged`) object; `Err` says what it lacks.
    pub fn from_json(v: &Value) -> Result<Run, String> {
        let num = |key: &str| -> Result<f64, String> {
            v.get(key).and_then(Value::as_f64).ok_or_else(|| t!("merge.lacks", key = key).into_owned())
        };
        let count = |key: &str| num(key).map(|n| n as u64);
        let histogram =
            v.get("histogram").and_then(Value::as_str).ok_or_else(|| t!("merge.lacks", key = "histogram"))?;
        let errors_by_kind = v
            .get("errors_by_kind")
            .and_then(Value::as_object)
            .map(|o| o.iter().map(|(k, n)| (k.clone(), n.as_u64().unwrap_or(0))).collect())
            .unwrap_or_default();
        Ok(Run {
            rounds: count("rounds")?,
            rate: num("rate")?,
            conns: count("conns")?,
            sent_bytes: count("sent_bytes")?,
            received_bytes: count("received_bytes")?,
            duration_s: num("duration_s")?,
            start_ms: count("start_unix_ms")?,
            end_ms: count("end_unix_ms")?,
            errors: count("errors")?,
            errors_by_kind,
            mismatches: count("mismatches")?,
            lost: count("lost").unwrap_or(0),
            late: count("late").unwrap_or(0),
            latency: decode(histogram).map_err(|why| t!("merge.bad_histogram", why = why).into_owned())?,
        })
    }
}

/// The runs' summaries from JSON lines: `summary` and `merged` objects; progress lines and
/// anything else (a log's other lines) are skipped. A line that is a summary but cannot be
/// read is an error naming it.
pub fn read_runs(text: &str, source: &str) -> Result<Vec<Run>, String> {
    let mut runs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let Ok(v) = serde_json::from_str::<Value>(line.trim()) else { continue };
        if matches!(v.get("event").and_then(Value::as_str), Some("summary" | "merged")) {
            let run =
                Run::from_json(&v).map_err(|why| t!("merge.bad_line", source = source, line = n + 1, why = why))?;
            runs.push(run);
        }
    }
    Ok(runs)
}

/// Many runs as one.
#[derive(Debug)]
pub struct Merged {
    pub runs: usize,
    pub total: Run,
    /// Seconds during which every run was running.
    pub overlap_s: f64,
    /// From the first start to the last end.
    pub span_s: f64,
    pub mbps_sent: f64,
    pub mbps_received: f64,
}

pub fn merge(runs: Vec<Run>) -> Merged {
    let n = runs.len();
    let mut latency = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid histogram bounds");
    latency.auto(true);
    let start = runs.iter().map(|r| r.start_ms).min().unwrap_or(0);
    let end = runs.iter().map(|r| r.end_ms).max().unwrap_or(0);
    let all_start = runs.iter().map(|r| r.start_ms).max().unwrap_or(0);
    let all_end = runs.iter().map(|r| r.end_ms).min().unwrap_or(0);
    let mut total = Run {
        rounds: 0,
        rate: 0.0,
        conns: 0,
        sent_bytes: 0,
        received_bytes: 0,
        duration_s: (end.saturating_sub(start)) as f64 / 1000.0,
        start_ms: start,
        end_ms: end,
        errors: 0,
        errors_by_kind: BTreeMap::new(),
        mismatches: 0,
        lost: 0,
        late: 0,
        latency: Histogram::new(3).expect("valid histogram"),
    };
    let (mut mbps_sent, mut mbps_received) = (0.0, 0.0);
    for r in runs {
        total.rounds += r.rounds;
        total.rate += r.rate;
        total.conns += r.conns;
        total.sent_bytes += r.sent_bytes;
        total.received_bytes += r.received_bytes;
        total.errors += r.errors;
        total.mismatches += r.mismatches;
        total.lost += r.lost;
        total.late += r.late;
        for (k, v) in r.errors_by_kind {
            *total.errors_by_kind.entry(k).or_default() += v;
        }
        let seconds = r.duration_s.max(1e-9);
        mbps_sent += r.sent_bytes as f64 / 1e6 / seconds;
        mbps_received += r.received_bytes as f64 / 1e6 / seconds;
        latency.add(&r.latency).expect("an auto-resizing histogram takes any other");
    }
    total.latency = latency;
    Merged {
        runs: n,
        overlap_s: all_end.saturating_sub(all_start) as f64 / 1000.0,
        span_s: total.duration_s,
        total,
        mbps_sent,
        mbps_received,
    }
}

impl Merged {
    fn quantile(&self, q: f64) -> u64 {
        let h = &self.total.latency;
        if h.is_empty() { 0 } else { h.value_at_quantile(q) }
    }

    /// The share of the whole span during which all runs ran at once.
    pub fn overlap(&self) -> f64 {
        if self.span_s > 0.0 { self.overlap_s / self.span_s } else { 1.0 }
    }

    pub fn json(&self) -> String {
        let t = &self.total;
        let mut o = crate::sink::json::JsonObject::plain();
        o.str("event", "merged").num("runs", self.runs).num("conns", t.conns);
        o.num("start_unix_ms", t.start_ms).num("end_unix_ms", t.end_ms);
        o.num("duration_s", format!("{:.3}", self.span_s)).num("overlap_s", format!("{:.3}", self.overlap_s));
        o.num("overlap", format!("{:.3}", self.overlap()));
        o.num("rounds", t.rounds).num("rate", format!("{:.1}", t.rate));
        o.num("mbps_sent", format!("{:.3}", self.mbps_sent)).num("mbps_received", format!("{:.3}", self.mbps_received));
        o.num("sent_bytes", t.sent_bytes).num("received_bytes", t.received_bytes);
        for (key, q) in [("p50_us", 0.5), ("p90_us", 0.9), ("p99_us", 0.99), ("p999_us", 0.999)] {
            o.num(key, format!("{:.1}", us(self.quantile(q))));
        }
        o.num("max_us", format!("{:.1}", us(t.latency.max())));
        o.num("errors", t.errors);
        let mut kinds = crate::sink::json::JsonObject::plain();
        for (k, v) in &t.errors_by_kind {
            kinds.num(k, v);
        }
        o.raw("errors_by_kind", &kinds.finish());
        o.num("mismatches", t.mismatches).num("lost", t.lost).num("late", t.late);
        o.str("histogram", &encode(&t.latency));
        o.finish()
    }

    pub fn human(&self) -> String {
        let t = &self.total;
        let mut s = t!(
            "merge.head",
            runs = self.runs,
            conns = t.conns,
            overlap = format!("{:.1}", self.overlap_s),
            span = format!("{:.1}", self.span_s),
            share = format!("{:.0}", self.overlap() * 100.0)
        )
        .into_owned();
        s.push('\n');
        s.push_str(&format!(
            "{}{:>14}   {:>12}/s\n",
            row(&t!("bench.round_trips")),
            thousands(t.rounds),
            thousands(t.rate as u64)
        ));
        for (label, bytes, rate) in [
            (t!("bench.sent"), t.sent_bytes, self.mbps_sent),
            (t!("bench.received"), t.received_bytes, self.mbps_received),
        ] {
            s.push_str(&format!("{}{:>11.1} MB   {:>10.2} MB/s\n", row(&label), bytes as f64 / 1e6, rate));
        }
        if !t.latency.is_empty() {
            s.push_str(&latency_line(&t.latency, ""));
        }
        s.push_str(&format!("{}{}\n", row(&t!("bench.mismatches")), thousands(t.mismatches)));
        let errors = if t.errors_by_kind.is_empty() {
            t.errors.to_string()
        } else {
            let list: Vec<String> = t.errors_by_kind.iter().map(|(k, v)| format!("{k} {v}")).collect();
            format!("{} ({})", t.errors, list.join(", "))
        };
        s.push_str(&format!("{}{errors}\n", row(&t!("bench.errors"))));
        if self.overlap() < 0.9 {
            s.push_str(&t!("merge.little_overlap"));
            s.push('\n');
        }
        s
    }
}
