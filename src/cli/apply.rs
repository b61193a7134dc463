//! `redisctl apply`: carry out a plan, with a confirmation, a lock, and guard rails.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use super::{Ctx, EXIT_OK};
use crate::error::Error;
use crate::output;
use crate::plan::engine::{self, check_destroy, SavedPlan};
use crate::plan::lock::Lock;
use crate::plan::state::State;
use crate::plan::{ApplyOptions, Scope};
use crate::units::parse_duration;

#[derive(clap::Args, Debug)]
#[command(after_help = "Without PLAN_FILE, apply plans first, shows the plan and asks for confirmation \
                        (type `yes`); --auto-approve skips the question (CI). With PLAN_FILE (from `plan --out`), \
                        it applies exactly the saved changes and refuses if anything changed since.\n\
                        Examples:\n  redisctl apply --env local\n  redisctl apply --env staging --auto-approve\n  redisctl apply staging.plan\n  \
                        redisctl apply --env production --live")]
pub struct Args {
    /// A plan saved with `redisctl plan --out FILE`.
    #[arg(value_name = "PLAN_FILE")]
    pub plan_file: Option<PathBuf>,
    /// Environment to apply (not needed with PLAN_FILE).
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// Allow changes that delete data (refused anyway where the contract sets safety.forbidDestroy).
    #[arg(long)]
    pub allow_destroy: bool,
    /// Allow changes that restart servers (rolling, one node at a time).
    #[arg(long)]
    pub allow_restart: bool,
    /// Only write the rendered files: do not start, stop or change running servers.
    #[arg(long, conflicts_with = "live")]
    pub files_only: bool,
    /// Also change the live settings of the running nodes of a file-rendering target (systemd);
    /// changes that need a restart are left to the service manager (the plan says how).
    #[arg(long)]
    pub live: bool,
    /// Finish password rotations: remove the old passwords that stayed valid during the rotation.
    #[arg(long)]
    pub finish_rotation: bool,
    /// Managed targets: take a snapshot before any change that can lose data.
    #[arg(long)]
    pub snapshot_first: bool,
    /// Managed targets: how long one step (create, modify, delete) may take (e.g. `90m`).
    #[arg(long, value_name = "DURATION")]
    pub wait_timeout: Option<String>,
    /// After writing the files, run the commands the plan lists for them (systemctl daemon-reload
    /// and restarts, docker compose up, kubectl apply), in order, stopping at the first failure.
    /// Without it, apply only writes files.
    #[arg(long)]
    pub exec: bool,
    /// How long to wait for another apply of the same environment to finish (e.g. `30s`).
    #[arg(long, value_name = "DURATION", default_value = "0s")]
    pub lock_timeout: String,
}

