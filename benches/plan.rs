//! How long `plan` takes: the repo's sample environments, and 1,000 generated environments
//! of one project (load + check + resolve + render + observe + diff, as `redisctl plan` does).
//! Run with `cargo bench --bench plan`; numbers are in the README.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use redisctl::contract::Project;
use redisctl::diagnostics::Sources;
use redisctl::environment::Environment;
use redisctl::render::Templates;

fn plan_env(project: &Project, env: &str, templates: &Templates) -> usize {
    let mut sources = Sources::default();
    let loaded = project.load(env, &mut sources).expect("valid environment");
    let environment = Environment::open(project, loaded, templates).expect("renders");
    let plan = environment.plan(redisctl::plan::Scope::Target, false, None).unwrap();
    plan.changes.len()
}

/// A project with `n` environments, each a small replication stack on its own ports.
fn generated_project(dir: &Path, n: usize) -> Vec<String> {
    std::fs::create_dir_all(dir.join("environments")).unwrap();
    std::fs::create_dir_all(dir.join("secrets")).unwrap();
    std::fs::write(dir.join("secrets/app"), "bench-only\n").unwrap();
    std::fs::write(
        dir.join("redisctl.yaml"),
        "apiVersion: redisctl/v1\nservice: bench\nredis: { version: \"7.0\", workload: cache, maxmemoryPolicy: allkeys-lru, config: { timeout: 300 } }\n\
         acl:\n  users:\n    - { name: app, password: { fromFile: secrets/app } }\n    - { name: repl, role: replication, password: { fromFile: secrets/app } }\n    - { name: ops, role: operator, password: { fromFile: secrets/app } }\n",
    )
    .unwrap();
    (0..n)
        .map(|i| {
            let name = format!("env-{i:04}");
            let port = 10000 + (i % 500) * 4;
            std::fs::write(
                dir.join(format!("environments/{name}.yaml")),
                format!("topology: {{ mode: replication, replicas: 2 }}\nports: {{ redis: {port} }}\nresources: {{ maxmemory: {}mb }}\n", 64 + i),
            )
            .unwrap();
            name
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let templates = Templates::new(None).unwrap();
    let sample = Project::new(env!("CARGO_MANIFEST_DIR"));
    c.bench_function("plan sample local", |b| b.iter(|| plan_env(&sample, "local", &templates)));

    let dir = tempfile::tempdir().unwrap();
    let envs = generated_project(dir.path(), 1000);
    let project = Project::new(dir.path());
    let mut group = c.benchmark_group("generated");
    group.sample_size(10);
    group.bench_function("plan 1000 environments", |b| {
        b.iter(|| envs.iter().map(|e| plan_env(&project, e, &templates)).sum::<usize>())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
