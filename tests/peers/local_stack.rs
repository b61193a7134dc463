//! `apply` of a `target: process` environment brings a real local stack up (redis-server and
//! redis-sentinel 7.0 on 127.0.0.1), `status` reports it, `connect` output is enough for a
//! client to find the primary and write, `destroy` stops it and keeps the data.
//! A guard destroys the stack even when an assertion fails.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{self, Run, TempProject};

struct Stack {
    dir: TempProject,
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = run(self.dir.path(), &["destroy", "--env", "dev", "--auto-approve"]);
    }
}

fn run(dir: &Path, args: &[&str]) -> Run {
    Run::unbounded(common::redisctl_on(dir).args(args))
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = run(dir, args);
    let text = o.text();
    assert!(o.success(), "{args:?}: {text}");
    text
}

fn project(topology: &str) -> Stack {
    project_with(topology, "aof")
}

/// A test project with `redis.persistence.mode` set to `persistence`.
fn project_with(topology: &str, persistence: &str) -> Stack {
    let dir = TempProject::new(&[]);
    let w = |rel: &str, text: &str| dir.write(rel, text);
    for s in ["app", "repl", "sentinel", "ops"] {
        w(&format!("secrets/{s}"), &format!("{s}-Local-Stack-Test\n"));
    }
    w(
        "redisctl.yaml",
        r#"apiVersion: redisctl/v1
service: stack
redis: { version: "7.0", workload: state, maxmemoryPolicy: noeviction, persistence: { mode: PERSISTENCE },
         config: { repl-diskless-sync-delay: 0 } }
keyspace: { prefix: stack }
acl:
  users:
    - { name: app, password: { fromFile: secrets/app }, commands: ["+@read", "+@write", "+ping", "+wait", "-@dangerous"] }
    - { name: repl, role: replication, password: { fromFile: secrets/repl } }
    - { name: watcher, role: sentinel, password: { fromFile: secrets/sentinel } }
    - { name: ops, role: operator, password: { fromFile: secrets/ops } }
resources: { maxmemory: 64mb }
"#
        .replace("PERSISTENCE", persistence)
        .as_str(),
    );
    // 25 ports: redis from `base`, Sentinels from `base + 20`; and their cluster bus ports
    // (+10000) for a cluster only, the one topology whose nodes bind them.
    let base = common::free_port_block(25, topology.contains("cluster"));
    w("environments/dev.yaml", &format!("topology: {topology}\nports: {{ redis: {base}, sentinel: {} }}\n", base + 20));
    Stack { dir }
}

/// `connect --format json`, plus where the project is (password references are relative to it).
fn connect_config(dir: &Path) -> serde_json::Value {
    let mut config: serde_json::Value =
        serde_json::from_str(&ok(dir, &["connect", "--env", "dev", "--format", "json"])).unwrap();
    config["projectDir"] = serde_json::json!(dir.display().to_string());
    config
}

/// The primary a Sentinel reports, asked as a Sentinel-aware client does: logged in with the
/// user and password reference the connect output gives for the Sentinels.
fn sentinel_primary(config: &serde_json::Value) -> Result<String, String> {
    let sentinel = config["sentinel"]["endpoints"][0].as_str().unwrap();
    let user = config["sentinel"]["username"].as_str().expect("connect names the Sentinel user");
    let file = config["sentinel"]["passwordRef"]["fromFile"].as_str().expect("and its password reference");
    let password = std::fs::read_to_string(Path::new(config["projectDir"].as_str().unwrap()).join(file)).unwrap();
    let mut con = app_connection(sentinel, user, password.trim())?;
    let addr: Vec<String> = redis::cmd("SENTINEL")
        .arg("GET-MASTER-ADDR-BY-NAME")
        .arg(config["sentinel"]["masterName"].as_str().unwrap())
        .query(&mut con)
        .map_err(|e| e.to_string())?;
    Ok(format!("{}:{}", addr[0], addr[1]))
}

/// A connection to `addr` as `user`.
fn app_connection(addr: &str, user: &str, password: &str) -> Result<redis::Connection, String> {
    let client = redis::Client::open(format!("redis://{addr}/")).map_err(|e| e.to_string())?;
    let mut con = client.get_connection_with_timeout(Duration::from_secs(1)).map_err(|e| e.to_string())?;
    con.set_read_timeout(Some(Duration::from_secs(3))).map_err(|e| e.to_string())?;
    redis::cmd("AUTH").arg(user).arg(password).exec(&mut con).map_err(|e| e.to_string())?;
    Ok(con)
}

/// Write `key` on the primary Sentinel reports and `WAIT` for one replica: `Ok(true)` when the
/// write is acknowledged by a replica, `Ok(false)` when it was written but not replicated in time.
fn acknowledged_write(config: &serde_json::Value, password: &str, key: &str) -> Result<bool, String> {
    let mut con = app_connection(&sentinel_primary(config)?, config["username"].as_str().unwrap(), password)?;
    redis::cmd("SET").arg(key).arg(key).exec(&mut con).map_err(|e| e.to_string())?;
    let replicas: u32 = redis::cmd("WAIT").arg(1).arg(1000).query(&mut con).map_err(|e| e.to_string())?;
    Ok(replicas >= 1)
}

fn connect_and_write(config: &serde_json::Value, password: &str) -> String {
    let primary = if config["mode"] == "sentinel" {
        sentinel_primary(config).unwrap()
    } else {
        config["endpoints"][0].as_str().unwrap().to_string()
    };
    let key = format!("{}:greeting", config["keyPrefix"].as_str().unwrap());
    let mut addr = primary;
    // Follow a cluster's MOVED redirect, as a cluster-aware client does.
    for _ in 0..3 {
        let client = redis::Client::open(format!("redis://{addr}/")).unwrap();
        let mut con = client.get_connection().unwrap();
        redis::cmd("AUTH").arg(config["username"].as_str().unwrap()).arg(password).exec(&mut con).unwrap();
        match redis::cmd("SET").arg(&key).arg("hello").exec(&mut con) {
            Ok(()) => return redis::cmd("GET").arg(&key).query(&mut con).unwrap(),
            Err(e) if e.to_string().to_ascii_uppercase().contains("MOVED") => {
                assert_eq!(config["mode"], "cluster", "only a cluster redirects: {e}");
                addr = e.to_string().split_whitespace().last().unwrap().to_string();
            }
            Err(e) => panic!("SET failed: {e}"),
        }
    }
    panic!("too many redirects")
}

