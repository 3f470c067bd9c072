//! poll, ppoll, select, pselect (and the fortified poll/ppoll): resumed after
//! EINTR when they wait on a TCP socket, with what is left of the caller's
//! timeout, never more (resume::wait).
//!
//! ppoll and pselect called with a signal mask are never resumed: a program
//! that passes a mask is waiting for exactly those signals to wake it.

use crate::real;
use crate::resume::{is_tcp, wait, Left};
use crate::sys;
use libc::{c_int, fd_set, nfds_t, pollfd, sigset_t, size_t, timespec, timeval};

/// The pollfds as a slice; empty for a null pointer.
unsafe fn pollfds<'a>(fds: *mut pollfd, n: nfds_t) -> &'a mut [pollfd] {
    if fds.is_null() || n == 0 {
        return &mut [];
    }
    // SAFETY: poll(2) requires `fds` to point to `n` pollfds.
    core::slice::from_raw_parts_mut(fds, n as usize)
}

unsafe fn polls_tcp(fds: *mut pollfd, n: nfds_t) -> bool {
    pollfds(fds, n).iter().any(|p| p.fd >= 0 && is_tcp(p.fd))
}

/// A resumed poll that ran out of time reports a plain timeout.
unsafe fn poll_timed_out(fds: *mut pollfd, n: nfds_t) -> c_int {
    for p in pollfds(fds, n) {
        p.revents = 0;
    }
    0
}

fn poll_ms(timeout: c_int) -> Option<u64> {
    u64::try_from(timeout).ok()
}

fn as_poll_timeout(ms: u64) -> c_int {
    ms.min(c_int::MAX as u64) as c_int
}

#[no_mangle]
pub unsafe extern "C" fn poll(fds: *mut pollfd, n: nfds_t, timeout: c_int) -> c_int {
    let r = wait(
        poll_ms(timeout),
        || polls_tcp(fds, n),
        "poll",
        |left| match left {
            Left::Original => real::poll(fds, n, timeout),
            Left::Ms(ms) => real::poll(fds, n, as_poll_timeout(ms)),
        },
    );
    r.unwrap_or_else(|| poll_timed_out(fds, n))
}

#[no_mangle]
pub unsafe extern "C" fn __poll_chk(fds: *mut pollfd, n: nfds_t, timeout: c_int, fdslen: size_t) -> c_int {
    let r = wait(
        poll_ms(timeout),
        || polls_tcp(fds, n),
        "poll",
        |left| match left {
            Left::Original => real::__poll_chk(fds, n, timeout, fdslen),
            Left::Ms(ms) => real::__poll_chk(fds, n, as_poll_timeout(ms), fdslen),
        },
    );
    r.unwrap_or_else(|| poll_timed_out(fds, n))
}

unsafe fn timespec_ms(ts: *const timespec) -> Option<u64> {
    ts.as_ref().map(sys::ms_from_timespec)
}

#[no_mangle]
pub unsafe extern "C" fn ppoll(fds: *mut pollfd, n: nfds_t, ts: *const timespec, mask: *const sigset_t) -> c_int {
    if !mask.is_null() {
        return real::ppoll(fds, n, ts, mask);
    }
    let r = wait(
        timespec_ms(ts),
        || polls_tcp(fds, n),
        "ppoll",
        |left| match left {
            Left::Original => real::ppoll(fds, n, ts, mask),
            Left::Ms(ms) => real::ppoll(fds, n, &sys::timespec_from_ms(ms), mask),
        },
    );
    r.unwrap_or_else(|| poll_timed_out(fds, n))
}

#[no_mangle]
pub unsafe extern "C" fn __ppoll_chk(
    fds: *mut pollfd,
    n: nfds_t,
    ts: *const timespec,
    mask: *const sigset_t,
    fdslen: size_t,
) -> c_int {
    if !mask.is_null() {
        return real::__ppoll_chk(fds, n, ts, mask, fdslen);
    }
    let r = wait(
        timespec_ms(ts),
        || polls_tcp(fds, n),
        "ppoll",
        |left| match left {
            Left::Original => real::__ppoll_chk(fds, n, ts, mask, fdslen),
            Left::Ms(ms) => real::__ppoll_chk(fds, n, &sys::timespec_from_ms(ms), mask, fdslen),
        },
    );
    r.unwrap_or_else(|| poll_timed_out(fds, n))
}

/// Whether any fd below `n` in the three sets is a TCP socket.
unsafe fn selects_tcp(n: c_int, sets: [*mut fd_set; 3]) -> bool {
    let n = n.clamp(0, libc::FD_SETSIZE as c_int);
    (0..n).any(|fd| sets.iter().any(|s| !s.is_null() && libc::FD_ISSET(fd, *s)) && is_tcp(fd))
}

unsafe fn select_timed_out(sets: [*mut fd_set; 3]) -> c_int {
    for s in sets.into_iter().filter(|s| !s.is_null()) {
        libc::FD_ZERO(s);
    }
    0
}

#[no_mangle]
pub unsafe extern "C" fn select(n: c_int, r: *mut fd_set, w: *mut fd_set, e: *mut fd_set, tv: *mut timeval) -> c_int {
    let sets = [r, w, e];
    let limit = tv.as_ref().map(|t| {
        let us = u64::try_from(t.tv_usec).unwrap_or(0);
        u64::try_from(t.tv_sec).unwrap_or(0).saturating_mul(1000).saturating_add(us.div_ceil(1000))
    });
    let out = wait(
        limit,
        || selects_tcp(n, sets),
        "select",
        |left| {
            if let (Left::Ms(ms), Some(t)) = (left, tv.as_mut()) {
                t.tv_sec = (ms / 1000) as libc::time_t;
                t.tv_usec = ((ms % 1000) * 1000) as libc::suseconds_t;
            }
            real::select(n, r, w, e, tv)
        },
    );
    out.unwrap_or_else(|| {
        if let Some(t) = tv.as_mut() {
            t.tv_sec = 0;
            t.tv_usec = 0;
        }
        select_timed_out(sets)
    })
}

#[no_mangle]
pub unsafe extern "C" fn pselect(
    n: c_int,
    r: *mut fd_set,
    w: *mut fd_set,
    e: *mut fd_set,
    ts: *const timespec,
    mask: *const sigset_t,
) -> c_int {
    if !mask.is_null() {
        return real::pselect(n, r, w, e, ts, mask);
    }
    let sets = [r, w, e];
    let out = wait(
        timespec_ms(ts),
        || selects_tcp(n, sets),
        "pselect",
        |left| match left {
            Left::Original => real::pselect(n, r, w, e, ts, mask),
            Left::Ms(ms) => real::pselect(n, r, w, e, &sys::timespec_from_ms(ms), mask),
        },
    );
    out.unwrap_or_else(|| select_timed_out(sets))
}
