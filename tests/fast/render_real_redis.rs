//! The environments whose rendered configs tests/peers/render_real_redis.rs loads into a real
//! `redis-server` / `redis-sentinel`, one test each: that list is checked here, without a server.

use crate::common::*;

/// The tests of tests/peers/render_real_redis.rs cover every environment there is: a new
/// environment or example must get its own test there.
#[test]
fn every_environment_is_covered() {
    assert_eq!(environments(&repo_root()), ["local", "production", "staging"]);
    // Examples of the other targets are checked against their peers in tests/peers/targets_*.rs.
    let mut examples: Vec<String> = std::fs::read_dir(repo_root().join("examples"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("redisctl.yaml").is_file())
        .filter(|e| {
            // elasticache-*: its local environment is checked in tests/peers/render_real_redis.rs, its
            // managed one in tests/peers/elasticache_moto.rs; redis-enterprise-*: the local one there
            // too, the custom resources against the operator's CRDs (tests/fast/targets_redis_enterprise.rs);
            // memorystore-*: the local one there, the managed one in tests/peers/memorystore.rs.
            !["compose-", "kubernetes-", "systemd-", "elasticache-", "redis-enterprise-", "memorystore-"]
                .iter()
                .any(|t| e.file_name().to_string_lossy().starts_with(t))
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    examples.sort();
    let mut known = EXAMPLES.map(String::from).to_vec();
    known.sort();
    assert_eq!(examples, known);
    for example in EXAMPLES {
        assert_eq!(environments(&example_dir(example)), ["local"], "{example}");
    }
}
