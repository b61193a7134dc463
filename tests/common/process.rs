//! Child processes that never outlive their test: [`KillOnDrop`] for any program (moto_server,
//! a node started from rendered files, ...), and [`RedisServer`] for `redis-server` /
//! `redis-sentinel`, which are first asked to shut down.

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::resp::Conn;

/// A child process killed (and reaped) when dropped, also while a failing test unwinds.
pub struct KillOnDrop(pub Child);

impl Deref for KillOnDrop {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Server,
    Sentinel,
}

/// A running `redis-server` or `redis-sentinel` on 127.0.0.1. Dropping it (also while a test
/// panics) sends `SHUTDOWN NOSAVE` and then kills the process, so no test leaves one behind.
pub struct RedisServer {
    child: KillOnDrop,
    pub kind: Kind,
    pub port: u16,
    pub dir: PathBuf,
    /// ACL user allowed to run SHUTDOWN, when the default user is disabled.
    shutdown_auth: Option<(String, String)>,
}

impl RedisServer {
    /// Start `redis-server CONFIG ARGS...` (or `redis-sentinel`) with `workdir` as working
    /// directory (configs use relative paths such as `aclfile ../users.acl`), and wait until
    /// it answers on `port`. Panics with the server's output and log when it does not start.
    #[track_caller]
    pub fn start(kind: Kind, config: &Path, workdir: &Path, port: u16, args: &[String]) -> RedisServer {
        let program = match kind {
            Kind::Server => "redis-server",
            Kind::Sentinel => "redis-sentinel",
        };
        let out = std::fs::File::create(workdir.join("process.out")).unwrap();
        let err = out.try_clone().unwrap();
        let child = KillOnDrop(
            std::process::Command::new(program)
                .arg(config)
                .args(args)
                .current_dir(workdir)
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {program} (is it installed?): {e}")),
        );
        let mut server = RedisServer { child, kind, port, dir: workdir.to_path_buf(), shutdown_auth: None };
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("{program} {} exited with {status} before answering:\n{}", config.display(), server.output());
            }
            // Any answer (PONG, NOAUTH, LOADING) means the configuration was accepted.
            if let Ok(reply) = Conn::connect(port).and_then(|mut c| c.cmd(&["PING"])) {
                let _ = reply;
                return server;
            }
            if start.elapsed() > Duration::from_secs(15) {
                panic!("{program} {} did not answer on port {port}:\n{}", config.display(), server.output());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn set_shutdown_auth(&mut self, user: &str, password: &str) {
        self.shutdown_auth = Some((user.to_string(), password.to_string()));
    }

    pub fn connect(&self) -> Conn {
        Conn::connect(self.port).unwrap_or_else(|e| panic!("connect to port {}: {e}", self.port))
    }

    /// A connection authenticated as `user`.
    #[track_caller]
    pub fn connect_as(&self, user: &str, password: &str) -> Conn {
        let mut c = self.connect();
        let reply = c.must(&["AUTH", user, password]);
        assert!(reply.is_ok(), "AUTH as {user} on port {} failed: {reply:?}", self.port);
        c
    }

    /// What the process printed, plus its log file (`redis.log` / `sentinel.log`).
    pub fn output(&self) -> String {
        let mut text = std::fs::read_to_string(self.dir.join("process.out")).unwrap_or_default();
        for log in ["redis.log", "sentinel.log"] {
            if let Ok(l) = std::fs::read_to_string(self.dir.join(log)) {
                text.push_str(&format!("\n--- {log} ---\n{l}"));
            }
        }
        text
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // Never panic here: this runs while a failing test unwinds.
        if let Ok(mut c) = Conn::connect(self.port) {
            if let Some((user, password)) = &self.shutdown_auth {
                let _ = c.cmd(&["AUTH", user, password]);
            }
            let _ = c.cmd(&["SHUTDOWN", "NOSAVE"]);
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Still running: `child` (a `KillOnDrop`) kills it when dropped right after this.
    }
}

/// Whether `redis-server` and `redis-sentinel` are installed (the suite requires them).
pub fn require_redis() {
    for program in ["redis-server", "redis-sentinel"] {
        let ok = std::process::Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "{program} is not installed: run scripts/test (or apt-get install redis-server redis-sentinel)");
    }
}
