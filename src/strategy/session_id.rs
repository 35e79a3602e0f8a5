//! The session-id mutation strategy and its hand-written value tree.
//!
//! A value is a short list of *raw* mutations (numbers: a position, a bit, an ordinal in the
//! alphabet) resolved against the id as it stands when each applies. Resolution makes every
//! raw mutation valid by construction (a substitute never repeats the replaced character, a
//! case flip always lands on a letter, a bit flip always gives a cookie-octet), so the tree
//! needs no `prop_filter`, whose value tree panics when it cannot complicate back.
//!
//! The tree shrinks greedily, one candidate per `simplify`/`complicate` call, because each
//! candidate costs the engine a live request: first it drops mutations (never below one),
//! then, mutation by mutation, it binary-searches each parameter toward its minimum, trying
//! the minimum itself first. Candidates that would be invalid (equal to the original, empty,
//! not cookie-octets) are skipped without being shown.

use std::collections::BTreeSet;
use std::sync::Arc;

use proptest::strategy::{BoxedStrategy, NewTree, Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use serde::Serialize;

use super::mutation::{
    Mutation, MutationKind, flip_bit, flip_case, is_cookie_octet, is_cookie_octet_string, locate,
};

/// A mutated session id and the mutations that produced it from the original.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MutatedId {
    /// The mutations, in the order [`apply`](super::apply) applies them; never empty.
    pub mutations: Vec<Mutation>,
    /// `apply(original, &mutations)`: differs from the original, is non-empty and, when the
    /// original is a cookie-octet string, is one too.
    pub value: String,
}

impl MutatedId {
    /// Describes every mutation against the id it applied to, joined with `, then `,
    /// e.g. `flip the case of 'q' at position 3`. Never includes the id itself.
    pub fn describe(&self, original: &str) -> String {
        let mut chars: Vec<char> = original.chars().collect();
        let mut parts = Vec::with_capacity(self.mutations.len());
        for mutation in &self.mutations {
            let before: String = chars.iter().collect();
            parts.push(mutation.describe(&before));
            mutation.apply_to(&mut chars);
        }
        parts.join(", then ")
    }
}

const BASE64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const BASE64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const HEX_LOWER: &str = "0123456789abcdef";
const HEX_UPPER: &str = "0123456789ABCDEF";
const MAX_SUFFIX: usize = 8;
const BITS: u8 = 6;
/// Bound on candidates examined in one `simplify`/`complicate` call.
const SEARCH_GUARD: usize = 100_000;
/// Bound on fresh draws before falling back to a one-character extension.
const DRAW_ATTEMPTS: usize = 32;

/// The alphabet substitutions and extensions draw from, in shrink order (shrinking moves
/// toward the first character). Hex ids get the hex digits in the id's case
/// (`0-9a-f`), base64url ids `A-Za-z0-9-_`, standard base64 ids `A-Za-z0-9+/`; then
/// every other cookie-octet of the id in code-point order. Never empty: an id with no
/// cookie-octet at all gets the base64url alphabet.
pub fn id_alphabet(original: &str) -> Vec<char> {
    let all = |set: &str| !original.is_empty() && original.chars().all(|c| set.contains(c));
    let base: String = if all("0123456789abcdefABCDEF") {
        let upper = original.chars().any(|c| c.is_ascii_uppercase());
        let lower = original.chars().any(|c| c.is_ascii_lowercase());
        match (lower, upper) {
            (false, true) => HEX_UPPER.to_owned(),
            (true, true) => format!("{HEX_LOWER}ABCDEF"),
            _ => HEX_LOWER.to_owned(),
        }
    } else if all(BASE64URL) {
        BASE64URL.to_owned()
    } else if all(&format!("{BASE64}=")) {
        BASE64.to_owned()
    } else {
        String::new()
    };
    let mut alphabet: Vec<char> = base.chars().collect();
    let extra: BTreeSet<char> = original
        .chars()
        .filter(|&c| is_cookie_octet(c) && !alphabet.contains(&c))
        .collect();
    alphabet.extend(extra);
    if alphabet.is_empty() {
        alphabet = BASE64URL.chars().collect();
    }
    alphabet
}

