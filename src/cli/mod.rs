//! Command-line interface: argument definitions and the shared plumbing of every command
//! (project loading, diagnostics printing, colour, exit codes). One file per subcommand.

mod apply;
mod completions;
mod connect;
mod destroy;
mod diff;
mod drill;
mod import;
mod init;
mod logging;
mod man;
mod parity;
mod plan;
mod render;
mod review;
mod schema;
mod show;
mod state;
mod status;
mod validate;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ColorChoice, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::contract::{Loaded, Project};
use crate::diagnostics::{Diagnostic, Sources};
use crate::environment::Environment;
use crate::error::Error;
use crate::plan::{Plan, Scope};
use crate::policy::{self, Evaluation, PolicyReport};
use crate::render::Templates;
use crate::resolve::Deployment;
use crate::secrets::Secrets;
use crate::units::Date;

/// Exit codes (documented in the README).
pub const EXIT_OK: i32 = 0;
pub const EXIT_ERROR: i32 = 1;
pub const EXIT_CHANGES: i32 = 2;
/// A command line that does not parse (clap's own status, 2, means "changes present" here).
pub const EXIT_USAGE: i32 = 64;

#[derive(Parser, Debug)]
#[command(
    name = "redisctl",
    version,
    about = "Declarative provisioning for Redis: validate, render, plan and apply a configuration contract",
    long_about = "redisctl reads a project's contract (redisctl.yaml plus environments/<env>.yaml), checks it \
                  against the JSON Schema and Redis semantics, and renders, plans and applies the environment.\n\n\
                  Exit codes: 0 success (or no changes), 1 error or invalid contract, 2 changes present \
                  (plan --detailed-exitcode).",
    after_help = "Every command has --help with examples; `redisctl man` prints the manual page and \
                  `redisctl completions SHELL` a completion script.\n\n\
                  Examples:\n  redisctl validate --all\n  redisctl plan --env local\n  \
                  redisctl render --env local --out /tmp/local\n  redisctl schema > schemas/redisctl.schema.json"
)]
pub struct Cli {
    /// Project directory holding redisctl.yaml and environments/.
    #[arg(long, global = true, value_name = "DIR", default_value = ".")]
    pub project: PathBuf,
    /// Directory of templates overriding the embedded ones (same file names, e.g. redis.conf.j2).
    #[arg(long, global = true, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// When to colour the output: `auto` colours a terminal unless NO_COLOR is set; `always`
    /// colours pipes and CI logs too (and wins over NO_COLOR); `never` does not colour.
    #[arg(long, global = true, value_name = "WHEN", value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// The same as `--color never`.
    #[arg(long, global = true, conflicts_with = "color")]
    pub no_color: bool,
    /// More detail on standard error: `-v` what redisctl does and observes, `-vv` every command
    /// sent to a local stack's servers (never a secret). `RUST_LOG` overrides it.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only warnings and errors on standard error (no progress lines).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// AWS API endpoint for `target: elasticache` (a private endpoint, or a local moto_server in tests).
    #[arg(long, global = true, value_name = "URL", env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Scaffold a new project: base contract, a `local` overlay and one shared environment.
    Init(init::Args),
    /// Check environments against the schema and Redis semantics; report every problem.
    Validate(validate::Args),
    /// Write the rendered artifacts of one environment.
    Render(render::Args),
    /// Show what apply would change: files, running servers, cloud resources.
    Plan(plan::Args),
    /// Show a plan saved with `plan --out FILE`, as text, markdown or JSON.
    Show(show::Args),
    /// Apply the plan of an environment (or a saved plan) safely.
    Apply(apply::Args),
    /// Compare the rendered artifacts of two environments.
    Diff(diff::Args),
    /// Show the nodes and Sentinels of a local stack: role, address, pid, memory, replication.
    Status(status::Args),
    /// Stop a local stack (data kept unless --purge-data).
    Destroy(destroy::Args),
    /// Print what an application needs to connect (endpoints, mode, user, password reference).
    Connect(connect::Args),
    /// Show what differs between all environments, and fail on locked settings that differ.
    Parity(parity::Args),
    /// Write the Redis Readiness Review of an environment, with its Go/No-Go verdict.
    Review(review::Args),
    /// Write the contract of a running deployment (node, replicas, Sentinel set, Cluster, ElastiCache).
    Import(Box<import::Args>),
    /// Measured drills (failover, restore) whose records `review` reads as evidence.
    #[command(
        subcommand,
        after_help = "Each drill runs against a local stack (`target: process`) and writes its figures to \
                      drills/<env>.json in the project; commit it: `redisctl review --env NAME` shows them against \
                      `operations.objectives` (rto, rpo, restoreTime) and marks them stale once the contract changes \
                      or they are older than 365 days.\n\n\
                      Examples:\n  redisctl drill failover --env local\n  \
                      redisctl drill failover --env local --kill-primary\n  redisctl drill restore --env local"
    )]
    Drill(drill::Command),
    /// Move an environment's state between backends (`state migrate`).
    State(state::Args),
    /// Break the S3 lock of an apply that is gone (killed, its machine lost), by its id.
    ForceUnlock(state::ForceUnlockArgs),
    /// Print the JSON Schema of the contract (`--overlay`: of an environment overlay).
    Schema(schema::Args),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(completions::Args),
    /// Print the manual page (roff), or write one page per command.
    Man(man::Args),
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// One environment, loaded and judged by the readiness policy.
pub struct Checked {
    pub loaded: Loaded,
    pub sources: Sources,
    pub policy: Evaluation,
    pub report: PolicyReport,
}

