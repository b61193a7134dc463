//! Every rendered `redis.conf` and `sentinel.conf` — of every environment of the sample
//! project and of every example — is loaded by a real `redis-server` / `redis-sentinel`.
//!
//! Each environment is rendered from a temporary copy of its project whose ports are moved to
//! free 127.0.0.1 ports; every node is started with its own directory as working directory
//! (the configs use relative paths such as `aclfile ../users.acl`), then the test checks what
//! the contract promises: the settings took effect, every ACL user can AUTH with its password
//! and nothing else, the `default` user is refused when `security.auth: required`, replicas
//! really replicate (authenticated as the replication user), and Sentinels monitor the primary,
//! see its replicas and each other (authenticated as the Sentinel user).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::*;
use sha2::{Digest, Sha256};

/// One ACL user of the rendered `users.acl`, with the password the test knows for it.
#[derive(Debug, Clone)]
struct User {
    name: String,
    password: String,
    rules: Vec<String>,
}

/// Facts read back from a rendered `redis.conf`.
#[derive(Debug)]
struct NodeConf {
    name: String,
    dir: PathBuf,
    port: u16,
    replicaof: Option<u16>,
    masteruser: Option<String>,
    cluster: bool,
    lines: BTreeMap<String, String>,
}

/// Facts read back from a rendered `sentinel.conf`.
#[derive(Debug)]
struct SentinelConf {
    name: String,
    dir: PathBuf,
    port: u16,
    master: String,
    master_port: u16,
    quorum: u32,
    auth_user: Option<String>,
    /// The user Sentinels log in to each other as, when they require auth (`sentinel sentinel-user`).
    sentinel_user: Option<String>,
}

/// `directive → arguments` of a redis.conf-style file (first occurrence; comments skipped).
fn directives(text: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
        map.entry(key.to_string()).or_insert_with(|| rest.to_string());
    }
    map
}

/// A redis.conf memory value in bytes, the way Redis reads it (`1k` = 1000, `1kb` = 1024).
fn conf_bytes(v: &str) -> u64 {
    let v = v.to_ascii_lowercase();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (n, unit) = v.split_at(split);
    let mult = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1_000_000,
        "mb" => 1 << 20,
        "g" => 1_000_000_000,
        "gb" => 1 << 30,
        other => panic!("unexpected unit {other:?} in {v:?}"),
    };
    n.parse::<u64>().unwrap() * mult
}

/// Every secret the test can know: the values of the variables it sets, and the content of
/// every file under the project's `secrets/` (minus one trailing newline, as redisctl reads them).
fn known_secrets(project: &Path, env_vars: &[(&str, &str)]) -> Vec<String> {
    let mut secrets: Vec<String> = env_vars.iter().map(|(_, v)| v.to_string()).collect();
    for (_, bytes) in read_tree(&project.join("secrets")) {
        let text = String::from_utf8(bytes).unwrap();
        secrets.push(text.strip_suffix('\n').unwrap_or(&text).to_string());
    }
    secrets
}

/// The users of the rendered ACL file, each matched to its password through the `#<sha256>`
/// rule (so this also checks that the hash is the SHA-256 of the referenced secret).
fn acl_users(acl: &str, secrets: &[String]) -> (Vec<String>, Vec<User>) {
    let mut default_rules = None;
    let mut users = Vec::new();
    for line in acl.lines().filter(|l| !l.trim().is_empty()) {
        let mut words = line.split(' ');
        assert_eq!(words.next(), Some("user"), "unexpected ACL line {line:?}");
        let name = words.next().unwrap().to_string();
        let rules: Vec<String> = words.map(String::from).collect();
        if name == "default" {
            default_rules = Some(rules);
            continue;
        }
        let hashes: Vec<&str> = rules.iter().filter_map(|r| r.strip_prefix('#')).collect();
        assert_eq!(hashes.len(), 1, "user {name} must have exactly one password hash: {line}");
        let password = secrets
            .iter()
            .find(|s| hex::encode(Sha256::digest(s.as_bytes())) == hashes[0])
            .unwrap_or_else(|| panic!("the hash of user {name} is not the SHA-256 of any known secret"))
            .clone();
        users.push(User { name, password, rules });
    }
    (default_rules.expect("users.acl configures the default user"), users)
}

