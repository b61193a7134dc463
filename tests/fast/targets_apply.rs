//! `apply` on the file-rendering targets, end to end through the binary: `--exec` (the
//! commands that run after writing) and cluster scale-in (refused without `--allow-destroy`).
//!
//! No real peer can run here: CI has no systemd as PID 1, no Docker engine and no cluster for
//! kubectl. The tests put executables named `systemctl`, `sysctl`, `chown`, `docker` and
//! `kubectl` first in PATH; each records its name and arguments, one line per call, so the
//! tests assert the exact commands, their order, and that nothing runs without `--exec`.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common;
use crate::common::targets::*;

const FAKES: [&str; 5] = ["systemctl", "sysctl", "chown", "docker", "kubectl"];

/// A copy of the fixture project in a temporary directory, with fake peers on PATH.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("project");
        std::fs::create_dir_all(&project).unwrap();
        std::fs::copy(root().join(PROJECT).join("redisctl.yaml"), project.join("redisctl.yaml")).unwrap();
        common::copy_dir(&root().join(PROJECT).join("environments"), &project.join("environments"));
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        for name in FAKES {
            // `docker` fails with exit status 3 (and a password on stderr) while `fail-docker` exists.
            let script = format!(
                "#!/bin/sh\nprintf '%s\\n' \"{name} $*\" >> '{log}'\n\
                 if [ {name} = docker ] && [ -e '{fail}' ]; then echo \"daemon down; password $REDISCTL_T_OPS\" >&2; exit 3; fi\n",
                log = dir.path().join("calls.log").display(),
                fail = dir.path().join("fail-docker").display(),
            );
            let path = bin.join(name);
            std::fs::write(&path, script).unwrap();
            std::os::unix::fs::PermissionsExt::set_mode(&mut std::fs::metadata(&path).unwrap().permissions(), 0o755);
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        }
        Sandbox { dir }
    }

    fn project(&self) -> PathBuf {
        self.dir.path().join("project")
    }

    fn out(&self, env: &str) -> PathBuf {
        self.project().join("deploy").join(env)
    }

    fn write_env(&self, env: &str, text: &str) {
        std::fs::write(self.project().join("environments").join(format!("{env}.yaml")), text).unwrap();
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = common::redisctl_on(&self.project());
        cmd.args(args);
        let path = format!("{}:{}", self.dir.path().join("bin").display(), std::env::var("PATH").unwrap_or_default());
        cmd.env("PATH", path);
        for (k, v) in PASSWORDS {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        let text = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{args:?} failed:\n{text}");
        no_plaintext(&text);
        text
    }

    /// The recorded calls since the last `take`.
    fn take(&self) -> Vec<String> {
        let log = self.dir.path().join("calls.log");
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let _ = std::fs::remove_file(&log);
        text.lines().map(String::from).collect()
    }
}

