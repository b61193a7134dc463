//! `redisctl review --env NAME`: the Redis Readiness Review of one environment, with its
//! Go/No-Go verdict.

use std::path::PathBuf;

use super::{Ctx, EXIT_ERROR, EXIT_OK};
use crate::error::Error;
use crate::model::drill::{record_path, DrillRecord};
use crate::policy::review::{review_with, Verdict};
use crate::secrets::Secrets;
use crate::units::Date;
use crate::util::fs::write_atomic;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReviewFormat {
    Markdown,
    Json,
}

#[derive(clap::Args, Debug)]
#[command(after_help = "The review follows the Redis Readiness Review template (Workload, Topology, Data Model, \
                        Client, Durability, Availability, Security, Observability, Incident Runbook) and its \
                        Go/No-Go criteria. Items come from the contract (`readiness`, `operations`, `client` and \
                        the deployment itself), from the readiness policy, and from the drill record \
                        drills/<env>.json (`redisctl drill failover|restore`): measured outage, data loss and restore \
                        time against `operations.objectives`, stale when older than 365 days or taken with another \
                        contract fingerprint. A blank item, an unmet criterion or \
                        a policy error makes the verdict No-Go.\n\
                        Exit code 0 for Go, 1 for No-Go or an invalid environment.\n\
                        Examples:\n  redisctl review --env production\n  redisctl review --env production --out review.md")]
pub struct Args {
    /// Environment to review.
    #[arg(long, value_name = "NAME")]
    pub env: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReviewFormat::Markdown)]
    pub format: ReviewFormat,
    /// Write the review to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(ctx: &Ctx, args: &Args) -> Result<i32, Error> {
    let checked = ctx.load_checked(&args.env, Secrets::FormOnly)?;
    // The drills' record (`redisctl drill`), when the project has one for this environment.
    let path = ctx.project.dir.join(record_path(&args.env));
    let drills = match std::fs::read_to_string(&path) {
        Ok(text) => Some(DrillRecord::parse(&text).map_err(|e| Error::msg(format!("{}: {e}", path.display())))?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
    };
    let r = review_with(&checked.loaded, &checked.report, Date::today(), drills.as_ref());
    let text = match args.format {
        ReviewFormat::Markdown => r.markdown(),
        ReviewFormat::Json => serde_json::to_string_pretty(&r).map_err(Error::msg)? + "\n",
    };
    match &args.out {
        Some(file) => {
            write_atomic(file, text.as_bytes(), 0o644)?;
            let verdict = if r.verdict == Verdict::Go { "Go" } else { "No-Go" };
            println!("Wrote the readiness review of `{}` to {}: {verdict}", args.env, file.display());
            for m in &r.missing {
                println!("  - {m}");
            }
        }
        None => print!("{text}"),
    }
    Ok(if r.verdict == Verdict::Go { EXIT_OK } else { EXIT_ERROR })
}
