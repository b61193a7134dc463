//! Where a local stack's files live. Mirrors `render::process_flavor`: one folder per member
//! under the run directory, holding its rendered config, the runtime copy redis-server actually
//! runs (Redis and Sentinel rewrite it), its pid file, log and data.

use std::path::{Path, PathBuf};

use super::Kind;

#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    pub fn new(root: impl Into<PathBuf>) -> RunDir {
        RunDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<run_dir>/<name>/`: the member's working directory and `dir`.
    pub fn member_dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// The rendered config: `redis.conf` or `sentinel.conf`. Never run directly.
    pub fn rendered_config(&self, name: &str, kind: Kind) -> PathBuf {
        self.member_dir(name).join(format!("{}.conf", kind.stem()))
    }

    /// The copy the process runs and rewrites (`CONFIG REWRITE`, Sentinel state).
    pub fn runtime_config(&self, name: &str) -> PathBuf {
        self.member_dir(name).join(RUNTIME_CONF)
    }

    pub fn pid_file(&self, name: &str, kind: Kind) -> PathBuf {
        self.member_dir(name).join(format!("{}.pid", kind.stem()))
    }

    pub fn log_file(&self, name: &str, kind: Kind) -> PathBuf {
        self.member_dir(name).join(format!("{}.log", kind.stem()))
    }

    /// The ACL file every node loads (`aclfile ../users.acl`).
    pub fn acl_file(&self) -> PathBuf {
        self.root.join("users.acl")
    }
}

/// File name of the runtime copy of a member's config, relative to its directory.
pub(super) const RUNTIME_CONF: &str = "runtime.conf";
