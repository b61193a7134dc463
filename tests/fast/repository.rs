//! The repository says what it holds: `examples/README.md` lists every example (and only
//! those), and the root holds the project's own files only, not leftovers of a session
//! (`live.plan`, rendered trees).

use crate::common::*;

#[test]
fn the_examples_readme_lists_every_example() {
    let readme = std::fs::read_to_string(repo_root().join("examples/README.md")).unwrap();
    let mut dirs: Vec<String> = std::fs::read_dir(repo_root().join("examples"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("redisctl.yaml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 10, "{dirs:?}");
    // A table row per example: "| `name` | ...".
    let mut listed: Vec<String> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("| `")?.split_once('`').map(|(name, _)| name.to_string()))
        .collect();
    listed.sort();
    assert_eq!(listed, dirs, "examples/README.md lists exactly the example directories");
    for dir in &dirs {
        // Each one validates on a fresh machine, as the README says: no secret needed.
        Run::of(redisctl_on(&example_dir(dir)).arg("validate")).assert_code(0);
    }
}

#[test]
fn the_repository_root_holds_no_stray_files() {
    // What belongs at the root (with the reason where it is not obvious).
    let allowed = [
        ".ci", // the fresh-clone CI entry point
        ".gitignore",
        "Cargo.lock", // the binary's pinned dependencies
        "Cargo.toml",
        "build.rs", // data/*.toml → embedded JSON, the schema cache's key
        "README.md",
        "redisctl.yaml", // the sample project's base contract ...
        "environments",  // ... and its environments
        "secrets",       // the sample's development-only password files (local)
        "rustfmt.toml",
        "benches", // criterion benchmarks
        "data",    // directive, ACL and target tables
        "docs",
        "examples",
        "schemas", // the generated contract and plan schemas
        "scripts", // test and benchmark scripts
        "src",
        "templates", // the embedded templates
        "tests",
    ];
    let o = std::process::Command::new("git")
        .args(["ls-files", "--cached"])
        .current_dir(repo_root())
        .output()
        .expect("git is installed (the tests run in a clone)");
    assert!(o.status.success(), "git ls-files: {}", String::from_utf8_lossy(&o.stderr));
    let mut stray: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| l.split('/').next().unwrap().to_string())
        .filter(|top| !allowed.contains(&top.as_str()))
        .collect();
    stray.dedup();
    assert!(stray.is_empty(), "files at the repository root that belong elsewhere (or in .gitignore): {stray:?}");
}

/// The README's table of diagnostic codes names each code once and covers every code the
/// source emits (rows are single codes, `RCTL050`, or ranges, `RCTL050–053`).
#[test]
fn the_diagnostics_table_has_each_code_once() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let table = readme.split("## Diagnostic codes").nth(1).unwrap().split("\n## ").next().unwrap();
    let mut listed: Vec<u32> = Vec::new();
    for cell in table.lines().filter_map(|l| l.strip_prefix("| RCTL")).map(|l| l.split(' ').next().unwrap()) {
        let (first, last) = cell.split_once('–').unwrap_or((cell, cell));
        let first: u32 = first.parse().unwrap_or_else(|_| panic!("{cell}"));
        let last: u32 = last.trim_start_matches("RCTL").parse().unwrap_or_else(|_| panic!("{cell}"));
        for code in first..=last {
            assert!(!listed.contains(&code), "RCTL{code:03} is in the table twice");
            listed.push(code);
        }
    }
    let mut sources = Vec::new();
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            if e.path().is_dir() {
                walk(&e.path(), out);
            } else {
                out.push(std::fs::read_to_string(e.path()).unwrap());
            }
        }
    }
    walk(&repo_root().join("src"), &mut sources);
    for text in &sources {
        for part in text.split("\"RCTL").skip(1) {
            let Some(code) = part.get(..3).and_then(|c| c.parse::<u32>().ok()).filter(|_| part[3..].starts_with('"'))
            else {
                continue;
            };
            assert!(listed.contains(&code), "RCTL{code:03} is emitted but not in README.md's table");
        }
    }
}
