//! `target: kubernetes`: plain manifests for the rendered-manifests GitOps pattern, one object
//! per file, built as data (serde_json) and serialized to YAML.
//!
//! Nodes run in the StatefulSet `<service>-redis` (pod `<service>-redis-<i>` is `node-<i>`),
//! Sentinels in `<service>-sentinel`; each has a headless Service (stable DNS names, published
//! before readiness so that replication, Sentinel and the cluster bootstrap can find peers) and
//! a client Service. Every pod gets the same ports, so node ports are the base ports
//! (`endpoint`). The configs live in one ConfigMap; each StatefulSet's pods carry the checksum
//! of what they read from it (a config change rolls exactly the pods it concerns). Passwords
//! come from an existing Secret (never rendered) mounted as files, which `start.sh` hashes into
//! the ACL file on an in-memory emptyDir. `consequences` tells the plan what an updated
//! manifest does to what runs.

use std::path::Path;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::containers::{self, sh_quote, TlsFiles, CONFIG_DIR, DATA_DIR, REDIS_UID, RUN_DIR, SENTINEL_MEMORY_MIB};
use crate::connect::Endpoint;
use crate::model::{AntiAffinity, PersistenceMode, TopologyMode, UserRole};
use crate::plan::{Action, Changed, PostApply};
use crate::providers::files::Consequence;
use crate::render::{
    generated_header, observability, sentinel_auth_required, server_files, yaml_artifact, Artifact, Templates,
};
use crate::resolve::{Deployment, Node, Role, User, CLUSTER_BUS_OFFSET};

/// Where the Secret's keys (one per ACL user) are mounted.
const SECRETS_DIR: &str = "/run/secrets/redisctl";
use super::containers::{EXPORTER_IMAGE, EXPORTER_PORT};

fn namespace(d: &Deployment) -> String {
    d.contract.kubernetes.namespace.clone().unwrap_or_else(|| d.contract.service.clone())
}

fn secret_name(d: &Deployment) -> String {
    d.contract.kubernetes.secret_name.clone().unwrap_or_else(|| format!("{}-redis-acl", d.contract.service))
}

/// StatefulSet of the nodes (`redis`) or Sentinels (`sentinel`).
fn set_name(d: &Deployment, component: &str) -> String {
    format!("{}-{component}", d.contract.service)
}

/// Stable DNS name of `node-<i>` / `sentinel-<i>`: `<pod>.<headless service>.<namespace>.svc`.
pub(crate) fn dns_name(d: &Deployment, name: &str) -> String {
    let (component, ordinal) = match name.strip_prefix("sentinel-") {
        Some(i) => ("sentinel", i),
        None => ("redis", name.trim_start_matches("node-")),
    };
    let set = set_name(d, component);
    format!("{set}-{ordinal}.{set}-headless.{}.svc", namespace(d))
}

fn labels(d: &Deployment, component: &str) -> Value {
    json!({
        "app.kubernetes.io/name": "redis",
        "app.kubernetes.io/instance": d.contract.service,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/managed-by": "redisctl",
        "redisctl.io/environment": d.env,
    })
}

fn selector(d: &Deployment, component: &str) -> Value {
    json!({
        "app.kubernetes.io/name": "redis",
        "app.kubernetes.io/instance": d.contract.service,
        "app.kubernetes.io/component": component,
    })
}

fn object(d: &Deployment, api: &str, kind: &str, name: &str, component: &str) -> Value {
    json!({
        "apiVersion": api,
        "kind": kind,
        "metadata": { "name": name, "namespace": namespace(d), "labels": labels(d, component) },
    })
}

