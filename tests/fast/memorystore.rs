//! `target: memorystore` through the real binary where no Google API is needed: the
//! restrictions (located, rule RCTL099), the rendered REST requests (snapshots), what fails
//! before any call, parity with the local stack and the review. The API itself is
//! tests/peers/memorystore.rs.

use crate::common::memorystore::{prod, BASE};
use crate::common::{self, example_dir, free_port, read_tree, render, repo_root, Run, TempProject};

fn validate(overlay: &str) -> Run {
    validate_with(BASE, overlay)
}

fn validate_with(base: &str, overlay: &str) -> Run {
    let project = TempProject::new(&[("redisctl.yaml", base), ("environments/prod.yaml", overlay)]);
    let mut cmd = common::redisctl_in(project.path());
    cmd.args(["validate", "--env", "prod"]);
    Run::of(&mut cmd)
}

/// The diagnostic lines of a failed validation.
fn refused(run: &Run, message: &str, location: &str) {
    run.assert_code(1);
    let text = run.text();
    assert!(text.contains("RCTL099"), "{}", run.show());
    assert!(text.contains(message), "wanted `{message}`\n{}", run.show());
    assert!(text.contains(location), "wanted location `{location}`\n{}", run.show());
}

#[test]
fn memorystore_contract_validates() {
    let run = validate(&prod(""));
    assert!(run.success(), "{}", run.show());
}

#[test]
fn memorystore_restrictions_are_located_errors() {
    // A directive `redisConfigs` cannot set, named, at its key.
    let overlay = prod("redis:\n  config:\n    maxmemory-samples: 7\n");
    refused(&validate(&overlay), "`maxmemory-samples` cannot be set on Memorystore", "environments/prod.yaml:15:5");
    // Google's list of `redisConfigs` names no lazyfree-* (data/memorystore.toml follows it).
    let overlay = prod("redis:\n  config:\n    lazyfree-lazy-eviction: \"yes\"\n");
    refused(
        &validate(&overlay),
        "`lazyfree-lazy-eviction` cannot be set on Memorystore",
        "environments/prod.yaml:15:5",
    );
    // AOF on a Redis instance.
    let base = BASE.replace("maxmemoryPolicy: allkeys-lru", "maxmemoryPolicy: allkeys-lru, persistence: { mode: aof }");
    refused(&validate_with(&base, &prod("")), "Memorystore for Redis offers no `aof` persistence", "redisctl.yaml:3:");
    // Redis 7.4 is not offered.
    let base = BASE.replace("\"7.0\"", "\"7.4\"");
    refused(&validate_with(&base, &prod("")), "offers no Redis 7.4", "redisctl.yaml:3:");
    // Cluster topology on a Redis instance.
    let overlay =
        prod("").replace("topology: { mode: replication, replicas: 1 }", "topology: { mode: cluster, shards: 3 }");
    refused(&validate(&overlay), "does not run Redis Cluster", "environments/prod.yaml:2:");
    // Too many replicas, and read replicas on a small instance.
    let overlay = prod("").replace("replicas: 1", "replicas: 6");
    refused(&validate(&overlay), "a STANDARD_HA instance has 1 to 5 replicas, not 6", "environments/prod.yaml:2:");
    let overlay = prod("").replace("replicas: 1", "replicas: 2").replace("memorySizeGb: 5", "memorySizeGb: 2");
    refused(&validate(&overlay), "read replicas, which need at least 5 GB", "environments/prod.yaml:10:17");
    // TLS is server authentication only: no certificates of one's own.
    let overlay = prod("").replace("tls: { enabled: true }", "tls: { enabled: true, certFile: /etc/tls/redis.crt }");
    refused(&validate(&overlay), "server authentication with Google's CA", "environments/prod.yaml:3:");
    // ACL users: the AUTH string is Google's.
    let overlay = prod("acl:\n  users:\n    - name: app\n      password: { fromEnv: APP_PW }\n");
    refused(&validate(&overlay), "has no ACL users (user `app`)", "environments/prod.yaml:15:");
    // maxmemory comes from the size.
    let overlay = prod("resources: { maxmemory: 1gb }\n");
    refused(&validate(&overlay), "derives maxmemory from the instance size", "environments/prod.yaml:13:");
    // A zone outside the region; a missing project.
    let overlay = prod("  zone: us-east1-b\n");
    refused(&validate(&overlay), "zone `us-east1-b` is not in region `europe-west1`", "environments/prod.yaml:13:9");
    let overlay = prod("").replace("  project: shop-prod-4711\n", "");
    refused(&validate(&overlay), "needs `gcp.project`", "environments/prod.yaml:1:");
}

#[test]
fn memorystore_render_writes_the_create_request() {
    let project = TempProject::new(&[("redisctl.yaml", BASE), ("environments/prod.yaml", &prod(""))]);
    let out = tempfile::tempdir().unwrap();
    let run = render(project.path(), "prod", out.path(), &[]);
    assert!(run.success(), "{}", run.show());
    let tree = read_tree(out.path());
    let doc = String::from_utf8(tree["memorystore/requests.yaml"].clone()).unwrap();
    assert!(doc.contains("method: POST"), "{doc}");
    assert!(
        doc.contains("https://redis.googleapis.com/v1/projects/shop-prod-4711/locations/europe-west1/instances?instanceId=catalog-prod"),
        "{doc}"
    );
    assert!(doc.contains("tier: STANDARD_HA") && doc.contains("redisVersion: REDIS_7_0"), "{doc}");
    assert!(doc.contains("clients read it from environment variable CATALOG_AUTH_STRING"), "{doc}");
    // Deterministic: the same bytes again.
    let again = tempfile::tempdir().unwrap();
    render(project.path(), "prod", again.path(), &[]);
    assert_eq!(read_tree(again.path()), tree);
}

