//! Semantic checks: what the schema cannot say about a Redis deployment.
//!
//! Each check reports diagnostics located with the merged document's span index, so a
//! problem points at the line that caused it. Codes are stable and listed in the README.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use super::merge::{pointer_escape, SpanIndex};
use super::yaml::{Node, Value as YamlValue};
use crate::diagnostics::{Diagnostic, Span};
use crate::model::acl;
use crate::model::directives::{Directives, Lookup};
use crate::model::topology::{layout, majority, Role};
use crate::model::{Auth, ConfigValue, Contract, TopologyMode, UserRole};
use crate::secrets::Secrets;
use crate::util::suggest::did_you_mean;

/// Reject control characters (newline, NUL, escape, tab, ...) in every key and string value:
/// they would let a value inject extra lines into redis.conf or an ACL file.
pub fn control_characters(doc: &Value, index: &SpanIndex) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    walk(doc, String::new(), &mut |pointer, key, value| {
        let (what, text, span) = match (key, value) {
            (Some(k), _) if k.chars().any(char::is_control) => ("key", k, index.key(pointer)),
            (_, Value::String(s)) if s.chars().any(char::is_control) => ("value", s.as_str(), index.value(pointer)),
            _ => return,
        };
        let c = text.chars().find(|c| c.is_control()).unwrap_or('\0');
        let d = Diagnostic::error(
            "RCTL060",
            format!("{} {what} contains the control character {:?}", super::schema::display_path(pointer), c),
        )
        .at(span)
        .hint(
            "newlines and other control characters would inject extra lines into redis.conf or ACL files; remove them",
        );
        diags.push(d);
    });
    diags
}

/// Spans of values under a `password` key that are not secret references, and of sensitive
/// `redis.config` directives (`requirepass`, `masterauth`, `tls-key-file-pass`, ...): an inline
/// plaintext secret (the mistake the checks reject) must not be echoed back in the source
/// snippet of a diagnostic, where terminals and CI logs would keep it.
pub fn inline_secret_spans(node: &Node, out: &mut Vec<Span>) {
    match &node.value {
        YamlValue::Map(entries) => {
            for (key, value) in entries {
                if key.name == "config" {
                    if let YamlValue::Map(directives) = &value.value {
                        let table = Directives::get();
                        for (name, v) in directives {
                            if table.find(&name.name).is_some_and(|d| d.sensitive) {
                                out.push(v.span);
                            }
                        }
                    }
                }
                if key.name == "previousPasswords" {
                    // A map of user → secret: each value is judged like a `password`.
                    if let YamlValue::Map(users) = &value.value {
                        for (_, secret) in users {
                            secret_value_spans(secret, out);
                        }
                    } else {
                        out.push(value.span);
                    }
                    continue;
                }
                if key.name != "password" && key.name != "authToken" {
                    inline_secret_spans(value, out);
                    continue;
                }
                secret_value_spans(value, out);
            }
        }
        YamlValue::Seq(items) => items.iter().for_each(|item| inline_secret_spans(item, out)),
        _ => {}
    }
}

/// The spans of a secret-holding value that are not references (`fromEnv`/`fromFile`).
fn secret_value_spans(value: &Node, out: &mut Vec<Span>) {
    let YamlValue::Map(refs) = &value.value else {
        out.push(value.span);
        return;
    };
    for (k, v) in refs {
        let is_reference = match (k.name.as_str(), &v.value) {
            ("fromFile", YamlValue::String(_)) => true,
            ("fromEnv", YamlValue::String(var)) => {
                var.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            }
            _ => false,
        };
        if !is_reference {
            out.push(v.span);
        }
    }
}

fn walk(v: &Value, pointer: String, f: &mut dyn FnMut(&str, Option<&str>, &Value)) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let p = format!("{pointer}/{}", pointer_escape(k));
                f(&p, Some(k), child);
                walk(child, p, f);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let p = format!("{pointer}/{i}");
                f(&p, None, child);
                walk(child, p, f);
            }
        }
        _ => {}
    }
}

