//! redisctl: declarative provisioning for Redis.
//!
//! The pipeline runs one way: `contract` (load, merge, check) → `resolve` (Deployment) →
//! `render` (artifacts) → `plan` (diff against what exists) → `apply`.

pub mod cli;
pub mod connect;
pub mod contract;
pub mod diagnostics;
pub mod directives;
pub mod environment;
pub mod error;
pub mod exec;
pub mod fsutil;
pub mod output;
pub mod plan;
pub mod policy;
pub mod providers;
pub mod redact;
pub mod render;
pub mod resolve;
pub mod secrets;
pub mod stack;
pub mod suggest;
pub mod targets;
pub mod units;
