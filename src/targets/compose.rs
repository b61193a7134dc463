//! `target: compose`: a Docker Compose project — `compose.yaml` plus the configs and scripts it
//! mounts read-only from `config/`.
//!
//! One service per node and Sentinel, named like it (`node-0`, `sentinel-0`) so that the names
//! the nodes announce resolve on the Compose network; each keeps its Deployment port, so the
//! ports published on 127.0.0.1 are the announced ones. Passwords reach containers only as
//! `${VAR}` interpolations of the operator's environment (the variable of each user's
//! `fromEnv`, or `<SERVICE>_<USER>_PASSWORD` for `fromFile`); `config/start.sh` hashes them
//! into the ACL file at start. compose.yaml is built as data (serde_json) and serialized.

use std::path::Path;

use serde_json::{json, Map, Value};

use super::containers::{self, CONFIG_DIR, DATA_DIR, REDIS_UID, RUN_DIR, SENTINEL_MEMORY_MIB};
use crate::connect::Endpoint;
use crate::model::{TopologyMode, UserRole};
use crate::plan::{Action, Changed, PostApply};
use crate::render::{
    generated_header, observability, sentinel_auth_required, server_files, yaml_artifact, Artifact, Templates,
};
use crate::resolve::{Deployment, Role, User};

/// Environment variable that carries a user's password into the containers.
fn var_name(d: &Deployment, user: &User) -> String {
    match &user.spec.password.from_env {
        Some(var) => var.clone(),
        None => format!("{}_{}_PASSWORD", d.contract.service, user.spec.name)
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' })
            .collect(),
    }
}

/// `VAR: ${VAR:?...}` for each user: compose refuses to start when one is unset.
fn environment<'a>(d: &Deployment, users: impl Iterator<Item = &'a User>) -> Value {
    let mut env = Map::new();
    for u in users {
        let var = var_name(d, u);
        let value = format!("${{{var}:?password of ACL user {}}}", u.spec.name);
        env.insert(var, Value::String(value));
    }
    Value::Object(env)
}

fn mem(bytes: u64) -> String {
    if bytes.is_multiple_of(1 << 20) {
        format!("{}m", bytes >> 20)
    } else {
        bytes.to_string()
    }
}

fn healthcheck(kind: &str, port: u32) -> Value {
    json!({
        "test": ["CMD", "/bin/sh", format!("{CONFIG_DIR}/health.sh"), kind, port.to_string()],
        "interval": "5s",
        "timeout": "3s",
        "retries": 5,
        "start_period": "30s",
    })
}

/// Settings every Redis-image service shares (`tls`: the read-only bind mount of the TLS files).
fn base(d: &Deployment, entrypoint: &str, env: Value, tls: Option<&str>) -> Value {
    let mut volumes = vec![format!("./config:{CONFIG_DIR}:ro")];
    volumes.extend(tls.map(String::from));
    json!({
        "image": containers::image(d),
        "user": format!("{REDIS_UID}:{REDIS_UID}"),
        "entrypoint": ["/bin/sh", format!("{CONFIG_DIR}/{entrypoint}")],
        "environment": env,
        "volumes": volumes,
        "security_opt": ["no-new-privileges:true"],
        "cap_drop": ["ALL"],
        // Nothing writes outside the mounts each service adds: /data (Redis' `dir`, Sentinel's
        // config copy) and the RUN_DIR tmpfs (the ACL files start.sh writes). Redis and the
        // scripts need no /tmp; pid and log files are off (logs go to stdout).
        "read_only": true,
    })
}

/// Where a node or Sentinel is reachable from the Docker host: its port published on 127.0.0.1,
/// the same port the member listens on inside its container (and announces). compose.yaml
/// publishes with it (`published`) and `connect` prints it.
pub fn endpoint(d: &Deployment, name: &str) -> Endpoint {
    Endpoint { host: "127.0.0.1".into(), port: d.port_of(name).unwrap_or(0) }
}

