//! The `target: elasticache` project of the tests through the binary: the one
//! tests/peers/elasticache_moto.rs runs against a local `moto_server`, and
//! tests/fast/elasticache_moto.rs checks where no call is made.
//!
//! moto serves no parameter groups or user groups: the project keeps to the default parameter
//! group (waiving the eviction rule) and one AUTH token (waiving the ACL-user rule).

pub const TOKEN: &str = "moto-auth-Token-0123456789abcdef";

pub const BASE: &str = "apiVersion: redisctl/v1
service: catalog
redis: { version: \"7.0\", workload: cache, maxmemoryPolicy: volatile-lru }
";

pub fn prod(node_type: &str) -> String {
    format!(
        "target: elasticache
topology: {{ mode: replication, replicas: 1 }}
security: {{ tls: {{ enabled: true }} }}
aws: {{ region: us-east-1, nodeType: {node_type}, authToken: {{ fromEnv: CATALOG_AUTH_TOKEN }} }}
policy:
  waivers:
    - {{ rule: RCTL105, reason: \"moto_server has no parameter groups: the default group keeps volatile-lru\" }}
    - {{ rule: RCTL112, reason: \"moto_server has no user groups: one AUTH token instead of RBAC users\" }}
    - {{ rule: RCTL116, reason: \"default parameter group\" }}
"
    )
}
