//! `redisctl diff --env A --env B`: what differs between the artifacts of two environments.
//! A first view of parity: paths are role-neutral (`node-0/redis.conf`), so the same file of
//! two environments is compared line by line, after redaction.

use std::collections::BTreeSet;

use super::{Ctx, EXIT_CHANGES, EXIT_OK};
use crate::error::Error;
use crate::redact::{redact_text, unified_diff_between};
use crate::secrets::Secrets;
use crate::targets::render;

#[derive(clap::Args, Debug)]
#[command(after_help = "Files are compared after redaction; no secret value is needed.\n\
                        Exit code 0 (or 2 with --detailed-exitcode when the artifacts differ), 1 on error.\n\n\
                        Examples:\n  redisctl diff --env staging --env production\n  \
                        redisctl diff --env staging --env production --detailed-exitcode")]
pub struct Args {
    /// The two environments to compare (give --env twice).
    #[arg(long = "env", value_name = "NAME", num_args = 1, required = true)]
    pub envs: Vec<String>,
    /// Exit 2 when the environments' artifacts differ.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

pub fn run(ctx: &Ctx, args: &Args) -> Result<i32, Error> {
    let [a, b] = args.envs.as_slice() else {
        return Err(Error::msg("diff compares exactly two environments: --env A --env B"));
    };
    let templates = ctx.templates()?;
    let mut rendered = Vec::new();
    for env in [a, b] {
        let loaded = ctx.load(env, Secrets::FormOnly)?;
        let d = ctx.deployment(&loaded)?;
        rendered.push(render(&d, &templates).map_err(Error::msg)?);
    }
    let paths: BTreeSet<&str> = rendered.iter().flatten().map(|x| x.path.as_str()).collect();
    let mut differs = false;
    for path in paths {
        let content = |i: usize| rendered[i].iter().find(|x| x.path == path).map(|x| redact_text(path, &x.content).0);
        match (content(0), content(1)) {
            (Some(x), Some(y)) if x == y => {}
            (Some(x), Some(y)) => {
                differs = true;
                // As `git diff` names two trees: each side is the environment's directory.
                print!("{}", unified_diff_between(&format!("a/{a}/{path}"), &format!("b/{b}/{path}"), &x, &y));
            }
            (Some(_), None) => {
                differs = true;
                println!("only in {a}: {path}");
            }
            (None, Some(_)) => {
                differs = true;
                println!("only in {b}: {path}");
            }
            (None, None) => {}
        }
    }
    if !differs {
        println!("The rendered artifacts of `{a}` and `{b}` are identical.");
    }
    Ok(if differs && args.detailed_exitcode { EXIT_CHANGES } else { EXIT_OK })
}
