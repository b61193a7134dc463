//! `target: redis-enterprise`: the rendered custom resources against the operator's own CRD
//! schemas (vendored in tests/fixtures/redis-enterprise-crds, validated strictly), what
//! Redis Enterprise cannot express (located RCTL097 errors), and what the plan and `--exec`
//! do with a change (online update, or a destructive recreation).

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::common::{self, example_dir, repo_root, Run, TempProject};

const CRDS: &str = "tests/fixtures/redis-enterprise-crds";
const PASSWORDS: [(&str, &str); 2] =
    [("ORDERS_REDIS_APP_PASSWORD", "ent-app-Plaintext-1c"), ("ORDERS_REDIS_OPS_PASSWORD", "ent-ops-Plaintext-2d")];

fn yaml_to_json(text: &str) -> Value {
    let text = indent_quoted_continuations(text);
    let node = redisctl::contract::yaml::parse(&text, 0).unwrap_or_else(|e| panic!("not YAML: {e:?}"));
    redisctl::contract::merge::to_json(&node, &mut Default::default())
}

/// The CRD files continue some quoted multi-line descriptions at the indentation of their
/// key, which libyaml (kubectl, PyYAML) accepts and the stricter saphyr parser refuses. Leading
/// white space of a quoted scalar's continuation line is not part of its value, so indenting
/// such lines two spaces past the key changes no value; everything else is left as it is.
fn indent_quoted_continuations(text: &str) -> String {
    // The quote that opens a scalar at the end of `line` and is not closed there, if any.
    fn opens(line: &str) -> Option<char> {
        let value = line.trim_start().trim_start_matches("- ").split_once(": ")?.1;
        let q = value.chars().next().filter(|c| *c == '\'' || *c == '"')?;
        (!closes(&value[1..], q)).then_some(q)
    }
    fn closes(rest: &str, q: char) -> bool {
        let rest = if q == '\'' { rest.replace("''", "") } else { rest.replace("\\\\", "").replace("\\\"", "") };
        rest.contains(q)
    }
    let mut out = String::with_capacity(text.len() + 1024);
    let mut open: Option<(char, usize)> = None;
    for line in text.lines() {
        match open {
            Some((q, indent)) => {
                let own = line.len() - line.trim_start().len();
                if own <= indent && !line.trim().is_empty() {
                    out.push_str(&" ".repeat(indent + 2));
                    out.push_str(line.trim_start());
                } else {
                    out.push_str(line);
                }
                if closes(line, q) {
                    open = None;
                }
            }
            None => {
                out.push_str(line);
                open = opens(line).map(|q| (q, line.len() - line.trim_start().len()));
            }
        }
        out.push('\n');
    }
    out
}

/// A CRD's `openAPIV3Schema` as a strict JSON Schema: every object that lists `properties`
/// and neither `additionalProperties` nor `x-kubernetes-preserve-unknown-fields` refuses
/// unknown fields (the API server would prune them silently), and `nullable` admits null.
fn strict(schema: &Value) -> Value {
    strict_at(schema, false)
}

