//! Cookie dates: the RFC 6265bis §5.1.1 `cookie-date` parser and an IMF-fixdate formatter.
//!
//! The calendar arithmetic (days ↔ civil dates) is `units::civil`'s. It must not consult the
//! clock, allocate while parsing, or panic on any input.

use crate::units::civil::{civil_from_days, days_from_civil};

/// Seconds in a day.
const DAY: i64 = 86_400;

/// `0001-01-01T00:00:00Z`, the earliest instant [`format_http_date`] renders.
pub const MIN_HTTP_DATE: i64 = -62_135_596_800;

/// `9999-12-31T23:59:59Z`, the latest instant [`format_http_date`] renders.
pub const MAX_HTTP_DATE: i64 = 253_402_300_799;

/// `1601-01-01T00:00:00Z`: the earliest date a cookie-date can denote (§5.1.1 rejects years
/// before 1601). Used as the "earliest representable date" for `Max-Age<=0`.
pub const EARLIEST_COOKIE_DATE: i64 = -11_644_473_600;

/// Parses a cookie date with the RFC 6265bis §5.1.1 algorithm and returns Unix seconds (UTC).
///
/// Tokens are split on the §5.1.1 delimiters; the first token matching each of time,
/// day-of-month, month and year (tried in that order) is used. Two-digit years 70-99 map to
/// 19xx and 0-69 to 20xx. Fails (returns `None`) when a part is missing, out of range
/// (day 1-31, hour ≤ 23, minute/second ≤ 59, year ≥ 1601) or the date does not exist
/// (e.g. 30 February).
///
/// ```
/// use authprobe::cookie::parse_cookie_date;
/// assert_eq!(parse_cookie_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
/// assert_eq!(parse_cookie_date("Sun Nov  6 08:49:37 1994"), Some(784_111_777));
/// assert_eq!(parse_cookie_date("30 Feb 2021 00:00:00"), None);
/// ```
pub fn parse_cookie_date(s: &str) -> Option<i64> {
    let mut time: Option<(u32, u32, u32)> = None;
    let mut day: Option<u32> = None;
    let mut month: Option<u32> = None;
    let mut year: Option<u32> = None;

    for token in s.as_bytes().split(|&b| is_delimiter(b)) {
        if token.is_empty() {
            continue;
        }
        if time.is_none()
            && let Some(t) = match_time(token)
        {
            time = Some(t);
        } else if day.is_none()
            && let Some(d) = leading_digits(token, 1, 2)
        {
            day = Some(d);
        } else if month.is_none()
            && let Some(m) = match_month(token)
        {
            month = Some(m);
        } else if year.is_none()
            && let Some(y) = leading_digits(token, 2, 4)
        {
            year = Some(y);
        }
    }

    let (hour, minute, second) = time?;
    let day = day?;
    let month = month?;
    let mut year = year?;
    if (70..=99).contains(&year) {
        year += 1900;
    } else if year <= 69 {
        year += 2000;
    }
    if !(1..=31).contains(&day) || year < 1601 || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    if day > days_in_month(i64::from(year), month) {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    Some(days * DAY + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second))
}

/// Formats Unix seconds as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
///
/// Values outside year 1..=9999 are clamped to [`MIN_HTTP_DATE`] / [`MAX_HTTP_DATE`] so that
/// the year always has four digits; never panics.
pub fn format_http_date(unix: i64) -> String {
    String::from_utf8_lossy(&http_date_bytes(unix)).into_owned()
}

