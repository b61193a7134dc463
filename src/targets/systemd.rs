//! `target: systemd`: redis.conf per node, sentinel.conf per Sentinel, the ACL file and systemd
//! units, laid out as the filesystem of the VMs (`etc/redis/<service>/`, `etc/systemd/system/`,
//! `etc/sysctl.d/`).
//!
//! Nodes run from the template unit `redis-<service>@.service` (instance = node name) and
//! Sentinels from `redis-<service>-sentinel@.service`: `Type=notify` with `supervised systemd`,
//! `Restart=always`, user `redis`, and a sandbox that leaves only the data and config
//! directories writable. The ACL file holds SHA-256 hashes; the replication and Sentinel
//! passwords are never rendered: systemd reads them from an operator-managed environment file,
//! and the rendered `auth.sh` (run as `ExecStartPre`) writes them into a config include in the
//! unit's private runtime directory, which the server loads with `--include`: no password is
//! ever in a process's arguments.

use std::net::IpAddr;

use serde_json::json;

use crate::contract::merge::SpanIndex;
use crate::diagnostics::Diagnostic;
use crate::model::UserRole;
use crate::plan::{Action, Changed, PostApply};
use crate::render::conf::{quote, SH_CONF_QUOTE};
use crate::render::{generated_header, observability, server_files, Artifact, Flavor, Templates};
use crate::resolve::{Deployment, Role};
use crate::util::text::sh_quote;

fn config_dir(d: &Deployment) -> String {
    format!("/etc/redis/{}", d.contract.service)
}

/// `redis/<service>`: the StateDirectory root, i.e. `/var/lib/redis/<service>/<name>`.
fn state_dir(d: &Deployment) -> String {
    format!("redis/{}", d.contract.service)
}

fn unit_prefix(d: &Deployment) -> String {
    format!("redis-{}", d.contract.service)
}

/// The unit a node or Sentinel runs as, e.g. `redis-catalog@node-0.service`.
pub(crate) fn unit_of(d: &Deployment, name: &str) -> String {
    let kind = if d.sentinels.iter().any(|s| s.name == name) { "-sentinel" } else { "" };
    format!("{}{kind}@{name}.service", unit_prefix(d))
}

fn env_file(d: &Deployment) -> String {
    d.contract.systemd.environment_file.clone().unwrap_or_else(|| format!("/etc/redis/{}.env", d.contract.service))
}

/// The VM a node or Sentinel runs on: `hosts[i % len]` for `node-<i>` / `sentinel-<i>`.
pub(crate) fn host_of(d: &Deployment, name: &str) -> String {
    let hosts = &d.contract.systemd.hosts;
    let i: usize = name.rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or(0);
    hosts.get(i % hosts.len().max(1)).map(|h| h.0.clone()).unwrap_or_else(|| "127.0.0.1".into())
}

fn flavor(d: &Deployment) -> Flavor {
    Flavor {
        bind: |d, name| {
            let host = host_of(d, name);
            if host == "127.0.0.1" {
                vec![host]
            } else {
                vec![host, "127.0.0.1".into()]
            }
        },
        supervised: Some("systemd"),
        // Sentinel accepts DNS names in `sentinel monitor` only with resolve-hostnames.
        hostnames: d.contract.systemd.hosts.iter().any(|h| h.0.parse::<IpAddr>().is_err()),
        announce: None,
        host: |d, node| host_of(d, &node.name),
        paths: |d, name| {
            let dir = format!("/var/lib/{}/{name}", state_dir(d));
            json!({
                "dir": dir,
                "pidfile": "",
                "logfile": "",
                "aclfile": if name.starts_with("sentinel") {
                    format!("{}/sentinel-users.acl", config_dir(d))
                } else {
                    format!("{}/users.acl", config_dir(d))
                },
                "cluster_config_file": format!("{dir}/nodes.conf"),
            })
        },
        config_path: |d, name, _| format!("{}/{name}.conf", &config_dir(d)[1..]),
        acl_path: Some(|d| format!("{}/users.acl", &config_dir(d)[1..])),
        sentinel_acl_path: Some(|d| format!("{}/sentinel-users.acl", &config_dir(d)[1..])),
    }
}

