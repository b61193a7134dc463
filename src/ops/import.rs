//! `redisctl import`: read a running deployment (a node, a primary with replicas, a Sentinel
//! set, a Redis Cluster) and write the contract that describes it.
//!
//! The promise: right after import (and once the operator has filled in the password
//! references and written the deployment files with `apply --files-only`), `plan --live`
//! against the same servers shows no changes. So the contract says exactly what the live
//! provider compares: the settings `Settings::running` renders (maxmemory, eviction,
//! persistence, `redis.config`), the ACL users' keys, channels and passwords, and the
//! Sentinels' monitoring settings. The environment is `target: systemd` with the hosts the
//! servers run on: the target whose nodes redisctl reaches at their addresses without running
//! them (a local stack's processes belong to the project that started them).
//!
//! What import cannot know is said, never guessed silently: the workload and key prefix are
//! suggestions marked `review:` in the YAML, and every operator decision is listed.

use std::collections::BTreeMap;

use super::{fields, open_tls, query, Login};
use crate::error::Error;
use crate::model::directives::{Apply, Directives};
use crate::model::{RedisVersion, Tls, TopologyMode};
use crate::units::{format_duration, format_size};

/// What to import, and how to log in.
pub struct Request {
    pub env: String,
    pub service: Option<String>,
    /// A node of the deployment (any: a replica leads to its primary, a cluster node to the cluster).
    pub node: Option<(String, u32)>,
    /// A Sentinel that monitors it.
    pub sentinel: Option<(String, u32)>,
    /// Sentinel master name, when the Sentinel monitors several.
    pub master_name: Option<String>,
    /// The user import reads nodes as; it becomes the contract's `role: operator` user.
    pub login: Login,
    /// The user import asks Sentinels as; it becomes the `role: sentinel` user.
    pub sentinel_login: Option<Login>,
    /// At most this many keys are sampled with SCAN for the prefix and workload suggestions.
    pub sample: usize,
    /// How to reach the servers over TLS (the CA that signed them, and a client certificate
    /// for servers that require one); `enabled: false` for plain TCP.
    pub tls: Tls,
}

/// The contract written for a deployment, and what the operator must decide.
#[derive(Debug)]
pub struct Imported {
    pub base: String,
    pub overlay: String,
    /// One line each: what the operator must fill in, review or decide.
    pub decisions: Vec<String>,
    /// What was found, in one line (`sentinel: primary + 2 replicas, 3 Sentinels, Redis 7.0.15`).
    pub summary: String,
    /// User → the SHA-256 (hex) of its password as the servers hold it: what `adopt` renders the
    /// ACL files with. Never written to the contract, never printed.
    pub hashes: BTreeMap<String, String>,
}

/// One server of the deployment, as clients reach it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Member {
    host: String,
    port: u32,
}

