//! `observability` against real peers: `promtool check rules` accepts every rendered rules file,
//! `promtool test rules` proves each alert fires on a synthetic series that breaks its SLO and
//! stays silent on one that keeps it, and end to end a local stack, one real
//! prometheus-redis-exporter per node and a real Prometheus (all on 127.0.0.1, free ports) load
//! the rendered rules and scrape configuration; breaking an SLO for real (a denied login, memory
//! filled, a replica stopped, then the primary) fires its alert in Prometheus's HTTP API. Every process is stopped
//! on drop, also when an assertion fails.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::targets::tool;
use crate::common::{self, free_port, free_port_block, KillOnDrop, Run, TempProject};

const SECRETS: [&str; 5] = ["app", "repl", "sentinel", "ops", "metrics"];

/// A `target: process` project of service `orders`, environment `dev`.
fn project(workload: &str, policy: &str, env: &str, observability: &str) -> TempProject {
    let dir = TempProject::new(&[]);
    for s in SECRETS {
        dir.write(&format!("secrets/{s}"), format!("{s}-Observability-Test"));
    }
    dir.write(
        "redisctl.yaml",
        format!(
            r#"apiVersion: redisctl/v1
service: orders
redis: {{ version: "7.0", workload: {workload}, maxmemoryPolicy: {policy}, persistence: {{ mode: aof }},
         config: {{ repl-diskless-sync-delay: 0 }} }}
keyspace: {{ prefix: orders }}
acl:
  users:
    - {{ name: app, password: {{ fromFile: secrets/app }}, commands: ["+@read", "+@write", "+ping", "-@dangerous"] }}
    - {{ name: repl, role: replication, password: {{ fromFile: secrets/repl }} }}
    - {{ name: watcher, role: sentinel, password: {{ fromFile: secrets/sentinel }} }}
    - {{ name: ops, role: operator, password: {{ fromFile: secrets/ops }} }}
    - {{ name: metrics, role: exporter, password: {{ fromFile: secrets/metrics }} }}
resources: {{ maxmemory: 64mb }}
observability:
{observability}
"#
        ),
    );
    dir.write("environments/dev.yaml", env);
    dir
}

fn rendered_rules(dir: &TempProject) -> (tempfile::TempDir, std::path::PathBuf) {
    let out = tempfile::tempdir().unwrap();
    let run = common::render(dir.path(), "dev", out.path(), &[]);
    assert!(run.success(), "{}", run.show());
    let rules = out.path().join("observability/rules.yml");
    assert!(rules.is_file(), "no rules rendered: {}", run.show());
    (out, rules)
}

