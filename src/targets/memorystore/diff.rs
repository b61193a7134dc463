//! What every Memorystore provider (Redis instance, Redis Cluster, Valkey) plans the same way:
//! the desired body against the observed one, field by field, into one replacement, one PATCH
//! with its `updateMask`, and one change per `redisConfigs`/`engineConfigs` entry.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::provider::NAME;
use crate::plan::{Action, Address, ResourceChange, Shown};

/// A resource's fields and the API's `updateMask` paths, per product.
pub struct Fields {
    /// What no PATCH changes: a different value needs a new resource.
    pub replace: &'static [&'static str],
    /// What PATCH changes in place: (body field, `updateMask` path).
    pub patch: &'static [(&'static str, &'static str)],
    /// The configuration map: (body field, `updateMask` path).
    pub configs: (&'static str, &'static str),
}

pub(super) fn address(kind: &str, id: &str) -> Address {
    Address::new(NAME, format!("{kind}/{id}"))
}

pub(super) fn change(kind: &str, id: &str, action: Action) -> ResourceChange {
    ResourceChange::new(NAME, address(kind, id), action)
}

fn differs(want: &Map<String, Value>, have: &Map<String, Value>, k: &str) -> bool {
    want.get(k).is_some_and(|v| have.get(k) != Some(v))
}

/// `field old → new` for every field only a new resource can have.
pub(super) fn replace_reasons(fields: &Fields, want: &Map<String, Value>, have: &Map<String, Value>) -> Vec<String> {
    fields
        .replace
        .iter()
        .filter(|k| differs(want, have, k))
        .map(|k| format!("{k} {} → {}", have.get(*k).unwrap_or(&Value::Null), want[*k]))
        .collect()
}

/// The one PATCH of the fields that differ.
pub(super) struct Patch {
    pub before: Map<String, Value>,
    pub after: Map<String, Value>,
    pub mask: Vec<&'static str>,
}

/// The PATCH of the fields that differ, `None` when none does.
pub(super) fn patch_diff(fields: &Fields, want: &Map<String, Value>, have: &Map<String, Value>) -> Option<Patch> {
    let (mut before, mut after, mut mask) = (Map::new(), Map::new(), Vec::new());
    for (field, path) in fields.patch {
        if differs(want, have, field) {
            before.insert(field.to_string(), have.get(*field).cloned().unwrap_or(Value::Null));
            after.insert(field.to_string(), want[*field].clone());
            mask.push(*path);
        }
    }
    (!mask.is_empty()).then_some(Patch { before, after, mask })
}

/// The PATCH change of `kind/id`: its reason starts with the RPC and the mask, which `expect`
/// carries to apply (the plan's mask is the one sent).
pub(super) fn patch_change(
    kind: &str,
    id: &str,
    rpc: &str,
    Patch { before, after, mask }: Patch,
    notes: Vec<String>,
) -> ResourceChange {
    let mut ch = change(kind, id, Action::Update);
    let mut why = vec![format!("{rpc} (PATCH, updateMask {})", mask.join(","))];
    why.extend(notes);
    ch.reason = Some(why.join("; "));
    ch.expect = Some(mask.join(","));
    ch.before = Some(Shown::Value(Value::Object(before)));
    ch.after = Some(Shown::Value(Value::Object(after)));
    ch
}

/// The body fields a planned mask names, re-derived from the desired body.
pub(super) fn masked<'m>(fields: &Fields, body: &Value, mask: &'m str) -> (Vec<&'m str>, Map<String, Value>) {
    let paths: Vec<&str> = mask.split(',').filter(|p| !p.is_empty()).collect();
    let sent = fields
        .patch
        .iter()
        .filter(|(_, p)| paths.contains(p))
        .filter_map(|(f, _)| Some((f.to_string(), body.get(*f)?.clone())))
        .collect();
    (paths, sent)
}

