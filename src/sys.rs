//! The system calls sockfix makes for itself.
//!
//! They are raw `syscall()`s, never libc wrappers: `libc::setsockopt` called
//! from inside this library would land in our own `setsockopt` hook and be
//! recorded as the application's. Every helper here is allocation-free and
//! async-signal-safe. syscall() sets errno on failure, so callers that run
//! inside a hook keep an [`ErrnoGuard`]; it is not a cancellation point.
//!
//! libc's syscall(), errno, clock_gettime and fstat are reached through
//! `crate::real`: in the library the functions found in libc's own symbol
//! table (one import less each for the loader in every process); in the
//! sockfix command, which compiles this file too, plain libc.

use core::mem::{size_of, MaybeUninit};
use libc::{c_int, c_long, c_void, socklen_t};

/// `syscall!(SYS_x, args...)`: syscall(2) through libc's syscall(), each
/// argument passed as one word (integers and raw pointers only).
macro_rules! syscall {
    ($n:expr $(, $a:expr)* $(,)?) => {
        $crate::sys::syscall7($n as libc::c_long, [$($a as libc::c_long),*])
    };
}
#[allow(unused_imports)]
pub(crate) use syscall;

/// The seven words of a syscall() call: the number and up to six arguments,
/// the missing ones zero.
#[inline(always)]
pub unsafe fn syscall7<const K: usize>(n: c_long, args: [c_long; K]) -> c_long {
    let mut a = [0 as c_long; 6];
    a[..K].copy_from_slice(&args);
    crate::real::syscall(n, a[0], a[1], a[2], a[3], a[4], a[5])
}

pub fn errno() -> c_int {
    // SAFETY: __errno_location always returns this thread's errno slot.
    unsafe { *crate::real::__errno_location() }
}

pub fn set_errno(value: c_int) {
    // SAFETY: as above.
    unsafe { *crate::real::__errno_location() = value }
}

/// Restores errno when dropped, so sockfix's own syscalls never leak into
/// what the application sees.
pub struct ErrnoGuard(c_int);

impl ErrnoGuard {
    pub fn new() -> Self {
        ErrnoGuard(errno())
    }
}

impl Drop for ErrnoGuard {
    fn drop(&mut self) {
        set_errno(self.0)
    }
}

pub fn setsockopt_int(fd: c_int, level: c_int, name: c_int, value: c_int) -> bool {
    let len = size_of::<c_int>() as socklen_t;
    // SAFETY: the kernel reads `len` bytes from a live c_int.
    let r = unsafe { syscall!(libc::SYS_setsockopt, fd, level, name, &value as *const c_int, len) };
    r == 0
}

pub fn setsockopt_linger(fd: c_int, secs: c_int) -> bool {
    let value = libc::linger { l_onoff: 1, l_linger: secs };
    let len = size_of::<libc::linger>() as socklen_t;
    // SAFETY: the kernel reads `len` bytes from a live linger.
    let r = unsafe { syscall!(libc::SYS_setsockopt, fd, libc::SOL_SOCKET, libc::SO_LINGER, &value as *const libc::linger, len) };
    r == 0
}

pub fn getsockopt_int(fd: c_int, level: c_int, name: c_int) -> Option<c_int> {
    let mut value: c_int = 0;
    let mut len = size_of::<c_int>() as socklen_t;
    // SAFETY: the kernel writes at most `len` bytes into a live c_int.
    let r = unsafe { syscall!(libc::SYS_getsockopt, fd, level, name, &mut value as *mut c_int, &mut len as *mut socklen_t) };
    (r == 0).then_some(value)
}

/// `SO_RCVTIMEO` / `SO_SNDTIMEO` in milliseconds (0: none).
pub fn socket_timeout_ms(fd: c_int, name: c_int) -> Option<u64> {
    let mut tv = MaybeUninit::<libc::timeval>::zeroed();
    let mut len = size_of::<libc::timeval>() as socklen_t;
    // SAFETY: the kernel writes at most `len` bytes into the timeval.
    let r = unsafe { syscall!(libc::SYS_getsockopt, fd, libc::SOL_SOCKET, name, tv.as_mut_ptr(), &mut len as *mut socklen_t) };
    if r != 0 {
        return None;
    }
    // SAFETY: zero-initialised, then filled by the kernel.
    let tv = unsafe { tv.assume_init() };
    let secs = u64::try_from(tv.tv_sec).unwrap_or(0);
    let usecs = u64::try_from(tv.tv_usec).unwrap_or(0);
    Some(secs.saturating_mul(1000).saturating_add(usecs.div_ceil(1000)))
}

