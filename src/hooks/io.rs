//! Reads and writes: resumed after EINTR on TCP sockets (resume::io).

use crate::real;
use crate::resume::{io, Dir};
use libc::{c_int, c_void, iovec, msghdr, size_t, sockaddr, socklen_t, ssize_t};

#[no_mangle]
pub unsafe extern "C" fn read(fd: c_int, buf: *mut c_void, n: size_t) -> ssize_t {
    io(fd, Dir::Read, "read", || real::read(fd, buf, n))
}

#[no_mangle]
pub unsafe extern "C" fn __read_chk(fd: c_int, buf: *mut c_void, n: size_t, buflen: size_t) -> ssize_t {
    io(fd, Dir::Read, "read", || real::__read_chk(fd, buf, n, buflen))
}

#[no_mangle]
pub unsafe extern "C" fn readv(fd: c_int, iov: *const iovec, count: c_int) -> ssize_t {
    io(fd, Dir::Read, "readv", || real::readv(fd, iov, count))
}

#[no_mangle]
pub unsafe extern "C" fn recv(fd: c_int, buf: *mut c_void, n: size_t, flags: c_int) -> ssize_t {
    io(fd, Dir::Read, "recv", || real::recv(fd, buf, n, flags))
}

#[no_mangle]
pub unsafe extern "C" fn __recv_chk(fd: c_int, buf: *mut c_void, n: size_t, buflen: size_t, flags: c_int) -> ssize_t {
    io(fd, Dir::Read, "recv", || real::__recv_chk(fd, buf, n, buflen, flags))
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
    io(fd, Dir::Read, "recvfrom", || real::recvfrom(fd, buf, n, flags, addr, len))
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
    io(fd, Dir::Read, "recvfrom", || real::__recvfrom_chk(fd, buf, n, buflen, flags, addr, len))
}

#[no_mangle]
pub unsafe extern "C" fn recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t {
    io(fd, Dir::Read, "recvmsg", || real::recvmsg(fd, msg, flags))
}

#[no_mangle]
pub unsafe extern "C" fn write(fd: c_int, buf: *const c_void, n: size_t) -> ssize_t {
    io(fd, Dir::Write, "write", || real::write(fd, buf, n))
}

#[no_mangle]
pub unsafe extern "C" fn writev(fd: c_int, iov: *const iovec, count: c_int) -> ssize_t {
    io(fd, Dir::Write, "writev", || real::writev(fd, iov, count))
}

#[no_mangle]
pub unsafe extern "C" fn send(fd: c_int, buf: *const c_void, n: size_t, flags: c_int) -> ssize_t {
    io(fd, Dir::Write, "send", || real::send(fd, buf, n, flags))
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
    io(fd, Dir::Write, "sendto", || real::sendto(fd, buf, n, flags, addr, len))
}

#[no_mangle]
pub unsafe extern "C" fn sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t {
    io(fd, Dir::Write, "sendmsg", || real::sendmsg(fd, msg, flags))
}
