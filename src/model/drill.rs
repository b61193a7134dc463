//! Drill records: what `redisctl drill failover` and `drill restore` measured, kept in the
//! project (`drills/<env>.json`, committed) as the readiness review's evidence instead of
//! dates typed by hand ("readiness review: failover tested", "restore tested").
//!
//! A record is data only: the drills write it, `review` reads it and judges it against the
//! contract's objectives (`operations.objectives`) and the evidence age limit.

use serde::{Deserialize, Serialize};

/// Where an environment's drill record lives, relative to the project directory.
pub fn record_path(env: &str) -> String {
    format!("drills/{env}.json")
}

/// The last drill of each kind of one environment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DrillRecord {
    pub environment: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover: Option<FailoverDrill>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<RestoreDrill>,
}

/// One failover drill: a bounded writer (SET + WAIT) ran while the primary was failed over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailoverDrill {
    /// When it ran (RFC 3339, UTC).
    pub at: String,
    /// The contract fingerprint of the environment it ran against: a changed contract makes
    /// the evidence stale.
    pub fingerprint: String,
    /// `sentinel-failover`, `cluster-failover` or `kill-primary`.
    pub method: String,
    pub old_primary: String,
    pub new_primary: String,
    /// The longest time writes kept failing: the outage clients saw (measured RTO).
    pub outage_ms: u64,
    /// From the failover's start until a write was acknowledged by the new primary.
    pub recovered_after_ms: u64,
    /// Writes a replica acknowledged (WAIT) that the new primary does not have (measured data loss).
    pub acknowledged_lost: u64,
    pub acknowledged: u64,
    pub unacknowledged: u64,
    pub failed: u64,
    /// The endpoints `redisctl connect` prints lead clients to the new primary.
    pub endpoints_reach_new_primary: bool,
}

/// One restore drill: the newest persistence files restored into a scratch stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestoreDrill {
    pub at: String,
    pub fingerprint: String,
    /// What was restored (`appendonly.aof`, `dump.rdb`) and from which node.
    pub source: String,
    /// From copying the files to the scratch server answering with every key loaded.
    pub restore_ms: u64,
    pub source_keys: u64,
    pub restored_keys: u64,
    /// Keys per sampled prefix, in the source and restored.
    pub prefixes: Vec<PrefixCount>,
    /// Every sampled prefix restored with the same count as the source.
    pub matches: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrefixCount {
    pub prefix: String,
    pub source: u64,
    pub restored: u64,
}

impl DrillRecord {
    /// Parse a record file; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<DrillRecord, String> {
        serde_json::from_str(text).map_err(|e| format!("not a drill record: {e}"))
    }
}