fn node_confs(run: &Path, rendered: &BTreeMap<String, Vec<u8>>) -> Vec<NodeConf> {
    let mut nodes = Vec::new();
    for (rel, bytes) in rendered {
        let Some(dir) = rel.strip_suffix("/redis.conf") else { continue };
        let text = String::from_utf8(bytes.clone()).unwrap();
        let lines = directives(&text);
        let port = lines["port"].parse().unwrap();
        let replicaof = lines.get("replicaof").map(|v| {
            let (host, port) = v.split_once(' ').unwrap();
            assert_eq!(host, "127.0.0.1");
            port.parse().unwrap()
        });
        nodes.push(NodeConf {
            name: dir.to_string(),
            dir: run.join(dir),
            port,
            replicaof,
            masteruser: lines.get("masteruser").cloned(),
            cluster: lines.get("cluster-enabled").is_some_and(|v| v == "yes"),
            lines,
        });
    }
    nodes
}

fn sentinel_confs(run: &Path, rendered: &BTreeMap<String, Vec<u8>>) -> Vec<SentinelConf> {
    let mut sentinels = Vec::new();
    for (rel, bytes) in rendered {
        let Some(dir) = rel.strip_suffix("/sentinel.conf") else { continue };
        let text = String::from_utf8(bytes.clone()).unwrap();
        let lines = directives(&text);
        let mut monitor = None;
        let mut auth_user = None;
        let mut sentinel_user = None;
        for line in text.lines() {
            let words: Vec<&str> = line.split(' ').collect();
            match words.as_slice() {
                ["sentinel", "monitor", name, host, port, quorum] => {
                    assert_eq!(*host, "127.0.0.1");
                    monitor = Some((name.to_string(), port.parse().unwrap(), quorum.parse().unwrap()));
                }
                ["sentinel", "auth-user", _, user] => auth_user = Some(user.to_string()),
                ["sentinel", "sentinel-user", user] => sentinel_user = Some(user.to_string()),
                _ => {}
            }
        }
        let (master, master_port, quorum) = monitor.unwrap_or_else(|| panic!("{rel} has no `sentinel monitor`"));
        sentinels.push(SentinelConf {
            name: dir.to_string(),
            dir: run.join(dir),
            port: lines["port"].parse().unwrap(),
            master,
            master_port,
            quorum,
            auth_user,
            sentinel_user,
        });
    }
    sentinels
}

fn password_of<'a>(users: &'a [User], name: &str) -> &'a str {
    &users.iter().find(|u| u.name == name).unwrap_or_else(|| panic!("no ACL user {name}")).password
}

