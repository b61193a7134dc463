//! `redisctl completions SHELL`: the shell completion script, generated from the clap
//! definitions by `clap_complete` (so it never falls behind a new flag).

use clap::CommandFactory;
use clap_complete::Shell;

use super::{Cli, EXIT_OK};
use crate::error::Error;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  source <(redisctl completions bash)            # this shell\n  \
                        redisctl completions bash > ~/.local/share/bash-completion/completions/redisctl\n  \
                        redisctl completions zsh > ~/.zfunc/_redisctl\n  \
                        redisctl completions fish > ~/.config/fish/completions/redisctl.fish")]
pub struct Args {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: Shell,
}

pub fn run(args: &Args) -> Result<i32, Error> {
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "redisctl", &mut std::io::stdout());
    Ok(EXIT_OK)
}
