//! The in-process rows of the performance table: `plan` of the repo's sample environment and
//! of 1,000 generated environments (load + check + resolve + render + observe + diff, as
//! `redisctl plan` does), `validate --all` and `render --all` of those 1,000 environments.
//! Run with `cargo bench --bench plan`; `scripts/bench.py` measures the same rows as whole
//! processes beside their baselines. Numbers are in the README.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use redisctl::contract::Project;
use redisctl::diagnostics::Sources;
use redisctl::environment::Environment;
use redisctl::render::Templates;
use redisctl::secrets::Secrets;

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
    group.bench_function("validate 1000 environments", |b| {
        b.iter(|| {
            envs.iter()
                .map(|e| {
                    let mut sources = Sources::default();
                    let loaded = redisctl::targets::load(&project, e, Secrets::FormOnly, &mut sources).unwrap();
                    redisctl::policy::evaluate(&loaded, redisctl::units::Date::today()).diagnostics().count()
                })
                .sum::<usize>()
        })
    });
    let out = tempfile::tempdir().unwrap();
    group.bench_function("render 1000 environments", |b| {
        b.iter(|| {
            let mut rendered = Vec::new();
            for e in &envs {
                let mut sources = Sources::default();
                let loaded = project.load(e, &mut sources).unwrap();
                let d = redisctl::resolve::Deployment::resolve(&loaded, &project.dir).unwrap();
                let artifacts = redisctl::targets::render(&d, &templates).unwrap();
                rendered.push((out.path().join(e), artifacts));
            }
            let files = rendered.iter().flat_map(|(dir, artifacts)| {
                artifacts.iter().map(move |a| (dir.join(&a.path), a.content.as_bytes(), a.mode))
            });
            redisctl::util::fs::write_all_atomic(files).unwrap();
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
