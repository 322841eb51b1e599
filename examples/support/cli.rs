//! What the command-line examples share: logs on stderr, and the exit with
//! usage on bad arguments.

use std::process::ExitCode;

/// Sends `tracing` output to stderr (stdout carries the example's contract),
/// filtered by `RUST_LOG`.
pub(crate) fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
}

/// Parses the arguments with `parse`, or prints the problem and `usage` to
/// stderr and gives the exit code 2.
pub(crate) fn parse_or_usage<T>(
    parse: impl FnOnce() -> Result<T, String>,
    usage: &str,
) -> Result<T, ExitCode> {
    parse().map_err(|message| {
        if !message.is_empty() {
            eprintln!("error: {message}");
        }
        eprintln!("{usage}");
        ExitCode::from(2)
    })
}
