//! Which rules a run selects (`--only`, `--skip`: exact ids or globs) and the per-rule seeds
//! derived from the run's seed.

use crate::spec::{Catalogue, Rule};

/// Why a selection is unusable (bad input, exit 2).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SelectionError {
    /// An `--only`/`--skip` pattern matches no rule id.
    #[error("`{0}` matches no rule id; `authprobe validate` lists the catalogue's rules")]
    NoMatch(String),
    /// The patterns leave no rule to run.
    #[error("the selection leaves no rule to run")]
    Empty,
    /// An `--only`/`--skip` pattern `id@mode` names a mode the profile does not have.
    #[error("`{pattern}` names no auth mode of the profile ({known})")]
    UnknownMode {
        /// The pattern as given.
        pattern: String,
        /// The profile's modes in words.
        known: String,
    },
}

/// Matches `text` against a glob with `*` (any run) and `?` (one char).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0usize, 0usize, None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// The rules `only` and `skip` select, in catalogue order.
pub fn select<'a>(
    catalogue: &'a Catalogue,
    only: &[String],
    skip: &[String],
) -> Result<Vec<&'a Rule>, SelectionError> {
    for pat in only.iter().chain(skip) {
        if !catalogue.rules.iter().any(|r| glob_match(pat, &r.id)) {
            return Err(SelectionError::NoMatch(pat.clone()));
        }
    }
    let rules: Vec<&Rule> = catalogue
        .rules
        .iter()
        .filter(|r| only.is_empty() || only.iter().any(|p| glob_match(p, &r.id)))
        .filter(|r| !skip.iter().any(|p| glob_match(p, &r.id)))
        .collect();
    if rules.is_empty() {
        return Err(SelectionError::Empty);
    }
    Ok(rules)
}

/// A stable 64-bit hash (FNV-1a) used to derive per-rule seeds.
pub fn seed_for(seed: u64, rule_id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in rule_id.bytes().chain(seed.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_like_a_shell() {
        assert!(glob_match("cookie.*", "cookie.secure"));
        assert!(glob_match("*.secure", "cookie.secure"));
        assert!(glob_match("session.?paque-id", "session.opaque-id"));
        assert!(!glob_match("cookie.*", "session.opaque-id"));
        assert!(glob_match("cookie.secure", "cookie.secure"));
        assert!(!glob_match("cookie.secur", "cookie.secure"));
    }

    #[test]
    fn per_rule_seeds_differ_and_are_stable() {
        assert_eq!(seed_for(1, "a.b"), seed_for(1, "a.b"));
        assert_ne!(seed_for(1, "a.b"), seed_for(2, "a.b"));
        assert_ne!(seed_for(1, "a.b"), seed_for(1, "a.c"));
    }
}
