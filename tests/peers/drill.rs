//! Measured drills on real local stacks: `drill failover` on Sentinel and Cluster stacks
//! (graceful and with the primary killed) prints the outage and the acknowledged writes lost
//! and writes `drills/dev.json`; `drill restore` of a stack with data restores the same key
//! counts into a scratch server that is gone afterwards; `review` reads the record and turns
//! No-Go when the measured outage exceeds `operations.objectives.rto`.

use crate::common::stacks::{LocalStack, PASSWORDS};

fn record(stack: &LocalStack) -> serde_json::Value {
    let text = std::fs::read_to_string(stack.path().join("drills/dev.json")).expect("the drill writes its record");
    no_secret(&text);
    serde_json::from_str(&text).unwrap()
}

fn no_secret(text: &str) {
    for (_, pw) in PASSWORDS {
        assert!(!text.contains(pw), "a password in the output:\n{text}");
    }
}

fn failover(stack: &LocalStack, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["drill", "failover", "--env", "dev"];
    args.extend_from_slice(extra);
    let out = stack.ok(&args);
    eprintln!("{out}");
    no_secret(&out);
    assert!(out.contains("outage (writes failing):") && out.contains("acknowledged writes lost: 0"), "{out}");
    assert!(out.contains("connect endpoints reach the new primary: yes"), "{out}");
    let f = record(stack)["failover"].clone();
    assert_ne!(f["oldPrimary"], f["newPrimary"], "{f:#}");
    assert!(f["acknowledged"].as_u64().unwrap() > 5, "{f:#}");
    assert_eq!(f["acknowledgedLost"], 0, "{f:#}");
    assert!(f["fingerprint"].as_str().unwrap().len() >= 12, "{f:#}");
    // The drill's keys are gone from the new primary.
    let new = f["newPrimary"].as_str().unwrap();
    let port: u16 = new.rsplit(':').next().unwrap().trim_end_matches(')').parse().unwrap();
    let mut con = LocalStack::connection(port, "ops");
    let (_, left): (String, Vec<String>) = redis::cmd("SCAN")
        .arg(0)
        .arg("MATCH")
        .arg("{redisctl-drill}*")
        .arg("COUNT")
        .arg(10000)
        .query(&mut con)
        .unwrap();
    assert!(left.is_empty(), "drill keys left: {left:?}");
    f
}

#[test]
fn a_failover_drill_on_a_sentinel_stack_measures_the_outage_and_records_it() {
    let stack = LocalStack::up(
        "{ mode: sentinel, replicas: 1, sentinels: 3, downAfter: 1s }",
        "operations: { objectives: { rto: 1s, rpo: 0s } }\n",
    );
    let graceful = failover(&stack, &[]);
    assert_eq!(graceful["method"], "sentinel-failover");
    let killed = failover(&stack, &["--kill-primary"]);
    assert_eq!(killed["method"], "kill-primary");
    // The killed primary came back (as a replica): the stack is whole again.
    let status: serde_json::Value =
        serde_json::from_str(&stack.ok(&["status", "--env", "dev", "--format", "json"])).unwrap();
    assert_eq!(status["ready"], true, "{status:#}");
    eprintln!(
        "sentinel failover outage: graceful {} ms, primary killed {} ms",
        graceful["outageMs"], killed["outageMs"]
    );

    // The review reads the record: the killed primary's outage is longer than the declared
    // RTO of 1 s (downAfter alone is 1 s), so the verdict is No-Go for that reason.
    assert!(killed["outageMs"].as_u64().unwrap() > 1000, "{killed:#}");
    let review = |stack: &LocalStack| -> serde_json::Value {
        let o = stack.run(&["review", "--env", "dev", "--format", "json"]);
        serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", o.show()))
    };
    let criterion = |r: &serde_json::Value, text: &str| -> serde_json::Value {
        r["no_go"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["text"] == text)
            .cloned()
            .unwrap_or_else(|| panic!("no `{text}` in {r:#}"))
    };
    let r = review(&stack);
    assert_eq!(r["verdict"], "No-Go");
    let rto = criterion(&r, "measured RTO exceeds the declared objective");
    assert_eq!(rto["ok"], false, "{rto:#}");
    assert!(r["missing"].to_string().contains("measured RTO exceeds the declared objective"), "{r:#}");
    assert_eq!(criterion(&r, "measured data loss exceeds the declared RPO")["ok"], true, "{r:#}");
    assert_eq!(criterion(&r, "failover behavior is assumed")["ok"], true, "{r:#}");
    assert_eq!(criterion(&r, "drill evidence is stale or missing")["ok"], true, "{r:#}");
    let drills = r["sections"].as_array().unwrap().iter().find(|s| s["title"] == "Drills (measured)").unwrap().clone();
    assert!(drills.to_string().contains("kill-primary"), "{drills:#}");
    // A generous objective is met; the contract changed, so the evidence is now stale.
    let base = std::fs::read_to_string(stack.path().join("redisctl.yaml")).unwrap();
    std::fs::write(stack.path().join("redisctl.yaml"), base.replace("rto: 1s", "rto: 60s")).unwrap();
    let r = review(&stack);
    assert_eq!(criterion(&r, "measured RTO exceeds the declared objective")["ok"], true, "{r:#}");
    let stale = criterion(&r, "drill evidence is stale or missing");
    assert!(stale["ok"] == false && stale["evidence"].as_str().unwrap().contains("has changed since"), "{stale:#}");
}

