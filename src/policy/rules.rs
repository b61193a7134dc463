//! The readiness rules. Each is data (ID, title, reason, hint, levels) and one function that
//! returns the places of the contract that break it. Reasons cite the seeds' checklists and
//! anti-patterns (seed 000 §6 Docker checklist, §8 Sentinel, §10 Kubernetes, §12 contract,
//! §14 readiness review, §17 anti-patterns; the managed-Redis and production guides).

use std::net::IpAddr;

use super::acl;
use super::{EnvClass, Hit, Input, Levels, Rule};
use crate::contract::merge::pointer_escape;
use crate::diagnostics::Severity;
use crate::model::memory;
use crate::model::{
    AclUser, AntiAffinity, Auth, Fsync, MaxmemoryPolicy, PersistenceMode, ReadFrom, TopologyMode, UserRole, Workload,
};
use crate::resolve::majority;
use crate::units::format_size;

const OFF: Option<Severity> = None;
const WARN: Option<Severity> = Some(Severity::Warning);
const ERR: Option<Severity> = Some(Severity::Error);

const fn levels(local: Option<Severity>, shared: Option<Severity>, production: Option<Severity>) -> Levels {
    Levels { local, shared, production }
}

pub static RULES: &[Rule] = &[
    Rule {
        id: "RCTL101",
        title: "authentication outside local development",
        reason: "without a password anyone who reaches the port can read, change or delete every key \
                 (seed: do not rely on no-auth behavior; AUTH/ACL required, 'don't disable in prod')",
        hint: "set `security.auth: required` and give each application its own ACL user; `optional` is for \
               local `process` environments only",
        levels: levels(OFF, ERR, ERR),
        check: auth_required,
    },
    Rule {
        id: "RCTL102",
        title: "TLS in production-like and managed environments",
        reason: "passwords and data cross the network in clear text (seed: TLS for managed and cloud \
                 deployments; managed services expose TLS-only listeners)",
        hint: "set `security.tls.enabled: true` with `certFile`, `keyFile` and `caFile`",
        levels: levels(OFF, ERR, ERR),
        check: tls_required,
    },
    Rule {
        id: "RCTL103",
        title: "no network-facing bind without authentication",
        reason: "protected-mode only guards a server without bind addresses and redisctl always renders \
                 `bind`, so an open `default` user on a non-loopback address is reachable by the whole network \
                 (seed anti-pattern: running Redis publicly accessible)",
        hint: "bind 127.0.0.1 only, or set `security.auth: required`",
        levels: levels(ERR, ERR, ERR),
        check: public_bind,
    },
    Rule {
        id: "RCTL104",
        title: "maxmemory set",
        reason: "without maxmemory Redis grows until the kernel or the container OOM-kills it and every key is \
                 lost at once (seed checklist: maxmemory set appropriately)",
        hint: "set `resources.maxmemory` below the memory of the node or container",
        levels: levels(WARN, ERR, ERR),
        check: maxmemory_set,
    },
    Rule {
        id: "RCTL105",
        title: "eviction policy fits the workload",
        reason: "the wrong policy either silently deletes data the workload cannot lose or fails the writes a \
                 cache should absorb (seed: allkeys-lru for caches; noeviction for queues/state where data loss \
                 is fatal)",
        hint: "caches: `allkeys-lru` or `allkeys-lfu`; queues, sessions, state and coordination: `noeviction` \
               with a memory alert",
        levels: levels(WARN, ERR, ERR),
        check: eviction_fits,
    },
    Rule {
        id: "RCTL106",
        title: "persistence fits the workload",
        reason: "a restart or crash loses every write since the last snapshot: sessions, jobs, locks and state \
                 that no other system can rebuild (seed: for state-bearing workloads use AOF every-sec, RPO < 1 s)",
        hint: "use `redis.persistence: { mode: aof, fsync: everysec }` (or `aof+rdb`)",
        levels: levels(OFF, WARN, ERR),
        check: persistence_fits,
    },
    Rule {
        id: "RCTL107",
        title: "container memory limit above maxmemory plus fork headroom",
        reason: "a persistence fork copies pages on write: up to twice maxmemory, and the container is OOM-killed \
                 mid-save (seed: container memory limit > maxmemory + overhead; provision 2x the working set)",
        hint: "set `resources.memoryLimit` to at least twice `resources.maxmemory` when persistence is on, or leave \
               it out: the rendered default is twice maxmemory with persistence",
        levels: levels(WARN, WARN, ERR),
        check: memory_headroom,
    },
    Rule {
        id: "RCTL109",
        title: "Sentinel majority: at least 3 Sentinels and a majority quorum",
        reason: "Sentinel needs a majority to authorise a failover: a primary + 1 replica watched by 2 Sentinels \
                 cannot fail over when one host dies (seed: use a 3-node topology for true HA)",
        hint: "run 3 or 5 Sentinels and leave `topology.quorum` unset (a majority) or set it to a majority",
        levels: levels(WARN, ERR, ERR),
        check: sentinel_majority,
    },
    Rule {
        id: "RCTL110",
        title: "HA spread across failure domains",
        reason: "if one zone or host holds a majority of the Sentinels (or Cluster primaries), losing it leaves \
                 no majority to fail over (seed: are Sentinel nodes placed across failure domains?)",
        hint: "list at least 3 zones in `topology.failureDomains` and use a target that spreads nodes over them",
        levels: levels(OFF, WARN, ERR),
        check: failure_domains,
    },
    Rule {
        id: "RCTL111",
        title: "dangerous commands denied to applications by ACL",
        reason: "one FLUSHALL, FLUSHDB, KEYS, CONFIG or DEBUG from application code wipes, stalls or reconfigures \
                 the whole server (seed: dangerous commands disabled; forbid KEYS, use SCAN); ACL rules replace \
                 the deprecated rename-command",
        hint: "end the application user's command rules with `-@dangerous` (or `-flushall -flushdb -keys -config \
               -debug`)",
        levels: levels(WARN, ERR, ERR),
        check: dangerous_commands,
    },
    Rule {
        id: "RCTL112",
        title: "applications use their own least-privilege user",
        reason: "an application on `default` or on a user with every command can do anything to every key of \
                 every service (seed anti-pattern: no ACL or one global admin user for all apps; No-Go: app uses \
                 broad ACL user)",
        hint: "declare an ACL user with `role: application`, key patterns under the service prefix and rules \
               such as `+@read +@write -@dangerous`",
        levels: levels(WARN, ERR, ERR),
        check: broad_application_user,
    },
    Rule {
        id: "RCTL113",
        title: "persistence comes with a backup and a restore drill",
        reason: "persistence files on the node die with the node, and a backup never restored is a hope, not a \
                 backup (seed anti-pattern: using persistence without restore drills)",
        hint: "describe `operations.backup` (schedule, off-host destination, retention) and record \
               `operations.restoreDrill.lastPerformed`",
        levels: levels(OFF, WARN, ERR),
        check: backup_plan,
    },
    Rule {
        id: "RCTL114",
        title: "no replica reads for read-your-writes flows",
        reason: "replication is asynchronous: a read from a replica right after a write can miss it (seed \
                 anti-pattern: using replica reads for read-your-write flows)",
        hint: "set `client.readFrom: primary`, or send only reads that tolerate staleness to replicas",
        levels: levels(WARN, ERR, ERR),
        check: replica_read_your_writes,
    },
    Rule {
        id: "RCTL115",
        title: "stateful Redis on Kubernetes keeps a primary and its replicas on different nodes",
        reason: "Kubernetes restarts containers, it does not keep Redis data: without a volume a rescheduled pod \
                 starts empty, without a PDB a drain takes all replicas at once, without anti-affinity one node \
                 takes primary and replica together (seed §10: storage and failover design)",
        hint: "set `kubernetes.antiAffinity: hard` (the target always renders PersistentVolumeClaims and a \
               PodDisruptionBudget)",
        levels: levels(WARN, WARN, ERR),
        check: kubernetes_stateful,
    },
    Rule {
        id: "RCTL116",
        title: "timeout and tcp-keepalive set",
        reason: "without them connections of crashed clients and dead peers are kept until maxclients is \
                 reached (seed: parameters worth setting: `timeout 300`, `tcp-keepalive 60`)",
        hint: "set `redis.config: { timeout: 300, tcp-keepalive: 60 }`",
        levels: levels(WARN, WARN, WARN),
        check: timeouts_set,
    },
    Rule {
        id: "RCTL117",
        title: "Redis Cluster only for cluster-safe key models",
        reason: "multi-key commands, transactions and Lua scripts over keys of different hash slots fail with \
                 CROSSSLOT (seed anti-pattern: ignoring cross-slot constraints until production)",
        hint: "use hash tags so related keys share a slot, then set `keyspace.clusterSafe: true`",
        levels: levels(WARN, ERR, ERR),
        check: cluster_safe,
    },
    Rule {
        id: "RCTL118",
        title: "cluster clients can read the slot map",
        reason: "a cluster client starts by asking a node for the slot map (CLUSTER SLOTS, NODES or SHARDS); an \
                 application user that may not ask cannot route a single command (seed: clients need topology \
                 behavior aligned with cluster mode)",
        hint: "add `+cluster|slots`, `+cluster|nodes` (and `+cluster|shards` on 7.0+) to the user's `commands`, or \
               leave `commands` out to get the application defaults, which have them",
        levels: levels(WARN, ERR, ERR),
        check: cluster_topology_readable,
    },
    Rule {
        id: "RCTL119",
        title: "SLOs and page-worthy alerts outside local development",
        reason: "without them nobody is woken when Redis runs out of memory, loses its primary or evicts what a queue \
                 cannot lose: users find the outage (seed: not monitoring Redis; page-worthy alerts for critical \
                 failures, SLOs defined and dashboards live)",
        hint: "add an `observability` section (SLOs and alerts default from `redis.workload`) and keep at least one \
               SLO or alert at `severity: page` (on ElastiCache, name the pager's SNS topic in `aws.alarmTopics.page`)",
        levels: levels(OFF, WARN, ERR),
        check: observability_defined,
    },
];

