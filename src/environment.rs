//! The pipeline every command that changes something runs: open an environment (load, check,
//! resolve, render), choose the providers its target manages it with, plan, and apply under
//! the environment's lock, then observe again and judge the result. `plan`, `apply`,
//! `apply FILE` and `destroy` differ only in the providers they ask for and in the guards
//! around the same steps; the commands in `cli/` print and ask, nothing more.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::contract::{Loaded, Project};
use crate::error::Error;
use crate::model::StateBackendKind;
use crate::plan::engine::{self, build_plan, check_destroy, ApplyReport, SavedPlan};
use crate::plan::state::{Held, LocalStore, State, Store};
use crate::plan::{Address, ApplyOptions, ExecPlan, Plan, Provider, ResourceChange, Scope};
use crate::policy::PolicyReport;
use crate::render::{Artifact, Templates};
use crate::resolve::Deployment;
use crate::secrets::Secret;
use crate::targets::{output_dir, render, Opened};

pub struct Environment {
    pub loaded: Loaded,
    pub deployment: Deployment,
    pub artifacts: Vec<Artifact>,
    /// Where the files provider writes, and where the state and lock files live.
    pub output_dir: PathBuf,
    pub project_dir: PathBuf,
    /// AWS endpoint override for the managed target (`--endpoint-url`, `AWS_ENDPOINT_URL`).
    pub endpoint_url: Option<String>,
}

/// What an apply or destroy does: the same steps, other providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Take the environment to what the contract says, looking at `Scope`.
    Apply(Scope),
    /// Tear it down (`purge_data`: its data too, where the target keeps it itself).
    Destroy { purge_data: bool },
}

impl Environment {
    pub fn open(project: &Project, loaded: Loaded, templates: &Templates) -> Result<Environment, Error> {
        let mut environment = Environment::unrendered(project, loaded)?;
        environment.artifacts = render(&environment.deployment, templates).map_err(Error::msg)?;
        Ok(environment)
    }

    /// The environment without its artifacts, for commands that only read the contract and
    /// the target (`connect`).
    pub fn unrendered(project: &Project, loaded: Loaded) -> Result<Environment, Error> {
        let deployment = Deployment::resolve(&loaded, &project.dir).map_err(Error::msg)?;
        let output_dir = output_dir(project, &loaded);
        Ok(Environment {
            loaded,
            deployment,
            artifacts: Vec::new(),
            output_dir,
            project_dir: project.dir.clone(),
            endpoint_url: None,
        })
    }

