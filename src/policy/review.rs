//! The Redis Readiness Review (seed 000 §14): the review document of one environment, filled
//! from the contract and the policy findings, and the Go/No-Go verdict of §14.2.
//!
//! Every bullet of the §14.1 template is an `Item`: filled from the contract (derived facts
//! such as topology and RPO, or the prose of `readiness`/`operations`/`client`), or blank.
//! "If a section is blank, the system is not ready": any blank item, any unmet Go criterion,
//! any present No-Go condition and any unwaived policy error makes the verdict No-Go.
//! Evidence (restore drill, failover test) older than `EVIDENCE_MAX_AGE_DAYS` counts as absent.

use serde::Serialize;

use super::evidence::{judge, Evidence};
use super::{EnvClass, PolicyReport, ReportedFinding, ReportedWaiver};
use crate::contract::Loaded;
use crate::diagnostics::Severity;
use crate::model::drill::DrillRecord;
use crate::model::{Auth, Contract, Fsync, PersistenceMode, TopologyMode, UserRole};
use crate::units::{format_duration, Date};
use crate::util::text::md_cell;

/// A drill or test older than this no longer shows that things work today.
pub const EVIDENCE_MAX_AGE_DAYS: i64 = 365;

#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub label: &'static str,
    /// `None`: blank.
    pub value: Option<String>,
    /// The contract field that fills it when it is blank.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub title: &'static str,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Criterion {
    pub text: &'static str,
    /// Go criteria: the criterion holds. No-Go criteria: the condition is absent.
    pub ok: bool,
    pub evidence: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    Go,
    #[serde(rename = "No-Go")]
    NoGo,
}

#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub service: String,
    pub environment: String,
    pub class: EnvClass,
    pub target: String,
    pub contract_fingerprint: String,
    pub date: String,
    pub sections: Vec<Section>,
    /// §14.2 "Go when".
    pub go: Vec<Criterion>,
    /// §14.2 "No-go when".
    pub no_go: Vec<Criterion>,
    /// Policy findings that are not waived.
    pub findings: Vec<ReportedFinding>,
    pub waivers: Vec<ReportedWaiver>,
    pub verdict: Verdict,
    /// Why the verdict is No-Go: blanks, unmet criteria, policy errors.
    pub missing: Vec<String>,
}

/// What `observability` renders, for the review: the SLOs and the alerts by severity; `None`
/// without the section (the review then reads the prose of `readiness.observability`).
fn rendered_alerts(c: &Contract) -> Option<String> {
    use crate::model::observability::{effective, Severity};
    let e = effective(c)?;
    let slos: Vec<String> = e
        .slos
        .iter()
        .map(|s| format!("{} {}% over {} days ({})", s.name, s.objective, s.window_days, s.severity.as_str()))
        .collect();
    let with = |sev: Severity| -> Vec<&str> { e.alerts.iter().filter(|a| a.severity == sev).map(|a| a.key).collect() };
    Some(format!(
        "rendered from `observability`: SLOs {}; pages on {}; tickets on {}",
        if slos.is_empty() { "none".to_string() } else { slos.join(", ") },
        with(Severity::Page).join(", "),
        with(Severity::Ticket).join(", ")
    ))
}

fn rendered_dashboards(c: &Contract) -> Option<String> {
    c.observability
        .as_ref()
        .map(|_| "rendered from `observability`: executive, on-call and debug (Grafana JSON)".to_string())
}

fn prose(o: &Option<String>) -> Option<String> {
    o.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(String::from)
}

fn item(label: &'static str, value: Option<String>, field: &'static str) -> Item {
    Item { label, value, field: Some(field) }
}

/// An item the contract always fills (a derived fact).
fn fact(label: &'static str, value: String) -> Item {
    Item { label, value: Some(value), field: None }
}

fn criterion(text: &'static str, ok: bool, evidence: impl Into<String>) -> Criterion {
    Criterion { text, ok, evidence: evidence.into() }
}

/// The date of a piece of evidence, if recent enough.
fn recent(date: Option<Date>, today: Date) -> Result<Date, String> {
    match date {
        None => Err("never recorded".into()),
        Some(d) if today.days() - d.days() > EVIDENCE_MAX_AGE_DAYS => {
            Err(format!("last on {d}, more than {EVIDENCE_MAX_AGE_DAYS} days ago"))
        }
        Some(d) if d > today => Err(format!("dated {d}, in the future")),
        Some(d) => Ok(d),
    }
}

