//! Environment parity: what differs between the environments of a project, and whether it
//! may.
//!
//! Every environment's typed contract (defaults filled in) is flattened into settings named
//! like `redis.version` or `acl.users.catalog-app.commands`. Each setting is **locked** (must
//! be equal everywhere, because the application's behaviour depends on it) or **envelope**
//! (sizes, counts, target, TLS material: may differ). Persistence is locked between the
//! non-local environments only: a developer's stack may run without it. The table `CLASSES`
//! holds the classification; the longest matching prefix wins.
//!
//! A locked difference is a violation unless `parity.exceptions` lists the setting with a
//! reason. Special case: when any environment runs Redis Cluster, every other environment
//! must run Cluster too or declare `keyspace.clusterSafe: true`, because multi-key commands
//! that work on one node fail with CROSSSLOT in Cluster.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

use super::EnvClass;
use crate::contract::checks::{mode_fields, MODE_FIELDS};
use crate::contract::Loaded;
use crate::diagnostics::Sources;
use crate::model::acl::role_defaults;
use crate::model::{ParityException, TopologyMode, UserRole};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Must be equal in every environment.
    Locked,
    /// Must be equal in every environment that is not local.
    LockedOutsideLocal,
    /// May differ.
    Envelope,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Locked => "locked",
            Class::LockedOutsideLocal => "locked outside local",
            Class::Envelope => "envelope",
        }
    }
}

/// Setting-name prefixes and their class; the longest matching prefix wins, the default is
/// envelope. Application users' key, channel and command rules are locked too (`flatten`).
const CLASSES: &[(&str, Class)] = &[
    ("service", Class::Locked),
    ("redis.version", Class::Locked),
    ("redis.workload", Class::Locked),
    ("redis.maxmemoryPolicy", Class::Locked),
    ("redis.modules", Class::Locked),
    ("redis.persistence", Class::LockedOutsideLocal),
    ("redis.config.timeout", Class::Locked),
    ("redis.config.tcp-keepalive", Class::Locked),
    ("redis.config.notify-keyspace-events", Class::Locked),
    ("keyspace", Class::Locked),
    ("client", Class::Locked),
    // SLOs and alerts are semantics: staging must page on what production pages on (a
    // developer's stack may relax them).
    ("observability.slos", Class::LockedOutsideLocal),
    ("observability.alerts", Class::LockedOutsideLocal),
];

/// Parts of the contract that are not settings of the deployment.
const NOT_SETTINGS: &[&str] = &["apiVersion", "policy", "parity", "readiness", "operations", "output"];

fn class_of(setting: &str) -> Class {
    CLASSES
        .iter()
        .filter(|(prefix, _)| setting == *prefix || setting.starts_with(&format!("{prefix}.")))
        .max_by_key(|(prefix, _)| prefix.len())
        .map_or(Class::Envelope, |(_, class)| *class)
}

/// One setting of one environment.
#[derive(Debug, Clone)]
struct Setting {
    class: Class,
    value: String,
    /// Where the contract sets it (`None`: a default).
    location: Option<String>,
}

/// The settings of one environment, by name.
fn flatten(loaded: &Loaded, sources: &Sources) -> BTreeMap<String, Setting> {
    let c = &loaded.contract;
    let mut doc = serde_json::to_value(c).unwrap_or_default();
    let mut pointers: BTreeMap<String, String> = BTreeMap::new();
    if let Some(obj) = doc.as_object_mut() {
        for key in NOT_SETTINGS {
            obj.remove(*key);
        }
        // Users by name rather than position; a user's rules are its declared ones or its
        // role's defaults. Password references are where secrets live, not settings.
        if let Some(acl) = obj.get_mut("acl") {
            let mut users = serde_json::Map::new();
            for (i, u) in c.acl.users.iter().enumerate() {
                let commands = if u.commands.is_empty() {
                    role_defaults(u.role, c.redis.version).iter().map(|s| s.to_string()).collect()
                } else {
                    u.commands.clone()
                };
                users.insert(
                    u.name.clone(),
                    serde_json::json!({ "role": u.role, "keys": u.keys, "channels": u.channels, "commands": commands }),
                );
                for field in ["role", "keys", "channels", "commands"] {
                    pointers.insert(format!("acl.users.{}.{field}", u.name), format!("/acl/users/{i}/{field}"));
                }
            }
            acl["users"] = Value::Object(users);
        }
        // SLOs and alerts as they take effect (the workload's defaults filled in), by SLO name and
        // alert key: an objective left at its default equals the same objective written out.
        obj.remove("observability");
        if let Some(e) = crate::model::observability::effective(c) {
            obj.insert("observability".into(), effective_observability(c, &e, &mut pointers));
        }
        // Fields the persistence or topology mode does not use are not part of the deployment.
        let mode = c.redis.persistence.mode;
        if let Some(p) = obj.get_mut("redis").and_then(|r| r.get_mut("persistence")).and_then(Value::as_object_mut) {
            p.retain(|k, _| (k != "snapshots" || mode.rdb()) && (k != "fsync" || mode.aof()));
        }
        if let Some(topology) = obj.get_mut("topology").and_then(Value::as_object_mut) {
            let used = mode_fields(c.topology.mode);
            topology.retain(|k, _| !MODE_FIELDS.contains(&k.as_str()) || used.contains(&k.as_str()));
        }
    }
    let mut out = BTreeMap::new();
    leaves(&doc, String::new(), &mut |name, value| {
        if value.is_null() {
            return; // unset: the environment does not have the setting
        }
        let pointer = pointers.get(&name).cloned().unwrap_or_else(|| format!("/{}", name.replace('.', "/")));
        let location = loaded.doc.pointer(&pointer).and(loaded.index.value(&pointer)).map(|s| sources.location(s));
        let app_rule = name.starts_with("acl.users.")
            && !name.ends_with(".role")
            && c.acl
                .users
                .iter()
                .any(|u| u.role == UserRole::Application && name.starts_with(&format!("acl.users.{}.", u.name)));
        let class = if app_rule { Class::Locked } else { class_of(&name) };
        out.insert(name, Setting { class, value: show(value), location });
    });
    out
}

