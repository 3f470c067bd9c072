//! Reads and writes: resumed after EINTR on TCP sockets (resume::io). Any
//! other fd costs one table load before the call goes to libc.

use crate::fdtable;
use crate::real;
use crate::resume::{io, Dir};
use libc::{c_int, c_void, iovec, msghdr, size_t, sockaddr, socklen_t, ssize_t};

#[no_mangle]
pub unsafe extern "C" fn read(fd: c_int, buf: *mut c_void, n: size_t) -> ssize_t {
    let entry = fdtable::get(fd);
    if entry & fdtable::TCP == 0 {
        return real::read(fd, buf, n);
    }
    io(fd, entry, Dir::Read, "read", (buf, n), |fd, (buf, n)| unsafe { real::read(fd, buf, n) })
}

#[no_mangle]
pub unsafe extern "C" fn __read_chk(fd: c_int, buf: *mut c_void, n: size_t, buflen: size_t) -> ssize_t {
    let entry = fdtable::get(fd);
    if entry & fdtable::TCP == 0 {
        return real::__read_chk(fd, buf, n, buflen);
    }
    io(fd, entry, Dir::Read, "read", (buf, n, buflen), |fd, (buf, n, buflen)| unsafe { real::__read_chk(fd, buf, n, buflen) })
}

#[no_mangle]
pub unsafe extern "C" fn readv(fd: c_int, iov: *const iovec, count: c_int) -> ssize_t {
    let entry = fdtable::get(fd);
    if entry & fdtable::TCP == 0 {
        return real::readv(fd, iov, count);
    }
    io(fd, entry, Dir::Read, "readv", (iov, count), |fd, (iov, count)| unsafe { real::readv(fd, iov, count) })
}

#[no_mangle]
pub unsafe extern "C" fn recv(fd: c_int, buf: *mut c_void, n: size_t, flags: c_int) -> ssize_t {
    let entry = fdtable::get(fd);
    if entry & fdtable::TCP == 0 {
        return real::recv(fd, buf, n, flags);
    }
    io(fd, entry, Dir::Read, "recv", (buf, n, flags), |fd, (buf, n, flags)| unsafe { real::recv(fd, buf, n, flags) })
}

#[no_mangle]
pub unsafe extern "C" fn __recv_chk(fd: c_int, buf: *mut c_void, n: size_t, buflen: size_t, flags: c_int) -> ssize_t {
    let entry = fdtable::get(fd);
    if entry & fdtable::TCP == 0 {
        return real::__recv_chk(fd, buf, n, buflen, flags);
    }
    io(fd, entry, Dir::Read, "recv", (buf, n, buflen, flags), |fd, (buf, n, buflen, flags)| unsafe {
        real::__recv_chk(fd, buf, n, buflen, flags)
    })
}

#[no_mangle]
pub unsafe extern "C" fn recvfrom(
    fd: c_int,
    buf: *mut c_void,
    n: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    len: *mut socklen_t,
) -> ssize_t {
    let entry = fdtable::get(fd);
    if entry & fdtable::TCP == 0 {
        return real::recvfrom(fd, buf, n, flags, addr, len);
    }
    io(fd, entry, Dir::Read, "recvfrom", (buf, n, flags, addr, len), |fd, (buf, n, flags, addr, len)| unsafe {
        real::recvfrom(fd, buf, n, flags, addr, len)
    })
}

#[no_mangle]
pub unsafe extern "C" fn __recvfrom_chk(
    fd: c_int,
    buf: *mut c_void,
    n: size_t,
    buflen: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    len: *mut socklen_t,
) -> ssize_t {
    let entry = fdtable::get(fd);
    if entry & fdtable::TCP == 0 {
        return real::__recvfrom_chk(fd, buf, n, buflen, flags, addr, len);
    }
    io(fd, entry, Dir::Read, "recvfrom", (buf, n, buflen, flags, addr, len), |fd, (buf, n, buflen, flags, addr, len)| unsafe {
        real::__recvfrom_chk(fd, buf, n, buflen, flags, addr, len)
    })
}