fn topology(c: &Contract) -> String {
    let t = &c.topology;
    if let Some(o) = c.target.facts().operated {
        return (o.topology)(c);
    }
    if let Some(service) = c.target.facts().managed {
        return managed_topology(c, service);
    }
    let shape = match t.mode {
        TopologyMode::Standalone => "standalone: 1 node".to_string(),
        TopologyMode::Replication => format!("replication: primary + {} replica(s), no automatic failover", t.replicas),
        TopologyMode::Sentinel => format!(
            "Sentinel: primary + {} replica(s), {} Sentinels, quorum {}",
            t.replicas,
            t.sentinels,
            t.quorum.unwrap_or_else(|| crate::resolve::majority(t.sentinels))
        ),
        TopologyMode::Cluster => {
            format!("Cluster: {} shards × (primary + {} replica(s))", t.shards, t.replicas_per_shard)
        }
    };
    match t.failure_domains.as_slice() {
        [] => shape,
        zones => format!("{shape}, across {}", zones.join(", ")),
    }
}

/// A managed service fails over by itself: its shape, node type and failover as it runs them.
fn managed_topology(c: &Contract, service: &str) -> String {
    let t = &c.topology;
    let (shards, replicas) = match t.mode {
        TopologyMode::Cluster => (t.shards.max(1), t.replicas_per_shard),
        TopologyMode::Standalone => (1, 0),
        TopologyMode::Replication | TopologyMode::Sentinel => (1, t.replicas),
    };
    let node_type = c.aws.node_type.as_deref().unwrap_or("(node type not set)");
    format!("{service}: {shards} shard(s) × (primary + {replicas} replica(s)) of {node_type}, {}", managed_failover(c))
}

/// How a managed service fails over, as the target derives it (`Desired`): with a replica
/// (or in cluster mode) automatically, across zones unless `aws.multiAz: false`.
fn managed_failover(c: &Contract) -> &'static str {
    let t = &c.topology;
    let failover = t.mode == TopologyMode::Cluster || (t.mode != TopologyMode::Standalone && t.replicas > 0);
    match (failover, c.aws.multi_az.unwrap_or(failover) && failover) {
        (false, _) => "no automatic failover (no replica)",
        (true, true) => "automatic failover, Multi-AZ",
        (true, false) => "automatic failover within one zone (Multi-AZ off)",
    }
}

fn client_mode(c: &Contract) -> String {
    let mode = match c.topology.mode {
        TopologyMode::Standalone | TopologyMode::Replication => "standalone (one endpoint)".to_string(),
        TopologyMode::Sentinel => {
            format!("Sentinel-aware (master `{}`)", c.topology.master_name.clone().unwrap_or_else(|| c.service.clone()))
        }
        TopologyMode::Cluster => "Cluster-aware (follows MOVED/ASK redirects)".to_string(),
    };
    format!("{mode}, derived from the topology by `redisctl connect`")
}

/// What the persistence settings lose in a crash of one node.
fn delivered_rpo(c: &Contract) -> String {
    let p = &c.redis.persistence;
    let replicated = if c.topology.mode == TopologyMode::Standalone {
        ""
    } else {
        "; a failover can also lose writes not yet replicated"
    };
    let loss = match p.mode {
        PersistenceMode::None => "everything (a restart empties the dataset)".to_string(),
        PersistenceMode::Rdb => {
            let longest = p.snapshots.iter().filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok()).max();
            match longest {
                Some(secs) => format!("up to {} of writes (RDB snapshots)", format_duration(secs * 1000)),
                None => "everything since the last manual snapshot".to_string(),
            }
        }
        PersistenceMode::Aof | PersistenceMode::AofRdb => match p.fsync {
            Fsync::Always => "no acknowledged write (AOF fsync always)".to_string(),
            Fsync::Everysec => "about 1 s of writes (AOF fsync everysec)".to_string(),
            Fsync::No => "about 30 s of writes (AOF fsync no)".to_string(),
        },
    };
    format!("{loss}{replicated}")
}