fn no_plaintext(text: &str) {
    for (var, plain) in PASSWORDS {
        assert!(!text.contains(plain), "the output holds the plaintext of {var}:\n{text}");
    }
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

#[test]
fn exec_runs_only_with_the_flag_and_only_for_what_changed() {
    let s = Sandbox::new();
    let compose = p(&s.out("compose-standalone").join("compose.yaml"));
    let up = format!("docker compose -f {compose} up -d --no-recreate --remove-orphans");

    // Without --exec apply only writes files.
    s.ok(&["apply", "--env", "compose-standalone", "--auto-approve"]);
    assert!(s.out("compose-standalone").join("compose.yaml").is_file());
    assert_eq!(s.take(), Vec::<String>::new(), "a command ran without --exec");

    // Nothing changed: --exec runs nothing (no restart without a change).
    let text = s.ok(&["apply", "--env", "compose-standalone", "--auto-approve", "--exec"]);
    assert!(text.contains("No changes"), "{text}");
    assert_eq!(s.take(), Vec::<String>::new());

    // A config change: the plan lists the commands, apply runs exactly those, in order.
    s.write_env(
        "compose-standalone",
        "target: compose\ntopology: { mode: standalone }\nredis: { config: { timeout: 120 } }\n",
    );
    let plan = s.ok(&["plan", "--env", "compose-standalone", "--exec"]);
    let restart = format!("docker compose -f {compose} up -d --no-deps --force-recreate --wait node-0");
    // Only a mounted config changed: nothing for `up` to create, node-0 is recreated alone.
    assert!(plan.contains(&format!("1. {restart}")) && !plan.contains(&up), "{plan}");
    assert!(plan.contains("1 command(s) to run (--exec)"), "{plan}");
    let json = s.ok(&["plan", "--env", "compose-standalone", "--exec", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["exec"]["commands"][0]["argv"][9], "node-0", "{json}");
    // Without --exec the plan has no exec section at all.
    let v: serde_json::Value =
        serde_json::from_str(&s.ok(&["plan", "--env", "compose-standalone", "--format", "json"])).unwrap();
    assert!(v["exec"].is_null());

    s.ok(&["apply", "--env", "compose-standalone", "--auto-approve", "--exec"]);
    assert_eq!(s.take(), [restart]);

    // Only the README changes: nothing to run.
    std::fs::write(s.out("compose-standalone").join("README.md"), "edited by hand\n").unwrap();
    s.ok(&["apply", "--env", "compose-standalone", "--auto-approve", "--exec"]);
    assert_eq!(s.take(), Vec::<String>::new());
}

#[test]
fn a_failing_command_stops_exec_with_its_status_and_is_run_by_the_next_apply() {
    let s = Sandbox::new();
    let compose = p(&s.out("compose-sentinel").join("compose.yaml"));
    std::fs::write(s.dir.path().join("fail-docker"), "").unwrap();
    let o = s.run(&["apply", "--env", "compose-sentinel", "--auto-approve", "--exec"]);
    let err = String::from_utf8_lossy(&o.stderr).to_string() + &String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("failed (exit status 3)") && err.contains("daemon down"), "{err}");
    assert!(err.contains("password (sensitive value)"), "stderr is shown redacted:\n{err}");
    no_plaintext(&err);
    assert!(s.out("compose-sentinel").join("compose.yaml").is_file(), "the files were written first");
    assert_eq!(s.take(), [format!("docker compose -f {compose} up -d --no-recreate --remove-orphans")]);

    // The files no longer change, but the command is still owed: the plan says so and the
    // next apply --exec runs it.
    std::fs::remove_file(s.dir.path().join("fail-docker")).unwrap();
    let plan = s.ok(&["plan", "--env", "compose-sentinel", "--exec"]);
    assert!(plan.contains("still to run") && plan.contains("1 command(s) to run"), "{plan}");
    s.ok(&["apply", "--env", "compose-sentinel", "--auto-approve", "--exec"]);
    assert_eq!(s.take(), [format!("docker compose -f {compose} up -d --no-recreate --remove-orphans")]);
    let plan = s.ok(&["plan", "--env", "compose-sentinel", "--exec"]);
    assert!(plan.contains("No changes"), "{plan}");
}

#[test]
fn saved_plans_carry_the_commands_and_need_the_flag() {
    let s = Sandbox::new();
    let saved = s.dir.path().join("k.plan");
    let saved = p(&saved);
    s.ok(&["plan", "--env", "kubernetes-sentinel", "--exec", "--out", &saved]);
    let o = s.run(&["apply", &saved]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("pass --exec"));
    assert_eq!(s.take(), Vec::<String>::new());
    s.ok(&["apply", &saved, "--exec"]);
    let calls = s.take();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let dir = s.out("kubernetes-sentinel");
    assert!(
        calls[0].starts_with(&format!(
            "kubectl apply --server-side --field-manager=redisctl -f {}/configmap-catalog-redis-config.yaml -f ",
            p(&dir)
        )),
        "ConfigMap first: {calls:?}"
    );
    assert!(calls[0].contains("statefulset-catalog-sentinel.yaml") && !calls[0].contains(".redisctl-state"));

    // A plan saved without --exec cannot be applied with it.
    s.write_env("kubernetes-sentinel", "target: kubernetes\ntopology: { mode: replication, replicas: 1 }\n");
    s.ok(&["plan", "--env", "kubernetes-sentinel", "--out", &saved]);
    let o = s.run(&["apply", &saved, "--exec"]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("without --exec"));
    assert_eq!(s.take(), Vec::<String>::new());
    // Objects whose manifest is gone (the Sentinels) are deleted after the apply. The nodes'
    // StatefulSet loses the fixture's storage class (an immutable claim template): it is
    // replaced, deleted first with its pods orphaned.
    s.ok(&["apply", "--env", "kubernetes-sentinel", "--auto-approve", "--exec"]);
    let calls = s.take();
    assert_eq!(calls[0], "kubectl delete --ignore-not-found -n catalog statefulset catalog-redis --cascade=orphan");
    assert!(calls[1].starts_with("kubectl apply --server-side"), "{calls:?}");
    for object in
        ["statefulset catalog-sentinel", "service catalog-sentinel-headless", "poddisruptionbudget catalog-sentinel"]
    {
        let delete = format!("kubectl delete --ignore-not-found -n catalog {object}");
        assert!(calls.contains(&delete), "{delete} not in {calls:?}");
    }
}

#[test]
fn systemd_exec_reloads_and_restarts_replicas_before_primaries_on_this_host() {
    let s = Sandbox::new();
    s.write_env(
        "systemd-local",
        "target: systemd\ntopology: { mode: replication, replicas: 1 }\nsystemd: { hosts: [127.0.0.1] }\n",
    );
    s.ok(&["apply", "--env", "systemd-local", "--auto-approve", "--exec"]);
    let unit = |n: &str| format!("redis-catalog@{n}.service");
    assert_eq!(
        s.take(),
        [
            "systemctl daemon-reload".to_string(),
            "sysctl -p /etc/sysctl.d/60-redis-catalog.conf".into(),
            "systemctl enable redis-catalog-disable-thp.service".into(),
            "systemctl restart redis-catalog-disable-thp.service".into(),
            "chown -R redis:redis /etc/redis/catalog".into(),
            format!("systemctl enable {}", unit("node-1")),
            format!("systemctl restart {}", unit("node-1")),
            format!("systemctl enable {}", unit("node-0")),
            format!("systemctl restart {}", unit("node-0")),
        ]
    );
    // Only node-1's config changes (a replica-only setting): only node-1 restarts.
    std::fs::write(s.out("systemd-local").join("etc/redis/catalog/node-1.conf"), "edited\n").unwrap();
    s.ok(&["apply", "--env", "systemd-local", "--auto-approve", "--exec"]);
    assert_eq!(
        s.take(),
        [
            "chown -R redis:redis /etc/redis/catalog".to_string(),
            format!("systemctl enable {}", unit("node-1")),
            format!("systemctl restart {}", unit("node-1")),
        ]
    );
    // Hosts that are other machines are listed, never run.
    let plan = s.ok(&["plan", "--env", "systemd-replication", "--exec"]);
    assert!(plan.contains("Not run from here") && plan.contains("on 10.0.2.11: systemctl restart"), "{plan}");
    // They remain to be run there: the apply is incomplete (exit 2) and says so.
    let o = s.run(&["apply", "--env", "systemd-replication", "--auto-approve", "--exec"]);
    let text = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{text}");
    assert!(text.contains("Apply incomplete!") && text.contains("on 10.0.2.11: systemctl restart"), "{text}");
    no_plaintext(&text);
    assert_eq!(s.take(), Vec::<String>::new());
}

#[test]
fn exec_is_refused_for_the_process_target() {
    let s = Sandbox::new();
    s.write_env("local", "target: process\nsecurity: { auth: required }\n");
    let o = s.run(&["plan", "--env", "local", "--exec", "--files-only"]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("--exec runs the commands of"));
}

#[test]
fn cluster_scale_in_is_destructive_and_needs_allow_destroy() {
    for target in ["kubernetes", "compose", "systemd"] {
        let s = Sandbox::new();
        let env = format!("{target}-cluster");
        let shards = |n: u32, replicas: u32| {
            s.write_env(
                &env,
                &format!(
                    "target: {target}\ntopology: {{ mode: cluster, shards: {n}, replicasPerShard: {replicas} }}\n"
                ),
            )
        };
        shards(4, 1);
        s.ok(&["apply", "--env", &env, "--auto-approve"]);
        shards(3, 1);
        let plan = s.ok(&["plan", "--env", &env]);
        assert!(plan.contains("- cluster:shard-3"), "{target}: {plan}");
        assert!(plan.contains("move its hash slots to the remaining shards first"), "{target}: {plan}");
        let json: serde_json::Value =
            serde_json::from_str(&s.ok(&["plan", "--env", &env, "--format", "json"])).unwrap();
        let shard2 = json["resource_changes"].as_array().unwrap().iter().find(|c| c["address"] == "cluster:shard-3");
        assert_eq!(shard2.unwrap()["flags"]["destructive"], true, "{target}");

        let before = std::fs::read_dir(s.out(&env)).unwrap().count();
        let o = s.run(&["apply", "--env", &env, "--auto-approve"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains("--allow-destroy") && err.contains("cluster:shard-3"), "{err}");
        assert_eq!(std::fs::read_dir(s.out(&env)).unwrap().count(), before, "{target}: nothing written");
        let plan = s.ok(&["plan", "--env", &env]);
        assert!(plan.contains("- cluster:shard-3"), "{target}: the refused apply changed the state");

        s.ok(&["apply", "--env", &env, "--auto-approve", "--allow-destroy"]);
        let plan = s.ok(&["plan", "--env", &env]);
        assert!(plan.contains("No changes"), "{target}: {plan}");

        // Fewer replicas: shown, not destructive.
        shards(3, 0);
        let plan = s.ok(&["plan", "--env", &env]);
        assert!(plan.contains("keeps 0 of 1 replica(s): not destructive"), "{target}: {plan}");
        s.ok(&["apply", "--env", &env, "--auto-approve"]);
    }
}

/// The line of `file:<path>` in a text plan (its heading, with the reason).
fn heading<'a>(plan: &'a str, path: &str) -> &'a str {
    let address = format!("# file:{path} ");
    plan.lines()
        .find(|l| l.trim_start().starts_with(&address))
        .unwrap_or_else(|| panic!("no heading for {path} in\n{plan}"))
}