fn observability_defined(i: &Input) -> Vec<Hit> {
    match crate::model::observability::effective(i.contract) {
        None => vec![hit(
            &["/observability", "/redis/workload"],
            format!("{} environment `{}` declares no SLOs or alerts (`observability`)", i.class.as_str(), i.env),
        )],
        Some(e) if !e.pages() => vec![hit(
            &["/observability/alerts", "/observability"],
            "no SLO or alert of `observability` has `severity: page`",
        )],
        Some(_) => match (i.contract.target.facts().unrouted_pages)(i.contract) {
            Some((pointer, message)) => vec![hit(&[pointer, "/aws", "/observability"], message)],
            None => vec![],
        },
    }
}

fn hit(at: &[&str], message: impl Into<String>) -> Hit {
    Hit { at: at.iter().map(|p| p.to_string()).collect(), message: message.into() }
}

fn auth_required(i: &Input) -> Vec<Hit> {
    let c = i.contract;
    if c.security.auth != Auth::Optional {
        return vec![];
    }
    vec![hit(
        &["/security/auth"],
        format!(
            "`security.auth` is `optional` in `{}`, a {} environment (target `{}`)",
            i.env,
            i.class.as_str(),
            c.target.as_str()
        ),
    )]
}

fn tls_required(i: &Input) -> Vec<Hit> {
    let c = i.contract;
    let managed = c.target.facts().managed.is_some();
    if c.security.tls.enabled || !(managed || i.class == EnvClass::Production) {
        return vec![];
    }
    let (why, at) = if i.class == EnvClass::Production {
        (format!("production-like environment `{}`", i.env), "/productionLike")
    } else {
        (format!("managed target `{}`", c.target.as_str()), "/target")
    };
    vec![hit(&["/security/tls/enabled", at], format!("TLS is off in {why}"))]
}

