//! Ownership state: what redisctl wrote at the last apply, one entry per resource address.
//!
//! It lives in the environment's output directory (`.redisctl-state.json`), so it travels
//! with committed GitOps output and a plan in CI sees the same ownership as the laptop that
//! applied. It never holds secrets: providers store hashes and metadata only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::util::fs::write_atomic;

pub const STATE_FILE: &str = ".redisctl-state.json";
const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct State {
    pub format_version: u32,
    pub environment: String,
    /// Fingerprint of the contract at the last apply.
    #[serde(default)]
    pub contract_fingerprint: String,
    #[serde(default)]
    pub resources: BTreeMap<String, serde_json::Value>,
    #[serde(skip)]
    path: PathBuf,
}

impl State {
    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join(STATE_FILE)
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
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                State { format_version: FORMAT_VERSION, environment: env.into(), ..State::default() }
            }
            Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
        };
        if state.format_version > FORMAT_VERSION {
            return Err(Error::msg(format!(
                "state file {} was written by a newer redisctl (format {})",
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
        state.path = path;
        Ok(state)
    }

    /// Write the state atomically; called after every applied change, so a crash loses nothing.
    pub fn save(&self) -> Result<(), Error> {
        let mut text = serde_json::to_string_pretty(self).map_err(Error::msg)?;
        text.push('\n');
        write_atomic(&self.path, text.as_bytes(), 0o644)
    }

    pub fn get(&self, address: &str) -> Option<&serde_json::Value> {
        self.resources.get(address)
    }

    pub fn set(&mut self, address: &str, value: serde_json::Value) {
        self.resources.insert(address.to_string(), value);
    }

    pub fn remove(&mut self, address: &str) {
        self.resources.remove(address);
    }

    /// Addresses recorded by one provider (`<provider>:` prefix).
    pub fn addresses<'a>(&'a self, provider: &'a str) -> impl Iterator<Item = &'a String> + 'a {
        self.resources.keys().filter(move |a| a.split_once(':').is_some_and(|(p, _)| p == provider))
    }
}
