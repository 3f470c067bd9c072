//! The real libc functions behind our hooks.
//!
//! All are resolved once, in the constructor, with `dlsym(RTLD_NEXT)`. A hook
//! that runs before the constructor (another library's constructor may
//! connect first) resolves its own symbol on the spot; that is the only lazy
//! path and it ends once the constructor has run. A symbol that libc does not
//! have (an old glibc without `close_range`, say) is normal: its slot is
//! marked missing and a call fails with ENOSYS, which only happens if the
//! program found the function somewhere we did not.

use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use libc::{c_char, c_int, c_void};

const UNRESOLVED: usize = 0;
const MISSING: usize = 1;

pub struct Sym {
    name: &'static [u8], // NUL-terminated
    addr: AtomicUsize,
}

impl Sym {
    const fn new(name: &'static [u8]) -> Sym {
        Sym { name, addr: AtomicUsize::new(UNRESOLVED) }
    }

    /// The function's address, or None when libc does not have it.
    #[inline(always)]
    pub fn get(&self) -> Option<usize> {
        match self.addr.load(Relaxed) {
            UNRESOLVED => self.resolve(),
            MISSING => None,
            addr => Some(addr),
        }
    }

    #[cold]
    fn resolve(&self) -> Option<usize> {
        let addr = lookup(self.name);
        self.addr.store(addr.unwrap_or(MISSING), Relaxed);
        addr
    }
}

/// RTLD_NEXT, guarded against finding ourselves: if the library is loaded
/// twice, or the loader's search order puts us after our own caller, the
/// "next" definition can be one of our hooks, and calling it would recurse
/// forever. Then libc itself is asked.
fn lookup(name: &'static [u8]) -> Option<usize> {
    let name = name.as_ptr() as *const c_char;
    // SAFETY: `name` is NUL-terminated; dlsym has no other precondition.
    let next = unsafe { libc::dlsym(libc::RTLD_NEXT, name) } as usize;
    if next != 0 && !is_ours(next) {
        return Some(next);
    }
    // SAFETY: RTLD_NOLOAD only returns libc's handle if it is already mapped.
    let libc_handle = unsafe { libc::dlopen(b"libc.so.6\0".as_ptr() as *const c_char, libc::RTLD_NOLOAD | libc::RTLD_LAZY) };
    if libc_handle.is_null() {
        return None;
    }
    // SAFETY: a live handle and a NUL-terminated name.
    let addr = unsafe { libc::dlsym(libc_handle, name) } as usize;
    (addr != 0 && !is_ours(addr)).then_some(addr)
}

fn object_base(addr: usize) -> usize {
    let mut info = core::mem::MaybeUninit::<libc::Dl_info>::zeroed();
    // SAFETY: dladdr fills the Dl_info it is given.
    if unsafe { libc::dladdr(addr as *const c_void, info.as_mut_ptr()) } == 0 {
        return 0;
    }
    // SAFETY: filled by a successful dladdr.
    unsafe { info.assume_init() }.dli_fbase as usize
}

fn is_ours(addr: usize) -> bool {
    let own = object_base(is_ours as fn(usize) -> bool as usize);
    own != 0 && object_base(addr) == own
}

/// Declares the real functions: a `Sym` for each in `SYMS`, and a typed
/// wrapper `real::name(args)` that calls it, or fails with ENOSYS (returning
/// -1, or SIG_ERR for the signal() family) when libc does not have it.
macro_rules! real_functions {
    ($( $name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty; )*) => {
        #[allow(non_snake_case)]
        pub struct Syms { $( pub $name: Sym, )* }

        pub static SYMS: Syms = Syms {
            $( $name: Sym::new(concat!(stringify!($name), "\0").as_bytes()), )*
        };

        /// Resolves every symbol; called once from the constructor.
        pub fn resolve_all() {
            $( let _ = SYMS.$name.get(); )*
        }

        $(
            #[allow(dead_code)]
            #[inline(always)]
            pub unsafe fn $name($($arg: $ty),*) -> $ret {
                match SYMS.$name.get() {
                    Some(addr) => {
                        // SAFETY: `addr` is libc's definition of this very
                        // function, whose C prototype is the one declared here.
                        let f: unsafe extern "C" fn($($ty),*) -> $ret = core::mem::transmute(addr);
                        f($($arg),*)
                    }
                    None => {
                        crate::sys::set_errno(libc::ENOSYS);
                        (-1i64) as $ret
                    }
                }
            }
        )*
    };
}

use libc::{fd_set, msghdr, nfds_t, pollfd, sigset_t, size_t, sockaddr, socklen_t, ssize_t, timespec, timeval};

real_functions! {
    socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int;
    connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int;
    accept(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int;
    accept4(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t, flags: c_int) -> c_int;
    setsockopt(fd: c_int, level: c_int, name: c_int, value: *const c_void, len: socklen_t) -> c_int;

    read(fd: c_int, buf: *mut c_void, n: size_t) -> ssize_t;
    readv(fd: c_int, iov: *const libc::iovec, n: c_int) -> ssize_t;
    recv(fd: c_int, buf: *mut c_void, n: size_t, flags: c_int) -> ssize_t;
    recvfrom(fd: c_int, buf: *mut c_void, n: size_t, flags: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> ssize_t;
    recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t;
    __read_chk(fd: c_int, buf: *mut c_void, n: size_t, buflen: size_t) -> ssize_t;
    __recv_chk(fd: c_int, buf: *mut c_void, n: size_t, buflen: size_t, flags: c_int) -> ssize_t;
    __recvfrom_chk(fd: c_int, buf: *mut c_void, n: size_t, buflen: size_t, flags: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> ssize_t;

    write(fd: c_int, buf: *const c_void, n: size_t) -> ssize_t;
    writev(fd: c_int, iov: *const libc::iovec, n: c_int) -> ssize_t;
    send(fd: c_int, buf: *const c_void, n: size_t, flags: c_int) -> ssize_t;
    sendto(fd: c_int, buf: *const c_void, n: size_t, flags: c_int, addr: *const sockaddr, len: socklen_t) -> ssize_t;
    sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t;

    poll(fds: *mut pollfd, n: nfds_t, timeout: c_int) -> c_int;
    __poll_chk(fds: *mut pollfd, n: nfds_t, timeout: c_int, fdslen: size_t) -> c_int;
    ppoll(fds: *mut pollfd, n: nfds_t, timeout: *const timespec, mask: *const sigset_t) -> c_int;
    __ppoll_chk(fds: *mut pollfd, n: nfds_t, timeout: *const timespec, mask: *const sigset_t, fdslen: size_t) -> c_int;
    select(n: c_int, r: *mut fd_set, w: *mut fd_set, e: *mut fd_set, timeout: *mut timeval) -> c_int;
    pselect(n: c_int, r: *mut fd_set, w: *mut fd_set, e: *mut fd_set, timeout: *const timespec, mask: *const sigset_t) -> c_int;

    sigaction(sig: c_int, act: *const libc::sigaction, old: *mut libc::sigaction) -> c_int;
    signal(sig: c_int, handler: libc::sighandler_t) -> libc::sighandler_t;
    bsd_signal(sig: c_int, handler: libc::sighandler_t) -> libc::sighandler_t;
    sysv_signal(sig: c_int, handler: libc::sighandler_t) -> libc::sighandler_t;
    __sysv_signal(sig: c_int, handler: libc::sighandler_t) -> libc::sighandler_t;
}
