//! Readiness policy rules, through the real binary: for each rule, a contract that breaks it
//! gets exactly that finding (ID, severity, file:line:column, message), the fixed contract
//! gets none. Waivers: a waiver with a reason silences a finding and shows in every plan
//! format; an expired one does not silence it; errors block apply.

use crate::common::policy::{finding, Finding, Project};
use predicates::prelude::*;

/// `bad` (an overlay of environment `env`) breaks the rule exactly as `expected` says; `fixed` breaks nothing.
fn check(env: &str, bad: &str, fixed: &str, expected: &[Finding]) {
    assert_eq!(Project::new(&[(env, bad)]).findings(env), expected, "findings of\n{bad}");
    assert_eq!(Project::new(&[(env, fixed)]).findings(env), vec![], "findings of the fixed contract\n{fixed}");
}

const PROD: &str = "environments/prod.yaml";
const SHARED: &str = "environments/shared.yaml";
const LOCAL: &str = "environments/local.yaml";

#[test]
fn rctl101_auth_required_outside_local() {
    check(
        "shared",
        "target: kubernetes\nsecurity:\n  auth: optional\n",
        "target: kubernetes\nsecurity:\n  auth: required\n",
        &[finding(
            "RCTL101",
            "error",
            &format!("{SHARED}:3:9"),
            "`security.auth` is `optional` in `shared`, a shared environment (target `kubernetes`)",
        )],
    );
    // A developer's process stack may run without a password.
    assert_eq!(Project::new(&[("local", "security:\n  auth: optional\n")]).findings("local"), vec![]);
}

#[test]
fn rctl102_tls_required_in_production_and_managed() {
    check(
        "prod",
        "productionLike: true\nsecurity:\n  tls:\n    enabled: false\n",
        "productionLike: true\n",
        &[finding("RCTL102", "error", &format!("{PROD}:4:14"), "TLS is off in production-like environment `prod`")],
    );
    // On ElastiCache, AUTH without TLS is a contract error (RCTL095: the API refuses it), so
    // TLS can only be off with auth off, which RCTL101 reports as well.
    const MANAGED: &str =
        "target: elasticache\naws: { nodeType: cache.r7g.large, engine: valkey, alarmTopics: { page: \
                           [\"arn:aws:sns:eu-west-1:123456789012:pager\"] } }\nresources: null\n";
    check(
        "shared",
        &format!("{MANAGED}security:\n  auth: optional\n  tls: null\n"),
        MANAGED,
        &[
            finding(
                "RCTL101",
                "error",
                &format!("{SHARED}:5:9"),
                "`security.auth` is `optional` in `shared`, a shared environment (target `elasticache`)",
            ),
            finding("RCTL102", "error", &format!("{SHARED}:1:9"), "TLS is off in managed target `elasticache`"),
        ],
    );
}

#[test]
fn rctl103_no_public_bind_without_auth() {
    check(
        "local",
        "security:\n  auth: optional\nnetwork:\n  bind:\n    - 127.0.0.1\n    - 0.0.0.0\n",
        "security:\n  auth: optional\nnetwork:\n  bind:\n    - 127.0.0.1\n",
        &[finding(
            "RCTL103",
            "error",
            &format!("{LOCAL}:6:7"),
            "listens on `0.0.0.0` while `security.auth` is `optional`",
        )],
    );
    // With a password the same bind is fine.
    assert_eq!(Project::new(&[("local", "network:\n  bind: [0.0.0.0]\n")]).findings("local"), vec![]);
}

#[test]
fn rctl104_maxmemory_set() {
    check(
        "prod",
        "productionLike: true\nresources:\n  maxmemory: null\n",
        "productionLike: true\nresources:\n  maxmemory: 1gb\n  memoryLimit: 2Gi\n",
        &[finding("RCTL104", "error", &format!("{PROD}:2:1"), "`resources.maxmemory` is not set")],
    );
}

#[test]
fn rctl105_eviction_fits_workload() {
    check(
        "shared",
        "target: kubernetes\nredis:\n  maxmemoryPolicy: noeviction\n",
        "target: kubernetes\nredis:\n  maxmemoryPolicy: allkeys-lfu\n",
        &[finding(
            "RCTL105",
            "error",
            &format!("{SHARED}:3:20"),
            "workload `cache` with eviction policy `noeviction`; it needs `allkeys-lru` or `allkeys-lfu`",
        )],
    );
    check(
        "local",
        "redis:\n  workload: queue\n  maxmemoryPolicy: volatile-lru\n",
        "redis:\n  workload: queue\n  maxmemoryPolicy: noeviction\n",
        &[finding(
            "RCTL105",
            "warning",
            &format!("{LOCAL}:3:20"),
            "workload `queue` with eviction policy `volatile-lru`; it needs `noeviction`",
        )],
    );
}

