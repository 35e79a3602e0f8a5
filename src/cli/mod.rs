//! The command line: the clap definitions of `authprobe` and its commands, one file per
//! command or group of commands, and [`run`], which dispatches a parsed command line.
//! Handlers return `Result<Exit, CliError>`; `main` alone turns that into the exit code.
//! The CLI uses only the library's public API; it and `report` are the only code that writes
//! to the terminal (results on stdout, progress and errors on stderr).
//!
//! - `check`: `check` and `demo` (arguments → options, run, gate, reports)
//! - `fuzz`, `inspect`, `init`, `testbed`, `bench_report`: one command each
//! - `catalogue`: `rules`, `explain`, `validate`, `schema`
//! - `progress`: the progress display; `io`: stdout, clock, seed; `fetch`: one-document fetches
//! - `output`: output paths checked before a run (never an input), files written atomically
//! - `signals`: SIGINT and SIGTERM stop a run, which still writes what it has
//! - `limits`: value parsers that range-check the numeric flags
//! - `exit`: [`Exit`] and [`CliError`], and their exit codes

mod bench_report;
mod catalogue;
mod check;
mod exit;
mod fetch;
mod fuzz;
mod init;
mod inspect;
mod io;
mod limits;
mod output;
mod progress;
mod signals;
mod testbed;

use clap::{Parser, Subcommand};

pub use exit::{CliError, Exit};

/// What `--version` prints after the name: the crate version and the embedded Public Suffix
/// List's (the `psl` crate's release; a test keeps it equal to `cookie::PSL_CRATE_VERSION`).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (public suffix list: psl 2.1.247)"
);

