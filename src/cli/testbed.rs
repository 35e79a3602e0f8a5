//! `authprobe testbed`: serve the reference testbed on loopback until Ctrl-C; and the
//! `--flaw` names it shares with `demo`.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use authprobe::diag;
use authprobe::testbed::{self, Flaw, TestbedConfig};
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
}

/// The testbed configuration with these `--flaw` names.
pub fn parse_flaws(names: &[String]) -> Result<TestbedConfig, CliError> {
    let flaws = names
        .iter()
        .map(|n| n.parse::<Flaw>().map_err(CliError::bad_input))
        .collect::<Result<BTreeSet<Flaw>, CliError>>()?;
    Ok(TestbedConfig {
        flaws,
        ..TestbedConfig::default()
    })
}

/// Serves the testbed until Ctrl-C.
pub async fn serve(a: TestbedArgs) -> Result<Exit, CliError> {
    if !a.listen.ip().is_loopback() {
        return Err(CliError::bad_input(format!(
            "the testbed is deliberately breakable and listens on loopback only; {} is not a loopback address",
            a.listen.ip()
        )));
    }
    let config = parse_flaws(&a.flaw)?;
    let listener = tokio::net::TcpListener::bind(a.listen).await.map_err(|e| {
        CliError::bad_input(format!(
            "cannot listen on {}: {}",
            a.listen,
            diag::lower(&e.to_string())
        ))
    })?;
    let names: Vec<&str> = config.flaws.iter().map(|f| f.name()).collect();
    eprintln!(
        "authprobe testbed listening on http://{} (flaws: {}); demo users alice/alice-demo-password, bob/bob-demo-password; Ctrl-C stops it",
        a.listen,
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
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