/// `127.0.0.1:<endpoint port>:<container port>` of one member.
fn published(d: &Deployment, name: &str, container_port: u32) -> String {
    let at = endpoint(d, name);
    format!("{}:{}:{container_port}", at.host, at.port)
}

pub fn render(d: &Deployment, templates: &Templates) -> Result<Vec<Artifact>, String> {
    let secret = |u: &User| format!("${}", var_name(d, u));
    let flavor = containers::flavor(|_, name| name.to_string(), |_, node| node.name.clone());
    let mut out: Vec<Artifact> = server_files(d, templates, &flavor)?
        .into_iter()
        // The container's redis user (uid 999) reads the bind-mounted files: no secrets in them.
        .map(|a| Artifact { path: format!("config/{}", a.path), mode: 0o644, ..a })
        .collect();
    let script = |name: &str, content: String| Artifact { path: format!("config/{name}"), content, mode: 0o755 };
    out.push(script("start.sh", containers::start_script(d, &secret)));
    out.push(script("health.sh", containers::health_script(d, &secret)?));

    if d.contract.topology.mode == TopologyMode::Cluster {
        let host = |n: &crate::resolve::Node| n.name.clone();
        out.push(script("cluster-init.sh", containers::cluster_init_script(d, &host, &secret)?));
    }
    let doc = document(d)?;
    out.push(yaml_artifact(d, "compose.yaml", &[doc])?);
    // Prometheus on the Docker host scrapes the published exporter ports.
    let address = |n: &crate::resolve::Node| {
        let port = crate::model::observability::effective(&d.contract).map(|e| observability::exporter_port(&e, d, n));
        format!("127.0.0.1:{}", port.unwrap_or(0))
    };
    out.extend(observability::files(d, &address)?);
    out.push(Artifact { path: "README.md".into(), content: readme(d), mode: 0o644 });
    Ok(out)
}

