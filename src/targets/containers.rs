//! What the container targets (compose, kubernetes) share: the image (the contract's, or a pinned default), the memory
//! limit, the in-container layout, and three small shell scripts mounted next to the configs.
//!
//! Containers never see a rendered password: the secrets reach a container as environment
//! variables (compose) or Secret files (kubernetes), and `start.sh` turns them into the ACL
//! file (SHA-256 hashes, written to a private tmpfs) and a config include on that tmpfs
//! (`masterauth`, `sentinel auth-pass`) at start: never into a process's arguments. Every value that enters a script goes through
//! `sh_quote` (and, inside ACL lines, `conf::quote` first), so nothing is interpreted by the shell.

use serde_json::json;

use crate::contract::merge::SpanIndex;
use crate::diagnostics::Diagnostic;
use crate::model::Contract;
use crate::model::{RedisVersion, TopologyMode, UserRole};
use crate::render::conf::{quote, SH_CONF_QUOTE};
use crate::render::{acl_lines, sentinel_acl_lines, sentinel_auth_required, AclLine, Flavor};
use crate::resolve::{Deployment, Node, User};
pub use crate::util::text::sh_quote;

/// Directory the configs and scripts are mounted at (read-only).
pub const CONFIG_DIR: &str = "/etc/redisctl";
/// Private, writable directory (tmpfs / emptyDir) for the generated ACL file.
pub const RUN_DIR: &str = "/run/redisctl";
/// The Sentinels' ACL file in `RUN_DIR`, written by `start.sh` like the nodes' one.
const SENTINEL_ACL: &str = "sentinel-users.acl";
/// Data directory of the official image (owned by its `redis` user, uid 999).
pub const DATA_DIR: &str = "/data";
/// uid/gid of the `redis` user in the official images.
pub const REDIS_UID: u32 = 999;
/// Memory limit of a Sentinel container: Sentinels hold a few KiB of state.
pub const SENTINEL_MEMORY_MIB: u64 = 64;

/// Exact image per Redis version: never `latest` or a bare major. The newest patch release of
/// each line (7.0 is end-of-life; 7.0.15 is its last release). Bump these for security fixes.
const IMAGES: &[(RedisVersion, &str)] = &[
    (RedisVersion::V6_2, "redis:6.2.20"),
    (RedisVersion::V7_0, "redis:7.0.15"),
    (RedisVersion::V7_2, "redis:7.2.11"),
    (RedisVersion::V7_4, "redis:7.4.6"),
    (RedisVersion::V8_0, "redis:8.0.4"),
    (RedisVersion::V8_2, "redis:8.2.2"),
];

/// The image every Redis and Sentinel container runs: `container.image` (validate refuses one
/// that floats or names another Redis version, RCTL096), else the pinned image of `redis.version`.
pub fn image(d: &Deployment) -> &str {
    match &d.contract.container.image {
        Some(image) => image,
        None => IMAGES.iter().find(|(v, _)| *v == d.version()).map(|(_, image)| *image).unwrap_or("redis:7.0.15"),
    }
}

/// Memory limit of a Redis container in bytes (`model::memory`: the contract's, else a default
/// that leaves the headroom policy rule RCTL107 asks for).
pub fn memory_limit(d: &Deployment) -> Option<u64> {
    crate::model::memory::container_limit(&d.contract)
}

/// Where the TLS files are inside the containers: their directory (the mount point) and file
/// names, from `security.tls` (certFile, keyFile and caFile are paths inside the container).
pub struct TlsFiles {
    pub dir: String,
    pub cert: String,
    pub key: String,
    pub ca: String,
}

/// A contract whose TLS files a container target cannot mount: the `security.tls` field at
/// fault and why.
pub struct TlsProblem {
    pub field: &'static str,
    pub message: String,
}

