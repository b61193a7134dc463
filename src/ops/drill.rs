//! Measured drills on a local stack (`target: process`): a failover under a bounded writer, and
//! a restore of the newest snapshot into a scratch server; and (`--live`) the graceful failover
//! of a systemd Sentinel fleet, reached at its addresses as `plan --live` reaches it. Each returns the figures the drill
//! record keeps (`model::drill`) for the readiness review ("failover tested", "restore tested").
//!
//! Bounded: the writer stops after `Bounds`, every wait has a timeout, and what a drill
//! disturbs is put back (a killed primary is started again as a replica, the drill's keys are
//! deleted, the scratch server and its directory are removed, on failure too).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::writer::{Attempt, Bounds, Writer, Written};
use super::{fields, open, query, Login};
use crate::environment::Environment;
use crate::error::Error;
use crate::model::drill::{record_path, DrillRecord, FailoverDrill, PrefixCount, RestoreDrill};
use crate::model::{TopologyMode, UserRole};
use crate::resolve::Deployment;
use crate::stack::{key_slot, LiveRole, Stack, HOST};
use crate::targets::Drills;

/// How a failover drill forces the failover.
#[derive(Debug, Clone, Copy)]
pub struct FailoverOptions {
    /// Kill the primary's process (SIGKILL) instead of a graceful SENTINEL/CLUSTER FAILOVER:
    /// what a crashed host looks like, detected after `downAfter` / the cluster node timeout.
    pub kill_primary: bool,
    /// How long to keep writing once writes succeed again.
    pub settle: Duration,
    /// The longest the whole drill may take.
    pub timeout: Duration,
}

/// The local stack of an opened environment, ready, or why a drill cannot run on it.
fn ready_stack(env: &Environment) -> Result<Stack, Error> {
    let d = &env.deployment;
    let on = || format!("environment `{}` has target `{}`", d.env, d.contract.target.as_str());
    match crate::targets::of(d.contract.target).drills() {
        Drills::LocalStack => {}
        Drills::Fleet => return Err(Error::usage(format!(
            "{}: drills run on local stacks, and a fleet redisctl does not run gets a graceful failover drill only, \
                 with --live",
            on()
        ))),
        Drills::Unsupported(why) => return Err(Error::usage(format!("{}: {why}", on()))),
    }
    let stack = Stack::new(d.clone(), env.output_dir.clone())?;
    stack.check_ready().map_err(|nr| {
        Error::msg(format!(
            "the local stack of `{}` is not ready ({}: {} check failed: {}): bring it up with `redisctl apply --env {}`",
            d.env, nr.member, nr.check, nr.detail, d.env
        ))
    })?;
    Ok(stack)
}

fn node_at(d: &Deployment, port: u32) -> Result<String, Error> {
    d.nodes
        .iter()
        .find(|n| n.port == port)
        .map(|n| n.name.clone())
        .ok_or_else(|| Error::msg(format!("no node on port {port}")))
}

fn port_of(d: &Deployment, name: &str) -> u32 {
    d.port_of(name).unwrap_or(0)
}

/// Acknowledged writes the drill waits for before it forces the failover.
const WARM_ACKNOWLEDGED: usize = 10;

/// One write and `WAIT 1 500` on the connection to the node on `port`.
fn write_and_wait(con: &mut redis::Connection, port: u32, key: &str) -> Result<Written, String> {
    redis::cmd("SET").arg(key).arg("1").exec(con).map_err(|e| crate::client::explain(&e))?;
    let replicas: i64 = redis::cmd("WAIT").arg(1).arg(500).query(con).map_err(|e| crate::client::explain(&e))?;
    Ok(Written { acknowledged: replicas >= 1, port })
}

/// The failover drill: on a local stack, or with `live` on a fleet reached at its addresses.
/// Returns the figures; the caller keeps the record.
pub fn failover(env: &Environment, opts: FailoverOptions, live: bool) -> Result<FailoverDrill, Error> {
    if live {
        let fleet = Fleet::ready(env, opts)?;
        return drive(Arc::new(fleet), None, opts);
    }
    let stack = ready_stack(env)?;
    drive(Arc::new(stack.clone()), Some(&stack), opts)
}

