//! Observability from the contract: the `observability` section (SLOs and alerts) and what it
//! means once the workload's defaults are filled in (`effective`). Renderers turn the effective
//! SLOs into exporters, Prometheus rules and dashboards; policy and review read them.
//!
//! Defaults follow the SRE guidance of "Recommended dashboards & alerts" and "Alerting
//! guidance": pages for OOM, repeated failovers, latency and replication lag past the SLO; a
//! workload that cannot lose data (queue, state, session, coordination) pages on any eviction;
//! a cache tickets on a falling hit rate and never alerts on evictions (they are its design).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Contract, PersistenceMode, TopologyMode, Workload};
use crate::units::Duration;

/// SLOs and alerts. With this section, every self-hosted target renders an exporter per node,
/// Prometheus recording and alerting rules and Grafana dashboards (`observability/` or, on
/// Kubernetes, a `PrometheusRule`, a `PodMonitor` and a dashboard ConfigMap). Everything not set
/// here is defaulted from `redis.workload`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ObservabilitySpec {
    /// Port of the first node's exporter; node `i` gets `exporterPort + i` (`process`, `systemd`,
    /// `compose`; Kubernetes pods all use 9121).
    #[serde(default)]
    #[schemars(range(min = 1, max = 65000))]
    pub exporter_port: Option<u32>,
    /// `target: process` only: `apply` starts one prometheus-redis-exporter per node on 127.0.0.1
    /// (where the rendered `observability/prometheus.yml` scrapes) and `destroy` stops them.
    #[serde(default)]
    pub run_exporters: bool,
    /// ACL user the exporters log in as. Default: the user with `role: exporter` (least
    /// privilege: INFO, SLOWLOG, LATENCY, no keys).
    #[serde(default)]
    pub exporter_user: Option<String>,
    #[serde(default)]
    pub slos: Slos,
    #[serde(default)]
    pub alerts: Alerts,
}

/// Service level objectives, alerted on with multi-window burn rates (fast burn pages, slow burn
/// tickets).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Slos {
    /// Share of time every shard has a reachable primary (writes possible). Default: 99.9 % over
    /// 30 days, paging.
    #[serde(default)]
    pub availability: Option<Objective>,
    /// Command latency per command class: the share of one-minute slices in which the class's
    /// mean latency stays under `threshold`. (Redis publishes its percentiles only as totals since
    /// start, so a windowed p99 cannot be computed from its metrics; the dashboards show them.)
    /// Default: `reads` and `writes` under 5ms, 99 % over 30 days, paging.
    #[serde(default)]
    pub latency: Option<Vec<LatencySlo>>,
}

/// An objective over a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Objective {
    /// Target in percent, e.g. `99.9`.
    #[schemars(range(min = 90.0, max = 99.999))]
    pub objective: f64,
    /// SLO window in days.
    #[serde(default = "thirty")]
    #[schemars(range(min = 1, max = 90))]
    pub window_days: u32,
    /// What a fast burn of the error budget does (a slow burn always tickets). Default: `page`.
    #[serde(default)]
    pub severity: Option<Severity>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LatencySlo {
    /// Class name, used in alert labels, e.g. `reads`.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,30}$"))]
    pub name: String,
    /// Commands of the class, lower case as Redis names them (`get`, `config|get`).
    #[schemars(length(min = 1), inner(regex(pattern = r"^[a-z][a-z0-9|_-]{0,40}$")))]
    pub commands: Vec<String>,
    /// A minute is bad when the class's mean latency is above this.
    pub threshold: Duration,
    /// Target in percent of good minutes, e.g. `99`.
    #[schemars(range(min = 90.0, max = 99.999))]
    pub objective: f64,
    #[serde(default = "thirty")]
    #[schemars(range(min = 1, max = 90))]
    pub window_days: u32,
    /// Default: `page`.
    #[serde(default)]
    pub severity: Option<Severity>,
}

fn thirty() -> u32 {
    30
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Wakes someone up.
    Page,
    /// Work for office hours.
    Ticket,
    /// Not alerted.
    Off,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Page => "page",
            Severity::Ticket => "ticket",
            Severity::Off => "off",
        }
    }
}