/// The IMF-fixdate of `unix` (clamped to years 0001–9999) as its 29 ASCII bytes, without
/// allocating; [`format_http_date`] is this as a `String`.
pub fn http_date_bytes(unix: i64) -> [u8; 29] {
    let t = unix.clamp(MIN_HTTP_DATE, MAX_HTTP_DATE);
    let days = t.div_euclid(DAY);
    let secs = t.rem_euclid(DAY);
    let (y, m, d) = civil_from_days(days);
    const WEEKDAYS: [&[u8; 3]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    // 1970-01-01 was a Thursday (index 4).
    let weekday = WEEKDAYS
        .get(usize::try_from((days + 4).rem_euclid(7)).unwrap_or(0))
        .copied()
        .unwrap_or(b"Sun");
    let month = MONTHS
        .get(usize::try_from(m.saturating_sub(1)).unwrap_or(0))
        .copied()
        .unwrap_or(b"Jan");
    let digit = |v: i64, place: i64| b'0' + (v / place % 10) as u8;
    let (h, mi, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let d = i64::from(d);
    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    out[..3].copy_from_slice(weekday);
    out[5] = digit(d, 10);
    out[6] = digit(d, 1);
    out[8..11].copy_from_slice(month);
    out[12] = digit(y, 1000);
    out[13] = digit(y, 100);
    out[14] = digit(y, 10);
    out[15] = digit(y, 1);
    out[17] = digit(h, 10);
    out[18] = digit(h, 1);
    out[20] = digit(mi, 10);
    out[21] = digit(mi, 1);
    out[23] = digit(s, 10);
    out[24] = digit(s, 1);
    out
}

/// `delimiter = %x09 / %x20-2F / %x3B-40 / %x5B-60 / %x7B-7E`
fn is_delimiter(b: u8) -> bool {
    matches!(b, 0x09 | 0x20..=0x2F | 0x3B..=0x40 | 0x5B..=0x60 | 0x7B..=0x7E)
}

/// Matches `min*maxDIGIT [ non-digit *OCTET ]` and returns the digits' value.
fn leading_digits(token: &[u8], min: usize, max: usize) -> Option<u32> {
    digits(token, min, max).map(|(value, _)| value)
}

/// Consumes all leading digits; succeeds when their count is within `min..=max`.
fn digits(token: &[u8], min: usize, max: usize) -> Option<(u32, &[u8])> {
    let n = token.iter().take_while(|b| b.is_ascii_digit()).count();
    if n < min || n > max {
        return None;
    }
    let (head, rest) = token.split_at_checked(n)?;
    let value = head
        .iter()
        .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'));
    Some((value, rest))
}

/// `time = hms-time [ non-digit *OCTET ]`, `hms-time = time-field ":" time-field ":" time-field`.
fn match_time(token: &[u8]) -> Option<(u32, u32, u32)> {
    let (h, rest) = digits(token, 1, 2)?;
    let rest = rest.strip_prefix(b":")?;
    let (m, rest) = digits(rest, 1, 2)?;
    let rest = rest.strip_prefix(b":")?;
    let (s, _) = digits(rest, 1, 2)?;
    Some((h, m, s))
}

/// `month = ( "jan" / ... / "dec" ) *OCTET`, case-insensitive.
fn match_month(token: &[u8]) -> Option<u32> {
    const NAMES: [&[u8; 3]; 12] = [
        b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
        b"dec",
    ];
    let prefix = token.get(..3)?;
    NAMES
        .iter()
        .position(|name| prefix.eq_ignore_ascii_case(&name[..]))
        .and_then(|i| u32::try_from(i + 1).ok())
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOV_6_1994: i64 = 784_111_777;

    #[test]
    fn parses_imf_fixdate() {
        assert_eq!(
            parse_cookie_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(NOV_6_1994)
        );
    }

    #[test]
    fn parses_rfc850_date_with_two_digit_year() {
        assert_eq!(
            parse_cookie_date("Sunday, 06-Nov-94 08:49:37 GMT"),
            Some(NOV_6_1994)
        );
    }

    #[test]
    fn parses_asctime_date() {
        assert_eq!(
            parse_cookie_date("Sun Nov  6 08:49:37 1994"),
            Some(NOV_6_1994)
        );
    }

    #[test]
    fn parses_rfc6265bis_example_expires() {
        // §3.1: lang=en-US; Expires=Wed, 09 Jun 2021 10:18:14 GMT
        assert_eq!(
            parse_cookie_date("Wed, 09 Jun 2021 10:18:14 GMT"),
            Some(1_623_233_894)
        );
    }

    #[test]
    fn token_order_does_not_matter() {
        assert_eq!(parse_cookie_date("1994 Nov 08:49:37 6"), Some(NOV_6_1994));
        assert_eq!(parse_cookie_date("08:49:37 06-nOV-1994"), Some(NOV_6_1994));
    }

    #[test]
    fn weekday_is_ignored_even_if_wrong() {
        assert_eq!(
            parse_cookie_date("Mon, 06 Nov 1994 08:49:37 GMT"),
            Some(NOV_6_1994)
        );
    }

    #[test]
    fn two_digit_years_map_to_1970_through_2069() {
        assert_eq!(parse_cookie_date("01 Jan 70 00:00:00"), Some(0));
        assert_eq!(
            parse_cookie_date("01 Jan 69 00:00:00"),
            Some(days_from_civil(2069, 1, 1) * DAY)
        );
        assert_eq!(
            parse_cookie_date("01 Jan 00 00:00:00"),
            Some(days_from_civil(2000, 1, 1) * DAY)
        );
    }

    #[test]
    fn trailing_garbage_after_digits_is_allowed_by_grammar() {
        // day-of-month = 1*2DIGIT [ non-digit *OCTET ]; time likewise.
        assert_eq!(
            parse_cookie_date("06th Nov 1994 08:49:37xyz"),
            Some(NOV_6_1994)
        );
    }

    #[test]
    fn rejects_missing_parts() {
        assert_eq!(parse_cookie_date(""), None);
        assert_eq!(parse_cookie_date("Sun, 06 Nov 1994"), None);
        assert_eq!(parse_cookie_date("06 Nov 08:49:37"), None);
        assert_eq!(parse_cookie_date("06 1994 08:49:37"), None);
        assert_eq!(parse_cookie_date("tomorrow"), None);
    }

    #[test]
    fn rejects_out_of_range_fields() {
        assert_eq!(parse_cookie_date("32 Nov 1994 08:49:37"), None);
        assert_eq!(parse_cookie_date("00 Nov 1994 08:49:37"), None);
        assert_eq!(parse_cookie_date("06 Nov 1994 24:00:00"), None);
        assert_eq!(parse_cookie_date("06 Nov 1994 23:60:00"), None);
        assert_eq!(parse_cookie_date("06 Nov 1994 23:59:60"), None);
        assert_eq!(parse_cookie_date("06 Nov 1600 08:49:37"), None);
    }

    #[test]
    fn rejects_nonexistent_calendar_dates() {
        assert_eq!(parse_cookie_date("30 Feb 2021 00:00:00"), None);
        assert_eq!(parse_cookie_date("29 Feb 2021 00:00:00"), None);
        assert_eq!(parse_cookie_date("31 Apr 2021 00:00:00"), None);
        assert!(parse_cookie_date("29 Feb 2024 00:00:00").is_some());
        assert!(parse_cookie_date("29 Feb 2000 00:00:00").is_some());
        assert_eq!(parse_cookie_date("29 Feb 1900 00:00:00"), None);
    }

    #[test]
    fn rejects_three_digit_time_fields_and_five_digit_years() {
        assert_eq!(parse_cookie_date("06 Nov 1994 108:49:37"), None);
        assert_eq!(parse_cookie_date("06 Nov 19940 08:49:37"), None);
    }

    #[test]
    fn earliest_cookie_date_is_1601() {
        assert_eq!(
            parse_cookie_date("Mon, 01 Jan 1601 00:00:00 GMT"),
            Some(EARLIEST_COOKIE_DATE)
        );
    }

    #[test]
    fn agrees_with_httpdate_on_standard_formats() {
        for s in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Thu, 01 Jan 1970 00:00:00 GMT",
            "Fri, 31 Dec 9999 23:59:59 GMT",
        ] {
            let expected = httpdate::parse_http_date(s)
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .and_then(|d| i64::try_from(d.as_secs()).ok());
            assert_eq!(parse_cookie_date(s), expected, "{s}");
        }
    }

    #[test]
    fn formats_imf_fixdate() {
        assert_eq!(
            format_http_date(NOV_6_1994),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            format_http_date(EARLIEST_COOKIE_DATE),
            "Mon, 01 Jan 1601 00:00:00 GMT"
        );
        assert_eq!(format_http_date(-1), "Wed, 31 Dec 1969 23:59:59 GMT");
    }

    #[test]
    fn format_agrees_with_httpdate_and_round_trips() {
        let mut t: i64 = 0;
        while t < MAX_HTTP_DATE {
            let st = std::time::UNIX_EPOCH + std::time::Duration::from_secs(t as u64);
            let s = format_http_date(t);
            assert_eq!(s, httpdate::fmt_http_date(st));
            assert_eq!(parse_cookie_date(&s), Some(t));
            t = t * 3 + 12_345_677;
        }
    }

    #[test]
    fn format_clamps_extreme_values_without_panicking() {
        assert_eq!(format_http_date(i64::MIN), "Mon, 01 Jan 0001 00:00:00 GMT");
        assert_eq!(format_http_date(i64::MAX), "Fri, 31 Dec 9999 23:59:59 GMT");
    }
}
