//! /etc/ld.so.preload as ld.so reads it (see ld.so(8)), and the careful
//! ways to change it: the entry for a library, the entries of a file, taking
//! only the sockfix entries out, the lock against a concurrent
//! `sockfix preload`, and the ownership checks for a library that is to run
//! in every process. (Replacing the file: `atomic`.)

use std::fs::{self, File};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The file every glibc loader reads.
pub const PRELOAD_FILE: &str = "/etc/ld.so.preload";

/// The lock serializing `sockfix preload` runs (in /run when /run/lock is
/// missing).
const LOCK_FILE: &str = "/run/lock/sockfix-preload.lock";

/// How long a second `sockfix preload` waits for the first (seconds).
const LOCK_WAIT: u64 = 30;

/// The line for /etc/ld.so.preload: the package's library as
/// `/usr/$LIB/libsockfix.so`, which ld.so expands to each program's own
/// multiarch directory; any other library by its absolute path.
pub fn entry_for(lib: &Path, triplet: &str) -> String {
    let l = lib.to_string_lossy();
    if l == format!("/usr/lib/{triplet}/libsockfix.so") || l == format!("/lib/{triplet}/libsockfix.so") {
        "/usr/$LIB/libsockfix.so".into()
    } else {
        l.into_owned()
    }
}

/// Whether an ld.so.preload entry is a sockfix library: its file name is
/// libsockfix*.so.
pub fn is_sockfix_token(word: &str) -> bool {
    let base = word.rsplit('/').next().unwrap_or(word);
    base.len() >= "libsockfix.so".len() && base.starts_with("libsockfix") && base.ends_with(".so")
}

/// The separators ld.so accepts between entries.
fn is_sep(c: char) -> bool {
    matches!(c, ' ' | '\t' | ':' | '\n')
}

/// The entries of a preload file's text: words separated by blanks, tabs,
/// ':' or newlines; '#' starts a comment that runs to the end of the line.
pub fn tokens(text: &str) -> Vec<String> {
    text.lines()
        .flat_map(|l| l.split('#').next().unwrap_or("").split(is_sep))
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

/// The entries of the preload file (none when it does not exist).
pub fn file_tokens(path: &Path) -> Vec<String> {
    fs::read(path).map(|b| tokens(&String::from_utf8_lossy(&b))).unwrap_or_default()
}

/// The text with its sockfix entries taken out and everything else as it
/// is: a line without one is kept byte for byte; a line that had one keeps
/// its other words (one blank apart) and its comment, and goes when nothing
/// is left. A last line without a newline stays without one.
pub fn strip_sockfix(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for piece in text.split_inclusive(|&b| b == b'\n') {
        let (line, nl) = match piece.strip_suffix(b"\n") {
            Some(l) => (l, &b"\n"[..]),
            None => (piece, &b""[..]),
        };
        let (words, comment) = match line.iter().position(|&b| b == b'#') {
            Some(i) => (&line[..i], &line[i..]),
            None => (line, &b""[..]),
        };
        let words = String::from_utf8_lossy(words);
        let all: Vec<&str> = words.split([' ', '\t', ':']).filter(|w| !w.is_empty()).collect();
        if !all.iter().any(|w| is_sockfix_token(w)) {
            out.extend_from_slice(piece);
            continue;
        }
        let kept: Vec<&str> = all.into_iter().filter(|w| !is_sockfix_token(w)).collect();
        if kept.is_empty() && comment.is_empty() {
            continue;
        }
        out.extend_from_slice(kept.join(" ").as_bytes());
        if !kept.is_empty() && !comment.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(comment);
        out.extend_from_slice(nl);
    }
    out
}

/// `content` with `entry` on a line of its own added at the end (a last
/// line without a newline gets one first, so that it stays a line).
pub fn with_entry(content: &[u8], entry: &str) -> Vec<u8> {
    let mut v = content.to_vec();
    if v.last().is_some_and(|&b| b != b'\n') {
        v.push(b'\n');
    }
    v.extend_from_slice(entry.as_bytes());
    v.push(b'\n');
    v
}

/// Removes a file; one that is not there is fine.
pub fn remove(path: &Path) -> Result<(), String> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot remove {}: {e}", path.display())),
    }
}

