//! The target tests' fixture (`tests/fixtures/targets`) and peers: render its environments
//! with the real binary, find the peer validators, run them strictly, load a rendered config
//! into a local `redis-server` and ask it through `redis-cli`.
//!
//! Used through `common::targets::*`: its [`wait_for`] (a `redis-cli` answer) is not the
//! generic `common::wait_for`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[allow(unused_imports)] // not every target test lists files
pub use super::{files, repo_root as root};

pub const PROJECT: &str = "tests/fixtures/targets";
pub const TOPOLOGIES: [&str; 4] = ["standalone", "replication", "sentinel", "cluster"];
/// Container topologies also rendered with TLS (`<target>-<topology>-tls` environments).
pub const TLS_TOPOLOGIES: [&str; 2] = ["sentinel-tls", "cluster-tls"];

/// Every topology of a container target, with and without TLS.
pub fn container_topologies() -> impl Iterator<Item = &'static str> {
    TOPOLOGIES.into_iter().chain(TLS_TOPOLOGIES)
}

/// The fixture's password variables and the plaintext the tests give them.
pub const PASSWORDS: [(&str, &str); 4] = [
    ("REDISCTL_T_APP", "app-Plaintext-7f3a"),
    ("REDISCTL_T_REPLICATION", "repl-Plaintext-91c2"),
    ("REDISCTL_T_SENTINEL", "sentinel-Plaintext-44d8"),
    ("REDISCTL_T_OPS", "ops-Plaintext-0be5"),
];
pub const OPS_PASSWORD: &str = "ops-Plaintext-0be5";

/// Render `env` of `project` (relative to the repository) into a fresh temporary directory.
pub fn render_project(project: &str, env: &str) -> tempfile::TempDir {
    render_with(project, env, &PASSWORDS)
}

/// Render `env` of `project` (relative to the repository), its password variables set from
/// `passwords`, into a fresh temporary directory.
pub fn render_with(project: &str, env: &str, passwords: &[(&str, &str)]) -> tempfile::TempDir {
    let out = tempfile::tempdir().expect("temp dir");
    let mut cmd = super::redisctl_on(&root().join(project));
    cmd.args(["render", "--env", env, "--out"]).arg(out.path());
    for (k, v) in passwords {
        cmd.env(k, v);
    }
    let o = super::Run::unbounded(&mut cmd);
    assert!(o.success(), "render {project} {env} failed:\n{}", o.stderr);
    out
}

pub fn render(env: &str) -> tempfile::TempDir {
    render_project(PROJECT, env)
}

/// A peer tool from `.venv-peers/bin` or PATH; fails (never skips) when it is missing.
pub fn tool(name: &str) -> PathBuf {
    let venv = root().join(".venv-peers/bin").join(name);
    if venv.is_file() {
        return venv;
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        let p = dir.join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("`{name}` is not installed: run scripts/install-test-peers.sh (it installs the peer validators into .venv-peers/)");
}

/// Run a peer and require success with no output at all on either stream (a warning fails).
pub fn run_silent(cmd: &mut Command) {
    let o: Output = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && out.trim().is_empty() && err.trim().is_empty(),
        "{cmd:?} exited {}:\n{out}{err}",
        o.status
    );
}

/// Wait until `redis-cli -p port [--user ops] <args>` prints `expect` (auth through REDISCLI_AUTH).
pub fn wait_for(port: u16, auth: bool, args: &[&str], expect: &str) -> Result<(), String> {
    let mut last = String::new();
    for _ in 0..100 {
        let mut cmd = Command::new("redis-cli");
        cmd.args(["--no-auth-warning", "-p", &port.to_string()]);
        if auth {
            cmd.args(["--user", "ops"]).env("REDISCLI_AUTH", OPS_PASSWORD);
        }
        if let Ok(o) = cmd.args(args).output() {
            last = String::from_utf8_lossy(&o.stdout).trim().to_string() + &String::from_utf8_lossy(&o.stderr);
            if last == expect {
                return Ok(());
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Err(format!("port {port}: {args:?} never answered {expect:?}; last answer {last:?}"))
}

/// Rewrite the directives of a rendered config whose paths and addresses only exist on the
/// target, so that a real redis-server can load it here.
pub fn localize(conf: &str, port: u16, dir: &Path) -> String {
    let d = dir.display();
    conf.lines()
        .filter(|l| !l.starts_with("replicaof "))
        .map(|l| match l.split_whitespace().next() {
            Some("bind") => "bind 127.0.0.1".to_string(),
            Some("port") => format!("port {port}"),
            Some("dir") => format!("dir {d}"),
            Some("aclfile") => format!("aclfile {d}/users.acl"),
            Some("cluster-config-file") => format!("cluster-config-file {d}/nodes.conf"),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// `connect --env ENV --format json` of `project` (relative to the repository), parsed.
pub fn connect_json(project: &str, env: &str) -> serde_json::Value {
    let mut cmd = super::redisctl_on(&root().join(project));
    cmd.args(["connect", "--env", env, "--format", "json"]);
    let o = super::Run::of(&mut cmd);
    assert!(o.success(), "connect {project} {env} failed:\n{}", o.show());
    serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("connect {project} {env}: {e}\n{}", o.stdout))
}

/// Every `host:port` that `connect` hands to clients: the node endpoints and the Sentinels'.
pub fn connect_endpoints(config: &serde_json::Value) -> Vec<String> {
    let list = |v: &serde_json::Value| -> Vec<String> {
        v.as_array().into_iter().flatten().map(|e| e.as_str().expect("an endpoint string").to_string()).collect()
    };
    let mut out = list(&config["endpoints"]);
    out.extend(list(&config["sentinel"]["endpoints"]));
    out
}

/// A rendered YAML file (one document, a map) as JSON, read with redisctl's own YAML reader.
pub fn yaml_file(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap();
    let node = redisctl::contract::yaml::parse(&text, 0)
        .unwrap_or_else(|d| panic!("{} is not YAML redisctl reads: {d:?}", path.display()));
    redisctl::contract::merge::to_json(&node, &mut Default::default())
}

/// The port a rendered redis.conf / sentinel.conf listens on: `port`, or `tls-port` when the
/// plaintext port is off (`port 0`).
pub fn listening_port(conf: &str) -> u32 {
    let value = |key: &str| {
        conf.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')).map(|v| v.trim().parse::<u32>().unwrap())
    };
    match value("port") {
        Some(0) | None => value("tls-port").expect("a config with neither port nor tls-port"),
        Some(p) => p,
    }
}
