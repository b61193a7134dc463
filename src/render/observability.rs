//! Observability artifacts shared by the self-hosted targets, built as data: the Prometheus
//! rules (recording rules for the SLIs, multi-window burn-rate alerts for the SLOs, threshold
//! alerts for the rest), a scrape configuration for the exporters, and the Grafana dashboards
//! (executive, on-call and debug views of "Recommended dashboards & alerts").
//!
//! Every series carries `service`, `environment`, `shard` and `node` labels, set by the scrape
//! configuration (static labels, or PodMonitor relabelings on Kubernetes), and every expression
//! selects on `service` and `environment`, so that one Prometheus can hold many environments.
//! Metric names are those of prometheus-redis-exporter (checked against the real exporter by the
//! peer tests).

use serde_json::{json, Value};

use crate::model::observability::{burn_rate, effective, Effective, EffectiveAlert, Severity, BURN_TIERS};
use crate::model::{TopologyMode, UserRole};
use crate::resolve::{Deployment, Node, User};
use crate::units::format_duration;

/// Where the files of the file-based targets go.
pub const DIR: &str = "observability";

/// The windows the burn-rate tiers read, recorded once each.
const WINDOWS: [&str; 7] = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"];

/// A label value inside a PromQL string literal.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A threshold as PromQL reads it: at most six decimals, no trailing zeros.
fn num(x: f64) -> String {
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// The shard label of a node: its cluster shard, `0` for the single shard of other topologies.
pub fn shard_of(n: &Node) -> String {
    n.shard.unwrap_or(0).to_string()
}

/// Replicas each primary should have.
fn replicas_per_shard(d: &Deployment) -> u32 {
    let t = &d.contract.topology;
    match t.mode {
        TopologyMode::Standalone => 0,
        TopologyMode::Cluster => t.replicas_per_shard,
        TopologyMode::Replication | TopologyMode::Sentinel => t.replicas,
    }
}

/// The user the exporters log in as: `observability.exporterUser`, else the `role: exporter`
/// user; `None` when auth is optional and none is declared (the check RCTL080 requires one
/// when auth is required).
pub fn exporter_user(d: &Deployment) -> Option<&User> {
    let spec = d.contract.observability.as_ref()?;
    match &spec.exporter_user {
        Some(name) => d.users.iter().find(|u| &u.spec.name == name),
        None => d.user_with_role(UserRole::Exporter),
    }
}

/// The port node `n`'s exporter listens on (file-based targets).
pub fn exporter_port(e: &Effective, d: &Deployment, n: &Node) -> u32 {
    let i = d.nodes.iter().position(|m| m.name == n.name).unwrap_or(0) as u32;
    e.exporter_port + i
}

/// Environment the exporter needs besides the password (`REDIS_PASSWORD`, always passed by the
/// target from a secret, never rendered): address, user, and CONFIG turned off, whose
/// `CONFIG GET *` would hand the exporter every password in the configuration.
pub fn exporter_env(d: &Deployment, addr: &str) -> Vec<(String, String)> {
    let mut env = vec![("REDIS_ADDR".to_string(), addr.to_string())];
    if let Some(u) = exporter_user(d) {
        env.push(("REDIS_USER".into(), u.spec.name.clone()));
    }
    env.push(("REDIS_EXPORTER_CONFIG_COMMAND".into(), "-".into()));
    env
}

struct Ctx<'a> {
    d: &'a Deployment,
    /// `service="x", environment="y"`
    sel: String,
}

impl Ctx<'_> {
    fn m(&self, metric: &str, extra: &str) -> String {
        if extra.is_empty() {
            format!("{metric}{{{}}}", self.sel)
        } else {
            format!("{metric}{{{}, {extra}}}", self.sel)
        }
    }
}

const BY_SHARD: &str = "service, environment, shard";
const BY_NODE: &str = "service, environment, shard, node";

