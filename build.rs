//! Converts the tables of `data/` from TOML (what people edit and review) to JSON in OUT_DIR,
//! which the binary embeds: serde_json parses them about ten times faster than toml, and the
//! directive and ACL tables are read by every `plan` and `validate`. Also hashes the committed
//! schema, the key of the schema cache.

use std::path::Path;

fn convert(dir: &Path, out: &Path) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            convert(&path, &out.join(path.file_name().unwrap()));
        } else if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let table: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            std::fs::create_dir_all(out).unwrap();
            let target = out.join(format!("{}.json", path.file_name().unwrap().to_str().unwrap()));
            std::fs::write(&target, serde_json::to_string(&table).unwrap()).unwrap();
        }
    }
}

fn main() {
    println!("cargo:rerun-if-changed=data");
    // A key for the schema cache (src/contract/known_valid.rs): it changes with the schema.
    println!("cargo:rerun-if-changed=schemas/redisctl.schema.json");
    let schema = std::fs::read("schemas/redisctl.schema.json").expect("schemas/redisctl.schema.json");
    let mut hasher = std::hash::DefaultHasher::new();
    std::hash::Hash::hash(&schema, &mut hasher);
    let version = env!("CARGO_PKG_VERSION");
    println!("cargo:rustc-env=REDISCTL_SCHEMA_HASH={version}-{:016x}", std::hash::Hasher::finish(&hasher));
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    convert(Path::new("data"), &Path::new(&out).join("data"));
}
