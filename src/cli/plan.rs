//! `redisctl plan`: show what apply would change, for people and for machines; one
//! environment, or every one (`--all`) in one document for a pull-request comment.

use std::path::PathBuf;

use clap::ValueEnum;

use super::{Checked, Ctx, EXIT_CHANGES, EXIT_ERROR, EXIT_OK};
use crate::diagnostics::{Diagnostic, Sources};
use crate::error::Error;
use crate::output::{self, EnvironmentPlan};
use crate::plan::engine::SavedPlan;
use crate::plan::{Plan, Scope};
use crate::secrets::Secrets;
use crate::util::fs::write_atomic;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanFormat {
    Text,
    Markdown,
    Json,
}

#[derive(clap::Args, Debug)]
#[command(after_help = "Symbols: + create, ~ update in place, - destroy, -/+ replace.\n\
                        With --all, every environment in one document: a summary table first, then each plan; \
                        an environment that cannot be planned here (an unset password variable, no cloud \
                        credentials) is reported with the reason and the others are still planned. The markdown \
                        starts with the hidden marker `<!-- redisctl-plan -->`, so a bot updates one sticky \
                        comment, and stays under 60,000 characters.\n\
                        Exit codes: 0 success, 1 error (with --all: an environment was not planned); with \
                        --detailed-exitcode: 0 no changes, 1 error, 2 changes.\n\n\
                        Examples:\n  redisctl plan --env local\n  redisctl plan --env production --format markdown > plan.md\n  \
                        redisctl plan --env staging --out staging.plan && redisctl show staging.plan && redisctl apply staging.plan\n  \
                        redisctl plan --env production --live\n  \
                        redisctl plan --all --format markdown > plan-comment.md")]
pub struct Args {
    /// Environment to plan.
    #[arg(long, value_name = "NAME", required_unless_present = "all", conflicts_with = "all")]
    pub env: Option<String>,
    /// Plan every environment of the project, in one document (text or markdown).
    #[arg(long, conflicts_with = "out")]
    pub all: bool,
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
    let Some(env) = args.env.as_deref() else {
        return run_all(ctx, args, scope);
    };
    let plan = ctx.plan(env, scope, args.exec)?;
    print_plan(ctx, &plan, args.format)?;
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
    Ok(exit_code(args.detailed_exitcode, plan.has_changes()))
}

/// One plan in `format` (also `show FILE`).
pub(super) fn print_plan(ctx: &Ctx, plan: &Plan, format: PlanFormat) -> Result<(), Error> {
    match format {
        PlanFormat::Text => print!("{}", output::text(plan, ctx.color_out)),
        PlanFormat::Markdown => print!("{}", output::markdown(plan)),
        PlanFormat::Json => println!("{}", serde_json::to_string_pretty(&output::json(plan)).map_err(Error::msg)?),
    }
    Ok(())
}

fn exit_code(detailed: bool, changes: bool) -> i32 {
    if detailed && changes {
        EXIT_CHANGES
    } else {
        EXIT_OK
    }
}

/// `plan --all`: every environment; one that cannot be planned is reported, not fatal.
fn run_all(ctx: &Ctx, args: &Args, scope: Scope) -> Result<i32, Error> {
    if args.format == PlanFormat::Json {
        return Err(Error::usage(
            "plan --all writes text or markdown; for JSON, plan each environment: plan --env NAME --format json",
        ));
    }
    let names = ctx.project.environments().map_err(Error::msg)?;
    if names.is_empty() {
        return Err(Error::msg("no environments found in environments/"));
    }
    let plans: Vec<EnvironmentPlan> = names
        .iter()
        .map(|env| EnvironmentPlan { environment: env.clone(), plan: plan_or_why(ctx, env, scope, args.exec) })
        .collect();
    match args.format {
        PlanFormat::Markdown => print!("{}", output::markdown_all(&plans)),
        _ => print!("{}", output::text_all(&plans, ctx.color_out)),
    }
    if plans.iter().any(|p| p.plan.is_err()) {
        return Ok(EXIT_ERROR);
    }
    Ok(exit_code(args.detailed_exitcode, plans.iter().filter_map(|p| p.plan.as_ref().ok()).any(Plan::has_changes)))
}

/// The plan of `env`, or why there is none: each error diagnostic with its place, or the error.
fn plan_or_why(ctx: &Ctx, env: &str, scope: Scope, exec: bool) -> Result<Plan, Vec<String>> {
    let mut sources = Sources::default();
    let loaded = ctx
        .load_diagnosed(env, Secrets::Needed, &mut sources)
        .map_err(|errors| errors.iter().map(|d: &Diagnostic| located(&sources, d)).collect::<Vec<String>>())?;
    ctx.plan_checked(Checked::of(loaded, sources), scope, exec).map_err(|e| {
        eprintln!("error: {env}: {e}");
        vec![e.to_string()]
    })
}

/// `RCTL050 at redisctl.yaml:23:17: password of ACL user ...`.
fn located(sources: &Sources, d: &Diagnostic) -> String {
    match d.span {
        Some(span) => format!("{} at {}: {}", d.code, sources.location(span), d.message),
        None => format!("{}: {}", d.code, d.message),
    }
}
