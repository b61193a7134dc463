//! Container image references (`container.image`): what pins one exactly, and which Redis
//! version its tag names. Containers run the image the contract names, so a reference that
//! floats, or that names another Redis than `redis.version`, is refused by validate.

use super::RedisVersion;

/// The parts of `[registry[:port]/]path[:tag][@sha256:<hex>]`.
#[derive(Debug, PartialEq, Eq)]
struct Reference<'a> {
    tag: Option<&'a str>,
    digest: Option<&'a str>,
}

fn split(image: &str) -> Result<Reference<'_>, String> {
    if image.is_empty() || !image.chars().all(|c| c.is_ascii_alphanumeric() || "._-/:@".contains(c)) {
        return Err("is not an image reference (letters, digits and `._-/:@` only)".into());
    }
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image, None),
    };
    if let Some(d) = digest {
        let hex = d.strip_prefix("sha256:").unwrap_or("");
        if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!("has the digest `{d}`, which is not `sha256:` and 64 hex digits"));
        }
    }
    // A `:` after the last `/` starts the tag; one before it is a registry port.
    let last = name.rfind('/').map_or(0, |i| i + 1);
    let tag = name[last..].split_once(':').map(|(_, t)| t);
    if name[last..].starts_with(':') || tag.is_some_and(str::is_empty) {
        return Err("has an empty name or tag".into());
    }
    Ok(Reference { tag, digest })
}

/// The exact version `x.y.z` a tag starts with (`7.2.5`, `7.2.5-alpine`), if it is one.
fn exact_version(tag: &str) -> Option<(u32, u32, u32)> {
    let version = tag.split('-').next().unwrap_or("");
    let parts: Vec<u32> = version
        .split('.')
        .map(|p| if !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) { p.parse().ok() } else { None })
        .collect::<Option<_>>()?;
    match parts[..] {
        [major, minor, patch] => Some((major, minor, patch)),
        _ => None,
    }
}

/// Why `image` floats, if it does: it is pinned by a digest or an exact `x.y.z` tag.
pub fn floating(image: &str) -> Option<String> {
    let r = match split(image) {
        Ok(r) => r,
        Err(why) => return Some(why),
    };
    match (r.digest, r.tag) {
        (Some(_), _) => None,
        (None, None) => Some("has no tag, which means `latest`".into()),
        (None, Some(t)) if exact_version(t).is_some() => None,
        (None, Some(t)) => Some(format!("uses the floating tag `{t}`")),
    }
}

/// Why `image` cannot run Redis `version`, if it cannot: it must be pinned (`floating`), and a
/// tag's version must be `version` (a digest alone names no version to compare).
pub fn problem(image: &str, version: RedisVersion) -> Option<String> {
    if let Some(why) = floating(image) {
        return Some(why);
    }
    let (major, minor, patch) = split(image).ok()?.tag.and_then(exact_version)?;
    ((major, minor) != version.pair())
        .then(|| format!("is Redis {major}.{minor}.{patch}, but `redis.version` is {}", version.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn pinned_and_floating_references() {
        let digest = format!("redis@{DIGEST}");
        let tagged_digest = format!("redis:7.2@{DIGEST}");
        for pinned in ["redis:7.2.5", "redis:7.2.5-alpine", "registry:5000/redis:8.2.1", &digest, &tagged_digest] {
            assert_eq!(floating(pinned), None, "{pinned}");
        }
        for floats in [
            "redis",
            "redis:latest",
            "redis:7",
            "redis:7-alpine",
            "redis:7.2",
            "registry:5000/redis",
            "redis:alpine",
            "redis@sha256:abc",
            "redis:",
            "redis:7.2.5 --privileged",
            "",
        ] {
            assert!(floating(floats).is_some(), "{floats}");
        }
    }

    #[test]
    fn a_tag_names_the_contracts_version() {
        assert_eq!(problem("redis:7.2.5-alpine", RedisVersion::V7_2), None);
        assert_eq!(problem(&format!("redis@{DIGEST}"), RedisVersion::V7_2), None);
        assert_eq!(
            problem("redis:7.0.15-alpine", RedisVersion::V7_2).as_deref(),
            Some("is Redis 7.0.15, but `redis.version` is 7.2")
        );
        assert!(problem("redis:7-alpine", RedisVersion::V7_0).is_some());
    }
}
