//! The S3 state backend (`state.backend: s3`): the environment's state is one object, its lock
//! another beside it (`<key>.lock`), both kept consistent by S3's conditional writes rather
//! than by a second service:
//! - the lock is created with `If-None-Match: *` (exactly one creator wins) and holds its
//!   holder (id, pid, host, user, time, command); it is released with a delete conditional on
//!   the lock's own ETag, so a holder whose lock was broken cannot delete its successor's;
//! - the state is written with `If-Match: <ETag read>` (or `If-None-Match: *` when there was
//!   none), so two writers that read the same version cannot both win.
//!
//! A holder killed mid-apply leaves its lock: the next apply names the holder and how long it
//! has held it, and only `redisctl force-unlock --env X <id>` with that lock's id breaks it.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::plan::state::{conflict, Held, Store, Version};
use crate::providers::aws;

/// The holder a lock object names.
#[derive(Debug, Serialize, Deserialize)]
struct Holder {
    id: String,
    pid: u32,
    host: String,
    user: String,
    /// Seconds since the Unix epoch.
    since: u64,
    command: String,
}

impl Holder {
    fn describe(&self) -> String {
        let age = now().saturating_sub(self.since);
        format!(
            "lock {} of {}@{} (pid {}), running `{}`, taken {} ago",
            self.id,
            self.user,
            self.host,
            self.pid,
            self.command,
            crate::units::format_duration(age * 1000)
        )
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A lock id nobody else draws: 16 hex digits from the kernel's generator.
fn lock_id() -> Result<String, Error> {
    let mut bytes = [0u8; 8];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .map_err(|e| Error::io("cannot read /dev/urandom for a lock id", e))?;
    Ok(hex::encode(bytes))
}

struct Shared {
    client: Client,
    rt: tokio::runtime::Runtime,
    bucket: String,
    key: String,
}

impl Shared {
    fn lock_key(&self) -> String {
        format!("{}.lock", self.key)
    }

    fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// An object's bytes and ETag; `None` when it does not exist.
    fn get(&self, key: &str) -> Result<Option<(Vec<u8>, String)>, Error> {
        let answer = self.rt.block_on(self.client.get_object().bucket(&self.bucket).key(key).send());
        let out = match answer {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(aws::sdk_err("S3", &format!("GetObject of {}", self.url(key)), e)),
        };
        let etag = out.e_tag().unwrap_or_default().to_string();
        let bytes = self
            .rt
            .block_on(out.body.collect())
            .map_err(|e| Error::msg(format!("cannot read {}: {e}", self.url(key))))?
            .into_bytes()
            .to_vec();
        Ok(Some((bytes, etag)))
    }

    /// Put `bytes` under a condition; `Ok(None)` when the condition failed (412).
    fn put_if(&self, key: &str, bytes: &[u8], if_match: Option<&str>) -> Result<Option<String>, Error> {
        let mut request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(bytes.to_vec()));
        request = match if_match {
            Some(etag) => request.if_match(etag),
            None => request.if_none_match("*"),
        };
        match self.rt.block_on(request.send()) {
            Ok(out) => Ok(Some(out.e_tag().unwrap_or_default().to_string())),
            Err(e) if precondition_failed(&e) => Ok(None),
            Err(e) => Err(aws::sdk_err("S3", &format!("PutObject of {}", self.url(key)), e)),
        }
    }

    /// Delete `key` if its ETag is still `etag`; `Ok(false)` when it is not (or is gone).
    fn delete_if(&self, key: &str, etag: &str) -> Result<bool, Error> {
        let request = self.client.delete_object().bucket(&self.bucket).key(key).if_match(etag);
        match self.rt.block_on(request.send()) {
            Ok(_) => Ok(true),
            Err(e) if precondition_failed(&e) || e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {
                Ok(false)
            }
            Err(e) => Err(aws::sdk_err("S3", &format!("DeleteObject of {}", self.url(key)), e)),
        }
    }

    fn holder(&self) -> Result<Option<(Holder, String)>, Error> {
        let Some((bytes, etag)) = self.get(&self.lock_key())? else { return Ok(None) };
        let holder = serde_json::from_slice(&bytes).map_err(|e| {
            Error::msg(format!(
                "the lock {} is not a redisctl lock ({e}): remove it by hand",
                self.url(&self.lock_key())
            ))
        })?;
        Ok(Some((holder, etag)))
    }
}

fn precondition_failed<E>(
    e: &aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> bool {
    e.raw_response().is_some_and(|r| r.status().as_u16() == 412)
}

/// The state and lock of one environment in S3.
pub struct S3Store {
    shared: Arc<Shared>,
}

impl S3Store {
    /// A store in `bucket` at `key`, with a client from the standard AWS chain; `endpoint_url`
    /// (a private endpoint, moto) switches to path-style addressing, which such endpoints serve.
    pub fn new(bucket: &str, key: &str, region: Option<&str>, endpoint_url: Option<&str>) -> Result<S3Store, Error> {
        let rt = aws::runtime()?;
        let config = aws::sdk_config(&rt, region, endpoint_url)?;
        let s3 = aws_sdk_s3::config::Builder::from(&config).force_path_style(endpoint_url.is_some()).build();
        let shared = Shared { client: Client::from_conf(s3), rt, bucket: bucket.into(), key: key.into() };
        Ok(S3Store { shared: Arc::new(shared) })
    }
}

/// A lock this process holds: deleted on drop, if it is still the one this process created.
struct S3Lock {
    shared: Arc<Shared>,
    etag: String,
    id: String,
}

impl Drop for S3Lock {
    fn drop(&mut self) {
        match self.shared.delete_if(&self.shared.lock_key(), &self.etag) {
            Ok(true) => {}
            Ok(false) => tracing::warn!("the lock {} was broken (force-unlock) while this run held it", self.id),
            Err(e) => tracing::warn!("cannot release the lock {}: {e}", self.id),
        }
    }
}

impl Store for S3Store {
    fn describe(&self) -> String {
        self.shared.url(&self.shared.key)
    }

    fn read(&self) -> Result<Option<(Vec<u8>, Version)>, Error> {
        self.shared.get(&self.shared.key)
    }

    fn write(&self, bytes: &[u8], expected: Option<&Version>) -> Result<Version, Error> {
        match self.shared.put_if(&self.shared.key, bytes, expected.map(String::as_str))? {
            Some(etag) => Ok(etag),
            None => Err(conflict(&self.describe())),
        }
    }

    fn remove(&self, expected: &Version) -> Result<(), Error> {
        if self.shared.delete_if(&self.shared.key, expected)? {
            Ok(())
        } else {
            Err(conflict(&self.describe()))
        }
    }

    fn lock(&self, command: &str, timeout: Duration) -> Result<Held, Error> {
        let s = &self.shared;
        let me = Holder {
            id: lock_id()?,
            pid: std::process::id(),
            host: crate::plan::lock::hostname(),
            user: std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".into()),
            since: now(),
            command: command.into(),
        };
        let body = serde_json::to_vec(&me).map_err(Error::msg)?;
        let deadline = Instant::now() + timeout;
        let mut waiting_shown = false;
        loop {
            if let Some(etag) = s.put_if(&s.lock_key(), &body, None)? {
                tracing::debug!("took lock {} at {}", me.id, s.url(&s.lock_key()));
                return Ok(Box::new(S3Lock { shared: self.shared.clone(), etag, id: me.id }));
            }
            let holder = s.holder()?;
            let Some((holder, _)) = holder else { continue }; // released meanwhile: try again
            if Instant::now() >= deadline {
                return Err(Error::msg(format!(
                    "another redisctl holds the lock {}: {}.\nWait for it (--lock-timeout DURATION waits longer). If \
                     that run is gone for good (killed, its machine lost), break the lock with\n  redisctl \
                     force-unlock --env <env> {}",
                    s.url(&s.lock_key()),
                    holder.describe(),
                    holder.id
                )));
            }
            if !waiting_shown {
                tracing::info!("waiting for {}", holder.describe());
                waiting_shown = true;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn force_unlock(&self, id: &str) -> Result<String, Error> {
        let s = &self.shared;
        let Some((holder, etag)) = s.holder()? else {
            return Err(Error::msg(format!("the lock {} is not held: nothing to unlock", s.url(&s.lock_key()))));
        };
        if holder.id != id {
            return Err(Error::msg(format!(
                "the lock {} is {}, not `{id}`: nothing was unlocked (pass the id the lock error names)",
                s.url(&s.lock_key()),
                holder.describe()
            )));
        }
        if !s.delete_if(&s.lock_key(), &etag)? {
            return Err(Error::msg(format!(
                "the lock {} changed while it was being broken: nothing was unlocked",
                s.url(&s.lock_key())
            )));
        }
        Ok(format!("released {}", holder.describe()))
    }
}
