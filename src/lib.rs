//! authprobe: checks that a web authentication service keeps the promises that session
//! cookies and tokens are supposed to keep, and shows the smallest request sequence that
//! proves it when it does not.
//!
//! # Running a check
//! ```no_run
//! # async fn check() -> Result<(), Box<dyn std::error::Error>> {
//! let catalogue = authprobe::spec::builtin_catalogue()?;
//! let profile = authprobe::profile::load_profile("my-service.yaml".as_ref())?;
//! let (target, client) = profile
//!     .load_secrets()?
//!     .resolve(authprobe::ClientConfig::default())
//!     .await?;
//! let options = authprobe::RunOptions::default();
//! let report = authprobe::run(&catalogue, target, client, &options, &|_event| {}).await?;
//! println!("{}", authprobe::report::json(&report, None));
//! std::process::exit(authprobe::gate::exit_code(&report, None));
//! # }
//! ```
//!
//! # The surface
//! - At the root: the run ([`run`], [`RunOptions`], [`Event`], [`RunError`]), what it
//!   produces ([`Report`], [`RuleResult`] with its typed [`Outcome`]) and the probe client's
//!   configuration and evidence types ([`ClientConfig`], [`Exchange`], …).
//! - Areas, each curated by its own module root: [`spec`] (the rule catalogue: raw YAML →
//!   validated [`spec::Rule`]s), [`profile`] (a profile file → an unresolved target → a
//!   resolved [`profile::Target`] and its probe client), [`report`] (every output format),
//!   [`gate`] (`--fail-on`, baselines and the exit code), [`fuzzer`] (live fuzzing),
//!   [`testbed`] (the reference server with its flaws) and [`demo`] (which rules each flaw
//!   breaks), [`schema`] and [`diag`] (JSON Schemas and located diagnostics for the
//!   hand-written files; [`diag`] also re-exports the bounded reads of every input file), and
//!   the auditors usable on their own: [`cookie`] (a lossless
//!   `Set-Cookie` parser and an RFC 6265bis browser model), [`jwt`] (a lossless JWS
//!   decoder, claims analysis, JWKS, and the forgery toolkit [`jwt::dangerous`]) and
//!   [`analysis`] (session ids: the decoders of framework session formats, what an id
//!   reveals, and the entropy of a sample).
//! - Private: the engine (rule kinds, the controlled probe, the model runner), the probe
//!   client, the reference state machines, the proptest strategies and
//!   the `input`/`text`/`units` leaves (the ranges of the run limits are public as
//!   [`profile::bounds`]).
//!
//! The command line is the binary's (`src/main.rs`, `src/cli/`) and uses only this API.
//!
//! Exit codes of the binary: 0 every selected rule passed or was skipped; 1 at least one
//! rule failed; 2 bad input (CLI, spec, profile, a limit out of range, an input file over its
//! size limit) or an output that cannot be written; 3 the target could not be tested, or the
//! run was interrupted ([`run_until`], [`Report::incomplete`]).
#![deny(missing_docs)]

// Leaves.
mod input;
mod text;
mod units;
// Internals.
mod benchreport;
mod engine;
mod http;
mod machine;
mod strategy;

// Public areas.
pub mod analysis;
pub mod cookie;
pub mod demo;
pub mod diag;
pub mod discover;
pub mod fuzzer;
pub mod gate;
pub mod jwt;
pub mod profile;
pub mod report;
pub mod schema;
pub mod spec;
pub mod testbed;

pub use benchreport::{BenchReportError, BenchReportErrorKind, BenchSummary, bench_report};
pub use engine::{
    BudgetPlan, Counterexample, Coverage, CoverageUnit, EVIDENCE_BODY_BYTES, Event, Evidence,
    Finding, Inconclusive, Outcome, PreflightError, REPORT_SCHEMA, Report, RuleError, RuleResult,
    RunError, RunLimits, RunOptions, SelectionError, SequenceStep, Skip, Status, Stop, Summary,
    TargetInfo, TokenPart, TokenRole, Tool, run, run_modes, run_modes_until, run_until, seed_for,
    select,
};
pub use http::{
    Capture, Captured, Client, ClientConfig, Exchange, HttpError, HttpErrorKind, ProbeRequest,
    Redactor, Response, Retried, ScopeCapture, TrustRoots, TrustRootsError,
};