/// All semantic checks of a typed contract.
pub fn check(c: &Contract, doc: &Value, index: &SpanIndex, project_dir: &Path, secrets: Secrets) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    directives(c, index, &mut diags);
    persistence(c, index, &mut diags);
    topology(c, doc, index, &mut diags);
    ports(c, index, &mut diags);
    users(c, index, project_dir, secrets, &mut diags);
    security(c, index, &mut diags);
    observability(c, index, &mut diags);
    state_backend(c, index, &mut diags);
    diags
}

/// `state`: an S3 backend names its bucket; S3 settings without the S3 backend would be ignored.
fn state_backend(c: &Contract, index: &SpanIndex, diags: &mut Vec<Diagnostic>) {
    use crate::model::StateBackendKind;
    let s = &c.state;
    match s.backend {
        StateBackendKind::S3 if s.bucket.is_none() => diags.push(
            Diagnostic::error("RCTL085", "`state.backend: s3` needs `state.bucket`")
                .at(index.value("/state/backend"))
                .hint("name the bucket that keeps the state and lock of every environment, e.g. `bucket: acme-redisctl-state`"),
        ),
        StateBackendKind::Local if s.bucket.is_some() || s.key.is_some() || s.region.is_some() => diags.push(
            Diagnostic::error("RCTL085", "`state.bucket`, `key` and `region` are settings of `backend: s3`, which is not set")
                .at(index.key("/state/bucket").or_else(|| index.key("/state/key")).or_else(|| index.key("/state")))
                .hint("add `backend: s3`, or remove them to keep the state in local files"),
        ),
        _ => {}
    }
    if s.key.as_deref().is_some_and(|k| !k.contains("{env}")) && s.backend == StateBackendKind::S3 {
        // A fixed key in the base contract would give every environment one state; the load
        // refuses a state of another environment, but say it where it is written.
        diags.push(
            Diagnostic::warning("RCTL085", "`state.key` has no `{env}`: only one environment can keep its state there")
                .at(index.value("/state/key"))
                .hint("write `{env}` where the environment's name goes, e.g. `redisctl/orders/{env}.json`"),
        );
    }
}