    /// What the target's providers are built from.
    pub fn opened(&self) -> Opened<'_> {
        Opened {
            deployment: &self.deployment,
            artifacts: &self.artifacts,
            output_dir: &self.output_dir,
            project_dir: &self.project_dir,
            endpoint_url: self.endpoint_url.as_deref(),
        }
    }

    /// The providers of `mode`, in apply order (files first).
    fn providers(&self, mode: Mode) -> Result<Vec<Box<dyn Provider>>, Error> {
        let target = crate::targets::of(self.loaded.contract.target);
        match mode {
            Mode::Apply(scope) => target.providers(&self.opened(), scope),
            Mode::Destroy { purge_data } => target.destroy_providers(&self.opened(), purge_data).unwrap_or_else(|| {
                Err(Error::msg(format!(
                    "target `{}` is torn down with its own tooling (systemctl, docker compose down, kubectl \
                     delete); redisctl destroys local stacks and managed environments",
                    self.target()
                )))
            }),
        }
    }

    /// Where this environment's state and lock live (`state.backend`).
    pub fn store(&self) -> Result<Arc<dyn Store>, Error> {
        let spec = &self.loaded.contract.state;
        match spec.backend {
            StateBackendKind::Local => Ok(Arc::new(LocalStore::new(&self.output_dir))),
            StateBackendKind::S3 => self.s3_store(),
        }
    }

    #[cfg(feature = "s3-state")]
    fn s3_store(&self) -> Result<Arc<dyn Store>, Error> {
        let c = &self.loaded.contract;
        let bucket = c.state.bucket.as_deref().ok_or_else(|| Error::msg("`state.backend: s3` needs `state.bucket`"))?;
        let region = c.state.region.as_deref().or(c.aws.region.as_deref());
        let key = c.state.key_for(&c.service, self.name());
        let store = crate::providers::s3_state::S3Store::new(bucket, &key, region, self.endpoint_url.as_deref())?;
        Ok(Arc::new(store))
    }

    #[cfg(not(feature = "s3-state"))]
    fn s3_store(&self) -> Result<Arc<dyn Store>, Error> {
        Err(Error::msg("this redisctl was built without the `s3-state` feature; rebuild with default features"))
    }

    /// The environment's state, read from its store.
    pub fn state(&self) -> Result<State, Error> {
        State::load_from(self.store()?, self.name())
    }

    fn build(&self, providers: &mut [Box<dyn Provider>], state: &State) -> Result<Plan, Error> {
        build_plan(self.name(), self.target(), &self.loaded.fingerprint, providers, state)
    }

    /// Plan this environment (no lock: planning only reads). `exec`: also the commands
    /// `apply --exec` would run. The plan carries the policy findings and waivers.
    pub fn plan(&self, scope: Scope, exec: bool, policy: Option<PolicyReport>) -> Result<Plan, Error> {
        let state = self.state()?;
        let mut providers = self.providers(Mode::Apply(scope))?;
        self.finish_plan(self.build(&mut providers, &state)?, &state, exec, policy)
    }

    fn finish_plan(
        &self,
        mut plan: Plan,
        state: &State,
        exec: bool,
        policy: Option<PolicyReport>,
    ) -> Result<Plan, Error> {
        if exec {
            plan.exec = Some(self.exec_plan(&plan, state)?);
        }
        plan.policy = policy;
        Ok(plan)
    }

    /// Lock the environment and plan `mode` against its state: what `Apply::run` then does.
    /// With `saved`, the new plan must be exactly the saved one (else: stale, nothing runs).
    pub fn begin(
        &self,
        mode: Mode,
        exec: bool,
        policy: Option<PolicyReport>,
        saved: Option<&SavedPlan>,
        lock_timeout: Duration,
    ) -> Result<Apply<'_>, Error> {
        let what = match mode {
            Mode::Apply(_) => "apply",
            Mode::Destroy { .. } => "destroy",
        };
        let store = self.store()?;
        let lock = store.lock(&format!("{what} --env {}", self.name()), lock_timeout)?;
        let state = State::load_from(store, self.name())?;
        let mut providers = self.providers(mode)?;
        let plan = self.build(&mut providers, &state)?;
        let plan = self.finish_plan(plan, &state, exec, policy)?;
        if let Some(saved) = saved {
            saved.check_fresh(&plan)?;
        }
        Ok(Apply { environment: self, _lock: lock, state, providers, plan, mode })
    }

    /// The commands `apply --exec` runs after writing this plan's files (`plan/apply --exec`).
    fn exec_plan(&self, plan: &Plan, state: &State) -> Result<ExecPlan, Error> {
        crate::exec::plan_exec(&self.deployment, &self.output_dir, plan, state)?.ok_or_else(|| {
            Error::msg(format!(
                "--exec runs the commands of targets that render files for their own tooling; target `{}` starts \
                 or changes what it manages during apply itself",
                self.target()
            ))
        })
    }

    /// The password values of this environment's users, as far as they resolve here, to hide
    /// them in the output of `--exec` commands (container targets pass references only, but the
    /// commands run with the variables that hold them).
    fn secret_values(&self) -> Vec<Secret> {
        let resolve =
            |u: &crate::resolve::User| u.secret.clone().or_else(|| u.spec.password.resolve(&self.project_dir).ok());
        self.deployment.users.iter().filter_map(resolve).collect()
    }

    pub fn name(&self) -> &str {
        &self.loaded.env
    }

    pub fn target(&self) -> &'static str {
        self.loaded.contract.target.as_str()
    }
}

/// An environment locked and planned, ready to apply (the lock is held until it is dropped).
pub struct Apply<'e> {
    environment: &'e Environment,
    _lock: Held,
    state: State,
    providers: Vec<Box<dyn Provider>>,
    pub plan: Plan,
    mode: Mode,
}

