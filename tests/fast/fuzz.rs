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
use std::time::Instant;

use redisctl::contract::Project;
use redisctl::diagnostics::Sources;
use redisctl::environment::Environment;
use redisctl::render::Templates;

use crate::common::fuzz::{budget, environments_to_fuzz, Mutant, Rng};

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
    let (secs, seed) = budget(3);
    let templates = Templates::new(None).unwrap();
    let targets = environments_to_fuzz(|_| true);
    assert!(targets.len() >= 8, "too few environments to fuzz: {targets:?}");

    let mut rng = Rng(seed | 1);
    let deadline = Instant::now() + secs;
    let (mut runs, mut accepted) = (0u32, 0u32);
    while Instant::now() < deadline || runs < 50 {
        let m = Mutant::new(&targets, &mut rng);
        let project = m.project();
        match catch_unwind(AssertUnwindSafe(|| check(&project, &templates, &m.env))) {
            Err(_) => panic!("{}", m.report(seed, runs, "panicked")),
            Ok(Err(broken)) => panic!("{}", m.report(seed, runs, &broken)),
            Ok(Ok(())) => {}
        }
        if redisctl::targets::load(&project, &m.env, redisctl::secrets::Secrets::Needed, &mut Sources::default())
            .is_ok()
        {
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
