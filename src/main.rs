//! The `redisctl` binary: parse the command line, run the command, exit with its code.

fn main() {
    std::process::exit(redisctl::cli::main());
}
