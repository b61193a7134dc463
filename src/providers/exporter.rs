//! The exporter provider: with `observability.runExporters` on a local stack (`target: process`),
//! one prometheus-redis-exporter per node, listening on 127.0.0.1 at `exporterPort + i` (where
//! the rendered `observability/prometheus.yml` scrapes), logged in as the exporter user.
//!
//! `exporter:<node>` is created when its exporter does not run, updated (restarted) when what it
//! runs with changed (address, user, port, password: a fingerprint file next to its pid file),
//! deleted by `destroy`. The password reaches the exporter only in its environment, which is
//! cleared of everything else (redisctl's own environment may hold every password); its pid,
//! fingerprint and log files live in `observability/`, the owner's only.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::model::observability::effective;
use crate::plan::state::State;
use crate::plan::{Action, Address, ApplyOptions, Outcome, Provider, ProviderPlan, ResourceChange, Shown};
use crate::render::observability::{exporter_env, exporter_port, exporter_user, DIR};
use crate::resolve::{Deployment, Node};
use crate::stack::{alive, poll};

pub const NAME: &str = "exporter";
const START_TIMEOUT: Duration = Duration::from_secs(10);

pub struct ExporterProvider {
    deployment: Deployment,
    /// `<run dir>/observability`
    dir: PathBuf,
    destroying: bool,
}

/// The exporter binary: `REDISCTL_EXPORTER_BIN`, else `prometheus-redis-exporter` (Debian's
/// name) or `redis_exporter` (upstream's) on PATH.
fn binary() -> Result<PathBuf, Error> {
    if let Some(p) = std::env::var_os("REDISCTL_EXPORTER_BIN") {
        return Ok(PathBuf::from(p));
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        for name in ["prometheus-redis-exporter", "redis_exporter"] {
            if dir.join(name).is_file() {
                return Ok(dir.join(name));
            }
        }
    }
    Err(Error::msg(
        "`observability.runExporters` needs prometheus-redis-exporter: `apt-get install prometheus-redis-exporter` \
         (Debian), or set REDISCTL_EXPORTER_BIN to a redis_exporter binary",
    ))
}

impl ExporterProvider {
    pub fn new(deployment: Deployment, run_dir: &Path) -> ExporterProvider {
        ExporterProvider { deployment, dir: run_dir.join(DIR), destroying: false }
    }

    pub fn destroying(mut self) -> Self {
        self.destroying = true;
        self
    }

    fn file(&self, node: &str, ext: &str) -> PathBuf {
        self.dir.join(format!("exporter-{node}.{ext}"))
    }

    /// The pid of `node`'s exporter, if it runs (a process working in our directory: pids are
    /// reused, and an unrelated program must never be signalled).
    fn running(&self, node: &str) -> Option<i32> {
        let pid = std::fs::read_to_string(self.file(node, "pid")).ok()?.trim().parse::<i32>().ok()?;
        alive(pid, &self.dir).then_some(pid)
    }

    fn port(&self, n: &Node) -> u32 {
        effective(&self.deployment.contract).map(|e| exporter_port(&e, &self.deployment, n)).unwrap_or(0)
    }

    /// The exporter's environment: address, user, CONFIG off, listen address, password.
    fn environment(&self, n: &Node) -> Vec<(String, String)> {
        let d = &self.deployment;
        let scheme = if d.contract.security.tls.enabled { "rediss" } else { "redis" };
        let mut env = exporter_env(d, &format!("{scheme}://127.0.0.1:{}", n.port));
        env.push(("REDIS_EXPORTER_WEB_LISTEN_ADDRESS".into(), format!("127.0.0.1:{}", self.port(n))));
        let t = &d.contract.security.tls;
        for (var, file) in [
            ("REDIS_EXPORTER_TLS_CA_CERT_FILE", &t.ca_file),
            ("REDIS_EXPORTER_TLS_CLIENT_CERT_FILE", &t.cert_file),
            ("REDIS_EXPORTER_TLS_CLIENT_KEY_FILE", &t.key_file),
        ] {
            if let (true, Some(f)) = (t.enabled, file) {
                env.push((var.into(), f.clone()));
            }
        }
        if let Some(secret) = exporter_user(d).filter(|_| d.auth_required()).and_then(|u| u.secret.as_ref()) {
            env.push(("REDIS_PASSWORD".into(), secret.expose().to_string()));
        }
        env
    }

    /// What the exporter runs with, as a hash (the password included, never in clear).
    fn fingerprint(&self, n: &Node) -> String {
        let text: Vec<String> = self.environment(n).into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        hex::encode(Sha256::digest(text.join("\n").as_bytes()))
    }