#[test]
fn rctl106_persistence_fits_workload() {
    check(
        "prod",
        "productionLike: true\nredis:\n  workload: session\n  maxmemoryPolicy: noeviction\n",
        "productionLike: true\nredis:\n  workload: session\n  maxmemoryPolicy: noeviction\n  persistence:\n    mode: aof\n    fsync: everysec\n",
        &[finding(
            "RCTL106",
            "error",
            &format!("{PROD}:3:13"),
            "workload `session` with persistence `none`; it needs AOF with `fsync: everysec`",
        )],
    );
}

#[test]
fn rctl107_memory_limit_leaves_fork_headroom() {
    let overlay = |limit: &str| {
        format!("target: compose\nredis:\n  persistence:\n    mode: rdb\nresources:\n  maxmemory: 1gb\n  memoryLimit: {limit}\n")
    };
    check(
        "shared",
        &overlay("1536Mi"),
        &overlay("2Gi"),
        &[finding(
            "RCTL107",
            "warning",
            &format!("{SHARED}:7:16"),
            "memory limit 1536Mi is below 2 × maxmemory (2gb) while persistence `rdb` forks",
        )],
    );
}

/// Without `resources.memoryLimit` the containers get the default limit, which leaves the fork
/// headroom RCTL107 demands: no finding, and the rendered limit is 2 × maxmemory with
/// persistence (1.5 × without). The rule and the renderer share that default.
#[test]
fn rctl107_the_default_memory_limit_leaves_fork_headroom() {
    for (target, file, key) in
        [("compose", "compose.yaml", "mem_limit: "), ("kubernetes", "statefulset-shop-redis.yaml", "memory: ")]
    {
        for (mode, want) in [("none", "384"), ("rdb", "512"), ("aof", "512"), ("aof+rdb", "512")] {
            let overlay = format!(
                "target: {target}\nredis:\n  persistence:\n    mode: {mode}\nresources:\n  maxmemory: 256mb\n  \
                 memoryLimit: null\nsecurity:\n  tls:\n    enabled: false\nobservability: null\n"
            );
            let p = Project::new(&[("shared", &overlay)]);
            let findings: Vec<Finding> = p.findings("shared").into_iter().filter(|f| f.code == "RCTL107").collect();
            assert_eq!(findings, [], "{target} {mode}");
            let out = tempfile::tempdir().unwrap();
            p.stdout_ok(&["render", "--env", "shared", "--out", out.path().to_str().unwrap()]);
            let text = std::fs::read_to_string(out.path().join(file)).unwrap();
            let limits: Vec<&str> = text.lines().filter_map(|l| l.trim().strip_prefix(key)).collect();
            assert!(!limits.is_empty(), "{target} {mode}: no {key} in\n{text}");
            // Compose writes `512m`, Kubernetes `512Mi` (request and limit).
            for limit in limits {
                assert!(
                    limit == format!("{want}m") || limit == format!("{want}Mi"),
                    "{target} {mode}: limit {limit}, want {want} MiB"
                );
            }
        }
    }
}

#[test]
fn rctl109_sentinel_majority() {
    check(
        "local",
        "topology:\n  mode: sentinel\n  replicas: 1\n  sentinels: 2\n",
        "topology:\n  mode: sentinel\n  replicas: 1\n  sentinels: 3\n",
        &[finding(
            "RCTL109",
            "warning",
            &format!("{LOCAL}:4:14"),
            "2 Sentinel(s) watching a primary and 1 replica(s) cannot fail over after losing one: a majority of 2 is 2",
        )],
    );
    let minority = Project::new(&[("local", "topology:\n  mode: sentinel\n  sentinels: 5\n  quorum: 2\n")]);
    assert_eq!(
        minority.findings("local"),
        [finding(
            "RCTL109",
            "warning",
            &format!("{LOCAL}:4:11"),
            "quorum 2 is less than a majority of 5 Sentinels (3)"
        )]
    );
}

