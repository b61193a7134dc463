//! `redisctl state migrate` and `redisctl force-unlock`: moving an environment's state between
//! backends, and breaking a lock whose holder is gone.

use std::sync::Arc;
use std::time::Duration;

use clap::{Subcommand, ValueEnum};

use super::{Ctx, EXIT_OK};
use crate::environment::Environment;
use crate::error::Error;
use crate::plan::state::{LocalStore, State, Store};
use crate::secrets::Secrets;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  redisctl state migrate --env production\n  \
                        redisctl state migrate --env production --from s3 --bucket acme-redisctl-state")]
pub struct Args {
    #[command(subcommand)]
    pub command: StateCommand,
}

#[derive(Subcommand, Debug)]
pub enum StateCommand {
    /// Move an environment's state into the backend its contract names (`state.backend`).
    #[command(after_help = "To move a team from local state to S3:\n  \
        1. add `state: { backend: s3, bucket: BUCKET }` to the contract (a key per environment is derived),\n  \
        2. redisctl state migrate --env production      (moves deploy/production/.redisctl-state.json to S3),\n  \
        3. commit the contract; every machine now plans and locks against S3.\n\
        Back to local files: remove `state` from the contract, then\n  \
        redisctl state migrate --env production --from s3 --bucket BUCKET\n\
        Refused while either side is locked, or when the destination already holds a state.")]
    Migrate(MigrateArgs),
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum From {
    /// `.redisctl-state.json` in the environment's output directory.
    Local,
    /// An S3 object (`--bucket`, `--key`, `--region`).
    S3,
}

#[derive(clap::Args, Debug)]
pub struct MigrateArgs {
    /// Environment whose state moves.
    #[arg(long, value_name = "NAME")]
    pub env: String,
    /// Where the state is now.
    #[arg(long, value_enum, default_value_t = From::Local)]
    pub from: From,
    /// `--from s3`: the bucket it is in.
    #[arg(long, value_name = "BUCKET", required_if_eq("from", "s3"))]
    pub bucket: Option<String>,
    /// `--from s3`: its key (default: the contract's `state.key`, else `redisctl/<service>/<env>/state.json`).
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// `--from s3`: the bucket's region (default: `aws.region`, then `AWS_REGION`).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
}

#[derive(clap::Args, Debug)]
#[command(after_help = "Only a lock of the S3 backend can outlive its holder (a killed apply); a local lock is the \
                        OS's and goes with its process.\n\nExamples:\n  redisctl force-unlock --env production \
                        3f9c2a17b04e5d86")]
pub struct ForceUnlockArgs {
    /// Environment whose lock to break.
    #[arg(long, value_name = "NAME")]
    pub env: String,
    /// The lock's id, as the lock error names it: only that lock is broken.
    #[arg(value_name = "LOCK_ID")]
    pub id: String,
}

fn environment(ctx: &Ctx, env: &str) -> Result<Environment, Error> {
    let mut environment = Environment::unrendered(&ctx.project, ctx.load(env, Secrets::FormOnly)?)?;
    environment.endpoint_url = ctx.endpoint_url.clone();
    Ok(environment)
}

pub fn run(ctx: &Ctx, args: &Args) -> Result<i32, Error> {
    match &args.command {
        StateCommand::Migrate(a) => migrate(ctx, a),
    }
}

fn source(environment: &Environment, a: &MigrateArgs) -> Result<Arc<dyn Store>, Error> {
    match a.from {
        From::Local => Ok(Arc::new(LocalStore::new(&environment.output_dir))),
        From::S3 => s3_source(environment, a),
    }
}

#[cfg(feature = "s3-state")]
fn s3_source(environment: &Environment, a: &MigrateArgs) -> Result<Arc<dyn Store>, Error> {
    let c = &environment.loaded.contract;
    let bucket = a.bucket.as_deref().ok_or_else(|| Error::usage("--from s3 needs --bucket"))?;
    let key = a.key.clone().unwrap_or_else(|| c.state.key_for(&c.service, environment.name()));
    let region = a.region.as_deref().or(c.state.region.as_deref()).or(c.aws.region.as_deref());
    let store = crate::providers::s3_state::S3Store::new(bucket, &key, region, environment.endpoint_url.as_deref())?;
    Ok(Arc::new(store))
}

#[cfg(not(feature = "s3-state"))]
fn s3_source(_: &Environment, _: &MigrateArgs) -> Result<Arc<dyn Store>, Error> {
    Err(Error::msg("this redisctl was built without the `s3-state` feature; rebuild with default features"))
}

fn migrate(ctx: &Ctx, a: &MigrateArgs) -> Result<i32, Error> {
    let environment = environment(ctx, &a.env)?;
    let (from, to) = (source(&environment, a)?, environment.store()?);
    if from.describe() == to.describe() {
        return Err(Error::usage(format!(
            "the contract already keeps the state of `{}` in {}: set `state` in the contract to where it should go, \
             then migrate",
            a.env,
            to.describe()
        )));
    }
    // Both locked, without waiting: a migration under a running apply would move a state that is
    // about to change.
    let command = format!("state migrate --env {}", a.env);
    let _from_lock = from.lock(&command, Duration::ZERO)?;
    let _to_lock = to.lock(&command, Duration::ZERO)?;
    let old = State::load_from(from.clone(), &a.env)?;
    let Some(old_version) = old.version().cloned() else {
        return Err(Error::msg(format!("there is no state in {}: nothing to migrate", from.describe())));
    };
    let existing = State::load_from(to.clone(), &a.env)?;
    if existing.version().is_some() && !existing.is_empty() {
        return Err(Error::msg(format!(
            "{} already holds a state of `{}`: nothing was moved. Compare the two and remove the one that is wrong",
            to.describe(),
            a.env
        )));
    }
    // Over an empty state found there (an apply of nothing), or as a new object.
    let mut moved = old.moved_to(to.clone(), existing.version().cloned());
    moved.save()?;
    // Read after write: the destination holds exactly what was moved, before the source goes.
    let written = State::load_from(to.clone(), &a.env)?;
    if written.to_bytes()? != old.to_bytes()? {
        return Err(Error::msg(format!("{} does not read back what was written: the source was kept", to.describe())));
    }
    from.remove(&old_version)?;
    println!("Moved the state of `{}` from {} to {}.", a.env, from.describe(), to.describe());
    Ok(EXIT_OK)
}

pub fn force_unlock(ctx: &Ctx, args: &ForceUnlockArgs) -> Result<i32, Error> {
    let environment = environment(ctx, &args.env)?;
    println!("{}", environment.store()?.force_unlock(&args.id)?);
    Ok(EXIT_OK)
}
