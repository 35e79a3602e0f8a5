//! authprobe: checks that a web authentication service keeps the promises that session
//! cookies and tokens are supposed to keep, and shows the smallest request sequence that
//! proves it when it does not.
#![deny(missing_docs)]
pub mod cookie;
pub mod diag;
pub mod http;
pub mod profile;
pub mod spec;
pub mod testbed;