#[test]
fn a_failover_drill_on_a_cluster_stack_measures_the_outage_and_records_it() {
    let stack = LocalStack::up("{ mode: cluster, shards: 3, replicasPerShard: 1 }", "");
    let f = failover(&stack, &[]);
    assert_eq!(f["method"], "cluster-failover");
    // The primary killed: its replica takes over once the cluster node timeout (15 s by
    // default) has passed, and the killed node comes back as a replica.
    let killed = failover(&stack, &["--kill-primary"]);
    assert_eq!(killed["method"], "kill-primary");
    assert!(killed["outageMs"].as_u64().unwrap() > 1000, "{killed:#}");
    let status: serde_json::Value =
        serde_json::from_str(&stack.ok(&["status", "--env", "dev", "--format", "json"])).unwrap();
    assert_eq!(status["ready"], true, "{status:#}");
    eprintln!("cluster failover outage: graceful {} ms, primary killed {} ms", f["outageMs"], killed["outageMs"]);
}

#[test]
fn failover_drills_need_a_failover_mechanism_and_spare_production() {
    let stack = LocalStack::up("{ mode: standalone }", "");
    let o = stack.run(&["drill", "failover", "--env", "dev"]);
    assert!(!o.success() && o.stderr.contains("no automatic failover"), "{}", o.show());
    let overlay = std::fs::read_to_string(stack.path().join("environments/dev.yaml")).unwrap();
    std::fs::write(stack.path().join("environments/dev.yaml"), format!("{overlay}productionLike: true\n")).unwrap();
    let o = stack.run(&["drill", "restore", "--env", "dev"]);
    assert!(!o.success() && o.stderr.contains("--allow-production"), "{}", o.show());
    assert!(!stack.path().join("drills/dev.json").exists());
}

#[test]
fn a_restore_drill_restores_the_same_key_counts_and_removes_its_scratch_server() {
    let stack = LocalStack::up("{ mode: replication, replicas: 1 }", "");
    assert_eq!(LocalStack::fill(stack.base, "stack", 300), 300);
    let mut con = LocalStack::connection(stack.base, "ops");
    for i in 0..40 {
        redis::cmd("SET").arg(format!("other:{i}")).arg(i).exec(&mut con).unwrap();
    }
    let out = stack.ok(&["drill", "restore", "--env", "dev"]);
    eprintln!("{out}");
    no_secret(&out);
    let r = record(&stack)["restore"].clone();
    assert_eq!(r["matches"], true, "{r:#}");
    assert_eq!(r["sourceKeys"], r["restoredKeys"], "{r:#}");
    let stack_prefix = r["prefixes"].as_array().unwrap().iter().find(|p| p["prefix"] == "stack").cloned().unwrap();
    assert_eq!((stack_prefix["source"].as_u64(), stack_prefix["restored"].as_u64()), (Some(300), Some(300)), "{r:#}");
    assert!(out.contains("stack:* — 300 in the source, 300 restored"), "{out}");
    // No scratch directory is left behind.
    let left: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("redisctl-restore-"))
        .filter(|e| {
            e.metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .is_some_and(|t| t.elapsed().unwrap_or_default().as_secs() < 60)
        })
        .collect();
    assert!(left.is_empty(), "scratch directories left: {left:?}");
}

