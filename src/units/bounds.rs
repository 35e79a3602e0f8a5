//! The documented ranges of the numeric run limits ([`Bounds`]): request rate, request
//! budget, timeout, concurrency, fuzz duration and the longest wait for a token to expire.
//! The command line's value parsers and the profile and spec checks refuse a value outside
//! its range with the same words, so nothing downstream meets a rate of `1e-300` or a
//! duration that overflows the clock.

use super::Seconds;

/// The inclusive range of one numeric limit and the unit it is counted in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds<T> {
    /// The smallest value accepted.
    pub min: T,
    /// The largest value accepted.
    pub max: T,
    /// What the number counts, e.g. `requests per second` (empty for durations).
    pub unit: &'static str,
}

/// `--max-rps`, `limits.max_rps`: 0.01 (one request every 100 s) to 10 000 requests per second.
pub const MAX_RPS: Bounds<f64> = Bounds {
    min: 0.01,
    max: 10_000.0,
    unit: "requests per second",
};

/// `--max-requests`, `limits.max_requests`: 1 to 100 000 000 requests.
pub const MAX_REQUESTS: Bounds<u64> = Bounds {
    min: 1,
    max: 100_000_000,
    unit: "requests",
};

/// `--timeout`, `limits.timeout`: 1 s to 1 h per request.
pub const TIMEOUT: Bounds<Seconds> = Bounds {
    min: Seconds(1),
    max: Seconds(3600),
    unit: "",
};

/// `check --concurrency`, `limits.concurrency`: 1 to 256 rules in flight.
pub const CONCURRENCY: Bounds<u64> = Bounds {
    min: 1,
    max: 256,
    unit: "rules at once",
};

/// `fuzz --concurrency`: 1 to 32 requests in flight.
pub const FUZZ_CONCURRENCY: Bounds<u64> = Bounds {
    min: 1,
    max: 32,
    unit: "requests at once",
};

/// `fuzz --duration`: 1 s to 7 days.
pub const FUZZ_DURATION: Bounds<Seconds> = Bounds {
    min: Seconds(1),
    max: Seconds(7 * 86_400),
    unit: "",
};

/// `--budget`, `limits.budget`: 10 s to 1 day for a whole run.
pub const BUDGET: Bounds<Seconds> = Bounds {
    min: Seconds(10),
    max: Seconds(86_400),
    unit: "",
};

/// `--max-wait`, `policy.max_wait`: 0 s to 1 day of waiting for a real token to expire.
pub const MAX_WAIT: Bounds<Seconds> = Bounds {
    min: Seconds(0),
    max: Seconds(86_400),
    unit: "",
};

impl<T: PartialOrd + Copy + Shown> Bounds<T> {
    /// The value when it is within the range (NaN never is), else what is wrong in words,
    /// e.g. `1e-300 is out of range: give 0.01 to 10000 requests per second`.
    pub fn check(&self, value: T) -> Result<T, String> {
        if self.min <= value && value <= self.max {
            Ok(value)
        } else {
            Err(format!(
                "{} is out of range: give {}",
                value.shown(),
                self.range()
            ))
        }
    }

    /// The range in words, e.g. `0.01 to 10000 requests per second` or `1s to 7d`.
    pub fn range(&self) -> String {
        let unit = if self.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", self.unit)
        };
        format!("{} to {}{unit}", self.min.shown(), self.max.shown())
    }
}

/// How a limit's value is written in a message.
pub trait Shown {
    /// The value as a person would write it: `0.01`, `1e-300`, `15m`.
    fn shown(&self) -> String;
}

impl Shown for u64 {
    fn shown(&self) -> String {
        self.to_string()
    }
}

impl Shown for Seconds {
    fn shown(&self) -> String {
        self.to_string()
    }
}

impl Shown for f64 {
    fn shown(&self) -> String {
        let a = self.abs();
        if a != 0.0 && a.is_finite() && !(1e-4..1e9).contains(&a) {
            format!("{self:e}")
        } else {
            format!("{self}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_inside_are_kept_and_outside_are_refused_in_words() {
        assert_eq!(MAX_RPS.check(0.01), Ok(0.01));
        assert_eq!(MAX_RPS.check(10_000.0), Ok(10_000.0));
        assert_eq!(
            MAX_RPS.check(1e-300).unwrap_err(),
            "1e-300 is out of range: give 0.01 to 10000 requests per second"
        );
        for bad in [f64::NAN, f64::INFINITY, -1.0, 0.0, 1e-19, 1e300] {
            assert!(MAX_RPS.check(bad).is_err(), "{bad}");
        }
        assert!(MAX_REQUESTS.check(0).is_err());
        assert_eq!(
            FUZZ_DURATION
                .check(Seconds(5_000_000_000_000_000 * 3600))
                .unwrap_err(),
            "5000000000000000h is out of range: give 1s to 7d"
        );
        assert_eq!(
            TIMEOUT.check(Seconds(0)).unwrap_err(),
            "0s is out of range: give 1s to 1h"
        );
        assert_eq!(MAX_WAIT.check(Seconds(0)), Ok(Seconds(0)));
    }

    /// Every accepted rate gives a spacing between requests that fits a `Duration`, and every
    /// accepted duration fits an `Instant` added to now.
    #[test]
    fn every_accepted_value_fits_the_clock() {
        let spacing = std::time::Duration::try_from_secs_f64(1.0 / MAX_RPS.min).unwrap();
        assert!(std::time::Instant::now().checked_add(spacing).is_some());
        for max in [FUZZ_DURATION.max, TIMEOUT.max, MAX_WAIT.max] {
            let d = std::time::Duration::from_secs(max.0);
            assert!(std::time::Instant::now().checked_add(d).is_some());
        }
    }
}
