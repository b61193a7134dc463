//! redis-server and redis-sentinel processes: finding the binaries, starting a member from a
//! runtime copy of its rendered config (keeping the node's current role), and stopping it.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::Serialize;

use super::client::{info, poll};
use super::{Member, Stack, HOST};
use crate::error::{Error, Result};
use crate::model::UserRole;
use crate::render::conf::quote;
use crate::resolve::{Node, Role, Sentinel};
use crate::util::fs::write_atomic;

/// How long a started process may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a process gets after each signal.
const SIGNAL_GRACE: Duration = Duration::from_secs(5);

/// What a member runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Redis,
    Sentinel,
}

impl Kind {
    /// Stem of the member's file names (`redis.conf`, `sentinel.pid`, ...).
    pub fn stem(self) -> &'static str {
        match self {
            Kind::Redis => "redis",
            Kind::Sentinel => "sentinel",
        }
    }

    /// The binary's name and the environment variable that overrides its path.
    pub fn binary(self) -> (&'static str, &'static str) {
        match self {
            Kind::Redis => ("redis-server", "REDISCTL_REDIS_SERVER"),
            Kind::Sentinel => ("redis-sentinel", "REDISCTL_REDIS_SENTINEL"),
        }
    }
}

/// Where the binaries are looked for.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// Explicit path of redis-server (`REDISCTL_REDIS_SERVER`).
    pub redis_server: Option<PathBuf>,
    /// Explicit path of redis-sentinel (`REDISCTL_REDIS_SENTINEL`).
    pub redis_sentinel: Option<PathBuf>,
    /// Directories searched otherwise (`PATH`).
    pub search_path: OsString,
}

impl Binaries {
    pub fn from_env() -> Binaries {
        let var = |kind: Kind| std::env::var_os(kind.binary().1).filter(|v| !v.is_empty()).map(PathBuf::from);
        Binaries {
            redis_server: var(Kind::Redis),
            redis_sentinel: var(Kind::Sentinel),
            search_path: std::env::var_os("PATH").unwrap_or_default(),
        }
    }

