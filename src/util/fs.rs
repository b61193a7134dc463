//! Crash-safe file writes: a temporary file in the same directory, fsync, rename, fsync the
//! directory. A reader (or a crash) sees either the old file or the new one, never half.

use std::io::Write;
use std::path::Path;

use crate::error::Error;

/// How the temporary files of unfinished writes begin (the next apply removes leftovers).
pub const TEMP_PREFIX: &str = ".redisctl-tmp-";

pub fn write_atomic(path: &Path, content: &[u8], mode: u32) -> Result<(), Error> {
    let dir = path.parent().ok_or_else(|| Error::msg(format!("{} has no parent directory", path.display())))?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)
        .map_err(|e| Error::io(format!("cannot create a temporary file in {}", dir.display()), e))?;
    tmp.write_all(content).map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io(format!("cannot set the mode of {}", path.display()), e))?;
    }
    tmp.as_file().sync_all().map_err(|e| Error::io(format!("cannot sync {}", path.display()), e))?;
    tmp.persist(path).map_err(|e| Error::io(format!("cannot replace {}", path.display()), e.error))?;
    sync_dir(dir);
    Ok(())
}

/// Make a rename or unlink in `dir` durable. Best effort: not every filesystem supports it.
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}
