//! The live provider: the running configuration and ACL users of each reachable node.
//!
//! Observed with `CONFIG GET *` and `ACL LIST`, compared with what the contract renders
//! (after normalising: Redis answers `maxmemory` in bytes, `yes`/`no` in lower case, ...).
//! A difference is `live` when CONFIG SET can change it (all of a node's live changes go in
//! one CONFIG SET, atomic since Redis 7.0) and `restart-required` otherwise (directive table).
//! After a live change the node's own config file is rewritten (CONFIG REWRITE), so a restart
//! keeps it; the rendered file, written by the files provider, already says the same.
//!
//! Drift: the state records, per node, the values redisctl last applied. A live value that
//! differs from both the contract and that record was changed by hand (`CONFIG SET` from a
//! shell) and is reported as drift; apply puts it back.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::model::directives::{Apply, Directives, Kind};
use crate::model::UserRole;
use crate::plan::state::State;
use crate::plan::{Action, Address, ApplyOptions, Outcome, Provider, ProviderPlan, ResourceChange, Shown, WaitsFor};
use crate::redact::redact_text;
use crate::render::acl_users;
use crate::resolve::{Deployment, Node, Sentinel};
use crate::secrets::Secret;
use crate::units::{format_size, parse_size};

pub const NAME: &str = "redis";
/// The kinds of this provider's resources.
const CONFIG: &str = "redis-config";
const ACL_USER: &str = "acl-user";
const SENTINEL_CONFIG: &str = "sentinel-config";

/// What the state keeps per node or Sentinel: the values redisctl last set (to tell a hand
/// change from a contract change), and per ACL user what it set and how Redis printed it.
#[derive(Debug, Default, Serialize, Deserialize)]
struct MemberRecord {
    #[serde(default)]
    config: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    acl: BTreeMap<String, AclRecord>,
}

#[derive(Debug, Serialize, Deserialize)]
struct AclRecord {
    /// The hash of the command rules redisctl set.
    desired: String,
    /// The command rules as Redis printed them after setting them.
    commands: String,
}

fn member_address(name: &str) -> Address {
    Address::new(NAME, name)
}

pub struct LiveRedis {
    deployment: Deployment,
    /// The local stack, if this is one: only its running members are observed (a foreign
    /// server on the same port is never touched), and `--allow-restart` may restart them.
    stack: Option<crate::stack::Stack>,
    /// Nodes with restart-required changes to restart in `finish`, one at a time.
    pending_restarts: Vec<String>,
    /// (node, directive, value) of live settings to set in `finish`, grouped per node.
    pending_config: Vec<(String, String, String)>,
    /// Where this target's nodes are and how its services restart (the target's placement).
    placement: Placement,
}

/// What the live provider needs from the target: the host clients reach a node or Sentinel
/// (by name) at, and how to restart a node redisctl does not run itself.
#[derive(Clone, Copy)]
pub struct Placement {
    pub host: fn(&Deployment, &str) -> String,
    pub restart: fn(&Deployment, &Node) -> String,
}

/// Connect to a node, at the address clients of its target use, as the operator user (or the
/// open `default` user when auth is optional).
pub fn connect(d: &Deployment, host: &str, node: &Node) -> Result<redis::Connection, String> {
    let mut con = open(d, host, node.port)?;
    if d.auth_required() {
        let (user, secret): (&str, &Secret) = d
            .user_with_role(UserRole::Operator)
            .and_then(|u| u.secret.as_ref().map(|s| (u.spec.name.as_str(), s)))
            .ok_or("managing live nodes needs an ACL user with `role: operator` (auth is required)")?;
        redis::cmd("AUTH")
            .arg(user)
            .arg(secret.expose())
            .exec(&mut con)
            .map_err(|e| format!("{host}:{}: AUTH as {user}: {}", node.port, crate::client::explain(&e)))?;
    }
    Ok(con)
}