/// A strategy of mutated versions of `original`: each value applies 1 to `max_mutations`
/// mutations of the given `kinds`, and shrinks toward fewer mutations, earlier positions,
/// shorter suffixes, shorter truncations, lower bits and earlier alphabet characters.
///
/// Every value differs from `original`, is non-empty and, when `original` is a cookie-octet
/// string, is one too — also every value reached while shrinking. Substitutions and
/// extensions draw from [`id_alphabet`]. A bit flip that would equal a case flip is reported
/// as a [`Mutation::CaseFlip`] when `kinds` allows case flips.
///
/// Degenerate inputs still give a working strategy: `max_mutations` of 0 counts as 1; when
/// `kinds` is empty, or none of them applies to the id at that step (a case flip on an id
/// without letters, a truncation of a one-character id, anything but an extension of the
/// empty id), the step appends characters instead. Shrinking follows proptest's protocol;
/// once `simplify` or `complicate` returns `false`, `current()` is the last value that was
/// `simplify`'d from, i.e. the smallest failing one.
pub fn session_id_mutations(
    original: &str,
    kinds: &[MutationKind],
    max_mutations: usize,
) -> BoxedStrategy<MutatedId> {
    let mut unique: Vec<MutationKind> = Vec::new();
    for &kind in kinds {
        if !unique.contains(&kind) {
            unique.push(kind);
        }
    }
    let chars: Vec<char> = original.chars().collect();
    let ctx = Ctx {
        original: original.to_owned(),
        chars,
        alphabet: id_alphabet(original),
        case_flip_allowed: unique.contains(&MutationKind::CaseFlip),
        require_cookie_octets: is_cookie_octet_string(original),
    };
    SessionIdMutations {
        ctx: Arc::new(ctx),
        kinds: unique,
        max_mutations: max_mutations.max(1),
    }
    .boxed()
}

/// What every value of one strategy shares.
#[derive(Debug)]
struct Ctx {
    original: String,
    chars: Vec<char>,
    alphabet: Vec<char>,
    case_flip_allowed: bool,
    require_cookie_octets: bool,
}

/// A mutation as numbers, resolved against the id when it applies.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Raw {
    /// Position; lowest usable bit at or above `bit`, wrapping.
    BitFlip { index: usize, bit: u8 },
    /// Characters kept, mapped into `1..len`.
    Truncate { keep: usize },
    /// Ordinals in the alphabet.
    Extend { suffix: Vec<usize> },
    /// Ordinal among the id's ASCII letters.
    CaseFlip { letter: usize },
    /// Position; ordinal in the alphabet without the replaced character.
    Substitute { index: usize, with: usize },
}

impl Raw {
    fn kind(&self) -> MutationKind {
        match self {
            Raw::BitFlip { .. } => MutationKind::BitFlip,
            Raw::Truncate { .. } => MutationKind::Truncate,
            Raw::Extend { .. } => MutationKind::Extend,
            Raw::CaseFlip { .. } => MutationKind::CaseFlip,
            Raw::Substitute { .. } => MutationKind::Substitute,
        }
    }

    /// Number of shrinkable parameters, in shrink order.
    fn param_count(&self) -> usize {
        match self {
            Raw::BitFlip { .. } | Raw::Substitute { .. } => 2,
            Raw::Truncate { .. } | Raw::CaseFlip { .. } => 1,
            Raw::Extend { suffix } => 1 + suffix.len(),
        }
    }

    /// The smallest value of parameter `p`.
    fn param_min(&self, p: usize) -> usize {
        match (self, p) {
            (Raw::Truncate { .. }, 0) | (Raw::Extend { .. }, 0) => 1,
            _ => 0,
        }
    }