/// `observability`: an exporter user that exists (a dedicated `role: exporter` one when auth is
/// required: the operator's `+@all` is not for a scraper), SLOs whose fast-burn alert can fire,
/// latency classes named once, exporter ports clear of the nodes'.
fn observability(c: &Contract, index: &SpanIndex, diags: &mut Vec<Diagnostic>) {
    use crate::model::observability::{burn_rate, BURN_TIERS, DEFAULT_EXPORTER_PORT};
    let Some(spec) = &c.observability else {
        return;
    };
    let managed = c.target.facts().managed.is_some();
    match &spec.exporter_user {
        Some(name) if !c.acl.users.iter().any(|u| &u.name == name) => diags.push(
            Diagnostic::error("RCTL080", format!("`observability.exporterUser` names `{name}`, which is not in `acl.users`"))
                .at(index.value("/observability/exporterUser")),
        ),
        None if !managed
            && c.security.auth == Auth::Required
            && !c.acl.users.iter().any(|u| u.role == UserRole::Exporter) =>
        {
            diags.push(
                Diagnostic::error("RCTL080", "`observability` needs an ACL user for the exporters, but none has `role: exporter`")
                    .at(index.exact("/acl/users").or_else(|| index.value("/observability")))
                    .hint("add a user with `role: exporter` and a password reference: it may run INFO, SLOWLOG and LATENCY, and read no keys"),
            )
        }
        _ => {}
    }
    let (fast_share, fast_hours) = (BURN_TIERS[0].0, BURN_TIERS[0].1);
    let mut objectives = Vec::new();
    if let Some(a) = &spec.slos.availability {
        objectives.push(("/observability/slos/availability".to_string(), a.objective, a.window_days));
    }
    let latency = spec.slos.latency.as_deref().unwrap_or_default();
    for (i, l) in latency.iter().enumerate() {
        objectives.push((format!("/observability/slos/latency/{i}"), l.objective, l.window_days));
        if latency[..i].iter().any(|o| o.name == l.name) {
            diags.push(
                Diagnostic::error("RCTL080", format!("latency class `{}` is declared twice", l.name))
                    .at(index.value(&format!("/observability/slos/latency/{i}/name"))),
            );
        }
    }
    for (at, objective, days) in objectives {
        let limit = burn_rate(fast_share, fast_hours, days) * (1.0 - objective / 100.0);
        if limit.is_nan() || limit >= 1.0 {
            diags.push(
                Diagnostic::error(
                    "RCTL080",
                    format!(
                        "objective {objective}% over {days} days can never page: spending 2% of its budget in an hour needs an error ratio of {limit:.2}, above 100%"
                    ),
                )
                .at(index.value(&format!("{at}/objective")))
                .hint("raise the objective or shorten `windowDays`"),
            );
        }
    }
    // One host (process, compose): the exporters' ports must not take a node's or Sentinel's.
    if c.target.facts().one_host {
        let (nodes, sentinels) = layout(c);
        let first = spec.exporter_port.unwrap_or(DEFAULT_EXPORTER_PORT);
        let taken: Vec<u32> = nodes
            .iter()
            .flat_map(|n| [Some(n.port), n.bus_port])
            .flatten()
            .chain(sentinels.iter().map(|s| s.port))
            .collect();
        let ports = first..first.saturating_add(nodes.len() as u32);
        if let Some(p) = ports.clone().find(|p| taken.contains(p)) {
            diags.push(
                Diagnostic::error("RCTL080", format!("exporter port {p} is also a Redis or Sentinel port"))
                    .at(index.value("/observability/exporterPort").or_else(|| index.value("/observability"))),
            );
        }
        if ports.end > 65536 {
            diags.push(
                Diagnostic::error("RCTL080", format!("exporter ports from {first} run past 65535"))
                    .at(index.value("/observability/exporterPort")),
            );
        }
    }
}

/// The values a config entry stands for, one per redis.conf line.
pub fn config_lines(value: &ConfigValue) -> Vec<String> {
    match value {
        ConfigValue::Bool(b) => vec![if *b { "yes" } else { "no" }.to_string()],
        ConfigValue::Int(i) => vec![i.to_string()],
        ConfigValue::String(s) => vec![s.clone()],
        ConfigValue::List(items) => items.clone(),
    }
}

fn directives(c: &Contract, index: &SpanIndex, diags: &mut Vec<Diagnostic>) {
    let table = Directives::get();
    let version = c.redis.version;
    // Directive names are case-insensitive and old spellings are aliases: `Timeout` and
    // `timeout`, or `slave-read-only` and `replica-read-only`, are one setting twice.
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for (name, value) in &c.redis.config {
        if let Some(d) = table.find(name) {
            if let Some(first) = seen.insert(d.name.as_str(), name.as_str()) {
                let pointer = format!("/redis/config/{}", pointer_escape(name));
                diags.push(
                    Diagnostic::error("RCTL034", format!("`{name}` sets the same directive as `{first}`"))
                        .at(index.key(&pointer))
                        .hint(if name.eq_ignore_ascii_case(first) {
                            "redis.conf directive names are case-insensitive; keep one entry".to_string()
                        } else {
                            format!("both are spellings of `{}` (old names are aliases); keep one entry", d.name)
                        }),
                );
                continue;
            }
        }
        let pointer = format!("/redis/config/{}", pointer_escape(name));
        let key_span = index.key(&pointer);
        let value_span = index.value(&pointer);
        let directive = match table.lookup(name, version) {
            Lookup::Available(d) => d,
            Lookup::Unknown => {
                let mut d = Diagnostic::error("RCTL030", format!("unknown redis.conf directive `{name}`")).at(key_span);
                if let Some(s) = did_you_mean(name, table.names(version)) {
                    d = d.hint(format!("did you mean `{s}`?"));
                }
                diags.push(d);
                continue;
            }
            Lookup::TooNew(d) => {
                diags.push(
                    Diagnostic::error(
                        "RCTL031",
                        format!("`{name}` needs Redis {} or later; this contract uses {}", d.since, version.as_str()),
                    )
                    .at(key_span)
                    .hint(format!("raise `redis.version` to {} or remove `{name}`", d.since)),
                );
                continue;
            }
            Lookup::Removed(d) => {
                diags.push(
                    Diagnostic::error(
                        "RCTL031",
                        format!(
                            "`{name}` was removed in Redis {}; this contract uses {}",
                            d.until.as_deref().unwrap_or("?"),
                            version.as_str()
                        ),
                    )
                    .at(key_span),
                );
                continue;
            }
        };
        if let Some(instead) = &directive.reserved {
            diags.push(
                Diagnostic::error(
                    "RCTL032",
                    format!("`{name}` is set by redisctl and cannot be given in `redis.config`"),
                )
                .at(key_span)
                .hint(instead.clone()),
            );
            continue;
        }
        if directive.sensitive {
            diags.push(
                Diagnostic::error("RCTL032", format!("`{name}` holds a secret and cannot be given in `redis.config`"))
                    .at(key_span)
                    .hint("passwords come from `acl.users[].password` references"),
            );
            continue;
        }
        let lines = config_lines(value);
        if matches!(value, ConfigValue::List(_)) && !directive.multi {
            diags.push(
                Diagnostic::error("RCTL033", format!("`{name}` takes a single value, not a list")).at(value_span),
            );
            continue;
        }
        for line in &lines {
            if let Err(msg) = directive.check_value(line) {
                diags.push(Diagnostic::error("RCTL033", msg).at(value_span));
            }
        }
    }
}