/// Loopback addresses (`127.0.0.0/8`, `::1`, `localhost`); a leading `-` marks an optional address.
fn is_loopback(addr: &str) -> bool {
    let addr = addr.strip_prefix('-').unwrap_or(addr);
    addr.eq_ignore_ascii_case("localhost") || addr.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn public_bind(i: &Input) -> Vec<Hit> {
    let c = i.contract;
    let Some(bind) = c.network.bind.as_ref().filter(|_| c.security.auth == Auth::Optional) else {
        return vec![];
    };
    bind.iter()
        .enumerate()
        .filter(|(_, a)| !is_loopback(a))
        .map(|(n, a)| {
            hit(&[&format!("/network/bind/{n}")], format!("listens on `{a}` while `security.auth` is `optional`"))
        })
        .collect()
}

fn maxmemory_set(i: &Input) -> Vec<Hit> {
    let c = i.contract;
    // A managed service derives maxmemory from the node type.
    if c.target.facts().managed.is_some() {
        return vec![];
    }
    match c.resources.maxmemory {
        None => vec![hit(&["/resources/maxmemory", "/resources"], "`resources.maxmemory` is not set")],
        Some(m) if m.0 == 0 => vec![hit(&["/resources/maxmemory"], "`resources.maxmemory` is 0, which means no limit")],
        Some(_) => match (i.contract.target.facts().unrouted_pages)(i.contract) {
            Some((pointer, message)) => vec![hit(&[pointer, "/aws", "/observability"], message)],
            None => vec![],
        },
    }
}

fn eviction_fits(i: &Input) -> Vec<Hit> {
    let r = &i.contract.redis;
    let p = r.maxmemory_policy;
    let (fits, wanted) = match r.workload {
        Workload::Cache => {
            (matches!(p, MaxmemoryPolicy::AllkeysLru | MaxmemoryPolicy::AllkeysLfu), "`allkeys-lru` or `allkeys-lfu`")
        }
        _ => (p == MaxmemoryPolicy::Noeviction, "`noeviction`"),
    };
    if fits {
        return vec![];
    }
    vec![hit(
        &["/redis/maxmemoryPolicy"],
        format!("workload `{}` with eviction policy `{}`; it needs {wanted}", r.workload.as_str(), p.as_str()),
    )]
}

fn persistence_fits(i: &Input) -> Vec<Hit> {
    let r = &i.contract.redis;
    if r.workload == Workload::Cache {
        return vec![];
    }
    let p = &r.persistence;
    if !p.mode.aof() {
        return vec![hit(
            &["/redis/persistence/mode", "/redis/persistence", "/redis/workload"],
            format!(
                "workload `{}` with persistence `{}`; it needs AOF with `fsync: everysec`",
                r.workload.as_str(),
                p.mode.as_str()
            ),
        )];
    }
    if p.fsync == Fsync::No {
        return vec![hit(
            &["/redis/persistence/fsync"],
            format!(
                "workload `{}` with AOF `fsync: no` leaves durability to the OS flush (about 30 s)",
                r.workload.as_str()
            ),
        )];
    }
    vec![]
}

fn memory_headroom(i: &Input) -> Vec<Hit> {
    let c = i.contract;
    if !c.target.facts().containers {
        return vec![];
    }
    // Without `resources.memoryLimit` the targets render `memory::default_limit`, which has the
    // headroom by construction: only a limit the contract sets can fall short.
    let (Some(max), Some(limit), Some(need)) =
        (c.resources.maxmemory, &c.resources.memory_limit, memory::fork_headroom(c))
    else {
        return vec![];
    };
    if limit.bytes >= need {
        return vec![];
    }
    vec![hit(
        &["/resources/memoryLimit"],
        format!(
            "memory limit {} is below 2 × maxmemory ({}) while persistence `{}` forks",
            limit.text,
            format_size(max.0.saturating_mul(2)),
            c.redis.persistence.mode.as_str()
        ),
    )]
}

fn sentinel_majority(i: &Input) -> Vec<Hit> {
    let t = &i.contract.topology;
    if t.mode != TopologyMode::Sentinel {
        return vec![];
    }
    let need = majority(t.sentinels);
    let mut hits = Vec::new();
    if t.sentinels < 3 {
        hits.push(hit(
            &["/topology/sentinels", "/topology/mode"],
            format!(
                "{} Sentinel(s) watching a primary and {} replica(s) cannot fail over after losing one: a majority of {} is {need}",
                t.sentinels, t.replicas, t.sentinels
            ),
        ));
    }
    if let Some(q) = t.quorum.filter(|q| *q < need) {
        hits.push(hit(
            &["/topology/quorum"],
            format!("quorum {q} is less than a majority of {} Sentinels ({need})", t.sentinels),
        ));
    }
    hits
}

fn failure_domains(i: &Input) -> Vec<Hit> {
    let c = i.contract;
    let t = &c.topology;
    let (count, what) = match t.mode {
        TopologyMode::Sentinel => (t.sentinels, "Sentinels"),
        TopologyMode::Cluster => (t.shards, "Cluster primaries"),
        _ => return vec![],
    };
    let need = majority(count);
    if c.target.facts().one_host {
        return vec![hit(
            &["/target", "/topology/mode"],
            format!(
                "all {count} {what} run on one host (target `{}`): losing it loses the majority",
                c.target.as_str()
            ),
        )];
    }
    let domains = t.failure_domains.len() as u32;
    if domains == 0 {
        return vec![hit(
            &["/topology/failureDomains", "/topology"],
            format!("`topology.failureDomains` is not set: nothing spreads the {count} {what} over failure domains"),
        )];
    }
    let worst = count.div_ceil(domains);
    if worst < need {
        return vec![];
    }
    vec![hit(
        &["/topology/failureDomains"],
        format!(
            "{count} {what} over {domains} failure domain(s): losing one takes {worst} of them, and a majority needs {need}"
        ),
    )]
}

/// Application users, with their index in `acl.users`.
fn app_users<'a>(i: &Input<'a>) -> impl Iterator<Item = (usize, &'a AclUser)> {
    i.contract.acl.users.iter().enumerate().filter(|(_, u)| u.role == UserRole::Application)
}

