//! Opening an environment for planning: load and check the contract, resolve the
//! deployment, render the target's artifacts, and choose the providers that manage them.
//! This is the one place that knows which providers a target uses.

use std::path::PathBuf;

use crate::contract::{Loaded, Project};
use crate::error::Error;
use crate::plan::engine::build_plan;
use crate::plan::state::State;
use crate::plan::{ExecPlan, Plan, Provider, Scope};
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

impl Environment {
    pub fn open(project: &Project, loaded: Loaded, templates: &Templates) -> Result<Environment, Error> {
        let deployment = Deployment::resolve(&loaded, &project.dir).map_err(Error::msg)?;
        let artifacts = render(&deployment, templates).map_err(Error::msg)?;
        let output_dir = output_dir(project, &loaded);
        Ok(Environment {
            loaded,
            deployment,
            artifacts,
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

    /// The providers of this environment's target in `scope`, in apply order (files first).
    pub fn providers(&self, scope: Scope) -> Result<Vec<Box<dyn Provider>>, Error> {
        crate::targets::of(self.loaded.contract.target).providers(&self.opened(), scope)
    }

    /// Plan this environment with `providers` against `state`.
    pub fn plan(&self, providers: &mut [Box<dyn Provider>], state: &State) -> Result<Plan, Error> {
        build_plan(self.name(), self.target(), &self.loaded.fingerprint, providers, state)
    }

    /// The commands `apply --exec` runs after writing this plan's files (`plan/apply --exec`).
    pub fn exec_plan(&self, plan: &Plan, state: &State) -> Result<ExecPlan, Error> {
        crate::exec::plan_exec(&self.deployment, &self.output_dir, plan, state).ok_or_else(|| {
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
    pub fn secret_values(&self, project: &Project) -> Vec<Secret> {
        let resolve =
            |u: &crate::resolve::User| u.secret.clone().or_else(|| u.spec.password.resolve(&project.dir).ok());
        self.deployment.users.iter().filter_map(resolve).collect()
    }

    pub fn name(&self) -> &str {
        &self.loaded.env
    }

    pub fn target(&self) -> &'static str {
        self.loaded.contract.target.as_str()
    }
}
