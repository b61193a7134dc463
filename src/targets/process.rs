//! `target: process`: a local stack of redis-server and redis-sentinel processes under the
//! environment's run directory, started, bootstrapped and checked by redisctl itself.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::{files_and_shape, Opened, Target};
use crate::error::Error;
use crate::model::TargetKind;
use crate::plan::{Provider, Scope};
use crate::providers::exporter::ExporterProvider;
use crate::providers::process::ProcessProvider;
use crate::providers::redis::{LiveRedis, Placement};
use crate::render::{observability, server_files, Artifact, Flavor, Templates};
use crate::resolve::Deployment;
use crate::stack::paths::{ACL_FILE, CLUSTER_CONFIG_FILE, SENTINEL_ACL_FILE};
use crate::stack::{Kind, Stack, HOST};

pub struct Process;

/// `observability.runExporters`: the stack runs its own exporters.
fn runs_exporters(d: &Deployment) -> bool {
    d.contract.observability.as_ref().is_some_and(|o| o.run_exporters)
}

/// Everything under the environment's run directory, one folder per member (the stack's
/// layout, `stack::paths`); redis-server runs with that folder as its working directory and `dir`.
pub fn flavor() -> Flavor {
    Flavor {
        bind: |_, _| vec![HOST.into()],
        supervised: None,
        hostnames: false,
        announce: None,
        host: |_, _| HOST.into(),
        paths: |_, name| {
            let kind = Kind::of(name);
            json!({
                "dir": ".",
                "pidfile": kind.pid_file(),
                "logfile": kind.log_file(),
                "aclfile": format!("../{}", kind.acl_file()),
                "cluster_config_file": CLUSTER_CONFIG_FILE,
            })
        },
        config_path: |_, name, file| format!("{name}/{file}"),
        acl_path: Some(|_| ACL_FILE.into()),
        sentinel_acl_path: Some(|_| SENTINEL_ACL_FILE.into()),
    }
}

impl Target for Process {
    fn kind(&self) -> TargetKind {
        TargetKind::Process
    }

    fn drills(&self) -> super::Drills {
        super::Drills::LocalStack
    }

    fn default_output_dir(&self, project_dir: &Path, env: &str) -> PathBuf {
        project_dir.join(".redisctl").join(env).join("run")
    }

    /// The server files, and with `observability` the rules, dashboards and a prometheus.yml
    /// that scrapes exporters on 127.0.0.1 at `exporterPort + i`: a laptop can run production's
    /// alerts (`prometheus --config.file observability/prometheus.yml`).
    fn render(&self, d: &Deployment, templates: &Templates) -> Result<Vec<Artifact>, String> {
        let mut out = server_files(d, templates, &flavor())?;
        if let Some(e) = crate::model::observability::effective(&d.contract) {
            let address = |n: &crate::resolve::Node| format!("{HOST}:{}", observability::exporter_port(&e, d, n));
            out.extend(observability::files(d, &address)?);
        }
        Ok(out)
    }

    /// A local stack is managed whole: its files, its processes, their live settings.
    fn providers(&self, env: &Opened, scope: Scope) -> Result<Vec<Box<dyn Provider>>, Error> {
        let mut providers = files_and_shape(env, false, None);
        if scope == Scope::FilesOnly {
            return Ok(providers);
        }
        let (d, dir) = (env.deployment.clone(), env.output_dir.to_path_buf());
        providers.push(Box::new(ProcessProvider::new(d.clone(), dir.clone())?));
        let placement = Placement { host: |_, _| HOST.into(), restart: |_, node| format!("restart {}", node.name) };
        providers.push(Box::new(LiveRedis::new(d.clone(), placement).with_stack(Stack::new(d.clone(), dir.clone())?)));
        if runs_exporters(&d) {
            providers.push(Box::new(ExporterProvider::new(d, &dir)));
        }
        Ok(providers)
    }

    fn destroy_providers(&self, env: &Opened, purge_data: bool) -> Option<Result<Vec<Box<dyn Provider>>, Error>> {
        let (d, dir) = (env.deployment.clone(), env.output_dir.to_path_buf());
        // The exporters first: they watch the nodes.
        let mut providers: Vec<Box<dyn Provider>> = Vec::new();
        if runs_exporters(&d) {
            providers.push(Box::new(ExporterProvider::new(d.clone(), &dir).destroying()));
        }
        Some(ProcessProvider::new(d, dir).map(|p| {
            providers.push(Box::new(p.destroying(purge_data)));
            providers
        }))
    }
}