/// The recording rules of the SLIs.
fn recording(cx: &Ctx, e: &Effective) -> Vec<Value> {
    let mut rules = vec![json!({
        "record": "redisctl:shard_primary_up",
        // A shard is writable while one of its nodes answered as primary within the last minute
        // (one failed scrape is not an outage: a failed scrape marks every series of its target
        // stale at once). `up` of a minute ago supplies a zero for shards that were measured
        // then and whose primary answers nothing now (the exporter exports no role then, and a
        // dead pod takes its exporter with it); a minute ago, not now, so that the first scrapes
        // after Prometheus starts (a replica's before the primary's) are no outage.
        "expr": format!(
            "max by ({BY_SHARD}) (max_over_time({}[1m])) or on ({BY_SHARD}) (0 * max by ({BY_SHARD}) ({} offset 1m))",
            cx.m("redis_instance_info", "role=\"master\""),
            cx.m("up", "")
        ),
    })];
    for w in WINDOWS {
        rules.push(json!({
            "record": format!("redisctl:availability_errors:ratio_{w}"),
            "expr": format!("1 - avg_over_time({}[{w}])", cx.m("redisctl:shard_primary_up", "")),
        }));
    }
    for slo in e.slos.iter().filter(|s| s.threshold_seconds.is_some()) {
        let class = slo.name.trim_start_matches("latency-");
        let cmds = format!("cmd=~{}", quoted(&slo.commands.join("|")));
        let labels = json!({ "class": class });
        rules.push(json!({
            "record": "redisctl:latency_mean_seconds",
            "expr": format!(
                "sum by ({BY_SHARD}) (rate({}[1m])) / sum by ({BY_SHARD}) (rate({}[1m]))",
                cx.m("redis_commands_duration_seconds_total", &cmds),
                cx.m("redis_commands_total", &cmds)
            ),
            "labels": labels,
        }));
        // A slow minute is 1, a good one 0; without traffic the mean is NaN, which is not slow.
        let class_sel = format!("class={}", quoted(class));
        rules.push(json!({
            "record": "redisctl:latency_slow",
            "expr": format!(
                "{} > bool {}",
                cx.m("redisctl:latency_mean_seconds", &class_sel),
                num(slo.threshold_seconds.unwrap_or(0.0))
            ),
            "labels": labels,
        }));
        for w in WINDOWS {
            rules.push(json!({
                "record": format!("redisctl:latency_errors:ratio_{w}"),
                "expr": format!("avg_over_time({}[{w}])", cx.m("redisctl:latency_slow", &class_sel)),
                "labels": labels,
            }));
        }
    }
    rules
}

fn alert(
    name: &str,
    expr: String,
    for_ms: u64,
    severity: Severity,
    summary: String,
    runbook: Option<&String>,
) -> Value {
    let mut a = json!({
        "alert": name,
        "expr": expr,
        "labels": { "severity": severity.as_str() },
        "annotations": { "summary": summary },
    });
    if for_ms > 0 {
        a["for"] = json!(format_duration(for_ms));
    }
    if let Some(url) = runbook.filter(|u| !u.trim().is_empty()) {
        a["annotations"]["runbook_url"] = json!(url);
    }
    a
}

/// The burn-rate alerts of the SLOs: a fast burn (2 % of the budget in 1 h, 5 % in 6 h) with the
/// SLO's severity, a slow burn (10 % in 1 or 3 days) as a ticket. Each long window is paired with
/// a short one so that the alert stops soon after the burn does.
fn slo_alerts(cx: &Ctx, e: &Effective) -> Vec<Value> {
    let rb = &cx.d.contract.readiness.runbooks;
    let mut out = Vec::new();
    for slo in &e.slos {
        let (metric, name, extra, runbook) = match slo.threshold_seconds {
            None => ("redisctl:availability_errors", "Availability".to_string(), String::new(), rb.failover.as_ref()),
            Some(_) => {
                let class = slo.name.trim_start_matches("latency-");
                (
                    "redisctl:latency_errors",
                    "Latency".to_string(),
                    format!("class={}", quoted(class)),
                    rb.high_latency.as_ref(),
                )
            }
        };
        let budget = slo.budget();
        for fast in [true, false] {
            let tiers: Vec<String> = BURN_TIERS
                .iter()
                .filter(|t| t.4 == fast)
                .map(|(share, hours, long, short, _)| {
                    let limit = num(burn_rate(*share, *hours, slo.window_days) * budget);
                    format!(
                        "({} > {limit} and {} > {limit})",
                        cx.m(&format!("{metric}:ratio_{long}"), &extra),
                        cx.m(&format!("{metric}:ratio_{short}"), &extra)
                    )
                })
                .collect();
            let severity = if fast { slo.severity } else { Severity::Ticket };
            let speed = if fast { "Fast" } else { "Slow" };
            let what = match slo.threshold_seconds {
                None => format!("shard {{{{ $labels.shard }}}} has no writable primary often enough to miss {}% over {} days", num(slo.objective), slo.window_days),
                Some(t) => format!(
                    "{{{{ $labels.class }}}} commands on shard {{{{ $labels.shard }}}} are slower than {} on average often enough to miss {}% over {} days",
                    format_duration((t * 1000.0).round() as u64),
                    num(slo.objective),
                    slo.window_days
                ),
            };
            let mut a = alert(
                &format!("Redis{name}ErrorBudget{speed}Burn"),
                tiers.join(" or "),
                0,
                severity,
                format!("{} {}: {what}", cx.d.contract.service, cx.d.env),
                runbook,
            );
            a["labels"]["slo"] = json!(slo.name);
            out.push(a);
        }
    }
    out
}

