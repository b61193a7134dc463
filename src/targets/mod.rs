//! Targets: one module per deployment target, each behind the `Target` trait.
//!
//! A target owns everything particular to it: its contract checks (run by `validate`, with
//! locations), where its nodes are (the host clients and redisctl reach each member at),
//! render, its providers for a scope, the post-apply commands of `--exec`, the client
//! endpoints a managed service hands out, the shared environment `init` scaffolds, which drills
//! reach it and what `import` records beside its files. The facts the stages below read (managed?
//! containers? secrets at render?) are `TargetKind::facts` in the model. `of` is the only
//! `match` on the kind above the model: adding a target is a module here, a line in `of`, its
//! settings block and facts in the model, and the regenerated schema.

pub mod compose;
pub mod containers;
pub mod elasticache;
pub mod kubernetes;
pub mod memorystore;
pub mod process;
pub mod redis_enterprise;
pub mod systemd;

use std::path::{Path, PathBuf};

use crate::connect::{ClientConfig, Endpoint};
use crate::contract::merge::SpanIndex;
use crate::contract::{Loaded, Project};
use crate::diagnostics::{Diagnostic, Sources};
use crate::error::Error;
use crate::model::{Contract, PersistenceMode, RedisVersion, TargetKind, TopologyMode};
use crate::plan::{Address, Changed, PostApply, Provider, Scope};
use crate::providers::cluster::ClusterShape;
use crate::providers::files::{Consequences, FilesProvider, Modes};
use crate::render::{Artifact, Templates};
use crate::resolve::Deployment;
use crate::secrets::{Secret, Secrets};

/// What a target's providers are built from: one opened environment.
pub struct Opened<'a> {
    pub deployment: &'a Deployment,
    pub artifacts: &'a [Artifact],
    /// Where the files provider writes, and where the state and lock files live.
    pub output_dir: &'a Path,
    pub project_dir: &'a Path,
    /// AWS endpoint override for managed targets (`--endpoint-url`, `AWS_ENDPOINT_URL`).
    pub endpoint_url: Option<&'a str>,
}

/// What `init` tells a target about the project it scaffolds.
pub struct ScaffoldInput<'a> {
    pub service: &'a str,
    /// The shared environment's name.
    pub env: &'a str,
    pub mode: TopologyMode,
    /// The base contract's persistence (from the workload).
    pub persistence: PersistenceMode,
    pub version: RedisVersion,
}

/// The shared environment a target scaffolds for `init`.
pub struct Scaffold {
    /// The overlay below its `target` and `topology` lines; `failureDomains` (`zones`) first,
    /// as it continues the topology.
    pub settings: String,
    /// Replicas of the primary (or of each shard) where the target cannot run init's default.
    pub replicas: Option<u32>,
    /// Whether the application gets its own ACL user (in the base contract, so in every
    /// environment): not where the target has no ACL users, so that parity holds.
    pub application_user: bool,
    /// Whether the base contract sets the idle `timeout` and `tcp-keepalive` directives: not
    /// where the target's clients never reach a Redis connection of their own (a proxy).
    pub idle_directives: bool,
}

impl Scaffold {
    /// A shared environment of `settings` that runs what every target runs.
    pub fn settings(settings: String) -> Result<Scaffold, String> {
        Ok(Scaffold { settings, replicas: None, application_user: true, idle_directives: true })
    }
}

/// How `redisctl drill` reaches an environment of a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drills {
    /// A local stack redisctl runs: failover (graceful or killed primary) and restore drills.
    LocalStack,
    /// A fleet reached at its addresses (`--live`): a graceful Sentinel failover only, since
    /// redisctl runs none of its processes.
    Fleet,
    /// No drill of redisctl's reaches it, and what to do instead.
    Unsupported(&'static str),
}

pub trait Target: Sync {
    fn kind(&self) -> TargetKind;

    /// The target's own contract checks, located (run by `validate` and every command that
    /// loads an environment).
    fn check(&self, _c: &Contract, _index: &SpanIndex) -> Vec<Diagnostic> {
        Vec::new()
    }

    /// Where the node or Sentinel `name` is reachable (host and port), as clients and the
    /// other members see it: the target's placement. The renderer places members with it and
    /// `connect` prints it, so the two cannot disagree. Default: 127.0.0.1 at the layout's port.
    fn endpoint(&self, d: &Deployment, name: &str) -> Endpoint {
        Endpoint { host: "127.0.0.1".into(), port: d.port_of(name).unwrap_or(0) }
    }

    /// The output directory when the contract sets none.
    fn default_output_dir(&self, project_dir: &Path, env: &str) -> PathBuf {
        project_dir.join("deploy").join(env)
    }

    /// The target's artifacts (after the checks every target shares, in `render`).
    fn render(&self, d: &Deployment, templates: &Templates) -> Result<Vec<Artifact>, String>;