#[test]
fn memorystore_example_production_snapshot() {
    let out = tempfile::tempdir().unwrap();
    let run = render(&example_dir("memorystore-cache"), "production", out.path(), &[]);
    assert!(run.success(), "{}", run.show());
    let tree = read_tree(out.path());
    let doc = String::from_utf8(tree["memorystore/requests.yaml"].clone()).unwrap();
    insta::assert_snapshot!("memorystore_cache_production", doc);
}

#[test]
fn memorystore_cluster_and_valkey_render() {
    let cluster = prod("")
        .replace("topology: { mode: replication, replicas: 1 }", "topology: { mode: cluster, shards: 3, replicasPerShard: 1 }")
        .replace("  memorySizeGb: 5\n", "  product: redis-cluster\n  nodeType: REDIS_HIGHMEM_MEDIUM\n  network: projects/shop-prod-4711/global/networks/default\n")
        + "keyspace: { clusterSafe: true }\n";
    let valkey = cluster.replace("redis-cluster", "valkey").replace("REDIS_HIGHMEM_MEDIUM", "HIGHMEM_MEDIUM");
    let base = BASE.replace("\"7.0\"", "\"7.2\"");
    for (overlay, wanted) in [
        (&cluster, vec!["clusters?clusterId=catalog-prod", "shardCount: 3", "nodeType: REDIS_HIGHMEM_MEDIUM"]),
        (&valkey, vec!["memorystore.googleapis.com/v1/", "engineVersion: VALKEY_7_2", "mode: CLUSTER"]),
    ] {
        let project = TempProject::new(&[("redisctl.yaml", &base), ("environments/prod.yaml", overlay)]);
        let out = tempfile::tempdir().unwrap();
        let run = render(project.path(), "prod", out.path(), &[]);
        assert!(run.success(), "{}", run.show());
        let doc = String::from_utf8(read_tree(out.path())["memorystore/requests.yaml"].clone()).unwrap();
        for w in wanted {
            assert!(doc.contains(w), "wanted {w}\n{doc}");
        }
        // Both are planned through their API (nothing listens here: a clear error).
        let mut cmd = project.cmd();
        cmd.args(["plan", "--env", "prod"])
            .env("REDISCTL_MEMORYSTORE_ENDPOINT", format!("http://127.0.0.1:{}", free_port()));
        let run = Run::of(&mut cmd);
        run.assert_code(1);
        let said = if overlay == &valkey { "Memorystore GetInstance failed" } else { "Memorystore GetCluster failed" };
        assert!(run.stderr.contains(said), "{}", run.show());
    }
}

#[test]
fn memorystore_unreachable_endpoint_is_a_clear_error() {
    let project = TempProject::new(&[("redisctl.yaml", BASE), ("environments/prod.yaml", &prod(""))]);
    let mut cmd = project.cmd();
    // Nothing listens here.
    cmd.args(["plan", "--env", "prod"])
        .env("REDISCTL_MEMORYSTORE_ENDPOINT", format!("http://127.0.0.1:{}", free_port()))
        .env("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent");
    let run = Run::of(&mut cmd);
    run.assert_code(1);
    assert!(run.stderr.contains("Memorystore GetInstance failed"), "{}", run.show());
    assert!(!run.stderr.contains("panicked"), "{}", run.show());
}

/// The example's Memorystore production and process local differ only in the envelope.
#[test]
fn memorystore_example_is_in_parity_with_its_local_stack() {
    let mut cmd = common::redisctl();
    cmd.args(["parity", "--project", repo_root().join("examples/memorystore-cache").to_str().unwrap()]);
    let run = Run::of(&mut cmd);
    run.assert_code(0);
    assert!(run.stdout.contains("Parity: in parity"), "{}", run.show());
    assert!(run.stdout.contains("memorystore"), "{}", run.show());
}

#[test]
fn memorystore_review_reads_the_product_model() {
    let mut cmd = common::redisctl();
    cmd.args([
        "review",
        "--project",
        repo_root().join("examples/memorystore-cache").to_str().unwrap(),
        "--env",
        "production",
    ]);
    let run = Run::of(&mut cmd);
    assert!(
        run.stdout.contains("Memorystore for Redis STANDARD_HA tier in europe-west1: primary + 2 replica(s)"),
        "{}",
        run.show()
    );
    assert!(run.stdout.contains("automatic failover to a replica in another zone"), "{}", run.show());
    assert!(run.stdout.contains("sunday 05:00-06:00 UTC (Memorystore)"), "{}", run.show());
}

#[test]
fn memorystore_review_names_google_s_snapshots() {
    let base = BASE.replace("maxmemoryPolicy: allkeys-lru", "maxmemoryPolicy: allkeys-lru, persistence: { mode: rdb }");
    let project =
        TempProject::new(&[("redisctl.yaml", &base), ("environments/prod.yaml", &prod("  snapshotPeriod: 6h\n"))]);
    let mut cmd = common::redisctl_in(project.path());
    cmd.args(["review", "--env", "prod"]);
    let run = Run::of(&mut cmd);
    assert!(run.stdout.contains("Google's RDB snapshots every 6 hours"), "{}", run.show());
    let out = tempfile::tempdir().unwrap();
    render(project.path(), "prod", out.path(), &[]);
    let doc = String::from_utf8(read_tree(out.path())["memorystore/requests.yaml"].clone()).unwrap();
    assert!(doc.contains("persistenceMode: RDB") && doc.contains("rdbSnapshotPeriod: SIX_HOURS"), "{doc}");
}
