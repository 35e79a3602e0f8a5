//! The mutation vocabulary, its application to an id, its description and its masked
//! pattern (what a case is, without the characters it happened to hit).

use serde::{Deserialize, Serialize};

/// One way of changing a session id; a spec picks a set of them for
/// [`session_id_mutations`](super::session_id_mutations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MutationKind {
    /// Flip one of the low six bits of one character (`bit_flip`: `k` → `o`); never a
    /// change of case only.
    BitFlip,
    /// Keep only a non-empty proper prefix of the id (`truncate`).
    Truncate,
    /// Append one to eight characters from the id's alphabet (`extend`).
    Extend,
    /// Flip the case of every ASCII letter from one position on (`case_flip`: `…q3Zk` →
    /// `…Q3zK`); not applied to hex ids, where case makes no difference.
    CaseFlip,
    /// Replace one character with a different one from the id's alphabet (`substitute`),
    /// never its other-case twin.
    Substitute,
}

impl MutationKind {
    /// Every kind, in declaration order.
    pub const ALL: [MutationKind; 5] = [
        MutationKind::BitFlip,
        MutationKind::Truncate,
        MutationKind::Extend,
        MutationKind::CaseFlip,
        MutationKind::Substitute,
    ];
}

/// One concrete edit of an id. Positions are 0-based character offsets; [`apply`] takes
/// them modulo the length of the id at that point, so no value of a field is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Mutation {
    /// Flip bit `bit` (0 = least significant) of the character at `index`.
    BitFlip {
        /// Position of the character, e.g. `7`.
        index: usize,
        /// Bit to flip, e.g. `2` turns `k` into `o`.
        bit: u8,
    },
    /// Keep the first `keep` characters.
    Truncate {
        /// Number of characters kept, e.g. `12`.
        keep: usize,
    },
    /// Append `suffix`.
    Extend {
        /// The appended characters, e.g. `"A"`.
        suffix: String,
    },
    /// Flip the case of every ASCII letter from `index` to the end (no change if there is
    /// none).
    CaseFlip {
        /// Position of the first character flipped, e.g. `3`.
        index: usize,
    },
    /// Put `with` in place of the character at `index`.
    Substitute {
        /// Position of the replaced character, e.g. `16`.
        index: usize,
        /// The new character, e.g. `'A'`.
        with: char,
    },
}

/// The class of a character, with its article: `an A-Z`, `an a-z`, `a 0-9`,
/// `a non-alphanumeric`.
fn char_class(c: char) -> &'static str {
    if c.is_ascii_uppercase() {
        "an A-Z"
    } else if c.is_ascii_lowercase() {
        "an a-z"
    } else if c.is_ascii_digit() {
        "a 0-9"
    } else {
        "a non-alphanumeric"
    }
}

impl Mutation {
    /// The kind of this mutation.
    #[cfg(test)]
    pub fn kind(&self) -> MutationKind {
        match self {
            Mutation::BitFlip { .. } => MutationKind::BitFlip,
            Mutation::Truncate { .. } => MutationKind::Truncate,
            Mutation::Extend { .. } => MutationKind::Extend,
            Mutation::CaseFlip { .. } => MutationKind::CaseFlip,
            Mutation::Substitute { .. } => MutationKind::Substitute,
        }
    }

