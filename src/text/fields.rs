//! Field values in target text, for secrets too short (1–3 characters) to redact wherever
//! their characters occur: such a secret is redacted where it is the whole value of a field
//! — the whole text (a header value), a `name=value` pair (form bodies, query strings,
//! cookies, cookie attributes), a value after `:` (headers in a transcript, JSON numbers), a
//! quoted string (JSON strings and keys, HTML attributes) or an HTML text node — in any
//! escaping, base64 or hex.

/// The byte ranges of `text` that are field values (possibly overlapping), trimmed.
pub(super) fn field_ranges(b: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    push_trimmed(b, 0, b.len(), &mut out);
    quoted(b, &mut out);
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'=' | b':' => {
                let mut start = i + 1;
                while c == b':' && start < b.len() && b[start] == b' ' {
                    start += 1;
                }
                let end = (start..b.len())
                    .find(|&j| is_terminator(b[j]))
                    .unwrap_or(b.len());
                push_trimmed(b, start, end, &mut out);
            }
            b'>' => {
                let end = (i + 1..b.len()).find(|&j| b[j] == b'<').unwrap_or(b.len());
                push_trimmed(b, i + 1, end, &mut out);
            }
            _ => {}
        }
    }
    out
}

fn is_terminator(c: u8) -> bool {
    matches!(
        c,
        b'&' | b';'
            | b','
            | b'"'
            | b'\''
            | b'<'
            | b'>'
            | b')'
            | b']'
            | b'}'
            | b' '
            | b'\r'
            | b'\n'
            | b'\t'
    )
}

/// Quoted strings, `"…"` (backslash escapes skipped) and `'…'`, paired left to right.
fn quoted(b: &[u8], out: &mut Vec<(usize, usize)>) {
    for quote in [b'"', b'\''] {
        let mut i = 0;
        while i < b.len() {
            if b[i] != quote {
                i += 1;
                continue;
            }
            let start = i + 1;
            let mut j = start;
            while j < b.len() && b[j] != quote {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            let end = j.min(b.len());
            push_trimmed(b, start, end, out);
            i = end + 1;
        }
    }
}

fn push_trimmed(b: &[u8], mut start: usize, mut end: usize, out: &mut Vec<(usize, usize)>) {
    if start < end
        && end - start <= 64
        && (b[start].is_ascii_whitespace() || b[end - 1].is_ascii_whitespace())
    {
        // The value as written too: a password may start or end with a space.
        out.push((start, end));
    }
    while start < end && b[start].is_ascii_whitespace() {
        start += 1;
    }
    while end > start && b[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    // A field worth comparing with a short secret is short itself (its escaped or base64
    // spelling at most a few dozen bytes).
    if start < end && end - start <= 64 {
        out.push((start, end));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Vec<&str> {
        field_ranges(text.as_bytes())
            .into_iter()
            .map(|(a, b)| &text[a..b])
            .collect()
    }

    #[test]
    fn form_query_cookie_json_header_and_html_values_are_fields() {
        let f = fields("user=alice&pass=ab");
        assert!(f.contains(&"ab") && f.contains(&"alice"), "{f:?}");
        let f = fields("sid=xyz; Path=/; SameSite=ab");
        assert!(f.contains(&"xyz") && f.contains(&"ab"), "{f:?}");
        let f = fields(r#"{"p": "ab", "ab": 12}"#);
        assert!(f.contains(&"ab") && f.contains(&"12"), "{f:?}");
        let f = fields("<input value='ab'><p> ab </p>");
        assert_eq!(f.iter().filter(|v| **v == "ab").count(), 2, "{f:?}");
        assert_eq!(fields(" ab "), vec![" ab ", "ab"]);
        let f = fields("X-Echo: ab\r\nNext: 1");
        assert!(f.contains(&"ab"), "{f:?}");
    }

    #[test]
    fn words_in_prose_are_not_fields() {
        let f = fields("a session was refused by the server");
        assert!(!f.contains(&"a") && !f.contains(&"by"), "{f:?}");
    }
}
