//! Team-scale state: `state.backend: s3` against moto_server's S3. Two copies of one project
//! (two machines) share one state and one lock; a killed apply leaves a lock the next apply
//! names, which only `force-unlock` with its id breaks; two writers of one read version cannot
//! both win; `state migrate` moves a local state to S3 and back, refusing while locked.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::moto::{start_moto, Moto};
use crate::common::{example_dir, Run, TempProject};

const BUCKET: &str = "team-redisctl-state";
const KEY: &str = "redisctl/orders/dev/state.json";
const APP_PASSWORD: &str = "orders-app-Secret-5a1b";
const OPS_PASSWORD: &str = "orders-ops-Secret-9c2d";
const STATE: &str = "state: { backend: s3, bucket: team-redisctl-state, region: us-east-1 }\n";

/// One machine's copy of the compose example, its dev environment's state in S3 when `shared`.
fn machine(shared: bool) -> TempProject {
    let p = TempProject::copy_of(&example_dir("compose-cache"));
    if shared {
        let overlay = p.read("environments/dev.yaml");
        p.write("environments/dev.yaml", format!("{overlay}{STATE}"));
    }
    p
}

fn redisctl(p: &TempProject, moto: &Moto, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = p.cmd();
    cmd.args(["--endpoint-url", &moto.url]).args(args);
    env(&mut cmd);
    cmd
}

fn env(cmd: &mut assert_cmd::Command) {
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("ORDERS_REDIS_APP_PASSWORD", APP_PASSWORD)
        .env("ORDERS_REDIS_OPS_PASSWORD", OPS_PASSWORD);
}

fn run(p: &TempProject, moto: &Moto, args: &[&str], outputs: &mut Vec<String>) -> Run {
    let run = Run::of(&mut redisctl(p, moto, args));
    outputs.push(run.stdout.clone());
    outputs.push(run.stderr.clone());
    run
}

fn create_bucket(moto: &Moto) {
    moto.boto3(&format!("aws('s3').create_bucket(Bucket='{BUCKET}')"));
}

/// The object at `key`, or `None`.
fn object(moto: &Moto, key: &str) -> Option<String> {
    let out = moto.boto3(&format!(
        "s3 = aws('s3')\ntry:\n    print(s3.get_object(Bucket='{BUCKET}', Key='{key}')['Body'].read().decode(), end='')\n\
         except s3.exceptions.NoSuchKey:\n    print('<none>', end='')"
    ));
    (out != "<none>").then_some(out)
}

fn no_secret_in(texts: &[String]) {
    for text in texts {
        for secret in [APP_PASSWORD, OPS_PASSWORD] {
            assert!(!text.contains(secret), "a password leaked:\n{text}");
        }
    }
}

