//! `observability` through the binary, without peers: what each target renders, that a changed
//! threshold is an update with a diff in the plan, the dashboards' panels, the exporter's login
//! (least privilege, password never rendered), and the checks RCTL080 / RCTL119. The rules
//! themselves are checked and unit-tested by promtool in tests/peers/observability.rs.

use crate::common::policy::{finding, Project};
use crate::common::{self, read_tree, Run, TempProject, SAMPLE_ENV_PASSWORDS};

fn rendered(p: &TempProject, env: &str) -> std::collections::BTreeMap<String, String> {
    let out = tempfile::tempdir().unwrap();
    let run = common::render(p.path(), env, out.path(), &SAMPLE_ENV_PASSWORDS);
    assert!(run.success(), "{}", run.show());
    read_tree(out.path()).into_iter().map(|(k, v)| (k, String::from_utf8(v).unwrap())).collect()
}

#[test]
fn every_target_renders_rules_exporters_and_dashboards() {
    let p = TempProject::copy_of(&common::repo_root());
    // local: process
    let local = rendered(&p, "local");
    for f in ["rules.yml", "prometheus.yml", "dashboards/catalog-local-executive.json"] {
        assert!(local.contains_key(&format!("observability/{f}")), "local has no {f}: {:?}", local.keys());
    }
    assert!(
        local["observability/prometheus.yml"].contains("127.0.0.1:9121"),
        "{}",
        local["observability/prometheus.yml"]
    );
    // production: systemd, an exporter unit per node with a non-secret environment each
    let prod = rendered(&p, "production");
    let unit = &prod["etc/systemd/system/redis-catalog-exporter@.service"];
    assert!(unit.contains("EnvironmentFile=/etc/redis/catalog/exporter/%i.env"), "{unit}");
    assert!(unit.contains("EnvironmentFile=/etc/redis/catalog-exporter.env"), "{unit}");
    assert!(unit.contains("ExecStart=/usr/bin/prometheus-redis-exporter\n"), "no argument: {unit}");
    assert!(unit.contains("DynamicUser=yes"), "{unit}");
    let env = &prod["etc/redis/catalog/exporter/node-2.env"];
    assert!(env.contains("REDIS_USER=\"metrics\"") && env.contains("REDIS_EXPORTER_CONFIG_COMMAND=\"-\""), "{env}");
    assert!(env.contains("REDIS_ADDR=\"rediss://10.0.3.11:6381\""), "{env}");
    assert!(!env.contains("PASSWORD"), "{env}");
    assert!(prod["etc/prometheus/catalog/rules.yml"].contains("environment=\"production\""));
    // staging: kubernetes, the sidecar as the exporter user, PodMonitor, PrometheusRule, dashboards
    let staging = rendered(&p, "staging");
    let sts = &staging["statefulset-catalog-redis.yaml"];
    assert!(sts.contains("name: exporter") && sts.contains("value: metrics"), "{sts}");
    assert!(sts.contains("REDIS_EXPORTER_CONFIG_COMMAND"), "{sts}");
    let monitor = &staging["podmonitor-catalog-redis.yaml"];
    assert!(monitor.contains("port: metrics") && monitor.contains("targetLabel: shard"), "{monitor}");
    let rule = &staging["prometheusrule-catalog-redis.yaml"];
    assert!(rule.contains("kind: PrometheusRule") && rule.contains("RedisAvailabilityErrorBudgetFastBurn"), "{rule}");
    assert!(
        staging["configmap-catalog-redis-dashboards.yaml"].contains("grafana_dashboard: '1'")
            || staging["configmap-catalog-redis-dashboards.yaml"].contains("grafana_dashboard: \"1\"")
    );
    // No plaintext password in any of them.
    for files in [&local, &prod, &staging] {
        for (rel, text) in files {
            for (var, secret) in SAMPLE_ENV_PASSWORDS {
                assert!(!text.contains(secret), "{rel} holds {var}");
            }
        }
    }
}

#[test]
fn compose_runs_an_exporter_per_node_with_the_password_from_the_environment() {
    let p = TempProject::copy_of(&common::repo_root());
    p.write(
        "environments/box.yaml",
        "target: compose\ntopology: { mode: replication, replicas: 1 }\nobservability: { exporterPort: 19121 }\n",
    );
    let files = rendered(&p, "box");
    let compose = &files["compose.yaml"];
    for (node, port) in [("node-0", 19121), ("node-1", 19122)] {
        assert!(compose.contains(&format!("exporter-{node}:")), "{compose}");
        assert!(compose.contains(&format!("127.0.0.1:{port}:9121")), "{compose}");
    }
    assert!(compose.contains("REDIS_PASSWORD: ${CATALOG_REDIS_METRICS_PASSWORD:?"), "{compose}");
    assert!(files["observability/prometheus.yml"].contains("127.0.0.1:19122"));
}

/// Dashboards are valid JSON with the panels of the seed's executive, on-call and debug views.
#[test]
fn dashboards_have_the_seed_panels() {
    let p = TempProject::copy_of(&common::repo_root());
    let local = rendered(&p, "local");
    let panels = |view: &str| -> Vec<String> {
        let dash: serde_json::Value =
            serde_json::from_str(&local[&format!("observability/dashboards/catalog-local-{view}.json")]).unwrap();
        assert!(dash["uid"].as_str().unwrap().len() <= 40, "Grafana uids are at most 40 characters");
        dash["panels"].as_array().unwrap().iter().map(|p| p["title"].as_str().unwrap().to_string()).collect()
    };
    let has = |view: &str, wanted: &[&str]| {
        let titles = panels(view);
        for w in wanted {
            assert!(
                titles.iter().any(|t| t.to_lowercase().contains(&w.to_lowercase())),
                "{view}: no {w} in {titles:?}"
            );
        }
    };
    has("executive", &["instances up", "hit rate", "latency", "memory"]);
    has("on-call", &["p99", "replica lag", "failover", "evicted", "oom", "slowlog"]);
    has("debug", &["latency per command", "keys", "clients", "buffers", "persistence", "aof"]);
}

