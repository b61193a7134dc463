//! Client connection configuration, derived from the same contract as the deployment so an
//! application cannot drift from it (the shape of seed 000's section 12 contract).

use serde::Serialize;

use crate::model::{SecretRef, TopologyMode, UserRole};
use crate::resolve::{Deployment, Role};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientConfig {
    /// standalone | sentinel | cluster | managed-single-endpoint
    pub mode: &'static str,
    /// host:port of the nodes a client starts from (every node for cluster seeds; the primary
    /// for standalone/replication; empty for sentinel, which discovers the primary).
    pub endpoints: Vec<String>,
    /// Managed replication groups without cluster mode: the endpoint that spreads reads over replicas.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reader_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sentinel: Option<SentinelConfig>,
    pub tls: TlsConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Where the password comes from; never the password itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_ref: Option<SecretRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_prefix: Option<String>,
    pub connect_timeout_ms: u64,
    pub command_timeout_ms: u64,
    pub client_name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SentinelConfig {
    pub master_name: String,
    pub endpoints: Vec<String>,
    /// The user a client logs in to the Sentinels as (they require auth with `security.auth:
    /// required`): the application user, which the Sentinels' ACL allows discovery only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Where that user's password comes from; never the password itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_ref: Option<SecretRef>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsConfig {
    pub enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
}

/// Where one node or Sentinel is reachable: the host and port its target places it at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u32,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// The client configuration of a deployment whose nodes and Sentinels are reachable at
/// `endpoint(name)`: the target's placement, the same one its renderer uses.
pub fn client_config(d: &Deployment, endpoint: &dyn Fn(&str) -> Endpoint) -> ClientConfig {
    let c = &d.contract;
    let addr = |name: &str| endpoint(name).to_string();
    let primaries = d.nodes.iter().filter(|n| n.role == Role::Primary);
    let app = d.users.iter().find(|u| u.spec.role == UserRole::Application);
    // `render::sentinel_acl_lines` gives application users a discovery-only login on Sentinels.
    let sentinel_login = app.filter(|_| crate::render::sentinel_auth_required(d));
    let (mode, endpoints, sentinel) = match c.topology.mode {
        TopologyMode::Sentinel => (
            "sentinel",
            Vec::new(),
            Some(SentinelConfig {
                master_name: d.master_name.clone(),
                endpoints: d.sentinels.iter().map(|s| addr(&s.name)).collect(),
                username: sentinel_login.map(|u| u.spec.name.clone()),
                password_ref: sentinel_login.map(|u| u.spec.password.clone()),
            }),
        ),
        TopologyMode::Cluster => ("cluster", d.nodes.iter().map(|n| addr(&n.name)).collect(), None),
        _ => ("standalone", primaries.map(|n| addr(&n.name)).collect(), None),
    };
    ClientConfig {
        mode,
        endpoints,
        reader_endpoint: None,
        sentinel,
        tls: TlsConfig {
            enabled: c.security.tls.enabled,
            ca_file: c.security.tls.ca_file.clone().filter(|_| c.security.tls.enabled),
        },
        username: app.map(|u| u.spec.name.clone()),
        password_ref: app.map(|u| u.spec.password.clone()),
        key_prefix: c.keyspace.prefix.clone(),
        connect_timeout_ms: c.client.connect_timeout.0,
        command_timeout_ms: c.client.command_timeout.0,
        client_name: format!("{}-{}", c.service, d.env),
    }
}

impl ClientConfig {
    /// `KEY=value` lines for a `.env` file (REDIS_*); the password stays a reference.
    pub fn to_env(&self) -> String {
        let mut lines = vec![format!("REDIS_MODE={}", self.mode)];
        if !self.endpoints.is_empty() {
            lines.push(format!("REDIS_ENDPOINTS={}", self.endpoints.join(",")));
        }
        if let Some(r) = &self.reader_endpoint {
            lines.push(format!("REDIS_READER_ENDPOINT={r}"));
        }
        if let Some(s) = &self.sentinel {
            lines.push(format!("REDIS_SENTINEL_MASTER={}", s.master_name));
            lines.push(format!("REDIS_SENTINEL_ENDPOINTS={}", s.endpoints.join(",")));
            if let Some(u) = &s.username {
                lines.push(format!("REDIS_SENTINEL_USERNAME={u}"));
            }
            match s.password_ref.as_ref().map(|r| (&r.from_env, &r.from_file)) {
                Some((Some(var), _)) => lines.push(format!("REDIS_SENTINEL_PASSWORD_ENV={var}")),
                Some((None, Some(file))) => lines.push(format!("REDIS_SENTINEL_PASSWORD_FILE={file}")),
                _ => {}
            }
        }
        lines.push(format!("REDIS_TLS={}", self.tls.enabled));
        if let Some(ca) = &self.tls.ca_file {
            lines.push(format!("REDIS_TLS_CA_FILE={ca}"));
        }
        if let Some(u) = &self.username {
            lines.push(format!("REDIS_USERNAME={u}"));
        }
        match self.password_ref.as_ref().map(|r| (&r.from_env, &r.from_file)) {
            Some((Some(var), _)) => lines.push(format!("REDIS_PASSWORD_ENV={var}")),
            Some((None, Some(file))) => lines.push(format!("REDIS_PASSWORD_FILE={file}")),
            _ => {}
        }
        if let Some(p) = &self.key_prefix {
            lines.push(format!("REDIS_KEY_PREFIX={p}"));
        }
        lines.push(format!("REDIS_CONNECT_TIMEOUT_MS={}", self.connect_timeout_ms));
        lines.push(format!("REDIS_COMMAND_TIMEOUT_MS={}", self.command_timeout_ms));
        lines.push(format!("REDIS_CLIENT_NAME={}", self.client_name));
        lines.join("\n") + "\n"
    }

    /// A connection URL without the password (`redis://user@host:port`, `rediss://` with TLS,
    /// `redis+sentinel://` for Sentinel); clients add the password from the reference.
    pub fn to_url(&self) -> String {
        let user = self.username.as_ref().map(|u| format!("{u}@")).unwrap_or_default();
        match &self.sentinel {
            Some(s) => format!("redis+sentinel://{user}{}/{}", s.endpoints.join(","), s.master_name),
            None => {
                let scheme = if self.tls.enabled { "rediss" } else { "redis" };
                format!("{scheme}://{user}{}", self.endpoints.join(","))
            }
        }
    }
}