fn exercise(topology: &str, members: usize, primaries: usize) {
    let stack = project(topology);
    let dir = stack.dir.path();
    let applied = ok(dir, &["apply", "--env", "dev", "--auto-approve", "--no-color"]);
    assert!(applied.contains("Apply complete!"), "{applied}");
    assert!(applied.contains("\n      starts redis-server on 127.0.0.1:") && !applied.contains("{\""), "{applied}");
    assert!(ok(dir, &["plan", "--env", "dev"]).contains("No changes."));

    // The runtime configs hold passwords (masterauth, Sentinel auth-pass): the run directory and
    // every member directory are the owner's only, whatever mode Redis rewrites the files with.
    let run = dir.join(".redisctl/dev/run");
    let private =
        |p: &Path| std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(p).unwrap().permissions()) & 0o077 == 0;
    assert!(private(&run), "{} is readable by others", run.display());
    for entry in std::fs::read_dir(&run).unwrap().flatten().filter(|e| e.path().is_dir()) {
        assert!(private(&entry.path()), "{} is readable by others", entry.path().display());
    }

    let status: serde_json::Value =
        serde_json::from_str(&ok(dir, &["status", "--env", "dev", "--format", "json"])).unwrap();
    let list = status["members"].as_array().unwrap();
    assert_eq!(list.len(), members, "{status:#}");
    assert!(list.iter().all(|m| m["up"] == true), "{status:#}");
    assert_eq!(list.iter().filter(|m| m["role"] == "primary").count(), primaries, "{status:#}");
    // No password on any process's command line (/proc/*/cmdline is readable by every user).
    for m in list {
        let pid = m["pid"].as_u64().unwrap();
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        for s in ["app", "repl", "sentinel", "ops"] {
            assert!(!cmdline.contains(&format!("{s}-Local-Stack-Test")), "{}: {cmdline}", m["name"]);
        }
    }

    // The connect output alone is enough to reach the primary.
    let config: serde_json::Value = connect_config(dir);
    assert_eq!(config["passwordRef"]["fromFile"], "secrets/app");
    let password = std::fs::read_to_string(dir.join(config["passwordRef"]["fromFile"].as_str().unwrap())).unwrap();
    assert_eq!(connect_and_write(&config, password.trim()), "hello");

    // Destroy stops everything and keeps the data; apply brings it back with the data.
    let destroyed = ok(dir, &["destroy", "--env", "dev", "--auto-approve", "--no-color"]);
    assert!(destroyed.contains("Destroy complete!"), "{destroyed}");
    // The plan says what stops, in words (not `(none) → (none)`).
    assert!(destroyed.contains("\n      stops redis-server on 127.0.0.1:"), "{destroyed}");
    assert!(!destroyed.contains("(none)"), "{destroyed}");
    let down: serde_json::Value =
        serde_json::from_str(&ok(dir, &["status", "--env", "dev", "--format", "json"])).unwrap();
    assert!(down["members"].as_array().unwrap().iter().all(|m| m["up"] == false), "{down:#}");
    ok(dir, &["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(connect_and_write(&config, password.trim()), "hello");
    drop(stack);
}

#[test]
fn a_standalone_stack_comes_up_and_keeps_its_data() {
    exercise("{ mode: standalone }", 1, 1);
}

#[test]
fn a_sentinel_stack_comes_up_and_clients_find_the_primary() {
    exercise("{ mode: sentinel, replicas: 1, sentinels: 3 }", 5, 1);
}

/// A Sentinel connection as the `role: sentinel` user, the one its ACL allows SENTINEL SET.
fn sentinel_admin(addr: &str) -> redis::Connection {
    app_connection(addr, "watcher", "sentinel-Local-Stack-Test").unwrap()
}

#[test]
fn sentinels_refuse_anonymous_clients_and_let_applications_only_discover() {
    let stack = project("{ mode: sentinel, replicas: 1, sentinels: 3 }");
    let dir = stack.dir.path();
    let mut outputs = vec![ok(dir, &["apply", "--env", "dev", "--auto-approve", "--no-color"])];
    let config = connect_config(dir);
    assert_eq!(config["sentinel"]["username"], "app", "{config:#}");
    assert_eq!(config["sentinel"]["passwordRef"]["fromFile"], "secrets/app", "{config:#}");
    let env = ok(dir, &["connect", "--env", "dev", "--format", "env"]);
    assert!(env.contains("REDIS_SENTINEL_USERNAME=app\nREDIS_SENTINEL_PASSWORD_FILE=secrets/app\n"), "{env}");
    outputs.push(env);
    let sentinels: Vec<String> =
        config["sentinel"]["endpoints"].as_array().unwrap().iter().map(|e| e.as_str().unwrap().into()).collect();
    assert_eq!(sentinels.len(), 3);

    for addr in &sentinels {
        // Without a login, a Sentinel answers nothing, not even where the primary is.
        let client = redis::Client::open(format!("redis://{addr}/")).unwrap();
        let mut anonymous = client.get_connection_with_timeout(Duration::from_secs(1)).unwrap();
        let refused = redis::cmd("SENTINEL")
            .arg(&["GET-MASTER-ADDR-BY-NAME", "stack"])
            .query::<Vec<String>>(&mut anonymous)
            .unwrap_err();
        assert_eq!(refused.code(), Some("NOAUTH"), "{addr}: {refused}");

        // The application logs in with its own password and discovers the primary ...
        let mut app = app_connection(addr, "app", "app-Local-Stack-Test").unwrap();
        let primary: Vec<String> =
            redis::cmd("SENTINEL").arg(&["GET-MASTER-ADDR-BY-NAME", "stack"]).query(&mut app).unwrap();
        assert_eq!(primary[0], "127.0.0.1", "{addr}: {primary:?}");
        let replicas: Vec<redis::Value> = redis::cmd("SENTINEL").arg(&["REPLICAS", "stack"]).query(&mut app).unwrap();
        assert_eq!(replicas.len(), 1, "{addr}");
        // ... but cannot reconfigure, fail over or stop the Sentinels.
        for words in
            [&["SENTINEL", "SET", "stack", "quorum", "1"][..], &["SENTINEL", "FAILOVER", "stack"], &["SHUTDOWN"]]
        {
            let e = redis::cmd(words[0]).arg(&words[1..]).query::<redis::Value>(&mut app).unwrap_err();
            assert_eq!(e.code(), Some("NOPERM"), "{addr} {words:?}: {e}");
        }
    }

    // The Sentinels log in to each other (sentinel-user/sentinel-pass): past down-after-milliseconds
    // (5 s), a Sentinel whose PINGs were refused with NOAUTH would be subjectively down and not
    // usable. Every Sentinel sees the other two up, and all three count for the quorum.
    std::thread::sleep(Duration::from_secs(6));
    for addr in &sentinels {
        let mut admin = sentinel_admin(addr);
        let others: Vec<std::collections::HashMap<String, String>> =
            redis::cmd("SENTINEL").arg(&["SENTINELS", "stack"]).query(&mut admin).unwrap();
        assert_eq!(others.len(), 2, "{addr}: {others:?}");
        assert!(others.iter().all(|o| o["flags"] == "sentinel"), "{addr}: {others:?}");
        let quorum: String = redis::cmd("SENTINEL").arg(&["CKQUORUM", "stack"]).query(&mut admin).unwrap();
        assert!(quorum.starts_with("OK 3 usable Sentinels"), "{addr}: {quorum}");
    }

    // redisctl itself logs in: status reads every Sentinel, and plan reads their settings.
    let status = ok(dir, &["status", "--env", "dev", "--format", "json"]);
    let parsed: serde_json::Value = serde_json::from_str(&status).unwrap();
    for m in parsed["members"].as_array().unwrap().iter().filter(|m| m["kind"] == "sentinel") {
        assert!(m["error"].is_null() && m["master_addr"].is_string(), "{m:#}");
    }
    outputs.push(status);
    let plan = ok(dir, &["plan", "--env", "dev", "--no-color"]);
    assert!(plan.contains("No changes.") && !plan.contains("not reachable"), "{plan}");
    outputs.push(plan);

    // No password in any output or rendered file (Sentinel's own runtime.conf, which it
    // rewrites with the auth-pass and sentinel-pass it was started with, is mode 0600).
    let passwords = ["app", "repl", "sentinel", "ops"].map(|s| format!("{s}-Local-Stack-Test"));
    let rendered: Vec<_> = common::files(&dir.join(".redisctl/dev/run"))
        .into_iter()
        .map(|(_, path)| path)
        .filter(|path| path.extension().is_some_and(|e| e == "conf" || e == "acl") && !path.ends_with("runtime.conf"))
        .collect();
    assert!(rendered.iter().any(|p| p.ends_with("sentinel-users.acl")), "{rendered:?}");
    for path in &rendered {
        let text = std::fs::read_to_string(path).unwrap();
        for p in &passwords {
            assert!(!text.contains(p.as_str()), "{} holds a password", path.display());
        }
    }
    for out in &outputs {
        for p in &passwords {
            assert!(!out.contains(p.as_str()), "an output holds a password: {out}");
        }
    }
    drop(stack);
}

fn config_get(addr: &str, name: &str) -> String {
    let client = redis::Client::open(format!("redis://{addr}/")).unwrap();
    let mut con = client.get_connection().unwrap();
    redis::cmd("AUTH").arg("ops").arg("ops-Local-Stack-Test").exec(&mut con).unwrap();
    let v: Vec<String> = redis::cmd("CONFIG").arg("GET").arg(name).query(&mut con).unwrap();
    v[1].clone()
}

#[test]
fn a_restart_required_change_is_a_rolling_restart_that_keeps_the_stack_writable() {
    let stack = project("{ mode: sentinel, replicas: 1, sentinels: 3 }");
    let dir = stack.dir.path();
    ok(dir, &["apply", "--env", "dev", "--auto-approve"]);
    let base = std::fs::read_to_string(dir.join("redisctl.yaml")).unwrap();
    std::fs::write(
        dir.join("redisctl.yaml"),
        base.replace("repl-diskless-sync-delay: 0", "repl-diskless-sync-delay: 0, databases: 32"),
    )
    .unwrap();
    let plan = ok(dir, &["plan", "--env", "dev", "--no-color"]);
    assert!(plan.contains("redis-config:node-0/databases") && plan.contains("needs a restart"), "{plan}");
    // Without --allow-restart the restart stays planned on purpose: exit 2, "Apply incomplete!".
    let o = run(dir, &["apply", "--env", "dev", "--auto-approve"]);
    let skipped = o.text();
    assert_eq!(o.code, Some(2), "{skipped}");
    assert!(skipped.contains("--allow-restart") && skipped.contains("Apply incomplete!"), "{skipped}");

    // A background writer through Sentinel discovery during the rolling restart: each write is
    // followed by `WAIT 1 1000`; a write a replica acknowledged must survive the failover.
    let config: serde_json::Value = connect_config(dir);
    // The drills' writer (`redisctl::ops::writer`), writing through the Sentinel discovery a client uses.
    let writer = {
        use redisctl::ops::writer::{Bounds, Writer, Written};
        let config = config.clone();
        let bounds =
            Bounds { interval: Duration::from_millis(50), max_time: Duration::from_secs(300), max_writes: 100_000 };
        Writer::start(
            "stack:acked:".into(),
            bounds,
            Box::new(move |key: &str| {
                acknowledged_write(&config, "app-Local-Stack-Test", key)
                    .map(|acknowledged| Written { acknowledged, port: 0 })
            }),
        )
    };
    let restarted = ok(dir, &["apply", "--env", "dev", "--auto-approve", "--allow-restart"]);
    // A second more of writes after the restart: the count below then does not depend on how
    // long the restart took on a loaded machine.
    std::thread::sleep(Duration::from_secs(1));
    let tally = writer.finish();
    let (acknowledged, unacknowledged, failed, longest_outage) =
        (tally.acknowledged, tally.unacknowledged, tally.failed, tally.longest_outage);
    assert!(restarted.contains("SENTINEL FAILOVER"), "{restarted}");

    // Every acknowledged key is on the primary after the restart.
    let primary = sentinel_primary(&config).unwrap();
    let mut con = app_connection(&primary, "app", "app-Local-Stack-Test").unwrap();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|k| redis::cmd("GET").arg(k.as_str()).query::<Option<String>>(&mut con).unwrap().is_none())
        .collect();
    eprintln!(
        "rolling restart: {} writes acknowledged by a replica (WAIT 1), {unacknowledged} written but not \
         acknowledged, {failed} failed (longest outage {longest_outage:?}); {} acknowledged writes lost",
        acknowledged.len(),
        lost.len()
    );
    // Writes fail only while the primary changes: bounded in time, not in count (a loaded
    // machine makes each failing attempt slower or faster, not the stack less available).
    assert!(acknowledged.len() > 10, "{} acknowledged, {failed} failed", acknowledged.len());
    assert!(
        longest_outage < Duration::from_secs(15),
        "writes kept failing for {longest_outage:?} ({failed} failed attempts)"
    );
    assert!(lost.is_empty(), "acknowledged writes lost after the failover: {lost:?}");
    let status: serde_json::Value =
        serde_json::from_str(&ok(dir, &["status", "--env", "dev", "--format", "json"])).unwrap();
    for m in status["members"].as_array().unwrap().iter().filter(|m| m["kind"] == "redis") {
        assert_eq!(config_get(m["address"].as_str().unwrap(), "databases"), "32", "{status:#}");
    }
    let after = ok(dir, &["plan", "--env", "dev", "--no-color"]);
    assert!(after.contains("No changes."), "no false changes after the failover: {after}");
}