/// One change per configuration entry that differs (`config/<id>/<name>`, live): set where the
/// contract has it, removed where redisctl set it (`recorded`) and the contract no longer does.
pub(super) fn config_changes(
    id: &str,
    rpc: &str,
    mask: &str,
    want: &BTreeMap<String, String>,
    have: &BTreeMap<String, String>,
    recorded: &[String],
) -> Vec<ResourceChange> {
    let mut out = Vec::new();
    for name in recorded.iter().filter(|n| !want.contains_key(*n) && have.contains_key(*n)) {
        let mut ch = change("config", &format!("{id}/{name}"), Action::Delete);
        ch.flags.live = true;
        ch.before = have.get(name).map(|v| Shown::Text(v.clone()));
        ch.reason = Some(format!(
            "no longer in the contract: {rpc} (PATCH, updateMask {mask}) without it, back to Memorystore's default"
        ));
        out.push(ch);
    }
    for (name, value) in want {
        let current = have.get(name);
        if current == Some(value) {
            continue;
        }
        let mut ch = change("config", &format!("{id}/{name}"), Action::Update);
        ch.flags.live = true;
        ch.before = Some(current.map_or(Shown::Text("(Memorystore default)".into()), |c| Shown::Text(c.clone())));
        ch.after = Some(Shown::Text(value.clone()));
        ch.reason = Some(format!("{rpc} (PATCH, updateMask {mask}): applied without a restart"));
        out.push(ch);
    }
    out
}

/// The whole configuration map as it is now with one entry changed (or gone): a map in an
/// `updateMask` is replaced as a whole, so one change is one PATCH of all of it.
pub(super) fn configs_with(
    field: &str,
    mut current: BTreeMap<String, String>,
    action: Action,
    key: &str,
    want: &BTreeMap<String, String>,
) -> Map<String, Value> {
    match (action, want.get(key)) {
        (Action::Update, Some(value)) => current.insert(key.to_string(), value.clone()),
        _ => current.remove(key),
    };
    let mut fields = Map::new();
    fields.insert(field.into(), json!(current));
    fields
}

/// `REDIS_7_2` → (7, 2), `VALKEY_8_0` → (8, 0), `REDIS_6_X` → (6, 99): 6.x is the newest 6.
pub(super) fn version_rank(v: &str) -> (u32, u32) {
    let mut parts = v.rsplit('_');
    let minor = parts.next().map_or(0, |m| m.parse().unwrap_or(99));
    let major = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    (major, minor)
}

/// The Memorystore `PersistenceConfig` of Redis Cluster and Valkey (one JSON shape in both
/// APIs) from its mode and the RDB period / AOF fsync names, as `render` writes it.
pub(super) fn persistence_view(mode: &str, rdb_period: Option<&str>, append_fsync: Option<&str>) -> Value {
    match mode {
        "RDB" => json!({ "mode": "RDB", "rdbConfig": { "rdbSnapshotPeriod": rdb_period.unwrap_or("") } }),
        "AOF" => json!({ "mode": "AOF", "aofConfig": { "appendFsync": append_fsync.unwrap_or("") } }),
        _ => json!({ "mode": "DISABLED" }),
    }
}

/// A `maintenancePolicy` from its weekly windows (day name, start hour), as `render` writes it
/// (the same JSON in the three APIs).
pub(super) fn maintenance_view(windows: impl Iterator<Item = (String, i32)>) -> Value {
    let windows: Vec<Value> =
        windows.map(|(day, hours)| json!({ "day": day, "startTime": { "hours": hours } })).collect();
    json!({ "weeklyMaintenanceWindow": windows })
}

