//! The `redisctl` binary: parse the command line, run the command, exit with its code.

fn main() {
    // A closed pipe (`redisctl plan | head -1`) ends the process quietly, as it does other Unix
    // tools, instead of a panic in `print!`.
    // SAFETY: setting a signal's disposition to its default before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    std::process::exit(redisctl::cli::main());
}