fn failover_behavior(c: &Contract) -> String {
    if let Some(o) = c.target.facts().operated {
        return (o.failover)(c);
    }
    match (c.target.facts().managed, c.topology.mode) {
        (Some(_), TopologyMode::Standalone) => "managed single node: replaced by the provider, data lost".into(),
        (Some(_), _) => format!("managed {}; connections drop and must reconnect", managed_failover(c)),
        (_, TopologyMode::Standalone) => "none: a node failure is an outage until it restarts".into(),
        (_, TopologyMode::Replication) => "manual: an operator promotes a replica and repoints clients".into(),
        (_, TopologyMode::Sentinel) => "automatic: Sentinels promote a replica after 5 s without the primary; \
                                        clients rediscover the primary through Sentinel"
            .into(),
        (_, TopologyMode::Cluster) => "automatic per shard: a replica takes over its failed primary; clients \
                                       refresh the slot map"
            .into(),
    }
}

fn app_users(c: &Contract) -> Option<String> {
    let users: Vec<String> = c
        .acl
        .users
        .iter()
        .filter(|u| u.role == UserRole::Application)
        .map(|u| {
            let keys = if u.keys.is_empty() { "(prefix)".to_string() } else { u.keys.join(" ") };
            let commands = if u.commands.is_empty() { "(role defaults)".to_string() } else { u.commands.join(" ") };
            format!("`{}` keys {keys}, commands {commands}", u.name)
        })
        .collect();
    (!users.is_empty()).then(|| users.join("; "))
}

/// Whether the policy has an unwaived finding of one of `rules`; with its message.
fn finding<'a>(findings: &'a [ReportedFinding], rules: &[&str]) -> Option<&'a ReportedFinding> {
    findings.iter().find(|f| rules.contains(&f.rule.as_str()))
}

