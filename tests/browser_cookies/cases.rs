//! The cases the differential runs: the Set-Cookie corpus of the repository (bench data and
//! the fuzz seed corpora) and seeded generated headers.
//!
//! A case is one or more responses carrying `Set-Cookie` headers, then the same five probe
//! requests. Headers are templates: `example.com` in them stands for the case's own site
//! (`c<N>.example.com`), so that cases sharing one browser profile never see each other's
//! cookies; the template, not the substituted header, names a case in the catalogue.

use std::path::Path;

/// Where a response or probe goes: scheme, host (relative to the case's site) and path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// `https` when true, `http` otherwise.
    pub secure: bool,
    /// Host prefix before the site: `"www."`, `"sub.www."`, `""` (the site itself).
    pub host: &'static str,
    /// Request path.
    pub path: &'static str,
}

/// Where the first response of every case comes from.
pub const SET_AT: Place = Place {
    secure: true,
    host: "www.",
    path: "/app/login",
};

/// The probes every case ends with, in order, with what each asks.
pub const PROBES: [(Place, &str); 5] = [
    (
        Place {
            secure: true,
            host: "www.",
            path: "/app/x",
        },
        "same host, under the default path",
    ),
    (
        Place {
            secure: true,
            host: "www.",
            path: "/",
        },
        "same host, root path",
    ),
    (
        Place {
            secure: true,
            host: "sub.www.",
            path: "/app/x",
        },
        "a subdomain of the setting host",
    ),
    (
        Place {
            secure: true,
            host: "",
            path: "/app/x",
        },
        "the parent domain",
    ),
    (
        Place {
            secure: false,
            host: "www.",
            path: "/app/x",
        },
        "same host over plain http",
    ),
];

/// Where a generated case's second response may come from.
const SECOND_AT: [Place; 3] = [
    Place {
        secure: false,
        host: "www.",
        path: "/app/login",
    },
    Place {
        secure: true,
        host: "www.",
        path: "/",
    },
    Place {
        secure: true,
        host: "sub.www.",
        path: "/app/login",
    },
];

/// One case: responses in order, each with its `Set-Cookie` templates.
#[derive(Debug, Clone)]
pub struct Case {
    /// Where the case comes from (file, or generator seed and index).
    pub origin: String,
    /// The responses: where each comes from and its header templates.
    pub responses: Vec<(Place, Vec<String>)>,
}

impl Case {
    /// The catalogue key: the responses' templates, escaped, `" || "` between headers and
    /// `" >> <place> "` before a response other than the first.
    pub fn key(&self) -> String {
        let mut out = String::new();
        for (i, (place, headers)) in self.responses.iter().enumerate() {
            if i > 0 {
                out.push_str(&format!(
                    " >> {}://{}/{} ",
                    if place.secure { "https" } else { "http" },
                    place.host,
                    place.path.trim_start_matches('/')
                ));
            }
            let escaped: Vec<String> = headers.iter().map(|h| escape(h)).collect();
            out.push_str(&escaped.join(" || "));
        }
        out
    }
}

/// Printable ASCII stays, `\` doubles, every other byte becomes `\xNN`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