    /// Describes the mutation as applied to `before` (the id just before this mutation),
    /// e.g. `substitute an a-z character at position 16` or `truncate to 12 of 43
    /// characters`. It names the operator, positions, lengths and the class of a new
    /// character only — never a character of the id, nor the new one — so a report that
    /// shows it beside an echoed mutated value does not let a reader rebuild the live id.
    pub fn describe(&self, before: &str) -> String {
        let chars: Vec<char> = before.chars().collect();
        match self {
            Mutation::BitFlip { index, bit } => match locate(&chars, *index) {
                None => format!("flip bit {bit} at position {index} (no-op: the id is empty)"),
                Some((pos, c)) => match flip_bit(c, *bit) {
                    Some(_) => format!("flip bit {bit} of the character at position {pos}"),
                    None => format!("flip bit {bit} of the character at position {pos} (no-op)"),
                },
            },
            Mutation::Truncate { keep } => {
                if *keep >= chars.len() {
                    format!("truncate to {keep} of {} characters (no-op)", chars.len())
                } else {
                    format!("truncate to {keep} of {} characters", chars.len())
                }
            }
            Mutation::Extend { suffix } => {
                format!("append {} character(s)", suffix.chars().count())
            }
            Mutation::CaseFlip { index } => match locate(&chars, *index) {
                None => format!("flip the case at position {index} (no-op: the id is empty)"),
                Some((pos, _)) if chars[pos..].iter().any(char::is_ascii_alphabetic) => {
                    format!("flip the case of every letter from position {pos} on")
                }
                Some((pos, _)) => format!(
                    "flip the case of every letter from position {pos} on (no-op: no letter)"
                ),
            },
            Mutation::Substitute { index, with } => {
                let class = char_class(*with);
                match locate(&chars, *index) {
                    None => format!(
                        "substitute {class} character at position {index} (no-op: the id is empty)"
                    ),
                    Some((pos, c)) if c == *with => {
                        format!("substitute {class} character at position {pos} (no-op)")
                    }
                    Some((pos, _)) => format!("substitute {class} character at position {pos}"),
                }
            }
        }
    }

    /// The mutation with the characters it depends on masked: its operator, position or
    /// length, and for a substitution the class of the new character (`A-Z`, `a-z`, `0-9`,
    /// other), e.g. `substitute a-z at 16`. Two runs with one seed against ids of one shape
    /// give the same patterns whatever the ids' random characters.
    pub fn pattern(&self) -> String {
        match self {
            Mutation::BitFlip { index, .. } => format!("bit_flip at {index}"),
            Mutation::Truncate { keep } => format!("truncate to {keep}"),
            Mutation::Extend { suffix } => format!("extend by {}", suffix.chars().count()),
            Mutation::CaseFlip { index } => format!("case_flip from {index}"),
            Mutation::Substitute { index, with } => {
                let class = match char_class(*with) {
                    "an A-Z" => "A-Z",
                    "an a-z" => "a-z",
                    "a 0-9" => "0-9",
                    _ => "other",
                };
                format!("substitute {class} at {index}")
            }
        }
    }

    /// Applies the mutation in place.
    pub(super) fn apply_to(&self, chars: &mut Vec<char>) {
        match self {
            Mutation::BitFlip { index, bit } => {
                if let Some((pos, c)) = locate(chars, *index)
                    && let Some(flipped) = flip_bit(c, *bit)
                    && let Some(slot) = chars.get_mut(pos)
                {
                    *slot = flipped;
                }
            }
            Mutation::Truncate { keep } => chars.truncate(*keep),
            Mutation::Extend { suffix } => chars.extend(suffix.chars()),
            Mutation::CaseFlip { index } => {
                if let Some((pos, _)) = locate(chars, *index) {
                    for c in chars.iter_mut().skip(pos) {
                        *c = flip_case(*c);
                    }
                }
            }
            Mutation::Substitute { index, with } => {
                if let Some((pos, _)) = locate(chars, *index)
                    && let Some(slot) = chars.get_mut(pos)
                {
                    *slot = *with;
                }
            }
        }
    }
}

/// Applies `mutations` to `original` in order and returns the result. Indices are taken
/// modulo the length of the id at that point; an index into an empty id, a bit flip that
/// does not give a character, a case flip with no letter from its position on and a
/// truncation to at least the current length change nothing. `Truncate { keep: 0 }` gives
/// the empty string.
#[cfg(test)]
pub fn apply(original: &str, mutations: &[Mutation]) -> String {
    let mut chars: Vec<char> = original.chars().collect();
    for mutation in mutations {
        mutation.apply_to(&mut chars);
    }
    chars.into_iter().collect()
}

