//! `redisctl destroy`: plan and apply the teardown of an environment through its target's
//! providers: a local stack is stopped (data kept unless --purge-data), a managed one deleted.

use std::io::IsTerminal;
use std::time::Duration;

use super::{Ctx, EXIT_OK};
use crate::environment::Mode;
use crate::error::Error;
use crate::output;
use crate::plan::ApplyOptions;
use crate::secrets::Secrets;

#[derive(clap::Args, Debug)]
#[command(after_help = "Shows what it will stop (and delete) and asks for `yes` like apply.\n\n\
                        Examples:\n  redisctl destroy --env local\n  redisctl destroy --env local --auto-approve --purge-data\n  \
                        redisctl destroy --env production --allow-destroy --snapshot-first   # target: elasticache")]
pub struct Args {
    /// Environment to tear down (targets `process` and `elasticache`).
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

pub fn run(ctx: &Ctx, args: &Args) -> Result<i32, Error> {
    let loaded = ctx.load(&args.env, Secrets::Needed)?;
    let managed = loaded.contract.target.facts().managed.is_some();
    let environment = ctx.open(loaded)?;
    // Never tear an environment down in the middle of an apply.
    let mode = Mode::Destroy { purge_data: args.purge_data };
    let destroy = environment.begin(mode, false, None, None, Duration::ZERO)?;
    print!("{}", output::text(&destroy.plan, ctx.color_out));
    if !destroy.plan.has_changes() {
        return Ok(EXIT_OK);
    }
    let opts = ApplyOptions {
        // --purge-data is the explicit flag for a local stack's data.
        allow_destroy: args.allow_destroy || (args.purge_data && !managed),
        snapshot_first: args.snapshot_first,
        ..ApplyOptions::default()
    };
    destroy.check(&opts)?;
    if !args.auto_approve && !super::apply::confirm(&args.env, std::io::stdin().is_terminal())? {
        println!("Destroy cancelled.");
        return Ok(EXIT_OK);
    }
    let (report, verdict) = destroy.run(&opts)?;
    print!("{}", output::verdict("Destroy", &report, &verdict));
    Ok(super::apply::exit_code(&verdict))
}
