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

use crate::common::fuzz::{mutate, Rng};
use crate::common::{self, TempProject};

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
