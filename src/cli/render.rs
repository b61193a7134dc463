//! `redisctl render`: write the rendered artifacts of one environment to a directory, or
//! stream them to standard output (`--out -`).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Ctx, EXIT_OK};
use crate::diagnostics::Sources;
use crate::error::Error;
use crate::secrets::Secrets;
use crate::util::fs::write_all_atomic;

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
                        redisctl render --env staging --out - | kubectl apply --server-side -f -\n  \
                        redisctl render --all --out /tmp/rendered    # every environment, into /tmp/rendered/<env>/\n\n\
                        With --all, every environment is rendered in one process (into DIR/<env>/, or each into its \
                        own output directory without --out); one that cannot be rendered here (an unset password \
                        variable) is reported and the others are still written; the exit status is then 1.")]
pub struct Args {
    /// Environment to render.
    #[arg(long, value_name = "NAME", required_unless_present = "all", conflicts_with = "all")]
    pub env: Option<String>,
    /// Render every environment of the project (into `--out DIR/<env>/`).
    #[arg(long)]
    pub all: bool,
    /// Output directory (default: the environment's output directory); `-` for standard output.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn run(ctx: &Ctx, args: &Args) -> Result<i32, Error> {
    let Some(env) = &args.env else { return all(ctx, args.out.as_deref()) };
    let loaded = ctx.load(env, Secrets::Needed)?;
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
    write_all_atomic(artifacts.iter().map(|a| (out.join(&a.path), a.content.as_bytes(), a.mode)))?;
    println!("Rendered {} file(s) for `{env}` to {}", artifacts.len(), out.display());
    Ok(EXIT_OK)
}

/// `render --all`: every environment in one process (one start-up, one template set).
fn all(ctx: &Ctx, out: Option<&Path>) -> Result<i32, Error> {
    if out == Some(Path::new("-")) {
        return Err(Error::usage("--all writes directories (DIR/<env>/): it cannot stream to standard output"));
    }
    let templates = ctx.templates()?;
    let envs = ctx.project.environments().map_err(Error::msg)?;
    let mut failed = Vec::new();
    // Every environment is rendered first and all files are written as one batch (two
    // filesystem flushes in all): each file is still old or new after a crash.
    // Environments are loaded and rendered on every core, then reported in order.
    let results = crate::util::par::map(&envs, |env| {
        let mut sources = Sources::default();
        let (shown, loaded) = ctx.load_shown(env, Secrets::Needed, &mut sources);
        let loaded = loaded
            .map_err(|errors| Error::Invalid(format!("environment `{env}` is invalid: {} error(s)", errors.len())));
        let one = loaded.and_then(|loaded| {
            let deployment = ctx.deployment(&loaded)?;
            let artifacts = crate::targets::render(&deployment, &templates).map_err(Error::msg)?;
            let dir = match out {
                Some(root) => root.join(env),
                None => crate::targets::output_dir(&ctx.project, &loaded),
            };
            Ok((artifacts, dir))
        });
        (shown, one)
    });
    let mut rendered = Vec::new();
    for (env, (shown, one)) in envs.iter().zip(results) {
        eprint!("{shown}");
        match one {
            Ok((artifacts, dir)) => rendered.push((env, artifacts, dir)),
            Err(e) => {
                eprintln!("error: `{env}` not rendered: {e}");
                failed.push(env.as_str());
            }
        }
    }
    let files = rendered.iter().flat_map(|(_, artifacts, dir)| {
        artifacts.iter().map(move |a| (dir.join(&a.path), a.content.as_bytes(), a.mode))
    });
    write_all_atomic(files)?;
    let mut report = String::new();
    for (env, artifacts, dir) in &rendered {
        report.push_str(&format!("Rendered {} file(s) for `{env}` to {}\n", artifacts.len(), dir.display()));
    }
    std::io::stdout().write_all(report.as_bytes()).map_err(|e| Error::io("cannot write the report", e))?;
    if failed.is_empty() {
        return Ok(EXIT_OK);
    }
    eprintln!("{} of {} environment(s) not rendered: {}", failed.len(), envs.len(), failed.join(", "));
    Ok(super::EXIT_ERROR)
}
