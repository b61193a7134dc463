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