/// Render `env` of `project` with free ports, start everything, and check it.
fn check_environment(project: &Path, env: &str, env_vars: &[(&str, &str)]) {
    require_redis();
    let copy = TempProject::copy_of(project);
    let redis_base = free_port_block(8, true);
    let sentinel_base = free_port_block(8, false);
    copy.set_ports(env, redis_base, sentinel_base);
    let out = tempfile::tempdir().unwrap();
    let run_dir = out.path().join("run");
    render(copy.path(), env, &run_dir, env_vars);
    let rendered = read_tree(&run_dir);

    let secrets = known_secrets(copy.path(), env_vars);
    let (default_rules, users) = acl_users(&String::from_utf8(rendered["users.acl"].clone()).unwrap(), &secrets);
    assert!(!users.is_empty(), "the contract declares ACL users");
    let auth_required = default_rules.iter().any(|r| r == "off");
    let ops = users
        .iter()
        .find(|u| u.rules.iter().any(|r| r == "+@all"))
        .expect("every tested contract has an operator user (+@all)")
        .clone();

    let nodes = node_confs(&run_dir, &rendered);
    assert!(!nodes.is_empty(), "no redis.conf rendered");
    let mut servers = Vec::new();
    for node in &nodes {
        assert!(node.port >= redis_base && node.port < redis_base + 8, "{} uses port {}", node.name, node.port);
        // What the process provider does: the replication password is given at start, never
        // written into redis.conf.
        let args = match &node.masteruser {
            Some(user) => vec!["--masterauth".to_string(), password_of(&users, user).to_string()],
            None => Vec::new(),
        };
        let mut server = RedisServer::start(Kind::Server, &node.dir.join("redis.conf"), &node.dir, node.port, &args);
        server.set_shutdown_auth(&ops.name, &ops.password);
        servers.push(server);
    }

    for (node, server) in nodes.iter().zip(&servers) {
        check_node(node, server, &users, &ops, auth_required);
    }
    check_replication(&nodes, &servers, &ops);
    check_writes(&nodes, &servers, &users);

    let sentinels = sentinel_confs(&run_dir, &rendered);
    let mut sentinel_servers = Vec::new();
    for s in &sentinels {
        assert!(s.port >= sentinel_base && s.port < sentinel_base + 8, "{} uses port {}", s.name, s.port);
        assert_eq!(s.master_port, nodes.iter().find(|n| n.replicaof.is_none()).unwrap().port);
        // Sentinel rewrites its configuration file: run it from a copy, like redisctl does.
        let copy = s.dir.join("sentinel.run.conf");
        std::fs::copy(s.dir.join("sentinel.conf"), &copy).unwrap();
        // What the process provider does: the passwords are given at start, never written.
        let mut args = match &s.auth_user {
            Some(user) => ["--sentinel", "auth-pass", &s.master, password_of(&users, user)].map(String::from).to_vec(),
            None => Vec::new(),
        };
        if let Some(user) = &s.sentinel_user {
            args.extend(["--sentinel", "sentinel-pass", password_of(&users, user)].map(String::from));
        }
        let mut server = RedisServer::start(Kind::Sentinel, &copy, &s.dir, s.port, &args);
        if let Some(user) = &s.sentinel_user {
            server.set_shutdown_auth(user, password_of(&users, user));
        }
        sentinel_servers.push(server);
    }
    let replicas = nodes.iter().filter(|n| n.replicaof.is_some()).count();
    for (s, server) in sentinels.iter().zip(&sentinel_servers) {
        check_sentinel(s, server, &users, replicas, sentinels.len());
    }

    // The rendered files themselves were not touched by the servers.
    for (rel, bytes) in &rendered {
        let now = std::fs::read(run_dir.join(rel)).unwrap();
        assert!(&now == bytes, "{rel} was modified while the stack ran");
    }
}

fn check_node(node: &NodeConf, server: &RedisServer, users: &[User], ops: &User, auth_required: bool) {
    let who = format!("{} (port {})", node.name, node.port);

    // The default user: refused when auth is required.
    let mut anonymous = server.connect();
    let ping = anonymous.must(&["PING"]);
    if auth_required {
        assert!(ping.text().starts_with("NOAUTH"), "{who}: unauthenticated PING must be refused, got {ping:?}");
        let auth = anonymous.must(&["AUTH", "default", "anything"]);
        assert!(auth.is_error(), "{who}: the default user must be disabled, got {auth:?}");
        let auth = anonymous.must(&["AUTH", "anything"]);
        assert!(auth.is_error(), "{who}: AUTH <password> (default user) must fail, got {auth:?}");
    } else {
        assert_eq!(ping, Reply::Status("PONG".into()), "{who}");
    }

    // Every ACL user authenticates with its password, and only with it.
    for u in users {
        let mut c = server.connect();
        let wrong = c.must(&["AUTH", &u.name, "not-the-password"]);
        assert!(wrong.is_error(), "{who}: {} accepted a wrong password: {wrong:?}", u.name);
        let ok = c.must(&["AUTH", &u.name, &u.password]);
        assert!(ok.is_ok(), "{who}: AUTH as {} failed: {ok:?}", u.name);
    }

    // The settings of the contract took effect.
    let mut c = server.connect_as(&ops.name, &ops.password);
    assert_eq!(c.must(&["PING"]), Reply::Status("PONG".into()), "{who}");
    let info = info_fields(&c.must(&["INFO", "server"]).text());
    assert_eq!(info["tcp_port"], node.port.to_string(), "{who}");
    assert!(info["redis_version"].starts_with("7."), "{who}: {}", info["redis_version"]);
    let config = |c: &mut Conn, key: &str| c.must(&["CONFIG", "GET", key]).pairs().remove(key).unwrap_or_default();
    if let Some(max) = node.lines.get("maxmemory") {
        assert_eq!(config(&mut c, "maxmemory"), conf_bytes(max).to_string(), "{who}: maxmemory");
    }
    for key in ["maxmemory-policy", "appendonly", "appendfsync", "timeout", "tcp-keepalive"] {
        if let Some(want) = node.lines.get(key) {
            assert_eq!(&config(&mut c, key), want, "{who}: {key}");
        }
    }
    assert_eq!(config(&mut c, "bind"), "127.0.0.1", "{who}");
    if node.cluster {
        let cluster = info_fields(&c.must(&["INFO", "cluster"]).text());
        assert_eq!(cluster["cluster_enabled"], "1", "{who}");
        let myself = c.must(&["CLUSTER", "MYID"]);
        assert_eq!(myself.text().len(), 40, "{who}: CLUSTER MYID {myself:?}");
    }
}

