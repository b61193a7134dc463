//! The tests that talk to real peers on this machine: redis-server and redis-sentinel
//! processes, moto_server, docker-compose and the validators of scripts/install-test-peers.sh.
//! One test binary, so that a change to src/ links the library (and the AWS SDK) into it
//! once: `cargo test --test peers` once the peers are installed (scripts/test installs them).
//! The tests that need no peer are the other binary, tests/fast/.

#[path = "../common/mod.rs"]
mod common;

mod acl_data;
mod argocd;
mod drill;
mod editor;
mod elasticache_moto;
mod fuzz_load;
mod import;
mod live;
mod local_stack;
mod memorystore;
mod observability;
mod readme;
mod render_real_redis;
mod stack;
mod state_s3;
mod targets_compose;
mod targets_kubernetes;
mod targets_systemd;
