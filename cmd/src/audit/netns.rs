//! Reading another network namespace's socket table: a thread of our own
//! enters it with setns(2) on /proc/PID/ns/net (a network namespace is a
//! per-thread attribute, so the rest of the command stays where it is), and
//! the netlink socket it opens there belongs to that namespace.

use super::sockets::{self, Table};
use std::fs::File;
use std::os::fd::AsRawFd;

/// The socket table of the network namespace that process `pid` is in.
/// Needs CAP_SYS_ADMIN (root): an error says why it could not be read.
pub fn read_of(pid: i32) -> Result<Table, String> {
    let path = format!("/proc/{pid}/ns/net");
    let ns = File::open(&path).map_err(|e| format!("{path}: {e}"))?;
    let worker = std::thread::spawn(move || {
        // SAFETY: setns on an open namespace fd; it changes this thread only
        // (CLONE_NEWNET), which ends right after the read.
        if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(format!("setns({path}): {}", std::io::Error::last_os_error()));
        }
        sockets::read()
    });
    worker.join().map_err(|_| "the namespace reader failed".to_string())?
}