pub fn render(d: &Deployment, templates: &Templates) -> Result<Vec<Artifact>, String> {
    if d.contract.systemd.hosts.is_empty() {
        return Err("target `systemd` needs `systemd.hosts` (RCTL091)".into());
    }
    let mut out = server_files(d, templates, &flavor(d))?;
    let has_replicas = d.nodes.iter().any(|n| matches!(n.role, Role::Replica(_)));
    let masteruser = d.user_with_role(UserRole::Replication).filter(|_| has_replicas && d.auth_required());
    let auth_user = d.user_with_role(UserRole::Sentinel).filter(|_| d.auth_required());
    let ctx = json!({
        "sources": d.files,
        "service": d.contract.service,
        "env": d.env,
        "unit_prefix": unit_prefix(d),
        "config_dir": config_dir(d),
        "state_dir": state_dir(d),
        "master_name": d.master_name,
    });
    let units = "etc/systemd/system";
    let prefix = unit_prefix(d);
    let mut node_ctx = ctx.clone();
    node_ctx["env_file"] = json!(masteruser.map(|_| env_file(d)));
    node_ctx["masteruser"] = json!(masteruser.map(|u| &u.spec.name));
    out.push(text(format!("{units}/{prefix}@.service"), templates.render("redis-node.service.j2", &node_ctx)?));
    if !d.sentinels.is_empty() {
        let mut sentinel_ctx = ctx.clone();
        sentinel_ctx["env_file"] = json!(auth_user.map(|_| env_file(d)));
        sentinel_ctx["auth_user"] = json!(auth_user.map(|u| &u.spec.name));
        out.push(text(
            format!("{units}/{prefix}-sentinel@.service"),
            templates.render("redis-sentinel.service.j2", &sentinel_ctx)?,
        ));
    }
    if masteruser.is_some() || (auth_user.is_some() && !d.sentinels.is_empty()) {
        let script = auth_script(d, masteruser.is_some(), auth_user.is_some());
        out.push(Artifact { path: format!("{}/auth.sh", &config_dir(d)[1..]), content: script, mode: 0o755 });
    }
    out.push(text(format!("{units}/{prefix}-disable-thp.service"), templates.render("disable-thp.service.j2", &ctx)?));
    out.push(text(format!("etc/sysctl.d/60-{prefix}.conf"), templates.render("sysctl.conf.j2", &ctx)?));
    out.extend(exporters(d, templates, &ctx)?);
    out.push(text("README.md".into(), readme(d, masteruser.is_some(), auth_user.is_some() && !d.sentinels.is_empty())));
    Ok(out)
}

/// With `observability`: an exporter unit per node (template `<prefix>-exporter@.service`), its
/// non-secret environment per node, and the rules, scrape configuration and dashboards under
/// `etc/prometheus/<service>/` for the Prometheus that scrapes the VMs. Each exporter listens on
/// its node's host at `exporterPort + i` and logs in as the exporter user, whose password comes
/// from an operator-managed root-only environment file.
fn exporters(d: &Deployment, templates: &Templates, ctx: &serde_json::Value) -> Result<Vec<Artifact>, String> {
    let Some(e) = crate::model::observability::effective(&d.contract) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let user = observability::exporter_user(d).filter(|_| d.auth_required());
    let mut unit_ctx = ctx.clone();
    unit_ctx["user"] = json!(user.map(|u| &u.spec.name));
    unit_ctx["password_file"] = json!(user.map(|_| format!("/etc/redis/{}-exporter.env", d.contract.service)));
    let prefix = unit_prefix(d);
    out.push(text(
        format!("etc/systemd/system/{prefix}-exporter@.service"),
        templates.render("redis-exporter.service.j2", &unit_ctx)?,
    ));
    let tls = d.contract.security.tls.enabled;
    for n in &d.nodes {
        let host = host_of(d, &n.name);
        let scheme = if tls { "rediss" } else { "redis" };
        let mut env = observability::exporter_env(d, &format!("{scheme}://{host}:{}", n.port));
        env.push((
            "REDIS_EXPORTER_WEB_LISTEN_ADDRESS".into(),
            format!("{host}:{}", observability::exporter_port(&e, d, n)),
        ));
        if tls {
            let t = &d.contract.security.tls;
            for (var, file) in [
                ("REDIS_EXPORTER_TLS_CA_CERT_FILE", &t.ca_file),
                ("REDIS_EXPORTER_TLS_CLIENT_CERT_FILE", &t.cert_file),
                ("REDIS_EXPORTER_TLS_CLIENT_KEY_FILE", &t.key_file),
            ] {
                if let Some(f) = file {
                    env.push((var.into(), f.clone()));
                }
            }
        }
        let mut body = format!("{}\n", generated_header(d));
        for (k, v) in env {
            // systemd EnvironmentFile: double quotes keep spaces; `"` and `\\` are escaped inside them.
            body.push_str(&format!("{k}=\"{}\"\n", v.replace('\\', "\\\\").replace('"', "\\\"")));
        }
        out.push(text(format!("{}/exporter/{}.env", &config_dir(d)[1..], n.name), body));
    }
    let address =
        |n: &crate::resolve::Node| format!("{}:{}", host_of(d, &n.name), observability::exporter_port(&e, d, n));
    for a in observability::files(d, &address)? {
        let path = a.path.replacen(observability::DIR, &format!("etc/prometheus/{}", d.contract.service), 1);
        out.push(Artifact { path, ..a });
    }
    Ok(out)
}