fn strict_at(schema: &Value, in_metadata: bool) -> Value {
    match schema {
        Value::Object(m) => {
            let mut out: serde_json::Map<String, Value> =
                m.iter().map(|(k, v)| (k.clone(), strict_at(v, false))).collect();
            // `properties` holds schemas by name: recurse into each, but it is no schema itself.
            if let Some(Value::Object(props)) = m.get("properties") {
                let props = props.iter().map(|(k, v)| (k.clone(), strict_at(v, k == "metadata"))).collect();
                out.insert("properties".into(), props);
            }
            let preserve = m.get("x-kubernetes-preserve-unknown-fields") == Some(&json!(true));
            if m.contains_key("properties") && !m.contains_key("additionalProperties") && !preserve {
                out.insert("additionalProperties".into(), json!(false));
            }
            // An object with no fields at all keeps none either (the API server prunes them),
            // except `metadata`, which the API server validates itself.
            let bare = m.get("type") == Some(&json!("object")) && !m.contains_key("properties");
            if bare && !m.contains_key("additionalProperties") && !preserve && !in_metadata {
                out.insert("additionalProperties".into(), json!(false));
            }
            if m.get("nullable") == Some(&json!(true)) {
                if let Some(Value::String(t)) = m.get("type") {
                    out.insert("type".into(), json!([t, "null"]));
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| strict_at(v, false)).collect()),
        other => other.clone(),
    }
}

/// The strict validators of every vendored CRD, by (`apiVersion`, kind).
struct Crds(Vec<(String, String, jsonschema::Validator)>);

impl Crds {
    fn load() -> Crds {
        let mut out = Vec::new();
        for file in ["rec_crd.yaml", "redb_crd.yaml", "reaadb_crd.yaml", "rerc_crd.yaml"] {
            let crd = yaml_to_json(&std::fs::read_to_string(repo_root().join(CRDS).join(file)).unwrap());
            let group = crd["spec"]["group"].as_str().unwrap().to_string();
            let kind = crd["spec"]["names"]["kind"].as_str().unwrap().to_string();
            for v in crd["spec"]["versions"].as_array().unwrap() {
                let schema = strict(&v["schema"]["openAPIV3Schema"]);
                let validator = jsonschema::draft4::new(&schema).unwrap_or_else(|e| panic!("{file}: {e}"));
                out.push((format!("{group}/{}", v["name"].as_str().unwrap()), kind.clone(), validator));
            }
        }
        assert_eq!(out.len(), 5, "rec v1 + v1alpha1, redb, reaadb, rerc");
        Crds(out)
    }

    /// The schema's errors for one resource (none: valid); a resource of no vendored CRD fails.
    fn errors(&self, resource: &Value) -> Vec<String> {
        let (api, kind) = (resource["apiVersion"].as_str().unwrap_or(""), resource["kind"].as_str().unwrap_or(""));
        let Some((_, _, v)) = self.0.iter().find(|(a, k, _)| a == api && k == kind) else {
            return vec![format!("no vendored CRD for {api} {kind}")];
        };
        v.iter_errors(resource).map(|e| format!("{} at {}", e, e.instance_path())).collect()
    }
}

/// The YAML files of a rendered directory, parsed.
fn resources(dir: &Path) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = common::files(dir)
        .into_iter()
        .filter(|(rel, _)| rel.ends_with(".yaml"))
        .map(|(rel, path)| (rel, yaml_to_json(&std::fs::read_to_string(path).unwrap())))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn cmd(project: &Path) -> assert_cmd::Command {
    let mut cmd = common::redisctl_on(project);
    for (k, v) in PASSWORDS {
        cmd.env(k, v);
    }
    cmd.env("REDISCTL_TODAY", "2026-11-23");
    cmd
}

fn render(project: &Path, env: &str) -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    let run = Run::of(cmd(project).args(["render", "--env", env, "--out"]).arg(out.path()));
    run.assert_code(0);
    out
}

/// The example with its production overlay replaced.
fn variant(production: &str) -> TempProject {
    let p = TempProject::copy_of(&example_dir("redis-enterprise-orders"));
    p.write("environments/production.yaml", production);
    p
}

/// The example's production overlay.
fn production() -> String {
    std::fs::read_to_string(example_dir("redis-enterprise-orders").join("environments/production.yaml")).unwrap()
}

