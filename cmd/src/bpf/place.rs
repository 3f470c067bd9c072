//! Where the companion goes: the cgroup-v2 directory it attaches to, and
//! the bpf filesystem where it is pinned so that it outlives the command.
//!
//! Pins: `/sys/fs/bpf/sockfix/sockfix_sock` (what programs set on their
//! sockets, shared by every attached copy) and one directory per cgroup,
//! `/sys/fs/bpf/sockfix/cg<ID>/`, named by the cgroup's id (its inode
//! number on cgroup2, as `bpftool cgroup tree` and the kernel name it),
//! with the links and the settings maps of that copy.

use std::ffi::CString;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

pub const BPFFS: &str = "/sys/fs/bpf";
pub const PIN_ROOT: &str = "/sys/fs/bpf/sockfix";
/// statfs(2) f_type of cgroup2 and of the bpf filesystem (linux/magic.h).
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
const BPF_FS_MAGIC: i64 = 0xcafe_4a11;

/// A cgroup-v2 directory and its id.
#[derive(Debug, Clone)]
pub struct Cgroup {
    pub path: PathBuf,
    pub id: u64,
}

impl Cgroup {
    /// The pin directory of the copy attached here.
    pub fn pins(&self) -> PathBuf {
        Path::new(PIN_ROOT).join(format!("cg{}", self.id))
    }
}

fn fs_type(path: &Path) -> Option<i64> {
    let c = CString::new(path.as_os_str().as_encoded_bytes()).ok()?;
    // SAFETY: a NUL-terminated path and a zeroed statfs for the kernel to fill.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    (unsafe { libc::statfs(c.as_ptr(), &mut st) } == 0).then_some(st.f_type as i64)
}

/// The cgroup2 mount: /sys/fs/cgroup on a pure-v2 host, /sys/fs/cgroup/unified
/// on a hybrid one, else the first cgroup2 mount in /proc/self/mountinfo.
pub fn cgroup2_root() -> Result<PathBuf, String> {
    for p in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] {
        if fs_type(Path::new(p)) == Some(CGROUP2_SUPER_MAGIC) {
            return Ok(PathBuf::from(p));
        }
    }
    let mounts = procfs::process::Process::myself()
        .and_then(|p| p.mountinfo())
        .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?;
    // A mount covered by another at the same place is listed but not there.
    mounts
        .into_iter()
        .find(|m| m.fs_type == "cgroup2" && fs_type(&m.mount_point) == Some(CGROUP2_SUPER_MAGIC))
        .map(|m| m.mount_point)
        .ok_or_else(|| "no cgroup v2 here (no cgroup2 filesystem is mounted; the companion attaches to cgroup v2)".into())
}

/// The cgroup named on the command line: a path on the cgroup2 mount, or
/// one relative to its root (`system.slice/db.service`, or
/// `/system.slice/db.service` as /proc/PID/cgroup shows it); none: the
/// root, every process of the host.
pub fn cgroup(named: Option<&Path>) -> Result<Cgroup, String> {
    let root = cgroup2_root()?;
    let path = match named {
        None => root.clone(),
        Some(p) if p.starts_with(&root) => p.to_path_buf(),
        // /system.slice/db.service, as /proc/PID/cgroup shows it.
        Some(p) if p.is_absolute() && !p.exists() => root.join(p.strip_prefix("/").unwrap_or(p)),
        Some(p) if p.is_absolute() => {
            return Err(format!("{}: not on the cgroup v2 mount ({})", p.display(), root.display()));
        }
        Some(p) => root.join(p),
    };
    let meta = std::fs::metadata(&path).map_err(|e| format!("{}: no such cgroup ({e})", path.display()))?;
    if !meta.is_dir() || fs_type(&path) != Some(CGROUP2_SUPER_MAGIC) {
        return Err(format!("{}: not a cgroup v2 directory (under {})", path.display(), root.display()));
    }
    Ok(Cgroup { path, id: meta.ino() })
}

/// The cgroup-v2 cgroup this process is in (the `0::` line of
/// /proc/self/cgroup), for a unit's ExecStartPre=, which systemd runs in
/// the unit's own cgroup.
pub fn own_cgroup() -> Result<PathBuf, String> {
    let text = std::fs::read_to_string("/proc/self/cgroup").map_err(|e| format!("/proc/self/cgroup: {e}"))?;
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(PathBuf::from)
        .ok_or_else(|| "this process is in no cgroup v2 (no 0:: line in /proc/self/cgroup)".into())
}

/// The cgroup whose id is `id`, looked for under the cgroup2 mount (a
/// bounded walk: the cgroup tree is small, and pins name no path).
pub fn cgroup_by_id(id: u64) -> Option<PathBuf> {
    let root = cgroup2_root().ok()?;
    let mut todo = vec![root];
    let mut seen = 0;
    while let Some(dir) = todo.pop() {
        seen += 1;
        if seen > 100_000 {
            return None;
        }
        let Ok(meta) = std::fs::metadata(&dir) else { continue };
        if meta.ino() == id {
            return Some(dir);
        }
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        todo.extend(entries.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_dir())).map(|e| e.path()));
    }
    None
}

/// The bpf filesystem at /sys/fs/bpf, mounted if it is not (as systemd
/// does at boot; plain containers and some hosts have none).
pub fn bpffs() -> Result<(), String> {
    if fs_type(Path::new(BPFFS)) == Some(BPF_FS_MAGIC) {
        return Ok(());
    }
    // SAFETY: NUL-terminated strings; no mount data.
    let r = unsafe { libc::mount(c"bpf".as_ptr(), c"/sys/fs/bpf".as_ptr(), c"bpf".as_ptr(), 0, std::ptr::null()) };
    if r != 0 {
        return Err(format!("cannot mount the bpf filesystem on {BPFFS}: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// The pin directories of attached copies: (cgroup id, directory).
pub fn attached() -> Vec<(u64, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(PIN_ROOT) else { return Vec::new() };
    let mut found: Vec<(u64, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let id = e.file_name().to_str()?.strip_prefix("cg")?.parse().ok()?;
            Some((id, e.path()))
        })
        .collect();
    found.sort();
    found
}
