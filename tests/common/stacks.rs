//! A local stack brought up with the real binary (`apply --env dev` of a `target: process`
//! project in a temporary directory) for the import and drill tests, always destroyed on drop
//! (with its data: nothing of a test stays behind).

use std::path::Path;
use std::time::Duration;

use super::{free_port_block, redisctl_on, Run, TempProject};

/// The passwords of the stack's users, by user (the files under `secrets/`).
pub const PASSWORDS: [(&str, &str); 4] = [
    ("app", "app-Import-Drill-Pw"),
    ("repl", "repl-Import-Drill-Pw"),
    ("watcher", "watcher-Import-Drill-Pw"),
    ("ops", "ops-Import-Drill-Pw"),
];

pub fn password(user: &str) -> &'static str {
    PASSWORDS.iter().find(|(u, _)| *u == user).map(|(_, p)| *p).unwrap()
}

pub struct LocalStack {
    pub dir: TempProject,
    /// The first node port and the first Sentinel port.
    pub base: u16,
    pub sentinel_base: u16,
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        let _ = Run::unbounded(redisctl_on(self.dir.path()).args([
            "destroy",
            "--env",
            "dev",
            "--auto-approve",
            "--purge-data",
        ]));
    }
}

impl LocalStack {
    /// A `service: stack` project of `topology` (YAML flow map) with AOF, four users, and
    /// `extra_base` appended to redisctl.yaml; brought up with `apply`.
    pub fn up(topology: &str, extra_base: &str) -> LocalStack {
        let dir = TempProject::new(&[]);
        for (user, pw) in PASSWORDS {
            dir.write(&format!("secrets/{user}"), format!("{pw}\n"));
        }
        dir.write(
            "redisctl.yaml",
            format!(
                r#"apiVersion: redisctl/v1
service: stack
redis: {{ version: "7.0", workload: state, maxmemoryPolicy: noeviction, persistence: {{ mode: aof }},
         config: {{ repl-diskless-sync-delay: 0, timeout: 300 }} }}
keyspace: {{ prefix: stack }}
acl:
  users:
    - {{ name: app, password: {{ fromFile: secrets/app }}, commands: ["+@read", "+@write", "+ping", "+wait", "+cluster|slots", "+cluster|nodes", "+cluster|shards", "-@dangerous"] }}
    - {{ name: repl, role: replication, password: {{ fromFile: secrets/repl }} }}
    - {{ name: watcher, role: sentinel, password: {{ fromFile: secrets/watcher }} }}
    - {{ name: ops, role: operator, password: {{ fromFile: secrets/ops }} }}
resources: {{ maxmemory: 64mb }}
{extra_base}"#
            ),
        );
        let cluster = topology.contains("cluster");
        let base = free_port_block(25, cluster);
        dir.write(
            "environments/dev.yaml",
            format!("topology: {topology}\nports: {{ redis: {base}, sentinel: {} }}\n", base + 20),
        );
        let stack = LocalStack { dir, base, sentinel_base: base + 20 };
        stack.ok(&["apply", "--env", "dev", "--auto-approve"]);
        stack
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::unbounded(redisctl_on(self.path()).args(args))
    }

    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(o.success(), "{args:?}: {}", o.show());
        o.text()
    }

    /// A connection to 127.0.0.1:`port` as `user`.
    pub fn connection(port: u16, user: &str) -> redis::Connection {
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
        let mut con = client.get_connection_with_timeout(Duration::from_secs(2)).unwrap();
        con.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        redis::cmd("AUTH").arg(user).arg(password(user)).exec(&mut con).unwrap();
        con
    }

    /// Write `n` keys `<prefix>:<i>` through the node at `port` (a cluster node gets the keys
    /// of its own slots only: the caller writes through each primary).
    pub fn fill(port: u16, prefix: &str, n: usize) -> usize {
        let mut con = Self::connection(port, "app");
        let mut written = 0;
        for i in 0..n {
            let key = format!("{prefix}:{i}");
            if redis::cmd("SET").arg(&key).arg(i).exec(&mut con).is_ok() {
                written += 1;
            }
        }
        written
    }
}
