//! The HAR report (`--report har=PATH`): what `demo` writes against the testbed, clean and with
//! a flaw, is valid HAR 1.2 — checked field by field against the structure the specification
//! gives (required fields and their types, ISO 8601 times, timings that add up, pages that
//! entries refer to, only custom fields beyond it) — opens as JSON, and holds no secret.
//! (tests/redaction.rs searches the captured HAR of a hostile echo server for every secret in
//! every encoding.)

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::{Map, Value};

use super::support::authprobe;

// ---- a structural check of HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/) -------

/// Problems found, each with its JSON path.
#[derive(Default)]
struct Check {
    errors: Vec<String>,
}

impl Check {
    fn err(&mut self, path: &str, what: impl std::fmt::Display) {
        self.errors.push(format!("{path}: {what}"));
    }

    /// The object at `path`, or an error.
    fn object<'v>(&mut self, v: &'v Value, path: &str) -> Option<&'v Map<String, Value>> {
        let o = v.as_object();
        if o.is_none() {
            self.err(path, "is not an object");
        }
        o
    }

    /// Every key of `o` is one of `known` or a custom field (`_name`).
    fn keys(&mut self, o: &Map<String, Value>, path: &str, known: &[&str]) {
        for k in o.keys() {
            if !known.contains(&k.as_str()) && !k.starts_with('_') {
                self.err(path, format!("unknown field `{k}`"));
            }
        }
    }

    fn string<'v>(&mut self, o: &'v Map<String, Value>, path: &str, key: &str) -> Option<&'v str> {
        match o.get(key) {
            Some(Value::String(s)) => Some(s),
            Some(_) => {
                self.err(&format!("{path}.{key}"), "is not a string");
                None
            }
            None => {
                self.err(path, format!("lacks `{key}`"));
                None
            }
        }
    }

    fn number(&mut self, o: &Map<String, Value>, path: &str, key: &str) -> Option<f64> {
        match o.get(key) {
            Some(Value::Number(n)) => n.as_f64(),
            Some(_) => {
                self.err(&format!("{path}.{key}"), "is not a number");
                None
            }
            None => {
                self.err(path, format!("lacks `{key}`"));
                None
            }
        }
    }

    fn array<'v>(&mut self, o: &'v Map<String, Value>, path: &str, key: &str) -> &'v [Value] {
        match o.get(key) {
            Some(Value::Array(a)) => a,
            Some(_) => {
                self.err(&format!("{path}.{key}"), "is not an array");
                &[]
            }
            None => {
                self.err(path, format!("lacks `{key}`"));
                &[]
            }
        }
    }

    /// An optional field: absent, or of the type `is` accepts.
    fn optional(&mut self, o: &Map<String, Value>, path: &str, key: &str, is: fn(&Value) -> bool) {
        if o.get(key).is_some_and(|v| !is(v)) {
            self.err(&format!("{path}.{key}"), "has the wrong type");
        }
    }

    fn date(&mut self, o: &Map<String, Value>, path: &str, key: &str) {
        if let Some(s) = self.string(o, path, key)
            && !is_iso8601(s)
        {
            self.err(&format!("{path}.{key}"), format!("`{s}` is not ISO 8601"));
        }
    }

    fn name_values(&mut self, o: &Map<String, Value>, path: &str, key: &str) {
        for (i, nv) in self.array(o, path, key).iter().enumerate() {
            let p = format!("{path}.{key}[{i}]");
            if let Some(nv) = self.object(nv, &p) {
                self.keys(nv, &p, &["name", "value", "comment"]);
                self.string(nv, &p, "name");
                self.string(nv, &p, "value");
            }
        }
    }

    fn cookies(&mut self, o: &Map<String, Value>, path: &str) {
        for (i, c) in self.array(o, path, "cookies").iter().enumerate() {
            let p = format!("{path}.cookies[{i}]");
            let Some(c) = self.object(c, &p) else {
                continue;
            };
            let known = [
                "name", "value", "path", "domain", "expires", "httpOnly", "secure", "comment",
            ];
            self.keys(c, &p, &known);
            self.string(c, &p, "name");
            self.string(c, &p, "value");
            for k in ["path", "domain", "comment"] {
                self.optional(c, &p, k, Value::is_string);
            }
            for k in ["httpOnly", "secure"] {
                self.optional(c, &p, k, Value::is_boolean);
            }
            if c.contains_key("expires") {
                self.date(c, &p, "expires");
            }
        }
    }

    fn request(&mut self, v: &Value, path: &str) {
        let Some(r) = self.object(v, path) else {
            return;
        };
        let known = [
            "method",
            "url",
            "httpVersion",
            "cookies",
            "headers",
            "queryString",
            "postData",
            "headersSize",
            "bodySize",
            "comment",
        ];
        self.keys(r, path, &known);
        self.string(r, path, "method");
        if let Some(u) = self.string(r, path, "url") {
            match url::Url::parse(u) {
                Ok(u) if u.fragment().is_none() => {}
                _ => self.err(
                    &format!("{path}.url"),
                    "is not an absolute URL without fragment",
                ),
            }
        }
        self.string(r, path, "httpVersion");
        self.cookies(r, path);
        self.name_values(r, path, "headers");
        self.name_values(r, path, "queryString");
        if let Some(pd) = r.get("postData") {
            let p = format!("{path}.postData");
            if let Some(pd) = self.object(pd, &p) {
                self.keys(pd, &p, &["mimeType", "params", "text", "comment"]);
                self.string(pd, &p, "mimeType");
                match (pd.get("params"), pd.get("text")) {
                    (Some(_), Some(_)) => self.err(&p, "has both `params` and `text`"),
                    (None, None) => self.err(&p, "has neither `params` nor `text`"),
                    (None, Some(_)) => {
                        self.string(pd, &p, "text");
                    }
                    (Some(_), None) => {
                        self.array(pd, &p, "params");
                    }
                }
            }
        }
        self.number(r, path, "headersSize");
        self.number(r, path, "bodySize");
        self.optional(r, path, "comment", Value::is_string);
    }

    fn response(&mut self, v: &Value, path: &str) {
        let Some(r) = self.object(v, path) else {
            return;
        };
        let known = [
            "status",
            "statusText",
            "httpVersion",
            "cookies",
            "headers",
            "content",
            "redirectURL",
            "headersSize",
            "bodySize",
            "comment",
        ];
        self.keys(r, path, &known);
        self.number(r, path, "status");
        self.string(r, path, "statusText");
        self.string(r, path, "httpVersion");
        self.cookies(r, path);
        self.name_values(r, path, "headers");
        let p = format!("{path}.content");
        match r.get("content") {
            None => self.err(path, "lacks `content`"),
            Some(c) => {
                if let Some(c) = self.object(c, &p) {
                    let known = [
                        "size",
                        "compression",
                        "mimeType",
                        "text",
                        "encoding",
                        "comment",
                    ];
                    self.keys(c, &p, &known);
                    self.number(c, &p, "size");
                    self.string(c, &p, "mimeType");
                    self.optional(c, &p, "compression", Value::is_number);
                    for k in ["text", "encoding", "comment"] {
                        self.optional(c, &p, k, Value::is_string);
                    }
                }
            }
        }
        self.string(r, path, "redirectURL");
        self.number(r, path, "headersSize");
        self.number(r, path, "bodySize");
        self.optional(r, path, "comment", Value::is_string);
    }

    /// The timings object; returns the sum of the ones given (not -1).
    fn timings(&mut self, v: &Value, path: &str) -> f64 {
        let Some(t) = self.object(v, path) else {
            return 0.0;
        };
        let known = [
            "blocked", "dns", "connect", "send", "wait", "receive", "ssl", "comment",
        ];
        self.keys(t, path, &known);
        let mut sum = 0.0;
        for k in ["send", "wait", "receive"] {
            match self.number(t, path, k) {
                Some(n) if n >= 0.0 => sum += n,
                Some(n) => self.err(&format!("{path}.{k}"), format!("{n} is negative")),
                None => {}
            }
        }
        for k in ["blocked", "dns", "connect", "ssl"] {
            if let Some(n) = t.get(k) {
                match n.as_f64() {
                    Some(n) if n >= 0.0 => sum += n,
                    Some(-1.0) => {}
                    _ => self.err(&format!("{path}.{k}"), "is not a number ≥ 0 or -1"),
                }
            }
        }
        sum
    }

    fn entry(&mut self, v: &Value, path: &str, pages: &BTreeSet<String>) {
        let Some(e) = self.object(v, path) else {
            return;
        };
        let known = [
            "pageref",
            "startedDateTime",
            "time",
            "request",
            "response",
            "cache",
            "timings",
            "serverIPAddress",
            "connection",
            "comment",
        ];
        self.keys(e, path, &known);
        if let Some(p) = e.get("pageref") {
            match p.as_str() {
                Some(p) if pages.contains(p) => {}
                _ => self.err(&format!("{path}.pageref"), "names no page"),
            }
        }
        self.date(e, path, "startedDateTime");
        let time = self.number(e, path, "time");
        for (k, f) in [
            ("request", Check::request as fn(&mut Check, &Value, &str)),
            ("response", Check::response),
        ] {
            match e.get(k) {
                Some(v) => f(self, v, &format!("{path}.{k}")),
                None => self.err(path, format!("lacks `{k}`")),
            }
        }
        match e.get("cache") {
            Some(c) => {
                let p = format!("{path}.cache");
                if let Some(c) = self.object(c, &p) {
                    self.keys(c, &p, &["beforeRequest", "afterRequest", "comment"]);
                }
            }
            None => self.err(path, "lacks `cache`"),
        }
        match e.get("timings") {
            Some(t) => {
                let sum = self.timings(t, &format!("{path}.timings"));
                if let Some(time) = time
                    && (time - sum).abs() > 0.01
                {
                    self.err(
                        path,
                        format!("time {time} is not the sum of its timings {sum}"),
                    );
                }
            }
            None => self.err(path, "lacks `timings`"),
        }
        for k in ["serverIPAddress", "connection", "comment"] {
            self.optional(e, path, k, Value::is_string);
        }
    }

    fn page(&mut self, v: &Value, path: &str) -> Option<String> {
        let p = self.object(v, path)?;
        self.keys(
            p,
            path,
            &["startedDateTime", "id", "title", "pageTimings", "comment"],
        );
        self.date(p, path, "startedDateTime");
        self.string(p, path, "title");
        self.optional(p, path, "comment", Value::is_string);
        match p.get("pageTimings") {
            Some(t) => {
                let tp = format!("{path}.pageTimings");
                if let Some(t) = self.object(t, &tp) {
                    self.keys(t, &tp, &["onContentLoad", "onLoad", "comment"]);
                    self.optional(t, &tp, "onContentLoad", Value::is_number);
                    self.optional(t, &tp, "onLoad", Value::is_number);
                }
            }
            None => self.err(path, "lacks `pageTimings`"),
        }
        self.string(p, path, "id").map(str::to_owned)
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
fn is_iso8601(s: &str) -> bool {
    let re = regex::Regex::new(
        r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]\d{2}:\d{2})$",
    )
    .expect("regex");
    re.is_match(s)
}