/// `auth.sh redis|sentinel` (`ExecStartPre`): the environment file's password, quoted for the
/// config, into `$RUNTIME_DIRECTORY/auth.conf` (mode 0600 in a 0700 directory).
fn auth_script(d: &Deployment, masterauth: bool, sentinel_auth: bool) -> String {
    let mut s = format!(
        "#!/bin/sh\n{}\n# usage: auth.sh redis|sentinel (ExecStartPre of the units; systemd sets RUNTIME_DIRECTORY)\nset -eu\numask 077\n",
        generated_header(d)
    );
    s.push_str(SH_CONF_QUOTE);
    s.push_str("case $1 in\n");
    if masterauth {
        s.push_str(
            "redis)\n  pass=$(conf_quote \"$REDIS_MASTERAUTH\"); one_line \"$pass\"\n  printf 'masterauth %s\\n' \"$pass\" ;;\n",
        );
    }
    if sentinel_auth {
        // The same password logs in to the nodes (auth-pass) and to the other Sentinels.
        s.push_str(&format!(
            "sentinel)\n  sentinel_word \"$REDIS_SENTINEL_AUTH_PASS\"; pass=$(conf_quote \"$REDIS_SENTINEL_AUTH_PASS\")\n  \
             printf 'sentinel auth-pass %s %s\\nsentinel sentinel-pass %s\\n' {} \"$pass\" \"$pass\" ;;\n",
            sh_quote(&quote(&d.master_name))
        ));
    }
    s.push_str("*) echo \"auth.sh: no password for $1\" >&2; exit 64 ;;\nesac > \"$RUNTIME_DIRECTORY/auth.conf\"\n");
    s
}

fn text(path: String, content: String) -> Artifact {
    Artifact { path, content, mode: 0o644 }
}

