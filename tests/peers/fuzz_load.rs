//! The fuzzer's peer half (#15 item 14): mutants of every local (`process`) environment that
//! redisctl accepts are rendered, and every rendered `redis.conf` and `sentinel.conf` (with
//! their ACL files) is loaded by a real redis-server / redis-sentinel. A contract redisctl
//! calls valid whose files the server refuses is a broken property: it prints the seed, the
//! mutant and the server's own message.
//!
//! Runs `REDISCTL_FUZZ_SECS` seconds (default 8) from `REDISCTL_FUZZ_SEED`, like the fast half;
//! only mutants of the installed server's Redis version are loaded (another version's
//! directives are that version's to accept).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use redisctl::contract::Project;
use redisctl::diagnostics::Sources;
use redisctl::environment::Environment;
use redisctl::render::Templates;
use redisctl::secrets::Secrets;

use crate::common::fuzz::{mutate, Rng};
use crate::common::{self, free_port, require_redis, KillOnDrop, TempProject};

/// `major.minor` of the installed redis-server (`v=7.0.15` → (7, 0)).
fn installed_version() -> (u32, u32) {
    let out = Command::new("redis-server").arg("--version").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let v = text.split("v=").nth(1).and_then(|s| s.split_whitespace().next()).unwrap_or_default().to_string();
    let mut parts = v.split('.').map(|p| p.parse().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// Start the server on the rendered config `conf` (its port moved to a free one) in the
/// config's directory; `Ok` once it answers PING (any reply: NOAUTH counts), `Err` with its
/// output when it exits or stays silent.
fn loads(conf: &Path) -> Result<(), String> {
    let sentinel = conf.file_name().is_some_and(|n| n == "sentinel.conf");
    let port = free_port();
    let text = std::fs::read_to_string(conf).unwrap();
    let moved: String = text
        .lines()
        .map(|l| if l.starts_with("port ") { format!("port {port}") } else { l.to_string() })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(conf, moved + "\n").unwrap();
    let dir = conf.parent().unwrap();
    let log = dir.join("fuzz-server.out");
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new(if sentinel { "redis-sentinel" } else { "redis-server" })
        .arg(conf)
        .current_dir(dir)
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let deadline = Instant::now() + Duration::from_secs(5);
    let output = || {
        std::fs::read_to_string(&log).unwrap_or_default()
            + &std::fs::read_to_string(dir.join("redis.log")).unwrap_or_default()
    };
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Err(format!("{} exited ({status}):\n{}", conf.display(), output()));
        }
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
            let mut buf = [0u8; 64];
            if s.write_all(b"PING\r\n").is_ok() && s.read(&mut buf).is_ok_and(|n| n > 0) {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!("{} did not answer within 5 s:\n{}", conf.display(), output()))
}

#[test]
fn every_accepted_mutant_renders_configs_a_real_redis_server_loads() {
    require_redis();
    let secs: u64 = std::env::var("REDISCTL_FUZZ_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(8);
    let seed: u64 = std::env::var("REDISCTL_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5EED_2026);
    let version = installed_version();
    let templates = Templates::new(None).unwrap();
    let root = common::repo_root();
    let mut projects = vec![root.clone()];
    for e in std::fs::read_dir(root.join("examples")).unwrap().flatten() {
        if e.path().join("redisctl.yaml").exists() {
            projects.push(e.path());
        }
    }
    projects.sort();
    let mut targets = Vec::new();
    for p in &projects {
        let project = Project::new(p.clone());
        for env in common::environments(p) {
            let Ok(loaded) = redisctl::targets::load(&project, &env, Secrets::Needed, &mut Sources::default()) else {
                continue;
            };
            if loaded.contract.target.as_str() == "process" {
                targets.push((p.clone(), env));
            }
        }
    }
    assert!(targets.len() >= 5, "too few local environments to fuzz: {targets:?}");

    let mut rng = Rng(seed | 1);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let (mut runs, mut loaded_files) = (0u32, 0u32);
    while Instant::now() < deadline || loaded_files < 20 {
        runs += 1;
        assert!(runs < 5_000, "seed {seed}: no mutant was accepted in {runs} runs");
        let (dir, env) = &targets[rng.below(targets.len())];
        let copy = TempProject::copy_of(dir);
        let file = if rng.below(2) == 0 { "redisctl.yaml".to_string() } else { format!("environments/{env}.yaml") };
        let mutant = mutate(&std::fs::read_to_string(copy.path().join(&file)).unwrap_or_default(), &mut rng);
        copy.write(&file, &mutant);
        let project = Project::new(copy.path().to_path_buf());
        let Ok(loaded) = redisctl::targets::load(&project, env, Secrets::Needed, &mut Sources::default()) else {
            continue;
        };
        if loaded.contract.target.as_str() != "process" || loaded.contract.redis.version.pair() != version {
            continue;
        }
        let environment = Environment::open(&project, loaded, &templates)
            .unwrap_or_else(|e| panic!("seed {seed}, run {runs}: accepted but not rendered: {e}"));
        let out = tempfile::tempdir().unwrap();
        for a in &environment.artifacts {
            let path = out.path().join(&a.path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &a.content).unwrap();
        }
        for a in
            environment.artifacts.iter().filter(|a| a.path.ends_with("redis.conf") || a.path.ends_with("sentinel.conf"))
        {
            if let Err(e) = loads(&out.path().join(&a.path)) {
                panic!("seed {seed}, run {runs}, {}/{file} (env {env}): {e}\n--- mutant ---\n{mutant}", dir.display());
            }
            loaded_files += 1;
        }
    }
    eprintln!("fuzz_load: {runs} mutants from seed {seed}, {loaded_files} rendered configs loaded by real servers");
}