/// Threshold alerts. Each one set here overrides the workload's default in the fields it sets.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Alerts {
    /// A shard's primary has fewer connected replicas than the topology gives it (no threshold).
    #[serde(default)]
    pub replica_down: Option<AlertRule>,
    /// Replication lag of a replica, threshold in seconds (Redis measures whole seconds).
    #[serde(default)]
    pub replica_lag: Option<AlertRule>,
    /// used_memory as percent of maxmemory.
    #[serde(default)]
    pub memory: Option<AlertRule>,
    /// Evicted keys in 5 minutes above the threshold.
    #[serde(default)]
    pub evictions: Option<AlertRule>,
    /// Cache hit rate over 30 minutes, in percent, below the threshold.
    #[serde(default)]
    pub hit_rate: Option<AlertRule>,
    /// Commands refused with OOM in 5 minutes above the threshold.
    #[serde(default)]
    pub oom: Option<AlertRule>,
    /// Connections refused (maxclients) in 5 minutes above the threshold.
    #[serde(default)]
    pub rejected_connections: Option<AlertRule>,
    /// The last RDB save or AOF write failed (no threshold).
    #[serde(default)]
    pub persistence: Option<AlertRule>,
    /// Failed AUTH commands in 5 minutes above the threshold.
    #[serde(default)]
    pub auth_failures: Option<AlertRule>,
    /// Primaries of one shard within an hour, minus one (failovers), above the threshold.
    #[serde(default)]
    pub failovers: Option<AlertRule>,
    /// A node cannot be measured: its exporter is not scraped or cannot reach it (no threshold).
    #[serde(default)]
    pub node_down: Option<AlertRule>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AlertRule {
    #[serde(default)]
    pub severity: Option<Severity>,
    /// In the unit the alert names; must be a finite number ≥ 0.
    #[serde(default)]
    #[schemars(range(min = 0.0))]
    pub threshold: Option<f64>,
    /// How long the condition must hold before the alert fires (Prometheus `for`).
    #[serde(default, rename = "for")]
    pub for_: Option<Duration>,
}

/// One SLO with burn-rate alerts, defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveSlo {
    /// `availability` or `latency-<class>`.
    pub name: String,
    /// Commands of a latency class; empty for availability.
    pub commands: Vec<String>,
    /// Latency classes: the threshold in seconds.
    pub threshold_seconds: Option<f64>,
    pub objective: f64,
    pub window_days: u32,
    pub severity: Severity,
}

impl EffectiveSlo {
    /// The error budget as a ratio (`99.9` → `0.001`).
    pub fn budget(&self) -> f64 {
        1.0 - self.objective / 100.0
    }
}

/// One threshold alert, defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveAlert {
    /// The contract's key (`replicaLag`).
    pub key: &'static str,
    pub severity: Severity,
    pub threshold: f64,
    pub for_ms: u64,
}

/// The observability of an environment once the workload's defaults are filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Effective {
    pub slos: Vec<EffectiveSlo>,
    /// Alerts that apply to the topology and persistence and are not `off`.
    pub alerts: Vec<EffectiveAlert>,
    pub exporter_port: u32,
}

impl Effective {
    /// Whether anything pages.
    pub fn pages(&self) -> bool {
        self.slos.iter().any(|s| s.severity == Severity::Page)
            || self.alerts.iter().any(|a| a.severity == Severity::Page)
    }

    pub fn alert(&self, key: &str) -> Option<&EffectiveAlert> {
        self.alerts.iter().find(|a| a.key == key)
    }
}

pub const DEFAULT_EXPORTER_PORT: u32 = 9121;

/// Default latency classes: the usual read and write commands of every workload.
fn default_latency() -> Vec<LatencySlo> {
    let class = |name: &str, commands: &[&str]| LatencySlo {
        name: name.into(),
        commands: commands.iter().map(|c| c.to_string()).collect(),
        threshold: Duration(5),
        objective: 99.0,
        window_days: 30,
        severity: None,
    };
    vec![
        class(
            "reads",
            &[
                "get",
                "mget",
                "exists",
                "hget",
                "hmget",
                "hgetall",
                "smembers",
                "sismember",
                "zrange",
                "zscore",
                "lrange",
            ],
        ),
        class(
            "writes",
            &[
                "set", "setex", "mset", "del", "unlink", "expire", "incr", "incrby", "hset", "sadd", "zadd", "lpush",
                "rpush", "lpop", "rpop", "xadd",
            ],
        ),
    ]
}