/// The repository's Set-Cookie corpus, deduplicated, one single-header case per header:
/// `benches/data/set-cookie.txt` (one per line) and the `set_cookie_*` fuzz seed corpora
/// (one per file).
pub fn corpus(root: &Path) -> Vec<Case> {
    let mut headers: Vec<(String, String)> = Vec::new();
    let bench = root.join("benches/data/set-cookie.txt");
    let text = std::fs::read_to_string(&bench).expect("bench corpus");
    for (i, line) in text.lines().enumerate() {
        if !line.trim().is_empty() {
            headers.push((
                format!("benches/data/set-cookie.txt:{}", i + 1),
                line.to_owned(),
            ));
        }
    }
    for dir in ["set_cookie_parse", "set_cookie_differential"] {
        let dir = root.join("fuzz/corpus").join(dir);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("fuzz corpus")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        files.sort();
        for f in files {
            let bytes = std::fs::read(&f).expect("corpus file");
            let text = String::from_utf8_lossy(&bytes).into_owned();
            // A header value cannot carry CR or LF on the wire; such seeds are not sendable.
            if !text.contains(['\r', '\n']) {
                let name = f.strip_prefix(root).unwrap_or(&f).display().to_string();
                headers.push((name, text));
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    headers
        .into_iter()
        .filter(|(_, h)| seen.insert(h.clone()))
        .map(|(origin, h)| Case {
            origin,
            responses: vec![(SET_AT, vec![h])],
        })
        .collect()
}

/// A xorshift64 stream: the generator's only source of choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const NAMES: &[&str] = &[
    "sid",
    "sid",
    "id",
    "__Secure-sid",
    "__Host-sid",
    "__host-sid",
    "__SECURE-x",
    "",
    "a b",
    "n\x01m",
    "t\tab",
];
const VALUES: &[&str] = &[
    "v",
    "v",
    "1",
    "",
    "\"q\"",
    "a b",
    "a,b",
    "x\x01y",
    "x\x7fy",
    "x\x00y",
    "\u{e9}t\u{e9}",
    "a\tb",
    " spaced ",
    "=eq",
    "__Host-v",
    "a\x1fb",
];
const ATTRIBUTES: &[&str] = &[
    "Path=/",
    "Path=/",
    "Path=/app",
    "Path=/app/",
    "Path=/ap",
    "Path=app",
    "Path=",
    "path=/APP",
    "Path=/app/x",
    "Domain=example.com",
    "Domain=.example.com",
    "Domain=www.example.com",
    "Domain=other.example.com",
    "Domain=sub.www.example.com",
    "Domain=com",
    "Domain=.com",
    "Domain=",
    "Domain=.",
    "domain=WWW.example.com",
    "Domain=example.com.",
    "Domain=..example.com",
    "Secure",
    "Secure",
    "secure=1",
    "HttpOnly",
    "SameSite=Strict",
    "SameSite=Lax",
    "SameSite=None",
    "SameSite=bogus",
    "SameSite=",
    "Max-Age=0",
    "Max-Age=-1",
    "Max-Age=3600",
    "Max-Age=abc",
    "Max-Age=99999999999",
    "Max-Age=+600",
    "Max-Age= 60",
    "Expires=Thu, 01 Jan 1970 00:00:00 GMT",
    "Expires=Fri, 01 Jan 2100 00:00:00 GMT",
    "Expires=garbage",
    "expires=Sun Nov  6 08:49:37 1994",
    "Expires=Wed, 01-Jan-70 00:00:01 GMT",
    "Expires=Tue, 01 Jan 2030 00:00:00 GMT",
    "Expires=Fri, 01 Jan 2100 00:00:00",
    "Partitioned",
    "Priority=High",
    "Foo=bar",
    "",
    "b\x01d=1",
    "Path=/a\x7fb",
];
const SEPARATORS: &[&str] = &["; ", "; ", "; ", ";", " ; ", "\t;\t", ";  "];

/// One generated header.
fn header(rng: &mut Rng) -> String {
    let name = rng.pick(NAMES);
    let value = rng.pick(VALUES);
    let mut h = if rng.chance(8) {
        value.to_owned()
    } else if rng.chance(8) {
        format!(" {name} = {value} ")
    } else {
        format!("{name}={value}")
    };
    for _ in 0..rng.below(6) {
        h.push_str(rng.pick(SEPARATORS));
        h.push_str(rng.pick(ATTRIBUTES));
    }
    h
}

/// `count` generated cases from `seed`: one or two headers in the first response; one case in
/// four has a second response from another place (plain http, the root path, a subdomain).
pub fn generated(seed: u64, count: usize) -> Vec<Case> {
    let mut rng = Rng(seed.max(1));
    (0..count)
        .map(|i| {
            let first: Vec<String> = (0..1 + rng.below(2)).map(|_| header(&mut rng)).collect();
            let mut responses = vec![(SET_AT, first)];
            if rng.chance(25) {
                responses.push((rng.pick(&SECOND_AT), vec![header(&mut rng)]));
            }
            Case {
                origin: format!("generated seed {seed} case {i}"),
                responses,
            }
        })
        .collect()
}
