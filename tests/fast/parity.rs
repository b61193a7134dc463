//! `redisctl parity` over multi-environment projects, through the real binary.

use crate::common::policy::{Project, BASE};
use predicates::prelude::*;
use serde_json::Value;

const LOCAL: &str = "target: process\n";
const PROD: &str = "productionLike: true\ntarget: kubernetes\nresources:\n  maxmemory: 4gb\n  memoryLimit: 6Gi\n";

fn parity_json(p: &Project) -> (i32, Value) {
    let out = p.redisctl(&["parity", "--format", "json"]).output().expect("run");
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("parity JSON: {e}\n{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), json)
}

fn row<'a>(json: &'a Value, setting: &str) -> &'a Value {
    json["settings"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["setting"] == setting))
        .unwrap_or_else(|| panic!("no row {setting} in {json:#}"))
}

fn violations(json: &Value) -> Vec<&str> {
    json["settings"]
        .as_array()
        .map(|rows| rows.iter().filter(|r| r["status"] == "violation").filter_map(|r| r["setting"].as_str()).collect())
        .unwrap_or_default()
}

#[test]
fn version_skew_is_a_violation() {
    let p = Project::new(&[("local", "redis:\n  version: \"7.0\"\n"), ("prod", PROD)]);
    let (code, json) = parity_json(&p);
    assert_eq!(code, 1);
    assert_eq!(violations(&json), ["redis.version"]);
    let r = row(&json, "redis.version");
    assert_eq!(r["class"], "locked");
    assert_eq!(r["values"]["local"], "7.0");
    assert_eq!(r["values"]["prod"], "7.2");
    assert_eq!(r["locations"]["local"], "environments/local.yaml:2:12");
    assert_eq!(r["locations"]["prod"], "redisctl.yaml:4:12");

    p.redisctl(&["parity"])
        .assert()
        .code(1)
        .stdout(predicate::str::is_match(r"redis\.version +locked +7\.0 +7\.2 +VIOLATION").unwrap())
        .stdout(predicate::str::contains("violation: locked setting `redis.version` differs"))
        .stdout(predicate::str::contains("  local: 7.0 (environments/local.yaml:2:12)"))
        .stdout(predicate::str::contains("Parity: 1 violation(s)"));
}

#[test]
fn eviction_skew_is_a_violation() {
    let p = Project::new(&[("local", LOCAL), ("prod", &format!("{PROD}redis:\n  maxmemoryPolicy: allkeys-lfu\n"))]);
    let (code, json) = parity_json(&p);
    assert_eq!(code, 1);
    assert_eq!(violations(&json), ["redis.maxmemoryPolicy"]);
    assert_eq!(row(&json, "redis.maxmemoryPolicy")["values"]["prod"], "allkeys-lfu");
    p.redisctl(&["parity", "--format", "markdown"]).assert().code(1).stdout(predicate::str::contains(
        "| `redis.maxmemoryPolicy` | locked | `allkeys-lru` | `allkeys-lfu` | VIOLATION |",
    ));
}

#[test]
fn standalone_local_against_cluster_production_needs_cluster_safe_keys() {
    let prod_cluster = format!("{PROD}topology:\n  mode: cluster\n  failureDomains: [a, b, c]\n");
    let unsafe_base = BASE.replace("clusterSafe: true", "clusterSafe: false");
    let p = Project::with_base(&unsafe_base, &[("local", LOCAL), ("prod", &prod_cluster)]);
    let (code, json) = parity_json(&p);
    assert_eq!(code, 1);
    assert_eq!(violations(&json), ["topology.mode"]);
    let problem = row(&json, "topology.mode")["problem"].as_str().unwrap_or_default().to_string();
    assert!(problem.contains("`prod` runs Redis Cluster, but `local` do(es) not"), "{problem}");
    assert!(problem.contains("CROSSSLOT"), "{problem}");

    // Declaring the key model cluster-safe makes the standalone local stack acceptable.
    let p = Project::new(&[("local", LOCAL), ("prod", &prod_cluster)]);
    let (code, json) = parity_json(&p);
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(row(&json, "topology.mode")["status"], "envelope");
}

#[test]
fn envelope_differences_are_not_violations() {
    let local = "resources:\n  maxmemory: 64mb\ntopology:\n  mode: sentinel\n  replicas: 1\n  sentinels: 3\n";
    let prod =
        format!("{PROD}topology:\n  mode: sentinel\n  replicas: 2\n  sentinels: 5\n  failureDomains: [a, b, c]\n");
    let p = Project::new(&[("local", local), ("prod", &prod)]);
    let (code, json) = parity_json(&p);
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["violations"], 0);
    for setting in ["resources.maxmemory", "topology.replicas", "topology.sentinels", "target", "resources.memoryLimit"]
    {
        assert_eq!(row(&json, setting)["status"], "envelope", "{setting}");
        assert_eq!(row(&json, setting)["class"], "envelope", "{setting}");
    }
    assert_eq!(row(&json, "resources.maxmemory")["values"]["local"], "64mb");
    assert_eq!(row(&json, "resources.maxmemory")["values"]["prod"], "4gb");
    p.redisctl(&["parity"]).assert().success().stdout(predicate::str::contains("Parity: in parity;"));
}

