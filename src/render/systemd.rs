//! `target: systemd`: redis.conf per node, sentinel.conf per Sentinel, the ACL file and systemd
//! units, laid out as the filesystem of the VMs (`etc/redis/<service>/`, `etc/systemd/system/`,
//! `etc/sysctl.d/`).
//!
//! Nodes run from the template unit `redis-<service>@.service` (instance = node name) and
//! Sentinels from `redis-<service>-sentinel@.service`: `Type=notify` with `supervised systemd`,
//! `Restart=always`, user `redis`, and a sandbox that leaves only the data and config
//! directories writable. The ACL file holds SHA-256 hashes; the replication and Sentinel
//! passwords are never rendered: systemd reads them from an operator-managed environment file
//! and passes them as `--masterauth` / `--sentinel auth-pass` arguments.

use std::net::IpAddr;

use serde_json::json;

use super::{server_files, Artifact, Flavor, PostApply, Templates};
use crate::contract::model::UserRole;
use crate::resolve::{Deployment, Role};

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
                "aclfile": format!("{}/users.acl", config_dir(d)),
                "cluster_config_file": format!("{dir}/nodes.conf"),
            })
        },
        config_path: |d, name, _| format!("{}/{name}.conf", &config_dir(d)[1..]),
        acl_path: Some(|d| format!("{}/users.acl", &config_dir(d)[1..])),
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
    out.push(text(format!("{units}/{prefix}-disable-thp.service"), templates.render("disable-thp.service.j2", &ctx)?));
    out.push(text(format!("etc/sysctl.d/60-{prefix}.conf"), templates.render("sysctl.conf.j2", &ctx)?));
    out.push(text("README.md".into(), readme(d, masteruser.is_some(), auth_user.is_some() && !d.sentinels.is_empty())));
    Ok(out)
}

fn text(path: String, content: String) -> Artifact {
    Artifact { path, content, mode: 0o644 }
}

/// Per host, in order: reload units, apply the sysctl, disable THP, hand the config directory
/// to `redis`, then start (or restart) replicas before primaries and Sentinels last, so that a
/// restart never takes a primary down before its replicas are back.
pub fn post_apply_commands(d: &Deployment) -> Vec<PostApply> {
    let prefix = unit_prefix(d);
    let mut units: Vec<(String, String)> = Vec::new();
    let replicas = d.nodes.iter().filter(|n| matches!(n.role, Role::Replica(_)));
    let primaries = d.nodes.iter().filter(|n| n.role == Role::Primary);
    for n in replicas.chain(primaries) {
        units.push((host_of(d, &n.name), format!("{prefix}@{}.service", n.name)));
    }
    for s in &d.sentinels {
        units.push((host_of(d, &s.name), format!("{prefix}-sentinel@{}.service", s.name)));
    }
    let mut hosts: Vec<String> = Vec::new();
    for (h, _) in &units {
        if !hosts.contains(h) {
            hosts.push(h.clone());
        }
    }
    let cmd = |host: &str, argv: &[&str]| PostApply {
        host: Some(host.to_string()),
        argv: argv.iter().map(|s| s.to_string()).collect(),
    };
    let mut out = Vec::new();
    for h in &hosts {
        out.push(cmd(h, &["systemctl", "daemon-reload"]));
        out.push(cmd(h, &["sysctl", "-p", &format!("/etc/sysctl.d/60-{prefix}.conf")]));
        out.push(cmd(h, &["systemctl", "enable", "--now", &format!("{prefix}-disable-thp.service")]));
        out.push(cmd(h, &["chown", "-R", "redis:redis", &config_dir(d)]));
    }
    for (h, unit) in &units {
        out.push(cmd(h, &["systemctl", "enable", unit]));
        out.push(cmd(h, &["systemctl", "restart", unit]));
    }
    out
}

fn readme(d: &Deployment, masterauth: bool, sentinel_auth: bool) -> String {
    let prefix = unit_prefix(d);
    let mut s = format!(
        "<!-- {} -->\n# {} ({}) on systemd\n\nThese files are laid out as the filesystem of the VMs: copy the tree to the root of each host.\n\n## Where each node runs\n\n| unit | host | port |\n|---|---|---|\n",
        super::generated_header(d).trim_start_matches("# "),
        d.contract.service,
        d.env
    );
    for n in &d.nodes {
        s.push_str(&format!("| `{prefix}@{}.service` | {} | {} |\n", n.name, host_of(d, &n.name), n.port));
    }
    for n in &d.sentinels {
        s.push_str(&format!("| `{prefix}-sentinel@{}.service` | {} | {} |\n", n.name, host_of(d, &n.name), n.port));
    }
    s.push_str("\n## Secrets\n\nNo password is in these files: `users.acl` holds SHA-256 hashes only.\n");
    if masterauth || sentinel_auth {
        s.push_str(&format!(
            "Create `{}` on every host (owner root, mode 0600); systemd reads it and passes the values as arguments:\n\n```\n",
            env_file(d)
        ));
        if masterauth {
            s.push_str("REDIS_MASTERAUTH=<password of the replication user>\n");
        }
        if sentinel_auth {
            s.push_str("REDIS_SENTINEL_AUTH_PASS=<password of the sentinel user>\n");
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