#[test]
fn a_cluster_stack_comes_up_and_clients_follow_redirects() {
    exercise("{ mode: cluster, shards: 3, replicasPerShard: 1 }", 6, 3);
}

#[test]
fn after_a_primary_dies_and_sentinel_fails_over_the_plan_shows_no_false_drift() {
    let stack = project("{ mode: sentinel, replicas: 1, sentinels: 3 }");
    let dir = stack.dir.path();
    ok(dir, &["apply", "--env", "dev", "--auto-approve"]);
    let status = |dir: &Path| -> serde_json::Value {
        serde_json::from_str(&ok(dir, &["status", "--env", "dev", "--format", "json"])).unwrap()
    };
    let before = status(dir);
    let primary = before["members"].as_array().unwrap().iter().find(|m| m["role"] == "primary").unwrap().clone();
    let pid = primary["pid"].as_u64().unwrap();
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };

    // Sentinel promotes the replica (down-after-milliseconds is 5 s).
    let start = std::time::Instant::now();
    loop {
        let s = status(dir);
        let new_primary =
            s["members"].as_array().unwrap().iter().any(|m| m["role"] == "primary" && m["name"] != primary["name"]);
        if new_primary {
            break;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(60), "no failover: {s:#}");
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    // The only change is the dead process; Sentinel's and Redis's runtime rewrites are not drift.
    let plan = ok(dir, &["plan", "--env", "dev", "--no-color"]);
    assert!(!plan.contains("Drift"), "{plan}");
    assert!(plan.contains(&format!("+ process:{}", primary["name"].as_str().unwrap())), "{plan}");
    assert!(plan.contains("Plan: 1 to add, 0 to change, 0 to destroy."), "{plan}");
    // Apply brings the old primary back as a replica of the new one, and all is quiet.
    ok(dir, &["apply", "--env", "dev", "--auto-approve"]);
    let after = status(dir);
    let old = after["members"].as_array().unwrap().iter().find(|m| m["name"] == primary["name"]).unwrap();
    assert_eq!(old["role"], "replica", "{after:#}");
    let quiet = ok(dir, &["plan", "--env", "dev", "--no-color"]);
    assert!(quiet.contains("No changes."), "{quiet}");
}