    fn param(&self, p: usize) -> usize {
        match (self, p) {
            (Raw::BitFlip { index, .. }, 0) | (Raw::Substitute { index, .. }, 0) => *index,
            (Raw::BitFlip { bit, .. }, _) => usize::from(*bit),
            (Raw::Truncate { keep }, _) => *keep,
            (Raw::Extend { suffix }, 0) => suffix.len(),
            (Raw::Extend { suffix }, p) => suffix.get(p - 1).copied().unwrap_or(0),
            (Raw::CaseFlip { letter }, _) => *letter,
            (Raw::Substitute { with, .. }, _) => *with,
        }
    }

    fn with_param(&self, p: usize, value: usize) -> Raw {
        let mut raw = self.clone();
        match (&mut raw, p) {
            (Raw::BitFlip { index, .. }, 0) | (Raw::Substitute { index, .. }, 0) => *index = value,
            (Raw::BitFlip { bit, .. }, _) => *bit = u8::try_from(value).unwrap_or(0),
            (Raw::Truncate { keep }, _) => *keep = value,
            (Raw::Extend { suffix }, 0) => suffix.truncate(value),
            (Raw::Extend { suffix }, p) => {
                if let Some(slot) = suffix.get_mut(p - 1) {
                    *slot = value;
                }
            }
            (Raw::CaseFlip { letter }, _) => *letter = value,
            (Raw::Substitute { with, .. }, _) => *with = value,
        }
        raw
    }
}

/// A value plus the canonical raw mutations behind it.
#[derive(Debug, Clone)]
struct State {
    raws: Vec<Raw>,
    id: MutatedId,
}

impl Ctx {
    /// Resolves `raw` against `chars`: the canonical raw form and the concrete mutation, or
    /// `None` when it cannot apply to this id.
    fn resolve(&self, raw: &Raw, chars: &[char]) -> Option<(Raw, Mutation)> {
        let resolved = match raw {
            Raw::BitFlip { index, bit } => {
                let (pos, c) = locate(chars, *index)?;
                let start = bit % BITS;
                let bit = (start..BITS)
                    .chain(0..start)
                    .find(|&b| flip_bit(c, b).is_some_and(is_cookie_octet))?;
                (
                    Raw::BitFlip { index: pos, bit },
                    Mutation::BitFlip { index: pos, bit },
                )
            }
            Raw::Truncate { keep } => {
                let len = chars.len();
                if len < 2 {
                    return None;
                }
                let keep = if (1..len).contains(keep) {
                    *keep
                } else {
                    1 + keep.saturating_sub(1) % (len - 1)
                };
                (Raw::Truncate { keep }, Mutation::Truncate { keep })
            }
            Raw::Extend { suffix } => {
                if suffix.is_empty() {
                    return None;
                }
                let n = self.alphabet.len();
                let ordinals: Vec<usize> = suffix
                    .iter()
                    .map(|k| k.checked_rem(n))
                    .collect::<Option<_>>()?;
                let text: String = ordinals
                    .iter()
                    .filter_map(|&k| self.alphabet.get(k))
                    .collect();
                (
                    Raw::Extend { suffix: ordinals },
                    Mutation::Extend { suffix: text },
                )
            }
            Raw::CaseFlip { letter } => {
                let letters = letter_positions(chars);
                let ordinal = letter.checked_rem(letters.len())?;
                let index = *letters.get(ordinal)?;
                (
                    Raw::CaseFlip { letter: ordinal },
                    Mutation::CaseFlip { index },
                )
            }
            Raw::Substitute { index, with } => {
                let (pos, c) = locate(chars, *index)?;
                let choices: Vec<char> =
                    self.alphabet.iter().copied().filter(|&a| a != c).collect();
                let ordinal = with.checked_rem(choices.len())?;
                let with_char = *choices.get(ordinal)?;
                (
                    Raw::Substitute {
                        index: pos,
                        with: ordinal,
                    },
                    Mutation::Substitute {
                        index: pos,
                        with: with_char,
                    },
                )
            }
        };
        Some(self.canonical_case_flip(resolved, chars))
    }