impl Checked {
    pub fn of(loaded: Loaded, sources: Sources) -> Checked {
        let policy = policy::evaluate(&loaded, Date::today());
        let report = policy.report(&loaded, &sources);
        Checked { loaded, sources, policy, report }
    }
}

/// What every command gets: the project, where templates come from, whether to colour.
pub struct Ctx {
    pub project: Project,
    pub templates: Option<PathBuf>,
    pub color_err: bool,
    pub color_out: bool,
    pub endpoint_url: Option<String>,
}

impl Ctx {
    /// Load one environment, printing its diagnostics (warnings too) to stderr. `secrets`:
    /// whether this command reads the secret values (only those that hash or pass them do).
    pub fn load(&self, env: &str, secrets: Secrets) -> Result<Loaded, Error> {
        self.load_with_sources(env, secrets, &mut Sources::default())
    }

    /// `load`, keeping the source texts (to locate policy findings).
    pub fn load_with_sources(&self, env: &str, secrets: Secrets, sources: &mut Sources) -> Result<Loaded, Error> {
        self.load_diagnosed(env, secrets, sources)
            .map_err(|errors| Error::Invalid(format!("environment `{env}` is invalid: {} error(s)", errors.len())))
    }

    /// `load_with_sources`, failing with the error diagnostics themselves (for a report that
    /// names them, `plan --all`). Every diagnostic is printed to stderr either way.
    pub fn load_diagnosed(
        &self,
        env: &str,
        secrets: Secrets,
        sources: &mut Sources,
    ) -> Result<Loaded, Vec<Diagnostic>> {
        let (shown, loaded) = self.load_shown(env, secrets, sources);
        eprint!("{shown}");
        loaded
    }

    /// `load_diagnosed` with its diagnostics as text, not printed yet (for environments loaded
    /// side by side and reported in order).
    pub fn load_shown(
        &self,
        env: &str,
        secrets: Secrets,
        sources: &mut Sources,
    ) -> (String, Result<Loaded, Vec<Diagnostic>>) {
        match crate::targets::load(&self.project, env, secrets, sources) {
            Ok(loaded) => (self.diagnostics_text(sources, &loaded.warnings), Ok(loaded)),
            Err(diags) => {
                (self.diagnostics_text(sources, &diags), Err(diags.into_iter().filter(Diagnostic::is_error).collect()))
            }
        }
    }

    pub fn print_diagnostics(&self, sources: &Sources, diags: &[Diagnostic]) {
        eprint!("{}", self.diagnostics_text(sources, diags));
    }

    fn diagnostics_text(&self, sources: &Sources, diags: &[Diagnostic]) -> String {
        diags.iter().map(|d| sources.render(d, self.color_err)).collect()
    }

    /// Print the policy's findings that are not waived, and problems with waivers.
    pub fn print_policy(&self, checked: &Checked) {
        let diags: Vec<Diagnostic> = checked.policy.diagnostics().cloned().collect();
        self.print_diagnostics(&checked.sources, &diags);
    }