    fn stop(&self, node: &str) -> Result<(), Error> {
        if let Some(pid) = self.running(node) {
            // SAFETY: a signal to a process verified to be our exporter.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            let gone = poll(Duration::from_secs(5), || if alive(pid, &self.dir) { Err(()) } else { Ok(()) });
            if gone.is_err() {
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        for ext in ["pid", "fingerprint"] {
            let _ = std::fs::remove_file(self.file(node, ext));
        }
        Ok(())
    }

    fn start(&self, n: &Node) -> Result<(), Error> {
        let bin = binary()?;
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| Error::io(format!("cannot create {}", self.dir.display()), e))?;
        crate::stack::make_private(&self.dir)?;
        let mut cmd = Command::new(&bin);
        cmd.env_clear().envs(self.environment(n)).current_dir(&self.dir);
        let log_path = self.file(&n.name, "log");
        let mut child = crate::stack::spawn_logged(&mut cmd, &log_path, &n.name)?;
        let port = self.port(n);
        let listening = poll(START_TIMEOUT, || match child.try_wait() {
            Ok(Some(status)) => Ok(Err(format!("exited at start ({status})"))),
            _ if std::net::TcpStream::connect(("127.0.0.1", port as u16)).is_ok() => Ok(Ok(())),
            _ => Err(format!("did not listen on 127.0.0.1:{port} within {START_TIMEOUT:?}")),
        });
        match listening {
            Ok(Ok(())) => {
                let pid = child.id();
                std::thread::spawn(move || child.wait());
                std::fs::write(self.file(&n.name, "pid"), format!("{pid}\n"))
                    .and_then(|_| std::fs::write(self.file(&n.name, "fingerprint"), self.fingerprint(n)))
                    .map_err(|e| Error::io(format!("cannot record the exporter of {}", n.name), e))
            }
            Ok(Err(why)) | Err(why) => {
                let _ = child.kill();
                let _ = child.wait();
                let tail = std::fs::read_to_string(&log_path).unwrap_or_default();
                let tail: Vec<&str> = tail.lines().rev().take(5).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                Err(Error::msg(format!("the exporter of {} {why}; its log:\n{}", n.name, tail.join("\n"))))
            }
        }
    }
}

impl Provider for ExporterProvider {
    fn name(&self) -> &'static str {
        NAME
    }

    fn plan(&mut self, _state: &State) -> Result<ProviderPlan, Error> {
        let mut changes = Vec::new();
        let mut seen = Vec::new();
        for n in &self.deployment.nodes {
            let address = Address::new(NAME, n.name.as_str());
            let pid = self.running(&n.name);
            seen.push(format!("{} {pid:?}", n.name));
            let port = self.port(n);
            let change = match (pid, self.destroying) {
                (Some(pid), true) => {
                    let mut c = ResourceChange::new(NAME, address, Action::Delete);
                    c.before = Some(Shown::Value(json!({ "pid": pid })));
                    c.summary = Some(format!("stops the exporter of {} (pid {pid})", n.name));
                    c
                }
                (None, true) => continue,
                (None, false) => {
                    let mut c = ResourceChange::new(NAME, address, Action::Create);
                    c.after = Some(Shown::Value(json!({ "address": format!("127.0.0.1:{port}") })));
                    c.reason = Some("not running".into());
                    c.summary = Some(format!("starts prometheus-redis-exporter for {} on 127.0.0.1:{port}", n.name));
                    c
                }
                (Some(pid), false) => {
                    let recorded = std::fs::read_to_string(self.file(&n.name, "fingerprint")).unwrap_or_default();
                    if recorded.trim() == self.fingerprint(n) {
                        continue;
                    }
                    let mut c = ResourceChange::new(NAME, address, Action::Update);
                    c.before = Some(Shown::Value(json!({ "pid": pid })));
                    c.after = Some(Shown::Value(json!({ "address": format!("127.0.0.1:{port}") })));
                    c.reason = Some("its address, user, port or password changed".into());
                    c.summary = Some(format!("restarts the exporter of {}", n.name));
                    c
                }
            };
            changes.push(change);
        }
        Ok(ProviderPlan { changes, observed: hex::encode(Sha256::digest(seen.join("\n").as_bytes())) })
    }

    fn apply(&mut self, change: &ResourceChange, _state: &mut State, _opts: &ApplyOptions) -> Result<Outcome, Error> {
        let name = change.address.path();
        let Some(node) = self.deployment.nodes.iter().find(|n| n.name == name).cloned() else {
            return Ok(Outcome::Applied);
        };
        match change.action {
            Action::Delete => self.stop(name)?,
            Action::Update => {
                self.stop(name)?;
                self.start(&node)?;
            }
            _ => self.start(&node)?,
        }
        Ok(Outcome::Applied)
    }
}