fn sections(l: &Loaded, today: Date) -> Vec<Section> {
    let c = &l.contract;
    let r = &c.readiness;
    let ops = &c.operations;
    let o = &r.observability;
    let persistent = c.redis.persistence.mode != PersistenceMode::None;
    let operated_backups = c.target.facts().operated.and_then(|o| (o.backups)(c));
    let has_replicas = c.topology.mode != TopologyMode::Standalone;
    let not_persistent = |what: &str| {
        prose(&r.rebuild_strategy).map(|s| format!("not applicable: no persistence, {what} by rebuilding ({s})"))
    };
    let drill = ops.restore_drill.as_ref().map(|d| {
        let notes = d.notes.as_deref().map(|n| format!(": {n}")).unwrap_or_default();
        format!("{} ({} days ago){notes}", d.last_performed, today.days() - d.last_performed.days())
    });
    let with_objective = |objective: Option<String>, delivered: String| {
        objective.map(|o| format!("{o} (the configuration delivers: {delivered})"))
    };
    vec![
        Section {
            title: "Workload",
            items: vec![
                fact("Workload type", c.redis.workload.as_str().to_string()),
                item("Criticality", r.criticality.map(|x| x.as_str().to_string()), "readiness.criticality"),
                item("Data ownership", prose(&r.data_ownership), "readiness.dataOwnership"),
                item("Rebuild strategy", prose(&r.rebuild_strategy), "readiness.rebuildStrategy"),
                item("Outage behavior", prose(&r.outage_behavior), "readiness.outageBehavior"),
            ],
        },
        Section {
            title: "Topology",
            items: vec![
                fact("Deployment model", c.target.facts().description.to_string()),
                fact("Redis version", c.redis.version.as_str().to_string()),
                fact("Cluster/Sentinel/standalone", topology(c)),
                fact(
                    "Provider/tier",
                    match (c.target.facts().managed, c.resources.maxmemory) {
                        (Some(provider), _) => provider.to_string(),
                        (None, Some(m)) => format!("self-hosted ({}), maxmemory {m} per node", c.target.as_str()),
                        (None, None) => format!("self-hosted ({}), no maxmemory", c.target.as_str()),
                    },
                ),
            ],
        },
        Section {
            title: "Data Model",
            items: vec![
                item("Key prefixes", c.keyspace.prefix.as_ref().map(|p| format!("`{p}:`")), "keyspace.prefix"),
                item("TTL policy", prose(&r.data_model.ttl_policy), "readiness.dataModel.ttlPolicy"),
                fact("Eviction policy", c.redis.maxmemory_policy.as_str().to_string()),
                item(
                    "Large key controls",
                    prose(&r.data_model.large_key_controls),
                    "readiness.dataModel.largeKeyControls",
                ),
                fact(
                    "Multi-key operations",
                    if c.keyspace.cluster_safe {
                        "slot-local only (hash tags): cluster-safe".to_string()
                    } else {
                        "may span hash slots: not cluster-safe".to_string()
                    },
                ),
            ],
        },
        Section {
            title: "Client",
            items: vec![
                item("Library", prose(&c.client.library), "client.library"),
                fact("Mode", client_mode(c)),
                fact(
                    "Timeout",
                    format!(
                        "command {}, connect {}",
                        format_duration(c.client.command_timeout.0),
                        format_duration(c.client.connect_timeout.0)
                    ),
                ),
                item(
                    "Retry",
                    c.client.retry.as_ref().map(|x| {
                        format!("{} attempt(s), backoff {} doubling", x.max_attempts, format_duration(x.backoff.0))
                    }),
                    "client.retry",
                ),
                item(
                    "Circuit breaker",
                    c.client.circuit_breaker.map(|b| if b { "yes" } else { "no" }.to_string()),
                    "client.circuitBreaker",
                ),
                item("Serialization", prose(&c.client.serialization), "client.serialization"),
                fact(
                    "Reads",
                    format!(
                        "from {}{}",
                        c.client.read_from.as_str(),
                        if c.client.read_your_writes { ", reads its own writes" } else { "" }
                    ),
                ),
            ],
        },
        Section {
            title: "Durability",
            items: vec![
                fact("Persistence", {
                    let p = &c.redis.persistence;
                    match p.mode {
                        PersistenceMode::None => "none".to_string(),
                        m if m.aof() => format!("{} (fsync {})", m.as_str(), p.fsync.as_str()),
                        m => format!("{} (save points {})", m.as_str(), p.snapshots.join(", ")),
                    }
                }),
                item(
                    "Backup",
                    match &ops.backup {
                        // The backups an operator takes as the contract configures them.
                        _ if operated_backups.is_some() => operated_backups,
                        Some(b) => Some(format!("{} to {}, kept {} days", b.schedule, b.destination, b.retention_days)),
                        None if !persistent => not_persistent("recovered"),
                        None => None,
                    },
                    "operations.backup",
                ),
                item(
                    "Restore drill",
                    drill.or_else(|| if persistent { None } else { not_persistent("restored") }),
                    "operations.restoreDrill",
                ),
                item("RPO", with_objective(prose(&r.rpo), delivered_rpo(c)), "readiness.rpo"),
                item("RTO", with_objective(prose(&r.rto), failover_behavior(c)), "readiness.rto"),
            ],
        },
        Section {
            title: "Availability",
            items: vec![
                fact("Failover behavior", failover_behavior(c)),
                item(
                    "Replica lag monitoring",
                    if has_replicas { prose(&o.replica_lag) } else { Some("not applicable: no replicas".into()) },
                    "readiness.observability.replicaLag",
                ),
                item(
                    "Client reconnect tested",
                    ops.failover_test.as_ref().map(|f| {
                        format!(
                            "{}{}, clients {}",
                            f.last_performed,
                            if f.under_load { " under load" } else { " without load" },
                            if f.clients_reconnected { "reconnected by themselves" } else { "did NOT reconnect" }
                        )
                    }),
                    "operations.failoverTest",
                ),
                // On a managed service the window is an API setting (`aws.maintenanceWindow`, UTC).
                item(
                    "Maintenance window",
                    prose(&ops.maintenance_window).or_else(|| (c.target.facts().maintenance_window)(c)),
                    "operations.maintenanceWindow",
                ),
            ],
        },
        Section {
            title: "Security",
            items: vec![
                item("Network boundary", prose(&r.security.network_boundary), "readiness.security.networkBoundary"),
                fact("TLS", if c.security.tls.enabled { "on".to_string() } else { "off".to_string() }),
                item("ACL user", app_users(c), "acl.users (role: application)"),
                item("Secret rotation", prose(&r.security.secret_rotation), "readiness.security.secretRotation"),
                item("Tenant isolation", prose(&r.security.tenant_isolation), "readiness.security.tenantIsolation"),
            ],
        },
        Section {
            title: "Observability",
            items: vec![
                item("Metrics", prose(&o.metrics), "readiness.observability.metrics"),
                item("Logs", prose(&o.logs), "readiness.observability.logs"),
                item(
                    "Alerts",
                    rendered_alerts(c).or(prose(&o.alerts)),
                    "observability or readiness.observability.alerts",
                ),
                item(
                    "Dashboards",
                    rendered_dashboards(c).or(prose(&o.dashboards)),
                    "observability or readiness.observability.dashboards",
                ),
                item(
                    "Slow command tracking",
                    prose(&o.slow_command_tracking),
                    "readiness.observability.slowCommandTracking",
                ),
            ],
        },
        Section {
            title: "Incident Runbook",
            items: vec![
                item("High latency", prose(&r.runbooks.high_latency), "readiness.runbooks.highLatency"),
                item("Memory pressure", prose(&r.runbooks.memory_pressure), "readiness.runbooks.memoryPressure"),
                item("Failover", prose(&r.runbooks.failover), "readiness.runbooks.failover"),
                item("Connection storm", prose(&r.runbooks.connection_storm), "readiness.runbooks.connectionStorm"),
                item(
                    "Data inconsistency",
                    prose(&r.runbooks.data_inconsistency),
                    "readiness.runbooks.dataInconsistency",
                ),
            ],
        },
    ]
}

