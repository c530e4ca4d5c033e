//! The progress bar of long dataset work (an import reading files, a
//! synthetic dataset being written): on stderr, drawn only when stderr is a
//! terminal, so scripts and logs see only the summary.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tariff_import::Progress;

/// A bar following [`Progress`] reports: bytes of a file, or counted steps.
#[derive(Debug)]
pub struct WorkBar {
    bar: ProgressBar,
    stage: String,
    bytes: bool,
}

const BYTES: &str = "{spinner} {msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} ({elapsed}, {eta} left)";
const STEPS: &str = "{spinner} {msg} [{bar:30}] {human_pos}/{human_len} ({elapsed}, {eta} left)";
const UNCOUNTED: &str = "{spinner} {msg} ({elapsed})";

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

impl WorkBar {
    /// `bytes`: the reports count bytes (of files being read) rather than steps.
    pub fn new(bytes: bool) -> WorkBar {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        WorkBar { bar, stage: String::new(), bytes }
    }

    pub fn update(&mut self, p: &Progress<'_>) {
        if p.stage != self.stage {
            self.stage = p.stage.to_owned();
            let template = match (p.total, self.bytes) {
                (0, _) => UNCOUNTED,
                (_, true) => BYTES,
                (_, false) => STEPS,
            };
            self.bar.set_style(style(template));
            self.bar.set_message(self.stage.clone());
            self.bar.reset_eta();
        }
        self.bar.set_length(p.total);
        self.bar.set_position(p.done.min(p.total.max(p.done)));
        self.bar.tick();
    }
}

impl Drop for WorkBar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
