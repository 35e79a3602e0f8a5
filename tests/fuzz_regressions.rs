//! Regressions found by the cargo-fuzz targets in `fuzz/`: each test replays the saved input
//! from `tests/data/fuzz/<target>/` and says what the bug was.

use std::path::Path;

use authprobe::jwt::dangerous::{AttackerKey, ForgeContext, ForgeryKind, forge};
use authprobe::jwt::decode::decode;
use serde_json::{Map, Value};

fn input(target: &str, name: &str) -> (String, String) {
    let path = format!(
        "{}/tests/data/fuzz/{target}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    (path, text)
}

fn without_alg(h: &Map<String, Value>) -> Map<String, Value> {
    let mut h = h.clone();
    h.remove("alg");
    h
}

/// jwt_mutate: a forged header must differ from the original only in the members the forgery
/// is about. serde_json's default float parsing is not exact, so `4.656291282468859e-235` in a
/// header came back as `4.6562912824688594e-235` after the forger re-serialised it — a second,
/// unintended change. Fixed by enabling serde_json's `float_roundtrip` feature.
#[test]
fn jwt_mutate_forged_header_keeps_float_members_exactly() {
    let (_, token) = input("jwt_mutate", "header-float-roundtrip.jwt");
    let token = token.trim();
    let original = decode(token).expect("seed decodes");
    let attacker = AttackerKey::generate().expect("key");
    let ctx = ForgeContext {
        public_keys: &[],
        other_token: None,
        attacker_jwks_url: None,
        attacker: &attacker,
    };
    let forged = forge(ForgeryKind::NoneAlgorithm, token, &ctx).expect("forges");
    assert!(!forged.is_empty());
    for f in forged.iter().filter(|f| f.token.ends_with('.')) {
        let j = decode(&f.token).expect("forged token decodes");
        assert_eq!(
            without_alg(&j.header),
            without_alg(&original.header),
            "{}",
            f.variant
        );
    }
    let modified = forge(ForgeryKind::ModifiedHeader, token, &ctx).expect("forges");
    let j = decode(&modified[0].token).expect("decodes");
    assert_eq!(j.header.get("x"), original.header.get("x"));
}

/// profile_load: semantic checks that know only the key path of a bad value (`session.cookie`,
/// `flows.access.allowed.status`, `policy.*`, `limits.max_rps`) reported `line: 0`, so the
/// diagnostic printed without `file:line:col`. They are now located from the key path.
#[test]
fn profile_load_every_diagnostic_has_a_line() {
    let (path, src) = input("profile_load", "session-cookie-no-location.yaml");
    let diags = authprobe::profile::parse_profile(&src, Path::new(&path)).expect_err("bad cookie");
    let d = diags
        .0
        .iter()
        .find(|d| d.path == "session.cookie")
        .expect("the cookie name is reported");
    let line = src
        .lines()
        .position(|l| l.trim_start().starts_with("cookie:"))
        .expect("seed has the key") as u64
        + 1;
    assert_eq!((d.line, d.column), (line, 3), "{d}");
    assert!(diags.0.iter().all(|d| d.line > 0), "{diags}");
}

/// profile_load: "neither `flows` nor `token`" pointed at the absent key `flows` with line 0;
/// it is about the file as a whole (empty key path).
#[test]
fn profile_load_without_any_login_is_a_whole_file_diagnostic() {
    let (path, src) = input("profile_load", "no-flows-no-token.yaml");
    let diags = authprobe::profile::parse_profile(&src, Path::new(&path)).expect_err("no login");
    assert!(
        diags.0.iter().all(|d| d.line > 0 || d.path.is_empty()),
        "{diags}"
    );
    assert!(diags.to_string().contains("neither `flows`"), "{diags}");
}

/// spec_load: policy problems were pushed with `line: 0` (only the key path was known).
#[test]
fn spec_load_policy_problem_has_a_line() {
    let (path, src) = input("spec_load", "policy-empty-same-site.yaml");
    let (_, _, diags) = authprobe::spec::load_spec_file(&src, Path::new(&path));
    let d = diags
        .0
        .iter()
        .find(|d| d.path == "policy.same_site")
        .expect("empty same_site is reported");
    assert_eq!((d.line, d.column), (3, 3), "{d}");
}

/// jwt_mutate: with a repeated header member the forger read the *first* `alg` (and `kid`)
/// while the decoder and verifiers read the last one, so `{"alg":"HS256","alg":"RS256"}` (an
/// RS256 token to any verifier) got no symmetry-confusion forgeries, and `{"alg":"ES384", …,
/// "alg":"\u000b"}` got HS256 ones. `Ordered::get` now returns the last duplicate.
#[test]
fn jwt_mutate_duplicate_alg_is_read_last_wins() {
    let (_, token) = input("jwt_mutate", "duplicate-alg-last-wins.jwt");
    let token = token.trim();
    assert_eq!(decode(token).expect("decodes").alg(), Some("RS256"));
    let attacker = AttackerKey::generate().expect("key");
    let service = [attacker.public_jwk().clone()];
    let ctx = ForgeContext {
        public_keys: &service,
        other_token: None,
        attacker_jwks_url: None,
        attacker: &attacker,
    };
    let forged = forge(ForgeryKind::SymmetryConfusion, token, &ctx).expect("forges");
    assert!(
        !forged.is_empty(),
        "an RS256 token gets symmetry-confusion forgeries"
    );
    for f in &forged {
        let alg = decode(&f.token).expect("decodes").alg().map(str::to_owned);
        assert!(alg.is_some_and(|a| a.starts_with("HS")), "{}", f.variant);
    }
}
