//! `target: elasticache` through the real binary where no AWS API is needed: what fails before
//! any call, and parity with the local stack. The project is the one tests/peers/elasticache_moto.rs
//! runs against a local `moto_server`.

use crate::common::elasticache::{prod, BASE, TOKEN};
use crate::common::{self, free_port, repo_root, Run, TempProject};

#[test]
fn missing_region_or_credentials_fail_before_any_call() {
    let project = TempProject::new(&[
        ("redisctl.yaml", BASE),
        ("environments/prod.yaml", &prod("cache.t4g.small").replace("region: us-east-1, ", "")),
    ]);
    let clean = |cmd: &mut common::Command| {
        for var in ["AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"] {
            cmd.env_remove(var);
        }
        cmd.env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("CATALOG_AUTH_TOKEN", TOKEN)
            // Nothing listens here: an error that needed a call would be a connection error.
            .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{}", free_port()));
    };
    let mut cmd = project.cmd();
    cmd.args(["plan", "--env", "prod"]);
    clean(&mut cmd);
    let run = Run::of(&mut cmd);
    run.assert_code(1);
    assert!(run.stderr.contains("no AWS region"), "{}", run.show());

    let mut cmd = project.cmd();
    cmd.args(["plan", "--env", "prod"]);
    clean(&mut cmd);
    cmd.env("AWS_REGION", "eu-west-1");
    let run = Run::of(&mut cmd);
    run.assert_code(1);
    assert!(run.stderr.contains("no AWS credentials"), "{}", run.show());
}

/// The example's ElastiCache production and process local differ only in the envelope.
#[test]
fn the_managed_example_is_in_parity_with_its_local_stack() {
    let mut cmd = common::redisctl();
    cmd.args(["parity", "--project", repo_root().join("examples/elasticache-session").to_str().unwrap()]);
    let run = Run::of(&mut cmd);
    run.assert_code(0);
    assert!(run.stdout.contains("Parity: in parity"), "{}", run.show());
    let target: Vec<&str> = run
        .stdout
        .lines()
        .find(|l| l.starts_with("target "))
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default();
    assert_eq!(target, ["target", "envelope", "process", "elasticache", "ok", "(envelope)"], "{}", run.show());
}
