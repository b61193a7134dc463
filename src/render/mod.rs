//! Render: Deployment → the files of the environment's target.
//!
//! Every self-hosted target runs the same Redis server files (redis.conf per node,
//! sentinel.conf per Sentinel, one ACL file); a `Flavor` says where they live and how nodes
//! reach each other on that target, and each target adds its own wrapper files around them.

pub mod compose;
pub mod conf;
pub mod containers;
pub mod elasticache;
pub mod kubernetes;
pub mod systemd;

use serde::Serialize;
use serde_json::json;

use crate::contract::checks::config_lines;
use crate::contract::model::{Auth, RedisVersion, Target, UserRole};
use crate::directives::Directives;
use crate::resolve::{Deployment, Node, Role, User};
use crate::units::format_size;
pub use conf::Templates;

/// One rendered file, relative to the environment's output directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Artifact {
    /// `/`-separated path inside the output directory.
    pub path: String,
    pub content: String,
    /// Unix permission bits the file is written with.
    pub mode: u32,
}

/// Where the server files of one target live and how nodes address each other.
pub struct Flavor {
    /// Addresses a node or Sentinel (by name) binds.
    pub bind: fn(&Deployment, &str) -> Vec<String>,
    /// `supervised` value (`systemd` on VMs), if any.
    pub supervised: Option<&'static str>,
    /// Sentinels announce and resolve hostnames (containers, where IPs change).
    pub hostnames: bool,
    /// Stable DNS name a node or Sentinel (by name) announces (containers), if any: rendered as
    /// `replica-announce-ip`, `cluster-announce-hostname` or `sentinel announce-ip`.
    pub announce: Option<fn(&Deployment, &str) -> String>,
    /// Host name or address other nodes use to reach `node`.
    pub host: fn(&Deployment, &Node) -> String,
    /// Paths of a node's (or Sentinel's) files as written in its config: dir, pidfile, logfile,
    /// aclfile, cluster-config-file.
    pub paths: fn(&Deployment, &str) -> serde_json::Value,
    /// Output path of the config file of a node or Sentinel (`name`, `file` = redis.conf or sentinel.conf).
    pub config_path: fn(&Deployment, &str, &str) -> String,
    /// Output path of the ACL file; `None` when the ACL file is written at container start
    /// from the secrets the container gets (see `start_script`).
    pub acl_path: Option<fn(&Deployment) -> String>,
    /// Output path of the Sentinels' own ACL file (see `sentinel_acl_lines`); `None` as above.
    pub sentinel_acl_path: Option<fn(&Deployment) -> String>,
}

/// The process target: everything under the environment's run directory, one folder per
/// node; redis-server runs with that folder as its working directory and `dir`.
pub fn process_flavor() -> Flavor {
    Flavor {
        bind: |_, _| vec![crate::stack::HOST.into()],
        supervised: None,
        hostnames: false,
        announce: None,
        host: |_, _| crate::stack::HOST.into(),
        paths: |_, name| {
            let is_sentinel = name.starts_with("sentinel");
            let stem = if is_sentinel { "sentinel" } else { "redis" };
            json!({
                "dir": ".",
                "pidfile": format!("{stem}.pid"),
                "logfile": format!("{stem}.log"),
                "aclfile": if is_sentinel { "../sentinel-users.acl" } else { "../users.acl" },
                "cluster_config_file": "nodes.conf",
            })
        },
        config_path: |_, name, file| format!("{name}/{file}"),
        acl_path: Some(|_| "users.acl".into()),
        sentinel_acl_path: Some(|_| "sentinel-users.acl".into()),
    }
}

/// The host clients use to reach a node or Sentinel of this deployment's target.
/// Compose publishes ports on 127.0.0.1 of the Docker host; Kubernetes clients use the pods'
/// stable DNS names; VMs their host addresses.
pub fn client_host(d: &Deployment, name: &str) -> String {
    match d.contract.target {
        Target::Systemd => systemd::host_of(d, name),
        Target::Kubernetes => kubernetes::dns_name(d, name),
        Target::Process | Target::Compose | Target::Elasticache => "127.0.0.1".into(),
    }
}