/// #18 done-when: the rendered resources of every example (and of variants that reach the
/// other fields: auth optional with the default user's Secret, a replicated single shard with
/// modules before Redis 8, a cluster run by another team) pass the vendored CRDs strictly.
#[test]
fn every_rendered_resource_passes_the_operators_crd_schemas_strictly() {
    let crds = Crds::load();
    let mut checked = 0;
    let mut examples: Vec<PathBuf> = std::fs::read_dir(repo_root().join("examples"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("redis-enterprise-"))
        .collect();
    examples.sort();
    assert!(!examples.is_empty());
    let mut rendered = Vec::new();
    for project in &examples {
        for env in common::environments(project) {
            let overlay = std::fs::read_to_string(project.join(format!("environments/{env}.yaml"))).unwrap();
            if overlay.lines().any(|l| l.trim() == "target: redis-enterprise") {
                rendered.push((format!("{}:{env}", project.display()), render(project, &env)));
            }
        }
    }
    let variants = [
        "target: redis-enterprise\nsecurity: { auth: optional }\nresources: { maxmemory: 256mb }\n",
        "target: redis-enterprise\ntopology: { mode: replication, replicas: 1 }\nresources: { maxmemory: 512mb }\n\
         redisEnterprise: { cluster: { name: shared-rec, manage: false } }\n",
    ];
    for (i, v) in variants.iter().enumerate() {
        let p = variant(v);
        rendered.push((format!("variant {i}"), render(p.path(), "production")));
    }
    // Modules before Redis 8 are listed (Redis 8 bundles them).
    let modules = variant("target: redis-enterprise\nresources: { maxmemory: 256mb }\n");
    let base = modules.read("redisctl.yaml");
    modules.write(
        "redisctl.yaml",
        base.replace("  maxmemoryPolicy: noeviction\n", "  maxmemoryPolicy: noeviction\n  modules: [search, json]\n"),
    );
    rendered.push(("modules".into(), render(modules.path(), "production")));
    let mut kinds = std::collections::BTreeSet::new();
    for (what, dir) in &rendered {
        for (file, resource) in resources(dir.path()) {
            let errors = crds.errors(&resource);
            assert!(errors.is_empty(), "{what} {file} does not pass its CRD:\n{}", errors.join("\n"));
            kinds.insert(resource["kind"].as_str().unwrap().to_string());
            checked += 1;
        }
    }
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        [
            "RedisEnterpriseActiveActiveDatabase",
            "RedisEnterpriseCluster",
            "RedisEnterpriseDatabase",
            "RedisEnterpriseRemoteCluster"
        ]
    );
    assert_eq!(
        checked, 11,
        "the example (2 + Active-Active 4), auth optional (2), a cluster run elsewhere (1), modules (2)"
    );
    let db = |dir: &Path| yaml_to_json(&std::fs::read_to_string(dir.join("redisenterprisedatabase.yaml")).unwrap());
    assert_eq!(
        db(rendered[rendered.len() - 1].1.path())["spec"]["modulesList"],
        json!([{ "name": "search" }, { "name": "ReJSON" }])
    );
}

/// The strict validator is no rubber stamp: an unknown field (at the top, in the spec, deep
/// in it) and a wrong type are refused, while a field under `x-kubernetes-preserve-unknown-fields`
/// is kept.
#[test]
fn the_strict_crd_validator_refuses_unknown_fields_and_wrong_types() {
    let crds = Crds::load();
    let dir = render(&example_dir("redis-enterprise-orders"), "production");
    let db = yaml_to_json(&std::fs::read_to_string(dir.path().join("redisenterprisedatabase.yaml")).unwrap());
    assert!(crds.errors(&db).is_empty());
    let refused = |edit: &dyn Fn(&mut Value), what: &str| {
        let mut r = db.clone();
        edit(&mut r);
        assert!(!crds.errors(&r).is_empty(), "{what} passed");
    };
    refused(&|r| r["spec"]["maxMemory"] = json!("1GB"), "an unknown spec field");
    refused(&|r| r["unknown"] = json!(1), "an unknown top-level field");
    refused(&|r| r["spec"]["backup"]["s3"]["bucket"] = json!("x"), "an unknown nested field");
    refused(&|r| r["spec"]["shardCount"] = json!("three"), "a string for an integer");
    refused(&|r| r["spec"]["replication"] = json!("yes"), "a string for a boolean");
    refused(&|r| r["spec"]["persistence"] = json!("aofEveryMinute"), "a value outside the enum");
    refused(&|r| r["apiVersion"] = json!("app.redislabs.com/v2"), "a version that has no CRD");
    let mut kept = db.clone();
    kept["spec"]["alertSettings"] = json!({ "bdb_size": { "enabled": true, "threshold": "80" } });
    assert_eq!(crds.errors(&kept), Vec::<String>::new(), "preserve-unknown-fields keeps `threshold`");
}

