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
    /// The minute the offset was asked for (none yet when new).
    minute: Option<i64>,
    offset: i64,
}

impl LocalClock {
    /// `12:04:05.123`
    pub fn format(&mut self, t: SystemTime) -> String {
        let (secs, micros) = split(t);
        let minute = secs.div_euclid(60);
        if self.minute != Some(minute) {
            self.minute = Some(minute);
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
    fn before_1970_counts_back() {
        let t = UNIX_EPOCH - Duration::from_micros(1_500_000);
        assert_eq!(rfc3339_utc(t), "1969-12-31T23:59:58.500000Z");
        assert_eq!(rfc3339_utc(UNIX_EPOCH - Duration::from_secs(2)), "1969-12-31T23:59:58.000000Z");
    }

    /// Every day from 1559 to 2517, against a calendar that counts one day at a time: the
    /// century rules (1700, 1800, 1900 and 2100 are not leap years, 1600 and 2000 are).
    #[test]
    fn every_day_against_a_day_by_day_calendar() {
        fn leap(y: i64) -> bool {
            (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        }
        fn days_in(y: i64, m: u32) -> u32 {
            match m {
                2 if leap(y) => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            }
        }
        let mut date = (1970i64, 1u32, 1u32);
        for days in 0..200_000 {
            assert_eq!(civil_from_days(days), date, "day {days}");
            date = match date {
                (y, 12, 31) => (y + 1, 1, 1),
                (y, m, d) if d == days_in(y, m) => (y, m + 1, 1),
                (y, m, d) => (y, m, d + 1),
            };
        }
        let mut date = (1970i64, 1u32, 1u32);
        for days in (-150_000..=0).rev() {
            assert_eq!(civil_from_days(days), date, "day {days}");
            date = match date {
                (y, 1, 1) => (y - 1, 12, 31),
                (y, m, 1) => (y, m - 1, days_in(y, m - 1)),
                (y, m, d) => (y, m, d - 1),
            };
        }
    }

    #[test]
    fn durations_read_naturally() {
        for (d, shown) in [
            (Duration::ZERO, "0s"),
            (Duration::from_micros(412), "412µs"),
            (Duration::from_micros(999), "999µs"),
            (Duration::from_micros(1000), "1ms"),
            (Duration::from_millis(250), "250ms"),
            (Duration::from_millis(999), "999ms"),
            (Duration::from_millis(1000), "1s"),
            (Duration::from_secs(2), "2s"),
            (Duration::from_millis(1500), "1.5s"),
            (Duration::from_millis(2001), "2.001s"),
        ] {
            assert_eq!(seconds(d), shown, "{d:?}");
        }
    }

    /// The local clock follows the time zone (a POSIX TZ string, no zone files needed), asks
    /// the OS once a minute, and asks at once when new, even at the epoch's first minute.
    /// One test: the time zone is the process's, so nothing else here may read it meanwhile.
    #[test]
    fn local_time_follows_the_zone_and_asks_once_a_minute() {
        unsafe extern "C" {
            fn tzset();
        }
        let zone = |tz: &str| {
            // SAFETY: no other test of this crate reads the environment or the time zone.
            unsafe {
                std::env::set_var("TZ", tz);
                tzset();
            }
        };
        zone("CST-8");
        assert_eq!(utc_offset(0), 8 * 3600);
        let mut clock = LocalClock::default();
        assert_eq!(clock.format(UNIX_EPOCH + Duration::from_millis(5_123)), "08:00:05.123");
        zone("XYZ+2");
        // The same minute: the offset asked for at its start still holds.
        assert_eq!(clock.format(UNIX_EPOCH + Duration::from_secs(50)), "08:00:50.000");
        // The next minute asks again.
        assert_eq!(clock.format(UNIX_EPOCH + Duration::from_secs(61)), "22:01:01.000");
        zone("UTC0");
        assert_eq!(utc_offset(1_795_867_445), 0);
        let mut clock = LocalClock::default();
        assert_eq!(clock.format(UNIX_EPOCH + Duration::from_millis(1_795_867_445_123)), "12:04:05.123");
    }
}
