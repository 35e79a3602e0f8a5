//! Lossless `Set-Cookie` parsing and the RFC 6265bis §5.6 attribute processing.
//!
//! Owns [`SetCookie`], its attributes and anomalies, and [`Effective`] (what a user agent's
//! attribute processing yields). It keeps every byte of the input (`to_header_string` gives it
//! back exactly), never fails and never panics. It must not decide whether a cookie is
//! stored: that depends on the request URL and the jar, and belongs to `store`.

use std::fmt;

use serde::Serialize;

use super::date::{format_http_date, http_date_bytes, parse_cookie_date};

/// Longest name + value (in bytes) a user agent accepts (RFC 6265bis §5.6 step 5).
pub const MAX_NAME_VALUE_LEN: usize = 4096;

/// Longest attribute value (in bytes) a user agent processes (RFC 6265bis §5.6, attributes step 6).
pub const MAX_ATTRIBUTE_VALUE_LEN: usize = 1024;

/// One `Set-Cookie` header value, kept losslessly, with the anomalies found in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetCookie {
    /// The exact input.
    pub raw: String,
    /// The exact text before the first `;` (the name-value pair, untrimmed).
    pub name_value_raw: String,
    /// The cookie name: text before the first `=`, trimmed of SP/HTAB; empty for a nameless cookie.
    pub name: String,
    /// The cookie value: text after the first `=` (or the whole pair when there is no `=`),
    /// trimmed of SP/HTAB; surrounding DQUOTEs are kept, as browsers do.
    pub value: String,
    /// Every `;`-separated attribute, in order, with its original spelling.
    pub attributes: Vec<Attribute>,
    /// What is odd about this header, in the order found.
    pub anomalies: Vec<Anomaly>,
}

/// One attribute (`cookie-av`) between two `;`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attribute {
    /// The exact text between the `;` separators (untrimmed).
    pub raw: String,
    /// The attribute name in its original spelling, trimmed of SP/HTAB (e.g. `max-AGE`).
    pub name: String,
    /// The trimmed text after the first `=`; `None` when there is no `=`.
    pub value: Option<String>,
    /// Which attribute this is, matched case-insensitively.
    pub kind: AttributeKind,
}

/// The attributes a user agent recognises (case-insensitive names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeKind {
    /// `Expires=<cookie-date>`.
    Expires,
    /// `Max-Age=<delta-seconds>`.
    MaxAge,
    /// `Domain=<domain>`.
    Domain,
    /// `Path=<path>`.
    Path,
    /// `Secure` flag.
    Secure,
    /// `HttpOnly` flag.
    HttpOnly,
    /// `SameSite=Strict|Lax|None`.
    SameSite,
    /// `Partitioned` flag (CHIPS).
    Partitioned,
    /// Anything else; user agents ignore it.
    Unknown,
}

impl AttributeKind {
    const KNOWN: usize = 8;

    /// Classifies an attribute name, case-insensitively.
    pub fn from_name(name: &str) -> Self {
        // Dispatch on the length first: one case-insensitive comparison at most.
        let (known, kind) = match name.len() {
            4 => ("path", AttributeKind::Path),
            6 if name.as_bytes()[0].eq_ignore_ascii_case(&b'd') => {
                ("domain", AttributeKind::Domain)
            }
            6 => ("secure", AttributeKind::Secure),
            7 if name.as_bytes()[0].eq_ignore_ascii_case(&b'e') => {
                ("expires", AttributeKind::Expires)
            }
            7 => ("max-age", AttributeKind::MaxAge),
            8 if name.as_bytes()[0].eq_ignore_ascii_case(&b'h') => {
                ("httponly", AttributeKind::HttpOnly)
            }
            8 => ("samesite", AttributeKind::SameSite),
            11 => ("partitioned", AttributeKind::Partitioned),
            _ => return AttributeKind::Unknown,
        };
        if name.eq_ignore_ascii_case(known) {
            kind
        } else {
            AttributeKind::Unknown
        }
    }

    /// The spelling used by the RFC (`Max-Age`, `HttpOnly`, ...); `unknown` for [`Self::Unknown`].
    pub fn canonical_name(self) -> &'static str {
        match self {
            AttributeKind::Expires => "Expires",
            AttributeKind::MaxAge => "Max-Age",
            AttributeKind::Domain => "Domain",
            AttributeKind::Path => "Path",
            AttributeKind::Secure => "Secure",
            AttributeKind::HttpOnly => "HttpOnly",
            AttributeKind::SameSite => "SameSite",
            AttributeKind::Partitioned => "Partitioned",
            AttributeKind::Unknown => "unknown",
        }
    }

    fn is_flag(self) -> bool {
        matches!(
            self,
            AttributeKind::Secure | AttributeKind::HttpOnly | AttributeKind::Partitioned
        )
    }

    fn index(self) -> Option<usize> {
        match self {
            AttributeKind::Expires => Some(0),
            AttributeKind::MaxAge => Some(1),
            AttributeKind::Domain => Some(2),
            AttributeKind::Path => Some(3),
            AttributeKind::Secure => Some(4),
            AttributeKind::HttpOnly => Some(5),
            AttributeKind::SameSite => Some(6),
            AttributeKind::Partitioned => Some(7),
            AttributeKind::Unknown => None,
        }
    }
}

/// Something odd in a `Set-Cookie` header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    /// What kind of oddity.
    pub kind: AnomalyKind,
    /// Index into [`SetCookie::attributes`] when the anomaly is about one attribute.
    pub attribute: Option<usize>,
    /// A lowercase, human-readable explanation.
    pub message: String,
}

