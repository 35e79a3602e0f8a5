//! Malformed access tokens: garbage that a token parser must refuse without failing (no 5xx).
//! Every value is visible ASCII, so it can travel in a header, a cookie or a query.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;

fn b64(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s.as_bytes())
}

/// Strategy for malformed tokens of at most `max_len` bytes (at least 16).
pub fn malformed_tokens(max_len: usize) -> BoxedStrategy<String> {
    let max_len = max_len.max(16);
    let visible = proptest::char::range('!', '~');
    let b64char = prop_oneof![
        proptest::char::range('A', 'Z'),
        proptest::char::range('a', 'z'),
        proptest::char::range('0', '9'),
        Just('-'),
        Just('_'),
        Just('='),
        Just('+'),
        Just('/'),
        Just('!'),
    ];
    let segment =
        proptest::collection::vec(b64char, 0..48).prop_map(|v| v.into_iter().collect::<String>());
    let json_not_object = prop_oneof![
        Just("[]".to_string()),
        Just("null".to_string()),
        Just("\"x\"".to_string()),
        Just("1e999999".to_string()),
        Just("{\"alg\":".to_string()),
        Just("{\"alg\":{\"alg\":[]}}".to_string()),
        Just("{\"alg\":\"HS256\",\"alg\":\"none\"}".to_string()),
        Just("{\"exp\":\"tomorrow\"}".to_string()),
        Just("{\"exp\":1e400}".to_string()),
        Just("\u{0}".to_string()),
    ];
    prop_oneof![
        // Random visible text.
        proptest::collection::vec(visible, 0..64).prop_map(|v| v.into_iter().collect::<String>()),
        // The wrong number of segments.
        (proptest::collection::vec(segment.clone(), 1..7)).prop_map(|v| v.join(".")),
        // Three segments of base64-ish text (invalid characters included).
        (segment.clone(), segment.clone(), segment.clone())
            .prop_map(|(a, b, c)| format!("{a}.{b}.{c}")),
        // Valid base64url of JSON that is not a usable header or payload.
        (json_not_object.clone(), json_not_object, segment.clone()).prop_map(|(h, p, s)| format!(
            "{}.{}.{s}",
            b64(&h),
            b64(&p)
        )),
        // Oversized segments.
        (16usize..=max_len).prop_map(|n| {
            let third = n / 3;
            format!(
                "{}.{}.{}",
                "e".repeat(third),
                "e".repeat(third),
                "e".repeat(n.saturating_sub(2 * third + 2))
            )
        }),
        // Only separators and whitespace-free oddities.
        prop_oneof![
            Just("..".to_string()),
            Just(".".to_string()),
            Just("....".to_string()),
            Just("Bearer".to_string())
        ],
    ]
    .prop_map(move |mut s| {
        s.retain(|c| c.is_ascii_graphic());
        s.truncate(max_len);
        s
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

    #[test]
    fn malformed_tokens_are_visible_ascii_and_bounded() {
        let mut runner = TestRunner::new_with_rng(
            Config::default(),
            TestRng::from_seed(RngAlgorithm::ChaCha, &[3; 32]),
        );
        let s = malformed_tokens(512);
        for _ in 0..2000 {
            let v = s.new_tree(&mut runner).unwrap().current();
            assert!(v.len() <= 512);
            assert!(v.chars().all(|c| c.is_ascii_graphic()), "{v:?}");
        }
    }
}
