//! The profile language's richer classifiers and extractors (`any_of`, `body_matches`,
//! header conditions, the regex map form of extractors) describe the testbed as well as the
//! plain profile: every rule ends the same on the clean testbed and on a flawed one.

use std::collections::BTreeMap;

use authprobe::testbed::{Flaw, TestbedConfig};
use authprobe::{Report, Status};

/// `from` replaced by `to` in `text` (which must contain it).
fn swap(text: String, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the testbed profile lacks {from:?}");
    text.replacen(from, to, 1)
}

/// The testbed profile rewritten with every new classifier and extractor form.
fn rich(text: String) -> String {
    let text = swap(
        text,
        "    allowed: {status: [200], body_contains: '\"user\"'}\n    # A 404",
        "    allowed: {status: [200], header: {CONTENT-TYPE: '^application/json'}, body_matches: '\"user\":\\s*\"[a-z0-9]+\"'}\n    # A 404",
    );
    let text = swap(
        text,
        "    denied: {status: [401]}\n\n",
        "    denied: {any_of: [{status: [401], body_matches: '\"error\"'}, {any_of: [{status: [401], header: {content-type: json}}]}]}\n\n",
    );
    let text = swap(
        text,
        "      extract: {csrf: \"json:/csrf_token\"}\n    - request:\n        method: POST\n        path: /api/login",
        "      extract: {csrf: {json: /csrf_token, regex: '^(.+)$'}}\n    - request:\n        method: POST\n        path: /api/login",
    );
    // The session cookie's value out of the login's Set-Cookie header (an extracted value is
    // a secret: it is registered for redaction like the cookie itself).
    let text = swap(
        text,
        "        json: {username: \"{{user.username}}\", password: \"{{user.password}}\"}\n      expect_status: [200]",
        "        json: {username: \"{{user.username}}\", password: \"{{user.password}}\"}\n      extract: {sid: {header: Set-Cookie, regex: '^__Host-session=([^;]+)'}}\n      expect_status: [200]",
    );
    let token_access = "    request: {method: GET, path: /api/token/me, headers: {Authorization: \"Bearer {{access_token}}\"}}\n    allowed: {status: [200], body_contains: '\"user\"'}\n    denied: {status: [401]}";
    swap(
        text,
        token_access,
        "    request: {method: GET, path: /api/token/me, headers: {Authorization: \"Bearer {{access_token}}\"}}\n    allowed: {any_of: [{status: [200], body_contains: '\"user\"'}, {status: [200], body_matches: '^\\{\"user\"'}]}\n    denied: {status: [401], header: {www-authenticate: '(?i)^bearer'}}",
    )
}

/// Every selected rule's status with `flaws` and the profile edited by `edit`.
async fn statuses(
    flaws: &[Flaw],
    only: &[&str],
    edit: fn(String) -> String,
) -> BTreeMap<String, Status> {
    let config = TestbedConfig {
        flaws: flaws.iter().copied().collect(),
        ..TestbedConfig::default()
    };
    let report: Report = crate::support::run_with(config, only, crate::support::SEED, edit, |_| {})
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    report
        .results
        .iter()
        .map(|r| (r.id.to_string(), r.status()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_with_any_of_regexes_and_header_conditions_ends_every_rule_the_same() {
    // The whole catalogue on the clean testbed; the session rules with a flaw they catch.
    for (flaws, only) in [
        (&[][..], &[][..]),
        (&[Flaw::LogoutKeepsSession][..], &["session.*"][..]),
    ] {
        let plain = statuses(flaws, only, |t| t).await;
        let rich = statuses(flaws, only, rich).await;
        assert_eq!(plain, rich, "with {flaws:?}");
        if !flaws.is_empty() {
            assert!(rich.values().any(|s| *s == Status::Fail), "{rich:?}");
        } else {
            assert!(!rich.values().any(|s| *s == Status::Fail), "{rich:?}");
        }
    }
}