/// `persistence.snapshots`: each entry becomes a `save <seconds> <changes>` line, which
/// redis-server refuses unless both are whole numbers, seconds at least 1 (config.c,
/// setConfigSaveOption; 6.2 reads them with atoi, so `300 .inf` would even mean "300 0" there).
fn persistence(c: &Contract, index: &SpanIndex, diags: &mut Vec<Diagnostic>) {
    for (i, entry) in c.redis.persistence.snapshots.iter().enumerate() {
        let number = |w: &str, min: u32| {
            w.bytes().all(|b| b.is_ascii_digit()) && w.parse::<i32>().is_ok_and(|n| n >= min as i32)
        };
        let ok = match entry.split_whitespace().collect::<Vec<_>>()[..] {
            [seconds, changes] => number(seconds, 1) && number(changes, 0),
            _ => false,
        };
        if !ok {
            diags.push(
                Diagnostic::error(
                    "RCTL035",
                    format!("snapshot point {entry:?} is not `<seconds> <changes>`: redis-server refuses it"),
                )
                .at(index.value(&format!("/redis/persistence/snapshots/{i}")))
                .hint(
                    "two whole numbers, seconds at least 1: e.g. `300 100` (snapshot after 300 s if 100 keys changed)",
                ),
            );
        }
    }
}

/// `topology` fields that only some modes use.
pub const MODE_FIELDS: [&str; 9] = [
    "replicas",
    "sentinels",
    "quorum",
    "masterName",
    "downAfter",
    "failoverTimeout",
    "parallelSyncs",
    "shards",
    "replicasPerShard",
];

/// The `MODE_FIELDS` a topology mode uses.
pub fn mode_fields(mode: TopologyMode) -> &'static [&'static str] {
    match mode {
        TopologyMode::Standalone => &[],
        TopologyMode::Replication => &["replicas"],
        TopologyMode::Sentinel => {
            &["replicas", "sentinels", "quorum", "masterName", "downAfter", "failoverTimeout", "parallelSyncs"]
        }
        TopologyMode::Cluster => &["shards", "replicasPerShard"],
    }
}

/// Whether the merged document sets `topology.<field>` explicitly.
fn topology_sets(doc: &Value, field: &str) -> bool {
    doc.pointer(&format!("/topology/{field}")).is_some()
}

