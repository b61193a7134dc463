//! The pipeline runs one way: a module of `src/` may use only the layers below its own. This
//! test reads every `crate::` path in `src/` (outside unit-test modules) and fails on an
//! arrow that runs back up, naming the file. The order is written once, here.

use std::path::Path;

/// Bottom to top. Modules on one line are one layer and may use each other.
const LAYERS: &[&[&str]] = &[
    &["error", "units", "diagnostics"], // leaf types
    &["util"],                          // quoting, suggestions, atomic files
    &["model"],                         // typed contract, topology maths, directive and ACL tables
    &["secrets"],                       // resolving password references
    &["redact"],                        // hiding secret values in text
    &["contract"],                      // load: YAML with spans, overlay merge, schema and semantic checks
    &["resolve"],                       // Contract + env → Deployment
    &["policy"],                        // readiness rules, parity, review facts
    &["plan"],                          // Plan, ResourceChange, Provider, engine, state, lock
    &["render"],                        // server files shared by the self-hosted targets
    &["connect"],                       // what a client needs to connect
    &["client"],                        // the one Redis client (TLS included)
    &["stack"],                         // local stack runtime (processes, readiness, failover)
    &["providers"],                     // files, processes, cluster shape, live Redis
    &["targets"],                       // one module per target, the registry
    &["exec"],                          // post-apply commands
    &["environment"],                   // the pipeline: open, plan, apply
    &["output"],                        // text, markdown, JSON presenters
    &["ops"],                           // import and drills: operations on a running deployment
    &["cli"],                           // clap and the thin glue
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// The top-level modules a source text names through `crate::` paths.
fn used_modules(text: &str) -> Vec<String> {
    // Unit tests may reach anywhere: cut the `#[cfg(test)] mod tests` module off.
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a::b, c};`: each path's first segment (nested groups stay inside).
            let end = group.find("};").or_else(|| group.find('}')).unwrap_or(group.len());
            let mut depth = 0;
            let mut start = true;
            for (i, ch) in group[..end].char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && c.is_ascii_lowercase() => {
                        let word: String =
                            group[i..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                        out.push(word);
                        start = false;
                    }
                    c if !c.is_whitespace() => start = false,
                    _ => {}
                }
            }
        } else {
            out.push(rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect());
        }
    }
    out
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_module_uses_a_later_stage() {
    let src = crate::common::repo_root().join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    let mut arrows = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let top = rel.components().next().unwrap().as_os_str().to_string_lossy().trim_end_matches(".rs").to_string();
        if top == "lib" || top == "main" {
            continue;
        }
        let own = layer(&top).unwrap_or_else(|| panic!("src/{} is in no layer: add `{top}` to LAYERS", rel.display()));
        let text = std::fs::read_to_string(file).unwrap();
        for used in used_modules(&text) {
            let Some(theirs) = layer(&used) else {
                panic!("src/{} uses `crate::{used}`, which is in no layer", rel.display());
            };
            if theirs > own {
                arrows.push(format!("src/{} ({top}) uses crate::{used}, a later stage", rel.display()));
            }
        }
    }
    arrows.sort();
    arrows.dedup();
    assert!(arrows.is_empty(), "arrows running back up the pipeline:\n{}", arrows.join("\n"));
}

#[test]
fn the_parser_sees_grouped_and_plain_paths() {
    let text = "use crate::{a::b, c::{d, e}, f};\nlet x = crate::g::h();\n#[cfg(test)]\nmod tests { use crate::z; }";
    assert_eq!(used_modules(text), ["a", "c", "f", "g"]);
}
