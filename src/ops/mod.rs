//! Operations on a running deployment that no other stage does: adopting one into a contract
//! (`import`) and measured drills (`drill failover`, `drill restore`) whose records the
//! readiness review reads as evidence (`model::drill`).
//!
//! Every Redis interaction goes through the one client (`crate::client`) and, on local stacks,
//! through the stack runtime (`crate::stack`): no second client, no redis-cli.

pub mod adopt;
pub mod drill;
pub mod import;
#[cfg(feature = "elasticache")]
pub mod import_elasticache;
pub mod writer;

use std::time::Duration;

use crate::error::Error;
use crate::model::Tls;

/// Where a login password comes from on the command line: never the password itself (argv is
/// readable by every user of the machine, and lands in shell histories).
#[derive(Debug, Clone)]
pub enum PasswordSource {
    Env(String),
    File(std::path::PathBuf),
}

impl PasswordSource {
    pub fn read(&self) -> Result<String, Error> {
        match self {
            PasswordSource::Env(var) => std::env::var(var)
                .map_err(|_| Error::usage(format!("environment variable {var} (the login password) is not set"))),
            PasswordSource::File(path) => std::fs::read_to_string(path)
                .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
                .map_err(|e| Error::io(format!("cannot read the login password from {}", path.display()), e)),
        }
    }
}

/// A user name and password to log in with.
#[derive(Clone)]
pub struct Login {
    pub user: String,
    pub password: String,
}

/// `host:port` → (host, port), with an error that says what is wrong.
pub fn parse_address(addr: &str) -> Result<(String, u32), Error> {
    let (host, port) = addr.rsplit_once(':').ok_or_else(|| {
        Error::usage(format!("`{addr}` is not an address: write it as HOST:PORT, e.g. 127.0.0.1:6379"))
    })?;
    let port: u32 = port
        .parse()
        .ok()
        .filter(|p| (1..=65535).contains(p))
        .ok_or_else(|| Error::usage(format!("`{addr}`: the port must be a number from 1 to 65535")))?;
    if host.is_empty() {
        return Err(Error::usage(format!("`{addr}`: the host is missing")));
    }
    Ok((host.trim_start_matches('[').trim_end_matches(']').to_string(), port))
}

/// A connection to `host:port` logged in as `login`, with errors that name the address.
pub fn open(host: &str, port: u32, login: Option<&Login>) -> Result<redis::Connection, Error> {
    open_tls(&Tls::default(), host, port, login)
}

/// `open`, over TLS when `tls.enabled` (its CA file, and its certificate as the client's).
pub fn open_tls(tls: &Tls, host: &str, port: u32, login: Option<&Login>) -> Result<redis::Connection, Error> {
    let timeouts = crate::client::Timeouts { connect: Duration::from_secs(2), command: Duration::from_secs(5) };
    let login = login.map(|l| (l.user.as_str(), l.password.as_str()));
    crate::client::open(tls, host, port, login, timeouts)
        .map_err(|e| Error::msg(format!("{host}:{port}: {}", crate::client::explain(&e))))
}

/// Run one command; the error names the address and the command (commands here carry no secret).
pub fn query<T: redis::FromRedisValue>(con: &mut redis::Connection, at: &str, words: &[&str]) -> Result<T, Error> {
    let mut cmd = redis::cmd(words[0]);
    for w in &words[1..] {
        cmd.arg(*w);
    }
    cmd.query(con).map_err(|e| Error::msg(format!("{at}: {} failed: {}", words.join(" "), crate::client::explain(&e))))
}

/// `INFO` section text → field → value.
pub fn fields(text: &str) -> std::collections::BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked() {
        assert_eq!(parse_address("127.0.0.1:6379").unwrap(), ("127.0.0.1".into(), 6379));
        assert_eq!(parse_address("[::1]:7000").unwrap(), ("::1".into(), 7000));
        for bad in ["127.0.0.1", ":6379", "h:0", "h:70000", "h:x"] {
            assert!(parse_address(bad).is_err(), "{bad}");
        }
    }
}
