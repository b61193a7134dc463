//! The pull-request workflow: `plan --all` puts every environment in one comment (marker,
//! summary table, plans within the size limit; an environment that cannot be planned here is
//! reported, not fatal), and `show FILE` presents a saved plan as `plan` did.

use crate::common::*;

const LIMIT: usize = 60_000;

fn run(p: &TempProject, args: &[&str], secrets: bool) -> Run {
    let mut cmd = p.cmd();
    cmd.args(args);
    if secrets {
        for (k, v) in SAMPLE_ENV_PASSWORDS {
            cmd.env(k, v);
        }
    }
    Run::of(&mut cmd)
}

#[test]
fn plan_all_of_the_sample_is_one_comment_even_without_secrets() {
    let p = TempProject::copy_of(&repo_root());
    // A fresh clone: production (systemd) needs the password variables to be planned.
    let md = run(&p, &["plan", "--all", "--format", "markdown"], false);
    md.assert_code(1);
    let doc = &md.stdout;
    assert!(doc.starts_with("<!-- redisctl-plan -->\n"), "{doc}");
    assert!(doc.chars().count() < LIMIT, "{} characters", doc.chars().count());
    let table = doc.find("| environment | target | plan |").expect("a summary table");
    assert!(table < doc.find("### redisctl plan:").unwrap(), "the summary comes first");
    let row = doc.lines().find(|l| l.starts_with("| `production` |")).unwrap();
    assert!(row.contains("not planned") && row.contains("CATALOG_REDIS_PASSWORD is not set"), "{row}");
    assert!(doc.contains("### redisctl plan: `production` was not planned"), "{doc}");
    assert!(doc.contains("- RCTL050 at redisctl.yaml:23:17: password of ACL user `catalog-app`"), "{doc}");
    for env in ["local", "staging"] {
        let row = doc.lines().find(|l| l.starts_with(&format!("| `{env}` |"))).unwrap();
        assert!(row.contains("Plan: "), "{row}");
        assert!(doc.contains(&format!("### redisctl plan: `{env}` (")), "{env} has its plan");
    }
    // The reasons are on stderr too, as located diagnostics.
    assert!(md.stderr.contains("error[RCTL050]"), "{}", md.stderr);

    // With the secret store: every environment, still one comment, no password in it.
    let md = run(&p, &["plan", "--all", "--format", "markdown", "--detailed-exitcode"], true);
    md.assert_code(2);
    assert!(md.stdout.chars().count() < LIMIT, "{} characters", md.stdout.chars().count());
    assert!(!md.stdout.contains("not planned"), "{}", md.stdout);
    for (_, secret) in SAMPLE_ENV_PASSWORDS {
        assert!(!md.text().contains(secret), "a password in the comment");
    }

    let text = run(&p, &["plan", "--all"], false);
    text.assert_code(1);
    assert!(text.stdout.starts_with("Every environment:\n"), "{}", text.stdout);
    let summary: Vec<&str> = text.stdout.lines().skip(1).take(3).collect();
    assert!(summary[0].starts_with("  local ") && summary[0].contains("Plan: 17 to add"), "{summary:?}");
    assert!(summary[1].starts_with("  production ") && summary[1].contains("not planned: RCTL050"), "{summary:?}");
    for env in ["local", "production", "staging"] {
        assert!(text.stdout.contains(&format!("\n=== {env} ===\n")), "{}", text.stdout);
    }
}

#[test]
fn plan_all_shares_the_comment_limit_between_many_environments() {
    let p = TempProject::copy_of(&repo_root());
    let staging = p.read("environments/staging.yaml");
    for i in 0..12 {
        p.write(&format!("environments/stage{i:02}.yaml"), &staging);
    }
    let md = run(&p, &["plan", "--all", "--format", "markdown"], true);
    md.assert_code(0);
    assert!(md.stdout.chars().count() < LIMIT, "{} characters", md.stdout.chars().count());
    assert!(md.stdout.contains("Output truncated"), "the diffs that do not fit are left out, and it says so");
    for i in 0..12 {
        assert!(md.stdout.contains(&format!("| `stage{i:02}` | kubernetes | Plan: 13 to add")), "stage{i:02}");
    }
}

#[test]
fn plan_all_refuses_what_it_cannot_do() {
    let p = TempProject::copy_of(&repo_root());
    for args in [
        &["plan"][..],
        &["plan", "--all", "--env", "local"],
        &["plan", "--all", "--out", "x.plan"],
        &["plan", "--all", "--format", "json"],
    ] {
        let r = run(&p, args, true);
        r.assert_code(64);
    }
    assert!(!p.path().join("x.plan").exists());
}

