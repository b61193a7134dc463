//! The engine: build a plan from the providers, save and check saved plans, apply a plan.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::state::State;
use super::{Address, ApplyOptions, Outcome, Plan, Provider, ResourceChange, Scope, Summary};
use crate::error::Error;

/// Ask every provider for its changes, in order.
pub fn build_plan(
    environment: &str,
    target: &str,
    contract_fingerprint: &str,
    providers: &mut [Box<dyn Provider>],
    state: &State,
) -> Result<Plan, Error> {
    let mut changes = Vec::new();
    let mut observed = Sha256::new();
    for p in providers.iter_mut() {
        let pp = p.plan(state)?;
        tracing::debug!("observed with provider {}: {} change(s)", p.name(), pp.changes.len());
        observed.update(p.name().as_bytes());
        observed.update(pp.observed.as_bytes());
        changes.extend(pp.changes);
    }
    Ok(Plan {
        contract_fingerprint: contract_fingerprint.into(),
        observed_fingerprint: hex::encode(observed.finalize()),
        ..Plan::new(environment, target, changes)
    })
}

/// A saved plan (`plan --out FILE`): the changes and the fingerprints they were computed
/// from. It holds no secret values: providers redact before/after and diffs.
#[derive(Debug, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format_version: String,
    pub kind: String,
    pub redisctl_version: String,
    /// What the plan looked at (`--files-only`, `--live`): applying it looks at the same.
    #[serde(default)]
    pub scope: Scope,
    pub plan: Plan,
    /// SHA-256 of the plan as saved (its JSON): a file edited after it was reviewed is refused.
    #[serde(default)]
    pub digest: String,
}

const SAVED_KIND: &str = "redisctl-plan";

impl SavedPlan {
    pub fn new(plan: Plan, scope: Scope) -> Self {
        SavedPlan {
            format_version: "1".into(),
            kind: SAVED_KIND.into(),
            redisctl_version: env!("CARGO_PKG_VERSION").into(),
            scope,
            digest: digest(&plan),
            plan,
        }
    }

    pub fn read(path: &std::path::Path) -> Result<SavedPlan, Error> {
        let bytes =
            std::fs::read(path).map_err(|e| Error::io(format!("cannot read plan file {}", path.display()), e))?;
        let saved: SavedPlan = serde_json::from_slice(&bytes)
            .map_err(|e| Error::msg(format!("{} is not a redisctl plan file: {e}", path.display())))?;
        if saved.kind != SAVED_KIND || saved.format_version != "1" {
            return Err(Error::msg(format!(
                "{} is not a redisctl plan file of a format this version reads",
                path.display()
            )));
        }
        if saved.digest != digest(&saved.plan) {
            return Err(Error::msg(format!(
                "{} was edited after it was saved (its digest does not match its content): what would run is not \
                 what was reviewed. Make the plan again with `redisctl plan --out FILE`",
                path.display()
            )));
        }
        Ok(saved)
    }

    /// Refuse a plan whose inputs changed since it was made: the contract, anything any
    /// provider observed, or the list of changes itself.
    pub fn check_fresh(&self, current: &Plan) -> Result<(), Error> {
        let saved = &self.plan;
        let stale = |why: &str| {
            Error::refused(format!(
                "the saved plan is stale: {why} since it was made. Run `redisctl plan --env {} --out FILE` again",
                saved.environment
            ))
        };
        if saved.environment != current.environment {
            return Err(Error::msg(format!(
                "the saved plan is for environment `{}`, not `{}`",
                saved.environment, current.environment
            )));
        }
        if saved.contract_fingerprint != current.contract_fingerprint {
            return Err(stale("the contract changed"));
        }
        if saved.observed_fingerprint != current.observed_fingerprint {
            return Err(stale("what redisctl observed (files, servers) changed"));
        }
        // Every change must be the one reviewed: address, action, before/after, diff, flags.
        if saved.changes.len() != current.changes.len() {
            return Err(stale(&format!(
                "the planned changes differ ({} saved, {} now)",
                saved.changes.len(),
                current.changes.len()
            )));
        }
        if let Some((s, c)) = saved.changes.iter().zip(&current.changes).find(|(s, c)| s != c) {
            return Err(stale(&format!("`{}` differs in `{}`", s.address, first_difference(s, c))));
        }
        if saved.exec != current.exec {
            return Err(stale("the commands to run after writing (--exec) differ"));
        }
        Ok(())
    }
}

/// Destructive changes need `--allow-destroy`, and are refused outright where the contract
/// sets `safety.forbidDestroy`.
pub fn check_destroy(plan: &Plan, opts: &ApplyOptions, forbid: bool) -> Result<(), Error> {
    let destructive: Vec<String> =
        plan.changes.iter().filter(|c| c.flags.destructive && c.is_change()).map(|c| c.address.to_string()).collect();
    if destructive.is_empty() {
        return Ok(());
    }
    let list = destructive.join(", ");
    if forbid {
        return Err(Error::refused(format!(
            "the plan deletes data ({list}) and environment `{}` forbids destructive changes (safety.forbidDestroy)",
            plan.environment
        )));
    }
    if !opts.allow_destroy {
        return Err(Error::refused(format!(
            "the plan deletes data ({list}); re-run with --allow-destroy if that is intended"
        )));
    }
    Ok(())
}

