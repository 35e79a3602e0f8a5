//! The progress display on stderr: a bar on a terminal, plain lines otherwise, nothing with
//! `--quiet`. It consumes the engine's and the fuzzer's events; the lines themselves come
//! from `report`. It never touches stdout (that is the report's).

use std::fmt::Display;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};

use authprobe::Event;
use authprobe::fuzzer::FuzzEvent;
use authprobe::report;
use indicatif::{ProgressBar, ProgressStyle};

/// Progress of a `check`/`demo` run.
pub struct RunProgress {
    quiet: bool,
    bar: Option<ProgressBar>,
    total: AtomicUsize,
    done: AtomicUsize,
}

impl RunProgress {
    /// A bar when stderr is a terminal and not `quiet`; plain lines otherwise.
    pub fn new(quiet: bool) -> RunProgress {
        let tty = std::io::stderr().is_terminal();
        let bar = (!quiet && tty).then(|| {
            let pb = ProgressBar::new(0);
            let style = ProgressStyle::with_template("{bar:30} {pos}/{len} rules  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            pb.set_style(style);
            pb
        });
        RunProgress {
            quiet,
            bar,
            total: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
        }
    }

    /// Shows one engine event.
    pub fn on_event(&self, e: &Event) {
        let n = self.count(e);
        if self.quiet {
            return;
        }
        let line = || report::progress_line(e, n, self.total.load(Ordering::Relaxed));
        match (&self.bar, e) {
            (Some(pb), Event::RuleFinished(r)) => {
                pb.set_position(n as u64);
                pb.set_message(format!("{} {}", r.status().as_str(), r.label()));
            }
            (Some(pb), Event::Started { .. }) => {
                if let Some(line) = line() {
                    pb.println(line);
                }
            }
            (None, _) => {
                if let Some(line) = line() {
                    eprintln!("{line}");
                }
            }
        }
    }

    /// Counts rules: the total when the run starts, the finished ones after each rule.
    /// Returns how many rules have finished (0 for the start).
    fn count(&self, e: &Event) -> usize {
        match e {
            Event::Started { rules, .. } => {
                self.total.store(*rules, Ordering::Relaxed);
                if let Some(pb) = &self.bar {
                    pb.set_length(*rules as u64);
                }
                0
            }
            Event::RuleFinished(_) => self.done.fetch_add(1, Ordering::Relaxed) + 1,
        }
    }

    /// Clears the bar, so the report starts on a clean terminal.
    pub fn finish(&self) {
        if let Some(pb) = &self.bar {
            pb.finish_and_clear();
        }
    }
}

/// Progress of a `fuzz` campaign: plain lines, nothing with `--quiet`.
pub struct FuzzProgress {
    quiet: bool,
}

impl FuzzProgress {
    /// Lines on stderr unless `quiet`.
    pub fn new(quiet: bool) -> FuzzProgress {
        FuzzProgress { quiet }
    }

    /// The campaign's first line: its seed, its duration and its target.
    pub fn started(&self, seed: u64, duration: impl Display, base_url: impl Display) {
        if !self.quiet {
            eprintln!("authprobe fuzz: seed {seed}, up to {duration} against {base_url}");
        }
    }

    /// Shows one fuzzer event.
    pub fn on_event(&self, e: &FuzzEvent) {
        if self.quiet {
            return;
        }
        match e {
            FuzzEvent::Progress {
                cases,
                rate,
                findings,
            } => {
                eprintln!("fuzz: {cases} cases, {rate:.0}/s, {findings} findings")
            }
            FuzzEvent::Found(f) => eprintln!(
                "fuzz: finding: {} from {} — {}",
                f.kind,
                f.generator,
                report::sanitize(&f.observed)
            ),
        }
    }
}
