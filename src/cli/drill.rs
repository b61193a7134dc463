//! `redisctl drill failover|restore --env NAME`: measured drills whose records
//! (`drills/<env>.json`) the readiness review reads as evidence.

use std::time::Duration;

use super::{Ctx, EXIT_OK};
use crate::error::Error;
use crate::ops::drill::{self, FailoverOptions};
use crate::policy::EnvClass;
use crate::secrets::Secrets;
use crate::units::format_duration;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Fail the primary over under a bounded writer and measure the outage and the data lost.
    #[command(after_help = "On a local stack (`target: process`) of topology `sentinel` or `cluster`, a writer \
                            sends one SET followed by `WAIT 1 500` every 50 ms, as a client that waits for a \
                            replica would, while the drill forces a failover: SENTINEL FAILOVER or CLUSTER \
                            FAILOVER on a replica, or with --kill-primary a SIGKILL of the primary's process \
                            (detected after `topology.downAfter` / the cluster node timeout; the process is \
                            started again afterwards as a replica).\n\n\
                            With --live, a systemd fleet of topology `sentinel` (nodes and Sentinels at \
                            `systemd.hosts`, reached as `plan --live` reaches them, with the contract's TLS and \
                            credentials): a graceful SENTINEL FAILOVER only, since redisctl does not run those \
                            services.\n\n\
                            Measured: the longest time writes kept failing (the outage, compared with \
                            `operations.objectives.rto` by `review`), the time until writes succeeded again, \
                            writes a replica acknowledged that the new primary lacks (data loss), the new \
                            primary, and whether the endpoints of `redisctl connect` lead to it. The drill's \
                            keys are outside the application's prefix (`{redisctl-drill}:...`) and deleted \
                            afterwards. The figures are kept in drills/<env>.json: commit it.\n\n\
                            Refused on a production-like environment without --allow-production.\n\n\
                            Examples:\n  redisctl drill failover --env local\n  \
                            redisctl drill failover --env local --kill-primary --timeout 60s\n  \
                            redisctl drill failover --env staging --live")]
    Failover(FailoverArgs),
    /// Restore a fresh snapshot into a scratch server and compare the keys with the source.
    #[command(
        after_help = "On a local stack (`target: process`), the primary (each shard's primary in a cluster) takes a fresh \
                            snapshot (BGSAVE), which is copied into a scratch redis-server of the same version \
                            on a free 127.0.0.1 port. Measured: the time from the copy to the scratch server \
                            answering with every key loaded (compared with `operations.objectives.restoreTime` \
                            by `review`), the keys in both, and the keys per sampled prefix. The scratch server \
                            and its directory are removed afterwards, on failure too. The figures are kept in \
                            drills/<env>.json: commit it.\n\n\
                            Examples:\n  redisctl drill restore --env local"
    )]
    Restore(RestoreArgs),
}

#[derive(clap::Args, Debug)]
pub struct FailoverArgs {
    /// Environment to drill.
    #[arg(long, value_name = "NAME")]
    pub env: String,
    /// Kill the primary's process (SIGKILL) instead of a graceful failover.
    #[arg(long)]
    pub kill_primary: bool,
    /// Drill a fleet redisctl reaches at its addresses (`target: systemd`, topology `sentinel`):
    /// a graceful SENTINEL FAILOVER through the contract's Sentinels and operator credentials.
    #[arg(long, conflicts_with = "kill_primary")]
    pub live: bool,
    /// Run on a production-like environment (`productionLike: true`).
    #[arg(long)]
    pub allow_production: bool,
    /// The longest the drill may take, e.g. `60s`.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = duration)]
    pub timeout: Duration,
    /// How long to keep writing after writes succeed again.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = duration)]
    pub settle: Duration,
}

#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    /// Environment to drill.
    #[arg(long, value_name = "NAME")]
    pub env: String,
    /// Run on a production-like environment (`productionLike: true`).
    #[arg(long)]
    pub allow_production: bool,
    /// The longest each wait (snapshot, load) may take.
    #[arg(long, value_name = "DURATION", default_value = "120s", value_parser = duration)]
    pub timeout: Duration,
}

fn duration(s: &str) -> Result<Duration, String> {
    crate::units::parse_duration(s).map(Duration::from_millis)
}

fn opened(ctx: &Ctx, env: &str, allow_production: bool) -> Result<crate::environment::Environment, Error> {
    let loaded = ctx.load(env, Secrets::Needed)?;
    if EnvClass::of(&loaded.contract) == EnvClass::Production && !allow_production {
        return Err(Error::Refused(format!(
            "environment `{env}` is production-like: a drill disturbs it on purpose; re-run with --allow-production \
             if that is intended"
        )));
    }
    crate::environment::Environment::unrendered(&ctx.project, loaded)
}

pub fn run(ctx: &Ctx, command: &Command) -> Result<i32, Error> {
    match command {
        Command::Failover(a) => {
            let env = opened(ctx, &a.env, a.allow_production)?;
            let opts = FailoverOptions { kill_primary: a.kill_primary, settle: a.settle, timeout: a.timeout };
            let f = drill::failover(&env, opts, a.live)?;
            println!("Failover drill of `{}` ({}):", a.env, f.method);
            println!("  primary: {} -> {}", f.old_primary, f.new_primary);
            println!("  outage (writes failing): {}", format_duration(f.outage_ms));
            println!("  writes succeeded again after: {}", format_duration(f.recovered_after_ms));
            println!(
                "  writes: {} acknowledged by a replica, {} not acknowledged in time, {} failed",
                f.acknowledged, f.unacknowledged, f.failed
            );
            println!("  acknowledged writes lost: {}", f.acknowledged_lost);
            println!(
                "  connect endpoints reach the new primary: {}",
                if f.endpoints_reach_new_primary { "yes" } else { "no" }
            );
            let path = drill::keep(&ctx.project.dir, &a.env, |r| r.failover = Some(f))?;
            println!("Recorded in {} (commit it: `redisctl review` reads it).", path.display());
        }
        Command::Restore(a) => {
            let env = opened(ctx, &a.env, a.allow_production)?;
            let r = drill::restore(&env, a.timeout)?;
            println!("Restore drill of `{}` ({}):", a.env, r.source);
            println!("  restore time: {}", format_duration(r.restore_ms));
            println!("  keys: {} in the source, {} restored", r.source_keys, r.restored_keys);
            for p in &r.prefixes {
                println!("  {}:* — {} in the source, {} restored", p.prefix, p.source, p.restored);
            }
            let matches = r.matches;
            let path = drill::keep(&ctx.project.dir, &a.env, |rec| rec.restore = Some(r))?;
            println!("Recorded in {} (commit it: `redisctl review` reads it).", path.display());
            if !matches {
                return Err(Error::msg("the restored keys differ from the source"));
            }
        }
    }
    Ok(EXIT_OK)
}