    /// The binary for `kind`, or an error naming it and saying how to install it.
    pub fn find(&self, kind: Kind) -> Result<PathBuf> {
        let (name, var) = kind.binary();
        let explicit = match kind {
            Kind::Redis => &self.redis_server,
            Kind::Sentinel => &self.redis_sentinel,
        };
        if let Some(path) = explicit {
            return if is_executable(path) {
                Ok(path.clone())
            } else {
                Err(Error::msg(format!("{var} is set to {}, which is not an executable file", path.display())))
            };
        }
        std::env::split_paths(&self.search_path).map(|dir| dir.join(name)).find(|p| is_executable(p)).ok_or_else(|| {
            Error::msg(format!(
                "`{name}` was not found on PATH; install Redis (Debian/Ubuntu: `apt-get install redis-server redis-sentinel`, \
                 macOS: `brew install redis`) or set {var} to the binary"
            ))
        })
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The primary a node follows when it starts (non-cluster topologies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Upstream {
    Primary,
    ReplicaOf { host: String, port: u32 },
}

/// How to stop a member.
#[derive(Debug, Clone, Copy)]
pub struct StopOptions {
    /// `SHUTDOWN NOSAVE`: skip the final save (the default saves when persistence is on).
    pub nosave: bool,
    /// How long SHUTDOWN may take before the process gets SIGTERM, then SIGKILL.
    pub timeout: Duration,
}

impl Default for StopOptions {
    fn default() -> Self {
        StopOptions { nosave: false, timeout: Duration::from_secs(30) }
    }
}

/// Whether `pid` is a live process working in `dir`. Pid files outlive `kill -9` and pids get
/// reused, so on Linux the process's working directory must be the member's (this also rules
/// out zombies, whose cwd is gone); elsewhere `kill(pid, 0)` has to do.
pub fn alive(pid: i32, dir: &Path) -> bool {
    if pid <= 0 {
        return false;
    }
    if Path::new("/proc/self/cwd").exists() {
        let cwd = std::fs::read_link(format!("/proc/{pid}/cwd"));
        return cwd.is_ok() && cwd.ok() == dir.canonicalize().ok();
    }
    rustix::process::Pid::from_raw(pid).is_some_and(|p| rustix::process::test_kill_process(p).is_ok())
}

/// Make `dir` the owner's only (0700).
pub fn make_private(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::io(format!("cannot make {} private", dir.display()), e))
}

/// Start `cmd` (a local stack's server or exporter, for `member`) in its own process group, so
/// that a terminal's Ctrl-C does not reach it, with stdout and stderr appended to `log_path`.
pub fn spawn_logged(cmd: &mut Command, log_path: &Path, member: &str) -> Result<std::process::Child> {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .map_err(|e| Error::io(format!("cannot open {}", log_path.display()), e))?;
    let stderr = log.try_clone().map_err(|e| Error::io(format!("cannot open {}", log_path.display()), e))?;
    cmd.stdin(Stdio::null())
        .stdout(log)
        .stderr(stderr)
        .process_group(0)
        .spawn()
        .map_err(|e| Error::io(format!("cannot start {} for {member}", cmd.get_program().to_string_lossy()), e))
}

/// Send `sig` to `pid` (just checked to be this member's process); a process that is gone
/// already is what the caller wants anyway.
pub fn signal(pid: i32, sig: rustix::process::Signal) {
    if let Some(p) = rustix::process::Pid::from_raw(pid) {
        let _ = rustix::process::kill_process(p, sig);
    }
}

/// The `replicaof` of a config file's text: the last `replicaof`/`slaveof` line wins, as in
/// Redis; none (or `no one`) means primary.
fn replicaof_in(text: &str) -> Upstream {
    let mut upstream = Upstream::Primary;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().map(|w| w.trim_matches('"')).collect();
        if let [key, host, port] = words[..] {
            if key.eq_ignore_ascii_case("replicaof") || key.eq_ignore_ascii_case("slaveof") {
                upstream = match port.parse() {
                    Ok(port) if !host.eq_ignore_ascii_case("no") => {
                        Upstream::ReplicaOf { host: host.to_string(), port }
                    }
                    _ => Upstream::Primary,
                };
            }
        }
    }
    upstream
}

fn is_replicaof_line(line: &str) -> bool {
    let key = line.split_whitespace().next().unwrap_or_default();
    key.eq_ignore_ascii_case("replicaof") || key.eq_ignore_ascii_case("slaveof")
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::io(format!("cannot read {} (render the environment first)", path.display()), e))
}

impl Stack {
    /// The pid of a running member, from its pid file; `None` when it is not running.
    pub fn pid(&self, name: &str) -> Result<Option<u32>> {
        Ok(self.running_pid(self.member(name)?).map(|p| p as u32))
    }

    pub(super) fn running_pid(&self, m: Member) -> Option<i32> {
        let text = std::fs::read_to_string(self.run.pid_file(m.name(), m.kind())).ok()?;
        let pid = text.trim().parse().ok()?;
        alive(pid, &self.run.member_dir(m.name())).then_some(pid)
    }

    /// Start a member unless it is already running; `Ok(false)` when it was. A node starts in
    /// its current role (`upstream_at_start`), whatever its rendered config says, and never as
    /// the primary of running replicas that hold more data than it (`hand_over_before_start`).
    pub fn start(&self, name: &str) -> Result<bool> {
        let m = self.member(name)?;
        if self.running_pid(m).is_some() {
            return Ok(false);
        }
        match m {
            Member::Node(n) => {
                let upstream = match self.hand_over_before_start(n)? {
                    Some(upstream) => Some(upstream),
                    None => self.upstream_at_start(n, None),
                };
                self.start_node_as(n, upstream)
            }
            Member::Sentinel(s) => self.start_sentinel(s),
        }?;
        Ok(true)
    }