#[test]
fn two_machines_share_one_state_and_a_killed_apply_leaves_a_lock_only_its_id_breaks() {
    let moto = start_moto();
    create_bucket(&moto);
    let (a, b) = (machine(true), machine(true));
    let mut outputs = Vec::new();

    // Machine A applies; the state is in S3, not beside A's files.
    run(&a, &moto, &["apply", "--env", "dev", "--auto-approve"], &mut outputs).assert_code(0);
    assert!(!a.path().join("deploy/dev/.redisctl-state.json").exists());
    let state = object(&moto, KEY).expect("the state object");
    let doc: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert_eq!(doc["environment"], "dev");
    assert!(doc["resources"].as_object().unwrap().keys().any(|k| k == "file:compose.yaml"), "{state}");
    assert!(object(&moto, &format!("{KEY}.lock")).is_none(), "the lock is released after the apply");
    outputs.push(state);

    // Machine B reads what A applied: the files A wrote are A's, missing here.
    let plan = run(&b, &moto, &["plan", "--env", "dev"], &mut outputs);
    assert!(plan.stdout.contains("deleted outside redisctl"), "{}", plan.show());

    // A's next apply hangs in its `--exec` step (a `docker` that sleeps), holding the lock,
    // and is killed there.
    let bin = a.path().join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let marker = a.path().join("docker-started");
    let fake = format!("#!/bin/sh\necho $$ > '{}'\nexec sleep 60\n", marker.display());
    std::fs::write(bin.join("docker"), fake).unwrap();
    let executable = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755);
    std::fs::set_permissions(bin.join("docker"), executable).unwrap();
    a.write("environments/dev.yaml", format!("{}resources: {{ maxmemory: 96mb }}\n", a.read("environments/dev.yaml")));
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut applying = crate::common::redisctl_std();
    applying
        .current_dir(a.path())
        .args(["--endpoint-url", &moto.url, "apply", "--env", "dev", "--auto-approve", "--exec"])
        .env("PATH", &path)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = crate::common::KillOnDrop(applying.spawn().expect("start the apply"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "the apply never reached its --exec step");
        std::thread::sleep(Duration::from_millis(50));
    }
    let killed_pid = child.id();
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    let sleeper: i32 = std::fs::read_to_string(&marker).unwrap().trim().parse().unwrap();
    let _ = std::process::Command::new("kill").arg(sleeper.to_string()).status();

    // B's apply is refused, naming the dead holder and how to break its lock.
    let refused = run(&b, &moto, &["apply", "--env", "dev", "--auto-approve"], &mut outputs);
    refused.assert_code(1);
    assert!(refused.stderr.contains(&format!("holds the lock s3://{BUCKET}/{KEY}.lock")), "{}", refused.show());
    assert!(refused.stderr.contains(&format!("(pid {killed_pid}), running `apply --env dev`")), "{}", refused.show());
    let id = refused
        .stderr
        .split("force-unlock --env <env> ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the lock id in the error")
        .to_string();
    // Only that id breaks it.
    let wrong = run(&b, &moto, &["force-unlock", "--env", "dev", "0123456789abcdef"], &mut outputs);
    wrong.assert_code(1);
    assert!(
        wrong.stderr.contains(&format!("is lock {id} of")) && wrong.stderr.contains("nothing was unlocked"),
        "{}",
        wrong.show()
    );
    assert!(object(&moto, &format!("{KEY}.lock")).is_some());
    let broken = run(&b, &moto, &["force-unlock", "--env", "dev", &id], &mut outputs);
    broken.assert_code(0);
    assert!(broken.stdout.contains(&format!("released lock {id}")), "{}", broken.show());

    // Now B applies, and both machines see one converged environment of B's contract.
    run(&b, &moto, &["apply", "--env", "dev", "--auto-approve"], &mut outputs).assert_code(0);
    run(&b, &moto, &["plan", "--env", "dev", "--detailed-exitcode"], &mut outputs).assert_code(0);
    outputs.push(object(&moto, KEY).unwrap());
    no_secret_in(&outputs);
}

#[test]
fn two_writers_of_one_read_version_cannot_both_win() {
    use redisctl::plan::state::State;
    use redisctl::plan::Address;
    use redisctl::providers::s3_state::S3Store;
    let moto = start_moto();
    create_bucket(&moto);
    for (k, v) in
        [("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_EC2_METADATA_DISABLED", "true")]
    {
        // Read by the SDK's credential chain in this process.
        std::env::set_var(k, v);
    }
    let store = || Arc::new(S3Store::new(BUCKET, "race/state.json", Some("us-east-1"), Some(&moto.url)).unwrap());
    let mut first = State::load_from(store(), "dev").unwrap();
    let mut second = State::load_from(store(), "dev").unwrap();
    first.put(&Address::new("file", "a"), &1).unwrap();
    first.save().unwrap();
    second.put(&Address::new("file", "b"), &2).unwrap();
    let err = second.save().unwrap_err().to_string();
    assert!(err.contains("s3://team-redisctl-state/race/state.json changed since this run read it"), "{err}");
    // Read after write: a third reader sees the winner's record, not the loser's.
    first.put(&Address::new("file", "c"), &3).unwrap();
    first.save().unwrap();
    let third = State::load_from(store(), "dev").unwrap();
    assert!(third.has(&Address::new("file", "a")) && third.has(&Address::new("file", "c")));
    assert!(!third.has(&Address::new("file", "b")));
    // The same from nothing: two creators, one wins.
    let mut x = State::load_from(
        Arc::new(S3Store::new(BUCKET, "new/state.json", Some("us-east-1"), Some(&moto.url)).unwrap()),
        "dev",
    )
    .unwrap();
    let mut y = State::load_from(
        Arc::new(S3Store::new(BUCKET, "new/state.json", Some("us-east-1"), Some(&moto.url)).unwrap()),
        "dev",
    )
    .unwrap();
    x.save().unwrap();
    assert!(y.save().is_err());
}

