//! `redisctl render`: write the rendered artifacts of one environment to a directory.

use std::path::PathBuf;

use super::{Ctx, EXIT_OK};
use crate::error::Error;
use crate::secrets::Secrets;
use crate::util::fs::write_atomic;

#[derive(clap::Args, Debug)]
#[command(after_help = "Nothing is written when the contract is invalid. Rendering is deterministic: \
                        the same contract gives the same bytes.\n\n\
                        Examples:\n  redisctl render --env staging --out /tmp/staging\n  \
                        redisctl render --env production            # into its output directory (deploy/production)")]
pub struct Args {
    /// Environment to render.
    #[arg(long, value_name = "NAME")]
    pub env: String,
    /// Output directory (default: the environment's output directory).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn run(ctx: &Ctx, args: &Args) -> Result<i32, Error> {
    let loaded = ctx.load(&args.env, Secrets::Needed)?;
    let deployment = ctx.deployment(&loaded)?;
    let artifacts = crate::targets::render(&deployment, &ctx.templates()?).map_err(Error::msg)?;
    let out = args.out.clone().unwrap_or_else(|| crate::targets::output_dir(&ctx.project, &loaded));
    for a in &artifacts {
        write_atomic(&out.join(&a.path), a.content.as_bytes(), a.mode)?;
    }
    println!("Rendered {} file(s) for `{}` to {}", artifacts.len(), args.env, out.display());
    Ok(EXIT_OK)
}
