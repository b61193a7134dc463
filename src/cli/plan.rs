//! `redisctl plan`: show what apply would change, for people and for machines.

use std::path::PathBuf;

use clap::ValueEnum;

use super::{Ctx, EXIT_CHANGES, EXIT_OK};
use crate::error::Error;
use crate::output;
use crate::plan::engine::SavedPlan;
use crate::plan::Scope;
use crate::util::fs::write_atomic;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanFormat {
    Text,
    Markdown,
    Json,
}

#[derive(clap::Args, Debug)]
#[command(after_help = "Symbols: + create, ~ update in place, - destroy, -/+ replace.\n\
                        Exit codes: 0 success, 1 error; with --detailed-exitcode: 0 no changes, 1 error, 2 changes.\n\
                        Examples:\n  redisctl plan --env local\n  redisctl plan --env production --format markdown > plan.md\n  \
                        redisctl plan --env staging --out staging.plan && redisctl apply staging.plan\n  \
                        redisctl plan --env production --live")]
pub struct Args {
    /// Environment to plan.
    #[arg(long, value_name = "NAME")]
    pub env: String,
    /// Output format: text (terminal), markdown (pull-request comment), json (machines).
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Save the plan to FILE; `redisctl apply FILE` applies exactly these changes.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 2 when there are changes, 0 when there are none.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Only the rendered files: do not look at (or, for apply, start or change) running servers.
    #[arg(long, conflicts_with = "live")]
    pub files_only: bool,
    /// Also show the commands `apply --exec` will run after writing (systemctl, docker compose,
    /// kubectl); a plan saved with --exec carries them.
    #[arg(long)]
    pub exec: bool,
    /// Also read the live settings of the running nodes of a file-rendering target (systemd),
    /// through the addresses and operator credentials of the contract.
    #[arg(long)]
    pub live: bool,
}

pub fn run(ctx: &Ctx, args: &Args) -> Result<i32, Error> {
    let scope = Scope::from_flags(args.files_only, args.live);
    let plan = ctx.plan(&args.env, scope, args.exec)?;
    match args.format {
        PlanFormat::Text => print!("{}", output::text(&plan, ctx.color_out)),
        PlanFormat::Markdown => print!("{}", output::markdown(&plan)),
        PlanFormat::Json => println!("{}", serde_json::to_string_pretty(&output::json(&plan)).map_err(Error::msg)?),
    }
    if let Some(file) = &args.out {
        let text = serde_json::to_string_pretty(&SavedPlan::new(plan.clone(), scope)).map_err(Error::msg)?;
        write_atomic(file, text.as_bytes(), 0o600)?;
        if args.format == PlanFormat::Text {
            println!(
                "\nSaved the plan to {}. Apply exactly these changes with: redisctl apply {}",
                file.display(),
                file.display()
            );
        }
    }
    Ok(if args.detailed_exitcode && plan.has_changes() { EXIT_CHANGES } else { EXIT_OK })
}
