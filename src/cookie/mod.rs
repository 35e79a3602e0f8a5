//! Cookies as a browser sees them: a lossless `Set-Cookie` auditor plus the RFC 6265bis
//! user-agent storage (§5.7) and retrieval (§5.8) model.
//!
//! Owns parsing (`parse`), cookie dates (`date`), public suffixes (`suffix`), the cookie jar
//! model (`store`) and the
//! `authprobe inspect set-cookie` report (`inspect`). It does no I/O, never prints and never
//! panics on any input; it knows nothing about rules, profiles or HTTP clients.

mod date;
mod inspect;
mod parse;
mod store;
mod suffix;

pub use date::{
    EARLIEST_COOKIE_DATE, MAX_HTTP_DATE, MIN_HTTP_DATE, format_http_date, parse_cookie_date,
};
pub use inspect::{
    CookieSending, ExpiryReport, HeaderReport, Inspection, RequestReport, inspect, render_text,
};
pub use parse::{
    Anomaly, AnomalyKind, Attribute, AttributeKind, AttributeRef, Effective,
    MAX_ATTRIBUTE_VALUE_LEN, MAX_NAME_VALUE_LEN, SameSite, SetCookie, SetCookieFields,
    SetCookieRef, parse_set_cookie, parse_set_cookie_ref,
};
pub use store::{
    COOKIE_AGE_LIMIT, CookieStore, NotSent, Rejection, RejectionKind, SiteContext, StoreOutcome,
    Stored, StoredCookie, default_path, domain_match, is_secure_origin, path_match,
};
pub use suffix::{PSL_CRATE_VERSION, is_public_suffix};
