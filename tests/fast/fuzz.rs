//! A seeded mutational fuzzer over load → check → resolve → render (#15 item 14): every
//! example project and the repo's own, one file mutated at a time (a value replaced by an
//! interesting one, a line deleted, duplicated, swapped, cut, or a byte inserted). Properties:
//! nothing panics; every rejection points at a location; every accepted contract renders
//! (`validate` and `render` never disagree).
//!
//! Runs for `REDISCTL_FUZZ_SECS` seconds (default 3) from seed `REDISCTL_FUZZ_SEED` (default
//! fixed, so a failure is reproducible); a failure prints the seed, the file and the mutant.
//! Longer: `REDISCTL_FUZZ_SECS=600 cargo test --test fast fuzz -- --nocapture`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use redisctl::contract::Project;
use redisctl::diagnostics::Sources;
use redisctl::environment::Environment;
use redisctl::render::Templates;

use crate::common::{self, TempProject};

/// xorshift64*: small, seeded, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Values that have found holes before: bounds, types, quoting, injection, odd units.
const VALUES: &[&str] = &[
    "-1",
    "0",
    "1",
    "65535",
    "65536",
    "99999999999999999999",
    "1.5",
    "\"\"",
    "yes",
    "no",
    "null",
    "[]",
    "{}",
    "\"a\\nb\"",
    "\"a\\\"b\"",
    "'x y'",
    "300 .inf",
    "abc 1",
    "\"+@nosuchcategory\"",
    "\"~é*\"",
    "0mb",
    "1tb",
    "-5s",
    "allkeys-lru",
    "cluster",
    "sentinel",
    "kubernetes",
    "compose",
    "systemd",
    "elasticache",
    "\"7.0\"",
    "\"6.0\"",
    "\"9.9\"",
    "&a x",
    "*a",
    "!!binary aGk=",
    "~",
    "\"\\t\"",
    "{ fromEnv: X Y }",
    "[\"+@all\"]",
];

fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    if lines.is_empty() {
        return text.to_string();
    }
    let i = rng.below(lines.len());
    match rng.below(7) {
        0 | 1 => {
            // Replace the value of a `key: value` line (or a list item) with an interesting one.
            let v = VALUES[rng.below(VALUES.len())];
            let line = &lines[i];
            lines[i] = match line.split_once(": ") {
                Some((k, _)) => format!("{k}: {v}"),
                None if line.trim_start().starts_with("- ") => {
                    format!("{}- {v}", &line[..line.len() - line.trim_start().len()])
                }
                None => format!("{line} {v}"),
            };
        }
        2 => {
            lines.remove(i);
        }
        3 => {
            let l = lines[i].clone();
            lines.insert(i, l);
        }
        4 if i + 1 < lines.len() => lines.swap(i, i + 1),
        5 => {
            let cut = rng.below(lines[i].len() + 1);
            let cut = (0..=cut).rev().find(|c| lines[i].is_char_boundary(*c)).unwrap_or(0);
            lines[i].truncate(cut);
        }
        _ => {
            let bytes = ["\t", "\0", "é", "\u{202e}", "#", ":", "\"", "{", "[", "&", "*", "|", ">"];
            let at = rng.below(lines[i].len() + 1);
            let at = (0..=at).rev().find(|c| lines[i].is_char_boundary(*c)).unwrap_or(0);
            lines[i].insert_str(at, bytes[rng.below(bytes.len())]);
        }
    }
    lines.join("\n") + "\n"
}

/// What one mutant did; `Err` is a broken property.
fn check(project: &Project, templates: &Templates, env: &str) -> Result<(), String> {
    let mut sources = Sources::default();
    match redisctl::targets::load(project, env, redisctl::secrets::Secrets::Needed, &mut sources) {
        Err(diags) => {
            for d in diags.iter().filter(|d| d.is_error()) {
                if d.span.is_none() {
                    return Err(format!("rejected without a location: {}", sources.render(d, false)));
                }
            }
            Ok(())
        }
        Ok(loaded) => match Environment::open(project, loaded, templates) {
            Ok(_) => Ok(()),
            Err(e) => Err(format!("validate accepted it but render failed: {e}")),
        },
    }
}

#[test]
fn mutated_contracts_never_panic_are_rejected_with_a_location_or_render() {
    let secs: u64 = std::env::var("REDISCTL_FUZZ_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    let seed: u64 = std::env::var("REDISCTL_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5EED_2026);
    let templates = Templates::new(None).unwrap();
    let root = common::repo_root();
    let mut projects = vec![root.clone()];
    for e in std::fs::read_dir(root.join("examples")).unwrap().flatten() {
        if e.path().join("redisctl.yaml").exists() {
            projects.push(e.path());
        }
    }
    projects.sort();
    // Environments that load as they are (those needing unset secrets are left out).
    let mut targets: Vec<(std::path::PathBuf, String)> = Vec::new();
    for p in &projects {
        let project = Project::new(p.clone());
        for env in common::environments(p) {
            if redisctl::targets::load(&project, &env, redisctl::secrets::Secrets::Needed, &mut Sources::default())
                .is_ok()
            {
                targets.push((p.clone(), env));
            }
        }
    }
    assert!(targets.len() >= 8, "too few environments to fuzz: {targets:?}");

    let mut rng = Rng(seed | 1);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let (mut runs, mut accepted) = (0u32, 0u32);
    while Instant::now() < deadline || runs < 50 {
        let (dir, env) = &targets[rng.below(targets.len())];
        let copy = TempProject::copy_of(dir);
        let file = if rng.below(2) == 0 { "redisctl.yaml".to_string() } else { format!("environments/{env}.yaml") };
        let original = std::fs::read_to_string(copy.path().join(&file)).unwrap_or_default();
        let mutant = mutate(&original, &mut rng);
        copy.write(&file, &mutant);
        let project = Project::new(copy.path().to_path_buf());
        let outcome = catch_unwind(AssertUnwindSafe(|| check(&project, &templates, env)));
        let report = |what: String| {
            format!("seed {seed}, run {runs}, {}/{file} (env {env}): {what}\n--- mutant ---\n{mutant}", dir.display())
        };
        match outcome {
            Err(_) => panic!("{}", report("panicked".into())),
            Ok(Err(broken)) => panic!("{}", report(broken)),
            Ok(Ok(())) => {}
        }
        if redisctl::targets::load(&project, env, redisctl::secrets::Secrets::Needed, &mut Sources::default()).is_ok() {
            accepted += 1;
        }
        runs += 1;
    }
    eprintln!(
        "fuzz: {runs} mutants of {} environments from seed {seed}, {accepted} accepted and rendered",
        targets.len()
    );
    assert!(accepted > 0 && accepted < runs, "mutations must sometimes break and sometimes keep a contract");
}
