//! Reads and writes: resumed after EINTR on TCP sockets (resume::io, or
//! its assembly form on x86_64, io_x86_64.rs). Any other fd costs one
//! table load and one compare before the call goes to libc.

use crate::fdtable;
use crate::real;
use crate::resume::{checked, dispatch, io, io_with_checks, Dir};
use libc::{c_int, c_void, iovec, msghdr, size_t, sockaddr, socklen_t, ssize_t};

/// A read or write hook, and its twin for the checked path. The twin has
/// the hook's own signature, so the hook reaches it with a jump and keeps
/// no stack frame on its other paths. On x86_64 the hook itself is written
/// in assembly (io_x86_64.rs; `$again` is its failure path); elsewhere, and
/// for a hook marked `portable` (more arguments than registers), it is
/// resume::io.
macro_rules! io_hook {
    ($name:ident, $checked:ident, $again:ident, $dir:expr, $what:literal, ($($arg:ident: $ty:ty),*)) => {
        #[cfg(target_arch = "x86_64")]
        super::io_x86_64::fast_io_hook!($name, $checked, $again, $dir, $what, ($($arg: $ty),*));
        #[cfg(not(target_arch = "x86_64"))]
        io_hook!(@rust $name, $checked, $dir, $what, ($($arg: $ty),*));
        io_hook!(@checked $name, $checked, $dir, $what, ($($arg: $ty),*));
    };
    (portable $name:ident, $checked:ident, $dir:expr, $what:literal, ($($arg:ident: $ty:ty),*)) => {
        io_hook!(@rust $name, $checked, $dir, $what, ($($arg: $ty),*));
        io_hook!(@checked $name, $checked, $dir, $what, ($($arg: $ty),*));
    };
    (@rust $name:ident, $checked:ident, $dir:expr, $what:literal, ($($arg:ident: $ty:ty),*)) => {
        #[no_mangle]
        pub unsafe extern "C" fn $name(fd: c_int, $($arg: $ty),*) -> ssize_t {
            let entry = fdtable::hot(fd);
            if entry < fdtable::HOOKED {
                return real::$name(fd, $($arg),*);
            }
            if checked(entry) {
                return $checked(fd, $($arg),*);
            }
            io(fd, $dir, $what, ($($arg,)*), |fd, ($($arg,)*)| unsafe { real::$name(fd, $($arg),*) })
        }
    };
    (@checked $name:ident, $checked:ident, $dir:expr, $what:literal, ($($arg:ident: $ty:ty),*)) => {
        #[inline(never)]
        unsafe extern "C" fn $checked(fd: c_int, $($arg: $ty),*) -> ssize_t {
            io_with_checks(fd, $dir, $what, ($($arg,)*), |fd, ($($arg,)*)| unsafe { real::$name(fd, $($arg),*) })
        }
    };
}

io_hook!(read, read_checked, read_again, Dir::Read, "read", (buf: *mut c_void, n: size_t));
io_hook!(__read_chk, read_chk_checked, read_chk_again, Dir::Read, "read", (buf: *mut c_void, n: size_t, buflen: size_t));
io_hook!(readv, readv_checked, readv_again, Dir::Read, "readv", (iov: *const iovec, count: c_int));
io_hook!(recv, recv_checked, recv_again, Dir::Read, "recv", (buf: *mut c_void, n: size_t, flags: c_int));
io_hook!(__recv_chk, recv_chk_checked, recv_chk_again, Dir::Read, "recv",
    (buf: *mut c_void, n: size_t, buflen: size_t, flags: c_int));
io_hook!(recvfrom, recvfrom_checked, recvfrom_again, Dir::Read, "recvfrom",
    (buf: *mut c_void, n: size_t, flags: c_int, addr: *mut sockaddr, len: *mut socklen_t));