/// Every pod and container runs as the image's `redis` user, read-only, without privileges.
fn container_security() -> Value {
    json!({ "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "runAsNonRoot": true, "capabilities": { "drop": ["ALL"] } })
}

fn pod_security() -> Value {
    json!({
        "runAsNonRoot": true,
        "runAsUser": REDIS_UID,
        "runAsGroup": REDIS_UID,
        "fsGroup": REDIS_UID,
        "seccompProfile": { "type": "RuntimeDefault" },
    })
}

/// The Secret, limited to the keys of `users`, readable by the pod's group only.
fn secret_volume<'a>(d: &Deployment, users: impl Iterator<Item = &'a User>) -> Value {
    let items: Vec<Value> = users.map(|u| json!({ "key": u.spec.name, "path": u.spec.name })).collect();
    json!({ "name": "passwords", "secret": { "secretName": secret_name(d), "defaultMode": 0o440, "items": items } })
}

fn mounts(data: bool, run: bool, tls: Option<&TlsFiles>) -> Value {
    let mut m = vec![
        json!({ "name": "config", "mountPath": CONFIG_DIR, "readOnly": true }),
        json!({ "name": "passwords", "mountPath": SECRETS_DIR, "readOnly": true }),
    ];
    if let Some(t) = tls {
        m.push(json!({ "name": "tls", "mountPath": t.dir, "readOnly": true }));
    }
    if data {
        m.push(json!({ "name": "data", "mountPath": DATA_DIR }));
    }
    if run {
        m.push(json!({ "name": "run", "mountPath": RUN_DIR }));
    }
    Value::Array(m)
}

/// The `kubernetes.io/tls` Secret, its keys under the file names the configs use.
fn tls_volume(d: &Deployment, t: &TlsFiles) -> Result<Value, String> {
    // RCTL074 reports a missing name with its location; this is the safety net.
    let name = d
        .contract
        .kubernetes
        .tls_secret_name
        .as_deref()
        .ok_or("TLS on target `kubernetes` needs `kubernetes.tlsSecretName` (RCTL074)")?;
    let items = json!([
        { "key": "tls.crt", "path": t.cert },
        { "key": "tls.key", "path": t.key },
        { "key": "ca.crt", "path": t.ca },
    ]);
    Ok(json!({ "name": "tls", "secret": { "secretName": name, "defaultMode": 0o440, "items": items } }))
}

fn config_volume(d: &Deployment) -> Value {
    json!({ "name": "config", "configMap": { "name": set_name(d, "redis-config"), "defaultMode": 0o444 } })
}

fn probes(kind: &str, port: u32, port_name: &str) -> (Value, Value) {
    let readiness = json!({
        "exec": { "command": ["/bin/sh", format!("{CONFIG_DIR}/health.sh"), kind, port.to_string()] },
        "periodSeconds": 5,
        "timeoutSeconds": 3,
        "failureThreshold": 3,
    });
    // Liveness only asks whether the process listens: a replica whose primary is away is not
    // ready, but restarting it would not help.
    let liveness = json!({ "tcpSocket": { "port": port_name }, "initialDelaySeconds": 15, "periodSeconds": 10, "failureThreshold": 6 });
    (readiness, liveness)
}

fn scheduling(d: &Deployment, component: &str) -> (Value, Value) {
    let term =
        json!({ "labelSelector": { "matchLabels": selector(d, component) }, "topologyKey": "kubernetes.io/hostname" });
    let anti = match d.contract.kubernetes.anti_affinity {
        AntiAffinity::Soft => {
            json!({ "preferredDuringSchedulingIgnoredDuringExecution": [{ "weight": 100, "podAffinityTerm": term }] })
        }
        AntiAffinity::Hard => json!({ "requiredDuringSchedulingIgnoredDuringExecution": [term] }),
        AntiAffinity::None => json!({}),
    };
    let spread = json!([{
        "maxSkew": 1,
        "topologyKey": "topology.kubernetes.io/zone",
        "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": { "matchLabels": selector(d, component) },
    }]);
    (json!({ "podAntiAffinity": anti }), spread)
}

fn pod_spec(d: &Deployment, component: &str, containers: Vec<Value>, volumes: Vec<Value>, grace: u32) -> Value {
    let (affinity, spread) = scheduling(d, component);
    json!({
        "automountServiceAccountToken": false,
        "enableServiceLinks": false,
        "securityContext": pod_security(),
        "terminationGracePeriodSeconds": grace,
        "affinity": affinity,
        "topologySpreadConstraints": spread,
        "containers": containers,
        "volumes": volumes,
    })
}

fn statefulset(
    d: &Deployment,
    component: &str,
    replicas: usize,
    pod: Value,
    checksum: &str,
    claims: Option<Value>,
) -> Value {
    let name = set_name(d, component);
    let mut sts = object(d, "apps/v1", "StatefulSet", &name, component);
    let mut template_meta =
        json!({ "labels": labels(d, component), "annotations": { "redisctl.io/config-sha256": checksum } });
    if component == "redis" {
        template_meta["annotations"]["kubectl.kubernetes.io/default-container"] = json!("redis");
    }
    sts["spec"] = json!({
        "serviceName": format!("{name}-headless"),
        "replicas": replicas,
        // Nodes find each other before they are ready (replication, cluster bootstrap).
        "podManagementPolicy": "Parallel",
        "selector": { "matchLabels": selector(d, component) },
        "updateStrategy": { "type": "RollingUpdate" },
        "template": { "metadata": template_meta, "spec": pod },
    });
    if let Some(c) = claims {
        sts["spec"]["volumeClaimTemplates"] = json!([c]);
    }
    sts
}

fn service(
    d: &Deployment,
    component: &str,
    name: &str,
    headless: bool,
    ports: &[(&str, u32)],
    extra_selector: Option<(&str, String)>,
) -> Value {
    let mut svc = object(d, "v1", "Service", name, component);
    let mut sel = selector(d, component);
    if let Some((k, v)) = extra_selector {
        sel[k] = json!(v);
    }
    let ports: Vec<Value> =
        ports.iter().map(|(n, p)| json!({ "name": n, "port": p, "targetPort": n, "protocol": "TCP" })).collect();
    svc["spec"] = if headless {
        json!({ "clusterIP": "None", "publishNotReadyAddresses": true, "selector": sel, "ports": ports })
    } else {
        json!({ "type": "ClusterIP", "selector": sel, "ports": ports })
    };
    svc
}

fn pdb(d: &Deployment, component: &str) -> Value {
    let mut p = object(d, "policy/v1", "PodDisruptionBudget", &set_name(d, component), component);
    p["spec"] = json!({ "maxUnavailable": 1, "selector": { "matchLabels": selector(d, component) } });
    p
}

/// SHA-256 of what the pods of one StatefulSet read from the ConfigMap: the configs of its
/// members (`node-` or `sentinel-`) and the scripts. A redis-only setting changes the nodes'
/// configs only, so it rolls the nodes and leaves the Sentinels running.
fn checksum(data: &Map<String, Value>, members: &str) -> String {
    let read: Map<String, Value> = data
        .iter()
        .filter(|(key, _)| key.starts_with(members) || *key == "start.sh" || *key == "health.sh")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    hex::encode(Sha256::digest(Value::Object(read).to_string().as_bytes()))
}

fn quantity_mib(bytes: u64) -> String {
    format!("{}Mi", bytes.div_ceil(1 << 20))
}

/// Where a node or Sentinel is reachable: its pod's stable DNS name at the base port (every pod
/// has its own address, so every pod listens on the same port). The manifests place the members
/// with it (`placed`) and `connect` prints it.
pub fn endpoint(d: &Deployment, name: &str) -> Endpoint {
    let ports = &d.contract.ports;
    let port = if name.starts_with("sentinel-") { ports.sentinel } else { ports.redis };
    Endpoint { host: dns_name(d, name), port }
}

/// The deployment as the pods run it: each member at its endpoint's port (the layout's
/// `base + i` ports are for members that share one host).
fn placed(d: &Deployment) -> Deployment {
    let mut placed = d.clone();
    for n in &mut placed.nodes {
        n.port = endpoint(d, &n.name).port;
        n.bus_port = n.bus_port.map(|_| n.port + CLUSTER_BUS_OFFSET);
    }
    for s in &mut placed.sentinels {
        s.port = endpoint(d, &s.name).port;
    }
    placed
}

pub fn render(d: &Deployment, templates: &Templates) -> Result<Vec<Artifact>, String> {
    let d = &placed(d);
    let c = &d.contract;
    let cluster = c.topology.mode == TopologyMode::Cluster;
    let secret = |u: &User| format!("$(cat {})", sh_quote(&format!("{SECRETS_DIR}/{}", u.spec.name)));
    let operator = containers::operator(d)?;
    let tls = containers::tls_files(d)?;
    let tls_volume = tls.as_ref().map(|t| tls_volume(d, t)).transpose()?;

    // ConfigMap: node and Sentinel configs plus the scripts.
    let flavor = containers::flavor(dns_name, |d, n: &Node| dns_name(d, &n.name));
    let mut data = Map::new();
    for a in server_files(d, templates, &flavor)? {
        data.insert(a.path, json!(a.content));
    }
    data.insert("start.sh".into(), json!(containers::start_script(d, &secret)));
    data.insert("health.sh".into(), json!(containers::health_script(d, &secret)?));
    if cluster {
        let host = |n: &Node| dns_name(d, &n.name);
        data.insert("cluster-init.sh".into(), json!(containers::cluster_init_script(d, &host, &secret)?));
    }
    let (node_checksum, sentinel_checksum) = (checksum(&data, "node-"), checksum(&data, "sentinel-"));
    let mut config = object(d, "v1", "ConfigMap", &set_name(d, "redis-config"), "config");
    config["data"] = Value::Object(data);
    let mut objects = vec![config];

    // Redis nodes.
    let limit = containers::memory_limit(d).ok_or("target `kubernetes` needs `resources.maxmemory` (RCTL092)")?;
    let limit_text = c.resources.memory_limit.as_ref().map(|q| q.text.clone()).unwrap_or_else(|| quantity_mib(limit));
    let persistent = c.redis.persistence.mode != PersistenceMode::None;
    // One pod template for every node: they all listen at the same (placed) port.
    let port = endpoint(d, "node-0").port;
    let mut ports = vec![json!({ "name": "redis", "containerPort": port, "protocol": "TCP" })];
    let mut service_ports = vec![("redis", port)];
    if cluster {
        ports.push(json!({ "name": "cluster-bus", "containerPort": port + CLUSTER_BUS_OFFSET, "protocol": "TCP" }));
        service_ports.push(("cluster-bus", port + CLUSTER_BUS_OFFSET));
    }
    let (readiness, liveness) = probes("redis", port, "redis");
    let mut pod_containers = vec![json!({
        "name": "redis",
        "image": containers::image(d),
        "command": ["/bin/sh", "-c", format!("exec /bin/sh {CONFIG_DIR}/start.sh redis node-${{HOSTNAME##*-}}")],
        "ports": ports,
        "resources": { "requests": { "cpu": "100m", "memory": limit_text }, "limits": { "memory": limit_text } },
        "readinessProbe": readiness,
        "livenessProbe": liveness,
        "securityContext": container_security(),
        "volumeMounts": mounts(true, true, tls.as_ref()),
    })];
    let exporter = &c.kubernetes.exporter;
    // `observability` needs the sidecar, and logs it in as the least-privilege exporter user.
    let observed = c.observability.is_some();
    if exporter.enabled || observed {
        let user = match &exporter.user {
            Some(name) => d
                .users
                .iter()
                .find(|u| &u.spec.name == name)
                .ok_or_else(|| format!("exporter user `{name}` is not in acl.users"))?,
            None if observed => observability::exporter_user(d)
                .ok_or("`observability` needs an ACL user with `role: exporter` (RCTL080)")?,
            None => operator,
        };
        let mut env = vec![
            json!({ "name": "REDIS_ADDR", "value": format!("redis://localhost:{port}") }),
            json!({ "name": "REDIS_USER", "value": user.spec.name }),
            json!({ "name": "REDIS_PASSWORD", "valueFrom": { "secretKeyRef": { "name": secret_name(d), "key": user.spec.name } } }),
        ];
        if observed {
            // CONFIG GET * would hand the exporter every password in the configuration.
            env.push(json!({ "name": "REDIS_EXPORTER_CONFIG_COMMAND", "value": "-" }));
        }
        if let Some(t) = &tls {
            // The exporter verifies the server's name: it connects by the pod's stable DNS name,
            // which the certificate names, not by localhost.
            let set = set_name(d, "redis");
            env = vec![
                json!({ "name": "POD_NAME", "valueFrom": { "fieldRef": { "fieldPath": "metadata.name" } } }),
                json!({ "name": "REDIS_ADDR", "value": format!("rediss://$(POD_NAME).{set}-headless.{}.svc:{port}", namespace(d)) }),
                env[1].clone(),
                env[2].clone(),
                json!({ "name": "REDIS_EXPORTER_TLS_CA_CERT_FILE", "value": format!("{}/{}", t.dir, t.ca) }),
                json!({ "name": "REDIS_EXPORTER_TLS_CLIENT_CERT_FILE", "value": format!("{}/{}", t.dir, t.cert) }),
                json!({ "name": "REDIS_EXPORTER_TLS_CLIENT_KEY_FILE", "value": format!("{}/{}", t.dir, t.key) }),
            ];
            if observed {
                env.push(json!({ "name": "REDIS_EXPORTER_CONFIG_COMMAND", "value": "-" }));
            }
        }
        let mut exporter_container = json!({
            "name": "exporter",
            "image": EXPORTER_IMAGE,
            "ports": [{ "name": "metrics", "containerPort": EXPORTER_PORT, "protocol": "TCP" }],
            "env": env,
            "resources": { "requests": { "cpu": "10m", "memory": "32Mi" }, "limits": { "memory": "64Mi" } },
            "securityContext": container_security(),
        });
        if let Some(t) = &tls {
            exporter_container["volumeMounts"] = json!([{ "name": "tls", "mountPath": t.dir, "readOnly": true }]);
        }
        pod_containers.push(exporter_container);
    }
    let mut volumes = vec![
        config_volume(d),
        secret_volume(d, d.users.iter()),
        json!({ "name": "run", "emptyDir": { "medium": "Memory", "sizeLimit": "1Mi" } }),
    ];
    volumes.extend(tls_volume.clone());
    // Cluster nodes keep their identity (nodes.conf) on the volume even without persistence.
    let claims = if persistent || cluster {
        let size = c.kubernetes.storage.size.as_ref().map(|q| q.text.clone()).unwrap_or_else(|| {
            let max = c.resources.maxmemory.map(|m| m.0).unwrap_or(0);
            format!("{}Gi", (2 * max).div_ceil(1 << 30).max(1))
        });
        let mut spec = json!({ "accessModes": ["ReadWriteOnce"], "resources": { "requests": { "storage": size } } });
        if let Some(class) = &c.kubernetes.storage.class_name {
            spec["storageClassName"] = json!(class);
        }
        Some(json!({ "metadata": { "name": "data", "labels": selector(d, "redis") }, "spec": spec }))
    } else {
        volumes.push(json!({ "name": "data", "emptyDir": {} }));
        None
    };
    let grace = if persistent { 60 } else { 30 };
    let pod = pod_spec(d, "redis", pod_containers, volumes, grace);
    objects.push(statefulset(d, "redis", d.nodes.len(), pod, &node_checksum, claims));
    let redis_set = set_name(d, "redis");
    objects.push(service(d, "redis", &format!("{redis_set}-headless"), true, &service_ports, None));
    match c.topology.mode {
        // Clients of a Sentinel deployment ask the Sentinels where the primary is.
        TopologyMode::Sentinel => {}
        // Without failover, the primary is always node-0.
        TopologyMode::Replication => {
            let primary = ("statefulset.kubernetes.io/pod-name", format!("{redis_set}-0"));
            objects.push(service(d, "redis", &redis_set, false, &[("redis", port)], Some(primary)));
        }
        TopologyMode::Standalone | TopologyMode::Cluster => {
            objects.push(service(d, "redis", &redis_set, false, &[("redis", port)], None))
        }
    }
    objects.push(pdb(d, "redis"));

    // Sentinels.
    if !d.sentinels.is_empty() {
        let sport = endpoint(d, "sentinel-0").port;
        let (readiness, liveness) = probes("sentinel", sport, "sentinel");
        let mem = format!("{SENTINEL_MEMORY_MIB}Mi");
        let sentinel = json!({
            "name": "sentinel",
            "image": containers::image(d),
            "command": ["/bin/sh", "-c", format!("exec /bin/sh {CONFIG_DIR}/start.sh sentinel sentinel-${{HOSTNAME##*-}}")],
            "ports": [{ "name": "sentinel", "containerPort": sport, "protocol": "TCP" }],
            "resources": { "requests": { "cpu": "50m", "memory": mem }, "limits": { "memory": mem } },
            "readinessProbe": readiness,
            "livenessProbe": liveness,
            "securityContext": container_security(),
            "volumeMounts": mounts(true, true, tls.as_ref()),
        });
        // The Sentinel user logs in to the nodes and the other Sentinels; the application
        // users' passwords are hashed into the Sentinels' own ACL on the `run` emptyDir.
        let users = d.users.iter().filter(|u| match u.spec.role {
            UserRole::Sentinel => true,
            UserRole::Application => sentinel_auth_required(d),
            _ => false,
        });
        let mut volumes = vec![
            config_volume(d),
            secret_volume(d, users),
            json!({ "name": "data", "emptyDir": {} }),
            json!({ "name": "run", "emptyDir": { "medium": "Memory", "sizeLimit": "1Mi" } }),
        ];
        volumes.extend(tls_volume.clone());
        let pod = pod_spec(d, "sentinel", vec![sentinel], volumes, 30);
        objects.push(statefulset(d, "sentinel", d.sentinels.len(), pod, &sentinel_checksum, None));
        let set = set_name(d, "sentinel");
        objects.push(service(d, "sentinel", &format!("{set}-headless"), true, &[("sentinel", sport)], None));
        objects.push(service(d, "sentinel", &set, false, &[("sentinel", sport)], None));
        objects.push(pdb(d, "sentinel"));
    }

    // Cluster bootstrap: idempotent, so the Job may run again after any apply.
    if cluster {
        let name = format!("{redis_set}-cluster-init");
        let mut job = object(d, "batch/v1", "Job", &name, "cluster-init");
        let init = json!({
            "name": "cluster-init",
            "image": containers::image(d),
            "command": ["/bin/sh", format!("{CONFIG_DIR}/cluster-init.sh")],
            "resources": { "requests": { "cpu": "10m", "memory": "32Mi" }, "limits": { "memory": "64Mi" } },
            "securityContext": container_security(),
            "volumeMounts": mounts(false, false, tls.as_ref()),
        });
        let mut pod = json!({
            "automountServiceAccountToken": false,
            "enableServiceLinks": false,
            "restartPolicy": "OnFailure",
            "securityContext": pod_security(),
            "containers": [init],
            "volumes": [config_volume(d), secret_volume(d, std::iter::once(operator))],
        });
        if let (Some(v), Some(volumes)) = (&tls_volume, pod["volumes"].as_array_mut()) {
            volumes.push(v.clone());
        }
        pod["securityContext"]["fsGroup"] = json!(REDIS_UID);
        job["spec"] = json!({
            "backoffLimit": 30,
            "template": { "metadata": { "labels": labels(d, "cluster-init") }, "spec": pod },
        });
        objects.push(job);
    }

    objects.push(network_policy(d));
    objects.extend(monitoring(d)?);

    let mut out = Vec::new();
    for o in &objects {
        let kind = o["kind"].as_str().unwrap_or_default().to_ascii_lowercase();
        let name = o["metadata"]["name"].as_str().unwrap_or_default();
        if name.len() > 63 {
            return Err(format!("Kubernetes name `{name}` is longer than 63 characters: use a shorter service name"));
        }
        out.push(yaml_artifact(d, &format!("{kind}-{name}.yaml"), std::slice::from_ref(o))?);
    }
    out.push(Artifact { path: "README.md".into(), content: readme(d), mode: 0o644 });
    Ok(out)
}

/// Only pods carrying the client labels reach Redis (and the Sentinels); the deployment's own
/// pods reach each other on every port; the metrics port is open to scrapers.
fn network_policy(d: &Deployment) -> Value {
    let c = &d.contract;
    let mut np = object(d, "networking.k8s.io/v1", "NetworkPolicy", &c.service.to_string(), "network-policy");
    let own = json!({ "app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": c.service });
    let client_labels: Value = if c.kubernetes.client_labels.is_empty() {
        json!({ format!("client.redisctl.io/{}", c.service): "true" })
    } else {
        json!(c.kubernetes.client_labels)
    };
    let mut client_ports = vec![json!({ "protocol": "TCP", "port": c.ports.redis })];
    if !d.sentinels.is_empty() {
        client_ports.push(json!({ "protocol": "TCP", "port": c.ports.sentinel }));
    }
    let mut ingress = vec![
        json!({ "from": [{ "podSelector": { "matchLabels": client_labels } }], "ports": client_ports }),
        json!({ "from": [{ "podSelector": { "matchLabels": own } }] }),
    ];
    if c.kubernetes.exporter.enabled || c.observability.is_some() {
        ingress.push(
            json!({ "from": [{ "namespaceSelector": {} }], "ports": [{ "protocol": "TCP", "port": EXPORTER_PORT }] }),
        );
    }
    np["spec"] = json!({ "podSelector": { "matchLabels": own }, "policyTypes": ["Ingress"], "ingress": ingress });
    np
}

/// With `observability` (for the Prometheus Operator): a PodMonitor scraping every node's
/// exporter sidecar with the `service`, `environment`, `shard` and `node` labels the rules read
/// (the shard from the pod name, one relabeling per node), a PrometheusRule with the rules, and
/// the dashboards in a ConfigMap labelled for Grafana's dashboard sidecar.
fn monitoring(d: &Deployment) -> Result<Vec<Value>, String> {
    let Some(groups) = observability::rule_groups(d) else {
        return Ok(Vec::new());
    };
    let set = set_name(d, "redis");
    let mut relabelings = vec![
        json!({ "targetLabel": "service", "replacement": d.contract.service, "action": "replace" }),
        json!({ "targetLabel": "environment", "replacement": d.env, "action": "replace" }),
    ];
    for (i, n) in d.nodes.iter().enumerate() {
        let pod = format!("{set}-{i}");
        for (label, value) in [("node", n.name.clone()), ("shard", observability::shard_of(n))] {
            relabelings.push(json!({
                "sourceLabels": ["__meta_kubernetes_pod_name"],
                "regex": pod,
                "targetLabel": label,
                "replacement": value,
                "action": "replace",
            }));
        }
    }
    let mut monitor = object(d, "monitoring.coreos.com/v1", "PodMonitor", &set, "monitoring");
    monitor["spec"] = json!({
        "selector": { "matchLabels": selector(d, "redis") },
        "podMetricsEndpoints": [{ "port": "metrics", "interval": "15s", "relabelings": relabelings }],
    });
    let mut rule = object(d, "monitoring.coreos.com/v1", "PrometheusRule", &set, "monitoring");
    rule["spec"] = json!({ "groups": groups });
    let mut data = Map::new();
    for (name, dash) in observability::dashboards(d) {
        data.insert(format!("{name}.json"), json!(serde_json::to_string_pretty(&dash).map_err(|e| e.to_string())?));
    }
    let mut dashboards = object(d, "v1", "ConfigMap", &format!("{set}-dashboards"), "monitoring");
    dashboards["metadata"]["labels"]["grafana_dashboard"] = json!("1");
    dashboards["data"] = Value::Object(data);
    Ok(vec![monitor, rule, dashboards])
}

/// A rendered manifest read back (one object); `None` for text that is none (edited by hand).
fn manifest(text: &str) -> Option<Value> {
    let node = crate::contract::yaml::parse(text, 0).ok()?;
    Some(crate::contract::merge::to_json(&node, &mut Default::default()))
}

/// The fields of a StatefulSet's spec an update may change; the API server refuses a change to
/// any other (`volumeClaimTemplates`, `selector`, `serviceName`, `podManagementPolicy`).
const STATEFULSET_MUTABLE: &[&str] = &[
    "replicas",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
    "ordinals",
    "revisionHistoryLimit",
];

/// What applying an updated manifest does to what runs (files provider `Consequences`): the
/// pods a StatefulSet change rolls, adds or removes, and the objects the API server can only
/// replace (a StatefulSet's immutable fields, a Job's pod template), which `--exec` deletes and
/// creates again (`post_apply_commands`).
pub fn consequences(_path: &str, before: &str, after: &str) -> Option<Consequence> {
    let (old, new) = (manifest(before)?, manifest(after)?);
    if old["kind"] != new["kind"] {
        return None;
    }
    match new["kind"].as_str()? {
        "StatefulSet" => statefulset_consequences(&old, &new),
        "Job" if old["spec"]["template"] != new["spec"]["template"] => Some(Consequence {
            replace: true,
            destroys_data: false,
            reason: "the API server refuses a change to a Job's pod template: apply --exec deletes the Job and \
                     creates it again (cluster-init.sh leaves an existing cluster as it is)"
                .into(),
        }),
        _ => None,
    }
}

fn statefulset_consequences(old: &Value, new: &Value) -> Option<Consequence> {
    let name = new["metadata"]["name"].as_str()?;
    let pods = |ordinals: Vec<u64>| ordinals.iter().map(|i| format!("{name}-{i}")).collect::<Vec<_>>().join(", ");
    let replicas = |v: &Value| v["spec"]["replicas"].as_u64().unwrap_or(1);
    let (was, now) = (replicas(old), replicas(new));
    let spec_keys =
        |v: &Value| v["spec"].as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
    let mut immutable: Vec<String> = spec_keys(old)
        .into_iter()
        .chain(spec_keys(new))
        .filter(|k| !STATEFULSET_MUTABLE.contains(&k.as_str()) && old["spec"][k] != new["spec"][k])
        .collect();
    immutable.sort();
    immutable.dedup();
    let mut notes = Vec::new();
    if !immutable.is_empty() {
        let fields: Vec<String> = immutable.iter().map(|f| format!("`spec.{f}`")).collect();
        notes.push(format!(
            "the API server refuses a change to {} of a StatefulSet: apply --exec deletes it with --cascade=orphan \
             (its pods and PersistentVolumeClaims keep running) and creates it again",
            fields.join(", ")
        ));
        if immutable.iter().any(|f| f == "volumeClaimTemplates") {
            notes.push(format!(
                "existing claims keep their size and class: resize each with `kubectl patch pvc data-{name}-<i>` \
                 (new spec.resources.requests.storage; the StorageClass must allow volume expansion)"
            ));
        }
    }
    if old["spec"]["template"] != new["spec"]["template"] && was.min(now) > 0 {
        notes.push(format!(
            "rolls pods {} one at a time, highest ordinal first, without a failover first",
            pods((0..was.min(now)).rev().collect())
        ));
    } else if was.min(now) > 0 {
        notes.push("restarts no running pod".into());
    }
    if now > was {
        notes.push(format!("adds pods {}", pods((was..now).collect())));
    }
    if now < was {
        notes.push(format!("removes pods {} (their PersistentVolumeClaims stay)", pods((now..was).rev().collect())));
    }
    Some(Consequence { replace: !immutable.is_empty(), destroys_data: false, reason: notes.join("; ") })
}

/// Server-side apply of the created and changed manifests (objects that must be replaced are
/// deleted first; the ConfigMap goes first, so that pods rolled by a new checksum find the new
/// config), then deletion of the objects whose manifest is gone. Files are named one by one, not `-f DIR`: the output directory also holds
/// `.redisctl-state.json`, which kubectl would read as a manifest.
pub fn post_apply_commands(d: &Deployment, dir: &Path, changed: &[Changed]) -> Vec<PostApply> {
    let manifests = || changed.iter().filter(|c| c.path.ends_with(".yaml"));
    let mut applied: Vec<&Changed> = manifests().filter(|c| c.action != Action::Delete).collect();
    applied.sort_by_key(|c| (!c.path.starts_with("configmap-"), c.path.clone()));
    let mut out = Vec::new();
    // Objects the API server can only replace (`consequences`): deleted first, so that the apply
    // below creates them again; a StatefulSet's pods and claims stay (orphaned, then adopted).
    for c in manifests().filter(|c| c.action == Action::Replace) {
        let Some((kind, name)) = c.path.trim_end_matches(".yaml").split_once('-') else { continue };
        let mut argv: Vec<String> =
            ["kubectl", "delete", "--ignore-not-found", "-n", &namespace(d), kind, name].map(String::from).to_vec();
        if kind == "statefulset" {
            argv.push("--cascade=orphan".into());
        }
        out.push(PostApply { host: None, argv, why: format!("{} must be replaced", c.path) });
    }
    if !applied.is_empty() {
        let mut argv: Vec<String> =
            ["kubectl", "apply", "--server-side", "--field-manager=redisctl"].map(String::from).to_vec();
        for c in &applied {
            argv.push("-f".into());
            argv.push(dir.join(&c.path).to_string_lossy().into_owned());
        }
        let names: Vec<&str> = applied.iter().map(|c| c.path.as_str()).collect();
        out.push(PostApply { host: None, argv, why: format!("changed: {}", names.join(", ")) });
    }
    for c in manifests().filter(|c| c.action == Action::Delete) {
        // Manifests are named `<kind>-<name>.yaml` (kind in lower case, without dashes).
        let Some((kind, name)) = c.path.trim_end_matches(".yaml").split_once('-') else { continue };
        let argv = ["kubectl", "delete", "--ignore-not-found", "-n", &namespace(d), kind, name].map(String::from);
        out.push(PostApply { host: None, argv: argv.to_vec(), why: format!("{} is no longer rendered", c.path) });
    }
    out
}

fn readme(d: &Deployment) -> String {
    let ns = namespace(d);
    let mut s = format!(
        "<!-- {} -->\n# {} ({}) on Kubernetes\n\nApply with `kubectl apply --server-side -f .` into the existing namespace `{ns}`.\n\n\
         ## Passwords\n\nNo Secret is rendered. Create the Secret `{}` in `{ns}` with one key per ACL user, e.g.:\n\n```\nkubectl -n {ns} create secret generic {}",
        generated_header(d).trim_start_matches("# "),
        d.contract.service,
        d.env,
        secret_name(d),
        secret_name(d)
    );
    for u in &d.users {
        s.push_str(&format!(" \\\n  --from-file={0}=<file holding the password of {0}>", u.spec.name));
    }
    let primary = d.nodes.iter().find(|n| n.role == Role::Primary).map(|n| dns_name(d, &n.name)).unwrap_or_default();
    s.push_str(&format!(
        "\n```\n\n## Clients\n\nPods need the label `client.redisctl.io/{}: \"true\"` (or `kubernetes.clientLabels`) to pass the NetworkPolicy.\n\
         First node: `{primary}`.\n",
        d.contract.service
    ));
    s
}

/// Kubernetes mounts the TLS files from an existing Secret.
fn check(c: &crate::model::Contract, index: &crate::contract::merge::SpanIndex) -> Vec<crate::diagnostics::Diagnostic> {
    if !c.security.tls.enabled || c.kubernetes.tls_secret_name.is_some() {
        return Vec::new();
    }
    vec![crate::diagnostics::Diagnostic::error("RCTL074", "TLS on target `kubernetes` needs `kubernetes.tlsSecretName`")
        .at(index.value("/security/tls/enabled"))
        .hint("an existing Secret of type kubernetes.io/tls with the keys tls.crt, tls.key and ca.crt (cert-manager writes them)")]
}

/// `render --out -`: the manifests as one multi-document YAML stream, what `kubectl apply -f -`
/// and GitOps plugins read; each document names its file in a `# Source:` line (as `helm
/// template` does). The README is no manifest and is left out.
pub(super) fn yaml_stream(artifacts: &[Artifact]) -> (String, Vec<String>) {
    let mut text = String::new();
    let mut left_out = Vec::new();
    for a in artifacts {
        if !a.path.ends_with(".yaml") {
            left_out.push(a.path.clone());
            continue;
        }
        text.push_str(&format!("---\n# Source: {}\n{}", a.path, a.content));
        if !a.content.ends_with('\n') {
            text.push('\n');
        }
    }
    (text, left_out)
}

/// `target: kubernetes`.
pub const TARGET: containers::ContainerTarget = containers::ContainerTarget {
    kind: crate::model::TargetKind::Kubernetes,
    check,
    render,
    post_apply: post_apply_commands,
    endpoint,
    consequences: Some(consequences),
    stream: yaml_stream,
    scaffold,
};

fn scaffold(s: &super::ScaffoldInput) -> Result<super::Scaffold, String> {
    super::Scaffold::settings(format!(
        "{zones}productionLike: true\nkubernetes:\n  namespace: {service}\n  \
         secretName: {service}-redis-acl   # TODO: a Secret with one key per ACL user\n  \
         tlsSecretName: {service}-redis-tls   # TODO: a kubernetes.io/tls Secret (e.g. from cert-manager)\n\
         security:\n  tls: {{ enabled: true, certFile: /tls/tls.crt, keyFile: /tls/tls.key, caFile: /tls/ca.crt }}\n\
         resources:\n  maxmemory: 1gb\n  memoryLimit: 2Gi\n",
        zones = s.zones(),
        service = s.service,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consequences_of_text_that_is_no_manifest_are_unknown() {
        let job = "kind: Job\nspec: { template: { a: 1 } }\n";
        assert_eq!(consequences("x.yaml", "not: [yaml", job), None);
        assert_eq!(consequences("x.yaml", "- a list\n", job), None);
        assert_eq!(consequences("x.yaml", "kind: Service\n", job), None, "another kind");
        let changed = consequences("x.yaml", job, "kind: Job\nspec: { template: { a: 2 } }\n");
        assert!(changed.is_some_and(|c| c.replace));
        // A StatefulSet without a name or spec (edited by hand) gives no claim and no panic.
        assert_eq!(consequences("x.yaml", "kind: StatefulSet\n", "kind: StatefulSet\nspec: 1\n"), None);
    }
}