/// Every way `doc` departs from HAR 1.2 (empty when it conforms).
fn har_problems(doc: &Value) -> Vec<String> {
    let mut c = Check::default();
    let Some(root) = c.object(doc, "$") else {
        return c.errors;
    };
    let Some(log) = root.get("log") else {
        c.err("$", "lacks `log`");
        return c.errors;
    };
    let Some(log) = c.object(log, "log") else {
        return c.errors;
    };
    c.keys(
        log,
        "log",
        &[
            "version", "creator", "browser", "pages", "entries", "comment",
        ],
    );
    if let Some(v) = c.string(log, "log", "version")
        && v != "1.2"
    {
        c.err("log.version", format!("is {v}, not 1.2"));
    }
    for who in ["creator", "browser"] {
        let Some(o) = log.get(who) else {
            if who == "creator" {
                c.err("log", "lacks `creator`");
            }
            continue;
        };
        let p = format!("log.{who}");
        if let Some(o) = c.object(o, &p) {
            c.keys(o, &p, &["name", "version", "comment"]);
            c.string(o, &p, "name");
            c.string(o, &p, "version");
        }
    }
    c.optional(log, "log", "comment", Value::is_string);
    let mut pages = BTreeSet::new();
    if log.contains_key("pages") {
        for (i, p) in c.array(log, "log", "pages").iter().enumerate() {
            if let Some(id) = c.page(p, &format!("log.pages[{i}]"))
                && !pages.insert(id.clone())
            {
                c.err(
                    &format!("log.pages[{i}].id"),
                    format!("`{id}` is not unique"),
                );
            }
        }
    }
    let entries = c.array(log, "log", "entries");
    let mut last = String::new();
    for (i, e) in entries.iter().enumerate() {
        c.entry(e, &format!("log.entries[{i}]"), &pages);
        // Sorted oldest first (the format's preferred order; the times are all UTC here).
        if let Some(t) = e["startedDateTime"].as_str() {
            if t < last.as_str() {
                c.err(
                    &format!("log.entries[{i}]"),
                    "is older than the entry before",
                );
            }
            last = t.to_owned();
        }
    }
    c.errors
}