/// Connect to a Sentinel, at the address clients of its target use, as the `role: sentinel`
/// user when Sentinels require auth: the one user their ACL allows SENTINEL SET.
pub fn connect_sentinel(d: &Deployment, host: &str, s: &Sentinel) -> Result<redis::Connection, String> {
    let mut con = open(d, host, s.port)?;
    if crate::render::sentinel_auth_required(d) {
        let (user, secret): (&str, &Secret) = d
            .user_with_role(UserRole::Sentinel)
            .and_then(|u| u.secret.as_ref().map(|s| (u.spec.name.as_str(), s)))
            .ok_or("managing live Sentinels needs the password of the `role: sentinel` user")?;
        redis::cmd("AUTH")
            .arg(user)
            .arg(secret.expose())
            .exec(&mut con)
            .map_err(|e| format!("{host}:{}: AUTH as {user}: {}", s.port, crate::client::explain(&e)))?;
    }
    Ok(con)
}

/// A connection to a node or Sentinel at `host:port` (over TLS when the contract turns it on).
fn open(d: &Deployment, host: &str, port: u32) -> Result<redis::Connection, String> {
    let timeouts = crate::client::Timeouts { connect: Duration::from_secs(1), command: Duration::from_secs(5) };
    crate::client::open(&d.contract.security.tls, host, port, None, timeouts)
        .map_err(|e| format!("{host}:{port}: {}", crate::client::explain(&e)))
}

/// The Sentinel settings of the contract, by the names `SENTINEL MASTER` and `SENTINEL SET`
/// use. Everything else Sentinel reports (current primary, known replicas and Sentinels,
/// epochs) is runtime state it keeps itself, never drift.
pub fn desired_sentinel_config(d: &Deployment) -> BTreeMap<&'static str, String> {
    let t = &d.contract.topology;
    BTreeMap::from([
        ("quorum", d.quorum.to_string()),
        ("down-after-milliseconds", t.down_after.0.to_string()),
        ("failover-timeout", t.failover_timeout.0.to_string()),
        ("parallel-syncs", t.parallel_syncs.to_string()),
    ])
}

/// `SENTINEL MASTER <name>` as field → value.
fn sentinel_master(d: &Deployment, con: &mut redis::Connection) -> Result<BTreeMap<String, String>, String> {
    redis::cmd("SENTINEL")
        .arg("MASTER")
        .arg(&d.master_name)
        .query(con)
        .map_err(|e| format!("SENTINEL MASTER {}: {e}", d.master_name))
}

/// A node that is down (refused, or silent): skipped with a warning, not an error.
fn unreachable(e: &str) -> bool {
    e.contains("connection refused") || e.contains("no answer within")
}

/// The directives a node should run with, as (name, value) in redis.conf spelling, for the
/// settings that can differ between the rendered file and a running server.
pub fn desired_config(d: &Deployment) -> BTreeMap<String, String> {
    d.settings.running()
}

/// Compare a wanted and a live value the way Redis means them.
pub fn same_value(name: &str, want: &str, live: &str) -> bool {
    let kind = Directives::get().find(name).map(|d| d.kind);
    match kind {
        Some(Kind::Memory) => parse_size(want).ok() == parse_size(live).ok(),
        Some(Kind::Bool) | Some(Kind::Enum) => want.eq_ignore_ascii_case(live),
        _ => want.split_whitespace().eq(live.split_whitespace()),
    }
}

fn show(name: &str, value: &str) -> String {
    match Directives::get().find(name).map(|d| d.kind) {
        Some(Kind::Memory) => parse_size(value).map(format_size).unwrap_or_else(|_| value.to_string()),
        _ => value.to_string(),
    }
}

fn sorted_words<'a>(words: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut v: Vec<&str> = words.filter(|w| !w.is_empty()).collect();
    v.sort_unstable();
    v
}

fn rules_hash(rules: &[String]) -> String {
    hex::encode(Sha256::digest(rules.join(" ").as_bytes()))
}

