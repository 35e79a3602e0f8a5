//! The session-id mutation strategy and its hand-written value tree.
//!
//! A value is a short list of *raw* mutations (numbers: a position, a bit, an ordinal in the
//! alphabet) resolved against the id as it stands when each applies. Resolution makes every
//! raw mutation valid and effective by construction (a substitute never repeats the replaced
//! character or its other-case twin, a bit flip always gives a cookie-octet, no mutation
//! leaves the credential the service decodes unchanged, see [`super::equivalence`]), so the
//! tree needs no `prop_filter`, whose value tree panics when it cannot complicate back.
//!
//! Every number drawn depends only on the seed, the id's length and its alphabet class, never
//! on its characters: the operator, the position, a truncation's length, a suffix's length
//! and a substitute's character class are the same for two ids of one shape. Resolution may
//! then pick another character of the same class or another bit, never another position.
//! A percent-encoded id is mutated decoded (its length does not depend on how many of its
//! characters needed escapes) and encoded again before it is sent.
//!
//! The tree shrinks greedily, one candidate per `simplify`/`complicate` call, because each
//! candidate costs the engine a live request: first it drops mutations (never below one),
//! then, mutation by mutation, it binary-searches each parameter toward its minimum, trying
//! the minimum itself first. Candidates that would be invalid (the same credential as the
//! original, empty, not cookie-octets) are skipped without being shown.

use std::sync::Arc;

use proptest::strategy::{BoxedStrategy, NewTree, Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use serde::Serialize;

use super::equivalence::{Class, Codec, Layer, same_credential};
use super::mutation::{
    Mutation, MutationKind, flip_bit, flip_case, is_cookie_octet, is_cookie_octet_string, locate,
};

/// A mutated session id and the mutations that produced it from the original.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MutatedId {
    /// The mutations, in the order [`apply`](super::mutation::apply) applies them to the original as
    /// `layer` decodes it; never empty for a generated value.
    pub mutations: Vec<Mutation>,
    /// The value to send: `apply(layer.decode(original), &mutations)`, encoded again like
    /// the original. Never the same credential as the original (see
    /// [`same_credential`](super::equivalence::same_credential)), non-empty and, when the original is a
    /// cookie-octet string, one too.
    pub value: String,
    /// Which value the mutations' positions count characters of.
    pub layer: Layer,
}

impl MutatedId {
    /// A value that is not derived from an id by mutations (e.g. a malformed token).
    pub fn unmutated(value: String) -> MutatedId {
        MutatedId {
            mutations: Vec::new(),
            value,
            layer: Layer::Raw,
        }
    }

    /// Describes every mutation against the id it applied to, joined with `, then `,
    /// e.g. `flip the case of every letter from position 3 on`. Never includes the id.
    pub fn describe(&self, original: &str) -> String {
        self.describe_each(original).join(", then ")
    }

    /// One description per mutation, in order; the last says when positions count
    /// characters of the percent-decoded id.
    pub fn describe_each(&self, original: &str) -> Vec<String> {
        let mut chars: Vec<char> = self.layer.decode(original).chars().collect();
        let mut parts = Vec::with_capacity(self.mutations.len());
        for mutation in &self.mutations {
            let before: String = chars.iter().collect();
            parts.push(mutation.describe(&before));
            mutation.apply_to(&mut chars);
        }
        if self.layer == Layer::PercentDecoded
            && let Some(last) = parts.last_mut()
        {
            last.push_str(" (in the percent-decoded id)");
        }
        parts
    }

    /// The mutations with the characters they hit masked (see [`Mutation::pattern`]),
    /// joined with `, `.
    pub fn pattern(&self) -> String {
        let parts: Vec<String> = self.mutations.iter().map(Mutation::pattern).collect();
        parts.join(", ")
    }
}

const MAX_SUFFIX: usize = 8;
const BITS: u8 = 6;
/// A case flip is drawn at least this many characters before the end, so that it almost
/// surely reaches a letter whatever the id's characters.
const CASE_FLIP_SPAN: usize = 8;
/// Bound on candidates examined in one `simplify`/`complicate` call.
const SEARCH_GUARD: usize = 100_000;
/// Bound on fresh draws before falling back to a one-character extension.
const DRAW_ATTEMPTS: usize = 32;

