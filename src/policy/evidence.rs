//! Readiness review: drill evidence. The figures `redisctl drill` measured (`drills/<env>.json`)
//! against the contract's objectives (`operations.objectives`): measured RTO, data loss and
//! restore time, stale when older than the evidence age limit or taken from another contract
//! fingerprint. Data only: the review turns it into items and criteria.

use crate::contract::Loaded;
use crate::model::drill::DrillRecord;
use crate::units::{format_duration, Date};

use super::review::EVIDENCE_MAX_AGE_DAYS;

/// One drill, judged.
#[derive(Debug, Clone)]
pub struct Judged {
    /// The figures in a sentence.
    pub text: String,
    /// Why it no longer counts as evidence, if it does not.
    pub stale: Option<String>,
    /// Each objective it was held against: (what, met, sentence).
    pub objectives: Vec<(&'static str, bool, String)>,
}

impl Judged {
    pub fn shown(&self) -> String {
        match &self.stale {
            Some(why) => format!("{} — STALE: {why}", self.text),
            None => self.text.clone(),
        }
    }
}

/// The drills of one environment, judged.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub failover: Option<Judged>,
    pub restore: Option<Judged>,
    /// Declared objectives no drill measured: (objective field, the drill that measures it).
    pub unmeasured: Vec<(&'static str, &'static str)>,
}

/// Why a drill taken at `at` with `fingerprint` no longer counts, if it does not.
fn staleness(l: &Loaded, at: &str, fingerprint: &str, today: Date) -> Option<String> {
    let Some(day) = at.get(..10).and_then(|d| Date::parse(d).ok()) else {
        return Some(format!("its time `{at}` is not an RFC 3339 timestamp"));
    };
    let age = today.days() - day.days();
    if age > EVIDENCE_MAX_AGE_DAYS {
        return Some(format!("taken on {day}, more than {EVIDENCE_MAX_AGE_DAYS} days ago"));
    }
    if age < 0 {
        return Some(format!("dated {day}, in the future"));
    }
    if fingerprint != l.fingerprint {
        let short: String = fingerprint.chars().take(12).collect();
        return Some(format!("taken with contract {short}, which has changed since: drill again"));
    }
    None
}

pub fn judge(l: &Loaded, record: Option<&DrillRecord>, today: Date) -> Evidence {
    let objectives = l.contract.operations.objectives.clone().unwrap_or_default();
    let mut e = Evidence::default();
    let failover = record.and_then(|r| r.failover.as_ref());
    let restore = record.and_then(|r| r.restore.as_ref());
    if let Some(f) = failover {
        let mut judged = Judged {
            text: format!(
                "{} ({}): outage {}, writes on the new primary after {}, {} acknowledged write(s) lost of {}, {} → {}, \
                 connect endpoints {} it",
                f.at.get(..10).unwrap_or(&f.at),
                f.method,
                format_duration(f.outage_ms),
                format_duration(f.recovered_after_ms),
                f.acknowledged_lost,
                f.acknowledged,
                f.old_primary,
                f.new_primary,
                if f.endpoints_reach_new_primary { "reach" } else { "do NOT reach" }
            ),
            stale: staleness(l, &f.at, &f.fingerprint, today),
            objectives: Vec::new(),
        };
        if let Some(rto) = objectives.rto {
            judged.objectives.push((
                "measured RTO exceeds the declared objective",
                f.outage_ms <= rto.0,
                format!(
                    "outage {} against `operations.objectives.rto` {}",
                    format_duration(f.outage_ms),
                    format_duration(rto.0)
                ),
            ));
        }
        if let Some(rpo) = objectives.rpo {
            // The writer writes about every 50 ms: each lost acknowledged write is ~50 ms of data.
            let window = f.acknowledged_lost * 50;
            let met = if rpo.0 == 0 { f.acknowledged_lost == 0 } else { window <= rpo.0 };
            judged.objectives.push((
                "measured data loss exceeds the declared RPO",
                met,
                format!(
                    "{} acknowledged write(s) lost (≈{}) against `operations.objectives.rpo` {}",
                    f.acknowledged_lost,
                    format_duration(window),
                    format_duration(rpo.0)
                ),
            ));
        }
        e.failover = Some(judged);
    } else {
        for (declared, field) in [(objectives.rto.is_some(), "rto"), (objectives.rpo.is_some(), "rpo")] {
            if declared {
                e.unmeasured.push((field, "drill failover"));
            }
        }
    }
    if let Some(r) = restore {
        let mut judged = Judged {
            text: format!(
                "{}: {} restored in {}, {} of {} keys{}",
                r.at.get(..10).unwrap_or(&r.at),
                r.source,
                format_duration(r.restore_ms),
                r.restored_keys,
                r.source_keys,
                if r.matches { ", every sampled prefix complete" } else { ", key counts DIFFER from the source" }
            ),
            stale: staleness(l, &r.at, &r.fingerprint, today),
            objectives: Vec::new(),
        };
        judged.objectives.push((
            "the restore drill lost keys",
            r.matches,
            format!("{} of {} keys restored", r.restored_keys, r.source_keys),
        ));
        if let Some(limit) = objectives.restore_time {
            judged.objectives.push((
                "measured restore time exceeds the declared objective",
                r.restore_ms <= limit.0,
                format!(
                    "restored in {} against `operations.objectives.restoreTime` {}",
                    format_duration(r.restore_ms),
                    format_duration(limit.0)
                ),
            ));
        }
        e.restore = Some(judged);
    } else if objectives.restore_time.is_some() {
        e.unmeasured.push(("restoreTime", "drill restore"));
    }
    e
}