// ---- the demo's HAR ------------------------------------------------------------------------

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("authprobe-har-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir.join("run.har")
}

/// Runs `demo` with `args` writing a HAR; the HAR's text, parsed, and the stdout JSON report.
fn demo_har(tag: &str, args: &[&str]) -> (String, Value, Value) {
    let path = scratch(tag);
    let report = format!("har={}", path.display());
    let mut all = vec![
        "demo", "-q", "--seed", "7", "--format", "json", "--report", &report,
    ];
    all.extend_from_slice(args);
    let (code, out, err) = authprobe(&all);
    assert!(code == 0 || code == 1, "exit {code}: {err}");
    let text = std::fs::read_to_string(&path).expect("the HAR file is written");
    let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
    let doc: Value = serde_json::from_str(&text).expect("the HAR opens as JSON");
    let json: Value = serde_json::from_str(&out).expect("json report");
    (text, doc, json)
}

/// The demo's secrets that appear in no output as they are: the testbed users' passwords
/// (plain, URL- and form-encoded) and its client secret.
const DEMO_SECRETS: [&str; 5] = [
    "alice-demo-password",
    "bob-demo-password",
    "authprobe-demo-client-secret",
    "alice%2Ddemo%2Dpassword",
    "YWxpY2UtZGVtby1wYXNzd29yZA",
];