/// #18 done-when: a contract using what Redis Enterprise lacks fails `validate` at the line
/// and column of the offending setting, with a hint.
#[test]
fn what_redis_enterprise_cannot_express_fails_validate_at_its_location() {
    let p = variant(
        "target: redis-enterprise\n\
         topology: { mode: sentinel, replicas: 2 }\n\
         resources: { maxmemory: 1gb }\n\
         redis:\n  version: \"7.0\"\n  config: { timeout: 300 }\n  persistence: { mode: aof+rdb }\n  modules: [graph]\n\
         redisEnterprise: { cluster: { nodes: 4 } }\n",
    );
    let run = Run::of(common::redisctl_in(p.path()).args(["validate", "--env", "production"]).envs(PASSWORDS));
    run.assert_code(1);
    let out = run.text();
    for (message, at) in [
        ("Redis Enterprise creates no database of Redis 7.0", "environments/production.yaml:5:12"),
        ("`timeout` cannot be set on Redis Enterprise", "environments/production.yaml:6:13"),
        ("AOF or with snapshots, not both", "environments/production.yaml:7:24"),
        ("Redis Enterprise offers no module `graph`", "environments/production.yaml:8:13"),
        ("a Sentinel topology cannot be expressed", "environments/production.yaml:2:19"),
        ("a Redis Enterprise cluster of 4 nodes", "environments/production.yaml:9:38"),
    ] {
        let block =
            out.split("\n\n").find(|b| b.contains(message)).unwrap_or_else(|| panic!("no `{message}` in\n{out}"));
        assert!(block.contains("error[RCTL097]") && block.contains(at), "{message} not at {at}:\n{block}");
        assert!(block.contains("help:"), "{block}");
    }
    // The base contract's own settings are located in the base file.
    let p = variant("target: redis-enterprise\nresources: { maxmemory: 1gb }\n");
    p.write("redisctl.yaml", p.read("redisctl.yaml").replace("fsync: everysec", "fsync: \"no\""));
    let run = Run::of(common::redisctl_in(p.path()).args(["validate", "--env", "production"]).envs(PASSWORDS));
    run.assert_code(1);
    assert!(
        run.text().contains("Redis Enterprise has no AOF with `fsync: no`") && run.text().contains("redisctl.yaml:13:"),
        "{}",
        run.text()
    );
    // render refuses too (the same table), it never writes a half-right resource.
    let out = tempfile::tempdir().unwrap();
    Run::of(cmd(p.path()).args(["render", "--env", "production", "--out"]).arg(out.path())).assert_code(1);
}

