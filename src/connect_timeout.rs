//! SOCKFIX_CONNECT_TIMEOUT for blocking sockets: connect without blocking,
//! wait for the handshake at most that long, and on timeout dissolve the
//! attempt (so no SYN is retried behind the program's back) and fail with
//! ETIMEDOUT, as the kernel does after its own ~2 minutes. Non-blocking
//! sockets get TCP_SYNCNT instead (see sockopt::syn_retries_for).

use crate::real;
use crate::resume::eintr_enabled;
use crate::signals;
use crate::sys::{self, ErrnoGuard};
use libc::{c_int, sockaddr, socklen_t};

/// # Safety
/// As connect(2); `flags` are `fd`'s file status flags, without O_NONBLOCK.
pub unsafe fn connect(fd: c_int, addr: *const sockaddr, len: socklen_t, flags: c_int, timeout_ms: u64) -> c_int {
    let saved = sys::errno();
    if !{
        let _keep = ErrnoGuard::new();
        sys::fcntl_setfl(fd, flags | libc::O_NONBLOCK)
    } {
        return real::connect(fd, addr, len);
    }
    let r = real::connect(fd, addr, len);
    let outcome = if r == 0 {
        Ok(())
    } else if sys::errno() != libc::EINPROGRESS {
        Err(sys::errno())
    } else {
        wait_connected(fd, timeout_ms)
    };
    if outcome == Err(libc::ETIMEDOUT) {
        sys::disconnect(fd);
        crate::log!("fd {fd}: connect timed out after {timeout_ms} ms");
    }
    sys::fcntl_setfl(fd, flags);
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

/// Waits for a connection in progress; resumes after signals that must not
/// interrupt, as a blocking connect would with SA_RESTART.
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
        if e == libc::EINTR && eintr_enabled() && signals::resumable(first, before).is_some() {
            continue;
        }
        return Err(e);
    }
}
