//! Salted digests of secrets, for state records that must tell "the same secret as applied"
//! without holding anything a dictionary attack on a committed file could use.
//!
//! Format: `s1:<salt hex>:<hex of SHA-256(salt ‖ secret)>`, a fresh 16-byte salt per digest.
//! A bare 64-hex value is the unsalted SHA-256 older versions wrote; it still compares, and
//! the next write of the record replaces it.

use sha2::{Digest, Sha256};

const PREFIX: &str = "s1";

fn hash(salt: &[u8], secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(secret.as_bytes());
    hex::encode(h.finalize())
}

/// A new salted digest of `secret`.
pub fn salted(secret: &str) -> String {
    let salt = fresh_salt();
    format!("{PREFIX}:{}:{}", hex::encode(salt), hash(&salt, secret))
}

/// Whether `recorded` (salted, or a legacy bare SHA-256) is a digest of `secret`.
pub fn matches(recorded: &str, secret: &str) -> bool {
    match recorded.split(':').collect::<Vec<_>>().as_slice() {
        [PREFIX, salt, digest] => hex::decode(salt).is_ok_and(|salt| hash(&salt, secret) == *digest),
        [bare] => *bare == hex::encode(Sha256::digest(secret.as_bytes())),
        _ => false,
    }
}

/// 16 bytes from the kernel's generator; should it be unreadable (no /dev/urandom in a
/// chroot), a salt from the clock and pid still defeats precomputed tables.
fn fresh_salt() -> [u8; 16] {
    let mut salt = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut salt));
    if read.is_err() {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let seed = Sha256::digest(format!("{}:{}", now.as_nanos(), std::process::id()).as_bytes());
        salt.copy_from_slice(&seed[..16]);
    }
    salt
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_salted_digest_matches_its_secret_only_and_differs_each_time() {
        let (a, b) = (salted("hunter2-hunter2-hunter2"), salted("hunter2-hunter2-hunter2"));
        assert_ne!(a, b, "a fresh salt each time");
        assert!(matches(&a, "hunter2-hunter2-hunter2") && matches(&b, "hunter2-hunter2-hunter2"));
        assert!(!matches(&a, "hunter3-hunter2-hunter2"));
        assert!(!a.contains(&hex::encode(Sha256::digest(b"hunter2-hunter2-hunter2"))), "{a}");
        assert!(!matches("s1:zz:00", "x") && !matches("", "x") && !matches("a:b", "x"));
    }

    #[test]
    fn a_legacy_unsalted_digest_still_compares() {
        let legacy = hex::encode(Sha256::digest(b"token-token-token"));
        assert!(matches(&legacy, "token-token-token") && !matches(&legacy, "other"));
    }
}