/// No secret value reaches a rendered file: resources name Secrets, the README references.
#[test]
fn rendered_resources_hold_no_secret_and_name_the_secrets_they_need() {
    let dir = render(&example_dir("redis-enterprise-orders"), "production");
    let all: String = common::files(dir.path()).into_iter().map(|(_, p)| std::fs::read_to_string(p).unwrap()).collect();
    for (_, plaintext) in PASSWORDS {
        assert!(!all.contains(plaintext), "a password was rendered");
    }
    assert!(!all.contains("kind: Secret"), "a Secret was rendered");
    let readme = std::fs::read_to_string(dir.path().join("README.md")).unwrap();
    for needle in [
        "`orders-rec-license`",
        "`orders-rec-proxy-tls`",
        "`orders-redis-backup-s3`",
        "| `orders-app` | `~orders:* +@read +@write -@dangerous +ping +cluster\\|slots +cluster\\|nodes +cluster\\|shards` | environment variable ORDERS_REDIS_APP_PASSWORD |",
        "orders.orders.svc:6379",
    ] {
        assert!(readme.contains(needle), "README lacks {needle}:\n{readme}");
    }
    let db = yaml_to_json(&std::fs::read_to_string(dir.path().join("redisenterprisedatabase.yaml")).unwrap());
    let spec = &db["spec"];
    assert_eq!(spec["memorySize"], json!("6GB"), "1gb per shard × 3 shards × 2 copies");
    assert_eq!(
        (spec["shardCount"].clone(), spec["replication"].clone(), spec["ossCluster"].clone()),
        (json!(3), json!(true), json!(true))
    );
    assert_eq!(
        (spec["persistence"].clone(), spec["evictionPolicy"].clone()),
        (json!("aofEverySecond"), json!("noeviction"))
    );
    assert_eq!(
        (spec["tlsMode"].clone(), spec["defaultUser"].clone(), spec["redisVersion"].clone()),
        (json!("enabled"), json!(false), json!("7.2"))
    );
    assert_eq!(
        spec["rolesPermissions"][0],
        json!({ "type": "redis-enterprise", "role": "orders-app", "acl": "orders-app" })
    );
    assert_eq!(spec["backup"]["interval"], json!(86400));
    let rec = yaml_to_json(&std::fs::read_to_string(dir.path().join("redisenterprisecluster.yaml")).unwrap());
    assert_eq!(rec["spec"]["rackAwarenessNodeLabel"], json!("topology.kubernetes.io/zone"));
}

/// A project copy with a fake `kubectl` on PATH that records its calls.
struct Sandbox {
    project: TempProject,
    bin: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let project = variant(&production());
        let bin = tempfile::tempdir().unwrap();
        let script =
            format!("#!/bin/sh\nprintf '%s\\n' \"kubectl $*\" >> '{}'\n", bin.path().join("calls.log").display());
        let path = bin.path().join("kubectl");
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        Sandbox { project, bin }
    }

    fn run(&self, args: &[&str]) -> Run {
        let mut c = cmd(self.project.path());
        c.args(args).args(["--env", "production", "--no-color"]);
        c.env("PATH", format!("{}:{}", self.bin.path().display(), std::env::var("PATH").unwrap_or_default()));
        Run::of(&mut c)
    }

    fn calls(&self) -> Vec<String> {
        let log = self.bin.path().join("calls.log");
        let calls =
            std::fs::read_to_string(&log).unwrap_or_default().lines().map(|l| l.replace(&self.dir(), "DIR")).collect();
        let _ = std::fs::remove_file(log);
        calls
    }

    fn dir(&self) -> String {
        self.project.path().join("deploy/production").display().to_string()
    }

    fn overlay(&self, from: &str, to: &str) {
        let text = self.project.read("environments/production.yaml");
        assert!(text.contains(from), "{from}");
        self.project.write("environments/production.yaml", text.replace(from, to));
    }
}