fn promtool(args: &[&str], dir: &Path) -> String {
    let o = Command::new(tool("promtool")).args(args).current_dir(dir).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

#[test]
fn promtool_accepts_every_rendered_rules_file() {
    let topologies = [
        "{ mode: standalone }",
        "{ mode: replication, replicas: 2 }",
        "{ mode: sentinel, replicas: 1 }",
        "{ mode: cluster, shards: 3, replicasPerShard: 1 }",
    ];
    for (workload, policy) in [("cache", "allkeys-lru"), ("queue", "noeviction"), ("session", "noeviction")] {
        for topology in topologies {
            let dir = project(workload, policy, &format!("topology: {topology}\n"), "  alerts: {}");
            let (out, rules) = rendered_rules(&dir);
            let text = promtool(&["check", "rules", rules.to_str().unwrap()], out.path());
            assert!(text.contains("SUCCESS"), "{workload} {topology}: {text}");
            promtool(&["check", "config", "observability/prometheus.yml"], out.path());
        }
    }
    // The sample's environments: its local stack, and production's VM layout.
    for env in ["local", "production"] {
        let out = tempfile::tempdir().unwrap();
        let run = common::render(&common::repo_root(), env, out.path(), &common::SAMPLE_ENV_PASSWORDS);
        assert!(run.success(), "{}", run.show());
        let rules = common::files(out.path()).into_iter().find(|(rel, _)| rel.ends_with("rules.yml")).unwrap().1;
        promtool(&["check", "rules", rules.to_str().unwrap()], out.path());
    }
}

/// The labels of node `n` of the synthetic series.
fn series(metric: &str, n: usize, extra: &str) -> String {
    format!(
        "{metric}{{service=\"orders\",environment=\"dev\",shard=\"0\",node=\"node-{n}\",instance=\"node-{n}\"{extra}}}"
    )
}

/// A healthy primary with two replicas: what every case starts from.
fn healthy() -> Vec<(String, String)> {
    let mut s = Vec::new();
    for n in 0..3 {
        s.push((series("up", n, ""), "1x60".to_string()));
        s.push((series("redis_up", n, ""), "1x60".to_string()));
    }
    s.push((series("redis_instance_info", 0, ",role=\"master\""), "1x60".into()));
    s.push((series("redis_connected_slaves", 0, ""), "2x60".into()));
    s
}

/// One alert's case: the series that break it and those that keep it (each replacing or
/// adding to the healthy ones).
struct Case {
    alert: &'static str,
    broken: Vec<(String, &'static str)>,
    kept: Vec<(String, &'static str)>,
}

fn group(over: &[(String, &str)], alert: &str, fires: bool) -> serde_json::Value {
    group_at(over, alert, fires, "60m")
}

fn group_at(over: &[(String, &str)], alert: &str, fires: bool, eval_time: &str) -> serde_json::Value {
    let mut input = healthy();
    for (name, values) in over {
        match input.iter_mut().find(|(n, _)| n == name) {
            Some(entry) => entry.1 = values.to_string(),
            None => input.push((name.clone(), values.to_string())),
        }
    }
    let input: Vec<_> = input
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(series, values)| serde_json::json!({ "series": series, "values": values }))
        .collect();
    let test = if fires {
        serde_json::json!({
            "expr": format!("max by (alertname) (ALERTS{{alertstate=\"firing\", alertname=\"{alert}\"}})"),
            "eval_time": eval_time,
            "exp_samples": [{ "labels": format!("{{alertname=\"{alert}\"}}"), "value": 1 }],
        })
    } else {
        serde_json::json!({
            "expr": format!("count(ALERTS{{alertstate=\"firing\", alertname=\"{alert}\"}}) or vector(0)"),
            "eval_time": eval_time,
            "exp_samples": [{ "labels": "{}", "value": 0 }],
        })
    };
    serde_json::json!({ "interval": "1m", "input_series": input, "promql_expr_test": [test] })
}

fn run_cases(rules: &Path, out: &Path, cases: &[Case]) {
    let mut tests = Vec::new();
    for c in cases {
        tests.push(group(&c.broken, c.alert, true));
        tests.push(group(&c.kept, c.alert, false));
    }
    let doc = serde_json::json!({
        "rule_files": [rules.to_str().unwrap()],
        "evaluation_interval": "1m",
        "tests": tests,
    });
    // JSON is YAML: promtool reads it as is.
    let file = out.join("tests.yml");
    std::fs::write(&file, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let text = promtool(&["test", "rules", file.to_str().unwrap()], out);
    assert!(text.contains("SUCCESS"), "{text}");
}

#[test]
fn promtool_proves_each_alert_fires_on_a_broken_slo_and_not_on_a_kept_one() {
    let dir = project("queue", "noeviction", "topology: { mode: sentinel, replicas: 2 }\n", "  alerts: {}");
    let (out, rules) = rendered_rules(&dir);
    let master = |n| series("redis_instance_info", n, ",role=\"master\"");
    let get = |m: &str| series(m, 0, ",cmd=\"get\"");
    let cases = vec![
        Case { alert: "RedisAvailabilityErrorBudgetFastBurn", broken: vec![(master(0), "1x20")], kept: vec![] },
        Case { alert: "RedisAvailabilityErrorBudgetSlowBurn", broken: vec![(master(0), "1x20")], kept: vec![] },
        Case {
            alert: "RedisLatencyErrorBudgetFastBurn",
            // 60 GETs a minute taking 0.6 s: 10 ms each, above the default 5 ms.
            broken: vec![
                (get("redis_commands_duration_seconds_total"), "0+0.6x60"),
                (get("redis_commands_total"), "0+60x60"),
            ],
            kept: vec![
                (get("redis_commands_duration_seconds_total"), "0+0.0006x60"),
                (get("redis_commands_total"), "0+60x60"),
            ],
        },
        Case {
            alert: "RedisReplicaDown",
            broken: vec![(series("redis_connected_slaves", 0, ""), "1x60")],
            kept: vec![],
        },
        Case {
            alert: "RedisReplicaLag",
            broken: vec![(series("redis_connected_slave_lag_seconds", 0, ",slave_ip=\"10.0.0.2\""), "30x60")],
            kept: vec![(series("redis_connected_slave_lag_seconds", 0, ",slave_ip=\"10.0.0.2\""), "1x60")],
        },
        Case {
            alert: "RedisMemoryHigh",
            broken: vec![
                (series("redis_memory_used_bytes", 0, ""), "90x60"),
                (series("redis_memory_max_bytes", 0, ""), "100x60"),
            ],
            kept: vec![
                (series("redis_memory_used_bytes", 0, ""), "50x60"),
                (series("redis_memory_max_bytes", 0, ""), "100x60"),
            ],
        },
        Case {
            alert: "RedisEvictions",
            broken: vec![(series("redis_evicted_keys_total", 0, ""), "0+1x60")],
            kept: vec![(series("redis_evicted_keys_total", 0, ""), "0x60")],
        },
        Case {
            alert: "RedisOutOfMemoryErrors",
            broken: vec![(series("redis_errors_total", 0, ",err=\"OOM\""), "0+1x60")],
            kept: vec![(series("redis_errors_total", 0, ",err=\"OOM\""), "3x60")],
        },
        Case {
            // The counter appears with the first OOM, two minutes before the evaluation.
            alert: "RedisOutOfMemoryErrors",
            broken: vec![(series("redis_errors_total", 0, ",err=\"OOM\""), "_x58 4 4 4")],
            kept: vec![],
        },
        Case {
            alert: "RedisRejectedConnections",
            broken: vec![(series("redis_rejected_connections_total", 0, ""), "0+1x60")],
            kept: vec![(series("redis_rejected_connections_total", 0, ""), "7x60")],
        },
        Case {
            alert: "RedisPersistenceFailing",
            broken: vec![(series("redis_aof_last_write_status", 1, ""), "0x60")],
            kept: vec![(series("redis_aof_last_write_status", 1, ""), "1x60")],
        },
        Case {
            // More than 10 failed logins in 5 minutes: 5 a minute; 1 a minute keeps it.
            alert: "RedisAuthFailures",
            broken: vec![(series("redis_commands_failed_calls_total", 0, ",cmd=\"auth\""), "0+5x60")],
            kept: vec![(series("redis_commands_failed_calls_total", 0, ",cmd=\"auth\""), "0+1x60")],
        },
        Case {
            // Three primaries within the hour is two failovers; one failover is the design working.
            alert: "RedisFailovers",
            broken: vec![(master(0), "1x10"), (master(1), "_x10 1x10"), (master(2), "_x20 1x40")],
            kept: vec![(master(0), "1x10"), (master(1), "_x10 1x50")],
        },
        Case { alert: "RedisNodeUnreachable", broken: vec![(series("up", 2, ""), "0x60")], kept: vec![] },
        Case { alert: "RedisNodeUnreachable", broken: vec![(series("redis_up", 1, ""), "0x60")], kept: vec![] },
    ];
    run_cases(&rules, out.path(), &cases);

    // Prometheus just started and scraped a replica before the primary: no outage, no page.
    let late = vec![(series("up", 0, ""), "_ 1x10"), (series("redis_up", 0, ""), "_ 1x10"), (master(0), "_ 1x10")];
    let late: Vec<(String, &str)> = late.into_iter().collect();
    let startup = [group_at(&late, "RedisAvailabilityErrorBudgetFastBurn", false, "3m")];
    let doc =
        serde_json::json!({ "rule_files": [rules.to_str().unwrap()], "evaluation_interval": "1m", "tests": startup });
    let file = out.path().join("startup.yml");
    std::fs::write(&file, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    promtool(&["test", "rules", file.to_str().unwrap()], out.path());

    // A cache tickets on a falling hit rate (and does not alert on its evictions).
    let dir = project("cache", "allkeys-lru", "topology: { mode: standalone }\n", "  alerts: {}");
    let (out, rules) = rendered_rules(&dir);
    let hits = || series("redis_keyspace_hits_total", 0, "");
    let misses = || series("redis_keyspace_misses_total", 0, "");
    let evicted = series("redis_evicted_keys_total", 0, "");
    // `RedisEvictions` does not exist for a cache: only its silent half is run.
    let tests = vec![
        group(&[(hits(), "0+10x60"), (misses(), "0+90x60")], "RedisHitRateLow", true),
        group(&[(hits(), "0+90x60"), (misses(), "0+10x60")], "RedisHitRateLow", false),
        group(&[(evicted, "0+100x60")], "RedisEvictions", false),
    ];
    let doc =
        serde_json::json!({ "rule_files": [rules.to_str().unwrap()], "evaluation_interval": "1m", "tests": tests });
    let file = out.path().join("tests.yml");
    std::fs::write(&file, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    promtool(&["test", "rules", file.to_str().unwrap()], out.path());
}

/// GET `path` from 127.0.0.1:`port` (HTTP/1.0: the server closes the connection).
fn http_get(port: u16, path: &str) -> Result<String, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").map_err(|e| e.to_string())?;
    let mut body = String::new();
    s.read_to_string(&mut body).map_err(|e| e.to_string())?;
    let (head, body) = body.split_once("\r\n\r\n").ok_or("no HTTP response")?;
    if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
        return Err(head.lines().next().unwrap_or_default().to_string());
    }
    Ok(body.to_string())
}

/// The alerts Prometheus reports as firing, by name.
fn firing(port: u16) -> Result<Vec<String>, String> {
    let body = http_get(port, "/api/v1/alerts")?;
    let v: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    let alerts = v["data"]["alerts"].as_array().ok_or("no alerts array")?;
    Ok(alerts
        .iter()
        .filter(|a| a["state"] == "firing")
        .filter_map(|a| a["labels"]["alertname"].as_str().map(String::from))
        .collect())
}

/// Stops the local stack when dropped.
struct Stack<'a>(&'a Path);

impl Drop for Stack<'_> {
    fn drop(&mut self) {
        let _ = Run::unbounded(common::redisctl_on(self.0).args(["destroy", "--env", "dev", "--auto-approve"]));
    }
}

fn redis_cli(port: u16, user: &str, password: &str, args: &[&str]) -> String {
    let o = Command::new("redis-cli")
        .args(["-p", &port.to_string(), "--user", user, "--no-auth-warning"])
        .args(args)
        .env("REDISCLI_AUTH", password)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).to_string()
}