#[test]
fn rctl110_failure_domains() {
    let overlay =
        |zones: &str| format!("target: kubernetes\ntopology:\n  mode: sentinel\n  failureDomains: [{zones}]\n");
    check(
        "shared",
        &overlay("zone-a, zone-b"),
        &overlay("zone-a, zone-b, zone-c"),
        &[finding(
            "RCTL110",
            "warning",
            &format!("{SHARED}:4:3"),
            "3 Sentinels over 2 failure domain(s): losing one takes 2 of them, and a majority needs 2",
        )],
    );
    let one_host = Project::new(&[("prod", "productionLike: true\ntopology:\n  mode: sentinel\n")]);
    assert_eq!(
        one_host.findings("prod"),
        [finding(
            "RCTL110",
            "error",
            &format!("{PROD}:3:9"),
            "all 3 Sentinels run on one host (target `process`): losing it loses the majority"
        )]
    );
}

/// Kubernetes needs an operator user (the health checks log in as it), then the application user.
// The operator and the exporter as flow mappings, so that the application user stays on the lines
// the expected locations name.
const APP_USER: &str = "target: kubernetes\nacl:\n  users:\n    - { name: ops, role: operator, password: { fromEnv: OPS } }\n    - { name: metrics, role: exporter, password: { fromEnv: METRICS } }\n    # the application user\n    - name: shop-app\n      password: { fromEnv: SHOP_APP_PASSWORD }\n      commands:\n";

#[test]
fn rctl111_dangerous_commands_denied() {
    check(
        "shared",
        &format!("{APP_USER}        - +@read\n        - +@write\n"),
        &format!(
            "{APP_USER}        - +@read\n        - +@write\n        - -flushall\n        - -flushdb\n        - -keys\n"
        ),
        &[finding(
            "RCTL111",
            "error",
            &format!("{SHARED}:10:11"),
            "application user `shop-app` may run FLUSHALL, FLUSHDB, KEYS",
        )],
    );
}

#[test]
fn rctl112_no_broad_application_user() {
    check(
        "shared",
        &format!("{APP_USER}        - +@all\n        - -@dangerous\n"),
        &format!("{APP_USER}        - +@read\n        - -@dangerous\n"),
        &[finding(
            "RCTL112",
            "error",
            &format!("{SHARED}:10:11"),
            "application user `shop-app` is granted `+@all`: every command, present and future",
        )],
    );
    let no_app = Project::new(&[(
        "shared",
        "target: kubernetes\nacl:\n  users:\n    - name: ops\n      role: operator\n      password: { fromEnv: OPS }\n    \
         - name: metrics\n      role: exporter\n      password: { fromEnv: METRICS }\n",
    )]);
    assert_eq!(
        no_app.findings("shared"),
        [finding(
            "RCTL112",
            "error",
            &format!("{SHARED}:3:3"),
            "no ACL user has `role: application`: applications would have to use `default` or an operator's user"
        )]
    );
}

#[test]
fn rctl113_persistence_needs_backup_and_restore_drill() {
    check(
        "prod",
        "productionLike: true\nredis:\n  persistence:\n    mode: aof\noperations: null\n",
        "productionLike: true\nredis:\n  persistence:\n    mode: aof\n",
        &[finding(
            "RCTL113",
            "error",
            &format!("{PROD}:4:11"),
            "persistence `aof` with no backup (`operations.backup`) and no restore drill (`operations.restoreDrill`)",
        )],
    );
}

#[test]
fn rctl114_no_replica_reads_for_read_your_writes() {
    check(
        "local",
        "client:\n  readFrom: replicaPreferred\n  readYourWrites: true\n",
        "client:\n  readFrom: primary\n  readYourWrites: true\n",
        &[finding(
            "RCTL114",
            "warning",
            &format!("{LOCAL}:2:13"),
            "`client.readFrom: replicaPreferred` while `client.readYourWrites` is true",
        )],
    );
}

#[test]
fn rctl115_stateful_kubernetes() {
    let bad = "target: kubernetes\nredis:\n  persistence:\n    mode: aof\nkubernetes:\n  antiAffinity: soft\n";
    let at = format!("{SHARED}:6:17");
    check(
        "shared",
        bad,
        &bad.replace("antiAffinity: soft", "antiAffinity: hard"),
        &[finding(
            "RCTL115",
            "warning",
            &at,
            "persistence `aof` on Kubernetes with `soft` pod anti-affinity: one node can take a primary and its replica together",
        )],
    );
}

