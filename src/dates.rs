//! Reading the dates and times scrapers write, and formatting times for output.
//! Owns the accepted shapes; never guesses a time zone other than UTC.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;

/// Reads a point in time: RFC 3339 / ISO 8601 with or without an offset (without one
/// it is taken as UTC), `YYYY-MM-DD HH:MM[:SS]`, a bare date (midnight UTC), or Unix seconds.
pub fn parse_timestamp(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Some(ts);
    }
    if let Ok(zoned) = text.parse::<jiff::Zoned>() {
        return Some(zoned.timestamp());
    }
    let civil = text.replacen(' ', "T", 1);
    if let Ok(dt) = civil.parse::<DateTime>() {
        return dt.to_zoned(TimeZone::UTC).ok().map(|z| z.timestamp());
    }
    if let Some(date) = parse_date(text) {
        return date.to_zoned(TimeZone::UTC).ok().map(|z| z.timestamp());
    }
    if text.len() >= 9 && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<i64>().ok().and_then(|s| Timestamp::from_second(s).ok());
    }
    None
}

/// Reads the end of a range, as `--until` takes it: a bare ISO date (`2017-08-20`) means
/// the whole of that day, so its last second (UTC); anything else is the point in time
/// [`parse_timestamp`] reads.
pub fn parse_range_end(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    // jiff reads a date-time without an offset as its date: only `YYYY-MM-DD` is a day.
    let bare_date = text.len() == 10 && text.as_bytes()[4] == b'-' && text.as_bytes()[7] == b'-';
    match text.parse::<Date>().ok().filter(|_| bare_date) {
        Some(date) => {
            let next_day = date.tomorrow().ok()?.to_zoned(TimeZone::UTC).ok()?.timestamp();
            Timestamp::from_second(next_day.as_second() - 1).ok()
        }
        None => parse_timestamp(text),
    }
}

/// Reads a calendar date: ISO (`2017-10-14`, possibly followed by a time), or a written
/// date in English or Swedish ("October 14, 2017", "14 Oct 2017", "lördag 19 augusti 2017").
pub fn parse_date(text: &str) -> Option<Date> {
    let text = text.trim();
    if let Some(iso) = text.get(..10).and_then(|d| d.parse::<Date>().ok()) {
        return Some(iso);
    }
    let mut day = None;
    let mut month = None;
    let mut year = None;
    for token in text.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty()) {
        if let Ok(n) = token.parse::<i16>() {
            if token.len() == 4 && year.is_none() {
                year = Some(n);
            } else if (1..=31).contains(&n) && day.is_none() {
                day = Some(n as i8);
            }
        } else if month.is_none() {
            month = month_number(&token.to_lowercase());
        }
    }
    Date::new(year?, month?, day?).ok()
}

fn month_number(name: &str) -> Option<i8> {
    const MONTHS: [[&str; 2]; 12] = [
        ["january", "januari"],
        ["february", "februari"],
        ["march", "mars"],
        ["april", "april"],
        ["may", "maj"],
        ["june", "juni"],
        ["july", "juli"],
        ["august", "augusti"],
        ["september", "september"],
        ["october", "oktober"],
        ["november", "november"],
        ["december", "december"],
    ];
    MONTHS
        .iter()
        .position(|names| {
            names.iter().any(|full| {
                *full == name || (name.len() >= 3 && name.len() < full.len() && full.starts_with(name))
            })
        })
        .map(|i| i as i8 + 1)
}

/// The form a published date is stored in: RFC 3339 in UTC for a time, `YYYY-MM-DD`
/// for a date, or the text as found when it cannot be read.
pub fn normalize_published(text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let looks_like_date_only = parse_date(text).is_some() && !text.contains(':');
    if looks_like_date_only {
        return parse_date(text).map(|d| d.to_string());
    }
    Some(parse_timestamp(text).map(|ts| format_time(ts.as_second())).unwrap_or_else(|| text.to_string()))
}

/// Formats Unix seconds as RFC 3339 in UTC (`2017-08-19T05:00:05Z`).
pub fn format_time(seconds: i64) -> String {
    Timestamp::from_second(seconds).map(|ts| ts.to_string()).unwrap_or_else(|_| seconds.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_shapes_scrapers_write() {
        let utc = |s| parse_timestamp(s).map(|t| t.as_second());
        assert_eq!(utc("2017-08-19T05:00:05Z"), Some(1503118805));
        assert_eq!(utc("2017-08-19T07:00:05+02:00"), Some(1503118805));
        assert_eq!(utc("2017-08-19 05:00:05"), Some(1503118805));
        assert_eq!(utc("2017-08-19"), Some(1503100800));
        assert_eq!(utc("not a date"), None);
    }

    #[test]
    fn a_range_ends_with_the_whole_of_a_bare_date() {
        let end = |s| parse_range_end(s).map(|t| t.as_second());
        assert_eq!(end("2017-08-19"), Some(1503100800 + 86_400 - 1));
        assert_eq!(end("2017-08-19T05:00:05Z"), Some(1503118805));
        assert_eq!(end("2017-08-19T05:00:05"), Some(1503118805), "no offset is UTC, still a point");
        assert_eq!(end("2017-08-19 05:00"), Some(1503118800));
        assert_eq!(end("2017-08-19T07:00:05+02:00"), Some(1503118805));
        assert_eq!(end("2017-12-31"), parse_timestamp("2018-01-01").map(|t| t.as_second() - 1));
        assert_eq!(end("not a date"), None);
    }

    #[test]
    fn reads_written_dates() {
        assert_eq!(parse_date("October 14, 2017"), Some(jiff::civil::date(2017, 10, 14)));
        assert_eq!(parse_date("lördag 19 augusti 2017"), Some(jiff::civil::date(2017, 8, 19)));
        assert_eq!(parse_date("14 Oct 2017"), Some(jiff::civil::date(2017, 10, 14)));
        assert_eq!(parse_date("Mejla"), None);
    }

    #[test]
    fn published_is_stored_in_one_form() {
        assert_eq!(normalize_published("October 14, 2017").as_deref(), Some("2017-10-14"));
        assert_eq!(normalize_published("2017-10-14T10:00:00+02:00").as_deref(), Some("2017-10-14T08:00:00Z"));
        assert_eq!(normalize_published("sometime").as_deref(), Some("sometime"));
        assert_eq!(normalize_published("  "), None);
    }
}