/// The kinds of [`Anomaly`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    /// The same attribute appears more than once; the last valid one wins.
    DuplicateAttribute,
    /// An attribute name the user agent does not recognise (ignored).
    UnknownAttribute,
    /// An empty attribute, e.g. from `;;` or a trailing `;` (ignored).
    EmptyAttribute,
    /// `Max-Age` is not `-?DIGIT+` (ignored).
    InvalidMaxAge,
    /// `Expires` is not a cookie-date (ignored).
    InvalidExpires,
    /// `Expires` parses but is not the IMF-fixdate servers must send.
    NonStandardExpires,
    /// Both `Max-Age` and `Expires`: `Expires` is ignored.
    MaxAgeOverridesExpires,
    /// `SameSite` value is not strict/lax/none: "Default" enforcement applies.
    InvalidSameSite,
    /// A flag attribute carries a value (`Secure=yes`); the value is ignored, the flag is set.
    ValueOnFlag,
    /// `Domain` is empty (the attribute is ignored) or just `.` (the cookie becomes host-only).
    EmptyDomain,
    /// `Domain` starts with `.`; the user agent strips it.
    LeadingDotDomain,
    /// `Path` is empty or does not start with `/`: the default path is used.
    InvalidPath,
    /// A control character other than HTAB: browsers ignore the whole header.
    ControlCharacter,
    /// Name + value exceed 4096 bytes: browsers ignore the whole header.
    NameValueTooLong,
    /// An attribute value exceeds 1024 bytes: that attribute is ignored.
    AttributeValueTooLong,
    /// No `=` in the name-value pair: a cookie with an empty name and this value.
    NamelessCookie,
    /// `=` present but the name is empty.
    EmptyName,
    /// Both name and value are empty: browsers ignore the cookie.
    EmptyNameAndValue,
    /// The value is wrapped in DQUOTEs; they are part of the value.
    QuotedValue,
    /// Bytes outside US-ASCII.
    NonAscii,
    /// The name contains a character that is not an RFC 9110 token character.
    InvalidNameCharacter,
    /// The value contains a character outside RFC 6265bis `cookie-octet`.
    InvalidValueCharacter,
    /// `SameSite=None` without `Secure`: browsers reject the cookie.
    SameSiteNoneWithoutSecure,
    /// `Partitioned` without `Secure`: browsers reject the cookie.
    PartitionedWithoutSecure,
}

/// The `SameSite` enforcement a user agent applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SameSite {
    /// `SameSite=Strict`.
    Strict,
    /// `SameSite=Lax`.
    Lax,
    /// `SameSite=None` (cross-site allowed; requires `Secure`).
    None,
    /// No valid `SameSite` attribute: the browser's default enforcement (Lax in Chromium).
    #[default]
    Default,
}

impl SameSite {
    /// The RFC spelling: `Strict`, `Lax`, `None` or `Default`.
    pub fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
            SameSite::Default => "Default",
        }
    }
}

/// What RFC 6265bis §5.6 attribute processing yields: for each attribute the last valid
/// occurrence wins.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Effective {
    /// `HttpOnly` present.
    pub http_only: bool,
    /// `Secure` present.
    pub secure: bool,
    /// The enforcement of the last `SameSite` attribute ([`SameSite::Default`] if absent or unrecognised).
    pub same_site: SameSite,
    /// The raw value of the last `SameSite` attribute, if any.
    pub same_site_raw: Option<String>,
    /// Lowercased domain without its leading dot; `None` = host-only (absent or empty).
    pub domain: Option<String>,
    /// The last valid `Path`; `None` = the default path of the request URL (absent or not
    /// starting with `/`).
    pub path: Option<String>,
    /// Last valid `Max-Age` in seconds (may be zero or negative: delete).
    pub max_age: Option<i64>,
    /// Last valid `Expires` as Unix seconds.
    pub expires: Option<i64>,
    /// `Partitioned` present.
    pub partitioned: bool,
}

/// The result of processing one attribute (borrowing its value); `None` from [`process`] =
/// ignored.
enum Processed<'a> {
    Expires(i64),
    MaxAge(i64),
    /// The domain without its leading dot (not yet lowercased); `None`: `Domain=.`.
    Domain(Option<&'a str>),
    /// A path starting with `/`; `None`: the default path.
    Path(Option<&'a str>),
    Secure,
    HttpOnly,
    SameSite(SameSite),
    Partitioned,
}

/// §5.6 attribute processing of one cookie-av of `kind` with `value` (`None`: no `=`);
/// `None` when the user agent ignores it. Borrows: nothing is copied here.
fn process(kind: AttributeKind, value: Option<&str>) -> Option<Processed<'_>> {
    let v = value.unwrap_or("");
    if v.len() > MAX_ATTRIBUTE_VALUE_LEN {
        return None;
    }
    Some(match kind {
        AttributeKind::Expires => Processed::Expires(parse_cookie_date(v)?),
        AttributeKind::MaxAge => Processed::MaxAge(parse_max_age(v)?),
        // RFC 6265bis §5.6.3: an empty value is ignored entirely (an earlier Domain stays
        // in effect); `Domain=.` leaves an empty domain, which makes the cookie host-only.
        AttributeKind::Domain if v.is_empty() => return None,
        AttributeKind::Domain => {
            let d = v.strip_prefix('.').unwrap_or(v);
            Processed::Domain(if d.is_empty() { None } else { Some(d) })
        }
        AttributeKind::Path => Processed::Path(if v.starts_with('/') { Some(v) } else { None }),
        AttributeKind::Secure => Processed::Secure,
        AttributeKind::HttpOnly => Processed::HttpOnly,
        AttributeKind::SameSite => Processed::SameSite(parse_same_site(v)),
        AttributeKind::Partitioned => Processed::Partitioned,
        AttributeKind::Unknown => return None,
    })
}

/// What §5.6 attribute processing yields for these cookie-avs (kind, value), in order. The
/// winners are kept as slices and copied once at the end.
fn effective<'v>(attributes: impl Iterator<Item = (AttributeKind, Option<&'v str>)>) -> Effective {
    let mut e = Effective::default();
    let (mut domain, mut path, mut same_site_raw) = (None, None, None);
    for (kind, value) in attributes {
        match process(kind, value) {
            None => {}
            Some(Processed::Expires(t)) => e.expires = Some(t),
            Some(Processed::MaxAge(s)) => e.max_age = Some(s),
            Some(Processed::Domain(d)) => domain = d,
            Some(Processed::Path(p)) => path = p,
            Some(Processed::Secure) => e.secure = true,
            Some(Processed::HttpOnly) => e.http_only = true,
            Some(Processed::SameSite(s)) => {
                e.same_site = s;
                same_site_raw = Some(value.unwrap_or(""));
            }
            Some(Processed::Partitioned) => e.partitioned = true,
        }
    }
    e.domain = domain.map(str::to_ascii_lowercase);
    e.path = path.map(str::to_owned);
    e.same_site_raw = same_site_raw.map(str::to_owned);
    e
}

