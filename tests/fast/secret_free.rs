//! Checking a contract needs no secret values: `validate`, `review`, `connect`, `parity` and
//! `diff` run on a fresh clone without the secret store (a pull request from a fork), and say
//! as a warning which reference does not resolve here; the commands that hash or pass a secret
//! (render of ACL files, plan, apply) still refuse with the located error RCTL050.

use crate::common::*;

/// The commands that read no secret value, on the sample project.
const SECRET_FREE: [&[&str]; 6] = [
    &["validate", "--all"],
    &["validate", "--all", "--format", "json"],
    &["review", "--env", "production"],
    &["connect", "--env", "production"],
    &["parity"],
    &["diff", "--env", "staging", "--env", "production"],
];

#[test]
fn checking_the_sample_needs_no_secret_values() {
    // `redisctl()` removes the CATALOG_REDIS_* variables: as on a fresh clone.
    let p = TempProject::copy_of(&repo_root());
    for args in SECRET_FREE {
        let run = Run::of(p.cmd().args(args));
        run.assert_code(0);
        if args[0] != "validate" || args.len() == 2 {
            // Production (systemd) hashes the passwords into its ACL file: the reference is named.
            assert!(run.stderr.contains("warning[RCTL050]"), "{args:?}\n{}", run.show());
            assert!(run.stderr.contains("CATALOG_REDIS_PASSWORD is not set"), "{args:?}\n{}", run.show());
            assert!(!run.stderr.contains("error["), "{args:?}\n{}", run.show());
        }
    }
    let json: serde_json::Value =
        serde_json::from_str(&Run::of(p.cmd().args(["validate", "--all", "--format", "json"])).stdout).unwrap();
    assert_eq!(json["valid"], true);
    let production = json["environments"].as_array().unwrap().iter().find(|e| e["environment"] == "production");
    let warnings: Vec<&serde_json::Value> = production.unwrap()["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "RCTL050" && d["severity"] == "warning")
        .collect();
    assert_eq!(warnings.len(), 5, "one per unset variable: {warnings:?}");

    // What needs the values still refuses, at the reference.
    let out = p.path().join("rendered");
    for args in
        [&["plan", "--env", "production"][..], &["render", "--env", "production", "--out", out.to_str().unwrap()]]
    {
        let run = Run::of(p.cmd().args(args));
        run.assert_code(1);
        let diag = run.stderr.split("\n\n").find(|d| d.contains("error[RCTL050]")).unwrap_or_else(|| {
            panic!("{args:?}: no located RCTL050\n{}", run.show());
        });
        assert!(diag.contains("CATALOG_REDIS_PASSWORD is not set"), "{diag}");
        assert!(diag.contains(" --> redisctl.yaml:23:17\n"), "{diag}");
    }
    assert!(!out.exists(), "render wrote files without the passwords");
}

#[test]
fn a_secret_file_that_is_missing_does_not_stop_diff() {
    // `local` reads its passwords from files: without them, diff still compares every file,
    // the ACL files with their hashes hidden as always.
    let p = TempProject::copy_of(&repo_root());
    std::fs::remove_dir_all(p.path().join("secrets")).unwrap();
    let run = Run::of(p.cmd().args(["diff", "--env", "local", "--env", "local"]));
    run.assert_code(0);
    assert!(
        run.stderr.contains("warning[RCTL050]") && run.stderr.contains("cannot read secret file"),
        "{}",
        run.show()
    );
    assert!(run.stdout.contains("are identical"), "{}", run.show());
    let run = Run::of(p.cmd().args(["plan", "--env", "local"]));
    run.assert_code(1);
    assert!(run.stderr.contains("error[RCTL050]"), "{}", run.show());
}

#[test]
fn the_secret_free_commands_print_no_secret_value() {
    let p = TempProject::copy_of(&repo_root());
    let canaries = [
        ("CATALOG_REDIS_PASSWORD", "Canary-free-app-41c2"),
        ("CATALOG_REDIS_REPLICATION_PASSWORD", "Canary-free-repl-8d10"),
        ("CATALOG_REDIS_SENTINEL_PASSWORD", "Canary-free-sentinel-77e3"),
        ("CATALOG_REDIS_OPS_PASSWORD", "Canary-free-ops-0b9a"),
        ("CATALOG_REDIS_METRICS_PASSWORD", "Canary-free-metrics-5e27"),
    ];
    let mut file_secrets = Vec::new();
    for rel in read_tree(&p.path().join("secrets")).into_keys() {
        file_secrets.push(p.read(&format!("secrets/{rel}")).trim().to_string());
    }
    for args in SECRET_FREE.iter().chain([&["connect", "--env", "local", "--format", "env"][..]].iter()) {
        let mut cmd = p.cmd();
        cmd.args(*args);
        for (k, v) in canaries {
            cmd.env(k, v);
        }
        let run = Run::of(&mut cmd);
        run.assert_code(0);
        assert!(!run.stderr.contains("RCTL050"), "every reference resolves: {args:?}\n{}", run.show());
        for secret in canaries.iter().map(|(_, v)| *v).chain(file_secrets.iter().map(String::as_str)) {
            assert!(!run.text().contains(secret), "{args:?} printed a password\n{}", run.show());
        }
    }
}
