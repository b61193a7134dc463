//! The `target: memorystore` project of the tests, and the local Memorystore API peer
//! (tests/peers/memorystore_peer.py, checking with Google's published API description: the
//! discovery document for redis.googleapis.com, the generated client for
//! memorystore.googleapis.com) bound to 127.0.0.1 on a free port and always stopped.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::{free_port, repo_root, KillOnDrop};

pub const BASE: &str = "apiVersion: redisctl/v1
service: catalog
redis: { version: \"7.0\", workload: cache, maxmemoryPolicy: allkeys-lru }
";

/// A STANDARD_HA instance with one replica, TLS and AUTH; `extra` is appended to the overlay.
pub fn prod(extra: &str) -> String {
    format!(
        "target: memorystore
topology: {{ mode: replication, replicas: 1 }}
security: {{ tls: {{ enabled: true }} }}
policy:
  waivers:
    - {{ rule: RCTL112, reason: \"Memorystore for Redis has no ACL users: one AUTH string Google generates\" }}
gcp:
  project: shop-prod-4711
  region: europe-west1
  memorySizeGb: 5
  authString: {{ fromEnv: CATALOG_AUTH_STRING }}
  maintenanceWindow: {{ day: sunday, hour: 5 }}
{extra}"
    )
}

/// The peer: the API on `url`, its request log, the discovery revision it checks with.
pub struct Peer {
    _child: KillOnDrop,
    pub url: String,
    pub log: PathBuf,
    /// The peer's first line: the API description's id, revision or version, and path.
    pub source: String,
    _dir: tempfile::TempDir,
}

fn python() -> PathBuf {
    let path = repo_root().join(".venv-peers/bin/python3");
    assert!(path.exists(), "{} is missing: run scripts/install-test-peers.sh", path.display());
    path
}

impl Peer {
    /// Operations are done at their first poll.
    pub fn start() -> Peer {
        Peer::settling(0.0)
    }

    /// Operations are done `seconds` after they started (at a poll or any request after that).
    pub fn settling(seconds: f64) -> Peer {
        Peer::serving("redis", seconds)
    }

    /// Memorystore for Valkey (memorystore.googleapis.com); operations done at their first poll.
    pub fn valkey() -> Peer {
        Peer::serving("memorystore", 0.0)
    }

    /// The peer of one API (`redis` or `memorystore`), operations done after `seconds`.
    pub fn serving(api: &str, seconds: f64) -> Peer {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("requests.jsonl");
        let port = free_port();
        let mut child = KillOnDrop(
            Command::new(python())
                .arg(repo_root().join("tests/peers/memorystore_peer.py"))
                .args(["--api", api, "--port", &port.to_string(), "--settle", &seconds.to_string(), "--log"])
                .arg(&log)
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start the memorystore peer"),
        );
        // The peer prints one line once it listens (or exits with why it cannot).
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let source = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        assert!(source.contains(" on 127.0.0.1:"), "the memorystore peer did not start: {source:?}");
        eprintln!("{}", source.trim());
        Peer { _child: child, url: format!("http://127.0.0.1:{port}"), log, source, _dir: dir }
    }

    /// Every request the peer received so far: `{ method, path, query, body }`.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The requests that change something (not GETs).
    pub fn mutations(&self) -> Vec<serde_json::Value> {
        self.requests().into_iter().filter(|r| r["method"] != "GET").collect()
    }
}
