//! Secret references and resolved secrets.
//!
//! A `Secret` never prints its value: `Debug` shows `(sensitive value)` and there is no
//! `Display`. Code that must hand the plaintext to a peer (redis-server's `--masterauth`,
//! `AUTH`) calls `expose()`, which makes every such place easy to find.

use std::fmt;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::model::SecretRef;

pub const REDACTED: &str = "(sensitive value)";

/// Whether a command needs the secret values of an environment, chosen by the command when it
/// loads the environment. Only what must hash or pass a secret needs them (render of ACL files,
/// plan, apply, and the commands that log in to running nodes); checking a contract never does,
/// so that a pull request from a fork, without the secret store, can still be validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    /// Read them where the target needs them at render: a reference that does not resolve is
    /// an error (RCTL050), located.
    Needed,
    /// Check their form only: a reference that does not resolve here is a warning, and the
    /// deployment holds no secret values (`validate`, `review`, `connect`, `parity`, `diff`).
    FormOnly,
}

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// The ACL password hash (`#<hex>` in an ACL rule, without the `#`).
    pub fn sha256_hex(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl SecretRef {
    /// Human description of where the secret comes from (never the value).
    pub fn describe(&self) -> String {
        match (&self.from_env, &self.from_file) {
            (Some(var), _) => format!("environment variable {var}"),
            (None, Some(path)) => format!("file {path}"),
            (None, None) => "an empty secret reference".into(),
        }
    }

    /// Read the secret. Errors name the variable or file, never a value.
    pub fn resolve(&self, project_dir: &Path) -> Result<Secret, String> {
        let value = match (&self.from_env, &self.from_file) {
            (Some(var), None) => std::env::var(var).map_err(|e| match e {
                std::env::VarError::NotPresent => format!("environment variable {var} is not set"),
                std::env::VarError::NotUnicode(_) => format!("environment variable {var} is not valid UTF-8"),
            })?,
            (None, Some(path)) => {
                let full = project_dir.join(path);
                let text = std::fs::read_to_string(&full)
                    .map_err(|e| format!("cannot read secret file {}: {e}", full.display()))?;
                text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text).to_string()
            }
            _ => return Err("a password reference takes exactly one of fromEnv, fromFile".into()),
        };
        if value.is_empty() {
            return Err(format!("{} is empty", self.describe()));
        }
        if value.chars().any(char::is_control) {
            return Err(format!("{} contains a control character (newline, NUL, ...)", self.describe()));
        }
        Ok(Secret(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("hunter2".into());
        assert_eq!(format!("{s:?}"), REDACTED);
        assert_eq!(s.sha256_hex().len(), 64);
    }

    #[test]
    fn missing_env_var_is_named() {
        let r = SecretRef { from_env: Some("REDISCTL_TEST_SURELY_UNSET".into()), from_file: None };
        let e = r.resolve(Path::new(".")).unwrap_err();
        assert!(e.contains("REDISCTL_TEST_SURELY_UNSET"), "{e}");
    }
}
