use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use super::*;

const B64URL_ID: &str = "q3Zk7Vd0-xP9_aLmN2bY8cRt5WuE1oJhG4iKsT6fQzA";
const HEX_ID: &str = "9f86d081884c7d659a2feaa0c55ad015";
const SHRINK_BOUND: usize = 200;

fn seeded_runner() -> TestRunner {
    TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    )
}

/// Checks every promise of `session_id_mutations` for one value, step by step.
fn assert_invariants(original: &str, kinds: &[MutationKind], max: usize, id: &MutatedId) {
    assert_ne!(id.value, original, "value equals the original: {id:?}");
    assert!(!id.value.is_empty(), "empty value: {id:?}");
    assert!(
        is_cookie_octet_string(&id.value),
        "not cookie-octets: {id:?}"
    );
    assert!(
        !id.mutations.is_empty() && id.mutations.len() <= max,
        "{id:?}"
    );
    assert_eq!(apply(original, &id.mutations), id.value);
    let alphabet = id_alphabet(original);
    let mut chars: Vec<char> = original.chars().collect();
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
                assert!(chars[*index].is_ascii_alphabetic(), "{id:?}");
            }
            Mutation::Substitute { index, with } => {
                assert_ne!(chars[*index], *with, "{id:?}");
                assert!(alphabet.contains(with), "{id:?}");
            }
        }
        let before: String = chars.iter().collect();
        let mut after = chars.clone();
        mutation.apply_to(&mut after);
        assert_ne!(after, chars, "no-op mutation {mutation:?} in {id:?}");
        assert!(!mutation.describe(&before).contains("no-op"), "{id:?}");
        chars = after;
    }
}

fn check_cases(original: &str) {
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
    assert_eq!(seen.len(), kinds.len(), "kinds drawn: {seen:?}");
}

#[test]
fn every_generated_base64url_mutation_keeps_the_invariants() {
    check_cases(B64URL_ID);
}

