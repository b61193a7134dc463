//! The live provider against a real redis-server 7.0 on 127.0.0.1: live CONFIG changes,
//! drift from a hand `CONFIG SET`, restart-required changes, and ACL users (create, rotate
//! with both passwords valid, finish the rotation, delete).
//!
//! The test starts the node itself from the files redisctl rendered (as the local-stack
//! runtime does: from a `runtime.conf` copy, since CONFIG REWRITE rewrites the file a server
//! runs from), and always stops it.
//!
//! `--live` on a `systemd` environment: nodes redisctl does not run (here started by the test
//! from the rendered files, at the `systemd.hosts` address) are planned and applied live.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{self, free_port, KillOnDrop, Run, TempProject};

const APP_PASSWORD: &str = "Live-Test-App-Password-1";
const OPS_PASSWORD: &str = "Live-Test-Ops-Password";

fn redis(port: u16, user: &str, pass: &str, args: &[&str]) -> Result<redis::Value, String> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let mut con = client.get_connection_with_timeout(Duration::from_secs(2)).map_err(|e| e.to_string())?;
    redis::cmd("AUTH").arg(user).arg(pass).exec(&mut con).map_err(|e| e.to_string())?;
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(&mut con).map_err(|e| e.to_string())
}

fn config_get(port: u16, name: &str) -> String {
    match redis(port, "ops", OPS_PASSWORD, &["CONFIG", "GET", name]).unwrap() {
        redis::Value::Array(v) => match &v[1] {
            redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

struct Project {
    dir: TempProject,
    port: u16,
}

impl Project {
    fn new() -> Project {
        // A standalone node: it binds its port only (no cluster bus port).
        let p = Project { dir: TempProject::new(&[]), port: free_port() };
        p.write("secrets/app", &format!("{APP_PASSWORD}\n"));
        p.write("secrets/ops", &format!("{OPS_PASSWORD}\n"));
        p.contract("64mb", "", "");
        p.write("environments/dev.yaml", &format!("target: process\nports: {{ redis: {} }}\n", p.port));
        p
    }

    fn contract(&self, maxmemory: &str, extra_config: &str, extra_users: &str) {
        self.write(
            "redisctl.yaml",
            &format!(
                "apiVersion: redisctl/v1\nservice: live\nredis:\n  version: \"7.0\"\n  workload: cache\n  maxmemoryPolicy: allkeys-lru\n  \
                 config:\n    timeout: 300\n{extra_config}resources: {{ maxmemory: {maxmemory} }}\nacl:\n  users:\n    \
                 - {{ name: ops, role: operator, password: {{ fromFile: secrets/ops }} }}\n    \
                 - {{ name: app, password: {{ fromFile: secrets/app }}, keys: [\"live:*\"] }}\n{extra_users}"
            ),
        );
    }

    fn write(&self, rel: &str, text: &str) {
        self.dir.write(rel, text);
    }

    fn node_dir(&self) -> PathBuf {
        self.dir.path().join(".redisctl/dev/run/node-0")
    }

    fn run(&self, args: &[&str]) -> Run {
        Run::unbounded(self.dir.cmd_on().args(args))
    }

    fn start(&self) -> KillOnDrop {
        let dir = self.node_dir();
        std::fs::copy(dir.join("redis.conf"), dir.join("runtime.conf")).unwrap();
        let server = KillOnDrop(
            Command::new("redis-server")
                .arg("runtime.conf")
                .current_dir(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server is installed (scripts/test installs it)"),
        );
        let start = Instant::now();
        while redis(self.port, "ops", OPS_PASSWORD, &["PING"]).is_err() || !dir.join("redis.pid").exists() {
            assert!(start.elapsed() < Duration::from_secs(10), "redis-server did not start: {}", log(&dir));
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
}

fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("redis.log")).unwrap_or_default()
}

fn apply(p: &Project, extra: &[&str]) -> String {
    let mut args = vec!["apply", "--env", "dev", "--auto-approve", "--no-color"];
    args.extend_from_slice(extra);
    let o = p.run(&args);
    assert!(o.success(), "{}", o.text());
    o.text()
}

/// An apply that leaves changes planned on purpose (a restart without --allow-restart, a
/// rotation waiting for --finish-rotation): exit 2 and "Apply incomplete!", never "complete".
fn apply_incomplete(p: &Project, extra: &[&str]) -> String {
    let mut args = vec!["apply", "--env", "dev", "--auto-approve", "--no-color"];
    args.extend_from_slice(extra);
    let o = p.run(&args);
    assert_eq!(o.code, Some(2), "{}", o.text());
    assert!(o.text().contains("Apply incomplete!") && !o.text().contains("Apply complete!"), "{}", o.text());
    o.text()
}

fn plan(p: &Project) -> String {
    p.run(&["plan", "--env", "dev", "--no-color"]).text()
}

fn pid(server: &KillOnDrop) -> String {
    format!("{}", server.id())
}

#[test]
fn live_settings_drift_and_restart_required_changes() {
    let p = Project::new();
    apply(&p, &["--files-only"]);
    let server = p.start();
    assert!(plan(&p).contains("No changes."), "{}", plan(&p));

    // A contract change that CONFIG SET can apply: one live change on the node, plus the file.
    p.contract("128mb", "", "");
    let planned = plan(&p);
    assert!(planned.contains("~ redis-config:node-0/maxmemory"), "{planned}");
    assert!(planned.contains("applied live"), "{planned}");
    assert!(planned.contains("64mb → 128mb"), "{planned}");
    let before = pid(&server);
    apply(&p, &[]);
    assert_eq!(config_get(p.port, "maxmemory"), (128u64 << 20).to_string());
    assert_eq!(pid(&server), before, "no restart");
    assert!(redis(p.port, "ops", OPS_PASSWORD, &["PING"]).is_ok());
    assert!(plan(&p).contains("No changes."), "{}", plan(&p));

    // Two live settings of one node go in one (atomic) CONFIG SET.
    let config_sets = || -> u64 {
        let info = match redis(p.port, "ops", OPS_PASSWORD, &["INFO", "commandstats"]).unwrap() {
            redis::Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
            redis::Value::VerbatimString { text, .. } => text,
            other => panic!("{other:?}"),
        };
        let line = info.lines().find(|l| l.starts_with("cmdstat_config|set:")).unwrap_or("calls=0,");
        line.split("calls=").nth(1).and_then(|r| r.split(',').next()).unwrap().parse().unwrap()
    };
    let before_sets = config_sets();
    p.contract("128mb", "    maxmemory-samples: 7\n    lazyfree-lazy-eviction: \"yes\"\n", "");
    let two = plan(&p);
    assert!(
        two.contains("redis-config:node-0/maxmemory-samples")
            && two.contains("redis-config:node-0/lazyfree-lazy-eviction"),
        "{two}"
    );
    apply(&p, &[]);
    assert_eq!(config_sets(), before_sets + 1, "one CONFIG SET for both settings");
    assert_eq!(config_get(p.port, "maxmemory-samples"), "7");
    assert_eq!(config_get(p.port, "lazyfree-lazy-eviction"), "yes");
    p.contract("128mb", "", "");
    apply(&p, &[]);

    // A hand CONFIG SET is drift, and apply puts the contract's value back.
    redis(p.port, "ops", OPS_PASSWORD, &["CONFIG", "SET", "maxmemory", "1gb"]).unwrap();
    let drift = plan(&p);
    assert!(drift.starts_with("Drift: objects changed outside redisctl"), "{drift}");
    assert!(drift.contains("redis-config:node-0/maxmemory"), "{drift}");
    apply(&p, &[]);
    assert_eq!(config_get(p.port, "maxmemory"), (128u64 << 20).to_string());

    // `databases` only changes with a restart: planned as such, skipped without --allow-restart.
    p.contract("128mb", "    databases: 32\n", "");
    let restart = plan(&p);
    assert!(restart.contains("redis-config:node-0/databases") && restart.contains("needs a restart"), "{restart}");
    let applied = apply_incomplete(&p, &[]);
    assert!(
        applied.contains("Skipped redis-config:node-0/databases") && applied.contains("--allow-restart"),
        "{applied}"
    );
    assert_eq!(config_get(p.port, "databases"), "16");
    drop(server);
}

#[test]
fn a_directive_removed_from_the_contract_goes_back_to_the_redis_default_live() {
    let p = Project::new();
    p.contract("64mb", "    maxmemory-samples: 7\n    lazyfree-lazy-eviction: \"yes\"\n", "");
    apply(&p, &["--files-only"]);
    let server = p.start();
    apply(&p, &[]); // records what redisctl manages on the node
    assert_eq!(config_get(p.port, "maxmemory-samples"), "7");

    // Both lines leave the contract: each goes back to the default of the directive table.
    p.contract("64mb", "", "");
    let planned = plan(&p);
    assert!(planned.contains("~ redis-config:node-0/maxmemory-samples"), "{planned}");
    assert!(planned.contains("7 → 5") && planned.contains("yes → no"), "{planned}");
    assert!(planned.contains("removed from the contract: back to the Redis default"), "{planned}");
    assert!(planned.contains("applied live"), "{planned}");
    let before = pid(&server);
    apply(&p, &[]);
    assert_eq!(config_get(p.port, "maxmemory-samples"), "5");
    assert_eq!(config_get(p.port, "lazyfree-lazy-eviction"), "no");
    assert_eq!(pid(&server), before, "no restart");
    let runtime = std::fs::read_to_string(p.node_dir().join("runtime.conf")).unwrap();
    // CONFIG REWRITE keeps a line it finds, with the new value: a restart keeps the default.
    assert!(runtime.contains("\nmaxmemory-samples 5\n"), "{runtime}");
    assert!(plan(&p).contains("No changes."), "{}", plan(&p));

    // Once back to its default, the directive is no longer redisctl's: a hand value stays.
    redis(p.port, "ops", OPS_PASSWORD, &["CONFIG", "SET", "maxmemory-samples", "9"]).unwrap();
    assert!(plan(&p).contains("No changes."), "{}", plan(&p));
}

#[test]
fn acl_users_are_created_rotated_and_removed_live() {
    let p = Project::new();
    apply(&p, &["--files-only"]);
    let _server = p.start();

    // Add a user.
    p.write("secrets/reporting", "Reporting-Password-Old\n");
    let user =
        "    - { name: reporting, password: { fromFile: secrets/reporting }, commands: [\"+@read\", \"+ping\"] }\n";
    p.contract("64mb", "", user);
    assert!(plan(&p).contains("+ acl-user:node-0/reporting"), "{}", plan(&p));
    apply(&p, &[]);
    assert!(redis(p.port, "reporting", "Reporting-Password-Old", &["PING"]).is_ok());

    // Rotate its password: both stay valid until --finish-rotation.
    p.write("secrets/reporting", "Reporting-Password-New\n");
    let rotation = plan(&p);
    assert!(rotation.contains("password rotation"), "{rotation}");
    // Without `previousPassword` the window lives on running nodes only, and the plan says so.
    assert!(rotation.contains("a node that restarts") && rotation.contains("`previousPassword`"), "{rotation}");
    apply_incomplete(&p, &[]);
    assert!(redis(p.port, "reporting", "Reporting-Password-New", &["PING"]).is_ok());
    assert!(redis(p.port, "reporting", "Reporting-Password-Old", &["PING"]).is_ok(), "old one still valid");
    let finishing = plan(&p);
    assert!(finishing.contains("finish password rotation"), "{finishing}");
    let skipped = apply_incomplete(&p, &[]);
    assert!(skipped.contains("--finish-rotation"), "{skipped}");
    apply(&p, &["--finish-rotation"]);
    assert!(redis(p.port, "reporting", "Reporting-Password-Old", &["PING"]).is_err(), "old one revoked");
    assert!(redis(p.port, "reporting", "Reporting-Password-New", &["PING"]).is_ok());
    assert!(plan(&p).contains("No changes."), "{}", plan(&p));

    // Remove it.
    p.contract("64mb", "", "");
    assert!(plan(&p).contains("- acl-user:node-0/reporting"), "{}", plan(&p));
    let removed = apply(&p, &[]);
    assert!(redis(p.port, "reporting", "Reporting-Password-New", &["PING"]).is_err());

    // No password, old or new, in any output.
    let outputs = [rotation, finishing, skipped, removed, plan(&p)];
    for o in outputs {
        for secret in ["Reporting-Password-Old", "Reporting-Password-New", APP_PASSWORD, OPS_PASSWORD] {
            assert!(!o.contains(secret), "leaked {secret}: {o}");
        }
    }
}

#[test]
fn a_rotation_window_with_previous_password_survives_a_restart() {
    let p = Project::new();
    p.write("secrets/reporting", "Reporting-Password-Old\n");
    let user = |password: &str, previous: &str| {
        format!(
            "    - {{ name: reporting, password: {{ fromFile: {password} }}{previous}, commands: [\"+@read\", \"+ping\"] }}\n"
        )
    };
    p.contract("64mb", "", &user("secrets/reporting", ""));
    apply(&p, &["--files-only"]);
    let server = p.start();
    assert!(redis(p.port, "reporting", "Reporting-Password-Old", &["PING"]).is_ok());

    // The window opens in the contract: both passwords valid, live and in the rendered file.
    p.write("secrets/reporting-new", "Reporting-Password-New\n");
    p.contract("64mb", "", &user("secrets/reporting-new", ", previousPassword: { fromFile: secrets/reporting }"));
    let opening = plan(&p);
    assert!(opening.contains("stays valid, in the rendered ACL file too"), "{opening}");
    let opened = apply(&p, &[]);
    assert!(opened.contains("Apply complete!"), "{opened}");
    let acl = std::fs::read_to_string(p.dir.path().join(".redisctl/dev/run/users.acl")).unwrap();
    let line = acl.lines().find(|l| l.starts_with("user reporting ")).unwrap();
    assert_eq!(line.matches(" #").count(), 2, "both hashes in the file: {line}");

    // The node restarts during the window (a crash, a host reboot): clients on either password
    // keep working.
    drop(server);
    let server = p.start();
    for password in ["Reporting-Password-Old", "Reporting-Password-New"] {
        assert!(redis(p.port, "reporting", password, &["PING"]).is_ok(), "{password} refused after a restart");
    }
    assert!(plan(&p).contains("No changes."), "{}", plan(&p));

    // The window closes: out of the contract first, then off the running node with the flag.
    p.contract("64mb", "", &user("secrets/reporting-new", ""));
    let closing = plan(&p);
    assert!(closing.contains("finish password rotation"), "{closing}");
    apply(&p, &["--finish-rotation"]);
    drop(server);
    let _server = p.start();
    assert!(redis(p.port, "reporting", "Reporting-Password-Old", &["PING"]).is_err(), "old one revoked");
    assert!(redis(p.port, "reporting", "Reporting-Password-New", &["PING"]).is_ok());
    assert!(plan(&p).contains("No changes."), "{}", plan(&p));
    for o in [opening, opened, closing, acl] {
        for secret in ["Reporting-Password-Old", "Reporting-Password-New"] {
            assert!(!o.contains(secret), "leaked {secret}: {o}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// `--live` on a systemd environment

const FLEET_PASSWORDS: [(&str, &str); 3] =
    [("ops", "Fleet-Ops-Password-71"), ("repl", "Fleet-Repl-Password-72"), ("app", "Fleet-App-Password-73")];

/// A `target: systemd` project whose one host is 127.0.0.1: a primary and a replica on free ports.
struct Fleet {
    dir: TempProject,
    base: u16,
}

impl Fleet {
    fn new() -> Fleet {
        let f = Fleet { dir: TempProject::new(&[]), base: common::free_port_block(2, false) };
        for (user, pass) in FLEET_PASSWORDS {
            f.write(&format!("secrets/{user}"), &format!("{pass}\n"));
        }
        f.contract("64mb", "");
        f.write(
            "environments/vm.yaml",
            &format!("target: systemd\nsystemd: {{ hosts: [\"127.0.0.1\"] }}\nports: {{ redis: {} }}\n", f.base),
        );
        f
    }

    fn contract(&self, maxmemory: &str, extra_config: &str) {
        self.write(
            "redisctl.yaml",
            &format!(
                "apiVersion: redisctl/v1\nservice: fleet\nredis:\n  version: \"7.0\"\n  workload: cache\n  \
                 maxmemoryPolicy: allkeys-lru\n  config:\n    timeout: 300\n    tcp-keepalive: 60\n{extra_config}\
                 resources: {{ maxmemory: {maxmemory} }}\ntopology: {{ mode: replication, replicas: 1 }}\nacl:\n  users:\n    \
                 - {{ name: ops, role: operator, password: {{ fromFile: secrets/ops }} }}\n    \
                 - {{ name: repl, role: replication, password: {{ fromFile: secrets/repl }} }}\n    \
                 - {{ name: app, password: {{ fromFile: secrets/app }}, keys: [\"fleet:*\"] }}\n"
            ),
        );
    }

    fn write(&self, rel: &str, text: &str) {
        self.dir.write(rel, text);
    }

    /// Run the binary; every output is checked for the plaintext passwords.
    fn run(&self, args: &[&str]) -> (bool, String) {
        let (code, text) = self.run_code(args);
        (code == Some(0), text)
    }

    /// `run`, with the exit code.
    fn run_code(&self, args: &[&str]) -> (Option<i32>, String) {
        let o = Run::unbounded(self.dir.cmd_on().args(args).arg("--no-color"));
        let text = o.text();
        for (_, pass) in FLEET_PASSWORDS {
            assert!(!text.contains(pass), "{args:?} printed a password: {text}");
        }
        (o.code, text)
    }

    #[track_caller]
    fn ok(&self, args: &[&str]) -> String {
        let (success, text) = self.run(args);
        assert!(success, "{args:?}: {text}");
        text
    }

    /// Start node-`i` as its systemd unit would, from a copy of the rendered file (CONFIG REWRITE
    /// rewrites the file a server runs from), with the VM paths moved into a temporary directory.
    fn start(&self, i: u16, workdir: &Path) -> common::RedisServer {
        let etc = self.dir.path().join("deploy/vm/etc/redis/fleet");
        let rendered = std::fs::read_to_string(etc.join(format!("node-{i}.conf"))).unwrap();
        runtime_conf(&rendered, &etc, workdir, "runtime.conf", "users.acl");
        let args = vec!["--masterauth".to_string(), FLEET_PASSWORDS[1].1.to_string()];
        let mut server = common::RedisServer::start(
            common::Kind::Server,
            &workdir.join("runtime.conf"),
            workdir,
            self.base + i,
            &args,
        );
        server.set_shutdown_auth("ops", FLEET_PASSWORDS[0].1);
        server
    }
}

fn ops(server: &common::RedisServer) -> common::Conn {
    server.connect_as("ops", FLEET_PASSWORDS[0].1)
}

fn fleet_config(server: &common::RedisServer, name: &str) -> String {
    ops(server).must(&["CONFIG", "GET", name]).pairs().remove(name).unwrap_or_default()
}

fn run_id(server: &common::RedisServer) -> String {
    common::info_fields(&ops(server).must(&["INFO", "server"]).text())["run_id"].clone()
}

#[test]
fn a_systemd_environment_is_planned_and_applied_live_with_the_live_flag() {
    common::require_redis();
    let f = Fleet::new();
    f.ok(&["apply", "--env", "vm", "--auto-approve"]);
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let nodes = [f.start(0, dirs[0].path()), f.start(1, dirs[1].path())];
    let quiet = f.ok(&["plan", "--env", "vm", "--live"]);
    assert!(quiet.contains("No changes."), "{quiet}");

    // A live setting changed in the contract: one live change per node, next to the files.
    f.contract("128mb", "");
    let without = f.ok(&["plan", "--env", "vm"]);
    assert!(!without.contains("redis-config:"), "servers are looked at only with --live: {without}");
    let live_plan = f.dir.path().join("live.plan").to_string_lossy().into_owned();
    let planned = f.ok(&["plan", "--env", "vm", "--live", "--out", &live_plan]);
    for node in ["node-0", "node-1"] {
        assert!(planned.contains(&format!("~ redis-config:{node}/maxmemory")), "{planned}");
    }
    assert!(planned.contains("applied live") && planned.contains("64mb → 128mb"), "{planned}");
    assert!(planned.contains("Plan: 0 to add, 4 to change, 0 to destroy."), "{planned}");
    let ids: Vec<String> = nodes.iter().map(run_id).collect();
    // The saved plan remembers --live: applying the file looks at the servers again.
    let applied = f.ok(&["apply", &live_plan]);
    assert!(applied.contains("Apply complete! Resources: 0 added, 4 changed, 0 destroyed."), "{applied}");
    for (node, id) in nodes.iter().zip(&ids) {
        assert_eq!(fleet_config(node, "maxmemory"), (128u64 << 20).to_string());
        assert_eq!(&run_id(node), id, "no restart");
    }
    assert!(f.ok(&["plan", "--env", "vm", "--live"]).contains("No changes."));

    // A saved live plan is stale once a server changed: the observation is in its fingerprint.
    f.contract("96mb", "");
    let stale_plan = f.dir.path().join("stale.plan").to_string_lossy().into_owned();
    f.ok(&["plan", "--env", "vm", "--live", "--out", &stale_plan]);
    ops(&nodes[1]).must(&["CONFIG", "SET", "timeout", "301"]);
    let (success, stale) = f.run(&["apply", &stale_plan]);
    assert!(!success && stale.contains("the saved plan is stale"), "{stale}");
    assert_eq!(fleet_config(&nodes[0], "maxmemory"), (128u64 << 20).to_string(), "nothing applied");

    // Hand drift on a managed setting is shown and put back by apply --live.
    ops(&nodes[0]).must(&["CONFIG", "SET", "maxmemory", "1gb"]);
    let drift = f.ok(&["plan", "--env", "vm", "--live"]);
    assert!(drift.contains("Drift") && drift.contains("redis-config:node-0/maxmemory"), "{drift}");
    f.ok(&["apply", "--env", "vm", "--live", "--auto-approve"]);
    for node in &nodes {
        assert_eq!(fleet_config(node, "maxmemory"), (96u64 << 20).to_string());
    }

    // A restart-required change: planned per node with the systemctl command that applies it,
    // and skipped even with --allow-restart (redisctl restarts only local stacks).
    f.contract("96mb", "    databases: 32\n");
    let restart = f.ok(&["plan", "--env", "vm", "--live"]);
    assert!(restart.contains("redis-config:node-1/databases") && restart.contains("needs a restart"), "{restart}");
    assert!(restart.contains("systemctl restart redis-fleet@node-1.service"), "{restart}");
    // Redisctl does not restart these services: the changes stay planned, apply exits 2.
    let (code, skipped) = f.run_code(&["apply", "--env", "vm", "--live", "--allow-restart", "--auto-approve"]);
    assert_eq!(code, Some(2), "{skipped}");
    assert!(skipped.contains("Apply incomplete!") && !skipped.contains("Apply complete!"), "{skipped}");
    assert!(
        skipped.contains("Skipped redis-config:node-0/databases")
            && skipped.contains("systemctl restart redis-fleet@node-0.service"),
        "{skipped}"
    );
    for (node, id) in nodes.iter().zip(&ids) {
        assert_eq!(fleet_config(node, "databases"), "16");
        assert_eq!(&run_id(node), id, "never restarted");
    }
    let rendered = std::fs::read_to_string(f.dir.path().join("deploy/vm/etc/redis/fleet/node-0.conf")).unwrap();
    assert!(rendered.contains("databases 32"), "the file a restart reads has it: {rendered}");

    // Other file-rendering targets refuse --live.
    f.write("environments/box.yaml", "target: compose\n");
    let (success, refused) = f.run(&["plan", "--env", "box", "--live"]);
    assert!(!success && refused.contains("--live works for targets `process` and `systemd`"), "{refused}");
}

/// Write `workdir/<file>`, a `rendered` node or Sentinel config with its VM paths moved into
/// `workdir` (Redis reads `dir` while parsing, before arguments), next to a copy of the ACL
/// file `acl` rendered in `etc`.
fn runtime_conf(rendered: &str, etc: &Path, workdir: &Path, file: &str, acl: &str) {
    let local: String = rendered
        .lines()
        .map(|l| match l.split_once(' ').map(|(k, _)| k) {
            Some("dir") => "dir .".to_string(),
            Some("aclfile") => format!("aclfile {acl}"),
            Some("supervised") => "supervised no".to_string(),
            Some("logfile") => "logfile redis.log".to_string(),
            _ => l.to_string(),
        })
        .map(|l| l + "\n")
        .collect();
    std::fs::write(workdir.join(file), local).unwrap();
    std::fs::copy(etc.join(acl), workdir.join(acl)).unwrap();
}

#[test]
fn a_systemd_node_serving_tls_is_planned_and_applied_live() {
    let f = Fleet::new();
    let certs = f.dir.path().join("tls");
    common::test_certificates(&certs);
    let file = |name: &str| certs.join(name).to_string_lossy().into_owned();
    let tls = format!(
        "security:\n  tls: {{ enabled: true, certFile: \"{}\", keyFile: \"{}\", caFile: \"{}\" }}\n",
        file("node.crt"),
        file("node.key"),
        file("ca.crt")
    );
    let base = std::fs::read_to_string(f.dir.path().join("redisctl.yaml")).unwrap();
    let standalone = base.replace("{ mode: replication, replicas: 1 }", "{ mode: standalone }");
    f.write("redisctl.yaml", &format!("{standalone}{tls}"));
    f.ok(&["apply", "--env", "vm", "--auto-approve"]);

    let work = tempfile::tempdir().unwrap();
    let etc = f.dir.path().join("deploy/vm/etc/redis/fleet");
    let rendered = std::fs::read_to_string(etc.join("node-0.conf")).unwrap();
    assert!(rendered.contains(&format!("tls-port {}", f.base)) && rendered.contains("port 0"), "{rendered}");
    runtime_conf(&rendered, &etc, work.path(), "runtime.conf", "users.acl");
    let _server = KillOnDrop(
        Command::new("redis-server")
            .arg("runtime.conf")
            .current_dir(work.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed"),
    );
    // The test's own TLS client, with the same CA and certificate.
    let tls_con = || common::tls_connection(f.base, &certs, "ops", FLEET_PASSWORDS[0].1);
    let start = Instant::now();
    while tls_con().is_err() {
        assert!(start.elapsed() < Duration::from_secs(10), "no TLS answer: {}", log(work.path()));
        std::thread::sleep(Duration::from_millis(50));
    }
    let maxmemory = || -> String {
        let v: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("maxmemory").query(&mut tls_con().unwrap()).unwrap();
        v[1].clone()
    };

    assert!(f.ok(&["plan", "--env", "vm", "--live"]).contains("No changes."));
    f.write("redisctl.yaml", &format!("{}{tls}", standalone.replace("maxmemory: 64mb", "maxmemory: 128mb")));
    let planned = f.ok(&["plan", "--env", "vm", "--live"]);
    assert!(planned.contains("~ redis-config:node-0/maxmemory") && planned.contains("64mb → 128mb"), "{planned}");
    f.ok(&["apply", "--env", "vm", "--live", "--auto-approve"]);
    assert_eq!(maxmemory(), (128u64 << 20).to_string());
    assert!(f.ok(&["plan", "--env", "vm", "--live"]).contains("No changes."));
}

/// With TLS on, Sentinels listen on the TLS port only, like the nodes: `--live` reaches them
/// over TLS, as the `role: sentinel` user their ACL file admits, and puts a hand change back.
#[test]
fn a_systemd_sentinel_serving_tls_is_planned_and_applied_live() {
    common::require_redis();
    let dir = tempfile::tempdir().unwrap();
    let p = |rel: &str| dir.path().join(rel).to_string_lossy().into_owned();
    common::test_certificates(&dir.path().join("tls"));
    const SENTINEL_PASSWORD: &str = "Fleet-Sentinel-Password-74";
    for (user, pass) in FLEET_PASSWORDS.iter().chain(&[("sent", SENTINEL_PASSWORD)]) {
        std::fs::create_dir_all(dir.path().join("secrets")).unwrap();
        std::fs::write(dir.path().join(format!("secrets/{user}")), format!("{pass}\n")).unwrap();
    }
    let (redis_port, sentinel_port) = (common::free_port_block(2, false), common::free_port_block(3, false));
    std::fs::write(
        dir.path().join("redisctl.yaml"),
        format!(
            "apiVersion: redisctl/v1\nservice: fleet\nredis: {{ version: \"7.0\", workload: cache, maxmemoryPolicy: allkeys-lru, \
             config: {{ timeout: 300, tcp-keepalive: 60 }} }}\nresources: {{ maxmemory: 64mb }}\n\
             topology: {{ mode: sentinel, replicas: 1, sentinels: 3 }}\n\
             security:\n  tls: {{ enabled: true, certFile: \"{}\", keyFile: \"{}\", caFile: \"{}\" }}\nacl:\n  users:\n    \
             - {{ name: ops, role: operator, password: {{ fromFile: secrets/ops }} }}\n    \
             - {{ name: repl, role: replication, password: {{ fromFile: secrets/repl }} }}\n    \
             - {{ name: sent, role: sentinel, password: {{ fromFile: secrets/sent }} }}\n    \
             - {{ name: app, password: {{ fromFile: secrets/app }}, keys: [\"fleet:*\"] }}\n",
            p("tls/node.crt"),
            p("tls/node.key"),
            p("tls/ca.crt")
        ),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("environments")).unwrap();
    std::fs::write(
        dir.path().join("environments/vm.yaml"),
        format!(
            "target: systemd\nsystemd: {{ hosts: [\"127.0.0.1\"] }}\nports: {{ redis: {redis_port}, sentinel: {sentinel_port} }}\n"
        ),
    )
    .unwrap();
    let run = |args: &[&str]| -> (bool, String) {
        let o = Run::unbounded(common::redisctl_on(dir.path()).args(args).arg("--no-color"));
        let text = o.text();
        for (_, pass) in FLEET_PASSWORDS.iter().chain(&[("sent", SENTINEL_PASSWORD)]) {
            assert!(!text.contains(pass), "{args:?} printed a password: {text}");
        }
        (o.success(), text)
    };
    let (ok, text) = run(&["apply", "--env", "vm", "--auto-approve"]);
    assert!(ok, "{text}");

    // sentinel-0 as the systemd unit would start it, from a copy of its rendered file (the nodes
    // are not running: Sentinel settings are readable and settable without them).
    let work = tempfile::tempdir().unwrap();
    let etc = dir.path().join("deploy/vm/etc/redis/fleet");
    let rendered = std::fs::read_to_string(etc.join("sentinel-0.conf")).unwrap();
    assert!(rendered.contains(&format!("tls-port {sentinel_port}")) && rendered.contains("port 0"), "{rendered}");
    runtime_conf(&rendered, &etc, work.path(), "sentinel.conf", "sentinel-users.acl");
    let _sentinel = KillOnDrop(
        Command::new("redis-sentinel")
            .args(["sentinel.conf", "--sentinel", "auth-pass", "fleet", SENTINEL_PASSWORD])
            .args(["--sentinel", "sentinel-pass", SENTINEL_PASSWORD])
            .current_dir(work.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-sentinel is installed"),
    );
    let sentinel = || common::tls_connection(sentinel_port, &dir.path().join("tls"), "sent", SENTINEL_PASSWORD);
    let start = Instant::now();
    while sentinel().is_err() {
        assert!(start.elapsed() < Duration::from_secs(10), "no TLS answer from the Sentinel");
        std::thread::sleep(Duration::from_millis(50));
    }

    let (ok, text) = run(&["plan", "--env", "vm", "--live"]);
    assert!(ok && text.contains("No changes."), "{text}");
    redis::cmd("SENTINEL")
        .arg("SET")
        .arg("fleet")
        .arg("down-after-milliseconds")
        .arg("7000")
        .exec(&mut sentinel().unwrap())
        .unwrap();
    let (ok, text) = run(&["plan", "--env", "vm", "--live"]);
    assert!(ok && text.contains("sentinel-config:sentinel-0/down-after-milliseconds"), "{text}");
    let (ok, text) = run(&["apply", "--env", "vm", "--live", "--auto-approve"]);
    assert!(ok, "{text}");
    let master: std::collections::HashMap<String, String> =
        redis::cmd("SENTINEL").arg("MASTER").arg("fleet").query(&mut sentinel().unwrap()).unwrap();
    assert_eq!(master["down-after-milliseconds"], "5000", "{master:?}");
}

/// #15 item 13: a port held by a program that does not speak Redis, and a server that hangs,
/// are named with their address and what is wrong, within the command timeout.
#[test]
fn a_port_that_is_not_redis_or_does_not_answer_is_named_clearly() {
    use std::io::{Read, Write};
    let f = Fleet::new();
    f.ok(&["apply", "--env", "vm", "--auto-approve"]);
    // Bind the two ports of the fleet: node-0 answers like a web server, node-1 never answers.
    let garbage = std::net::TcpListener::bind(("127.0.0.1", f.base)).unwrap();
    let silent = std::net::TcpListener::bind(("127.0.0.1", f.base + 1)).unwrap();
    std::thread::spawn(move || {
        for mut s in garbage.incoming().flatten() {
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.0 400 Bad Request\r\n\r\n");
        }
    });
    let _held = std::thread::spawn(move || {
        let held: Vec<_> = silent.incoming().take(8).flatten().collect();
        std::thread::sleep(Duration::from_secs(60));
        drop(held);
    });

    let started = Instant::now();
    let (code, text) = f.run_code(&["plan", "--env", "vm", "--live"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains(&format!("127.0.0.1:{}", f.base)), "{text}");
    assert!(text.contains("not the Redis protocol"), "{text}");
    assert!(!text.contains("Incompatible type") && !text.contains("os error 11"), "{text}");

    // With node-0 out of the way (a fleet whose only node is the silent one).
    f.write(
        "environments/vm.yaml",
        &format!("target: systemd\nsystemd: {{ hosts: [\"127.0.0.1\"] }}\nports: {{ redis: {} }}\n", f.base + 1),
    );
    f.contract("64mb", "");
    let (_, text) = f.run_code(&["plan", "--env", "vm", "--live"]);
    assert!(text.contains("no answer within the timeout"), "{text}");
    assert!(!text.contains("os error 11"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(40), "took {:?}", started.elapsed());
}