fn parse_same_site(v: &str) -> SameSite {
    if v.eq_ignore_ascii_case("strict") {
        SameSite::Strict
    } else if v.eq_ignore_ascii_case("lax") {
        SameSite::Lax
    } else if v.eq_ignore_ascii_case("none") {
        SameSite::None
    } else {
        SameSite::Default
    }
}

/// `Max-Age`: first char DIGIT or `-`, the rest DIGITs; saturates at the `i64` range.
fn parse_max_age(v: &str) -> Option<i64> {
    let (&first, rest) = v.as_bytes().split_first()?;
    let (negative, digits) = match first {
        b'-' => (true, rest),
        b'0'..=b'9' => (false, v.as_bytes()),
        _ => return None,
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits.iter().fold(0i64, |acc, b| {
        acc.saturating_mul(10).saturating_add(i64::from(b - b'0'))
    });
    Some(if negative { -n } else { n })
}

/// Trims SP and HTAB (ASCII bytes: the slice stays on char boundaries).
fn trim_wsp(s: &str) -> &str {
    let b = s.as_bytes();
    let wsp = |c: &u8| *c == b' ' || *c == b'\t';
    let start = b.iter().position(|c| !wsp(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !wsp(c)).map_or(start, |i| i + 1);
    s.get(start..end).unwrap_or("")
}

/// CTL other than HTAB: `%x00-08 / %x0A-1F / %x7F`.
fn is_ctl(b: u8) -> bool {
    matches!(b, 0x00..=0x08 | 0x0A..=0x1F | 0x7F)
}

fn first_ctl(s: &str) -> Option<u8> {
    s.bytes().find(|&b| is_ctl(b))
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 6265bis `cookie-octet`.
fn is_cookie_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

/// Parses one `Set-Cookie` header value. Never fails: oddities become [`Anomaly`]s.
///
/// ```
/// use authprobe::cookie::{parse_set_cookie, AnomalyKind};
/// let c = parse_set_cookie("SID=31d4d96e407aad42; Path=/; secure; Secure=yes");
/// assert_eq!((c.name.as_str(), c.value.as_str()), ("SID", "31d4d96e407aad42"));
/// assert_eq!(c.attributes[1].name, "secure");
/// assert!(c.anomalies.iter().any(|a| a.kind == AnomalyKind::DuplicateAttribute));
/// assert_eq!(c.to_header_string(), c.raw);
/// ```
pub fn parse_set_cookie(header: &str) -> SetCookie {
    parse_set_cookie_ref(header).to_set_cookie()
}

/// One `Set-Cookie` header value as slices of the input: the same lossless split as
/// [`parse_set_cookie`] (every byte kept, attributes in order with their spelling), without
/// copying and without the anomaly scan. [`SetCookieRef::to_set_cookie`] adds both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCookieRef<'a> {
    /// The exact input.
    pub raw: &'a str,
    /// The exact text before the first `;`.
    pub name_value_raw: &'a str,
    /// The name, trimmed of SP/HTAB (empty without `=`).
    pub name: &'a str,
    /// The value, trimmed of SP/HTAB.
    pub value: &'a str,
    /// Whether the name-value pair has an `=`.
    pub has_eq: bool,
    /// Every attribute, in order.
    pub attributes: Vec<AttributeRef<'a>>,
}

/// One attribute of a [`SetCookieRef`], as slices of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributeRef<'a> {
    /// The exact text between the `;` separators.
    pub raw: &'a str,
    /// The name as written, trimmed of SP/HTAB.
    pub name: &'a str,
    /// The trimmed text after the first `=`; `None` without `=`.
    pub value: Option<&'a str>,
    /// Which attribute this is.
    pub kind: AttributeKind,
}

/// Splits one `Set-Cookie` header value into borrowed parts (RFC 6265bis §5.6 steps 2-4:
/// the pair before the first `;`, name and value at its first `=`, SP/HTAB trimmed; each
/// cookie-av at its first `=`). Never fails, never allocates beyond the attribute list.
///
/// ```
/// use authprobe::cookie::parse_set_cookie_ref;
/// let c = parse_set_cookie_ref("SID=31; Path=/; Secure");
/// assert_eq!((c.name, c.value, c.attributes.len()), ("SID", "31", 2));
/// assert_eq!(c.attributes[0].raw, " Path=/");
/// ```
pub fn parse_set_cookie_ref(header: &str) -> SetCookieRef<'_> {
    let (pair, rest) = match header.split_once(';') {
        Some((pair, rest)) => (pair, Some(rest)),
        None => (header, None),
    };
    let (name, value, has_eq) = match pair.split_once('=') {
        Some((n, v)) => (trim_wsp(n), trim_wsp(v), true),
        None => ("", trim_wsp(pair), false),
    };
    let attributes = match rest {
        None => Vec::new(),
        Some(rest) => {
            let mut out = Vec::with_capacity(rest.bytes().filter(|&b| b == b';').count() + 1);
            out.extend(rest.split(';').map(|av| {
                let (n, v) = match av.split_once('=') {
                    Some((n, v)) => (trim_wsp(n), Some(trim_wsp(v))),
                    None => (trim_wsp(av), None),
                };
                AttributeRef {
                    raw: av,
                    name: n,
                    value: v,
                    kind: AttributeKind::from_name(n),
                }
            }));
            out
        }
    };
    SetCookieRef {
        raw: header,
        name_value_raw: pair,
        name,
        value,
        has_eq,
        attributes,
    }
}

/// What the cookie store reads of a parsed `Set-Cookie`: the borrowed [`SetCookieRef`] (the
/// engine's path: no copy, no anomaly scan) and the owned [`SetCookie`] both provide it, so
/// both go through the one store.
pub trait SetCookieFields {
    /// The exact header value.
    fn raw(&self) -> &str;
    /// The cookie name (trimmed; empty for a nameless cookie).
    fn name(&self) -> &str;
    /// The cookie value (trimmed).
    fn value(&self) -> &str;
    /// The RFC 6265bis §5.6 attribute processing result.
    fn effective(&self) -> Effective;
}

impl SetCookieFields for SetCookieRef<'_> {
    fn raw(&self) -> &str {
        self.raw
    }
    fn name(&self) -> &str {
        self.name
    }
    fn value(&self) -> &str {
        self.value
    }
    fn effective(&self) -> Effective {
        SetCookieRef::effective(self)
    }
}

