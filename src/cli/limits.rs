//! clap value parsers for the numeric limits of `check`, `demo` and `fuzz`: each flag is
//! parsed and range-checked where it is read, against the library's documented ranges
//! ([`authprobe::profile::bounds`]), so a value outside its range is a usage error (exit 2)
//! that names the flag and the range, and nothing later meets it.

use authprobe::profile::bounds::{self, Bounds};
use authprobe::spec::Seconds;

/// `--max-rps N`: a decimal number within [`bounds::MAX_RPS`].
pub fn max_rps(s: &str) -> Result<f64, String> {
    let n: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number; give e.g. 10 or 0.5"))?;
    bounds::MAX_RPS.check(n)
}

/// `--max-requests N` within [`bounds::MAX_REQUESTS`].
pub fn max_requests(s: &str) -> Result<u64, String> {
    whole(s, &bounds::MAX_REQUESTS)
}

/// `check --concurrency N` within [`bounds::CONCURRENCY`].
pub fn concurrency(s: &str) -> Result<u16, String> {
    whole(s, &bounds::CONCURRENCY).map(|n| u16::try_from(n).unwrap_or(u16::MAX))
}

/// `fuzz --concurrency N` within [`bounds::FUZZ_CONCURRENCY`].
pub fn fuzz_concurrency(s: &str) -> Result<u16, String> {
    whole(s, &bounds::FUZZ_CONCURRENCY).map(|n| u16::try_from(n).unwrap_or(u16::MAX))
}

/// `--timeout SECONDS` (or `30s`, `1m`) within [`bounds::TIMEOUT`].
pub fn timeout(s: &str) -> Result<Seconds, String> {
    duration(s, &bounds::TIMEOUT)
}

/// `--budget` (`60s`, `5m`) within [`bounds::BUDGET`].
pub fn budget(s: &str) -> Result<Seconds, String> {
    duration(s, &bounds::BUDGET)
}

/// `--max-wait SECONDS` (or `90s`, `5m`) within [`bounds::MAX_WAIT`].
pub fn max_wait(s: &str) -> Result<Seconds, String> {
    duration(s, &bounds::MAX_WAIT)
}

/// `fuzz --duration` (`30s`, `10m`, `1h`) within [`bounds::FUZZ_DURATION`].
pub fn fuzz_duration(s: &str) -> Result<Seconds, String> {
    duration(s, &bounds::FUZZ_DURATION)
}

/// `--login-delay` of the testbed: `150ms`, `1s` (or whole seconds), 1 ms to 60 s.
pub fn login_delay(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let ms = match t.strip_suffix("ms") {
        Some(n) => n.trim().parse::<u64>().ok(),
        None => Seconds::parse(t).map(|d| d.0.saturating_mul(1000)),
    };
    match ms {
        Some(ms) if (1..=60_000).contains(&ms) => Ok(std::time::Duration::from_millis(ms)),
        Some(_) => Err(format!("{t} is out of range: give 1ms to 60s")),
        None => Err(format!("`{t}` is not a duration; give e.g. 150ms or 1s")),
    }
}

/// A whole number within `b`.
fn whole(s: &str, b: &Bounds<u64>) -> Result<u64, String> {
    let n: u64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number; give {}", b.range()))?;
    b.check(n)
}

/// A duration (seconds, or a number with s, m, h, d or w) within `b`.
fn duration(s: &str, b: &Bounds<Seconds>) -> Result<Seconds, String> {
    let d = Seconds::parse(s).ok_or_else(|| {
        format!(
            "`{s}` is not a duration; give e.g. 30s, 10m or 1h ({})",
            b.range()
        )
    })?;
    b.check(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_from_the_issue_are_refused_with_the_range() {
        assert_eq!(
            max_rps("1e-19").unwrap_err(),
            "1e-19 is out of range: give 0.01 to 10000 requests per second"
        );
        assert!(max_rps("1e-300").is_err());
        assert!(max_rps("NaN").is_err());
        assert!(max_rps("inf").is_err());
        assert!(max_rps("ten").unwrap_err().contains("not a number"));
        assert_eq!(
            fuzz_duration("5000000000000000h").unwrap_err(),
            "5000000000000000h is out of range: give 1s to 7d"
        );
        assert!(fuzz_duration("0s").is_err());
        assert!(fuzz_duration("99999999999999999999d").is_err());
        assert_eq!(
            max_requests("0").unwrap_err(),
            "0 is out of range: give 1 to 100000000 requests"
        );
        assert!(
            max_requests("-1")
                .unwrap_err()
                .contains("not a whole number")
        );
        assert!(timeout("0").is_err());
        assert!(concurrency("257").is_err());
        assert!(fuzz_concurrency("33").is_err());
    }

    #[test]
    fn values_in_range_are_kept() {
        assert_eq!(max_rps("0.5"), Ok(0.5));
        assert_eq!(max_requests("10000"), Ok(10_000));
        assert_eq!(timeout("10"), Ok(Seconds(10)));
        assert_eq!(timeout("1m"), Ok(Seconds(60)));
        assert_eq!(max_wait("0"), Ok(Seconds(0)));
        assert_eq!(fuzz_duration("10m"), Ok(Seconds(600)));
        assert_eq!(concurrency("256"), Ok(256));
        assert_eq!(fuzz_concurrency("1"), Ok(1));
        assert_eq!(
            login_delay("150ms"),
            Ok(std::time::Duration::from_millis(150))
        );
        assert_eq!(login_delay("1s"), Ok(std::time::Duration::from_secs(1)));
        assert!(login_delay("0ms").unwrap_err().contains("out of range"));
        assert!(login_delay("2m").unwrap_err().contains("out of range"));
        assert!(login_delay("soon").unwrap_err().contains("not a duration"));
    }
}