/// The effective SLOs and alerts as settings, and where the contract sets each field (a latency
/// class is a list entry in the contract, a name here).
fn effective_observability(
    c: &crate::model::Contract,
    e: &crate::model::observability::Effective,
    pointers: &mut BTreeMap<String, String>,
) -> Value {
    use crate::units::format_duration;
    let mut slos = serde_json::Map::new();
    let classes = c.observability.as_ref().and_then(|o| o.slos.latency.as_deref()).unwrap_or_default();
    for slo in &e.slos {
        let mut v = serde_json::json!({
            "objective": slo.objective,
            "windowDays": slo.window_days,
            "severity": slo.severity.as_str(),
        });
        let at = match slo.threshold_seconds {
            None => "/observability/slos/availability".to_string(),
            Some(t) => {
                v["threshold"] = serde_json::json!(format_duration((t * 1000.0).round() as u64));
                v["commands"] = serde_json::json!(slo.commands);
                let class = slo.name.trim_start_matches("latency-");
                match classes.iter().position(|l| l.name == class) {
                    Some(i) => format!("/observability/slos/latency/{i}"),
                    None => "/observability/slos/latency".to_string(),
                }
            }
        };
        for field in ["objective", "windowDays", "severity", "threshold", "commands"] {
            pointers.insert(format!("observability.slos.{}.{field}", slo.name), format!("{at}/{field}"));
        }
        slos.insert(slo.name.clone(), v);
    }
    let mut alerts = serde_json::Map::new();
    for a in crate::model::observability::alert_policy(c) {
        alerts.insert(
            a.key.to_string(),
            serde_json::json!({ "severity": a.severity.as_str(), "threshold": a.threshold, "for": format_duration(a.for_ms) }),
        );
    }
    serde_json::json!({ "slos": slos, "alerts": alerts, "exporterPort": e.exporter_port })
}

fn leaves(v: &Value, name: String, f: &mut dyn FnMut(String, &Value)) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let key = if name.starts_with("redis.config") { k.to_ascii_lowercase() } else { k.clone() };
                leaves(child, if name.is_empty() { key } else { format!("{name}.{key}") }, f);
            }
        }
        _ => f(name, v),
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(Value::is_string) => {
            let items: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            if items.is_empty() {
                "(none)".into()
            } else {
                items.join(" ")
            }
        }
        other => other.to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The same everywhere.
    Same,
    /// Differs, and may.
    Envelope,
    /// A locked setting differs, with an exception in `parity.exceptions`.
    Excepted,
    /// A locked setting differs.
    Violation,
}

/// One row of the matrix.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub setting: String,
    pub class: Class,
    /// Value per environment (`None`: the environment does not have the setting).
    pub values: IndexMap<String, Option<String>>,
    /// Where each environment sets it (absent: a default).
    pub locations: IndexMap<String, String>,
    pub status: Status,
    /// Why it is a violation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// How to resolve the problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// The reason of the exception that allows the difference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Environment {
    pub name: String,
    pub class: EnvClass,
}

#[derive(Debug, Clone, Serialize)]
pub struct Parity {
    pub environments: Vec<Environment>,
    pub rows: Vec<Row>,
    /// Exceptions that allow no difference (stale, or naming a setting that does not exist).
    pub unused_exceptions: Vec<ParityException>,
}

impl Parity {
    pub fn violations(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.status == Status::Violation)
    }
}