/// Inserts into the planned view `$view` the fields that Redis Cluster's `Cluster` and Valkey's
/// `Instance` spell alike: replicas, node type, authorization, transit encryption, persistence,
/// maintenance. A macro because the two crates' types share no trait.
macro_rules! shared_view {
    ($view:ident, $live:expr) => {{
        let live = $live;
        let name = |n: Option<&str>| serde_json::json!(n.unwrap_or(""));
        $view.insert("replicaCount".into(), serde_json::json!(live.replica_count.unwrap_or(0)));
        $view.insert("nodeType".into(), name(live.node_type.name()));
        $view.insert("authorizationMode".into(), name(live.authorization_mode.name()));
        $view.insert("transitEncryptionMode".into(), name(live.transit_encryption_mode.name()));
        let p = live.persistence_config.as_ref();
        $view.insert(
            "persistenceConfig".into(),
            $crate::targets::memorystore::diff::persistence_view(
                p.and_then(|p| p.mode.name()).unwrap_or(""),
                p.and_then(|p| p.rdb_config.as_ref()).and_then(|r| r.rdb_snapshot_period.name()),
                p.and_then(|p| p.aof_config.as_ref()).and_then(|a| a.append_fsync.name()),
            ),
        );
        if let Some(m) = &live.maintenance_policy {
            let windows = m
                .weekly_maintenance_window
                .iter()
                .map(|w| (w.day.name().unwrap_or("").to_string(), w.start_time.as_ref().map_or(0, |t| t.hours)));
            $view.insert("maintenancePolicy".into(), $crate::targets::memorystore::diff::maintenance_view(windows));
        }
    }};
}
pub(super) use shared_view;

/// The PEM certificates of a `CertificateAuthority` or `SharedRegionalCertificateAuthority`
/// answer, chains concatenated (the same shape in both crates, with no common trait).
macro_rules! ca_certificates {
    ($ca:expr) => {
        $ca.managed_server_ca().iter().flat_map(|m| &m.ca_certs).flat_map(|c| c.certificates.clone()).collect()
    };
}
pub(super) use ca_certificates;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_rank_by_major_and_minor() {
        assert!(version_rank("REDIS_7_0") < version_rank("REDIS_7_2"));
        assert!(version_rank("REDIS_6_X") < version_rank("REDIS_7_0"));
        assert!(version_rank("REDIS_5_0") < version_rank("REDIS_6_X"));
        assert!(version_rank("VALKEY_7_2") < version_rank("VALKEY_8_0"));
    }

    const FIELDS: Fields = Fields {
        replace: &["mode"],
        patch: &[("a", "a"), ("bC", "b_c")],
        configs: ("engineConfigs", "engine_configs"),
    };

    #[test]
    fn only_differing_fields_are_in_the_mask() {
        let want = json!({ "mode": "X", "a": 1, "bC": 2 }).as_object().cloned().unwrap();
        let have = json!({ "mode": "X", "a": 1, "bC": 3 }).as_object().cloned().unwrap();
        assert!(replace_reasons(&FIELDS, &want, &have).is_empty());
        let p = patch_diff(&FIELDS, &want, &have).unwrap();
        assert_eq!((p.before["bC"].clone(), p.after["bC"].clone(), p.mask), (json!(3), json!(2), vec!["b_c"]));
        assert!(patch_diff(&FIELDS, &want, &want).is_none());
        let (paths, sent) = masked(&FIELDS, &Value::Object(want), "b_c");
        assert_eq!((paths, Value::Object(sent)), (vec!["b_c"], json!({ "bC": 2 })));
    }

    #[test]
    fn a_dropped_entry_is_removed_only_when_redisctl_set_it() {
        let want = BTreeMap::from([("a".to_string(), "1".to_string())]);
        let have =
            BTreeMap::from([("a".to_string(), "1".to_string()), ("b".into(), "2".into()), ("c".into(), "3".into())]);
        let changes = config_changes("i", "UpdateInstance", "engine_configs", &want, &have, &["b".into()]);
        let got: Vec<_> = changes.iter().map(|c| (c.address.path().to_string(), c.action)).collect();
        assert_eq!(got, vec![("config/i/b".to_string(), Action::Delete)]);
        let sent = configs_with("engineConfigs", have, Action::Delete, "b", &want);
        assert_eq!(Value::Object(sent), json!({ "engineConfigs": { "a": "1", "c": "3" } }));
    }
}
