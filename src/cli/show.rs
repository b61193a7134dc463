//! `redisctl show FILE`: a plan saved with `plan --out FILE`, presented like `plan` does.

use std::path::PathBuf;

use super::plan::{print_plan, PlanFormat};
use super::{Ctx, EXIT_OK};
use crate::error::Error;
use crate::plan::engine::SavedPlan;

#[derive(clap::Args, Debug)]
#[command(after_help = "The file is checked (a plan file of this format, not edited since it was saved) but not \
                        compared with what exists now: `apply FILE` does that and refuses a stale plan.\n\n\
                        Examples:\n  redisctl show staging.plan\n  redisctl show staging.plan --format markdown > plan.md\n  \
                        redisctl show staging.plan --format json | jq '.resource_changes[].address'")]
pub struct Args {
    /// A plan saved with `redisctl plan --out FILE`.
    #[arg(value_name = "PLAN_FILE")]
    pub file: PathBuf,
    /// Output format: text (terminal), markdown (pull-request comment), json (machines).
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

pub fn run(ctx: &Ctx, args: &Args) -> Result<i32, Error> {
    let saved = SavedPlan::read(&args.file)?;
    print_plan(ctx, &saved.plan, args.format)?;
    Ok(EXIT_OK)
}
