//! Where a local stack's files live: one folder per member under the run directory, holding
//! its rendered config, the runtime copy redis-server actually runs (Redis and Sentinel
//! rewrite it), its pid file, log and data; the ACL files next to the folders. The process
//! target renders into this layout (`Layout` gives its relative paths) and the stack runs
//! from it, so it is written down once, here.

use std::path::{Path, PathBuf};

use super::Kind;

/// The ACL file every node loads, relative to the run directory.
pub const ACL_FILE: &str = "users.acl";
/// The Sentinels' own ACL file, relative to the run directory.
pub const SENTINEL_ACL_FILE: &str = "sentinel-users.acl";
/// A cluster node's identity file, in its member directory.
pub const CLUSTER_CONFIG_FILE: &str = "nodes.conf";
/// File name of the runtime copy of a member's config, in its member directory.
pub const RUNTIME_CONF: &str = "runtime.conf";

impl Kind {
    /// The kind of a member by its name (`sentinel-0`, `node-2`).
    pub fn of(name: &str) -> Kind {
        if name.starts_with("sentinel") {
            Kind::Sentinel
        } else {
            Kind::Redis
        }
    }

    /// `redis.conf` or `sentinel.conf`.
    pub fn config_file(self) -> String {
        format!("{}.conf", self.stem())
    }

    pub fn pid_file(self) -> String {
        format!("{}.pid", self.stem())
    }

    pub fn log_file(self) -> String {
        format!("{}.log", self.stem())
    }

    /// The ACL file a member of this kind loads, relative to the run directory.
    pub fn acl_file(self) -> &'static str {
        match self {
            Kind::Redis => ACL_FILE,
            Kind::Sentinel => SENTINEL_ACL_FILE,
        }
    }
}

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
        self.member_dir(name).join(kind.config_file())
    }

    /// The copy the process runs and rewrites (`CONFIG REWRITE`, Sentinel state).
    pub fn runtime_config(&self, name: &str) -> PathBuf {
        self.member_dir(name).join(RUNTIME_CONF)
    }

    pub fn pid_file(&self, name: &str, kind: Kind) -> PathBuf {
        self.member_dir(name).join(kind.pid_file())
    }

    pub fn log_file(&self, name: &str, kind: Kind) -> PathBuf {
        self.member_dir(name).join(kind.log_file())
    }

    /// The ACL file every node loads.
    pub fn acl_file(&self) -> PathBuf {
        self.root.join(ACL_FILE)
    }
}
