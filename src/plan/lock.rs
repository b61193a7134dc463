//! One apply at a time per environment: a lock file created exclusively, holding who holds
//! it. A lock left by a process that no longer exists on this host is stale and is taken over.

use std::io::Write;
use std::path::{Path, PathBuf};
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
    path: PathBuf,
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

fn alive(pid: u32) -> bool {
    // Linux: a live process has /proc/<pid>. Elsewhere we cannot tell, so assume it lives.
    if Path::new("/proc/self").exists() {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
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
        loop {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    let body = serde_json::to_vec(&me).map_err(Error::msg)?;
                    f.write_all(&body)
                        .and_then(|_| f.sync_all())
                        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
                    return Ok(Lock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder: Option<Holder> =
                        std::fs::read(&path).ok().and_then(|b| serde_json::from_slice(&b).ok());
                    match holder {
                        Some(h) if h.host == me.host && !alive(h.pid) => {
                            eprintln!(
                                "warning: removing a stale lock left by pid {} ({}), which is no longer running",
                                h.pid, h.command
                            );
                            let _ = std::fs::remove_file(&path);
                            continue;
                        }
                        Some(h) if Instant::now() >= deadline => {
                            return Err(Error::msg(format!(
                                "another redisctl holds the lock {}: pid {} on {} since {} (unix time), running `{}`. \
                                 Wait for it, or pass --lock-timeout DURATION to wait longer",
                                path.display(),
                                h.pid,
                                h.host,
                                h.since,
                                h.command
                            )))
                        }
                        None if Instant::now() >= deadline => {
                            return Err(Error::msg(format!(
                                "the lock file {} exists but is unreadable; if no redisctl is running, delete it",
                                path.display()
                            )))
                        }
                        _ => std::thread::sleep(Duration::from_millis(200)),
                    }
                }
                Err(e) => return Err(Error::io(format!("cannot create {}", path.display()), e)),
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_and_stale_locks_are_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let first = Lock::acquire(dir.path(), "apply", Duration::ZERO).unwrap();
        let err = Lock::acquire(dir.path(), "apply", Duration::ZERO).unwrap_err().to_string();
        assert!(err.contains("holds the lock"), "{err}");
        drop(first);
        // A lock of a dead pid on this host is stale.
        let stale = Holder { pid: u32::MAX - 1, host: hostname(), since: 0, command: "apply".into() };
        std::fs::write(dir.path().join(LOCK_FILE), serde_json::to_vec(&stale).unwrap()).unwrap();
        let _again = Lock::acquire(dir.path(), "apply", Duration::ZERO).unwrap();
    }
}