/// authprobe — does your auth service keep the promises of session cookies and tokens?
#[derive(Debug, Parser)]
#[command(name = "authprobe", version = VERSION, about, long_about = None)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the reference testbed in-process and run the whole catalogue against it.
    Demo(check::DemoArgs),
    /// Run the catalogue against the service a profile describes.
    Check(check::CheckArgs),
    /// Serve the reference testbed on loopback until Ctrl-C.
    Testbed(testbed::TestbedArgs),
    /// Check spec and profile files and print every problem.
    Validate(catalogue::ValidateArgs),
    /// Send generated malformed and adversarial credentials to a service until a duration,
    /// the request budget or Ctrl-C; report 5xx, timeouts, dropped connections, accepted
    /// forgeries and response-time outliers.
    Fuzz(fuzz::FuzzArgs),
    /// List the catalogue's rules.
    Rules(catalogue::RulesArgs),
    /// Explain one rule: requirement, rationale, references, how to fix, how to check by hand.
    Explain(catalogue::ExplainArgs),
    /// Write a commented profile skeleton (optionally filled from OIDC discovery).
    Init(init::InitArgs),
    /// Print the JSON Schema of spec files, profiles or baselines (for editors).
    Schema(catalogue::SchemaArgs),
    /// Turn criterion's saved results into a Markdown table and a log-scale SVG.
    BenchReport(bench_report::BenchReportArgs),
    /// Show what a header or token really does, offline.
    #[command(subcommand)]
    Inspect(inspect::InspectCommand),
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<Exit, CliError> {
    // Exactly one jsonwebtoken backend is compiled in; installing it explicitly guards
    // against a build that enables none or both (which would panic at first use).
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    match cli.command {
        Command::Demo(a) => check::demo(a).await,
        Command::Check(a) => check::check(a).await,
        Command::Testbed(a) => testbed::serve(a).await,
        Command::Fuzz(a) => fuzz::fuzz(a).await,
        Command::Rules(a) => catalogue::rules(&a),
        Command::Explain(a) => catalogue::explain(&a),
        Command::Init(a) => init::init(a).await,
        Command::BenchReport(a) => bench_report::bench_report(&a),
        Command::Schema(a) => catalogue::schema(&a),
        Command::Validate(a) => catalogue::validate(&a.files),
        Command::Inspect(c) => inspect::inspect_command(c).await,
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_version_names_the_embedded_public_suffix_list() {
        let psl = format!("psl {})", authprobe::cookie::PSL_CRATE_VERSION);
        assert!(VERSION.ends_with(&psl), "{VERSION}");
    }

    #[test]
    fn the_clap_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    /// The CI recipe's `authprobe …` lines parse with these definitions (the binary's own
    /// test: the clap types are not part of the library).
    #[test]
    fn the_ci_recipe_is_valid_yaml_and_calls_existing_flags() {
        let path = format!("{}/docs/ci/github-actions.yml", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        let doc: serde_json::Value =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
        let steps = doc["jobs"]["authprobe"]["steps"].as_array().expect("steps");
        let mut calls = 0;
        for step in steps {
            let Some(run) = step["run"].as_str() else {
                continue;
            };
            for line in run
                .lines()
                .map(str::trim)
                .filter(|l| l.starts_with("authprobe "))
            {
                let words: Vec<String> = line
                    .split(">>")
                    .next()
                    .unwrap()
                    .split_whitespace()
                    .map(|w| w.trim_matches('"').to_string())
                    .collect();
                Cli::try_parse_from(&words)
                    .unwrap_or_else(|e| panic!("`{line}` does not parse: {e}"));
                calls += 1;
            }
        }
        assert!(calls >= 2, "the workflow runs authprobe");
        assert!(text.contains("upload-sarif"), "it uploads SARIF");
    }

    /// The `authprobe …` command lines of a `run` script (a line's first word is `authprobe`
    /// or a path ending in `/authprobe`), each cut at a redirection, `||` or `&`, with `vars`
    /// (`NAME` → words) substituted for `"$NAME"`, `"${NAME[@]}"` and `$NAME` inside words.
    fn authprobe_calls(run: &str, vars: &[(&str, &str)]) -> Vec<Vec<String>> {
        let mut calls = Vec::new();
        for line in run.lines().map(str::trim) {
            let mut words = line.split_whitespace();
            let Some(first) = words.next() else {
                continue;
            };
            let first = first.trim_matches('"');
            if first != "authprobe" && !first.ends_with("/authprobe") {
                continue;
            }
            let mut call = vec!["authprobe".to_string()];
            for w in words {
                if w.starts_with('>') || w == "||" || w == "&" || w == "2>&1" {
                    break;
                }
                let mut w = w.trim_matches('"').to_string();
                for (name, value) in vars {
                    let whole = [format!("${{{name}[@]}}"), format!("${name}")];
                    if whole.contains(&w) {
                        w = value.to_string();
                    } else {
                        w = w.replace(&format!("${name}"), value);
                    }
                }
                call.extend(w.split_whitespace().map(str::to_string));
            }
            calls.push(call);
        }
        calls
    }

    /// `action.yml` and the workflow that runs it: every `authprobe …` line parses with these
    /// definitions, the action's `check` with the workflow's inputs and with a `--specs`
    /// directory (tests/action.rs checks the files' structure).
    #[test]
    fn the_action_and_its_workflow_call_existing_flags() {
        let load = |rel: &str| -> serde_json::Value {
            let path = format!("{}/{rel}", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
        };
        let action = load("action.yml");
        let workflow = load(".github/workflows/authprobe.yml");
        let wf_steps: Vec<&serde_json::Value> = workflow["jobs"]
            .as_object()
            .expect("jobs")
            .values()
            .flat_map(|j| j["steps"].as_array().expect("steps"))
            .collect();
        let with = &wf_steps
            .iter()
            .find(|s| s["uses"] == "./")
            .expect("uses: ./")["with"];
        let out = action["inputs"]["output-dir"]["default"]
            .as_str()
            .expect("output-dir");
        let mut parsed = 0;
        for specs in ["", "--specs specs"] {
            let vars = [
                ("PROFILE", with["profile"].as_str().expect("profile")),
                ("OUT", out),
                ("SPECS_ARG", specs),
                ("EXTRA_ARGS", with["args"].as_str().unwrap_or("")),
            ];
            let runs = action["runs"]["steps"]
                .as_array()
                .expect("steps")
                .iter()
                .chain(wf_steps.iter().copied())
                .filter_map(|s| s["run"].as_str());
            for run in runs {
                for call in authprobe_calls(run, &vars) {
                    match Cli::try_parse_from(&call) {
                        Ok(_) => {}
                        Err(e) if e.kind() == clap::error::ErrorKind::DisplayVersion => {}
                        Err(e) => panic!("`{}` does not parse: {e}", call.join(" ")),
                    }
                    assert!(!call.iter().any(|w| w.contains('$')), "{call:?}");
                    parsed += 1;
                }
            }
        }
        // Per variant: `--version` and `check` in the action, `testbed` in the workflow.
        assert_eq!(parsed, 6, "the authprobe calls were found");
    }
}
