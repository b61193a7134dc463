//! Local stacks against real redis-server / redis-sentinel processes on 127.0.0.1: every
//! topology comes up ready, reports a correct status, keeps its data across stop and start,
//! and keeps roles across failovers. A missing binary: tests/fast/stack.rs.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::library::{test_stack, TestStack};
use redisctl::stack::{key_in_slots, key_slot, poll, LiveRole, MemberStatus, StackStatus, StopOptions};

const WAIT: Duration = Duration::from_secs(60);

fn up_timed(t: &TestStack, label: &str) {
    let start = Instant::now();
    t.up(WAIT).unwrap_or_else(|e| panic!("{label}: {e}"));
    eprintln!("{label}: up and ready in {:.2?}", start.elapsed());
}

fn member<'a>(st: &'a StackStatus, name: &str) -> &'a MemberStatus {
    st.members.iter().find(|m| m.name == name).unwrap_or_else(|| panic!("no {name} in {st:#?}"))
}

fn with_role(st: &StackStatus, role: LiveRole) -> Vec<&MemberStatus> {
    st.members.iter().filter(|m| m.role == Some(role)).collect()
}

/// The primary serving `key` now.
fn serving<'a>(st: &'a StackStatus, key: &str) -> &'a MemberStatus {
    let slot = key_slot(key.as_bytes());
    let owns = |m: &&MemberStatus| m.slots.is_empty() || m.slots.iter().any(|&(a, b)| (a..=b).contains(&slot));
    with_role(st, LiveRole::Primary).into_iter().find(owns).unwrap_or_else(|| panic!("nobody serves {key}: {st:#?}"))
}

fn assert_all_up(st: &StackStatus) {
    for m in &st.members {
        assert!(m.up && m.pid.is_some() && m.error.is_none(), "{m:#?}");
    }
}

/// One key per primary, acknowledged by all of its replicas (WAIT); returns the keys.
fn write_data(t: &TestStack) -> Vec<String> {
    let st = t.status();
    with_role(&st, LiveRole::Primary)
        .into_iter()
        .map(|p| {
            let key = if p.slots.is_empty() {
                "catalog:data".to_string()
            } else {
                key_in_slots("catalog:data:", &p.slots).unwrap()
            };
            let mut con = t.connect(&p.name).unwrap();
            redis::cmd("SET").arg(&key).arg(&key).query::<()>(&mut con).unwrap();
            let replicas = st.members.iter().filter(|m| m.primary.as_ref() == Some(&p.address)).count();
            let acked: usize = redis::cmd("WAIT").arg(replicas).arg(5000).query(&mut con).unwrap();
            assert_eq!(acked, replicas, "WAIT on {}", p.name);
            key
        })
        .collect()
}

fn assert_data(t: &TestStack, keys: &[String]) {
    let st = t.status();
    for key in keys {
        let mut con = t.connect(&serving(&st, key).name).unwrap();
        let value: Option<String> = redis::cmd("GET").arg(key).query(&mut con).unwrap();
        assert_eq!(value.as_deref(), Some(key.as_str()));
    }
}

/// `down` ends every process and keeps every node's AOF.
fn stop_keeps_data(t: &TestStack) {
    let pids: Vec<u32> = t.status().members.iter().map(|m| m.pid.unwrap()).collect();
    t.down(StopOptions::default()).unwrap();
    for pid in pids {
        poll(Duration::from_secs(2), || if Path::new(&format!("/proc/{pid}")).exists() { Err(pid) } else { Ok(()) })
            .unwrap_or_else(|pid| panic!("process {pid} is still there"));
    }
    for m in &t.status().members {
        assert!(!m.up && m.pid.is_none(), "{m:#?}");
    }
    for n in &t.deployment.nodes {
        assert!(t.run.member_dir(&n.name).join("appendonlydir").is_dir(), "{} lost its AOF", n.name);
    }
    assert!(!t.stop("node-0", StopOptions::default()).unwrap(), "stopping a stopped node is a no-op");
}

/// Up, status, data, down, up again: the data is still there and `check` holds both times.
fn lifecycle(topology: &str, label: &str, check: impl Fn(&TestStack, &StackStatus)) {
    let t = test_stack(topology);
    up_timed(&t, label);
    let st = t.status();
    assert_all_up(&st);
    check(&t, &st);
    let keys = write_data(&t);
    stop_keeps_data(&t);
    up_timed(&t, &format!("{label} (restart)"));
    check(&t, &t.status());
    assert_data(&t, &keys);
}

