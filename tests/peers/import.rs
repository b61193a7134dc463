//! `redisctl import` against real local stacks of every topology: bring a stack up with
//! `apply`, import it into a fresh project, fill in the password references, and the very next
//! `plan` (and `plan --live`) against the same running servers shows no changes: import adopted
//! the deployment files as the servers run them, without restarting or rewriting a server. No
//! password of the stack appears in the import's output or files.

use std::path::Path;

use crate::common::stacks::{LocalStack, PASSWORDS};
use crate::common::{redisctl_on, Run, TempProject};

/// Import `stack` into a fresh project as environment `adopted`; returns the project and the
/// import's output.
fn import(stack: &LocalStack, how: &[&str]) -> (TempProject, String) {
    let target = TempProject::new(&[]);
    let mut args = vec!["import", "--env", "adopted", "--service", "stack", "--user", "ops"];
    args.extend_from_slice(&["--password-file"]);
    let ops = stack.path().join("secrets/ops");
    args.push(ops.to_str().unwrap());
    args.extend_from_slice(how);
    let o = Run::unbounded(redisctl_on(target.path()).args(&args));
    assert!(o.success(), "{}", o.show());
    (target, o.text())
}

/// The imported project's commands, with the password variables filled in as an operator would.
fn run(dir: &Path, args: &[&str]) -> Run {
    let mut cmd = redisctl_on(dir);
    for (user, pw) in PASSWORDS {
        cmd.env(format!("STACK_{}_PASSWORD", user.to_uppercase()), pw);
    }
    Run::unbounded(cmd.args(args))
}

fn no_secret(what: &str, text: &str) {
    for (_, pw) in PASSWORDS {
        assert!(!text.contains(pw), "{what} holds a password:\n{text}");
    }
}

/// Import, then the live plan of the imported environment against the running servers.
fn adopt(stack: &LocalStack, how: &[&str], expect: &[&str]) -> TempProject {
    let before = run_ids(stack);
    let (target, out) = import(stack, how);
    for e in expect {
        assert!(out.contains(e), "import output lacks `{e}`:\n{out}");
    }
    let base = target.read("redisctl.yaml");
    let overlay = target.read("environments/adopted.yaml");
    eprintln!("{out}\n--- redisctl.yaml ---\n{base}\n--- adopted.yaml ---\n{overlay}");
    for (what, text) in [("import output", &out), ("redisctl.yaml", &base), ("adopted.yaml", &overlay)] {
        no_secret(what, text);
        // No password hash either (ACL LIST prints SHA-256 hex digits after `#`).
        let hash = text.split(|c: char| !c.is_ascii_hexdigit()).any(|w| w.len() == 64);
        assert!(!hash, "{what} holds a password hash:\n{text}");
    }
    assert!(base.starts_with("# yaml-language-server: $schema=schemas/redisctl.schema.json"), "{base}");
    assert!(base.contains("# review:") && out.contains("(review)"), "{base}\n{out}");
    assert!(base.contains("fromEnv: STACK_APP_PASSWORD") && base.contains("repl-diskless-sync-delay"), "{base}");
    assert!(target.path().join("schemas/redisctl.schema.json").exists());

    assert!(out.contains("Adopted: ") && out.contains("nothing on the servers was changed"), "{out}");
    // The very next plan: the adopted files are what the contract renders, owned by redisctl.
    for scope in [&[][..], &["--live"][..]] {
        let mut args = vec!["plan", "--env", "adopted", "--detailed-exitcode", "--no-color"];
        args.extend_from_slice(scope);
        let plan = run(target.path(), &args);
        assert_eq!(plan.code, Some(0), "{args:?} right after import shows changes:\n{}", plan.show());
        assert!(plan.stdout.contains("No changes."), "{}", plan.show());
        no_secret("plan", &plan.text());
    }
    // Adopting never restarts a server: every node still runs the process it ran before import.
    assert_eq!(run_ids(stack), before, "a server was restarted by import");

    // A second import refuses to overwrite what the first wrote.
    let again = Run::unbounded(redisctl_on(target.path()).args([
        "import",
        "--env",
        "adopted",
        "--service",
        "stack",
        "--user",
        "ops",
        "--password-env",
        "NOPE",
        "--address",
        "127.0.0.1:1",
    ]));
    assert_eq!(again.code, Some(1), "{}", again.show());
    assert!(again.stderr.contains("without --force"), "{}", again.show());
    target
}