fn topology(c: &Contract, doc: &Value, index: &SpanIndex, diags: &mut Vec<Diagnostic>) {
    let t = &c.topology;
    let at = |f: &str| index.value(&format!("/topology/{f}"));
    let used = mode_fields(t.mode);
    for field in MODE_FIELDS {
        if topology_sets(doc, field) && !used.contains(&field) {
            diags.push(
                Diagnostic::warning(
                    "RCTL042",
                    format!("`topology.{field}` does not apply to mode `{}` and is ignored", t.mode.as_str()),
                )
                .at(at(field))
                .hint(format!("remove it, or set `{field}: null` in the environment overlay")),
            );
        }
    }
    match t.mode {
        TopologyMode::Standalone => {}
        TopologyMode::Replication | TopologyMode::Sentinel if t.replicas == 0 => {
            diags.push(
                Diagnostic::error("RCTL040", format!("mode `{}` needs at least one replica", t.mode.as_str()))
                    .at(at("replicas"))
                    .hint("set `topology.replicas: 1` or more, or use mode `standalone`"),
            );
        }
        TopologyMode::Replication => {}
        TopologyMode::Sentinel => {
            // Too few Sentinels or a minority quorum is a readiness problem (policy RCTL109);
            // a quorum above the number of Sentinels can never be reached.
            if let Some(q) = t.quorum.filter(|q| *q > t.sentinels) {
                diags.push(
                    Diagnostic::error("RCTL040", format!("quorum {q} is more than the {} Sentinels", t.sentinels))
                        .at(at("quorum"))
                        .hint(format!("use a quorum between {} and {}", majority(t.sentinels), t.sentinels)),
                );
            }
        }
        TopologyMode::Cluster => {
            if t.shards < 3 {
                diags.push(
                    Diagnostic::error("RCTL040", format!("Redis Cluster needs at least 3 shards, not {}", t.shards))
                        .at(at("shards"))
                        .hint("a cluster elects failovers by a majority of primaries; use `shards: 3` or more"),
                );
            }
        }
    }
    let count = match t.mode {
        TopologyMode::Standalone => 1,
        TopologyMode::Replication | TopologyMode::Sentinel => 1 + t.replicas as u64,
        TopologyMode::Cluster => t.shards as u64 * (1 + t.replicas_per_shard as u64),
    };
    if count > 1000 {
        diags.push(
            Diagnostic::error("RCTL040", format!("the topology has {count} nodes; redisctl manages at most 1000"))
                .at(index.value("/topology")),
        );
    }
}

fn ports(c: &Contract, index: &SpanIndex, diags: &mut Vec<Diagnostic>) {
    if diags.iter().any(|d| d.code == "RCTL040") {
        return; // the layout is not meaningful yet
    }
    let (nodes, sentinels) = layout(c);
    let mut used: HashMap<u32, String> = HashMap::new();
    let mut claims: Vec<(u32, String, &str)> = Vec::new();
    for n in &nodes {
        claims.push((n.port, format!("{} (redis)", n.name), "/ports/redis"));
        if let Some(bus) = n.bus_port {
            claims.push((bus, format!("{} (cluster bus)", n.name), "/ports/redis"));
        }
    }
    for s in &sentinels {
        claims.push((s.port, s.name.clone(), "/ports/sentinel"));
    }
    for (port, who, pointer) in claims {
        if port > 65535 {
            diags.push(
                Diagnostic::error("RCTL041", format!("{who} would need port {port}, above 65535"))
                    .at(index.value(pointer)),
            );
            return;
        }
        if let Some(other) = used.insert(port, who.clone()) {
            diags.push(
                Diagnostic::error("RCTL041", format!("port {port} is used by both {other} and {who}"))
                    .at(index.value(pointer))
                    .hint("nodes take consecutive ports from `ports.redis`, Sentinels from `ports.sentinel`; move one range"),
            );
            return;
        }
    }
}

