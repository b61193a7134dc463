//! The local-stack rows of the performance table, as whole `redisctl` processes (what a user
//! waits for): `apply` of a new stack until it passes the readiness checks, per topology, and
//! one live setting applied to a running standalone stack. Each stack is destroyed after its
//! run (not timed). Servers bind 127.0.0.1 on ports 29500 and up
//! (a cluster on 19560 and its bus ports on 29560). `scripts/bench.py` runs the
//! same rows beside their by-hand baselines. Run with `cargo bench --bench stack`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

const BIN: &str = env!("CARGO_BIN_EXE_redisctl");

fn project(dir: &Path, topology: &str, port: u16) {
    std::fs::create_dir_all(dir.join("environments")).unwrap();
    std::fs::create_dir_all(dir.join("secrets")).unwrap();
    for s in ["app", "repl", "sentinel", "ops"] {
        std::fs::write(dir.join("secrets").join(s), format!("bench-{s}\n")).unwrap();
    }
    std::fs::write(
        dir.join("redisctl.yaml"),
        "apiVersion: redisctl/v1\nservice: bench\n\
         redis: { version: \"7.0\", workload: cache, maxmemoryPolicy: allkeys-lru, config: { timeout: 300, tcp-keepalive: 60 } }\n\
         acl:\n  users:\n    - { name: app, password: { fromFile: secrets/app } }\n    - { name: repl, role: replication, password: { fromFile: secrets/repl } }\n    \
         - { name: watcher, role: sentinel, password: { fromFile: secrets/sentinel } }\n    - { name: ops, role: operator, password: { fromFile: secrets/ops } }\n\
         resources: { maxmemory: 64mb }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("environments/bench.yaml"),
        format!("topology: {topology}\nports: {{ redis: {port}, sentinel: {} }}\n", port + 10),
    )
    .unwrap();
}

fn redisctl(dir: &Path, args: &[&str]) {
    let out = Command::new(BIN).arg("--project").arg(dir).args(args).output().unwrap();
    assert!(out.status.success(), "redisctl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

const APPLY: &[&str] = &["apply", "--env", "bench", "--auto-approve"];
const DESTROY: &[&str] = &["destroy", "--env", "bench", "--auto-approve", "--purge-data"];

/// Destroys the stack when dropped, so a failed run leaves no server behind.
struct Destroy<'a>(&'a Path);

impl Drop for Destroy<'_> {
    fn drop(&mut self) {
        let _ = Command::new(BIN).arg("--project").arg(self.0).args(DESTROY).output();
    }
}

fn bench(c: &mut Criterion) {
    let work = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("local stack ready");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    let topologies = [
        ("standalone", "{ mode: standalone }", 29500),
        ("primary + 2 replicas", "{ mode: replication, replicas: 2 }", 29520),
        ("sentinel 1+1, 3 sentinels", "{ mode: sentinel, replicas: 1, sentinels: 3 }", 29540),
        // A cluster node also binds port + 10000 (its bus): 19560 keeps that below the kernel's
        // ephemeral range, where a client connection of another process can hold it.
        ("cluster 3x1", "{ mode: cluster, shards: 3, replicasPerShard: 1 }", 19560),
    ];
    for (name, topology, port) in topologies {
        let dir = work.path().join(port.to_string());
        project(&dir, topology, port);
        let _cleanup = Destroy(&dir);
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t0 = Instant::now();
                    redisctl(&dir, APPLY);
                    total += t0.elapsed();
                    redisctl(&dir, DESTROY);
                }
                total
            })
        });
    }
    group.finish();

    let dir = work.path().join("live");
    project(&dir, "{ mode: standalone }", 29580);
    let _cleanup = Destroy(&dir);
    redisctl(&dir, APPLY);
    let base = std::fs::read_to_string(dir.join("redisctl.yaml")).unwrap();
    let mut flip = false;
    c.bench_function("one live setting (standalone)", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                flip = !flip;
                let size = if flip { "96mb" } else { "64mb" };
                std::fs::write(dir.join("redisctl.yaml"), base.replace("64mb", size)).unwrap();
                let t0 = Instant::now();
                redisctl(&dir, APPLY);
                total += t0.elapsed();
            }
            total
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
