//! What `import` records once the contract is written, as Terraform's import records what
//! exists in its state: the deployment files rendered from the new contract, written into the
//! environment's output directory with their ownership in the state (the same pipeline as
//! `apply --files-only`), so that the very next `plan` against the running deployment shows no
//! changes. Nothing that reaches a server runs (the scope is files only): adopting never
//! restarts a server or rewrites its data.
//!
//! The password references are not filled in yet, so the users' hashes as the servers hold
//! them (`ACL LIST`) stand in for the passwords: the rendered ACL files are then the bytes a
//! render with the right passwords gives, and a password the operator fills in wrongly shows
//! in the plan as a changed ACL file rather than silently.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::contract::Project;
use crate::diagnostics::Sources;
use crate::environment::{Environment, Mode};
use crate::error::Error;
use crate::plan::{ApplyOptions, Scope};
use crate::render::Templates;
use crate::secrets::{Secret, Secrets, REDACTED};

/// Where the adopted environment's files went, and how many.
pub struct Adopted {
    pub output_dir: PathBuf,
    pub files: usize,
}

/// Render environment `env` of `project` (just written by import) with the users' password
/// hashes `hashes` (user → SHA-256 hex), write its files and record them in its state.
/// `token`: the AUTH token in use of an adopted ElastiCache group, when the operator gave it.
pub fn adopt(
    project: &Project,
    env: &str,
    templates: &Templates,
    hashes: &BTreeMap<String, String>,
    token: Option<&Secret>,
) -> Result<Adopted, Error> {
    let mut sources = Sources::default();
    let loaded = crate::targets::load(project, env, Secrets::FormOnly, &mut sources)
        .map_err(|d| Error::Invalid(format!("the imported environment does not load ({} diagnostic(s))", d.len())))?;
    let mut environment = Environment::unrendered(project, loaded)?;
    for u in &mut environment.deployment.users {
        u.adopted_sha256 = hashes.get(&u.spec.name).cloned();
    }
    environment.artifacts = crate::targets::render(&environment.deployment, templates).map_err(Error::msg)?;
    // A file with a placeholder instead of a hash would be a file no server can run: refused
    // rather than recorded (every imported user has the hash import read).
    if let Some(a) = environment.artifacts.iter().find(|a| a.content.contains(&format!("#{REDACTED}"))) {
        return Err(Error::msg(format!("{} would lack a password hash: not adopted", a.path)));
    }
    let apply = environment.begin(Mode::Apply(Scope::FilesOnly), false, None, None, Duration::ZERO)?;
    let files = apply.plan.changes.iter().filter(|c| c.is_change()).count();
    let (_, verdict) = apply.run(&ApplyOptions::default())?;
    if let Some((address, why)) = verdict.unconverged.first() {
        return Err(Error::msg(format!("{address} is still planned after adopting ({why})")));
    }
    record_managed(&environment, token)?;
    Ok(Adopted { output_dir: environment.output_dir.clone(), files })
}

/// What a managed target compares with "what redisctl applied last" where its API does not say
/// (ElastiCache: a member's settings when the member cannot be described; the AUTH token,
/// which the API never returns): recorded as adopted, under the environment's lock.
fn record_managed(environment: &Environment, token: Option<&Secret>) -> Result<(), Error> {
    let d = &environment.deployment;
    let records = crate::targets::of(d.contract.target).adopted_records(d, token)?;
    if records.is_empty() {
        return Ok(());
    }
    let store = environment.store()?;
    let _lock = store.lock(&format!("import --env {}", environment.name()), Duration::ZERO)?;
    let mut state = crate::plan::state::State::load_from(store, environment.name())?;
    for (address, record) in &records {
        state.put(address, record)?;
    }
    state.save()
}
