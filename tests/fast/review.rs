//! `redisctl review`: a complete production contract gets Go; taking away backups, TLS or
//! fresh evidence gets No-Go naming what is missing.

use crate::common;
use crate::common::policy::{Project, BASE, TODAY};
use predicates::prelude::*;

/// Everything the review asks for, shared by every environment.
const READINESS: &str = r#"client:
  library: Lettuce 6.5
  retry: { maxAttempts: 3, backoff: 100ms }
  circuitBreaker: true
  serialization: JSON with a schema version
readiness:
  criticality: high
  dataOwnership: sessions team; Redis is the only copy of live sessions
  rebuildStrategy: none, sessions are lost and users sign in again
  outageBehavior: fail closed, sign-in returns 503 and the status page says so
  rollback: apply the previous contract; restore the latest backup to a new instance
  rpo: 1 s
  rto: 1 min
  dataModel:
    ttlPolicy: sessions expire after 30 min idle
    largeKeyControls: a session is capped at 16 KiB by the client
  security:
    networkBoundary: private subnets; NetworkPolicy admits the web pods only
    secretRotation: quarterly, two-password window
    tenantIsolation: one service; keys under shop:session:*
  observability:
    metrics: redis_exporter to Prometheus
    logs: Loki
    alerts: memory above 80 %, replica lag, failover, rejected connections
    dashboards: Grafana "Redis / shop"
    slowCommandTracking: slowlog above 10 ms, alerted
    replicaLag: alert above 1 MB for 1 min
  runbooks:
    highLatency: https://runbooks.example/high-latency
    memoryPressure: https://runbooks.example/memory
    failover: https://runbooks.example/failover
    connectionStorm: https://runbooks.example/connections
    dataInconsistency: https://runbooks.example/inconsistency
"#;

const PROD: &str = r#"productionLike: true
target: kubernetes
redis:
  workload: session
  maxmemoryPolicy: noeviction
  persistence: { mode: aof, fsync: everysec }
topology:
  mode: sentinel
  replicas: 2
  sentinels: 3
  failureDomains: [zone-a, zone-b, zone-c]
resources:
  maxmemory: 1gb
  memoryLimit: 2Gi
container:
  image: redis:7.2.5
kubernetes:
  storage: { size: 10Gi }
  antiAffinity: hard
operations:
  failoverTest: { lastPerformed: 2026-10-05, underLoad: true, clientsReconnected: true }
  maintenanceWindow: sun:03:00-sun:04:00 UTC
"#;

fn project(prod: &str) -> Project {
    Project::with_base(&format!("{BASE}{READINESS}"), &[("prod", prod)])
}

#[test]
fn a_complete_production_contract_gets_go() {
    let p = project(PROD);
    let review = p.stdout_ok(&["review", "--env", "prod"]);
    assert!(review.contains("# Redis Readiness Review: `shop` / `prod`"), "{review}");
    assert!(review.contains("## Verdict: **Go** ✅"), "{review}");
    assert!(!review.contains("**blank**"), "{review}");
    for section in [
        "Workload",
        "Topology",
        "Data Model",
        "Client",
        "Durability",
        "Availability",
        "Security",
        "Observability",
        "Incident Runbook",
        "Go/No-Go",
    ] {
        assert!(review.contains(&format!("\n## {section}\n")), "section {section} in\n{review}");
    }
    for line in [
        "- Cluster/Sentinel/standalone: Sentinel: primary + 2 replica(s), 3 Sentinels, quorum 2, across zone-a, zone-b, zone-c",
        "- Backup: daily 02:00 UTC to s3://shop-redis-backups, kept 14 days",
        "- Restore drill: 2026-09-01 (83 days ago)",
        "- RPO: 1 s (the configuration delivers: about 1 s of writes (AOF fsync everysec); a failover can also lose writes not yet replicated)",
        "- Client reconnect tested: 2026-10-05 under load, clients reconnected by themselves",
        "| failover is tested | ✅ met | failover test on 2026-10-05 |",
        "| backup restore is never tested | ✅ clear | restore drill on 2026-09-01 |",
    ] {
        assert!(review.contains(line), "missing {line:?} in\n{review}");
    }
}

