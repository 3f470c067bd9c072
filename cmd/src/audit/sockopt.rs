//! A socket's own options, read from the socket itself: pidfd_getfd(2)
//! copies the owner's descriptor into this process (it needs ptrace access
//! to the owner: root, or the same user where Yama allows it), and
//! getsockopt(2) reads what the kernel uses. Our copy is closed at once; the
//! connection is not touched.

use libc::{c_int, c_void, socklen_t};

/// What getsockopt says about one socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// SO_KEEPALIVE.
    pub keepalive: bool,
    /// TCP_KEEPIDLE, TCP_KEEPINTVL in seconds (the namespace's sysctl
    /// defaults when the program never set them), TCP_KEEPCNT.
    pub keepidle_s: u32,
    pub keepintvl_s: u32,
    pub keepcnt: u32,
    /// TCP_USER_TIMEOUT in milliseconds; 0 is off.
    pub user_timeout_ms: u32,
}

/// Reads the options of descriptor `fd` of process `pid`. Err: why not.
pub fn read(pid: i32, fd: i32) -> Result<Options, String> {
    // SAFETY: plain system calls on integers; the returned descriptors are
    // owned here and closed below.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as c_int;
    if pidfd < 0 {
        return Err(format!("pidfd_open: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: as above.
    let sock = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd, fd, 0) } as c_int;
    let err = std::io::Error::last_os_error();
    // SAFETY: our own descriptor.
    unsafe { libc::close(pidfd) };
    if sock < 0 {
        return Err(format!("pidfd_getfd: {err}"));
    }
    let get = |level: c_int, name: c_int| -> Option<u32> {
        let mut v: c_int = 0;
        let mut len = std::mem::size_of::<c_int>() as socklen_t;
        // SAFETY: v is a c_int and len says so.
        let rc = unsafe { libc::getsockopt(sock, level, name, (&mut v as *mut c_int).cast::<c_void>(), &mut len) };
        (rc == 0).then_some(v as u32)
    };
    let opts = (|| {
        Some(Options {
            keepalive: get(libc::SOL_SOCKET, libc::SO_KEEPALIVE)? != 0,
            keepidle_s: get(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE)?,
            keepintvl_s: get(libc::IPPROTO_TCP, libc::TCP_KEEPINTVL)?,
            keepcnt: get(libc::IPPROTO_TCP, libc::TCP_KEEPCNT)?,
            user_timeout_ms: get(libc::IPPROTO_TCP, libc::TCP_USER_TIMEOUT)?,
        })
    })();
    let err = std::io::Error::last_os_error();
    // SAFETY: our own copy of the descriptor.
    unsafe { libc::close(sock) };
    opts.ok_or_else(|| format!("getsockopt: {err}"))
}
