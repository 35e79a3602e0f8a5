//! Integration tests: every rule passes on the clean testbed and fails on its flaw, every
//! flaw is caught without collateral failures, the testbed keeps its HTTP contract, and the
//! command line keeps its contract.

mod support;

mod action;
mod browser_cookies;
mod budget;
mod cli;
mod confirmation;
mod controls;
mod coverage;
mod fuzz_live;
mod fuzz_regressions;
mod har;
mod hostile_input;
mod html_report;
mod http_client;
mod id_token;
mod init_discovery;
mod inspect_jose;
mod model;
mod modes;
mod oauth;
mod outputs;
mod profile_language;
mod quirks;
mod redaction;
mod replicas;
mod resilience;
mod rules;
mod signals;
mod testbed;
mod tls;
