//! The single choke point before any output: every report, replay script, fuzz finding file
//! and stdout document is passed through [`seal`] as its final bytes, just before it is
//! written. Whatever a renderer let through — a secret registered after its evidence was
//! made, a spelling the output format's own escaping produced (HTML entities, JSON or
//! Markdown backslashes over the target's encoding) — is redacted there and counted, and the
//! writer says so ([`seal_note`]).
//!
//! The rule text was already redacted where it left the engine (`RuleResult::redact`), so a
//! count above zero means a secret went around that first pass: the output is still safe.
//! Secrets of 1–3 characters are not searched here (they would match the report's own
//! words); they are redacted by position in the target's data before rendering.

use crate::http::Redactor;

use super::Format;

/// The placeholder for a secret found in a finished document of `format`: `<redacted:LABEL>`,
/// escaped where markup would read it as a tag.
fn placeholder_for(format: Format) -> fn(&str) -> String {
    match format {
        Format::Html | Format::Junit => |l| format!("&lt;redacted:{l}&gt;"),
        Format::Markdown => |l| format!("[redacted:{l}]"),
        Format::Human | Format::Json | Format::Sarif => crate::text::placeholder,
    }
}

/// Seals the final bytes of a document in `format` (JSON for fuzz findings, human for
/// scripts and plain text): every registered secret, in any spelling, is replaced; returns
/// the bytes to write and how many occurrences were replaced.
pub fn seal(format: Format, bytes: &[u8], redactor: &Redactor) -> (Vec<u8>, usize) {
    let placeholder = placeholder_for(format);
    redactor.seal(bytes, &placeholder)
}

/// [`seal`] for a text document.
pub fn seal_text(format: Format, text: &str, redactor: &Redactor) -> (String, usize) {
    let (bytes, n) = seal(format, text.as_bytes(), redactor);
    let text = String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    (text, n)
}

/// The run's note about what sealing `what` redacted, when it redacted anything:
/// `3 secret occurrence(s) redacted at output (report.sarif)`.
pub fn seal_note(redacted: usize, what: &str) -> Option<String> {
    (redacted > 0).then(|| format!("{redacted} secret occurrence(s) redacted at output ({what})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealing_escapes_the_placeholder_for_markup_and_counts() {
        let redactor = Redactor::default();
        redactor.register("hunter2-password", "password:alice");
        let html = "<p>hunter2&#45;password</p>";
        let (out, n) = seal_text(Format::Html, html, &redactor);
        assert_eq!(
            (out.as_str(), n),
            ("<p>&lt;redacted:password:alice&gt;</p>", 1)
        );
        let (out, n) = seal_text(
            Format::Json,
            "{\"a\":\"hunter2\\u002dpassword\"}",
            &redactor,
        );
        assert_eq!(
            (out.as_str(), n),
            ("{\"a\":\"<redacted:password:alice>\"}", 1)
        );
        let (out, n) = seal_text(Format::Markdown, "`hunter2-password`", &redactor);
        assert_eq!((out.as_str(), n), ("`[redacted:password:alice]`", 1));
        assert_eq!(
            seal_note(2, "stdout").as_deref(),
            Some("2 secret occurrence(s) redacted at output (stdout)")
        );
        assert_eq!(seal_note(0, "stdout"), None);
    }
}