#[test]
fn show_presents_a_saved_plan_as_plan_did() {
    let p = TempProject::copy_of(&repo_root());
    let file = p.path().join("local.plan");
    let file = file.to_str().unwrap();
    run(&p, &["plan", "--env", "local", "--out", file], false).assert_code(0);
    for format in ["text", "markdown", "json"] {
        let planned = run(&p, &["plan", "--env", "local", "--format", format], false);
        let shown = run(&p, &["show", file, "--format", format], false);
        shown.assert_code(0);
        assert_eq!(shown.stdout, planned.stdout, "{format}");
    }
    assert!(run(&p, &["show", file], false).stdout.contains("starts redis-server on 127.0.0.1:16379"));

    // Only a plan file, as saved, is shown.
    let text = std::fs::read_to_string(file).unwrap();
    std::fs::write(file, text.replace("127.0.0.1:16379", "127.0.0.1:16479")).unwrap();
    let edited = run(&p, &["show", file], false);
    edited.assert_code(1);
    assert!(edited.stderr.contains("was edited after it was saved"), "{}", edited.show());
    std::fs::write(file, "{\"not\": \"a plan\"}").unwrap();
    run(&p, &["show", file], false).assert_code(1);
    std::fs::write(file, [0xff, 0xfe, 0x00]).unwrap();
    run(&p, &["show", file], false).assert_code(1);
    let missing = run(&p, &["show", "no-such.plan"], false);
    missing.assert_code(1);
    assert!(missing.stderr.contains("no-such.plan"), "{}", missing.show());
}

/// `examples/ci/`: the pre-commit hook keeps the committed deploy/ output rendered (it stops a
/// commit whose contract change is not rendered, and names the environment), and every
/// redisctl command of the GitHub Actions workflow runs, in order, on a repository with the
/// sample project (the passwords set as the repository's secrets would set them).
#[test]
fn the_ci_example_runs_on_the_sample_and_its_hook_keeps_deploy_rendered() {
    let p = TempProject::copy_of(&repo_root());
    std::fs::create_dir_all(p.path().join("examples")).unwrap();
    copy_dir(&repo_root().join("examples/ci"), &p.path().join("examples/ci"));
    let git = |args: &[&str]| {
        let o = std::process::Command::new("git").args(args).current_dir(p.path()).output().unwrap();
        assert!(o.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    git(&["init", "-q"]);
    git(&["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "start"]);
    let hook = || {
        let mut cmd = std::process::Command::new(p.path().join("examples/ci/pre-commit"));
        cmd.current_dir(p.path()).env("REDISCTL", env!("CARGO_BIN_EXE_redisctl")).env("NO_COLOR", "1");
        for (k, v) in SAMPLE_ENV_PASSWORDS {
            cmd.env(k, v);
        }
        let o = cmd.output().unwrap();
        (o.status.code(), String::from_utf8_lossy(&o.stderr).to_string())
    };
    // Nothing rendered yet: both shared environments are rendered, the commit stops.
    let (code, said) = hook();
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("staging") && said.contains("production") && said.contains("git add deploy/"), "{said}");
    assert!(p.path().join("deploy/staging/statefulset-catalog-redis.yaml").is_file());
    assert_eq!(hook(), (Some(0), String::new()), "rendered output passes");
    // A contract change of staging alone: only staging is stale.
    let staging = p.read("environments/staging.yaml").replace("maxmemory: 1gb", "maxmemory: 1200mb");
    p.write("environments/staging.yaml", staging);
    let (code, said) = hook();
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains(": staging.") && !said.contains("production"), "{said}");
    assert_eq!(hook().0, Some(0));

    // The workflow's commands, in order.
    let workflow = std::fs::read_to_string(p.path().join("examples/ci/redisctl.yml")).unwrap();
    let node = redisctl::contract::yaml::parse(&workflow, 0).expect("the workflow is YAML");
    let doc = redisctl::contract::merge::to_json(&node, &mut Default::default());
    let steps = doc["jobs"]["plan"]["steps"].as_array().expect("jobs.plan.steps");
    let mut ran = 0;
    for line in steps.iter().filter_map(|s| s["run"].as_str()).flat_map(str::lines).map(str::trim) {
        if line == "examples/ci/pre-commit" {
            assert_eq!(hook(), (Some(0), String::new()), "{line}");
            ran += 1;
        } else if let Some(rest) = line.strip_prefix("redisctl ") {
            let (args, out) = match rest.split_once(" > ") {
                Some((args, file)) => (args, Some(file)),
                None => (rest, None),
            };
            let args: Vec<&str> = args.split_whitespace().collect();
            let o = run(&p, &args, true);
            assert_eq!(o.code, Some(0), "`{line}`: {}", o.show());
            if let Some(file) = out {
                assert!(o.stdout.starts_with("<!-- redisctl-plan -->"), "`{line}`: {}", o.stdout);
                p.write(file, &o.stdout);
            }
            ran += 1;
        }
    }
    assert_eq!(ran, 3, "validate, the deploy check, plan --all");
}