#[test]
fn standalone() {
    lifecycle("{ mode: standalone }", "standalone", |_, st| {
        assert_eq!(st.members.len(), 1);
        let m = &st.members[0];
        assert_eq!(m.role, Some(LiveRole::Primary));
        assert_eq!(m.maxmemory, Some(64 * 1024 * 1024));
        assert!(m.used_memory.unwrap() > 0 && m.repl_offset.is_some() && m.slots.is_empty());
    });
}

#[test]
fn primary_with_two_replicas() {
    lifecycle("{ mode: replication, replicas: 2 }", "replication 1+2", |_, st| {
        let primary = member(st, "node-0");
        assert_eq!(primary.role, Some(LiveRole::Primary));
        for name in ["node-1", "node-2"] {
            let r = member(st, name);
            assert_eq!(r.role, Some(LiveRole::Replica));
            assert_eq!(r.primary.as_ref(), Some(&primary.address));
            assert_eq!(r.link_up, Some(true));
            assert!(r.lag_bytes.is_some(), "{r:#?}");
        }
    });
}

#[test]
fn sentinel() {
    lifecycle("{ mode: sentinel, replicas: 1, sentinels: 3 }", "sentinel 1+1, 3 sentinels", |_, st| {
        let primary = member(st, "node-0");
        assert_eq!(primary.role, Some(LiveRole::Primary));
        assert_eq!(member(st, "node-1").primary.as_ref(), Some(&primary.address));
        let sentinels = with_role(st, LiveRole::Sentinel);
        assert_eq!(sentinels.len(), 3);
        for s in sentinels {
            assert_eq!(s.master_addr.as_ref(), Some(&primary.address), "{s:#?}");
        }
    });
}

fn cluster_info(t: &TestStack, node: &str, field: &str) -> String {
    let text: String = redis::cmd("CLUSTER").arg("INFO").query(&mut t.connect(node).unwrap()).unwrap();
    text.lines().find_map(|l| l.strip_prefix(&format!("{field}:"))).unwrap().trim().to_string()
}

#[test]
fn cluster_three_shards_one_replica_each() {
    let t = test_stack("{ mode: cluster, shards: 3, replicasPerShard: 1 }");
    up_timed(&t, "cluster 3x1");
    let st = t.status();
    assert_all_up(&st);
    let primaries = with_role(&st, LiveRole::Primary);
    assert_eq!(primaries.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["node-0", "node-1", "node-2"]);
    let slots: u32 = primaries.iter().flat_map(|p| &p.slots).map(|&(a, b)| u32::from(b - a) + 1).sum();
    assert_eq!(slots, 16384);
    for (replica, primary) in [("node-3", "node-0"), ("node-4", "node-1"), ("node-5", "node-2")] {
        assert_eq!(member(&st, replica).primary.as_ref(), Some(&member(&st, primary).address));
    }
    let keys = write_data(&t);

    // Bootstrapping a formed cluster changes nothing.
    let before = (
        cluster_info(&t, "node-0", "cluster_stats_messages_meet_sent"),
        cluster_info(&t, "node-0", "cluster_current_epoch"),
    );
    t.bootstrap_cluster(WAIT).unwrap();
    let after = (
        cluster_info(&t, "node-0", "cluster_stats_messages_meet_sent"),
        cluster_info(&t, "node-0", "cluster_current_epoch"),
    );
    assert_eq!(before, after);

    // A manual failover swaps shard 0's roles, and a restart keeps them.
    t.cluster_failover("node-3", WAIT).unwrap();
    // It returns once the old primary has turned into a replica, so it can be restarted at once.
    assert_eq!(role_of(&t, "node-0"), ("Some(Replica)".into(), Some(member(&t.status(), "node-3").address.clone())));
    t.wait_ready(WAIT).unwrap();
    stop_keeps_data(&t);
    up_timed(&t, "cluster 3x1 (restart after failover)");
    let st = t.status();
    assert_eq!(member(&st, "node-3").role, Some(LiveRole::Primary));
    assert_eq!(member(&st, "node-3").slots, [(0, 5460)]);
    assert_eq!(member(&st, "node-0").primary.as_ref(), Some(&member(&st, "node-3").address));
    assert_data(&t, &keys);
}

fn role_of(t: &TestStack, node: &str) -> (String, Option<String>) {
    let m = t.status().members.into_iter().find(|m| m.name == node).unwrap();
    (format!("{:?}", m.role), m.primary)
}

