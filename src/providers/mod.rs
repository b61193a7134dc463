//! Providers: each knows one kind of resource, how to observe it and how to change it.

pub mod cluster;
pub mod exporter;
pub mod files;
pub mod process;
pub mod redis;
