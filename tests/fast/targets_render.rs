//! Rendering of the deployment targets: snapshots of every artifact of every target and
//! topology, no plaintext password in any rendered file, deterministic bytes.

use std::os::unix::fs::PermissionsExt;

use crate::common;
use crate::common::targets::*;
use sha2::{Digest, Sha256};

const TARGETS: [&str; 3] = ["systemd", "compose", "kubernetes"];

fn envs() -> Vec<String> {
    let mut envs: Vec<String> =
        TARGETS.iter().flat_map(|t| TOPOLOGIES.iter().map(move |topology| format!("{t}-{topology}"))).collect();
    for t in ["compose", "kubernetes"] {
        envs.extend(TLS_TOPOLOGIES.iter().map(|topology| format!("{t}-{topology}")));
    }
    envs
}

/// Every rendered file of an output directory, with its path and mode, in one text.
fn bundle(dir: &std::path::Path) -> String {
    let mut text = String::new();
    for (rel, path) in files(dir) {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        text.push_str(&format!("=== {rel} ({mode:o})\n{}\n", std::fs::read_to_string(&path).unwrap()));
    }
    text
}

#[test]
fn snapshots_of_every_rendered_artifact() {
    for env in envs() {
        let out = render(&env);
        insta::assert_snapshot!(env.clone(), bundle(out.path()));
    }
}

#[test]
fn no_rendered_file_holds_a_plaintext_password() {
    let examples = [
        "compose-cache",
        "compose-sentinel",
        "systemd-sentinel",
        "kubernetes-cluster",
        "kubernetes-sentinel",
        "elasticache-session",
    ];
    let mut outputs: Vec<(String, tempfile::TempDir)> = envs().into_iter().map(|e| (e.clone(), render(&e))).collect();
    for ex in examples {
        let project = format!("examples/{ex}");
        for env in std::fs::read_dir(root().join(&project).join("environments")).unwrap() {
            let name = env.unwrap().file_name().to_string_lossy().trim_end_matches(".yaml").to_string();
            outputs.push((format!("{project} {name}"), render_example(&project, &name)));
        }
    }
    for (what, out) in &outputs {
        for (rel, path) in files(out.path()) {
            let text = std::fs::read_to_string(path).unwrap();
            for (var, plain) in PASSWORDS.iter().chain(EXAMPLE_PASSWORDS.iter()) {
                assert!(!text.contains(plain), "{what}: {rel} holds the plaintext of {var}");
            }
        }
    }
    // systemd's ACL file carries the SHA-256 of each password instead.
    let systemd = render("systemd-standalone");
    let acl = std::fs::read_to_string(systemd.path().join("etc/redis/catalog/users.acl")).unwrap();
    assert!(acl.contains(&format!("#{}", hex::encode(Sha256::digest(PASSWORDS[0].1)))), "{acl}");
}

/// Passwords the example projects read (`fromEnv`), set to recognisable plaintext.
const EXAMPLE_PASSWORDS: [(&str, &str); 8] = [
    ("ORDERS_REDIS_APP_PASSWORD", "example-app-Plaintext"),
    ("ORDERS_REDIS_METRICS_PASSWORD", "example-metrics-Plaintext"),
    ("ORDERS_REDIS_REPLICATION_PASSWORD", "example-repl-Plaintext"),
    ("ORDERS_REDIS_SENTINEL_PASSWORD", "example-sentinel-Plaintext"),
    ("ORDERS_REDIS_OPS_PASSWORD", "example-ops-Plaintext"),
    ("SESSION_REDIS_PASSWORD", "example-session-app-Plaintext"),
    ("SESSION_REDIS_REPLICATION_PASSWORD", "example-session-repl-Plaintext"),
    ("SESSION_REDIS_OPS_PASSWORD", "example-session-ops-Plaintext"),
];

/// Examples are what users start from: every environment of every example passes validation
/// and its own readiness policy (production ones included).
#[test]
fn every_example_environment_is_valid() {
    let mut examples: Vec<_> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("redisctl.yaml").is_file())
        .collect();
    examples.sort();
    assert!(examples.len() >= 10, "{examples:?}");
    for project in examples {
        let mut cmd = common::redisctl_on(&project);
        // A fixed day: the examples record drills, which a policy rule wants recent.
        cmd.args(["validate", "--all"]).env("REDISCTL_TODAY", "2026-11-23");
        for (k, v) in EXAMPLE_PASSWORDS {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}:\n{stderr}", project.display());
        assert!(!stderr.contains("error["), "{}:\n{stderr}", project.display());
    }
}

