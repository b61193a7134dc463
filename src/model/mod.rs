//! The model: the typed contract, topology maths, the directive table and the ACL role
//! defaults. It depends on nothing above it (only leaf utilities and units), so every stage
//! can read it.

pub mod acl;
pub mod contract;
pub mod directives;
pub mod drill;
pub mod enterprise;
pub mod image;
pub mod memory;
pub mod memorystore;
pub mod observability;
pub mod topology;

pub use contract::*;
