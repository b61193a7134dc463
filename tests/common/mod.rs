//! Helpers shared by the integration tests, one place per concern:
//!
//! - here: run the real binary ([`redisctl`], [`Run`]), throw-away projects ([`TempProject`]),
//!   the sample and example projects, rendered trees;
//! - [`ports`]: free 127.0.0.1 ports, single or in blocks (with cluster bus ports);
//! - [`process`]: child processes killed on drop, `redis-server` / `redis-sentinel` guards;
//! - [`resp`]: a minimal RESP2 client;
//! - fixtures of one test area, used through their module path: [`policy`] (policy, parity,
//!   review), [`targets`] (systemd / compose / kubernetes targets), [`library`] (tests that
//!   drive the library in process: loading a contract, local stacks), [`elasticache`] (the
//!   managed project of the moto tests), [`moto`] (a local moto_server and boto3 against it),
//!   [`memorystore`] (its project and the local API peer).
//!
//! Both test binaries (tests/fast, tests/peers) compile this module and use a different part of it.
#![allow(dead_code)]

pub mod elasticache;
pub mod fuzz;
pub mod library;
pub mod memorystore;
pub mod moto;
pub mod policy;
pub mod ports;
pub mod process;
pub mod resp;
pub mod stacks;
pub mod targets;

// Re-exported so tests reach them as `common::free_port`, `common::RedisServer`, ...; a crate
// that uses none of one module's items would otherwise warn.
#[allow(unused_imports)]
pub use {ports::*, process::*, resp::*};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

pub use assert_cmd::Command;

/// The repository root: the sample project (`redisctl.yaml` + `environments/`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The example projects, by directory name.
pub const EXAMPLES: [&str; 4] = ["standalone-cache", "replication-session", "sentinel-state", "cluster-3-shards"];

pub fn example_dir(name: &str) -> PathBuf {
    repo_root().join("examples").join(name)
}

/// The environments of a project: the stems of `environments/*.yaml`, sorted.
pub fn environments(project: &Path) -> Vec<String> {
    let mut envs: Vec<String> = std::fs::read_dir(project.join("environments"))
        .unwrap_or_else(|e| panic!("cannot list {}/environments: {e}", project.display()))
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".yaml").map(String::from))
        .collect();
    envs.sort();
    envs
}

/// Environment variables the sample's base contract reads its passwords from (its `local`
/// overlay reads files instead), with test values.
pub const SAMPLE_ENV_PASSWORDS: [(&str, &str); 5] = [
    ("CATALOG_REDIS_PASSWORD", "sample-app-Pw-3c1e"),
    ("CATALOG_REDIS_REPLICATION_PASSWORD", "sample-repl-Pw-77ab"),
    ("CATALOG_REDIS_SENTINEL_PASSWORD", "sample-sentinel-Pw-0f42"),
    ("CATALOG_REDIS_OPS_PASSWORD", "sample-ops-Pw-9d05"),
    ("CATALOG_REDIS_METRICS_PASSWORD", "sample-metrics-Pw-51c8"),
];

/// The binary under test, with a clean, deterministic environment: no colour, none of the
/// sample's password variables unless a test sets them, and no terminal on stdin.
pub fn redisctl() -> Command {
    Command::from_std(redisctl_std())
}

/// [`redisctl`] as a `std::process::Command`, for a test that spawns it and keeps it running.
pub fn redisctl_std() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_redisctl"));
    // Every run checks the schema for real, and no test writes to the user's cache
    // (tests/fast/validate.rs turns the schema cache on where it tests it).
    cmd.env("NO_COLOR", "1").env("REDISCTL_NO_CACHE", "1").stdin(Stdio::null());
    for (var, _) in SAMPLE_ENV_PASSWORDS {
        cmd.env_remove(var);
    }
    cmd
}

/// The binary run on the project in `dir` (`--project DIR`), from any working directory.
pub fn redisctl_on(dir: &Path) -> Command {
    let mut cmd = redisctl();
    cmd.arg("--project").arg(dir);
    cmd
}

/// The binary run inside `dir` (so diagnostics show project-relative paths such as
/// `environments/dev.yaml:3:5`).
pub fn redisctl_in(dir: &Path) -> Command {
    let mut cmd = redisctl();
    cmd.current_dir(dir);
    cmd
}

/// Captured result of one run of the binary.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Run `cmd` to completion, killed after 60 s.
    pub fn of(cmd: &mut Command) -> Run {
        Run::unbounded(cmd.timeout(Duration::from_secs(60)))
    }

    /// Run `cmd` to completion with no time limit of its own (the commands that bring whole
    /// stacks up or down, and the tests that never had one).
    pub fn unbounded(cmd: &mut Command) -> Run {
        Run::from(cmd.output().expect("run redisctl"))
    }

    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Standard output followed by standard error.
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    pub fn show(&self) -> String {
        format!("exit code: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}", self.code, self.stdout, self.stderr)
    }

    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Run {
        assert_eq!(self.code, Some(code), "unexpected exit code\n{}", self.show());
        assert!(!self.stderr.contains("panicked"), "the binary panicked\n{}", self.show());
        self
    }
}

impl From<Output> for Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// A project in a temporary directory, deleted on drop.
pub struct TempProject {
    pub dir: tempfile::TempDir,
}

impl TempProject {
    /// A project made of `(relative path, content)` pairs.
    pub fn new(files: &[(&str, &str)]) -> TempProject {
        let p = TempProject { dir: tempfile::Builder::new().prefix("redisctl-test-").tempdir().unwrap() };
        for (rel, text) in files {
            p.write(rel, text);
        }
        p
    }