/// `ACL LIST` lines by user name.
fn acl_list(con: &mut redis::Connection) -> Result<BTreeMap<String, String>, String> {
    let lines: Vec<String> = redis::cmd("ACL").arg("LIST").query(con).map_err(|e| crate::client::explain(&e))?;
    Ok(lines
        .into_iter()
        .filter_map(|l| {
            l.strip_prefix("user ").and_then(|r| r.split_once(' ')).map(|(n, _)| (n.to_string(), l.clone()))
        })
        .collect())
}

impl LiveRedis {
    pub fn new(deployment: Deployment, placement: Placement) -> Self {
        LiveRedis { deployment, stack: None, pending_restarts: Vec::new(), pending_config: Vec::new(), placement }
    }

    fn connect_node(&self, node: &Node) -> Result<redis::Connection, String> {
        connect(&self.deployment, &(self.placement.host)(&self.deployment, &node.name), node)
    }

    fn connect_sentinel(&self, s: &Sentinel) -> Result<redis::Connection, String> {
        connect_sentinel(&self.deployment, &(self.placement.host)(&self.deployment, &s.name), s)
    }

    /// Manage the nodes of this local stack.
    pub fn with_stack(mut self, stack: crate::stack::Stack) -> Self {
        self.stack = Some(stack);
        self
    }

    /// What to do about a restart-required change of a node redisctl does not run itself: the
    /// rendered file already has the new value, so restarting the service applies it.
    fn restart_hint(&self, node: &Node) -> String {
        let how = (self.placement.restart)(&self.deployment, node);
        format!(
            "redisctl restarts only local stacks; once the rendered files are deployed, {how} \
             (replicas first, fail over before a primary)"
        )
    }

    /// Whether to look at a node or Sentinel: on a local stack only its own running members
    /// (a foreign server on the same port is never touched); elsewhere every one.
    fn ours(&self, name: &str) -> bool {
        self.stack.as_ref().is_none_or(|stack| stack.pid(name).ok().flatten().is_some())
    }

    fn node(&self, name: &str) -> Result<&Node, Error> {
        self.deployment.nodes.iter().find(|n| n.name == name).ok_or_else(|| Error::msg(format!("no node {name}")))
    }

    fn member_record(state: &State, name: &str) -> Result<MemberRecord, String> {
        Ok(state.record(&member_address(name)).map_err(|e| e.to_string())?.unwrap_or_default())
    }