/// True when `fd` is, right now, a TCP socket (IPv4 or IPv6: only inet does
/// TCP). This is the re-check made before anything that would change what the
/// program sees, so a reused fd number can never fool the fd table.
pub fn is_tcp_socket(fd: c_int) -> bool {
    getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_PROTOCOL) == Some(libc::IPPROTO_TCP)
}

pub fn socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int {
    // SAFETY: plain socket creation.
    unsafe { syscall!(libc::SYS_socket, domain, ty, protocol) as c_int }
}

/// The local port a socket is bound to (0: not bound).
pub fn local_port(fd: c_int) -> Option<u16> {
    let mut storage = MaybeUninit::<libc::sockaddr_storage>::zeroed();
    let mut len = size_of::<libc::sockaddr_storage>() as socklen_t;
    // SAFETY: the kernel writes at most `len` bytes into the storage.
    let r = unsafe { syscall!(libc::SYS_getsockname, fd, storage.as_mut_ptr(), &mut len as *mut socklen_t) };
    if r != 0 {
        return None;
    }
    // SAFETY: zero-initialised, then filled by the kernel.
    let storage = unsafe { storage.assume_init() };
    crate::sockaddr::to_socket_addr(&storage).map(|a| a.port())
}

/// Four random bytes (getrandom, never blocking); the clock if that fails.
pub fn random_u32() -> u32 {
    let mut value: u32 = 0;
    // SAFETY: the kernel writes 4 bytes into a live u32.
    let r = unsafe { syscall!(libc::SYS_getrandom, &mut value as *mut u32, 4usize, libc::GRND_NONBLOCK) };
    if r == 4 {
        value
    } else {
        (monotonic_ms() as u32) ^ (getpid() as u32).rotate_left(16)
    }
}

pub fn fcntl_getfl(fd: c_int) -> Option<c_int> {
    // SAFETY: F_GETFL takes no pointer.
    let r = unsafe { syscall!(libc::SYS_fcntl, fd, libc::F_GETFL) };
    c_int::try_from(r).ok().filter(|v| *v >= 0)
}

pub fn fcntl_setfl(fd: c_int, flags: c_int) -> bool {
    // SAFETY: F_SETFL takes an integer.
    unsafe { syscall!(libc::SYS_fcntl, fd, libc::F_SETFL, flags as c_long) == 0 }
}

/// Dissolves a connection attempt: connect() with AF_UNSPEC.
pub fn disconnect(fd: c_int) {
    let mut addr: libc::sockaddr = unsafe { core::mem::zeroed() };
    addr.sa_family = libc::AF_UNSPEC as libc::sa_family_t;
    let len = size_of::<libc::sockaddr>() as socklen_t;
    // SAFETY: a valid sockaddr of the given length.
    unsafe { syscall!(libc::SYS_connect, fd, &addr as *const libc::sockaddr, len) };
}

/// Waits up to `timeout_ms` for `events` on one fd. Not a cancellation point
/// and not hooked: used for sockfix's own bounded waits.
pub fn wait_fd(fd: c_int, events: libc::c_short, timeout_ms: u64) -> c_int {
    let mut pfd = libc::pollfd { fd, events, revents: 0 };
    let ts = timespec_from_ms(timeout_ms);
    // SAFETY: one valid pollfd, a valid timespec, no signal mask.
    let r = unsafe {
        syscall!(
            libc::SYS_ppoll,
            &mut pfd as *mut libc::pollfd,
            1 as libc::nfds_t,
            &ts as *const libc::timespec,
            core::ptr::null::<c_void>(),
            0
        )
    };
    r as c_int
}

pub fn socket_peer(fd: c_int, storage: &mut libc::sockaddr_storage) -> bool {
    let mut len = size_of::<libc::sockaddr_storage>() as socklen_t;
    // SAFETY: the kernel writes at most `len` bytes into the storage.
    let r = unsafe { syscall!(libc::SYS_getpeername, fd, storage as *mut libc::sockaddr_storage, &mut len as *mut socklen_t) };
    r == 0
}