#[test]
fn a_restore_drill_of_a_cluster_restores_every_shard() {
    let stack = LocalStack::up("{ mode: cluster, shards: 3, replicasPerShard: 1 }", "");
    let mut written = 0;
    for shard in 0..3 {
        written += LocalStack::fill(stack.base + shard, "stack", 300);
    }
    assert!(written >= 300, "{written}");
    let out = stack.ok(&["drill", "restore", "--env", "dev"]);
    eprintln!("{out}");
    let r = record(&stack)["restore"].clone();
    assert_eq!(r["matches"], true, "{r:#}");
    let stack_prefix = r["prefixes"].as_array().unwrap().iter().find(|p| p["prefix"] == "stack").cloned().unwrap();
    assert_eq!(stack_prefix["source"].as_u64(), Some(written as u64), "{r:#}");
    assert_eq!(stack_prefix["restored"].as_u64(), Some(written as u64), "{r:#}");
}

/// `drill failover --live` on a systemd fleet: here a `target: systemd` environment of the same
/// project whose nodes and Sentinels are the running local stack's (127.0.0.1, same ports),
/// reached at their addresses as `plan --live` reaches them. A graceful SENTINEL FAILOVER only:
/// redisctl does not run a fleet's services, so it kills nothing there.
#[test]
fn a_failover_drill_over_live_on_a_systemd_sentinel_fleet_measures_and_records_it() {
    let stack = LocalStack::up("{ mode: sentinel, replicas: 1, sentinels: 3, downAfter: 1s }", "");
    let dev = std::fs::read_to_string(stack.path().join("environments/dev.yaml")).unwrap();
    let fleet = format!("{dev}target: systemd\nsystemd: {{ hosts: [127.0.0.1] }}\nsecurity: {{ auth: required }}\n");
    std::fs::write(stack.path().join("environments/fleet.yaml"), fleet).unwrap();
    // Refused without --live (a systemd fleet is not a local stack), and with --kill-primary.
    let o = stack.run(&["drill", "failover", "--env", "fleet"]);
    assert!(!o.success() && o.stderr.contains("--live"), "{}", o.show());
    let o = stack.run(&["drill", "failover", "--env", "fleet", "--live", "--kill-primary"]);
    assert_eq!(o.code, Some(64), "{}", o.show());
    let o = stack.run(&["drill", "failover", "--env", "dev", "--live"]);
    assert!(!o.success() && o.stderr.contains("without --live"), "{}", o.show());
    assert!(!stack.path().join("drills/fleet.json").exists());

    let before = record_of(&stack, "fleet", &["drill", "failover", "--env", "fleet", "--live"]);
    assert_eq!(before["method"], "sentinel-failover");
    assert!(before["oldPrimary"].as_str().unwrap().contains("127.0.0.1:"), "{before:#}");
    eprintln!("systemd --live sentinel failover outage: {} ms", before["outageMs"]);
    // The local stack is still whole: the old primary follows the new one.
    let status: serde_json::Value =
        serde_json::from_str(&stack.ok(&["status", "--env", "dev", "--format", "json"])).unwrap();
    assert_eq!(status["ready"], true, "{status:#}");
}

/// Run a failover drill, check what every failover drill must show, and return the record's
/// `failover` of environment `env`.
fn record_of(stack: &LocalStack, env: &str, args: &[&str]) -> serde_json::Value {
    let out = stack.ok(args);
    eprintln!("{out}");
    no_secret(&out);
    assert!(out.contains("acknowledged writes lost: 0"), "{out}");
    assert!(out.contains("connect endpoints reach the new primary: yes"), "{out}");
    let text = std::fs::read_to_string(stack.path().join(format!("drills/{env}.json"))).unwrap();
    no_secret(&text);
    let f = serde_json::from_str::<serde_json::Value>(&text).unwrap()["failover"].clone();
    assert_ne!(f["oldPrimary"], f["newPrimary"], "{f:#}");
    assert!(f["acknowledged"].as_u64().unwrap() > 5, "{f:#}");
    assert_eq!(f["acknowledgedLost"], 0, "{f:#}");
    f
}