#[test]
fn rctl116_timeout_and_keepalive_set() {
    check(
        "local",
        "redis:\n  config:\n    tcp-keepalive: 0\n",
        "redis:\n  config:\n    tcp-keepalive: 30\n",
        &[finding(
            "RCTL116",
            "warning",
            &format!("{LOCAL}:3:20"),
            "`tcp-keepalive` is 0, which never detects dead peers",
        )],
    );
    let missing = Project::new(&[("local", "redis:\n  config:\n    timeout: null\n")]);
    assert_eq!(
        missing.findings("local"),
        [finding("RCTL116", "warning", &format!("{LOCAL}:2:3"), "`timeout` is not set in `redis.config`")]
    );
}

#[test]
fn rctl117_cluster_needs_cluster_safe_keys() {
    let overlay = |safe: bool| {
        format!("target: kubernetes\ntopology:\n  mode: cluster\n  failureDomains: [a, b, c]\nkeyspace:\n  clusterSafe: {safe}\n")
    };
    check(
        "shared",
        &overlay(false),
        &overlay(true),
        &[finding(
            "RCTL117",
            "error",
            &format!("{SHARED}:6:16"),
            "Redis Cluster while `keyspace.clusterSafe` is not true",
        )],
    );
}

#[test]
fn rctl118_cluster_application_users_can_read_the_slot_map() {
    let overlay = |commands: &str| {
        format!(
            "target: kubernetes\ntopology:\n  mode: cluster\n  failureDomains: [a, b, c]\nkeyspace:\n  clusterSafe: true\n\
             acl:\n  users:\n    - name: shop-app\n      password: {{ fromFile: secrets/app.password }}\n      \
             commands: [{commands}]\n    - name: replicator\n      role: replication\n      password: {{ fromFile: secrets/replicator.password }}\n    \
             - name: ops\n      role: operator\n      password: {{ fromFile: secrets/ops.password }}\n    \
             - name: metrics\n      role: exporter\n      password: {{ fromFile: secrets/metrics.password }}\n"
        )
    };
    check(
        "shared",
        &overlay("\"+@read\", \"+@write\", \"-@dangerous\""),
        &overlay("\"+@read\", \"+@write\", \"-@dangerous\", \"+cluster|slots\", \"+cluster|nodes\""),
        &[finding(
            "RCTL118",
            "error",
            &format!("{SHARED}:11:7"),
            "application user `shop-app` may not run CLUSTER SLOTS/NODES/SHARDS in a Redis Cluster",
        )],
    );
    // Without `commands`, the application defaults allow the queries.
    let defaults = overlay("").replace("      commands: []\n", "");
    assert_eq!(Project::new(&[("shared", &defaults)]).findings("shared"), vec![]);
}

