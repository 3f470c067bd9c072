//! SOCKFIX_CONNECT_TIMEOUT for blocking sockets: start the connection
//! without blocking, wait for the handshake at most that long, and on
//! timeout dissolve the attempt (so no SYN is retried behind the program's
//! back) and fail with ETIMEDOUT, as the kernel does after its own ~2
//! minutes. Non-blocking sockets get TCP_SYNCNT instead (see
//! settings::syn_retries_for).
//!
//! The socket is non-blocking only for the one system call that starts the
//! connection, inside a section with every signal blocked (see `section`):
//! a program that leaves its connect by siglongjmp out of a SIGALRM
//! handler, or cancels the connecting thread, finds its socket blocking,
//! as it made it. The wait is poll() on the blocking socket, a
//! cancellation point, as the blocking connect was.

use crate::real;
use crate::resume::eintr_enabled;
use crate::section::Masked;
use crate::signals;
use crate::sys::{self, ErrnoGuard};
use libc::{c_int, sockaddr, socklen_t};

/// # Safety
/// As connect(2); `flags` are `fd`'s file status flags, without O_NONBLOCK.
pub unsafe fn connect(fd: c_int, addr: *const sockaddr, len: socklen_t, flags: c_int, timeout_ms: u64) -> c_int {
    let saved = sys::errno();
    // connect() is a cancellation point even when it returns at once: a
    // poll of no fds, libc's, acts on a pending cancellation and returns at
    // once (pthread_testcancel would be one more import for every process).
    real::poll(core::ptr::null_mut(), 0, 0);
    let Some(started) = start(fd, addr, len, flags) else {
        return real::connect(fd, addr, len);
    };
    let outcome = match started {
        Ok(()) => Ok(()),
        Err(libc::EINPROGRESS) => wait_connected(fd, timeout_ms),
        Err(e) => Err(e),
    };
    if outcome == Err(libc::ETIMEDOUT) {
        let _keep = ErrnoGuard::new();
        sys::disconnect(fd);
        crate::log!("fd {fd}: connect timed out after {timeout_ms} ms");
    }
    match outcome {
        Ok(()) => {
            sys::set_errno(saved);
            0
        }
        Err(e) => {
            sys::set_errno(e);
            -1
        }
    }
}

/// Starts the connection with O_NONBLOCK set for that one system call:
/// its result (Err: the errno, EINPROGRESS while the handshake goes on), or
/// None when the flag could not be set. The file status flags are the
/// program's again when it returns, whatever happened meanwhile.
fn start(fd: c_int, addr: *const sockaddr, len: socklen_t, flags: c_int) -> Option<Result<(), c_int>> {
    let _keep = ErrnoGuard::new();
    let _masked = Masked::new();
    if !sys::fcntl_setfl(fd, flags | libc::O_NONBLOCK) {
        return None;
    }
    // SAFETY: the program's own address and length, passed through; the
    // raw system call is not a cancellation point.
    let r = unsafe { crate::sys::syscall!(libc::SYS_connect, fd, addr, len) };
    let result = if r == 0 { Ok(()) } else { Err(sys::errno()) };
    sys::fcntl_setfl(fd, flags);
    Some(result)
}

/// Waits for a connection in progress; resumes after signals that must not
/// interrupt, and after the program's own signals whose handler has
/// SA_RESTART, as the kernel restarts the blocking connect this wait
/// stands in for.
fn wait_connected(fd: c_int, timeout_ms: u64) -> Result<(), c_int> {
    let start = sys::monotonic_ms();
    let first = signals::runs();
    loop {
        let left = timeout_ms.saturating_sub(sys::monotonic_ms().saturating_sub(start));
        if left == 0 {
            return Err(libc::ETIMEDOUT);
        }
        let before = signals::runs();
        let mut pfd = libc::pollfd { fd, events: libc::POLLOUT, revents: 0 };
        // real poll: a cancellation point, as the blocking connect was.
        let n = unsafe { real::poll(&mut pfd, 1, left.min(c_int::MAX as u64) as c_int) };
        if n > 0 {
            return match sys::getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_ERROR) {
                Some(0) => Ok(()),
                Some(e) => Err(e),
                None => Err(sys::errno()),
            };
        }
        if n == 0 {
            return Err(libc::ETIMEDOUT);
        }
        let e = sys::errno();
        if e == libc::EINTR && eintr_enabled() && signals::resumable(first, before, signals::Restart::ByKernel).is_some() {
            continue;
        }
        return Err(e);
    }
}
