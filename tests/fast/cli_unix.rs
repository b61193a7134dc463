//! The binary behaves like a Unix tool: a closed pipe ends it quietly, a command line that does
//! not parse exits 64 (not 2, which means "changes present"), `--help` exits 0.

use std::io::Read;
use std::process::Stdio;

use crate::common;

#[test]
fn a_closed_pipe_ends_the_process_quietly() {
    // `schema` prints tens of KiB: far more than a pipe holds, so the write hits the closed end.
    let mut child = common::redisctl_std().arg("schema").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{stderr}");
    assert_ne!(status.code(), Some(101), "a panic's status: {stderr}");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGPIPE), "ended by SIGPIPE like other tools ({status:?})");
}

#[test]
fn usage_errors_exit_64_and_help_exits_0() {
    let o = common::redisctl().args(["plan", "--env", "x", "--no-such-flag"]).output().unwrap();
    assert_eq!(o.status.code(), Some(64), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--no-such-flag"));
    // Flags that parse but cannot be used as given are usage errors too, checked before any work.
    for args in [&["apply"][..], &["apply", "--env", "local", "--lock-timeout", "soon"]] {
        let o = common::redisctl_on(&common::repo_root()).args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(64), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    }
    let o = common::redisctl().args(["plan", "--help"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("--detailed-exitcode"));
}

#[test]
fn an_environment_named_by_its_beginning_is_suggested() {
    let o = common::redisctl_on(&common::repo_root()).args(["validate", "--env", "prod"]).output().unwrap();
    let text = String::from_utf8_lossy(&o.stderr).to_string() + &String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("did you mean `production`?"), "{text}");
}
