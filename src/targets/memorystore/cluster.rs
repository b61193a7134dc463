//! Memorystore for Redis Cluster through Google's official client
//! (`google-cloud-redis-cluster-v1`, redis.googleapis.com v1), planned and applied by the
//! node provider (`nodes.rs`): `memorystore:cluster/<id>` (one PATCH of shards, replicas, node
//! type, persistence or maintenance; replace, destructive, for the network, the authorization
//! mode and transit encryption) and `memorystore:config/<id>/<name>` (`redisConfigs` entries).

use std::collections::BTreeMap;

use google_cloud_redis_cluster_v1::client::CloudRedisCluster;
use google_cloud_redis_cluster_v1::model::Cluster;
use serde_json::{json, Map, Value};

use super::diff::{ca_certificates, shared_view, Fields};
use super::nodes::{NodeApi, NodeProvider, Waiter};
use super::provider::{api_err, configured, not_found, setup_failed};
use super::render::cluster_body;
use super::Desired;
use crate::error::Error;

pub type ClusterProvider = NodeProvider<RedisCluster>;

pub struct RedisCluster(CloudRedisCluster);

fn cluster_of(body: Value) -> Result<Cluster, Error> {
    serde_json::from_value(body)
        .map_err(|e| Error::msg(format!("internal: the rendered cluster is not a Cluster: {e}")))
}

impl NodeApi for RedisCluster {
    type Live = Cluster;
    const KIND: &'static str = "cluster";
    const NOUN: &'static str = "Cluster";
    const READY: &'static str = "ACTIVE";
    const FIELDS: Fields = Fields {
        replace: &["pscConfigs", "authorizationMode", "transitEncryptionMode"],
        patch: &[
            ("shardCount", "shard_count"),
            ("replicaCount", "replica_count"),
            ("nodeType", "node_type"),
            ("persistenceConfig", "persistence_config"),
            ("maintenancePolicy", "maintenance_policy"),
        ],
        configs: ("redisConfigs", "redis_configs"),
    };
    // The cluster's version is chosen at create and not in the rendered body.
    const VERSION: Option<&'static str> = None;

    fn connect(rt: &tokio::runtime::Runtime) -> Result<Self, Error> {
        Ok(RedisCluster(rt.block_on(configured(CloudRedisCluster::builder()).build()).map_err(setup_failed)?))
    }

    fn body(want: &Desired) -> Value {
        cluster_body(want)
    }

    fn observed(c: &Cluster) -> Map<String, Value> {
        let mut b = Map::new();
        b.insert("shardCount".into(), json!(c.shard_count.unwrap_or(0)));
        b.insert("pscConfigs".into(), c.psc_configs.iter().map(|p| json!({ "network": p.network })).collect());
        b.insert("redisConfigs".into(), json!(c.redis_configs.iter().collect::<BTreeMap<_, _>>()));
        shared_view!(b, c);
        b
    }

    fn name(c: &Cluster) -> &str {
        &c.name
    }

    fn state(c: &Cluster) -> &str {
        c.state.name().unwrap_or("")
    }

    fn configs(c: &Cluster) -> BTreeMap<String, String> {
        c.redis_configs.clone().into_iter().collect()
    }

    fn endpoint(c: &Cluster) -> Option<String> {
        c.discovery_endpoints.first().map(|e| format!("{}:{}", e.address, e.port))
    }

    /// Clients of a cluster read from replicas through the discovery endpoint's slot map.
    fn reader_endpoint(_: &Cluster) -> Option<String> {
        None
    }

    fn ca_mode(c: &Cluster) -> (Option<&str>, Option<&str>) {
        (c.server_ca_mode.as_ref().and_then(|m| m.name()), c.server_ca_pool.as_deref())
    }

    fn instance_ca(&self, w: &Waiter, name: &str) -> Result<Vec<String>, Error> {
        let request = self.0.get_cluster_certificate_authority().set_name(format!("{name}/certificateAuthority"));
        let ca = w.rt.block_on(request.send()).map_err(|e| api_err("GetClusterCertificateAuthority", e))?;
        Ok(ca_certificates!(ca))
    }

    fn shared_ca(&self, w: &Waiter, location: &str) -> Result<Vec<String>, Error> {
        let name = format!("{location}/sharedRegionalCertificateAuthority");
        let request = self.0.get_shared_regional_certificate_authority().set_name(name);
        let ca = w.rt.block_on(request.send()).map_err(|e| api_err("GetSharedRegionalCertificateAuthority", e))?;
        Ok(ca_certificates!(ca))
    }

    fn get(&self, w: &Waiter, name: &str) -> Result<Option<Cluster>, Error> {
        match w.rt.block_on(self.0.get_cluster().set_name(name).send()) {
            Ok(c) => Ok(Some(c)),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(api_err("GetCluster", e)),
        }
    }

    fn create(&self, w: &Waiter, want: &Desired, body: Value) -> Result<(), Error> {
        let poller =
            self.0.create_cluster().set_parent(want.parent()).set_cluster_id(&want.id).set_cluster(cluster_of(body)?);
        w.op(&format!("CreateCluster {}", want.id), poller.poller()).map(drop)
    }

    fn patch(&self, w: &Waiter, name: &str, mask: &[&str], mut fields: Map<String, Value>) -> Result<(), Error> {
        fields.insert("name".into(), json!(name));
        let update_mask = google_cloud_wkt::FieldMask::default().set_paths(mask.iter().map(|p| p.to_string()));
        let poller =
            self.0.update_cluster().set_update_mask(update_mask).set_cluster(cluster_of(Value::Object(fields))?);
        w.op(&format!("UpdateCluster {name} ({})", mask.join(",")), poller.poller()).map(drop)
    }

    fn delete(&self, w: &Waiter, name: &str) -> Result<(), Error> {
        w.op(&format!("DeleteCluster {name}"), self.0.delete_cluster().set_name(name).poller())
    }
}
