//! The files provider: rendered artifacts in an environment's output directory.
//!
//! Ownership rules: a file redisctl wrote is recorded in the state with its hash; a recorded
//! file that is no longer rendered is deleted; a recorded file whose content no longer has
//! the recorded hash was edited by hand (drift); a file redisctl never wrote is never touched
//! unless a rendered file of the same name replaces it, which the plan says.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::plan::state::State;
use crate::plan::{Action, Address, ApplyOptions, Outcome, Provider, ProviderPlan, ResourceChange, Shown};
use crate::redact::{redact_text, unified_diff};
use crate::render::Artifact;
use crate::util::fs::{sync_dir, write_all_atomic, write_atomic, TEMP_PREFIX};

pub const NAME: &str = "file";

pub struct FilesProvider {
    root: PathBuf,
    artifacts: Vec<Artifact>,
    consequences: Option<Consequences>,
    /// Whether a file's whole mode is part of its identity, or only what git keeps of it.
    modes: Modes,
}

/// How much of a file's mode a plan compares. Apply always writes the full mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modes {
    /// Every bit (files nobody commits: a local stack's run directory).
    Exact,
    /// The executable bit only: committed output comes back from a fresh clone as 0644/0755
    /// whatever was written, so a plan in CI must not see a change; the deploy step (`--exec`,
    /// or the fleet's own tooling) sets the modes the plan shows in each file's summary.
    Committed,
}

impl Modes {
    fn same(self, have: u32, want: u32) -> bool {
        match self {
            Modes::Exact => have == want,
            Modes::Committed => (have & 0o111 != 0) == (want & 0o111 != 0),
        }
    }
}

/// What writing a changed file does beyond the file, as its target knows it (which pods a
/// manifest rolls, an object the API server can only replace). The reason is shown with the
/// change; `replace` plans it as a replacement, which the target's `--exec` commands carry out;
/// `destroys_data` marks it destructive (an operator that recreates a database, or deletes it
/// with its manifest), refused without `--allow-destroy`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Consequence {
    pub replace: bool,
    pub destroys_data: bool,
    pub reason: String,
}

/// A target's reading of one updated file: (path, content on disk, rendered content); the
/// rendered content is empty for a file that is no longer rendered (deleted).
pub type Consequences = fn(&str, &str, &str) -> Option<Consequence>;

/// What is on disk at one path.
struct Observed {
    content: Vec<u8>,
    mode: u32,
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn address(path: &str) -> Address {
    Address::new(NAME, path)
}

/// What the state keeps of a file redisctl wrote.
#[derive(Serialize, Deserialize)]
struct FileRecord {
    /// The content redisctl last wrote; `None` while its first write is in flight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    mode: u32,
    /// The content being written, recorded before the rename: after a crash between the two
    /// the file holds one or the other, and both are redisctl's (no false "changed outside").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    writing: Option<String>,
}

impl FileRecord {
    fn written(sha256: String, mode: u32) -> FileRecord {
        FileRecord { sha256: Some(sha256), mode, writing: None }
    }

    /// Whether content with this hash is redisctl's.
    fn owns(&self, hash: &str) -> bool {
        self.sha256.as_deref() == Some(hash) || self.writing.as_deref() == Some(hash)
    }
}

impl FilesProvider {
    pub fn new(root: PathBuf, artifacts: Vec<Artifact>) -> Self {
        FilesProvider { root, artifacts, consequences: None, modes: Modes::Exact }
    }

    pub fn comparing_modes(self, modes: Modes) -> Self {
        FilesProvider { modes, ..self }
    }

    /// The provider, with the target's reading of what an updated file does.
    pub fn with_consequences(self, consequences: Option<Consequences>) -> Self {
        FilesProvider { consequences, ..self }
    }