/// Each member of the stack with its process id (a restarted server has a new one).
fn run_ids(stack: &LocalStack) -> Vec<(String, u64)> {
    let status: serde_json::Value =
        serde_json::from_str(&stack.ok(&["status", "--env", "dev", "--format", "json"])).unwrap();
    let pids: Vec<(String, u64)> = status["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"].as_str().unwrap().to_string(), m["pid"].as_u64().expect("every member runs")))
        .collect();
    assert!(!pids.is_empty(), "{status:#}");
    pids
}

#[test]
fn import_a_standalone_node_and_plan_shows_no_changes() {
    let stack = LocalStack::up("{ mode: standalone }", "");
    LocalStack::fill(stack.base, "stack", 50);
    let addr = format!("127.0.0.1:{}", stack.base);
    let target = adopt(&stack, &["--address", &addr], &["standalone: one node", "key prefix `stack`"]);
    // The adopted ACL file holds the hashes the server holds: a password filled in wrongly is a
    // planned change of the ACL file, not a silent one.
    let mut cmd = redisctl_on(target.path());
    for (user, pw) in PASSWORDS {
        let pw = if user == "app" { "not-the-password" } else { pw };
        cmd.env(format!("STACK_{}_PASSWORD", user.to_uppercase()), pw);
    }
    let wrong = Run::unbounded(cmd.args(["plan", "--env", "adopted", "--detailed-exitcode", "--no-color"]));
    assert_eq!(wrong.code, Some(2), "{}", wrong.show());
    assert!(wrong.stdout.contains("users.acl"), "{}", wrong.show());
    // A setting changed on the server afterwards is a live change of the imported environment.
    let mut con = LocalStack::connection(stack.base, "ops");
    redis::cmd("CONFIG").arg("SET").arg("timeout").arg("301").exec(&mut con).unwrap();
    let plan = run(target.path(), &["plan", "--env", "adopted", "--live", "--no-color"]);
    assert!(plan.stdout.contains("redis-config:node-0/timeout"), "{}", plan.show());
}

#[test]
fn import_a_primary_with_replicas_from_a_replica() {
    let stack = LocalStack::up("{ mode: replication, replicas: 2 }", "");
    let replica = format!("127.0.0.1:{}", stack.base + 2);
    adopt(&stack, &["--address", &replica], &["replication: primary + 2 replica(s)"]);
    // A replica changed by hand is named: the contract gives it the primary's settings.
    let mut con = LocalStack::connection(stack.base + 1, "ops");
    redis::cmd("CONFIG").arg("SET").arg("timeout").arg("299").exec(&mut con).unwrap();
    let (_, out) = import(&stack, &["--address", &replica]);
    let line = format!("127.0.0.1:{} runs with other settings than the primary (timeout 299)", stack.base + 1);
    assert!(out.contains(&line), "{out}");
}

#[test]
fn import_a_sentinel_set_from_a_sentinel() {
    let stack = LocalStack::up("{ mode: sentinel, replicas: 1, sentinels: 3 }", "");
    let sentinel = format!("127.0.0.1:{}", stack.sentinel_base + 1);
    let watcher = stack.path().join("secrets/watcher");
    // Import reads a settled deployment: Sentinels that started a moment ago may not have
    // heard each other's hello messages yet (every 2 s), and no Sentinel can report one it
    // has not heard of.
    crate::common::wait_for("every Sentinel knows the two others", std::time::Duration::from_secs(15), || {
        let mut all = true;
        for j in 0..3 {
            let mut con = LocalStack::connection(stack.sentinel_base + j, "watcher");
            let master: std::collections::HashMap<String, String> =
                redis::cmd("SENTINEL").arg("MASTER").arg("stack").query(&mut con).map_err(|e| e.to_string())?;
            all &= master.get("num-other-sentinels").map(String::as_str) == Some("2");
        }
        if all {
            Ok(())
        } else {
            Err("not yet".to_string())
        }
    });
    let target = adopt(
        &stack,
        &["--sentinel", &sentinel, "--sentinel-user", "watcher", "--sentinel-password-file", watcher.to_str().unwrap()],
        &["sentinel: primary + 1 replica(s), 3 Sentinel(s) monitoring `stack`"],
    );
    let overlay = target.read("environments/adopted.yaml");
    assert!(overlay.contains("quorum: 2") && overlay.contains("sentinel: "), "{overlay}");
}