/// Render the environment's artifacts for its target.
pub fn render(d: &Deployment, templates: &Templates) -> Result<Vec<Artifact>, String> {
    let containers = matches!(d.contract.target, Target::Compose | Target::Kubernetes);
    if !matches!(d.contract.target, Target::Process | Target::Elasticache) && !d.auth_required() {
        // Policy rule RCTL101 reports this; a waiver cannot make it work: protected mode
        // refuses password-less clients from other hosts and containers.
        return Err(format!("target `{}` needs `security.auth: required`", d.contract.target.as_str()));
    }
    if containers && d.auth_required() && d.user_with_role(UserRole::Operator).is_none() {
        return Err(format!(
            "target `{}` needs an ACL user with `role: operator`: health checks (role, replication, a write \
             and a read) and the cluster bootstrap authenticate as that user",
            d.contract.target.as_str()
        ));
    }
    match d.contract.target {
        Target::Process => server_files(d, templates, &process_flavor()),
        Target::Systemd => systemd::render(d, templates),
        Target::Compose => compose::render(d, templates),
        Target::Kubernetes => kubernetes::render(d, templates),
        Target::Elasticache => elasticache::render(d),
    }
}

/// A command to run after the files are written (`apply --exec`), shown in plans first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostApply {
    /// Host the command runs on (systemd: the VM of the node), `None` for where redisctl runs.
    pub host: Option<String>,
    pub argv: Vec<String>,
    /// What changed that needs the command (shown in the plan).
    pub why: String,
}

/// A rendered file a plan creates, updates or deletes: what decides the commands to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    /// `/`-separated path inside the output directory.
    pub path: String,
    pub action: crate::plan::Action,
}

/// What to run once the changed files of the target are in `dir` (the environment's output
/// directory): only what the changes need, nothing when nothing changed.
pub fn post_apply_commands(d: &Deployment, dir: &std::path::Path, changed: &[Changed]) -> Vec<PostApply> {
    match d.contract.target {
        Target::Systemd => systemd::post_apply_commands(d, changed),
        Target::Compose => compose::post_apply_commands(d, dir, changed),
        Target::Kubernetes => kubernetes::post_apply_commands(d, dir, changed),
        Target::Process | Target::Elasticache => Vec::new(),
    }
}

/// `# Generated by redisctl from <files> — do not edit`, the first line of every rendered file.
pub fn generated_header(d: &Deployment) -> String {
    format!("# Generated by redisctl from {} — do not edit", d.files.join(", "))
}

/// YAML documents built as data, serialized with serde-saphyr (maintained, pure Rust, emits
/// multi-line strings such as embedded configs as literal blocks that review well in diffs;
/// serde_yaml is archived). Strings that YAML 1.1 readers (PyYAML in docker-compose) would
/// take for booleans or numbers are quoted.
pub fn yaml_artifact(d: &Deployment, path: &str, docs: &[serde_json::Value]) -> Result<Artifact, String> {
    let body = serde_saphyr::to_string_multiple(docs).map_err(|e| format!("{path}: {e}"))?;
    Ok(Artifact { path: path.to_string(), content: format!("{}\n{body}", generated_header(d)), mode: 0o644 })
}

