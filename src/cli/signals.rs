//! Stopping a run on SIGINT or SIGTERM (what Ctrl-C, CI timeouts and container stops send).
//!
//! [`listen`] catches both signals for the commands that run against a service (`check`,
//! `demo`, `fuzz`) and turns the first one into a stop reason (`interrupted by SIGTERM`) on
//! the [`Stop`] channel the run watches: the run stops sending, keeps what it has, and the
//! command writes it and exits 3. A second signal exits 3 at once (files already written
//! stay whole: they are written atomically). Other commands keep the default behaviour (a
//! signal ends the process). Nothing here knows a command.

use authprobe::Stop;

/// Catches SIGINT and SIGTERM from now on; the first one sets the returned stop reason.
/// Must be called inside the runtime.
pub fn listen() -> Stop {
    let (tx, rx) = tokio::sync::watch::channel(None);
    let mut signals = Signals::new();
    tokio::spawn(async move {
        let Some(name) = signals.next().await else {
            return;
        };
        eprintln!("authprobe: {name}: stopping; writing what has finished (again to quit at once)");
        let _ = tx.send(Some(format!("interrupted by {name}")));
        if let Some(again) = signals.next().await {
            eprintln!("authprobe: {again} again: exiting now");
            std::process::exit(3);
        }
    });
    rx
}

/// The signals a run stops on.
struct Signals {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    #[cfg(unix)]
    fn new() -> Signals {
        use tokio::signal::unix::{SignalKind, signal};
        let streams = signal(SignalKind::interrupt())
            .and_then(|int| Ok((int, signal(SignalKind::terminate())?)))
            .ok();
        Signals { streams }
    }

    #[cfg(not(unix))]
    fn new() -> Signals {
        Signals {}
    }

    /// The name of the next signal; `None` when signals cannot be caught.
    #[cfg(unix)]
    async fn next(&mut self) -> Option<&'static str> {
        let (int, term) = self.streams.as_mut()?;
        tokio::select! {
            Some(()) = int.recv() => Some("SIGINT"),
            Some(()) = term.recv() => Some("SIGTERM"),
            else => None,
        }
    }

    /// The name of the next signal (Ctrl-C only); `None` when it cannot be caught.
    #[cfg(not(unix))]
    async fn next(&mut self) -> Option<&'static str> {
        tokio::signal::ctrl_c().await.ok().map(|()| "Ctrl-C")
    }
}