    /// The providers that manage this environment in `scope`, in apply order.
    fn providers(&self, env: &Opened, scope: Scope) -> Result<Vec<Box<dyn Provider>>, Error>;

    /// What `apply --exec` runs once the changed files are in `dir`; `None` when the target
    /// starts or changes what it manages during apply itself (no `--exec`).
    fn post_apply_commands(&self, _d: &Deployment, _dir: &Path, _changed: &[Changed]) -> Option<Vec<PostApply>> {
        None
    }

    /// The providers `destroy` plans with (`purge_data`: delete the data too, where the target
    /// keeps it itself); `None` when the target's own tooling tears it down.
    fn destroy_providers(&self, _env: &Opened, _purge_data: bool) -> Option<Result<Vec<Box<dyn Provider>>, Error>> {
        None
    }

    /// Fill in the endpoints a managed service assigns (asked of its API) for `connect`.
    fn managed_endpoints(&self, _env: &Opened, _config: &mut ClientConfig) -> Result<(), Error> {
        Ok(())
    }

    /// The shared environment `init` writes, with placeholders marked TODO where only the team
    /// knows the value; or why init cannot scaffold this target for that project.
    fn scaffold(&self, _s: &ScaffoldInput) -> Result<Scaffold, String> {
        Err(format!("init does not scaffold a shared environment on target `{}`", self.kind().as_str()))
    }

    /// How drills reach an environment of this target.
    fn drills(&self) -> Drills {
        Drills::Unsupported(
            "drills run on local stacks (`target: process`), and a failover drill on a systemd fleet with --live: \
             drill a local stack of the same contract instead",
        )
    }

    /// What `import` records in the state beside the adopted files, where the target's API does
    /// not say what redisctl applied last (`token`: the AUTH token in use, when the operator gave
    /// it). Default: nothing.
    fn adopted_records(
        &self,
        _d: &Deployment,
        _token: Option<&Secret>,
    ) -> Result<Vec<(Address, serde_json::Value)>, Error> {
        Ok(Vec::new())
    }

    /// The rendered (and redacted) files as one text for standard output (`render --out -`),
    /// and the paths left out of it. Default: every file after a `# --- file: <path>` line.
    fn stream(&self, artifacts: &[Artifact]) -> (String, Vec<String>) {
        commented_stream(artifacts)
    }
}

/// Every file after a `# --- file: <path>` line, so that a reader (or `csplit`) can tell them
/// apart: `file:` because the rendered configs divide themselves with `# --- memory ---` lines.
pub fn commented_stream(artifacts: &[Artifact]) -> (String, Vec<String>) {
    let mut text = String::new();
    for a in artifacts {
        text.push_str(&format!("# --- file: {}\n", a.path));
        text.push_str(&a.content);
        if !a.content.ends_with('\n') {
            text.push('\n');
        }
    }
    (text, Vec::new())
}

/// A contract problem only one target has (what it cannot do): its rule, a JSON pointer into
/// the contract, whether the key (a setting that must go) or the value (a wrong value) is at
/// fault, the message, why (when the message alone does not say) and a hint. The target's
/// `check` locates them (`located`); its renderer refuses the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: &'static str,
    pub pointer: String,
    pub key: bool,
    pub message: String,
    pub reason: Option<String>,
    pub hint: String,
}

impl Problem {
    /// A wrong value at `pointer`.
    pub fn new(
        code: &'static str,
        pointer: impl Into<String>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Problem { code, pointer: pointer.into(), key: false, message: message.into(), reason: None, hint: hint.into() }
    }
}

/// A target's problems as diagnostics at the key or value they are about (the other one when
/// the overlay left that out, else at `target`).
pub fn located(problems: Vec<Problem>, index: &SpanIndex) -> Vec<Diagnostic> {
    problems
        .into_iter()
        .map(|p| {
            let (first, second) = if p.key {
                (index.key(&p.pointer), index.value(&p.pointer))
            } else {
                (index.value(&p.pointer), index.key(&p.pointer))
            };
            let span = first.or(second).or_else(|| index.value("/target"));
            let d = Diagnostic::error(p.code, p.message).at(span).hint(p.hint);
            match p.reason {
                Some(r) => d.reason(r),
                None => d,
            }
        })
        .collect()
}

impl ScaffoldInput<'_> {
    /// The `failureDomains` line of a topology whose members a zone failure must not take
    /// together (Sentinel quorum, cluster shards), as a placeholder; empty otherwise.
    pub fn zones(&self) -> &'static str {
        match self.mode {
            TopologyMode::Sentinel | TopologyMode::Cluster => {
                "  failureDomains: [zone-a, zone-b, zone-c]   # TODO: your zones\n"
            }
            TopologyMode::Standalone | TopologyMode::Replication => "",
        }
    }

    /// The service's name as the stem of its password variables (`ORDERS_REDIS_...`).
    pub fn variable_stem(&self) -> String {
        format!("{}_REDIS", self.service.to_uppercase().replace('-', "_"))
    }
}

