//! The progress bars, on stderr: of a job followed on a gateway, and of a
//! scenario computed in process.

use std::{io::IsTerminal, time::Duration};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tariff_proto::v1::{Job, JobState};

/// A job's state and progress as the gateway reports them. Draws nothing when
/// stderr is not a terminal, so scripts and logs only see real messages.
#[derive(Debug)]
pub struct JobProgress {
    bar: ProgressBar,
    last_state: Option<JobState>,
    shape: Shape,
}

const COUNTED: &str = "{spinner} {prefix:.bold} {msg} [{bar:30}] {pos}/{len} ({elapsed})";
const UNCOUNTED: &str = "{spinner} {prefix:.bold} {msg} ({elapsed})";
/// Uncertainty draws: thousands of them, so with separators and the time left.
const DRAWS: &str =
    "{spinner} {prefix:.bold} {msg} [{bar:30}] {human_pos}/{human_len} draws ({elapsed}, {eta} left)";

/// How the bar shows a job's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Nothing counted yet (queued, or a worker that reported no total).
    Uncounted,
    /// Steps of the computation (sector solves, tornado runs).
    Steps,
    /// Monte Carlo draws.
    Draws,
}

/// The message and shape of a job's progress: the state, then the stage when
/// it is not the draws (the count says so).
fn describe(job: &Job) -> (String, Shape) {
    let progress = job.progress.clone().unwrap_or_default();
    let mut message = state_name(job.state).to_owned();
    let draws = progress.stage == tariff_scenario::DRAWS_STAGE;
    if !progress.stage.is_empty() && !draws {
        message.push_str(": ");
        message.push_str(&progress.stage);
    }
    let shape = match (progress.total, draws) {
        (0, _) => Shape::Uncounted,
        (_, true) => Shape::Draws,
        (_, false) => Shape::Steps,
    };
    (message, shape)
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

/// The name people and the proto know a state by.
pub fn state_name(state: i32) -> &'static str {
    match JobState::try_from(state) {
        Ok(JobState::Queued) => "QUEUED",
        Ok(JobState::Running) => "RUNNING",
        Ok(JobState::Succeeded) => "SUCCEEDED",
        Ok(JobState::Failed) => "FAILED",
        Ok(JobState::Cancelled) => "CANCELLED",
        Ok(JobState::Unspecified) | Err(_) => "UNKNOWN",
    }
}

impl JobProgress {
    pub fn new(job_id: &str) -> JobProgress {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(None, target)
            .with_style(style(UNCOUNTED))
            .with_prefix(format!("job {job_id}"))
            .with_message("waiting for the gateway");
        // The gateway may say nothing for a while (a queued job); the spinner
        // shows the command is still waiting rather than stuck.
        bar.enable_steady_tick(Duration::from_millis(120));
        JobProgress { bar, last_state: None, shape: Shape::Uncounted }
    }

    /// Shows the job as the gateway last reported it.
    pub fn update(&mut self, job: &Job) {
        let state = JobState::try_from(job.state).unwrap_or(JobState::Unspecified);
        if self.last_state.is_some_and(|last| last != state) && job.attempts > 1 && state == JobState::Running
        {
            // A redelivery: the job's earlier attempt did not finish.
            self.bar.println(format!("  attempt {}", job.attempts));
        }
        self.last_state = Some(state);
        let progress = job.progress.clone().unwrap_or_default();
        let (message, shape) = describe(job);
        if shape != Shape::Uncounted {
            if shape != self.shape {
                self.bar.set_style(style(if shape == Shape::Draws { DRAWS } else { COUNTED }));
                // The time left of the draws is their own, not the steps' before them.
                self.bar.reset_eta();
                self.shape = shape;
            }
            self.bar.set_length(u64::from(progress.total));
            self.bar.set_position(u64::from(progress.done.min(progress.total)));
        }
        self.bar.set_message(message);
    }
}

// The bar goes before anything else is printed, on every path out.
impl Drop for JobProgress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use tariff_proto::v1::Progress;

    use super::*;

    fn job(stage: &str, done: u32, total: u32) -> Job {
        Job {
            state: JobState::Running.into(),
            progress: Some(Progress { done, total, stage: stage.into() }),
            ..Default::default()
        }
    }

    #[test]
    fn draws_are_counted_as_draws_and_steps_name_their_stage() {
        assert_eq!(describe(&job("draws", 1200, 10_000)), ("RUNNING".to_owned(), Shape::Draws));
        assert_eq!(
            describe(&job("2025-05-03 CARS", 3, 10)),
            ("RUNNING: 2025-05-03 CARS".to_owned(), Shape::Steps)
        );
        assert_eq!(describe(&job("sensitivity", 4, 60)).1, Shape::Steps);
        assert_eq!(describe(&Job::default()), ("UNKNOWN".to_owned(), Shape::Uncounted));
    }
}

/// The progress of a scenario computed in process: drawn once it has run for
/// a moment (small scenarios finish before), never when stderr is not a terminal.
#[derive(Debug)]
pub struct LocalProgress {
    bar: ProgressBar,
    started: std::time::Instant,
    /// Whether the bar counts draws now (`None` before the first update).
    draws: Option<bool>,
}

impl LocalProgress {
    pub fn new() -> LocalProgress {
        let bar = ProgressBar::hidden().with_style(style(COUNTED)).with_prefix("computing");
        LocalProgress { bar, started: std::time::Instant::now(), draws: None }
    }

    /// Shows `p`; never stops the evaluation.
    pub fn update(&mut self, p: &tariff_scenario::Progress) -> std::ops::ControlFlow<()> {
        if self.bar.is_hidden()
            && self.started.elapsed() > Duration::from_millis(500)
            && std::io::stderr().is_terminal()
        {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        let draws = p.stage == tariff_scenario::DRAWS_STAGE;
        if self.draws != Some(draws) {
            self.bar.set_style(style(if draws { DRAWS } else { COUNTED }));
            self.draws = Some(draws);
        }
        self.bar.set_length(u64::from(p.total));
        self.bar.set_position(u64::from(p.done));
        if !draws {
            self.bar.set_message(p.stage.clone());
        }
        std::ops::ControlFlow::Continue(())
    }
}

impl Drop for LocalProgress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
