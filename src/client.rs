//! The one Redis client of redisctl: a connection to a node or Sentinel of a deployment, over
//! TLS when the contract turns it on, logged in as a user when given. The local stack (start
//! checks, readiness, bootstrap, failovers, rolling restarts) and the live provider both open
//! their connections here, so a TLS-only local stack is driven like production.

use std::time::Duration;

use redis::{Connection, ConnectionAddr, ErrorKind, IntoConnectionInfo, RedisConnectionInfo, RedisError, RedisResult};

use crate::model::Tls;

/// How long a connection attempt and each command may take.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub command: Duration,
}

/// Open a connection to `host:port`. With TLS on (nodes and Sentinels then listen on the TLS
/// port only, `port 0`), the server is verified against `caFile` and redisctl presents
/// `certFile`/`keyFile` (Redis asks clients for one by default: `tls-auth-clients yes`); the
/// files are read where redisctl runs (the paths of the nodes, or copies at the same paths).
/// `login` is (user, password): sent with HELLO/AUTH as the connection opens.
pub fn open(tls: &Tls, host: &str, port: u32, login: Option<(&str, &str)>, t: Timeouts) -> RedisResult<Connection> {
    let port = u16::try_from(port).map_err(|_| config_error("port out of range", port.to_string()))?;
    let mut settings = RedisConnectionInfo::default().set_skip_set_lib_name();
    if let Some((user, password)) = login {
        settings = settings.set_username(user).set_password(password);
    }
    let client = if tls.enabled {
        let read = |file: &Option<String>, what: &str| -> RedisResult<Vec<u8>> {
            let path =
                file.as_deref().ok_or_else(|| config_error("TLS file not set", format!("security.tls.{what}")))?;
            std::fs::read(path)
                .map_err(|e| config_error("cannot read a TLS file", format!("security.tls.{what} {path}: {e}")))
        };
        let certs = redis::TlsCertificates {
            client_tls: Some(redis::ClientTlsConfig {
                client_cert: read(&tls.cert_file, "certFile")?,
                client_key: read(&tls.key_file, "keyFile")?,
            }),
            root_cert: Some(read(&tls.ca_file, "caFile")?),
        };
        // rustls needs one process-wide crypto provider; an error means one is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let addr = ConnectionAddr::TcpTls { host: host.into(), port, insecure: false, tls_params: None };
        redis::Client::build_with_tls(addr.into_connection_info()?.set_redis_settings(settings), certs)?
    } else {
        redis::Client::open(
            ConnectionAddr::Tcp(host.into(), port).into_connection_info()?.set_redis_settings(settings),
        )?
    };
    let con = client.get_connection_with_timeout(t.connect)?;
    con.set_read_timeout(Some(t.command))?;
    con.set_write_timeout(Some(t.command))?;
    Ok(con)
}

/// What went wrong, in words a person acts on: the OS calls a read timeout "Resource
/// temporarily unavailable", and the client calls an answer that is not RESP a parse error.
pub fn explain(e: &RedisError) -> String {
    if e.is_timeout() {
        "no answer within the timeout (a hung or overloaded server)".into()
    } else if e.kind() == ErrorKind::Parse {
        "the answer is not the Redis protocol: is another program listening on that port?".into()
    } else if e.is_connection_refusal() {
        "connection refused: nothing listens there".into()
    } else {
        e.to_string()
    }
}

fn config_error(what: &'static str, detail: String) -> RedisError {
    RedisError::from((ErrorKind::InvalidClientConfig, what, detail))
}
