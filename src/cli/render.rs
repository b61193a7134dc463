//! `redisctl render`: write the rendered artifacts of one environment to a directory, or
//! stream them to standard output (`--out -`).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Ctx, EXIT_OK};
use crate::error::Error;
use crate::secrets::Secrets;
use crate::util::fs::write_atomic;

#[derive(clap::Args, Debug)]
#[command(after_help = "Nothing is written when the contract is invalid. Rendering is deterministic: \
                        the same contract gives the same bytes.\n\
                        With --out -, the files go to standard output instead: for target kubernetes one \
                        multi-document YAML stream of the manifests (each document after a `# Source: <path>` \
                        line; the README is left out), for the other targets every file after a \
                        `# --- file: <path>` line. Password hashes are hidden there as in plans (`#(sensitive value)`): \
                        standard output ends up in logs; --out DIR writes the real files.\n\n\
                        Examples:\n  redisctl render --env staging --out /tmp/staging\n  \
                        redisctl render --env production            # into its output directory (deploy/production)\n  \
                        redisctl render --env staging --out - | kubectl apply --server-side -f -")]
pub struct Args {
    /// Environment to render.
    #[arg(long, value_name = "NAME")]
    pub env: String,
    /// Output directory (default: the environment's output directory); `-` for standard output.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn run(ctx: &Ctx, args: &Args) -> Result<i32, Error> {
    let loaded = ctx.load(&args.env, Secrets::Needed)?;
    let deployment = ctx.deployment(&loaded)?;
    let artifacts = crate::targets::render(&deployment, &ctx.templates()?).map_err(Error::msg)?;
    if args.out.as_deref() == Some(Path::new("-")) {
        let stream = crate::targets::stream(&deployment, &artifacts);
        std::io::stdout().write_all(stream.text.as_bytes()).map_err(|e| Error::io("cannot write the files", e))?;
        // Notes go to stderr: stdout is the stream a tool reads.
        if !stream.left_out.is_empty() {
            eprintln!("note: not part of the stream (render --out DIR writes them): {}", stream.left_out.join(", "));
        }
        if stream.redacted > 0 {
            eprintln!(
                "note: {} password hash(es) shown as `#(sensitive value)`; render --out DIR writes them",
                stream.redacted
            );
        }
        return Ok(EXIT_OK);
    }
    let out = args.out.clone().unwrap_or_else(|| crate::targets::output_dir(&ctx.project, &loaded));
    for a in &artifacts {
        write_atomic(&out.join(&a.path), a.content.as_bytes(), a.mode)?;
    }
    println!("Rendered {} file(s) for `{}` to {}", artifacts.len(), args.env, out.display());
    Ok(EXIT_OK)
}
