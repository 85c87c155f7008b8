//! Just enough calendar arithmetic for token expiry and GraphQL date filters, without pulling a
//! date crate into the guest.

/// Seconds since the Unix epoch, from the host's wall clock.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The calendar date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Parses an RFC 3339 timestamp (`2026-01-01T00:00:00Z`, fractions and offsets allowed) into
/// Unix seconds.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, rest) = text.split_at_checked(10)?;
    let (year, month, day) = parse_date(date)?;
    let mut seconds = days_from_civil(year, month, day) * 86_400;
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let (clock, zone) = rest.split_at_checked(8)?;
    let [h, m, s] = fields::<3>(clock, ':')?;
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    seconds += h * 3600 + m * 60 + s;
    // Skip fractional seconds, then apply the offset.
    let zone = zone.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    match zone {
        "Z" | "z" | "" => Some(seconds),
        _ => {
            let sign = match zone.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let [oh, om] = fields::<2>(zone.get(1..)?, ':')?;
            if oh > 23 || om > 59 {
                return None;
            }
            Some(seconds - sign * (oh * 3600 + om * 60))
        }
    }
}

/// `N` two-digit (or, for a year, four-digit) numbers separated by `separator`; `None` for
/// anything else, so no arithmetic ever sees an out-of-range value.
fn fields<const N: usize>(text: &str, separator: char) -> Option<[i64; N]> {
    let mut out = [0; N];
    let mut parts = text.split(separator);
    for slot in &mut out {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 4 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = part.parse().ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// `YYYY-MM-DD`, checked against the month's length.
fn parse_date(text: &str) -> Option<(i64, u32, u32)> {
    let [year, month, day] = fields::<3>(text, '-')?;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day < 1 || day > days_in_month {
        return None;
    }
    Some((year, month as u32, day as u32))
}

/// `YYYY-MM-DD` of a Unix time, in UTC: the GraphQL `Date` scalar.
pub fn date_string(unix: i64) -> String {
    let (y, m, d) = civil_from_days(unix.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a Unix time: the GraphQL `Time` scalar.
pub fn rfc3339(unix: i64) -> String {
    let seconds = unix.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        date_string(unix),
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

/// Seconds in a relative duration such as `30m`, `24h`, `7d` or `2w`.
pub fn parse_duration(text: &str) -> Option<i64> {
    let text = text.trim();
    let unit = match text.chars().last()? {
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return None,
    };
    let amount: i64 = text[..text.len() - 1].trim().parse().ok()?;
    (amount > 0 && amount <= 10_000).then(|| amount * unit)
}

/// A half-open time range, Unix seconds: `since` inclusive, `until` exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub since: i64,
    pub until: i64,
}

impl Range {
    pub fn seconds(&self) -> i64 {
        self.until - self.since
    }
}

/// Why a range was refused: the field and what to write instead.
#[derive(Debug, PartialEq, Eq)]
pub struct RangeProblem {
    pub field: &'static str,
    pub message: String,
}

const ACCEPTED: &str = "use RFC 3339 (2026-11-25T00:00:00Z), a date (2026-11-25) or a time \
                        relative to now (30m, 24h, 7d, 2w)";

/// Reads a range as users write it. `until` defaults to `now` and a relative `until` counts
/// back from now; `since` defaults to 24 hours before `until` and a relative `since` counts
/// back from `until`. A date as `until` means the end of that day. A `until` in the future is
/// brought back to now, since there is no data there.
pub fn resolve_range(
    since: Option<&str>,
    until: Option<&str>,
    now: i64,
) -> Result<Range, RangeProblem> {
    let problem = |field: &'static str, message: String| RangeProblem { field, message };
    let point = |field: &'static str, text: &str, base: i64, end_of_day: bool| {
        let text = text.trim();
        if text.eq_ignore_ascii_case("now") {
            return Ok(now);
        }
        if let Some(seconds) = parse_duration(text) {
            return Ok(base - seconds);
        }
        if text.len() == 10
            && let Some(midnight) = parse_rfc3339(&format!("{text}T00:00:00Z"))
        {
            return Ok(if end_of_day {
                midnight + 86_400
            } else {
                midnight
            });
        }
        parse_rfc3339(text).ok_or_else(|| {
            problem(
                field,
                format!("{} is not a time: {ACCEPTED}", crate::input::quote(text)),
            )
        })
    };
    let until = match until {
        Some(text) if !text.trim().is_empty() => point("range.until", text, now, true)?,
        _ => now,
    }
    .min(now);
    let since = match since {
        Some(text) if !text.trim().is_empty() => point("range.since", text, until, false)?,
        _ => until - 86_400,
    };
    if since >= until {
        return Err(problem(
            "range.since",
            format!(
                "since ({}) must be before until ({}); data exists only up to now",
                rfc3339(since),
                rfc3339(until)
            ),
        ));
    }
    Ok(Range { since, until })
}

/// `3d 4h`-style length, for messages.
pub fn human_duration(seconds: i64) -> String {
    let (days, hours, minutes) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
    );
    let mut parts = Vec::new();
    if days > 0 {
        parts.push(format!("{days}d"));
    }
    if hours > 0 {
        parts.push(format!("{hours}h"));
    }
    if minutes > 0 || parts.is_empty() {
        parts.push(format!("{minutes}m"));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_705_200; // 2026-11-26T15:00:00Z

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(NOW), "2026-11-26T15:00:00Z");
        assert_eq!(parse_rfc3339(&rfc3339(NOW + 61)), Some(NOW + 61));
    }

    #[test]
    fn ranges_default_to_the_last_day() {
        assert_eq!(
            resolve_range(None, None, NOW),
            Ok(Range {
                since: NOW - 86_400,
                until: NOW
            })
        );
        assert_eq!(
            resolve_range(Some("7d"), None, NOW),
            Ok(Range {
                since: NOW - 7 * 86_400,
                until: NOW
            })
        );
        assert_eq!(
            resolve_range(Some("2h"), Some("1h"), NOW),
            Ok(Range {
                since: NOW - 3 * 3600,
                until: NOW - 3600
            })
        );
    }

    #[test]
    fn dates_cover_whole_days_and_the_future_is_cut() {
        let r = resolve_range(Some("2026-11-25"), Some("2026-11-25"), NOW).expect("valid");
        assert_eq!(rfc3339(r.since), "2026-11-25T00:00:00Z");
        assert_eq!(rfc3339(r.until), "2026-11-26T00:00:00Z");
        let r = resolve_range(Some("2026-11-26"), Some("2026-11-30"), NOW).expect("valid");
        assert_eq!(r.until, NOW);
    }

    #[test]
    fn bad_ranges_name_the_part() {
        assert_eq!(
            resolve_range(Some("yesterday"), None, NOW).map_err(|p| p.field),
            Err("range.since")
        );
        assert_eq!(
            resolve_range(None, Some("2026-99-01"), NOW).map_err(|p| p.field),
            Err("range.until")
        );
        assert_eq!(
            resolve_range(Some("2026-11-27T00:00:00Z"), None, NOW).map_err(|p| p.field),
            Err("range.since")
        );
        assert_eq!(parse_duration("0h"), None);
        assert_eq!(parse_duration("-1d"), None);
    }

    #[test]
    fn parses_utc_and_offsets() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2020-01-01T00:00:00Z"), Some(1_577_836_800));
        assert_eq!(
            parse_rfc3339("2020-01-01T01:00:00+01:00"),
            Some(1_577_836_800)
        );
        assert_eq!(
            parse_rfc3339("2020-01-01T00:00:00.123456Z"),
            Some(1_577_836_800)
        );
        assert_eq!(parse_rfc3339("not a date"), None);
        for bad in [
            "2020-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T99:99:99Z",
            "2026-01-01T00:00:00+25:00",
            "2026-01-01T00:00:00+9223372036854775:00",
            "2026-01-01T00:00:00+ü",
            "+026-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
        assert!(parse_rfc3339("2024-02-29T00:00:00Z").is_some());
    }

    #[test]
    fn formats_dates_round_trip() {
        assert_eq!(date_string(0), "1970-01-01");
        assert_eq!(date_string(1_577_836_800), "2020-01-01");
        assert_eq!(date_string(951_782_400), "2000-02-29");
        let t = parse_rfc3339("2026-11-26T15:00:00Z").expect("valid");
        assert_eq!(date_string(t), "2026-11-26");
    }
}
