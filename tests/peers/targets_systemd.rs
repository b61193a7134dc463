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

/// Hardening: the replication and Sentinel passwords reach the servers through `auth.sh`
/// (`ExecStartPre`) as a 0600 include, never as arguments, and arrive intact whatever they
/// hold: a real redis-server and redis-sentinel load the include and report the very value.
#[test]
fn auth_sh_hands_each_password_to_its_server_through_a_private_include() {
    const TRICKY: &str = r#"repl "quoted" \back\ slash $HOME `x` 'y' #hash"#;
    let out = render("systemd-sentinel");
    let etc = out.path().join("etc/redis/catalog");
    // Sentinel writes auth-pass back unquoted when it rewrites its config: a password it
    // could not read again is refused (below); what it can read passes intact.
    const SENTINEL_WORD: &str = "s3nt!nel-$HOME-#x-%s-`y`";
    for (kind, var, conf, password) in [
        ("redis", "REDIS_MASTERAUTH", "node-0", TRICKY),
        ("sentinel", "REDIS_SENTINEL_AUTH_PASS", "sentinel-0", SENTINEL_WORD),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let runtime = dir.path().join("run");
        std::fs::create_dir(&runtime).unwrap();
        let o = Command::new("sh")
            .arg(etc.join("auth.sh"))
            .arg(kind)
            .env(var, password)
            .env("RUNTIME_DIRECTORY", &runtime)
            .output()
            .unwrap();
        assert!(o.status.success(), "{kind}: {}", String::from_utf8_lossy(&o.stderr));
        let include = runtime.join("auth.conf");
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&include).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600, "{kind}: include mode {mode:o}");

        let port = free_port();
        let rendered = std::fs::read_to_string(etc.join(format!("{conf}.conf"))).unwrap();
        let path = dir.path().join("test.conf");
        std::fs::write(&path, localize(&rendered, port, dir.path())).unwrap();
        let acl = if kind == "sentinel" { "sentinel-users.acl" } else { "users.acl" };
        std::fs::copy(etc.join(acl), dir.path().join("users.acl")).unwrap();
        let bin = if kind == "sentinel" { "redis-sentinel" } else { "redis-server" };
        let child = Command::new(bin)
            .arg(&path)
            .arg("--include")
            .arg(&include)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        let _guard = KillOnDrop(child);
        let (user, login) = if kind == "sentinel" { ("sentinel", PASSWORDS[2].1) } else { ("ops", OPS_PASSWORD) };
        let ask = |args: &[&str]| {
            let o = Command::new("redis-cli")
                .args(["--no-auth-warning", "-p", &port.to_string(), "--user", user])
                .args(args)
                .env("REDISCLI_AUTH", login)
                .output()
                .unwrap();
            String::from_utf8_lossy(&o.stdout).to_string()
        };
        let seen = crate::common::wait_for(&format!("{kind} answers"), std::time::Duration::from_secs(10), || {
            let answer =
                if kind == "sentinel" { ask(&["SENTINEL", "DEBUG"]) } else { ask(&["CONFIG", "GET", "masterauth"]) };
            if answer.is_empty() {
                Err("no answer yet".to_string())
            } else {
                Ok(answer)
            }
        });
        if kind == "redis" {
            assert_eq!(seen, format!("masterauth\n{TRICKY}\n"), "{kind}");
        } else {
            // Sentinel keeps auth-pass to itself; its rewritten config shows what it loaded.
            ask(&["SENTINEL", "FLUSHCONFIG"]);
            let rewritten = std::fs::read_to_string(&path).unwrap();
            let lines: Vec<&str> = rewritten.lines().filter(|l| l.contains(SENTINEL_WORD)).collect();
            assert_eq!(
                lines,
                [
                    format!("sentinel auth-pass catalog {SENTINEL_WORD}"),
                    format!("sentinel sentinel-pass {SENTINEL_WORD}")
                ],
                "{rewritten}"
            );
        }
        let argv = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
        assert!(!String::from_utf8_lossy(&argv).contains(&password[..8]), "{kind}: the password is in argv");
    }

    // A line break would end the directive, and Sentinel could not read back a quoted word:
    // refused with the reason, no password written.
    for (kind, var, password) in
        [("redis", "REDIS_MASTERAUTH", "line\nbreak"), ("sentinel", "REDIS_SENTINEL_AUTH_PASS", TRICKY)]
    {
        let runtime = tempfile::tempdir().unwrap();
        let o = Command::new("sh")
            .arg(etc.join("auth.sh"))
            .arg(kind)
            .env(var, password)
            .env("RUNTIME_DIRECTORY", runtime.path())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(65), "{kind}: {}", String::from_utf8_lossy(&o.stderr));
        let written = std::fs::read_to_string(runtime.path().join("auth.conf")).unwrap_or_default();
        assert!(!written.contains(&password[..4]), "{kind}: {written}");
    }
}
