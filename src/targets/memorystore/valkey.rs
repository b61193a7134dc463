//! Memorystore for Valkey through Google's official client (`google-cloud-memorystore-v1`,
//! memorystore.googleapis.com v1), planned and applied by the node provider (`nodes.rs`):
//! `memorystore:instance/<id>` (one PATCH of labels, shards, replicas, node type, engine
//! version — an upgrade; a downgrade is a replacement —, persistence or maintenance; replace,
//! destructive, for what the API calls immutable: cluster mode, authorization mode, transit
//! encryption, the network of the endpoints) and `memorystore:config/<id>/<name>`
//! (`engineConfigs` entries).

use std::collections::BTreeMap;

use google_cloud_memorystore_v1::client::Memorystore;
use google_cloud_memorystore_v1::model::instance::connection_detail::Connection;
use google_cloud_memorystore_v1::model::{ConnectionType, Instance, PscAutoConnection};
use serde_json::{json, Map, Value};

use super::diff::{ca_certificates, shared_view, Fields};
use super::nodes::{NodeApi, NodeProvider, Waiter};
use super::provider::{api_err, configured, not_found, setup_failed};
use super::render::valkey_body;
use super::Desired;
use crate::error::Error;

pub type ValkeyProvider = NodeProvider<Valkey>;

pub struct Valkey(Memorystore);

fn instance_of(body: Value) -> Result<Instance, Error> {
    serde_json::from_value(body)
        .map_err(|e| Error::msg(format!("internal: the rendered Valkey instance is not an Instance: {e}")))
}

/// The Private Service Connect auto connections of the instance's endpoints.
fn auto_connections(i: &Instance) -> impl Iterator<Item = &PscAutoConnection> {
    i.endpoints.iter().flat_map(|e| &e.connections).filter_map(|c| match &c.connection {
        Some(Connection::PscAutoConnection(a)) => Some(a.as_ref()),
        _ => None,
    })
}

impl NodeApi for Valkey {
    type Live = Instance;
    const KIND: &'static str = "instance";
    const NOUN: &'static str = "Instance";
    const READY: &'static str = "ACTIVE";
    const FIELDS: Fields = Fields {
        replace: &["mode", "authorizationMode", "transitEncryptionMode", "endpoints"],
        patch: &[
            ("labels", "labels"),
            ("engineVersion", "engine_version"),
            ("shardCount", "shard_count"),
            ("replicaCount", "replica_count"),
            ("nodeType", "node_type"),
            ("persistenceConfig", "persistence_config"),
            ("maintenancePolicy", "maintenance_policy"),
        ],
        configs: ("engineConfigs", "engine_configs"),
    };
    const VERSION: Option<&'static str> = Some("engineVersion");

    fn connect(rt: &tokio::runtime::Runtime) -> Result<Self, Error> {
        Ok(Valkey(rt.block_on(configured(Memorystore::builder()).build()).map_err(setup_failed)?))
    }

    fn body(want: &Desired) -> Value {
        valkey_body(want)
    }

    fn observed(i: &Instance) -> Map<String, Value> {
        let mut b = Map::new();
        b.insert("labels".into(), json!(i.labels.iter().collect::<BTreeMap<_, _>>()));
        b.insert("engineVersion".into(), json!(i.engine_version));
        b.insert("mode".into(), json!(i.mode.name().unwrap_or("")));
        b.insert("shardCount".into(), json!(i.shard_count));
        // What the contract decides of each connection: its network and project (one endpoint).
        let connections: Vec<Value> = auto_connections(i)
            .filter(|a| matches!(a.connection_type, ConnectionType::Discovery | ConnectionType::Primary))
            .map(|a| json!({ "pscAutoConnection": { "network": a.network, "projectId": a.project_id } }))
            .collect();
        b.insert("endpoints".into(), json!([{ "connections": connections }]));
        b.insert("engineConfigs".into(), json!(i.engine_configs.iter().collect::<BTreeMap<_, _>>()));
        shared_view!(b, i);
        b
    }

    fn name(i: &Instance) -> &str {
        &i.name
    }

    fn state(i: &Instance) -> &str {
        i.state.name().unwrap_or("")
    }

    fn configs(i: &Instance) -> BTreeMap<String, String> {
        i.engine_configs.clone().into_iter().collect()
    }

    /// The discovery endpoint in cluster mode, the primary one without (redisctl creates
    /// instances with `endpoints`, for which Google no longer fills the deprecated
    /// `discoveryEndpoints`).
    fn endpoint(i: &Instance) -> Option<String> {
        let wanted = if i.mode.name() == Some("CLUSTER") { ConnectionType::Discovery } else { ConnectionType::Primary };
        auto_connections(i)
            .find(|a| a.connection_type == wanted && !a.ip_address.is_empty())
            .map(|a| format!("{}:{}", a.ip_address, a.port().copied().unwrap_or(6379)))
    }

    /// The reader endpoint, which Google creates only without cluster mode.
    fn reader_endpoint(i: &Instance) -> Option<String> {
        auto_connections(i)
            .find(|a| a.connection_type == ConnectionType::Reader && !a.ip_address.is_empty())
            .map(|a| format!("{}:{}", a.ip_address, a.port().copied().unwrap_or(6379)))
    }

    fn ca_mode(i: &Instance) -> (Option<&str>, Option<&str>) {
        (i.server_ca_mode.as_ref().and_then(|m| m.name()), i.server_ca_pool.as_deref())
    }

    fn instance_ca(&self, w: &Waiter, name: &str) -> Result<Vec<String>, Error> {
        let request = self.0.get_certificate_authority().set_name(name);
        let ca = w.rt.block_on(request.send()).map_err(|e| api_err("GetCertificateAuthority", e))?;
        Ok(ca_certificates!(ca))
    }

    fn shared_ca(&self, w: &Waiter, location: &str) -> Result<Vec<String>, Error> {
        let name = format!("{location}/sharedRegionalCertificateAuthority");
        let request = self.0.get_shared_regional_certificate_authority().set_name(name);
        let ca = w.rt.block_on(request.send()).map_err(|e| api_err("GetSharedRegionalCertificateAuthority", e))?;
        Ok(ca_certificates!(ca))
    }

    fn get(&self, w: &Waiter, name: &str) -> Result<Option<Instance>, Error> {
        match w.rt.block_on(self.0.get_instance().set_name(name).send()) {
            Ok(i) => Ok(Some(i)),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(api_err("GetInstance", e)),
        }
    }

    fn create(&self, w: &Waiter, want: &Desired, body: Value) -> Result<(), Error> {
        let request = self.0.create_instance().set_parent(want.parent()).set_instance_id(&want.id);
        w.op(&format!("CreateInstance {}", want.id), request.set_instance(instance_of(body)?).poller()).map(drop)
    }

    fn patch(&self, w: &Waiter, name: &str, mask: &[&str], mut fields: Map<String, Value>) -> Result<(), Error> {
        fields.insert("name".into(), json!(name));
        let update_mask = google_cloud_wkt::FieldMask::default().set_paths(mask.iter().map(|p| p.to_string()));
        let request = self.0.update_instance().set_update_mask(update_mask);
        let what = format!("UpdateInstance {name} ({})", mask.join(","));
        w.op(&what, request.set_instance(instance_of(Value::Object(fields))?).poller()).map(drop)
    }

    fn delete(&self, w: &Waiter, name: &str) -> Result<(), Error> {
        w.op(&format!("DeleteInstance {name}"), self.0.delete_instance().set_name(name).poller())
    }
}
