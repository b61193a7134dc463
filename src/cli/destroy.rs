//! `redisctl destroy`: stop a local stack. Data directories are kept unless --purge-data.

use std::io::IsTerminal;
use std::time::Duration;

use super::{Ctx, EXIT_OK};
use crate::error::Error;
use crate::output;
use crate::plan::engine::check_destroy;
use crate::plan::{Action, ApplyOptions, Plan, ResourceChange};
use crate::stack::{Stack, StopOptions};
use crate::targets::output_dir;

#[derive(clap::Args, Debug)]
#[command(after_help = "Shows what it will stop (and delete) and asks for `yes` like apply.\n\
                        Example:\n  redisctl destroy --env local --auto-approve")]
pub struct Args {
    #[arg(long, value_name = "NAME")]
    pub env: String,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// Also delete the data (RDB, AOF, nodes.conf): a destructive change.
    #[arg(long)]
    pub purge_data: bool,
    /// Managed targets: allow deleting the replication group and its data (refused without it).
    #[arg(long)]
    pub allow_destroy: bool,
    /// Managed targets: take a final snapshot before deleting.
    #[arg(long)]
    pub snapshot_first: bool,
}

/// Files a node or Sentinel keeps its data and runtime state in.
const DATA_FILES: &[&str] = &["dump.rdb", "appendonlydir", "appendonly.aof", "nodes.conf", "runtime.conf"];

pub fn run(ctx: &Ctx, args: &Args) -> Result<i32, Error> {
    let loaded = ctx.load(&args.env)?;
    if loaded.contract.target.facts().managed.is_some() {
        return destroy_managed(ctx, args, loaded);
    }
    let run_dir = output_dir(&ctx.project, &loaded);
    // Never tear a stack down in the middle of an apply.
    let _lock = crate::plan::lock::Lock::acquire(&run_dir, &format!("destroy --env {}", args.env), Duration::ZERO)?;
    let forbid = loaded.contract.safety.forbid_destroy;
    let stack = Stack::new(ctx.deployment(&loaded)?, run_dir)?;
    let names: Vec<String> = stack
        .deployment
        .sentinels
        .iter()
        .map(|s| s.name.clone())
        .chain(stack.deployment.nodes.iter().map(|n| n.name.clone()))
        .collect();
    let mut changes = Vec::new();
    for name in &names {
        if stack.pid(name)?.is_some() {
            let mut c = ResourceChange::new("process", format!("process:{name}"), Action::Delete);
            c.reason = Some("stopped with SHUTDOWN".into());
            changes.push(c);
        }
        if args.purge_data && DATA_FILES.iter().any(|f| stack.run.member_dir(name).join(f).exists()) {
            let mut c = ResourceChange::new("process", format!("data:{name}"), Action::Delete);
            c.flags.destructive = true;
            c.reason = Some("--purge-data: the data directory's contents are deleted".into());
            changes.push(c);
        }
    }
    let plan = Plan {
        environment: args.env.clone(),
        target: "process".into(),
        contract_fingerprint: loaded.fingerprint.clone(),
        observed_fingerprint: String::new(),
        changes,
        policy: None,
        exec: None,
    };
    print!("{}", output::text(&plan, ctx.color_out));
    if !plan.has_changes() {
        return Ok(EXIT_OK);
    }
    check_destroy(&plan, &ApplyOptions { allow_destroy: true, ..ApplyOptions::default() }, forbid)?;
    if !args.auto_approve && !super::apply::confirm(&args.env, std::io::stdin().is_terminal())? {
        println!("Destroy cancelled.");
        return Ok(EXIT_OK);
    }
    stack.down(StopOptions::default())?;
    let mut purged = 0;
    if args.purge_data {
        for name in &names {
            for f in DATA_FILES {
                let path = stack.run.member_dir(name).join(f);
                let removed = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
                if removed.is_ok() {
                    purged += 1;
                }
            }
        }
    }
    let s = plan.summary();
    println!("\nDestroy complete! Resources: {} destroyed ({purged} data files deleted).", s.destroy);
    Ok(EXIT_OK)
}

/// Delete a managed environment through its target's providers (ElastiCache: the replication
/// group, destructive and refused without `--allow-destroy`, then its user group, users,
/// parameter group and subnet group).
fn destroy_managed(ctx: &Ctx, args: &Args, loaded: crate::contract::Loaded) -> Result<i32, Error> {
    use crate::plan::state::State;
    let env = args.env.clone();
    let forbid = loaded.contract.safety.forbid_destroy;
    let environment = ctx.open(loaded)?;
    let _lock =
        crate::plan::lock::Lock::acquire(&environment.output_dir, &format!("destroy --env {env}"), Duration::ZERO)?;
    let mut state = State::load(&environment.output_dir, &env)?;
    let target = crate::targets::of(environment.loaded.contract.target);
    let mut providers = target
        .destroy_providers(&environment.opened())
        .unwrap_or_else(|| Err(Error::msg(format!("target `{}` has no managed destroy", environment.target()))))?;
    let plan = environment.plan(&mut providers, &state)?;
    print!("{}", output::text(&plan, ctx.color_out));
    if !plan.has_changes() {
        return Ok(EXIT_OK);
    }
    let opts = ApplyOptions {
        allow_destroy: args.allow_destroy,
        snapshot_first: args.snapshot_first,
        ..ApplyOptions::default()
    };
    check_destroy(&plan, &opts, forbid)?;
    if !args.auto_approve && !super::apply::confirm(&env, std::io::stdin().is_terminal())? {
        println!("Destroy cancelled.");
        return Ok(EXIT_OK);
    }
    let report = crate::plan::engine::apply(&plan, &mut providers, &mut state, &opts)?;
    println!("\nDestroy complete! Resources: {} destroyed.", report.summary.destroy);
    Ok(EXIT_OK)
}
