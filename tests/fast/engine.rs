//! Plan/apply engine, end to end through the real binary, on the files of a `process`
//! environment (no servers are started: the process provider is not involved here).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{self, Run, TempProject};
use sha2::Digest;

const PASSWORD: &str = "s3cret-Engine-Test-Password";

struct Project {
    project: TempProject,
}

impl Project {
    /// A project whose `dev` environment is a primary with `replicas` replicas.
    fn new(replicas: u32) -> Project {
        let p = Project { project: TempProject::new(&[]) };
        p.write(
            "redisctl.yaml",
            r#"apiVersion: redisctl/v1
service: shop
redis:
  version: "7.0"
  workload: cache
  maxmemoryPolicy: allkeys-lru
  config:
    timeout: 300
keyspace: { prefix: shop }
acl:
  users:
    - name: shop-app
      password: { fromFile: secrets/app.password }
    - name: repl
      role: replication
      password: { fromFile: secrets/repl.password }
    - name: ops
      role: operator
      password: { fromFile: secrets/ops.password }
resources:
  maxmemory: 64mb
"#,
        );
        p.write("secrets/app.password", &format!("{PASSWORD}\n"));
        p.write("secrets/ops.password", "ops-dev-only\n");
        p.write("secrets/repl.password", "repl-dev-only\n");
        p.set_replicas(replicas);
        p
    }

    fn path(&self) -> &Path {
        self.project.path()
    }

    fn write(&self, rel: &str, text: &str) {
        self.project.write(rel, text);
    }

    fn set_replicas(&self, n: u32) {
        let mode = if n == 0 { "standalone" } else { "replication" };
        let replicas = if n == 0 { String::new() } else { format!(", replicas: {n}") };
        self.write(
            "environments/dev.yaml",
            &format!("target: process\ntopology: {{ mode: {mode}{replicas} }}\nports: {{ redis: 7100 }}\n"),
        );
    }

    fn out(&self) -> PathBuf {
        self.path().join(".redisctl/dev/run")
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = common::redisctl_std();
        // Files only: these tests are about the engine, not about starting servers.
        let files_only = matches!(args.first(), Some(&"plan") | Some(&"apply"));
        c.arg("--project").arg(self.path()).args(args);
        if files_only {
            c.arg("--files-only");
        }
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        Run::unbounded(&mut self.cmd(args).into())
    }
}

fn text(o: &Run) -> String {
    o.text()
}

fn code(o: &Run) -> i32 {
    o.code.unwrap_or(-1)
}