/// The TLS files of a container target (`None` without TLS). They are mounted from one
/// directory (a bind mount, a Secret volume), so they must share one, given as an absolute path
/// inside the container, and it must not be one that redisctl mounts itself. `check` reports a
/// problem with its location; render keeps the error as a safety net.
pub fn tls_layout(c: &Contract) -> Result<Option<TlsFiles>, TlsProblem> {
    let tls = &c.security.tls;
    if !tls.enabled {
        return Ok(None);
    }
    let target = c.target.as_str();
    let split = |field: &'static str, value: &Option<String>| -> Result<(String, String), TlsProblem> {
        let v = value.as_deref().ok_or_else(|| TlsProblem {
            field,
            message: format!("TLS is enabled but `security.tls.{field}` is not set"),
        })?;
        match v.rsplit_once('/') {
            Some((dir, name)) if dir.starts_with('/') && !name.is_empty() => Ok((dir.to_string(), name.to_string())),
            _ => Err(TlsProblem {
                field,
                message: format!(
                    "`security.tls.{field}` ({v}) must be an absolute path inside the container on target `{target}`, \
                     e.g. /tls/tls.crt"
                ),
            }),
        }
    };
    let (dir, cert) = split("certFile", &tls.cert_file)?;
    let (key_dir, key) = split("keyFile", &tls.key_file)?;
    let (ca_dir, ca) = split("caFile", &tls.ca_file)?;
    if key_dir != dir || ca_dir != dir {
        return Err(TlsProblem {
            field: if key_dir != dir { "keyFile" } else { "caFile" },
            message: format!(
                "on target `{target}` the TLS files are mounted from one directory: `security.tls.certFile`, \
                 `keyFile` and `caFile` must be in the same directory (they are in {dir}, {key_dir} and {ca_dir})"
            ),
        });
    }
    for taken in [CONFIG_DIR, RUN_DIR, DATA_DIR, "/run/secrets/redisctl"] {
        if dir == taken || dir.starts_with(&format!("{taken}/")) || taken.starts_with(&format!("{dir}/")) {
            return Err(TlsProblem {
                field: "certFile",
                message: format!(
                    "the TLS directory {dir} overlaps {taken}, where redisctl mounts its own files: use e.g. /tls"
                ),
            });
        }
    }
    Ok(Some(TlsFiles { dir, cert, key, ca }))
}

/// `tls_layout` of a deployment, for render.
pub fn tls_files(d: &Deployment) -> Result<Option<TlsFiles>, String> {
    tls_layout(&d.contract).map_err(|p| p.message)
}

/// redis-cli arguments for the TLS port: the CA, and the server's own certificate as client
/// certificate (Redis asks clients for one by default, `tls-auth-clients yes`, and uses the same
/// pair for replication and the cluster bus).
fn cli_tls(d: &Deployment) -> Result<String, String> {
    Ok(match tls_files(d)? {
        None => String::new(),
        Some(t) => format!(
            " --tls --cacert {} --cert {} --key {}",
            sh_quote(&format!("{}/{}", t.dir, t.ca)),
            sh_quote(&format!("{}/{}", t.dir, t.cert)),
            sh_quote(&format!("{}/{}", t.dir, t.key))
        ),
    })
}

/// redis_exporter, pinned like the Redis image (compose services, Kubernetes sidecars).
pub const EXPORTER_IMAGE: &str = "oliver006/redis_exporter:v1.62.0";
pub const EXPORTER_PORT: u32 = 9121;

/// The user the health checks, the cluster bootstrap and the exporter authenticate as (RCTL054
/// makes it mandatory when auth is required; this error is a safety net).
pub fn operator(d: &Deployment) -> Result<&User, String> {
    d.user_with_role(UserRole::Operator).ok_or_else(|| {
        format!("target `{}` needs an ACL user with `role: operator` (RCTL054)", d.contract.target.as_str())
    })
}

/// Server-file flavor of a container target: everything in `CONFIG_DIR` (one file per node or
/// Sentinel, named after it), data in `/data`, logs on stdout, the ACL file written at start.
pub fn flavor(announce: fn(&Deployment, &str) -> String, host: fn(&Deployment, &Node) -> String) -> Flavor {
    Flavor {
        bind: |_, _| vec!["0.0.0.0".into()],
        supervised: None,
        hostnames: true,
        announce: Some(announce),
        host,
        paths: |_, name| {
            let acl = if name.starts_with("sentinel") { SENTINEL_ACL } else { "users.acl" };
            json!({
                "dir": DATA_DIR,
                "pidfile": "",
                "logfile": "",
                "aclfile": format!("{RUN_DIR}/{acl}"),
                "cluster_config_file": format!("{DATA_DIR}/nodes.conf"),
            })
        },
        config_path: |_, name, _| format!("{name}.conf"),
        acl_path: None,
        sentinel_acl_path: None,
    }
}

/// Header of a generated script.
fn header(d: &Deployment, what: &str) -> String {
    format!(
        "#!/bin/sh\n# Generated by redisctl from {} — do not edit\n# service {}, environment {}: {what}\nset -eu\n",
        d.files.join(", "),
        d.contract.service,
        d.env
    )
}

