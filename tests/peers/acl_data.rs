//! The ACL data of `data/acl/` against the installed redis-server.
//!
//! * The categories and commands recorded for the server's version are exactly what it reports
//!   (`ACL CAT`, `ACL CAT <category>`, `COMMAND LIST`), so the table cannot rot silently.
//!   `scripts/refresh-acl-data.sh` runs the same test with `REDISCTL_WRITE_ACL_DATA=1`, which
//!   writes the file from the server instead of comparing.
//! * What `validate` refuses (unknown categories, commands and subcommands; characters an ACL
//!   file cannot hold; malformed snapshot points) the real server refuses too, written as
//!   redisctl renders it; what `validate` accepts, the server accepts. (Every example's rendered
//!   files are started by tests/peers/render_real_redis.rs.)

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::*;
use redisctl::model::acl::table;
use redisctl::model::RedisVersion;
use redisctl::render::conf::quote;

/// An empty redis-server on a free port, started in a temporary directory.
fn plain_server() -> (RedisServer, tempfile::TempDir) {
    require_redis();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port_block(1, false);
    let conf = dir.path().join("redis.conf");
    std::fs::write(&conf, format!("bind 127.0.0.1\nport {port}\nsave \"\"\nappendonly no\n")).unwrap();
    (RedisServer::start(Kind::Server, &conf, dir.path(), port, &[]), dir)
}

fn list(c: &mut Conn, args: &[&str]) -> Vec<String> {
    match c.must(args) {
        Reply::Array(Some(items)) => items.iter().map(Reply::text).collect(),
        other => panic!("{args:?}: {other:?}"),
    }
}

/// `major.minor` of the server, as the contract and the data files key versions.
fn version_of(info: &str) -> (RedisVersion, String) {
    let full = info_fields(info)["redis_version"].clone();
    let minor: Vec<&str> = full.split('.').take(2).collect();
    let key = minor.join(".");
    let v = RedisVersion::ALL
        .into_iter()
        .find(|v| v.as_str() == key)
        .unwrap_or_else(|| panic!("redis-server {full} is not a version redisctl supports"));
    (v, full)
}

/// The data file of a version, in the layout scripts/acl-data-from-source.py writes.
fn data_file(version: &str, full: &str, categories: &[String], commands: &BTreeMap<String, Vec<String>>) -> String {
    let quoted = |items: &[String]| items.iter().map(|i| format!("\"{i}\"")).collect::<Vec<_>>().join(", ");
    let mut s = format!(
        "# ACL categories and commands of Redis {version}: what `acl.users[].commands` may name.\n\
         # Written by scripts/refresh-acl-data.sh (tests/peers/acl_data.rs); read by src/model/acl.rs.\n\
         version = \"{version}\"\n\
         source = \"READ from redis-server {full}, the server installed for the tests: ACL CAT, ACL CAT <category>, \
         COMMAND LIST. tests/peers/acl_data.rs checks that this file is what the server reports.\"\n\
         names_checked = true\n\
         categories = [{}]\n\n[commands]\n",
        quoted(categories)
    );
    for (name, cats) in commands {
        s.push_str(&format!("\"{name}\" = [{}]\n", quoted(cats)));
    }
    s
}