impl Apply<'_> {
    /// Refuse what `opts` does not allow before anything is touched (destructive changes).
    pub fn check(&self, opts: &ApplyOptions) -> Result<(), Error> {
        check_destroy(&self.plan, opts, self.environment.loaded.contract.safety.forbid_destroy)
    }

    /// Apply the plan, run its `--exec` commands, then observe again: the verdict says
    /// whether what runs is now what the contract says.
    pub fn run(mut self, opts: &ApplyOptions) -> Result<(ApplyReport, Verdict), Error> {
        self.check(opts)?;
        let report = engine::apply(&self.plan, &mut self.providers, &mut self.state, opts)?;
        if !self.plan.has_changes() {
            // Nothing was changed (the providers only recorded what they found).
            return Ok((report, Verdict::default()));
        }
        if let Some(exec) = &self.plan.exec {
            let secrets = self.environment.secret_values();
            crate::exec::run(exec, &mut self.state, &secrets.iter().map(|s| s.expose()).collect::<Vec<_>>())?;
        }
        // The output is the truth: observe again, and call the apply complete only when
        // nothing is left to do.
        let mut again = self.environment.providers(self.mode)?;
        let after = self.environment.build(&mut again, &self.state)?;
        let verdict = Verdict::of(&report, &after, self.plan.exec.as_ref(), opts);
        Ok((report, verdict))
    }
}

/// What the re-observation after an apply found.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Changes still planned that the apply skipped on purpose (a restart without
    /// `--allow-restart`, a command for another host): (what, why).
    pub skipped: Vec<(String, String)>,
    /// Changes still planned that the apply made or should have made: (address, reason).
    pub unconverged: Vec<(Address, String)>,
}

impl Verdict {
    pub fn of(report: &ApplyReport, after: &Plan, exec: Option<&ExecPlan>, opts: &ApplyOptions) -> Verdict {
        let skipped_now = |a: &Address| report.skipped.iter().find(|(s, _)| s == a).map(|(_, why)| why.clone());
        let waits = |c: &ResourceChange| {
            c.flags.waits_for.filter(|w| !w.given(opts)).map(|w| format!("waits for {}", w.flag()))
        };
        let (mut skipped, mut unconverged) = (Vec::new(), Vec::new());
        for c in after.changes.iter().filter(|c| c.is_change()) {
            match skipped_now(&c.address).or_else(|| waits(c)) {
                Some(why) => skipped.push((c.address.to_string(), why)),
                None => {
                    unconverged.push((c.address.clone(), c.reason.clone().unwrap_or_else(|| c.action.verb().into())))
                }
            }
        }
        for command in exec.map(|e| e.elsewhere.as_slice()).unwrap_or_default() {
            skipped.push((command.clone(), "runs on another host: run it there".into()));
        }
        Verdict { skipped, unconverged }
    }

    pub fn converged(&self) -> bool {
        self.unconverged.is_empty()
    }

    /// Converged, with nothing skipped on purpose either.
    pub fn complete(&self) -> bool {
        self.converged() && self.skipped.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, WaitsFor};

    fn after(changes: Vec<ResourceChange>) -> Plan {
        Plan::new("dev", "process", changes)
    }

    #[test]
    fn an_apply_is_complete_only_when_nothing_is_left() {
        let report = ApplyReport::default();
        let opts = ApplyOptions::default();
        assert!(Verdict::of(&report, &after(vec![]), None, &opts).complete());

        // Still planned although the apply made it: did not converge.
        let left = ResourceChange::new("redis", Address::new("redis-config", "node-0/maxmemory"), Action::Update);
        let open = Verdict::of(&report, &after(vec![left.clone()]), None, &opts);
        assert!(!open.converged());
        assert_eq!(open.unconverged[0].0, left.address);

        // Skipped on purpose (by the provider, or waiting for a flag not given): converged,
        // not complete.
        let skipped =
            ApplyReport { skipped: vec![(left.address.clone(), "needs --allow-restart".into())], ..Default::default() };
        let held = Verdict::of(&skipped, &after(vec![left]), None, &opts);
        assert!(held.converged() && !held.complete());
        let mut rotation = ResourceChange::new("redis", Address::new("acl-user", "node-0/app"), Action::Update);
        rotation.flags.waits_for = Some(WaitsFor::FinishRotation);
        let waiting = Verdict::of(&report, &after(vec![rotation.clone()]), None, &opts);
        assert!(waiting.converged() && !waiting.complete());
        assert_eq!(waiting.skipped[0].1, "waits for --finish-rotation");
        let finishing = ApplyOptions { finish_rotation: true, ..ApplyOptions::default() };
        assert!(!Verdict::of(&report, &after(vec![rotation]), None, &finishing).converged());

        // Commands for other hosts remain to be run there.
        let exec = ExecPlan { elsewhere: vec!["on 10.0.0.2: systemctl restart x".into()], ..Default::default() };
        let elsewhere = Verdict::of(&report, &after(vec![]), Some(&exec), &opts);
        assert!(elsewhere.converged() && !elsewhere.complete());
    }
}