#[test]
fn every_generated_hex_mutation_keeps_the_invariants() {
    check_cases(HEX_ID);
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
    let strategy = session_id_mutations(HEX_ID, &[MutationKind::CaseFlip], 2);
    let mut runner = seeded_runner();
    for _ in 0..200 {
        let id = strategy.new_tree(&mut runner).expect("a case").current();
        assert_invariants(HEX_ID, &[MutationKind::CaseFlip], 2, &id);
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
fn alphabets_follow_the_id() {
    assert_eq!(
        id_alphabet(HEX_ID).iter().collect::<String>(),
        "0123456789abcdef"
    );
    assert_eq!(
        id_alphabet("DEADBEEF").iter().collect::<String>(),
        "0123456789ABCDEF"
    );
    assert_eq!(id_alphabet(B64URL_ID).len(), 64);
    assert_eq!(id_alphabet(B64URL_ID)[0], 'A');
    assert_eq!(id_alphabet("ab+/=").len(), 65);
    assert_eq!(id_alphabet("a.b!").iter().collect::<String>(), "!.ab");
    assert_eq!(id_alphabet("").len(), 64);
    assert_eq!(id_alphabet("é").len(), 64);
}

#[test]
fn apply_bit_flip() {
    let flip = |index, bit| apply("abk", &[Mutation::BitFlip { index, bit }]);
    assert_eq!(flip(2, 2), "abo");
    assert_eq!(flip(5, 2), "abo", "index taken modulo the length");
    assert_eq!(flip(0, 5), "Abk");
    assert_eq!(flip(0, 40), "abk", "a bit beyond a char is a no-op");
    assert_eq!(apply("", &[Mutation::BitFlip { index: 3, bit: 1 }]), "");
}

#[test]
fn apply_truncate() {
    assert_eq!(apply("abcdef", &[Mutation::Truncate { keep: 2 }]), "ab");
    assert_eq!(apply("abcdef", &[Mutation::Truncate { keep: 9 }]), "abcdef");
    assert_eq!(apply("abcdef", &[Mutation::Truncate { keep: 0 }]), "");
}

#[test]
fn apply_extend() {
    let extend = Mutation::Extend {
        suffix: "AB".to_owned(),
    };
    assert_eq!(apply("xy", std::slice::from_ref(&extend)), "xyAB");
    assert_eq!(apply("", &[extend]), "AB");
}

#[test]
fn apply_case_flip() {
    let flip = |index| apply("aB3", &[Mutation::CaseFlip { index }]);
    assert_eq!(flip(0), "AB3");
    assert_eq!(flip(1), "ab3");
    assert_eq!(flip(2), "aB3", "a digit has no case");
    assert_eq!(flip(4), "ab3", "index taken modulo the length");
}

#[test]
fn apply_substitute() {
    let sub = |index, with| apply("abc", &[Mutation::Substitute { index, with }]);
    assert_eq!(sub(1, 'X'), "aXc");
    assert_eq!(sub(3, 'X'), "Xbc");
    assert_eq!(
        apply(
            "",
            &[Mutation::Substitute {
                index: 0,
                with: 'X'
            }]
        ),
        ""
    );
}

#[test]
fn apply_runs_mutations_in_order() {
    let mutations = [
        Mutation::Truncate { keep: 2 },
        Mutation::Extend {
            suffix: "zz".to_owned(),
        },
        Mutation::Substitute {
            index: 2,
            with: 'Q',
        },
    ];
    assert_eq!(apply("abcdef", &mutations), "abQz");
}

#[test]
fn describe_names_characters_and_lengths_only() {
    let id = "q3Zk7Vdk0xP9aLmNx";
    assert_eq!(
        Mutation::Substitute {
            index: 16,
            with: 'A'
        }
        .describe(id),
        "substitute 'A' for 'x' at position 16"
    );
    assert_eq!(
        Mutation::Truncate { keep: 12 }.describe(B64URL_ID),
        "truncate to 12 of 43 characters"
    );
    assert_eq!(
        Mutation::Extend {
            suffix: "A".to_owned()
        }
        .describe(id),
        "append \"A\""
    );
    assert_eq!(
        Mutation::CaseFlip { index: 0 }.describe(id),
        "flip the case of 'q' at position 0"
    );
    assert_eq!(
        Mutation::BitFlip { index: 7, bit: 2 }.describe(id),
        "flip bit 2 of 'k' at position 7 (→ 'o')"
    );
    assert_eq!(
        Mutation::CaseFlip { index: 1 }.describe(id),
        "flip the case of '3' at position 1 (no-op: not a letter)"
    );
    assert_eq!(
        Mutation::Truncate { keep: 50 }.describe(id),
        "truncate to 50 of 17 characters (no-op)"
    );
    assert!(
        Mutation::Substitute {
            index: 2,
            with: 'A'
        }
        .describe("")
        .contains("no-op")
    );
    let all = MutatedId {
        mutations: vec![
            Mutation::Truncate { keep: 2 },
            Mutation::CaseFlip { index: 0 },
        ],
        value: "Q3".to_owned(),
    };
    assert_eq!(
        all.describe(id),
        "truncate to 2 of 17 characters, then flip the case of 'q' at position 0"
    );
}

#[test]
fn cookie_octets_follow_rfc_6265() {
    assert!(is_cookie_octet_string(B64URL_ID));
    assert!(is_cookie_octet_string("!#+-:<[]~"));
    assert!(is_cookie_octet_string(""));
    for bad in [" ", "\"", ",", ";", "\\", "\x7f", "\t", "é"] {
        assert!(!is_cookie_octet_string(bad), "{bad:?}");
    }
}

#[test]
fn mutations_serialize_with_a_kind_tag() {
    let json = serde_json::to_string(&Mutation::Substitute {
        index: 16,
        with: 'A',
    })
    .expect("serializes");
    assert_eq!(json, r#"{"kind":"substitute","index":16,"with":"A"}"#);
    let kind = serde_json::to_string(&MutationKind::CaseFlip).expect("serializes");
    assert_eq!(kind, r#""case_flip""#);
}

#[test]
fn a_bit_flip_that_only_changes_case_is_reported_as_a_case_flip() {
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