/// The defaults of one alert for a workload: (severity, threshold, for in ms).
fn default_alert(key: &str, w: Workload) -> (Severity, f64, u64) {
    use Severity::{Off, Page, Ticket};
    let keeps_data = w != Workload::Cache;
    match key {
        "replicaDown" => (if matches!(w, Workload::Queue | Workload::State) { Page } else { Ticket }, 0.0, 120_000),
        "replicaLag" => (if keeps_data { Page } else { Ticket }, 10.0, 120_000),
        // A cache runs near maxmemory by design and evicts; a workload that cannot evict fails
        // writes at 100 %.
        "memory" => (if keeps_data { Page } else { Ticket }, if keeps_data { 80.0 } else { 95.0 }, 300_000),
        "evictions" => (if keeps_data { Page } else { Off }, 0.0, 0),
        "hitRate" => (if keeps_data { Off } else { Ticket }, 85.0, 1_800_000),
        "oom" => (Page, 0.0, 0),
        "rejectedConnections" => (Page, 0.0, 0),
        "persistence" => (Page, 0.0, 0),
        // Scanners probe open ports: a few failures are noise.
        "authFailures" => (Ticket, 10.0, 0),
        // One failover is the design working; a second within the hour is a flapping primary.
        "failovers" => (Page, 1.0, 0),
        "nodeDown" => (Ticket, 0.0, 300_000),
        _ => (Off, 0.0, 0),
    }
}

/// The alert keys, in rule order.
pub const ALERT_KEYS: [&str; 11] = [
    "replicaDown",
    "replicaLag",
    "memory",
    "evictions",
    "hitRate",
    "oom",
    "rejectedConnections",
    "persistence",
    "authFailures",
    "failovers",
    "nodeDown",
];

impl Alerts {
    pub fn get(&self, key: &str) -> Option<&AlertRule> {
        match key {
            "replicaDown" => self.replica_down.as_ref(),
            "replicaLag" => self.replica_lag.as_ref(),
            "memory" => self.memory.as_ref(),
            "evictions" => self.evictions.as_ref(),
            "hitRate" => self.hit_rate.as_ref(),
            "oom" => self.oom.as_ref(),
            "rejectedConnections" => self.rejected_connections.as_ref(),
            "persistence" => self.persistence.as_ref(),
            "authFailures" => self.auth_failures.as_ref(),
            "failovers" => self.failovers.as_ref(),
            "nodeDown" => self.node_down.as_ref(),
            _ => None,
        }
    }
}

/// Whether an alert means anything for this topology and persistence.
fn applies(key: &str, c: &Contract) -> bool {
    let replicas = match c.topology.mode {
        TopologyMode::Standalone => false,
        TopologyMode::Cluster => c.topology.replicas_per_shard > 0,
        TopologyMode::Replication | TopologyMode::Sentinel => c.topology.replicas > 0,
    };
    match key {
        "replicaDown" | "replicaLag" => replicas,
        "memory" => c.resources.maxmemory.is_some_and(|m| m.0 > 0) || c.target.facts().managed.is_some(),
        "persistence" => c.redis.persistence.mode != PersistenceMode::None,
        "failovers" => matches!(c.topology.mode, TopologyMode::Sentinel | TopologyMode::Cluster),
        _ => true,
    }
}

/// The environment's SLOs and alerts, or `None` without an `observability` section.
pub fn effective(c: &Contract) -> Option<Effective> {
    let spec = c.observability.as_ref()?;
    let mut slos = Vec::new();
    let availability =
        spec.slos.availability.clone().unwrap_or(Objective { objective: 99.9, window_days: 30, severity: None });
    slos.push(EffectiveSlo {
        name: "availability".into(),
        commands: Vec::new(),
        threshold_seconds: None,
        objective: availability.objective,
        window_days: availability.window_days,
        severity: availability.severity.unwrap_or(Severity::Page),
    });
    for l in spec.slos.latency.clone().unwrap_or_else(default_latency) {
        slos.push(EffectiveSlo {
            name: format!("latency-{}", l.name),
            commands: l.commands.iter().map(|c| c.to_ascii_lowercase()).collect(),
            threshold_seconds: Some(l.threshold.0 as f64 / 1000.0),
            objective: l.objective,
            window_days: l.window_days,
            severity: l.severity.unwrap_or(Severity::Page),
        });
    }
    slos.retain(|s| s.severity != Severity::Off);
    let alerts = alert_policy(c).into_iter().filter(|a| applies(a.key, c) && a.severity != Severity::Off).collect();
    Some(Effective { slos, alerts, exporter_port: spec.exporter_port.unwrap_or(DEFAULT_EXPORTER_PORT) })
}

/// Every alert with the contract's fields over the workload's defaults, `off` ones and those
/// the topology or persistence leave out included: what parity compares (whether an alert
/// applies follows from settings parity compares itself).
pub fn alert_policy(c: &Contract) -> Vec<EffectiveAlert> {
    let Some(spec) = c.observability.as_ref() else {
        return Vec::new();
    };
    ALERT_KEYS
        .iter()
        .map(|&key| {
            let (severity, threshold, for_ms) = default_alert(key, c.redis.workload);
            let set = spec.alerts.get(key);
            EffectiveAlert {
                key,
                severity: set.and_then(|r| r.severity).unwrap_or(severity),
                threshold: set.and_then(|r| r.threshold).filter(|t| t.is_finite() && *t >= 0.0).unwrap_or(threshold),
                for_ms: set.and_then(|r| r.for_.map(|d| d.0)).unwrap_or(for_ms),
            }
        })
        .collect()
}