#[test]
fn import_a_cluster_from_any_node() {
    let stack = LocalStack::up("{ mode: cluster, shards: 3, replicasPerShard: 1 }", "");
    let node = format!("127.0.0.1:{}", stack.base + 4);
    let target = adopt(&stack, &["--address", &node], &["cluster: 3 shard(s) × (primary + 1 replica(s))"]);
    assert!(target.read("redisctl.yaml").contains("clusterSafe: true"));
}

#[test]
fn import_refuses_what_it_cannot_reach_and_writes_nothing() {
    let target = TempProject::new(&[]);
    let port = crate::common::free_port().to_string();
    let o = Run::unbounded(redisctl_on(target.path()).env("PW", "x").args([
        "import",
        "--env",
        "adopted",
        "--service",
        "stack",
        "--user",
        "ops",
        "--password-env",
        "PW",
        "--address",
        &format!("127.0.0.1:{port}"),
    ]));
    assert_eq!(o.code, Some(1), "{}", o.show());
    assert!(o.stderr.contains("connection refused"), "{}", o.show());
    assert!(!target.path().join("redisctl.yaml").exists());
    let o = Run::unbounded(redisctl_on(target.path()).args([
        "import",
        "--env",
        "adopted",
        "--user",
        "ops",
        "--password-env",
        "UNSET_PW_VAR",
        "--address",
        "nowhere",
    ]));
    assert!(!o.success() && !o.stderr.contains("panicked"), "{}", o.show());
}

#[test]
fn import_a_tls_only_primary_with_a_replica_and_plan_shows_no_changes() {
    let certs = tempfile::tempdir().unwrap();
    crate::common::test_certificates(certs.path());
    let file = |f: &str| certs.path().join(f).display().to_string();
    let tls = format!(
        "security: {{ tls: {{ enabled: true, certFile: {}, keyFile: {}, caFile: {} }} }}\n",
        file("node.crt"),
        file("node.key"),
        file("ca.crt")
    );
    let stack = LocalStack::up("{ mode: replication, replicas: 1 }", &tls);
    let replica = format!("127.0.0.1:{}", stack.base + 1);
    // Plain TCP to a TLS-only server: a clear failure, and nothing written.
    let plain = TempProject::new(&[]);
    let ops = stack.path().join("secrets/ops");
    let o = Run::unbounded(redisctl_on(plain.path()).args([
        "import",
        "--env",
        "adopted",
        "--service",
        "stack",
        "--user",
        "ops",
        "--password-file",
        ops.to_str().unwrap(),
        "--address",
        &replica,
    ]));
    assert_eq!(o.code, Some(1), "{}", o.show());
    assert!(o.stderr.contains(&replica) && !o.stderr.contains("panicked"), "{}", o.show());
    assert!(!plain.path().join("redisctl.yaml").exists());

    let how = [
        "--address",
        &replica,
        "--tls-ca-file",
        &file("ca.crt"),
        "--tls-cert-file",
        &file("node.crt"),
        "--tls-key-file",
        &file("node.key"),
    ];
    let target = adopt(&stack, &how, &["replication: primary + 1 replica(s)"]);
    let overlay = target.read("environments/adopted.yaml");
    assert!(overlay.contains("tls: { enabled: true") && overlay.contains(&file("node.crt")), "{overlay}");
    assert!(overlay.contains(&format!("redis: {}", stack.base)), "{overlay}");
    let conf = target.read("deploy/adopted/etc/redis/stack/node-0.conf");
    assert!(conf.contains(&format!("tls-port {}", stack.base)) && conf.contains("port 0"), "{conf}");
}
