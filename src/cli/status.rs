//! `redisctl status`: the nodes and Sentinels of a local stack, as a table or JSON.

use super::{Ctx, Format, EXIT_OK};
use crate::error::Error;
use crate::secrets::Secrets;
use crate::stack::Stack;
use crate::targets::output_dir;
use crate::units::format_size;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  redisctl status --env local\n  redisctl status --env local --format json")]
pub struct Args {
    /// Environment (target `process`).
    #[arg(long, value_name = "NAME")]
    pub env: String,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "-".into())
}

pub fn run(ctx: &Ctx, args: &Args) -> Result<i32, Error> {
    let loaded = ctx.load(&args.env, Secrets::Needed)?;
    let run_dir = output_dir(&ctx.project, &loaded);
    let stack = Stack::new(ctx.deployment(&loaded)?, run_dir)?;
    let status = stack.status();
    if args.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&status).map_err(Error::msg)?);
        return Ok(EXIT_OK);
    }
    println!(
        "{:<12} {:<9} {:<17} {:>8} {:<5} {:>19} {:>12} {:>9} {:<14} PRIMARY (SENTINEL)",
        "NAME", "ROLE", "ADDRESS", "PID", "UP", "MEMORY/MAX", "OFFSET", "LAG", "SLOTS"
    );
    for m in &status.members {
        let role = m.role.map(|r| format!("{r:?}").to_lowercase()).unwrap_or_else(|| "-".into());
        let memory = match (m.used_memory, m.maxmemory) {
            (Some(u), Some(0)) => format!("{}/none", format_size(u)),
            (Some(u), Some(max)) => format!("{}/{}", format_size(u), format_size(max)),
            _ => "-".into(),
        };
        let slots: Vec<String> = m.slots.iter().map(|(a, b)| format!("{a}-{b}")).collect();
        println!(
            "{:<12} {:<9} {:<17} {:>8} {:<5} {:>19} {:>12} {:>9} {:<14} {}",
            m.name,
            role,
            m.address,
            opt(m.pid),
            if m.up { "up" } else { "down" },
            memory,
            opt(m.repl_offset),
            opt(m.lag_bytes),
            if slots.is_empty() { "-".into() } else { slots.join(",") },
            m.master_addr.clone().or_else(|| m.primary.clone()).unwrap_or_else(|| "-".into()),
        );
    }
    match &status.not_ready {
        None => println!("\nready: every primary takes writes, replicas are attached, the cluster and Sentinels agree"),
        Some(why) => {
            println!("\nNOT READY: {why}\n  (`redisctl apply --env {}` starts what is missing and waits)", args.env)
        }
    }
    Ok(EXIT_OK)
}
