//! Progress of a long job (`lattice verify`, imports) on stderr: a bar redrawn in place on a
//! terminal, a plain line every few seconds otherwise (logs, CI), both with the share done,
//! the rate and the time left.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// How often a terminal's bar is redrawn.
const REDRAW_EVERY: Duration = Duration::from_millis(100);
/// How often a plain line is written when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(5);
/// Width of the bar, in characters.
const BAR_WIDTH: usize = 30;

/// A job of `total` units (`unit`: "blocks", …) reported as it goes.
#[derive(Debug)]
pub struct Progress {
    what: &'static str,
    unit: &'static str,
    total: u64,
    done: u64,
    started: Instant,
    shown: Option<Instant>,
    terminal: bool,
}

impl Progress {
    /// Starts reporting a job; a bar when stderr is a terminal, plain lines otherwise.
    pub fn new(what: &'static str, unit: &'static str, total: u64) -> Self {
        let terminal = std::io::stderr().is_terminal();
        Self { what, unit, total, done: 0, started: Instant::now(), shown: None, terminal }
    }

    /// Records `done` units finished; shows it if it is time to.
    pub fn set(&mut self, done: u64) {
        self.done = done.min(self.total);
        let every = if self.terminal { REDRAW_EVERY } else { LINE_EVERY };
        if self.shown.is_none_or(|at| at.elapsed() >= every) {
            self.shown = Some(Instant::now());
            self.show();
        }
    }

    /// Shows the final state and ends the bar's line.
    pub fn finish(&mut self) {
        self.show();
        if self.terminal {
            eprintln!();
        }
    }

    fn show(&self) {
        let line = self.line(self.started.elapsed());
        let mut err = std::io::stderr().lock();
        let _ = if self.terminal {
            write!(err, "\r{} {line}\x1b[K", self.bar())
        } else {
            writeln!(err, "{line}")
        };
        let _ = err.flush();
    }

    /// `[#########.....................]`
    fn bar(&self) -> String {
        let filled = (self.fraction() * BAR_WIDTH as f64) as usize;
        format!("[{}{}]", "#".repeat(filled), ".".repeat(BAR_WIDTH - filled))
    }

    fn fraction(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.done as f64 / self.total as f64
        }
    }

    /// `verify: 45.0% (12345/27434 blocks), 1234 blocks/s, 12 s left`
    fn line(&self, elapsed: Duration) -> String {
        let rate = self.done as f64 / elapsed.as_secs_f64().max(1e-3);
        let left = match self.total - self.done {
            0 => "done".to_string(),
            _ if rate <= 0.0 => "? left".to_string(),
            n => format!("{} s left", (n as f64 / rate).ceil() as u64),
        };
        format!(
            "{}: {:.1}% ({}/{} {}), {} {}/s, {left}",
            self.what,
            self.fraction() * 100.0,
            self.done,
            self.total,
            self.unit,
            rate as u64,
            self.unit
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(done: u64, total: u64) -> Progress {
        let mut p = Progress::new("verify", "blocks", total);
        p.done = done;
        p
    }

    #[test]
    fn the_line_gives_share_rate_and_time_left() {
        assert_eq!(
            job(250, 1_000).line(Duration::from_secs(5)),
            "verify: 25.0% (250/1000 blocks), 50 blocks/s, 15 s left"
        );
        assert_eq!(
            job(0, 10).line(Duration::from_secs(1)),
            "verify: 0.0% (0/10 blocks), 0 blocks/s, ? left"
        );
        assert_eq!(
            job(10, 10).line(Duration::from_secs(2)),
            "verify: 100.0% (10/10 blocks), 5 blocks/s, done"
        );
        assert_eq!(job(0, 0).line(Duration::ZERO), "verify: 100.0% (0/0 blocks), 0 blocks/s, done");
    }

    #[test]
    fn the_bar_fills_with_the_share_done() {
        assert_eq!(job(0, 3).bar(), format!("[{}]", ".".repeat(30)));
        assert_eq!(job(1, 2).bar(), format!("[{}{}]", "#".repeat(15), ".".repeat(15)));
        assert_eq!(job(2, 2).bar(), format!("[{}]", "#".repeat(30)));
    }

    #[test]
    fn done_never_exceeds_the_total() {
        let mut p = job(0, 5);
        p.set(9);
        assert_eq!(p.done, 5);
    }
}
