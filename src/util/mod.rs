//! Leaf utilities: no imports from the rest of the crate but the error type.

pub mod digest;
pub mod fs;
pub mod par;
pub mod suggest;
pub mod text;

/// A table of `data/` (`data_json!("acl/7.0.toml")`) as the JSON build.rs converted it to.
macro_rules! data_json {
    ($path:literal) => {
        include_str!(concat!(env!("OUT_DIR"), "/data/", $path, ".json"))
    };
}
pub(crate) use data_json;
