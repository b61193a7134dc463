//! `target: compose` against real peers: docker-compose (`config -q`, no engine needed) and the
//! compose-spec JSON Schema accept compose.yaml for every topology, and the rendered start and
//! health scripts really start redis-server with the ACL built from the passwords and pass a
//! write/read health check.

mod targets_support;

use std::process::{Command, Stdio};

use targets_support::*;

#[test]
fn docker_compose_and_the_compose_spec_accept_every_topology() {
    let compose = tool("docker-compose");
    let schema = tool("check-jsonschema");
    for topology in TOPOLOGIES {
        let out = render(&format!("compose-{topology}"));
        let file = out.path().join("compose.yaml");
        let mut cmd = Command::new(&compose);
        cmd.arg("-f").arg(&file).args(["config", "-q"]);
        for (k, v) in PASSWORDS {
            cmd.env(k, v);
        }
        run_silent(&mut cmd);
        let o = Command::new(&schema).args(["--builtin-schema", "vendor.compose-spec"]).arg(&file).output().unwrap();
        let text = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success() && text.trim() == "ok -- validation done", "compose-{topology}: {text}");
    }
}

#[test]
fn compose_refuses_to_start_without_the_password_variables() {
    let out = render("compose-standalone");
    let o = Command::new(tool("docker-compose"))
        .arg("-f")
        .arg(out.path().join("compose.yaml"))
        .args(["config", "-q"])
        .output()
        .unwrap();
    assert!(!o.status.success(), "compose accepted missing password variables");
}

#[test]
fn compose_files_follow_the_docker_checklist() {
    for topology in TOPOLOGIES {
        let out = render(&format!("compose-{topology}"));
        let text = std::fs::read_to_string(out.path().join("compose.yaml")).unwrap();
        assert!(text.contains("image: redis:7.0.15") && !text.contains(":latest"), "{topology}: image not pinned");
        assert!(text.contains("./config:/etc/redisctl:ro"), "{topology}: config not read-only");
        assert!(text.contains("mem_limit: 384m"), "{topology}: memory limit");
        for line in text.lines().filter(|l| l.trim_start().starts_with("- ") && l.contains(":63") || l.contains(":263"))
        {
            assert!(line.contains("127.0.0.1:"), "{topology}: port published beyond 127.0.0.1: {line}");
        }
        let persistent = topology == "replication" || topology == "sentinel";
        assert_eq!(text.contains("-data:/data"), persistent, "{topology}: named volume iff persistence");
    }
}

/// Run the rendered start.sh and health.sh outside a container: paths moved into a temporary
/// directory, the node on a free port.
#[test]
fn start_and_health_scripts_run_a_real_node() {
    for topology in TOPOLOGIES {
        let out = render(&format!("compose-{topology}"));
        let dir = tempfile::tempdir().unwrap();
        let (etc, run, data) = (dir.path().join("etc"), dir.path().join("run"), dir.path().join("data"));
        for d in [&etc, &run, &data] {
            std::fs::create_dir(d).unwrap();
        }
        let port = free_port();
        let relocate = |text: &str| {
            text.replace("/etc/redisctl", &etc.display().to_string())
                .replace("/run/redisctl", &run.display().to_string())
                .replace("/data", &data.display().to_string())
        };
        for (rel, path) in files(&out.path().join("config")) {
            let mut text = relocate(&std::fs::read_to_string(path).unwrap());
            if rel == "node-0.conf" {
                text = localize(&text, port, &data).replace(
                    &format!("aclfile {}/users.acl", data.display()),
                    &format!("aclfile {}/users.acl", run.display()),
                );
            }
            std::fs::write(etc.join(&rel), text).unwrap();
        }
        let mut start = Command::new("sh");
        start.arg(etc.join("start.sh")).args(["redis", "node-0"]).stdout(Stdio::null()).stderr(Stdio::null());
        for (k, v) in PASSWORDS {
            start.env(k, v);
        }
        let _node = Running(start.spawn().unwrap());
        wait_for(port, true, &["PING"], "PONG").unwrap_or_else(|e| panic!("compose-{topology}: {e}"));
        let acl = std::fs::read_to_string(run.join("users.acl")).unwrap();
        assert!(acl.starts_with("user default reset off\n") && !acl.contains("Plaintext"), "{acl}");
        // The application user logs in with its password against the hash start.sh wrote.
        let o = Command::new("redis-cli")
            .args(["--no-auth-warning", "-p", &port.to_string(), "--user", "catalog-app", "SET", "catalog:x", "1"])
            .env("REDISCLI_AUTH", PASSWORDS[0].1)
            .output()
            .unwrap();
        let answer = String::from_utf8_lossy(&o.stdout).trim().to_string();
        // A cluster node serves no slot before the bootstrap, but the login has succeeded.
        assert!(
            answer == "OK" || (topology == "cluster" && answer.starts_with("CLUSTERDOWN")),
            "compose-{topology}: {answer}"
        );
        if topology != "cluster" {
            // A primary passes only after a real write and read; cluster nodes wait for the bootstrap.
            let mut health = Command::new("sh");
            health.arg(etc.join("health.sh")).args(["redis", &port.to_string()]).env("HOSTNAME", "node-0");
            for (k, v) in PASSWORDS {
                health.env(k, v);
            }
            let o = health.output().unwrap();
            assert!(o.status.success(), "compose-{topology} health: {}", String::from_utf8_lossy(&o.stderr));
        }
    }
}