/// The threshold alerts.
fn threshold_alerts(cx: &Ctx, e: &Effective) -> Vec<Value> {
    let d = cx.d;
    let rb = &d.contract.readiness.runbooks;
    let who = format!("{} {}", d.contract.service, d.env);
    let mut out = Vec::new();
    for a in &e.alerts {
        let EffectiveAlert { key, severity, threshold, for_ms } = *a;
        let t = num(threshold);
        let (name, expr, summary, runbook) = match key {
            "replicaDown" => (
                "RedisReplicaDown",
                format!(
                    "max by ({BY_SHARD}) ({} * on (instance) group_left () {}) < {}",
                    cx.m("redis_connected_slaves", ""),
                    cx.m("redis_instance_info", "role=\"master\""),
                    replicas_per_shard(d)
                ),
                format!("{who}: the primary of shard {{{{ $labels.shard }}}} has {{{{ $value }}}} of {} replicas", replicas_per_shard(d)),
                rb.failover.as_ref(),
            ),
            "replicaLag" => (
                "RedisReplicaLag",
                format!("max by ({BY_SHARD}) ({}) > {t}", cx.m("redis_connected_slave_lag_seconds", "")),
                format!("{who}: a replica of shard {{{{ $labels.shard }}}} lags {{{{ $value }}}}s behind (limit {t}s)"),
                rb.data_inconsistency.as_ref(),
            ),
            "memory" => (
                "RedisMemoryHigh",
                format!(
                    "max by ({BY_NODE}) (100 * {} / ({} > 0)) > {t}",
                    cx.m("redis_memory_used_bytes", ""),
                    cx.m("redis_memory_max_bytes", "")
                ),
                format!("{who}: {{{{ $labels.node }}}} uses {{{{ $value | printf \"%.0f\" }}}}% of maxmemory (limit {t}%)"),
                rb.memory_pressure.as_ref(),
            ),
            "evictions" => (
                "RedisEvictions",
                format!("sum by ({BY_SHARD}) (increase({}[5m])) > {t}", cx.m("redis_evicted_keys_total", "")),
                format!("{who}: shard {{{{ $labels.shard }}}} evicted {{{{ $value }}}} keys in 5 minutes; workload `{}` cannot lose them", d.contract.redis.workload.as_str()),
                rb.memory_pressure.as_ref(),
            ),
            "hitRate" => {
                let rate = |m: &str| format!("sum by (service, environment) (rate({}[30m]))", cx.m(m, ""));
                (
                    "RedisHitRateLow",
                    format!(
                        "100 * {} / ({} + {}) < {t}",
                        rate("redis_keyspace_hits_total"),
                        rate("redis_keyspace_hits_total"),
                        rate("redis_keyspace_misses_total")
                    ),
                    format!("{who}: cache hit rate {{{{ $value | printf \"%.1f\" }}}}% (objective {t}%)"),
                    None,
                )
            }
            "oom" => {
                let errors = cx.m("redis_errors_total", "err=\"OOM\"");
                (
                    "RedisOutOfMemoryErrors",
                    // The error counter only appears with the first OOM: a series younger than
                    // the window counts whole (an `increase` would need two samples of it).
                    format!(
                        "sum by ({BY_SHARD}) (increase({errors}[5m])) > {t} or sum by ({BY_SHARD}) ({errors} unless {errors} offset 5m) > {t}"
                    ),
                    format!("{who}: shard {{{{ $labels.shard }}}} refused {{{{ $value }}}} writes with OOM"),
                    rb.memory_pressure.as_ref(),
                )
            }
            "rejectedConnections" => (
                "RedisRejectedConnections",
                format!("sum by ({BY_SHARD}) (increase({}[5m])) > {t}", cx.m("redis_rejected_connections_total", "")),
                format!("{who}: shard {{{{ $labels.shard }}}} refused {{{{ $value }}}} connections (maxclients)"),
                rb.connection_storm.as_ref(),
            ),
            "persistence" => {
                let mut parts = Vec::new();
                let p = d.contract.redis.persistence.mode;
                if p.rdb() {
                    parts.push(format!("min by ({BY_NODE}) ({}) == 0", cx.m("redis_rdb_last_bgsave_status", "")));
                }
                if p.aof() {
                    parts.push(format!("min by ({BY_NODE}) ({}) == 0", cx.m("redis_aof_last_write_status", "")));
                }
                (
                    "RedisPersistenceFailing",
                    parts.join(" or "),
                    format!("{who}: {{{{ $labels.node }}}} failed to write its persistence files"),
                    None,
                )
            }
            "authFailures" => (
                "RedisAuthFailures",
                format!(
                    "sum by ({BY_SHARD}) (increase({}[5m])) > {t}",
                    cx.m("redis_commands_failed_calls_total", "cmd=~\"auth|hello\"")
                ),
                format!("{who}: {{{{ $value }}}} failed logins on shard {{{{ $labels.shard }}}} in 5 minutes"),
                None,
            ),
            "failovers" => (
                "RedisFailovers",
                format!(
                    "count by ({BY_SHARD}) (max by ({BY_SHARD}, instance) (max_over_time({}[1h]))) - 1 > {t}",
                    cx.m("redis_instance_info", "role=\"master\"")
                ),
                format!("{who}: shard {{{{ $labels.shard }}}} failed over {{{{ $value }}}} times within an hour"),
                rb.failover.as_ref(),
            ),
            "nodeDown" => (
                "RedisNodeUnreachable",
                format!("min by ({BY_NODE}) ({}) == 0 or min by ({BY_NODE}) ({}) == 0", cx.m("up", ""), cx.m("redis_up", "")),
                format!("{who}: {{{{ $labels.node }}}} cannot be measured (exporter down or node unreachable)"),
                None,
            ),
            _ => continue,
        };
        if expr.is_empty() {
            continue;
        }
        out.push(alert(name, expr, for_ms, severity, summary, runbook));
    }
    out
}

