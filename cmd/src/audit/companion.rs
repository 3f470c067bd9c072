//! The eBPF companion (`sockfix bpf`) as the audit sees it: the copies
//! attached, with the settings the kernel reads (from their pinned maps),
//! and what they give one connection. A copy acts in the kernel at connect
//! (and at accept, with SOCKFIX_SERVER) for every process of its cgroup and
//! below, whatever the program is: static, Go, io_uring.

use crate::bpf::layout::SettingsMap;
use crate::bpf::{attach, place};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// One attached copy.
pub struct Copy {
    /// Its cgroup as /proc/PID/cgroup names it ("/" is the root).
    pub cgroup: String,
    /// Its cgroup's directory and id.
    pub path: PathBuf,
    pub id: u64,
    /// The settings in use (Err: why they could not be read).
    pub settings: Result<SettingsMap, String>,
}

/// What the companion does for one connection whose process it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cover {
    /// Keepalive on, after this idle time, from the copy on `cgroup`.
    Acts { cgroup: String, idle_s: u32 },
    /// It sets no keepalive: why (words after "covers it but"), and a label.
    Not { cgroup: String, why: String, label: &'static str },
}

/// The copies attached, each once; notes on pins of a cgroup that is gone
/// and on what cannot be seen.
pub fn gather(notes: &mut Vec<String>) -> Vec<Copy> {
    // place::attached() is empty when the pins cannot be listed: without
    // root the bpf filesystem may be closed, and that must be said.
    if let Err(e) = std::fs::read_dir(place::PIN_ROOT) {
        if e.kind() == std::io::ErrorKind::PermissionDenied {
            notes.push(format!(
                "whether the eBPF companion (sockfix bpf) is attached cannot be seen ({}: {e}; run as root): \
                 connections it covers may show as unprotected",
                place::PIN_ROOT
            ));
        }
        return Vec::new();
    }
    let root = place::cgroup2_root().ok();
    let mut copies = Vec::new();
    for (id, dir) in place::attached() {
        let Some(path) = place::cgroup_by_id(id) else {
            if attach::cgroup_gone(&dir) == Some(false) {
                notes.push(format!("eBPF companion attached to cgroup {id}, not visible from here (another cgroup namespace?)"));
                continue;
            }
            notes.push(format!(
                "eBPF companion pins {} name cgroup {id}, which no longer exists: leftovers that cover nothing \
                 (sockfix bpf disable --all removes them)",
                dir.display()
            ));
            continue;
        };
        let Some(cgroup) = root.as_deref().and_then(|r| relative(r, &path)) else { continue };
        copies.push(Copy { cgroup, path, id, settings: attach::read(&dir) });
    }
    // First, one line each (the table keeps its lines within 100 columns).
    let attached = copies.iter().map(|c| format!("eBPF companion attached to: {} (cgroup {})", c.path.display(), c.id));
    notes.splice(0..0, attached);
    for c in &copies {
        if let Err(e) = &c.settings {
            notes.push(format!("the eBPF companion's settings on {} cannot be read: {e}", c.cgroup));
        }
    }
    copies
}

/// `path` under the cgroup2 mount `root`, as /proc/PID/cgroup writes it.
fn relative(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    Some(format!("/{}", rel.to_str()?))
}

/// Whether cgroup `inner` is `outer` or below it (whole path components:
/// /a/bc is not below /a/b).
fn within(inner: &str, outer: &str) -> bool {
    Path::new(inner).starts_with(outer)
}

