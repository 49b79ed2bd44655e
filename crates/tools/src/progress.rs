//! Progress of long loads on a terminal.

use std::io::Write;

/// A one-line progress bar on standard error, redrawn in place; fits the `progress(stage, done,
/// total)` callbacks of the synthetic loader.
pub fn bar(stage: &str, done: usize, total: usize) {
    const WIDTH: usize = 30;
    let filled = (done * WIDTH)
        .checked_div(total)
        .unwrap_or(WIDTH)
        .min(WIDTH);
    let percent = (done * 100).checked_div(total).unwrap_or(100);
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "\r{stage:<16} [{}{}] {percent:>3}% ({done}/{total})   ",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled)
    );
    // A finished stage keeps its line; the next one starts below it.
    if done >= total {
        let _ = writeln!(err);
    }
    let _ = err.flush();
}
