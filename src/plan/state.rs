//! Ownership state: what redisctl wrote at the last apply, one record per resource address.
//!
//! By default it lives in the environment's output directory (`.redisctl-state.json`), so it
//! travels with committed GitOps output and a plan in CI sees the same ownership as the laptop
//! that applied. A team that applies one environment from several machines keeps it in S3
//! instead (`state.backend: s3`): where it lives is a `Store`, chosen by the pipeline. It never
//! holds secrets: providers store hashes and metadata only.
//!
//! Each provider keeps its own typed record per address (`record`/`put`); the document is JSON
//! so it reviews and merges like the rest of the output. Every save is conditional on the
//! version that was read: two writers that read the same version cannot both win.
//!
//! Format history: 1 also held the contract's fingerprint, which changed with every contract
//! change and made two pull requests on one environment conflict; 2 drops it (a format-1
//! file is read as is, and written back as 2).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::Address;
use crate::error::Error;
use crate::util::fs::write_atomic;

pub const STATE_FILE: &str = ".redisctl-state.json";
const FORMAT_VERSION: u32 = 2;

/// A version of the stored state (an S3 ETag, a SHA-256 of a local file).
pub type Version = String;

/// A held lock: released when dropped.
pub type Held = Box<dyn std::any::Any>;

/// Where an environment's state and lock live.
pub trait Store {
    /// Where, for messages: `deploy/prod/.redisctl-state.json`, `s3://bucket/key`.
    fn describe(&self) -> String;
    /// The stored bytes and their version; `None` when nothing was saved yet.
    fn read(&self) -> Result<Option<(Vec<u8>, Version)>, Error>;
    /// Store `bytes` if what is stored is still `expected` (`None`: nothing); the new version.
    /// Anything else is an error naming the conflict: nothing is overwritten.
    fn write(&self, bytes: &[u8], expected: Option<&Version>) -> Result<Version, Error>;
    /// Remove the stored state if it is still `expected` (after a migration).
    fn remove(&self, expected: &Version) -> Result<(), Error>;
    /// Take the environment's lock for `command`, waiting up to `timeout` for its holder.
    fn lock(&self, command: &str, timeout: Duration) -> Result<Held, Error>;
    /// Break the lock `id` left by a holder that is gone; what was released, for the user.
    fn force_unlock(&self, id: &str) -> Result<String, Error>;
}

/// The default store: a file and an OS lock in the output directory.
pub struct LocalStore {
    dir: PathBuf,
}

impl LocalStore {
    pub fn new(dir: &Path) -> LocalStore {
        LocalStore { dir: dir.to_path_buf() }
    }

