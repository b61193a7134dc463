//! Connections to the members of a stack, and the small helpers every check shares.

use std::collections::HashMap;
use std::thread::sleep;
use std::time::{Duration, Instant};

use redis::{Connection, FromRedisValue};

use super::{Kind, Member, Stack, HOST};
use crate::error::{Error, Result};
use crate::model::UserRole;
use crate::resolve::User;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);
/// A poll first looks again after `POLL_FIRST`, then doubles its pause up to `POLL_MAX`: a
/// member that starts in 3 ms is seen in 3–4 ms, and a wait of seconds costs ten looks a second.
const POLL_FIRST: Duration = Duration::from_millis(1);
const POLL_MAX: Duration = Duration::from_millis(100);

/// Run one command; errors name the member and the command (commands never carry secrets).
pub(super) fn run<T: FromRedisValue>(con: &mut Connection, member: &str, words: &[&str]) -> Result<T> {
    tracing::trace!("{member}: {}", words.join(" "));
    let mut cmd = redis::cmd(words[0]);
    for w in &words[1..] {
        cmd.arg(*w);
    }
    cmd.query(con)
        .map_err(|e| Error::msg(format!("{member}: {} failed: {}", words.join(" "), crate::client::explain(&e))))
}

/// `INFO` (default sections) as a field → value map.
pub(super) fn info(con: &mut Connection, member: &str) -> Result<HashMap<String, String>> {
    let text: String = run(con, member, &["INFO"])?;
    Ok(parse_fields(&text))
}

/// `field:value` lines (INFO, CLUSTER INFO); comments and blank lines are skipped.
pub(super) fn parse_fields(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// Call `f` until it succeeds or `timeout` has passed; then its last error.
pub fn poll<T, E>(timeout: Duration, mut f: impl FnMut() -> std::result::Result<T, E>) -> std::result::Result<T, E> {
    let deadline = Instant::now() + timeout;
    let mut pause = POLL_FIRST;
    loop {
        match f() {
            Ok(v) => return Ok(v),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => {
                sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
                pause = (pause * 2).min(POLL_MAX);
            }
        }
    }
}

/// How often a long wait says it is still waiting.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// `poll` for the waits a user watches (readiness, cluster gossip): every couple of seconds
/// still waiting, one progress line saying what is awaited and what is not there yet, instead
/// of silence.
pub fn poll_shown<T, E: std::fmt::Display>(
    what: &str,
    timeout: Duration,
    mut f: impl FnMut() -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    let start = Instant::now();
    let mut next = start + PROGRESS_EVERY;
    poll(timeout, || {
        let r = f();
        if let Err(e) = &r {
            if Instant::now() >= next {
                tracing::info!("{what}: {e} ({}s)", start.elapsed().as_secs());
                next += PROGRESS_EVERY;
            }
        }
        r
    })
}

impl Stack {
    /// Open a connection to `HOST:port` (over TLS when the contract turns it on), logged in as
    /// `user` when given.
    pub(super) fn open(&self, port: u32, user: Option<&User>) -> redis::RedisResult<Connection> {
        let login = user.and_then(|u| u.secret.as_ref().map(|s| (u.spec.name.as_str(), s.expose())));
        let timeouts = crate::client::Timeouts { connect: CONNECT_TIMEOUT, command: COMMAND_TIMEOUT };
        crate::client::open(&self.deployment.contract.security.tls, HOST, port, login, timeouts)
    }

    /// Whether a server accepts connections on `port`: any reply to PING counts, including
    /// `NOAUTH` and `LOADING` (the process is up, even if not ready).
    pub(super) fn responds(&self, port: u32) -> bool {
        match self.open(port, None).and_then(|mut con| redis::cmd("PING").query::<redis::Value>(&mut con)) {
            Ok(_) => true,
            Err(e) => e.code().is_some(),
        }
    }

    /// The user redisctl manages nodes as: the operator-role user when auth is required.
    pub(super) fn operator(&self) -> Result<Option<&User>> {
        if !self.deployment.auth_required() {
            return Ok(None);
        }
        match self.deployment.user_with_role(UserRole::Operator) {
            Some(u) if u.secret.is_some() => Ok(Some(u)),
            Some(u) => Err(Error::msg(format!("the password of operator user `{}` was not resolved", u.spec.name))),
            None => Err(Error::msg(
                "security.auth is required, so redisctl needs an ACL user with `role: operator` to manage the nodes \
                 (probe writes, cluster bootstrap, SHUTDOWN); add one to acl.users",
            )),
        }
    }

    /// The user redisctl talks to Sentinels as: the `role: sentinel` user, which the Sentinels'
    /// own ACL gives every command, when they require auth (`render::sentinel_auth_required`).
    fn sentinel_user(&self) -> Result<Option<&User>> {
        if !crate::render::sentinel_auth_required(&self.deployment) {
            return Ok(None);
        }
        match self.deployment.user_with_role(UserRole::Sentinel) {
            Some(u) if u.secret.is_some() => Ok(Some(u)),
            Some(u) => Err(Error::msg(format!("the password of Sentinel user `{}` was not resolved", u.spec.name))),
            None => Ok(None),
        }
    }

    pub(super) fn conn(&self, m: Member) -> Result<Connection> {
        let user = match m.kind() {
            Kind::Redis => self.operator()?,
            Kind::Sentinel => self.sentinel_user()?,
        };
        let as_user = user.map(|u| format!(" as `{}`", u.spec.name)).unwrap_or_default();
        self.open(m.port(), user).map_err(|e| {
            Error::msg(format!(
                "cannot connect to {} ({HOST}:{}){as_user}: {}",
                m.name(),
                m.port(),
                crate::client::explain(&e)
            ))
        })
    }

    /// A connection to a node (authenticated as the operator user when auth is required) or to a
    /// Sentinel (as the Sentinel user when auth is required), for providers and tests.
    pub fn connect(&self, name: &str) -> Result<Connection> {
        self.conn(self.member(name)?)
    }

    /// The last lines of a member's log, formatted to follow an error message.
    pub(super) fn log_tail(&self, m: Member) -> String {
        let path = self.run.log_file(m.name(), m.kind());
        let Ok(text) = std::fs::read_to_string(&path) else {
            return format!("\n  (no log at {})", path.display());
        };
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(10)..].iter().map(|l| format!("\n    {l}")).collect::<String>();
        format!("\n  last lines of {}:{tail}", path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines a subscriber writes, for the progress test.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_long_wait_says_what_it_waits_for_and_why() {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).finish();
        let start = Instant::now();
        let r = tracing::subscriber::with_default(subscriber, || {
            poll_shown("waiting for node-1", Duration::from_millis(2300), || {
                if start.elapsed() < Duration::from_millis(2200) {
                    Err("replica link down")
                } else {
                    Ok(())
                }
            })
        });
        assert_eq!(r, Ok(()));
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.matches("waiting for node-1: replica link down (2s)").count(), 1, "{text}");
    }

    #[test]
    fn fields_skip_comments() {
        let f = parse_fields("# Replication\r\nrole:slave\r\nmaster_port:6379\r\n\r\n");
        assert_eq!(f["role"], "slave");
        assert_eq!(f["master_port"], "6379");
        assert_eq!(f.len(), 2);
    }

    #[test]
    fn poll_returns_the_last_error() {
        let mut n = 0;
        let r: std::result::Result<(), i32> = poll(Duration::from_millis(1), || {
            n += 1;
            Err(n)
        });
        assert!(r.unwrap_err() >= 1);
        assert_eq!(poll(Duration::ZERO, || Ok::<_, ()>(7)), Ok(7));
    }
}