#[test]
fn plan_apply_and_plan_again_converges() {
    let p = Project::new(1);
    let plan = p.run(&["plan", "--env", "dev", "--detailed-exitcode"]);
    assert_eq!(code(&plan), 2, "{}", text(&plan));
    let out = text(&plan);
    for f in ["node-0/redis.conf", "node-1/redis.conf", "users.acl"] {
        assert!(out.contains(&format!("+ file:{f}")), "{out}");
    }
    assert!(out.contains("Plan: 3 to add, 0 to change, 0 to destroy."), "{out}");

    let apply = p.run(&["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(code(&apply), 0, "{}", text(&apply));
    assert!(text(&apply).contains("Apply complete! Resources: 3 added, 0 changed, 0 destroyed."));
    assert!(p.out().join("node-1/redis.conf").is_file());

    let again = p.run(&["plan", "--env", "dev", "--detailed-exitcode"]);
    assert_eq!(code(&again), 0, "{}", text(&again));
    assert!(text(&again).contains("No changes."));
}

#[test]
fn a_contract_change_shows_the_exact_diff() {
    let p = Project::new(0);
    assert_eq!(code(&p.run(&["apply", "--env", "dev", "--auto-approve"])), 0);
    let base = std::fs::read_to_string(p.path().join("redisctl.yaml")).unwrap();
    p.write("redisctl.yaml", &base.replace("timeout: 300", "timeout: 120"));
    let plan = p.run(&["plan", "--env", "dev", "--detailed-exitcode", "--no-color"]);
    assert_eq!(code(&plan), 2);
    let out = text(&plan);
    assert!(out.contains("~ file:node-0/redis.conf"), "{out}");
    assert!(out.contains("-timeout 300\n") && out.contains("+timeout 120\n"), "{out}");
    assert!(out.contains("Plan: 0 to add, 1 to change, 0 to destroy."), "{out}");
    assert!(!out.contains("users.acl"), "only the changed file is planned: {out}");
}

#[test]
fn a_hand_edit_is_reported_as_drift_and_reverted() {
    let p = Project::new(0);
    assert_eq!(code(&p.run(&["apply", "--env", "dev", "--auto-approve"])), 0);
    let conf = p.out().join("node-0/redis.conf");
    let original = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, original.replace("maxmemory 64mb", "maxmemory 1gb")).unwrap();
    let plan = p.run(&["plan", "--env", "dev", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(json["drift"], serde_json::json!(["file:node-0/redis.conf"]));
    let text_plan = text(&p.run(&["plan", "--env", "dev", "--no-color"]));
    assert!(text_plan.starts_with("Drift: objects changed outside redisctl"), "{text_plan}");
    assert_eq!(code(&p.run(&["apply", "--env", "dev", "--auto-approve"])), 0);
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), original);
}

#[test]
fn a_removed_node_is_planned_for_deletion_and_foreign_files_are_left_alone() {
    let p = Project::new(2);
    assert_eq!(code(&p.run(&["apply", "--env", "dev", "--auto-approve"])), 0);
    let foreign = p.out().join("node-2/notes.txt");
    std::fs::write(&foreign, "mine").unwrap();
    p.set_replicas(1);
    let plan = text(&p.run(&["plan", "--env", "dev", "--no-color"]));
    assert!(plan.contains("- file:node-2/redis.conf"), "{plan}");
    assert!(plan.contains("Plan: 0 to add, 0 to change, 1 to destroy."), "{plan}");
    assert!(!plan.contains("notes.txt"), "{plan}");
    assert_eq!(code(&p.run(&["apply", "--env", "dev", "--auto-approve"])), 0);
    assert!(!p.out().join("node-2/redis.conf").exists());
    assert_eq!(std::fs::read_to_string(&foreign).unwrap(), "mine");
}

#[test]
fn a_saved_plan_applies_exactly_and_a_stale_one_is_refused() {
    let p = Project::new(1);
    let plan_file = p.path().join("dev.plan");
    let plan_arg = plan_file.to_str().unwrap();
    let planned = p.run(&["plan", "--env", "dev", "--out", plan_arg]);
    assert_eq!(code(&planned), 0, "{}", text(&planned));
    let applied = p.run(&["apply", plan_arg]);
    assert_eq!(code(&applied), 0, "{}", text(&applied));
    assert!(text(&applied).contains("3 added"));

    // The plan is made, then a file changes: apply refuses and changes nothing.
    p.set_replicas(2);
    assert_eq!(code(&p.run(&["plan", "--env", "dev", "--out", plan_arg])), 0);
    std::fs::write(p.out().join("node-0/redis.conf"), "edited meanwhile\n").unwrap();
    let stale = p.run(&["apply", plan_arg]);
    assert_eq!(code(&stale), 1);
    assert!(text(&stale).contains("the saved plan is stale"), "{}", text(&stale));
    assert!(!p.out().join("node-2/redis.conf").exists(), "nothing applied from a stale plan");

    // A contract change also makes it stale.
    assert_eq!(code(&p.run(&["plan", "--env", "dev", "--out", plan_arg])), 0);
    p.set_replicas(3);
    let stale = p.run(&["apply", plan_arg]);
    assert!(text(&stale).contains("the contract changed"), "{}", text(&stale));
}

/// Hardening: a saved plan is sealed. Edited by hand (a diff, an `after` value), it is
/// refused and nothing is written, also when the editor recomputed its digest: every change is
/// compared with the plan made now, and the first difference is named.
#[test]
fn a_saved_plan_edited_by_hand_is_refused() {
    let p = Project::new(1);
    let plan_file = p.path().join("dev.plan");
    let plan_arg = plan_file.to_str().unwrap();
    assert_eq!(code(&p.run(&["plan", "--env", "dev", "--out", plan_arg])), 0);
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&plan_file).unwrap()).unwrap();
    assert_eq!(saved["digest"].as_str().map(str::len), Some(64), "the plan file carries its digest");

    let mut edited = saved.clone();
    let change = &mut edited["plan"]["changes"][0];
    assert!(change["diff"].is_string(), "{change:#}");
    change["diff"] = serde_json::json!("+maxmemory 1mb\n");
    std::fs::write(&plan_file, serde_json::to_string_pretty(&edited).unwrap()).unwrap();
    let refused = p.run(&["apply", plan_arg]);
    assert_eq!(code(&refused), 1, "{}", text(&refused));
    assert!(text(&refused).contains("was edited after it was saved"), "{}", text(&refused));
    assert!(!p.out().join("node-0/redis.conf").exists(), "nothing applied from an edited plan");

    // The digest is no secret: an editor can recompute it. The changes are compared anyway.
    let plan_json = serde_json::to_vec(&edited["plan"]).unwrap();
    edited["digest"] = serde_json::json!(sha256_hex(&plan_json));
    std::fs::write(&plan_file, serde_json::to_string_pretty(&edited).unwrap()).unwrap();
    let refused = p.run(&["apply", plan_arg]);
    assert_eq!(code(&refused), 1, "{}", text(&refused));
    let address = saved["plan"]["changes"][0]["address"].as_str().unwrap();
    assert!(text(&refused).contains(&format!("`{address}` differs in `diff`")), "{}", text(&refused));
    assert!(!p.out().join("node-0/redis.conf").exists(), "nothing applied from an edited plan");

    // The plan as saved still applies.
    std::fs::write(&plan_file, serde_json::to_string_pretty(&saved).unwrap()).unwrap();
    assert_eq!(code(&p.run(&["apply", plan_arg])), 0);
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Hardening: a directory below the output directory that is a symbolic link is never
/// followed: plan and apply refuse, naming it, and nothing is read or written where it points.
#[test]
fn a_symlinked_directory_in_the_output_is_refused() {
    let p = Project::new(0);
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("redis.conf"), "not redisctl's\n").unwrap();
    std::fs::create_dir_all(p.out()).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), p.out().join("node-0")).unwrap();
    for args in [&["plan", "--env", "dev"][..], &["apply", "--env", "dev", "--auto-approve"]] {
        let o = p.run(args);
        assert_eq!(code(&o), 1, "{args:?}: {}", text(&o));
        assert!(text(&o).contains("node-0 is a symbolic link"), "{}", text(&o));
        assert!(!text(&o).contains("not redisctl's"), "the target of the link was read: {}", text(&o));
    }
    assert_eq!(std::fs::read_to_string(elsewhere.path().join("redis.conf")).unwrap(), "not redisctl's\n");
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 1, "nothing created where the link points");
}

