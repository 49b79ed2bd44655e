//! Progress of long loads: a bar per stage on a terminal, a line per finished stage elsewhere
//! (a log or a CI console would otherwise fill with redrawn bars, or show nothing for minutes).

use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};

/// Reports the `progress(stage, done, total)` callbacks of the synthetic loader; pass
/// `&|s, d, t| progress.report(s, d, t)`.
pub struct Progress {
    terminal: bool,
    current: Mutex<Option<(String, ProgressBar)>>,
}

impl Default for Progress {
    fn default() -> Self {
        Progress::new()
    }
}

impl Progress {
    pub fn new() -> Self {
        Progress {
            terminal: std::io::stderr().is_terminal(),
            current: Mutex::new(None),
        }
    }

    pub fn report(&self, stage: &str, done: usize, total: usize) {
        // A poisoned lock only means an earlier report panicked; progress is not worth another.
        let Ok(mut current) = self.current.lock() else {
            return;
        };
        if current.as_ref().is_none_or(|(name, _)| name != stage) {
            if let Some((_, bar)) = current.take() {
                bar.finish();
            }
            *current = Some((stage.to_string(), self.bar(stage, total)));
        }
        if let Some((_, bar)) = current.as_ref() {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
            if done >= total {
                bar.finish();
                if !self.terminal {
                    eprintln!("{stage}: {done} of {total}");
                }
            }
        }
    }

    /// Ends the last stage's line, so that what is printed next starts on its own.
    pub fn finish(&self) {
        if let Ok(mut current) = self.current.lock()
            && let Some((_, bar)) = current.take()
        {
            bar.finish();
            if self.terminal {
                eprintln!();
            }
        }
    }

    fn bar(&self, stage: &str, total: usize) -> ProgressBar {
        // Hidden off a terminal; the finished-stage lines stand in for it there.
        let bar = ProgressBar::new(total as u64);
        let style = ProgressStyle::with_template(
            "{prefix:<16} [{bar:30}] {percent:>3}% ({pos}/{len}) {elapsed}",
        )
        .map(|s| s.progress_chars("#>-"))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(stage.to_string());
        bar
    }
}