/// What the copies covering a process in cgroup `cgroup` do for its
/// connection with `peer`; None: no copy covers it. Copies run nearest
/// first, and the first that configures the socket marks it done
/// (bpf/sockfix.bpf.c): one that leaves the peer alone lets the next one up
/// act, one with SOCKFIX_KEEPALIVE off does not.
pub fn cover(copies: &[Copy], cgroup: &str, peer: SocketAddr, accepted: bool) -> Option<Cover> {
    let mut covering: Vec<&Copy> = copies.iter().filter(|c| within(cgroup, &c.cgroup)).collect();
    covering.sort_by_key(|c| std::cmp::Reverse(Path::new(&c.cgroup).components().count()));
    let mut nearest_not = None;
    for c in covering {
        let not = |why: &str, label| Cover::Not { cgroup: c.cgroup.clone(), why: why.to_string(), label };
        let settings = match &c.settings {
            Ok(s) => s,
            // Whether it acts cannot be told: say so, and look no further.
            Err(_) => return nearest_not.or(Some(not("its settings cannot be read", "bpf settings unknown"))),
        };
        match settings.conn_for(peer, accepted) {
            Some(conn) if conn.keepalive != 0 => return Some(Cover::Acts { cgroup: c.cgroup.clone(), idle_s: conn.keepidle }),
            Some(_) => return nearest_not.or(Some(not("its SOCKFIX_KEEPALIVE is off", "bpf SOCKFIX_KEEPALIVE=off"))),
            None if accepted => {
                nearest_not.get_or_insert(not("its SOCKFIX_SERVER is off (an accepted connection)", "bpf SOCKFIX_SERVER off"));
            }
            None => {
                nearest_not.get_or_insert(not("the peer is not in its SOCKFIX_DEST", "bpf SOCKFIX_DEST"));
            }
        }
    }
    nearest_not
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::layout::compile;
    use crate::settings::{build, Layer};

    fn copy(cgroup: &str, pairs: &[(&str, &str)]) -> Copy {
        let layer = Layer { source: "test".into(), pairs: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() };
        let s = build(&[layer], &[], &Vec::new, &mut Vec::new());
        Copy { cgroup: cgroup.into(), path: PathBuf::from("/sys/fs/cgroup").join(&cgroup[1..]), id: 1, settings: compile(&s) }
    }

    #[test]
    fn nearest_copy_that_acts() {
        let peer: SocketAddr = "10.0.0.9:3306".parse().unwrap();
        let other: SocketAddr = "192.0.2.1:80".parse().unwrap();
        let copies = [
            copy("/", &[("SOCKFIX_KEEPIDLE", "30")]),
            copy("/a", &[("SOCKFIX_DEST", "10.0.0.0/8"), ("SOCKFIX_KEEPIDLE", "7")]),
            copy("/a/b", &[("SOCKFIX_KEEPALIVE", "off")]),
        ];
        let acts = |cg: &str, idle| Some(Cover::Acts { cgroup: cg.into(), idle_s: idle });
        assert_eq!(cover(&copies[1..2], "/other", peer, false), None);
        assert_eq!(cover(&copies[1..2], "/ab", peer, false), None, "whole components only");
        assert_eq!(cover(&copies, "/a/c", peer, false), acts("/a", 7));
        // Outside /a's SOCKFIX_DEST the root's copy acts.
        assert_eq!(cover(&copies, "/a/c", other, false), acts("/", 30));
        let not = cover(&copies[1..2], "/a/c", other, false);
        assert!(matches!(not, Some(Cover::Not { label: "bpf SOCKFIX_DEST", .. })), "{not:?}");
        // The nearest configures with keepalive off: the socket is done.
        let not = cover(&copies, "/a/b/c", peer, false);
        assert!(matches!(not, Some(Cover::Not { label: "bpf SOCKFIX_KEEPALIVE=off", .. })), "{not:?}");
        let not = cover(&copies, "/a", peer, true);
        assert!(matches!(not, Some(Cover::Not { ref cgroup, label: "bpf SOCKFIX_SERVER off", .. }) if cgroup == "/a"), "{not:?}");
        let server = [copy("/", &[("SOCKFIX_SERVER", "on")])];
        assert_eq!(cover(&server, "/x", other, true), acts("/", 15));
    }
}
