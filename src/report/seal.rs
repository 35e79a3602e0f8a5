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
        Format::Human | Format::Json | Format::Sarif | Format::Har => crate::text::placeholder,
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

    /// This test's own encoders (independent of `text::encode`).
    fn encodings(secret: &str) -> Vec<String> {
        use base64::Engine as _;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
        vec![
            secret.to_owned(),
            url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
            secret.bytes().map(|b| format!("%{b:02x}")).collect(),
            secret
                .encode_utf16()
                .map(|u| format!("\\u{u:04X}"))
                .collect(),
            {
                let json = serde_json::to_string(secret).unwrap_or_default();
                json[1..json.len() - 1].replace('/', "\\/")
            },
            secret
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('"', "&quot;")
                .replace('\'', "&#39;"),
            secret.chars().map(|c| format!("&#{};", c as u32)).collect(),
            STANDARD.encode(secret),
            URL_SAFE_NO_PAD.encode(secret),
            STANDARD.encode(format!("alice:{secret}")),
            hex.to_ascii_uppercase(),
            hex,
        ]
    }

    /// The documents as read: as written, and with one layer of the format's escaping undone.
    fn views(doc: &str) -> Vec<String> {
        let html = doc
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&");
        let mut out = vec![doc.to_owned(), html];
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(doc) {
            out.push(v.to_string());
            let mut strings = Vec::new();
            strings_of(&v, &mut strings);
            out.push(strings.join("\n"));
        }
        out
    }

    fn strings_of(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(a) => a.iter().for_each(|v| strings_of(v, out)),
            serde_json::Value::Object(m) => m.iter().for_each(|(k, v)| {
                out.push(k.clone());
                strings_of(v, out);
            }),
            _ => {}
        }
    }

    /// The fixture report with `echoed` in the observed text, a Set-Cookie value, a response
    /// header and a JSON body field; every result redacted as the engine does.
    fn hostile_report(echoed: &str, redactor: &Redactor) -> crate::engine::Report {
        let mut report = crate::report::tests::report(7, echoed);
        for r in &mut report.results {
            for e in &mut r.evidence {
                e.exchange
                    .response
                    .headers
                    .push(("x-echo".into(), echoed.into()));
                e.exchange.response.body = serde_json::json!({ "echo": echoed })
                    .to_string()
                    .into_bytes();
            }
            r.redact(redactor);
        }
        report
    }

    fn documents(report: &crate::engine::Report, redactor: &Redactor) -> Vec<String> {
        let catalogue = crate::spec::builtin_catalogue().expect("catalogue");
        Format::ALL
            .into_iter()
            .map(|f| {
                let text = crate::report::render(f, report, None, &catalogue, None, false);
                seal_text(f, &text, redactor).0
            })
            .collect()
    }

    /// The JSON report's evidence fields a short secret must not be: header values and the
    /// body's JSON field.
    fn evidence_fields(json: &str) -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(json).expect("json report");
        let mut out = Vec::new();
        for r in v["results"].as_array().into_iter().flatten() {
            for e in r["evidence"].as_array().into_iter().flatten() {
                let response = &e["exchange"]["response"];
                for h in response["headers"].as_array().into_iter().flatten() {
                    out.push(h[1].as_str().unwrap_or_default().to_owned());
                }
                let body = response["body"].as_str().unwrap_or_default();
                if let Ok(b) = serde_json::from_str::<serde_json::Value>(body) {
                    out.push(b["echo"].as_str().unwrap_or_default().to_owned());
                }
            }
        }
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 48,
            failure_persistence: None,
            ..Default::default()
        })]

        /// Random secrets (1–3 characters included) × encodings × every output format.
        #[test]
        fn no_secret_in_any_encoding_reaches_any_format(
            secret in "[a-zA-Z0-9@&<>\"'/+ %é€\\\\-]{1,14}",
            which in 0usize..12,
        ) {
            let echoed = encodings(&secret)[which].clone();
            let redactor = Redactor::default();
            redactor.register(&secret, "password:alice");
            redactor.register(&format!("alice:{secret}"), "password:alice");
            let docs = documents(&hostile_report(&echoed, &redactor), &redactor);
            if secret.chars().count() >= 4 {
                // A secret that the report's own text contains cannot be told apart.
                let plain = documents(&crate::report::tests::report(7, "v"), &Redactor::default());
                let spelled = encodings(&secret);
                let in_plain = plain.iter().flat_map(|d| views(d)).any(|v| {
                    spelled.iter().any(|e| e.len() >= 4 && v.contains(e.as_str()))
                });
                proptest::prop_assume!(!in_plain);
                for (doc, view) in docs.iter().flat_map(|d| views(d).into_iter().map(move |v| (d, v))) {
                    for e in &spelled {
                        proptest::prop_assert!(
                            e.len() < 4 || !view.contains(e.as_str()),
                            "{e:?} of {secret:?} in {doc}"
                        );
                    }
                }
            } else {
                let json = &docs[1];
                for field in evidence_fields(json) {
                    proptest::prop_assert!(
                        !encodings(&secret).contains(&field),
                        "{field:?} of {secret:?} in {json}"
                    );
                }
            }
        }
    }
}