    fn plan_node(
        &self,
        node: &Node,
        state: &State,
        changes: &mut Vec<ResourceChange>,
        seen: &mut Vec<String>,
    ) -> Result<(), String> {
        let d = &self.deployment;
        let Some(mut con) = self.reach(&node.name, self.connect_node(node), seen)? else { return Ok(()) };
        let live: BTreeMap<String, String> = redis::cmd("CONFIG").arg("GET").arg("*").query(&mut con).map_err(|e| {
            let host = (self.placement.host)(d, &node.name);
            format!("{} ({host}:{}): CONFIG GET: {}", node.name, node.port, crate::client::explain(&e))
        })?;
        let recorded = Self::member_record(state, &node.name)?;
        let table = Directives::get();
        let desired = desired_config(d);
        for (name, want) in desired.clone() {
            let Some(have) = live.get(&name) else { continue };
            seen.push(format!("{}/{name}={have}", node.name));
            if same_value(&name, &want, have) {
                continue;
            }
            let mut c =
                ResourceChange::new(NAME, Address::new(CONFIG, format!("{}/{name}", node.name)), Action::Update);
            c.before = Some(Shown::Text(show(&name, have)));
            c.after = Some(Shown::Text(show(&name, &want)));
            c.expect = Some(want.clone());
            match table.find(&name).map(|x| x.apply) {
                Some(Apply::Live) | None => c.flags.live = true,
                Some(Apply::Restart) | Some(Apply::Protected) => {
                    c.flags.restart_required = true;
                    if self.stack.is_none() {
                        c.reason = Some(self.restart_hint(node));
                    }
                }
            }
            let last = recorded.config.get(&name);
            if last.is_some_and(|l| same_value(&name, l, &want)) {
                c.flags.drift = true;
                c.reason = Some("changed outside redisctl".into());
            }
            changes.push(c);
        }
        // A directive redisctl set that has left the contract goes back to Redis's default: the
        // rendered file no longer names it, so that is also what the next restart gives.
        let set_before = recorded.config.keys();
        for name in set_before.filter(|n| !desired.contains_key(*n)) {
            let default = table.find(name).and_then(|x| x.default_in(d.version()));
            let (Some(have), Some(default)) = (live.get(name), default) else { continue };
            seen.push(format!("{}/{name}={have}", node.name));
            if same_value(name, default, have) {
                continue;
            }
            let mut c =
                ResourceChange::new(NAME, Address::new(CONFIG, format!("{}/{name}", node.name)), Action::Update);
            c.before = Some(Shown::Text(show(name, have)));
            c.after = Some(Shown::Text(show(name, default)));
            c.expect = Some(default.to_string());
            c.flags.live = true; // only live directives carry a default in the table
            c.reason = Some("removed from the contract: back to the Redis default".into());
            changes.push(c);
        }
        // ACL users: compared by meaning (flags, password hashes, key and channel patterns,
        // command rules), since Redis prints rules in its own normal form.
        let live_users = acl_list(&mut con)?;
        let wanted = acl_users(d)?;
        for (user, rules) in &wanted {
            let addr = Address::new(ACL_USER, format!("{}/{user}", node.name));
            let want = AclRules::parse(rules.iter().map(String::as_str));
            let live_line = live_users.get(user);
            let have = live_line.map(|l| AclRules::parse(l.split(' ').skip(2)));
            seen.push(format!("{addr} {}", live_line.map(|l| rules_hash(std::slice::from_ref(l))).unwrap_or_default()));
            // Redis rewrites command rules into its own expanded form, so commands are compared
            // with what was recorded when redisctl last set them (see `finish`).
            let rec = recorded.acl.get(user);
            let commands_changed = rec.is_some_and(|r| r.desired != want.commands_hash());
            // Redis prints the expanded rules in no stable order (it differs after a restart).
            let commands_drifted = rec.zip(have.as_ref()).is_some_and(|(r, h)| {
                sorted_words(r.commands.split(' ')) != sorted_words(h.commands.iter().map(String::as_str))
            });
            if have.as_ref().is_some_and(|h| h.same_apart_from_commands(&want))
                && !commands_changed
                && !commands_drifted
            {
                continue;
            }
            let mut c = ResourceChange::new(NAME, addr, if have.is_some() { Action::Update } else { Action::Create });
            c.flags.live = true;
            c.expect = Some(rules_hash(rules));
            let (after, n) = redact_text("", &format!("user {user} {}", rules.join(" ")));
            c.after = Some(Shown::Text(after));
            c.redacted = n;
            if let (Some(line), Some(have)) = (live_line, &have) {
                let (before, n) = redact_text("", line);
                c.before = Some(Shown::Text(before));
                c.redacted += n;
                let only_passwords = have.same_apart_from_passwords(&want) && !commands_changed && !commands_drifted;
                if only_passwords && want.passwords.is_subset(&have.passwords) {
                    c.reason =
                        Some("finish password rotation: remove the old password (needs --finish-rotation)".into());
                    c.flags.waits_for = Some(WaitsFor::FinishRotation);
                } else if only_passwords && want.passwords.len() > 1 {
                    c.reason = Some(
                        "password rotation: the new password is added; the old one (`previousPassword`) stays valid, \
                         in the rendered ACL file too, until it leaves the contract and --finish-rotation removes it"
                            .into(),
                    );
                } else if only_passwords {
                    c.reason = Some(
                        "password rotation: the new password is added, the old one stays valid until \
                         --finish-rotation — on running nodes only: a node that restarts reads the rendered ACL file \
                         and forgets it; set `previousPassword` to keep the window across restarts"
                            .into(),
                    );
                } else if commands_drifted || (!commands_changed && !have.same_apart_from_commands(&want)) {
                    c.flags.drift = true;
                    c.reason = Some("changed outside redisctl".into());
                }
            }
            changes.push(c);
        }
        for user in live_users.keys().filter(|u| !wanted.iter().any(|(w, _)| w == *u)) {
            let mut c =
                ResourceChange::new(NAME, Address::new(ACL_USER, format!("{}/{user}", node.name)), Action::Delete);
            c.flags.live = true;
            c.reason = Some("not in the contract".into());
            changes.push(c);
        }
        Ok(())
    }
}

