//! Snapshots of the rendered files of every example and of the sample's `local` environment.
//! Their passwords come from the committed development-only secret files, so the ACL hashes
//! are stable. Review a change with `INSTA_UPDATE=always cargo test --test fast snapshots::` and
//! `git diff tests/fast/snapshots/`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::*;

/// Every rendered file of one environment, in path order, each under a header with its mode.
fn rendered(project: &Path, env: &str) -> String {
    let out = tempfile::tempdir().unwrap();
    let run = render(project, env, out.path(), &[]);
    let tree = read_tree(out.path());
    assert!(run.stdout.contains(&format!("Rendered {} file(s)", tree.len())), "{}", run.show());
    let mut text = String::new();
    for (rel, bytes) in tree {
        let mode = std::fs::metadata(out.path().join(&rel)).unwrap().permissions().mode() & 0o777;
        text.push_str(&format!("=== {rel} (mode {mode:o}) ===\n"));
        text.push_str(&String::from_utf8(bytes).expect("rendered files are UTF-8"));
        if !text.ends_with('\n') {
            text.push_str("\n(no newline at end of file)\n");
        }
    }
    text
}

#[test]
fn sample_local() {
    insta::assert_snapshot!("sample_local", rendered(&repo_root(), "local"));
}

#[test]
fn example_standalone_cache() {
    insta::assert_snapshot!("standalone_cache_local", rendered(&example_dir("standalone-cache"), "local"));
}

#[test]
fn example_replication_session() {
    insta::assert_snapshot!("replication_session_local", rendered(&example_dir("replication-session"), "local"));
}

#[test]
fn example_sentinel_state() {
    insta::assert_snapshot!("sentinel_state_local", rendered(&example_dir("sentinel-state"), "local"));
}

#[test]
fn example_cluster_3_shards() {
    insta::assert_snapshot!("cluster_3_shards_local", rendered(&example_dir("cluster-3-shards"), "local"));
}

/// The API request document of a managed environment (passwords only as references).
#[test]
fn example_elasticache_session_production() {
    insta::assert_snapshot!(
        "elasticache_session_production",
        rendered(&example_dir("elasticache-session"), "production")
    );
}

/// The Redis Enterprise operator's custom resources (Secrets only by name), single-region and
/// Active-Active.
#[test]
fn example_redis_enterprise_orders() {
    for env in ["production", "global"] {
        insta::assert_snapshot!(
            format!("redis_enterprise_orders_{env}"),
            rendered(&example_dir("redis-enterprise-orders"), env)
        );
    }
}
