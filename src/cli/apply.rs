//! `redisctl apply`: carry out a plan, with a confirmation, a lock, and guard rails.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use super::{Ctx, EXIT_OK};
use crate::environment::{Mode, Verdict};
use crate::error::Error;
use crate::output;
use crate::plan::engine::SavedPlan;
use crate::plan::{ApplyOptions, Scope};
use crate::secrets::Secrets;
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
            return Err(Error::usage(format!("the plan file is for environment `{}`, not `{e}`", s.plan.environment)))
        }
        (Some(s), _) => s.plan.environment.clone(),
        (None, Some(e)) => e.clone(),
        (None, None) => return Err(Error::usage("give an environment (--env NAME) or a saved plan file")),
    };
    let timeout = std::time::Duration::from_millis(
        parse_duration(&args.lock_timeout).map_err(|e| Error::usage(format!("--lock-timeout: {e}")))?,
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
            .map_err(|e| Error::usage(format!("--wait-timeout: {e}")))?,
    };

    if let Some(s) = &saved {
        match (s.plan.exec.is_some(), args.exec) {
            (true, false) => {
                return Err(Error::usage(
                    "the saved plan runs commands after writing (it was made with --exec): pass --exec to apply it",
                ))
            }
            (false, true) => {
                return Err(Error::usage(
                    "the saved plan was made without --exec: make it again with `redisctl plan --exec --out FILE`",
                ))
            }
            _ => {}
        }
    }

    let checked = ctx.load_checked(&env, Secrets::Needed)?;
    let errors = checked.policy.errors();
    if errors > 0 {
        ctx.print_policy(&checked);
        return Err(Error::refused(format!(
            "apply refused: environment `{env}` has {errors} readiness policy error(s); fix them or waive them \
             with a reason in `policy.waivers`"
        )));
    }
    let report = checked.report;
    let environment = ctx.open(checked.loaded)?;
    let scope = match &saved {
        // A saved plan is checked against the same observations it was made from.
        Some(s) if (args.files_only || args.live) && Scope::from_flags(args.files_only, args.live) != s.scope => {
            return Err(Error::usage(format!(
                "the plan file was made with scope `{}`; apply it without --files-only/--live",
                serde_json::to_value(s.scope).map_err(Error::msg)?.as_str().unwrap_or_default()
            )))
        }
        Some(s) => s.scope,
        None => Scope::from_flags(args.files_only, args.live),
    };
    let apply = environment.begin(Mode::Apply(scope), args.exec, Some(report), saved.as_ref(), timeout)?;
    if saved.is_none() {
        print!("{}", output::text(&apply.plan, ctx.color_out));
    } else if !apply.plan.has_changes() {
        println!("{}", output::summary_line(&apply.plan));
    }
    let changes = apply.plan.has_changes();
    if changes {
        apply.check(&opts)?;
        if saved.is_none() && !args.auto_approve && !confirm(&env, std::io::stdin().is_terminal())? {
            println!("Apply cancelled.");
            return Ok(EXIT_OK);
        }
    }
    let (report, verdict) = apply.run(&opts)?;
    if !changes {
        return Ok(EXIT_OK);
    }
    for (address, why) in &report.skipped {
        println!("Skipped {address}: {why}");
    }
    print!("{}", output::verdict("Apply", &report, &verdict));
    Ok(exit_code(&verdict))
}

/// 0: converged; 2 (as `plan --detailed-exitcode`): changes skipped on purpose remain;
/// 1: something did not converge.
pub(super) fn exit_code(verdict: &Verdict) -> i32 {
    match (verdict.converged(), verdict.complete()) {
        (false, _) => super::EXIT_ERROR,
        (true, false) => super::EXIT_CHANGES,
        (true, true) => EXIT_OK,
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::engine::ApplyReport;
    use crate::plan::{Action, Address, Plan, ResourceChange};

    #[test]
    fn the_exit_status_tells_complete_incomplete_and_unconverged_apart() {
        let report = ApplyReport::default();
        let plan = |changes| Plan::new("dev", "process", changes);
        let opts = ApplyOptions::default();
        let done = Verdict::of(&report, &plan(vec![]), None, &opts);
        assert_eq!(exit_code(&done), EXIT_OK);
        assert!(output::verdict("Apply", &report, &done).contains("Apply complete!"));

        let left = ResourceChange::new("redis", Address::new("redis-config", "node-0/maxmemory"), Action::Update);
        let open = Verdict::of(&report, &plan(vec![left.clone()]), None, &opts);
        assert_eq!(exit_code(&open), super::super::EXIT_ERROR);
        let text = output::verdict("Apply", &report, &open);
        assert!(text.contains("did not converge") && text.contains("redis-config:node-0/maxmemory"), "{text}");
        assert!(!text.contains("Apply complete!"), "{text}");

        let skipped = ApplyReport { skipped: vec![(left.address.clone(), "needs --allow-restart".into())], ..report };
        let held = Verdict::of(&skipped, &plan(vec![left]), None, &opts);
        assert_eq!(exit_code(&held), super::super::EXIT_CHANGES);
        let text = output::verdict("Apply", &skipped, &held);
        assert!(text.contains("Apply incomplete!") && text.contains("needs --allow-restart"), "{text}");
    }
}