/// Replicas connect to their primary, authenticated as the replication user.
fn check_replication(nodes: &[NodeConf], servers: &[RedisServer], ops: &User) {
    for (node, server) in nodes.iter().zip(servers) {
        let Some(primary_port) = node.replicaof else { continue };
        let mut c = server.connect_as(&ops.name, &ops.password);
        wait_for(&format!("{} to replicate from port {primary_port}", node.name), Duration::from_secs(30), || {
            let info = info_fields(&c.must(&["INFO", "replication"]).text());
            let ok = info.get("role").is_some_and(|r| r == "slave")
                && info.get("master_port").is_some_and(|p| *p == primary_port.to_string())
                && info.get("master_link_status").is_some_and(|s| s == "up");
            if ok {
                Ok(())
            } else {
                Err(format!("{info:?}\n{}", server.output()))
            }
        });
    }
    for (node, server) in nodes.iter().zip(servers) {
        let replicas = nodes.iter().filter(|n| n.replicaof == Some(node.port)).count();
        if replicas == 0 {
            continue;
        }
        let mut c = server.connect_as(&ops.name, &ops.password);
        wait_for(&format!("{} to see {replicas} replicas", node.name), Duration::from_secs(30), || {
            let info = info_fields(&c.must(&["INFO", "replication"]).text());
            match info.get("connected_slaves") {
                Some(n) if *n == replicas.to_string() && info["role"] == "master" => Ok(()),
                _ => Err(format!("{info:?}")),
            }
        });
    }
}

/// Application users may write under their key patterns and nowhere else (on the primary of
/// non-cluster topologies: cluster nodes own no slots until the cluster is created).
fn check_writes(nodes: &[NodeConf], servers: &[RedisServer], users: &[User]) {
    let Some((node, server)) = nodes.iter().zip(servers).find(|(n, _)| n.replicaof.is_none() && !n.cluster) else {
        return;
    };
    for u in users {
        let patterns: Vec<&str> = u.rules.iter().filter_map(|r| r.strip_prefix('~')).filter(|p| *p != "*").collect();
        if patterns.is_empty() || !u.rules.iter().any(|r| r == "+@write") {
            continue;
        }
        let mut c = server.connect_as(&u.name, &u.password);
        let inside = patterns[0].replace('*', "redisctl-test");
        // With `min-replicas-to-write`, the primary counts its replicas as good only after
        // their first acknowledgements (once a second): wait for that, not for anything else.
        let set = wait_for("the replicas to acknowledge", Duration::from_secs(15), || {
            let set = c.must(&["SET", &inside, "1"]);
            if set.text().starts_with("NOREPLICAS") {
                Err(format!("{set:?}"))
            } else {
                Ok(set)
            }
        });
        assert!(set.is_ok(), "{}: {} cannot write {inside}: {set:?}", node.name, u.name);
        let outside = c.must(&["SET", "redisctl-test-outside-every-pattern", "1"]);
        assert!(outside.text().starts_with("NOPERM"), "{}: {} wrote outside its keys: {outside:?}", node.name, u.name);
        let flush = c.must(&["FLUSHALL"]);
        assert!(flush.text().starts_with("NOPERM"), "{}: {} may run FLUSHALL: {flush:?}", node.name, u.name);
    }
}

