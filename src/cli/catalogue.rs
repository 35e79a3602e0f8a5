//! The commands about the catalogue and the input files, which send no request: `rules`,
//! `explain`, `validate` and `schema`; and loading the catalogue for every command.

use std::path::PathBuf;

use authprobe::diag::{self, Diagnostic, Diagnostics};
use authprobe::spec::{self, Catalogue};
use authprobe::{gate, profile, report, schema};
use clap::{Args, ValueEnum};

use super::exit::{CliError, Exit};
use super::io::{OutputFormat, out};

/// `rules` arguments.
#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: OutputFormat,
    /// Use the spec files in DIR instead of the shipped catalogue.
    #[arg(long, value_name = "DIR")]
    pub specs: Option<PathBuf>,
}

/// `explain` arguments.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The rule id, e.g. `session.revoked-on-logout`.
    pub rule: String,
    /// Use the spec files in DIR instead of the shipped catalogue.
    #[arg(long, value_name = "DIR")]
    pub specs: Option<PathBuf>,
}

/// `validate` arguments.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Spec files (with a `rules:` list) and profiles.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Which schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaKind {
    /// Spec files (`specs/*.yaml`).
    Spec,
    /// Target profiles.
    Profile,
    /// Expected-failures baselines.
    Baseline,
}

/// `schema` arguments.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which file kind.
    #[arg(value_enum)]
    pub kind: SchemaKind,
}

/// The catalogue in `specs` (`--specs DIR`), or the shipped one.
pub fn load_catalogue(specs: &Option<PathBuf>) -> Result<Catalogue, CliError> {
    let catalogue = match specs {
        Some(dir) => spec::load_catalogue(dir)?,
        None => spec::builtin_catalogue()?,
    };
    Ok(catalogue)
}

/// Lists the catalogue's rules.
pub fn rules(a: &RulesArgs) -> Result<Exit, CliError> {
    let c = load_catalogue(&a.specs)?;
    out(&match a.format {
        OutputFormat::Human => report::rules_text(&c),
        OutputFormat::Json => report::rules_json(&c),
    })?;
    Ok(Exit::Success)
}

/// Explains one rule.
pub fn explain(a: &ExplainArgs) -> Result<Exit, CliError> {
    let c = load_catalogue(&a.specs)?;
    let rule = c.rule(&a.rule).ok_or_else(|| {
        CliError::bad_input(format!(
            "no rule `{}`; `authprobe rules` lists them",
            a.rule
        ))
    })?;
    out(&report::explain(rule, &authprobe::demo::flaws()))?;
    Ok(Exit::Success)
}

/// Prints the JSON Schema of one file kind.
pub fn schema(a: &SchemaArgs) -> Result<Exit, CliError> {
    out(&schema::render(match a.kind {
        SchemaKind::Spec => schema::Kind::Spec,
        SchemaKind::Profile => schema::Kind::Profile,
        SchemaKind::Baseline => schema::Kind::Baseline,
    }))?;
    Ok(Exit::Success)
}

/// Checks spec, baseline and profile files and prints every problem, or one line per file.
pub fn validate(files: &[PathBuf]) -> Result<Exit, CliError> {
    let mut problems = Diagnostics::default();
    let mut spec_sources = Vec::new();
    let mut lines = Vec::new();
    let mut profiles = Vec::new();
    for file in files {
        let text = match diag::read_file(file, diag::InputKind::Document) {
            Ok(t) => t,
            Err(d) => {
                problems.push(d);
                continue;
            }
        };
        if looks_like_spec(&text) {
            spec_sources.push((file.clone(), text));
            continue;
        }
        let checked = if gate::looks_like_baseline(&text) {
            validate_baseline(&text, file)
        } else {
            profile::parse_profile(&text, file).map(|p| {
                let line = format!(
                    "ok: {} (profile `{}`)",
                    file.display(),
                    p.spec.name.as_deref().unwrap_or("unnamed")
                );
                profiles.push(p);
                line
            })
        };
        match checked {
            Ok(line) => lines.push(line),
            Err(d) => problems.extend(d),
        }
    }
    // The rules a profile is judged with: the spec files given alongside it, else the shipped ones.
    let mut catalogue = None;
    if !spec_sources.is_empty() {
        match spec::catalogue_from_sources(&spec_sources) {
            Ok(c) => {
                lines.push(format!(
                    "ok: {} spec file(s), {} rules",
                    spec_sources.len(),
                    c.rules.len()
                ));
                catalogue = Some(c);
            }
            Err(d) => problems.extend(d),
        }
    }
    if !problems.is_empty() {
        return Err(CliError::Diagnostics(problems));
    }
    for p in &profiles {
        for d in p.unreadable_secrets().0 {
            lines.push(secret_warning(&d));
        }
    }
    let catalogue = match catalogue {
        Some(c) => Some(c),
        None => spec::builtin_catalogue().ok(),
    };
    if let Some(c) = &catalogue {
        for p in &profiles {
            for w in p.unused_flows(c).into_iter().chain(p.idle_modes(c)) {
                lines.push(format!("warning: {}: {w}", p.file.display()));
            }
        }
    }
    out(&lines.join("\n"))?;
    Ok(Exit::Success)
}

/// `warning: p.yaml:11:10: users.alice.password: environment variable `ALICE_PASSWORD` is not
/// set (check refuses the profile without it; export ALICE_PASSWORD=... before running
/// authprobe)`.
fn secret_warning(d: &Diagnostic) -> String {
    let mut line = format!("warning: {}", d.file.display());
    if d.line > 0 {
        line.push_str(&format!(":{}:{}", d.line, d.column));
    }
    line.push_str(&format!(
        ": {}: {} (`check` refuses the profile without it",
        d.path, d.message
    ));
    if let Some(hint) = &d.hint {
        line.push_str(&format!("; {hint}"));
    }
    line.push(')');
    line
}

fn looks_like_spec(text: &str) -> bool {
    text.lines().any(|l| l.starts_with("rules:"))
}

/// Checks a baseline against the shipped catalogue; the line to print when it is valid.
fn validate_baseline(text: &str, file: &std::path::Path) -> Result<String, Diagnostics> {
    let catalogue = spec::builtin_catalogue().ok();
    let b = gate::parse_baseline(text, file, catalogue.as_ref())?;
    Ok(format!(
        "ok: {} (baseline, {} entries)",
        file.display(),
        b.entries.len()
    ))
}
