//! `authprobe testbed`: serve the reference testbed on loopback until Ctrl-C; and the
//! `--flaw` and `--quirk` names it shares with `demo`.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use authprobe::diag;
use authprobe::testbed::{self, Flaw, FrontEnd, Quirk, TestbedConfig};
use clap::Args;

use super::exit::{CliError, Exit};

/// `testbed` arguments.
#[derive(Debug, Args)]
pub struct TestbedArgs {
    /// Address to listen on (loopback only).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Break one promise (repeatable).
    #[arg(long, value_name = "NAME")]
    pub flaw: Vec<String>,
    /// Add one legitimate behaviour real services show (repeatable); `demo --list-quirks`
    /// lists them.
    #[arg(long, value_name = "NAME")]
    pub quirk: Vec<String>,
    /// Serve N more instances (0 to 16), each on an ephemeral loopback port, all sharing one
    /// state; `replica-local-revocation` brings 2 when none are asked for.
    #[arg(long, value_name = "N", value_parser = replica_count)]
    pub replicas: Option<usize>,
    /// How long each password check takes (e.g. `1s`, `150ms`; 1 ms to 60 s), one at a
    /// time: the `slow-logins` quirk with this delay instead of its 150 ms (implies
    /// `--quirk slow-logins`).
    #[arg(long, value_name = "DURATION", value_parser = super::limits::login_delay)]
    pub login_delay: Option<std::time::Duration>,
    /// How users sign in: a framework's HTML login (django, rails, laravel, spring, aspnet,
    /// express), a JSON login published in /openapi.json (json) or an OpenID Connect provider
    /// (oidc). Default: the JSON API alone.
    #[arg(long, value_name = "NAME", value_parser = front_end)]
    pub front_end: Option<FrontEnd>,
}

/// `--front-end`: one of [`FrontEnd::ALL`] by name.
fn front_end(s: &str) -> Result<FrontEnd, String> {
    s.parse::<FrontEnd>().map_err(|e| e.to_string())
}

/// `--replicas`: 0 to 16 (what a profile's `replicas:` may list).
pub fn replica_count(s: &str) -> Result<usize, String> {
    let max = authprobe::profile::MAX_REPLICAS;
    match s.parse::<usize>() {
        Ok(n) if n <= max => Ok(n),
        _ => Err(format!("expected a whole number from 0 to {max}")),
    }
}

/// Sets the replica count asked for; says so on stderr when the flaw implies replicas.
pub fn with_replicas(mut config: TestbedConfig, asked: Option<usize>) -> TestbedConfig {
    config.replicas = asked.unwrap_or(0);
    if config.replicas == 0 && config.replica_count() > 0 {
        eprintln!(
            "authprobe: note: replica-local-revocation shows only across instances: {} replicas are started (--replicas N to choose)",
            config.replica_count()
        );
    }
    config
}

/// `config` with every password check taking `delay` when one is asked for (`--login-delay`):
/// the `slow-logins` quirk with that delay.
pub fn with_login_delay(
    mut config: TestbedConfig,
    delay: Option<std::time::Duration>,
) -> TestbedConfig {
    if let Some(delay) = delay {
        config.quirks.insert(Quirk::SlowLogins);
        config.slow_login = Some(delay);
    }
    config
}

/// The testbed configuration with these `--flaw` and `--quirk` names.
pub fn parse_config(flaws: &[String], quirks: &[String]) -> Result<TestbedConfig, CliError> {
    let flaws = flaws
        .iter()
        .map(|n| n.parse::<Flaw>().map_err(CliError::bad_input))
        .collect::<Result<BTreeSet<Flaw>, CliError>>()?;
    let quirks = quirks
        .iter()
        .map(|n| n.parse::<Quirk>().map_err(CliError::bad_input))
        .collect::<Result<BTreeSet<Quirk>, CliError>>()?;
    Ok(TestbedConfig {
        flaws,
        quirks,
        ..TestbedConfig::default()
    })
}

/// `flaws: a, b; quirks: c` (the parts that are not empty), for names and banners.
pub fn describe_config(config: &TestbedConfig) -> Option<String> {
    let mut parts = Vec::new();
    if !config.flaws.is_empty() {
        let names: Vec<&str> = config.flaws.iter().map(|f| f.name()).collect();
        parts.push(format!("flaws: {}", names.join(", ")));
    }
    if !config.quirks.is_empty() {
        let names: Vec<&str> = config.quirks.iter().map(|q| q.name()).collect();
        parts.push(format!("quirks: {}", names.join(", ")));
    }
    if config.replica_count() > 0 {
        parts.push(format!("replicas: {}", config.replica_count()));
    }
    if let Some(f) = config.front_end {
        parts.push(format!("front-end: {f}"));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Serves the testbed until Ctrl-C.
pub async fn serve(a: TestbedArgs) -> Result<Exit, CliError> {
    if !a.listen.ip().is_loopback() {
        return Err(CliError::bad_input(format!(
            "the testbed is deliberately breakable and listens on loopback only; {} is not a loopback address",
            a.listen.ip()
        )));
    }
    let config = with_replicas(parse_config(&a.flaw, &a.quirk)?, a.replicas);
    let mut config = with_login_delay(config, a.login_delay);
    config.front_end = a.front_end;
    let bed = testbed::spawn(a.listen, config.clone())
        .await
        .map_err(|e| {
            CliError::bad_input(format!(
                "cannot listen on {}: {}",
                a.listen,
                diag::lower(&e.to_string())
            ))
        })?;
    eprintln!(
        "authprobe testbed listening on {} ({}); demo users alice/alice-demo-password, bob/bob-demo-password; Ctrl-C stops it",
        bed.base_url(),
        describe_config(&config).unwrap_or_else(|| "flaws: none".to_string())
    );
    let replicas = bed.replica_urls();
    for (i, url) in replicas.iter().enumerate() {
        eprintln!("  replica {}: {url}", i + 1);
    }
    if !replicas.is_empty() {
        let quoted: Vec<String> = replicas.iter().map(|r| format!("\"{r}\"")).collect();
        eprintln!("  for a profile: replicas: [{}]", quoted.join(", "));
    }
    let _ = tokio::signal::ctrl_c().await;
    bed.shutdown().await;
    Ok(Exit::Success)
}
