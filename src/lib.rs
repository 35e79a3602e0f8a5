//! authprobe: checks that a web authentication service keeps the promises that session
//! cookies and tokens are supposed to keep, and shows the smallest request sequence that
//! proves it when it does not.
//!
//! Modules, in the order data flows through them: [`spec`] (the rule catalogue),
//! [`profile`] (how to talk to a service), [`engine`] (runs rules through the probe client
//! [`http`], reading cookies with [`cookie`], session ids with [`analysis`] and generating
//! cases with `strategy`), [`report`] (text and JSON) and [`testbed`] (the reference
//! server with flaw switches). The command line is the binary's (`src/main.rs`, `src/cli/`)
//! and uses only this public API.
//!
//! Exit codes of the binary: 0 every selected rule passed or was skipped; 1 at least one
//! rule failed; 2 bad input (CLI, spec, profile); 3 the target could not be tested.
#![deny(missing_docs)]
pub mod analysis;
pub mod benchreport;
pub mod cookie;
pub mod demo;
pub mod diag;
pub mod engine;
pub mod fuzzer;
pub mod gate;
pub mod http;
pub mod jwt;
pub mod machine;
pub mod profile;
pub mod report;
pub mod schema;
pub mod spec;
pub mod strategy;
pub mod testbed;
pub mod text;
pub mod units;
