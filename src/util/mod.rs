//! Leaf utilities: no imports from the rest of the crate but the error type.

pub mod digest;
pub mod fs;
pub mod suggest;
pub mod text;