impl LiveRedis {
    /// A connection to a member that runs, `None` (noted in `seen`) for one that does not: it
    /// starts from the rendered file.
    fn reach(
        &self,
        name: &str,
        con: Result<redis::Connection, String>,
        seen: &mut Vec<String>,
    ) -> Result<Option<redis::Connection>, String> {
        if !self.ours(name) {
            seen.push(format!("{name} not running"));
            return Ok(None);
        }
        match con {
            Ok(c) => Ok(Some(c)),
            Err(e) if unreachable(&e) => {
                if self.stack.is_none() {
                    // Not ours to start: say so, or a plan of an unreachable fleet looks clean.
                    tracing::warn!("{name} is not reachable ({e}): its live settings were not read");
                }
                seen.push(format!("{name} down"));
                Ok(None)
            }
            Err(e) => Err(format!("{name}: {e}")),
        }
    }

    /// The contract's Sentinel settings against what a running Sentinel monitors with; a
    /// difference is a live `SENTINEL SET`.
    fn plan_sentinel(
        &self,
        s: &Sentinel,
        state: &State,
        changes: &mut Vec<ResourceChange>,
        seen: &mut Vec<String>,
    ) -> Result<(), String> {
        let d = &self.deployment;
        let Some(mut con) = self.reach(&s.name, self.connect_sentinel(s), seen)? else { return Ok(()) };
        let live = sentinel_master(d, &mut con).map_err(|e| format!("{}: {e}", s.name))?;
        let recorded = Self::member_record(state, &s.name)?;
        for (name, want) in desired_sentinel_config(d) {
            let have = live.get(name).cloned().unwrap_or_default();
            seen.push(format!("{}/{name}={have}", s.name));
            if have == want {
                continue;
            }
            let mut c =
                ResourceChange::new(NAME, Address::new(SENTINEL_CONFIG, format!("{}/{name}", s.name)), Action::Update);
            c.before = Some(Shown::Text(have));
            c.after = Some(Shown::Text(want.clone()));
            c.flags.live = true;
            if recorded.config.get(name) == Some(&want) {
                c.flags.drift = true;
                c.reason = Some("changed outside redisctl".into());
            }
            c.expect = Some(want);
            changes.push(c);
        }
        Ok(())
    }
}

impl LiveRedis {
    /// One CONFIG SET per node with every changed live setting: atomic since Redis 7.0. Older
    /// servers take one pair per call, so a failure rolls back what this call already set.
    /// Then CONFIG REWRITE, so a restart keeps the values.
    fn set_pending_config(&mut self, state: &mut State) -> Result<(), Error> {
        let pending = std::mem::take(&mut self.pending_config);
        let mut nodes: Vec<&String> = pending.iter().map(|(n, _, _)| n).collect();
        nodes.sort();
        nodes.dedup();
        for name in nodes {
            let node = self.node(name)?.clone();
            let pairs: Vec<(&String, &String)> =
                pending.iter().filter(|(n, _, _)| n == name).map(|(_, k, v)| (k, v)).collect();
            let mut con = self.connect_node(&node).map_err(Error::msg)?;
            let fail = |e: redis::RedisError| Error::msg(format!("CONFIG SET on {name}: {e}"));
            if self.deployment.version() >= crate::model::RedisVersion::V7_0 {
                let mut cmd = redis::cmd("CONFIG");
                cmd.arg("SET");
                for (k, v) in &pairs {
                    cmd.arg(k.as_str()).arg(v.as_str());
                }
                cmd.exec(&mut con).map_err(fail)?;
            } else {
                let mut done: Vec<(&String, String)> = Vec::new();
                for (k, v) in &pairs {
                    let old: Vec<String> =
                        redis::cmd("CONFIG").arg("GET").arg(k.as_str()).query(&mut con).map_err(fail)?;
                    if let Err(e) = redis::cmd("CONFIG").arg("SET").arg(k.as_str()).arg(v.as_str()).exec(&mut con) {
                        for (rk, rv) in done.iter().rev() {
                            let _ = redis::cmd("CONFIG").arg("SET").arg(rk.as_str()).arg(rv).exec(&mut con);
                        }
                        return Err(fail(e));
                    }
                    done.push((k, old.get(1).cloned().unwrap_or_default()));
                }
            }
            redis::cmd("CONFIG")
                .arg("REWRITE")
                .exec(&mut con)
                .map_err(|e| Error::msg(format!("CONFIG REWRITE on {name}: {e}")))?;
            let mut record = Self::member_record(state, name).map_err(Error::msg)?;
            for (k, v) in pairs {
                record.config.insert(k.clone(), v.clone());
            }
            state.put(&member_address(name), &record)?;
        }
        Ok(())
    }
}