/// A strategy of mutated versions of `original`: each value applies 1 to `max_mutations`
/// mutations of the given `kinds`, and shrinks toward fewer mutations, earlier positions,
/// shorter suffixes, shorter truncations, lower bits and earlier alphabet characters.
///
/// Every value is a different credential from `original` (not merely a different string:
/// see [`same_credential`](super::equivalence::same_credential)), is non-empty and, when `original` is a
/// cookie-octet string, is one too — also every value reached while shrinking. The numbers
/// behind a value depend on the runner's seed, the id's length and its alphabet class only
/// (see the module docs). A
/// percent-encoded `original` is mutated decoded ([`Layer::PercentDecoded`]). Substitutions
/// and extensions draw from the alphabet of the id's class, in shrink order: the hex digits
/// in the id's case for an id of hex digits, `A-Za-z0-9` for anything else.
///
/// Degenerate inputs still give a working strategy: `max_mutations` of 0 counts as 1; when
/// `kinds` is empty, or none of them applies to the id (a case flip on a hex id, a
/// truncation of a one-character id, anything but an extension of the empty id), the first
/// mutation appends characters instead and a later one is not drawn. A case has at most one
/// case flip. Shrinking follows proptest's protocol; once `simplify`
/// or `complicate` returns `false`, `current()` is the last value that was `simplify`'d
/// from, i.e. the smallest failing one.
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
    let (codec, decoded) = Codec::detect(original);
    let class = Class::of(&decoded);
    let ctx = Ctx {
        raw: original.to_owned(),
        chars: decoded.chars().collect(),
        codec,
        class,
        alphabet: class.alphabet(),
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
    /// The original as sent.
    raw: String,
    /// The original as mutations address it (decoded when percent-encoded).
    chars: Vec<char>,
    codec: Codec,
    class: Class,
    alphabet: Vec<char>,
    require_cookie_octets: bool,
}