/// The rule groups (a rules file's `groups`, a PrometheusRule's `spec.groups`); `None` without
/// an `observability` section.
pub fn rule_groups(d: &Deployment) -> Option<Value> {
    let e = effective(&d.contract)?;
    let cx = Ctx { d, sel: format!("service={}, environment={}", quoted(&d.contract.service), quoted(&d.env)) };
    let prefix = format!("redisctl-{}-{}", d.contract.service, d.env);
    let mut alerts = slo_alerts(&cx, &e);
    alerts.extend(threshold_alerts(&cx, &e));
    Some(json!([
        { "name": format!("{prefix}-sli"), "rules": recording(&cx, &e) },
        { "name": format!("{prefix}-alerts"), "rules": alerts },
    ]))
}

/// The scrape labels of a node.
pub fn node_labels(d: &Deployment, n: &Node) -> Value {
    json!({ "service": d.contract.service, "environment": d.env, "shard": shard_of(n), "node": n.name })
}

/// prometheus.yml for the exporters at `address(node)`: one target per node with its labels,
/// and the rules file next to it.
pub fn scrape_config(d: &Deployment, address: &dyn Fn(&Node) -> String) -> Value {
    let targets: Vec<Value> =
        d.nodes.iter().map(|n| json!({ "targets": [address(n)], "labels": node_labels(d, n) })).collect();
    json!({
        "global": { "scrape_interval": "15s", "evaluation_interval": "15s" },
        "rule_files": ["rules.yml"],
        "scrape_configs": [{ "job_name": format!("redisctl-{}-{}", d.contract.service, d.env), "static_configs": targets }],
    })
}