impl SetCookieFields for SetCookie {
    fn raw(&self) -> &str {
        &self.raw
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn value(&self) -> &str {
        &self.value
    }
    fn effective(&self) -> Effective {
        SetCookie::effective(self)
    }
}

impl SetCookieRef<'_> {
    /// What the user agent's attribute processing yields (as [`SetCookie::effective`]).
    pub fn effective(&self) -> Effective {
        effective(self.attributes.iter().map(|a| (a.kind, a.value)))
    }

    /// The owned [`SetCookie`], with its anomalies.
    pub fn to_set_cookie(&self) -> SetCookie {
        self.to_set_cookie_with(&self.effective())
    }

    /// [`Self::to_set_cookie`] when the caller already has [`Self::effective`].
    pub(crate) fn to_set_cookie_with(&self, effective: &Effective) -> SetCookie {
        let mut cookie = SetCookie {
            raw: self.raw.to_owned(),
            name_value_raw: self.name_value_raw.to_owned(),
            name: self.name.to_owned(),
            value: self.value.to_owned(),
            attributes: self
                .attributes
                .iter()
                .map(|a| Attribute {
                    raw: a.raw.to_owned(),
                    name: a.name.to_owned(),
                    value: a.value.map(str::to_owned),
                    kind: a.kind,
                })
                .collect(),
            anomalies: Vec::new(),
        };
        cookie.anomalies = find_anomalies(self, effective);
        cookie
    }
}

fn anomaly(kind: AnomalyKind, attribute: Option<usize>, message: String) -> Anomaly {
    Anomaly {
        kind,
        attribute,
        message,
    }
}

fn find_anomalies(c: &SetCookieRef<'_>, e: &Effective) -> Vec<Anomaly> {
    let mut out = Vec::new();
    name_value_anomalies(c, &mut out);
    for (i, a) in c.attributes.iter().enumerate() {
        attribute_anomalies(i, a, &mut out);
    }
    duplicate_anomalies(c, &mut out);
    if e.max_age.is_some() && e.expires.is_some() {
        out.push(anomaly(
            AnomalyKind::MaxAgeOverridesExpires,
            None,
            "both max-age and expires are set: max-age wins and expires is ignored".into(),
        ));
    }
    if e.same_site == SameSite::None && !e.secure {
        out.push(anomaly(
            AnomalyKind::SameSiteNoneWithoutSecure,
            None,
            "samesite=none without secure: browsers reject the cookie".into(),
        ));
    }
    if e.partitioned && !e.secure {
        out.push(anomaly(
            AnomalyKind::PartitionedWithoutSecure,
            None,
            "partitioned without secure: browsers reject the cookie".into(),
        ));
    }
    out
}

fn name_value_anomalies(c: &SetCookieRef<'_>, out: &mut Vec<Anomaly>) {
    name_value_shape_anomalies(c, out);
    name_value_character_anomalies(c, out);
}

/// Whole-pair problems: control characters, length, an empty or missing name.
fn name_value_shape_anomalies(c: &SetCookieRef<'_>, out: &mut Vec<Anomaly>) {
    if let Some(b) = first_ctl(c.name_value_raw) {
        out.push(anomaly(
            AnomalyKind::ControlCharacter,
            None,
            format!(
                "control character 0x{b:02x} in the name-value pair: browsers ignore the whole header (rfc 6265bis §5.6 step 1)"
            ),
        ));
    }
    let len = c.name.len() + c.value.len();
    if len > MAX_NAME_VALUE_LEN {
        out.push(anomaly(
            AnomalyKind::NameValueTooLong,
            None,
            format!(
                "name and value are {len} bytes, more than {MAX_NAME_VALUE_LEN}: browsers ignore the whole header"
            ),
        ));
    }
    if c.name.is_empty() && c.value.is_empty() {
        out.push(anomaly(
            AnomalyKind::EmptyNameAndValue,
            None,
            "empty name and empty value: browsers ignore the cookie".into(),
        ));
    } else if !c.has_eq {
        out.push(anomaly(
            AnomalyKind::NamelessCookie,
            None,
            format!(
                "no '=' in the name-value pair: a cookie with an empty name and the value {:?}",
                c.value
            ),
        ));
    } else if c.name.is_empty() {
        out.push(anomaly(
            AnomalyKind::EmptyName,
            None,
            "the cookie name is empty".into(),
        ));
    }
}

/// Character problems: quotes around the value, non-ASCII bytes, characters outside the
/// token (name) and cookie-octet (value) grammars.
fn name_value_character_anomalies(c: &SetCookieRef<'_>, out: &mut Vec<Anomaly>) {
    let quoted = c.value.len() >= 2 && c.value.starts_with('"') && c.value.ends_with('"');
    if quoted {
        out.push(anomaly(
            AnomalyKind::QuotedValue,
            None,
            "the value is wrapped in double quotes; browsers keep the quotes as part of the value"
                .into(),
        ));
    }
    if !c.name.is_ascii() || !c.value.is_ascii() {
        out.push(anomaly(
            AnomalyKind::NonAscii,
            None,
            "non-ascii bytes in the cookie name or value".into(),
        ));
    }
    if let Some(b) = c
        .name
        .bytes()
        .find(|&b| b.is_ascii() && !is_ctl(b) && !is_tchar(b))
    {
        out.push(anomaly(
            AnomalyKind::InvalidNameCharacter,
            None,
            format!(
                "the name contains {:?}, which is not a token character (rfc 6265bis §4.1.1)",
                char::from(b)
            ),
        ));
    }
    let inner = if quoted {
        c.value.get(1..c.value.len() - 1).unwrap_or(c.value)
    } else {
        c.value
    };
    if let Some(b) = inner
        .bytes()
        .find(|&b| b.is_ascii() && !is_ctl(b) && !is_cookie_octet(b))
    {
        out.push(anomaly(
            AnomalyKind::InvalidValueCharacter,
            None,
            format!(
                "the value contains {:?}, which is not a cookie-octet (rfc 6265bis §4.1.1)",
                char::from(b)
            ),
        ));
    }
}