/// redis.conf for every node, sentinel.conf for every Sentinel, and the ACL file.
pub fn server_files(d: &Deployment, templates: &Templates, flavor: &Flavor) -> Result<Vec<Artifact>, String> {
    let c = &d.contract;
    let cluster = c.topology.mode == crate::contract::model::TopologyMode::Cluster;
    let tls = &c.security.tls;
    let tls_ctx =
        tls.enabled.then(|| json!({ "cert_file": tls.cert_file, "key_file": tls.key_file, "ca_file": tls.ca_file }));
    let replication_user = d.user_with_role(UserRole::Replication).filter(|_| d.auth_required());
    let has_replicas = d.nodes.iter().any(|n| matches!(n.role, Role::Replica(_)));
    let masteruser = replication_user.filter(|_| has_replicas).map(|u| u.spec.name.clone());
    let save: Vec<Vec<String>> = if c.redis.persistence.mode.rdb() {
        c.redis.persistence.snapshots.iter().map(|s| s.split_whitespace().map(String::from).collect()).collect()
    } else {
        Vec::new()
    };
    let persistence = json!({
        "mode": c.redis.persistence.mode.as_str(),
        "aof": if c.redis.persistence.mode.aof() { "yes" } else { "no" },
        "fsync": c.redis.persistence.fsync.as_str(),
        "save": save,
    });
    let config = config_directives(d);
    let common = json!({
        "sources": d.files,
        "service": c.service,
        "env": d.env,
        "supervised": flavor.supervised,
        "hostnames": flavor.hostnames,
        "tls": tls_ctx,
        "cluster": cluster,
        "masteruser": masteruser,
        "maxmemory": c.resources.maxmemory.map(|s| format_size(s.0)),
        "maxmemory_policy": c.redis.maxmemory_policy.as_str(),
        "persistence": persistence,
        "config": config,
    });

    let mut out = Vec::new();
    for node in &d.nodes {
        let primary =
            d.primary_of(node).map(|p| json!({ "name": p.name, "host": (flavor.host)(d, p), "port": p.port }));
        let description = match (node.role, d.primary_of(node)) {
            (Role::Primary, _) if cluster => {
                format!("cluster primary of shard {}", node.shard.unwrap_or(0))
            }
            (Role::Replica(_), Some(p)) => format!("replica of {}", p.name),
            _ => "primary".to_string(),
        };
        let mut ctx = common.clone();
        ctx["node"] = json!({ "name": node.name, "port": node.port, "bus_port": node.bus_port, "description": description, "primary": primary });
        ctx["paths"] = (flavor.paths)(d, &node.name);
        ctx["bind"] = json!(c.network.bind.clone().unwrap_or_else(|| (flavor.bind)(d, &node.name)));
        ctx["announce"] = json!(flavor.announce.map(|f| f(d, &node.name)));
        out.push(Artifact {
            path: (flavor.config_path)(d, &node.name, "redis.conf"),
            content: templates.render("redis.conf.j2", &ctx)?,
            mode: 0o640,
        });
    }
    if let Some(primary) = d.nodes.first().filter(|_| !d.sentinels.is_empty()) {
        let auth_user = d.user_with_role(UserRole::Sentinel).filter(|_| d.auth_required()).map(|u| u.spec.name.clone());
        for s in &d.sentinels {
            let mut ctx = common.clone();
            ctx["sentinel"] = json!({ "name": s.name, "port": s.port });
            ctx["paths"] = (flavor.paths)(d, &s.name);
            ctx["bind"] = json!(c.network.bind.clone().unwrap_or_else(|| (flavor.bind)(d, &s.name)));
            ctx["announce"] = json!(flavor.announce.map(|f| f(d, &s.name)));
            ctx["master_name"] = json!(d.master_name);
            ctx["primary"] = json!({ "host": (flavor.host)(d, primary), "port": primary.port });
            ctx["quorum"] = json!(d.quorum);
            ctx["down_after_ms"] = json!(c.topology.down_after.0);
            ctx["failover_timeout_ms"] = json!(c.topology.failover_timeout.0);
            ctx["parallel_syncs"] = json!(c.topology.parallel_syncs);
            ctx["auth_user"] = json!(auth_user);
            ctx["sentinel_auth"] = json!(sentinel_auth_required(d));
            out.push(Artifact {
                path: (flavor.config_path)(d, &s.name, "sentinel.conf"),
                content: templates.render("sentinel.conf.j2", &ctx)?,
                mode: 0o640,
            });
        }
    }
    if let Some(acl_path) = flavor.acl_path {
        let users: Vec<serde_json::Value> =
            acl_users(d)?.into_iter().map(|(name, rules)| json!({ "name": name, "rules": rules })).collect();
        out.push(Artifact {
            path: acl_path(d),
            content: templates.render("users.acl.j2", &json!({ "users": users }))?,
            mode: 0o600,
        });
    }
    if let Some(path) = flavor.sentinel_acl_path.filter(|_| sentinel_auth_required(d)) {
        let users: Vec<serde_json::Value> =
            sentinel_acl_users(d)?.into_iter().map(|(name, rules)| json!({ "name": name, "rules": rules })).collect();
        out.push(Artifact {
            path: path(d),
            content: templates.render("users.acl.j2", &json!({ "users": users }))?,
            mode: 0o600,
        });
    }
    Ok(out)
}

