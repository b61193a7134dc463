//! `target: compose`, what the rendered compose.yaml and scripts hold, read as text. Their
//! checks against real peers (docker-compose, the compose-spec schema, redis-server running
//! the rendered start and health scripts) are in tests/peers/targets_compose.rs.

use crate::common::targets::*;

#[test]
fn compose_files_follow_the_docker_checklist() {
    for topology in TOPOLOGIES {
        let out = render(&format!("compose-{topology}"));
        let text = std::fs::read_to_string(out.path().join("compose.yaml")).unwrap();
        assert!(text.contains("image: redis:7.0.15") && !text.contains(":latest"), "{topology}: image not pinned");
        assert!(text.contains("./config:/etc/redisctl:ro"), "{topology}: config not read-only");
        let persistent = topology == "replication" || topology == "sentinel";
        // maxmemory 256mb: 2 × with persistence (fork headroom), 1.5 × without.
        let limit = if persistent { "mem_limit: 512m" } else { "mem_limit: 384m" };
        assert!(text.contains(limit), "{topology}: memory limit");
        for line in text.lines().filter(|l| l.trim_start().starts_with("- ") && l.contains(":63") || l.contains(":263"))
        {
            assert!(line.contains("127.0.0.1:"), "{topology}: port published beyond 127.0.0.1: {line}");
        }
        assert_eq!(text.contains("-data:/data"), persistent, "{topology}: named volume iff persistence");
        // Read-only root filesystem everywhere; writable only: /data (a volume) and the tmpfs
        // for the ACL files start.sh writes; the one-shot cluster-init writes nothing.
        let services = services(&text);
        assert!(!services.is_empty(), "{topology}: {text}");
        for (name, svc) in services {
            assert!(svc.contains("\n    read_only: true\n"), "{topology}/{name}: root filesystem not read-only");
            let list = |key: &str| -> Vec<String> {
                let from = svc.find(&format!("\n    {key}:\n")).map(|i| i + key.len() + 7);
                let items = from.map(|i| &svc[i..]).unwrap_or_default().lines();
                items.take_while(|l| l.starts_with("    - ")).map(|l| l[6..].to_string()).collect()
            };
            let writable: Vec<String> = list("volumes").into_iter().filter(|v| !v.ends_with(":ro")).collect();
            if name == "cluster-init" {
                assert!(writable.is_empty() && list("tmpfs").is_empty(), "{topology}/{name}: {svc}");
            } else {
                assert_eq!(list("tmpfs"), ["/run/redisctl"], "{topology}/{name}");
                assert!(writable.len() == 1 && writable[0].ends_with("/data"), "{topology}/{name}: {writable:?}");
            }
        }
    }
}

/// compose.yaml's services as (name, text of its block, with the leading newline).
fn services(text: &str) -> Vec<(String, String)> {
    let body = &text[text.find("\nservices:\n").expect("services") + 11..];
    let mut out: Vec<(String, String)> = Vec::new();
    for line in body.lines().take_while(|l| l.is_empty() || l.starts_with(' ')) {
        match line.strip_prefix("  ").and_then(|l| l.strip_suffix(':')).filter(|n| !n.starts_with(' ')) {
            Some(name) => out.push((name.to_string(), "\n".into())),
            None => out.last_mut().expect("a service").1.push_str(&format!("{line}\n")),
        }
    }
    out
}

#[test]
fn tls_mounts_the_certificate_directory_read_only() {
    let out = render("compose-sentinel-tls");
    let text = std::fs::read_to_string(out.path().join("compose.yaml")).unwrap();
    let services = text.matches("image: redis:").count();
    assert_eq!(text.matches("- ./tls:/tls:ro").count(), services, "every service mounts the certificates:\n{text}");
    let health = std::fs::read_to_string(out.path().join("config/health.sh")).unwrap();
    assert!(health.contains("--tls --cacert /tls/ca.crt --cert /tls/redis.crt --key /tls/redis.key"), "{health}");
    let sentinel = std::fs::read_to_string(out.path().join("config/sentinel-0.conf")).unwrap();
    assert!(sentinel.contains("port 0\ntls-port 26379") && sentinel.contains("tls-replication yes"), "{sentinel}");
    let cluster = render("compose-cluster-tls");
    let text = std::fs::read_to_string(cluster.path().join("compose.yaml")).unwrap();
    assert!(text.contains("- /etc/ssl/catalog-redis:/tls:ro"), "{text}");
    let node = std::fs::read_to_string(cluster.path().join("config/node-0.conf")).unwrap();
    assert!(node.contains("tls-cluster yes") && node.contains("port 0\n"), "{node}");
}

/// `connect` hands out exactly the ports compose.yaml publishes: each endpoint is a port
/// published on 127.0.0.1 by one service, which forwards it to the port the member's config
/// listens on.
#[test]
fn connect_endpoints_are_the_published_ports() {
    let mut envs: Vec<(String, String)> =
        container_topologies().map(|t| (PROJECT.to_string(), format!("compose-{t}"))).collect();
    envs.push(("examples/compose-cache".into(), "dev".into()));
    envs.push(("examples/compose-sentinel".into(), "dev".into()));
    for (project, env) in envs {
        let out = render_project(&project, &env);
        let compose = yaml_file(&out.path().join("compose.yaml"));
        // (host address, published port, service, container port) of every published port.
        let mut published = Vec::new();
        for (name, svc) in compose["services"].as_object().unwrap() {
            for p in svc["ports"].as_array().into_iter().flatten() {
                let parts: Vec<&str> = p.as_str().unwrap().split(':').collect();
                let [ip, host_port, container_port] = parts[..] else { panic!("{env}: {name}: port {p}") };
                let conf = std::fs::read_to_string(out.path().join(format!("config/{name}.conf"))).unwrap();
                let container_port: u32 = container_port.parse().unwrap();
                assert_eq!(listening_port(&conf), container_port, "{project} {env}: {name} publishes {p}");
                published.push((ip.to_string(), host_port.parse::<u32>().unwrap(), name.clone()));
            }
        }
        let connect = connect_json(&project, &env);
        let endpoints = connect_endpoints(&connect);
        assert!(!endpoints.is_empty(), "{project} {env}: {connect:#}");
        for endpoint in endpoints {
            let (host, port) = endpoint.rsplit_once(':').unwrap();
            let port: u32 = port.parse().unwrap();
            let found: Vec<&(String, u32, String)> =
                published.iter().filter(|(ip, p, _)| ip == host && *p == port).collect();
            assert_eq!(found.len(), 1, "{project} {env}: {endpoint} is published by {found:?} (all: {published:?})");
        }
    }
}

/// Every Redis and Sentinel service runs the contract's `container.image`, and without one the
/// pinned image of `redis.version`.
#[test]
fn services_run_the_contracts_image() {
    for (env, want) in [("compose-sentinel-tls", "redis:7.0.15-alpine"), ("compose-sentinel", "redis:7.0.15")] {
        let out = render(env);
        let compose = yaml_file(&out.path().join("compose.yaml"));
        let services = compose["services"].as_object().unwrap();
        assert_eq!(services.len(), 6, "{env}");
        for (name, svc) in services {
            assert_eq!(svc["image"], want, "{env}: {name}");
        }
    }
}