fn go_criteria(l: &Loaded, findings: &[ReportedFinding], today: Date) -> Vec<Criterion> {
    let c = &l.contract;
    let r = &c.readiness;
    let ops = &c.operations;
    let failover = ops.failover_test.as_ref();
    let failover_recent = recent(failover.map(|f| f.last_performed), today);
    let listed = |missing: Vec<&str>| missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ");
    let keyspace_missing: Vec<&str> = [
        (c.keyspace.prefix.is_none(), "keyspace.prefix"),
        (prose(&r.data_model.ttl_policy).is_none(), "readiness.dataModel.ttlPolicy"),
        (prose(&r.data_model.large_key_controls).is_none(), "readiness.dataModel.largeKeyControls"),
    ]
    .into_iter()
    .filter_map(|(m, f)| m.then_some(f))
    .collect();
    let persistent = c.redis.persistence.mode != PersistenceMode::None;
    let security = finding(findings, &["RCTL101", "RCTL102", "RCTL103"]);
    vec![
        criterion(
            "deployment topology is explicit",
            l.doc.pointer("/topology/mode").is_some(),
            match l.doc.pointer("/topology/mode") {
                Some(_) => format!("`topology.mode: {}`", c.topology.mode.as_str()),
                None => "`topology.mode` is not set: the default standalone is implied".into(),
            },
        ),
        criterion("client mode matches topology", true, client_mode(c)),
        criterion(
            "keyspace model is reviewed",
            keyspace_missing.is_empty() && finding(findings, &["RCTL117"]).is_none(),
            match (keyspace_missing.is_empty(), finding(findings, &["RCTL117"])) {
                (false, _) => format!("missing {}", listed(keyspace_missing)),
                (true, Some(f)) => format!("{}: {}", f.rule, f.message),
                (true, None) => "prefix, TTL policy and large-key controls documented".into(),
            },
        ),
        criterion(
            "timeout/retry behavior is tested",
            c.client.retry.is_some() && failover.is_some_and(|f| f.clients_reconnected) && failover_recent.is_ok(),
            match (&c.client.retry, failover) {
                (None, _) => "no `client.retry`".to_string(),
                (Some(_), None) => "no failover test (`operations.failoverTest`) exercised the retries".to_string(),
                (Some(_), Some(f)) if !f.clients_reconnected => {
                    "the last failover test did not see the clients reconnect".to_string()
                }
                (Some(_), Some(_)) => match &failover_recent {
                    Ok(d) => format!("clients reconnected during the failover test of {d}"),
                    Err(e) => format!("failover test {e}"),
                },
            },
        ),
        criterion(
            "persistence/backup decision is documented",
            finding(findings, &["RCTL106", "RCTL113"]).is_none()
                && (persistent || prose(&r.rebuild_strategy).is_some()),
            match finding(findings, &["RCTL106", "RCTL113"]) {
                Some(f) => format!("{}: {}", f.rule, f.message),
                None if persistent => format!("persistence `{}` with a backup", c.redis.persistence.mode.as_str()),
                None => match prose(&r.rebuild_strategy) {
                    Some(s) => format!("no persistence; rebuilt by: {s}"),
                    None => "no persistence and no `readiness.rebuildStrategy`".into(),
                },
            },
        ),
        criterion(
            "failover is tested",
            failover_recent.is_ok(),
            match &failover_recent {
                Ok(d) => format!("failover test on {d}"),
                Err(e) => format!("failover test (`operations.failoverTest`) {e}"),
            },
        ),
        criterion(
            "dashboards and alerts exist",
            rendered_alerts(c).is_some()
                || (prose(&r.observability.dashboards).is_some() && prose(&r.observability.alerts).is_some()),
            match (rendered_alerts(c), prose(&r.observability.dashboards), prose(&r.observability.alerts)) {
                (Some(_), ..) => "dashboards and alerts rendered from `observability`".to_string(),
                (None, Some(_), Some(_)) => "dashboards and alerts documented".to_string(),
                _ => "missing `observability` (or `readiness.observability.dashboards` and `.alerts`)".to_string(),
            },
        ),
        criterion(
            "security boundary is enforced",
            security.is_none() && prose(&r.security.network_boundary).is_some(),
            match (security, prose(&r.security.network_boundary)) {
                (Some(f), _) => format!("{}: {}", f.rule, f.message),
                (None, None) => "no `readiness.security.networkBoundary`".to_string(),
                (None, Some(b)) => format!(
                    "auth {}, TLS {}; {b}",
                    if c.security.auth == Auth::Required { "required" } else { "optional" },
                    if c.security.tls.enabled { "on" } else { "off" }
                ),
            },
        ),
        criterion(
            "rollback is possible",
            prose(&r.rollback).is_some(),
            prose(&r.rollback).unwrap_or_else(|| "no `readiness.rollback`".into()),
        ),
    ]
}