/// Per host, in order: reload units, apply the sysctl, re-run the THP unit, hand the config
/// directory to `redis` (each only when its files changed), then restart the units whose
/// config, unit file or ACL file changed, replicas before primaries and Sentinels last, so that
/// a restart never takes a primary down before its replicas are back; units of removed nodes
/// are stopped last.
pub fn post_apply_commands(d: &Deployment, changed: &[Changed]) -> Vec<PostApply> {
    let prefix = unit_prefix(d);
    let conf_dir = config_dir(d);
    let units_dir = "etc/systemd/system";
    let find = |path: &str| changed.iter().find(|c| c.path == path).map(|c| c.action);
    let node_unit = find(&format!("{units_dir}/{prefix}@.service")).is_some();
    let sentinel_unit = find(&format!("{units_dir}/{prefix}-sentinel@.service")).is_some();
    let acl = find(&format!("{}/users.acl", &conf_dir[1..])).is_some();
    let sentinel_acl = find(&format!("{}/sentinel-users.acl", &conf_dir[1..])).is_some();
    let sysctl = format!("etc/sysctl.d/60-{prefix}.conf");
    let thp = format!("{prefix}-disable-thp.service");
    let conf_of = |name: &str| find(&format!("{}/{name}.conf", &conf_dir[1..]));

    // (host, unit, why) of the units to restart, in restart order.
    let mut restarts: Vec<(String, String, String)> = Vec::new();
    let replicas = d.nodes.iter().filter(|n| matches!(n.role, Role::Replica(_)));
    let primaries = d.nodes.iter().filter(|n| n.role == Role::Primary);
    for n in replicas.chain(primaries) {
        let why = match conf_of(&n.name) {
            Some(Action::Create) => format!("{}.conf is new", n.name),
            Some(_) => format!("{}.conf changed", n.name),
            None if node_unit => "the node unit changed".into(),
            None if acl => "users.acl changed".into(),
            None => continue,
        };
        restarts.push((host_of(d, &n.name), format!("{prefix}@{}.service", n.name), why));
    }
    for s in &d.sentinels {
        let why = match conf_of(&s.name) {
            Some(Action::Create) => format!("{}.conf is new", s.name),
            Some(_) => format!("{}.conf changed", s.name),
            None if sentinel_unit => "the Sentinel unit changed".into(),
            None if sentinel_acl => "sentinel-users.acl changed".into(),
            None => continue,
        };
        restarts.push((host_of(d, &s.name), format!("{prefix}-sentinel@{}.service", s.name), why));
    }
    // Nodes and Sentinels whose config is deleted are no longer in the contract.
    let mut stops: Vec<(String, String)> = Vec::new();
    for c in changed.iter().filter(|c| c.action == Action::Delete) {
        let Some(name) = c.path.strip_prefix(&conf_dir[1..]).and_then(|p| p.strip_prefix('/')?.strip_suffix(".conf"))
        else {
            continue;
        };
        let unit = if name.starts_with("sentinel-") {
            format!("{prefix}-sentinel@{name}.service")
        } else {
            format!("{prefix}@{name}.service")
        };
        stops.push((host_of(d, name), unit));
    }

    let cmd = |host: &str, argv: &[&str], why: &str| PostApply {
        host: Some(host.to_string()),
        argv: argv.iter().map(|s| s.to_string()).collect(),
        why: why.to_string(),
    };
    let mut out = Vec::new();
    // Every host gets the whole tree, so host-wide steps run on every host of the deployment.
    let mut hosts: Vec<String> = Vec::new();
    for name in d.nodes.iter().map(|n| &n.name).chain(d.sentinels.iter().map(|s| &s.name)) {
        let h = host_of(d, name);
        if !hosts.contains(&h) {
            hosts.push(h);
        }
    }
    let units_changed = changed.iter().any(|c| c.path.starts_with(units_dir));
    let conf_changed = changed.iter().any(|c| c.path.starts_with(&conf_dir[1..]) && c.action != Action::Delete);
    for h in &hosts {
        if units_changed {
            out.push(cmd(h, &["systemctl", "daemon-reload"], "unit files changed"));
        }
        if find(&sysctl).is_some_and(|a| a != Action::Delete) {
            out.push(cmd(h, &["sysctl", "-p", &format!("/{sysctl}")], "the sysctl file changed"));
        }
        if find(&format!("{units_dir}/{thp}")).is_some_and(|a| a != Action::Delete) {
            out.push(cmd(h, &["systemctl", "enable", &thp], "the THP unit changed"));
            out.push(cmd(h, &["systemctl", "restart", &thp], "the THP unit changed"));
        }
        if conf_changed {
            out.push(cmd(h, &["chown", "-R", "redis:redis", &conf_dir], "configs changed"));
        }
    }
    for (h, unit, why) in &restarts {
        out.push(cmd(h, &["systemctl", "enable", unit], why));
        out.push(cmd(h, &["systemctl", "restart", unit], why));
    }
    for (h, unit) in &stops {
        out.push(cmd(h, &["systemctl", "disable", "--now", unit], "no longer in the contract"));
    }
    out
}

fn readme(d: &Deployment, masterauth: bool, sentinel_auth: bool) -> String {
    let prefix = unit_prefix(d);
    let mut s = format!(
        "<!-- {} -->\n# {} ({}) on systemd\n\nThese files are laid out as the filesystem of the VMs: copy the tree to the root of each host.\n\n## Where each node runs\n\n| unit | host | port |\n|---|---|---|\n",
        generated_header(d).trim_start_matches("# "),
        d.contract.service,
        d.env
    );
    for n in &d.nodes {
        s.push_str(&format!("| `{prefix}@{}.service` | {} | {} |\n", n.name, host_of(d, &n.name), n.port));
    }
    for n in &d.sentinels {
        s.push_str(&format!("| `{prefix}-sentinel@{}.service` | {} | {} |\n", n.name, host_of(d, &n.name), n.port));
    }
    let acl_files =
        if sentinel_auth { "`users.acl` and the Sentinels' `sentinel-users.acl` hold" } else { "`users.acl` holds" };
    s.push_str(&format!("\n## Secrets\n\nNo password is in these files: {acl_files} SHA-256 hashes only.\n"));
    if masterauth || sentinel_auth {
        s.push_str(&format!(
            "Create `{}` on every host (owner root, mode 0600); systemd reads it, and `auth.sh` hands the values to the servers in a private include (never as arguments):\n\n```\n",
            env_file(d)
        ));
        if masterauth {
            s.push_str("REDIS_MASTERAUTH=<password of the replication user>\n");
        }
        if sentinel_auth {
            s.push_str(
                "REDIS_SENTINEL_AUTH_PASS=<password of the sentinel user: Sentinels log in to the nodes and to each other with it>\n",
            );
        }
        s.push_str("```\n\nRedis and Sentinel write these values into their config files when they rewrite them (CONFIG REWRITE, failovers): keep the config directory readable by `redis` only.\n");
    }
    s.push_str(&format!(
        "\n## Kernel settings\n\n- `etc/sysctl.d/60-{prefix}.conf` sets `vm.overcommit_memory = 1` (fork for snapshots and resyncs must not fail).\n\
         - `{prefix}-disable-thp.service` turns transparent huge pages off at boot (they cause latency spikes and memory bloat after fork).\n\n\
         ## After copying\n\n```\nsystemctl daemon-reload\nsysctl -p /etc/sysctl.d/60-{prefix}.conf\nsystemctl enable --now {prefix}-disable-thp.service\nchown -R redis:redis {}\nsystemctl enable --now {prefix}@<node>.service\n```\n",
        config_dir(d)
    ));
    s
}