/// `redis.config` entries as (name, args) lines: multi-argument directives are split on
/// whitespace, everything else is one argument (quoted by the template formatter).
fn config_directives(d: &Deployment) -> Vec<serde_json::Value> {
    let table = Directives::get();
    let mut lines = Vec::new();
    for (name, value) in &d.contract.redis.config {
        let multi = table.find(name).is_some_and(|dir| dir.multi);
        for line in config_lines(value) {
            let args: Vec<String> =
                if multi { line.split_whitespace().map(String::from).collect() } else { vec![line] };
            lines.push(json!({ "name": name.to_ascii_lowercase(), "args": args }));
        }
    }
    lines
}

/// Default command rules of the internal roles (from the Redis replication and Sentinel docs).
pub fn role_defaults(role: UserRole, version: RedisVersion) -> &'static [&'static str] {
    match role {
        // Cluster clients discover the slot map with CLUSTER SLOTS / NODES (SHARDS from 7.0);
        // allowed in every topology so that an application's rules are the same everywhere
        // (parity), answered with an error where cluster mode is off.
        UserRole::Application if version < RedisVersion::V7_0 => {
            &["+@read", "+@write", "-@dangerous", "+ping", "+cluster|slots", "+cluster|nodes"]
        }
        UserRole::Application => {
            &["+@read", "+@write", "-@dangerous", "+ping", "+cluster|slots", "+cluster|nodes", "+cluster|shards"]
        }
        UserRole::Replication => &["+psync", "+replconf", "+ping"],
        UserRole::Sentinel => &[
            "+multi",
            "+slaveof",
            "+ping",
            "+exec",
            "+subscribe",
            "+config|rewrite",
            "+role",
            "+publish",
            "+info",
            "+client|setname",
            "+client|kill",
            "+script|kill",
        ],
        UserRole::Operator => &["+@all"],
    }
}

/// One line of the ACL file: `user <name> <head...> [#<SHA-256 of the password>] <rules...>`.
pub struct AclLine<'a> {
    pub name: String,
    pub head: Vec<String>,
    /// The user whose password hash follows `head` (`None` for `default`).
    pub user: Option<&'a User>,
    pub rules: Vec<String>,
}

/// The ACL, `default` first, with the password hash left to the caller: file targets hash the
/// resolved secret, container targets hash it at container start.
pub fn acl_lines(d: &Deployment) -> Vec<AclLine<'_>> {
    let default = match d.contract.security.auth {
        Auth::Required => vec!["reset", "off"],
        Auth::Optional => vec!["reset", "on", "nopass", "~*", "&*", "+@all"],
    };
    let mut lines = vec![AclLine {
        name: "default".into(),
        head: default.into_iter().map(String::from).collect(),
        user: None,
        rules: Vec::new(),
    }];
    for user in &d.users {
        lines.push(AclLine {
            name: user.spec.name.clone(),
            head: vec!["reset".into(), "on".into()],
            user: Some(user),
            rules: user_rules(d, user),
        });
    }
    lines
}

/// ACL rules per user, `default` first. Passwords appear only as SHA-256 hashes.
pub fn acl_users(d: &Deployment) -> Result<Vec<(String, Vec<String>)>, String> {
    hashed(acl_lines(d))
}

fn hashed(lines: Vec<AclLine<'_>>) -> Result<Vec<(String, Vec<String>)>, String> {
    let mut users = Vec::new();
    for line in lines {
        let mut rules = line.head;
        if let Some(user) = line.user {
            let secret =
                user.secret.as_ref().ok_or_else(|| format!("the password of `{}` was not resolved", user.spec.name))?;
            rules.push(format!("#{}", secret.sha256_hex()));
        }
        rules.extend(line.rules);
        users.push((line.name, rules));
    }
    Ok(users)
}

