//! Timestamps: local wall-clock time for human lines (`12:04:05.123`), RFC 3339 in UTC for
//! JSON (`2026-11-27T12:04:05.123456Z`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn split(t: SystemTime) -> (i64, u32) {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_micros()),
        Err(e) => {
            let d = e.duration();
            let micros = d.subsec_micros();
            if micros == 0 { (-(d.as_secs() as i64), 0) } else { (-(d.as_secs() as i64) - 1, 1_000_000 - micros) }
        }
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `2026-11-27T12:04:05.123456Z`
pub fn rfc3339_utc(t: SystemTime) -> String {
    let (secs, micros) = split(t);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!("{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z", s / 3600, s / 60 % 60, s % 60)
}

/// Seconds east of UTC for this moment in the local time zone (0 where the OS cannot tell).
fn utc_offset(secs: i64) -> i64 {
    #[cfg(unix)]
    {
        let t = secs as libc::time_t;
        // SAFETY: localtime_r only writes the tm we own; a zeroed tm is a valid value for it.
        unsafe {
            let mut tm: libc::tm = std::mem::zeroed();
            if !libc::localtime_r(&t, &mut tm).is_null() {
                return tm.tm_gmtoff;
            }
        }
    }
    let _ = secs;
    0
}

/// Formats local wall-clock times, asking the OS for the time zone offset once a minute.
#[derive(Default)]
pub struct LocalClock {
    minute: i64,
    offset: i64,
}

impl LocalClock {
    /// `12:04:05.123`
    pub fn format(&mut self, t: SystemTime) -> String {
        let (secs, micros) = split(t);
        if secs.div_euclid(60) != self.minute || self.minute == 0 {
            self.minute = secs.div_euclid(60);
            self.offset = utc_offset(secs);
        }
        let s = (secs + self.offset).rem_euclid(86_400);
        format!("{:02}:{:02}:{:02}.{:03}", s / 3600, s / 60 % 60, s % 60, micros / 1000)
    }
}

/// A duration as people read it: `2s`, `1.5s`, `250ms`, `412µs`.
pub fn seconds(d: Duration) -> String {
    if d.as_micros() < 1000 && !d.is_zero() {
        format!("{}µs", d.as_micros())
    } else if d.as_millis() < 1000 && !d.is_zero() {
        format!("{}ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}s", format!("{:.3}", d.as_secs_f64()).trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_in_utc() {
        let t = UNIX_EPOCH + Duration::from_micros(1_795_867_445_123_456);
        assert_eq!(rfc3339_utc(t), "2026-11-28T12:04:05.123456Z");
        assert_eq!(rfc3339_utc(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(&rfc3339_utc(leap)[..10], "2000-02-29");
    }

    #[test]
    fn local_clock_has_milliseconds() {
        let mut clock = LocalClock::default();
        let s = clock.format(UNIX_EPOCH + Duration::from_millis(1_795_867_445_123));
        assert_eq!(s.len(), 12);
        assert!(s.ends_with(":05.123"), "{s}");
    }
}