/// #18 done-when: the plan of a memory change is an in-place update the operator makes
/// online; a new database port recreates the database, which is destructive and refused
/// without `--allow-destroy`; `--exec` applies server-side, the cluster before the database.
#[test]
fn a_memory_change_is_in_place_and_a_port_change_recreates_the_database() {
    let s = Sandbox::new();
    s.run(&["apply", "--auto-approve", "--exec"]).assert_code(0);
    assert_eq!(
        s.calls(),
        [
            "kubectl get -n orders secret orders-rec-license orders-rec-proxy-tls orders-redis-backup-s3",
            "kubectl apply --server-side --field-manager=redisctl -f DIR/redisenterprisecluster.yaml -f DIR/redisenterprisedatabase.yaml",
        ]
    );
    s.run(&["plan", "--detailed-exitcode"]).assert_code(0);

    s.overlay("maxmemory: 1gb", "maxmemory: 2gb");
    let plan = s.run(&["plan", "--exec", "--detailed-exitcode"]);
    plan.assert_code(2);
    let text = plan.text();
    assert!(
        text.contains(
            "in-place update: the operator changes `spec.memorySize` of the running RedisEnterpriseDatabase online"
        ),
        "{text}"
    );
    assert!(!text.contains("destroy") || text.contains("0 to destroy"), "{text}");
    s.run(&["apply", "--auto-approve", "--exec"]).assert_code(0);
    let calls = s.calls();
    assert_eq!(
        calls[1..],
        ["kubectl apply --server-side --field-manager=redisctl -f DIR/redisenterprisedatabase.yaml"]
    );

    s.overlay("port: 12000", "port: 12001");
    let text = s.run(&["plan", "--exec"]).text();
    assert!(text.contains("cannot change `spec.databasePort`") && text.contains("loses its data"), "{text}");
    let json: Value = serde_json::from_str(&s.run(&["plan", "--exec", "--format", "json"]).stdout).unwrap();
    let change = json["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "file:redisenterprisedatabase.yaml")
        .unwrap();
    assert_eq!(
        (change["change"]["actions"].clone(), change["flags"]["destructive"].clone()),
        (json!(["delete", "create"]), json!(true)),
        "{change}"
    );
    let refused = s.run(&["apply", "--auto-approve", "--exec"]);
    assert_eq!(refused.code, Some(1), "{}", refused.show());
    assert!(refused.text().contains("--allow-destroy"), "{}", refused.show());
    assert!(s.calls().is_empty(), "nothing ran");
    s.run(&["apply", "--auto-approve", "--exec", "--allow-destroy"]).assert_code(0);
    assert_eq!(
        s.calls(),
        [
            "kubectl get -n orders secret orders-rec-license orders-rec-proxy-tls orders-redis-backup-s3",
            "kubectl delete --ignore-not-found --wait=true -n orders redisenterprisedatabase orders",
            "kubectl apply --server-side --field-manager=redisctl -f DIR/redisenterprisedatabase.yaml",
        ]
    );
}

/// Referenced Secrets are checked before anything is applied; a database that is no longer
/// rendered (the environment moved to a cluster run elsewhere) is deleted, destructively.
#[test]
fn secrets_are_checked_first_and_a_deleted_manifest_is_destructive() {
    let s = Sandbox::new();
    s.run(&["apply", "--auto-approve", "--exec"]).assert_code(0);
    let calls = s.calls();
    assert_eq!(
        calls[0], "kubectl get -n orders secret orders-rec-license orders-rec-proxy-tls orders-redis-backup-s3",
        "{calls:?}"
    );
    assert!(calls[1].starts_with("kubectl apply --server-side"), "{calls:?}");

    s.overlay("    name: orders-rec\n", "    name: orders-rec\n    manage: false\n");
    let json: Value = serde_json::from_str(&s.run(&["plan", "--exec", "--format", "json"]).stdout).unwrap();
    let change = json["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "file:redisenterprisecluster.yaml")
        .unwrap();
    assert_eq!(
        (change["change"]["actions"].clone(), change["flags"]["destructive"].clone()),
        (json!(["delete"]), json!(true)),
        "{change}"
    );
    assert!(change["reason"].as_str().unwrap().contains("every database on it"), "{change}");
    let refused = s.run(&["apply", "--auto-approve", "--exec"]);
    assert_eq!(refused.code, Some(1), "{}", refused.show());
    s.run(&["apply", "--auto-approve", "--exec", "--allow-destroy"]).assert_code(0);
    assert_eq!(s.calls(), ["kubectl delete --ignore-not-found -n orders redisenterprisecluster orders-rec"]);
}

/// Parity passes with only the envelope different; `connect` gives the database Service, TLS
/// and the password reference; the review says failover and backups are the operator's.
#[test]
fn parity_connect_and_review_speak_of_the_operator() {
    let project = example_dir("redis-enterprise-orders");
    let parity = Run::of(cmd(&project).arg("parity"));
    parity.assert_code(0);
    assert!(parity.stdout.contains("in parity"), "{}", parity.stdout);

    let connect = Run::of(cmd(&project).args(["connect", "--env", "production", "--format", "json"]));
    connect.assert_code(0);
    let config: Value = serde_json::from_str(&connect.stdout).unwrap_or_else(|e| panic!("{e}: {}", connect.stdout));
    assert_eq!(config["mode"], json!("cluster"));
    assert_eq!(config["endpoints"], json!(["orders.orders.svc:6379"]));
    assert_eq!(config["tls"]["enabled"], json!(true));
    assert_eq!(config["passwordRef"], json!({ "fromEnv": "ORDERS_REDIS_APP_PASSWORD" }));

    // No-Go (exit 1) for the readiness blanks the example leaves; the sections are what counts here.
    let review = Run::of(cmd(&project).args(["review", "--env", "production"]));
    review.assert_code(1);
    for needle in [
        "Failover behavior: the Redis Enterprise operator's",
        "Backup: the Redis Enterprise operator's: every 24h to s3://orders-redis-backups/production",
        "Redis Enterprise cluster `orders-rec` (3 nodes): database `orders` with 3 shard(s) × (primary + 1 replica), OSS Cluster API",
    ] {
        assert!(review.stdout.contains(needle), "review lacks {needle}:\n{}", review.stdout);
    }
}

/// The example's Active-Active environment with its base contract edited by `edit`.
fn active_active(edit: &dyn Fn(&str) -> String, overlay: &dyn Fn(&str) -> String) -> TempProject {
    let p = TempProject::copy_of(&example_dir("redis-enterprise-orders"));
    p.write("redisctl.yaml", edit(&p.read("redisctl.yaml")));
    p.write("environments/global.yaml", overlay(&p.read("environments/global.yaml")));
    p
}

fn validate_global(p: &TempProject) -> String {
    let run = Run::of(common::redisctl_in(p.path()).args(["validate", "--env", "global"]).envs(PASSWORDS));
    run.assert_code(1);
    run.text()
}

fn block<'a>(out: &'a str, message: &str) -> &'a str {
    out.split("\n\n").find(|b| b.contains(message)).unwrap_or_else(|| panic!("no `{message}` in\n{out}"))
}