/// Whether the Sentinels of this deployment require authentication: with `security.auth:
/// required` and a `role: sentinel` user (RCTL051 makes that user mandatory when there are
/// Sentinels and auth is required).
pub fn sentinel_auth_required(d: &Deployment) -> bool {
    !d.sentinels.is_empty() && d.auth_required() && d.user_with_role(UserRole::Sentinel).is_some()
}

/// What an application user may do on a Sentinel: discover the primary, the replicas and the
/// other Sentinels and follow the failover events, as Sentinel-aware clients do (redis-py asks
/// `SENTINEL MASTERS`, Lettuce `SENTINEL MASTER`/`REPLICAS`, Jedis subscribes to `+switch-master`).
/// Not `SENTINEL SET`/`FAILOVER`/`RESET`, `ACL` or `SHUTDOWN`: an application's credentials must
/// not be able to reconfigure or stop the failover mechanism.
pub const SENTINEL_CLIENT_RULES: &[&str] = &[
    "&*",
    "+ping",
    "+hello",
    "+client|setname",
    "+role",
    "+subscribe",
    "+psubscribe",
    "+unsubscribe",
    "+punsubscribe",
    "+sentinel|get-master-addr-by-name",
    "+sentinel|master",
    "+sentinel|masters",
    "+sentinel|replicas",
    "+sentinel|slaves",
    "+sentinel|sentinels",
];

/// The Sentinels' own ACL (Redis 6.2+ Sentinels take `aclfile`): `default` off; the `role:
/// sentinel` user with every command and channel — the Sentinels authenticate to each other as
/// it (`sentinel sentinel-user`, with its password as `sentinel-pass` given at start) and
/// redisctl manages them as it (SENTINEL SET, FAILOVER, SHUTDOWN); every `role: application`
/// user with the discovery rules above and its own password, so an application keeps one
/// credential and never holds the Sentinel user's. Empty when Sentinels do not require auth.
pub fn sentinel_acl_lines(d: &Deployment) -> Vec<AclLine<'_>> {
    if !sentinel_auth_required(d) {
        return Vec::new();
    }
    let mut lines = vec![AclLine {
        name: "default".into(),
        head: vec!["reset".into(), "off".into()],
        user: None,
        rules: Vec::new(),
    }];
    let roles = [UserRole::Sentinel, UserRole::Application];
    for role in roles {
        for user in d.users.iter().filter(|u| u.spec.role == role) {
            let rules: &[&str] = if role == UserRole::Sentinel { &["&*", "+@all"] } else { SENTINEL_CLIENT_RULES };
            lines.push(AclLine {
                name: user.spec.name.clone(),
                head: vec!["reset".into(), "on".into()],
                user: Some(user),
                rules: rules.iter().map(|r| r.to_string()).collect(),
            });
        }
    }
    lines
}

/// `sentinel_acl_lines` with the password hashes of the resolved secrets (file targets).
pub fn sentinel_acl_users(d: &Deployment) -> Result<Vec<(String, Vec<String>)>, String> {
    hashed(sentinel_acl_lines(d))
}

/// Key, channel and command rules of a user (everything after its password).
pub(crate) fn user_rules(d: &Deployment, user: &User) -> Vec<String> {
    let spec = &user.spec;
    let mut rules = Vec::new();
    let keys: Vec<String> = if !spec.keys.is_empty() {
        spec.keys.clone()
    } else if spec.role == UserRole::Application {
        match &d.contract.keyspace.prefix {
            Some(prefix) => vec![format!("{prefix}:*")],
            None => vec!["*".to_string()],
        }
    } else if spec.role == UserRole::Operator {
        vec!["*".to_string()]
    } else {
        Vec::new()
    };
    rules.extend(keys.iter().map(|k| format!("~{k}")));
    let channels: Vec<String> = if spec.role == UserRole::Sentinel && spec.channels.is_empty() {
        vec!["__sentinel__:hello".to_string()]
    } else {
        spec.channels.clone()
    };
    rules.extend(channels.iter().map(|c| format!("&{c}")));
    if spec.commands.is_empty() {
        rules.extend(role_defaults(spec.role, d.version()).iter().map(|s| s.to_string()));
    } else {
        rules.extend(spec.commands.iter().cloned());
    }
    rules
}
