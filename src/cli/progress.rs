//! The ingest progress bar on stderr (indicatif), shown only when stderr is a
//! terminal, and the one-line rejection messages, always shown.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use newsvault::{Progress, Rejection};

/// Progress on stderr.
pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    /// A bar that draws only if `wanted` and stderr is a terminal.
    pub fn new(wanted: bool) -> Bar {
        let visible = wanted && std::io::IsTerminal::is_terminal(&std::io::stderr());
        let bar = ProgressBar::with_draw_target(
            Some(0),
            if visible { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() },
        );
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({eta})",
            )
            .expect("the template is valid because it is a constant")
            .progress_chars("=> "),
        );
        Bar { bar }
    }
}

impl Progress for Bar {
    fn begin(&self, total_bytes: u64) {
        if total_bytes == 0 {
            // Nothing to measure against: a count and a spinner.
            self.bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bytes} ({bytes_per_sec})")
                    .expect("the template is valid because it is a constant"),
            );
        }
        self.bar.set_length(total_bytes);
    }

    fn advance(&self, bytes: u64) {
        self.bar.inc(bytes);
    }

    fn rejected(&self, rejection: &Rejection) {
        let line = newsvault::sanitize::line(&format!("rejected {rejection}"));
        self.bar.suspend(|| eprintln!("newsvault: {line}"));
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