/// recvmsg can also bring fds (SCM_RIGHTS), usually over a UNIX socket: it
/// is the one read whose untracked path still looks at the result.
#[no_mangle]
pub unsafe extern "C" fn recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t {
    let entry = fdtable::get(fd);
    let r = if entry & fdtable::TCP != 0 {
        io(fd, entry, Dir::Read, "recvmsg", (msg, flags), |fd, (msg, flags)| unsafe { real::recvmsg(fd, msg, flags) })
    } else {
        real::recvmsg(fd, msg, flags)
    };
    if r >= 0 {
        super::fd::received(msg);
    }
    r
}

#[no_mangle]
pub unsafe extern "C" fn write(fd: c_int, buf: *const c_void, n: size_t) -> ssize_t {
    let entry = fdtable::get(fd);
    if entry & fdtable::TCP == 0 {
        return real::write(fd, buf, n);
    }
    io(fd, entry, Dir::Write, "write", (buf, n), |fd, (buf, n)| unsafe { real::write(fd, buf, n) })
}

#[no_mangle]
pub unsafe extern "C" fn writev(fd: c_int, iov: *const iovec, count: c_int) -> ssize_t {
    let entry = fdtable::get(fd);
    if entry & fdtable::TCP == 0 {
        return real::writev(fd, iov, count);
    }
    io(fd, entry, Dir::Write, "writev", (iov, count), |fd, (iov, count)| unsafe { real::writev(fd, iov, count) })
}

#[no_mangle]
pub unsafe extern "C" fn send(fd: c_int, buf: *const c_void, n: size_t, flags: c_int) -> ssize_t {
    let entry = fdtable::get(fd);
    if entry & fdtable::TCP == 0 {
        return real::send(fd, buf, n, flags);
    }
    io(fd, entry, Dir::Write, "send", (buf, n, flags), |fd, (buf, n, flags)| unsafe { real::send(fd, buf, n, flags) })
}

#[no_mangle]
pub unsafe extern "C" fn sendto(
    fd: c_int,
    buf: *const c_void,
    n: size_t,
    flags: c_int,
    addr: *const sockaddr,
    len: socklen_t,
) -> ssize_t {
    if fdtable::get(fd) & fdtable::TCP == 0 {
        return real::sendto(fd, buf, n, flags, addr, len);
    }
    if flags & libc::MSG_FASTOPEN != 0 {
        fast_open(fd, addr, len);
    }
    let entry = fdtable::get(fd);
    io(fd, entry, Dir::Write, "sendto", (buf, n, flags, addr, len), |fd, (buf, n, flags, addr, len)| unsafe {
        real::sendto(fd, buf, n, flags, addr, len)
    })
}

#[no_mangle]
pub unsafe extern "C" fn sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t {
    if fdtable::get(fd) & fdtable::TCP == 0 {
        return real::sendmsg(fd, msg, flags);
    }
    if let Some(m) = msg.as_ref().filter(|_| flags & libc::MSG_FASTOPEN != 0) {
        fast_open(fd, m.msg_name as *const sockaddr, m.msg_namelen);
    }
    let entry = fdtable::get(fd);
    io(fd, entry, Dir::Write, "sendmsg", (msg, flags), |fd, (msg, flags)| unsafe { real::sendmsg(fd, msg, flags) })
}

/// TCP Fast Open connects inside sendto/sendmsg, with no connect() call:
/// the settings are applied here instead (the connect timeout does not
/// apply: the call does not wait for the handshake). sendto and sendmsg load
/// the entry again after it: applying may have added an idle check.
unsafe fn fast_open(fd: c_int, addr: *const sockaddr, len: socklen_t) {
    let _ = super::socket::before_connect(fd, addr, len);
}