#[test]
fn persistence_may_differ_only_in_local() {
    let aof = "redis:\n  persistence:\n    mode: aof\n";
    let p = Project::new(&[
        ("local", LOCAL),
        ("prod", &format!("{PROD}{aof}")),
        ("staging", &format!("target: kubernetes\n{aof}")),
    ]);
    let (code, json) = parity_json(&p);
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(row(&json, "redis.persistence.mode")["class"], "locked-outside-local");
    assert_eq!(row(&json, "redis.persistence.mode")["status"], "envelope");

    let p = Project::new(&[("local", LOCAL), ("prod", &format!("{PROD}{aof}")), ("staging", "target: kubernetes\n")]);
    let (code, json) = parity_json(&p);
    assert_eq!(code, 1);
    // Staging has no AOF at all, so its fsync policy differs too.
    assert_eq!(violations(&json), ["redis.persistence.fsync", "redis.persistence.mode"]);
}

#[test]
fn application_acl_rules_and_client_semantics_are_locked() {
    let local = "acl:\n  users:\n    - name: shop-app\n      password: { fromFile: secrets/app.password }\n      keys: [\"shop:*\"]\n      commands: [\"+@all\"]\n    - { name: ops, role: operator, password: { fromFile: secrets/ops.password } }\n    - { name: metrics, role: exporter, password: { fromFile: secrets/metrics.password } }\n    # (the same number of lines as a block mapping)\nclient:\n  commandTimeout: 5s\n";
    let p = Project::new(&[("local", local), ("prod", PROD)]);
    let (code, json) = parity_json(&p);
    assert_eq!(code, 1);
    assert_eq!(violations(&json), ["acl.users.shop-app.commands", "client.commandTimeout"]);
}

#[test]
fn an_exception_with_a_reason_allows_a_locked_difference() {
    let base = format!(
        "{BASE}parity:\n  exceptions:\n    - setting: redis.version\n      reason: production is upgraded first, local follows next sprint\n"
    );
    let p = Project::with_base(&base, &[("local", "redis:\n  version: \"7.0\"\n"), ("prod", PROD)]);
    let (code, json) = parity_json(&p);
    assert_eq!(code, 0, "{json:#}");
    let r = row(&json, "redis.version");
    assert_eq!(r["status"], "excepted");
    assert_eq!(r["exception"], "production is upgraded first, local follows next sprint");
    p.redisctl(&["parity"])
        .assert()
        .success()
        .stdout(predicate::str::contains("exception: production is upgraded first, local follows next sprint"));
}

/// SLOs are semantics: staging must alert like production, unless an exception explains why;
/// a developer's local stack may relax them.
#[test]
fn slos_and_alerts_are_locked_outside_local() {
    let relaxed =
        "observability:\n  slos:\n    availability: { objective: 99 }\n  alerts:\n    oom: { severity: ticket }\n";
    let staging = |extra: &str| format!("target: kubernetes\n{extra}");
    let p = Project::new(&[("local", &format!("{LOCAL}{relaxed}")), ("prod", PROD), ("staging", &staging(""))]);
    let (code, json) = parity_json(&p);
    assert_eq!(code, 0, "local may relax them: {json:#}");
    assert_eq!(row(&json, "observability.slos.availability.objective")["class"], "locked-outside-local");

    let p = Project::new(&[("local", LOCAL), ("prod", PROD), ("staging", &staging(relaxed))]);
    let (code, json) = parity_json(&p);
    assert_eq!(code, 1);
    assert_eq!(
        violations(&json),
        // The defaults take part: production's 99.9 is not written, staging's 99 is.
        ["observability.alerts.oom.severity", "observability.slos.availability.objective"]
    );
    let r = row(&json, "observability.slos.availability.objective");
    assert_eq!(r["values"]["staging"], "99.0");
    assert_eq!(r["locations"]["staging"], "environments/staging.yaml:4:32");

    let base = format!(
        "{BASE}parity:\n  exceptions:\n    - setting: observability.slos.availability.objective\n      reason: staging runs on spot nodes\n"
    );
    let p = Project::with_base(
        &base,
        &[("prod", PROD), ("staging", &staging("observability:\n  slos:\n    availability: { objective: 99 }\n"))],
    );
    let (code, json) = parity_json(&p);
    assert_eq!(code, 0, "{json:#}");
}