fn users(c: &Contract, index: &SpanIndex, project_dir: &Path, secrets: Secrets, diags: &mut Vec<Diagnostic>) {
    let mut names: HashMap<&str, usize> = HashMap::new();
    let acl_table = acl::table(c.redis.version);
    // Modules register commands and categories of their own, which the table does not know.
    let check_names = c.redis.modules.is_empty();
    for (i, u) in c.acl.users.iter().enumerate() {
        let at = |f: &str| index.value(&format!("/acl/users/{i}/{f}"));
        if u.name == "default" {
            diags.push(
                Diagnostic::error("RCTL053", "the `default` user cannot be declared in `acl.users`")
                    .at(at("name"))
                    .hint(
                    "redisctl disables `default` when `security.auth` is `required`; give applications their own user",
                ),
            );
        }
        if let Some(first) = names.insert(&u.name, i) {
            diags.push(
                Diagnostic::error(
                    "RCTL052",
                    format!("ACL user `{}` is declared twice (entries {first} and {i})", u.name),
                )
                .at(at("name")),
            );
        }
        let refs = std::iter::once(("password", &u.password))
            .chain(u.previous_password.as_ref().map(|p| ("previousPassword", p)));
        // The reference's form is the schema's (RCTL016). Whether it resolves matters only where
        // the rendered files hold hashes; a command that needs no value is told as a warning.
        for (field, secret) in refs.filter(|_| c.target.facts().secrets_at_render) {
            let resolved = secret.resolve(project_dir);
            // Sentinel writes `auth-pass` back unquoted whenever it rewrites its config (after
            // every failover): a password with a space, quote or backslash would keep it from
            // starting again.
            let sentinels = c.topology.mode == TopologyMode::Sentinel && u.role == UserRole::Sentinel;
            if let (Ok(value), true) = (&resolved, sentinels) {
                if value.expose().contains(|ch: char| ch.is_whitespace() || matches!(ch, '"' | '\'' | '\\')) {
                    diags.push(
                        Diagnostic::error(
                            "RCTL056",
                            format!("{field} of Sentinel user `{}` has a space, quote or backslash", u.name),
                        )
                        .at(at(field))
                        .reason("Sentinel writes it unquoted when it rewrites its config, and would not start again")
                        .hint("use letters, digits and punctuation other than quotes and `\\`, e.g. `openssl rand -hex 32`"),
                    );
                }
            }
            if let Err(e) = resolved {
                let message = format!("{field} of ACL user `{}`: {e}", u.name);
                let d = match secrets {
                    Secrets::Needed => Diagnostic::error("RCTL050", message),
                    Secrets::FormOnly => Diagnostic::warning("RCTL050", message).reason(format!(
                        "it does not resolve here; this command needs no value, but render, plan and apply of \
                         target `{}` hash it into the ACL file and fail without it",
                        c.target.as_str()
                    )),
                };
                diags.push(d.at(at(field)).hint(match &secret.from_env {
                    Some(var) => format!("export {var}=... before running redisctl"),
                    None => "create the file, readable by redisctl only (chmod 600)".into(),
                }));
            }
        }
        if u.previous_password.is_some() && c.target.facts().containers {
            diags.push(
                Diagnostic::error(
                    "RCTL140",
                    format!(
                        "`previousPassword` of ACL user `{}`: target `{}` has no rotation window",
                        u.name,
                        c.target.as_str()
                    ),
                )
                .at(index.key(&format!("/acl/users/{i}/previousPassword")))
                .reason("containers are replaced when a password changes; they start with the new password only")
                .hint("remove `previousPassword` for this environment, and roll the clients over with the containers"),
            );
        }
        for (field, prefix) in [("keys", "~"), ("channels", "&"), ("commands", "")] {
            let rules = match field {
                "keys" => &u.keys,
                "channels" => &u.channels,
                _ => &u.commands,
            };
            for (j, rule) in rules.iter().enumerate() {
                let span = index.value(&format!("/acl/users/{i}/{field}/{j}"));
                if rule.is_empty() || rule.chars().any(|c| c.is_whitespace() || c == '"' || c == '\'') {
                    diags.push(
                        Diagnostic::error(
                            "RCTL061",
                            format!("ACL {field} rule {rule:?} of user `{}` must be one word without quotes", u.name),
                        )
                        .at(span)
                        .hint("ACL files split rules on spaces; write one rule per list item"),
                    );
                } else if field == "commands"
                    && !(rule.starts_with('+')
                        || rule.starts_with('-')
                        || rule == "allcommands"
                        || rule == "nocommands")
                {
                    diags.push(
                        Diagnostic::error(
                            "RCTL061",
                            format!("command rule `{rule}` of user `{}` must start with + or -", u.name),
                        )
                        .at(span)
                        .hint("e.g. `+@read`, `-@dangerous`, `-flushall`"),
                    );
                } else if let Some(bad) = rule.chars().find(|c| !crate::util::text::conf_plain(*c)) {
                    // ACL files have no quoting (redis-server splits their lines on spaces): a
                    // rule that `quote` would put in quotes is refused when the file is loaded.
                    diags.push(
                        Diagnostic::error(
                            "RCTL063",
                            format!("ACL {field} rule `{rule}` of user `{}` contains {bad:?}, which an ACL file cannot hold", u.name),
                        )
                        .at(span)
                        .hint("ACL files have no quoting or escapes, so redis-server refuses such a line: use ASCII letters, digits and -_.:/@+*,=%~&^!?[]{}<>|$#()"),
                    );
                } else if field == "commands" && check_names {
                    if let Err(bad) = acl_table.check_rule(rule) {
                        let mut d = Diagnostic::error(
                            "RCTL062",
                            format!("command rule `{rule}` of user `{}`: {}", u.name, bad.message),
                        )
                        .at(span);
                        d = match bad.suggestion {
                            Some(s) => d.hint(format!("did you mean `{s}`?")),
                            None => d.hint(format!(
                                "redis-server refuses the ACL file; `ACL CAT` lists the categories of Redis {}",
                                c.redis.version.as_str()
                            )),
                        };
                        diags.push(d);
                    }
                } else if !prefix.is_empty()
                    && (rule.starts_with('~') || rule.starts_with('&') || rule.starts_with('%'))
                {
                    diags.push(
                        Diagnostic::error(
                            "RCTL061",
                            format!(
                                "{field} pattern `{rule}` of user `{}` must not start with `{}`",
                                u.name,
                                &rule[..1]
                            ),
                        )
                        .at(span)
                        .hint(format!("write the bare pattern; redisctl adds the `{prefix}` itself")),
                    );
                }
            }
        }
    }
    for role in [UserRole::Replication, UserRole::Sentinel] {
        let with_role: Vec<usize> =
            c.acl.users.iter().enumerate().filter(|(_, u)| u.role == role).map(|(i, _)| i).collect();
        if with_role.len() > 1 {
            diags.push(
                Diagnostic::error(
                    "RCTL051",
                    format!("{} users have role `{:?}`; there can be only one", with_role.len(), role).to_lowercase(),
                )
                .at(index.value(&format!("/acl/users/{}/role", with_role[1]))),
            );
        }
    }
    if c.security.auth == Auth::Required {
        // The list that lacks the user (the overlay's, when it replaced the base's), else the topology.
        let users_at = index.exact("/acl/users").or_else(|| index.value("/topology/mode"));
        let (nodes, sentinels) = layout(c);
        let has = |role| c.acl.users.iter().any(|u| u.role == role);
        // A managed service runs replication and failover itself: no replication or Sentinel users.
        let managed = c.target.facts().managed.is_some();
        if !managed && nodes.iter().any(|n| matches!(n.role, Role::Replica(_))) && !has(UserRole::Replication) {
            diags.push(
                Diagnostic::error(
                    "RCTL051",
                    "replicas must authenticate to their primary, but no ACL user has `role: replication`",
                )
                .at(users_at)
                .hint("add a user with `role: replication` and a password reference"),
            );
        }
        let facts = c.target.facts();
        if let (Some(why), false) = (facts.operator_required, has(UserRole::Operator)) {
            diags.push(
                Diagnostic::error(
                    "RCTL054",
                    format!(
                        "target `{}` needs an ACL user with `role: operator` when `security.auth` is `required`",
                        facts.name
                    ),
                )
                .at(users_at)
                .hint(format!("{why}; add a user with `role: operator` and a password reference")),
            );
        }
        operator_rules(c, index, diags);
        if !managed && !sentinels.is_empty() && !has(UserRole::Sentinel) {
            diags.push(
                Diagnostic::error(
                    "RCTL051",
                    "Sentinels must authenticate to the nodes, but no ACL user has `role: sentinel`",
                )
                .at(users_at)
                .hint("add a user with `role: sentinel` and a password reference"),
            );
        }
    }
}