    /// A bit flip or substitution that only flips the case of a letter is a case flip.
    fn canonical_case_flip(&self, resolved: (Raw, Mutation), chars: &[char]) -> (Raw, Mutation) {
        if !self.case_flip_allowed {
            return resolved;
        }
        let (index, new) = match &resolved.1 {
            Mutation::BitFlip { index, bit } => match chars.get(*index) {
                Some(&c) => (*index, flip_bit(c, *bit)),
                None => return resolved,
            },
            Mutation::Substitute { index, with } => (*index, Some(*with)),
            _ => return resolved,
        };
        let Some(&old) = chars.get(index) else {
            return resolved;
        };
        if !old.is_ascii_alphabetic() || new != Some(flip_case(old)) {
            return resolved;
        }
        let letters = letter_positions(chars);
        match letters.iter().position(|&p| p == index) {
            Some(letter) => (Raw::CaseFlip { letter }, Mutation::CaseFlip { index }),
            None => resolved,
        }
    }

    /// Resolves a whole list and drops mutations that cancel out (one whose removal, or two
    /// whose joint removal, leaves the value unchanged); `None` when the result breaks an
    /// invariant.
    fn evaluate(&self, raws: &[Raw]) -> Option<State> {
        let mut state = self.evaluate_as_is(raws)?;
        'prune: loop {
            let n = state.raws.len();
            for i in 0..n {
                for j in i..n {
                    let rest: Vec<Raw> = state
                        .raws
                        .iter()
                        .enumerate()
                        .filter(|&(k, _)| k != i && k != j)
                        .map(|(_, raw)| raw.clone())
                        .collect();
                    if let Some(smaller) = self.evaluate_as_is(&rest)
                        && smaller.id.value == state.id.value
                    {
                        state = smaller;
                        continue 'prune;
                    }
                }
            }
            return Some(state);
        }
    }

    /// Resolves a whole list; `None` when the result breaks an invariant.
    fn evaluate_as_is(&self, raws: &[Raw]) -> Option<State> {
        let mut chars = self.chars.clone();
        let mut canonical = Vec::with_capacity(raws.len());
        let mut mutations = Vec::with_capacity(raws.len());
        for raw in raws {
            if let Some((raw, mutation)) = self.resolve(raw, &chars) {
                mutation.apply_to(&mut chars);
                canonical.push(raw);
                mutations.push(mutation);
            }
        }
        let value: String = chars.into_iter().collect();
        let valid = !value.is_empty()
            && value != self.original
            && !mutations.is_empty()
            && (!self.require_cookie_octets || is_cookie_octet_string(&value));
        if !valid {
            return None;
        }
        Some(State {
            raws: canonical,
            id: MutatedId { mutations, value },
        })
    }

    /// Whether some raw mutation of `kind` can apply to `chars`.
    fn applies(&self, kind: MutationKind, chars: &[char]) -> bool {
        match kind {
            MutationKind::BitFlip => chars
                .iter()
                .any(|&c| (0..BITS).any(|b| flip_bit(c, b).is_some_and(is_cookie_octet))),
            MutationKind::Truncate => chars.len() >= 2,
            MutationKind::Extend => true,
            MutationKind::CaseFlip => chars.iter().any(char::is_ascii_alphabetic),
            MutationKind::Substitute => {
                !chars.is_empty()
                    && (self.alphabet.len() >= 2
                        || chars.iter().any(|c| !self.alphabet.contains(c)))
            }
        }
    }
}

fn letter_positions(chars: &[char]) -> Vec<usize> {
    chars
        .iter()
        .enumerate()
        .filter(|(_, c)| c.is_ascii_alphabetic())
        .map(|(i, _)| i)
        .collect()
}

/// A uniform draw from `0..n` (0 when `n` is 0), from the runner's seeded rng.
fn below(runner: &mut TestRunner, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    (0..n)
        .new_tree(runner)
        .map(|tree| tree.current())
        .unwrap_or(0)
}

#[derive(Debug)]
struct SessionIdMutations {
    ctx: Arc<Ctx>,
    kinds: Vec<MutationKind>,
    max_mutations: usize,
}