fn attribute_anomalies(i: usize, a: &AttributeRef<'_>, out: &mut Vec<Anomaly>) {
    let at = Some(i);
    let name = a.kind.canonical_name();
    let v = a.value.unwrap_or("");
    if let Some(b) = first_ctl(a.raw) {
        out.push(anomaly(
            AnomalyKind::ControlCharacter,
            at,
            format!(
                "control character 0x{b:02x} in attribute {:?}: browsers ignore the whole header (rfc 6265bis §5.6 step 1)",
                a.name
            ),
        ));
    }
    if !a.raw.is_ascii() {
        out.push(anomaly(
            AnomalyKind::NonAscii,
            at,
            format!("non-ascii bytes in attribute {:?}", a.name),
        ));
    }
    if v.len() > MAX_ATTRIBUTE_VALUE_LEN {
        out.push(anomaly(
            AnomalyKind::AttributeValueTooLong,
            at,
            format!(
                "{name} value is {} bytes, more than {MAX_ATTRIBUTE_VALUE_LEN}: the attribute is ignored",
                v.len()
            ),
        ));
        return;
    }
    out.extend(attribute_value_anomaly(at, a));
}

/// What is wrong with an attribute's name or value for its kind, if anything.
fn attribute_value_anomaly(at: Option<usize>, a: &AttributeRef<'_>) -> Option<Anomaly> {
    let name = a.kind.canonical_name();
    let v = a.value.unwrap_or("");
    match a.kind {
        AttributeKind::Unknown if a.name.is_empty() && a.value.is_none() => Some(anomaly(
            AnomalyKind::EmptyAttribute,
            at,
            "empty attribute (stray ';'), ignored".into(),
        )),
        AttributeKind::Unknown => Some(anomaly(
            AnomalyKind::UnknownAttribute,
            at,
            format!("unknown attribute {:?}, ignored by browsers", a.name),
        )),
        k if k.is_flag() && a.value.is_some() => Some(anomaly(
            AnomalyKind::ValueOnFlag,
            at,
            format!("{name} takes no value; {v:?} is ignored and the flag is set"),
        )),
        AttributeKind::MaxAge if parse_max_age(v).is_none() => Some(anomaly(
            AnomalyKind::InvalidMaxAge,
            at,
            format!("max-age {v:?} is not an integer number of seconds, ignored"),
        )),
        AttributeKind::Expires => expires_anomaly(at, v),
        AttributeKind::SameSite if parse_same_site(v) == SameSite::Default => Some(anomaly(
            AnomalyKind::InvalidSameSite,
            at,
            format!(
                "samesite {v:?} is not strict, lax or none: the browser applies its default enforcement"
            ),
        )),
        AttributeKind::Domain => domain_anomaly(at, v),
        AttributeKind::Path if !v.starts_with('/') => Some(anomaly(
            AnomalyKind::InvalidPath,
            at,
            format!("path {v:?} does not start with '/': the default path is used"),
        )),
        _ => None,
    }
}

/// An `Expires` value that is not a cookie-date, or not spelled as an IMF-fixdate.
fn expires_anomaly(at: Option<usize>, v: &str) -> Option<Anomaly> {
    match parse_cookie_date(v) {
        None => Some(anomaly(
            AnomalyKind::InvalidExpires,
            at,
            format!("expires {v:?} is not a cookie-date (rfc 6265bis §5.1.1), ignored"),
        )),
        Some(t) if v.as_bytes() != http_date_bytes(t) => {
            let canonical = format_http_date(t);
            Some(anomaly(
                AnomalyKind::NonStandardExpires,
                at,
                format!("expires {v:?} is not an imf-fixdate; servers should send {canonical:?}"),
            ))
        }
        Some(_) => None,
    }
}

/// An empty `Domain` (ignored), `Domain=.` (host-only), or one with a leading dot (stripped).
fn domain_anomaly(at: Option<usize>, v: &str) -> Option<Anomaly> {
    if v.is_empty() {
        Some(anomaly(
            AnomalyKind::EmptyDomain,
            at,
            "empty Domain attribute: ignored, as RFC 6265bis §5.6.3 says a user agent should (an earlier Domain attribute stays in effect; without one the cookie is host-only)".into(),
        ))
    } else if v == "." {
        Some(anomaly(
            AnomalyKind::EmptyDomain,
            at,
            "Domain=. leaves an empty domain once its dot is stripped: the cookie becomes host-only (RFC 6265bis §5.7)".into(),
        ))
    } else if v.starts_with('.') {
        Some(anomaly(
            AnomalyKind::LeadingDotDomain,
            at,
            format!("domain {v:?} has a leading dot, which browsers strip"),
        ))
    } else {
        None
    }
}

fn duplicate_anomalies(c: &SetCookieRef<'_>, out: &mut Vec<Anomaly>) {
    // Count first: duplicates are rare, so index lists are built only for them.
    let mut counts = [0usize; AttributeKind::KNOWN];
    for a in &c.attributes {
        if let Some(n) = a.kind.index().and_then(|k| counts.get_mut(k)) {
            *n += 1;
        }
    }
    if counts.iter().all(|&n| n < 2) {
        return;
    }
    let mut seen: [Vec<usize>; AttributeKind::KNOWN] = Default::default();
    for (i, a) in c.attributes.iter().enumerate() {
        if let Some(k) = a.kind.index()
            && counts.get(k).is_some_and(|&n| n > 1)
            && let Some(slot) = seen.get_mut(k)
        {
            slot.push(i);
        }
    }
    for indices in seen.iter().filter(|v| v.len() > 1) {
        let winner = indices.iter().rev().copied().find(|&i| {
            c.attributes
                .get(i)
                .and_then(|a| process(a.kind, a.value))
                .is_some()
        });
        for &i in indices {
            if Some(i) == winner {
                continue;
            }
            let Some(a) = c.attributes.get(i) else {
                continue;
            };
            let name = a.kind.canonical_name();
            let message = match winner.and_then(|w| c.attributes.get(w)) {
                Some(w) => format!(
                    "{name} appears {} times; {:?} is overridden by the last valid one, {:?}",
                    indices.len(),
                    trim_wsp(a.raw),
                    trim_wsp(w.raw)
                ),
                None => format!(
                    "{name} appears {} times and none is valid; all are ignored",
                    indices.len()
                ),
            };
            out.push(anomaly(AnomalyKind::DuplicateAttribute, Some(i), message));
        }
    }
}

impl SetCookie {
    /// Serialises the parsed parts back; always equal to [`SetCookie::raw`].
    pub fn to_header_string(&self) -> String {
        let mut s = String::with_capacity(self.raw.len());
        s.push_str(&self.name_value_raw);
        for a in &self.attributes {
            s.push(';');
            s.push_str(&a.raw);
        }
        s
    }