/// A mutation as numbers, resolved against the id when it applies.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Raw {
    /// Position; first usable bit at or above `bit`, wrapping.
    BitFlip { index: usize, bit: u8 },
    /// Characters kept, mapped into `1..len`.
    Truncate { keep: usize },
    /// Ordinals in the alphabet.
    Extend { suffix: Vec<usize> },
    /// Position of the first character flipped.
    CaseFlip { index: usize },
    /// Position; ordinal in the alphabet (the next usable one of its group).
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
            (Raw::CaseFlip { index }, _) => *index,
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
            (Raw::CaseFlip { index }, _) => *index = value,
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
    /// Whether `mutation` makes a different credential of `chars` (as the service decodes
    /// it), and one that is not the original either.
    fn effective(&self, chars: &[char], mutation: &Mutation) -> bool {
        let mut after = chars.to_vec();
        mutation.apply_to(&mut after);
        let before: String = chars.iter().collect();
        let after: String = after.into_iter().collect();
        let (before, after) = (self.codec.encode(&before), self.codec.encode(&after));
        !same_credential(&before, &after) && !same_credential(&self.raw, &after)
    }

    /// The original character at `pos` and its other-case twin: what a substitution or a
    /// bit flip must not write back.
    fn avoid(&self, pos: usize, current: char) -> [Option<char>; 4] {
        let orig = self.chars.get(pos).copied();
        [
            Some(current),
            Some(flip_case(current)),
            orig,
            orig.map(flip_case),
        ]
    }

    /// Resolves `raw` against `chars`: the canonical raw form and the concrete mutation, or
    /// `None` when it cannot apply to this id.
    fn resolve(&self, raw: &Raw, chars: &[char]) -> Option<(Raw, Mutation)> {
        match raw {
            Raw::BitFlip { index, bit } => {
                let (pos, c) = locate(chars, *index)?;
                let start = bit % BITS;
                (start..BITS).chain(0..start).find_map(|bit| {
                    let flipped = flip_bit(c, bit)?;
                    let mutation = Mutation::BitFlip { index: pos, bit };
                    let usable = is_cookie_octet(flipped)
                        && !self.avoid(pos, c).contains(&Some(flipped))
                        && self.effective(chars, &mutation);
                    usable.then_some((Raw::BitFlip { index: pos, bit }, mutation))
                })
            }
            Raw::Truncate { keep } => {
                let len = chars.len();
                if len < 2 {
                    return None;
                }
                let first = if (1..len).contains(keep) {
                    *keep
                } else {
                    1 + keep.saturating_sub(1) % (len - 1)
                };
                // Shorter first (dropping only padding changes nothing), then longer.
                (1..=first).rev().chain(first + 1..len).find_map(|keep| {
                    let mutation = Mutation::Truncate { keep };
                    self.effective(chars, &mutation)
                        .then_some((Raw::Truncate { keep }, mutation))
                })
            }
            Raw::Extend { suffix } => self.resolve_extend(suffix, chars),
            Raw::CaseFlip { index } => {
                if !self.class.case_matters() {
                    return None;
                }
                let (pos, _) = locate(chars, *index)?;
                let mutation = Mutation::CaseFlip { index: pos };
                self.effective(chars, &mutation)
                    .then_some((Raw::CaseFlip { index: pos }, mutation))
            }
            Raw::Substitute { index, with } => {
                let (pos, c) = locate(chars, *index)?;
                let n = self.alphabet.len();
                let start = with.checked_rem(n)?;
                let group = self.class.group(start);
                let width = group.len();
                (0..width).find_map(|step| {
                    let k = group.start + (start - group.start + step) % width;
                    let w = *self.alphabet.get(k)?;
                    let mutation = Mutation::Substitute {
                        index: pos,
                        with: w,
                    };
                    let usable =
                        !self.avoid(pos, c).contains(&Some(w)) && self.effective(chars, &mutation);
                    usable.then_some((
                        Raw::Substitute {
                            index: pos,
                            with: k,
                        },
                        mutation,
                    ))
                })
            }
        }
    }

    /// An extension; when it would give back the original (after a truncation) or the same
    /// credential, or its first character is the one a truncation cut at that position, its
    /// first character moves to the next of its group. The last keeps a later truncation
    /// that leaves part of the suffix from giving a shorter truncation's value, which would
    /// depend on the id's characters.
    fn resolve_extend(&self, suffix: &[usize], chars: &[char]) -> Option<(Raw, Mutation)> {
        let n = self.alphabet.len();
        let mut ordinals: Vec<usize> = suffix
            .iter()
            .map(|k| k.checked_rem(n))
            .collect::<Option<_>>()?;
        let first = *ordinals.first()?;
        let group = self.class.group(first);
        let width = group.len().max(1);
        for step in 0..width {
            ordinals[0] = group.start + (first - group.start + step) % width;
            let text: String = ordinals
                .iter()
                .filter_map(|&k| self.alphabet.get(k))
                .collect();
            let cut = self.chars.get(chars.len());
            let restores_cut = text.chars().next().zip(cut).is_some_and(|(a, &b)| {
                a == b || (!self.class.case_matters() && a.eq_ignore_ascii_case(&b))
            });
            let mutation = Mutation::Extend { suffix: text };
            if !restores_cut && self.effective(chars, &mutation) {
                return Some((
                    Raw::Extend {
                        suffix: ordinals.clone(),
                    },
                    mutation,
                ));
            }
        }
        None
    }

    /// Resolves a whole list and drops mutations that cancel out (one whose removal, or two
    /// whose joint removal, leaves the same value); `None` when the result breaks an
    /// invariant. Only the same value counts: which mutations cancel then depends on their
    /// positions, never on the id's characters.
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
        let decoded: String = chars.into_iter().collect();
        let value = self.codec.encode(&decoded);
        let valid = !value.is_empty()
            && !same_credential(&value, &self.raw)
            && !mutations.is_empty()
            && (!self.require_cookie_octets || is_cookie_octet_string(&value));
        if !valid {
            return None;
        }
        Some(State {
            raws: canonical,
            id: MutatedId {
                mutations,
                value,
                layer: self.codec.layer,
            },
        })
    }

    /// Whether a mutation of `kind` is drawn for an id of `len` characters: decided by the
    /// length and the class, never by the characters.
    fn applies(&self, kind: MutationKind, len: usize) -> bool {
        match kind {
            MutationKind::BitFlip | MutationKind::Substitute => len >= 1,
            MutationKind::Truncate => len >= 2,
            MutationKind::Extend => true,
            MutationKind::CaseFlip => len >= CASE_FLIP_SPAN && self.class.case_matters(),
        }
    }
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

/// Whether a truncation to `keep` characters is drawn after a case flip from `flip_at`:
/// it cuts the flipped span away or keeps at least [`CASE_FLIP_SPAN`] characters of it.
fn keeps_flip_whole(keep: usize, flip_at: Option<usize>) -> bool {
    flip_at.is_none_or(|i| keep <= i || keep >= i + CASE_FLIP_SPAN)
}