impl LiveRedis {
    /// `SENTINEL SET`: Sentinel applies it at once and rewrites its own config file.
    fn set_sentinel(
        &mut self,
        name: &str,
        item: &str,
        change: &ResourceChange,
        state: &mut State,
    ) -> Result<Outcome, Error> {
        let d = &self.deployment;
        let s = d.sentinels.iter().find(|s| s.name == name).ok_or_else(|| Error::msg(format!("no Sentinel {name}")))?;
        let want = change.expect.clone().unwrap_or_default();
        if desired_sentinel_config(d).get(item) != Some(&want) {
            return Err(Error::msg("the contract's Sentinel settings differ from the plan; plan again"));
        }
        let mut con = self.connect_sentinel(s).map_err(Error::msg)?;
        redis::cmd("SENTINEL")
            .arg("SET")
            .arg(&d.master_name)
            .arg(item)
            .arg(&want)
            .exec(&mut con)
            .map_err(|e| Error::msg(format!("SENTINEL SET {} {item} on {name}: {e}", d.master_name)))?;
        let mut record = Self::member_record(state, name).map_err(Error::msg)?;
        record.config.insert(item.to_string(), want);
        state.put(&member_address(name), &record)?;
        Ok(Outcome::Applied)
    }
}

impl Provider for LiveRedis {
    fn name(&self) -> &'static str {
        NAME
    }

    fn plan(&mut self, state: &State) -> Result<ProviderPlan, Error> {
        let mut changes = Vec::new();
        let mut seen = Vec::new();
        for node in &self.deployment.nodes {
            self.plan_node(node, state, &mut changes, &mut seen).map_err(Error::msg)?;
        }
        for s in &self.deployment.sentinels {
            self.plan_sentinel(s, state, &mut changes, &mut seen).map_err(Error::msg)?;
        }
        Ok(ProviderPlan { changes, observed: hex::encode(Sha256::digest(seen.join("\n").as_bytes())) })
    }

    fn apply(&mut self, change: &ResourceChange, state: &mut State, opts: &ApplyOptions) -> Result<Outcome, Error> {
        let kind = change.address.kind();
        let (node_name, item) = change.address.path().split_once('/').unwrap_or((change.address.path(), ""));
        if kind == SENTINEL_CONFIG {
            return self.set_sentinel(node_name, item, change, state);
        }
        let node = self.node(node_name)?.clone();
        if change.flags.restart_required {
            if self.stack.is_none() {
                return Ok(Outcome::Skipped(format!("`{item}` needs a restart: {}", self.restart_hint(&node))));
            }
            if !opts.allow_restart {
                return Ok(Outcome::Skipped(format!(
                    "`{item}` only changes with a restart; re-run with --allow-restart for a rolling restart"
                )));
            }
            if !self.pending_restarts.contains(&node.name) {
                self.pending_restarts.push(node.name.clone());
            }
            return Ok(Outcome::Applied);
        }
        let mut con = self.connect_node(&node).map_err(Error::msg)?;
        let mut record = Self::member_record(state, node_name).map_err(Error::msg)?;
        match kind {
            CONFIG => {
                // Collected here and set in `finish`: all of a node's settings in one CONFIG SET.
                let want = change.expect.clone().unwrap_or_default();
                self.pending_config.push((node.name.clone(), item.to_string(), want));
                return Ok(Outcome::Applied);
            }
            ACL_USER if change.action == Action::Delete => {
                redis::cmd("ACL")
                    .arg("DELUSER")
                    .arg(item)
                    .exec(&mut con)
                    .map_err(|e| Error::msg(format!("ACL DELUSER: {e}")))?;
                record.acl.remove(item);
            }
            ACL_USER => {
                let users = acl_users(&self.deployment).map_err(Error::msg)?;
                let rules = users
                    .iter()
                    .find(|(u, _)| u == item)
                    .map(|(_, r)| r.clone())
                    .ok_or_else(|| Error::msg(format!("user {item} is no longer rendered")))?;
                if change.expect.as_deref() != Some(rules_hash(&rules).as_str()) {
                    return Err(Error::msg("the rendered ACL rules differ from the plan; plan again"));
                }
                let want = AclRules::parse(rules.iter().map(String::as_str));
                let live = acl_list(&mut con).map_err(Error::msg)?;
                let have = live.get(item).map(|l| AclRules::parse(l.split(' ').skip(2)));
                let finishing = change.flags.waits_for == Some(WaitsFor::FinishRotation);
                if finishing && !WaitsFor::FinishRotation.given(opts) {
                    return Ok(Outcome::Skipped(
                        "the old password stays valid until you re-run with --finish-rotation".into(),
                    ));
                }
                // Everything but passwords is reset and set again; passwords are only added, so
                // clients using the old one keep working until the rotation is finished.
                let mut cmd = redis::cmd("ACL");
                cmd.arg("SETUSER").arg(item).arg("resetkeys").arg("resetchannels").arg("-@all");
                for r in rules.iter().filter(|r| r.as_str() != "reset") {
                    cmd.arg(r);
                }
                if opts.finish_rotation {
                    for old in have.iter().flat_map(|h| h.passwords.difference(&want.passwords)) {
                        cmd.arg(format!("!{old}"));
                    }
                }
                cmd.exec(&mut con).map_err(|e| {
                    Error::msg(format!(
                        "ACL SETUSER {item} failed: {:?} (details withheld: they may quote password hashes)",
                        e.kind()
                    ))
                })?;
                let line = acl_list(&mut con).map_err(Error::msg)?.remove(item).unwrap_or_default();
                let live_commands = AclRules::parse(line.split(' ').skip(2)).commands.join(" ");
                record
                    .acl
                    .insert(item.to_string(), AclRecord { desired: want.commands_hash(), commands: live_commands });
            }
            _ => return Err(Error::msg(format!("unknown live resource {}", change.address))),
        }
        state.put(&member_address(node_name), &record)?;
        Ok(Outcome::Applied)
    }

    /// Record what each running node has where it matches the contract, so the next plan can
    /// tell a hand change (drift) from a contract change.
    fn finish(&mut self, state: &mut State) -> Result<(), Error> {
        self.set_pending_config(state)?;
        if let (Some(stack), false) = (&self.stack, self.pending_restarts.is_empty()) {
            for step in stack.rolling_restart(&self.pending_restarts, Duration::from_secs(120))? {
                tracing::info!("rolling restart: {step}");
            }
            self.pending_restarts.clear();
        }
        let d = self.deployment.clone();
        let wanted = acl_users(&d).map_err(Error::msg)?;
        for s in &d.sentinels {
            let Some(mut con) = self.connect_sentinel(s).ok().filter(|_| self.ours(&s.name)) else { continue };
            let Ok(live) = sentinel_master(&d, &mut con) else { continue };
            let mut record = Self::member_record(state, &s.name).map_err(Error::msg)?;
            for (name, want) in desired_sentinel_config(&d) {
                if live.get(name) == Some(&want) {
                    record.config.insert(name.to_string(), want);
                }
            }
            state.put(&member_address(&s.name), &record)?;
        }
        for node in &d.nodes {
            if !self.ours(&node.name) {
                continue;
            }
            let Ok(mut con) = self.connect_node(node) else { continue };
            let mut record = Self::member_record(state, &node.name).map_err(Error::msg)?;
            let live: BTreeMap<String, String> =
                redis::cmd("CONFIG").arg("GET").arg("*").query(&mut con).map_err(|e| Error::msg(e.to_string()))?;
            let desired = desired_config(&d);
            for (name, want) in &desired {
                if live.get(name).is_some_and(|have| same_value(name, want, have)) {
                    record.config.insert(name.clone(), want.clone());
                }
            }
            // A directive that left the contract stops being managed once it is back to its
            // default (or has no known default to go back to).
            let table = Directives::get();
            record.config.retain(|name, _| {
                let default = table.find(name).and_then(|x| x.default_in(d.version()));
                desired.contains_key(name)
                    || default.zip(live.get(name)).is_some_and(|(def, have)| !same_value(name, def, have))
            });
            let users = acl_list(&mut con).map_err(Error::msg)?;
            for (user, rules) in &wanted {
                let want = AclRules::parse(rules.iter().map(String::as_str));
                let recorded = record.acl.contains_key(user);
                if let (Some(line), false) = (users.get(user), recorded) {
                    // First sight of a node started from the rendered ACL file.
                    let commands = AclRules::parse(line.split(' ').skip(2)).commands.join(" ");
                    record.acl.insert(user.clone(), AclRecord { desired: want.commands_hash(), commands });
                }
            }
            state.put(&member_address(&node.name), &record)?;
        }
        Ok(())
    }
}