    /// What the user agent's attribute processing yields (RFC 6265bis §5.6): last valid
    /// occurrence of each attribute wins; invalid, too-long and unknown ones are ignored.
    pub fn effective(&self) -> Effective {
        effective(self.attributes.iter().map(|a| (a.kind, a.value.as_deref())))
    }

    /// True when any anomaly of `kind` was found.
    pub fn has_anomaly(&self, kind: AnomalyKind) -> bool {
        self.anomalies.iter().any(|a| a.kind == kind)
    }
}

impl fmt::Display for SetCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_header_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(c: &SetCookie) -> Vec<AnomalyKind> {
        c.anomalies.iter().map(|a| a.kind).collect()
    }

    #[test]
    fn rfc_example_plain_cookie_has_no_anomalies() {
        let c = parse_set_cookie("SID=31d4d96e407aad42");
        assert_eq!(c.name, "SID");
        assert_eq!(c.value, "31d4d96e407aad42");
        assert!(c.attributes.is_empty());
        assert!(c.anomalies.is_empty(), "{:?}", c.anomalies);
    }

    #[test]
    fn rfc_example_path_and_domain() {
        let c = parse_set_cookie("SID=31d4d96e407aad42; Path=/; Domain=example.com");
        assert!(c.anomalies.is_empty(), "{:?}", c.anomalies);
        assert_eq!(c.attributes.len(), 2);
        assert_eq!(c.attributes[0].kind, AttributeKind::Path);
        assert_eq!(c.attributes[0].raw, " Path=/");
        assert_eq!(c.attributes[1].value.as_deref(), Some("example.com"));
        let e = c.effective();
        assert_eq!(e.path.as_deref(), Some("/"));
        assert_eq!(e.domain.as_deref(), Some("example.com"));
    }

    #[test]
    fn rfc_example_expires() {
        let c = parse_set_cookie("lang=en-US; Expires=Wed, 09 Jun 2021 10:18:14 GMT");
        assert!(c.anomalies.is_empty(), "{:?}", c.anomalies);
        assert_eq!(c.effective().expires, Some(1_623_233_894));
    }

    #[test]
    fn rfc_example_deletion_by_max_age_zero_and_past_expires() {
        let c = parse_set_cookie("lang=; Max-Age=0");
        assert_eq!(c.effective().max_age, Some(0));
        let c = parse_set_cookie("lang=; Expires=Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(c.effective().expires, Some(784_111_777));
    }

    #[test]
    fn attribute_names_are_case_insensitive_and_keep_spelling() {
        let c = parse_set_cookie("a=b; sEcUrE; HTTPONLY; max-AGE=5; samesite=STRICT");
        let e = c.effective();
        assert!(e.secure && e.http_only);
        assert_eq!(e.max_age, Some(5));
        assert_eq!(e.same_site, SameSite::Strict);
        assert_eq!(e.same_site_raw.as_deref(), Some("STRICT"));
        assert_eq!(c.attributes[2].name, "max-AGE");
    }

    #[test]
    fn duplicates_last_wins_and_are_reported() {
        let c = parse_set_cookie("a=b; Max-Age=10; Path=/x; Max-Age=20; Path=/y");
        let e = c.effective();
        assert_eq!(e.max_age, Some(20));
        assert_eq!(e.path.as_deref(), Some("/y"));
        let dups: Vec<_> = c
            .anomalies
            .iter()
            .filter(|a| a.kind == AnomalyKind::DuplicateAttribute)
            .collect();
        assert_eq!(dups.len(), 2);
        assert_eq!(dups[0].attribute, Some(0));
        assert!(
            dups[0].message.contains("Max-Age=20"),
            "{}",
            dups[0].message
        );
    }

    #[test]
    fn invalid_later_duplicate_does_not_override_valid_one() {
        let c = parse_set_cookie("a=b; Max-Age=10; Max-Age=soon");
        assert_eq!(c.effective().max_age, Some(10));
        assert!(c.has_anomaly(AnomalyKind::InvalidMaxAge));
        let dup = c
            .anomalies
            .iter()
            .find(|a| a.kind == AnomalyKind::DuplicateAttribute)
            .unwrap();
        assert_eq!(dup.attribute, Some(1));
    }

    #[test]
    fn unknown_same_site_value_means_default_and_overrides_earlier() {
        let c = parse_set_cookie("a=b; SameSite=Lax; SameSite=Lenient");
        let e = c.effective();
        assert_eq!(e.same_site, SameSite::Default);
        assert_eq!(e.same_site_raw.as_deref(), Some("Lenient"));
        assert!(c.has_anomaly(AnomalyKind::InvalidSameSite));
    }

    #[test]
    fn leading_dot_domain_is_stripped_and_lowercased() {
        let c = parse_set_cookie("a=b; Domain=.Example.COM");
        assert_eq!(c.effective().domain.as_deref(), Some("example.com"));
        assert!(c.has_anomaly(AnomalyKind::LeadingDotDomain));
        assert_eq!(c.attributes[0].value.as_deref(), Some(".Example.COM"));
    }

    /// RFC 6265bis §5.6.3 (The Domain Attribute): "If the attribute-value is empty, the
    /// behavior is undefined. However, the user agent SHOULD ignore the cookie-av entirely."
    /// A value of `.` is not empty: its dot is stripped and the empty domain makes the cookie
    /// host-only (§5.7: "If the domain-attribute is non-empty … Otherwise … host-only-flag
    /// true").
    #[test]
    fn an_empty_domain_is_ignored_and_a_lone_dot_makes_the_cookie_host_only() {
        let c = parse_set_cookie("a=b; Domain=example.com; Domain=");
        assert_eq!(c.effective().domain.as_deref(), Some("example.com"));
        assert!(c.has_anomaly(AnomalyKind::EmptyDomain));
        let c = parse_set_cookie("a=b; Domain=");
        assert_eq!(c.effective().domain, None);
        let c = parse_set_cookie("a=b; Domain=example.com; Domain=.");
        assert_eq!(c.effective().domain, None);
        assert!(c.has_anomaly(AnomalyKind::EmptyDomain));
    }

    #[test]
    fn path_without_leading_slash_means_default_path() {
        let c = parse_set_cookie("a=b; Path=/x; Path=docs");
        assert_eq!(c.effective().path, None);
        assert!(c.has_anomaly(AnomalyKind::InvalidPath));
    }

    #[test]
    fn max_age_accepts_negative_and_saturates() {
        assert_eq!(parse_max_age("-5"), Some(-5));
        assert_eq!(parse_max_age("007"), Some(7));
        assert_eq!(parse_max_age("99999999999999999999999"), Some(i64::MAX));
        for bad in ["", "-", "+5", "5s", " 5", "1e3", "--1"] {
            assert_eq!(parse_max_age(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn invalid_expires_is_ignored_and_reported() {
        let c = parse_set_cookie("a=b; Expires=tomorrow");
        assert_eq!(c.effective().expires, None);
        assert!(c.has_anomaly(AnomalyKind::InvalidExpires));
    }

    #[test]
    fn non_imf_fixdate_expires_is_reported_but_used() {
        let c = parse_set_cookie("a=b; Expires=Sunday, 06-Nov-94 08:49:37 GMT");
        assert_eq!(c.effective().expires, Some(784_111_777));
        assert!(c.has_anomaly(AnomalyKind::NonStandardExpires));
    }

    #[test]
    fn max_age_with_expires_is_reported() {
        let c = parse_set_cookie("a=b; Max-Age=60; Expires=Wed, 09 Jun 2021 10:18:14 GMT");
        assert!(c.has_anomaly(AnomalyKind::MaxAgeOverridesExpires));
    }

    #[test]
    fn value_on_flag_still_sets_flag() {
        let c = parse_set_cookie("a=b; Secure=yes; HttpOnly=1; Partitioned=");
        let e = c.effective();
        assert!(e.secure && e.http_only && e.partitioned);
        assert_eq!(
            kinds(&c),
            vec![AnomalyKind::ValueOnFlag; 3],
            "{:?}",
            c.anomalies
        );
    }

    #[test]
    fn nameless_cookie_takes_whole_pair_as_value() {
        let c = parse_set_cookie("justavalue; Path=/");
        assert_eq!(c.name, "");
        assert_eq!(c.value, "justavalue");
        assert!(c.has_anomaly(AnomalyKind::NamelessCookie));
    }

    #[test]
    fn empty_name_with_equals_is_reported() {
        let c = parse_set_cookie("=v");
        assert_eq!((c.name.as_str(), c.value.as_str()), ("", "v"));
        assert!(c.has_anomaly(AnomalyKind::EmptyName));
        assert!(parse_set_cookie("=").has_anomaly(AnomalyKind::EmptyNameAndValue));
        assert!(parse_set_cookie("").has_anomaly(AnomalyKind::EmptyNameAndValue));
    }

    #[test]
    fn value_splits_at_first_equals_and_trims_wsp() {
        let c = parse_set_cookie(" \ttoken = a=b=c \t; Path=/");
        assert_eq!(c.name, "token");
        assert_eq!(c.value, "a=b=c");
    }

    #[test]
    fn quoted_value_is_kept_with_quotes() {
        let c = parse_set_cookie("a=\"quoted\"");
        assert_eq!(c.value, "\"quoted\"");
        assert_eq!(kinds(&c), vec![AnomalyKind::QuotedValue]);
    }

    #[test]
    fn control_characters_are_reported_for_pair_and_attributes() {
        let c = parse_set_cookie("a=b\x07c; Path=/\x01");
        let ctl: Vec<_> = c
            .anomalies
            .iter()
            .filter(|a| a.kind == AnomalyKind::ControlCharacter)
            .map(|a| a.attribute)
            .collect();
        assert_eq!(ctl, vec![None, Some(0)]);
        // HTAB is whitespace, not a forbidden CTL.
        assert!(!parse_set_cookie("a=b\tc").has_anomaly(AnomalyKind::ControlCharacter));
    }

    /// RFC 6265bis (draft-ietf-httpbis-rfc6265bis, §5.6 "The Set-Cookie Header Field"),
    /// step 1: "If the set-cookie-string contains a %x00-08 / %x0A-1F / %x7F character (CTL
    /// characters excluding HTAB): Abort these steps and ignore the set-cookie-string
    /// entirely." Every such byte, in the name, the value or an attribute, is reported; HTAB
    /// is not (web-platform-tests cookies/value/value-ctl.html expects `test=9\tvalue` to be
    /// accepted; Chromium rejects it, see tests/data/chromium-disagreements.txt).
    #[test]
    fn draft_step_1_every_ctl_but_htab_anywhere_is_reported() {
        for b in (0x00u8..=0x1f).chain([0x7f]) {
            let ch = char::from(b);
            for header in [
                format!("n{ch}m=v"),
                format!("n=v{ch}w"),
                format!("n=v; Path=/{ch}"),
                format!("n=v; X{ch}=1"),
            ] {
                let c = parse_set_cookie(&header);
                assert_eq!(
                    c.has_anomaly(AnomalyKind::ControlCharacter),
                    b != b'\t',
                    "0x{b:02x} in {header:?}"
                );
                assert_eq!(c.to_header_string(), header);
            }
        }
    }

    /// §5.6 step 4 (after splitting at the first "="): "Remove any leading or trailing WSP
    /// characters from the name string and the value string." WSP is SP and HTAB; whitespace
    /// inside stays.
    #[test]
    fn draft_step_4_trims_sp_and_htab_around_name_and_value_only() {
        let c = parse_set_cookie(" \tn a\t = \tv\tw \t; \tPath = /p \t");
        assert_eq!((c.name.as_str(), c.value.as_str()), ("n a", "v\tw"));
        assert_eq!(c.attributes[0].name, "Path");
        assert_eq!(c.attributes[0].value.as_deref(), Some("/p"));
        assert!(!c.has_anomaly(AnomalyKind::ControlCharacter));
    }

    #[test]
    fn name_value_over_4096_bytes_is_reported() {
        let c = parse_set_cookie(&format!("n={}", "v".repeat(4096)));
        assert!(c.has_anomaly(AnomalyKind::NameValueTooLong));
        let c = parse_set_cookie(&format!("n={}", "v".repeat(4095)));
        assert!(!c.has_anomaly(AnomalyKind::NameValueTooLong));
    }

    #[test]
    fn attribute_value_over_1024_bytes_is_ignored() {
        let long = format!("/{}", "p".repeat(1024));
        let c = parse_set_cookie(&format!("a=b; Path=/ok; Path={long}"));
        assert_eq!(c.effective().path.as_deref(), Some("/ok"));
        assert!(c.has_anomaly(AnomalyKind::AttributeValueTooLong));
    }

    #[test]
    fn unknown_and_empty_attributes_are_reported() {
        let c = parse_set_cookie("a=b; Comment=hi;; Version=1;");
        assert_eq!(c.attributes.len(), 4);
        assert_eq!(
            kinds(&c),
            vec![
                AnomalyKind::UnknownAttribute,
                AnomalyKind::EmptyAttribute,
                AnomalyKind::UnknownAttribute,
                AnomalyKind::EmptyAttribute
            ]
        );
    }

    #[test]
    fn grammar_violations_in_name_and_value_are_reported() {
        let c = parse_set_cookie("my name=a b,c");
        assert!(c.has_anomaly(AnomalyKind::InvalidNameCharacter));
        assert!(c.has_anomaly(AnomalyKind::InvalidValueCharacter));
        let c = parse_set_cookie("caf\u{e9}=\u{2603}");
        assert_eq!(kinds(&c), vec![AnomalyKind::NonAscii]);
    }

    #[test]
    fn same_site_none_and_partitioned_need_secure() {
        let c = parse_set_cookie("a=b; SameSite=None; Partitioned");
        assert!(c.has_anomaly(AnomalyKind::SameSiteNoneWithoutSecure));
        assert!(c.has_anomaly(AnomalyKind::PartitionedWithoutSecure));
        let c = parse_set_cookie("a=b; SameSite=None; Partitioned; Secure");
        assert!(c.anomalies.is_empty(), "{:?}", c.anomalies);
    }

    #[test]
    fn attribute_names_classify_case_insensitively_and_nothing_else_matches() {
        use AttributeKind as K;
        for (name, kind) in [
            ("Expires", K::Expires),
            ("max-AGE", K::MaxAge),
            ("DOMAIN", K::Domain),
            ("path", K::Path),
            ("Secure", K::Secure),
            ("httpOnly", K::HttpOnly),
            ("SameSite", K::SameSite),
            ("PARTITIONED", K::Partitioned),
        ] {
            assert_eq!(AttributeKind::from_name(name), kind, "{name}");
        }
        for name in [
            "",
            "pat",
            "paths",
            "xath",
            "domaix",
            "secura",
            "xecure",
            "expirez",
            "max_age",
            "httponlx",
            "samesitx",
            "xamesite",
            "partitionex",
            "Comment",
            "Version",
            "dómain",
        ] {
            assert_eq!(AttributeKind::from_name(name), K::Unknown, "{name}");
        }
    }

    #[test]
    fn trimming_is_sp_and_htab_only() {
        assert_eq!(trim_wsp(" \t a b\t "), "a b");
        assert_eq!(trim_wsp(" \t "), "");
        assert_eq!(trim_wsp(""), "");
        assert_eq!(trim_wsp("\u{a0}x\u{3000}"), "\u{a0}x\u{3000}");
        assert_eq!(trim_wsp("\n x \r"), "\n x \r");
    }

    /// The borrowed parse and the owned one agree field for field, and the owned one is
    /// built from the borrowed one (same effective attributes).
    #[test]
    fn borrowed_and_owned_parses_agree() {
        for h in [
            "SID=31; Path=/; Secure; HttpOnly; SameSite=Lax",
            " n = v ;Domain=.Example.com; Path=/a;; Max-Age=5; Expires=Wed, 09 Jun 2021 10:18:14 GMT",
            "justavalue; SameSite=Bogus; Partitioned=1",
            "",
        ] {
            let r = parse_set_cookie_ref(h);
            let o = parse_set_cookie(h);
            assert_eq!(
                (r.raw, r.name_value_raw, r.name, r.value),
                (
                    o.raw.as_str(),
                    o.name_value_raw.as_str(),
                    o.name.as_str(),
                    o.value.as_str()
                )
            );
            assert_eq!(r.attributes.len(), o.attributes.len());
            for (a, b) in r.attributes.iter().zip(&o.attributes) {
                assert_eq!(
                    (a.raw, a.name, a.value, a.kind),
                    (b.raw.as_str(), b.name.as_str(), b.value.as_deref(), b.kind)
                );
            }
            assert_eq!(r.effective(), o.effective());
            assert_eq!(r.to_set_cookie(), o);
        }
    }

    #[test]
    fn lossless_round_trip() {
        let inputs = [
            "",
            ";",
            ";;;",
            "=",
            "a",
            "a=b",
            "  a  =  b  ;  Path = /x ;Secure;;  ",
            "SID=31d4d96e407aad42; Path=/; Domain=example.com",
            "lang=en-US; Expires=Wed, 09 Jun 2021 10:18:14 GMT",
            "__Host-SID=x; Secure; Path=/; SameSite=Lax; HttpOnly",
            "a=\"q;uoted\"; x=y=z; =; Max-Age=-0",
            "caf\u{e9}=\u{2603}; Domain=\u{e9}.example",
            "a=b\r\n; \x00",
            "\t=\t;\t",
        ];
        for input in inputs {
            let c = parse_set_cookie(input);
            assert_eq!(c.to_header_string(), input);
            assert_eq!(c.to_string(), input);
            assert_eq!(c.raw, input);
            // Parsing the serialisation again gives the same structure.
            assert_eq!(parse_set_cookie(&c.to_header_string()), c);
        }
    }

    #[test]
    fn pseudo_random_input_never_panics_and_round_trips() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let alphabet =
            b"a=; ,\"\t\x00\x7f\xff\xc3\xa9-._/:0123456789SecureMax-AgeDomainPathExpiresSameSite";
        for round in 0..4000 {
            let len = (round % 97) as usize;
            let mut bytes = Vec::with_capacity(len);
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let b = if x & 1 == 0 {
                    alphabet[(x >> 8) as usize % alphabet.len()]
                } else {
                    (x >> 16) as u8
                };
                bytes.push(b);
            }
            let s = String::from_utf8_lossy(&bytes);
            let c = parse_set_cookie(&s);
            assert_eq!(c.to_header_string(), s);
            let _ = c.effective();
            let _ = parse_cookie_date(&s);
        }
    }
}