impl SessionIdMutations {
    fn draw(&self, runner: &mut TestRunner) -> Vec<Raw> {
        let ctx = &self.ctx;
        let count = 1 + below(runner, self.max_mutations);
        let mut chars = ctx.chars.clone();
        let mut raws = Vec::with_capacity(count);
        for _ in 0..count {
            let usable: Vec<MutationKind> = self
                .kinds
                .iter()
                .copied()
                .filter(|&k| ctx.applies(k, &chars))
                .collect();
            let kind = usable
                .get(below(runner, usable.len()))
                .copied()
                .unwrap_or(MutationKind::Extend);
            let len = chars.len();
            let raw = match kind {
                MutationKind::BitFlip => Raw::BitFlip {
                    index: below(runner, len),
                    bit: u8::try_from(below(runner, usize::from(BITS))).unwrap_or(0),
                },
                MutationKind::Truncate => Raw::Truncate {
                    keep: 1 + below(runner, len.saturating_sub(1)),
                },
                MutationKind::Extend => {
                    let n = 1 + below(runner, MAX_SUFFIX);
                    Raw::Extend {
                        suffix: (0..n).map(|_| below(runner, ctx.alphabet.len())).collect(),
                    }
                }
                MutationKind::CaseFlip => Raw::CaseFlip {
                    letter: below(runner, letter_positions(&chars).len()),
                },
                MutationKind::Substitute => Raw::Substitute {
                    index: below(runner, len),
                    with: below(runner, ctx.alphabet.len().saturating_sub(1)),
                },
            };
            if let Some((raw, mutation)) = ctx.resolve(&raw, &chars) {
                mutation.apply_to(&mut chars);
                raws.push(raw);
            }
        }
        raws
    }
}

impl Strategy for SessionIdMutations {
    type Tree = MutatedIdTree;
    type Value = MutatedId;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        let mut state = None;
        for _ in 0..DRAW_ATTEMPTS {
            state = self.ctx.evaluate(&self.draw(runner));
            if state.is_some() {
                break;
            }
        }
        let state = state.or_else(|| self.ctx.evaluate(&[Raw::Extend { suffix: vec![0] }]));
        match state {
            Some(baseline) => Ok(MutatedIdTree {
                ctx: Arc::clone(&self.ctx),
                baseline,
                pending: None,
                cursor: Cursor::Remove { at: 0 },
            }),
            None => Err("no valid mutation of this session id".into()),
        }
    }
}

/// Where the shrinker is in its plan.
#[derive(Debug, Clone, Copy)]
enum Cursor {
    /// Trying to drop mutation `at`.
    Remove { at: usize },
    /// Binary-searching parameter `param` of mutation `mutation`, last seen as `kind`.
    /// Values below `lo` are known not to fail (`None`: nothing tried yet, so try the
    /// minimum); `proposed` is the value under test.
    Param {
        mutation: usize,
        param: usize,
        kind: Option<MutationKind>,
        lo: Option<usize>,
        proposed: usize,
    },
    /// Nothing left to try.
    Done,
}

/// The value tree of [`session_id_mutations`]; see the module docs for the shrink order.
struct MutatedIdTree {
    ctx: Arc<Ctx>,
    /// The last value known to fail (initially the generated one).
    baseline: State,
    /// The candidate being tested, if any.
    pending: Option<State>,
    cursor: Cursor,
}

impl std::fmt::Debug for MutatedIdTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MutatedIdTree")
            .field("baseline", &self.baseline.id.mutations)
            .field("pending", &self.pending.as_ref().map(|s| &s.id.mutations))
            .field("cursor", &self.cursor)
            .finish_non_exhaustive()
    }
}

impl MutatedIdTree {
    fn first_param(mutation: usize) -> Cursor {
        Cursor::Param {
            mutation,
            param: 0,
            kind: None,
            lo: None,
            proposed: 0,
        }
    }

