//! dup, dup2, dup3: a duplicate is the same socket under another number, so
//! it gets its source's table entry (what it is, what the program set).
//! Without this, dup2 of a fresh socket onto an old number would inherit the
//! old socket's entry.
//!
//! fcntl(F_DUPFD) too, but only on x86_64 and aarch64: fcntl is variadic,
//! and receiving or passing its argument through a fixed prototype is sound
//! only where variadic and fixed integer arguments travel in the same
//! registers. Elsewhere such duplicates start with an empty entry.

use crate::fdtable as ft;
use crate::real;
use libc::c_int;

/// fds received with SCM_RIGHTS: new to this process, whatever their number
/// last held. Their kind is checked once (a received TCP connection is then
/// resumed like any other); their options were set elsewhere, so they are
/// not SEEN.
pub(super) unsafe fn received(msg: *const libc::msghdr) {
    let Some(m) = msg.as_ref() else { return };
    if m.msg_control.is_null() || (m.msg_controllen as usize) < core::mem::size_of::<libc::cmsghdr>() {
        return;
    }
    let _keep = crate::sys::ErrnoGuard::new();
    // SAFETY: the kernel just filled msg_control with msg_controllen bytes
    // of well-formed control messages, which CMSG_* walk within bounds.
    let mut c = libc::CMSG_FIRSTHDR(m);
    while let Some(cmsg) = c.as_ref() {
        if cmsg.cmsg_level == libc::SOL_SOCKET && cmsg.cmsg_type == libc::SCM_RIGHTS {
            let bytes = (cmsg.cmsg_len as usize).saturating_sub(libc::CMSG_LEN(0) as usize);
            let data = libc::CMSG_DATA(cmsg) as *const c_int;
            for i in 0..bytes / core::mem::size_of::<c_int>() {
                let fd = core::ptr::read_unaligned(data.add(i));
                let tcp = if crate::sys::is_tcp_socket(fd) { ft::TCP } else { 0 };
                ft::reset(fd, ft::KNOWN | tcp);
            }
        }
        c = libc::CMSG_NXTHDR(m, cmsg);
    }
}

fn copied(from: c_int, to: c_int) -> c_int {
    if to >= 0 && to != from {
        ft::reset(to, ft::get(from));
    }
    to
}

#[no_mangle]
pub unsafe extern "C" fn dup(fd: c_int) -> c_int {
    copied(fd, real::dup(fd))
}

#[no_mangle]
pub unsafe extern "C" fn dup2(fd: c_int, to: c_int) -> c_int {
    copied(fd, real::dup2(fd, to))
}

#[no_mangle]
pub unsafe extern "C" fn dup3(fd: c_int, to: c_int, flags: c_int) -> c_int {
    copied(fd, real::dup3(fd, to, flags))
}

/// The third argument as the caller passed it: an int or a pointer, both
/// carried in one register.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[no_mangle]
pub unsafe extern "C" fn fcntl(fd: c_int, cmd: c_int, arg: usize) -> c_int {
    after_fcntl(fd, cmd, real::fcntl(fd, cmd, arg))
}

/// fcntl under _FILE_OFFSET_BITS=64 (glibc 2.28 and later).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[no_mangle]
pub unsafe extern "C" fn fcntl64(fd: c_int, cmd: c_int, arg: usize) -> c_int {
    after_fcntl(fd, cmd, real::fcntl64(fd, cmd, arg))
}

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn after_fcntl(fd: c_int, cmd: c_int, r: c_int) -> c_int {
    if cmd == libc::F_DUPFD || cmd == libc::F_DUPFD_CLOEXEC {
        copied(fd, r);
    }
    r
}
