//! README.md is true from the top: every line of its Quickstart block runs, in order, on a copy
//! of the repository as a fresh clone has it (no CATALOG_REDIS_* variable set), with the real
//! redis-server and redis-sentinel. Only the local stack's ports are moved to free ones (the
//! sample's own may be taken on a shared machine) and `/tmp/` to a temporary directory.

use crate::common::{copy_dir, free_port_block, redisctl_in, repo_root, Run, TempProject};

/// The commands of the Quickstart's shell block, without their comments: first the alias
/// that makes `redisctl` the freshly built binary, then `redisctl ...` lines.
fn quickstart(readme: &str) -> Vec<String> {
    let section = readme.split("\n## Quickstart\n").nth(1).expect("README.md has a Quickstart section");
    let section = section.split("\n## ").next().unwrap();
    let block = section.split("```sh\n").nth(1).and_then(|b| b.split("\n```").next()).expect("a ```sh block");
    block.lines().map(|l| l.split(" #").next().unwrap().trim().to_string()).filter(|l| !l.is_empty()).collect()
}

/// Stops what the quickstart started, even when an assertion fails half-way.
struct Guard<'a>(&'a TempProject);

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        let _ = Run::unbounded(redisctl_in(self.0.path()).args(["destroy", "--env", "local", "--auto-approve"]));
    }
}

#[test]
fn every_quickstart_command_works_in_order_on_a_fresh_clone() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let commands = quickstart(&readme);
    assert_eq!(commands[0], "alias redisctl='cargo run --release --quiet --'", "{commands:?}");
    assert!(commands.len() >= 12, "{commands:?}");
    let p = TempProject::copy_of(&repo_root());
    // The examples too: a Quickstart line diffs two environments of one of them.
    copy_dir(&repo_root().join("examples"), &p.path().join("examples"));
    p.set_ports("local", free_port_block(2, false), free_port_block(3, false));
    let tmp = tempfile::tempdir().unwrap();
    let _guard = Guard(&p);
    let mut applied = false;
    for line in &commands[1..] {
        let words: Vec<String> =
            line.split_whitespace().map(|w| w.replace("/tmp/", &format!("{}/", tmp.path().display()))).collect();
        assert_eq!(words[0], "redisctl", "a Quickstart line that is not a redisctl command: {line}");
        // `redisctl_in` runs the built binary without the sample's password variables.
        let run = Run::unbounded(redisctl_in(p.path()).args(&words[1..]));
        assert!(run.success(), "README Quickstart: `{line}` failed\n{}", run.show());
        assert!(!run.stderr.contains("error[") && !run.stderr.contains("panicked"), "`{line}`\n{}", run.show());
        match words[1].as_str() {
            "apply" => {
                assert!(run.stdout.contains("Apply complete!"), "`{line}`\n{}", run.show());
                applied = true;
            }
            "plan" if applied => assert!(run.stdout.contains("No changes."), "`{line}`\n{}", run.show()),
            "render" => assert!(tmp.path().join("staging/statefulset-catalog-redis.yaml").is_file(), "`{line}`"),
            "destroy" => assert!(run.stdout.contains("Destroy complete!"), "`{line}`\n{}", run.show()),
            _ => {}
        }
    }
    assert!(applied, "the Quickstart applies the local stack");
}
