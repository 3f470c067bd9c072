//! Processes, from /proc (procfs crate): which process holds which socket
//! (by inode, /proc/PID/fd), which network namespace it is in, and, for
//! the owners of connections, what it has mapped (the library, a dynamic
//! loader), its environment, whether it runs in secure execution, and its
//! cgroup (for the eBPF companion).

use procfs::process::{FDTarget, MMapPath, Process};
use std::collections::HashMap;
use std::path::PathBuf;

/// A process that could be looked at.
#[derive(Debug)]
pub struct Proc {
    pub pid: i32,
    /// The network namespace's inode (None: unreadable).
    pub netns: Option<u64>,
    /// (fd, socket inode) for each socket it holds.
    pub sockets: Vec<(i32, u64)>,
}

/// What the scan found, and what it could not look at.
#[derive(Debug, Default)]
pub struct Scan {
    pub procs: Vec<Proc>,
    /// Processes whose descriptors could not be read (another user's, when
    /// not root), by uid.
    pub hidden: HashMap<u32, usize>,
}

impl Scan {
    /// socket inode -> (pid, fd), every holder (a socket shared across a
    /// fork has more than one), lowest pid first.
    pub fn holders(&self) -> HashMap<u64, Vec<(i32, i32)>> {
        let mut map: HashMap<u64, Vec<(i32, i32)>> = HashMap::new();
        for p in &self.procs {
            for &(fd, inode) in &p.sockets {
                map.entry(inode).or_default().push((p.pid, fd));
            }
        }
        for v in map.values_mut() {
            v.sort_unstable();
            v.dedup_by_key(|(pid, _)| *pid);
        }
        map
    }
}

/// Every process's sockets and namespace. Processes that end during the
/// scan are skipped; those that cannot be read are counted in `hidden`.
pub fn scan() -> Result<Scan, String> {
    let mut out = Scan::default();
    let all = procfs::process::all_processes().map_err(|e| format!("/proc: {e}"))?;
    for p in all.flatten() {
        let uid = p.uid().unwrap_or(u32::MAX);
        let fds = match p.fd() {
            Ok(fds) => fds,
            Err(procfs::ProcError::PermissionDenied(_)) => {
                *out.hidden.entry(uid).or_default() += 1;
                continue;
            }
            Err(_) => continue,
        };
        let sockets = fds
            .flatten()
            .filter_map(|f| match f.target {
                FDTarget::Socket(inode) => Some((f.fd, inode)),
                _ => None,
            })
            .collect();
        let netns = p.namespaces().ok().and_then(|n| n.0.get(std::ffi::OsStr::new("net")).map(|ns| ns.identifier));
        out.procs.push(Proc { pid: p.pid, netns, sockets });
    }
    Ok(out)
}

/// What a connection's owner is, as far as it matters for the verdict.
#[derive(Debug, Clone)]
pub struct Owner {
    pub pid: i32,
    /// The command name (/proc/PID/comm).
    pub name: String,
    /// argv[0] and the executable's path: the names SOCKFIX_PROGRAMS sees.
    pub argv0: Option<String>,
    pub exe: Option<String>,
    /// The libsockfix.so mapped in it, if any (None: maps unreadable).
    pub library: Option<Option<String>>,
    /// A dynamic loader (ld-linux*, ld-musl*) is mapped: LD_PRELOAD works.
    pub loader: Option<bool>,
    /// The executable carries Go build information.
    pub go: bool,
    /// SOCKFIX_*, libkeepalive's keys and LD_PRELOAD from its initial
    /// environment (Err: why it could not be read).
    pub environ: Result<Vec<(String, String)>, String>,
    /// AT_SECURE from its auxiliary vector: the library then ignores the
    /// environment (None: unreadable).
    pub secure: Option<bool>,
    /// /proc/PID/root: its view of the file system, for its config file.
    pub root: PathBuf,
    /// Its cgroup-v2 path (the `0::` line of /proc/PID/cgroup, "/" the
    /// root): where the eBPF companion may cover it (None: unreadable, or
    /// no cgroup v2).
    pub cgroup: Option<String>,
}

impl Owner {
    pub fn env(&self, key: &str) -> Option<&str> {
        self.environ.as_ref().ok()?.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// Whether an environment variable is one the library (or this audit) reads.
fn wanted(key: &str) -> bool {
    key.starts_with("SOCKFIX_") || key == "LD_PRELOAD" || crate::settings::LEGACY_KEYS.contains(&key)
}

/// Looks at process `pid` closely (only owners of connections are).
pub fn owner(pid: i32) -> Owner {
    let mut o = Owner {
        pid,
        name: String::new(),
        argv0: None,
        exe: None,
        library: None,
        loader: None,
        go: false,
        environ: Err(String::new()),
        secure: None,
        root: PathBuf::from(format!("/proc/{pid}/root")),
        cgroup: None,
    };
    let Ok(p) = Process::new(pid) else {
        o.environ = Err("the process has ended".into());
        return o;
    };
    o.name = p.stat().map(|s| s.comm).unwrap_or_default();
    o.argv0 = p.cmdline().ok().and_then(|c| c.into_iter().next());
    let exe = p.exe().ok();
    o.exe = exe.as_ref().map(|e| e.to_string_lossy().into_owned());
    if let Ok(maps) = p.maps() {
        let paths: Vec<String> = maps
            .0
            .into_iter()
            .filter_map(|m| match m.pathname {
                MMapPath::Path(p) => Some(p.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect();
        let file = |p: &String| p.rsplit('/').next().unwrap_or("").to_string();
        o.library = Some(paths.iter().find(|p| file(p).starts_with("libsockfix.so")).cloned());
        o.loader = Some(paths.iter().any(|p| {
            let f = file(p);
            f.starts_with("ld-linux") || f.starts_with("ld-musl") || f.starts_with("ld64.so") || f == "ld.so.1"
        }));
    }
    o.go = super::elf::is_go(&PathBuf::from(format!("/proc/{pid}/exe")));
    o.environ = match p.environ() {
        Ok(env) => Ok(env
            .into_iter()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .filter(|(k, _)| wanted(k))
            .collect()),
        Err(e) => Err(e.to_string()),
    };
    o.cgroup =
        p.cgroups().ok().and_then(|c| c.into_iter().find(|g| g.hierarchy == 0 && g.controllers.is_empty())).map(|g| g.pathname);
    o.secure = p.auxv().ok().map(|a| a.get(&u64::from(libc::AT_SECURE as u32)).is_some_and(|v| *v != 0));
    o
}
