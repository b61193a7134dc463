//! `drill` and `import` on what they cannot work with, without peers: clear errors, exit codes,
//! nothing written, no panic.

use crate::common::{self, Run, TempProject};

const BASE: &str = "apiVersion: redisctl/v1
service: shop
redis: { version: \"7.0\", workload: cache, maxmemoryPolicy: allkeys-lru }
security: { auth: optional }
";

fn project() -> TempProject {
    let p = TempProject::new(&[("redisctl.yaml", BASE)]);
    let port = common::free_port();
    p.write(
        "environments/local.yaml",
        format!("topology: {{ mode: sentinel }}\nports: {{ redis: {port}, sentinel: {} }}\n", port + 10),
    );
    p.write("environments/vm.yaml", "target: systemd\nsystemd: { hosts: [10.0.0.1] }\nsecurity: { auth: required }\n");
    p.write(
        "environments/aws.yaml",
        "target: elasticache\ntopology: { mode: replication, replicas: 1 }\naws: { region: us-east-1, nodeType: cache.t4g.small }\n",
    );
    p
}

fn run(p: &TempProject, args: &[&str]) -> Run {
    let o = Run::of(p.cmd().args(args));
    assert!(!o.stderr.contains("panicked"), "{}", o.show());
    o
}

#[test]
fn drills_name_what_stops_them_and_write_nothing() {
    let p = project();
    let o = run(&p, &["drill", "failover", "--env", "local"]);
    assert_eq!(o.code, Some(1), "{}", o.show());
    assert!(o.stderr.contains("is not ready") && o.stderr.contains("redisctl apply --env local"), "{}", o.show());
    let o = run(&p, &["drill", "restore", "--env", "vm"]);
    assert!(o.stderr.contains("drills run on local stacks") && o.stderr.contains("--live"), "{}", o.show());
    let o = run(&p, &["drill", "failover", "--env", "local", "--timeout", "soon"]);
    assert_eq!(o.code, Some(64), "{}", o.show());
    // ElastiCache: no tested drill (moto implements neither TestFailover nor snapshots with
    // data), so it is refused before any AWS call, saying why.
    for kind in ["failover", "restore"] {
        let o = run(&p, &["drill", kind, "--env", "aws"]);
        assert_eq!(o.code, Some(64), "{}", o.show());
        assert!(o.stderr.contains("no tested ElastiCache drill") && o.stderr.contains("TestFailover"), "{}", o.show());
    }
    let o = run(&p, &["drill", "failover", "--env", "nope"]);
    assert_eq!(o.code, Some(1), "{}", o.show());
    assert!(!p.path().join("drills").exists());
}

#[test]
fn import_refuses_bad_input_and_existing_files() {
    let p = project();
    let o = run(&p, &["import", "--env", "adopted", "--user", "ops", "--password-env", "PW", "--address", "127.0.0.1"]);
    assert_eq!(o.code, Some(64), "{}", o.show());
    assert!(o.stderr.contains("HOST:PORT"), "{}", o.show());
    let o = run(&p, &["import", "--env", "Bad Name", "--user", "ops", "--password-env", "PW", "--address", "h:1"]);
    assert_eq!(o.code, Some(64), "{}", o.show());
    // redisctl.yaml exists: refused before anything is read or written.
    let o =
        run(&p, &["import", "--env", "adopted", "--user", "ops", "--password-env", "PW", "--address", "127.0.0.1:1"]);
    assert_eq!(o.code, Some(1), "{}", o.show());
    assert!(o.stderr.contains("without --force"), "{}", o.show());
    assert!(!p.path().join("environments/adopted.yaml").exists());
    assert_eq!(p.read("redisctl.yaml"), BASE);
    // The password comes from a variable or a file, never from the command line.
    let o = run(&p, &["import", "--env", "adopted", "--user", "ops", "--password", "x", "--address", "h:1"]);
    assert_eq!(o.code, Some(64), "{}", o.show());
    // An AUTH token variable that is not set: said before any AWS call, nothing written.
    let fresh = TempProject::new(&[]);
    let o = run(
        &fresh,
        &[
            "import",
            "--env",
            "adopted",
            "--service",
            "shop",
            "--elasticache",
            "g",
            "--auth-token-env",
            "UNSET_TOKEN_VAR",
        ],
    );
    assert_eq!(o.code, Some(64), "{}", o.show());
    assert!(o.stderr.contains("UNSET_TOKEN_VAR"), "{}", o.show());
    assert!(!fresh.path().join("redisctl.yaml").exists() && !fresh.path().join("deploy").exists());
    // A client certificate needs the CA that signed the servers' certificates, and its key.
    let o = run(
        &fresh,
        &["import", "--env", "a", "--user", "ops", "--password-env", "PW", "--address", "h:1", "--tls-cert-file", "c"],
    );
    assert_eq!(o.code, Some(64), "{}", o.show());
}