fn dangerous_commands(i: &Input) -> Vec<Hit> {
    // Users without `commands` get the role defaults, which deny @dangerous.
    app_users(i)
        .filter_map(|(n, u)| {
            let allowed = acl::dangerous_allowed(&u.commands);
            let first = allowed.iter().map(|(_, j)| *j).min()?;
            let names: Vec<String> = allowed.iter().map(|(cmd, _)| cmd.to_ascii_uppercase()).collect();
            Some(hit(
                &[&format!("/acl/users/{n}/commands/{first}")],
                format!("application user `{}` may run {}", u.name, names.join(", ")),
            ))
        })
        .collect()
}

fn broad_application_user(i: &Input) -> Vec<Hit> {
    let c = i.contract;
    if app_users(i).next().is_none() {
        let who = match c.security.auth {
            Auth::Optional => "applications connect as `default`, which may run every command",
            Auth::Required => "applications would have to use `default` or an operator's user",
        };
        return vec![hit(
            &["/acl/users", "/acl", "/security/auth"],
            format!("no ACL user has `role: application`: {who}"),
        )];
    }
    app_users(i)
        .flat_map(|(n, u)| {
            u.commands.iter().enumerate().filter(|(_, r)| acl::grants_all(r)).map(move |(j, r)| {
                hit(
                    &[&format!("/acl/users/{n}/commands/{j}")],
                    format!("application user `{}` is granted `{r}`: every command, present and future", u.name),
                )
            })
        })
        .collect()
}

