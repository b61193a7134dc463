//! The tests that need no peer process: they drive the library in this process or run the
//! binary alone (no redis-server, redis-sentinel, moto_server, docker-compose or validator).
//! One test binary, so that a change to src/ links the library (and the AWS SDK) into it
//! once: `cargo test --test fast` runs them in about a minute once built. The tests that
//! talk to real peers are the other binary, tests/peers/.

#[path = "../common/mod.rs"]
mod common;

mod cli_unix;
mod determinism;
mod drill;
mod elasticache_mocks;
mod elasticache_moto;
mod engine;
mod fuzz;
mod init;
mod layers;
mod memorystore;
mod observability;
mod parity;
mod policy;
mod pr_workflow;
mod readable_output;
mod render_real_redis;
mod repository;
mod review;
mod schema;
mod secret_free;
mod secrets;
mod snapshots;
mod stack;
mod targets_apply;
mod targets_compose;
mod targets_kubernetes;
mod targets_redis_enterprise;
mod targets_render;
mod targets_systemd;
mod validate_bad_input;