#[test]
fn removing_backups_gives_no_go_naming_them() {
    let p = project(&format!("{PROD}  backup: null\n"));
    let out = p.redisctl(&["review", "--env", "prod"]).assert().code(1).get_output().stdout.clone();
    let review = String::from_utf8_lossy(&out);
    assert!(review.contains("## Verdict: **No-Go** ❌"), "{review}");
    for missing in [
        "- Durability › Backup: blank (`operations.backup`)",
        "- Go criterion not met: persistence/backup decision is documented (RCTL113: persistence `aof` with no backup (`operations.backup`))",
        "- policy error RCTL113: persistence `aof` with no backup (`operations.backup`)",
    ] {
        assert!(review.contains(missing), "missing {missing:?} in\n{review}");
    }
    assert!(review.contains("- Backup: **blank** — set `operations.backup`"), "{review}");
}

#[test]
fn removing_tls_gives_no_go_naming_it() {
    let p = project(&format!("{PROD}security:\n  tls: null\n"));
    let out = p.redisctl(&["review", "--env", "prod"]).assert().code(1).get_output().stdout.clone();
    let review = String::from_utf8_lossy(&out);
    for missing in [
        "- Go criterion not met: security boundary is enforced (RCTL102: TLS is off in production-like environment `prod`)",
        "- policy error RCTL102: TLS is off in production-like environment `prod`",
        "- TLS: off",
    ] {
        assert!(review.contains(missing), "missing {missing:?} in\n{review}");
    }
}

#[test]
fn stale_evidence_counts_as_none() {
    let p = project(PROD);
    p.redisctl(&["review", "--env", "prod"])
        .env("REDISCTL_TODAY", "2027-10-06")
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "- Go criterion not met: failover is tested (failover test (`operations.failoverTest`) last on 2026-10-05, more than 365 days ago)",
        ))
        .stdout(predicate::str::contains(
            "- No-Go condition: backup restore is never tested (restore drill (`operations.restoreDrill`) last on 2026-09-01, more than 365 days ago)",
        ));
}

#[test]
fn blank_readiness_is_no_go_with_every_blank_listed() {
    let p = Project::new(&[("prod", PROD)]);
    let out = p.redisctl(&["review", "--env", "prod"]).assert().code(1).get_output().stdout.clone();
    let review = String::from_utf8_lossy(&out);
    for blank in [
        "- Workload › Criticality: blank (`readiness.criticality`)",
        "- Client › Retry: blank (`client.retry`)",
        "- Incident Runbook › Connection storm: blank (`readiness.runbooks.connectionStorm`)",
        "- No-Go condition: Redis is treated as an invisible dependency",
        "- No-Go condition: Redis outage behavior is undefined",
    ] {
        assert!(review.contains(blank), "missing {blank:?} in\n{review}");
    }
}