/// A Kubernetes plan says what a manifest change does to what runs: which pods it rolls (only
/// those whose config changed: a redis-only setting leaves the Sentinels alone), which pods a
/// scale adds, and that a change the API server refuses in place (a StatefulSet's
/// volumeClaimTemplates, a Job's pod template) is a replacement, which --exec carries out.
#[test]
fn kubernetes_plans_say_which_pods_roll_and_replace_what_cannot_change() {
    let s = Sandbox::new();
    let env = |replicas: u32, config: &str, size: &str| {
        s.write_env(
            "kubernetes-sentinel",
            &format!(
                "target: kubernetes\ntopology: {{ mode: sentinel, replicas: {replicas}, sentinels: 3 }}\n\
                 redis: {{ persistence: {{ mode: aof+rdb }}, config: {{ {config} }} }}\n\
                 kubernetes: {{ storage: {{ size: {size} }} }}\n"
            ),
        )
    };
    env(2, "", "2Gi");
    s.ok(&["apply", "--env", "kubernetes-sentinel", "--auto-approve"]);

    // A redis-only setting: the node pods roll, one at a time; the Sentinels' StatefulSet is unchanged.
    env(2, "timeout: 120", "2Gi");
    let plan = s.ok(&["plan", "--env", "kubernetes-sentinel", "--exec"]);
    let nodes = heading(&plan, "statefulset-catalog-redis.yaml");
    assert!(nodes.contains("will be updated in-place"), "{nodes}");
    assert!(
        nodes.contains(
            "rolls pods catalog-redis-2, catalog-redis-1, catalog-redis-0 one at a time, highest ordinal first"
        ),
        "{nodes}"
    );
    assert!(
        !plan.contains("file:statefulset-catalog-sentinel.yaml"),
        "a redis-only setting rolls the Sentinels:\n{plan}"
    );
    s.ok(&["apply", "--env", "kubernetes-sentinel", "--auto-approve"]);

    // One more replica: a new pod, and the others roll (their ConfigMap checksum names every node's config).
    env(3, "timeout: 120", "2Gi");
    let plan = s.ok(&["plan", "--env", "kubernetes-sentinel"]);
    assert!(heading(&plan, "statefulset-catalog-redis.yaml").contains("adds pods catalog-redis-3"), "{plan}");

    // A bigger volume: volumeClaimTemplates is immutable, so the StatefulSet is replaced
    // (orphaning its pods and claims), with the resize path for the existing claims.
    env(2, "timeout: 120", "8Gi");
    let plan = s.ok(&["plan", "--env", "kubernetes-sentinel", "--exec"]);
    let nodes = heading(&plan, "statefulset-catalog-redis.yaml");
    assert!(nodes.contains("must be replaced"), "{nodes}");
    assert!(nodes.contains("the API server refuses a change to `spec.volumeClaimTemplates`"), "{nodes}");
    assert!(nodes.contains("kubectl patch pvc data-catalog-redis-<i>"), "{nodes}");
    assert!(nodes.contains("restarts no running pod"), "only the claims changed: {nodes}");
    let json: serde_json::Value =
        serde_json::from_str(&s.ok(&["plan", "--env", "kubernetes-sentinel", "--exec", "--format", "json"])).unwrap();
    let change = json["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "file:statefulset-catalog-redis.yaml")
        .unwrap();
    assert_eq!(change["change"]["actions"], serde_json::json!(["delete", "create"]), "{change}");
    let delete = "kubectl delete --ignore-not-found -n catalog statefulset catalog-redis --cascade=orphan";
    let commands: Vec<String> = json["exec"]["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["argv"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(commands[0], delete, "{commands:?}");
    assert!(commands[1].starts_with("kubectl apply --server-side"), "{commands:?}");
    s.ok(&["apply", "--env", "kubernetes-sentinel", "--auto-approve", "--exec"]);
    let calls = s.take();
    assert_eq!(calls[0], delete, "{calls:?}");
    let plan = s.ok(&["plan", "--env", "kubernetes-sentinel", "--exec"]);
    assert!(plan.contains("No changes"), "{plan}");

    // A cluster's bootstrap Job cannot change its pod template either: it is deleted and created again.
    s.ok(&["apply", "--env", "kubernetes-cluster", "--auto-approve"]);
    s.write_env(
        "kubernetes-cluster",
        "target: kubernetes\ntopology: { mode: cluster, shards: 3, replicasPerShard: 1 }\n\
         container: { image: redis:7.0.15-alpine }\n",
    );
    let plan = s.ok(&["plan", "--env", "kubernetes-cluster", "--exec"]);
    let job = heading(&plan, "job-catalog-redis-cluster-init.yaml");
    assert!(job.contains("must be replaced") && job.contains("a Job's pod template"), "{job}");
    assert!(plan.contains("kubectl delete --ignore-not-found -n catalog job catalog-redis-cluster-init"), "{plan}");
    let nodes = heading(&plan, "statefulset-catalog-redis.yaml");
    assert!(nodes.contains("rolls pods catalog-redis-5, catalog-redis-4"), "a new image rolls every node: {nodes}");
}

/// The `--exec` commands of a plan (JSON), each as one line.
fn exec_commands(s: &Sandbox, env: &str) -> Vec<(String, String)> {
    let json: serde_json::Value =
        serde_json::from_str(&s.ok(&["plan", "--env", env, "--exec", "--format", "json"])).unwrap();
    json["exec"]["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let argv: Vec<&str> = c["argv"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
            (argv.join(" "), c["why"].as_str().unwrap().to_string())
        })
        .collect()
}

/// Compose restarts what a change needs one service at a time, each waited for until healthy:
/// replicas first, then the primary (the plan says: without a failover first), Sentinels last;
/// only the services whose config, start script or compose.yaml service changed.
#[test]
fn compose_restarts_roll_replicas_first_and_say_the_primary_has_no_failover() {
    let s = Sandbox::new();
    let compose = p(&s.out("compose-sentinel").join("compose.yaml"));
    let up = format!("docker compose -f {compose} up -d --no-recreate --remove-orphans");
    let recreate = |name: &str| format!("docker compose -f {compose} up -d --no-deps --force-recreate --wait {name}");
    let env = |extra: &str| {
        s.write_env(
            "compose-sentinel",
            &format!("target: compose\ntopology: {{ mode: sentinel, replicas: 2, sentinels: 3 }}\n{extra}"),
        )
    };
    env("");
    s.ok(&["apply", "--env", "compose-sentinel", "--auto-approve", "--exec"]);
    assert_eq!(s.take(), std::slice::from_ref(&up), "a first apply creates everything at once: nothing ran before");

    // A redis setting: every node's config changes; the Sentinels' do not.
    env("redis: { config: { timeout: 120 } }\n");
    let commands = exec_commands(&s, "compose-sentinel");
    let argv: Vec<&str> = commands.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(argv, [recreate("node-1"), recreate("node-2"), recreate("node-0")]);
    let (_, primary) = &commands[2];
    assert!(primary.contains("the primary") && primary.contains("without a failover first"), "{primary}");
    assert!(commands[0].1.contains("a replica") && commands[0].1.contains("node-1.conf changed"), "{commands:?}");
    let plan = s.ok(&["plan", "--env", "compose-sentinel", "--exec"]);
    assert!(plan.contains("without a failover first"), "the text plan says it too:\n{plan}");
    s.ok(&["apply", "--env", "compose-sentinel", "--auto-approve", "--exec"]);
    assert_eq!(s.take(), argv);

    // Only compose.yaml changes (the nodes' memory limit): the nodes' services changed, the
    // Sentinels' (fixed memory) did not.
    env("redis: { config: { timeout: 120 } }\nresources: { memoryLimit: 1Gi }\n");
    let commands = exec_commands(&s, "compose-sentinel");
    let argv: Vec<&str> = commands.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(argv, [up.as_str(), &recreate("node-1"), &recreate("node-2"), &recreate("node-0")]);
    assert!(commands[1].1.contains("its service in compose.yaml changed"), "{commands:?}");
    s.ok(&["apply", "--env", "compose-sentinel", "--auto-approve", "--exec"]);
    s.take();

    // compose.yaml edited into something unreadable: what changed is unknown, so every service
    // is recreated (in order) rather than one left running on a changed definition.
    std::fs::write(s.out("compose-sentinel").join("compose.yaml"), "services: [\n").unwrap();
    let commands = exec_commands(&s, "compose-sentinel");
    assert_eq!(commands.len(), 7, "{commands:?}");
    assert!(commands[6].0.ends_with("--wait sentinel-2"), "{commands:?}");
    s.ok(&["apply", "--env", "compose-sentinel", "--auto-approve", "--exec"]);
    s.take();

    // A new ACL user changes start.sh: every service restarts, Sentinels after the nodes.
    let text = std::fs::read_to_string(s.project().join("redisctl.yaml")).unwrap();
    let user =
        "    - name: reports\n      password: { fromEnv: REDISCTL_T_APP }\n      keys: [\"catalog:reports:*\"]\n";
    let text = text.replacen("    - name: replicator\n", &format!("{user}    - name: replicator\n"), 1);
    std::fs::write(s.project().join("redisctl.yaml"), text).unwrap();
    let commands = exec_commands(&s, "compose-sentinel");
    let restarts = commands.iter().filter(|(a, _)| a.contains(" --wait "));
    let order: Vec<&str> = restarts.map(|(a, _)| a.rsplit(' ').next().unwrap()).collect();
    assert_eq!(order, ["node-1", "node-2", "node-0", "sentinel-0", "sentinel-1", "sentinel-2"]);
}