/// compose.yaml as data: one service per node and Sentinel (and the cluster bootstrap). Built
/// from the deployment alone, so that `post_apply_commands` compares it with the file on disk.
fn document(d: &Deployment) -> Result<Value, String> {
    let limit = containers::memory_limit(d).ok_or("target `compose` needs `resources.maxmemory` (RCTL092)")?;
    let tls = match containers::tls_files(d)? {
        None => None,
        Some(t) => {
            // RCTL074 reports a missing directory with its location; this is the safety net.
            let host = d
                .contract
                .container
                .tls_dir
                .as_deref()
                .ok_or("TLS on target `compose` needs `container.tlsDir` (RCTL074)")?;
            Some(format!("{host}:{}:ro", t.dir))
        }
    };
    let tls = tls.as_deref();
    let persistent = d.contract.redis.persistence.mode != crate::model::PersistenceMode::None;
    let mut services = Map::new();
    let mut volumes = Map::new();
    for n in &d.nodes {
        let mut svc = base(d, "start.sh", environment(d, d.users.iter()), tls);
        svc["hostname"] = json!(n.name);
        svc["command"] = json!(["redis", n.name]);
        svc["tmpfs"] = json!([RUN_DIR]);
        if let Some(v) = svc["volumes"].as_array_mut() {
            if persistent {
                let volume = format!("{}-data", n.name);
                v.push(json!(format!("{volume}:{DATA_DIR}")));
                volumes.insert(volume, json!({}));
            } else {
                // Even without persistence Redis writes to its `dir`: the RDB a replica loads
                // and a primary sends in a disk-based full sync, a cluster node's nodes.conf.
                // An anonymous volume (the image declares VOLUME /data anyway), not a tmpfs:
                // a tmpfs would count that RDB against the container's memory limit.
                v.push(json!(DATA_DIR));
            }
        }
        svc["ports"] = json!([published(d, &n.name, n.port)]);
        svc["mem_limit"] = json!(mem(limit));
        svc["memswap_limit"] = json!(mem(limit));
        svc["healthcheck"] = healthcheck("redis", n.port);
        svc["restart"] = json!("unless-stopped");
        if let Some(p) = d.primary_of(n).filter(|_| d.contract.topology.mode != TopologyMode::Cluster) {
            svc["depends_on"] = json!([p.name]);
        }
        services.insert(n.name.clone(), svc);
    }
    for s in &d.sentinels {
        // The Sentinel user logs in to the nodes and the other Sentinels; the application users'
        // passwords are hashed into the Sentinels' own ACL (see `render::sentinel_acl_lines`).
        let users = d.users.iter().filter(|u| match u.spec.role {
            UserRole::Sentinel => true,
            UserRole::Application => sentinel_auth_required(d),
            _ => false,
        });
        let mut svc = base(d, "start.sh", environment(d, users), tls);
        svc["hostname"] = json!(s.name);
        svc["command"] = json!(["sentinel", s.name]);
        // Sentinel rewrites its config: the copy lives on /data (below); the ACL file on a tmpfs.
        svc["tmpfs"] = json!([RUN_DIR]);
        if let Some(v) = svc["volumes"].as_array_mut() {
            v.push(json!(DATA_DIR));
        }
        svc["ports"] = json!([published(d, &s.name, s.port)]);
        svc["mem_limit"] = json!(mem(SENTINEL_MEMORY_MIB << 20));
        svc["memswap_limit"] = json!(mem(SENTINEL_MEMORY_MIB << 20));
        svc["healthcheck"] = healthcheck("sentinel", s.port);
        svc["restart"] = json!("unless-stopped");
        svc["depends_on"] = json!(d.nodes.iter().map(|n| &n.name).collect::<Vec<_>>());
        services.insert(s.name.clone(), svc);
    }
    if d.contract.topology.mode == TopologyMode::Cluster {
        let mut svc = base(d, "cluster-init.sh", environment(d, containers::operator(d).into_iter()), tls);
        svc["depends_on"] = json!(d.nodes.iter().map(|n| &n.name).collect::<Vec<_>>());
        svc["restart"] = json!("no");
        services.insert("cluster-init".into(), svc);
    }
    exporters(d, &mut services);
    let mut doc = json!({ "services": services });
    if !volumes.is_empty() {
        doc["volumes"] = Value::Object(volumes);
    }
    Ok(doc)
}

/// With `observability`: an exporter service per node (`exporter-<node>`), published on
/// 127.0.0.1 at `exporterPort + i`. Its password arrives like every container's, as a `${VAR}`
/// interpolation into its environment (`REDIS_PASSWORD`), never in argv or a file.
fn exporters(d: &Deployment, services: &mut Map<String, Value>) {
    let Some(e) = crate::model::observability::effective(&d.contract) else {
        return;
    };
    let user = observability::exporter_user(d);
    let tls = d.contract.security.tls.enabled;
    for n in &d.nodes {
        let scheme = if tls { "rediss" } else { "redis" };
        let mut env = Map::new();
        for (k, v) in observability::exporter_env(d, &format!("{scheme}://{}:{}", n.name, n.port)) {
            env.insert(k, json!(v));
        }
        if let Some(u) = user {
            let var = var_name(d, u);
            env.insert("REDIS_PASSWORD".into(), json!(format!("${{{var}:?password of ACL user {}}}", u.spec.name)));
        }
        if let (true, Ok(Some(t))) = (tls, containers::tls_files(d)) {
            env.insert("REDIS_EXPORTER_TLS_CA_CERT_FILE".into(), json!(format!("{}/{}", t.dir, t.ca)));
            env.insert("REDIS_EXPORTER_TLS_CLIENT_CERT_FILE".into(), json!(format!("{}/{}", t.dir, t.cert)));
            env.insert("REDIS_EXPORTER_TLS_CLIENT_KEY_FILE".into(), json!(format!("{}/{}", t.dir, t.key)));
        }
        let mut svc = json!({
            "image": containers::EXPORTER_IMAGE,
            "environment": env,
            "ports": [format!("127.0.0.1:{}:{}", observability::exporter_port(&e, d, n), containers::EXPORTER_PORT)],
            "security_opt": ["no-new-privileges:true"],
            "cap_drop": ["ALL"],
            "read_only": true,
            "mem_limit": "64m",
            "restart": "unless-stopped",
            "depends_on": [n.name],
        });
        if let (true, Some(dir), Ok(Some(t))) = (tls, d.contract.container.tls_dir.as_deref(), containers::tls_files(d))
        {
            svc["volumes"] = json!([format!("{dir}:{}:ro", t.dir)]);
        }
        services.insert(format!("exporter-{}", n.name), svc);
    }
}