impl Member {
    fn at(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// Sentinel monitoring settings, from `SENTINEL MASTERS`.
struct Monitoring {
    master_name: String,
    quorum: u32,
    down_after_ms: u64,
    failover_timeout_ms: u64,
    parallel_syncs: u32,
    sentinels: Vec<Member>,
    /// The replicas the Sentinels know (`SENTINEL REPLICAS`), down ones included.
    replicas: Vec<Member>,
    /// Some Sentinel does not know all the others yet (discovery in progress).
    unsettled: bool,
}

/// The shape found: topology mode, the nodes in the contract layout's order, and its counts.
struct Shape {
    mode: TopologyMode,
    /// Primary first (replication, Sentinel); shard primaries by first slot, then replicas (cluster).
    nodes: Vec<Member>,
    replicas: u32,
    shards: u32,
    replicas_per_shard: u32,
    monitoring: Option<Monitoring>,
    /// Cluster slot ranges of each shard (for the even-split note).
    slots: Vec<Vec<(u32, u32)>>,
}

pub fn import(req: &Request) -> Result<Imported, Error> {
    let mut decisions = Vec::new();
    let monitoring = match &req.sentinel {
        Some((host, port)) => Some(monitoring(req, host, *port)?),
        None => None,
    };
    let primary_from_sentinel = match (&req.sentinel, &monitoring) {
        (Some((h, p)), Some(m)) => Some(sentinel_primary(req, h, *p, &m.master_name)?),
        _ => None,
    };
    // The node to start from: the one given, else the primary the Sentinel reports.
    let start = match (&req.node, &primary_from_sentinel) {
        (Some((h, p)), _) => Member { host: h.clone(), port: *p },
        (None, Some(primary)) => primary.clone(),
        (None, None) => return Err(Error::usage("import needs --address (a node) or --sentinel (a Sentinel)")),
    };

    let mut con = open_tls(&req.tls, &start.host, start.port, Some(&req.login))?;
    let at = start.at();
    let info = fields(&query::<String>(&mut con, &at, &["INFO"])?);
    let version_text = info.get("redis_version").cloned().unwrap_or_default();
    let version = version_of(&version_text)?;
    let mut shape = match info.get("redis_mode").map(String::as_str) {
        Some("sentinel") => {
            return Err(Error::usage(format!(
                "{at} is a Sentinel: give it with --sentinel (and a node, or none, with --address)"
            )))
        }
        Some("cluster") => cluster_shape(&mut con, &at)?,
        _ => replication_shape(req, &start, &info)?,
    };
    if let Some(m) = monitoring {
        let primary = &shape.nodes[0];
        if primary_from_sentinel.as_ref().is_some_and(|p| p != primary) {
            return Err(Error::msg(format!(
                "the Sentinels report {} as the primary of `{}`, but {at} follows {}",
                primary_from_sentinel.map(|p| p.at()).unwrap_or_default(),
                m.master_name,
                primary.at()
            )));
        }
        if m.unsettled {
            decisions.push(format!(
                "not every Sentinel knows all {} others yet (discovery in progress?): check `topology.sentinels`, or \
                 import again in a few seconds",
                m.sentinels.len() - 1
            ));
        }
        // A replica the Sentinels know but the primary does not list is down or cut off.
        for r in m.replicas.iter().filter(|r| !shape.nodes.contains(r)) {
            decisions.push(format!(
                "the Sentinels know replica {} that the primary does not list (down?): it is not in the contract's \
                 `topology.replicas`",
                r.at()
            ));
        }
        shape.mode = TopologyMode::Sentinel;
        shape.monitoring = Some(m);
    }
    let base_port = contiguous(&shape.nodes, "node")?;
    let sentinel_port = match &shape.monitoring {
        Some(m) => Some(contiguous(&m.sentinels, "Sentinel")?),
        None => None,
    };
    let hosts = hosts(&shape)?;

    // Settings and users are read from one primary: every node renders the same.
    let primary = shape.nodes[0].clone();
    let mut pcon = open_tls(&req.tls, &primary.host, primary.port, Some(&req.login))?;
    let config: BTreeMap<String, String> = query(&mut pcon, &primary.at(), &["CONFIG", "GET", "*"])?;
    let acl: Vec<String> = query(&mut pcon, &primary.at(), &["ACL", "LIST"])?;
    let sample = sample(&mut pcon, &primary.at(), req.sample)?;
    let keyspace = fields(&query::<String>(&mut pcon, &primary.at(), &["INFO", "keyspace"])?);

    let service = match &req.service {
        Some(s) => s.clone(),
        None => shape
            .monitoring
            .as_ref()
            .map(|m| m.master_name.clone())
            .filter(|n| valid_service(n))
            .ok_or_else(|| Error::usage("give the service name with --service (lower case, e.g. `catalog`)"))?,
    };
    if !valid_service(&service) {
        return Err(Error::usage(format!(
            "`{service}` is not a service name: lower-case letters, digits and `-`, starting with a letter"
        )));
    }

    let settings = settings(&config, version, &mut decisions);
    differing_nodes(req, &shape, &config, &settings, &mut decisions);
    let masteruser = config.get("masteruser").filter(|u| !u.is_empty()).cloned();
    let sentinel_user = req.sentinel_login.as_ref().map(|l| l.user.clone()).filter(|_| shape.monitoring.is_some());
    let (users, auth_required) = users(
        &acl,
        &service,
        &req.login.user,
        masteruser.as_deref(),
        sentinel_user.as_deref(),
        version,
        &mut decisions,
    );
    let suggestion = suggest(&settings.policy, &sample, &keyspace);

    let summary = summary(&shape, &version_text);
    let source = req.sentinel.as_ref().map(|(h, p)| format!("the Sentinel at {h}:{p}")).unwrap_or_else(|| start.at());
    let base = base_yaml(&service, version, &settings, &suggestion, &users, &shape, &source, &summary);
    let tls = served_tls(&config, &mut decisions);
    let overlay = overlay_yaml(&shape, base_port, sentinel_port, &hosts, &settings, auth_required, tls.as_ref());

    decisions.insert(0, format!("workload `{}`: {} (review)", suggestion.workload, suggestion.workload_why));
    decisions.insert(
        1,
        match &suggestion.prefix {
            Some((p, why)) => format!("key prefix `{p}`: {why} (review)"),
            None => format!("no key prefix: {} (review; set `keyspace.prefix` if there is one)", suggestion.prefix_why),
        },
    );
    for u in &users {
        decisions.push(format!(
            "fill in the password of `{}` ({}): set {} (redisctl never reads hashes back into secrets)",
            u.name, u.role, u.env_var
        ));
    }
    if shape.mode == TopologyMode::Cluster && !even_slots(&shape) {
        decisions.push(
            "the cluster's slots are not split evenly between its shards as redisctl's layout splits them: \
             the contract describes the nodes, resharding is not planned"
                .into(),
        );
    }
    if !auth_required {
        decisions.push(
            "the `default` user is open (no password): `target: systemd` needs `security.auth: required`, so plan \
             refuses this environment until the deployment requires auth"
                .into(),
        );
    }
    decisions.push(format!(
        "once the password variables are set, `redisctl plan --env {} --live` against these servers shows no \
         changes",
        req.env
    ));
    let hashes = users.iter().filter_map(|u| Some((u.name.clone(), u.sha256.clone()?))).collect();
    Ok(Imported { base, overlay, decisions, summary, hashes })
}

fn valid_service(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && s.len() <= 63
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// `7.0.15` → 7.0; a version the directive table does not know is refused (its defaults are
/// what "differs from the default" is measured against).
fn version_of(text: &str) -> Result<RedisVersion, Error> {
    let mm: String = text.split('.').take(2).collect::<Vec<_>>().join(".");
    RedisVersion::ALL.into_iter().find(|v| v.as_str() == mm).ok_or_else(|| {
        let known: Vec<&str> = RedisVersion::ALL.iter().map(|v| v.as_str()).collect();
        Error::msg(format!("Redis {text} is not a version redisctl knows ({})", known.join(", ")))
    })
}

/// `SENTINEL MASTERS` (one master, or the one named), its replicas and the other Sentinels.
fn monitoring(req: &Request, host: &str, port: u32) -> Result<Monitoring, Error> {
    let at = format!("{host}:{port}");
    let login = req.sentinel_login.as_ref();
    let mut con = open_tls(&req.tls, host, port, login)?;
    let masters: Vec<BTreeMap<String, String>> = query(&mut con, &at, &["SENTINEL", "MASTERS"])?;
    let master = match &req.master_name {
        Some(name) => masters.iter().find(|m| m.get("name") == Some(name)),
        None if masters.len() == 1 => masters.first(),
        None => {
            let names: Vec<&str> = masters.iter().filter_map(|m| m.get("name").map(String::as_str)).collect();
            return Err(Error::usage(format!(
                "{at} monitors {} masters ({}): choose one with --master-name",
                masters.len(),
                names.join(", ")
            )));
        }
    };
    let master = master.ok_or_else(|| Error::msg(format!("{at} monitors no master of that name")))?;
    let name = master.get("name").cloned().unwrap_or_default();
    let num = |k: &str| master.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // Every Sentinel known to any Sentinel reached so far: one that started a moment ago has
    // not heard all the others' hello messages yet.
    let mut sentinels = vec![Member { host: host.to_string(), port }];
    let mut fewest = usize::MAX;
    let mut asked = 0;
    while asked < sentinels.len() && asked < 16 {
        let s = sentinels[asked].clone();
        asked += 1;
        let others: Vec<BTreeMap<String, String>> = if asked == 1 {
            query(&mut con, &at, &["SENTINEL", "SENTINELS", &name])?
        } else {
            let Ok(mut c) = open_tls(&req.tls, &s.host, s.port, login) else { continue };
            query(&mut c, &s.at(), &["SENTINEL", "SENTINELS", &name]).unwrap_or_default()
        };
        fewest = fewest.min(others.len());
        for m in others.iter().filter_map(member_of) {
            if !sentinels.contains(&m) {
                sentinels.push(m);
            }
        }
    }
    sentinels.sort();
    // Every Sentinel should know all the others; one that does not has not heard their hello
    // messages yet (they come every 2 s), and a Sentinel nobody has heard of cannot be found.
    let unsettled = fewest != usize::MAX && fewest + 1 < sentinels.len();
    let known: Vec<BTreeMap<String, String>> = query(&mut con, &at, &["SENTINEL", "REPLICAS", &name])?;
    let mut replicas: Vec<Member> = known.iter().filter_map(member_of).collect();
    replicas.sort();
    Ok(Monitoring {
        unsettled,
        replicas,
        master_name: name,
        quorum: num("quorum") as u32,
        down_after_ms: num("down-after-milliseconds"),
        failover_timeout_ms: num("failover-timeout"),
        parallel_syncs: num("parallel-syncs") as u32,
        sentinels,
    })
}

fn member_of(m: &BTreeMap<String, String>) -> Option<Member> {
    Some(Member { host: m.get("ip")?.clone(), port: m.get("port")?.parse().ok()? })
}

fn sentinel_primary(req: &Request, host: &str, port: u32, name: &str) -> Result<Member, Error> {
    let at = format!("{host}:{port}");
    let mut con = open_tls(&req.tls, host, port, req.sentinel_login.as_ref())?;
    let addr: Option<(String, u32)> = query(&mut con, &at, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", name])?;
    let (host, port) = addr.ok_or_else(|| Error::msg(format!("{at} knows no primary of `{name}`")))?;
    Ok(Member { host, port })
}

/// A standalone node or a primary with replicas (a replica leads to its primary).
fn replication_shape(req: &Request, start: &Member, info: &BTreeMap<String, String>) -> Result<Shape, Error> {
    let primary = if info.get("role").map(String::as_str) == Some("slave") {
        let host = info.get("master_host").cloned().unwrap_or_default();
        let port = info.get("master_port").and_then(|p| p.parse().ok()).unwrap_or(0);
        Member { host, port }
    } else {
        start.clone()
    };
    let mut con = open_tls(&req.tls, &primary.host, primary.port, Some(&req.login))?;
    let repl = fields(&query::<String>(&mut con, &primary.at(), &["INFO", "replication"])?);
    if repl.get("role").map(String::as_str) != Some("master") {
        return Err(Error::msg(format!(
            "{} is a replica of a replica: import from the top of the chain",
            primary.at()
        )));
    }
    // `slave0:ip=127.0.0.1,port=6380,state=online,...`
    let mut replicas: Vec<Member> = repl
        .iter()
        .filter(|(k, _)| k.starts_with("slave") && k[5..].chars().all(|c| c.is_ascii_digit()))
        .filter_map(|(_, v)| {
            let kv: BTreeMap<&str, &str> = v.split(',').filter_map(|p| p.split_once('=')).collect();
            Some(Member { host: kv.get("ip")?.to_string(), port: kv.get("port")?.parse().ok()? })
        })
        .collect();
    replicas.sort();
    let mode = if replicas.is_empty() { TopologyMode::Standalone } else { TopologyMode::Replication };
    let count = replicas.len() as u32;
    let mut nodes = vec![primary];
    nodes.extend(replicas);
    Ok(Shape { mode, nodes, replicas: count, shards: 0, replicas_per_shard: 0, monitoring: None, slots: Vec::new() })
}

/// `CLUSTER SHARDS`: the shards by first slot, each with its primary and replicas.
fn cluster_shape(con: &mut redis::Connection, at: &str) -> Result<Shape, Error> {
    let shards: Vec<redis::Value> = query(con, at, &["CLUSTER", "SHARDS"])?;
    // (slot ranges, primary, replicas) of each shard.
    type Found = (Vec<(u32, u32)>, Member, Vec<Member>);
    let mut found: Vec<Found> = Vec::new();
    for shard in &shards {
        let map = value_map(shard);
        let slots: Vec<u32> = match map.get("slots") {
            Some(redis::Value::Array(v)) => v.iter().filter_map(value_u32).collect(),
            _ => Vec::new(),
        };
        let ranges: Vec<(u32, u32)> = slots.chunks(2).filter(|c| c.len() == 2).map(|c| (c[0], c[1])).collect();
        let mut primary = None;
        let mut replicas = Vec::new();
        if let Some(redis::Value::Array(nodes)) = map.get("nodes") {
            for n in nodes {
                let n = value_map(n);
                let text = |k: &str| n.get(k).and_then(value_text);
                if text("health").as_deref() == Some("fail") {
                    continue;
                }
                let port = n.get("port").and_then(value_u32).unwrap_or(0);
                let m = Member { host: text("ip").unwrap_or_default(), port };
                match text("role").as_deref() {
                    Some("master") => primary = Some(m),
                    _ => replicas.push(m),
                }
            }
        }
        if let (Some(p), false) = (primary, ranges.is_empty()) {
            replicas.sort();
            found.push((ranges, p, replicas));
        }
    }
    if found.is_empty() {
        return Err(Error::msg(format!("{at}: CLUSTER SHARDS lists no shard serving slots")));
    }
    found.sort_by_key(|(r, _, _)| r.first().map(|x| x.0).unwrap_or(0));
    let per = found[0].2.len();
    if found.iter().any(|(_, _, r)| r.len() != per) {
        return Err(Error::msg(
            "the shards have different numbers of replicas; redisctl's layout gives every shard the same number",
        ));
    }
    let mut nodes: Vec<Member> = found.iter().map(|(_, p, _)| p.clone()).collect();
    nodes.extend(found.iter().flat_map(|(_, _, r)| r.iter().cloned()));
    Ok(Shape {
        mode: TopologyMode::Cluster,
        nodes,
        replicas: 0,
        shards: found.len() as u32,
        replicas_per_shard: per as u32,
        monitoring: None,
        slots: found.into_iter().map(|(r, _, _)| r).collect(),
    })
}

/// A RESP map or flat key/value array as name → value.
fn value_map(v: &redis::Value) -> BTreeMap<String, redis::Value> {
    match v {
        redis::Value::Map(pairs) => pairs.iter().filter_map(|(k, v)| Some((value_text(k)?, v.clone()))).collect(),
        redis::Value::Array(items) => {
            items.chunks(2).filter(|c| c.len() == 2).filter_map(|c| Some((value_text(&c[0])?, c[1].clone()))).collect()
        }
        _ => BTreeMap::new(),
    }
}

fn value_text(v: &redis::Value) -> Option<String> {
    match v {
        redis::Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        redis::Value::SimpleString(s) => Some(s.clone()),
        redis::Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

fn value_u32(v: &redis::Value) -> Option<u32> {
    value_text(v)?.parse().ok()
}

/// redisctl's layout puts members on consecutive ports from one base (`ports.redis`,
/// `ports.sentinel`): the lowest port, or an error naming the ports found.
fn contiguous(members: &[Member], what: &str) -> Result<u32, Error> {
    let mut ports: Vec<u32> = members.iter().map(|m| m.port).collect();
    ports.sort_unstable();
    let base = ports[0];
    if ports.iter().enumerate().any(|(i, p)| *p != base + i as u32) {
        let list: Vec<String> = members.iter().map(Member::at).collect();
        return Err(Error::msg(format!(
            "the {what}s run on ports that are not consecutive ({}): redisctl's layout gives {what} i the port \
             base + i, so a plan would look for them elsewhere",
            list.join(", ")
        )));
    }
    Ok(base)
}

/// The `systemd.hosts` that place every member where it runs: one host when all share it;
/// else node i's host at index i, which must also be where Sentinel j runs (`hosts[j % n]`).
fn hosts(shape: &Shape) -> Result<Vec<String>, Error> {
    let mut by_port = shape.nodes.clone();
    by_port.sort_by_key(|m| m.port);
    let all: Vec<&Member> = by_port.iter().chain(shape.monitoring.iter().flat_map(|m| m.sentinels.iter())).collect();
    if all.iter().all(|m| m.host == all[0].host) {
        return Ok(vec![all[0].host.clone()]);
    }
    let hosts: Vec<String> = by_port.iter().map(|m| m.host.clone()).collect();
    if let Some(m) = &shape.monitoring {
        let mut sentinels = m.sentinels.clone();
        sentinels.sort_by_key(|s| s.port);
        for (j, s) in sentinels.iter().enumerate() {
            if hosts[j % hosts.len()] != s.host {
                return Err(Error::msg(format!(
                    "Sentinel {} runs on another host than redisctl's layout places Sentinel {j} on ({})",
                    s.at(),
                    hosts[j % hosts.len()]
                )));
            }
        }
    }
    Ok(hosts)
}

/// The settings the contract gives, as found.
struct Found {
    maxmemory: Option<u64>,
    policy: String,
    aof: bool,
    fsync: String,
    snapshots: Vec<String>,
    /// `redis.config`: directives that differ from the version's default.
    config: Vec<(String, String)>,
}

/// Directives the contract has a field for, or that the target and layout render themselves
/// (ports, paths, replication links), or that the server manages: never `redis.config`.
fn rendered_elsewhere(name: &str) -> bool {
    matches!(
        name,
        "maxmemory"
            | "maxmemory-policy"
            | "appendonly"
            | "appendfsync"
            | "save"
            | "port"
            | "dir"
            | "pidfile"
            | "logfile"
            | "replicaof"
            | "slaveof"
            | "cluster-config-file"
            | "cluster-port"
            | "bind"
            | "supervised"
            | "daemonize"
            | "aclfile"
            | "masteruser"
            | "masterauth"
            | "requirepass"
            | "replica-announce-ip"
            | "replica-announce-port"
            | "cluster-announce-ip"
            | "cluster-announce-port"
            | "cluster-announce-bus-port"
            | "cluster-announce-tls-port"
            | "cluster-announce-hostname"
            | "cluster-preferred-endpoint-type"
            | "tls-port"
            | "tls-cert-file"
            | "tls-key-file"
            | "tls-ca-cert-file"
            | "tls-replication"
            | "tls-cluster"
    )
}

fn settings(config: &BTreeMap<String, String>, version: RedisVersion, decisions: &mut Vec<String>) -> Found {
    let get = |k: &str| config.get(k).cloned().unwrap_or_default();
    let maxmemory = get("maxmemory").parse::<u64>().ok().filter(|m| *m > 0);
    let words: Vec<String> = get("save").split_whitespace().map(String::from).collect();
    let snapshots = words.chunks(2).filter(|c| c.len() == 2).map(|c| format!("{} {}", c[0], c[1])).collect();
    let table = Directives::get();
    let mut extra = Vec::new();
    let mut not_compared = Vec::new();
    for (name, value) in config {
        let Some(d) = table.find(name).filter(|d| d.name == *name) else { continue };
        if d.reserved.is_some() || d.sensitive || rendered_elsewhere(name) {
            continue;
        }
        match d.default_in(version) {
            Some(default) if crate::providers::redis::same_value(name, default, value) => {}
            Some(_) if d.apply == Apply::Live => extra.push((name.clone(), value.clone())),
            // Restart-only directives have no default in the table: whether they differ is unknown.
            _ => not_compared.push(name.clone()),
        }
    }
    if !not_compared.is_empty() {
        decisions.push(format!(
            "{} restart-only settings are not imported (the directive table has no default to compare with): \
             check them by hand if this deployment sets them ({})",
            not_compared.len(),
            not_compared.join(", ")
        ));
    }
    Found {
        maxmemory,
        policy: get("maxmemory-policy"),
        aof: get("appendonly") == "yes",
        fsync: get("appendfsync"),
        snapshots,
        config: extra,
    }
}

/// The contract gives every node the primary's settings: a node that runs with other values
/// (a hand `CONFIG SET` on one node) would be a live change of the first plan, so it is named.
fn differing_nodes(
    req: &Request,
    shape: &Shape,
    primary: &BTreeMap<String, String>,
    found: &Found,
    decisions: &mut Vec<String>,
) {
    let mut names: Vec<&str> = found.config.iter().map(|(k, _)| k.as_str()).collect();
    names.extend(["maxmemory", "maxmemory-policy", "appendonly", "appendfsync", "save"]);
    for m in shape.nodes.iter().skip(1) {
        let Ok(mut con) = open_tls(&req.tls, &m.host, m.port, Some(&req.login)) else {
            decisions.push(format!("{} could not be read: its settings are assumed to be the primary's", m.at()));
            continue;
        };
        let Ok(config) = query::<BTreeMap<String, String>>(&mut con, &m.at(), &["CONFIG", "GET", "*"]) else {
            continue;
        };
        let differ: Vec<String> = names
            .iter()
            .filter(|n| match (primary.get(**n), config.get(**n)) {
                (Some(a), Some(b)) => !crate::providers::redis::same_value(n, a, b),
                _ => false,
            })
            .map(|n| format!("{n} {}", config.get(*n).cloned().unwrap_or_default()))
            .collect();
        if !differ.is_empty() {
            decisions.push(format!(
                "{} runs with other settings than the primary ({}): the contract gives every node the primary's, \
                 so the first plan changes them there",
                m.at(),
                differ.join(", ")
            ));
        }
    }
}

/// An ACL user as the contract declares it.
struct ImportedUser {
    name: String,
    role: &'static str,
    env_var: String,
    keys: Vec<String>,
    channels: Vec<String>,
    commands: Vec<String>,
    /// The hash of its (first) password, for the adopted ACL files only.
    sha256: Option<String>,
}

/// `ACL LIST` → contract users (passwords become references) and whether auth is required
/// (the `default` user is off or has a password).
fn users(
    acl: &[String],
    service: &str,
    operator: &str,
    masteruser: Option<&str>,
    sentinel: Option<&str>,
    version: RedisVersion,
    decisions: &mut Vec<String>,
) -> (Vec<ImportedUser>, bool) {
    let mut out = Vec::new();
    let mut auth_required = true;
    for line in acl {
        let mut words = line.split(' ').skip(1);
        let Some(name) = words.next() else { continue };
        let rules: Vec<&str> = words.collect();
        if name == "default" {
            auth_required = !(rules.contains(&"on") && rules.contains(&"nopass"));
            continue;
        }
        if !rules.contains(&"on") {
            decisions.push(format!("user `{name}` is disabled (`off`): not imported"));
            continue;
        }
        if rules.contains(&"nopass") {
            decisions.push(format!("user `{name}` has no password (`nopass`): not imported, a contract user has one"));
            continue;
        }
        if rules.iter().any(|r| r.starts_with('(') || r.starts_with('%')) {
            decisions.push(format!("user `{name}` uses selectors or read/write key permissions: check its rules"));
        }
        if rules.iter().filter(|r| r.starts_with('#')).count() > 1 {
            decisions.push(format!("user `{name}` has several passwords (a rotation?): the contract keeps one"));
        }
        let mut keys = Vec::new();
        let mut channels = Vec::new();
        let mut commands = Vec::new();
        for r in &rules {
            match *r {
                "allkeys" => keys.push("*".to_string()),
                "allchannels" => channels.push("*".to_string()),
                "allcommands" => commands.push("+@all".to_string()),
                _ if r.starts_with('~') => keys.push(r[1..].to_string()),
                _ if r.starts_with('&') => channels.push(r[1..].to_string()),
                _ if r.starts_with('+') || r.starts_with('-') => commands.push(r.to_string()),
                _ => {}
            }
        }
        // Redis prints a leading `-@all`: every user starts with nothing allowed.
        while commands.first().is_some_and(|c| c == "-@all") {
            commands.remove(0);
        }
        // The role: named by how import logged in or by `masteruser`, else the role whose
        // default command rules these are (they are then left to the role's defaults).
        let by_rules = role_of_rules(&commands, version);
        let role = if name == operator {
            "operator"
        } else if Some(name) == sentinel {
            "sentinel"
        } else if Some(name) == masteruser {
            "replication"
        } else {
            by_rules.unwrap_or("application")
        };
        if by_rules == Some(role) {
            commands.clear();
        }
        if role == "application" && keys.is_empty() {
            decisions.push(format!(
                "user `{name}` may use no keys; a contract application user without `keys` gets the key prefix"
            ));
        }
        out.push(ImportedUser {
            name: name.to_string(),
            role,
            env_var: env_var(service, name),
            keys,
            channels,
            commands,
            sha256: rules.iter().find_map(|r| r.strip_prefix('#')).map(String::from),
        });
    }
    (out, auth_required)
}

/// The role whose default command rules are exactly `commands` (in any order).
fn role_of_rules(commands: &[String], version: RedisVersion) -> Option<&'static str> {
    use crate::model::UserRole;
    let mut have: Vec<&str> = commands.iter().map(String::as_str).collect();
    have.sort_unstable();
    [
        (UserRole::Operator, "operator"),
        (UserRole::Replication, "replication"),
        (UserRole::Sentinel, "sentinel"),
        (UserRole::Exporter, "exporter"),
    ]
    .into_iter()
    .find(|(role, _)| {
        let mut want: Vec<&str> = crate::model::acl::role_defaults(*role, version).to_vec();
        want.sort_unstable();
        want == have
    })
    .map(|(_, name)| name)
}

/// `<SERVICE>_<USER>_PASSWORD`, upper case, other characters as `_`.
fn env_var(service: &str, user: &str) -> String {
    let word = |s: &str| {
        s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect::<String>()
    };
    format!("{}_{}_PASSWORD", word(service), word(user))
}

/// Keys sampled with SCAN (bounded: at most `limit` keys and 50 calls), with their types.
struct Sample {
    keys: Vec<String>,
    types: BTreeMap<String, usize>,
}

fn sample(con: &mut redis::Connection, at: &str, limit: usize) -> Result<Sample, Error> {
    let mut keys = Vec::new();
    let mut cursor = "0".to_string();
    for _ in 0..50 {
        let (next, batch): (String, Vec<String>) = query(con, at, &["SCAN", &cursor, "COUNT", "100"])?;
        keys.extend(batch);
        cursor = next;
        if cursor == "0" || keys.len() >= limit {
            break;
        }
    }
    keys.truncate(limit);
    let mut types = BTreeMap::new();
    for k in keys.iter().take(100) {
        let t: String = query(con, at, &["TYPE", k])?;
        *types.entry(t).or_insert(0) += 1;
    }
    Ok(Sample { keys, types })
}

/// Suggested workload and key prefix, with why.
struct Suggestion {
    workload: &'static str,
    workload_why: String,
    prefix: Option<(String, String)>,
    prefix_why: String,
}

fn suggest(policy: &str, sample: &Sample, keyspace: &BTreeMap<String, String>) -> Suggestion {
    let total: u64 = keyspace
        .values()
        .filter_map(|v| v.split(',').find_map(|p| p.strip_prefix("keys=")).and_then(|n| n.parse::<u64>().ok()))
        .sum();
    let queue_like = sample.types.get("stream").copied().unwrap_or(0) + sample.types.get("list").copied().unwrap_or(0);
    let typed: usize = sample.types.values().sum();
    let (workload, why) = if policy.starts_with("allkeys-") {
        ("cache", format!("eviction `{policy}` deletes any key under memory pressure: disposable data"))
    } else if policy.starts_with("volatile-") {
        ("session", format!("eviction `{policy}` deletes keys with a TTL only"))
    } else if typed > 0 && queue_like * 2 > typed {
        ("queue", format!("{queue_like} of {typed} sampled keys are lists or streams, and nothing is evicted"))
    } else {
        ("state", format!("eviction `{policy}`: nothing may be deleted"))
    };
    let mut prefixes: BTreeMap<&str, usize> = BTreeMap::new();
    for k in &sample.keys {
        if let Some((p, _)) = k.split_once(':') {
            *prefixes.entry(p).or_insert(0) += 1;
        }
    }
    let best = prefixes.iter().max_by_key(|(_, n)| **n).map(|(p, n)| (p.to_string(), *n));
    let n = sample.keys.len();
    let seen = format!("{n} keys sampled with SCAN of {total} in INFO keyspace");
    let prefix = best
        .filter(|(p, c)| {
            *c * 2 > n && !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        })
        .map(|(p, c)| (p.clone(), format!("{c} of {seen} start with `{p}:`")));
    Suggestion { workload, workload_why: why, prefix, prefix_why: seen }
}

fn summary(shape: &Shape, version: &str) -> String {
    let what = match shape.mode {
        TopologyMode::Standalone => "standalone: one node".to_string(),
        TopologyMode::Replication => format!("replication: primary + {} replica(s)", shape.replicas),
        TopologyMode::Sentinel => format!(
            "sentinel: primary + {} replica(s), {} Sentinel(s) monitoring `{}`",
            shape.replicas,
            shape.monitoring.as_ref().map_or(0, |m| m.sentinels.len()),
            shape.monitoring.as_ref().map_or("", |m| m.master_name.as_str())
        ),
        TopologyMode::Cluster => {
            format!("cluster: {} shard(s) × (primary + {} replica(s))", shape.shards, shape.replicas_per_shard)
        }
    };
    format!("{what}, Redis {version}")
}

/// Whether the shards serve the slot ranges redisctl's layout gives them.
fn even_slots(shape: &Shape) -> bool {
    let n = shape.shards.max(1);
    let total = crate::model::topology::CLUSTER_SLOTS;
    shape.slots.iter().enumerate().all(|(s, r)| {
        let s = s as u32;
        r.as_slice() == [(s * total / n, (s + 1) * total / n - 1)]
    })
}

/// A YAML scalar: JSON strings are YAML double-quoted scalars, escaped by construction.
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|i| q(i)).collect::<Vec<_>>().join(", "))
}

#[allow(clippy::too_many_arguments)]
fn base_yaml(
    service: &str,
    version: RedisVersion,
    s: &Found,
    suggestion: &Suggestion,
    users: &[ImportedUser],
    shape: &Shape,
    source: &str,
    summary: &str,
) -> String {
    let mut y = String::new();
    y.push_str("# yaml-language-server: $schema=schemas/redisctl.schema.json\n");
    y.push_str(&format!("# Imported by `redisctl import` from {source} ({summary}).\n"));
    y.push_str("# Lines marked `review:` are suggestions; password references are for you to fill in.\n");
    y.push_str("apiVersion: redisctl/v1\n");
    y.push_str(&format!("service: {}\n", q(service)));
    y.push_str("redis:\n");
    y.push_str(&format!("  version: {}\n", q(version.as_str())));
    y.push_str(&format!("  workload: {}  # review: {}\n", suggestion.workload, one_line(&suggestion.workload_why)));
    y.push_str(&format!("  maxmemoryPolicy: {}\n", q(&s.policy)));
    let mode = match (s.aof, s.snapshots.is_empty()) {
        (true, false) => "aof+rdb",
        (true, true) => "aof",
        (false, false) => "rdb",
        (false, true) => "none",
    };
    y.push_str(&format!("  persistence:\n    mode: {}\n", q(mode)));
    if !s.snapshots.is_empty() {
        y.push_str(&format!("    snapshots: {}\n", list(&s.snapshots)));
    }
    if s.aof {
        y.push_str(&format!("    fsync: {}\n", q(&s.fsync)));
    }
    if !s.config.is_empty() {
        y.push_str("  config:  # what differs from the Redis defaults\n");
        for (k, v) in &s.config {
            y.push_str(&format!("    {}: {}\n", q(k), q(v)));
        }
    }
    y.push_str("keyspace:\n");
    match &suggestion.prefix {
        Some((p, why)) => y.push_str(&format!("  prefix: {}  # review: {}\n", q(p), one_line(why))),
        None => y.push_str(&format!("  # prefix: no common key prefix found ({})\n", one_line(&suggestion.prefix_why))),
    }
    if shape.mode == TopologyMode::Cluster {
        y.push_str("  clusterSafe: true  # review: it runs on a Redis Cluster today\n");
    }
    y.push_str("acl:\n  users:\n");
    if users.is_empty() {
        y.push_str("    []\n");
    }
    for u in users {
        y.push_str(&format!("    - name: {}\n", q(&u.name)));
        if u.role != "application" {
            y.push_str(&format!("      role: {}\n", u.role));
        }
        y.push_str(&format!(
            "      password: {{ fromEnv: {} }}  # fill in: the current password of `{}`\n",
            u.env_var, u.name
        ));
        if !u.keys.is_empty() {
            y.push_str(&format!("      keys: {}\n", list(&u.keys)));
        }
        if !u.channels.is_empty() {
            y.push_str(&format!("      channels: {}\n", list(&u.channels)));
        }
        if !u.commands.is_empty() {
            y.push_str(&format!("      commands: {}\n", list(&u.commands)));
        }
    }
    y
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// The TLS the servers serve (`tls-port` set), with the certificate paths on the nodes as
/// `CONFIG GET` reports them; `None` for plain TCP.
fn served_tls(config: &BTreeMap<String, String>, decisions: &mut Vec<String>) -> Option<Tls> {
    let get = |k: &str| config.get(k).filter(|v| !v.is_empty()).cloned();
    let tls_port = get("tls-port").filter(|p| p != "0")?;
    if let Some(port) = get("port").filter(|p| p != "0") {
        decisions.push(format!(
            "the servers accept plain TCP on port {port} besides TLS on {tls_port}: a contract's TLS nodes listen on \
             TLS only (`port 0`), so the next rendered config turns plain TCP off at the next restart"
        ));
    }
    Some(Tls {
        enabled: true,
        cert_file: get("tls-cert-file"),
        key_file: get("tls-key-file"),
        ca_file: get("tls-ca-cert-file"),
    })
}

fn overlay_yaml(
    shape: &Shape,
    base_port: u32,
    sentinel_port: Option<u32>,
    hosts: &[String],
    s: &Found,
    auth_required: bool,
    tls: Option<&Tls>,
) -> String {
    let mut y = String::new();
    y.push_str("# yaml-language-server: $schema=../schemas/redisctl.overlay.schema.json\n");
    y.push_str("# Where the imported servers run: redisctl reaches them there (plan --live), it does not run them.\n");
    y.push_str("target: systemd\n");
    y.push_str(&format!("systemd:\n  hosts: {}\n", list(hosts)));
    y.push_str(&format!("topology:\n  mode: {}\n", shape.mode.as_str()));
    match shape.mode {
        TopologyMode::Replication => y.push_str(&format!("  replicas: {}\n", shape.replicas)),
        TopologyMode::Sentinel => {
            y.push_str(&format!("  replicas: {}\n", shape.replicas));
            if let Some(m) = &shape.monitoring {
                y.push_str(&format!("  sentinels: {}\n", m.sentinels.len()));
                y.push_str(&format!("  quorum: {}\n", m.quorum));
                y.push_str(&format!("  masterName: {}\n", q(&m.master_name)));
                y.push_str(&format!("  downAfter: {}\n", q(&format_duration(m.down_after_ms))));
                y.push_str(&format!("  failoverTimeout: {}\n", q(&format_duration(m.failover_timeout_ms))));
                y.push_str(&format!("  parallelSyncs: {}\n", m.parallel_syncs));
            }
        }
        TopologyMode::Cluster => {
            y.push_str(&format!("  shards: {}\n  replicasPerShard: {}\n", shape.shards, shape.replicas_per_shard));
        }
        TopologyMode::Standalone => {}
    }
    y.push_str(&format!("ports:\n  redis: {base_port}\n"));
    if let Some(p) = sentinel_port {
        y.push_str(&format!("  sentinel: {p}\n"));
    }
    if let Some(m) = s.maxmemory {
        y.push_str(&format!("resources:\n  maxmemory: {}\n", q(&format_size(m))));
    }
    y.push_str(&format!("security:\n  auth: {}\n", if auth_required { "required" } else { "optional" }));
    if let Some(t) = tls {
        let file = |k: &str, v: &Option<String>| v.as_ref().map(|v| format!(", {k}: {}", q(v))).unwrap_or_default();
        y.push_str(&format!(
            "  tls: {{ enabled: true{}{}{} }}  # paths on the nodes, as CONFIG GET reports them\n",
            file("certFile", &t.cert_file),
            file("keyFile", &t.key_file),
            file("caFile", &t.ca_file)
        ));
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_become_references_and_never_carry_hashes() {
        let acl = vec![
            "user default off sanitize-payload resetchannels -@all".to_string(),
            "user app on sanitize-payload #5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8 ~stack:* resetchannels -@all +@read +@write".to_string(),
            "user ops on #abc ~* &* +@all".to_string(),
            "user old off #abc".to_string(),
        ];
        let mut decisions = Vec::new();
        let (users, auth) = users(&acl, "stack", "ops", None, None, RedisVersion::V7_0, &mut decisions);
        assert!(auth);
        assert_eq!(users.len(), 2);
        assert_eq!(users[0].env_var, "STACK_APP_PASSWORD");
        assert_eq!(users[0].keys, vec!["stack:*"]);
        assert_eq!(users[0].commands, vec!["+@read", "+@write"]);
        assert_eq!(users[1].role, "operator");
        assert!(decisions.iter().any(|d| d.contains("`old`")));
        let shape = Shape {
            mode: TopologyMode::Standalone,
            nodes: vec![],
            replicas: 0,
            shards: 0,
            replicas_per_shard: 0,
            monitoring: None,
            slots: vec![],
        };
        let found = Found {
            maxmemory: None,
            policy: "noeviction".into(),
            aof: false,
            fsync: "everysec".into(),
            snapshots: vec![],
            config: vec![],
        };
        let s = Suggestion { workload: "state", workload_why: "x".into(), prefix: None, prefix_why: "y".into() };
        let yaml = base_yaml("stack", RedisVersion::V7_0, &found, &s, &users, &shape, "a", "b");
        assert!(!yaml.contains("5e884898") && !yaml.contains("#abc"), "{yaml}");
    }

    #[test]
    fn ports_must_follow_the_layout() {
        let m = |p| Member { host: "h".into(), port: p };
        assert_eq!(contiguous(&[m(7001), m(7000), m(7002)], "node").unwrap(), 7000);
        assert!(contiguous(&[m(7000), m(7002)], "node").unwrap_err().to_string().contains("not consecutive"));
    }

    #[test]
    fn versions_map_to_the_table() {
        assert_eq!(version_of("7.0.15").unwrap(), RedisVersion::V7_0);
        assert!(version_of("5.0.1").is_err());
    }

    #[test]
    fn suggestions_follow_eviction_and_keys() {
        let sample = Sample { keys: vec!["a:1".into(), "a:2".into(), "b".into()], types: BTreeMap::new() };
        let s = suggest("allkeys-lru", &sample, &BTreeMap::new());
        assert_eq!(s.workload, "cache");
        assert_eq!(s.prefix.unwrap().0, "a");
        let s = suggest("noeviction", &Sample { keys: vec![], types: BTreeMap::new() }, &BTreeMap::new());
        assert_eq!(s.workload, "state");
        assert!(s.prefix.is_none());
    }
}
