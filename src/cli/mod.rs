//! Command-line interface: argument definitions and the shared plumbing of every command
//! (project loading, diagnostics printing, colour, exit codes). One file per subcommand.

mod apply;
mod connect;
mod destroy;
mod diff;
mod parity;
mod plan;
mod render;
mod review;
mod schema;
mod status;
mod validate;

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

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
    after_help = "Examples:\n  redisctl validate --all\n  redisctl render --env local --out /tmp/local\n  redisctl schema > schemas/redisctl.schema.json"
)]
pub struct Cli {
    /// Project directory holding redisctl.yaml and environments/.
    #[arg(long, global = true, value_name = "DIR", default_value = ".")]
    pub project: PathBuf,
    /// Directory of templates overriding the embedded ones (same file names, e.g. redis.conf.j2).
    #[arg(long, global = true, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Never colour the output (also: the NO_COLOR environment variable).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// AWS API endpoint for `target: elasticache` (a private endpoint, or a local moto_server in tests).
    #[arg(long, global = true, value_name = "URL", env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check environments against the schema and Redis semantics; report every problem.
    Validate(validate::Args),
    /// Write the rendered artifacts of one environment.
    Render(render::Args),
    /// Show what apply would change: files, and later servers and cloud resources.
    Plan(plan::Args),
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
    /// Print the JSON Schema of the contract.
    Schema,
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
        match crate::targets::load(&self.project, env, secrets, sources) {
            Ok(loaded) => {
                self.print_diagnostics(sources, &loaded.warnings);
                Ok(loaded)
            }
            Err(diags) => {
                self.print_diagnostics(sources, &diags);
                let errors = diags.iter().filter(|d| d.is_error()).count();
                Err(Error::Invalid(format!("environment `{env}` is invalid: {errors} error(s)")))
            }
        }
    }

    pub fn print_diagnostics(&self, sources: &Sources, diags: &[Diagnostic]) {
        for d in diags {
            eprint!("{}", sources.render(d, self.color_err));
        }
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
        let policy = policy::evaluate(&loaded, Date::today());
        let report = policy.report(&loaded, &sources);
        Ok(Checked { loaded, sources, policy, report })
    }

    /// Load, render and plan one environment (no lock: planning only reads).
    pub fn plan(&self, env: &str, scope: Scope, exec: bool) -> Result<Plan, Error> {
        let Checked { loaded, report, .. } = self.load_checked(env, Secrets::Needed)?;
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

fn color_enabled(stream_is_tty: bool, no_color_flag: bool) -> bool {
    stream_is_tty && !no_color_flag && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Run the CLI; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
        }
    };
    let ctx = Ctx {
        project: Project::new(cli.project.clone()),
        templates: cli.templates.clone(),
        color_err: color_enabled(std::io::stderr().is_terminal(), cli.no_color),
        color_out: color_enabled(std::io::stdout().is_terminal(), cli.no_color),
        endpoint_url: cli.endpoint_url.clone(),
    };
    let result = match &cli.command {
        Command::Validate(args) => validate::run(&ctx, args),
        Command::Render(args) => render::run(&ctx, args),
        Command::Plan(args) => plan::run(&ctx, args),
        Command::Apply(args) => apply::run(&ctx, args),
        Command::Diff(args) => diff::run(&ctx, args),
        Command::Connect(args) => connect::run(&ctx, args),
        Command::Status(args) => status::run(&ctx, args),
        Command::Destroy(args) => destroy::run(&ctx, args),
        Command::Parity(args) => parity::run(&ctx, args),
        Command::Review(args) => review::run(&ctx, args),
        Command::Schema => schema::run(),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}
