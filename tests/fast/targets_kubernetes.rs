//! `target: kubernetes`, what the rendered manifests hold, read as text. Their check against
//! a real peer (kubernetes-validate) is in tests/peers/targets_kubernetes.rs.

use crate::common::targets::*;

#[test]
fn manifests_follow_the_kubernetes_checklist() {
    for topology in container_topologies() {
        let out = render(&format!("kubernetes-{topology}"));
        let all: String = files(out.path()).into_iter().map(|(_, p)| std::fs::read_to_string(p).unwrap()).collect();
        assert!(!all.contains("kind: Secret"), "{topology}: a Secret was rendered");
        for needle in [
            "kind: StatefulSet",
            "clusterIP: None",
            "kind: PodDisruptionBudget",
            "kind: NetworkPolicy",
            "readOnlyRootFilesystem: true",
            "runAsNonRoot: true",
            "redisctl.io/config-sha256",
            "topologySpreadConstraints",
            "podAntiAffinity",
            "readinessProbe",
        ] {
            assert!(all.contains(needle), "kubernetes-{topology}: missing {needle}");
        }
        let persistent = topology != "standalone";
        let nodes = std::fs::read_to_string(out.path().join("statefulset-catalog-redis.yaml")).unwrap();
        assert_eq!(nodes.contains("volumeClaimTemplates"), persistent, "{topology}: PVCs iff persistence or cluster");
        // `emptyDir: {}` is the data volume; the ACL file's in-memory emptyDir has a medium.
        assert_eq!(nodes.contains("emptyDir: {}"), !persistent, "{topology}: emptyDir for persistent data");
    }
    let sentinel = render("kubernetes-sentinel");
    let all: String = files(sentinel.path()).into_iter().map(|(_, p)| std::fs::read_to_string(p).unwrap()).collect();
    for needle in [
        "sentinel announce-hostnames yes",
        "sentinel resolve-hostnames yes",
        "requiredDuringSchedulingIgnoredDuringExecution",
        "name: metrics",
        "storageClassName: fast-ssd",
    ] {
        assert!(all.contains(needle), "kubernetes-sentinel: missing {needle}");
    }
    let cluster = render("kubernetes-cluster");
    let all: String = files(cluster.path()).into_iter().map(|(_, p)| std::fs::read_to_string(p).unwrap()).collect();
    assert!(
        all.contains("kind: Job")
            && all.contains("cluster-announce-hostname catalog-redis-0.catalog-redis-headless.catalog.svc"),
        "cluster"
    );
}

#[test]
fn tls_uses_an_existing_tls_secret_and_the_tls_port_only() {
    for topology in TLS_TOPOLOGIES {
        let out = render(&format!("kubernetes-{topology}"));
        let all: String = files(out.path()).into_iter().map(|(_, p)| std::fs::read_to_string(p).unwrap()).collect();
        for needle in [
            "port 0\n",
            "tls-port 6379",
            "tls-cert-file /tls/redis.crt",
            "tls-ca-cert-file /tls/ca.crt",
            "tls-replication yes",
            "secretName: catalog-redis-tls",
            "key: tls.crt",
            "path: redis.crt",
            "mountPath: /tls",
            "redis-cli --no-auth-warning --tls --cacert /tls/ca.crt --cert /tls/redis.crt --key /tls/redis.key",
        ] {
            assert!(all.contains(needle), "kubernetes-{topology}: missing {needle:?}");
        }
        assert!(!all.contains("kind: Secret"), "{topology}: a Secret was rendered");
        assert!(!all.contains("\nport 6379"), "{topology}: a plaintext port");
    }
    let cluster = render("kubernetes-cluster-tls");
    let all: String = files(cluster.path()).into_iter().map(|(_, p)| std::fs::read_to_string(p).unwrap()).collect();
    assert!(all.contains("tls-cluster yes"), "cluster bus over TLS");
    let sentinel = render("kubernetes-sentinel-tls");
    let all: String = files(sentinel.path()).into_iter().map(|(_, p)| std::fs::read_to_string(p).unwrap()).collect();
    assert!(all.contains("tls-port 26379") && all.contains("redis-cli --tls --cacert"), "Sentinel over TLS");
    assert!(all.contains("rediss://$(POD_NAME).catalog-redis-headless.catalog.svc:6379"), "exporter over TLS");
}

/// The kubernetes environments of the fixture, the examples and the sample: (project, env).
fn kubernetes_environments() -> Vec<(String, String)> {
    let mut envs: Vec<(String, String)> =
        container_topologies().map(|t| (PROJECT.to_string(), format!("kubernetes-{t}"))).collect();
    for example in ["examples/kubernetes-cluster", "examples/kubernetes-sentinel"] {
        envs.push((example.to_string(), "production".to_string()));
    }
    envs.push((".".to_string(), "staging".to_string()));
    envs
}