fn no_go_criteria(l: &Loaded, findings: &[ReportedFinding], today: Date) -> Vec<Criterion> {
    let c = &l.contract;
    let r = &c.readiness;
    let persistent = c.redis.persistence.mode != PersistenceMode::None;
    let restore = recent(c.operations.restore_drill.as_ref().map(|d| d.last_performed), today);
    let clear_or = |f: Option<&ReportedFinding>, ok: &str| match f {
        Some(f) => (false, format!("{}: {}", f.rule, f.message)),
        None => (true, ok.to_string()),
    };
    let invisible = r.criticality.is_none() || prose(&r.data_ownership).is_none();
    let ttl_unknown = prose(&r.data_model.ttl_policy).is_none();
    let eviction = finding(findings, &["RCTL105"]);
    let (cluster_ok, cluster_why) = clear_or(finding(findings, &["RCTL117"]), "cluster-safe key model or no Cluster");
    let (broad_ok, broad_why) =
        clear_or(finding(findings, &["RCTL112"]), "applications use their own restricted users");
    let (keys_ok, keys_why) = clear_or(finding(findings, &["RCTL111"]), "KEYS and FLUSH* are denied to applications");
    let outage = prose(&r.outage_behavior);
    vec![
        criterion(
            "Redis is treated as an invisible dependency",
            !invisible,
            if invisible {
                "criticality or data ownership not stated (`readiness.criticality`, `readiness.dataOwnership`)".into()
            } else {
                format!("criticality {}", r.criticality.map(|x| x.as_str()).unwrap_or_default())
            },
        ),
        criterion(
            "TTL/eviction policy is unknown",
            !ttl_unknown && eviction.is_none(),
            match (ttl_unknown, eviction) {
                (true, _) => "no `readiness.dataModel.ttlPolicy`".to_string(),
                (false, Some(f)) => format!("{}: {}", f.rule, f.message),
                (false, None) => format!("TTL policy documented; eviction `{}`", c.redis.maxmemory_policy.as_str()),
            },
        ),
        criterion("Cluster compatibility is untested", cluster_ok, cluster_why),
        criterion(
            "failover behavior is assumed",
            c.operations.failover_test.is_some(),
            match &c.operations.failover_test {
                Some(f) => format!("failover tested on {}", f.last_performed),
                None => "no failover test recorded (`operations.failoverTest`)".into(),
            },
        ),
        criterion(
            "backup restore is never tested",
            !persistent || restore.is_ok(),
            match (persistent, &restore) {
                (false, _) => "no persisted data to restore".to_string(),
                (true, Ok(d)) => format!("restore drill on {d}"),
                (true, Err(e)) => format!("restore drill (`operations.restoreDrill`) {e}"),
            },
        ),
        criterion("app uses broad ACL user", broad_ok, broad_why),
        criterion("production debugging requires KEYS *", keys_ok, keys_why),
        criterion(
            "Redis outage behavior is undefined",
            outage.is_some() && c.client.circuit_breaker.is_some(),
            match (&outage, c.client.circuit_breaker) {
                (Some(o), Some(_)) => o.clone(),
                _ => "missing `readiness.outageBehavior` or `client.circuitBreaker`".into(),
            },
        ),
    ]
}