/// Whether `c` is an RFC 6265 `cookie-octet`
/// (`%x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E`).
pub fn is_cookie_octet(c: char) -> bool {
    matches!(c, '\x21' | '\x23'..='\x2B' | '\x2D'..='\x3A' | '\x3C'..='\x5B' | '\x5D'..='\x7E')
}

/// Whether every character of `s` is a `cookie-octet`, so `s` can be sent as a cookie value
/// unquoted and unchanged. The empty string is `*cookie-octet` too and gives `true`.
pub fn is_cookie_octet_string(s: &str) -> bool {
    s.chars().all(is_cookie_octet)
}

/// The effective position (`index` modulo the length) and the character there.
pub(super) fn locate(chars: &[char], index: usize) -> Option<(usize, char)> {
    let pos = index.checked_rem(chars.len())?;
    chars.get(pos).map(|&c| (pos, c))
}

/// `c` with bit `bit` flipped, if that is a character.
pub(super) fn flip_bit(c: char, bit: u8) -> Option<char> {
    let mask = 1u32.checked_shl(u32::from(bit))?;
    char::from_u32(u32::from(c) ^ mask)
}

/// `c` with its ASCII case flipped; anything else unchanged.
pub(super) fn flip_case(c: char) -> char {
    if c.is_ascii_lowercase() {
        c.to_ascii_uppercase()
    } else {
        c.to_ascii_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B64URL_ID: &str = "q3Zk7Vd0-xP9_aLmN2bY8cRt5WuE1oJhG4iKsT6fQzA";

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
        let flip = |index| apply("aB3c", &[Mutation::CaseFlip { index }]);
        assert_eq!(flip(0), "Ab3C");
        assert_eq!(flip(1), "ab3C");
        assert_eq!(
            flip(2),
            "aB3C",
            "a digit has no case; the letters after it flip"
        );
        assert_eq!(flip(5), "ab3C", "index taken modulo the length");
        assert_eq!(apply("ab12", &[Mutation::CaseFlip { index: 2 }]), "ab12");
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
    fn describe_names_positions_and_operators_only() {
        let id = "q3Zk7Vdk0xP9aLmNx";
        assert_eq!(
            Mutation::Substitute {
                index: 16,
                with: 'A'
            }
            .describe(id),
            "substitute an A-Z character at position 16"
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
            "append 1 character(s)"
        );
        assert_eq!(
            Mutation::CaseFlip { index: 0 }.describe(id),
            "flip the case of every letter from position 0 on"
        );
        assert_eq!(
            Mutation::BitFlip { index: 7, bit: 2 }.describe(id),
            "flip bit 2 of the character at position 7"
        );
        assert_eq!(
            Mutation::CaseFlip { index: 1 }.describe("a3"),
            "flip the case of every letter from position 1 on (no-op: no letter)"
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
        // No character of the id appears in any description.
        for m in [
            Mutation::Substitute {
                index: 3,
                with: '~',
            },
            Mutation::BitFlip { index: 3, bit: 0 },
        ] {
            let d = m.describe("WXYZ");
            assert!(!d.contains(['W', 'X', 'Y', 'Z', '~']), "{d}");
        }
    }

    #[test]
    fn patterns_mask_the_characters() {
        let patterns: Vec<String> = [
            Mutation::BitFlip { index: 7, bit: 2 },
            Mutation::Truncate { keep: 12 },
            Mutation::Extend {
                suffix: "AB".to_owned(),
            },
            Mutation::CaseFlip { index: 3 },
            Mutation::Substitute {
                index: 16,
                with: 'q',
            },
        ]
        .iter()
        .map(Mutation::pattern)
        .collect();
        assert_eq!(
            patterns,
            [
                "bit_flip at 7",
                "truncate to 12",
                "extend by 2",
                "case_flip from 3",
                "substitute a-z at 16"
            ]
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
}