#[test]
fn sentinel_settings_changed_in_the_contract_are_set_live_on_every_sentinel() {
    let stack = project("{ mode: sentinel, replicas: 1, sentinels: 3 }");
    let dir = stack.dir.path();
    ok(dir, &["apply", "--env", "dev", "--auto-approve"]);
    let status = || -> serde_json::Value {
        serde_json::from_str(&ok(dir, &["status", "--env", "dev", "--format", "json"])).unwrap()
    };
    let sentinels: Vec<(String, String, u64)> = status()["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "sentinel")
        .map(|m| {
            (m["name"].as_str().unwrap().into(), m["address"].as_str().unwrap().into(), m["pid"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(sentinels.len(), 3);
    let master = |addr: &str| -> std::collections::HashMap<String, String> {
        redis::cmd("SENTINEL").arg("MASTER").arg("stack").query(&mut sentinel_admin(addr)).unwrap()
    };

    let env = std::fs::read_to_string(dir.join("environments/dev.yaml")).unwrap();
    let changed = env
        .replace("sentinels: 3 }", "sentinels: 3, quorum: 3, downAfter: 3s, failoverTimeout: 30s, parallelSyncs: 2 }");
    std::fs::write(dir.join("environments/dev.yaml"), changed).unwrap();
    let plan = ok(dir, &["plan", "--env", "dev", "--no-color"]);
    for (name, _, _) in &sentinels {
        for setting in ["quorum", "down-after-milliseconds", "failover-timeout", "parallel-syncs"] {
            assert!(plan.contains(&format!("~ sentinel-config:{name}/{setting}")), "{plan}");
        }
    }
    assert!(plan.contains("5000 → 3000") && plan.contains("applied live"), "{plan}");
    ok(dir, &["apply", "--env", "dev", "--auto-approve"]);
    for (name, addr, pid) in &sentinels {
        let m = master(addr);
        let got = ["quorum", "down-after-milliseconds", "failover-timeout", "parallel-syncs"].map(|k| m[k].clone());
        assert_eq!(got, ["3", "3000", "30000", "2"], "{name}");
        assert!(Path::new(&format!("/proc/{pid}")).exists(), "{name} was not restarted");
    }
    let quiet = ok(dir, &["plan", "--env", "dev", "--no-color"]);
    assert!(quiet.contains("No changes."), "{quiet}");

    // A hand SENTINEL SET is drift, put back by apply; Sentinel's runtime state never is.
    redis::cmd("SENTINEL")
        .arg(&["SET", "stack", "down-after-milliseconds", "9999"])
        .exec(&mut sentinel_admin(&sentinels[1].1))
        .unwrap();
    let drift = ok(dir, &["plan", "--env", "dev", "--no-color"]);
    let name = &sentinels[1].0;
    assert!(drift.contains("Drift") && drift.contains(&format!("sentinel-config:{name}/down-after-milliseconds")));
    assert!(drift.contains("Plan: 0 to add, 1 to change, 0 to destroy."), "{drift}");
    ok(dir, &["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(master(&sentinels[1].1)["down-after-milliseconds"], "3000");
    assert!(ok(dir, &["plan", "--env", "dev", "--no-color"]).contains("No changes."));
}

/// One line of `CLUSTER NODES`.
#[derive(Debug)]
struct ClusterNode {
    addr: String,
    primary: bool,
    /// A primary's own id, a replica's primary's id.
    shard: String,
    /// Inclusive slot ranges served.
    slots: Vec<(u16, u16)>,
}

/// `CLUSTER NODES` of the node at `addr`, asked as the test project's operator user.
fn cluster_nodes(addr: &str) -> Result<Vec<ClusterNode>, String> {
    cluster_nodes_as(addr, ("ops", "ops-Local-Stack-Test"))
}

fn cluster_nodes_as(addr: &str, (user, password): (&str, &str)) -> Result<Vec<ClusterNode>, String> {
    let mut con = app_connection(addr, user, password)?;
    let text: String = redis::cmd("CLUSTER").arg("NODES").query(&mut con).map_err(|e| e.to_string())?;
    Ok(text
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let primary = f[2].contains("master");
            let shard = if primary { f[0] } else { f[3] };
            let addr = f[1].split('@').next().unwrap().to_string();
            let slots = f[8..]
                .iter()
                .filter_map(|r| {
                    let (a, b) = r.split_once('-').unwrap_or((r, r));
                    Some((a.parse().ok()?, b.parse().ok()?))
                })
                .collect();
            ClusterNode { addr, primary, shard: shard.to_string(), slots }
        })
        .collect())
}

/// A cluster-aware client as applications use one: a slot map (asked of any node that
/// answers, again after every MOVED redirect or connection error), one connection per node,
/// MOVED and ASK redirects followed. The map is read as the operator user: the test project's
/// application user may not run CLUSTER NODES/SLOTS.
struct ClusterClient {
    nodes: Vec<String>,
    /// (first slot, last slot, primary address).
    slots: Vec<(u16, u16, String)>,
    cons: std::collections::HashMap<String, redis::Connection>,
    /// (user, password) of the data commands and of the slot map.
    login: (String, String),
    map_login: (String, String),
    /// MOVED/ASK redirects followed, and attempts retried after an error (connection refused or
    /// dropped, CLUSTERDOWN, TRYAGAIN).
    redirects: u32,
    retries: u32,
}

impl ClusterClient {
    fn new(nodes: Vec<String>, password: &str) -> ClusterClient {
        ClusterClient::as_users(nodes, ("app", password), ("ops", "ops-Local-Stack-Test"))
    }

    fn as_users(nodes: Vec<String>, login: (&str, &str), map_login: (&str, &str)) -> ClusterClient {
        let own = |(u, p): (&str, &str)| (u.to_string(), p.to_string());
        let mut client = ClusterClient {
            nodes,
            slots: Vec::new(),
            cons: Default::default(),
            login: own(login),
            map_login: own(map_login),
            redirects: 0,
            retries: 0,
        };
        client.refresh();
        client
    }

    fn refresh(&mut self) {
        let login = (self.map_login.0.as_str(), self.map_login.1.as_str());
        if let Some(view) = self.nodes.iter().find_map(|n| cluster_nodes_as(n, login).ok()) {
            self.slots =
                view.into_iter().flat_map(|n| n.slots.into_iter().map(move |(x, y)| (x, y, n.addr.clone()))).collect();
        }
    }

    /// Run `f` on the connection of the node serving `key`'s slot, following redirects and
    /// retrying (for about a second) through errors. `f` is told when to send ASKING first.
    fn on_owner<T>(
        &mut self,
        key: &str,
        mut f: impl FnMut(&mut redis::Connection, bool) -> redis::RedisResult<T>,
    ) -> Result<T, String> {
        let slot = redisctl::stack::key_slot(key.as_bytes());
        let owner = self.slots.iter().find(|(a, b, _)| (*a..=*b).contains(&slot)).map(|(_, _, n)| n.clone());
        let mut addr = owner.unwrap_or_else(|| self.nodes[0].clone());
        let (mut asking, mut last) = (false, String::new());
        for _ in 0..10 {
            if !self.cons.contains_key(&addr) {
                match app_connection(&addr, &self.login.0, &self.login.1) {
                    Ok(con) => {
                        self.cons.insert(addr.clone(), con);
                    }
                    Err(e) => {
                        // That node is down (restarting): the cluster has moved its slots or
                        // will soon; ask again for the map.
                        last = format!("{addr}: {e}");
                        self.retries += 1;
                        std::thread::sleep(Duration::from_millis(100));
                        self.refresh();
                        let owner = self.slots.iter().find(|(a, b, _)| (*a..=*b).contains(&slot));
                        addr = owner.map_or_else(|| self.nodes[0].clone(), |(_, _, n)| n.clone());
                        continue;
                    }
                }
            }
            let con = self.cons.get_mut(&addr).unwrap();
            match f(con, std::mem::take(&mut asking)) {
                Ok(v) => return Ok(v),
                Err(e) => {
                    last = format!("{addr}: {e}");
                    if let Some((to, _)) = e.redirect_node() {
                        self.redirects += 1;
                        asking = e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::Ask);
                        if !asking {
                            self.refresh();
                        }
                        addr = to.to_string();
                        continue;
                    }
                    self.retries += 1;
                    if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() {
                        self.cons.remove(&addr);
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
        Err(last)
    }

    /// SET `key` then `WAIT 1 1000` on the same connection: `Ok(true)` when a replica
    /// acknowledged it, `Ok(false)` when written but not replicated in time.
    fn acknowledged_write(&mut self, key: &str) -> Result<bool, String> {
        self.on_owner(key, |con, asking| {
            if asking {
                redis::cmd("ASKING").exec(con)?;
            }
            redis::cmd("SET").arg(key).arg(key).exec(con)?;
            let replicas: u32 = redis::cmd("WAIT").arg(1).arg(1000).query(con)?;
            Ok(replicas >= 1)
        })
    }

    fn get(&mut self, key: &str) -> Result<Option<String>, String> {
        self.on_owner(key, |con, asking| {
            if asking {
                redis::cmd("ASKING").exec(con)?;
            }
            redis::cmd("GET").arg(key).query(con)
        })
    }
}

#[test]
fn a_restart_required_change_is_a_rolling_restart_that_keeps_a_cluster_writable() {
    let stack = project("{ mode: cluster, shards: 3, replicasPerShard: 1 }");
    let dir = stack.dir.path();
    ok(dir, &["apply", "--env", "dev", "--auto-approve"]);
    let status = || -> serde_json::Value {
        serde_json::from_str(&ok(dir, &["status", "--env", "dev", "--format", "json"])).unwrap()
    };
    let before = status();
    let pids: Vec<(String, String, u64)> = before["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (m["name"].as_str().unwrap().into(), m["address"].as_str().unwrap().into(), m["pid"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(pids.len(), 6, "{before:#}");

    // `rdbchecksum` is startup-only (`apply = "restart"` in data/directives.toml) and valid in
    // cluster mode.
    let base = std::fs::read_to_string(dir.join("redisctl.yaml")).unwrap();
    std::fs::write(
        dir.join("redisctl.yaml"),
        base.replace("repl-diskless-sync-delay: 0", "repl-diskless-sync-delay: 0, rdbchecksum: \"no\""),
    )
    .unwrap();
    let plan = ok(dir, &["plan", "--env", "dev", "--no-color"]);
    for (name, _, _) in &pids {
        assert!(plan.contains(&format!("redis-config:{name}/rdbchecksum")), "{plan}");
    }
    assert!(plan.contains("needs a restart"), "{plan}");

    // A background cluster-aware writer over keys spread across all slots; each write is
    // followed by `WAIT 1 1000` on the same connection. A write a replica acknowledged must
    // survive the failovers and restarts.
    let nodes: Vec<String> = pids.iter().map(|(_, a, _)| a.clone()).collect();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // When each write started: the gaps show whether the writer kept going throughout.
    let attempts = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Instant>::new()));
    let writer = {
        let (nodes, stop, attempts) = (nodes.clone(), stop.clone(), attempts.clone());
        std::thread::spawn(move || {
            let mut client = ClusterClient::new(nodes, "app-Local-Stack-Test");
            let (mut acknowledged, mut unacknowledged, mut failed) = (Vec::new(), 0u32, Vec::new());
            for i in 0u32.. {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                attempts.lock().unwrap().push(Instant::now());
                let key = format!("stack:acked:{i}");
                match client.acknowledged_write(&key) {
                    Ok(true) => acknowledged.push(key),
                    Ok(false) => unacknowledged += 1,
                    Err(e) => failed.push(e),
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            (acknowledged, unacknowledged, failed, client.redirects, client.retries)
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let restarted = ok(dir, &["apply", "--env", "dev", "--auto-approve", "--allow-restart", "--no-color"]);
    let took = started.elapsed();
    let ended = Instant::now();
    // Keep writing a little after the restart, so the last gap is measured too.
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (acknowledged, unacknowledged, failed, redirects, retries) = writer.join().unwrap();
    // When writes started during the restart, and the longest pause between two of them.
    let starts = attempts.lock().unwrap().clone();
    let window: Vec<Instant> = starts.iter().copied().filter(|t| *t >= started && *t <= ended).collect();
    let gaps = starts.windows(2).filter(|w| w[1] >= started && w[0] <= ended).map(|w| w[1] - w[0]);
    let longest_gap = gaps.max().unwrap_or_default();

    // Replicas first, then each primary only after CLUSTER FAILOVER to its replica.
    // Progress lines carry a timestamp off a terminal: the step follows the marker.
    let steps: Vec<&str> =
        restarted.lines().filter_map(|l| l.split_once("rolling restart: ").map(|(_, step)| step)).collect();
    assert_eq!(steps.iter().filter(|s| s.contains("(CLUSTER FAILOVER)")).count(), 3, "{restarted}");
    assert_eq!(steps.iter().filter(|s| s.starts_with("restarted")).count(), 6, "{restarted}");
    let first_failover = steps.iter().position(|s| s.contains("CLUSTER FAILOVER")).unwrap();
    assert!(steps[..first_failover].iter().all(|s| s.starts_with("restarted replica")), "{restarted}");
    for (name, _, _) in
        pids.iter().filter(|(n, _, _)| !steps[..first_failover].contains(&&*format!("restarted replica {n}")))
    {
        let failover = steps.iter().position(|s| s.starts_with(&format!("failed {name} over to "))).unwrap();
        let restart = steps.iter().position(|s| *s == format!("restarted {name}")).unwrap();
        assert!(failover < restart, "{name} restarted before its failover: {restarted}");
    }

    // Every node was restarted, the cluster is whole and each shard has a primary and a replica.
    let after = status();
    for (name, addr, pid) in &pids {
        let m = after["members"].as_array().unwrap().iter().find(|m| m["name"] == name.as_str()).unwrap();
        assert!(m["up"] == true && m["pid"].as_u64() != Some(*pid), "{name} was not restarted: {after:#}");
        assert_eq!(config_get(addr, "rdbchecksum"), "no", "{name}");
        let mut con = app_connection(addr, "ops", "ops-Local-Stack-Test").unwrap();
        let info: String = redis::cmd("CLUSTER").arg("INFO").query(&mut con).unwrap();
        assert!(info.contains("cluster_state:ok") && info.contains("cluster_slots_ok:16384"), "{name}: {info}");
    }
    let view = cluster_nodes(&nodes[0]).unwrap();
    let primaries: Vec<&ClusterNode> = view.iter().filter(|n| n.primary).collect();
    assert_eq!(primaries.len(), 3, "{view:?}");
    for p in &primaries {
        assert!(!p.slots.is_empty(), "primary {} serves no slots: {view:?}", p.addr);
        assert_eq!(view.iter().filter(|n| !n.primary && n.shard == p.shard).count(), 1, "{}: {view:?}", p.addr);
    }

    // Every acknowledged key is readable.
    let mut reader = ClusterClient::new(nodes, "app-Local-Stack-Test");
    let lost: Vec<&String> =
        acknowledged.iter().filter(|k| reader.get(k).unwrap_or_else(|e| panic!("GET {k}: {e}")).is_none()).collect();
    let slots: std::collections::BTreeSet<u16> =
        acknowledged.iter().map(|k| redisctl::stack::key_slot(k.as_bytes())).collect();
    eprintln!(
        "cluster rolling restart ({took:.1?}, {} writes started meanwhile, longest gap {longest_gap:?}): {} writes acknowledged by a replica (WAIT 1) over {} slots, \
         {unacknowledged} written but not acknowledged, {} failed ({redirects} redirects followed, {retries} \
         retries); {} acknowledged writes lost; failures: {failed:?}; steps: {steps:#?}",
        window.len(),
        acknowledged.len(),
        slots.len(),
        failed.len(),
        lost.len()
    );
    // Writable throughout: writes kept starting during the whole restart; a write waits at most
    // `WAIT 1 1000` (a shard's replica restarting) plus a redirect, never seconds more. Counts
    // depend on timing (WAIT blocks while a replica is down), so the bound is on the gaps.
    assert!(!window.is_empty() && longest_gap < Duration::from_secs(3), "writes stalled for {longest_gap:?}");
    assert!(acknowledged.len() > 10 && failed.len() <= 5, "{} acknowledged, {failed:?} failed", acknowledged.len());
    assert!(lost.is_empty(), "acknowledged writes lost in the cluster rolling restart: {lost:?}");
    let quiet = ok(dir, &["plan", "--env", "dev", "--no-color"]);
    assert!(quiet.contains("No changes."), "no false changes after the failovers: {quiet}");
}

/// The status of the dev environment's members, by name: (role, pid).
fn members(dir: &Path) -> Vec<(String, String, u64)> {
    let status: serde_json::Value =
        serde_json::from_str(&ok(dir, &["status", "--env", "dev", "--format", "json"])).unwrap();
    status["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] != "sentinel")
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_string(),
                m["role"].as_str().unwrap_or_default().to_string(),
                m["pid"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

fn address_of(dir: &Path, name: &str) -> String {
    let status: serde_json::Value =
        serde_json::from_str(&ok(dir, &["status", "--env", "dev", "--format", "json"])).unwrap();
    let m = status["members"].as_array().unwrap().iter().find(|m| m["name"] == name).unwrap();
    m["address"].as_str().unwrap().to_string()
}

/// Truth issue, data loss: a primary without persistence killed with `kill -9`, then `apply`
/// at once (before anything failed over). The node must come back as a replica of the node
/// holding its data, never as an empty primary its replica resyncs from.
fn a_killed_primary_reapplied_at_once_loses_no_acknowledged_write(topology: &str) {
    let stack = project_with(topology, "none");
    let dir = stack.dir.path();
    ok(dir, &["apply", "--env", "dev", "--auto-approve"]);
    let (primary, _, pid) = members(dir).into_iter().find(|(_, role, _)| role == "primary").unwrap();
    let addr = address_of(dir, &primary);

    // 1,000 keys, then WAIT: once a replica acknowledges the last offset, it has them all.
    let keys: Vec<String> = (0..1000).map(|i| format!("stack:acked:{i}")).collect();
    let mut con = app_connection(&addr, "app", "app-Local-Stack-Test").unwrap();
    let mut pipe = redis::pipe();
    for k in &keys {
        pipe.cmd("SET").arg(k).arg(k).ignore();
    }
    pipe.exec(&mut con).unwrap();
    let acked: u32 = redis::cmd("WAIT").arg(1).arg(5000).query(&mut con).unwrap();
    assert!(acked >= 1, "no replica acknowledged the writes");

    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    std::thread::sleep(Duration::from_millis(200));
    let applied = ok(dir, &["apply", "--env", "dev", "--auto-approve", "--no-color"]);
    assert!(applied.contains("Apply complete!"), "{applied}");

    let after = members(dir);
    let (new_primary, _, _) = after.iter().find(|(_, role, _)| role == "primary").unwrap().clone();
    let mut con = app_connection(&address_of(dir, &new_primary), "app", "app-Local-Stack-Test").unwrap();
    let present: usize = redis::cmd("EXISTS").arg(&keys).query(&mut con).unwrap();
    assert_eq!(present, keys.len(), "acknowledged writes lost after the primary was killed and re-applied");
    assert_ne!(new_primary, primary, "the dead primary came back as the primary: {after:?}\n{applied}");
    let old = after.iter().find(|(n, _, _)| *n == primary).unwrap();
    assert_eq!(old.1, "replica", "{after:?}");
    // And the returning node got them too, from the node that held them.
    let mut old_con = app_connection(&address_of(dir, &primary), "app", "app-Local-Stack-Test").unwrap();
    let copied = redisctl::stack::poll(Duration::from_secs(10), || {
        let n: usize = redis::cmd("EXISTS").arg(&keys).query(&mut old_con).unwrap_or(0);
        if n == keys.len() {
            Ok(n)
        } else {
            Err(n)
        }
    });
    assert_eq!(copied, Ok(keys.len()), "the returning node did not resync from the node holding the data");
    let quiet = ok(dir, &["plan", "--env", "dev", "--no-color"]);
    assert!(quiet.contains("No changes."), "{quiet}");
}

#[test]
fn a_sentinel_primary_killed_and_reapplied_at_once_loses_no_acknowledged_write() {
    a_killed_primary_reapplied_at_once_loses_no_acknowledged_write("{ mode: sentinel, replicas: 1, sentinels: 3 }");
}

#[test]
fn a_replication_primary_killed_and_reapplied_at_once_loses_no_acknowledged_write() {
    a_killed_primary_reapplied_at_once_loses_no_acknowledged_write("{ mode: replication, replicas: 1 }");
}

#[test]
fn a_cluster_primary_killed_and_reapplied_at_once_loses_no_acknowledged_write() {
    let stack = project_with("{ mode: cluster, shards: 3, replicasPerShard: 1 }", "none");
    let dir = stack.dir.path();
    ok(dir, &["apply", "--env", "dev", "--auto-approve"]);
    let before = members(dir);
    let nodes: Vec<String> = before.iter().map(|(n, _, _)| address_of(dir, n)).collect();
    let mut client = ClusterClient::new(nodes.clone(), "app-Local-Stack-Test");
    let keys: Vec<String> = (0..300).map(|i| format!("stack:acked:{i}")).collect();
    for k in &keys {
        assert_eq!(client.acknowledged_write(k), Ok(true), "{k} was not acknowledged by a replica");
    }
    let (victim, _, pid) = before.iter().find(|(_, role, _)| role == "primary").unwrap().clone();
    let victim_addr = address_of(dir, &victim);
    let in_shard = keys
        .iter()
        .filter(|k| {
            let slot = redisctl::stack::key_slot(k.as_bytes());
            cluster_nodes(&victim_addr)
                .unwrap()
                .iter()
                .any(|n| n.addr == victim_addr && n.slots.iter().any(|&(a, b)| (a..=b).contains(&slot)))
        })
        .count();
    assert!(in_shard > 0, "no test key lives in {victim}'s shard");

    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    std::thread::sleep(Duration::from_millis(200));
    let applied = ok(dir, &["apply", "--env", "dev", "--auto-approve", "--no-color"]);
    assert!(applied.contains("Apply complete!"), "{applied}");

    let mut reader = ClusterClient::new(nodes, "app-Local-Stack-Test");
    let lost: Vec<&String> =
        keys.iter().filter(|k| reader.get(k).unwrap_or_else(|e| panic!("GET {k}: {e}")).is_none()).collect();
    assert!(lost.is_empty(), "{} of {in_shard} acknowledged keys of {victim}'s shard lost: {lost:?}", lost.len());
    let after = members(dir);
    let old = after.iter().find(|(n, _, _)| *n == victim).unwrap();
    assert_eq!(old.1, "replica", "the dead primary came back as a primary: {after:?}\n{applied}");
    let quiet = ok(dir, &["plan", "--env", "dev", "--no-color"]);
    assert!(quiet.contains("No changes."), "{quiet}");
}

/// Truth issue, interrupted bootstrap: the first apply of a cluster killed after it started
/// every process but before the bootstrap. Readiness is observed: plan shows it as a change,
/// status says the stack is not ready, and the next apply bootstraps the cluster.
#[test]
fn an_interrupted_first_apply_of_a_cluster_is_finished_by_the_next() {
    let stack = project("{ mode: cluster, shards: 3, replicasPerShard: 1 }");
    let dir = stack.dir.path();
    let mut first = common::redisctl_std();
    first.args(["--project", dir.to_str().unwrap(), "apply", "--env", "dev", "--auto-approve"]);
    // Each change is followed by this pause, so the apply can be caught after its last start.
    first.env("REDISCTL_TEST_APPLY_PAUSE_MS", "1500").stdout(std::process::Stdio::null());
    first.stderr(std::process::Stdio::null());
    let mut first = first.spawn().unwrap();
    let all_up = redisctl::stack::poll(Duration::from_secs(60), || {
        let m = members(dir);
        if m.len() == 6 && m.iter().all(|(_, _, pid)| *pid > 0) {
            Ok(())
        } else {
            Err(m)
        }
    });
    first.kill().unwrap();
    let _ = first.wait();
    assert!(all_up.is_ok(), "the first apply did not start every node: {all_up:?}");

    let plan = run(dir, &["plan", "--env", "dev", "--detailed-exitcode", "--no-color"]);
    assert_eq!(plan.code, Some(2), "{}", plan.text());
    assert!(plan.text().contains("~ process:ready"), "{}", plan.text());
    let status: serde_json::Value =
        serde_json::from_str(&ok(dir, &["status", "--env", "dev", "--format", "json"])).unwrap();
    assert_eq!(status["ready"], false, "{status:#}");
    assert!(ok(dir, &["status", "--env", "dev"]).contains("NOT READY"));

    let applied = ok(dir, &["apply", "--env", "dev", "--auto-approve", "--no-color"]);
    assert!(applied.contains("Apply complete!"), "{applied}");
    for (name, _, _) in members(dir) {
        let mut con = app_connection(&address_of(dir, &name), "ops", "ops-Local-Stack-Test").unwrap();
        let info: String = redis::cmd("CLUSTER").arg("INFO").query(&mut con).unwrap();
        assert!(info.contains("cluster_state:ok") && info.contains("cluster_slots_ok:16384"), "{name}: {info}");
    }
    let status: serde_json::Value =
        serde_json::from_str(&ok(dir, &["status", "--env", "dev", "--format", "json"])).unwrap();
    assert_eq!(status["ready"], true, "{status:#}");
    let quiet = ok(dir, &["plan", "--env", "dev", "--no-color"]);
    assert!(quiet.contains("No changes."), "{quiet}");
}

/// Issue 12, one Redis client: a TLS-only local Sentinel stack (nodes and Sentinels listen on
/// their TLS ports only) applies, becomes ready, fails over and rolls over TLS, and the next
/// plan is empty.
#[test]
fn a_tls_only_local_stack_applies_becomes_ready_and_rolls_over_tls() {
    let stack = project("{ mode: sentinel, replicas: 1, sentinels: 3 }");
    let dir = stack.dir.path();
    let certs = dir.join("tls");
    common::test_certificates(&certs);
    let file = |f: &str| certs.join(f).display().to_string();
    let dev = std::fs::read_to_string(dir.join("environments/dev.yaml")).unwrap();
    std::fs::write(
        dir.join("environments/dev.yaml"),
        format!(
            "{dev}security: {{ tls: {{ enabled: true, certFile: {}, keyFile: {}, caFile: {} }} }}\n",
            file("node.crt"),
            file("node.key"),
            file("ca.crt")
        ),
    )
    .unwrap();
    let applied = ok(dir, &["apply", "--env", "dev", "--auto-approve", "--no-color"]);
    assert!(applied.contains("Apply complete!"), "{applied}");
    let status: serde_json::Value =
        serde_json::from_str(&ok(dir, &["status", "--env", "dev", "--format", "json"])).unwrap();
    assert_eq!(status["ready"], true, "{status:#}");
    let (primary, _, _) = members(dir).into_iter().find(|(_, role, _)| role == "primary").unwrap();
    let port: u16 = address_of(dir, &primary).rsplit(':').next().unwrap().parse().unwrap();
    // Plain TCP is refused: the node speaks TLS only.
    assert!(app_connection(&format!("127.0.0.1:{port}"), "app", "app-Local-Stack-Test").is_err());
    let tls = |port: u16| common::tls_connection(port, &certs, "app", "app-Local-Stack-Test").unwrap();
    let mut con = tls(port);
    redis::cmd("SET").arg("stack:tls").arg("kept").exec(&mut con).unwrap();
    let acked: u32 = redis::cmd("WAIT").arg(1).arg(2000).query(&mut con).unwrap();
    assert_eq!(acked, 1, "the replica follows over TLS");

    // A restart-required change: a rolling restart with SENTINEL FAILOVER, all over TLS.
    let base = std::fs::read_to_string(dir.join("redisctl.yaml")).unwrap();
    std::fs::write(
        dir.join("redisctl.yaml"),
        base.replace("repl-diskless-sync-delay: 0", "repl-diskless-sync-delay: 0, databases: 32"),
    )
    .unwrap();
    let rolled = ok(dir, &["apply", "--env", "dev", "--auto-approve", "--allow-restart", "--no-color"]);
    assert!(rolled.contains("SENTINEL FAILOVER") && rolled.contains("Apply complete!"), "{rolled}");
    let (now, _, _) = members(dir).into_iter().find(|(_, role, _)| role == "primary").unwrap();
    assert_ne!(now, primary, "the primary moved: {rolled}");
    let port: u16 = address_of(dir, &now).rsplit(':').next().unwrap().parse().unwrap();
    let kept: Option<String> = redis::cmd("GET").arg("stack:tls").query(&mut tls(port)).unwrap();
    assert_eq!(kept.as_deref(), Some("kept"));
    let quiet = ok(dir, &["plan", "--env", "dev", "--no-color"]);
    assert!(quiet.contains("No changes."), "{quiet}");
}

/// Truth issue: a failed local apply leaves nothing running. node-1 cannot start (its binary
/// refuses), so the apply fails and stops node-0, which it had started; the next apply, with a
/// working binary, brings the whole stack up.
#[test]
fn a_failed_local_apply_stops_what_it_started() {
    let stack = project("{ mode: replication, replicas: 1 }");
    let dir = stack.dir.path();
    let script = dir.join("refusing-redis-server");
    std::fs::write(
        &script,
        "#!/bin/sh\ncase \"$(basename \"$PWD\")\" in node-1) echo 'refused by the test' >&2; exit 1;; esac\nexec redis-server \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let failed = Run::unbounded(
        common::redisctl_on(dir)
            .args(["apply", "--env", "dev", "--auto-approve"])
            .env("REDISCTL_REDIS_SERVER", &script),
    );
    assert_eq!(failed.code, Some(1), "{}", failed.text());
    assert!(
        failed.text().contains("stopped what this apply started") && failed.text().contains("node-0"),
        "{}",
        failed.text()
    );
    let status: serde_json::Value =
        serde_json::from_str(&ok(dir, &["status", "--env", "dev", "--format", "json"])).unwrap();
    assert!(status["members"].as_array().unwrap().iter().all(|m| m["up"] == false), "{status:#}");

    let applied = ok(dir, &["apply", "--env", "dev", "--auto-approve", "--no-color"]);
    assert!(applied.contains("Apply complete!"), "{applied}");
    assert!(members(dir).iter().all(|(_, _, pid)| *pid > 0));
}

/// Truth issue, cluster shape: `topology.shards` and `replicasPerShard` changed on a running
/// cluster with data in it. Scale-out adds primaries and moves hash slots to them, keys
/// included; scale-in drains the shards that leave before their nodes stop; every member ends
/// where the contract puts it, and no key is lost.
#[test]
fn a_cluster_scales_out_and_in_with_its_keys() {
    let stack = project_with("{ mode: cluster, shards: 3, replicasPerShard: 1 }", "none");
    let dir = stack.dir.path();
    ok(dir, &["apply", "--env", "dev", "--auto-approve"]);
    let addrs = |dir: &Path| members(dir).iter().map(|(n, _, _)| address_of(dir, n)).collect::<Vec<_>>();
    let mut client = ClusterClient::new(addrs(dir), "app-Local-Stack-Test");
    let keys: Vec<String> = (0..300).map(|i| format!("stack:shape:{i}")).collect();
    for k in &keys {
        assert_eq!(client.acknowledged_write(k), Ok(true), "{k} was not acknowledged by a replica");
    }
    let base: u32 = address_of(dir, "node-0").rsplit(':').next().unwrap().parse().unwrap();

    for (shards, replicas) in [(4u32, 1u32), (3, 2)] {
        stack.dir.write(
            "environments/dev.yaml",
            format!(
                "topology: {{ mode: cluster, shards: {shards}, replicasPerShard: {replicas} }}\nports: {{ redis: {base}, sentinel: {} }}\n",
                base + 20
            ),
        );
        let applied = ok(dir, &["apply", "--env", "dev", "--auto-approve", "--no-color"]);
        assert!(applied.contains("Apply complete!"), "{shards}x{replicas}: {applied}");

        // Each shard: one primary serving exactly its share of the slots, its replicas following it.
        let view = cluster_nodes(&address_of(dir, "node-0")).unwrap();
        assert_eq!(view.len() as u32, shards * (1 + replicas), "{shards}x{replicas}: forgotten nodes remain: {view:?}");
        let primaries: Vec<&ClusterNode> = view.iter().filter(|n| n.primary).collect();
        assert_eq!(primaries.len() as u32, shards, "{shards}x{replicas}: {view:?}");
        for s in 0..shards {
            let want = (s * 16384 / shards, (s + 1) * 16384 / shards - 1);
            let owner = primaries
                .iter()
                .find(|p| p.slots == [(want.0 as u16, want.1 as u16)])
                .unwrap_or_else(|| panic!("{shards}x{replicas}: nobody serves exactly {want:?}: {view:?}"));
            let followers = view.iter().filter(|n| !n.primary && n.shard == owner.shard).count();
            assert_eq!(followers as u32, replicas, "{shards}x{replicas}: replicas of {}: {view:?}", owner.addr);
        }
        assert_eq!(members(dir).len() as u32, shards * (1 + replicas), "nodes that left are stopped");

        let mut reader = ClusterClient::new(addrs(dir), "app-Local-Stack-Test");
        let lost: Vec<&String> =
            keys.iter().filter(|k| reader.get(k).ok().flatten().as_deref() != Some(k.as_str())).collect();
        assert!(lost.is_empty(), "{shards}x{replicas}: {} of {} keys lost: {lost:?}", lost.len(), keys.len());
        let quiet = ok(dir, &["plan", "--env", "dev", "--no-color"]);
        assert!(quiet.contains("No changes."), "{shards}x{replicas}: {quiet}");
    }
}

/// Truth issue, done when: every local example goes apply → kill -9 of a primary under
/// acknowledged writes → apply → plan, and ends with an empty plan and no acknowledged write
/// lost (on the example's own contract, on free ports).
#[test]
fn every_local_example_survives_a_killed_primary_with_its_acknowledged_writes() {
    for example in common::EXAMPLES {
        let copy = TempProject::copy_of(&common::example_dir(example));
        let cluster = copy.read("environments/local.yaml").contains("mode: cluster");
        let base = common::free_port_block(25, cluster);
        copy.set_ports("local", base, base + 20);
        let dir = copy.path();
        let ops = copy.read("secrets/local/ops.password").trim().to_string();
        let login = ("ops", ops.as_str());
        let run_local = |args: &[&str]| {
            let o = run(dir, args);
            assert!(o.success(), "{example}: {args:?}: {}", o.text());
            o.text()
        };
        // Stopped even when an assertion fails.
        struct Down<'a>(&'a Path);
        impl Drop for Down<'_> {
            fn drop(&mut self) {
                let _ = run(self.0, &["destroy", "--env", "local", "--auto-approve"]);
            }
        }
        let _down = Down(dir);
        let applied = run_local(&["apply", "--env", "local", "--auto-approve", "--no-color"]);
        assert!(applied.contains("Apply complete!"), "{example}: {applied}");
        let status = || -> Vec<serde_json::Value> {
            let s: serde_json::Value =
                serde_json::from_str(&run_local(&["status", "--env", "local", "--format", "json"])).unwrap();
            s["members"].as_array().unwrap().iter().filter(|m| m["kind"] == "redis").cloned().collect()
        };
        let nodes: Vec<String> = status().iter().map(|m| m["address"].as_str().unwrap().to_string()).collect();
        let primary = |members: &[serde_json::Value]| {
            members.iter().find(|m| m["role"] == "primary").map(|m| m["address"].as_str().unwrap().to_string())
        };
        let keys: Vec<String> = (0..200).map(|i| format!("example:{i}")).collect();
        let mut acked = Vec::new();
        if cluster {
            let mut client = ClusterClient::as_users(nodes.clone(), login, login);
            for k in &keys {
                if client.acknowledged_write(k) == Ok(true) {
                    acked.push(k.clone());
                }
            }
        } else {
            let mut con = app_connection(&primary(&status()).unwrap(), "ops", &ops).unwrap();
            for k in &keys {
                redis::cmd("SET").arg(k).arg(k).exec(&mut con).unwrap();
                // A standalone node has no replica to acknowledge anything (WAIT would time out).
                let replicas: u32 =
                    if nodes.len() > 1 { redis::cmd("WAIT").arg(1).arg(1000).query(&mut con).unwrap() } else { 0 };
                if replicas >= 1 {
                    acked.push(k.clone());
                }
            }
        }
        let victim = status().into_iter().find(|m| m["role"] == "primary").unwrap();
        unsafe { libc::kill(victim["pid"].as_u64().unwrap() as i32, libc::SIGKILL) };
        std::thread::sleep(Duration::from_millis(200));
        let again = run_local(&["apply", "--env", "local", "--auto-approve", "--no-color"]);
        assert!(again.contains("Apply complete!"), "{example}: {again}");
        let quiet = run_local(&["plan", "--env", "local", "--no-color"]);
        assert!(quiet.contains("No changes."), "{example}: {quiet}");
        let lost: Vec<&String> = if cluster {
            let mut reader = ClusterClient::as_users(nodes.clone(), login, login);
            acked.iter().filter(|k| reader.get(k).ok().flatten().is_none()).collect()
        } else {
            let mut con = app_connection(&primary(&status()).unwrap(), "ops", &ops).unwrap();
            acked
                .iter()
                .filter(|k| redis::cmd("GET").arg(k.as_str()).query::<Option<String>>(&mut con).unwrap().is_none())
                .collect()
        };
        eprintln!("{example}: {} of {} writes acknowledged by a replica; {} lost", acked.len(), keys.len(), lost.len());
        assert!(lost.is_empty(), "{example}: acknowledged writes lost: {lost:?}");
        if nodes.len() > 1 {
            assert!(!acked.is_empty(), "{example}: no write was acknowledged by a replica");
        }
    }
}

/// CLI issue, logs: `-vv` (and `RUST_LOG=trace`, every crate) shows what redisctl does down to
/// each command sent to a server, and never a password: not while a Sentinel stack comes up,
/// a setting changes live, a password rotates, or the stack stops. `-q` prints no progress.
#[test]
fn trace_logs_of_a_stack_lifecycle_never_hold_a_secret() {
    let stack = project("{ mode: sentinel, replicas: 1, sentinels: 3 }");
    let dir = stack.dir.path();
    let mut logs = Vec::new();
    let mut traced = |args: &[&str], rust_log: Option<&str>| {
        let mut cmd = common::redisctl_on(dir);
        cmd.args(args);
        if let Some(spec) = rust_log {
            cmd.env("RUST_LOG", spec);
        }
        let o = Run::unbounded(&mut cmd);
        // 2: a rotation's second step waits for --finish-rotation on purpose.
        assert!(matches!(o.code, Some(0 | 2)), "{args:?}: {}", o.text());
        logs.push(o.text());
    };
    traced(&["apply", "--env", "dev", "--auto-approve", "-vv"], None);
    traced(&["plan", "--env", "dev", "-vv"], Some("trace"));
    stack.dir.write("secrets/app", "app-Rotated-Local-Stack-Test\n");
    let base = stack.dir.read("redisctl.yaml");
    stack.dir.write(
        "redisctl.yaml",
        base.replace("repl-diskless-sync-delay: 0", "repl-diskless-sync-delay: 0, timeout: 120"),
    );
    traced(&["apply", "--env", "dev", "--auto-approve", "-vv"], Some("trace"));
    traced(&["apply", "--env", "dev", "--auto-approve", "--finish-rotation", "-vv"], Some("trace"));
    traced(&["status", "--env", "dev", "-vv"], None);
    traced(&["destroy", "--env", "dev", "--auto-approve", "-vv"], None);

    let all = logs.join("\n");
    // Progress: each member's start says where it listens.
    assert!(all.contains("started sentinel-0 on 127.0.0.1:") && all.contains("started node-1 on 127.0.0.1:"), "{all}");
    assert!(all.contains("TRACE redisctl") && all.contains("SENTINEL"), "no command-level trace:\n{all}");
    assert!(all.contains("DEBUG redisctl") && all.contains("applying "), "no debug events:\n{all}");
    for secret in [
        "app-Local-Stack-Test",
        "app-Rotated-Local-Stack-Test",
        "repl-Local-Stack-Test",
        "sentinel-Local-Stack-Test",
        "ops-Local-Stack-Test",
    ] {
        assert!(!all.contains(secret), "the password {secret} is in the logs:\n{all}");
    }

    // -q: the apply says its result, and no progress line.
    let quiet = ok(dir, &["apply", "--env", "dev", "--auto-approve", "-q", "--no-color"]);
    assert!(quiet.contains("Apply complete!") && !quiet.contains(": created"), "{quiet}");
}

/// CLI issue, `init`: a scaffolded project's `local` environment applies at once and is ready
/// (a Sentinel stack, and a cluster), and stops again.
#[test]
fn a_scaffolded_local_environment_applies_at_once() {
    for topology in ["sentinel", "cluster"] {
        let dir = tempfile::tempdir().unwrap();
        // Nodes from `base`, Sentinels (or cluster bus ports) from `base + 10000`: both free.
        let base = common::free_port_block(8, true);
        let init = Run::of(common::redisctl().args(["init", "--project"]).arg(dir.path()).args([
            "--service",
            "orders",
            "--topology",
            topology,
            "--port",
            &base.to_string(),
        ]));
        assert_eq!(init.code, Some(0), "{}", init.show());
        struct Down<'a>(&'a Path);
        impl Drop for Down<'_> {
            fn drop(&mut self) {
                let _ = run(self.0, &["destroy", "--env", "local", "--auto-approve"]);
            }
        }
        let _down = Down(dir.path());
        let applied = ok(dir.path(), &["apply", "--env", "local", "--auto-approve", "--no-color"]);
        assert!(applied.contains("Apply complete!"), "{topology}: {applied}");
        let status = ok(dir.path(), &["status", "--env", "local", "--no-color"]);
        assert!(status.contains("ready:"), "{topology}: {status}");
        ok(dir.path(), &["destroy", "--env", "local", "--auto-approve"]);
    }
}
