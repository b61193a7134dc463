//! Fingerprints of merged documents that this build's schema already found valid, so that a
//! `plan` or `validate` of an unchanged environment skips compiling the validator (about a
//! tenth of a local `plan`). The schema check is a pure function of the embedded schema and
//! the document, so a fingerprint of both is a sound key. Only valid documents are kept:
//! every problem is still reported on every run.
//!
//! The file is `$XDG_CACHE_HOME/redisctl/schema-valid-<schema hash>` (else under
//! `~/.cache`), one SHA-256 per line, owner-only, at most `2 * KEPT` lines; `REDISCTL_NO_CACHE=1`
//! turns it off. Nothing in it can be turned back into a document.

use std::collections::HashSet;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// Lines kept when the file is compacted (it is compacted once it holds twice as many).
const KEPT: usize = 512;

struct Known {
    file: Option<PathBuf>,
    lines: Vec<String>,
    set: HashSet<String>,
}

fn file() -> Option<PathBuf> {
    if std::env::var_os("REDISCTL_NO_CACHE").is_some_and(|v| !v.is_empty() && v != "0") {
        return None;
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("redisctl").join(concat!("schema-valid-", env!("REDISCTL_SCHEMA_HASH"))))
}

fn known() -> &'static Mutex<Known> {
    static KNOWN: OnceLock<Mutex<Known>> = OnceLock::new();
    KNOWN.get_or_init(|| {
        let file = file();
        let text = file.as_ref().and_then(|f| std::fs::read_to_string(f).ok()).unwrap_or_default();
        let lines: Vec<String> = text.lines().filter(|l| l.len() == 64).map(String::from).collect();
        let set = lines.iter().cloned().collect();
        Mutex::new(Known { file, lines, set })
    })
}

/// Whether there is a cache file to read and write (`REDISCTL_NO_CACHE` unset, a home known).
pub fn enabled() -> bool {
    known().lock().is_ok_and(|k| k.file.is_some())
}

pub fn fingerprint(doc: &Value) -> String {
    hex::encode(Sha256::digest(serde_json::to_vec(doc).unwrap_or_default()))
}

pub fn contains(print: &str) -> bool {
    known().lock().is_ok_and(|k| k.set.contains(print))
}

/// Remember a valid document; a cache that cannot be written is only slower.
pub fn insert(print: String) {
    let Ok(mut k) = known().lock() else { return };
    let Some(file) = k.file.clone() else { return };
    if !k.set.insert(print.clone()) {
        return;
    }
    k.lines.push(print.clone());
    let written = if k.lines.len() > 2 * KEPT {
        let from = k.lines.len() - KEPT;
        k.lines.drain(..from);
        let text: String = k.lines.iter().map(|l| format!("{l}\n")).collect();
        crate::util::fs::write_atomic(&file, text.as_bytes(), 0o600).map_err(|e| e.to_string())
    } else {
        append(&file, &print).map_err(|e| e.to_string())
    };
    if let Err(e) = written {
        tracing::debug!("schema cache {} not written: {e}", file.display());
    }
}

fn append(file: &std::path::Path, print: &str) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    }
    // One short line with O_APPEND: concurrent runs do not interleave within it.
    let mut f = std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(file)?;
    f.write_all(format!("{print}\n").as_bytes())
}
