//! `target: systemd` against real peers: `systemd-analyze verify` accepts every rendered unit
//! without a single line of output, and a real redis-server / redis-sentinel loads every
//! rendered config (paths and addresses moved into a temporary directory) and lets the
//! operator authenticate against the rendered ACL hashes. What the rendered files hold, read
//! as text, is checked in tests/fast/targets_systemd.rs.

use std::process::{Command, Stdio};

use crate::common::targets::*;
use crate::common::{free_port, KillOnDrop};

#[test]
fn systemd_analyze_verify_accepts_every_unit_silently() {
    let verify = tool("systemd-analyze");
    for topology in TOPOLOGIES {
        let out = render(&format!("systemd-{topology}"));
        let units = tempfile::tempdir().unwrap();
        let mut names = Vec::new();
        for (rel, path) in files(out.path()) {
            if let Some(name) = rel.strip_prefix("etc/systemd/system/") {
                std::fs::copy(&path, units.path().join(name)).unwrap();
                names.push(name.to_string());
            }
        }
        // Template units are verified through instances: the node and Sentinel names.
        let mut instances = Vec::new();
        for (rel, _) in files(out.path()) {
            let Some(conf) = rel.strip_prefix("etc/redis/catalog/").and_then(|f| f.strip_suffix(".conf")) else {
                continue;
            };
            let template = if conf.starts_with("sentinel-") { "redis-catalog-sentinel@" } else { "redis-catalog@" };
            instances.push(format!("{template}{conf}.service"));
        }
        instances.extend(names.iter().filter(|n| !n.contains('@')).cloned());
        assert!(instances.len() >= 2, "{topology}: no units to verify");
        let mut cmd = Command::new(&verify);
        cmd.current_dir(units.path()).arg("verify").args(&instances);
        run_silent(&mut cmd);
    }
}

#[test]
fn redis_server_loads_every_rendered_config() {
    for topology in TOPOLOGIES {
        let out = render(&format!("systemd-{topology}"));
        let etc = out.path().join("etc/redis/catalog");
        let acl = std::fs::read_to_string(etc.join("users.acl")).unwrap();
        let mut names: Vec<String> =
            files(&etc).into_iter().filter_map(|(rel, _)| rel.strip_suffix(".conf").map(String::from)).collect();
        names.sort();
        for name in names {
            let dir = tempfile::tempdir().unwrap();
            let port = free_port();
            let conf = std::fs::read_to_string(etc.join(format!("{name}.conf"))).unwrap();
            let path = dir.path().join("test.conf");
            std::fs::write(&path, localize(&conf, port, dir.path())).unwrap();
            let sentinel = name.starts_with("sentinel-");
            // Sentinels load their own ACL (the nodes' rules name commands Sentinel lacks).
            let acl =
                if sentinel { std::fs::read_to_string(etc.join("sentinel-users.acl")).unwrap() } else { acl.clone() };
            std::fs::write(dir.path().join("users.acl"), &acl).unwrap();
            let bin = if sentinel { "redis-sentinel" } else { "redis-server" };
            let child = Command::new(bin)
                .arg(&path)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server is installed");
            let _guard = KillOnDrop(child);
            // Nodes: the operator logs in with its plaintext against the rendered SHA-256 hash.
            // Sentinels refuse anonymous clients; the Sentinel user logs in against its hash.
            let result = if sentinel {
                wait_for(port, false, &["PING"], "NOAUTH Authentication required.").and_then(|()| {
                    let o = Command::new("redis-cli")
                        .args(["--no-auth-warning", "-p", &port.to_string(), "--user", "sentinel", "PING"])
                        .env("REDISCLI_AUTH", PASSWORDS[2].1)
                        .output()
                        .unwrap();
                    let answer = String::from_utf8_lossy(&o.stdout).trim().to_string();
                    if answer == "PONG" {
                        Ok(())
                    } else {
                        Err(format!("the Sentinel user's login: {answer}"))
                    }
                })
            } else {
                wait_for(port, true, &["PING"], "PONG")
            };
            result.unwrap_or_else(|e| {
                panic!("systemd-{topology} {name}: {e}\n{}", std::fs::read_to_string(&path).unwrap())
            });
            if !sentinel {
                wait_for(port, true, &["CONFIG", "GET", "maxmemory-policy"], "maxmemory-policy\nallkeys-lru").unwrap();
            }
        }
    }
}