pub fn getpid() -> c_int {
    // SAFETY: no arguments. Never cached: fork changes it.
    unsafe { syscall!(libc::SYS_getpid) as c_int }
}

/// CLOCK_MONOTONIC in milliseconds, through the vDSO (clock_gettime is not
/// hooked and is async-signal-safe).
pub fn monotonic_ms() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid timespec.
    unsafe { crate::real::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64).saturating_mul(1000).saturating_add(ts.tv_nsec as u64 / 1_000_000)
}

pub fn realtime() -> libc::timespec {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid timespec.
    unsafe { crate::real::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    ts
}

pub fn timespec_from_ms(ms: u64) -> libc::timespec {
    libc::timespec { tv_sec: (ms / 1000) as libc::time_t, tv_nsec: ((ms % 1000) * 1_000_000) as libc::c_long }
}

/// A timespec as whole milliseconds, rounded up so a wait is never cut short.
pub fn ms_from_timespec(ts: &libc::timespec) -> u64 {
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
    secs.saturating_mul(1000).saturating_add(nanos.div_ceil(1_000_000))
}

pub fn write_all(fd: c_int, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: writes from a live slice.
        let r = unsafe { syscall!(libc::SYS_write, fd, bytes.as_ptr(), bytes.len()) };
        if r <= 0 {
            if r < 0 && errno() == libc::EINTR {
                continue;
            }
            return;
        }
        bytes = bytes.get(r as usize..).unwrap_or(&[]);
    }
}

/// openat(AT_FDCWD, ...): the fd, or -1 with errno set.
pub fn open(path: &core::ffi::CStr, flags: c_int, mode: libc::mode_t) -> c_int {
    // SAFETY: a NUL-terminated path; the kernel only reads it.
    let r = unsafe { syscall!(libc::SYS_openat, libc::AT_FDCWD, path.as_ptr(), flags, mode) };
    c_int::try_from(r).unwrap_or(-1)
}

/// readlink(2) (as readlinkat, which every architecture has): the bytes of
/// the link's target that fit in `buf`.
pub fn readlink<'a>(path: &core::ffi::CStr, buf: &'a mut [u8]) -> Option<&'a [u8]> {
    // SAFETY: a NUL-terminated path; the kernel writes at most buf.len() bytes.
    let n = unsafe { syscall!(libc::SYS_readlinkat, libc::AT_FDCWD, path.as_ptr(), buf.as_mut_ptr(), buf.len()) };
    usize::try_from(n).ok().and_then(|n| buf.get(..n))
}

/// fstat(2); libc's, which no hook of ours stands in for.
pub fn fstat(fd: c_int) -> Option<libc::stat> {
    let mut st = MaybeUninit::<libc::stat>::zeroed();
    // SAFETY: fstat fills the stat buffer it is given.
    if unsafe { crate::real::fstat(fd, st.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: filled by a successful fstat.
    Some(unsafe { st.assume_init() })
}

pub fn close(fd: c_int) {
    // SAFETY: closes an fd this library opened itself.
    unsafe { syscall!(libc::SYS_close, fd) };
}

/// getsockopt into a byte buffer (TCP_INFO, SO_PEERNAME): how many bytes
/// the kernel wrote, or None when the call failed.
pub fn getsockopt_bytes(fd: c_int, level: c_int, name: c_int, buf: &mut [u8]) -> Option<usize> {
    let mut len = socklen_t::try_from(buf.len()).unwrap_or(socklen_t::MAX);
    // SAFETY: the kernel writes at most `len` bytes into the live buffer.
    let r = unsafe { syscall!(libc::SYS_getsockopt, fd, level, name, buf.as_mut_ptr(), &mut len as *mut socklen_t) };
    (r == 0).then_some((len as usize).min(buf.len()))
}

/// An ioctl that reports one int (SIOCOUTQ: bytes not yet acknowledged).
pub fn ioctl_int(fd: c_int, request: libc::c_ulong) -> Option<c_int> {
    let mut value: c_int = 0;
    // SAFETY: the request writes one int into a live c_int.
    let r = unsafe { syscall!(libc::SYS_ioctl, fd, request, &mut value as *mut c_int) };
    (r == 0).then_some(value)
}
