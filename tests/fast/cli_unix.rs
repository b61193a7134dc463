//! The binary behaves like a Unix tool: a closed pipe ends it quietly, a command line that does
//! not parse exits 64 (not 2, which means "changes present"), `--help` exits 0 and shows
//! examples, completions load in a real bash, a man page exists, and `--color` decides colour.

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

/// The completion script clap_complete generates loads in a real bash, and completes.
#[test]
fn bash_completions_load_and_complete() {
    let bin = env!("CARGO_BIN_EXE_redisctl");
    let script = format!(
        "source <('{bin}' completions bash) && complete -p redisctl && \
         COMP_WORDS=(redisctl pl) COMP_CWORD=1 && _redisctl redisctl pl redisctl && echo \"words: ${{COMPREPLY[*]}}\" && \
         COMP_WORDS=(redisctl plan --for) COMP_CWORD=2 && _redisctl redisctl --for plan && echo \"flags: ${{COMPREPLY[*]}}\""
    );
    let o = std::process::Command::new("bash").arg("-c").arg(&script).output().expect("bash is installed");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        out.lines().any(|l| l.starts_with("complete ") && l.contains("-F _redisctl") && l.ends_with(" redisctl")),
        "{out}"
    );
    assert!(out.contains("words: plan"), "{out}");
    assert!(out.contains("flags: --format"), "{out}");
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let o = common::redisctl().args(["completions", shell]).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{shell}");
        assert!(String::from_utf8_lossy(&o.stdout).contains("redisctl"), "{shell}");
    }
    let o = common::redisctl().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(o.status.code(), Some(64), "an unknown shell is a usage error");
}

/// `--color always` colours into a pipe (CI logs), over NO_COLOR (which the harness sets);
/// `never`, `--no-color`, NO_COLOR and a pipe do not.
#[test]
fn color_follows_the_flag_then_the_stream() {
    let p = common::TempProject::copy_of(&common::repo_root());
    let esc = |s: &str| s.contains('\x1b');
    let run = |args: &[&str], no_color: bool| {
        let mut cmd = p.cmd();
        if !no_color {
            cmd.env_remove("NO_COLOR");
        }
        common::Run::of(cmd.args(args))
    };
    let plan = ["plan", "--env", "local"];
    let coloured = run(&[&plan[..], &["--color", "always"]].concat(), true);
    coloured.assert_code(0);
    assert!(esc(&coloured.stdout) && coloured.stdout.contains("\x1b[32m+\x1b[0m"), "{}", coloured.stdout);
    // Diagnostics on stderr too (production warns about its unset password variables).
    let warned = run(&["--color=always", "validate", "--env", "production"], true);
    warned.assert_code(0);
    assert!(esc(&warned.stderr), "{}", warned.stderr);
    for (args, no_color) in [
        (&[&plan[..], &["--color", "never"]].concat(), false),
        (&[&plan[..], &["--no-color"]].concat(), false),
        (&plan.to_vec(), false),
        (&[&plan[..], &["--color", "auto"]].concat(), true),
    ] {
        let r = run(args, no_color);
        r.assert_code(0);
        assert!(!esc(&r.stdout) && !esc(&r.stderr), "{args:?}: {}", r.show());
    }
    let both = run(&[&plan[..], &["--no-color", "--color", "always"]].concat(), true);
    both.assert_code(64);
    // clap's own help follows the flag.
    let help = run(&["--color", "always", "plan", "--help"], true);
    assert!(esc(&help.stdout), "{}", help.stdout);
    let help = run(&["plan", "--help"], false);
    assert!(!esc(&help.stdout), "{}", help.stdout);
}

/// Every subcommand's `--help` ends with examples of itself; the man page carries them too.
#[test]
fn every_command_has_examples_and_a_man_page() {
    use clap::CommandFactory;
    let cli = redisctl::cli::Cli::command();
    let names: Vec<String> = cli.get_subcommands().map(|c| c.get_name().to_string()).collect();
    assert!(names.len() >= 13, "{names:?}");
    for name in &names {
        let o = common::redisctl().args([name, "--help"]).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{name}");
        let help = String::from_utf8_lossy(&o.stdout);
        let examples = help.split_once("\nExamples:\n").map(|(_, e)| e).unwrap_or_else(|| {
            panic!("`redisctl {name} --help` has no Examples section:\n{help}");
        });
        assert!(examples.contains(&format!("redisctl {name}")), "`{name}`: examples of another command:\n{help}");
    }
    let o = common::redisctl().arg("man").output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let page = String::from_utf8_lossy(&o.stdout);
    assert!(page.contains(".TH redisctl 1") && page.contains("Examples:"), "{page}");
    let dir = tempfile::tempdir().unwrap();
    let o = common::redisctl().args(["man", "--out"]).arg(dir.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    for name in &names {
        let page = std::fs::read_to_string(dir.path().join(format!("redisctl-{name}.1")))
            .unwrap_or_else(|e| panic!("redisctl-{name}.1: {e}"));
        assert!(page.contains("Examples:"), "redisctl-{name}.1");
    }
}
