//! Helpers shared by the integration tests: run the real binary, build throw-away projects,
//! find free 127.0.0.1 ports, talk RESP to a server, and start `redis-server` /
//! `redis-sentinel` behind a guard that always stops them.
//!
//! Every test crate compiles this module and uses a different part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Mutex;
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
pub const SAMPLE_ENV_PASSWORDS: [(&str, &str); 4] = [
    ("CATALOG_REDIS_PASSWORD", "sample-app-Pw-3c1e"),
    ("CATALOG_REDIS_REPLICATION_PASSWORD", "sample-repl-Pw-77ab"),
    ("CATALOG_REDIS_SENTINEL_PASSWORD", "sample-sentinel-Pw-0f42"),
    ("CATALOG_REDIS_OPS_PASSWORD", "sample-ops-Pw-9d05"),
];

/// The binary under test, with a clean, deterministic environment: no colour, and none of
/// the sample's password variables unless a test sets them.
pub fn redisctl() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_redisctl"));
    cmd.env("NO_COLOR", "1");
    for (var, _) in SAMPLE_ENV_PASSWORDS {
        cmd.env_remove(var);
    }
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
    pub fn of(cmd: &mut Command) -> Run {
        let out = cmd.timeout(Duration::from_secs(60)).output().expect("run redisctl");
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
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

// ---------------------------------------------------------------------------------------
// Ports

/// Ports handed out by this test process, so parallel tests never get overlapping blocks.
static RESERVED: Mutex<Vec<(u16, u16)>> = Mutex::new(Vec::new());

fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// One free 127.0.0.1 port (chosen by the OS).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The first port of `n` consecutive free 127.0.0.1 ports; with `bus`, the ports 10000 above
/// them (Redis Cluster bus ports) are free too. Blocks are taken from 20000-22699, so that
/// neither they nor their bus ports (30000-32699) fall in the kernel's ephemeral range
/// (32768+, where `bind(:0)` and outgoing connections take ports), and never overlap another
/// block handed out by this process.
pub fn free_port_block(n: u16, bus: bool) -> u16 {
    let seed = {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.finish()
    };
    let mut reserved = RESERVED.lock().unwrap_or_else(|e| e.into_inner());
    let span = 2_700 - u32::from(n);
    for attempt in 0..2000u64 {
        let base = 20_000 + ((seed.wrapping_add(attempt.wrapping_mul(7919)) % u64::from(span)) as u16);
        let range = (base, base + n);
        let overlaps =
            |(a, b): (u16, u16)| range.0 < b && a < range.1 || (bus && range.0 + 10_000 < b && a < range.1 + 10_000);
        if reserved.iter().any(|r| overlaps(*r)) {
            continue;
        }
        let all_free = (base..base + n).all(|p| port_is_free(p) && (!bus || port_is_free(p + 10_000)));
        if all_free {
            reserved.push(range);
            if bus {
                reserved.push((base + 10_000, base + 10_000 + n));
            }
            return base;
        }
    }
    panic!("no block of {n} free ports found");
}

// ---------------------------------------------------------------------------------------
// A minimal RESP2 client (enough for AUTH, PING, INFO, CONFIG GET, SENTINEL, SHUTDOWN)

#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Option<String>),
    Array(Option<Vec<Reply>>),
}

impl Reply {
    pub fn is_ok(&self) -> bool {
        matches!(self, Reply::Status(s) if s == "OK")
    }
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }
    /// The text of a status, error or bulk reply ("" otherwise).
    pub fn text(&self) -> String {
        match self {
            Reply::Status(s) | Reply::Error(s) | Reply::Bulk(Some(s)) => s.clone(),
            Reply::Int(i) => i.to_string(),
            _ => String::new(),
        }
    }
    /// A flat `[k1, v1, k2, v2, ...]` array reply as a map.
    pub fn pairs(&self) -> BTreeMap<String, String> {
        let mut map = BTreeMap::new();
        if let Reply::Array(Some(items)) = self {
            for kv in items.chunks(2) {
                if let [k, v] = kv {
                    map.insert(k.text(), v.text());
                }
            }
        }
        map
    }
}

pub struct Conn {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn connect(port: u16) -> std::io::Result<Conn> {
        let stream = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.set_write_timeout(Some(Duration::from_secs(5)))?;
        Ok(Conn { writer: stream.try_clone()?, reader: BufReader::new(stream) })
    }

    pub fn cmd(&mut self, args: &[&str]) -> std::io::Result<Reply> {
        let mut buf = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            buf.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            buf.extend_from_slice(a.as_bytes());
            buf.extend_from_slice(b"\r\n");
        }
        self.writer.write_all(&buf)?;
        self.read_reply()
    }

    /// Run a command and panic (with the command, minus any password) if the connection fails.
    #[track_caller]
    pub fn must(&mut self, args: &[&str]) -> Reply {
        self.cmd(args).unwrap_or_else(|e| panic!("{} failed: {e}", args.first().unwrap_or(&"")))
    }

    fn read_line(&mut self) -> std::io::Result<String> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed"));
        }
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }

    fn read_reply(&mut self) -> std::io::Result<Reply> {
        let line = self.read_line()?;
        let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, format!("bad RESP line {line:?}"));
        let (kind, rest) = line.split_at(1.min(line.len()));
        Ok(match kind {
            "+" => Reply::Status(rest.to_string()),
            "-" => Reply::Error(rest.to_string()),
            ":" => Reply::Int(rest.parse().map_err(|_| bad())?),
            "$" => {
                let len: i64 = rest.parse().map_err(|_| bad())?;
                if len < 0 {
                    Reply::Bulk(None)
                } else {
                    let mut data = vec![0; len as usize + 2];
                    self.reader.read_exact(&mut data)?;
                    data.truncate(len as usize);
                    Reply::Bulk(Some(String::from_utf8_lossy(&data).into_owned()))
                }
            }
            "*" => {
                let len: i64 = rest.parse().map_err(|_| bad())?;
                if len < 0 {
                    Reply::Array(None)
                } else {
                    let mut items = Vec::with_capacity(len as usize);
                    for _ in 0..len {
                        items.push(self.read_reply()?);
                    }
                    Reply::Array(Some(items))
                }
            }
            _ => return Err(bad()),
        })
    }
}

/// `INFO <section>` text as `field → value`.
pub fn info_fields(info: &str) -> BTreeMap<String, String> {
    info.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
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

// ---------------------------------------------------------------------------------------
// redis-server / redis-sentinel processes

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Server,
    Sentinel,
}

/// A running `redis-server` or `redis-sentinel` on 127.0.0.1. Dropping it (also while a test
/// panics) sends `SHUTDOWN NOSAVE` and then kills the process, so no test leaves one behind.
pub struct RedisServer {
    child: Child,
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
        let child = std::process::Command::new(program)
            .arg(config)
            .args(args)
            .current_dir(workdir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program} (is it installed?): {e}"));
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
        let _ = self.child.kill();
        let _ = self.child.wait();
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
