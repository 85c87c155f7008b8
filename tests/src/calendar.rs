//! The fake's calendar: Unix seconds and days since 1970-01-01 to and from RFC 3339 and
//! `YYYY-MM-DD`, weeks and months. Done with chrono, not by hand like the plugin, so the fake
//! checks the plugin's calendar code instead of repeating it.

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Utc};

/// Seconds in a day (UTC has no daylight saving time).
pub const DAY: i64 = 24 * 60 * 60;

/// The clock, in seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    // A clock before 1970 or past year 292 billion would be broken; read it as the epoch.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|since| i64::try_from(since.as_secs()).ok())
        .unwrap_or(0)
}

/// Seconds since the Unix epoch as RFC 3339 in UTC, e.g. `2026-12-01T00:00:00Z`.
pub fn rfc3339(unix_secs: i64) -> String {
    utc(unix_secs).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// RFC 3339 (`2026-11-26T15:00:00Z`, `…T15:00:00.123+01:00`) to Unix seconds (fractions
/// dropped); `None` when malformed.
pub(crate) fn parse_rfc3339(text: &str) -> Option<i64> {
    let time = DateTime::parse_from_rfc3339(text).ok()?;
    // chrono keeps a leap second (`:60`) as `:59` plus a second of nanoseconds: count it.
    let leap = i64::from(time.timestamp_subsec_nanos() >= 1_000_000_000);
    Some(time.timestamp() + leap)
}

/// Days since 1970-01-01 of a Unix time.
pub(crate) fn days_from_unix(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(DAY)
}

/// Days since 1970-01-01 as `YYYY-MM-DD`.
pub(crate) fn date_string(days: i64) -> String {
    // `NaiveDate`'s Display is `%Y-%m-%d` without parsing a format string on every call (the
    // fake writes one per row).
    date(days).to_string()
}

/// `YYYY-MM-DD` to days since 1970-01-01; `None` unless a real calendar date.
pub(crate) fn parse_date(text: &str) -> Option<i64> {
    // chrono's `%Y-%m-%d` also takes signs and short fields: only the fixed form is a date here.
    let fixed_form = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !fixed_form {
        return None;
    }
    // The digits are checked above; chrono decides whether they make a calendar date.
    let date = NaiveDate::from_ymd_opt(
        text[0..4].parse().ok()?,
        text[5..7].parse().ok()?,
        text[8..10].parse().ok()?,
    )?;
    Some(i64::from(date.to_epoch_days()))
}

/// ISO day of week of a Unix time, Monday 1 to Sunday 7.
pub(crate) fn day_of_week(unix_secs: i64) -> i64 {
    i64::from(utc(unix_secs).weekday().number_from_monday())
}

/// Start (Monday 00:00 UTC) of the week holding a Unix time, and of the next week.
pub(crate) fn week(unix_secs: i64) -> (i64, i64) {
    let day = utc(unix_secs).date_naive();
    let monday = i64::from(day.to_epoch_days()) - i64::from(day.weekday().num_days_from_monday());
    (monday * DAY, (monday + 7) * DAY)
}

/// Start of the run of `months` calendar months holding a Unix time, runs counted from
/// January of year 0 (so 3 gives quarters, 12 years), and the start of the next run.
pub(crate) fn months(unix_secs: i64, months: u32) -> (i64, i64) {
    let day = utc(unix_secs).date_naive();
    let per = i64::from(months.max(1));
    let index = i64::from(day.year()) * 12 + i64::from(day.month0());
    let first = index - index.rem_euclid(per);
    (month_start(first), month_start(first + per))
}

/// The first second of month `index` (`year * 12 + month0`).
fn month_start(index: i64) -> i64 {
    let first_day = i32::try_from(index.div_euclid(12))
        .ok()
        .and_then(|year| NaiveDate::from_ymd_opt(year, month0(index) + 1, 1));
    match first_day {
        Some(day) => i64::from(day.to_epoch_days()) * DAY,
        // Past chrono's range (about 262,000 years): as far as chrono goes.
        None if index < 0 => DateTime::<Utc>::MIN_UTC.timestamp(),
        None => DateTime::<Utc>::MAX_UTC.timestamp(),
    }
}

fn month0(index: i64) -> u32 {
    // rem_euclid(12) is in 0..12.
    u32::try_from(index.rem_euclid(12)).unwrap_or(0)
}

/// A Unix time in UTC, clamped to chrono's range (no time the fake handles is near its ends).
fn utc(unix_secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(unix_secs, 0).unwrap_or(if unix_secs < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

/// Days since 1970-01-01 as a date, clamped like [`utc`].
fn date(days: i64) -> NaiveDate {
    i32::try_from(days)
        .ok()
        .and_then(NaiveDate::from_epoch_days)
        .unwrap_or(if days < 0 {
            NaiveDate::MIN
        } else {
            NaiveDate::MAX
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_civil_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_083_200), "2026-12-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400 + 3661), "2000-02-29T01:01:01Z");
    }

    #[test]
    fn time_parsing_round_trips() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2026-12-01T01:00:00.250+01:00"),
            Some(1_796_083_200)
        );
        assert_eq!(parse_rfc3339("2026-02-30T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2026-12-01"), None);
        assert_eq!(parse_date("2000-02-29"), Some(11_016));
        assert_eq!(parse_date("2001-02-29"), None);
        assert_eq!(date_string(11_016), "2000-02-29");
        // Days to a civil date and back (the hand-written calendar's round trip).
        for days in [-1, 0, 59, 11_016, 20_788] {
            assert_eq!(parse_date(&date_string(days)), Some(days));
        }
    }

    #[test]
    fn only_the_fixed_date_form_parses() {
        assert_eq!(parse_date("2026-1-05"), None);
        assert_eq!(parse_date("+2026-01-05"), None);
        assert_eq!(parse_date("2026-01-5 "), None);
        assert_eq!(
            parse_rfc3339("2026-12-01T00:00:60Z"),
            Some(1_796_083_200 + 60)
        );
    }

    #[test]
    fn weeks_and_months() {
        // 1970-01-01 was a Thursday, 1970-01-05 a Monday.
        assert_eq!(day_of_week(0), 4);
        assert_eq!(day_of_week(4 * DAY), 1);
        assert_eq!(week(0), (-3 * DAY, 4 * DAY));
        let t = 1_796_083_200 + 3600; // 2026-12-01T01:00:00Z, a Tuesday
        assert_eq!(day_of_week(t), 2);
        assert_eq!(rfc3339(week(t).0), "2026-11-30T00:00:00Z");
        let show = |(a, b): (i64, i64)| (rfc3339(a), rfc3339(b));
        assert_eq!(
            show(months(t, 1)),
            ("2026-12-01T00:00:00Z".into(), "2027-01-01T00:00:00Z".into())
        );
        assert_eq!(
            show(months(t, 3)),
            ("2026-10-01T00:00:00Z".into(), "2027-01-01T00:00:00Z".into())
        );
        assert_eq!(
            show(months(t, 12)),
            ("2026-01-01T00:00:00Z".into(), "2027-01-01T00:00:00Z".into())
        );
    }
}