/// Build the review of one environment from its contract and its policy report.
pub fn review(l: &Loaded, policy: &PolicyReport, today: Date) -> Review {
    review_with(l, policy, today, None)
}

/// `review`, with the environment's drill record (`drills/<env>.json`) as evidence: a drill
/// that is not stale shows that failover and restore are tested (instead of the dates of
/// `operations.failoverTest` / `restoreDrill`), and its figures are held against
/// `operations.objectives`.
pub fn review_with(l: &Loaded, policy: &PolicyReport, today: Date, drills: Option<&DrillRecord>) -> Review {
    let c = &l.contract;
    let findings: Vec<ReportedFinding> = policy.findings.iter().filter(|f| !f.waived).cloned().collect();
    let mut sections = sections(l, today);
    let mut go = go_criteria(l, &findings, today);
    let mut no_go = no_go_criteria(l, &findings, today);
    with_evidence(&judge(l, drills, today), &mut sections, &mut go, &mut no_go);
    let mut missing = Vec::new();
    for s in &sections {
        for i in s.items.iter().filter(|i| i.value.is_none()) {
            let field = i.field.map(|f| format!(" (`{f}`)")).unwrap_or_default();
            missing.push(format!("{} › {}: blank{field}", s.title, i.label));
        }
    }
    missing.extend(go.iter().filter(|x| !x.ok).map(|x| format!("Go criterion not met: {} ({})", x.text, x.evidence)));
    missing.extend(no_go.iter().filter(|x| !x.ok).map(|x| format!("No-Go condition: {} ({})", x.text, x.evidence)));
    missing.extend(
        findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| format!("policy error {}: {}", f.rule, f.message)),
    );
    Review {
        service: c.service.clone(),
        environment: l.env.clone(),
        class: policy.class,
        target: c.target.as_str().to_string(),
        contract_fingerprint: l.fingerprint.chars().take(12).collect(),
        date: today.to_string(),
        sections,
        go,
        no_go,
        findings,
        waivers: policy.waivers.clone(),
        verdict: if missing.is_empty() { Verdict::Go } else { Verdict::NoGo },
        missing,
    }
}