fn backup_plan(i: &Input) -> Vec<Hit> {
    let c = i.contract;
    let mode = c.redis.persistence.mode;
    if mode == PersistenceMode::None {
        return vec![];
    }
    let ops = &c.operations;
    // Backups an operator takes as the contract configures them count as a backup plan.
    let operated = c.target.facts().operated.and_then(|o| (o.backups)(c)).is_some();
    let missing: Vec<&str> = [
        (ops.backup.is_none() && !operated, "no backup (`operations.backup`)"),
        (ops.restore_drill.is_none(), "no restore drill (`operations.restoreDrill`)"),
    ]
    .into_iter()
    .filter_map(|(missing, what)| missing.then_some(what))
    .collect();
    if missing.is_empty() {
        return vec![];
    }
    vec![hit(
        &["/redis/persistence/mode", "/redis/persistence"],
        format!("persistence `{}` with {}", mode.as_str(), missing.join(" and ")),
    )]
}

fn replica_read_your_writes(i: &Input) -> Vec<Hit> {
    let cl = &i.contract.client;
    if !cl.read_your_writes || cl.read_from == ReadFrom::Primary {
        return vec![];
    }
    vec![hit(
        &["/client/readFrom"],
        format!("`client.readFrom: {}` while `client.readYourWrites` is true", cl.read_from.as_str()),
    )]
}