/// After a change (anything but the README): `up -d --no-recreate --remove-orphans` creates new
/// services and removes gone ones without touching running ones; then the services that must
/// restart are recreated one at a time, each waited for until healthy (`up --no-deps
/// --force-recreate --wait`): replicas first, then primaries, Sentinels last, like the systemd
/// target. A service must restart when its service in compose.yaml changed (compose would
/// recreate it), its mounted config changed or start.sh did (compose does not see changes
/// inside bind-mounted files). Primaries restart without a failover first: each command's
/// reason says so, and the plan shows it.
pub fn post_apply_commands(d: &Deployment, dir: &Path, changed: &[Changed]) -> Vec<PostApply> {
    let relevant: Vec<&Changed> = changed.iter().filter(|c| c.path != "README.md").collect();
    if relevant.is_empty() {
        return Vec::new();
    }
    let file = dir.join("compose.yaml").to_string_lossy().into_owned();
    let compose = |args: &[&str], why: String| {
        let mut argv: Vec<String> = ["docker", "compose", "-f", &file].map(String::from).to_vec();
        argv.extend(args.iter().map(|a| a.to_string()));
        PostApply { host: None, argv, why }
    };
    let mut out = Vec::new();
    // New services (a file created) and gone ones (deleted), or a changed compose.yaml.
    if relevant.iter().any(|c| c.path == "compose.yaml" || c.action != Action::Update) {
        let names: Vec<&str> = relevant.iter().map(|c| c.path.as_str()).collect();
        out.push(compose(&["up", "-d", "--no-recreate", "--remove-orphans"], format!("changed: {}", names.join(", "))));
    }
    let updated = |path: &str| relevant.iter().find(|c| c.path == path && c.action == Action::Update);
    let start_changed = updated("config/start.sh").is_some();
    let definition_changed = service_changes(d, updated("compose.yaml").map(|c| c.before.as_deref()));
    let cluster = d.contract.topology.mode == TopologyMode::Cluster;
    let replicas = d.nodes.iter().filter(|n| n.role != Role::Primary).map(|n| {
        (n.name.as_str(), "a replica: restarted before the primary, one at a time, each waited for until healthy")
    });
    let primaries = d.nodes.iter().filter(|n| n.role == Role::Primary).map(|n| {
        let what = if cluster {
            "a primary: restarted after the replicas, without a failover first (its hash slots fail until it is \
             healthy again)"
        } else {
            "the primary: restarted after the replicas, without a failover first (writes fail until it is healthy \
             again)"
        };
        (n.name.as_str(), what)
    });
    let sentinels =
        d.sentinels.iter().map(|s| (s.name.as_str(), "a Sentinel: restarted after the nodes, one at a time"));
    for (name, what) in replicas.chain(primaries).chain(sentinels) {
        let why = if updated(&format!("config/{name}.conf")).is_some() {
            format!("{name}.conf changed")
        } else if start_changed {
            "start.sh changed".to_string()
        } else if definition_changed(name) {
            "its service in compose.yaml changed".to_string()
        } else {
            continue;
        };
        out.push(compose(
            &["up", "-d", "--no-deps", "--force-recreate", "--wait", name],
            format!("{why}; {name} is {what}"),
        ));
    }
    // Exporters hold no data: a changed one is recreated, after the nodes it watches.
    for n in d.nodes.iter().filter(|_| d.contract.observability.is_some()) {
        let name = format!("exporter-{}", n.name);
        if definition_changed(&name) {
            out.push(compose(
                &["up", "-d", "--no-deps", "--force-recreate", &name],
                format!("its service in compose.yaml changed; {name} is a metrics exporter (no data)"),
            ));
        }
    }
    out
}

