//! `target: compose` against real peers: docker-compose (`config -q`, no engine needed) and the
//! compose-spec JSON Schema accept compose.yaml for every topology, and the rendered start and
//! health scripts really start redis-server with the ACL built from the passwords and pass a
//! write/read health check. What the rendered files hold, read as text, is checked in
//! tests/fast/targets_compose.rs.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::targets::*;
use crate::common::{free_port, KillOnDrop};

#[test]
fn docker_compose_and_the_compose_spec_accept_every_topology() {
    let compose = tool("docker-compose");
    let schema = tool("check-jsonschema");
    for topology in container_topologies() {
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
        let _node = start_sh(&etc, "redis", "node-0");
        wait_for(port, true, &["PING"], "PONG").unwrap_or_else(|e| panic!("compose-{topology}: {e}"));
        let acl = std::fs::read_to_string(run.join("users.acl")).unwrap();
        assert!(acl.starts_with("user default reset off\n") && !acl.contains("Plaintext"), "{acl}");
        // The replication password arrives through a private include, never in argv.
        let argv = std::fs::read(format!("/proc/{}/cmdline", _node.id())).unwrap();
        assert!(!String::from_utf8_lossy(&argv).contains("Plaintext"), "compose-{topology}: a password in argv");
        if topology != "standalone" {
            let include = run.join("auth-node-0.conf");
            let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&include).unwrap().permissions());
            assert_eq!(mode & 0o777, 0o600, "compose-{topology}: include mode {mode:o}");
            wait_for(port, true, &["CONFIG", "GET", "masterauth"], &format!("masterauth\n{}", PASSWORDS[1].1))
                .unwrap_or_else(|e| panic!("compose-{topology}: {e}"));
        }
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
        if topology == "sentinel" {
            sentinel_start_and_health(&etc, &run, &data, port);
        }
    }
}

/// `sh etc/start.sh KIND NAME` (the container entrypoint) with the password variables set.
fn start_sh(etc: &Path, kind: &str, name: &str) -> KillOnDrop {
    let mut start = Command::new("sh");
    start.arg(etc.join("start.sh")).args([kind, name]).stdout(Stdio::null()).stderr(Stdio::null());
    for (k, v) in PASSWORDS {
        start.env(k, v);
    }
    KillOnDrop(start.spawn().unwrap())
}

/// start.sh runs a real redis-sentinel next to the node: it writes the Sentinels' ACL file
/// (hashes only), Sentinel refuses anonymous clients, the application logs in with its own
/// password for discovery only, and health.sh logs in as the Sentinel user for CKQUORUM.
fn sentinel_start_and_health(etc: &Path, run: &Path, data: &Path, node_port: u16) {
    let sport = free_port();
    let conf = std::fs::read_to_string(etc.join("sentinel-0.conf")).unwrap();
    // One Sentinel outside a container: its own port, the node by address, a quorum of one.
    let local: String = conf
        .lines()
        .map(|l| match l.split_whitespace().collect::<Vec<_>>()[..] {
            ["bind", ..] => "bind 127.0.0.1".to_string(),
            ["port", _] => format!("port {sport}"),
            ["sentinel", "monitor", name, _, _, _] => format!("sentinel monitor {name} 127.0.0.1 {node_port} 1"),
            _ => l.to_string(),
        })
        .map(|l| l + "\n")
        .collect();
    assert!(local.contains(&format!("aclfile {}/sentinel-users.acl", run.display())), "{local}");
    std::fs::write(etc.join("sentinel-0.conf"), local).unwrap();
    let _sentinel = start_sh(etc, "sentinel", "sentinel-0");
    let anonymous = ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "catalog"];
    wait_for(sport, false, &anonymous, "NOAUTH Authentication required.").unwrap();
    let acl = std::fs::read_to_string(run.join("sentinel-users.acl")).unwrap();
    assert!(acl.starts_with("user default reset off\n") && !acl.contains("Plaintext"), "{acl}");
    let cli = |user: &str, password: &str, args: &[&str]| {
        let o = Command::new("redis-cli")
            .args(["--no-auth-warning", "-p", &sport.to_string(), "--user", user])
            .args(args)
            .env("REDISCLI_AUTH", password)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let app = PASSWORDS[0].1;
    assert_eq!(cli("catalog-app", app, &anonymous), format!("127.0.0.1\n{node_port}"));
    assert!(cli("catalog-app", app, &["SENTINEL", "SET", "catalog", "quorum", "2"]).starts_with("NOPERM"));
    let mut health = Command::new("sh");
    health.arg(etc.join("health.sh")).args(["sentinel", &sport.to_string()]);
    for (k, v) in PASSWORDS {
        health.env(k, v);
    }
    let o = health.output().unwrap();
    assert!(o.status.success(), "sentinel health: {}", String::from_utf8_lossy(&o.stderr));
    // Sentinel keeps its state in the copy start.sh made on the data directory.
    assert!(data.join("sentinel.conf").exists());
}

/// A real redis-server loads the rendered TLS config (certificates made with openssl here),
/// serves only the TLS port, and the rendered health check passes over TLS.
#[test]
fn a_real_node_serves_tls_with_the_rendered_config() {
    let out = render("compose-sentinel-tls");
    let dir = tempfile::tempdir().unwrap();
    let (etc, run, data, tls) =
        (dir.path().join("etc"), dir.path().join("run"), dir.path().join("data"), dir.path().join("tls"));
    for d in [&etc, &run, &data, &tls] {
        std::fs::create_dir(d).unwrap();
    }
    let openssl = |args: &[&str]| {
        let o = Command::new("openssl").args(args).current_dir(&tls).output().expect("openssl is installed");
        assert!(o.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=node-0",
        "-keyout",
        "redis.key",
        "-out",
        "redis.csr",
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        "redis.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-out",
        "redis.crt",
    ]);
    let port = free_port();
    let relocate = |text: &str| {
        text.replace("/etc/redisctl", &etc.display().to_string())
            .replace("/run/redisctl", &run.display().to_string())
            .replace("/data", &data.display().to_string())
            .replace("/tls/", &format!("{}/", tls.display()))
    };
    for (rel, path) in files(&out.path().join("config")) {
        let mut text = relocate(&std::fs::read_to_string(path).unwrap());
        if rel == "node-0.conf" {
            text = localize(&text, port, &data)
                .replace(
                    &format!("aclfile {}/users.acl", data.display()),
                    &format!("aclfile {}/users.acl", run.display()),
                )
                .replace(&format!("\nport {port}\n"), "\nport 0\n")
                .replace("tls-port 6379", &format!("tls-port {port}"));
            assert!(text.contains("\nport 0\n") && text.contains(&format!("tls-port {port}")), "{text}");
        }
        std::fs::write(etc.join(&rel), text).unwrap();
    }
    let _node = start_sh(&etc, "redis", "node-0");
    let mut health_ok = false;
    let mut last = String::new();
    for _ in 0..100 {
        let mut health = Command::new("sh");
        health.arg(etc.join("health.sh")).args(["redis", &port.to_string()]).env("HOSTNAME", "node-0");
        for (k, v) in PASSWORDS {
            health.env(k, v);
        }
        let o = health.output().unwrap();
        if o.status.success() {
            health_ok = true;
            break;
        }
        last = String::from_utf8_lossy(&o.stderr).to_string();
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(health_ok, "the TLS health check never passed: {last}");
    // The port speaks TLS only: a plaintext client gets no answer.
    let o = Command::new("redis-cli").args(["-p", &port.to_string(), "PING"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&o.stdout).contains("PONG"), "plaintext PING answered on the TLS port");
}
