//! Crash-safe file writes: a temporary file in the same directory, fsync, rename, fsync the
//! directory. A reader (or a crash) sees either the old file or the new one, never half. Many
//! files at once (`write_all_atomic`) share their flushes.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// How the temporary files of unfinished writes begin (the next apply removes leftovers).
pub const TEMP_PREFIX: &str = ".redisctl-tmp-";

pub fn write_atomic(path: &Path, content: &[u8], mode: u32) -> Result<(), Error> {
    let tmp = temp_file(path, content, mode)?;
    tmp.as_file().sync_all().map_err(|e| Error::io(format!("cannot sync {}", path.display()), e))?;
    tmp.persist(path).map_err(|e| Error::io(format!("cannot replace {}", path.display()), e.error))?;
    sync_dir(parent(path)?);
    Ok(())
}

/// Write many files as `write_atomic` does each, with the same guarantee per file (old or new,
/// never half) but two flushes in all instead of two per file: every temporary file is written,
/// their filesystems flushed once, all renamed, and flushed once more. One `fsync` per file is
/// one journal commit each, which made a large render spend most of its time waiting.
pub fn write_all_atomic<'a>(files: impl IntoIterator<Item = (PathBuf, &'a [u8], u32)>) -> Result<(), Error> {
    let mut pending = Vec::new();
    let mut dirs = std::collections::HashSet::new();
    for (path, content, mode) in files {
        let tmp = temp_file(&path, content, mode)?;
        dirs.insert(parent(&path)?.to_path_buf());
        pending.push((tmp, path));
    }
    let filesystems = one_per_filesystem(dirs)?;
    flush_filesystems(&filesystems)?;
    for (tmp, path) in pending {
        tmp.persist(&path).map_err(|e| Error::io(format!("cannot replace {}", path.display()), e.error))?;
    }
    flush_filesystems(&filesystems)
}

/// One directory of each filesystem among `dirs`: `syncfs` flushes a whole filesystem, so one
/// call per filesystem is all a batch needs (a render of 1,000 environments has thousands of
/// directories and usually one filesystem).
fn one_per_filesystem(dirs: std::collections::HashSet<PathBuf>) -> Result<Vec<PathBuf>, Error> {
    use std::os::unix::fs::MetadataExt;
    let mut by_device = std::collections::BTreeMap::new();
    for dir in dirs {
        let meta = std::fs::metadata(&dir).map_err(|e| Error::io(format!("cannot read {}", dir.display()), e))?;
        by_device.entry(meta.dev()).or_insert(dir);
    }
    Ok(by_device.into_values().collect())
}

fn parent(path: &Path) -> Result<&Path, Error> {
    path.parent().ok_or_else(|| Error::msg(format!("{} has no parent directory", path.display())))
}

/// A temporary file beside `path` holding `content` with `mode`, not yet synced or renamed.
fn temp_file(path: &Path, content: &[u8], mode: u32) -> Result<tempfile::NamedTempFile, Error> {
    let dir = parent(path)?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)
        .map_err(|e| Error::io(format!("cannot create a temporary file in {}", dir.display()), e))?;
    tmp.write_all(content).map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io(format!("cannot set the mode of {}", path.display()), e))?;
    }
    Ok(tmp)
}

/// Flush the filesystems of `dirs` (`syncfs`: data and metadata of every file there, renames
/// included).
fn flush_filesystems(dirs: &[PathBuf]) -> Result<(), Error> {
    for dir in dirs {
        let d = std::fs::File::open(dir).map_err(|e| Error::io(format!("cannot open {}", dir.display()), e))?;
        rustix::fs::syncfs(&d).map_err(|e| Error::io(format!("cannot sync {}", dir.display()), e.into()))?;
    }
    Ok(())
}

/// Make a rename or unlink in `dir` durable. Best effort: not every filesystem supports it.
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_files_are_written_whole_with_their_modes_and_no_temporary_file_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a/one.conf");
        let b = dir.path().join("b/c/two.sh");
        std::fs::create_dir_all(a.parent().unwrap()).unwrap();
        std::fs::write(&a, "old").unwrap();
        write_all_atomic([(a.clone(), &b"new"[..], 0o600), (b.clone(), &b"#!/bin/sh\n"[..], 0o755)]).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), b"new");
        assert_eq!(std::fs::read(&b).unwrap(), b"#!/bin/sh\n");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&a).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&b).unwrap().permissions().mode() & 0o777, 0o755);
        for d in [a.parent().unwrap(), b.parent().unwrap()] {
            let left: Vec<_> = std::fs::read_dir(d).unwrap().filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
            assert!(left.iter().all(|n| !n.to_string_lossy().starts_with(TEMP_PREFIX)), "{left:?}");
        }
        // A file that cannot be written stops the batch before anything is renamed.
        let blocked = dir.path().join("a/one.conf/x");
        assert!(write_all_atomic([(b.clone(), &b"newer"[..], 0o755), (blocked, &b"x"[..], 0o644)]).is_err());
        assert_eq!(std::fs::read(&b).unwrap(), b"#!/bin/sh\n", "nothing renamed");
    }
}
