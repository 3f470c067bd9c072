//! Atomic replacement of a file: a temporary file in the same directory,
//! written, given its owner and mode, flushed, and renamed over the target
//! (rename(2): a reader sees the old file or the new one, never a
//! half-written one).
//!
//! Written here rather than with the tempfile crate: tempfile turns on
//! once_cell's "std" feature, and cargo unifies features across the
//! workspace, so the library (no_std, which uses once_cell without std)
//! would get std linked in and stop building (duplicate panic_impl). What is
//! needed is small: an O_EXCL file with an unguessable name, removed on
//! every failure path.

use std::fs::{self, File, Metadata, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A temporary file that is removed when dropped unless renamed.
struct Temp {
    path: PathBuf,
    file: File,
    keep: bool,
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// A name suffix nobody can guess in advance: the clock's nanoseconds,
/// the process id and a counter, mixed.
fn suffix(n: u32) -> String {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let mut x = t ^ (u64::from(std::process::id()) << 32) ^ u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    // splitmix64's finalizer: every input bit reaches every output bit.
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    format!("{:012x}", x & 0xffff_ffff_ffff)
}

/// Creates `.NAME.sockfix.XXXXXXXXXXXX` beside `target`, mode 0600, never
/// an existing file (O_EXCL, which also refuses to follow a symlink).
fn create_beside(target: &Path) -> Result<Temp, String> {
    let dir = target.parent().unwrap_or(Path::new("/"));
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut last = None;
    for n in 0..16 {
        let path = dir.join(format!(".{name}.sockfix.{}", suffix(n)));
        match OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path) {
            Ok(file) => return Ok(Temp { path, file, keep: false }),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(format!("cannot create a temporary file beside {}: {e}", target.display())),
        }
    }
    Err(format!("cannot create a temporary file beside {}: {}", target.display(), last.map_or(String::new(), |e| e.to_string())))
}

/// Replaces `target` by `content` with the owner and mode of `reference`
/// (root 0644 when there is none), then flushes the directory so that the
/// rename survives a crash.
pub fn write(target: &Path, content: &[u8], reference: Option<&Metadata>) -> Result<(), String> {
    let mut tmp = create_beside(target)?;
    let shown = tmp.path.display().to_string();
    tmp.file.write_all(content).map_err(|e| format!("cannot write {shown}: {e}"))?;
    let (uid, gid, mode) = reference.map_or((0, 0, 0o644), |m| (m.uid(), m.gid(), m.mode() & 0o7777));
    std::os::unix::fs::fchown(&tmp.file, Some(uid), Some(gid))
        .and_then(|_| tmp.file.set_permissions(fs::Permissions::from_mode(mode)))
        .map_err(|e| format!("cannot set the owner and mode of {shown}: {e}"))?;
    tmp.file.sync_all().map_err(|e| format!("cannot write {shown}: {e}"))?;
    fs::rename(&tmp.path, target).map_err(|e| format!("cannot rename {shown} to {}: {e}", target.display()))?;
    tmp.keep = true;
    if let Ok(d) = File::open(target.parent().unwrap_or(Path::new("/"))) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_and_leaves_nothing_behind() {
        let dir = std::env::temp_dir().join(format!("sockfix-atomic-test.{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("f");
        std::fs::write(&f, b"old").unwrap();
        let me = std::fs::metadata(&dir).unwrap();
        super::write(&f, b"new", Some(&me)).unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
