//! Providers: each knows one kind of resource, how to observe it and how to change it.

#[cfg(feature = "elasticache")]
pub mod elasticache;
pub mod files;
pub mod process;
pub mod redis;
