//! Providers: each knows one kind of resource, how to observe it and how to change it.

#[cfg(feature = "aws")]
pub mod aws;
pub mod cluster;
pub mod exporter;
pub mod files;
pub mod process;
pub mod redis;
#[cfg(feature = "s3-state")]
pub mod s3_state;