#[test]
fn apply_without_a_terminal_needs_auto_approve_and_writes_nothing() {
    let p = Project::new(0);
    let o = p.run(&["apply", "--env", "dev"]);
    assert_eq!(code(&o), 1);
    assert!(text(&o).contains("--auto-approve"), "{}", text(&o));
    assert!(!p.out().join("node-0/redis.conf").exists());
}

fn wait_for(path: &Path, timeout: Duration) {
    let start = Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < timeout, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_concurrent_apply_is_blocked_by_the_lock() {
    let p = Project::new(3);
    let mut slow = p.cmd(&["apply", "--env", "dev", "--auto-approve"]);
    slow.env("REDISCTL_TEST_APPLY_PAUSE_MS", "1500").stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = slow.spawn().unwrap();
    wait_for(&p.out().join("node-0/redis.conf"), Duration::from_secs(20));
    let second = p.run(&["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(code(&second), 1);
    assert!(text(&second).contains("holds the lock"), "{}", text(&second));
    assert!(child.wait().unwrap().success());
    // Once the first one is done, the lock is free again.
    assert_eq!(code(&p.run(&["apply", "--env", "dev", "--auto-approve"])), 0);
}

/// Hardening, lock race: six applies started at once. Exactly one proceeds; every other one
/// names the holder (never "unreadable, delete it"), and the files are whole.
#[test]
fn of_six_concurrent_applies_exactly_one_proceeds() {
    let p = Project::new(2);
    let children: Vec<std::process::Child> = (0..6)
        .map(|_| {
            let mut c = p.cmd(&["apply", "--env", "dev", "--auto-approve"]);
            c.env("REDISCTL_TEST_APPLY_PAUSE_MS", "500").stdout(Stdio::piped()).stderr(Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    let outcomes: Vec<(bool, String)> = children
        .into_iter()
        .map(|c| {
            let o = c.wait_with_output().unwrap();
            (o.status.success(), String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr))
        })
        .collect();
    let winners = outcomes.iter().filter(|(ok, _)| *ok).count();
    assert_eq!(winners, 1, "{outcomes:#?}");
    for (_, text) in outcomes.iter().filter(|(ok, _)| !ok) {
        assert!(text.contains("holds the lock") && !text.contains("unreadable"), "{text}");
    }
    assert!(text(&p.run(&["plan", "--env", "dev"])).contains("No changes."));
}

/// Hardening: a stale pid file of a removed member whose pid now belongs to an unrelated
/// program is not an orphan to stop: only a process working in the member's directory is.
#[test]
fn a_reused_pid_in_a_stale_pid_file_is_not_an_orphan() {
    let p = Project::new(0);
    let mut unrelated = std::process::Command::new("sleep").arg("30").spawn().unwrap();
    let dir = p.out().join("node-5");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("redis.pid"), format!("{}\n", unrelated.id())).unwrap();
    let o = Run::unbounded(common::redisctl_on(p.path()).args(["plan", "--env", "dev", "--no-color"]));
    let planned = text(&o);
    let _ = unrelated.kill();
    let _ = unrelated.wait();
    assert!(!planned.contains("process:node-5"), "an unrelated process was taken for a member: {planned}");
    assert!(planned.contains("+ process:node-0"), "{planned}");
}

#[test]
fn an_apply_killed_half_way_is_finished_by_the_next_one() {
    let p = Project::new(3);
    let mut slow = p.cmd(&["apply", "--env", "dev", "--auto-approve"]);
    slow.env("REDISCTL_TEST_APPLY_PAUSE_MS", "3000").stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = slow.spawn().unwrap();
    wait_for(&p.out().join("node-0/redis.conf"), Duration::from_secs(20));
    child.kill().unwrap(); // SIGKILL: no cleanup at all
    child.wait().unwrap();

    let plan = p.run(&["plan", "--env", "dev", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(json["summary"]["add"], 4, "node-1..3 and users.acl remain: {json}");
    assert_eq!(json["summary"]["change"], 0, "node-0 is complete: {json}");

    // The stale lock of the killed process does not block the re-run.
    let finish = p.run(&["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(code(&finish), 0, "{}", text(&finish));
    assert!(text(&finish).contains("4 added"), "{}", text(&finish));
    assert!(text(&p.run(&["plan", "--env", "dev"])).contains("No changes."));
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    common::files(dir).into_iter().map(|(_, path)| path).collect()
}

#[test]
fn no_output_and_no_plan_file_contains_a_secret() {
    let p = Project::new(1);
    let plan_file = p.path().join("dev.plan");
    let plan_arg = plan_file.to_str().unwrap();
    let mut outputs = Vec::new();
    for args in [
        vec!["plan", "--env", "dev"],
        vec!["plan", "--env", "dev", "--format", "json"],
        vec!["plan", "--env", "dev", "--format", "markdown"],
        vec!["plan", "--env", "dev", "--out", plan_arg],
        vec!["apply", "--env", "dev", "--auto-approve"],
        vec!["diff", "--env", "dev", "--env", "dev"],
    ] {
        outputs.push(text(&p.run(&args)));
    }
    // A password rotation changes users.acl only, and shows as a sensitive change.
    p.write("secrets/app.password", "rotated-Engine-Test-Password\n");
    let rotation = p.run(&["plan", "--env", "dev", "--no-color"]);
    assert!(text(&rotation).contains("(sensitive, changed)"), "{}", text(&rotation));
    outputs.push(text(&rotation));
    outputs.push(text(&p.run(&["plan", "--env", "dev", "--format", "json"])));
    outputs.push(std::fs::read_to_string(&plan_file).unwrap());

    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(PASSWORD.as_bytes()))
    };
    for (i, out) in outputs.iter().enumerate() {
        assert!(!out.contains(PASSWORD), "output {i} leaks the password");
        assert!(!out.contains("rotated-Engine"), "output {i} leaks the new password");
        assert!(!out.contains(&hash), "output {i} shows the password hash");
    }
    for file in walk(p.path()).into_iter().filter(|f| !f.starts_with(p.path().join("secrets"))) {
        let content = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        assert!(!content.contains(PASSWORD), "{} leaks the password", file.display());
    }
}

#[test]
fn json_output_and_saved_plans_follow_the_committed_plan_schema() {
    let p = Project::new(1);
    let check = |p: &Project| {
        let o = p.run(&["plan", "--env", "dev", "--format", "json"]);
        let json: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
        let errors = common::plan_schema_errors(&json);
        assert!(errors.is_empty(), "{errors:?}\n{json}");
        // The same plan saved for `apply FILE`: the other document the schema describes.
        let file = p.path().join("saved.plan");
        assert_eq!(code(&p.run(&["plan", "--env", "dev", "--out", file.to_str().unwrap()])), 0);
        let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let errors = common::plan_schema_errors(&saved);
        assert!(errors.is_empty(), "{errors:?}\n{saved}");
        // It is checked, not waved through: a saved plan with an unknown action is refused.
        let mut broken = saved.clone();
        broken["plan"]["changes"][0]["action"] = serde_json::json!("explode");
        assert!(!common::plan_schema_errors(&broken).is_empty(), "{broken}");
        json
    };
    let fresh = check(&p);
    assert_eq!(fresh["format_version"], "1.0");
    assert_eq!(fresh["resource_changes"][0]["change"]["actions"], serde_json::json!(["create"]));
    assert_eq!(code(&p.run(&["apply", "--env", "dev", "--auto-approve"])), 0);
    p.set_replicas(0);
    let shrink = check(&p);
    let deletes = shrink["resource_changes"].as_array().unwrap();
    assert!(deletes.iter().any(|c| c["change"]["actions"] == serde_json::json!(["delete"])), "{shrink}");
}

#[test]
fn markdown_output_stays_under_the_comment_limit() {
    let p = Project::new(0);
    p.write(
        "environments/dev.yaml",
        "topology: { mode: cluster, shards: 100, replicasPerShard: 1 }\nports: { redis: 7100 }\n",
    );
    let md = text(&p.run(&["plan", "--env", "dev", "--format", "markdown"]));
    assert!(md.starts_with("### redisctl plan"), "summary first");
    assert!(md.len() < 60_000, "{} characters", md.len());
    assert!(md.contains("Output truncated"), "a 200-node plan does not fit: the pointer to the full output is there");
}

/// A local stack with TLS is planned like any other (its processes are driven over TLS through
/// the one Redis client; tests/peers/local_stack.rs runs one): plan shows the processes to start.
#[test]
fn a_local_stack_with_tls_is_planned_like_any_other() {
    let p = Project::new(0);
    let dev = std::fs::read_to_string(p.path().join("environments/dev.yaml")).unwrap();
    p.write(
        "environments/dev.yaml",
        &format!("{dev}security: {{ tls: {{ enabled: true, certFile: a.crt, keyFile: a.key, caFile: ca.crt }} }}\n"),
    );
    // Not `p.run`, which adds --files-only.
    let o = Run::unbounded(common::redisctl_on(p.path()).args(["plan", "--env", "dev", "--no-color"]));
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(text(&o).contains("+ process:node-0") && !text(&o).contains("run without TLS"), "{}", text(&o));
    assert!(!p.out().join("node-0").exists(), "plan writes nothing");
}

/// #15 item 12: an apply killed between writing a file and recording it. The intent is
/// recorded before the rename, so whichever content the file holds is redisctl's: reverting
/// the contract plans a plain update, not "changed outside redisctl". Temporary files of
/// writes that never finished are removed by the next apply.
#[test]
fn an_apply_interrupted_around_a_rename_leaves_nothing_false_behind() {
    let p = Project::new(0);
    assert_eq!(code(&p.run(&["apply", "--env", "dev", "--auto-approve"])), 0);
    let conf = p.out().join("node-0/redis.conf");
    let old = std::fs::read(&conf).unwrap();
    let contract = std::fs::read_to_string(p.path().join("redisctl.yaml")).unwrap();
    p.write("redisctl.yaml", &contract.replace("maxmemory: 64mb", "maxmemory: 96mb"));
    assert_eq!(code(&p.run(&["apply", "--env", "dev", "--auto-approve"])), 0);
    let new = std::fs::read(&conf).unwrap();
    let hash = |b: &[u8]| hex::encode(sha2::Sha256::digest(b));

    // The state as a kill right after the rename leaves it: the old content recorded, the
    // new one being written, the file already new.
    let state_path = p.out().join(".redisctl-state.json");
    let state = std::fs::read_to_string(&state_path).unwrap();
    let crashed = |writing: bool| {
        let mut v: serde_json::Value = serde_json::from_str(&state).unwrap();
        let r = &mut v["resources"]["file:node-0/redis.conf"];
        r["sha256"] = hash(&old).into();
        if writing {
            r["writing"] = hash(&new).into();
        }
        std::fs::write(&state_path, v.to_string()).unwrap();
    };
    p.write("redisctl.yaml", &contract);
    crashed(true);
    let plan = p.run(&["plan", "--env", "dev", "--no-color"]);
    assert!(text(&plan).contains("~ file:node-0/redis.conf"), "{}", text(&plan));
    assert!(!text(&plan).contains("changed outside redisctl"), "{}", text(&plan));
    // Without the recorded intent the same files read as a hand edit: the check above can fail.
    crashed(false);
    assert!(text(&p.run(&["plan", "--env", "dev", "--no-color"])).contains("changed outside redisctl"));

    crashed(true);
    let leftover = p.out().join("node-0/.redisctl-tmp-AbC123");
    std::fs::write(&leftover, &new).unwrap();
    let applied = p.run(&["apply", "--env", "dev", "--auto-approve", "--no-color"]);
    assert_eq!(code(&applied), 0, "{}", text(&applied));
    assert!(!leftover.exists(), "the temporary file of an unfinished write is removed");
    assert_eq!(std::fs::read(&conf).unwrap(), old);
    assert!(text(&p.run(&["plan", "--env", "dev"])).contains("No changes."));
}