    /// The next candidate's raw mutations, or `None` when the plan is exhausted.
    fn propose(&mut self) -> Option<Vec<Raw>> {
        loop {
            match &mut self.cursor {
                Cursor::Remove { at } => {
                    let raws = &self.baseline.raws;
                    if raws.len() <= 1 || *at >= raws.len() {
                        self.cursor = Self::first_param(0);
                        continue;
                    }
                    let mut candidate = raws.clone();
                    candidate.remove(*at);
                    return Some(candidate);
                }
                Cursor::Param {
                    mutation,
                    param,
                    kind,
                    lo,
                    proposed,
                } => {
                    let Some(raw) = self.baseline.raws.get(*mutation) else {
                        self.cursor = Cursor::Done;
                        return None;
                    };
                    if *kind != Some(raw.kind()) {
                        *kind = Some(raw.kind());
                        *param = 0;
                        *lo = None;
                    }
                    if *param >= raw.param_count() {
                        self.cursor = Self::first_param(*mutation + 1);
                        continue;
                    }
                    let hi = raw.param(*param);
                    let value = match *lo {
                        None => raw.param_min(*param),
                        Some(lo) => lo + hi.saturating_sub(lo) / 2,
                    };
                    if value >= hi {
                        *param += 1;
                        *lo = None;
                        continue;
                    }
                    *proposed = value;
                    let mut candidate = self.baseline.raws.clone();
                    if let Some(slot) = candidate.get_mut(*mutation) {
                        *slot = raw.with_param(*param, value);
                    }
                    return Some(candidate);
                }
                Cursor::Done => return None,
            }
        }
    }

    /// Records whether the last proposal failed (and was adopted as the baseline).
    fn feedback(&mut self, failed: bool) {
        match &mut self.cursor {
            Cursor::Remove { at } => {
                if !failed {
                    *at += 1;
                }
            }
            Cursor::Param {
                lo,
                proposed,
                param,
                mutation,
                ..
            } => {
                if failed {
                    // The baseline now holds `proposed` (or less): it is the new upper end.
                    let min = self
                        .baseline
                        .raws
                        .get(*mutation)
                        .map_or(0, |raw| raw.param_min(*param));
                    *lo = Some(lo.unwrap_or(min));
                } else {
                    *lo = Some(*proposed + 1);
                }
            }
            Cursor::Done => {}
        }
    }

    /// Moves to the next valid, distinct candidate; `false` (with no candidate pending) when
    /// there is none.
    fn advance(&mut self) -> bool {
        for _ in 0..SEARCH_GUARD {
            let Some(raws) = self.propose() else {
                return false;
            };
            match self.ctx.evaluate(&raws) {
                None => self.feedback(false),
                Some(state) if state.id.value == self.baseline.id.value => {
                    // Same request, simpler list: free to adopt while dropping mutations;
                    // while searching a parameter it means no progress.
                    if matches!(self.cursor, Cursor::Remove { .. }) {
                        self.baseline = state;
                        self.feedback(true);
                    } else {
                        self.feedback(false);
                    }
                }
                Some(state) => {
                    self.pending = Some(state);
                    return true;
                }
            }
        }
        self.cursor = Cursor::Done;
        false
    }
}

impl ValueTree for MutatedIdTree {
    type Value = MutatedId;

    fn current(&self) -> MutatedId {
        self.pending.as_ref().unwrap_or(&self.baseline).id.clone()
    }

    fn simplify(&mut self) -> bool {
        if let Some(failed) = self.pending.take() {
            let pruned = failed.raws.len() + 1 < self.baseline.raws.len()
                || (matches!(self.cursor, Cursor::Param { .. })
                    && failed.raws.len() < self.baseline.raws.len());
            self.baseline = failed;
            self.feedback(true);
            if pruned {
                // Mutations cancelled out: the list changed shape, so start over.
                self.cursor = Cursor::Remove { at: 0 };
            }
        }
        self.advance()
    }

    fn complicate(&mut self) -> bool {
        if self.pending.take().is_none() {
            return false;
        }
        self.feedback(false);
        self.advance()
    }
}