/// No secret in the HAR: none of [`DEMO_SECRETS`]; every session cookie, sent or set, and
/// every `Authorization` credential is a placeholder; every token field of a JSON body too.
fn assert_no_secret(text: &str, doc: &Value) {
    for s in DEMO_SECRETS {
        assert!(!text.contains(s), "the HAR holds {s}");
    }
    let mut checked = 0;
    for e in doc["log"]["entries"].as_array().expect("entries") {
        for side in ["request", "response"] {
            for c in e[side]["cookies"].as_array().expect("cookies") {
                if c["name"].as_str().is_some_and(|n| n.contains("session")) {
                    let v = c["value"].as_str().unwrap_or("");
                    assert!(v.is_empty() || v.starts_with("<redacted:"), "cookie {c}");
                    checked += 1;
                }
            }
        }
        for h in e["request"]["headers"].as_array().expect("headers") {
            if h["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case("authorization"))
            {
                let v = h["value"].as_str().unwrap_or("");
                assert!(
                    v.split(' ')
                        .nth(1)
                        .is_none_or(|c| c.starts_with("<redacted")),
                    "{v}"
                );
                checked += 1;
            }
        }
        let body = e["response"]["content"]["text"].as_str().unwrap_or("");
        if let Ok(Value::Object(o)) = serde_json::from_str::<Value>(body) {
            for k in ["access_token", "refresh_token", "id_token"] {
                if let Some(v) = o.get(k).and_then(Value::as_str) {
                    assert!(v.starts_with("<redacted:"), "{k}: {v}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 5, "only {checked} credentials were looked at");
}

#[test]
fn a_clean_demo_run_writes_valid_har_1_2_with_a_page_per_rule_and_no_secret() {
    let only = [
        "cookie.http-only",
        "session.revoked-on-logout",
        "jwt.alg-none-rejected",
    ];
    let mut args = Vec::new();
    for r in only {
        args.extend(["--only", r]);
    }
    let (text, doc, json) = demo_har("clean", &args);
    let problems = har_problems(&doc);
    assert!(problems.is_empty(), "{problems:#?}");
    let log = &doc["log"];
    assert_eq!(log["creator"]["name"], "authprobe");
    let ids: Vec<&str> = log["pages"]
        .as_array()
        .expect("pages")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    let mut want = vec!["run"];
    want.extend(
        json["results"]
            .as_array()
            .expect("results")
            .iter()
            .filter_map(|r| r["id"].as_str()),
    );
    assert_eq!(ids, want);
    // Every request is there (the capture, not only failures' transcripts): per rule as
    // many entries as it sent (a check of the login response sends none), the rest on `run`.
    let entries = log["entries"].as_array().expect("entries");
    let count = |id: &str| entries.iter().filter(|e| e["pageref"] == id).count() as u64;
    for r in json["results"].as_array().expect("results") {
        let id = r["id"].as_str().expect("id");
        assert_eq!(count(id), r["requests"].as_u64().expect("requests"), "{id}");
    }
    assert!(count("run") > 0);
    assert_eq!(
        entries.len() as u64,
        json["requests"].as_u64().expect("requests")
    );
    assert_no_secret(&text, &doc);
}

#[test]
fn a_flawed_demo_run_marks_the_failing_rule_and_its_transcript() {
    let (text, doc, _) = demo_har(
        "flaw",
        &[
            "--flaw",
            "logout-keeps-session",
            "--only",
            "session.revoked-on-logout",
        ],
    );
    let problems = har_problems(&doc);
    assert!(problems.is_empty(), "{problems:#?}");
    let page = doc["log"]["pages"]
        .as_array()
        .expect("pages")
        .iter()
        .find(|p| p["id"] == "session.revoked-on-logout")
        .expect("the rule's page");
    assert!(
        page["title"]
            .as_str()
            .is_some_and(|t| t.ends_with("(fail)")),
        "{page}"
    );
    let transcript: Vec<&Value> = doc["log"]["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| {
            e["comment"]
                .as_str()
                .is_some_and(|c| c.starts_with("transcript: "))
        })
        .collect();
    assert!(transcript.len() >= 3, "{transcript:#?}");
    assert!(
        transcript
            .iter()
            .all(|e| e["pageref"] == "session.revoked-on-logout")
    );
    assert_no_secret(&text, &doc);
}

#[test]
fn the_structural_check_finds_what_breaks_har_1_2() {
    let good = serde_json::json!({"log": {
        "version": "1.2",
        "creator": {"name": "x", "version": "1"},
        "pages": [{"startedDateTime": "2026-12-02T12:00:00.000Z", "id": "p", "title": "t",
                   "pageTimings": {}}],
        "entries": [{
            "pageref": "p", "startedDateTime": "2026-12-02T12:00:00.001Z", "time": 3,
            "request": {"method": "GET", "url": "http://a/", "httpVersion": "HTTP/1.1",
                        "cookies": [], "headers": [], "queryString": [],
                        "headersSize": -1, "bodySize": 0},
            "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
                         "cookies": [], "headers": [], "content": {"size": 0, "mimeType": "x"},
                         "redirectURL": "", "headersSize": -1, "bodySize": 0},
            "cache": {}, "timings": {"send": 0, "wait": 2, "receive": 1}}]}});
    assert_eq!(har_problems(&good), Vec::<String>::new());
    type Breaker = fn(&mut Value);
    let broken: [(&str, Breaker); 7] = [
        ("lacks `wait`", |v| {
            v["log"]["entries"][0]["timings"]
                .as_object_mut()
                .unwrap()
                .remove("wait");
        }),
        ("is 1.1, not 1.2", |v| v["log"]["version"] = "1.1".into()),
        ("names no page", |v| {
            v["log"]["entries"][0]["pageref"] = "q".into()
        }),
        ("not ISO 8601", |v| {
            v["log"]["entries"][0]["startedDateTime"] = "02/12/2026".into()
        }),
        ("not the sum of its timings", |v| {
            v["log"]["entries"][0]["time"] = 9.into()
        }),
        ("unknown field `colour`", |v| {
            v["log"]["entries"][0]["response"]["colour"] = 1.into()
        }),
        ("lacks `redirectURL`", |v| {
            v["log"]["entries"][0]["response"]
                .as_object_mut()
                .unwrap()
                .remove("redirectURL");
        }),
    ];
    for (want, breaker) in broken {
        let mut v = good.clone();
        breaker(&mut v);
        let problems = har_problems(&v);
        assert!(
            problems.iter().any(|p| p.contains(want)),
            "{want}: {problems:#?}"
        );
    }
}