/// Plan and apply treat the artifacts as files: a changed threshold is an update with a diff.
#[test]
fn a_changed_threshold_is_an_update_with_a_diff() {
    let p = TempProject::copy_of(&common::repo_root());
    let run = |args: &[&str]| {
        let mut cmd = p.cmd();
        cmd.args(args);
        Run::of(&mut cmd)
    };
    let applied = run(&["apply", "--env", "staging", "--auto-approve"]);
    assert!(applied.success(), "{}", applied.show());
    let base = p
        .read("redisctl.yaml")
        .replace("memory: { threshold: 90, severity: ticket }", "memory: { threshold: 75, severity: ticket }");
    p.write("redisctl.yaml", base);
    let plan = run(&["plan", "--env", "staging", "--no-color"]);
    assert!(plan.success(), "{}", plan.show());
    assert!(plan.stdout.contains("~ file:prometheusrule-catalog-redis.yaml"), "{}", plan.stdout);
    assert!(plan.stdout.contains("Plan: 0 to add, 1 to change, 0 to destroy."), "{}", plan.stdout);
    let changed = |sign: char, value: &str| {
        plan.stdout.lines().any(|l| l.trim_start().starts_with(sign) && l.contains(&format!("> 0)) > {value}")))
    };
    assert!(changed('-', "90") && changed('+', "75"), "the diff shows the threshold: {}", plan.stdout);
}

#[test]
fn rctl080_the_exporter_needs_its_own_user_and_objectives_that_can_page() {
    let no_exporter =
        "target: kubernetes\nacl:\n  users:\n    - { name: ops, role: operator, password: { fromEnv: OPS } }\n";
    let p = Project::new(&[("shared", no_exporter)]);
    let out = p.redisctl(&["validate", "--env", "shared"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("error[RCTL080]") && err.contains("role: exporter"), "{err}");

    let unpageable = "observability:\n  slos:\n    availability: { objective: 90, windowDays: 90 }\n";
    let p = Project::new(&[("shared", &format!("target: kubernetes\n{unpageable}"))]);
    let out = p.redisctl(&["validate", "--env", "shared"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error[RCTL080]") && err.contains("can never page"), "{err}");
    assert!(err.contains("environments/shared.yaml:4:32"), "{err}");

    let clash = "target: process\nports: { redis: 9121 }\n";
    let p = Project::new(&[("local", clash)]);
    let out = p.redisctl(&["validate", "--env", "local"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error[RCTL080]") && err.contains("exporter port 9121"), "{err}");
}

#[test]
fn rctl119_shared_environments_need_slos_that_page() {
    let without = "target: kubernetes\nobservability: null\n";
    assert_eq!(
        Project::new(&[("shared", without)]).findings("shared"),
        vec![finding(
            "RCTL119",
            "warning",
            "redisctl.yaml:5:13",
            "shared environment `shared` declares no SLOs or alerts (`observability`)"
        )]
    );
    let prod = "productionLike: true\ntarget: kubernetes\nobservability: null\n";
    let findings = Project::new(&[("prod", prod)]).findings("prod");
    assert!(findings.iter().any(|f| f.code == "RCTL119" && f.severity == "error"), "{findings:?}");
    // Everything at ticket: nothing pages.
    let quiet = "target: kubernetes\nobservability:\n  slos:\n    availability: { objective: 99.9, severity: ticket }\n    latency: []\n  \
                 alerts:\n    oom: { severity: ticket }\n    rejectedConnections: { severity: ticket }\n";
    let findings = Project::new(&[("shared", quiet)]).findings("shared");
    assert!(findings.iter().any(|f| f.code == "RCTL119" && f.message.contains("severity: page")), "{findings:?}");
    // On ElastiCache the alarms are CloudWatch's: pages that reach no SNS topic wake nobody.
    let managed = "target: elasticache\nresources: null\naws: { nodeType: cache.r7g.large, engine: valkey }\n";
    let findings = Project::new(&[("shared", managed)]).findings("shared");
    assert!(
        findings.iter().any(|f| f.code == "RCTL119" && f.message.contains("`aws.alarmTopics.page` names no SNS topic")),
        "{findings:?}"
    );
    let routed =
        managed.replace("nodeType:", "alarmTopics: { page: [\"arn:aws:sns:eu-west-1:123456789012:p\"] }, nodeType:");
    let findings = Project::new(&[("shared", &routed)]).findings("shared");
    assert!(!findings.iter().any(|f| f.code == "RCTL119"), "{findings:?}");
    // A local stack needs none.
    assert_eq!(Project::new(&[("local", "target: process\nobservability: null\n")]).findings("local"), vec![]);
}

#[test]
fn the_review_reads_the_rendered_slos() {
    let p = Project::new(&[("prod", "productionLike: true\ntarget: kubernetes\n")]);
    let out = p.redisctl(&["review", "--env", "prod", "--format", "json"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("rendered from `observability`: SLOs availability 99.9% over 30 days (page)"), "{text}");
    assert!(text.contains("dashboards and alerts rendered from `observability`"), "{text}");
}