/// `connect` hands out exactly the addresses the pods listen on: each endpoint names a pod of a
/// rendered StatefulSet through its headless Service, and its port is that pod's containerPort,
/// a port of the headless and the client Service, and the port in the member's config.
#[test]
fn connect_endpoints_are_where_the_pods_listen() {
    for (project, env) in kubernetes_environments() {
        let out = render_project(&project, &env);
        let manifests: Vec<serde_json::Value> = files(out.path())
            .into_iter()
            .filter(|(rel, _)| rel.ends_with(".yaml"))
            .map(|(_, path)| yaml_file(&path))
            .collect();
        let of_kind = |kind: &'static str| manifests.iter().filter(move |m| m["kind"] == kind);
        let config = of_kind("ConfigMap").next().unwrap_or_else(|| panic!("{env}: no ConfigMap"));
        // Every member's config listens at the port its container declares.
        for sts in of_kind("StatefulSet") {
            let component = sts["metadata"]["labels"]["app.kubernetes.io/component"].as_str().unwrap();
            let member = if component == "sentinel" { "sentinel" } else { "node" };
            let declared: Vec<u64> = sts["spec"]["template"]["spec"]["containers"][0]["ports"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["name"] == component || p["name"] == "redis")
                .map(|p| p["containerPort"].as_u64().unwrap())
                .collect();
            for i in 0..sts["spec"]["replicas"].as_u64().unwrap() {
                let conf = config["data"][format!("{member}-{i}.conf")].as_str().expect("the member's config");
                assert_eq!(declared, [u64::from(listening_port(conf))], "{project} {env}: {member}-{i}");
            }
        }
        let connect = connect_json(&project, &env);
        let endpoints = connect_endpoints(&connect);
        assert!(!endpoints.is_empty(), "{project} {env}: {connect:#}");
        for endpoint in endpoints {
            let (host, port) = endpoint.rsplit_once(':').unwrap();
            let port: u64 = port.parse().unwrap();
            let [pod, headless, namespace, "svc"] = host.split('.').collect::<Vec<_>>()[..] else {
                panic!("{project} {env}: {endpoint} is not a pod's stable DNS name");
            };
            let sts = of_kind("StatefulSet")
                .find(|s| s["spec"]["serviceName"] == headless && s["metadata"]["namespace"] == namespace)
                .unwrap_or_else(|| panic!("{project} {env}: {endpoint}: no StatefulSet behind {headless}"));
            let set = sts["metadata"]["name"].as_str().unwrap();
            let ordinal: u64 = pod.strip_prefix(&format!("{set}-")).and_then(|i| i.parse().ok()).unwrap();
            assert!(ordinal < sts["spec"]["replicas"].as_u64().unwrap(), "{project} {env}: {endpoint}: no such pod");
            let container_ports: Vec<u64> = sts["spec"]["template"]["spec"]["containers"][0]["ports"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["containerPort"].as_u64().unwrap())
                .collect();
            assert!(container_ports.contains(&port), "{project} {env}: {endpoint}: pods listen on {container_ports:?}");
            let component = &sts["metadata"]["labels"]["app.kubernetes.io/component"];
            let member = if component == "sentinel" { "sentinel" } else { "node" };
            let conf = config["data"][format!("{member}-{ordinal}.conf")].as_str().unwrap();
            assert_eq!(u64::from(listening_port(conf)), port, "{project} {env}: {endpoint} vs {member}-{ordinal}.conf");
            let services: Vec<&serde_json::Value> = of_kind("Service")
                .filter(|s| s["metadata"]["labels"]["app.kubernetes.io/component"] == *component)
                .collect();
            assert!(services.iter().any(|s| s["metadata"]["name"] == headless), "{project} {env}: {headless}");
            for svc in services {
                let ports: Vec<u64> =
                    svc["spec"]["ports"].as_array().unwrap().iter().map(|p| p["port"].as_u64().unwrap()).collect();
                assert!(
                    ports.contains(&port),
                    "{project} {env}: {endpoint}: Service {} has {ports:?}",
                    svc["metadata"]["name"]
                );
            }
        }
    }
}

/// Every Redis, Sentinel and cluster-init container runs the contract's `container.image` (the
/// exporter has its own); without one, the pinned image of `redis.version`.
#[test]
fn pods_run_the_contracts_image() {
    let digest = "redis@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    for (project, env, want) in [
        (PROJECT, "kubernetes-sentinel-tls", digest),
        (".", "staging", "redis:7.0.15-alpine"),
        (PROJECT, "kubernetes-cluster", "redis:7.0.15"),
    ] {
        let out = render_project(project, env);
        let mut seen = 0;
        for (rel, path) in files(out.path()).into_iter().filter(|(rel, _)| rel.ends_with(".yaml")) {
            let manifest = yaml_file(&path);
            let containers = &manifest["spec"]["template"]["spec"]["containers"];
            for c in containers.as_array().into_iter().flatten().filter(|c| c["name"] != "exporter") {
                assert_eq!(c["image"], want, "{env}: {rel}: {}", c["name"]);
                seen += 1;
            }
        }
        assert!(seen >= 2, "{env}: {seen} containers");
    }
}
