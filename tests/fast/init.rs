//! `redisctl init`: every topology × shared target scaffolds a project that validates as
//! written (no secret needed), plans its `local` environment, and renders its shared one; a
//! second init into the same directory is refused and changes nothing. Bringing a scaffolded
//! `local` up for real is tests/peers/local_stack.rs.

use std::os::unix::fs::PermissionsExt;

use crate::common::{self, Run};

fn redisctl(args: &[&str]) -> Run {
    Run::of(common::redisctl().args(args))
}

#[test]
fn every_scaffold_validates_plans_local_and_renders_its_shared_environment() {
    for target in ["systemd", "compose", "kubernetes", "elasticache", "redis-enterprise", "memorystore"] {
        for topology in ["standalone", "replication", "sentinel", "cluster"] {
            let dir = tempfile::tempdir().unwrap();
            let project = dir.path().join("orders");
            let p = project.to_str().unwrap();
            let what = format!("{target} {topology}");
            // Redis Enterprise creates databases of Redis 7.2 and later.
            let version = if target == "redis-enterprise" { "7.2" } else { "7.0" };
            let init = redisctl(&[
                "init",
                "--project",
                p,
                "--service",
                "orders",
                "--topology",
                topology,
                "--target",
                target,
                "--redis-version",
                version,
            ]);
            if target == "redis-enterprise" && topology == "sentinel" {
                assert_eq!(init.code, Some(64), "{what}: {}", init.show());
                assert!(init.stderr.contains("no Sentinel"), "{what}: {}", init.show());
                assert!(!project.exists(), "{what}: a refused init wrote files");
                continue;
            }
            assert_eq!(init.code, Some(0), "{what}: {}", init.show());
            assert!(init.stdout.contains("redisctl --project"), "{what}: the next steps: {}", init.show());

            let validate = redisctl(&["--project", p, "validate", "--all"]);
            assert_eq!(validate.code, Some(0), "{what}: {}", validate.show());
            // No warning but the unset password variables of the shared environment (and the
            // single-host notice of compose): a scaffold is clean.
            // Behind a proxy or a managed service there are no idle directives in the contract, so
            // the local stack runs without them; on Memorystore the application logs in with the
            // AUTH string everywhere (no application user).
            let proxied = target == "redis-enterprise" || target == "memorystore";
            for line in validate.text().lines().filter(|l| l.starts_with("warning[")) {
                assert!(
                    line.contains("RCTL050")
                        || (target == "compose" && line.contains("RCTL110"))
                        || (proxied && line.contains("RCTL116"))
                        || (target == "memorystore" && line.contains("RCTL112")),
                    "{what}: {line}"
                );
            }
            let parity = redisctl(&["--project", p, "parity"]);
            assert_eq!(
                parity.code,
                Some(0),
                "{what}: the scaffold's environments differ in semantics: {}",
                parity.show()
            );
            let plan = redisctl(&["--project", p, "plan", "--env", "local", "--detailed-exitcode", "--no-color"]);
            assert_eq!(plan.code, Some(2), "{what}: {}", plan.show());
            assert!(plan.stdout.contains("+ process:node-0"), "{what}: {}", plan.show());
            if target != "systemd" && target != "elasticache" {
                // Their passwords go by reference: rendering needs no value.
                let render = redisctl(&["--project", p, "render", "--env", "production", "--out", "-"]);
                assert_eq!(render.code, Some(0), "{what}: {}", render.show());
            }
            let keys: &[&str] = if target == "memorystore" { &["ops"] } else { &["app", "ops"] };
            for key in keys {
                let secret = project.join(format!("secrets/local/{key}.password"));
                let mode = std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{what}: {} is {mode:o}", secret.display());
                assert_eq!(std::fs::read_to_string(&secret).unwrap().trim().len(), 32, "{what}");
            }
            let schema = std::fs::read_to_string(project.join("schemas/redisctl.schema.json")).unwrap();
            assert_eq!(
                schema,
                std::fs::read_to_string(common::repo_root().join("schemas/redisctl.schema.json")).unwrap()
            );
        }
    }
}

#[test]
fn init_refuses_what_the_shared_target_cannot_run_and_writes_nothing() {
    for (args, why) in [
        (
            &["--target", "redis-enterprise", "--topology", "replication"][..],
            "Redis Enterprise creates databases of Redis 7.2",
        ),
        (&["--target", "memorystore", "--workload", "state"][..], "offers no `aof` persistence"),
        (&["--target", "memorystore", "--redis-version", "8.2"][..], "offers no Redis 8.2"),
        (&["--target", "elasticache", "--workload", "state"][..], "no AOF"),
        (&["--target", "process"][..], "invalid value"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut all = vec!["init", "--project", dir.path().to_str().unwrap(), "--service", "orders"];
        all.extend(args);
        let run = redisctl(&all);
        assert_eq!(run.code, Some(64), "{args:?}: {}", run.show());
        assert!(run.stderr.contains(why), "{args:?}: {}", run.show());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "{args:?}: a refused init wrote files");
    }
}

#[test]
fn init_refuses_an_existing_project_and_bad_names_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().to_str().unwrap();
    assert_eq!(redisctl(&["init", "--project", p, "--service", "orders"]).code, Some(0));
    let before = common::read_tree(dir.path());
    let again = redisctl(&["init", "--project", p, "--service", "other", "--topology", "cluster"]);
    assert_eq!(again.code, Some(1), "{}", again.show());
    assert!(again.stderr.contains("already holds a redisctl.yaml"), "{}", again.show());
    assert_eq!(common::read_tree(dir.path()), before, "a refused init changed the project");

    let empty = tempfile::tempdir().unwrap();
    let e = empty.path().to_str().unwrap();
    for bad in [vec!["--service", "Orders"], vec!["--service", "a b"], vec!["--service", "orders", "--env", "local"]] {
        let mut args = vec!["init", "--project", e];
        args.extend(bad.iter().copied());
        let run = redisctl(&args);
        assert_eq!(run.code, Some(64), "{bad:?}: {}", run.show());
    }
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0, "a refused init wrote files");
}