#[test]
fn a_local_state_migrates_to_s3_and_back_and_not_while_locked() {
    let moto = start_moto();
    create_bucket(&moto);
    let p = machine(false);
    let mut outputs = Vec::new();
    run(&p, &moto, &["apply", "--env", "dev", "--auto-approve"], &mut outputs).assert_code(0);
    let local = p.path().join("deploy/dev/.redisctl-state.json");
    let before = std::fs::read_to_string(&local).unwrap();

    // The contract now names S3: migrate moves the state, and the plan sees the same ownership.
    p.write("environments/dev.yaml", format!("{}{STATE}", p.read("environments/dev.yaml")));
    // Not while the destination is locked by someone.
    moto.boto3(&format!(
        "aws('s3').put_object(Bucket='{BUCKET}', Key='{KEY}.lock', Body=json.dumps({{'id': 'feedfacefeedface', 'pid': 4242, \
         'host': 'ci-runner-7', 'user': 'ci', 'since': 0, 'command': 'apply --env dev'}}))"
    ));
    let locked = run(&p, &moto, &["state", "migrate", "--env", "dev"], &mut outputs);
    locked.assert_code(1);
    assert!(locked.stderr.contains("lock feedfacefeedface of ci@ci-runner-7 (pid 4242)"), "{}", locked.show());
    assert!(local.exists() && object(&moto, KEY).is_none(), "nothing moved");
    run(&p, &moto, &["force-unlock", "--env", "dev", "feedfacefeedface"], &mut outputs).assert_code(0);

    let moved = run(&p, &moto, &["state", "migrate", "--env", "dev"], &mut outputs);
    moved.assert_code(0);
    assert!(moved.stdout.contains(&format!("to s3://{BUCKET}/{KEY}")), "{}", moved.show());
    assert!(!local.exists(), "the local state is gone: one truth");
    assert_eq!(object(&moto, KEY).unwrap(), before, "the same document, byte for byte");
    run(&p, &moto, &["plan", "--env", "dev", "--detailed-exitcode"], &mut outputs).assert_code(0);
    // Twice is refused: nothing is left here, and S3 is where the contract keeps it already.
    let again = run(&p, &moto, &["state", "migrate", "--env", "dev"], &mut outputs);
    again.assert_code(1);
    assert!(again.stderr.contains("nothing to migrate"), "{}", again.show());
    let same = run(&p, &moto, &["state", "migrate", "--env", "dev", "--from", "s3", "--bucket", BUCKET], &mut outputs);
    same.assert_code(64);
    assert!(same.stderr.contains("already keeps the state"), "{}", same.show());

    // And back: the contract drops `state`, migrate --from s3 brings it home.
    let overlay = p.read("environments/dev.yaml").replace(STATE, "");
    p.write("environments/dev.yaml", overlay);
    let from_s3 = ["state", "migrate", "--env", "dev", "--from", "s3", "--bucket", BUCKET, "--region", "us-east-1"];
    let home = run(&p, &moto, &from_s3, &mut outputs);
    home.assert_code(0);
    assert_eq!(std::fs::read_to_string(&local).unwrap(), before);
    assert!(object(&moto, KEY).is_none());
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&local).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    run(&p, &moto, &["plan", "--env", "dev", "--detailed-exitcode"], &mut outputs).assert_code(0);
    no_secret_in(&outputs);
}