/// The drill itself. `stack`: the local stack's runtime, for what only it can do (kill and
/// start a process, a cluster's live status); a fleet is drilled with a graceful Sentinel
/// failover only (`Fleet::ready` refuses the rest).
fn drive(target: Arc<dyn Drilled>, stack: Option<&Stack>, opts: FailoverOptions) -> Result<FailoverDrill, Error> {
    let d = target.deployment().clone();
    let mode = d.contract.topology.mode;
    let stamp = jiff::Timestamp::now();
    // The drill's keys: outside the application's prefix, one hash slot (so that a cluster
    // drill writes to the shard it fails over), deleted afterwards.
    let tag = "{redisctl-drill}";
    let prefix = format!("{tag}:{}:", stamp.as_second());
    let (old, replica, method) = match mode {
        TopologyMode::Sentinel => {
            let (_, port) = target.sentinel_master_addr()?;
            let m = if opts.kill_primary { "kill-primary" } else { "sentinel-failover" };
            (node_at(&d, port)?, None, m)
        }
        TopologyMode::Cluster => {
            let slot = key_slot(tag.as_bytes());
            let status = stack.ok_or_else(|| Error::msg("a cluster is drilled on a local stack only"))?.status();
            let owner = status
                .members
                .iter()
                .find(|m| m.role == Some(LiveRole::Primary) && m.slots.iter().any(|(a, b)| (*a..=*b).contains(&slot)))
                .ok_or_else(|| Error::msg(format!("no primary serves slot {slot}")))?;
            let replica = status
                .members
                .iter()
                .find(|m| m.role == Some(LiveRole::Replica) && m.primary.as_deref() == Some(owner.address.as_str()))
                .ok_or_else(|| Error::msg(format!("{} has no replica to fail over to", owner.name)))?;
            let m = if opts.kill_primary { "kill-primary" } else { "cluster-failover" };
            (owner.name.clone(), Some(replica.name.clone()), m)
        }
        other => {
            return Err(Error::usage(format!(
                "topology `{}` has no automatic failover to drill: use `sentinel` or `cluster`",
                other.as_str()
            )))
        }
    };
    let old_port = port_of(&d, &old);
    let bounds = Bounds {
        interval: Duration::from_millis(50),
        max_time: opts.timeout,
        max_writes: (opts.timeout.as_millis() / 50).min(20_000) as u32,
    };
    let writer = Writer::start(prefix.clone(), bounds, attempt_for(target.clone(), mode, old_port));
    // A moment of writes before the failover, until a few were acknowledged by a replica
    // (bounded by the timeout): the writer is known to work, and a replica that has only
    // just attached (after the previous drill, or a restart) is really following.
    let warm = Instant::now();
    std::thread::sleep(Duration::from_millis(500));
    while warm.elapsed() < opts.timeout && writer.peek(|t| t.acknowledged.len()).unwrap_or(0) < WARM_ACKNOWLEDGED {
        std::thread::sleep(Duration::from_millis(50));
    }
    let started = Instant::now();
    let result = match stack {
        Some(stack) => force(stack, &old, replica.as_deref(), opts),
        None => target.sentinel_failover(opts.timeout),
    };
    let new = match result {
        Ok(new) => new,
        Err(e) => {
            let tally = writer.finish();
            target.put_back(&old, opts);
            // The drill's keys go wherever the writes went: each node that took one.
            let mut ports: Vec<u32> = tally.timeline.iter().filter_map(|(_, p)| *p).collect();
            ports.sort_unstable();
            ports.dedup();
            for port in ports {
                if let Ok(mut con) = node_at(&d, port).and_then(|n| target.connect(&n)) {
                    delete_keys(&mut con, &prefix, tally.timeline.len() as u64);
                }
            }
            return Err(e);
        }
    };
    // Writes until the new primary has taken one (bounded by the timeout), then `settle` more.
    let new_port = port_of(&d, &new);
    let deadline = started + opts.timeout;
    while Instant::now() < deadline && writer.peek(|t| t.first_write_to(new_port, started)).flatten().is_none() {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(opts.settle);
    let tally = writer.finish();
    let recovered = tally.first_write_to(new_port, started);

    // Every acknowledged write must be on the new primary.
    let mut con = target.connect(&new)?;
    let mut lost = 0u64;
    for key in &tally.acknowledged {
        let exists: i64 =
            redis::cmd("EXISTS").arg(key).query(&mut con).map_err(|e| Error::msg(crate::client::explain(&e)))?;
        if exists == 0 {
            lost += 1;
        }
    }
    delete_keys(&mut con, &prefix, tally.timeline.len() as u64);
    let endpoints = endpoints_reach(&d, &new);
    target.put_back(&old, opts);
    let recovered = recovered.ok_or_else(|| {
        Error::msg(format!(
            "writes did not succeed again within {:?} after the failover ({} failed; last error: {})",
            opts.timeout,
            tally.failed,
            tally.last_error.clone().unwrap_or_default()
        ))
    })?;
    Ok(FailoverDrill {
        at: stamp.to_string(),
        fingerprint: d.fingerprint.clone(),
        method: method.to_string(),
        old_primary: format!("{old} ({})", crate::targets::endpoint(&d, &old)),
        new_primary: format!("{new} ({})", crate::targets::endpoint(&d, &new)),
        outage_ms: tally.longest_outage.as_millis() as u64,
        recovered_after_ms: recovered.as_millis() as u64,
        acknowledged_lost: lost,
        acknowledged: tally.acknowledged.len() as u64,
        unacknowledged: tally.unacknowledged,
        failed: tally.failed,
        endpoints_reach_new_primary: endpoints?,
    })
}

/// What a failover drill drives: a local stack through its runtime, or (`--live`) a fleet whose
/// nodes redisctl reaches at their addresses without running them (`target: systemd`).
trait Drilled: Send + Sync {
    fn deployment(&self) -> &Deployment;
    /// A node (as the operator) or a Sentinel (as the Sentinel user), when auth is required.
    fn connect(&self, name: &str) -> Result<redis::Connection, Error>;
    fn sentinel_master_addr(&self) -> Result<(String, u32), Error>;
    /// `SENTINEL FAILOVER`, and the name of the node that took over.
    fn sentinel_failover(&self, timeout: Duration) -> Result<String, Error>;
    /// Wait until the deployment is whole again after the failover of `old` (a failure is
    /// reported, the figures are kept).
    fn put_back(&self, old: &str, opts: FailoverOptions);
}

impl Drilled for Stack {
    fn deployment(&self) -> &Deployment {
        &self.deployment
    }
    fn connect(&self, name: &str) -> Result<redis::Connection, Error> {
        Stack::connect(self, name)
    }
    fn sentinel_master_addr(&self) -> Result<(String, u32), Error> {
        Stack::sentinel_master_addr(self)
    }
    fn sentinel_failover(&self, timeout: Duration) -> Result<String, Error> {
        Stack::sentinel_failover(self, timeout)
    }
    fn put_back(&self, old: &str, opts: FailoverOptions) {
        put_back(self, old, opts)
    }
}

/// A Sentinel fleet reached at the addresses of its target (`plan --live` reaches them so):
/// redisctl does not run these servers, so the drill only asks the Sentinels for a graceful
/// failover, and kills nothing.
struct Fleet {
    d: Deployment,
}

impl Fleet {
    /// The fleet of `env`, or why it cannot be drilled: a Sentinel topology, a graceful failover,
    /// and Sentinels that agree on the primary and have their quorum.
    fn ready(env: &Environment, opts: FailoverOptions) -> Result<Fleet, Error> {
        let d = env.deployment.clone();
        let drills = crate::targets::of(d.contract.target).drills();
        if drills != Drills::Fleet {
            let fleets: Vec<String> = crate::model::TargetKind::ALL
                .iter()
                .filter(|k| crate::targets::of(**k).drills() == Drills::Fleet)
                .map(|k| format!("`target: {}`", k.as_str()))
                .collect();
            return Err(Error::usage(format!(
                "--live drills a fleet redisctl reaches at its addresses ({}); environment `{}` has target `{}`{}",
                fleets.join(", "),
                d.env,
                d.contract.target.as_str(),
                if drills == Drills::LocalStack { ": drill its local stack without --live" } else { "" }
            )));
        }
        if d.contract.topology.mode != TopologyMode::Sentinel {
            return Err(Error::usage(format!(
                "a --live failover drill needs topology `sentinel` (it asks the Sentinels for a failover); `{}` is \
                 drilled on a local stack",
                d.contract.topology.mode.as_str()
            )));
        }
        if opts.kill_primary {
            return Err(Error::usage(
                "--kill-primary kills a process redisctl runs: a fleet's services are the hosts' (systemd), so --live \
                 drills a graceful SENTINEL FAILOVER only; stop the primary's unit yourself to drill a crash",
            ));
        }
        let fleet = Fleet { d };
        let s = fleet.d.sentinels.first().ok_or_else(|| Error::msg("the contract has no Sentinels"))?;
        let master = fleet.d.master_name.clone();
        query::<String>(&mut fleet.connect(&s.name)?, &s.name, &["SENTINEL", "CKQUORUM", &master])?;
        let (_, port) = fleet.sentinel_master_addr()?;
        let primary = node_at(&fleet.d, port)?;
        let info = fields(&query::<String>(&mut fleet.connect(&primary)?, &primary, &["INFO", "replication"])?);
        if info.get("role").map(String::as_str) != Some("master")
            || info.get("connected_slaves").is_none_or(|n| n == "0")
        {
            return Err(Error::msg(format!(
                "{primary}, the primary the Sentinels report, is not a primary with a connected replica: nothing to \
                 fail over to"
            )));
        }
        Ok(fleet)
    }

    fn node_named(&self, port: u32, host: &str) -> Option<String> {
        self.d
            .nodes
            .iter()
            .find(|n| n.port == port && crate::targets::endpoint(&self.d, &n.name).host == host)
            .map(|n| n.name.clone())
    }
}

impl Drilled for Fleet {
    fn deployment(&self) -> &Deployment {
        &self.d
    }

    fn connect(&self, name: &str) -> Result<redis::Connection, Error> {
        let d = &self.d;
        let sentinel = d.sentinels.iter().any(|s| s.name == name);
        let user = if sentinel {
            d.user_with_role(UserRole::Sentinel).filter(|_| crate::render::sentinel_auth_required(d))
        } else {
            d.user_with_role(UserRole::Operator).filter(|_| d.auth_required())
        };
        let login = user.and_then(|u| {
            u.secret.as_ref().map(|s| Login { user: u.spec.name.clone(), password: s.expose().to_string() })
        });
        let e = crate::targets::endpoint(d, name);
        super::open_tls(&d.contract.security.tls, &e.host, e.port, login.as_ref())
    }

    fn sentinel_master_addr(&self) -> Result<(String, u32), Error> {
        let mut last = Error::msg("no Sentinel answered");
        for s in &self.d.sentinels {
            let asked = self.connect(&s.name).and_then(|mut con| {
                query::<Option<(String, u32)>>(
                    &mut con,
                    &s.name,
                    &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", &self.d.master_name],
                )
            });
            match asked {
                Ok(Some(addr)) => return Ok(addr),
                Ok(None) => last = Error::msg(format!("{} does not monitor `{}`", s.name, self.d.master_name)),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// As a local stack's: `SENTINEL FAILOVER`, then wait until the Sentinels that answer (at
    /// least a quorum) agree on another node, which reports itself primary.
    fn sentinel_failover(&self, timeout: Duration) -> Result<String, Error> {
        let (_, old) = self.sentinel_master_addr()?;
        let s = &self.d.sentinels[0];
        match query::<()>(&mut self.connect(&s.name)?, &s.name, &["SENTINEL", "FAILOVER", &self.d.master_name]) {
            Err(e) if e.to_string().contains("INPROG") => {}
            other => other?,
        }
        crate::stack::poll(timeout, || {
            let seen: Vec<(String, u32)> = self
                .d
                .sentinels
                .iter()
                .filter_map(|s| {
                    let mut con = self.connect(&s.name).ok()?;
                    query::<Option<(String, u32)>>(
                        &mut con,
                        &s.name,
                        &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", &self.d.master_name],
                    )
                    .ok()
                    .flatten()
                })
                .collect();
            let agreed = seen
                .first()
                .filter(|a| a.1 != old && seen.len() as u32 >= self.d.quorum && seen.iter().all(|b| b == *a));
            let name = agreed.and_then(|(h, p)| self.node_named(*p, h)).ok_or_else(|| {
                Error::msg(format!("the Sentinels report {seen:?} (was port {old}) after {timeout:?}"))
            })?;
            let info = fields(&query::<String>(&mut self.connect(&name)?, &name, &["INFO", "replication"])?);
            if info.get("role").map(String::as_str) != Some("master") {
                return Err(Error::msg(format!("{name} is reported primary but is not one yet")));
            }
            Ok(name)
        })
    }

    /// The Sentinels turn the old primary into a replica of the new one a moment after the
    /// failover, and then see it healthy: both waited for, so that the fleet is left with one
    /// primary and Sentinels ready for the next failover.
    fn put_back(&self, old: &str, opts: FailoverOptions) {
        let master = &self.d.master_name;
        let back = crate::stack::poll(opts.timeout, || {
            let info = fields(&query::<String>(&mut self.connect(old)?, old, &["INFO", "replication"])?);
            match (info.get("role").map(String::as_str), info.get("master_link_status").map(String::as_str)) {
                (Some("slave"), Some("up")) => {}
                _ => return Err(Error::msg(format!("{old} does not follow the new primary yet"))),
            }
            for s in &self.d.sentinels {
                let replicas: Vec<BTreeMap<String, String>> =
                    query(&mut self.connect(&s.name)?, &s.name, &["SENTINEL", "REPLICAS", master])?;
                let healthy = replicas
                    .iter()
                    .filter(|r| r.get("flags").is_some_and(|f| !f.contains("down") && !f.contains("disconnected")))
                    .count();
                if healthy < self.d.nodes.len() - 1 {
                    return Err(Error::msg(format!("{} sees {healthy} healthy replica(s) of `{master}`", s.name)));
                }
            }
            Ok(())
        });
        if let Err(e) = back {
            tracing::warn!("drill: the fleet is not whole again after the failover of {old}: {e}");
        }
    }
}

/// Delete the drill's keys `<prefix>0` .. `<prefix><n-1>` (one hash slot: a multi-key DEL
/// works on a cluster too); best effort, a replica refuses.
fn delete_keys(con: &mut redis::Connection, prefix: &str, n: u64) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let mut del = redis::cmd("DEL");
        for i in chunk {
            del.arg(format!("{prefix}{i}"));
        }
        let _ = del.query::<i64>(con);
    }
}

/// One write to wherever the primary is now, as a client would find it: through the Sentinels,
/// or following a cluster's MOVED redirect (and trying the shard's other nodes when the one it
/// wrote to is gone).
fn attempt_for(stack: Arc<dyn Drilled>, mode: TopologyMode, first_port: u32) -> Attempt {
    let mut port = first_port;
    Box::new(move |key: &str| {
        let d = stack.deployment();
        if mode == TopologyMode::Sentinel {
            let (_, port) = stack.sentinel_master_addr().map_err(|e| e.to_string())?;
            let name = node_at(d, port).map_err(|e| e.to_string())?;
            let mut con = stack.connect(&name).map_err(|e| e.to_string())?;
            return write_and_wait(&mut con, port, key);
        }
        for _ in 0..3 {
            let name = node_at(d, port).map_err(|e| e.to_string())?;
            let mut con = match stack.connect(&name) {
                Ok(c) => c,
                Err(e) => {
                    // Gone (killed): the next attempt asks another node, which redirects.
                    let i = d.nodes.iter().position(|n| n.port == port).unwrap_or(0);
                    port = d.nodes[(i + 1) % d.nodes.len()].port;
                    return Err(e.to_string());
                }
            };
            match write_and_wait(&mut con, port, key) {
                Err(e) if e.to_ascii_uppercase().contains("MOVED") => {
                    port = e
                        .split_whitespace()
                        .find_map(|w| w.rsplit_once(':').and_then(|(_, p)| p.parse().ok()))
                        .unwrap_or(port);
                }
                other => return other,
            }
        }
        Err("too many redirects".into())
    })
}

/// Force the failover away from `old`; the name of the node that took over.
fn force(stack: &Stack, old: &str, replica: Option<&str>, opts: FailoverOptions) -> Result<String, Error> {
    let d = &stack.deployment;
    if opts.kill_primary {
        let pid = stack.pid(old)?.ok_or_else(|| Error::msg(format!("{old} is not running")))?;
        tracing::info!("drill: killing {old} (pid {pid})");
        crate::stack::signal(pid as i32, rustix::process::Signal::KILL);
    }
    match (d.contract.topology.mode, replica) {
        (TopologyMode::Cluster, Some(replica)) if opts.kill_primary => crate::stack::poll(opts.timeout, || {
            let mut con = stack.connect(replica)?;
            let role: String = query(&mut con, replica, &["ROLE"]).map(|v: Vec<redis::Value>| {
                v.first().and_then(|r| redis::from_redis_value::<String>(r.clone()).ok()).unwrap_or_default()
            })?;
            if role == "master" {
                Ok(replica.to_string())
            } else {
                Err(Error::msg(format!("{replica} has not taken over from {old} after {:?}", opts.timeout)))
            }
        }),
        (TopologyMode::Cluster, Some(replica)) => {
            stack.cluster_failover(replica, opts.timeout)?;
            Ok(replica.to_string())
        }
        _ if opts.kill_primary => {
            let old_port = port_of(d, old);
            crate::stack::poll(opts.timeout, || {
                let (_, port) = stack.sentinel_master_addr()?;
                if port == old_port {
                    return Err(Error::msg(format!("the Sentinels still report {old} after {:?}", opts.timeout)));
                }
                let name = node_at(d, port)?;
                let mut con = stack.connect(&name)?;
                let info = fields(&query::<String>(&mut con, &name, &["INFO", "replication"])?);
                if info.get("role").map(String::as_str) == Some("master") {
                    Ok(name)
                } else {
                    Err(Error::msg(format!("{name} is reported primary but is not one yet")))
                }
            })
        }
        _ => stack.sentinel_failover(opts.timeout),
    }
}

/// A killed primary is started again (it comes back as a replica of the new primary), and the
/// stack is waited for until ready; a failure here is reported, the figures are kept.
fn put_back(stack: &Stack, old: &str, opts: FailoverOptions) {
    // After a graceful failover too: the old primary becomes a replica of the new one, and the
    // next command (or drill) finds the stack whole.
    let started = if opts.kill_primary { stack.start(old).map(|_| ()) } else { Ok(()) };
    let back = started.and_then(|_| stack.wait_ready(opts.timeout));
    if let Err(e) = back {
        tracing::warn!("drill: the stack is not whole again after the failover of {old}: {e} (run `redisctl apply`)");
    }
}

/// Whether the endpoints `redisctl connect` prints lead to `new`: the Sentinels report it, or a
/// cluster seed node maps the drill's slot to it.
fn endpoints_reach(d: &Deployment, new: &str) -> Result<bool, Error> {
    let config = crate::connect::client_config(d, &|name| crate::targets::endpoint(d, name));
    let want = crate::targets::endpoint(d, new).to_string();
    let login = |role: UserRole| {
        d.user_with_role(role).and_then(|u| {
            u.secret.as_ref().map(|s| Login { user: u.spec.name.clone(), password: s.expose().to_string() })
        })
    };
    if let Some(s) = &config.sentinel {
        // Logged in as `connect` tells applications to log in to the Sentinels.
        let who = s.username.as_ref().and_then(|name| {
            let u = d.users.iter().find(|u| &u.spec.name == name)?;
            Some(Login { user: name.clone(), password: u.secret.as_ref()?.expose().to_string() })
        });
        let mut reached = 0;
        for e in &s.endpoints {
            let Ok((host, port)) = super::parse_address(e) else { continue };
            let Ok(mut con) = open(&host, port, who.as_ref()) else { continue };
            let addr: Option<(String, u32)> =
                query(&mut con, e, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", &s.master_name]).unwrap_or(None);
            match addr {
                Some((h, p)) if format!("{h}:{p}") == want => reached += 1,
                _ => return Ok(false),
            }
        }
        return Ok(reached > 0);
    }
    let who = login(UserRole::Operator).filter(|_| d.auth_required());
    let slot = key_slot(b"{redisctl-drill}") as u32;
    for e in &config.endpoints {
        let Ok((host, port)) = super::parse_address(e) else { continue };
        let Ok(mut con) = open(&host, port, who.as_ref()) else { continue };
        let Ok(text) = query::<String>(&mut con, e, &["CLUSTER", "NODES"]) else { continue };
        return Ok(cluster_owner(&text, slot).is_some_and(|a| a == want));
    }
    Ok(false)
}

/// The `ip:port` of the primary serving `slot` in `CLUSTER NODES` output.
fn cluster_owner(text: &str, slot: u32) -> Option<String> {
    text.lines().find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 9 || !f[2].split(',').any(|x| x == "master") || f[2].contains("fail") {
            return None;
        }
        let serves = f[8..].iter().any(|r| {
            let (a, b) = r.split_once('-').unwrap_or((r, r));
            matches!((a.parse::<u32>(), b.parse::<u32>()), (Ok(a), Ok(b)) if (a..=b).contains(&slot))
        });
        serves.then(|| f[1].split('@').next().unwrap_or("").to_string())
    })
}

/// A scratch redis-server on a free 127.0.0.1 port in a temporary directory: stopped and
/// removed on drop, whatever happened.
struct Scratch {
    child: std::process::Child,
    port: u32,
    dir: tempfile::TempDir,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u32, Error> {
    let l = std::net::TcpListener::bind((HOST, 0)).map_err(|e| Error::io("cannot find a free port", e))?;
    Ok(l.local_addr().map_err(|e| Error::io("cannot find a free port", e))?.port() as u32)
}

impl Scratch {
    /// Start redis-server (the binary the stack runs) on `dir`'s `dump.rdb`, listening on
    /// 127.0.0.1 only, persisting nothing, with no password: the restored keys are read by
    /// this drill only, and the server lives as long as the drill.
    fn start(stack: &Stack, dir: tempfile::TempDir) -> Result<Scratch, Error> {
        let binary = stack.binaries.find(crate::stack::Kind::Redis)?;
        let port = free_port()?;
        let mut cmd = std::process::Command::new(binary);
        cmd.current_dir(dir.path()).args([
            "--port",
            &port.to_string(),
            "--bind",
            HOST,
            "--dir",
            ".",
            "--dbfilename",
            "dump.rdb",
            "--appendonly",
            "no",
            "--save",
            "",
        ]);
        let child = crate::stack::spawn_logged(&mut cmd, &dir.path().join("scratch.log"), "the scratch server")?;
        Ok(Scratch { child, port, dir })
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("scratch.log")).unwrap_or_default()
    }
}

/// The restore drill: a fresh snapshot of the primary (BGSAVE), restored into a scratch server,
/// keys counted per sampled prefix in both. Returns the figures.
pub fn restore(env: &Environment, timeout: Duration) -> Result<RestoreDrill, Error> {
    let stack = ready_stack(env)?;
    let d = stack.deployment.clone();
    // The nodes that hold the data: the primary, or each cluster shard's primary (one
    // snapshot per shard, restored one after the other: the restore time is their sum).
    let primaries: Vec<String> = match d.contract.topology.mode {
        TopologyMode::Sentinel => vec![node_at(&d, stack.sentinel_master_addr()?.1)?],
        TopologyMode::Cluster => stack
            .status()
            .members
            .into_iter()
            .filter(|m| m.role == Some(LiveRole::Primary) && !m.slots.is_empty())
            .map(|m| m.name)
            .collect(),
        _ => vec![d.nodes[0].name.clone()],
    };
    let stamp = jiff::Timestamp::now();
    let mut total = Restored::default();
    for primary in &primaries {
        let one = restore_one(&stack, primary, timeout)?;
        total.ms += one.ms;
        total.source_keys += one.source_keys;
        total.restored_keys += one.restored_keys;
        for (p, (a, b)) in one.prefixes {
            let e = total.prefixes.entry(p).or_insert((0, 0));
            e.0 += a;
            e.1 += b;
        }
    }
    let counts: Vec<PrefixCount> = total
        .prefixes
        .into_iter()
        .map(|(prefix, (source, restored))| PrefixCount { prefix, source, restored })
        .collect();
    let matches = total.restored_keys == total.source_keys && counts.iter().all(|c| c.source == c.restored);
    Ok(RestoreDrill {
        at: stamp.to_string(),
        fingerprint: d.fingerprint.clone(),
        source: format!("dump.rdb of {} (fresh BGSAVE)", primaries.join(", ")),
        restore_ms: total.ms,
        source_keys: total.source_keys,
        restored_keys: total.restored_keys,
        prefixes: counts,
        matches,
    })
}

/// What one node's snapshot restored: time, keys in the source and restored, and per sampled
/// prefix (source, restored).
#[derive(Default)]
struct Restored {
    ms: u64,
    source_keys: u64,
    restored_keys: u64,
    prefixes: BTreeMap<String, (u64, u64)>,
}

fn restore_one(stack: &Stack, primary: &str, timeout: Duration) -> Result<Restored, Error> {
    let d = &stack.deployment;
    let mut con = stack.connect(primary)?;
    // A fresh snapshot: BGSAVE (SCHEDULE: after an AOF rewrite in progress), then wait until
    // the count of saves has moved on and none is in progress.
    let saves = |con: &mut redis::Connection| -> Result<(u64, bool, String), Error> {
        let info = fields(&query::<String>(con, primary, &["INFO", "persistence"])?);
        let n = info.get("rdb_saves").and_then(|v| v.parse().ok()).unwrap_or(0);
        let busy = info.get("rdb_bgsave_in_progress").map(String::as_str) != Some("0");
        Ok((n, busy, info.get("rdb_last_bgsave_status").cloned().unwrap_or_default()))
    };
    let (before, _, _) = saves(&mut con)?;
    let _: redis::Value = query(&mut con, primary, &["BGSAVE", "SCHEDULE"])?;
    crate::stack::poll(timeout, || match saves(&mut con)? {
        (n, false, status) if n > before && status == "ok" => Ok(()),
        (n, false, status) if n > before => {
            Err(Error::msg(format!("{primary}: BGSAVE failed ({status}; see its log)")))
        }
        _ => Err(Error::msg(format!("{primary}: BGSAVE did not finish within {timeout:?}"))),
    })?;
    let prefixes = sample_prefixes(&mut con, primary)?;
    let source_counts: Vec<u64> = prefixes.iter().map(|p| count(&mut con, primary, p)).collect::<Result<_, _>>()?;
    let source_keys: u64 = query(&mut con, primary, &["DBSIZE"])?;

    let dump = stack.run.member_dir(primary).join("dump.rdb");
    let scratch_dir = tempfile::Builder::new()
        .prefix("redisctl-restore-")
        .tempdir()
        .map_err(|e| Error::io("cannot create the scratch directory", e))?;
    crate::stack::make_private(scratch_dir.path())?;
    let started = Instant::now();
    copy(&dump, &scratch_dir.path().join("dump.rdb"))?;
    let scratch = Scratch::start(stack, scratch_dir)?;
    let mut scon = crate::stack::poll(timeout, || {
        let mut c = open(HOST, scratch.port, None)?;
        let info = fields(&query::<String>(&mut c, "the scratch server", &["INFO", "persistence"])?);
        match info.get("loading").map(String::as_str) {
            Some("0") => Ok(c),
            _ => Err(Error::msg("the scratch server is still loading")),
        }
    })
    .map_err(|e| Error::msg(format!("{e}\n  scratch server log:\n{}", scratch.log())))?;
    let ms = started.elapsed().as_millis() as u64;
    let info = fields(&query::<String>(&mut scon, "the scratch server", &["INFO", "server"])?);
    let version = info.get("redis_version").cloned().unwrap_or_default();
    if !version.starts_with(&format!("{}.", d.version().as_str())) {
        return Err(Error::msg(format!(
            "the scratch server runs Redis {version}, not the contract's {}",
            d.version().as_str()
        )));
    }
    let restored_keys: u64 = query(&mut scon, "the scratch server", &["DBSIZE"])?;
    let mut counts = BTreeMap::new();
    for (p, source) in prefixes.iter().zip(source_counts) {
        counts.insert(p.clone(), (source, count(&mut scon, "the scratch server", p)?));
    }
    Ok(Restored { ms, source_keys, restored_keys, prefixes: counts })
}

fn copy(from: &Path, to: &PathBuf) -> Result<(), Error> {
    std::fs::copy(from, to).map(|_| ()).map_err(|e| Error::io(format!("cannot copy {}", from.display()), e))
}

/// Key prefixes (up to the first `:`) of a bounded SCAN sample: at most 10, most common first.
fn sample_prefixes(con: &mut redis::Connection, at: &str) -> Result<Vec<String>, Error> {
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut cursor = "0".to_string();
    for _ in 0..10 {
        let (next, keys): (String, Vec<String>) = query(con, at, &["SCAN", &cursor, "COUNT", "100"])?;
        for k in keys {
            let p = k.split_once(':').map(|(p, _)| p.to_string()).unwrap_or_default();
            *seen.entry(p).or_insert(0) += 1;
        }
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    let mut v: Vec<(String, u64)> =
        seen.into_iter().filter(|(p, _)| !p.is_empty() && !p.contains(['*', '?', '[', '\\'])).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(v.into_iter().take(10).map(|(p, _)| p).collect())
}

/// Keys matching `<prefix>:*` (a full SCAN: each call is bounded by COUNT).
fn count(con: &mut redis::Connection, at: &str, prefix: &str) -> Result<u64, Error> {
    let pattern = format!("{prefix}:*");
    let mut n = 0u64;
    let mut cursor = "0".to_string();
    loop {
        let (next, keys): (String, Vec<String>) =
            query(con, at, &["SCAN", &cursor, "MATCH", &pattern, "COUNT", "1000"])?;
        n += keys.len() as u64;
        cursor = next;
        if cursor == "0" {
            return Ok(n);
        }
    }
}

/// Read the environment's drill record (a fresh one when there is none), let `update` change
/// it, and write it back atomically: `drills/<env>.json` in the project, meant to be committed.
pub fn keep(project_dir: &Path, env: &str, update: impl FnOnce(&mut DrillRecord)) -> Result<PathBuf, Error> {
    let path = project_dir.join(record_path(env));
    let mut record = match std::fs::read_to_string(&path) {
        Ok(text) => DrillRecord::parse(&text).map_err(|e| Error::msg(format!("{}: {e}", path.display())))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            DrillRecord { environment: env.to_string(), ..Default::default() }
        }
        Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
    };
    update(&mut record);
    let text = serde_json::to_string_pretty(&record).map_err(Error::msg)? + "\n";
    crate::util::fs::write_atomic(&path, text.as_bytes(), 0o644)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slot_owner_comes_from_cluster_nodes() {
        let text = "a 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460\n\
                    b 127.0.0.1:7001@17001 master - 0 0 2 connected 5461-10922\n\
                    c 127.0.0.1:7003@17003 slave b 0 0 2 connected\n";
        assert_eq!(cluster_owner(text, 6000).as_deref(), Some("127.0.0.1:7001"));
        assert_eq!(cluster_owner(text, 16000), None);
    }
}