/// Compare the environments of a project (each loaded with the sources it was read from).
pub fn compare(envs: &[(Loaded, Sources)]) -> Parity {
    let flat: Vec<BTreeMap<String, Setting>> = envs.iter().map(|(l, s)| flatten(l, s)).collect();
    let classes: Vec<EnvClass> = envs.iter().map(|(l, _)| EnvClass::of(&l.contract)).collect();
    let mut exceptions: Vec<ParityException> = Vec::new();
    for (l, _) in envs {
        for e in &l.contract.parity.exceptions {
            if !exceptions.iter().any(|x| x.setting == e.setting) && !e.reason.trim().is_empty() {
                exceptions.push(e.clone());
            }
        }
    }
    let names: std::collections::BTreeSet<&String> = flat.iter().flat_map(|f| f.keys()).collect();
    let mut rows = Vec::new();
    let mut used = Vec::new();
    for name in names {
        let values: IndexMap<String, Option<String>> =
            envs.iter().zip(&flat).map(|((l, _), f)| (l.env.clone(), f.get(name).map(|s| s.value.clone()))).collect();
        let locations = envs
            .iter()
            .zip(&flat)
            .filter_map(|((l, _), f)| f.get(name)?.location.clone().map(|loc| (l.env.clone(), loc)))
            .collect();
        let class = flat.iter().find_map(|f| f.get(name)).map_or(Class::Envelope, |s| s.class);
        let compared: Vec<&Option<String>> = values
            .values()
            .zip(&classes)
            .filter(|(_, c)| class != Class::LockedOutsideLocal || **c != EnvClass::Local)
            .map(|(v, _)| v)
            .collect();
        let differs = values.values().any(|v| Some(v) != values.values().next());
        let locked_differs = class != Class::Envelope && compared.iter().any(|v| Some(v) != compared.first());
        let problem = locked_differs.then(|| format!("{} setting `{name}` differs", class.as_str()));
        let fix = locked_differs.then(|| {
            format!(
                "make it equal everywhere, or add `parity: {{ exceptions: [{{ setting: {name}, reason: ... }}] }}` to redisctl.yaml"
            )
        });
        let row = Row {
            setting: name.clone(),
            class,
            values,
            locations,
            status: Status::Same,
            problem,
            fix,
            exception: None,
        };
        rows.push(row.judged(differs, &exceptions, &mut used));
    }
    cluster_compatibility(envs, &mut rows, &exceptions, &mut used);
    let unused_exceptions = exceptions.into_iter().filter(|e| !used.contains(&e.setting)).collect();
    Parity {
        environments: envs
            .iter()
            .zip(classes)
            .map(|((l, _), class)| Environment { name: l.env.clone(), class })
            .collect(),
        rows,
        unused_exceptions,
    }
}

impl Row {
    /// Set the status from the difference and the problem, applying an exception if any.
    fn judged(mut self, differs: bool, exceptions: &[ParityException], used: &mut Vec<String>) -> Row {
        self.status = match (&self.problem, exceptions.iter().find(|e| e.setting == self.setting)) {
            (Some(_), Some(e)) => {
                used.push(e.setting.clone());
                self.exception = Some(e.reason.clone());
                Status::Excepted
            }
            (Some(_), None) => Status::Violation,
            (None, _) if differs => Status::Envelope,
            (None, _) => Status::Same,
        };
        self
    }
}

/// If some environment runs Cluster, the others must too, or declare cluster-safe keys.
fn cluster_compatibility(
    envs: &[(Loaded, Sources)],
    rows: &mut [Row],
    exceptions: &[ParityException],
    used: &mut Vec<String>,
) {
    let cluster = |l: &Loaded| l.contract.topology.mode == TopologyMode::Cluster;
    let Some(first) = envs.iter().map(|(l, _)| l).find(|l| cluster(l)) else { return };
    let unsafe_envs: Vec<&str> = envs
        .iter()
        .map(|(l, _)| l)
        .filter(|l| !cluster(l) && !l.contract.keyspace.cluster_safe)
        .map(|l| l.env.as_str())
        .collect();
    if unsafe_envs.is_empty() {
        return;
    }
    let Some(row) = rows.iter_mut().find(|r| r.setting == "topology.mode") else { return };
    row.problem = Some(format!(
        "`{}` runs Redis Cluster, but {} do(es) not and `keyspace.clusterSafe` is not true there: multi-key \
         commands that work on one node fail with CROSSSLOT in Cluster",
        first.env,
        unsafe_envs.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ")
    ));
    row.fix = Some(
        "run Cluster in every environment (the process target can), or keep related keys in one slot with hash \
         tags and set `keyspace.clusterSafe: true`"
            .into(),
    );
    *row = row.clone().judged(true, exceptions, used);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_classifies() {
        assert_eq!(class_of("redis.version"), Class::Locked);
        assert_eq!(class_of("redis.config.timeout"), Class::Locked);
        assert_eq!(class_of("redis.config.io-threads"), Class::Envelope);
        assert_eq!(class_of("redis.persistence.mode"), Class::LockedOutsideLocal);
        assert_eq!(class_of("client.readFrom"), Class::Locked);
        assert_eq!(class_of("resources.maxmemory"), Class::Envelope);
        assert_eq!(class_of("redis.versions"), Class::Envelope);
    }
}