/// #18 done-when: an Active-Active queue workload is refused, at the workload, with the reason.
#[test]
fn an_active_active_queue_or_lock_workload_is_refused_with_the_reason() {
    for (workload, why) in [("queue", "jobs run twice or are lost"), ("coordination", "two regions hold the same lock")]
    {
        let p = active_active(&|base| base.replace("workload: state", &format!("workload: {workload}")), &|o| {
            o.to_string()
        });
        let out = validate_global(&p);
        let b = block(&out, &format!("a `{workload}` workload cannot run on an Active-Active database"));
        assert!(b.contains("error[RCTL098]") && b.contains("redisctl.yaml:11:13"), "{b}");
        assert!(b.contains("no global serializability") && b.contains(why), "the reason: {b}");
    }
    // The same workload on a single-region database is no Active-Active problem.
    let p = active_active(&|base| base.replace("workload: state", "workload: queue"), &|o| o.to_string());
    let run = Run::of(common::redisctl_in(p.path()).args(["validate", "--env", "production"]).envs(PASSWORDS));
    assert!(!run.text().contains("RCTL098"), "{}", run.text());
}

/// Multi-region writes need declared conflict semantics for every prefix the application
/// writes; modules without Active-Active support and a wrong number of regions are refused.
#[test]
fn active_active_needs_conflict_semantics_supported_modules_and_two_to_five_regions() {
    let p = active_active(&|b| b.to_string(), &|o| {
        o.replace("      - { prefix: \"orders:\", semantics: last-writer-wins }\n", "")
    });
    let out = validate_global(&p);
    let b = block(&out, "no conflict semantics declared for the key prefix `orders:`");
    assert!(b.contains("error[RCTL098]") && b.contains("two regions can write the same key at once"), "{b}");
    assert!(
        out.contains("redisctl.yaml:14:21") || out.contains("redisctl.yaml:21:14"),
        "at the prefix or key pattern:\n{out}"
    );

    let p = active_active(
        &|b| b.replace("  maxmemoryPolicy: noeviction\n", "  maxmemoryPolicy: noeviction\n  modules: [timeseries]\n"),
        &|o| o.to_string(),
    );
    let out = validate_global(&p);
    assert!(block(&out, "module `timeseries` has no Active-Active support").contains("error[RCTL098]"), "{out}");

    let p = active_active(&|b| b.to_string(), &|o| {
        o.lines().filter(|l| !l.contains("name: rerc-us")).map(|l| format!("{l}\n")).collect()
    });
    let out = validate_global(&p);
    assert!(block(&out, "2 to 5 participating clusters, not 1").contains("environments/global.yaml:"), "{out}");

    let p = active_active(&|b| b.to_string(), &|o| o.replace("recName: orders-rec-eu", "recName: orders-rec-x"));
    let out = validate_global(&p);
    assert!(
        block(&out, "the local participating cluster points to `orders/orders-rec-x`").contains("error[RCTL098]"),
        "{out}"
    );
}