    pub fn deployment(&self, loaded: &Loaded) -> Result<Deployment, Error> {
        Deployment::resolve(loaded, &self.project.dir).map_err(Error::msg)
    }

    /// Load one environment and evaluate the readiness policy on it.
    pub fn load_checked(&self, env: &str, secrets: Secrets) -> Result<Checked, Error> {
        let mut sources = Sources::default();
        let loaded = self.load_with_sources(env, secrets, &mut sources)?;
        Ok(Checked::of(loaded, sources))
    }

    /// Load, render and plan one environment (no lock: planning only reads).
    pub fn plan(&self, env: &str, scope: Scope, exec: bool) -> Result<Plan, Error> {
        self.plan_checked(self.load_checked(env, Secrets::Needed)?, scope, exec)
    }

    /// Render and plan an environment loaded with `Secrets::Needed`.
    pub fn plan_checked(&self, checked: Checked, scope: Scope, exec: bool) -> Result<Plan, Error> {
        let Checked { loaded, report, .. } = checked;
        self.open(loaded)?.plan(scope, exec, Some(report))
    }

    /// Render an environment and make it ready for its providers.
    pub fn open(&self, loaded: Loaded) -> Result<Environment, Error> {
        let mut environment = Environment::open(&self.project, loaded, &self.templates()?)?;
        environment.endpoint_url = self.endpoint_url.clone();
        Ok(environment)
    }

    pub fn templates(&self) -> Result<Templates, Error> {
        Templates::new(self.templates.as_deref()).map_err(Error::msg)
    }
}

/// Whether to colour a stream: `--color always|never` decide; `auto` asks anstream about the
/// stream (a terminal, NO_COLOR unset or empty, CLICOLOR, TERM not `dumb`).
fn color_enabled(choice: ColorChoice, auto: anstream::ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => auto != anstream::ColorChoice::Never,
    }
}

/// The colour asked for on the command line, found before clap parses it, so that clap's own
/// help and error messages follow `--color` too. The last one given wins, as in clap.
fn color_in_args(args: &[OsString]) -> ColorChoice {
    let mut choice = ColorChoice::Auto;
    let mut words = args.iter().skip(1).map(|a| a.to_str().unwrap_or_default());
    while let Some(word) = words.next() {
        let value = match word {
            "--" => break,
            "--no-color" => Some("never"),
            "--color" => words.next(),
            _ => word.strip_prefix("--color="),
        };
        if let Some(c) = value.and_then(|v| ColorChoice::from_str(v, false).ok()) {
            choice = c;
        }
    }
    choice
}

/// Run the CLI; returns the process exit code.
pub fn main() -> i32 {
    let args: Vec<OsString> = std::env::args_os().collect();
    let parsed =
        Cli::command().color(color_in_args(&args)).try_get_matches_from(&args).and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
        }
    };
    let choice = if cli.no_color { ColorChoice::Never } else { cli.color };
    logging::init(cli.verbose, cli.quiet);
    let ctx = Ctx {
        project: Project::new(cli.project.clone()),
        templates: cli.templates.clone(),
        color_err: color_enabled(choice, anstream::AutoStream::choice(&std::io::stderr())),
        color_out: color_enabled(choice, anstream::AutoStream::choice(&std::io::stdout())),
        endpoint_url: cli.endpoint_url.clone(),
    };
    let result = match &cli.command {
        Command::Init(args) => init::run(&ctx.project.dir, args),
        Command::Validate(args) => validate::run(&ctx, args),
        Command::Render(args) => render::run(&ctx, args),
        Command::Plan(args) => plan::run(&ctx, args),
        Command::Show(args) => show::run(&ctx, args),
        Command::Apply(args) => apply::run(&ctx, args),
        Command::Diff(args) => diff::run(&ctx, args),
        Command::Connect(args) => connect::run(&ctx, args),
        Command::Status(args) => status::run(&ctx, args),
        Command::Destroy(args) => destroy::run(&ctx, args),
        Command::State(args) => state::run(&ctx, args),
        Command::ForceUnlock(args) => state::force_unlock(&ctx, args),
        Command::Parity(args) => parity::run(&ctx, args),
        Command::Review(args) => review::run(&ctx, args),
        Command::Import(args) => import::run(&ctx, args),
        Command::Drill(command) => drill::run(&ctx, command),
        Command::Schema(args) => schema::run(args),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}