#[test]
fn out_writes_the_document_and_json_carries_the_verdict() {
    let p = project(PROD);
    p.redisctl(&["review", "--env", "prod", "--out", "review.md"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Wrote the readiness review of `prod` to review.md: Go"));
    let written = std::fs::read_to_string(p.path().join("review.md")).expect("review.md");
    assert!(written.starts_with("# Redis Readiness Review"), "{written}");

    let json: serde_json::Value =
        serde_json::from_str(&p.stdout_ok(&["review", "--env", "prod", "--format", "json"])).unwrap();
    assert_eq!(json["verdict"], "Go");
    assert_eq!(json["sections"].as_array().map(Vec::len), Some(9));
    assert_eq!(json["missing"], serde_json::json!([]));
}

#[test]
fn the_sample_project_is_valid_in_parity_and_ready_in_production() {
    let sample = |args: &[&str]| {
        let mut cmd = common::redisctl_in(&common::repo_root());
        cmd.args(args).env("REDISCTL_TODAY", TODAY);
        // staging (target process) reads its passwords from these variables.
        for var in [
            "CATALOG_REDIS_PASSWORD",
            "CATALOG_REDIS_REPLICATION_PASSWORD",
            "CATALOG_REDIS_SENTINEL_PASSWORD",
            "CATALOG_REDIS_OPS_PASSWORD",
            "CATALOG_REDIS_METRICS_PASSWORD",
        ] {
            cmd.env(var, "sample-password");
        }
        cmd
    };
    sample(&["validate", "--all"])
        .assert()
        .success()
        .stdout(predicate::str::contains("production [production]: valid (0 warning(s))"))
        .stderr(predicate::str::contains("RCTL1").not());
    sample(&["parity"]).assert().success().stdout(predicate::str::contains("Parity: in parity;"));
    sample(&["review", "--env", "production"])
        .assert()
        .success()
        .stdout(predicate::str::contains("## Verdict: **Go** ✅"));
}

/// #14 item 7: the review of a managed environment describes the service as it runs it: node
/// type, shards and replicas, and failover as Multi-AZ makes it, never "no automatic failover"
/// next to "Multi-AZ automatic failover".
#[test]
fn the_review_of_an_elasticache_environment_says_how_it_fails_over() {
    let copy = common::TempProject::copy_of(&common::example_dir("elasticache-session"));
    let review = |copy: &common::TempProject| {
        let o = common::Run::of(copy.cmd().args(["review", "--env", "production"]).env("REDISCTL_TODAY", TODAY));
        o.stdout.clone()
    };
    let text = review(&copy);
    let shape = text.lines().find(|l| l.contains("Cluster/Sentinel/standalone")).unwrap_or_default().to_string();
    assert!(shape.contains("cache.r7g.large") && shape.contains("primary + 2 replica(s)"), "{shape}");
    assert!(shape.contains("automatic failover, Multi-AZ") && !shape.contains("no automatic failover"), "{shape}");

    let prod = copy
        .read("environments/production.yaml")
        .replace("  region: eu-west-1\n", "  region: eu-west-1\n  multiAz: false\n");
    copy.write("environments/production.yaml", prod);
    let text = review(&copy);
    assert!(text.contains("automatic failover within one zone (Multi-AZ off)"), "{text}");
    assert!(!text.contains("Multi-AZ);"), "{text}");
}

/// #20 item 4: a drill record (`drills/<env>.json`, written by `redisctl drill`) is evidence:
/// the review shows its figures, holds them against `operations.objectives`, turns No-Go when
/// the measured outage exceeds the declared RTO, and counts an old drill or one taken with
/// another contract as stale.
#[test]
fn drill_records_are_evidence_held_against_the_objectives() {
    let p = project(&format!("{PROD}  objectives: {{ rto: 1s, rpo: 0s, restoreTime: 5m }}\n"));
    let plan: serde_json::Value =
        serde_json::from_str(&p.stdout_ok(&["plan", "--env", "prod", "--files-only", "--format", "json"])).unwrap();
    let fingerprint = plan["contract_fingerprint"].as_str().unwrap().to_string();
    let record = |outage: u64, fingerprint: &str| {
        serde_json::json!({
            "environment": "prod",
            "failover": {
                "at": "2026-11-20T10:00:00Z", "fingerprint": fingerprint, "method": "kill-primary",
                "oldPrimary": "node-0 (127.0.0.1:6379)", "newPrimary": "node-1 (127.0.0.1:6380)",
                "outageMs": outage, "recoveredAfterMs": outage + 100, "acknowledgedLost": 0,
                "acknowledged": 40, "unacknowledged": 1, "failed": 12, "endpointsReachNewPrimary": true
            },
            "restore": {
                "at": "2026-11-21T10:00:00Z", "fingerprint": fingerprint, "source": "dump.rdb of node-0 (fresh BGSAVE)",
                "restoreMs": 900, "sourceKeys": 10, "restoredKeys": 10,
                "prefixes": [{ "prefix": "shop", "source": 10, "restored": 10 }], "matches": true
            }
        })
        .to_string()
    };
    let review = |p: &Project, today: &str| {
        let o = p.redisctl(&["review", "--env", "prod"]).env("REDISCTL_TODAY", today).output().unwrap();
        (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned())
    };
    p.write("drills/prod.json", &record(500, &fingerprint));
    let (code, text) = review(&p, TODAY);
    assert_eq!(code, Some(0), "{text}");
    for line in [
        "## Drills (measured)",
        "- Failover drill: 2026-11-20 (kill-primary): outage 500ms",
        "- Restore drill: 2026-11-21: dump.rdb of node-0 (fresh BGSAVE) restored in 900ms, 10 of 10 keys",
        "| measured RTO exceeds the declared objective | ✅ clear | outage 500ms against `operations.objectives.rto` 1s |",
        "| failover is tested | ✅ met | drill 2026-11-20 (kill-primary)",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }

    p.write("drills/prod.json", &record(2500, &fingerprint));
    let (code, text) = review(&p, TODAY);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("- No-Go condition: measured RTO exceeds the declared objective (outage 2500ms against"),
        "{text}"
    );

    p.write("drills/prod.json", &record(500, "0123456789abcdef"));
    let (code, text) = review(&p, TODAY);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("STALE: taken with contract 0123456789ab, which has changed since"), "{text}");

    p.write("drills/prod.json", &record(500, &fingerprint));
    let (code, text) = review(&p, "2027-12-01");
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("STALE: taken on 2026-11-20, more than 365 days ago"), "{text}");

    p.write("drills/prod.json", "{ not json");
    let (code, _) = review(&p, TODAY);
    assert_eq!(code, Some(1));
}