fn kubernetes_stateful(i: &Input) -> Vec<Hit> {
    let c = i.contract;
    let mode = c.redis.persistence.mode;
    if !c.target.facts().volume_claims || mode == PersistenceMode::None {
        return vec![];
    }
    // The kubernetes target always renders a PersistentVolumeClaim per pod when persistence
    // is on, and a PodDisruptionBudget: those two anti-patterns cannot be expressed. What is
    // left to the contract is how hard the scheduler must keep a primary and its replica apart.
    match c.kubernetes.anti_affinity {
        AntiAffinity::Hard => vec![],
        other => vec![hit(
            &["/kubernetes/antiAffinity", "/kubernetes", "/target"],
            format!(
                "persistence `{}` on Kubernetes with `{}` pod anti-affinity: one node can take a primary and its replica together",
                mode.as_str(),
                match other {
                    AntiAffinity::None => "no",
                    _ => "soft",
                }
            ),
        )],
    }
}

fn timeouts_set(i: &Input) -> Vec<Hit> {
    // An operator's proxy holds the client connections (and refuses raw directives).
    if i.contract.target.facts().operated.is_some() {
        return vec![];
    }
    let config = &i.contract.redis.config;
    ["timeout", "tcp-keepalive"]
        .into_iter()
        .filter_map(|name| {
            let found = config.iter().find(|(k, _)| k.eq_ignore_ascii_case(name));
            match found {
                None => Some(hit(&["/redis/config", "/redis"], format!("`{name}` is not set in `redis.config`"))),
                Some((key, value))
                    if name == "tcp-keepalive" && crate::contract::checks::config_lines(value) == ["0"] =>
                {
                    Some(hit(
                        &[&format!("/redis/config/{}", pointer_escape(key))],
                        "`tcp-keepalive` is 0, which never detects dead peers",
                    ))
                }
                Some(_) => None,
            }
        })
        .collect()
}

fn cluster_safe(i: &Input) -> Vec<Hit> {
    let c = i.contract;
    if c.topology.mode != TopologyMode::Cluster || c.keyspace.cluster_safe {
        return vec![];
    }
    vec![hit(&["/keyspace/clusterSafe", "/topology/mode"], "Redis Cluster while `keyspace.clusterSafe` is not true")]
}

fn cluster_topology_readable(i: &Input) -> Vec<Hit> {
    if i.contract.topology.mode != TopologyMode::Cluster {
        return vec![];
    }
    // Users without `commands` get the role defaults, which allow the CLUSTER queries.
    app_users(i)
        .filter(|(_, u)| !u.commands.is_empty() && acl::allows(&u.commands, "cluster", &["slow"]).is_none())
        .map(|(n, u)| {
            hit(
                &[&format!("/acl/users/{n}/commands")],
                format!("application user `{}` may not run CLUSTER SLOTS/NODES/SHARDS in a Redis Cluster", u.name),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_and_in_range() {
        let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len());
        assert!(ids.iter().all(|id| id.starts_with("RCTL1") && id.len() == 7));
    }

    #[test]
    fn docs_list_every_rule_with_its_levels() {
        let doc = include_str!("../../docs/policy.md");
        for r in RULES {
            let [local, shared, production] = r.levels.words();
            let row = format!("| {} | {} | {local} | {shared} | {production} |", r.id, r.title);
            assert!(doc.contains(&row), "docs/policy.md lacks the row `{row}`");
        }
    }

    #[test]
    fn loopback_addresses() {
        assert!(
            is_loopback("127.0.0.1") && is_loopback("-::1") && is_loopback("localhost") && is_loopback("127.1.2.3")
        );
        assert!(!is_loopback("0.0.0.0") && !is_loopback("*") && !is_loopback("10.0.0.5") && !is_loopback("::"));
    }
}