pub fn run(ctx: &Ctx, args: &Args) -> Result<i32, Error> {
    let saved = args.plan_file.as_deref().map(SavedPlan::read).transpose()?;
    let env = match (&saved, &args.env) {
        (Some(s), Some(e)) if &s.plan.environment != e => {
            return Err(Error::msg(format!("the plan file is for environment `{}`, not `{e}`", s.plan.environment)))
        }
        (Some(s), _) => s.plan.environment.clone(),
        (None, Some(e)) => e.clone(),
        (None, None) => return Err(Error::msg("give an environment (--env NAME) or a saved plan file")),
    };
    let timeout = std::time::Duration::from_millis(
        parse_duration(&args.lock_timeout).map_err(|e| Error::msg(format!("--lock-timeout: {e}")))?,
    );
    let opts = ApplyOptions {
        allow_destroy: args.allow_destroy,
        allow_restart: args.allow_restart,
        finish_rotation: args.finish_rotation,
        snapshot_first: args.snapshot_first,
        wait_timeout: args
            .wait_timeout
            .as_deref()
            .map(|t| parse_duration(t).map(std::time::Duration::from_millis))
            .transpose()
            .map_err(|e| Error::msg(format!("--wait-timeout: {e}")))?,
    };

    if let Some(s) = &saved {
        match (s.plan.exec.is_some(), args.exec) {
            (true, false) => {
                return Err(Error::msg(
                    "the saved plan runs commands after writing (it was made with --exec): pass --exec to apply it",
                ))
            }
            (false, true) => {
                return Err(Error::msg(
                    "the saved plan was made without --exec: make it again with `redisctl plan --exec --out FILE`",
                ))
            }
            _ => {}
        }
    }

    let checked = ctx.load_checked(&env)?;
    let errors = checked.policy.errors();
    if errors > 0 {
        ctx.print_policy(&checked);
        return Err(Error::Invalid(format!(
            "apply refused: environment `{env}` has {errors} readiness policy error(s); fix them or waive them \
             with a reason in `policy.waivers`"
        )));
    }
    let report = checked.report;
    let environment = ctx.open(checked.loaded)?;
    let _lock = Lock::acquire(&environment.output_dir, &format!("apply --env {env}"), timeout)?;
    let mut state = State::load(&environment.output_dir, &env)?;
    let scope = match &saved {
        // A saved plan is checked against the same observations it was made from.
        Some(s) if (args.files_only || args.live) && Scope::from_flags(args.files_only, args.live) != s.scope => {
            return Err(Error::msg(format!(
                "the plan file was made with scope `{}`; apply it without --files-only/--live",
                serde_json::to_value(s.scope).map_err(Error::msg)?.as_str().unwrap_or_default()
            )))
        }
        Some(s) => s.scope,
        None => Scope::from_flags(args.files_only, args.live),
    };
    let mut providers = environment.providers(scope)?;
    let mut plan = environment.plan(&mut providers, &state)?;
    if args.exec {
        plan.exec = Some(environment.exec_plan(&plan, &state)?);
    }
    let plan = crate::plan::Plan { policy: Some(report), ..plan };
    if let Some(saved) = &saved {
        saved.check_fresh(&plan)?;
    } else {
        print!("{}", output::text(&plan, ctx.color_out));
    }
    if !plan.has_changes() {
        if saved.is_some() {
            println!("{}", output::summary_line(&plan));
        }
        engine::apply(&plan, &mut providers, &mut state, &opts)?;
        return Ok(EXIT_OK);
    }
    check_destroy(&plan, &opts, environment.loaded.contract.safety.forbid_destroy)?;
    if saved.is_none() && !args.auto_approve && !confirm(&env, std::io::stdin().is_terminal())? {
        println!("Apply cancelled.");
        return Ok(EXIT_OK);
    }
    let report = engine::apply(&plan, &mut providers, &mut state, &opts)?;
    for (address, why) in &report.skipped {
        println!("Skipped {address}: {why}");
    }
    let s = report.summary;
    println!("\nApply complete! Resources: {} added, {} changed, {} destroyed.", s.add, s.change, s.destroy);
    if let Some(exec) = &plan.exec {
        let secrets = environment.secret_values(&ctx.project);
        crate::exec::run(exec, &mut state, &secrets.iter().map(|s| s.expose()).collect::<Vec<_>>())?;
    }
    Ok(EXIT_OK)
}

/// Ask for `yes` on the terminal; without one, refuse (scripts pass --auto-approve).
pub(super) fn confirm(env: &str, terminal: bool) -> Result<bool, Error> {
    if !terminal {
        return Err(Error::msg(
            "apply needs a confirmation but standard input is not a terminal: pass --auto-approve, or apply a saved plan file",
        ));
    }
    print!(
        "\nDo you want to perform these actions? (environment `{env}`)\n  \
         Only 'yes' will be accepted to approve.\n\n  Enter a value: "
    );
    std::io::stdout().flush().map_err(|e| Error::io("cannot write to the terminal", e))?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).map_err(|e| Error::io("cannot read the answer", e))?;
    Ok(answer.trim() == "yes")
}
