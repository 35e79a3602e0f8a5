//! `authprobe testbed`: serve the reference testbed on loopback until Ctrl-C; and the
//! `--flaw` and `--quirk` names it shares with `demo`.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use authprobe::diag;
use authprobe::testbed::{self, Flaw, Quirk, TestbedConfig};
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
    let config = parse_config(&a.flaw, &a.quirk)?;
    let listener = tokio::net::TcpListener::bind(a.listen).await.map_err(|e| {
        CliError::bad_input(format!(
            "cannot listen on {}: {}",
            a.listen,
            diag::lower(&e.to_string())
        ))
    })?;
    eprintln!(
        "authprobe testbed listening on http://{} ({}); demo users alice/alice-demo-password, bob/bob-demo-password; Ctrl-C stops it",
        a.listen,
        describe_config(&config).unwrap_or_else(|| "flaws: none".to_string())
    );
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    testbed::serve(listener, config, shutdown)
        .await
        .map_err(|e| {
            CliError::bad_input(format!("testbed stopped: {}", diag::lower(&e.to_string())))
        })?;
    Ok(Exit::Success)
}