#[derive(Debug, Default)]
pub struct ApplyReport {
    pub summary: Summary,
    /// (address, reason) of changes a provider did not apply.
    pub skipped: Vec<(Address, String)>,
}

/// Apply every change of `plan` with its provider, saving the state after each one so that
/// an interrupted apply can be finished by planning and applying again.
/// Test hook: `REDISCTL_TEST_APPLY_PAUSE_MS` slows applies down (a pause after each change, and
/// between a local stack's starts and its bootstrap) so tests can interrupt one half-way.
pub fn test_pause() -> Option<Duration> {
    std::env::var("REDISCTL_TEST_APPLY_PAUSE_MS").ok().and_then(|v| v.parse().ok()).map(Duration::from_millis)
}

pub fn apply(
    plan: &Plan,
    providers: &mut [Box<dyn Provider>],
    state: &mut State,
    opts: &ApplyOptions,
) -> Result<ApplyReport, Error> {
    let mut report = ApplyReport::default();
    let pause = test_pause();
    let changes: Vec<&ResourceChange> = plan.changes.iter().filter(|c| c.is_change()).collect();
    let mut next = 0;
    while next < changes.len() {
        let first = changes[next];
        let provider = providers
            .iter_mut()
            .find(|p| p.name() == first.provider)
            .ok_or_else(|| Error::msg(format!("no provider `{}` for {}", first.provider, first.address)))?;
        // The changes of this provider that follow each other: one batch, unless the test
        // hook wants them one at a time.
        let run = changes[next..].iter().take_while(|c| c.provider == first.provider).count();
        let batch = &changes[next..next + run];
        if batch.len() > 1 && pause.is_none() {
            if let Some(result) = provider.apply_batch(batch, state, opts) {
                tracing::debug!("applied {} change(s) with provider {} as one batch", batch.len(), first.provider);
                if let Err(e) = result {
                    let source = with_save_error(e, state);
                    return Err(Error::Change { address: first.address.to_string(), source: Box::new(source) });
                }
                for change in batch {
                    report.summary.count(change.action);
                    tracing::info!("{}: {}", change.address, change.action.verb());
                }
                state.save()?;
                next += run;
                continue;
            }
        }
        let change = first;
        next += 1;
        tracing::debug!("applying {} ({}) with provider {}", change.address, change.action.verb(), change.provider);
        match provider.apply(change, state, opts) {
            Ok(Outcome::Applied) => {
                report.summary.count(change.action);
                tracing::info!("{}: {}", change.address, change.action.verb());
            }
            Ok(Outcome::Skipped(why)) => report.skipped.push((change.address.clone(), why)),
            Err(e) => {
                let source = with_save_error(e, state);
                return Err(Error::Change { address: change.address.to_string(), source: Box::new(source) });
            }
        }
        state.save()?;
        if let Some(p) = pause {
            std::thread::sleep(p);
        }
    }
    for p in providers.iter_mut() {
        p.finish(state)?;
    }
    state.save()?;
    Ok(report)
}

/// SHA-256 of a plan's JSON.
/// A change's own error is what the user needs (e.g. a full disk): a failing state save after
/// it must not replace it.
fn with_save_error(e: Error, state: &mut State) -> Error {
    match state.save() {
        Ok(()) => e,
        Err(save) => Error::msg(format!("{e}\n(and the state could not be saved either: {save})")),
    }
}

fn digest(plan: &Plan) -> String {
    hex::encode(Sha256::digest(serde_json::to_vec(plan).unwrap_or_default()))
}

/// The first field in which two changes differ, by its JSON name.
fn first_difference(a: &ResourceChange, b: &ResourceChange) -> String {
    let (a, b) = (serde_json::to_value(a).unwrap_or_default(), serde_json::to_value(b).unwrap_or_default());
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else { return "content".into() };
    a.iter()
        .find(|(k, v)| b.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .or_else(|| b.keys().find(|k| !a.contains_key(*k)).cloned())
        .unwrap_or_else(|| "content".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;

    fn plan_with(destructive: bool) -> Plan {
        let mut c = ResourceChange::new("process", Address::new("data", "node-0"), Action::Delete);
        c.flags.destructive = destructive;
        Plan::new("prod", "process", vec![c])
    }

    #[test]
    fn destructive_changes_need_the_flag_and_can_be_forbidden() {
        let allow = ApplyOptions { allow_destroy: true, ..ApplyOptions::default() };
        let deny = ApplyOptions::default();
        assert!(check_destroy(&plan_with(false), &deny, true).is_ok());
        let e = check_destroy(&plan_with(true), &deny, false).unwrap_err().to_string();
        assert!(e.contains("--allow-destroy") && e.contains("data:node-0"), "{e}");
        assert!(check_destroy(&plan_with(true), &allow, false).is_ok());
        let e = check_destroy(&plan_with(true), &allow, true).unwrap_err().to_string();
        assert!(e.contains("forbids destructive changes"), "{e}");
    }
}
