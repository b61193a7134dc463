//! Helpers for the tests that drive the library in process rather than the binary: load an
//! environment as the CLI does, and local stacks (`redisctl::stack`) on a temporary copy of
//! the sample project with free ports, rendered into its run directory, stopped in `Drop`
//! (also when a test panics).

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use redisctl::contract::{Loaded, Project};
use redisctl::diagnostics::Sources;
use redisctl::render::Templates;
use redisctl::resolve::Deployment;
use redisctl::stack::{Stack, StopOptions};
use redisctl::targets::{output_dir, render};
use redisctl::util::fs::write_atomic;

use super::{copy_dir, free_port_block, repo_root, TempProject};

/// Environment `env` of `project`, loaded and checked as the CLI does; panics with the
/// rendered diagnostics when the contract is invalid.
#[track_caller]
pub fn load_env(project: &Project, env: &str) -> Loaded {
    let mut sources = Sources::default();
    match redisctl::targets::load(project, env, redisctl::secrets::Secrets::Needed, &mut sources) {
        Ok(l) => l,
        Err(diags) => {
            panic!("contract invalid:\n{}", diags.iter().map(|d| sources.render(d, false)).collect::<String>())
        }
    }
}

/// Ports per test stack: redis ports from the base, Sentinel ports from base + 10.
const BLOCK: u16 = 16;

pub struct TestStack {
    pub stack: Stack,
    _dir: TempProject,
}

impl Deref for TestStack {
    type Target = Stack;
    fn deref(&self) -> &Stack {
        &self.stack
    }
}

impl DerefMut for TestStack {
    fn deref_mut(&mut self) -> &mut Stack {
        &mut self.stack
    }
}

impl Drop for TestStack {
    fn drop(&mut self) {
        let _ = self.stack.down(StopOptions { nosave: true, timeout: Duration::from_secs(5) });
    }
}

/// The sample project (`redisctl.yaml`, dev passwords) with an environment `test` of the given
/// topology (a YAML flow mapping), AOF persistence and free ports, rendered into its run directory.
pub fn test_stack(topology: &str) -> TestStack {
    let dir = TempProject::new(&[]);
    let root = repo_root();
    std::fs::copy(root.join("redisctl.yaml"), dir.path().join("redisctl.yaml")).unwrap();
    copy_dir(&root.join("secrets/local"), &dir.path().join("secrets/local"));
    // Every block with its cluster bus ports (+10000): some of these stacks are clusters.
    let base = free_port_block(BLOCK, true);
    let users: String = [
        ("catalog-app", "application"),
        ("replicator", "replication"),
        ("sentinel", "sentinel"),
        ("ops", "operator"),
        ("metrics", "exporter"),
    ]
    .iter()
    .map(|(name, role)| {
        format!("    - {{ name: {name}, role: {role}, password: {{ fromFile: secrets/local/{name}.password }} }}\n")
    })
    .collect();
    let env = format!(
        "target: process\ntopology: {topology}\nports: {{ redis: {base}, sentinel: {} }}\nresources: {{ maxmemory: 64mb }}\n\
         redis:\n  persistence: {{ mode: aof }}\nacl:\n  users:\n{users}",
        base + 10
    );
    dir.write("environments/test.yaml", env);

    let project = Project::new(dir.path());
    let loaded = load_env(&project, "test");
    let deployment = Deployment::resolve(&loaded, dir.path()).unwrap();
    let run_dir = output_dir(&project, &loaded);
    for a in render(&deployment, &Templates::new(None).unwrap()).unwrap() {
        write_atomic(&run_dir.join(&a.path), a.content.as_bytes(), a.mode).unwrap();
    }
    TestStack { stack: Stack::new(deployment, run_dir).unwrap(), _dir: dir }
}
