//! `--at TIME`: the moment a restore goes back to.

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};

/// Reads `text` as a moment: RFC 3339 (`2026-12-01T09:30:00Z`), a date (`2026-12-01`: the end
/// of that day, UTC, so the day's last copies count), or `N <unit> ago` with minutes, hours,
/// days or weeks. Returns it as the database writes times (RFC 3339, seconds, `Z`).
pub fn parse_moment(text: &str, now: DateTime<Utc>) -> Result<String, String> {
    let text = text.trim();
    let moment = if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        at.with_timezone(&Utc)
    } else if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let end = day.and_hms_opt(23, 59, 59).ok_or_else(|| unreadable(text))?;
        end.and_utc()
    } else {
        now - ago(text).ok_or_else(|| unreadable(text))?
    };
    Ok(moment.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// [`parse_moment`] against the current time.
pub fn parse_moment_now(text: &str) -> Result<String, String> {
    parse_moment(text, Utc::now())
}

fn unreadable(text: &str) -> String {
    format!("`{text}` is not a time Fanout can read; give a date (2026-12-01), a time (2026-12-01T09:30:00Z) or an age (3 days ago)")
}

/// `3 days ago`, `90 minutes ago`, `1 week ago`.
fn ago(text: &str) -> Option<Duration> {
    let mut words = text.split_whitespace();
    let count: i64 = words.next()?.parse().ok()?;
    let unit = words.next()?.to_ascii_lowercase();
    if words.next()? != "ago" || words.next().is_some() || count < 0 {
        return None;
    }
    let unit = unit.strip_suffix('s').unwrap_or(&unit);
    match unit {
        "minute" | "min" => Some(Duration::minutes(count)),
        "hour" => Some(Duration::hours(count)),
        "day" => Some(Duration::days(count)),
        "week" => Some(Duration::weeks(count)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-02T12:00:00Z").unwrap().with_timezone(&Utc)
    }

    #[test]
    fn times_dates_and_ages_are_read() {
        assert_eq!(parse_moment("2026-12-01T09:30:00+01:00", now()).unwrap(), "2026-12-01T08:30:00Z");
        assert_eq!(parse_moment("2026-11-30", now()).unwrap(), "2026-11-30T23:59:59Z");
        assert_eq!(parse_moment("3 days ago", now()).unwrap(), "2026-11-29T12:00:00Z");
        assert_eq!(parse_moment("1 hour ago", now()).unwrap(), "2026-12-02T11:00:00Z");
        assert_eq!(parse_moment("2 weeks ago", now()).unwrap(), "2026-11-18T12:00:00Z");
    }

    #[test]
    fn anything_else_is_refused_with_the_forms_that_work() {
        for bad in ["yesterday", "3 days", "days ago", "3 fortnights ago", "-1 days ago", "2026-13-01"] {
            let e = parse_moment(bad, now()).unwrap_err();
            assert!(e.contains("3 days ago"), "{bad}: {e}");
        }
    }
}