/// The redis-cli wrapper `cli`, authenticated as the operator; the password goes through the
/// REDISCLI_AUTH variable of that one command, never through an argument.
fn cli_prelude(d: &Deployment, secret: &dyn Fn(&User) -> String) -> Result<String, String> {
    let op = operator(d)?;
    Ok(format!(
        "cli() {{ REDISCLI_AUTH=\"{}\" redis-cli --no-auth-warning{} --user {} \"$@\"; }}\n",
        secret(op),
        cli_tls(d)?,
        sh_quote(&op.spec.name)
    ))
}

/// `start.sh redis|sentinel NAME`: writes the ACL file from the container's secrets, then
/// execs redis-server (or redis-sentinel) on `CONFIG_DIR/NAME.conf`. `secret` gives the shell
/// expression that reads a user's password inside the container.
pub fn start_script(d: &Deployment, secret: &dyn Fn(&User) -> String) -> String {
    let mut s = header(d, "start a Redis node or Sentinel with credentials from the container's secrets");
    s.push_str("# usage: start.sh redis|sentinel NAME\nkind=$1\nname=$2\numask 077\n");
    s.push_str(
        "case $name in node-[0-9]*|sentinel-[0-9]*) ;; *) echo \"start.sh: unknown name $name\" >&2; exit 64 ;; esac\n",
    );
    s.push_str("hash() { printf '%s' \"$1\" | sha256sum | cut -d ' ' -f 1; }\n");
    s.push_str(SH_CONF_QUOTE);
    s.push_str("case $kind in\nredis)\n");
    if d.contract.topology.mode == TopologyMode::Cluster {
        s.push_str(&format!(
            "  # Pods and containers get new addresses when they restart: refresh the address of every\n  \
             # known node from its announced hostname, so that a cluster restarted all at once reconnects.\n  \
             if [ -f {data}/nodes.conf ]; then\n    \
             while read -r id addr rest; do\n      \
             case $addr in\n      \
             *,*) ip=$(getent hosts \"${{addr##*,}}\" | cut -d ' ' -f 1 | head -n 1) && [ -n \"$ip\" ] && addr=\"$ip:${{addr#*:}}\" ;;\n      \
             esac\n      \
             printf '%s %s %s\\n' \"$id\" \"$addr\" \"$rest\"\n    \
             done < {data}/nodes.conf > {data}/nodes.conf.new && mv {data}/nodes.conf.new {data}/nodes.conf\n  \
             fi\n",
            data = DATA_DIR
        ));
    }
    s.push_str("  # the ACL file holds SHA-256 hashes only, on a private tmpfs\n");
    s.push_str(&write_acl(acl_lines(d), secret, "users.acl"));
    let has_replicas = d.nodes.iter().any(|n| d.primary_of(n).is_some());
    let masterauth = d.user_with_role(UserRole::Replication).filter(|_| has_replicas);
    match masterauth {
        Some(u) => {
            s.push_str(&format!(
                "  pass=$(conf_quote \"{}\"); one_line \"$pass\"\n  printf 'masterauth %s\\n' \"$pass\" > {auth}\n",
                secret(u),
                auth = auth_include()
            ));
            s.push_str(&format!("  exec redis-server \"{CONFIG_DIR}/$name.conf\" --include {}\n", auth_include()));
        }
        None => s.push_str(&format!("  exec redis-server \"{CONFIG_DIR}/$name.conf\"\n")),
    }
    s.push_str("  ;;\nsentinel)\n");
    s.push_str(&format!(
        "  # Sentinel rewrites its configuration: it runs from a copy, kept across container restarts\n  \
         [ -f {DATA_DIR}/sentinel.conf ] || cp \"{CONFIG_DIR}/$name.conf\" {DATA_DIR}/sentinel.conf\n  \
         # Sentinel refuses to start when the monitored primary's name does not resolve yet\n  \
         primary=$(sed -n 's/^sentinel monitor [^ ]* \\([^ ]*\\) .*/\\1/p' {DATA_DIR}/sentinel.conf)\n  \
         until getent hosts \"$primary\" >/dev/null; do echo \"waiting for $primary to resolve\"; sleep 1; done\n"
    ));
    let sentinel_acl = sentinel_acl_lines(d);
    if !sentinel_acl.is_empty() {
        s.push_str("  # Sentinel's own ACL (clients and the other Sentinels log in), hashes only, on the tmpfs\n");
        s.push_str(&write_acl(sentinel_acl, secret, SENTINEL_ACL));
    }
    match d.user_with_role(UserRole::Sentinel) {
        // The same password logs in to the nodes (auth-pass) and to the other Sentinels
        // (sentinel-pass, as the rendered `sentinel sentinel-user`).
        Some(u) => {
            let sentinel_pass = if sentinel_auth_required(d) { "sentinel sentinel-pass %s\\n" } else { "" };
            let args = if sentinel_auth_required(d) { "\"$pass\" \"$pass\"" } else { "\"$pass\"" };
            s.push_str(&format!(
                "  sentinel_word \"{pass}\"; pass=$(conf_quote \"{pass}\")\n  printf 'sentinel auth-pass %s %s\\n{sentinel_pass}' {} {args} > {auth}\n",
                sh_quote(&quote(&d.master_name)),
                pass = secret(u),
                auth = auth_include()
            ));
            s.push_str(&format!("  exec redis-sentinel {DATA_DIR}/sentinel.conf --include {}\n", auth_include()));
        }
        None => s.push_str(&format!("  exec redis-sentinel {DATA_DIR}/sentinel.conf\n")),
    }
    s.push_str("  ;;\n*) echo \"usage: start.sh redis|sentinel NAME\" >&2; exit 64 ;;\nesac\n");
    s
}