/// The operator user must be allowed what logs in as it runs on this target (readiness checks,
/// live CONFIG/ACL changes, health checks): otherwise servers start and then every check fails.
fn operator_rules(c: &Contract, index: &SpanIndex, diags: &mut Vec<Diagnostic>) {
    let needed = c.target.facts().operator_commands;
    let table = acl::table(c.redis.version);
    for (i, u) in c.acl.users.iter().enumerate().filter(|(_, u)| u.role == UserRole::Operator) {
        let rules: Vec<String> = if u.commands.is_empty() {
            acl::role_defaults(u.role, c.redis.version).iter().map(|r| r.to_string()).collect()
        } else {
            u.commands.clone()
        };
        let denied: Vec<&(&str, &str)> =
            needed.iter().flat_map(|list| list.iter()).filter(|(cmd, _)| !table.allows(&rules, cmd)).collect();
        let Some((first, why)) = denied.first() else { continue };
        let names: Vec<String> = denied.iter().map(|(cmd, _)| cmd.replace('|', " ").to_uppercase()).collect();
        diags.push(
            Diagnostic::error("RCTL055", format!("the rules of operator user `{}` deny {}", u.name, names.join(", ")))
                .at(index.value(&format!("/acl/users/{i}/commands")))
                .reason(format!(
                    "{} is needed for {why}; the servers would start, and then fail their checks as this user",
                    first.replace('|', " ").to_uppercase()
                ))
                .hint("allow them (e.g. `+config`, `+acl`), or leave `commands` unset: operators get `+@all`"),
        );
    }
}