/// ACL rules by meaning, for comparing what we render with what `ACL LIST` prints.
#[derive(Debug, PartialEq, Eq)]
struct AclRules {
    enabled: bool,
    nopass: bool,
    passwords: std::collections::BTreeSet<String>,
    keys: std::collections::BTreeSet<String>,
    channels: std::collections::BTreeSet<String>,
    commands: Vec<String>,
}

impl AclRules {
    fn parse<'a>(tokens: impl Iterator<Item = &'a str>) -> AclRules {
        let mut r = AclRules {
            enabled: false,
            nopass: false,
            passwords: Default::default(),
            keys: Default::default(),
            channels: Default::default(),
            commands: Vec::new(),
        };
        for t in tokens {
            match t {
                "on" => r.enabled = true,
                "off" => r.enabled = false,
                "nopass" => r.nopass = true,
                "allkeys" => {
                    r.keys.insert("*".into());
                }
                "allchannels" => {
                    r.channels.insert("*".into());
                }
                "allcommands" => r.commands.push("+@all".into()),
                "nocommands" => r.commands.push("-@all".into()),
                _ if t.starts_with('#') => {
                    r.passwords.insert(t[1..].to_string());
                }
                _ if t.starts_with('~') => {
                    r.keys.insert(t[1..].to_string());
                }
                _ if t.starts_with('&') => {
                    r.channels.insert(t[1..].to_string());
                }
                _ if t.starts_with('+') || t.starts_with('-') => r.commands.push(t.to_string()),
                _ => {} // reset, resetkeys, resetchannels, sanitize-payload: no meaning of their own here
            }
        }
        // Redis prints a leading `-@all` (everything starts denied); so do our resets.
        while r.commands.first().is_some_and(|c| c == "-@all") {
            r.commands.remove(0);
        }
        r
    }

    fn same_apart_from_commands(&self, other: &AclRules) -> bool {
        (self.enabled, self.nopass, &self.passwords, &self.keys, &self.channels)
            == (other.enabled, other.nopass, &other.passwords, &other.keys, &other.channels)
    }

    fn same_apart_from_passwords(&self, other: &AclRules) -> bool {
        (self.enabled, self.nopass, &self.keys, &self.channels)
            == (other.enabled, other.nopass, &other.keys, &other.channels)
    }

    fn commands_hash(&self) -> String {
        rules_hash(&self.commands)
    }
}
