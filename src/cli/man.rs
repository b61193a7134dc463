//! `redisctl man`: the manual page (roff), generated from the clap definitions by
//! `clap_mangen`: the same text as `--help`, examples included.

use std::path::PathBuf;

use clap::CommandFactory;

use super::{Cli, EXIT_OK};
use crate::error::Error;

#[derive(clap::Args, Debug)]
#[command(after_help = "Without --out, prints redisctl(1) to standard output; with --out DIR, writes \
                        redisctl.1 and one page per subcommand (redisctl-plan.1, ...) into DIR.\n\n\
                        Examples:\n  redisctl man | man -l -\n  redisctl man --out /usr/local/share/man/man1")]
pub struct Args {
    /// Write every page (redisctl.1, redisctl-<command>.1) into this directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn run(args: &Args) -> Result<i32, Error> {
    let cmd = Cli::command();
    match &args.out {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
            clap_mangen::generate_to(cmd, dir)
                .map_err(|e| Error::io(format!("cannot write to {}", dir.display()), e))?;
            println!("Wrote the manual pages to {}", dir.display());
        }
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut out).map_err(|e| Error::io("cannot render the man page", e))?;
            use std::io::Write;
            std::io::stdout().write_all(&out).map_err(|e| Error::io("cannot write the man page", e))?;
        }
    }
    Ok(EXIT_OK)
}