#[test]
fn findings_show_in_validate_text_with_reason_and_fix() {
    let p = Project::new(&[("prod", "productionLike: true\nredis:\n  maxmemoryPolicy: noeviction\n")]);
    p.redisctl(&["validate", "--env", "prod"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("prod [production]: invalid (1 error(s), 0 warning(s))"))
        .stderr(predicate::str::contains("error[RCTL105]: workload `cache` with eviction policy `noeviction`"))
        .stderr(predicate::str::contains("environments/prod.yaml:3:20"))
        .stderr(predicate::str::contains("= why: the wrong policy either silently deletes data"))
        .stderr(predicate::str::contains("= help: caches: `allkeys-lru` or `allkeys-lfu`"));
}

// ---- waivers ----

const VIOLATION: &str = "productionLike: true\nredis:\n  maxmemoryPolicy: noeviction\n";

fn waived(expires: &str) -> String {
    format!(
        "{VIOLATION}policy:\n  waivers:\n    - rule: RCTL105\n      reason: writes must fail loudly while the catalog import runs\n      expires: {expires}\n"
    )
}

#[test]
/// Plans here are of the files only: the fixture's TLS is not for a local stack (which refuses it).
fn a_waiver_with_a_reason_silences_the_finding_and_shows_in_every_plan_format() {
    let p = Project::new(&[("prod", &waived("2027-01-31"))]);
    assert_eq!(p.findings("prod"), vec![]);
    p.redisctl(&["validate", "--env", "prod"])
        .assert()
        .success()
        .stdout(predicate::str::contains("prod [production]: valid (0 warning(s), 1 waived)"));

    let text = p.stdout_ok(&["plan", "--env", "prod", "--files-only"]);
    assert!(text.contains("Readiness policy (production environment): 0 error(s), 0 warning(s), 1 waived"), "{text}");
    assert!(
        text.contains(
            "waived[RCTL105] environments/prod.yaml:3:20: workload `cache` with eviction policy `noeviction`"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "RCTL105 active until 2027-01-31, silences 1 finding(s): \"writes must fail loudly while the catalog import runs\" (environments/prod.yaml:6:7)"
        ),
        "{text}"
    );

    let md = p.stdout_ok(&["plan", "--env", "prod", "--files-only", "--format", "markdown"]);
    assert!(md.contains("#### Readiness policy (production environment): 0 error(s), 0 warning(s), 1 waived"), "{md}");
    assert!(
        md.contains("| `RCTL105` | active until 2027-01-31, silences 1 finding(s) | writes must fail loudly while the catalog import runs |"),
        "{md}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&p.stdout_ok(&["plan", "--env", "prod", "--files-only", "--format", "json"])).unwrap();
    let policy = &json["policy"];
    assert_eq!(policy["errors"], 0);
    assert_eq!(policy["waived"], 1);
    assert_eq!(policy["findings"][0]["rule"], "RCTL105");
    assert_eq!(policy["findings"][0]["waived"], true);
    assert_eq!(policy["waivers"][0]["status"], "active");
    assert_eq!(policy["waivers"][0]["expires"], "2027-01-31");
    assert_eq!(policy["waivers"][0]["reason"], "writes must fail loudly while the catalog import runs");

    // Not blocked: apply writes the files.
    p.redisctl(&["apply", "--env", "prod", "--auto-approve", "--files-only"]).assert().success();
}

#[test]
fn an_expired_waiver_no_longer_applies_and_says_so() {
    let p = Project::new(&[("prod", &waived("2026-11-22"))]);
    assert_eq!(
        p.findings("prod"),
        [
            finding(
                "RCTL105",
                "error",
                &format!("{PROD}:3:20"),
                "workload `cache` with eviction policy `noeviction`; it needs `allkeys-lru` or `allkeys-lfu`"
            ),
            finding(
                "RCTL100",
                "warning",
                &format!("{PROD}:8:16"),
                "the waiver of RCTL105 expired on 2026-11-22 and no longer applies"
            ),
        ]
    );
    let text = p.stdout_ok(&["plan", "--env", "prod", "--files-only"]);
    assert!(text.contains("RCTL105 expired on 2026-11-22, no longer applies"), "{text}");
    assert!(text.contains("apply is blocked by 1 policy error(s)."), "{text}");
}

#[test]
fn waivers_need_a_reason_and_a_known_rule() {
    let blank = Project::new(&[(
        "prod",
        &format!("{VIOLATION}policy:\n  waivers:\n    - rule: RCTL105\n      reason: \" \"\n"),
    )]);
    let found = blank.findings("prod");
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[1], finding("RCTL100", "error", &format!("{PROD}:7:15"), "the waiver of RCTL105 has no reason"));

    let unknown =
        Project::new(&[("prod", "productionLike: true\npolicy:\n  waivers:\n    - { rule: RCTL199, reason: typo }\n")]);
    assert_eq!(
        unknown.findings("prod"),
        [finding("RCTL100", "error", &format!("{PROD}:4:15"), "waiver for `RCTL199`, which is not a policy rule")]
    );

    // No reason at all is a schema error: the contract does not load.
    let missing = Project::new(&[("prod", "productionLike: true\npolicy:\n  waivers:\n    - rule: RCTL105\n")]);
    missing
        .redisctl(&["validate", "--env", "prod"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("missing required key `reason`"));
}

#[test]
fn apply_refuses_policy_errors_and_names_them() {
    let p = Project::new(&[("prod", VIOLATION)]);
    p.redisctl(&["apply", "--env", "prod", "--auto-approve", "--files-only"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("error[RCTL105]"))
        .stderr(predicate::str::contains("environments/prod.yaml:3:20"))
        .stderr(predicate::str::contains("apply refused: environment `prod` has 1 readiness policy error(s)"));
    assert!(!p.path().join(".redisctl/prod/run/users.acl").exists(), "nothing may be written");

    // Warnings do not block.
    let warned = Project::new(&[("local", "redis:\n  maxmemoryPolicy: noeviction\n")]);
    warned.redisctl(&["apply", "--env", "local", "--auto-approve", "--files-only"]).assert().success();
}