/// The Active-Active environment renders the remote clusters and the Active-Active database
/// (no plain database), the cluster's ingress for the other regions, and names the remote
/// clusters' credential Secrets; `--exec` applies the cluster, then the remote clusters, then
/// the Active-Active database.
#[test]
fn active_active_renders_remote_clusters_and_the_database_in_apply_order() {
    let dir = render(&example_dir("redis-enterprise-orders"), "global");
    let names: Vec<String> = resources(dir.path()).into_iter().map(|(f, _)| f).collect();
    assert_eq!(
        names,
        [
            "redisenterpriseactiveactivedatabase.yaml",
            "redisenterprisecluster.yaml",
            "redisenterpriseremotecluster-rerc-eu.yaml",
            "redisenterpriseremotecluster-rerc-us.yaml"
        ]
    );
    let aa =
        yaml_to_json(&std::fs::read_to_string(dir.path().join("redisenterpriseactiveactivedatabase.yaml")).unwrap());
    assert_eq!(aa["spec"]["participatingClusters"], json!([{ "name": "rerc-eu" }, { "name": "rerc-us" }]));
    assert_eq!(aa["spec"]["globalConfigurations"]["memorySize"], json!("6GB"));
    assert_eq!(aa["spec"]["globalConfigurations"]["shardingEnabled"], json!(true));
    let rec = yaml_to_json(&std::fs::read_to_string(dir.path().join("redisenterprisecluster.yaml")).unwrap());
    assert_eq!(rec["spec"]["ingressOrRouteSpec"]["apiFqdnUrl"], json!("api-orders-eu.example.com"));
    let readme = std::fs::read_to_string(dir.path().join("README.md")).unwrap();
    assert!(readme.contains("| `orders:count:` | counter: concurrent increments"), "{readme}");
    assert!(readme.contains("`redis-enterprise-rerc-us`"), "{readme}");

    let p = TempProject::copy_of(&example_dir("redis-enterprise-orders"));
    let plan = Run::of(cmd(p.path()).args(["plan", "--env", "global", "--exec", "--format", "json"]));
    let json: Value = serde_json::from_str(&plan.stdout).unwrap_or_else(|e| panic!("{e}: {}", plan.show()));
    let argv: Vec<Vec<String>> = json["exec"]["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["argv"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect())
        .collect();
    assert!(argv[0].join(" ").contains("secret orders-rec-license orders-rec-proxy-tls orders-redis-backup-s3 redis-enterprise-rerc-eu redis-enterprise-rerc-us"), "{argv:?}");
    let files: Vec<&str> =
        argv[1].iter().filter(|a| a.ends_with(".yaml")).map(|a| a.rsplit('/').next().unwrap()).collect();
    assert_eq!(
        files,
        [
            "redisenterprisecluster.yaml",
            "redisenterpriseremotecluster-rerc-eu.yaml",
            "redisenterpriseremotecluster-rerc-us.yaml",
            "redisenterpriseactiveactivedatabase.yaml"
        ]
    );
}
