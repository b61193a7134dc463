//! One apply at a time per environment: an OS lock (`flock`) on a lock file that also names
//! its holder. The kernel releases the lock when its holder exits, however it exits, so a dead
//! holder's lock is simply free: no stale-lock takeover, and no window in which two processes
//! both believe they took it over. The file is never deleted (a process waiting on the old
//! inode while another creates a new one would give two holders); an empty file is a free lock.

use std::fs::{File, TryLockError};
use std::io::{Seek, Write};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::Error;

pub const LOCK_FILE: &str = ".redisctl.lock";

#[derive(Debug, Serialize, Deserialize)]
struct Holder {
    pid: u32,
    host: String,
    /// Seconds since the Unix epoch.
    since: u64,
    command: String,
}

/// Held until dropped.
#[derive(Debug)]
pub struct Lock {
    file: File,
}

/// This machine's name, for lock holders.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

impl Lock {
    /// Take the lock in `dir`, waiting up to `timeout` for another apply to finish.
    pub fn acquire(dir: &Path, command: &str, timeout: Duration) -> Result<Lock, Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        let path = dir.join(LOCK_FILE);
        let deadline = Instant::now() + timeout;
        let me = Holder {
            pid: std::process::id(),
            host: hostname(),
            since: SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
            command: command.into(),
        };
        let mut open = std::fs::OpenOptions::new();
        open.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
        let mut file = open.open(&path).map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                Err(TryLockError::WouldBlock) => {
                    let holder: Option<Holder> =
                        std::fs::read(&path).ok().and_then(|b| serde_json::from_slice(&b).ok());
                    let who = match holder {
                        Some(h) => format!(
                            "pid {} on {} since {} (unix time), running `{}`",
                            h.pid, h.host, h.since, h.command
                        ),
                        // Locked but not yet named: its holder is writing its name right now.
                        None => "a process that is taking it right now".to_string(),
                    };
                    return Err(Error::msg(format!(
                        "another redisctl holds the lock {}: {who}. Wait for it, or pass --lock-timeout DURATION to \
                         wait longer",
                        path.display()
                    )));
                }
                Err(TryLockError::Error(e)) => {
                    return Err(Error::io(format!("cannot lock {}", path.display()), e));
                }
            }
        }
        // Ours now. A name left in the file is a holder that exited without clearing it.
        let left: Option<Holder> = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice(&b).ok());
        if let Some(h) = left {
            tracing::info!("note: the lock was last held by pid {} ({}), which has exited", h.pid, h.command);
        }
        let body = serde_json::to_vec(&me).map_err(Error::msg)?;
        file.set_len(0)
            .and_then(|_| file.rewind())
            .and_then(|_| file.write_all(&body))
            .and_then(|_| file.sync_all())
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
        Ok(Lock { file })
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Clear the holder's name, then the kernel lock goes with the file handle.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_and_a_dead_holders_lock_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let first = Lock::acquire(dir.path(), "apply", Duration::ZERO).unwrap();
        let err = Lock::acquire(dir.path(), "apply --env dev", Duration::ZERO).unwrap_err().to_string();
        assert!(err.contains("holds the lock") && err.contains("running `apply`"), "{err}");
        drop(first);
        assert_eq!(std::fs::read(dir.path().join(LOCK_FILE)).unwrap(), b"", "a free lock names nobody");
        // A name left by a holder that died (its kernel lock went with it) does not block.
        let dead = Holder { pid: u32::MAX - 1, host: hostname(), since: 0, command: "apply".into() };
        std::fs::write(dir.path().join(LOCK_FILE), serde_json::to_vec(&dead).unwrap()).unwrap();
        let _again = Lock::acquire(dir.path(), "apply", Duration::ZERO).unwrap();
    }
}