    /// Stop and start a member, keeping a node's role as observed just before the stop (unless
    /// the Sentinels moved the primary meanwhile).
    pub fn restart(&self, name: &str, opts: StopOptions) -> Result<()> {
        let m = self.member(name)?;
        let observed = match m {
            Member::Node(n) => self.observed_upstream(n),
            Member::Sentinel(_) => None,
        };
        self.stop(name, opts)?;
        match m {
            Member::Node(n) => self.start_node_as(n, self.upstream_at_start(n, observed)),
            Member::Sentinel(s) => self.start_sentinel(s),
        }
    }

    /// The role a stopped node must come back in (`None` in cluster mode, where nodes.conf
    /// keeps it). In order: what the Sentinels report as the primary now (a primary killed
    /// and failed over must not come back as a primary); the role `observed` before a
    /// restart; the `replicaof` of its previous runtime config (which Sentinel's CONFIG REWRITE
    /// keeps current); the rendered role.
    pub(super) fn upstream_at_start(&self, node: &Node, observed: Option<Upstream>) -> Option<Upstream> {
        if self.cluster() {
            return None;
        }
        let from_sentinels = self.sentinel_master_addr().ok().and_then(|(_, port)| self.node_at(port)).map(|primary| {
            if primary.name == node.name {
                Upstream::Primary
            } else {
                Upstream::ReplicaOf { host: HOST.into(), port: primary.port }
            }
        });
        let previous = || std::fs::read_to_string(self.run.runtime_config(&node.name)).ok().map(|t| replicaof_in(&t));
        let rendered = || match self.deployment.primary_of(node) {
            Some(p) => Upstream::ReplicaOf { host: HOST.into(), port: p.port },
            None => Upstream::Primary,
        };
        Some(from_sentinels.or(observed).or_else(previous).unwrap_or_else(rendered))
    }

    /// The role of a running node as it reports it (`None` in cluster mode or when unreachable).
    fn observed_upstream(&self, node: &Node) -> Option<Upstream> {
        if self.cluster() {
            return None;
        }
        let fields = info(&mut self.conn(Member::Node(node)).ok()?, &node.name).ok()?;
        match (fields.get("role")?.as_str(), fields.get("master_host"), fields.get("master_port")) {
            ("master", _, _) => Some(Upstream::Primary),
            (_, Some(host), Some(port)) => Some(Upstream::ReplicaOf { host: host.clone(), port: port.parse().ok()? }),
            _ => None,
        }
    }

    /// Start redis-server from `runtime.conf`: the rendered redis.conf with the node's
    /// `replicaof` replaced by `upstream` (kept in the file rather than on the command line, so
    /// the next start finds the role the node last had), and `masterauth`. Passwords go into
    /// that file (mode 0600, in a 0700 directory), never on the command line, where every local
    /// user could read them in /proc/*/cmdline.
    pub(super) fn start_node_as(&self, node: &Node, upstream: Option<Upstream>) -> Result<()> {
        let rendered = read(&self.run.rendered_config(&node.name, Kind::Redis))?;
        let mut text: String = rendered
            .lines()
            .filter(|l| upstream.is_none() || !is_replicaof_line(l))
            .map(|l| format!("{l}\n"))
            .collect();
        if let Some(Upstream::ReplicaOf { host, port }) = &upstream {
            text.push_str(&format!("\n# current role, set by redisctl at start\nreplicaof {} {port}\n", quote(host)));
        }
        let has_replicas = self.deployment.nodes.iter().any(|n| matches!(n.role, Role::Replica(_)));
        if let Some(pass) = self.auth_password(UserRole::Replication).filter(|_| has_replicas) {
            text.push_str(&format!("\n# set by redisctl at start\nmasterauth {}\n", quote(pass)));
        }
        write_atomic(&self.run.runtime_config(&node.name), text.as_bytes(), 0o600)?;
        self.spawn(Member::Node(node))
    }