#[test]
fn the_recorded_acl_data_is_what_the_installed_server_reports() {
    let (server, _dir) = plain_server();
    let mut c = server.connect();
    let (version, full) = version_of(&c.must(&["INFO", "server"]).text());
    let categories = list(&mut c, &["ACL", "CAT"]);
    let mut commands: BTreeMap<String, Vec<String>> =
        list(&mut c, &["COMMAND", "LIST"]).into_iter().map(|n| (n, Vec::new())).collect();
    for category in &categories {
        for name in list(&mut c, &["ACL", "CAT", category]) {
            commands.entry(name).or_default().push(category.clone());
        }
    }

    if std::env::var_os("REDISCTL_WRITE_ACL_DATA").is_some() {
        let path = repo_root().join(format!("data/acl/{}.toml", version.as_str()));
        std::fs::write(&path, data_file(version.as_str(), &full, &categories, &commands)).unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }
    let recorded = table(version);
    assert!(recorded.names_checked, "data/acl/{}.toml: a version with a server here is checked", version.as_str());
    assert_eq!(
        recorded.categories,
        categories,
        "data/acl/{}.toml: categories (run scripts/refresh-acl-data.sh)",
        version.as_str()
    );
    let differ: Vec<String> = commands
        .keys()
        .chain(recorded.commands.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|n| commands.get(*n) != recorded.commands.get(*n))
        .map(|n| format!("{n}: server {:?}, recorded {:?}", commands.get(n), recorded.commands.get(n)))
        .collect();
    assert!(
        differ.is_empty(),
        "data/acl/{}.toml differs from redis-server {full} (run scripts/refresh-acl-data.sh):\n{}",
        version.as_str(),
        differ.join("\n")
    );
}

/// Whether redis-server starts with `conf` (plus a port) and `acl` as its ACL file; `Err` with
/// its output when it exits instead.
fn server_starts(conf: &str, acl: &str) -> Result<(), String> {
    require_redis();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port_block(1, false);
    std::fs::write(dir.path().join("users.acl"), acl).unwrap();
    let text = format!("bind 127.0.0.1\nport {port}\nappendonly no\naclfile users.acl\n{conf}");
    std::fs::write(dir.path().join("redis.conf"), text).unwrap();
    let out = std::fs::File::create(dir.path().join("out")).unwrap();
    let mut child = KillOnDrop(
        std::process::Command::new("redis-server")
            .arg("redis.conf")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return Err(std::fs::read_to_string(dir.path().join("out")).unwrap_or_default());
        }
        if Conn::connect(port).and_then(|mut c| c.cmd(&["PING"])).is_ok() {
            return Ok(());
        }
        assert!(started.elapsed() < Duration::from_secs(15), "redis-server neither started nor exited");
        std::thread::sleep(Duration::from_millis(30));
    }
}

/// A project of the installed server's version whose application user has `commands`, `keys`,
/// and persistence `snapshots`; `validate`'s exit code and output.
fn validate(version: &str, commands: &[&str], keys: &[&str], snapshots: &[&str]) -> Run {
    let list = |items: &[&str]| format!("[{}]", items.iter().map(|i| format!("{i:?}")).collect::<Vec<_>>().join(", "));
    let base = format!(
        "apiVersion: redisctl/v1\nservice: demo\nredis:\n  version: \"{version}\"\n  workload: cache\n  \
         maxmemoryPolicy: allkeys-lru\n  persistence: {{ mode: rdb, snapshots: {} }}\nacl:\n  users:\n    \
         - name: app\n      password: {{ fromFile: secrets/app }}\n      keys: {}\n      commands: {}\n    \
         - name: ops\n      role: operator\n      password: {{ fromFile: secrets/ops }}\nresources:\n  maxmemory: 64mb\n",
        list(snapshots),
        list(keys),
        list(commands)
    );
    let p = TempProject::new(&[
        ("redisctl.yaml", &base),
        ("environments/dev.yaml", "target: process\n"),
        ("secrets/app", "app-password\n"),
        ("secrets/ops", "ops-password\n"),
    ]);
    Run::of(p.cmd().args(["validate", "--env", "dev"]))
}

/// The ACL file line redisctl renders for a user with these rules.
fn acl_file(rules: &[&str]) -> String {
    let rules: Vec<String> = rules.iter().map(|r| quote(r)).collect();
    format!("user default off\nuser app on nopass {}\n", rules.join(" "))
}