fn render_example(project: &str, env: &str) -> tempfile::TempDir {
    render_with(project, env, &EXAMPLE_PASSWORDS)
}

#[test]
fn rendering_is_deterministic() {
    for env in ["systemd-sentinel", "compose-cluster", "kubernetes-sentinel"] {
        assert_eq!(bundle(render(env).path()), bundle(render(env).path()), "{env}");
    }
}

/// The commands the engine runs after writing (`--exec`), exposed as data per target: only
/// what the changed files need.
#[test]
fn post_apply_commands_per_target() {
    use redisctl::contract::Project;
    use redisctl::diagnostics::Sources;
    use redisctl::plan::Action;
    use redisctl::plan::Changed;
    use redisctl::resolve::Deployment;

    let project = Project::new(root().join(PROJECT));
    let load = |env: &str| {
        let loaded = project.load(env, &mut Sources::default()).unwrap_or_else(|_| panic!("{env} is valid"));
        Deployment::resolve(&loaded, &project.dir)
    };
    let dir = std::path::Path::new("deploy/x");
    let changed = |paths: &[&str]| -> Vec<Changed> {
        paths.iter().map(|p| Changed { path: p.to_string(), action: Action::Update, before: None }).collect()
    };
    let argv = |env: &str, paths: &[&str]| -> Vec<String> {
        let d = load(env).unwrap();
        let commands = redisctl::targets::of(d.contract.target).post_apply_commands(&d, dir, &changed(paths));
        commands.unwrap_or_default().into_iter().map(|c| c.argv.join(" ")).collect()
    };
    assert!(argv("compose-sentinel", &[]).is_empty(), "nothing changed, nothing runs");
    assert!(argv("compose-sentinel", &["README.md"]).is_empty());
    assert_eq!(
        argv("compose-sentinel", &["config/sentinel-1.conf"]),
        ["docker compose -f deploy/x/compose.yaml up -d --no-deps --force-recreate --wait sentinel-1"]
    );
    assert_eq!(
        argv(
            "kubernetes-cluster",
            &["statefulset-catalog-redis.yaml", "configmap-catalog-redis-config.yaml", "README.md"]
        ),
        ["kubectl apply --server-side --field-manager=redisctl -f deploy/x/configmap-catalog-redis-config.yaml \
          -f deploy/x/statefulset-catalog-redis.yaml"]
    );
    // systemd resolves passwords at load time (ACL hashes); the layout of compose-replication is
    // the same, and its contract carries the systemd hosts of the fixture.
    let cmds = redisctl::targets::systemd::post_apply_commands(
        &load("compose-replication").unwrap(),
        &changed(&["etc/systemd/system/redis-catalog@.service"]),
    );
    let first_restart = cmds.iter().position(|c| c.argv[1] == "restart").unwrap();
    assert_eq!(cmds[first_restart].argv[2], "redis-catalog@node-1.service", "replicas restart before their primary");
    assert_eq!(cmds[0].host.as_deref(), Some("10.0.1.11"), "node-0 runs on hosts[0]");
    assert_eq!(cmds[0].argv, ["systemctl", "daemon-reload"]);
    assert!(!cmds.iter().any(|c| c.argv[0] == "sysctl"), "the sysctl file did not change");
}