    /// Start redis-sentinel. Its runtime.conf is created from the rendered file only once:
    /// Sentinel keeps its state there (myid, current primary, known replicas and Sentinels,
    /// epochs). The passwords it logs in with are set in it at every start (so a changed one
    /// takes effect), never on the command line; mode 0600. Its ACL is the rendered
    /// `sentinel-users.acl`, which runtime.conf names by path, so a re-rendered ACL takes
    /// effect at the next start.
    fn start_sentinel(&self, s: &Sentinel) -> Result<()> {
        let runtime = self.run.runtime_config(&s.name);
        let text =
            if runtime.exists() { read(&runtime)? } else { read(&self.run.rendered_config(&s.name, Kind::Sentinel))? };
        let is_password_line = |l: &str| {
            let mut words = l.split_whitespace();
            words.next().is_some_and(|w| w.eq_ignore_ascii_case("sentinel"))
                && words
                    .next()
                    .is_some_and(|w| w.eq_ignore_ascii_case("auth-pass") || w.eq_ignore_ascii_case("sentinel-pass"))
        };
        let mut text: String = text.lines().filter(|l| !is_password_line(l)).map(|l| format!("{l}\n")).collect();
        if let Some(pass) = self.auth_password(UserRole::Sentinel) {
            text.push_str(&format!("sentinel auth-pass {} {}\n", quote(&self.deployment.master_name), quote(pass)));
            if crate::render::sentinel_auth_required(&self.deployment) {
                // The rendered sentinel.conf names the user (`sentinel sentinel-user`) Sentinels
                // log in to each other as; its password is the same one.
                text.push_str(&format!("sentinel sentinel-pass {}\n", quote(pass)));
            }
        }
        write_atomic(&runtime, text.as_bytes(), 0o600)?;
        self.spawn(Member::Sentinel(s))
    }

    /// The password of the user with `role` when auth is required (handed to Redis only).
    fn auth_password(&self, role: UserRole) -> Option<&str> {
        let user = self.deployment.user_with_role(role).filter(|_| self.deployment.auth_required())?;
        user.secret.as_ref().map(|s| s.expose())
    }