/// A Sentinel monitors the primary, sees its replicas (it authenticates to run INFO) and the
/// other Sentinels (hello messages on `__sentinel__:hello`, allowed by the Sentinel user's ACL).
fn check_sentinel(s: &SentinelConf, server: &RedisServer, users: &[User], replicas: usize, sentinels: usize) {
    let mut c = match &s.sentinel_user {
        // A Sentinel that requires auth refuses anonymous clients.
        Some(user) => {
            let anonymous = server.connect().cmd(&["PING"]).unwrap();
            assert!(anonymous.is_error() && anonymous.text().contains("NOAUTH"), "{}: {anonymous:?}", s.name);
            server.connect_as(user, password_of(users, user))
        }
        None => server.connect(),
    };
    assert_eq!(c.must(&["PING"]), Reply::Status("PONG".into()), "{}", s.name);
    wait_for(&format!("{} to monitor {}", s.name, s.master), Duration::from_secs(40), || {
        let master = c.must(&["SENTINEL", "MASTER", &s.master]).pairs();
        let want = [
            ("flags", "master".to_string()),
            ("port", s.master_port.to_string()),
            ("quorum", s.quorum.to_string()),
            ("num-slaves", replicas.to_string()),
            ("num-other-sentinels", (sentinels - 1).to_string()),
        ];
        if want.iter().all(|(k, v)| master.get(*k) == Some(v)) {
            Ok(())
        } else {
            Err(format!("{master:?}\n{}", server.output()))
        }
    });
}

// --- one test per environment, so they run in parallel and fail separately (that they cover
// every environment is checked in tests/fast/render_real_redis.rs) ---

#[test]
fn sample_local() {
    check_environment(&repo_root(), "local", &[]);
}

// The sample's staging (kubernetes) and production (systemd) render target files; their
// configurations are loaded by real servers in tests/peers/targets_*.rs.

#[test]
fn example_standalone_cache() {
    check_environment(&example_dir("standalone-cache"), "local", &[]);
}

#[test]
fn example_replication_session() {
    check_environment(&example_dir("replication-session"), "local", &[]);
}

#[test]
fn example_sentinel_state() {
    check_environment(&example_dir("sentinel-state"), "local", &[]);
}

#[test]
fn example_cluster_3_shards() {
    check_environment(&example_dir("cluster-3-shards"), "local", &[]);
}

#[test]
fn example_elasticache_session_local() {
    check_environment(&example_dir("elasticache-session"), "local", &[]);
}

#[test]
fn example_memorystore_cache_local() {
    check_environment(&example_dir("memorystore-cache"), "local", &[]);
}

#[test]
fn example_redis_enterprise_orders_local() {
    check_environment(&example_dir("redis-enterprise-orders"), "local", &[]);
}

// --- the helpers themselves ---

/// The `RedisServer` guard stops the server when the test using it panics.
#[test]
fn the_guard_stops_the_server_when_a_test_panics() {
    require_redis();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port_block(1, false);
    std::fs::write(dir.path().join("redis.conf"), format!("bind 127.0.0.1\nport {port}\nsave \"\"\nappendonly no\n"))
        .unwrap();
    let conf = dir.path().join("redis.conf");
    let workdir = dir.path().to_path_buf();
    let result = std::thread::spawn(move || {
        let server = RedisServer::start(Kind::Server, &conf, &workdir, port, &[]);
        assert_eq!(server.connect().must(&["PING"]), Reply::Status("PONG".into()));
        panic!("a failing test");
    })
    .join();
    assert!(result.is_err(), "the thread panicked");
    assert!(Conn::connect(port).is_err(), "redis-server still answers on port {port} after the test panicked");
}

/// A configuration redis-server refuses makes `start` fail with the server's own message.
#[test]
fn a_refused_configuration_fails_with_the_server_output() {
    require_redis();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port_block(1, false);
    std::fs::write(dir.path().join("redis.conf"), format!("port {port}\nmaxmemory-policy sometimes\n")).unwrap();
    let conf = dir.path().join("redis.conf");
    let workdir = dir.path().to_path_buf();
    let Err(err) = std::thread::spawn(move || RedisServer::start(Kind::Server, &conf, &workdir, port, &[])).join()
    else {
        panic!("start must fail");
    };
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("FATAL CONFIG FILE ERROR") && msg.contains("maxmemory-policy"), "{msg}");
}