/// The artifacts of a file-based target under `observability/`: rules, scrape configuration
/// and dashboards. Empty without an `observability` section.
pub fn files(d: &Deployment, address: &dyn Fn(&Node) -> String) -> Result<Vec<crate::render::Artifact>, String> {
    let Some(groups) = rule_groups(d) else {
        return Ok(Vec::new());
    };
    let mut out = vec![
        crate::render::yaml_artifact(d, &format!("{DIR}/rules.yml"), &[json!({ "groups": groups })])?,
        crate::render::yaml_artifact(d, &format!("{DIR}/prometheus.yml"), &[scrape_config(d, address)])?,
    ];
    for (name, dash) in dashboards(d) {
        let content = serde_json::to_string_pretty(&dash).map_err(|e| e.to_string())? + "\n";
        out.push(crate::render::Artifact { path: format!("{DIR}/dashboards/{name}.json"), content, mode: 0o644 });
    }
    Ok(out)
}

/// One time-series panel.
fn panel(id: u32, title: &str, unit: &str, targets: &[(&str, String)], x: u32, y: u32) -> Value {
    let targets: Vec<Value> = targets
        .iter()
        .enumerate()
        .map(|(i, (legend, expr))| {
            json!({
                "refId": ((b'A' + i as u8) as char).to_string(),
                "expr": expr,
                "legendFormat": legend,
                "datasource": { "type": "prometheus", "uid": "${datasource}" },
            })
        })
        .collect();
    json!({
        "id": id,
        "type": "timeseries",
        "title": title,
        "datasource": { "type": "prometheus", "uid": "${datasource}" },
        "gridPos": { "h": 8, "w": 12, "x": x, "y": y },
        "fieldConfig": { "defaults": { "unit": unit }, "overrides": [] },
        "targets": targets,
    })
}

/// A panel: title, unit, and (legend, query) per series.
type PanelSpec<'a> = (&'a str, &'a str, Vec<(&'a str, String)>);

