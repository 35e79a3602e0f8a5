//! Text primitives shared by the probe client, the reports and the offline inspectors:
//! [`sanitize`] (terminal-control stripping for text that came from a target) and
//! [`SecretSet`] (the registered secrets of a run and the string-level redaction that replaces
//! them with `<redacted:LABEL>` placeholders).
//!
//! This is a leaf: it works on plain strings and bytes and imports nothing of the crate.
//! It must not know about HTTP exchanges, rules or reports (the exchange-level redaction is
//! `http::Redactor`, built on [`SecretSet`]), and it never prints.

mod encode;
mod fields;
mod secrets;

pub use secrets::{MIN_SECRET_CHARS, SecretSet, placeholder};

/// Removes terminal control characters from text that came from the target.
pub fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_replaces_terminal_controls_but_keeps_newlines_and_tabs() {
        assert_eq!(
            sanitize("a\u{1b}[31mred\u{7}\tb\nc\rd"),
            "a\u{fffd}[31mred\u{fffd}\tb\nc\u{fffd}d"
        );
        assert_eq!(sanitize("plain, ünïcode"), "plain, ünïcode");
    }
}