/// #14 item 8: committed output plans clean on a fresh clone. Git keeps only the executable
/// bit, so a clone has 0644/0755 where apply wrote 0640/0600: for committed targets the plan
/// compares what git keeps; for a local stack (not committed) every bit still counts.
#[test]
fn committed_output_plans_clean_after_a_clone_resets_its_modes() {
    use std::os::unix::fs::PermissionsExt;
    let reset_modes = |dir: &std::path::Path| {
        for (_, path) in crate::common::files(dir) {
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            let cloned = if mode & 0o111 != 0 { 0o755 } else { 0o644 };
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(cloned)).unwrap();
        }
    };
    for (example, env, out) in [
        ("systemd-sentinel", "production", "deploy/production"),
        ("kubernetes-sentinel", "production", "deploy/production"),
        ("standalone-cache", "local", ".redisctl/local/run"),
    ] {
        let copy = crate::common::TempProject::copy_of(&crate::common::example_dir(example));
        let run = |args: &[&str]| {
            let mut cmd = copy.cmd();
            cmd.args(args);
            for (k, v) in EXAMPLE_PASSWORDS {
                cmd.env(k, v);
            }
            crate::common::Run::of(&mut cmd)
        };
        run(&["apply", "--env", env, "--auto-approve", "--files-only"]).assert_code(0);
        reset_modes(&copy.path().join(out));
        let plan = run(&["plan", "--env", env, "--files-only", "--detailed-exitcode", "--no-color"]);
        if out.starts_with(".redisctl") {
            plan.assert_code(2);
            assert!(plan.stdout.contains("mode 0644 → 06"), "{}", plan.show());
        } else {
            plan.assert_code(0);
        }
    }
}

/// #14 done-when: every environment of every example (and of the repo's own project) goes
/// plan → apply → plan of its rendered files, and the second plan is empty.
#[test]
fn every_example_environment_converges_in_one_apply_of_its_files() {
    let root = crate::common::repo_root();
    let mut projects = vec![root.clone()];
    projects.extend(std::fs::read_dir(root.join("examples")).unwrap().flatten().map(|e| e.path()));
    let mut done = 0;
    for project in projects.iter().filter(|p| p.join("redisctl.yaml").exists()) {
        let copy = crate::common::TempProject::copy_of(project);
        for env in crate::common::environments(copy.path()) {
            let run = |args: &[&str]| {
                let mut cmd = copy.cmd();
                cmd.args(args).args(["--env", &env, "--files-only", "--no-color"]);
                for (k, v) in EXAMPLE_PASSWORDS.iter().chain(&crate::common::SAMPLE_ENV_PASSWORDS) {
                    cmd.env(k, v);
                }
                crate::common::Run::of(&mut cmd)
            };
            let what = format!("{}:{env}", project.display());
            assert_eq!(run(&["plan", "--detailed-exitcode"]).code, Some(2), "{what}: nothing to do on a clean copy");
            let applied = run(&["apply", "--auto-approve"]);
            assert_eq!(applied.code, Some(0), "{what}: {}", applied.show());
            let again = run(&["plan", "--detailed-exitcode"]);
            assert_eq!(again.code, Some(0), "{what}: the second plan is not empty:\n{}", again.show());
            done += 1;
        }
    }
    assert!(done >= 12, "{done} environments");
}

/// `render --all` (one process for every environment) writes exactly what `render --env` writes
/// for each; an environment it cannot render here (the production passwords unset) is named,
/// the others are still written, and the exit status says so.
#[test]
fn render_all_writes_what_each_render_writes_and_names_what_it_cannot() {
    let p = common::TempProject::copy_of(&common::repo_root());
    let out = tempfile::tempdir().unwrap();
    let run = |args: &[&str], secrets: bool| {
        let mut cmd = p.cmd();
        cmd.args(args);
        if secrets {
            for (k, v) in common::SAMPLE_ENV_PASSWORDS {
                cmd.env(k, v);
            }
        }
        common::Run::of(&mut cmd)
    };
    let all = out.path().join("all");
    let o = run(&["render", "--all", "--out", all.to_str().unwrap()], false);
    assert_eq!(o.code, Some(1), "{}", o.show());
    assert!(o.stderr.contains("`production` not rendered") && o.stderr.contains("1 of 3"), "{}", o.show());
    assert!(all.join("staging").is_dir() && all.join("local").is_dir() && !all.join("production").exists());

    let o = run(&["render", "--all", "--out", all.to_str().unwrap()], true);
    assert_eq!(o.code, Some(0), "{}", o.show());
    for env in ["local", "staging", "production"] {
        let one = out.path().join(format!("one-{env}"));
        run(&["render", "--env", env, "--out", one.to_str().unwrap()], true).assert_code(0);
        assert_eq!(common::read_tree(&all.join(env)), common::read_tree(&one), "{env}");
    }
    assert_eq!(run(&["render", "--all", "--out", "-"], true).code, Some(64));
}