#[test]
fn redis_server_refuses_the_acl_rules_validate_refuses() {
    let (server, _dir) = plain_server();
    let (version, _) = version_of(&server.connect().must(&["INFO", "server"]).text());
    drop(server);
    let v = version.as_str();
    // (commands, keys, code validate reports)
    let refused: &[(&[&str], &[&str], &str)] = &[
        (&["+@nosuchcategory"], &["demo:*"], "RCTL062"),
        (&["+nosuchcommand"], &["demo:*"], "RCTL062"),
        (&["+cluster|nosuch"], &["demo:*"], "RCTL062"),
        (&["+@all", "-get|foo"], &["demo:*"], "RCTL062"),
        (&["+config|get|maxmemory"], &["demo:*"], "RCTL062"),
        (&["+@read"], &["démo:*"], "RCTL063"),
        (&["+@read"], &["demo;x:*"], "RCTL063"),
    ];
    for (commands, keys, code) in refused {
        let run = validate(v, commands, keys, &["300 100"]);
        assert_eq!(run.code, Some(1), "validate must refuse {commands:?} {keys:?}\n{}", run.show());
        assert!(run.stderr.contains(&format!("error[{code}]")), "{commands:?} {keys:?}: {}", run.show());
        let mut rules: Vec<String> = keys.iter().map(|k| format!("~{k}")).collect();
        rules.extend(commands.iter().map(|c| c.to_string()));
        let rules: Vec<&str> = rules.iter().map(String::as_str).collect();
        let err = server_starts("save \"\"\n", &acl_file(&rules))
            .expect_err(&format!("redis-server {v} accepted {rules:?}, which validate refuses"));
        assert!(err.contains("ACL"), "{rules:?}: {err}");
    }
    let accepted: &[&[&str]] = &[
        &["+@read", "+@write", "-@dangerous", "+ping", "+cluster|slots", "+cluster|nodes"],
        &["+@all", "-@admin", "-flushall", "-config|set", "+select|0"],
        &["+@READ", "+GET", "+Cluster|Slots", "-Debug"],
        &["nocommands", "+get", "+set"],
    ];
    for commands in accepted {
        let run = validate(v, commands, &["demo:*"], &["300 100"]);
        assert_eq!(run.code, Some(0), "validate must accept {commands:?}\n{}", run.show());
        let mut rules = vec!["~demo:*"];
        rules.extend(commands.iter());
        server_starts("save \"\"\n", &acl_file(&rules))
            .unwrap_or_else(|e| panic!("redis-server {v} refused {rules:?}, which validate accepts:\n{e}"));
    }
}

#[test]
fn redis_server_refuses_the_snapshot_points_validate_refuses() {
    let acl = acl_file(&["~*", "+@all"]);
    let (server, _dir) = plain_server();
    let (version, _) = version_of(&server.connect().must(&["INFO", "server"]).text());
    drop(server);
    for entry in ["300 .inf", "abc 1", "300", "300 10 60", "0 10", "-1 5", "300 -5", "1e3 1"] {
        let run = validate(version.as_str(), &["+@read"], &["demo:*"], &[entry]);
        assert_eq!(run.code, Some(1), "validate must refuse {entry:?}\n{}", run.show());
        assert!(run.stderr.contains("error[RCTL035]"), "{entry:?}: {}", run.show());
        let err = server_starts(&format!("save {entry}\n"), &acl)
            .expect_err(&format!("redis-server accepted `save {entry}`"));
        assert!(err.contains("Invalid save parameters"), "{entry:?}: {err}");
    }
    for entry in ["3600 1", "300 100", "60 0", " 60  10000 "] {
        let run = validate(version.as_str(), &["+@read"], &["demo:*"], &[entry]);
        assert_eq!(run.code, Some(0), "validate must accept {entry:?}\n{}", run.show());
        server_starts(&format!("save {}\n", entry.trim()), &acl)
            .unwrap_or_else(|e| panic!("redis-server refused `save {entry}`:\n{e}"));
    }
}