fn security(c: &Contract, index: &SpanIndex, diags: &mut Vec<Diagnostic>) {
    let tls = &c.security.tls;
    // A managed service brings its own certificates (in-transit encryption).
    if tls.enabled && c.target.facts().managed.is_none() {
        for (field, value) in [("certFile", &tls.cert_file), ("keyFile", &tls.key_file), ("caFile", &tls.ca_file)] {
            if value.as_deref().is_none_or(str::is_empty) {
                diags.push(
                    Diagnostic::error("RCTL070", format!("TLS is enabled but `security.tls.{field}` is not set"))
                        .at(index.value("/security/tls/enabled"))
                        .hint("TLS needs a certificate, its key and the CA that verifies peers"),
                );
            }
        }
    }
    for (i, addr) in c.network.bind.iter().flatten().enumerate() {
        let plain = addr.strip_prefix('-').unwrap_or(addr);
        if !(plain.parse::<std::net::IpAddr>().is_ok() || ["*", "::*", "localhost"].contains(&plain)) {
            diags.push(
                Diagnostic::error("RCTL072", format!("`network.bind` entry `{addr}` is not an IP address"))
                    .at(index.value(&format!("/network/bind/{i}")))
                    .hint(
                        "use addresses such as `127.0.0.1`, `10.0.1.15` or `::1` (a leading `-` marks an optional one)",
                    ),
            );
        }
    }
    if let (Some(max), Some(limit)) = (c.resources.maxmemory, &c.resources.memory_limit) {
        if limit.bytes <= max.0 {
            diags.push(
                Diagnostic::error("RCTL071", format!("memory limit {} is not above maxmemory {max}", limit.text))
                    .at(index.value("/resources/memoryLimit"))
                    .hint("the container is killed before Redis can evict: leave headroom for buffers, fragmentation and fork"),
            );
        }
    }
}
