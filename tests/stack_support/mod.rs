//! Local stacks for integration tests: a temporary copy of the sample project with free
//! ports, rendered into its run directory, stopped in `Drop` (also when a test panics).

use std::net::TcpListener;
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use redisctl::contract::{output_dir, Project};
use redisctl::diagnostics::Sources;
use redisctl::fsutil::write_atomic;
use redisctl::render::{render, Templates};
use redisctl::resolve::Deployment;
use redisctl::stack::{Stack, StopOptions};

/// Ports per test stack: redis ports from the base, Sentinel ports from base + 10.
const BLOCK: u32 = 16;

pub struct TestStack {
    pub stack: Stack,
    _dir: tempfile::TempDir,
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

fn free(port: u32) -> bool {
    TcpListener::bind(("127.0.0.1", port as u16)).is_ok()
}

/// A block of ports free now, with their cluster bus ports (+10000); distinct per call.
fn free_base() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let seed = std::process::id() % 997;
    loop {
        let k = NEXT.fetch_add(1, Ordering::SeqCst);
        let base = 20000 + ((seed + k) % 1500) * BLOCK;
        if (base..base + BLOCK).all(|p| free(p) && free(p + 10000)) {
            return base;
        }
    }
}

/// The sample project (`redisctl.yaml`, dev passwords) with an environment `test` of the given
/// topology (a YAML flow mapping), AOF persistence and free ports, rendered into its run directory.
pub fn test_stack(topology: &str) -> TestStack {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(root.join("redisctl.yaml"), dir.path().join("redisctl.yaml")).unwrap();
    std::fs::create_dir_all(dir.path().join("secrets/local")).unwrap();
    for entry in std::fs::read_dir(root.join("secrets/local")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join("secrets/local").join(entry.file_name())).unwrap();
    }
    let base = free_base();
    let users: String =
        [("catalog-app", "application"), ("replicator", "replication"), ("sentinel", "sentinel"), ("ops", "operator")]
            .iter()
            .map(|(name, role)| {
                format!(
                    "    - {{ name: {name}, role: {role}, password: {{ fromFile: secrets/local/{name}.password }} }}\n"
                )
            })
            .collect();
    let env = format!(
        "target: process\ntopology: {topology}\nports: {{ redis: {base}, sentinel: {} }}\nresources: {{ maxmemory: 64mb }}\n\
         redis:\n  persistence: {{ mode: aof }}\nacl:\n  users:\n{users}",
        base + 10
    );
    std::fs::create_dir_all(dir.path().join("environments")).unwrap();
    std::fs::write(dir.path().join("environments/test.yaml"), env).unwrap();

    let project = Project::new(dir.path());
    let mut sources = Sources::default();
    let loaded = match project.load("test", &mut sources) {
        Ok(l) => l,
        Err(diags) => panic!("{}", diags.iter().map(|d| sources.render(d, false)).collect::<String>()),
    };
    let deployment = Deployment::resolve(&loaded, dir.path()).unwrap();
    let run_dir = output_dir(&project, &loaded);
    for a in render(&deployment, &Templates::new(None).unwrap()).unwrap() {
        write_atomic(&run_dir.join(&a.path), a.content.as_bytes(), a.mode).unwrap();
    }
    TestStack { stack: Stack::new(deployment, run_dir).unwrap(), _dir: dir }
}