/// Whether a service's definition differs between compose.yaml on disk (`before`: `None` when
/// compose.yaml is not updated, `Some(None)` when its old content is unknown) and the rendered one.
fn service_changes(d: &Deployment, before: Option<Option<&str>>) -> impl Fn(&str) -> bool {
    let old = before.map(|text| {
        text.and_then(|t| crate::contract::yaml::parse(t, 0).ok())
            .map(|node| crate::contract::merge::to_json(&node, &mut Default::default()))
    });
    let new = document(d).ok();
    move |name: &str| match &old {
        None => false,
        // Unreadable (edited by hand): restart rather than leave a changed service running.
        Some(None) => true,
        Some(Some(old)) => new.as_ref().is_none_or(|new| old["services"].get(name) != new["services"].get(name)),
    }
}

fn readme(d: &Deployment) -> String {
    let mut s = format!(
        "<!-- {} -->\n# {} ({}) on Docker Compose\n\n## Passwords\n\nNo password is in these files. Export these variables (or put them in a `.env` file next to \
         compose.yaml that is not committed) before `docker compose up -d`:\n\n",
        generated_header(d).trim_start_matches("# "),
        d.contract.service,
        d.env
    );
    for u in &d.users {
        s.push_str(&format!("- `{}`: password of ACL user `{}`\n", var_name(d, u), u.spec.name));
    }
    s.push_str("\n## Ports\n\nPublished on 127.0.0.1 only:\n\n");
    for n in &d.nodes {
        s.push_str(&format!("- `{}`: {}\n", n.name, endpoint(d, &n.name).port));
    }
    for n in &d.sentinels {
        s.push_str(&format!("- `{}`: {}\n", n.name, endpoint(d, &n.name).port));
    }
    if d.contract.topology.mode != TopologyMode::Standalone {
        let names: Vec<&str> = d.nodes.iter().map(|n| n.name.as_str()).collect();
        s.push_str(&format!(
            "\nNodes announce their service names. To follow Sentinel or Cluster redirects from the host, \
             map them to 127.0.0.1 (e.g. in /etc/hosts): `127.0.0.1 {}`.\n",
            names.join(" ")
        ));
    }
    s
}

/// Compose mounts the TLS files from a directory of the Docker host.
fn check(c: &crate::model::Contract, index: &crate::contract::merge::SpanIndex) -> Vec<crate::diagnostics::Diagnostic> {
    if !c.security.tls.enabled || c.container.tls_dir.is_some() {
        return Vec::new();
    }
    vec![crate::diagnostics::Diagnostic::error("RCTL074", "TLS on target `compose` needs `container.tlsDir`")
        .at(index.value("/security/tls/enabled"))
        .hint("the directory on the Docker host that holds the certificate, key and CA (mounted read-only at the directory of `security.tls.certFile`)")]
}

/// `target: compose`.
pub const TARGET: containers::ContainerTarget = containers::ContainerTarget {
    kind: crate::model::TargetKind::Compose,
    check,
    render,
    post_apply: post_apply_commands,
    endpoint,
    consequences: None,
    stream: super::commented_stream,
    scaffold,
};

/// Compose is a development stack on one machine: TLS and the production rules do not apply.
fn scaffold(_: &super::ScaffoldInput) -> Result<super::Scaffold, String> {
    super::Scaffold::settings("resources:\n  maxmemory: 1gb\n  memoryLimit: 2Gi\n".into())
}