/// The three dashboards of "Recommended dashboards & alerts", by file name.
pub fn dashboards(d: &Deployment) -> Vec<(String, Value)> {
    let sel = format!("service={}, environment={}", quoted(&d.contract.service), quoted(&d.env));
    let m = |metric: &str| format!("{metric}{{{sel}}}");
    let rate = |metric: &str| format!("rate({metric}{{{sel}}}[5m])");
    let p99 = format!("max by (node, cmd) (redis_latency_percentiles_usec{{{sel}, quantile=\"99\"}}) / 1e6");
    let views: Vec<(&str, &str, Vec<PanelSpec>)> = vec![
        (
            "executive",
            "health, hit rate, latency and memory at a glance",
            vec![
                (
                    "Instances up",
                    "short",
                    vec![("up", format!("sum({})", m("redis_up"))), ("nodes", format!("count({})", m("up")))],
                ),
                (
                    "Cache hit rate",
                    "percentunit",
                    vec![(
                        "hit rate",
                        format!(
                            "sum({}) / (sum({}) + sum({}))",
                            rate("redis_keyspace_hits_total"),
                            rate("redis_keyspace_hits_total"),
                            rate("redis_keyspace_misses_total")
                        ),
                    )],
                ),
                (
                    "Latency (mean per class, SLO SLI)",
                    "s",
                    vec![("{{class}} shard {{shard}}", m("redisctl:latency_mean_seconds"))],
                ),
                (
                    "Memory used / maxmemory",
                    "percentunit",
                    vec![(
                        "{{node}}",
                        format!("{} / ({} > 0)", m("redis_memory_used_bytes"), m("redis_memory_max_bytes")),
                    )],
                ),
                (
                    "Error budget left (availability)",
                    "percentunit",
                    vec![("shard {{shard}}", format!("1 - {}", m("redisctl:availability_errors:ratio_3d")))],
                ),
            ],
        ),
        (
            "on-call",
            "rapid triage: latency, replication, evictions, slow commands",
            vec![
                ("P99 command latency (since restart)", "s", vec![("{{node}} {{cmd}}", p99.clone())]),
                (
                    "Replica lag and failovers",
                    "s",
                    vec![
                        ("lag shard {{shard}}", m("redis_connected_slave_lag_seconds")),
                        ("primaries in the last hour {{shard}}", format!(
                            "count by (shard) (max by (shard, instance) (max_over_time(redis_instance_info{{{sel}, role=\"master\"}}[1h])))"
                        )),
                    ],
                ),
                (
                    "Evicted keys and OOM errors",
                    "short",
                    vec![
                        ("evicted {{node}}", format!("increase({}[5m])", m("redis_evicted_keys_total"))),
                        ("OOM {{node}}", format!("increase(redis_errors_total{{{sel}, err=\"OOM\"}}[5m])")),
                    ],
                ),
                ("Slowlog length", "short", vec![("{{node}}", m("redis_slowlog_length"))]),
                (
                    "Rejected connections and failed logins",
                    "short",
                    vec![
                        ("rejected {{node}}", format!("increase({}[5m])", m("redis_rejected_connections_total"))),
                        (
                            "auth failures {{node}}",
                            format!("increase(redis_commands_failed_calls_total{{{sel}, cmd=~\"auth|hello\"}}[5m])"),
                        ),
                    ],
                ),
            ],
        ),
        (
            "debug",
            "root cause: per-command latency, keys, clients, persistence",
            vec![
                (
                    "Mean latency per command",
                    "s",
                    vec![(
                        "{{node}} {{cmd}}",
                        format!(
                            "{} / {}",
                            rate("redis_commands_duration_seconds_total"),
                            rate("redis_commands_total")
                        ),
                    )],
                ),
                (
                    // Hot keys are not metrics: `redis-cli --hotkeys` (LFU policies) finds them.
                    "Keys and commands per second (hot spots)",
                    "short",
                    vec![
                        ("keys {{node}} {{db}}", m("redis_db_keys")),
                        ("{{node}} {{cmd}}/s", format!("topk(10, {})", rate("redis_commands_total"))),
                    ],
                ),
                (
                    "Clients and buffers",
                    "short",
                    vec![
                        ("clients {{node}}", m("redis_connected_clients")),
                        ("blocked {{node}}", m("redis_blocked_clients")),
                        ("max input buffer {{node}}", m("redis_client_recent_max_input_buffer_bytes")),
                        ("max output buffer {{node}}", m("redis_client_recent_max_output_buffer_bytes")),
                    ],
                ),
                (
                    "Persistence and AOF rewrite",
                    "short",
                    vec![
                        ("changes since save {{node}}", m("redis_rdb_changes_since_last_save")),
                        ("last bgsave ok {{node}}", m("redis_rdb_last_bgsave_status")),
                        ("AOF rewrite in progress {{node}}", m("redis_aof_rewrite_in_progress")),
                        ("last fork seconds {{node}}", m("redis_latest_fork_seconds")),
                    ],
                ),
            ],
        ),
    ];
    views
        .into_iter()
        .map(|(view, description, panels)| {
            let panels: Vec<Value> = panels
                .into_iter()
                .enumerate()
                .map(|(i, (title, unit, targets))| {
                    panel(i as u32 + 1, title, unit, &targets, (i as u32 % 2) * 12, (i as u32 / 2) * 8)
                })
                .collect();
            let name = format!("{}-{}-{view}", d.contract.service, d.env);
            // Grafana uids hold at most 40 characters: a long name is shortened to a stable hash.
            let uid = format!("redisctl-{name}");
            let uid = if uid.len() <= 40 {
                uid
            } else {
                use sha2::{Digest, Sha256};
                format!("redisctl-{}", &hex::encode(Sha256::digest(uid.as_bytes()))[..24])
            };
            let dash = json!({
                "uid": uid,
                "title": format!("Redis {} ({}) — {view}", d.contract.service, d.env),
                "description": description,
                "tags": ["redis", "redisctl", d.contract.service, d.env],
                "schemaVersion": 39,
                "editable": false,
                "time": { "from": "now-6h", "to": "now" },
                "templating": { "list": [{ "name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus" }] },
                "panels": panels,
            });
            (name, dash)
        })
        .collect()
}
