//! Free 127.0.0.1 ports: one (chosen by the OS), or a block of consecutive ones.
//!
//! Redis binds `port + 10000` (the cluster bus) in cluster mode only: a standalone, replicated
//! or Sentinel node needs just its own port, so only cluster projects ask for a block `with bus`.

use std::net::TcpListener;
use std::sync::Mutex;

/// Ports handed out by this test process, so parallel tests never get overlapping blocks.
static RESERVED: Mutex<Vec<(u16, u16)>> = Mutex::new(Vec::new());

fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// One free 127.0.0.1 port (chosen by the OS), for a server that binds nothing else.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The first port of `n` consecutive free 127.0.0.1 ports; with `bus`, the ports 10000 above
/// them (Redis Cluster bus ports) are free too. Blocks are taken from 20000-22699, so that
/// neither they nor their bus ports (30000-32699) fall in the kernel's ephemeral range
/// (32768+, where `bind(:0)` and outgoing connections take ports), and never overlap another
/// block handed out by this process.
pub fn free_port_block(n: u16, bus: bool) -> u16 {
    let seed = {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.finish()
    };
    let mut reserved = RESERVED.lock().unwrap_or_else(|e| e.into_inner());
    let span = 2_700 - u32::from(n);
    for attempt in 0..2000u64 {
        let base = 20_000 + ((seed.wrapping_add(attempt.wrapping_mul(7919)) % u64::from(span)) as u16);
        let range = (base, base + n);
        let overlaps =
            |(a, b): (u16, u16)| range.0 < b && a < range.1 || (bus && range.0 + 10_000 < b && a < range.1 + 10_000);
        if reserved.iter().any(|r| overlaps(*r)) {
            continue;
        }
        let all_free = (base..base + n).all(|p| port_is_free(p) && (!bus || port_is_free(p + 10_000)));
        if all_free {
            reserved.push(range);
            if bus {
                reserved.push((base + 10_000, base + 10_000 + n));
            }
            return base;
        }
    }
    panic!("no block of {n} free ports found");
}
