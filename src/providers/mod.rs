//! Providers: each knows one kind of resource, how to observe it and how to change it.

pub mod cluster;
#[cfg(feature = "elasticache")]
pub mod elasticache;
pub mod files;
pub mod process;
pub mod redis;
