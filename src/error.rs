//! The library's error type. The CLI prints it and maps it to an exit code.

use std::fmt;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The contract has errors; the diagnostics were already printed.
    #[error("{0}")]
    Invalid(String),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
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
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
