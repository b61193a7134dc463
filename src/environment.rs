//! Opening an environment for planning: load and check the contract, resolve the
//! deployment, render the target's artifacts, and choose the providers that manage them.
//! This is the one place that knows which providers a target uses.

use std::path::PathBuf;

use crate::contract::model::Target;
use crate::contract::{output_dir, Loaded, Project};
use crate::error::Error;
use crate::plan::engine::build_plan;
use crate::plan::state::State;
use crate::plan::{Plan, Provider, Scope};
use crate::providers::files::FilesProvider;
use crate::providers::process::ProcessProvider;
use crate::providers::redis::LiveRedis;
use crate::render::{render, Artifact, Templates};
use crate::resolve::Deployment;

pub struct Environment {
    pub loaded: Loaded,
    pub deployment: Deployment,
    pub artifacts: Vec<Artifact>,
    /// Where the files provider writes, and where the state and lock files live.
    pub output_dir: PathBuf,
}

impl Environment {
    pub fn open(project: &Project, loaded: Loaded, templates: &Templates) -> Result<Environment, Error> {
        let deployment = Deployment::resolve(&loaded, &project.dir).map_err(Error::msg)?;
        let artifacts = render(&deployment, templates).map_err(Error::msg)?;
        let output_dir = output_dir(project, &loaded);
        Ok(Environment { loaded, deployment, artifacts, output_dir })
    }

    /// The providers of this environment's target, in apply order: files first, then (for
    /// local stacks) the processes that run from them, then the live settings of running nodes.
    /// A local stack is managed whole; other targets' nodes are started by their own tooling
    /// (systemd, ...), so redisctl only reaches their live settings, and only when asked.
    pub fn providers(&self, scope: Scope) -> Result<Vec<Box<dyn Provider>>, Error> {
        let mut providers: Vec<Box<dyn Provider>> =
            vec![Box::new(FilesProvider::new(self.output_dir.clone(), self.artifacts.clone()))];
        match (self.loaded.contract.target, scope) {
            (_, Scope::FilesOnly) => {}
            (Target::Process, _) => {
                providers.push(Box::new(ProcessProvider::new(self.deployment.clone(), self.output_dir.clone())?));
                let stack = crate::stack::Stack::new(self.deployment.clone(), self.output_dir.clone())?;
                providers.push(Box::new(LiveRedis::new(self.deployment.clone()).with_stack(stack)));
            }
            (Target::Systemd, Scope::Live) => providers.push(Box::new(LiveRedis::new(self.deployment.clone()))),
            (target, Scope::Live) => {
                // Compose and Kubernetes mount configs read-only (CONFIG REWRITE cannot keep a
                // live change) and replace containers on change: their files are the whole truth.
                return Err(Error::msg(format!(
                    "--live works for targets `process` and `systemd`, not `{}`: apply the rendered files with \
                     the target's own tooling",
                    target.as_str()
                )));
            }
            (_, Scope::Target) => {}
        }
        Ok(providers)
    }

    /// Plan this environment with `providers` against `state`.
    pub fn plan(&self, providers: &mut [Box<dyn Provider>], state: &State) -> Result<Plan, Error> {
        build_plan(self.name(), self.target(), &self.loaded.fingerprint, providers, state)
    }

    pub fn name(&self) -> &str {
        &self.loaded.env
    }

    pub fn target(&self) -> &'static str {
        self.loaded.contract.target.as_str()
    }
}