/// The preload file must be a regular file (or not exist) in a directory
/// we can write: never a symbolic link, whose target we would replace by a
/// file.
pub fn check_writable(file: &Path) -> Result<(), String> {
    match fs::symlink_metadata(file) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(format!(
                "{} is a symbolic link; refusing to replace it (edit the file it points to by hand)",
                file.display()
            ))
        }
        Ok(m) if !m.is_file() => return Err(format!("{} is not a regular file", file.display())),
        _ => {}
    }
    let dir = file.parent().unwrap_or(Path::new("/"));
    let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).map_err(|_| "bad path".to_string())?;
    if unsafe { libc::access(c.as_ptr(), libc::W_OK) } != 0 {
        return Err(format!("cannot write {}: run as root", dir.display()));
    }
    Ok(())
}

/// The lock held while a `sockfix preload` (or `sockfix bpf`) changes
/// what it installs (released when the process exits).
pub struct Lock(#[allow(dead_code)] File);

/// Takes the lock of `sockfix preload`, waiting up to 30 s for another.
pub fn lock() -> Result<Lock, String> {
    lock_at(Path::new(LOCK_FILE), "sockfix preload")
}

/// Takes the lock `file` (in /run when its directory is missing), waiting
/// up to 30 s while another `who` holds it. flock(2) through libc (already
/// a dependency): a lock tied to the open file, gone when the process is,
/// whatever way it ends; fd-lock would add a crate and still offer no
/// bounded wait.
pub fn lock_at(file: &Path, who: &str) -> Result<Lock, String> {
    let dir = file.parent().filter(|d| d.is_dir()).unwrap_or(Path::new("/run"));
    let path = dir.join(file.file_name().unwrap_or_default());
    let f = fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .map_err(|e| format!("cannot open the lock file {}: {e}", path.display()))?;
    let deadline = Instant::now() + Duration::from_secs(LOCK_WAIT);
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor this function owns.
    while unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        if Instant::now() >= deadline {
            return Err(format!("another '{who}' is running (lock {})", path.display()));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(Lock(f))
}

/// A file that is to be mapped into every process, setuid ones included,
/// must not be replaceable by anyone but root: it and every directory above
/// it, as named and with symbolic links resolved, must be root's and
/// writable by nobody else. (A symbolic link's own mode means nothing: it
/// is checked for its owner, and what it points to through the resolved
/// path.) Err: the first that is not, for people.
pub fn safe_path(file: &Path) -> Result<(), String> {
    let real = fs::canonicalize(file).map_err(|e| format!("{}: cannot resolve: {e}", file.display()))?;
    for start in [file.to_path_buf(), real] {
        let mut p: PathBuf = start;
        while p.as_os_str() != "/" && !p.as_os_str().is_empty() {
            let m = fs::symlink_metadata(&p).map_err(|_| format!("{}: cannot stat", p.display()))?;
            let mode = m.mode() & 0o7777;
            let writable_by_others = !m.file_type().is_symlink() && mode & 0o022 != 0;
            if m.uid() != 0 || writable_by_others {
                return Err(format!(
                    "{} is owned by uid {} with mode {:o}: it must be root's and writable by nobody else",
                    p.display(),
                    m.uid(),
                    mode
                ));
            }
            if !p.pop() {
                break;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_as_ld_so_reads_them() {
        let t = tokens("# c /x/libsockfix.so\n/a.so:/b.so\t/usr/$LIB/libsockfix.so # x\n\n");
        assert_eq!(t, ["/a.so", "/b.so", "/usr/$LIB/libsockfix.so"]);
        assert!(is_sockfix_token("/opt/libsockfix-test.so"));
        assert!(!is_sockfix_token("/opt/libsockfix.so.1"));
    }

    #[test]
    fn strip_keeps_the_rest() {
        let s = strip_sockfix(b"# admin\n/a.so /usr/$LIB/libsockfix.so # why\n/usr/$LIB/libsockfix.so\n/b.so");
        assert_eq!(s, b"# admin\n/a.so # why\n/b.so");
        assert_eq!(strip_sockfix(b"/a.so\n/x/libsockfix.so"), b"/a.so\n");
    }

    #[test]
    fn entry_goes_on_its_own_line() {
        assert_eq!(with_entry(b"/a.so", "/e.so"), b"/a.so\n/e.so\n");
        assert_eq!(with_entry(b"", "/e.so"), b"/e.so\n");
        assert_eq!(
            entry_for(Path::new("/usr/lib/x86_64-linux-gnu/libsockfix.so"), "x86_64-linux-gnu"),
            "/usr/$LIB/libsockfix.so"
        );
    }
}