/// The config include `start.sh` writes the replication or Sentinel password into, on the
/// private tmpfs, quoted for the shell (`$name` is the member's name).
fn auth_include() -> String {
    format!("\"{RUN_DIR}/auth-$name.conf\"")
}

/// `{ printf 'user ...' ... } > RUN_DIR/<file>`: an ACL file with each password hashed at start.
fn write_acl(lines: Vec<AclLine<'_>>, secret: &dyn Fn(&User) -> String, file: &str) -> String {
    let mut s = String::from("  {\n");
    for line in lines {
        let mut head = vec![quote(&line.name)];
        head.extend(line.head.iter().map(|r| quote(r)));
        let rules: Vec<String> = line.rules.iter().map(|r| quote(r)).collect();
        match line.user {
            None => s.push_str(&format!("    printf 'user %s\\n' {}\n", sh_quote(&head.join(" ")))),
            Some(user) => s.push_str(&format!(
                "    printf 'user %s #%s %s\\n' {} \"$(hash \"{}\")\" {}\n",
                sh_quote(&head.join(" ")),
                secret(user),
                sh_quote(&rules.join(" "))
            )),
        }
    }
    s.push_str(&format!("  }} > {RUN_DIR}/{file}\n"));
    s
}

/// `health.sh redis|sentinel PORT`: PING alone only proves that the process answers. A primary
/// must take a write with a TTL and read it back, a replica must have its link to the primary
/// up, a cluster node must see the cluster `ok`, and a Sentinel must see a usable quorum.
pub fn health_script(d: &Deployment, secret: &dyn Fn(&User) -> String) -> Result<String, String> {
    let cluster = d.contract.topology.mode == TopologyMode::Cluster;
    let mut s = header(d, "health of a Redis node (role, replication, a real write and read) or Sentinel (quorum)");
    s.push_str("# usage: health.sh redis|sentinel PORT\nkind=$1\nport=$2\n");
    s.push_str(&cli_prelude(d, secret)?);
    // Sentinels require a login too: the check logs in as the Sentinel user, the only
    // credential a Sentinel container gets besides the applications'.
    let sentinel_login = match d.user_with_role(UserRole::Sentinel).filter(|_| sentinel_auth_required(d)) {
        Some(u) => format!("REDISCLI_AUTH=\"{}\" ", secret(u)),
        None => String::new(),
    };
    let sentinel_user = match d.user_with_role(UserRole::Sentinel).filter(|_| sentinel_auth_required(d)) {
        Some(u) => format!(" --no-auth-warning --user {}", sh_quote(&u.spec.name)),
        None => String::new(),
    };
    s.push_str("case $kind in\nsentinel)\n");
    s.push_str(&format!(
        "  {sentinel_login}redis-cli{}{sentinel_user} -p \"$port\" --raw SENTINEL CKQUORUM {} | grep -q '^OK'\n  ;;\nredis)\n",
        cli_tls(d)?,
        sh_quote(&d.master_name)
    ));
    let follow = if cluster {
        s.push_str("  cli -p \"$port\" CLUSTER INFO | grep -q '^cluster_state:ok'\n");
        " -c"
    } else {
        ""
    };
    s.push_str("  role=$(cli -p \"$port\" --raw ROLE | head -n 1)\n  case $role in\n  master)\n");
    s.push_str("    key=\"redisctl:health:${HOSTNAME:-$port}\"\n    token=\"$(date +%s)-$$\"\n");
    s.push_str(&format!("    [ \"$(cli{follow} -p \"$port\" --raw SET \"$key\" \"$token\" EX 10)\" = OK ]\n"));
    s.push_str(&format!("    [ \"$(cli{follow} -p \"$port\" --raw GET \"$key\")\" = \"$token\" ]\n    ;;\n"));
    s.push_str("  slave) cli -p \"$port\" INFO replication | grep -q '^master_link_status:up' ;;\n  *) exit 1 ;;\n  esac\n  ;;\n");
    s.push_str("*) echo \"usage: health.sh redis|sentinel PORT\" >&2; exit 64 ;;\nesac\n");
    Ok(s)
}