#[test]
fn a_failed_over_primary_comes_back_as_a_replica() {
    let t = test_stack("{ mode: sentinel, replicas: 1, sentinels: 3 }");
    up_timed(&t, "sentinel failover stack");
    let keys = write_data(&t);
    let st = t.status();
    let (old, new) = (member(&st, "node-0").clone(), member(&st, "node-1").clone());

    // SAFETY: kill(2) on the pid of the node this test started.
    unsafe { libc::kill(old.pid.unwrap() as i32, libc::SIGKILL) };
    let start = Instant::now();
    poll(WAIT, || match t.sentinel_master_addr() {
        Ok((_, port)) if format!("127.0.0.1:{port}") == new.address => Ok(()),
        other => Err(other),
    })
    .unwrap();
    eprintln!("sentinel promoted node-1 {:.2?} after kill -9 of node-0", start.elapsed());

    assert!(t.start("node-0").unwrap());
    assert_eq!(role_of(&t, "node-0"), ("Some(Replica)".into(), Some(new.address.clone())), "right from the start");
    let runtime = std::fs::read_to_string(t.run.runtime_config("node-0")).unwrap();
    assert!(runtime.contains(&format!("replicaof {}", new.address.replace(':', " "))), "{runtime}");
    t.wait_ready(WAIT).unwrap();
    assert_data(&t, &keys);

    t.restart("node-0", StopOptions::default()).unwrap();
    assert_eq!(role_of(&t, "node-0").0, "Some(Replica)", "a restart keeps the observed role");
    t.wait_ready(WAIT).unwrap();

    let start = Instant::now();
    assert_eq!(t.sentinel_failover(WAIT).unwrap(), "node-0");
    eprintln!("SENTINEL FAILOVER took {:.2?}", start.elapsed());
    t.wait_ready(WAIT).unwrap();
    assert_eq!(role_of(&t, "node-1"), ("Some(Replica)".into(), Some(old.address.clone())));
    assert_data(&t, &keys);
}

#[test]
fn readiness_names_the_failing_check_and_shows_the_log() {
    let t = test_stack("{ mode: standalone }");
    t.up(WAIT).unwrap();
    let mut con = t.connect("node-0").unwrap();
    // PING still answers, but the node can no longer take a write.
    redis::cmd("CONFIG")
        .arg(&["SET", "maxmemory-policy", "noeviction", "maxmemory", "1"])
        .query::<()>(&mut con)
        .unwrap();
    let e = t.wait_ready(Duration::from_millis(300)).unwrap_err().to_string();
    assert!(e.contains("node-0 is not ready") && e.contains("probe write check failed") && e.contains("OOM"), "{e}");
    assert!(e.contains("last lines of") && e.contains("Ready to accept connections"), "{e}");

    let json = serde_json::to_value(t.status()).unwrap();
    assert_eq!((&json["members"][0]["kind"], &json["members"][0]["role"]), (&"redis".into(), &"primary".into()));
    assert_eq!(json["members"][0]["maxmemory"], 1);
}

#[test]
fn a_port_served_by_another_process_is_refused() {
    let t = test_stack("{ mode: standalone }");
    t.up(WAIT).unwrap();
    // Without its pid file the running node is, for redisctl, some other process on the port.
    let pid_file = t.run.pid_file("node-0", redisctl::stack::Kind::Redis);
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    std::fs::remove_file(&pid_file).unwrap();
    let e = t.start("node-0").unwrap_err().to_string();
    assert!(e.contains("another process already listens on"), "{e}");
    std::fs::write(&pid_file, pid).unwrap(); // so the guard stops it

    // A program that is not Redis at all (it never answers RESP) is named the same way,
    // before the node's own failed bind would be.
    t.down(StopOptions::default()).unwrap();
    let port = t.deployment.nodes[0].port as u16;
    let _listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let e = t.start("node-0").unwrap_err().to_string();
    assert!(e.contains(&format!("another process already listens on 127.0.0.1:{port}")), "{e}");
}

#[test]
fn a_cluster_node_whose_bus_port_is_held_is_refused_with_the_reason() {
    let t = test_stack("{ mode: cluster, shards: 3, replicasPerShard: 0 }");
    let bus = t.deployment.nodes[0].bus_port.unwrap() as u16;
    let _holder = std::net::TcpListener::bind(("127.0.0.1", bus)).unwrap();
    let e = t.start("node-0").unwrap_err().to_string();
    assert!(e.contains(&format!("cluster bus port 127.0.0.1:{bus}")) && e.contains("port + 10000"), "{e}");
    let port = t.deployment.nodes[0].port as u16;
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "nothing was started");
}