    /// A copy of an existing project: its contract files and `secrets/` only (not `target/`,
    /// `.git/` or rendered output).
    pub fn copy_of(src: &Path) -> TempProject {
        let p = TempProject::new(&[]);
        std::fs::copy(src.join("redisctl.yaml"), p.path().join("redisctl.yaml")).unwrap();
        for sub in ["environments", "secrets"] {
            if src.join(sub).is_dir() {
                copy_dir(&src.join(sub), &p.path().join(sub));
            }
        }
        p
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).unwrap()
    }

    /// The binary, run inside the project.
    pub fn cmd(&self) -> Command {
        redisctl_in(self.path())
    }

    /// The binary, run on the project (`--project DIR`) from the test's working directory.
    pub fn cmd_on(&self) -> Command {
        redisctl_on(self.path())
    }

    /// Replace the top-level `ports:` block of an environment overlay (if any) by these ports.
    pub fn set_ports(&self, env: &str, redis: u16, sentinel: u16) {
        let rel = format!("environments/{env}.yaml");
        let text = self.read(&rel);
        let mut out = String::new();
        let mut skipping = false;
        for line in text.lines() {
            if line.starts_with("ports:") {
                skipping = true;
                continue;
            }
            if skipping && (line.starts_with(' ') || line.is_empty()) {
                continue;
            }
            skipping = false;
            out.push_str(line);
            out.push('\n');
        }
        out.push_str(&format!("ports:\n  redis: {redis}\n  sentinel: {sentinel}\n"));
        self.write(&rel, out);
    }
}

pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
}

/// Every file under `dir`, as (`/`-separated relative path, absolute path), sorted.
pub fn files(dir: &Path) -> Vec<(String, PathBuf)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
        for e in std::fs::read_dir(dir).expect("read dir") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).expect("prefix").to_string_lossy().replace('\\', "/");
                out.push((rel, p));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Every file under `dir`, as `relative/path` → bytes (sorted). Empty when `dir` does not exist.
pub fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                match std::fs::read(&path) {
                    Ok(bytes) => {
                        out.insert(rel, bytes);
                    }
                    // A running server's temporary file, renamed or removed since the listing.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => panic!("read {}: {e}", path.display()),
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Render `env` of `project` into `out` (which must not exist yet); panics with the
/// binary's output when it fails.
#[track_caller]
pub fn render(project: &Path, env: &str, out: &Path, envs: &[(&str, &str)]) -> Run {
    let mut cmd = redisctl();
    cmd.arg("--project").arg(project).args(["render", "--env", env, "--out"]).arg(out);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let run = Run::of(&mut cmd);
    run.assert_code(0);
    run
}

/// Poll `f` until it returns `Some`, or panic with `what` and the last observation.
#[track_caller]
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Result<T, String>) -> T {
    let start = Instant::now();
    loop {
        match f() {
            Ok(v) => return v,
            Err(last) if start.elapsed() > timeout => panic!("timed out after {timeout:?} waiting for {what}: {last}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// A CA, and a certificate for 127.0.0.1 signed by it, in `dir` (`ca.crt`, `node.crt`, `node.key`).
pub fn test_certificates(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let ca = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2"];
    openssl(dir, &[&ca[..], &["-subj", "/CN=redisctl-test-ca"]].concat());
    openssl(
        dir,
        &["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "node.key", "-out", "node.csr", "-subj", "/CN=node"],
    );
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    let sign =
        ["x509", "-req", "-in", "node.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2"];
    openssl(dir, &[&sign[..], &["-extfile", "san.ext", "-out", "node.crt"]].concat());
}

fn openssl(dir: &Path, args: &[&str]) {
    let o = std::process::Command::new("openssl").args(args).current_dir(dir).output().expect("openssl is installed");
    assert!(o.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

/// A TLS connection to 127.0.0.1:`port`, presenting `certs/node.crt` and trusting
/// `certs/ca.crt` (see [`test_certificates`]), authenticated as `user`.
pub fn tls_connection(port: u16, certs: &Path, user: &str, password: &str) -> Result<redis::Connection, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tls = redis::TlsCertificates {
        client_tls: Some(redis::ClientTlsConfig {
            client_cert: std::fs::read(certs.join("node.crt")).unwrap(),
            client_key: std::fs::read(certs.join("node.key")).unwrap(),
        }),
        root_cert: Some(std::fs::read(certs.join("ca.crt")).unwrap()),
    };
    let client =
        redis::Client::build_with_tls(format!("rediss://127.0.0.1:{port}/"), tls).map_err(|e| e.to_string())?;
    let mut con = client.get_connection_with_timeout(Duration::from_secs(1)).map_err(|e| e.to_string())?;
    redis::cmd("AUTH").arg(user).arg(password).exec(&mut con).map_err(|e| e.to_string())?;
    Ok(con)
}

/// Schema errors of a plan document (the JSON output or a saved plan file) against the
/// committed `schemas/plan.schema.json`; empty when it conforms.
pub fn plan_schema_errors(doc: &serde_json::Value) -> Vec<String> {
    let schema: serde_json::Value = serde_json::from_str(include_str!("../../schemas/plan.schema.json")).unwrap();
    let validator = jsonschema::draft202012::new(&schema).expect("the plan schema is a valid JSON Schema");
    validator.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}