    fn path(&self) -> PathBuf {
        State::path_in(&self.dir)
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Store for LocalStore {
    fn describe(&self) -> String {
        self.path().display().to_string()
    }

    fn read(&self) -> Result<Option<(Vec<u8>, Version)>, Error> {
        let path = self.path();
        match std::fs::read(&path) {
            Ok(bytes) => {
                let version = sha256_hex(&bytes);
                Ok(Some((bytes, version)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(format!("cannot read {}", path.display()), e)),
        }
    }

    fn write(&self, bytes: &[u8], expected: Option<&Version>) -> Result<Version, Error> {
        // The OS lock keeps applies apart; this catches a hand edit or a second tool meanwhile.
        let now = self.read()?.map(|(_, v)| v);
        if now.as_ref() != expected {
            return Err(conflict(&self.describe()));
        }
        write_atomic(&self.path(), bytes, 0o600)?;
        Ok(sha256_hex(bytes))
    }

    fn remove(&self, expected: &Version) -> Result<(), Error> {
        if self.read()?.map(|(_, v)| v).as_ref() != Some(expected) {
            return Err(conflict(&self.describe()));
        }
        let path = self.path();
        std::fs::remove_file(&path).map_err(|e| Error::io(format!("cannot remove {}", path.display()), e))
    }

    fn lock(&self, command: &str, timeout: Duration) -> Result<Held, Error> {
        Ok(Box::new(super::lock::Lock::acquire(&self.dir, command, timeout)?))
    }

    fn force_unlock(&self, _id: &str) -> Result<String, Error> {
        // An OS lock cannot outlive its holder, so there is nothing stale to break; taking it
        // from a live holder would let two applies run.
        match super::lock::Lock::acquire(&self.dir, "force-unlock", Duration::ZERO) {
            Ok(_free) => Ok(format!("the lock in {} is not held: nothing to unlock", self.dir.display())),
            Err(e) => Err(Error::msg(format!(
                "{e}\nA local lock is the OS's: it is released the moment its holder exits, so it is never stale. \
                 Stop that process instead."
            ))),
        }
    }
}

/// A save that lost a race: another writer stored a newer state since this one was read.
pub fn conflict(place: &str) -> Error {
    Error::msg(format!(
        "the state in {place} changed since this run read it: another redisctl saved it meanwhile (or it was \
         edited). Nothing was overwritten; plan again to see what it holds now"
    ))
}

#[derive(Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub format_version: u32,
    pub environment: String,
    #[serde(default)]
    resources: BTreeMap<Address, serde_json::Value>,
    /// Where it is saved, and the version read or last saved there.
    #[serde(skip)]
    store: Option<Arc<dyn Store>>,
    #[serde(skip)]
    version: Option<Version>,
    /// The bytes stored at `version`: a save that would write them again is skipped (an apply
    /// saves after every change, and most changes of live settings record nothing).
    #[serde(skip)]
    stored: Option<Vec<u8>>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("environment", &self.environment)
            .field("resources", &self.resources)
            .field("store", &self.store.as_ref().map(|s| s.describe()))
            .finish()
    }
}

impl PartialEq for State {
    fn eq(&self, other: &State) -> bool {
        (self.format_version, &self.environment, &self.resources)
            == (other.format_version, &other.environment, &other.resources)
    }
}

impl State {
    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join(STATE_FILE)
    }

    /// An empty state of `env` (nothing applied yet), saved to `store`.
    pub fn empty(store: Arc<dyn Store>, env: &str) -> State {
        State {
            format_version: FORMAT_VERSION,
            environment: env.into(),
            resources: BTreeMap::new(),
            store: Some(store),
            version: None,
            stored: None,
        }
    }

    /// Read the state of `env` from the local store in `dir`.
    pub fn load(dir: &Path, env: &str) -> Result<State, Error> {
        State::load_from(Arc::new(LocalStore::new(dir)), env)
    }

    /// Read the state of `env` from `store`; an empty state when there is none yet.
    pub fn load_from(store: Arc<dyn Store>, env: &str) -> Result<State, Error> {
        let place = store.describe();
        let Some((bytes, version)) = store.read()? else {
            return Ok(State::empty(store, env));
        };
        let mut state = serde_json::from_slice::<State>(&bytes).map_err(|e| {
            Error::msg(format!(
                "state {place} is unreadable: {e}; restore it from version control (or the bucket's versions) or \
                 delete it to start over"
            ))
        })?;
        if state.format_version > FORMAT_VERSION {
            return Err(Error::msg(format!(
                "state {place} was written by a newer redisctl (format {}; this one writes {FORMAT_VERSION})",
                state.format_version
            )));
        }
        if state.environment != env {
            return Err(Error::msg(format!(
                "state {place} belongs to environment `{}`, not `{env}`: two environments share one state location",
                state.environment
            )));
        }
        state.format_version = FORMAT_VERSION;
        state.store = Some(store);
        state.version = Some(version);
        state.stored = Some(bytes);
        Ok(state)
    }

    /// Where the state is kept, for messages.
    pub fn place(&self) -> String {
        self.store.as_ref().map_or_else(|| "(nowhere)".into(), |s| s.describe())
    }

    /// The version read or last saved (`None`: nothing stored yet).
    pub fn version(&self) -> Option<&Version> {
        self.version.as_ref()
    }

    /// The document as it is stored.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut text = serde_json::to_string_pretty(self).map_err(Error::msg)?;
        text.push('\n');
        Ok(text.into_bytes())
    }

    /// Save, if what is stored is still what this state was read from; called after every
    /// applied change, so a crash loses nothing.
    pub fn save(&mut self) -> Result<(), Error> {
        let store = self.store.clone().ok_or_else(|| Error::msg("this state has no store to save to"))?;
        let bytes = self.to_bytes()?;
        if self.version.is_some() && self.stored.as_ref() == Some(&bytes) {
            return Ok(());
        }
        self.version = Some(store.write(&bytes, self.version.as_ref())?);
        self.stored = Some(bytes);
        Ok(())
    }

    /// The same records, to be saved to `store` over what is stored there at `version` (a
    /// migration; `None`: nothing is).
    pub fn moved_to(&self, store: Arc<dyn Store>, version: Option<Version>) -> State {
        State { store: Some(store), version, stored: None, ..self.clone() }
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// The record a provider keeps for `address`; `None` when there is none, an error naming
    /// the address when it is not what the provider writes (edited by hand, or a bug).
    pub fn record<T: DeserializeOwned>(&self, address: &Address) -> Result<Option<T>, Error> {
        let Some(value) = self.resources.get(address) else { return Ok(None) };
        serde_json::from_value(value.clone()).map(Some).map_err(|e| {
            Error::msg(format!(
                "the state record of {address} in {} is unreadable: {e}; restore the file from version control",
                self.place()
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
        let mut state = State::load(dir.path(), "dev").unwrap();
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
        let mut state = State::empty(Arc::new(LocalStore::new(dir.path())), "dev");
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

    #[test]
    fn two_writers_of_the_same_version_cannot_both_win() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = State::load(dir.path(), "dev").unwrap();
        let mut second = State::load(dir.path(), "dev").unwrap();
        first.put(&Address::new("file", "a"), &1).unwrap();
        first.save().unwrap();
        second.put(&Address::new("file", "b"), &2).unwrap();
        let err = second.save().unwrap_err().to_string();
        assert!(err.contains("changed since this run read it"), "{err}");
        // The winner keeps saving on top of its own writes.
        first.put(&Address::new("file", "c"), &3).unwrap();
        first.save().unwrap();
        let again = State::load(dir.path(), "dev").unwrap();
        assert!(again.has(&Address::new("file", "c")) && !again.has(&Address::new("file", "b")));
    }
}
