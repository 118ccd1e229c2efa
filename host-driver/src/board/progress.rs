//! What a step shows while it runs: on a terminal, a spinner with the time
//! so far, replaced by one line when it ends; elsewhere (CI, pipes) a plain
//! line when it starts and one when it ends, so logs read top to bottom.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

pub struct StepProgress {
    what: &'static str,
    started: Instant,
    spinner: Option<ProgressBar>,
}

impl StepProgress {
    pub fn start(what: &'static str) -> Self {
        let spinner = if std::io::stderr().is_terminal() {
            let style = ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("a valid progress template");
            let bar = ProgressBar::new_spinner().with_style(style).with_message(what);
            bar.enable_steady_tick(Duration::from_millis(100));
            Some(bar)
        } else {
            eprintln!("board: {what} ...");
            None
        };
        StepProgress { what, started: Instant::now(), spinner }
    }

    /// Ends the display with the step's time, and returns it.
    pub fn finish(self) -> Duration {
        let elapsed = self.started.elapsed();
        if let Some(bar) = self.spinner {
            bar.finish_and_clear();
        }
        eprintln!("board: {} took {:.1} s", self.what, elapsed.as_secs_f64());
        elapsed
    }
}