pub struct Systemd;

impl super::Target for Systemd {
    fn kind(&self) -> crate::model::TargetKind {
        crate::model::TargetKind::Systemd
    }

    fn check(&self, c: &crate::model::Contract, index: &SpanIndex) -> Vec<Diagnostic> {
        let (nodes, _) = crate::resolve::layout(c);
        let hosts = c.systemd.hosts.len();
        if hosts == 0 {
            return vec![Diagnostic::error(
                "RCTL091",
                "target `systemd` needs `systemd.hosts`: the VMs the nodes run on",
            )
            .at(index.value("/target"))
            .hint("e.g. `systemd: { hosts: [10.0.1.11, 10.0.2.11, 10.0.3.11] }`")];
        }
        if hosts < nodes.len() && nodes.len() > 1 {
            return vec![Diagnostic::warning(
                "RCTL091",
                format!("{} nodes share {hosts} host(s): a VM failure takes several nodes down", nodes.len()),
            )
            .at(index.value("/systemd/hosts"))
            .hint("give one host per node so that a replica never shares a VM with its primary")];
        }
        Vec::new()
    }

    fn scaffold(&self, s: &super::ScaffoldInput) -> Result<super::Scaffold, String> {
        // One VM per node: a cluster's 6 nodes on 3 VMs would lose two at a time.
        let vms = if s.mode == crate::model::TopologyMode::Cluster { 6 } else { 3 };
        let hosts: Vec<String> = (0..vms).map(|i| format!("10.0.{}.10", i % 3 + 1 + 3 * (i / 3))).collect();
        super::Scaffold::settings(format!(
            "{zones}productionLike: true\nsystemd:\n  # TODO: one VM per zone; node-<i> and sentinel-<i> run on hosts[i]\n  \
             hosts: [{hosts}]\n  environmentFile: /etc/redis/{service}.env\n\
             security:\n  # TODO: certificates placed on each VM, readable by the redis user\n  \
             tls: {{ enabled: true, certFile: /etc/redis/tls/redis.crt, keyFile: /etc/redis/tls/redis.key, caFile: /etc/redis/tls/ca.crt }}\n\
             resources:\n  maxmemory: 1gb\n",
            zones = s.zones(),
            hosts = hosts.join(", "),
            service = s.service,
        ))
    }

    fn drills(&self) -> super::Drills {
        super::Drills::Fleet
    }

    fn endpoint(&self, d: &Deployment, name: &str) -> crate::connect::Endpoint {
        crate::connect::Endpoint { host: host_of(d, name), port: d.port_of(name).unwrap_or(0) }
    }

    fn render(&self, d: &Deployment, templates: &Templates) -> Result<Vec<Artifact>, String> {
        render(d, templates)
    }

    /// The files, and with `--live` the settings of the running nodes at their hosts. redisctl
    /// does not run these services: a restart-required change names the command that applies it.
    fn providers(
        &self,
        env: &super::Opened,
        scope: crate::plan::Scope,
    ) -> Result<Vec<Box<dyn crate::plan::Provider>>, crate::error::Error> {
        let mut providers = super::files_and_shape(env, true, None);
        if scope == crate::plan::Scope::Live {
            let placement = crate::providers::redis::Placement {
                host: host_of,
                restart: |d, node| {
                    format!("`systemctl restart {}` on {}", unit_of(d, &node.name), host_of(d, &node.name))
                },
            };
            providers.push(Box::new(crate::providers::redis::LiveRedis::new(env.deployment.clone(), placement)));
        }
        Ok(providers)
    }

    fn post_apply_commands(
        &self,
        d: &Deployment,
        _dir: &std::path::Path,
        changed: &[Changed],
    ) -> Option<Vec<PostApply>> {
        Some(post_apply_commands(d, changed))
    }
}
