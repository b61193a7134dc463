//! redisctl: declarative provisioning for Redis.
//!
//! The pipeline runs one way: `contract` (load, merge, check) → `resolve` (Deployment) →
//! `targets` (render, providers) → `plan` (diff against what exists) → `apply`. The layer
//! order is written once, in `tests/fast/layers.rs`, which fails on an import that runs back up.

pub mod cli;
pub mod client;
pub mod connect;
pub mod contract;
pub mod diagnostics;
pub mod environment;
pub mod error;
pub mod exec;
pub mod model;
pub mod ops;
pub mod output;
pub mod plan;
pub mod policy;
pub mod providers;
pub mod redact;
pub mod render;
pub mod resolve;
pub mod secrets;
pub mod stack;
pub mod targets;
pub mod units;
pub mod util;