    /// The path of a rendered file. Every directory between the output directory and the file
    /// must be a real directory: a symlinked one would make redisctl read and write outside
    /// the output directory (the output directory itself may be a link).
    fn full(&self, rel: &str) -> Result<PathBuf, Error> {
        let mut at = self.root.clone();
        let parts: Vec<&str> = rel.split('/').collect();
        for dir in &parts[..parts.len().saturating_sub(1)] {
            at.push(dir);
            match std::fs::symlink_metadata(&at) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(Error::msg(format!(
                        "{} is a symbolic link: redisctl writes only inside the output directory {} and follows no \
                         link below it; replace the link with a directory",
                        at.display(),
                        self.root.display()
                    )))
                }
                Ok(m) if !m.is_dir() => {
                    return Err(Error::msg(format!(
                        "{} is not a directory; redisctl will not replace it",
                        at.display()
                    )))
                }
                _ => {}
            }
        }
        Ok(self.root.join(rel))
    }

    fn observe(path: &Path) -> Result<Option<Observed>, Error> {
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(format!("cannot inspect {}", path.display()), e)),
        };
        if !meta.is_file() {
            return Err(Error::msg(format!(
                "{} is not a regular file (a directory or a symlink); redisctl will not replace it",
                path.display()
            )));
        }
        let content = std::fs::read(path).map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        #[cfg(unix)]
        let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777;
        #[cfg(not(unix))]
        let mode = 0o644;
        Ok(Some(Observed { content, mode }))
    }

    /// The artifact a planned write puts in place and its hash, after checking it is still what
    /// the plan showed; the state records the write as under way (`writing`).
    fn about_to_write(&self, change: &ResourceChange, state: &mut State) -> Result<(Artifact, String), Error> {
        let rel = change.address.path();
        let a = self
            .artifacts
            .iter()
            .find(|a| a.path == rel)
            .ok_or_else(|| Error::msg(format!("{} is in the plan but no longer rendered", change.address)))?;
        let hash = sha256(a.content.as_bytes());
        if change.expect.as_deref() != Some(hash.as_str()) {
            return Err(Error::msg(format!(
                "the rendered content of {} differs from the plan; plan again",
                change.address
            )));
        }
        let mut record =
            Self::recorded(state, &change.address)?.unwrap_or(FileRecord { sha256: None, mode: a.mode, writing: None });
        record.writing = Some(hash.clone());
        state.put(&change.address, &record)?;
        Ok((a.clone(), hash))
    }

    fn recorded(state: &State, address: &Address) -> Result<Option<FileRecord>, Error> {
        state.record::<FileRecord>(address)
    }

    /// Remove the temporary files of writes an interrupted apply did not finish (a crash
    /// between creating and renaming one). Only under the apply lock: no write is in flight.
    fn remove_leftovers(&self) {
        let mut dirs: Vec<PathBuf> = vec![self.root.clone()];
        for a in &self.artifacts {
            if let Some(dir) = self.root.join(&a.path).parent() {
                if !dirs.iter().any(|d| d == dir) {
                    dirs.push(dir.to_path_buf());
                }
            }
        }
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for e in entries.flatten() {
                let leftover = e.file_name().to_str().is_some_and(|n| n.starts_with(TEMP_PREFIX));
                if leftover && e.file_type().is_ok_and(|t| t.is_file()) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
}

fn summary(content: &[u8], mode: u32) -> Shown {
    Shown::Value(json!({ "sha256": sha256(content), "mode": format!("{mode:04o}"), "bytes": content.len() }))
}

impl Provider for FilesProvider {
    fn name(&self) -> &'static str {
        NAME
    }

    fn plan(&mut self, state: &State) -> Result<ProviderPlan, Error> {
        let mut changes = Vec::new();
        let mut observed_lines = Vec::new();
        for a in &self.artifacts {
            let addr = address(&a.path);
            let current = Self::observe(&self.full(&a.path)?)?;
            let recorded = Self::recorded(state, &addr)?;
            let want = a.content.as_bytes();
            let mut change = ResourceChange::new(NAME, addr.clone(), Action::NoOp);
            change.expect = Some(sha256(want));
            change.after = Some(summary(want, a.mode));
            match &current {
                None => {
                    observed_lines.push(format!("{addr} absent"));
                    change.action = Action::Create;
                    if recorded.is_some_and(|r| r.sha256.is_some()) {
                        change.flags.drift = true;
                        change.reason = Some("deleted outside redisctl".into());
                    }
                    let (text, n) = redact_text(&a.path, &a.content);
                    change.diff = Some(unified_diff(&a.path, "", &text));
                    change.redacted = n;
                }
                Some(obs) => {
                    let have = sha256(&obs.content);
                    observed_lines.push(format!("{addr} {have} {:o}", obs.mode));
                    change.before = Some(summary(&obs.content, obs.mode));
                    if obs.content != want || !self.modes.same(obs.mode, a.mode) {
                        change.action = Action::Update;
                        match recorded {
                            Some(r) if !r.owns(&have) && r.sha256.is_some() => {
                                change.flags.drift = true;
                                change.reason = Some("changed outside redisctl".into());
                            }
                            Some(r) if r.owns(&have) => {}
                            _ => {
                                change.reason =
                                    Some("exists but was not written by redisctl; it will be replaced".into())
                            }
                        }
                        let on_disk = String::from_utf8_lossy(&obs.content);
                        if let Some(c) = self.consequences.and_then(|f| f(&a.path, &on_disk, &a.content)) {
                            if c.replace {
                                change.action = Action::Replace;
                            }
                            change.flags.destructive |= c.destroys_data;
                            change.reason = Some(match change.reason.take() {
                                Some(r) => format!("{r}; {}", c.reason),
                                None => c.reason,
                            });
                        }
                        let (old, n1) = redact_text(&a.path, &on_disk);
                        let (new, n2) = redact_text(&a.path, &a.content);
                        change.redacted = n1 + n2;
                        change.diff = Some(if old == new && obs.content != want {
                            "(sensitive, changed)\n".to_string()
                        } else if old == new {
                            format!("mode {:04o} → {:04o}\n", obs.mode, a.mode)
                        } else {
                            unified_diff(&a.path, &old, &new)
                        });
                    }
                }
            }
            changes.push(change);
        }
        // Files recorded at the last apply that are no longer rendered.
        let rendered: Vec<Address> = self.artifacts.iter().map(|a| address(&a.path)).collect();
        for addr in state.addresses(NAME).filter(|a| !rendered.contains(a)) {
            let rel = addr.path();
            let Some(obs) = Self::observe(&self.full(rel)?)? else {
                continue; // already gone: `finish` forgets it
            };
            let have = sha256(&obs.content);
            observed_lines.push(format!("{addr} {have} {:o}", obs.mode));
            let mut change = ResourceChange::new(NAME, addr.clone(), Action::Delete);
            change.before = Some(summary(&obs.content, obs.mode));
            change.expect = Some(have.clone());
            change.reason = Some("no longer rendered from the contract".into());
            if Self::recorded(state, addr)?.is_some_and(|r| !r.owns(&have)) {
                change.flags.drift = true;
                change.reason = Some("no longer rendered, and changed outside redisctl since the last apply".into());
            }
            let on_disk = String::from_utf8_lossy(&obs.content);
            if let Some(c) = self.consequences.and_then(|f| f(rel, &on_disk, "")).filter(|c| c.destroys_data) {
                change.flags.destructive = true;
                change.reason = Some(format!("{}; {}", change.reason.take().unwrap_or_default(), c.reason));
            }
            let (old, n) = redact_text(rel, &on_disk);
            change.diff = Some(unified_diff(rel, &old, ""));
            change.redacted = n;
            changes.push(change);
        }
        observed_lines.sort();
        Ok(ProviderPlan { changes, observed: sha256(observed_lines.join("\n").as_bytes()) })
    }

    fn apply(&mut self, change: &ResourceChange, state: &mut State, _opts: &ApplyOptions) -> Result<Outcome, Error> {
        let rel = change.address.path().to_string();
        let path = self.full(&rel)?;
        match change.action {
            Action::Create | Action::Update | Action::Replace => {
                let (a, hash) = self.about_to_write(change, state)?;
                state.save()?;
                write_atomic(&path, a.content.as_bytes(), a.mode)?;
                state.put(&change.address, &FileRecord::written(hash, a.mode))?;
            }
            Action::Delete => {
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io(format!("cannot delete {}", path.display()), e)),
                }
                if let Some(dir) = path.parent() {
                    sync_dir(dir);
                }
                state.remove(&change.address);
            }
            Action::NoOp => {}
        }
        Ok(Outcome::Applied)
    }

    /// Writes only (deletes go one by one): every file is announced in the state, which is
    /// saved once, then all are written as one batch (`write_all_atomic`: each file old or new
    /// after a crash, and the state names both hashes meanwhile).
    fn apply_batch(
        &mut self,
        changes: &[&ResourceChange],
        state: &mut State,
        _opts: &ApplyOptions,
    ) -> Option<Result<(), Error>> {
        let writes = |c: &&ResourceChange| matches!(c.action, Action::Create | Action::Update | Action::Replace);
        if !changes.iter().all(writes) {
            return None;
        }
        let mut batch = || -> Result<(), Error> {
            let mut files = Vec::new();
            for change in changes {
                let (a, hash) = self.about_to_write(change, state)?;
                files.push((change, self.full(&a.path)?, a, hash));
            }
            state.save()?;
            write_all_atomic(files.iter().map(|(_, path, a, _)| (path.clone(), a.content.as_bytes(), a.mode)))?;
            for (change, _, a, hash) in files {
                state.put(&change.address, &FileRecord::written(hash, a.mode))?;
            }
            Ok(())
        };
        Some(batch())
    }

    fn finish(&mut self, state: &mut State) -> Result<(), Error> {
        // Record rendered files that already had the right content (no-op), and forget
        // recorded files that no longer exist and are no longer rendered.
        self.remove_leftovers();
        for a in &self.artifacts {
            let addr = address(&a.path);
            if let Some(obs) = Self::observe(&self.full(&a.path)?)? {
                if obs.content == a.content.as_bytes() {
                    state.put(&addr, &FileRecord::written(sha256(&obs.content), obs.mode))?;
                }
            }
        }
        let rendered: Vec<Address> = self.artifacts.iter().map(|a| address(&a.path)).collect();
        let gone: Vec<Address> = state
            .addresses(NAME)
            .filter(|a| !rendered.contains(a) && self.full(a.path()).is_ok_and(|p| !p.exists()))
            .cloned()
            .collect();
        for a in gone {
            state.remove(&a);
        }
        Ok(())
    }
}
