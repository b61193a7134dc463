//! Operational logs through `tracing` (the AWS SDK logs through it too): the progress of long
//! steps at `info` (shown by default), what redisctl does and observes at `debug` (`-v`), each
//! command sent to a local stack's servers at `trace` (`-vv`); `-q` keeps warnings and errors
//! only; `RUST_LOG` (e.g. `redisctl=debug,aws_smithy_runtime=trace`) overrides the flags.
//!
//! Events carry addresses, names and command words, never a value that could be a secret
//! (tests/peers grep `-vv` output for every password).
//!
//! On a terminal a line is the message alone (`warning:` / `error:` before those); elsewhere
//! (CI logs, files) each line starts with its UTC timestamp, so a slow step shows where the
//! time went.

use std::io::IsTerminal;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

struct Lines {
    timestamps: bool,
}

impl<S, N> FormatEvent<S, N> for Lines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut w: Writer<'_>, event: &Event<'_>) -> std::fmt::Result {
        if self.timestamps {
            SystemTime.format_time(&mut w)?;
            w.write_char(' ')?;
        }
        let meta = event.metadata();
        match *meta.level() {
            Level::ERROR => w.write_str("error: ")?,
            Level::WARN => w.write_str("warning: ")?,
            Level::INFO => {}
            level => write!(w, "{level} {}: ", meta.target())?,
        }
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

/// The filter of `-v` (count) and `-q`.
fn default_filter(verbose: u8, quiet: bool) -> &'static str {
    match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "warn,redisctl=info",
        (false, 1) => "warn,redisctl=debug",
        (false, _) => "info,redisctl=trace",
    }
}

/// Install the subscriber writing to standard error (once; a second call is a no-op).
pub fn init(verbose: u8, quiet: bool) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::new(spec),
        _ => EnvFilter::new(default_filter(verbose, quiet)),
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .event_format(Lines { timestamps: !std::io::stderr().is_terminal() })
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_wins_and_each_v_shows_more() {
        assert_eq!(default_filter(3, true), "warn");
        assert_eq!(default_filter(0, false), "warn,redisctl=info");
        assert_eq!(default_filter(1, false), "warn,redisctl=debug");
        assert_eq!(default_filter(2, false), "info,redisctl=trace");
    }
}
