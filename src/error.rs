//! The library's error type: what went wrong, by stage, as data. The CLI prints it and takes
//! the exit status from it (`exit_code`).

use std::fmt;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The contract has errors; the located diagnostics were already printed.
    #[error("{0}")]
    Invalid(String),
    /// The command line asks for something that cannot be done as given (a missing or
    /// contradicting flag): exit status 64, like a command line that does not parse.
    #[error("{0}")]
    Usage(String),
    /// A guard refused the plan before anything was changed: destructive changes without
    /// `--allow-destroy`, `safety.forbidDestroy`, a stale saved plan, readiness errors.
    #[error("{0}")]
    Refused(String),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    /// Applying one change failed (the state keeps what was done before it).
    #[error("{address}: {source}")]
    Change { address: String, source: Box<Error> },
    #[error("{0}")]
    Message(String),
}

impl Error {
    pub fn msg(m: impl fmt::Display) -> Self {
        Error::Message(m.to_string())
    }
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }
    pub fn usage(m: impl fmt::Display) -> Self {
        Error::Usage(m.to_string())
    }
    pub fn refused(m: impl fmt::Display) -> Self {
        Error::Refused(m.to_string())
    }

    /// The process exit status for this error (documented in the README).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 64,
            _ => 1,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