    /// Run the member's binary on `runtime.conf` in its directory, in its own process group
    /// (a Ctrl-C in our terminal does not reach it), output appended to its log; wait until it
    /// accepts connections.
    fn spawn(&self, m: Member) -> Result<()> {
        let binary = self.binaries.find(m.kind())?;
        // Another program on the port (a Redis of someone else's, or anything that listens):
        // say so, instead of the member's own log line about a failed bind.
        let taken = self.responds(m.port())
            || std::net::TcpListener::bind((HOST, m.port() as u16))
                .is_err_and(|e| e.kind() == std::io::ErrorKind::AddrInUse);
        if taken {
            return Err(Error::msg(format!(
                "cannot start {}: another process already listens on {HOST}:{} (not this stack's: {} shows no running process)",
                m.name(),
                m.port(),
                self.run.pid_file(m.name(), m.kind()).display()
            )));
        }
        // The cluster bus port is bound too; inside the kernel's ephemeral range (32768-60999 by
        // default) any program's outgoing connection can hold it for a while.
        if let Some(bus) = m.bus_port() {
            if let Err(e) = std::net::TcpListener::bind((HOST, bus as u16)) {
                if e.kind() == std::io::ErrorKind::AddrInUse {
                    return Err(Error::msg(format!(
                        "cannot start {}: its cluster bus port {HOST}:{bus} (port + 10000) is held by another process or \
                         connection; choose `ports.redis` so that port + 10000 is free and below the ephemeral range \
                         (/proc/sys/net/ipv4/ip_local_port_range)",
                        m.name()
                    )));
                }
            }
        }
        tracing::debug!("starting {} with {} on {HOST}:{}", m.name(), binary.display(), m.port());
        let dir = self.run.member_dir(m.name());
        // Redis and Sentinel rewrite runtime.conf with the passwords they were given
        // (`masterauth`, `sentinel auth-pass`) at the mode their umask gives (0644): the member
        // directory and the run directory are the owner's only, so no other local user reads them.
        make_private(self.run.root())?;
        make_private(&dir)?;
        let mut cmd = Command::new(&binary);
        cmd.arg(super::paths::RUNTIME_CONF).current_dir(&dir);
        let mut child = spawn_logged(&mut cmd, &self.run.log_file(m.name(), m.kind()), m.name())?;
        let started = poll(START_TIMEOUT, || match child.try_wait() {
            Ok(Some(status)) => Ok(Err(format!("exited at start ({status})"))),
            _ if self.responds(m.port()) => Ok(Ok(())),
            _ => Err(format!("did not accept connections on {HOST}:{} within {START_TIMEOUT:?}", m.port())),
        });
        match started {
            Ok(Ok(())) => {
                tracing::info!("started {} on {HOST}:{} (pid {})", m.name(), m.port(), child.id());
                // Reap it when it exits while we still run; when we exit first, init adopts it.
                std::thread::spawn(move || child.wait());
                Ok(())
            }
            Ok(Err(why)) | Err(why) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(Error::msg(format!("{} {why}{}", m.name(), self.log_tail(m))))
            }
        }
    }

    /// Stop a member: SHUTDOWN (with NOSAVE when asked), then SIGTERM and SIGKILL if it does
    /// not exit in time. `Ok(false)` when it was not running. Data is kept.
    pub fn stop(&self, name: &str, opts: StopOptions) -> Result<bool> {
        let m = self.member(name)?;
        let Some(pid) = self.running_pid(m) else {
            return Ok(false);
        };
        let dir = self.run.member_dir(m.name());
        let gone = |within: Duration| poll(within, || if alive(pid, &dir) { Err(()) } else { Ok(()) }).is_ok();
        let mut polite = false;
        if let Ok(mut con) = self.conn(m) {
            let _ = con.set_read_timeout(Some(opts.timeout.max(Duration::from_secs(1))));
            let mut cmd = redis::cmd("SHUTDOWN");
            if opts.nosave {
                cmd.arg("NOSAVE");
            }
            // A clean shutdown closes the connection without a reply; an error reply means it refused.
            polite = cmd.query::<redis::Value>(&mut con).is_err_and(|e| e.code().is_none());
        }
        if polite && gone(opts.timeout) {
            return Ok(true);
        }
        for sig in [rustix::process::Signal::TERM, rustix::process::Signal::KILL] {
            signal(pid, sig);
            if gone(SIGNAL_GRACE) {
                return Ok(true);
            }
        }
        Err(Error::msg(format!("{name} (pid {pid}) did not exit after SIGKILL")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_replicaof_line_wins() {
        assert_eq!(replicaof_in("port 1\n"), Upstream::Primary);
        let t = "replicaof 127.0.0.1 7000\nslaveof \"10.0.0.1\" 7001\n";
        assert_eq!(replicaof_in(t), Upstream::ReplicaOf { host: "10.0.0.1".into(), port: 7001 });
        assert_eq!(replicaof_in("replicaof 127.0.0.1 7000\nreplicaof no one\n"), Upstream::Primary);
        assert!(is_replicaof_line("REPLICAOF a 1") && !is_replicaof_line("# replicaof a 1"));
    }

    #[test]
    fn a_missing_binary_is_named_with_install_hints() {
        let b = Binaries { redis_server: None, redis_sentinel: None, search_path: "/nonexistent".into() };
        let e = b.find(Kind::Sentinel).unwrap_err().to_string();
        assert!(
            e.contains("`redis-sentinel`") && e.contains("apt-get install") && e.contains("brew install redis"),
            "{e}"
        );
        let b = Binaries { redis_server: Some("/nonexistent/redis-server".into()), ..b };
        let e = b.find(Kind::Redis).unwrap_err().to_string();
        assert!(e.contains("REDISCTL_REDIS_SERVER"), "{e}");
    }
}
