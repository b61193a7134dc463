//! The memory limit of a Redis container (compose, kubernetes): one home for the default the
//! targets render and the headroom readiness rule RCTL107 demands, so the two always agree.

use super::{Contract, PersistenceMode};

const MIB: u64 = 1 << 20;

/// The smallest container limit that leaves a persistence fork its headroom: twice maxmemory,
/// since copy-on-write can duplicate every page while the child writes the RDB or rewrites the
/// AOF. `None` without persistence (nothing forks) or without maxmemory.
pub fn fork_headroom(c: &Contract) -> Option<u64> {
    let max = c.resources.maxmemory?.0;
    (c.redis.persistence.mode != PersistenceMode::None).then(|| max.saturating_mul(2))
}

/// The limit rendered when the contract sets no `resources.memoryLimit`: the fork headroom
/// with persistence, else maxmemory plus half of it (at least 64 MiB) for buffers and
/// fragmentation; rounded up to whole MiB.
pub fn default_limit(c: &Contract) -> Option<u64> {
    let max = c.resources.maxmemory?.0;
    let without_fork = max.saturating_add((max / 2).max(64 * MIB));
    let limit = fork_headroom(c).map_or(without_fork, |fork| fork.max(without_fork));
    Some(limit.div_ceil(MIB).saturating_mul(MIB))
}

/// The memory limit of each Redis container in bytes: `resources.memoryLimit`, else the default.
pub fn container_limit(c: &Contract) -> Option<u64> {
    c.resources.memory_limit.as_ref().map(|q| q.bytes).or_else(|| default_limit(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::Size;

    fn contract(maxmemory: u64, persistence: PersistenceMode) -> Contract {
        let mut c: Contract = serde_json::from_value(serde_json::json!({
            "apiVersion": "redisctl/v1",
            "service": "demo",
            "redis": { "version": "7.2", "workload": "cache", "maxmemoryPolicy": "allkeys-lru" },
        }))
        .unwrap();
        c.resources.maxmemory = Some(Size(maxmemory));
        c.redis.persistence.mode = persistence;
        c
    }

    #[test]
    fn the_default_leaves_fork_headroom_with_persistence() {
        for mode in [PersistenceMode::Rdb, PersistenceMode::Aof, PersistenceMode::AofRdb] {
            let c = contract(256 * MIB, mode);
            assert_eq!(default_limit(&c), Some(512 * MIB));
            assert!(container_limit(&c) >= fork_headroom(&c));
        }
        let cache = contract(256 * MIB, PersistenceMode::None);
        assert_eq!((fork_headroom(&cache), default_limit(&cache)), (None, Some(384 * MIB)));
        // Small nodes keep at least 64 MiB above maxmemory.
        assert_eq!(default_limit(&contract(32 * MIB, PersistenceMode::Rdb)), Some(96 * MIB));
        // No overflow on absurd sizes.
        assert!(default_limit(&contract(u64::MAX, PersistenceMode::Aof)).is_some());
    }
}
