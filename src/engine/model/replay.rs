//! The replay script of a model counterexample: a POSIX shell script of curl commands that
//! sends the shrunk sequence again. Secrets never appear in it: each is a shell variable, set
//! from the answer that issued it (with jq or from Set-Cookie) or, for passwords and client
//! secrets, from the environment.

use std::collections::BTreeSet;

use crate::http::{Exchange, Redactor, curl_line, shell_quote};

use super::super::browser::Ctx;
use super::SeqRun;

/// A POSIX shell script that replays the counterexample with curl. Secrets (passwords,
/// tokens, session ids) never appear: each is a shell variable, set from the answer that
/// issued it (with jq or from Set-Cookie) or, for passwords and client secrets, from the
/// environment.
pub(super) fn replay_script(
    ctx: &Ctx,
    rule_id: &str,
    seed: u64,
    run: &SeqRun,
    failing: usize,
) -> String {
    let mut script = Script {
        redactor: ctx.client.redactor(),
        defined: BTreeSet::new(),
        env_needed: BTreeSet::new(),
        body: String::new(),
        requests: 0,
    };
    for (i, s) in run.steps.iter().enumerate() {
        script.body.push_str(&format!(
            "\n# step {}: {}{}\n#   expected: {}\n#   observed: {}\n",
            i + 1,
            s.operation,
            if i == failing {
                "   <-- disagrees with the model"
            } else {
                ""
            },
            s.expected,
            s.observed
        ));
        for rec in &run.transcript[s.exchanges.clone()] {
            script.request(i + 1, &rec.label, &rec.exchange);
        }
    }
    let mut out = String::new();
    out.push_str("#!/bin/sh\n");
    out.push_str(&format!(
        "# authprobe counterexample for {rule_id}, seed {seed}: replays the sequence step by step.\n"
    ));
    out.push_str(
        "# Needs curl and jq. Export the secrets named below first (never written here).\n",
    );
    out.push_str("set -u\nd=$(mktemp -d)\n");
    let env: Vec<&String> = script
        .env_needed
        .iter()
        .filter(|v| !script.defined.contains(*v))
        .collect();
    if !env.is_empty() {
        out.push_str(&format!(
            "# from the environment: {}\n: {}\n",
            env.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(" "),
            env.iter()
                .map(|v| format!("\"${{{v}:?export {v} first}}\""))
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    out.push_str(&script.body);
    out.push_str("\nrm -rf \"$d\"\n");
    out
}

/// The script being written: its body and the shell variables it defines or needs.
struct Script<'a> {
    redactor: &'a Redactor,
    /// Variables set from an earlier answer.
    defined: BTreeSet<String>,
    /// Variables used; those never defined come from the environment.
    env_needed: BTreeSet<String>,
    body: String,
    /// Requests written so far (numbers the saved headers and bodies).
    requests: usize,
}

impl Script<'_> {
    /// One request as a curl line (secrets as variables), then the captures of what its
    /// answer issued.
    fn request(&mut self, step: usize, label: &str, exchange: &Exchange) {
        self.requests += 1;
        let k = self.requests;
        let line = self.curl(step, label, exchange, k);
        let line = self.variables(&line);
        self.body.push_str(&format!("# {label}\n{line}\n"));
        self.capture(exchange, k);
    }

    /// The curl line, redacted, saving the answer's headers and body under `$d/K`.
    fn curl(&self, step: usize, label: &str, exchange: &Exchange, k: usize) -> String {
        let mut red = self.redactor.redact_exchange(exchange);
        // Reports hide whole Authorization values; the script needs to know *which*
        // credential went there. Keep the scheme and a registered secret's marker when
        // that is all the value holds (anything else stays wholly redacted).
        for ((name, value), (_, original)) in red
            .request
            .headers
            .iter_mut()
            .zip(&exchange.request.headers)
        {
            if name.eq_ignore_ascii_case("authorization") {
                let v = self.redactor.redact(original);
                let credential = v.split_once(' ').map_or(v.as_str(), |(_, rest)| rest);
                if whole_redaction(credential).is_some() {
                    *value = v;
                }
            }
        }
        // Labels of the model's own requests already name their step.
        let label = if label.starts_with(&format!("step {step}:")) {
            label.to_string()
        } else {
            format!("step {step}: {label}")
        };
        let shown = format!("%{{http_code}}  {}\\n", label.replace('%', "%%"));
        curl_line(&red).replacen(
            "curl -sS -i",
            &format!(
                "curl -sS -D \"$d/{k}.h\" -o \"$d/{k}.b\" -w {}",
                shell_quote(&shown)
            ),
            1,
        )
    }

    /// Redaction markers in a line become shell variables.
    fn variables(&mut self, line: &str) -> String {
        let mut rest = line;
        let mut rewritten = String::new();
        while let Some(p) = rest.find("<redacted:") {
            let Some(e) = rest[p..].find('>') else { break };
            let var = shell_var(&rest[p + 10..p + e]);
            if !self.defined.contains(&var) {
                self.env_needed.insert(var.clone());
            }
            rewritten.push_str(&rest[..p]);
            rewritten.push_str(&format!("'\"${{{var}}}\"'"));
            rest = &rest[p + e + 1..];
        }
        rewritten.push_str(rest);
        rewritten
    }

    /// Captures secrets an answer issued: JSON string fields (with jq) and Set-Cookie values.
    /// A jq path or cookie name is target data: one that holds a secret or could leave its
    /// shell quotes is not used (the variable then comes from the environment).
    fn capture(&mut self, exchange: &Exchange, k: usize) {
        if let Ok(json) = serde_json::from_slice::<serde_json::Value>(&exchange.response.body) {
            let mut leaves = Vec::new();
            json_leaves(&json, String::new(), &mut leaves);
            for (path, value) in leaves {
                if !self.safe_word(&path) {
                    continue;
                }
                if let Some(label) = whole_redaction(&self.redactor.redact(&value)) {
                    let var = shell_var(&label);
                    if self.defined.insert(var.clone()) {
                        self.body
                            .push_str(&format!("{var}=$(jq -r '{path}' \"$d/{k}.b\")\n"));
                    }
                }
            }
        }
        for raw in exchange.response.set_cookies() {
            let sc = crate::cookie::parse_set_cookie_ref(raw);
            let plain_name = sc
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
            if !plain_name || !self.safe_word(sc.name) {
                continue;
            }
            if let Some(label) = whole_redaction(&self.redactor.redact(sc.value)) {
                let var = shell_var(&label);
                if self.defined.insert(var.clone()) {
                    self.body.push_str(&format!(
                        "{var}=$(sed -n 's/^[Ss]et-[Cc]ookie: *{}=\\([^;]*\\).*/\\1/p' \"$d/{k}.h\" | tail -n 1)\n",
                        sc.name
                    ));
                }
            }
        }
    }
}

impl Script<'_> {
    /// True when target text may go into the script as is: it holds no registered secret
    /// and no character that ends a single-quoted shell word.
    fn safe_word(&self, text: &str) -> bool {
        !text.contains(['\'', '\n', '\r']) && self.redactor.redact(text) == text
    }
}