/// `cluster-init.sh`: creates the Redis Cluster once. Waits for every node, does nothing when
/// any node already knows other nodes (the cluster exists: idempotent), else runs
/// `redis-cli --cluster create` with the primaries first, then waits for `cluster_state:ok`.
pub fn cluster_init_script(
    d: &Deployment,
    host: &dyn Fn(&Node) -> String,
    secret: &dyn Fn(&User) -> String,
) -> Result<String, String> {
    let mut s = header(d, "create the Redis Cluster once (idempotent)");
    s.push_str(&cli_prelude(d, secret)?);
    let nodes: Vec<String> = d.nodes.iter().map(|n| format!("{}:{}", host(n), n.port)).collect();
    s.push_str(&format!("nodes={}\n", sh_quote(&nodes.join(" "))));
    s.push_str(
        "addresses=''\n\
         for node in $nodes; do\n  \
         host=${node%:*}\n  port=${node##*:}\n  \
         until cli -h \"$host\" -p \"$port\" PING 2>/dev/null | grep -q PONG; do echo \"waiting for $node\"; sleep 2; done\n  \
         if [ \"$(cli -h \"$host\" -p \"$port\" CLUSTER INFO | tr -d '\\r' | sed -n 's/^cluster_known_nodes://p')\" != 1 ]; then\n    \
         echo \"$node already belongs to a cluster: nothing to do\"\n    exit 0\n  fi\n  \
         ip=$(getent hosts \"$host\" | cut -d ' ' -f 1 | head -n 1)\n  \
         addresses=\"$addresses $ip:$port\"\n\
         done\n",
    );
    let first = d.nodes.first().map(|n| (sh_quote(&host(n)), n.port)).ok_or("a cluster without nodes")?;
    s.push_str(&format!(
        "# shellcheck disable=SC2086\ncli --cluster create $addresses --cluster-replicas {} --cluster-yes\n\
         until cli -h {} -p {} CLUSTER INFO | grep -q '^cluster_state:ok'; do echo 'waiting for cluster_state:ok'; sleep 2; done\n",
        d.contract.topology.replicas_per_shard, first.0, first.1
    ));
    Ok(s)
}

/// What container targets need from the contract so that the rendered files are safe.
pub fn check(c: &Contract, index: &SpanIndex) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    if c.resources.maxmemory.is_none() {
        diags.push(
            Diagnostic::error("RCTL092", format!("target `{}` needs `resources.maxmemory`", c.target.as_str()))
                .at(index.value("/resources").or(index.value("/target")))
                .hint("the container memory limit is derived from it; without it Redis grows until the container is OOM-killed"),
        );
    }
    if c.topology.mode == TopologyMode::Cluster && c.redis.version < RedisVersion::V7_0 {
        diags.push(
            Diagnostic::error("RCTL093", format!("Redis Cluster on `{}` needs Redis 7.0 or later", c.target.as_str()))
                .at(index.value("/redis/version"))
                .hint("containers change IP addresses; cluster nodes must announce hostnames (`cluster-announce-hostname`, Redis 7.0+)"),
        );
    }
    if let Some(image) = &c.container.image {
        if let Some(why) = crate::model::image::problem(image, c.redis.version) {
            diags.push(
                Diagnostic::error("RCTL096", format!("`container.image` `{image}` {why}"))
                    .at(index.value("/container/image"))
                    .hint(format!(
                        "every container runs this image: pin an exact Redis {} release such as `{}` (a suffix like \
                         `-alpine` is fine) or a digest `redis@sha256:...`; a floating tag pulls a different, untested \
                         Redis on the next restart",
                        c.redis.version.as_str(),
                        IMAGES.iter().find(|(v, _)| *v == c.redis.version).map_or("redis:x.y.z", |(_, i)| *i),
                    )),
            );
        }
    }
    let tls = &c.security.tls;
    // Unset files are RCTL070, reported by the shared checks.
    let files_set = [&tls.cert_file, &tls.key_file, &tls.ca_file].iter().all(|f| f.is_some());
    if let (true, Err(p)) = (files_set, tls_layout(c)) {
        diags.push(
            Diagnostic::error("RCTL073", p.message)
                .at(index.value(&format!("/security/tls/{}", p.field)))
                .hint("certFile, keyFile and caFile are paths inside the container, in one directory that is mounted read-only, e.g. /tls/tls.crt, /tls/tls.key, /tls/ca.crt"),
        );
    }
    if let Some(name) = &c.kubernetes.exporter.user {
        if !c.acl.users.iter().any(|u| &u.name == name) {
            diags.push(
                Diagnostic::error(
                    "RCTL094",
                    format!("`kubernetes.exporter.user` names `{name}`, which is not in `acl.users`"),
                )
                .at(index.value("/kubernetes/exporter/user")),
            );
        }
    }
    diags
}