/// Drill evidence into the review: a "Drills (measured)" section, fresh drills standing in for
/// the hand-typed dates, each objective a No-Go condition, stale or missing measurements a Go
/// criterion not met.
fn with_evidence(e: &Evidence, sections: &mut Vec<Section>, go: &mut [Criterion], no_go: &mut Vec<Criterion>) {
    let mut items = Vec::new();
    if let Some(f) = &e.failover {
        items.push(fact("Failover drill", f.shown()));
    }
    if let Some(r) = &e.restore {
        items.push(fact("Restore drill", r.shown()));
    }
    if items.is_empty() && e.unmeasured.is_empty() {
        return;
    }
    sections.push(Section { title: "Drills (measured)", items });
    let fresh = |j: &Option<super::evidence::Judged>| j.as_ref().filter(|j| j.stale.is_none()).map(|j| j.text.clone());
    let replace = |list: &mut [Criterion], text: &str, evidence: &Option<String>| {
        if let (Some(c), Some(ev)) = (list.iter_mut().find(|c| c.text == text), evidence) {
            c.ok = true;
            c.evidence = format!("drill {ev}");
        }
    };
    let failover = fresh(&e.failover);
    let restore = fresh(&e.restore).filter(|_| e.restore.as_ref().is_some_and(|r| r.objectives.iter().all(|o| o.1)));
    replace(go, "failover is tested", &failover);
    replace(no_go, "failover behavior is assumed", &failover);
    replace(no_go, "backup restore is never tested", &restore);
    for j in e.failover.iter().chain(e.restore.iter()) {
        for (text, ok, evidence) in &j.objectives {
            no_go.push(criterion(text, *ok, evidence.clone()));
        }
    }
    let stale: Vec<String> = e.failover.iter().chain(e.restore.iter()).filter_map(|j| j.stale.clone()).collect();
    let unmeasured: Vec<String> = e
        .unmeasured
        .iter()
        .map(|(f, d)| format!("`operations.objectives.{f}` never measured (`redisctl {d}`)"))
        .collect();
    let current = stale.is_empty() && unmeasured.is_empty();
    no_go.push(criterion(
        "drill evidence is stale or missing",
        current,
        if current {
            "every drill is current and every declared objective measured".to_string()
        } else {
            [stale, unmeasured].concat().join("; ")
        },
    ));
}

impl Review {
    /// The review as a markdown document (for a pull request).
    pub fn markdown(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(out, "# Redis Readiness Review: `{}` / `{}`\n", self.service, self.environment);
        let _ = writeln!(
            out,
            "Environment `{}` ({}), target `{}`, contract `{}`, reviewed {} by `redisctl review`.\n",
            self.environment,
            self.class.as_str(),
            self.target,
            self.contract_fingerprint,
            self.date
        );
        match self.verdict {
            Verdict::Go => {
                let _ = writeln!(out, "## Verdict: **Go** ✅\n\nEvery section is filled, every Go criterion holds and no No-Go condition is present.\n");
            }
            Verdict::NoGo => {
                let _ = writeln!(out, "## Verdict: **No-Go** ❌\n\nMissing or failed:\n");
                for m in &self.missing {
                    let _ = writeln!(out, "- {m}");
                }
                out.push('\n');
            }
        }
        for s in &self.sections {
            let _ = writeln!(out, "## {}\n", s.title);
            for i in &s.items {
                match &i.value {
                    Some(v) => {
                        let _ = writeln!(out, "- {}: {v}", i.label);
                    }
                    None => {
                        let field = i.field.map(|f| format!(" — set `{f}`")).unwrap_or_default();
                        let _ = writeln!(out, "- {}: **blank**{field}", i.label);
                    }
                }
            }
            out.push('\n');
        }
        let _ = writeln!(out, "## Go/No-Go\n");
        for (heading, list, yes, no) in
            [("Go when", &self.go, "✅ met", "❌ not met"), ("No-go when", &self.no_go, "✅ clear", "❌ present")]
        {
            let _ = writeln!(out, "| {heading} | | evidence |\n|---|---|---|");
            for x in list {
                let _ = writeln!(out, "| {} | {} | {} |", x.text, if x.ok { yes } else { no }, md_cell(&x.evidence));
            }
            out.push('\n');
        }
        let _ = writeln!(out, "## Policy findings\n");
        if self.findings.is_empty() {
            let _ = writeln!(out, "None.");
        }
        for f in &self.findings {
            let at = f.location.as_deref().map(|l| format!(" (`{l}`)")).unwrap_or_default();
            let sev = if f.severity == Severity::Error { "error" } else { "warning" };
            let _ = writeln!(out, "- {sev} `{}`{at}: {}", f.rule, f.message);
        }
        if !self.waivers.is_empty() {
            let _ = writeln!(out, "\n## Accepted risks (waivers)\n");
            for w in &self.waivers {
                let expires = w.expires.as_deref().map(|e| format!(", expires {e}")).unwrap_or_default();
                let _ = writeln!(out, "- `{}` ({:?}{expires}): {}", w.rule, w.status, w.reason);
            }
        }
        out
    }
}