fn json_leaves(v: &serde_json::Value, path: String, out: &mut Vec<(String, String)>) {
    match v {
        serde_json::Value::String(s) => {
            out.push((if path.is_empty() { ".".into() } else { path }, s.clone()))
        }
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                let key = if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    format!("{path}.{k}")
                } else {
                    format!("{path}[{}]", serde_json::Value::String(k.clone()))
                };
                json_leaves(v, key, out);
            }
        }
        _ => {}
    }
}

/// The label when `text` is exactly one redaction marker.
fn whole_redaction(text: &str) -> Option<String> {
    let inner = text.strip_prefix("<redacted:")?.strip_suffix('>')?;
    (!inner.contains('<') && !inner.contains('>')).then(|| inner.to_string())
}

/// A shell variable name for a redaction label: `var:access_token#3` → `ACCESS_TOKEN_3`.
fn shell_var(label: &str) -> String {
    let label = label.strip_prefix("var:").unwrap_or(label);
    let mut v: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    while v.contains("__") {
        v = v.replace("__", "_");
    }
    let v = v.trim_matches('_').to_string();
    if v.is_empty() || v.starts_with(|c: char| c.is_ascii_digit()) {
        format!("S_{v}")
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_vars_are_safe_names() {
        assert_eq!(shell_var("var:access_token#3"), "ACCESS_TOKEN_3");
        assert_eq!(shell_var("password:alice"), "PASSWORD_ALICE");
        assert_eq!(
            shell_var("cookie:__Host-session#2"),
            "COOKIE_HOST_SESSION_2"
        );
        assert_eq!(shell_var("#1"), "S_1");
    }

    #[test]
    fn whole_redaction_needs_exactly_one_marker() {
        assert_eq!(
            whole_redaction("<redacted:var:a#1>").as_deref(),
            Some("var:a#1")
        );
        assert_eq!(whole_redaction("x<redacted:a>"), None);
        assert_eq!(whole_redaction("<redacted:a><redacted:b>"), None);
    }

    #[test]
    fn json_leaves_give_jq_paths() {
        let v = serde_json::json!({"access_token": "t", "nested": {"a-b": "u"}, "n": 1});
        let mut out = Vec::new();
        json_leaves(&v, String::new(), &mut out);
        assert!(out.contains(&(".access_token".to_string(), "t".to_string())));
        assert!(out.contains(&(".nested[\"a-b\"]".to_string(), "u".to_string())));
        assert_eq!(out.len(), 2);
    }
}