/// The burn-rate tiers of the multi-window alerts (the SRE workbook's, for any SLO window):
/// (share of the budget spent, long window in hours, short window, whether it may page).
pub const BURN_TIERS: [(f64, u64, &str, &str, bool); 4] = [
    (0.02, 1, "1h", "5m", true),
    (0.05, 6, "6h", "30m", true),
    (0.10, 24, "1d", "2h", false),
    (0.10, 72, "3d", "6h", false),
];

/// The burn rate at which a tier fires: spending `share` of the budget within `long_hours`.
pub fn burn_rate(share: f64, long_hours: u64, window_days: u32) -> f64 {
    share * (window_days as f64 * 24.0) / long_hours as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Sentinel contract of `workload` (built as data: the model does not parse YAML).
    fn contract(workload: &str, policy: &str, observability: Option<serde_json::Value>) -> Contract {
        let mut doc = serde_json::json!({
            "apiVersion": "redisctl/v1",
            "service": "s",
            "redis": { "version": "7.0", "workload": workload, "maxmemoryPolicy": policy },
            "topology": { "mode": "sentinel", "replicas": 2 },
            "resources": { "maxmemory": "64mb" },
        });
        if let Some(o) = observability {
            doc["observability"] = o;
        }
        serde_json::from_value(doc).unwrap()
    }

    fn severity(e: &Effective, key: &str) -> Option<Severity> {
        e.alert(key).map(|a| a.severity)
    }

    #[test]
    fn without_the_section_nothing_is_rendered() {
        assert_eq!(effective(&contract("cache", "allkeys-lru", None)), None);
    }

    #[test]
    fn workloads_that_cannot_lose_data_page_on_any_eviction() {
        for w in ["queue", "state"] {
            let e = effective(&contract(w, "noeviction", Some(serde_json::json!({})))).unwrap();
            assert_eq!(severity(&e, "evictions"), Some(Severity::Page), "{w}");
            assert_eq!(e.alert("evictions").unwrap().threshold, 0.0);
            assert_eq!(severity(&e, "hitRate"), None, "{w}: no hit-rate alert");
            assert!(e.pages());
        }
    }

    #[test]
    fn a_cache_tickets_on_its_hit_rate_and_ignores_evictions() {
        let e = effective(&contract("cache", "allkeys-lru", Some(serde_json::json!({})))).unwrap();
        assert_eq!(severity(&e, "hitRate"), Some(Severity::Ticket));
        assert_eq!(e.alert("hitRate").unwrap().threshold, 85.0);
        assert_eq!(severity(&e, "evictions"), None);
        assert_eq!(severity(&e, "oom"), Some(Severity::Page));
    }

    #[test]
    fn the_contract_overrides_a_default_field_by_field_and_off_removes_it() {
        let alerts =
            serde_json::json!({ "alerts": { "memory": { "threshold": 70 }, "evictions": { "severity": "off" } } });
        let e = effective(&contract("queue", "noeviction", Some(alerts))).unwrap();
        let memory = e.alert("memory").unwrap();
        assert_eq!((memory.threshold, memory.severity, memory.for_ms), (70.0, Severity::Page, 300_000));
        assert_eq!(severity(&e, "evictions"), None);
        // Persistence is off: no persistence alert; Sentinel: failovers are watched.
        assert_eq!(severity(&e, "persistence"), None);
        assert_eq!(severity(&e, "failovers"), Some(Severity::Page));
    }

    #[test]
    fn slos_default_to_availability_and_two_latency_classes() {
        let e = effective(&contract("cache", "allkeys-lru", Some(serde_json::json!({})))).unwrap();
        let names: Vec<&str> = e.slos.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["availability", "latency-reads", "latency-writes"]);
        assert!((e.slos[0].budget() - 0.001).abs() < 1e-12);
        assert_eq!(e.slos[1].threshold_seconds, Some(0.005));
    }

    #[test]
    fn burn_rates_are_the_workbooks_for_thirty_days() {
        let rates: Vec<f64> = BURN_TIERS.iter().map(|(s, h, ..)| burn_rate(*s, *h, 30)).collect();
        let expected = [14.4, 6.0, 3.0, 1.0];
        for (r, e) in rates.iter().zip(expected) {
            assert!((r - e).abs() < 1e-9, "{rates:?}");
        }
    }
}
