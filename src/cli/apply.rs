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
    if let Some(exec) = &plan.exec {
        let secrets = environment.secret_values(&ctx.project);
        crate::exec::run(exec, &mut state, &secrets.iter().map(|s| s.expose()).collect::<Vec<_>>())?;
    }
    // The output is the truth: observe again, and call the apply complete only when nothing
    // is left to do.
    let mut again = environment.providers(scope)?;
    let after = environment.plan(&mut again, &state)?;
    let verdict = Verdict::of(&report, &after, plan.exec.as_ref(), &opts);
    print!("{}", verdict.text(&report));
    Ok(verdict.exit_code())
}

/// What the re-observation after an apply found.
struct Verdict {
    /// Changes still planned that the apply skipped on purpose (a restart without
    /// `--allow-restart`, a command for another host): (what, why).
    skipped: Vec<(String, String)>,
    /// Changes still planned that the apply made or should have made: (address, reason).
    unconverged: Vec<(String, String)>,
}

impl Verdict {
    fn of(
        report: &engine::ApplyReport,
        after: &crate::plan::Plan,
        exec: Option<&crate::plan::ExecPlan>,
        opts: &ApplyOptions,
    ) -> Verdict {
        let skipped_now = |address: &str| report.skipped.iter().find(|(a, _)| a == address).map(|(_, why)| why.clone());
        let waits = |c: &crate::plan::ResourceChange| match c.flags.waits_for.as_deref() {
            Some("--finish-rotation") if !opts.finish_rotation => Some("waits for --finish-rotation".to_string()),
            _ => None,
        };
        let why_skipped = |c: &crate::plan::ResourceChange| skipped_now(&c.address).or_else(|| waits(c));
        let (mut skipped, mut unconverged) = (Vec::new(), Vec::new());
        for c in after.changes.iter().filter(|c| c.is_change()) {
            match why_skipped(c) {
                Some(why) => skipped.push((c.address.clone(), why)),
                None => {
                    unconverged.push((c.address.clone(), c.reason.clone().unwrap_or_else(|| c.action.verb().into())))
                }
            }
        }
        for command in exec.map(|e| e.elsewhere.as_slice()).unwrap_or_default() {
            skipped.push((command.clone(), "runs on another host: run it there".into()));
        }
        Verdict { skipped, unconverged }
    }

    /// 0: converged; 2 (as `plan --detailed-exitcode`): changes skipped on purpose remain;
    /// 1: something did not converge.
    fn exit_code(&self) -> i32 {
        match (self.unconverged.is_empty(), self.skipped.is_empty()) {
            (false, _) => super::EXIT_ERROR,
            (true, false) => super::EXIT_CHANGES,
            (true, true) => EXIT_OK,
        }
    }

    fn text(&self, report: &engine::ApplyReport) -> String {
        let s = report.summary;
        let done = format!("{} added, {} changed, {} destroyed", s.add, s.change, s.destroy);
        let list =
            |items: &[(String, String)]| items.iter().map(|(a, why)| format!("  {a}: {why}\n")).collect::<String>();
        let mut out = String::new();
        if !self.unconverged.is_empty() {
            out += &format!(
                "\nApply did not converge! Resources: {done}; observed again, {} change(s) are still planned:\n{}",
                self.unconverged.len(),
                list(&self.unconverged)
            );
        }
        if !self.skipped.is_empty() {
            if self.unconverged.is_empty() {
                out += &format!("\nApply incomplete! Resources: {done}.\n");
            }
            out += &format!("{} change(s) remain, skipped on purpose:\n{}", self.skipped.len(), list(&self.skipped));
        }
        if out.is_empty() {
            out = format!("\nApply complete! Resources: {done}.\n");
        }
        out
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
    use crate::plan::{Action, ExecPlan, Plan, ResourceChange};

    fn after(changes: Vec<ResourceChange>) -> Plan {
        Plan {
            environment: "dev".into(),
            target: "process".into(),
            contract_fingerprint: String::new(),
            observed_fingerprint: String::new(),
            changes,
            policy: None,
            exec: None,
        }
    }

    #[test]
    fn an_apply_is_complete_only_when_nothing_is_left() {
        let report = engine::ApplyReport::default();
        let opts = ApplyOptions::default();
        let done = Verdict::of(&report, &after(vec![]), None, &opts);
        assert_eq!(done.exit_code(), EXIT_OK);
        assert!(done.text(&report).contains("Apply complete!"));

        // Still planned although the apply made it: did not converge, exit 1.
        let left = ResourceChange::new("redis", "redis-config:node-0/maxmemory".into(), Action::Update);
        let open = Verdict::of(&report, &after(vec![left.clone()]), None, &opts);
        assert_eq!(open.exit_code(), super::super::EXIT_ERROR);
        let text = open.text(&report);
        assert!(text.contains("did not converge") && text.contains("redis-config:node-0/maxmemory"), "{text}");
        assert!(!text.contains("Apply complete!"), "{text}");

        // Skipped on purpose (by the provider, or waiting for a flag not given): exit 2.
        let skipped = engine::ApplyReport {
            skipped: vec![(left.address.clone(), "needs --allow-restart".into())],
            ..Default::default()
        };
        let held = Verdict::of(&skipped, &after(vec![left]), None, &opts);
        assert_eq!(held.exit_code(), super::super::EXIT_CHANGES);
        assert!(held.text(&skipped).contains("Apply incomplete!"));
        let mut rotation = ResourceChange::new("redis", "acl-user:node-0/app".into(), Action::Update);
        rotation.flags.waits_for = Some("--finish-rotation".into());
        let waiting = Verdict::of(&report, &after(vec![rotation.clone()]), None, &opts);
        assert_eq!(waiting.exit_code(), super::super::EXIT_CHANGES);
        let finishing = ApplyOptions { finish_rotation: true, ..ApplyOptions::default() };
        assert_eq!(
            Verdict::of(&report, &after(vec![rotation]), None, &finishing).exit_code(),
            super::super::EXIT_ERROR
        );

        // Commands for other hosts remain to be run there.
        let exec = ExecPlan { elsewhere: vec!["on 10.0.0.2: systemctl restart x".into()], ..Default::default() };
        assert_eq!(Verdict::of(&report, &after(vec![]), Some(&exec), &opts).exit_code(), super::super::EXIT_CHANGES);
    }
}