/// How many truncations of an id of `len` characters may be drawn (lengths `1..len`).
fn truncations(len: usize, flip_at: Option<usize>) -> usize {
    (1..len).filter(|&k| keeps_flip_whole(k, flip_at)).count()
}

/// The `n`-th of those lengths (the first when `n` is out of range).
fn nth_truncation(n: usize, len: usize, flip_at: Option<usize>) -> usize {
    let mut keeps = (1..len).filter(|&k| keeps_flip_whole(k, flip_at));
    keeps.clone().nth(n).or_else(|| keeps.next()).unwrap_or(1)
}

#[derive(Debug)]
struct SessionIdMutations {
    ctx: Arc<Ctx>,
    kinds: Vec<MutationKind>,
    max_mutations: usize,
}

impl SessionIdMutations {
    /// One list of raw mutations. Every number drawn depends on the seed and on lengths
    /// only: the length after each mutation follows from the mutations drawn before it.
    fn draw(&self, runner: &mut TestRunner) -> Vec<Raw> {
        let ctx = &self.ctx;
        let count = 1 + below(runner, self.max_mutations);
        let mut len = ctx.chars.len();
        let mut raws = Vec::with_capacity(count);
        // Where the live case flip starts: a later truncation keeps none of its span or at
        // least CASE_FLIP_SPAN characters of it, never a few that may hold no letter.
        let mut flip_at: Option<usize> = None;
        for _ in 0..count {
            // One case flip per case: two would cancel where their spans differ, and whether
            // that leaves anything depends on the id's characters.
            let flipped = raws.iter().any(|r| matches!(r, Raw::CaseFlip { .. }));
            let keeps = truncations(len, flip_at);
            let usable: Vec<MutationKind> = self
                .kinds
                .iter()
                .copied()
                .filter(|&k| ctx.applies(k, len) && !(flipped && k == MutationKind::CaseFlip))
                .filter(|&k| k != MutationKind::Truncate || keeps > 0)
                .collect();
            if usable.is_empty() && !raws.is_empty() {
                break;
            }
            let kind = usable
                .get(below(runner, usable.len()))
                .copied()
                .unwrap_or(MutationKind::Extend);
            let raw = match kind {
                MutationKind::BitFlip => Raw::BitFlip {
                    index: below(runner, len),
                    bit: u8::try_from(below(runner, usize::from(BITS))).unwrap_or(0),
                },
                MutationKind::Truncate => {
                    let keep = nth_truncation(below(runner, keeps), len, flip_at);
                    if flip_at.is_some_and(|i| keep <= i) {
                        flip_at = None;
                    }
                    len = keep;
                    Raw::Truncate { keep }
                }
                MutationKind::Extend => {
                    let n = 1 + below(runner, MAX_SUFFIX);
                    len += n;
                    Raw::Extend {
                        suffix: (0..n).map(|_| below(runner, ctx.alphabet.len())).collect(),
                    }
                }
                MutationKind::CaseFlip => {
                    let index = below(runner, len.saturating_sub(CASE_FLIP_SPAN - 1).max(1));
                    flip_at = Some(index);
                    Raw::CaseFlip { index }
                }
                MutationKind::Substitute => Raw::Substitute {
                    index: below(runner, len),
                    with: below(runner, ctx.alphabet.len()),
                },
            };
            raws.push(raw);
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

    /// Whether `state` (the same value as the baseline) is a simpler way to write it: any
    /// list while dropping mutations, a smaller value of the searched parameter otherwise.
    fn simpler(&self, state: &State) -> bool {
        match self.cursor {
            Cursor::Remove { .. } => true,
            Cursor::Param {
                mutation, param, ..
            } => {
                let at = |s: &State| {
                    s.raws
                        .get(mutation)
                        .filter(|r| r.param_count() > param)
                        .map(|r| (r.kind(), r.param(param)))
                };
                match (at(state), at(&self.baseline)) {
                    (Some((k1, new)), Some((k2, old))) => k1 == k2 && new < old,
                    _ => false,
                }
            }
            Cursor::Done => false,
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
                    // Same request with a simpler list, or a smaller parameter (a case flip
                    // from before a digit): known to fail, free to adopt. A proposal that
                    // resolves back to the baseline's parameter is no progress.
                    if self.simpler(&state) {
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

#[cfg(test)]
mod tests {
    use proptest::test_runner::{Config, RngAlgorithm, TestRng};

    use super::*;
    use crate::strategy::apply;

    const B64URL_ID: &str = "q3Zk7Vd0-xP9_aLmN2bY8cRt5WuE1oJhG4iKsT6fQzA";
    const HEX_ID: &str = "9f86d081884c7d659a2feaa0c55ad015";
    const PERCENT_ID: &str = "q3Zk7Vd0%2BxP9%2FaLmN2bY8cRt5WuE1oJhG4iKsT6fQzAb%3D";
    const SHRINK_BOUND: usize = 200;

    /// The alphabet substitutions and extensions of `original` draw from.
    fn id_alphabet(original: &str) -> Vec<char> {
        let (_, decoded) = Codec::detect(original);
        Class::of(&decoded).alphabet()
    }

    fn seeded_runner() -> TestRunner {
        TestRunner::new_with_rng(
            Config::default(),
            TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
        )
    }

    /// Checks every promise of `session_id_mutations` for one value, step by step.
    fn assert_invariants(original: &str, kinds: &[MutationKind], max: usize, id: &MutatedId) {
        assert!(
            !same_credential(&id.value, original),
            "value is the original credential: {id:?}"
        );
        assert!(!id.value.is_empty(), "empty value: {id:?}");
        assert!(
            is_cookie_octet_string(&id.value),
            "not cookie-octets: {id:?}"
        );
        assert!(
            !id.mutations.is_empty() && id.mutations.len() <= max,
            "{id:?}"
        );
        let (codec, decoded) = Codec::detect(original);
        assert_eq!(id.layer, codec.layer);
        assert_eq!(codec.encode(&apply(&decoded, &id.mutations)), id.value);
        let alphabet = id_alphabet(original);
        let mut chars: Vec<char> = decoded.chars().collect();
        for mutation in &id.mutations {
            assert!(kinds.contains(&mutation.kind()), "unrequested kind: {id:?}");
            match mutation {
                Mutation::BitFlip { index, bit } => {
                    assert!(*index < chars.len() && *bit < 6, "{id:?}");
                }
                Mutation::Truncate { keep } => {
                    assert!((1..chars.len()).contains(keep), "{id:?}");
                }
                Mutation::Extend { suffix } => {
                    assert!((1..=8).contains(&suffix.chars().count()), "{id:?}");
                    assert!(suffix.chars().all(|c| alphabet.contains(&c)), "{id:?}");
                }
                Mutation::CaseFlip { index } => {
                    assert!(
                        chars[*index..].iter().any(char::is_ascii_alphabetic),
                        "{id:?}"
                    );
                }
                Mutation::Substitute { index, with } => {
                    assert_ne!(chars[*index], *with, "{id:?}");
                    assert_ne!(flip_case(chars[*index]), *with, "{id:?}");
                    assert!(alphabet.contains(with), "{id:?}");
                }
            }
            let before: String = chars.iter().collect();
            let mut after = chars.clone();
            mutation.apply_to(&mut after);
            let (b, a): (String, String) = (chars.iter().collect(), after.iter().collect());
            assert!(
                !same_credential(&codec.encode(&b), &codec.encode(&a)),
                "ineffective mutation {mutation:?} in {id:?}"
            );
            assert!(!mutation.describe(&before).contains("no-op"), "{id:?}");
            chars = after;
        }
    }

    fn check_cases(original: &str, expected_kinds: usize) {
        let kinds = MutationKind::ALL;
        let strategy = session_id_mutations(original, &kinds, 3);
        let mut runner = seeded_runner();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2000 {
            let Ok(tree) = strategy.new_tree(&mut runner) else {
                panic!("strategy rejected a case for {original:?}");
            };
            let id = tree.current();
            assert_invariants(original, &kinds, 3, &id);
            seen.extend(id.mutations.iter().map(Mutation::kind));
        }
        assert_eq!(seen.len(), expected_kinds, "kinds drawn: {seen:?}");
    }

    #[test]
    fn every_generated_base64url_mutation_keeps_the_invariants() {
        check_cases(B64URL_ID, 5);
    }

    #[test]
    fn every_generated_hex_mutation_keeps_the_invariants() {
        // No case flip: a hex id is the same number in either case.
        check_cases(HEX_ID, 4);
    }

    #[test]
    fn every_generated_percent_encoded_mutation_keeps_the_invariants() {
        check_cases(PERCENT_ID, 5);
    }

    #[test]
    fn a_percent_decoding_store_accepts_no_case_and_a_lenient_base64_store_neither() {
        // `%2B` → `%2b` and friends are the same session to a decoding store; a base64
        // character differing only in its unused bits is the same id to a lenient decoder.
        for original in [PERCENT_ID, B64URL_ID, HEX_ID] {
            let strategy = session_id_mutations(original, &MutationKind::ALL, 3);
            let mut runner = seeded_runner();
            for _ in 0..500 {
                let mut tree = strategy.new_tree(&mut runner).expect("a case");
                assert!(!same_credential(&tree.current().value, original));
                let mut steps = 0;
                while tree.simplify() && steps < 100 {
                    steps += 1;
                    assert!(!same_credential(&tree.current().value, original));
                }
            }
        }
        let strategy = session_id_mutations(PERCENT_ID, &[MutationKind::CaseFlip], 1);
        let id = strategy
            .new_tree(&mut seeded_runner())
            .expect("a case")
            .current();
        assert_eq!(id.layer, Layer::PercentDecoded);
        assert!(
            id.value.contains("%2B") && id.value.ends_with("%3D"),
            "{id:?}"
        );
        assert!(
            id.describe(PERCENT_ID)
                .ends_with(" (in the percent-decoded id)")
        );
    }

    /// Ids of one shape with pseudo-random characters, as a service hands them out.
    fn random_ids(shape: &str, n: usize) -> Vec<String> {
        let b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |m: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % m as u64) as usize
        };
        (0..n)
            .map(|_| match shape {
                "hex" => (0..32)
                    .map(|_| HEX_LOWER_DIGITS[next(16)] as char)
                    .collect(),
                "base64url" => (0..43)
                    .map(|_| (b64.to_owned() + "-_").as_bytes()[next(64)] as char)
                    .collect(),
                _ => {
                    let std: String = (0..43)
                        .map(|_| (b64.to_owned() + "+/").as_bytes()[next(64)] as char)
                        .collect();
                    format!("{std}=")
                        .replace('+', "%2B")
                        .replace('/', "%2F")
                        .replace('=', "%3D")
                }
            })
            .collect()
    }

    const HEX_LOWER_DIGITS: &[u8] = b"0123456789abcdef";

    #[test]
    fn the_same_seed_gives_the_same_cases_for_every_id_of_one_shape() {
        for shape in ["hex", "base64url", "percent-encoded base64"] {
            // 100 ids: cases whose resolution depended on the characters (a case flip over
            // a short tail with no letter; an extension cut back to the characters a
            // truncation had removed) showed in one list in eight (checked with 500).
            let ids = random_ids(shape, 100);
            let lists: Vec<Vec<String>> = ids
                .iter()
                .map(|id| {
                    let strategy = session_id_mutations(id, &MutationKind::ALL, 3);
                    let mut runner = seeded_runner();
                    (0..128)
                        .map(|_| strategy.new_tree(&mut runner).expect("a case").current())
                        .map(|case| case.pattern())
                        .collect()
                })
                .collect();
            for (id, list) in ids.iter().zip(&lists).skip(1) {
                let differ = lists[0].iter().zip(list).position(|(a, b)| a != b);
                assert_eq!(
                    differ,
                    None,
                    "{shape}: {} and {id}: case {differ:?}: {:?} vs {:?}",
                    ids[0],
                    differ.map(|i| &lists[0][i]),
                    differ.map(|i| &list[i])
                );
            }
        }
    }

    /// Drives the tree like proptest's runner does; returns the last accepted value and the
    /// number of values tested (each one a live request for the engine).
    fn shrink(
        tree: &mut impl ValueTree<Value = MutatedId>,
        accepted: impl Fn(&str) -> bool,
    ) -> (MutatedId, usize) {
        let mut kept = tree.current();
        let mut steps = 0;
        if tree.simplify() {
            while steps < SHRINK_BOUND {
                steps += 1;
                let current = tree.current();
                if accepted(&current.value) {
                    kept = current;
                    if !tree.simplify() {
                        break;
                    }
                } else if !tree.complicate() {
                    break;
                }
            }
        }
        assert!(steps < SHRINK_BOUND, "shrinking did not finish");
        assert_eq!(
            tree.current(),
            kept,
            "a finished tree shows the last failing value"
        );
        (kept, steps)
    }

    /// The first generated value the store accepts, preferring one with several mutations.
    fn first_accepted(
        original: &str,
        max: usize,
        accepted: impl Fn(&str) -> bool,
    ) -> impl ValueTree<Value = MutatedId> {
        let strategy = session_id_mutations(original, &MutationKind::ALL, max);
        let mut runner = seeded_runner();
        let mut single = None;
        for _ in 0..20_000 {
            let Ok(tree) = strategy.new_tree(&mut runner) else {
                continue;
            };
            let id = tree.current();
            if accepted(&id.value) {
                if id.mutations.len() > 1 {
                    return tree;
                }
                single.get_or_insert(tree);
            }
        }
        single.expect("no accepted case")
    }

    #[test]
    fn shrinks_to_one_mutation_at_position_16_on_a_prefix_match_store() {
        let prefix: String = B64URL_ID.chars().take(16).collect();
        let len = B64URL_ID.chars().count();
        let accepted = |v: &str| v.chars().count() == len && v.starts_with(&prefix);
        let mut tree = first_accepted(B64URL_ID, 4, accepted);
        let found = tree.current();
        assert!(
            found.mutations.len() > 1,
            "start from several mutations: {found:?}"
        );
        let (min, steps) = shrink(&mut tree, accepted);
        eprintln!(
            "prefix store: {steps} steps from {} to {}",
            found.describe(B64URL_ID),
            min.describe(B64URL_ID)
        );
        assert!(accepted(&min.value));
        assert_eq!(min.mutations.len(), 1, "{min:?}");
        let index = match min.mutations[0] {
            Mutation::BitFlip { index, .. }
            | Mutation::CaseFlip { index }
            | Mutation::Substitute { index, .. } => index,
            ref other => panic!("length-changing mutation accepted: {other:?}"),
        };
        assert_eq!(index, 16, "{min:?}");
    }

    #[test]
    fn shrinks_to_one_case_flip_on_a_case_insensitive_store() {
        let accepted = |v: &str| v.eq_ignore_ascii_case(B64URL_ID);
        let mut tree = first_accepted(B64URL_ID, 4, accepted);
        let found = tree.current();
        let (min, steps) = shrink(&mut tree, accepted);
        eprintln!(
            "case-insensitive store: {steps} steps from {} to {}",
            found.describe(B64URL_ID),
            min.describe(B64URL_ID)
        );
        assert!(accepted(&min.value));
        // 'q' at position 0 is the id's first letter.
        assert_eq!(min.mutations, vec![Mutation::CaseFlip { index: 0 }]);
    }

    #[test]
    fn shrinks_an_extension_to_one_character_of_the_alphabet_on_a_prefix_only_store() {
        let accepted = |v: &str| v.len() > HEX_ID.len() && v.starts_with(HEX_ID);
        let mut tree = first_accepted(HEX_ID, 3, accepted);
        let (min, _) = shrink(&mut tree, accepted);
        assert_eq!(
            min.mutations,
            vec![Mutation::Extend {
                suffix: "0".to_owned()
            }]
        );
    }

    #[test]
    fn every_value_seen_while_shrinking_keeps_the_invariants() {
        for original in [B64URL_ID, HEX_ID, "a", "Z9"] {
            let strategy = session_id_mutations(original, &MutationKind::ALL, 3);
            let mut runner = seeded_runner();
            for case in 0..200 {
                let mut tree = strategy.new_tree(&mut runner).expect("a case");
                // A pseudo-random store: the shrinker must stay valid whatever it is told.
                let mut verdicts = (case as u32).wrapping_mul(2_654_435_761);
                let mut more = tree.simplify();
                for _ in 0..300 {
                    if !more {
                        break;
                    }
                    assert_invariants(original, &MutationKind::ALL, 3, &tree.current());
                    verdicts = verdicts.rotate_left(3) ^ 0x9e37_79b9;
                    more = if verdicts & 1 == 1 {
                        tree.simplify()
                    } else {
                        tree.complicate()
                    };
                }
                assert_invariants(original, &MutationKind::ALL, 3, &tree.current());
            }
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_values() {
        let draw = || {
            let strategy = session_id_mutations(B64URL_ID, &MutationKind::ALL, 3);
            let mut runner = seeded_runner();
            (0..10)
                .map(|_| strategy.new_tree(&mut runner).expect("a case").current())
                .collect::<Vec<_>>()
        };
        let first = draw();
        assert_eq!(first, draw());
        let distinct: std::collections::HashSet<_> = first.iter().map(|id| &id.value).collect();
        assert!(distinct.len() > 5, "{first:?}");
    }

    #[test]
    fn empty_kinds_extend_the_id() {
        let strategy = session_id_mutations(HEX_ID, &[], 3);
        let mut runner = seeded_runner();
        for _ in 0..100 {
            let id = strategy.new_tree(&mut runner).expect("a case").current();
            assert_invariants(HEX_ID, &[MutationKind::Extend], 3, &id);
        }
    }

    #[test]
    fn an_empty_original_is_extended() {
        let strategy = session_id_mutations("", &MutationKind::ALL, 0);
        let mut runner = seeded_runner();
        for _ in 0..100 {
            let id = strategy.new_tree(&mut runner).expect("a case");
            let id = id.current();
            assert_eq!(id.mutations.len(), 1);
            assert_invariants("", &[MutationKind::Extend], 1, &id);
        }
    }

    #[test]
    fn a_case_flip_of_an_id_without_letters_falls_back_to_extension() {
        let strategy = session_id_mutations("0123456789", &[MutationKind::CaseFlip], 2);
        let mut runner = seeded_runner();
        for _ in 0..100 {
            let id = strategy.new_tree(&mut runner).expect("a case").current();
            // A later step may flip the case of an appended letter.
            let kinds = [MutationKind::Extend, MutationKind::CaseFlip];
            assert_invariants("0123456789", &kinds, 2, &id);
            assert_eq!(id.mutations[0].kind(), MutationKind::Extend);
        }
    }

    #[test]
    fn a_single_case_flip_kind_only_flips_letters() {
        let strategy = session_id_mutations(B64URL_ID, &[MutationKind::CaseFlip], 2);
        let mut runner = seeded_runner();
        for _ in 0..200 {
            let id = strategy.new_tree(&mut runner).expect("a case").current();
            assert_invariants(B64URL_ID, &[MutationKind::CaseFlip], 2, &id);
        }
    }

    #[test]
    fn a_hex_id_gets_no_case_flip() {
        let strategy = session_id_mutations(HEX_ID, &[MutationKind::CaseFlip], 2);
        let mut runner = seeded_runner();
        for _ in 0..200 {
            let id = strategy.new_tree(&mut runner).expect("a case").current();
            assert_invariants(HEX_ID, &[MutationKind::Extend], 2, &id);
        }
    }

    #[test]
    fn bit_flips_only_give_cookie_octets() {
        // '!' (0x21) flips to control characters or '"' on most bits.
        let strategy = session_id_mutations("!!!!", &[MutationKind::BitFlip], 3);
        let mut runner = seeded_runner();
        for _ in 0..200 {
            let id = strategy.new_tree(&mut runner).expect("a case").current();
            assert_invariants("!!!!", &[MutationKind::BitFlip], 3, &id);
        }
    }

    #[test]
    fn alphabets_follow_the_shape_of_the_id() {
        assert_eq!(
            id_alphabet(HEX_ID).iter().collect::<String>(),
            "0123456789abcdef"
        );
        assert_eq!(
            id_alphabet("DEADBEEF").iter().collect::<String>(),
            "0123456789ABCDEF"
        );
        for id in [B64URL_ID, PERCENT_ID, "ab+/=", "a.b!", "", "é"] {
            assert_eq!(id_alphabet(id).len(), 62, "{id}");
            assert_eq!(id_alphabet(id)[0], 'A');
        }
    }

    #[test]
    fn a_mutated_id_describes_its_mutations_in_order() {
        let id = "q3Zk7Vdk0xP9aLmNx";
        let all = MutatedId {
            mutations: vec![
                Mutation::Truncate { keep: 2 },
                Mutation::CaseFlip { index: 0 },
            ],
            value: "Q3".to_owned(),
            layer: Layer::Raw,
        };
        assert_eq!(
            all.describe(id),
            "truncate to 2 of 17 characters, then flip the case of every letter from position 0 on"
        );
        assert_eq!(all.pattern(), "truncate to 2, case_flip from 0");
    }

    #[test]
    fn a_bit_flip_never_only_changes_case() {
        let kinds = [MutationKind::BitFlip, MutationKind::CaseFlip];
        let strategy = session_id_mutations("abcdefgh", &kinds, 1);
        let mut runner = seeded_runner();
        for _ in 0..500 {
            let id = strategy.new_tree(&mut runner).expect("a case").current();
            assert!(
                !matches!(id.mutations[0], Mutation::BitFlip { bit: 5, .. }),
                "{id:?}"
            );
        }
    }
}
