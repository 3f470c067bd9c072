//! The real libc functions behind our hooks.
//!
//! All are resolved once, in the constructor, with `dlsym(RTLD_NEXT)`. A hook
//! that runs before the constructor (another library's constructor may
//! connect first) resolves its own symbol on the spot; that is the only lazy
//! path and it ends once the constructor has run. A symbol that libc does not
//! have (an old glibc without `__ppoll_chk`, say) is normal: its slot gets a
//! stub that fails with ENOSYS, which only runs if the program found the
//! function somewhere we did not. Either way the hot path is one load and an
//! indirect jump.

use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering::Relaxed};
use libc::{c_char, c_int, c_void};

pub struct Sym {
    name: &'static [u8], // NUL-terminated
    /// The function to call: until resolved, our own `lazy::` resolver of
    /// the same type, so a call never needs to test for "not yet".
    addr: AtomicPtr<()>,
}

impl Sym {
    const fn new(name: &'static [u8], lazy: *mut ()) -> Sym {
        Sym { name, addr: AtomicPtr::new(lazy) }
    }

    #[inline(always)]
    fn current(&self) -> *mut () {
        self.addr.load(Relaxed)
    }

    /// Looks the symbol up and stores it, or `missing` (a stub of the same
    /// type) when libc does not have it.
    #[cold]
    fn resolve(&self, missing: *mut ()) -> *mut () {
        let addr = lookup(self.name).map_or(missing, |a| a as *mut ());
        self.addr.store(addr, Relaxed);
        addr
    }
}

/// RTLD_NEXT, guarded against finding ourselves: if the loader's search
/// order ever puts this library after its own caller, the "next" definition
/// is one of our hooks, and calling it would recurse forever. Then libc
/// itself is asked.
fn lookup(name: &'static [u8]) -> Option<usize> {
    let name = name.as_ptr() as *const c_char;
    // SAFETY: `name` is NUL-terminated; dlsym has no other precondition.
    let next = unsafe { libc::dlsym(libc::RTLD_NEXT, name) } as usize;
    if next != 0 && !is_ours(next) {
        return Some(next);
    }
    // SAFETY: RTLD_NOLOAD only returns libc's handle if it is already mapped.
    let libc_handle = unsafe { libc::dlopen(c"libc.so.6".as_ptr(), libc::RTLD_NOLOAD | libc::RTLD_LAZY) };
    if libc_handle.is_null() {
        return None;
    }
    // SAFETY: a live handle and a NUL-terminated name.
    let addr = unsafe { libc::dlsym(libc_handle, name) } as usize;
    (addr != 0 && !is_ours(addr)).then_some(addr)
}

/// The address range of this library's own segments, found once with
/// dl_iterate_phdr (dladdr would scan libc's whole symbol table per call).
static OWN_START: AtomicUsize = AtomicUsize::new(0);
static OWN_END: AtomicUsize = AtomicUsize::new(0);

fn is_ours(addr: usize) -> bool {
    if OWN_END.load(Relaxed) == 0 {
        find_own_range();
    }
    (OWN_START.load(Relaxed)..OWN_END.load(Relaxed)).contains(&addr)
}

fn find_own_range() {
    unsafe extern "C" fn visit(info: *mut libc::dl_phdr_info, _size: libc::size_t, _data: *mut c_void) -> c_int {
        let here = find_own_range as fn() as usize;
        // SAFETY: the loader passes a valid dl_phdr_info with dlpi_phnum
        // program headers at dlpi_phdr.
        let info = &*info;
        let phdrs = core::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum));
        let base = info.dlpi_addr as usize;
        let (mut start, mut end) = (usize::MAX, 0);
        for ph in phdrs.iter().filter(|ph| ph.p_type == libc::PT_LOAD) {
            start = start.min(base.wrapping_add(ph.p_vaddr as usize));
            end = end.max(base.wrapping_add(ph.p_vaddr as usize).wrapping_add(ph.p_memsz as usize));
        }
        if (start..end).contains(&here) {
            OWN_START.store(start, Relaxed);
            OWN_END.store(end, Relaxed);
            return 1;
        }
        0
    }
    // SAFETY: `visit` matches the callback type and keeps no pointers.
    unsafe { libc::dl_iterate_phdr(Some(visit), core::ptr::null_mut()) };
}

/// Declares the real functions: a `Sym` for each in `SYMS`, a typed wrapper
/// `real::name(args)` that calls it, and a stub for when libc lacks it that
/// fails with ENOSYS (returning -1, or SIG_ERR for the signal() family).
macro_rules! real_functions {
    ($( $name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty; )*) => {
        #[allow(non_snake_case)]
        pub struct Syms { $( pub $name: Sym, )* }

        pub static SYMS: Syms = Syms {
            $( $name: Sym::new(concat!(stringify!($name), "\0").as_bytes(), lazy::$name as *mut ()), )*
        };

        /// Resolves every symbol; called once from the constructor.
        pub fn resolve_all() {
            $( SYMS.$name.resolve(missing::$name as *mut ()); )*
        }

        /// What each slot holds until it is resolved: first calls before
        /// the constructor resolve the symbol, then call it.
        mod lazy {
            use super::*;
            $(
                #[cold]
                pub unsafe extern "C" fn $name($($arg: $ty),*) -> $ret {
                    type F = unsafe extern "C" fn($($ty),*) -> $ret;
                    let addr = SYMS.$name.resolve(missing::$name as *mut ());
                    // SAFETY: as in real::$name.
                    let f: F = core::mem::transmute(addr);
                    f($($arg),*)
                }
            )*
        }

        mod missing {
            use super::*;
            $(
                #[allow(unused_variables)]
                pub unsafe extern "C" fn $name($($arg: $ty),*) -> $ret {
                    crate::sys::set_errno(libc::ENOSYS);
                    (-1i64) as $ret
                }
            )*
        }

        $(
            #[allow(dead_code)]
            #[inline(always)]
            pub unsafe fn $name($($arg: $ty),*) -> $ret {
                type F = unsafe extern "C" fn($($ty),*) -> $ret;
                let addr = SYMS.$name.current();
                // SAFETY: `addr` is libc's definition of this very function,
                // whose C prototype is the one declared here, or our resolver
                // or stub of the same type.
                let f: F = core::mem::transmute(addr);
                f($($arg),*)
            }
        )*
    };
}

use libc::{fd_set, msghdr, nfds_t, pollfd, sigset_t, size_t, sockaddr, socklen_t, ssize_t, timespec, timeval};

real_functions! {
    socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int;
    connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int;
    bind(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int;
    accept(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int;
    accept4(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t, flags: c_int) -> c_int;
    setsockopt(fd: c_int, level: c_int, name: c_int, value: *const c_void, len: socklen_t) -> c_int;
    dup(fd: c_int) -> c_int;
    dup2(fd: c_int, to: c_int) -> c_int;
    dup3(fd: c_int, to: c_int, flags: c_int) -> c_int;
    fcntl(fd: c_int, cmd: c_int, arg: usize) -> c_int;
    fcntl64(fd: c_int, cmd: c_int, arg: usize) -> c_int;

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