/// A target whose nodes run in containers (compose, kubernetes): its own render and post-apply
/// commands, the container checks, and files that are the whole truth (configs are mounted
/// read-only and containers are replaced on change, so there are no live settings to reach).
pub struct ContainerTarget {
    pub kind: crate::model::TargetKind,
    /// The target's own checks, beside the ones every container target shares.
    pub check: fn(&Contract, &SpanIndex) -> Vec<Diagnostic>,
    pub render: fn(&Deployment, &crate::render::Templates) -> Result<Vec<crate::render::Artifact>, String>,
    pub post_apply: fn(&Deployment, &std::path::Path, &[crate::plan::Changed]) -> Vec<crate::plan::PostApply>,
    /// Where a member is reachable (`Target::endpoint`), used by the target's renderer too.
    pub endpoint: fn(&Deployment, &str) -> crate::connect::Endpoint,
    /// What an updated file does to what runs (shown in the plan).
    pub consequences: Option<crate::providers::files::Consequences>,
    /// `Target::stream`: the files as one text for standard output, and what it leaves out.
    pub stream: fn(&[crate::render::Artifact]) -> (String, Vec<String>),
    /// `Target::scaffold`: the shared environment `init` writes.
    pub scaffold: fn(&super::ScaffoldInput) -> Result<super::Scaffold, String>,
}

impl super::Target for ContainerTarget {
    fn kind(&self) -> crate::model::TargetKind {
        self.kind
    }

    fn check(&self, c: &Contract, index: &SpanIndex) -> Vec<Diagnostic> {
        let mut diags = check(c, index);
        diags.extend((self.check)(c, index));
        diags
    }

    fn endpoint(&self, d: &Deployment, name: &str) -> crate::connect::Endpoint {
        (self.endpoint)(d, name)
    }

    fn render(
        &self,
        d: &Deployment,
        templates: &crate::render::Templates,
    ) -> Result<Vec<crate::render::Artifact>, String> {
        (self.render)(d, templates)
    }

    fn providers(
        &self,
        env: &super::Opened,
        scope: crate::plan::Scope,
    ) -> Result<Vec<Box<dyn crate::plan::Provider>>, crate::error::Error> {
        if scope == crate::plan::Scope::Live {
            return Err(super::no_live(self.kind));
        }
        Ok(super::files_and_shape(env, true, self.consequences))
    }

    fn post_apply_commands(
        &self,
        d: &Deployment,
        dir: &std::path::Path,
        changed: &[crate::plan::Changed],
    ) -> Option<Vec<crate::plan::PostApply>> {
        Some((self.post_apply)(d, dir, changed))
    }

    fn stream(&self, artifacts: &[crate::render::Artifact]) -> (String, Vec<String>) {
        (self.stream)(artifacts)
    }

    fn scaffold(&self, s: &super::ScaffoldInput) -> Result<super::Scaffold, String> {
        (self.scaffold)(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sh_quote_keeps_words_and_single_quotes_the_rest() {
        assert_eq!(sh_quote("node-0"), "node-0");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("$(x)"), "'$(x)'");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
        assert_eq!(sh_quote(""), "''");
    }
}
