//! Progress display for long KV operations (export, import): an `indicatif` spinner or
//! bar on stderr, hidden when stderr is not a terminal so pipes, files and CI logs get
//! no control sequences. Messages name counts and folders, never values.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

fn visible() -> bool {
    std::io::stderr().is_terminal()
}

/// A spinner with `message`, ticking on its own.
pub fn spinner(message: &str) -> ProgressBar {
    if !visible() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
        pb.set_style(style);
    }
    pb.set_message(message.to_string());
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

/// A bar of `len` steps labelled `message`.
pub fn bar(len: usize, message: &str) -> ProgressBar {
    let len = u64::try_from(len).unwrap_or(u64::MAX);
    if !visible() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({elapsed})") {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(message.to_string());
    pb
}