#[test]
fn a_broken_slo_fires_its_alert_in_a_real_prometheus() {
    common::require_redis();
    let base = free_port_block(4, false);
    let exporter_base = free_port_block(2, false);
    // Alerts without `for` and with low thresholds, so that the test sees them within seconds.
    let observability = format!(
        "  exporterPort: {exporter_base}\n  runExporters: true\n  alerts:\n    memory: {{ threshold: 60, for: 0s }}\n    \
         authFailures: {{ threshold: 0 }}\n    replicaDown: {{ for: 0s }}\n    nodeDown: {{ for: 3s }}\n"
    );
    let env = format!(
        "topology: {{ mode: replication, replicas: 1 }}\nports: {{ redis: {base}, sentinel: {} }}\nresources: {{ maxmemory: 8mb }}\n",
        base + 2
    );
    let dir = project("queue", "noeviction", &env, &observability);
    let run = Run::unbounded(common::redisctl_on(dir.path()).args(["apply", "--env", "dev", "--auto-approve"]));
    let _stack = Stack(dir.path());
    assert!(run.success(), "{}", run.show());
    let run_dir = dir.path().join(".redisctl/dev/run");
    let config = std::fs::read_to_string(run_dir.join("observability/prometheus.yml")).unwrap();
    assert!(config.contains(&format!("127.0.0.1:{exporter_base}")), "{config}");

    // `runExporters`: apply started one real exporter per node, as the exporter user, the
    // password in its environment only.
    let password = std::fs::read_to_string(dir.path().join("secrets/metrics")).unwrap();
    let mut exporters = Vec::new();
    for i in 0..2 {
        let pid = std::fs::read_to_string(run_dir.join(format!("observability/exporter-node-{i}.pid"))).unwrap();
        let pid: u32 = pid.trim().parse().unwrap();
        let args = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap();
        assert!(args.contains("redis-exporter") && !args.contains(password.trim()), "argv: {args:?}");
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
        let environ = String::from_utf8_lossy(&environ);
        assert!(environ.contains("REDIS_USER=metrics"), "{environ}");
        assert!(!environ.contains("PATH="), "the exporter's environment is cleared of redisctl's: {environ}");
        let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap();
        assert_eq!(
            cwd,
            run_dir.join("observability").canonicalize().unwrap(),
            "exporter {pid} works in observability/"
        );
        exporters.push(pid);
    }
    let again = Run::unbounded(common::redisctl_on(dir.path()).args(["plan", "--env", "dev"]));
    assert!(again.success() && !again.stdout.contains("exporter:"), "the exporters converged: {}", again.show());

    // The rendered configuration and rules, scraped and evaluated every second.
    let prom_dir = tempfile::tempdir().unwrap();
    std::fs::write(prom_dir.path().join("prometheus.yml"), config.replace("15s", "1s")).unwrap();
    std::fs::copy(run_dir.join("observability/rules.yml"), prom_dir.path().join("rules.yml")).unwrap();
    let prom_port = free_port();
    let prometheus = Command::new(tool("prometheus"))
        .arg(format!("--config.file={}", prom_dir.path().join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", prom_dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _prometheus = KillOnDrop(prometheus);
    let slow = Duration::from_secs(60);
    common::wait_for("both exporters scraped and up", slow, || {
        let body = http_get(prom_port, "/api/v1/query?query=sum(redis_up%7Bservice%3D%22orders%22%7D)")?;
        if body.contains("\"2\"") {
            Ok(())
        } else {
            Err(body)
        }
    });
    // Healthy: none of the alerts the test breaks below fires.
    std::thread::sleep(Duration::from_secs(3));
    let quiet = firing(prom_port).unwrap();
    for alert in [
        "RedisAuthFailures",
        "RedisMemoryHigh",
        "RedisReplicaDown",
        "RedisNodeUnreachable",
        "RedisAvailabilityErrorBudgetFastBurn",
    ] {
        assert!(!quiet.contains(&alert.to_string()), "{alert} fires on a healthy stack: {quiet:?}");
    }

    let wait_firing = |alert: &str| {
        common::wait_for(&format!("{alert} firing"), slow, || {
            let f = firing(prom_port)?;
            if f.iter().any(|a| a == alert) {
                Ok(())
            } else {
                Err(format!("firing: {f:?}"))
            }
        })
    };
    // A denied login.
    for _ in 0..3 {
        redis_cli(base, "app", "not-the-password", &["ping"]);
    }
    wait_firing("RedisAuthFailures");

    // Memory filled past 60 % of maxmemory (8mb) by the application user, up to OOM.
    let app = std::fs::read_to_string(dir.path().join("secrets/app")).unwrap();
    let value = "x".repeat(64 * 1024);
    for i in 0..400 {
        let out = redis_cli(base, "app", &app, &["set", &format!("orders:fill:{i}"), &value]);
        if out.contains("OOM") {
            break;
        }
    }
    wait_firing("RedisMemoryHigh");

    // A replica stopped: the primary misses it, and its exporter cannot reach it.
    let ops = std::fs::read_to_string(dir.path().join("secrets/ops")).unwrap();
    redis_cli(base + 1, "ops", &ops, &["shutdown", "nosave"]);
    wait_firing("RedisReplicaDown");
    wait_firing("RedisNodeUnreachable");

    // The exporter user was never refused a command it needs.
    let log = redis_cli(base, "ops", &ops, &["acl", "log"]);
    assert!(!log.contains("metrics"), "the exporter user was denied something:\n{log}");

    // The primary stopped too: no writable primary, and the availability SLO's fast burn pages
    // (once the primary's last answer is a minute old: one failed scrape is not an outage).
    redis_cli(base, "ops", &ops, &["shutdown", "nosave"]);
    common::wait_for("RedisAvailabilityErrorBudgetFastBurn firing", Duration::from_secs(150), || {
        let f = firing(prom_port)?;
        if f.iter().any(|a| a == "RedisAvailabilityErrorBudgetFastBurn") {
            Ok(())
        } else {
            Err(format!("firing: {f:?}"))
        }
    });

    // destroy stops the exporters with the stack.
    let destroyed = Run::unbounded(common::redisctl_on(dir.path()).args(["destroy", "--env", "dev", "--auto-approve"]));
    assert!(destroyed.success(), "{}", destroyed.show());
    let home = run_dir.join("observability").canonicalize().unwrap();
    for pid in exporters {
        let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok();
        assert!(cwd.as_ref() != Some(&home), "exporter {pid} still runs after destroy");
    }
}

/// The sample's production (systemd) with `observability`: every exporter instance, next to the
/// node units, passes `systemd-analyze verify` without a line of output.
#[test]
fn systemd_analyze_verify_accepts_the_exporter_units() {
    let out = tempfile::tempdir().unwrap();
    let run = common::render(&common::repo_root(), "production", out.path(), &common::SAMPLE_ENV_PASSWORDS);
    assert!(run.success(), "{}", run.show());
    let units = tempfile::tempdir().unwrap();
    let mut instances = Vec::new();
    for (rel, path) in common::files(out.path()) {
        if let Some(name) = rel.strip_prefix("etc/systemd/system/") {
            std::fs::copy(&path, units.path().join(name)).unwrap();
        }
        if let Some(node) = rel.strip_prefix("etc/redis/catalog/exporter/").and_then(|f| f.strip_suffix(".env")) {
            instances.push(format!("redis-catalog-exporter@{node}.service"));
        }
    }
    assert_eq!(instances.len(), 3, "one exporter per node");
    let mut cmd = Command::new(tool("systemd-analyze"));
    cmd.current_dir(units.path()).arg("verify").args(&instances);
    crate::common::targets::run_silent(&mut cmd);
}

/// The sample's staging (kubernetes) with `observability`: kubernetes-validate passes every
/// manifest strictly except the Prometheus Operator's custom resources, whose schemas it does
/// not have (and says so); those are checked here instead: the PrometheusRule's groups by
/// promtool, the PodMonitor's selector and port against the StatefulSet it scrapes.
#[test]
fn kubernetes_monitoring_resources_are_valid() {
    let out = tempfile::tempdir().unwrap();
    let run = common::render(&common::repo_root(), "staging", out.path(), &[]);
    assert!(run.success(), "{}", run.show());
    let manifests: Vec<_> =
        common::files(out.path()).into_iter().filter(|(rel, _)| rel.ends_with(".yaml")).map(|(_, p)| p).collect();
    let o =
        Command::new(tool("kubernetes-validate")).args(["--strict", "-k", "1.29.0"]).args(&manifests).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{text}");
    let unknown: Vec<&str> = text.lines().filter(|l| !l.starts_with("INFO ")).collect();
    assert_eq!(unknown.len(), 2, "{text}");
    for kind in ["PodMonitor", "PrometheusRule"] {
        assert!(
            unknown.iter().any(|l| l.contains(&format!("kind {kind} with api version monitoring.coreos.com/v1"))),
            "{text}"
        );
    }
    assert_eq!(text.lines().filter(|l| l.contains(" passed ")).count(), manifests.len() - 2, "{text}");

    let read = |name: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(out.path().join(name)).unwrap();
        let body: String = text.lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n");
        // The manifests are YAML; promtool and this test read them through redisctl's own parser.
        let node = redisctl::contract::yaml::parse(&body, 0).unwrap();
        redisctl::contract::merge::to_json(&node, &mut Default::default())
    };
    let rule = read("prometheusrule-catalog-redis.yaml");
    let rules_file = out.path().join("from-prometheusrule.yml");
    std::fs::write(
        &rules_file,
        serde_json::to_string(&serde_json::json!({ "groups": rule["spec"]["groups"] })).unwrap(),
    )
    .unwrap();
    promtool(&["check", "rules", rules_file.to_str().unwrap()], out.path());

    let monitor = read("podmonitor-catalog-redis.yaml");
    let sts = read("statefulset-catalog-redis.yaml");
    let pod_labels = &sts["spec"]["template"]["metadata"]["labels"];
    for (k, v) in monitor["spec"]["selector"]["matchLabels"].as_object().unwrap() {
        assert_eq!(&pod_labels[k], v, "the PodMonitor selects the Redis pods by {k}");
    }
    let port = monitor["spec"]["podMetricsEndpoints"][0]["port"].as_str().unwrap();
    let containers = sts["spec"]["template"]["spec"]["containers"].as_array().unwrap();
    assert!(
        containers.iter().any(|c| c["ports"].as_array().is_some_and(|ps| ps.iter().any(|p| p["name"] == port))),
        "no container port named {port}"
    );
}
