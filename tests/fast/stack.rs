//! Local stacks (`redisctl::stack`) where no server is needed: a missing binary. Local stacks
//! against real redis-server / redis-sentinel processes are in tests/peers/stack.rs.

use std::time::Duration;

use crate::common::library::test_stack;
use redisctl::stack::Binaries;

const WAIT: Duration = Duration::from_secs(60);

#[test]
fn a_missing_binary_is_named_with_how_to_install_it() {
    let mut t = test_stack("{ mode: standalone }");
    t.binaries = Binaries { redis_server: None, redis_sentinel: None, search_path: "/nonexistent".into() };
    let e = t.up(WAIT).unwrap_err().to_string();
    assert!(e.contains("`redis-server` was not found"), "{e}");
    assert!(e.contains("apt-get install redis-server redis-sentinel") && e.contains("brew install redis"), "{e}");
    assert!(!t.status().members[0].up);
}