io_hook!(portable __recvfrom_chk, recvfrom_chk_checked, Dir::Read, "recvfrom",
    (buf: *mut c_void, n: size_t, buflen: size_t, flags: c_int, addr: *mut sockaddr, len: *mut socklen_t));
io_hook!(write, write_checked, write_again, Dir::Write, "write", (buf: *const c_void, n: size_t));
io_hook!(writev, writev_checked, writev_again, Dir::Write, "writev", (iov: *const iovec, count: c_int));
io_hook!(send, send_checked, send_again, Dir::Write, "send", (buf: *const c_void, n: size_t, flags: c_int));

/// recvmsg can also bring fds (SCM_RIGHTS, usually over a UNIX socket),
/// and only into a control buffer: without one, a call on an fd that is
/// not HOOKED goes straight to libc, as read does.
#[no_mangle]
pub unsafe extern "C" fn recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t {
    if fdtable::hot(fd) < fdtable::HOOKED && msg.as_ref().is_none_or(|m| m.msg_controllen == 0) {
        return real::recvmsg(fd, msg, flags);
    }
    recvmsg_full(fd, msg, flags)
}

/// The call (through resume::dispatch), then the fds it brought.
#[inline(never)]
unsafe extern "C" fn recvmsg_full(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t {
    let r = dispatch(fd, Dir::Read, "recvmsg", (msg, flags), |fd, (msg, flags)| unsafe { real::recvmsg(fd, msg, flags) });
    if r >= 0 {
        super::fd::received(msg);
    }
    r
}

/// sendto and sendmsg: anything but a TCP socket (UDP: DNS, QUIC) goes
/// straight to libc, with no stack frame; on a TCP socket (`sendto_tcp`,
/// `sendmsg_tcp`) the settings are first applied when the call connects
/// (MSG_FASTOPEN), and the entry is then loaded again: applying may have
/// added an idle check.
#[no_mangle]
pub unsafe extern "C" fn sendto(
    fd: c_int,
    buf: *const c_void,
    n: size_t,
    flags: c_int,
    addr: *const sockaddr,
    len: socklen_t,
) -> ssize_t {
    if fdtable::hot(fd) & fdtable::TCP == 0 {
        return real::sendto(fd, buf, n, flags, addr, len);
    }
    sendto_tcp(fd, buf, n, flags, addr, len)
}

#[inline(never)]
unsafe extern "C" fn sendto_tcp(
    fd: c_int,
    buf: *const c_void,
    n: size_t,
    flags: c_int,
    addr: *const sockaddr,
    len: socklen_t,
) -> ssize_t {
    if flags & libc::MSG_FASTOPEN != 0 {
        fast_open(fd, addr, len);
    }
    dispatch(fd, Dir::Write, "sendto", (buf, n, flags, addr, len), |fd, (buf, n, flags, addr, len)| unsafe {
        real::sendto(fd, buf, n, flags, addr, len)
    })
}

#[no_mangle]
pub unsafe extern "C" fn sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t {
    if fdtable::hot(fd) & fdtable::TCP == 0 {
        return real::sendmsg(fd, msg, flags);
    }
    sendmsg_tcp(fd, msg, flags)
}

#[inline(never)]
unsafe extern "C" fn sendmsg_tcp(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t {
    if let Some(m) = msg.as_ref().filter(|_| flags & libc::MSG_FASTOPEN != 0) {
        fast_open(fd, m.msg_name as *const sockaddr, m.msg_namelen);
    }
    dispatch(fd, Dir::Write, "sendmsg", (msg, flags), |fd, (msg, flags)| unsafe { real::sendmsg(fd, msg, flags) })
}

/// TCP Fast Open connects inside sendto/sendmsg, with no connect() call:
/// the settings are applied here instead (the connect timeout does not
/// apply: the call does not wait for the handshake).
unsafe fn fast_open(fd: c_int, addr: *const sockaddr, len: socklen_t) {
    let _ = super::socket::before_connect(fd, addr, len);
}
