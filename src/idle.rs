//! SOCKFIX_IDLE_CHECK (a proxy closed an idle connection, or failed over): before writing on a connection
//! that has been idle at least that long, look whether the peer has already
//! closed or reset it (HAProxy's `timeout client` fired, a failover dropped
//! it). If so the write fails with EPIPE and nothing is sent: a MySQL client
//! then says "server has gone away" (2006), which it can safely retry,
//! instead of "lost connection during query" (2013), where nobody knows if
//! the query ran.
//!
//! Cost on a connection that is not idle: one coarse clock read (vDSO) and
//! a compare. The look is one non-blocking poll.

use crate::fdtable as ft;
use crate::sys;
use libc::c_int;

/// Coarse monotonic milliseconds, wrapping.
pub fn now_ms() -> u32 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid timespec; clock_gettime is not hooked.
    unsafe { crate::real::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    (ts.tv_sec as u64).wrapping_mul(1000).wrapping_add(ts.tv_nsec as u64 / 1_000_000) as u32
}

/// Starts the idle clock of a new connection.
pub fn start(fd: c_int, secs: u16) {
    ft::set_idle_check(fd, u32::from(secs));
    ft::touch(fd, now_ms());
}

/// Data moved on `fd`.
#[inline]
pub fn touch(fd: c_int) {
    ft::touch(fd, now_ms());
}

/// Whether a write on `fd` (whose table entry is `entry`) must fail because
/// the connection sat idle and its peer is gone.
pub fn peer_gone(fd: c_int, entry: u32) -> bool {
    let idle = now_ms().wrapping_sub(ft::last_activity(fd));
    if idle < ft::idle_threshold_secs(entry).saturating_mul(1000) {
        return false;
    }
    let _keep = sys::ErrnoGuard::new();
    let mut pfd = libc::pollfd { fd, events: libc::POLLIN | libc::POLLRDHUP, revents: 0 };
    let zero = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: one valid pollfd and a zero timeout: never blocks.
    let n = unsafe {
        crate::sys::syscall!(
            libc::SYS_ppoll,
            &mut pfd as *mut libc::pollfd,
            1 as libc::nfds_t,
            &zero as *const libc::timespec,
            core::ptr::null::<libc::c_void>(),
            0,
        )
    };
    // The entry may be stale (the number now holds a pipe whose reader
    // left, which poll reports the same way): refuse only on a TCP socket.
    let gone = n > 0 && pfd.revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) != 0 && sys::is_tcp_socket(fd);
    if gone {
        let mut peer: libc::sockaddr_storage = unsafe { core::mem::zeroed() };
        sys::socket_peer(fd, &mut peer);
        crate::log!(
            "fd {fd} ({}): idle {} ms and closed by the peer; write refused with EPIPE, nothing sent",
            crate::log::Peer(&peer),
            idle
        );
    }
    gone
}