/// `render --out -`: what goes to standard output.
pub struct Stream {
    pub text: String,
    /// Files that are not part of the target's stream format (a Kubernetes README).
    pub left_out: Vec<String>,
    /// Password hashes hidden: standard output ends up in terminals and CI logs, not in a
    /// 0600 file, so it shows what plans show (`render --out DIR` writes the real files).
    pub redacted: usize,
}

/// The environment's artifacts as one stream in its target's format.
pub fn stream(d: &Deployment, artifacts: &[Artifact]) -> Stream {
    let mut redacted = 0;
    let shown: Vec<Artifact> = artifacts
        .iter()
        .map(|a| {
            let (content, n) = crate::redact::redact_text(&a.path, &a.content);
            redacted += n;
            Artifact { content, ..a.clone() }
        })
        .collect();
    let (text, left_out) = of(d.contract.target).stream(&shown);
    Stream { text, left_out, redacted }
}

/// The target of a kind: the registry.
pub fn of(kind: TargetKind) -> &'static dyn Target {
    match kind {
        TargetKind::Process => &process::Process,
        TargetKind::Systemd => &systemd::Systemd,
        TargetKind::Compose => &compose::TARGET,
        TargetKind::Kubernetes => &kubernetes::TARGET,
        TargetKind::Elasticache => &elasticache::Elasticache,
        TargetKind::RedisEnterprise => &redis_enterprise::RedisEnterprise,
        TargetKind::Memorystore => &memorystore::Memorystore,
    }
}

/// Load and check one environment: the contract's own checks, then its target's. `secrets`:
/// whether the command reads secret values (see `Secrets`).
pub fn load(project: &Project, env: &str, secrets: Secrets, sources: &mut Sources) -> Result<Loaded, Vec<Diagnostic>> {
    project.load_with(env, sources, secrets, &|c, index| of(c.target).check(c, index))
}

/// The directory that receives an environment's rendered files: `output.dir` from the
/// contract, else the target's default.
pub fn output_dir(project: &Project, loaded: &Loaded) -> PathBuf {
    match &loaded.contract.output.dir {
        Some(dir) => project.dir.join(dir),
        None => of(loaded.contract.target).default_output_dir(&project.dir, &loaded.env),
    }
}

/// Render the environment's artifacts for its target.
pub fn render(d: &Deployment, templates: &Templates) -> Result<Vec<Artifact>, String> {
    let facts = d.contract.target.facts();
    if facts.needs_auth && !d.auth_required() {
        // Policy rule RCTL101 reports this; a waiver cannot make it work: protected mode
        // refuses password-less clients from other hosts and containers.
        return Err(format!("target `{}` needs `security.auth: required`", facts.name));
    }
    of(d.contract.target).render(d, templates)
}

/// Where a node or Sentinel of this deployment is reachable, placed by its target.
pub fn endpoint(d: &Deployment, name: &str) -> Endpoint {
    of(d.contract.target).endpoint(d, name)
}

/// The files provider, plus the cluster shape of targets whose cluster members live in the
/// rendered files (recorded after the files it describes were written, so that removing a
/// shard does not look like a file edit).
fn files_and_shape(env: &Opened, shape: bool, consequences: Option<Consequences>) -> Vec<Box<dyn Provider>> {
    // Output that is not a developer's local stack is committed (GitOps, fleet tooling).
    let modes = if env.deployment.contract.target.facts().local { Modes::Exact } else { Modes::Committed };
    let files = FilesProvider::new(env.output_dir.to_path_buf(), env.artifacts.to_vec())
        .with_consequences(consequences)
        .comparing_modes(modes);
    let mut providers: Vec<Box<dyn Provider>> = vec![Box::new(files)];
    if shape {
        providers.push(Box::new(ClusterShape::new(env.deployment)));
    }
    providers
}

/// The providers of a managed target in `scope`: its rendered request document, then (scope
/// `Target`) what the service's API holds, from `managed`; `--live` does not apply to it.
fn managed_scope(
    env: &Opened,
    scope: Scope,
    kind: TargetKind,
    managed: impl FnOnce() -> Result<Vec<Box<dyn Provider>>, Error>,
) -> Result<Vec<Box<dyn Provider>>, Error> {
    let mut providers = files_and_shape(env, false, None);
    match scope {
        Scope::FilesOnly => {}
        Scope::Live => return Err(no_live(kind)),
        Scope::Target => providers.extend(managed()?),
    }
    Ok(providers)
}

/// `--live` on a target whose files are the whole truth.
fn no_live(kind: TargetKind) -> Error {
    // Compose and Kubernetes mount configs read-only (CONFIG REWRITE cannot keep a live
    // change) and replace containers on change.
    Error::msg(format!(
        "--live works for targets `process` and `systemd`, not `{}`: apply the rendered files with the target's \
         own tooling",
        kind.as_str()
    ))
}
