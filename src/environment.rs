//! Opening an environment for planning: load and check the contract, resolve the
//! deployment, render the target's artifacts, and choose the providers that manage them.
//! This is the one place that knows which providers a target uses.

use std::path::PathBuf;

use crate::contract::model::Target;
use crate::contract::{output_dir, Loaded, Project};
use crate::error::Error;
use crate::plan::engine::build_plan;
use crate::plan::state::State;
use crate::plan::{ExecPlan, Plan, Provider, Scope};
use crate::providers::cluster::ClusterShape;
use crate::providers::files::FilesProvider;
use crate::providers::process::ProcessProvider;
use crate::providers::redis::LiveRedis;
use crate::render::{render, Artifact, Templates};
use crate::resolve::Deployment;
use crate::secrets::Secret;

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

    /// The providers of this environment's target, in apply order: files first, then the cluster
    /// shape of file targets (recorded after the files it describes were written), then (for
    /// local stacks) the processes that run from them, then the live settings of running nodes.
    /// A local stack is managed whole; other targets' nodes are started by their own tooling
    /// (systemd, ...), so redisctl only reaches their live settings, and only when asked.
    pub fn providers(&self, scope: Scope) -> Result<Vec<Box<dyn Provider>>, Error> {
        let mut providers: Vec<Box<dyn Provider>> =
            vec![Box::new(FilesProvider::new(self.output_dir.clone(), self.artifacts.clone()))];
        if matches!(self.loaded.contract.target, Target::Systemd | Target::Compose | Target::Kubernetes) {
            // Cluster members live in these files: removing a shard must not look like a file edit.
            providers.push(Box::new(ClusterShape::new(&self.deployment)));
        }
        match (self.loaded.contract.target, scope) {
            (_, Scope::FilesOnly) => {}
            (Target::Process, _) if self.loaded.contract.security.tls.enabled => {
                // The files render fine; the stack's readiness checks, failovers and rolling
                // restarts speak plain TCP. TLS is an envelope setting: a local overlay may drop it.
                return Err(Error::msg(
                    "local stacks (`target: process`) run without TLS: turn it off in the local overlay \
                     (`security: { tls: { enabled: false } }`), or plan only the files with --files-only",
                ));
            }
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
            (Target::Elasticache, Scope::Target) => providers.push(self.elasticache()?),
            (_, Scope::Target) => {}
        }
        Ok(providers)
    }

    /// The managed provider of a `target: elasticache` environment.
    #[cfg(feature = "elasticache")]
    pub fn elasticache(&self) -> Result<Box<dyn Provider>, Error> {
        Ok(Box::new(crate::providers::elasticache::ElastiCache::for_deployment(
            &self.deployment,
            self.project_dir.clone(),
            self.endpoint_url.as_deref(),
        )?))
    }

    #[cfg(not(feature = "elasticache"))]
    pub fn elasticache(&self) -> Result<Box<dyn Provider>, Error> {
        Err(Error::msg("this redisctl was built without the `elasticache` feature; rebuild with default features"))
    }

    /// Plan this environment with `providers` against `state`.
    pub fn plan(&self, providers: &mut [Box<dyn Provider>], state: &State) -> Result<Plan, Error> {
        build_plan(self.name(), self.target(), &self.loaded.fingerprint, providers, state)
    }

    /// The commands `apply --exec` runs after writing this plan's files (`plan/apply --exec`).
    pub fn exec_plan(&self, plan: &Plan, state: &State) -> Result<ExecPlan, Error> {
        if matches!(self.loaded.contract.target, Target::Process | Target::Elasticache) {
            return Err(Error::msg(format!(
                "--exec runs the commands of the systemd, compose and kubernetes targets; target `{}` starts or \
                 changes what it manages during apply itself",
                self.target()
            )));
        }
        Ok(crate::exec::plan_exec(&self.deployment, &self.output_dir, plan, state))
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
