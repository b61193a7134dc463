//! Ownership state: what redisctl wrote at the last apply, one record per resource address.
//!
//! It lives in the environment's output directory (`.redisctl-state.json`), so it travels
//! with committed GitOps output and a plan in CI sees the same ownership as the laptop that
//! applied. It never holds secrets: providers store hashes and metadata only.
//!
//! Each provider keeps its own typed record per address (`record`/`put`); the file is JSON so
//! it reviews and merges like the rest of the output.
//!
//! Format history: 1 also held the contract's fingerprint, which changed with every contract
//! change and made two pull requests on one environment conflict; 2 drops it (a format-1
//! file is read as is, and written back as 2).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::Address;
use crate::error::Error;
use crate::util::fs::write_atomic;

pub const STATE_FILE: &str = ".redisctl-state.json";
const FORMAT_VERSION: u32 = 2;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct State {
    pub format_version: u32,
    pub environment: String,
    #[serde(default)]
    resources: BTreeMap<Address, serde_json::Value>,
    #[serde(skip)]
    path: PathBuf,
}

impl State {
    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join(STATE_FILE)
    }

    /// An empty state of `env` (nothing applied yet), saved to `dir`.
    pub fn empty(dir: &Path, env: &str) -> State {
        State {
            format_version: FORMAT_VERSION,
            environment: env.into(),
            resources: BTreeMap::new(),
            path: State::path_in(dir),
        }
    }

    /// Read the state of `env` from `dir`; an empty state when there is none yet.
    pub fn load(dir: &Path, env: &str) -> Result<State, Error> {
        let path = State::path_in(dir);
        let mut state = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice::<State>(&bytes).map_err(|e| {
                Error::msg(format!(
                    "state file {} is unreadable: {e}; restore it from version control or delete it to start over",
                    path.display()
                ))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::empty(dir, env)),
            Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
        };
        if state.format_version > FORMAT_VERSION {
            return Err(Error::msg(format!(
                "state file {} was written by a newer redisctl (format {}; this one writes {FORMAT_VERSION})",
                path.display(),
                state.format_version
            )));
        }
        if state.environment != env {
            return Err(Error::msg(format!(
                "state file {} belongs to environment `{}`, not `{env}`: two environments share an output directory",
                path.display(),
                state.environment
            )));
        }
        state.format_version = FORMAT_VERSION;
        state.path = path;
        Ok(state)
    }

    /// Write the state atomically; called after every applied change, so a crash loses nothing.
    pub fn save(&self) -> Result<(), Error> {
        let mut text = serde_json::to_string_pretty(self).map_err(Error::msg)?;
        text.push('\n');
        write_atomic(&self.path, text.as_bytes(), 0o600)
    }

    /// The record a provider keeps for `address`; `None` when there is none, an error naming
    /// the address when it is not what the provider writes (edited by hand, or a bug).
    pub fn record<T: DeserializeOwned>(&self, address: &Address) -> Result<Option<T>, Error> {
        let Some(value) = self.resources.get(address) else { return Ok(None) };
        serde_json::from_value(value.clone()).map(Some).map_err(|e| {
            Error::msg(format!(
                "the state record of {address} in {} is unreadable: {e}; restore the file from version control",
                self.path.display()
            ))
        })
    }

    pub fn put<T: Serialize + ?Sized>(&mut self, address: &Address, record: &T) -> Result<(), Error> {
        let value = serde_json::to_value(record).map_err(Error::msg)?;
        self.resources.insert(address.clone(), value);
        Ok(())
    }

    pub fn has(&self, address: &Address) -> bool {
        self.resources.contains_key(address)
    }

    pub fn remove(&mut self, address: &Address) {
        self.resources.remove(address);
    }

    /// The addresses of one kind with a record (`file`, `cluster`, ...).
    pub fn addresses<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Address> + 'a {
        self.resources.keys().filter(move |a| a.is(kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_format_1_state_is_read_and_written_back_as_2_without_the_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let v1 = r#"{"format_version":1,"environment":"dev","contract_fingerprint":"abc",
                     "resources":{"file:node-0/redis.conf":{"sha256":"00","mode":420}}}"#;
        std::fs::write(State::path_in(dir.path()), v1).unwrap();
        let state = State::load(dir.path(), "dev").unwrap();
        let file = Address::new("file", "node-0/redis.conf");
        let record: serde_json::Value = state.record(&file).unwrap().unwrap();
        assert_eq!(record["sha256"], "00");
        state.save().unwrap();
        let text = std::fs::read_to_string(State::path_in(dir.path())).unwrap();
        assert!(text.contains("\"format_version\": 2") && !text.contains("fingerprint"), "{text}");
        assert!(State::load(dir.path(), "prod").is_err());

        std::fs::write(State::path_in(dir.path()), r#"{"format_version":3,"environment":"dev"}"#).unwrap();
        assert!(State::load(dir.path(), "dev").unwrap_err().to_string().contains("newer redisctl"));
    }

    #[test]
    fn a_record_that_is_not_what_the_provider_writes_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = State::empty(dir.path(), "dev");
        let a = Address::new("file", "x");
        state.put(&a, &"not a record").unwrap();
        #[derive(Deserialize, Debug)]
        struct Rec {
            #[allow(dead_code)]
            sha256: String,
        }
        let err = state.record::<Rec>(&a).unwrap_err().to_string();
        assert!(err.contains("file:x"), "{err}");
    }
}
