//! The real libc functions behind our hooks.
//!
//! All are resolved once, in the constructor, in one pass: from libc's own
//! dynamic symbol table (`dynsym`), where that is sure to give what
//! `dlsym(RTLD_NEXT)` would, and otherwise, name by name, with
//! `dlsym(RTLD_NEXT)` itself. A hook that runs before the constructor
//! (another library's constructor may connect first) finds its slot still
//! holding a resolver of the same type, which resolves every slot the same
//! way and then makes the call; that is the only lazy path and it ends once
//! the constructor has run. A symbol that libc does not have (an old glibc
//! without `__ppoll_chk`, say) is normal: its slot gets a stub that fails
//! with ENOSYS, which only runs if the program found the function somewhere
//! we did not. Either way the hot path is one load and an indirect jump.
//!
//! The names are one string and their lookup keys (dynsym::Key) a table of
//! numbers, both built at compile time: no pointer in them for the loader
//! to relocate. The slots' initial resolvers are the only relocations here.

use crate::dynsym::{self, Scan};
use core::sync::atomic::{AtomicPtr, AtomicU8, AtomicUsize, Ordering::Relaxed};
use libc::{c_char, c_int, c_void};

/// How a slot was filled (see `sockfix_resolved`).
const VIA_LAZY: u8 = 0;
const VIA_TABLE: u8 = 1;
const VIA_DLSYM: u8 = 2;
const VIA_MISSING: u8 = 3;

/// One list of functions, as the macro below lays it out.
struct List {
    /// The names, each NUL-terminated, one after the other.
    names: &'static str,
    /// Where each name starts in `names`, and one past the last.
    starts: &'static [u16],
    keys: &'static [dynsym::Key],
    slots: &'static [AtomicPtr<()>],
    via: &'static [AtomicU8],
    /// Puts its stub in every slot marked VIA_MISSING.
    stub_missing: fn(),
}

impl List {
    fn name(&self, i: usize) -> &'static [u8] {
        let (start, end) = (usize::from(self.starts[i]), usize::from(self.starts[i + 1]));
        self.names.as_bytes().get(start..end).unwrap_or(b"\0")
    }

    fn set(&self, i: usize, addr: *mut (), via: u8) {
        self.slots[i].store(addr, Relaxed);
        self.via[i].store(via, Relaxed);
    }

    /// First pass: every slot libc's table can fill. Returns whether some
    /// slot is left for dlsym.
    fn from_table(&self, scan: &Scan) -> bool {
        let Some(libc) = scan.libc.as_ref() else {
            return true;
        };
        let mut left = false;
        for ((key, slot), via) in self.keys.iter().zip(self.slots).zip(self.via) {
            // SAFETY: libc stays loaded for the life of the process.
            match unsafe { libc.lookup(key) }.filter(|_| scan.nothing_between_defines(key)) {
                Some(addr) => {
                    slot.store(addr as *mut (), Relaxed);
                    via.store(VIA_TABLE, Relaxed);
                }
                None => left = true,
            }
        }
        left
    }

    /// Second pass: the slots the table could not fill, with dlsym.
    fn from_dlsym(&self, scan: &Scan) {
        for i in 0..self.slots.len() {
            if self.via[i].load(Relaxed) != VIA_TABLE {
                match lookup(self.name(i), &self.keys[i], scan) {
                    Some(addr) => self.set(i, addr as *mut (), VIA_DLSYM),
                    None => self.via[i].store(VIA_MISSING, Relaxed),
                }
            }
        }
        (self.stub_missing)();
    }
}

/// RTLD_NEXT, guarded against finding ourselves: if the loader's search
/// order ever puts this library after its own caller, the "next" definition
/// is one of our hooks, and calling it would recurse forever. Then libc's
/// own table is asked, wherever libc is in the link map.
fn lookup(name: &[u8], key: &dynsym::Key, scan: &Scan) -> Option<usize> {
    // SAFETY: `name` is NUL-terminated; dlsym has no other precondition.
    let next = unsafe { dlsym(libc::RTLD_NEXT, name.as_ptr().cast()) } as usize;
    if next != 0 && !is_ours(next) {
        return Some(next);
    }
    // SAFETY: libc stays loaded for the life of the process.
    scan.libc.and_then(|t| unsafe { t.lookup(key) }).filter(|&addr| !is_ours(addr))
}

/// The address range of this library's own segments, found by the scan.
static OWN_START: AtomicUsize = AtomicUsize::new(0);
static OWN_END: AtomicUsize = AtomicUsize::new(0);

fn is_ours(addr: usize) -> bool {
    (OWN_START.load(Relaxed)..OWN_END.load(Relaxed)).contains(&addr)
}

/// Resolves every slot: one pass over the link map, libc's table, then
/// dlsym for whatever is left. Called from the constructor, and by the
/// first call that finds a slot unresolved (before the constructor);
/// running it twice stores the same addresses. errno is left as it was.
pub fn resolve_all() {
    let scan = Scan::run(resolve_all as fn() as usize);
    if scan.own.1 != 0 {
        OWN_START.store(scan.own.0, Relaxed);
        OWN_END.store(scan.own.1, Relaxed);
    }
    LIBC.save(scan.libc);
    // The library's own functions first, errno's among them: nothing
    // before this line may touch errno, whose slot may still be the
    // resolver that called this function. They are libc's own, wherever
    // libc is (an interposed clock_gettime or errno would not do), and
    // have no dlsym fallback (dlsym itself is found the same way).
    let own = own::layout();
    let mut missing = false;
    for i in 0..own.slots.len() {
        // SAFETY: libc stays loaded for the life of the process.
        match scan.libc.and_then(|t| unsafe { t.lookup(&own.keys[i]) }) {
            Some(addr) => own.set(i, addr as *mut (), VIA_TABLE),
            None => {
                own.via[i].store(VIA_MISSING, Relaxed);
                missing = true;
            }
        }
    }
    if missing {
        (own.stub_missing)();
    }
    let _keep = crate::sys::ErrnoGuard::new();
    let hooked = hooked::layout();
    if hooked.from_table(&scan) {
        hooked.from_dlsym(&scan);
    }
}

/// libc.so.6's table, kept by resolve_all for `late` lookups: written before
/// any reader can run (the constructor, or the first call before it), and
/// written again only with the same value.
struct SavedTable(core::cell::UnsafeCell<Option<dynsym::Table>>);
// SAFETY: see above; the table itself only points into libc's mapping.
unsafe impl Sync for SavedTable {}
static LIBC: SavedTable = SavedTable(core::cell::UnsafeCell::new(None));

impl SavedTable {
    fn save(&self, table: Option<dynsym::Table>) {
        // SAFETY: see SavedTable.
        unsafe { *self.0.get() = table };
    }

    fn get(&self) -> Option<&'static dynsym::Table> {
        // SAFETY: see SavedTable; `self` is the static LIBC.
        unsafe { (*self.0.get()).as_ref() }
    }
}

/// libc's definition of a function the library calls only from the
/// constructor (or rarely), looked up when it is first needed instead of
/// at every start, and kept in `cache` (0: not looked up yet, 1: none).
/// None when resolve_all has not run, or libc has no plain definition.
fn late(key: &dynsym::Key, cache: &AtomicUsize) -> Option<usize> {
    const NONE: usize = 1;
    let known = cache.load(Relaxed);
    if known != 0 {
        return (known != NONE).then_some(known);
    }
    // SAFETY: libc stays loaded for the life of the process.
    let found = unsafe { LIBC.get()?.lookup(key) }.filter(|&addr| !is_ours(addr));
    cache.store(found.unwrap_or(NONE), Relaxed);
    found
}

/// Declares typed wrappers for functions found with `late`, and what each
/// returns when there is none.
macro_rules! late_functions {
    ($( $(#[$doc:meta])* $name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty = $none:expr; )*) => {
        $(
            $(#[$doc])*
            #[allow(dead_code)]
            pub unsafe fn $name($($arg: $ty),*) -> $ret {
                type F = unsafe extern "C" fn($($ty),*) -> $ret;
                const KEY: dynsym::Key = dynsym::Key::new(concat!(stringify!($name), "\0").as_bytes(), 0);
                static CACHE: AtomicUsize = AtomicUsize::new(0);
                match late(&KEY, &CACHE) {
                    // SAFETY: libc's definition of this very function, whose
                    // C prototype is the one declared here.
                    Some(addr) => core::mem::transmute::<usize, F>(addr)($($arg),*),
                    None => $none,
                }
            }
        )*
    };
}

late_functions! {
    /// Unknown: treated as secure execution (the environment is ignored and
    /// only a root-owned config file is read).
    getauxval(kind: libc::c_ulong) -> libc::c_ulong = 1;
    pthread_key_create(key: *mut libc::pthread_key_t, dtor: Option<unsafe extern "C" fn(*mut c_void)>) -> c_int = libc::ENOSYS;
    pthread_key_delete(key: libc::pthread_key_t) -> c_int = libc::ENOSYS;
    /// What pthread_atfork (in libc_nonshared.a) calls, with the handle of
    /// the object registering.
    __register_atfork(
        prepare: Option<unsafe extern "C" fn()>,
        parent: Option<unsafe extern "C" fn()>,
        child: Option<unsafe extern "C" fn()>,
        dso: *mut c_void
    ) -> c_int = libc::ENOSYS;
    strerror(e: c_int) -> *mut c_char = core::ptr::null_mut();
    /// Only ever called by the panic handler, which no code path is meant
    /// to reach: looked up then (a read of libc's table, safe anywhere).
    /// Without it, the process exits.
    abort() -> () = {
        syscall(libc::SYS_exit_group, 127, 0, 0, 0, 0, 0);
    };
    fstat(fd: c_int, st: *mut libc::stat) -> c_int = -1;
    dlsym(handle: *mut c_void, name: *const c_char) -> *mut c_void = core::ptr::null_mut();
}

/// The start of each NUL-terminated name in `names`, and one past the last.
const fn starts<const M: usize>(names: &str) -> [u16; M] {
    let bytes = names.as_bytes();
    let mut out = [0u16; M];
    let (mut i, mut k) = (0, 1);
    while i < bytes.len() && k < M {
        if bytes[i] == 0 {
            out[k] = (i + 1) as u16;
            k += 1;
        }
        i += 1;
    }
    out
}

/// The lookup key of each NUL-terminated name in `names`.
const fn keys<const N: usize>(names: &str, starts: &[u16]) -> [dynsym::Key; N] {
    let mut out = [dynsym::Key::new(b"\0", 0); N];
    let mut k = 0;
    while k < N {
        out[k] = dynsym::Key::new(names.as_bytes(), starts[k] as usize);
        k += 1;
    }
    out
}

/// A stub's body: the one given, or fail with ENOSYS and return -1.
macro_rules! stub_body {
    () => {{
        crate::sys::set_errno(libc::ENOSYS);
        (-1i64) as _
    }};
    ($body:block) => {
        $body
    };
}

/// Declares a list of real functions, in a module of its own: a slot for
/// each, a typed wrapper `name(args)` that calls it, a resolver for calls
/// before the constructor, and a stub for when no definition is found
/// (`= { body }` after a declaration gives the stub's result).
macro_rules! real_functions {
    ($( $name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty $(= $missing:block)?; )*) => {
        use super::*;

        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        #[repr(usize)]
        pub(crate) enum Index { $( $name, )* }

        const NAMES: &str = concat!($( stringify!($name), "\0", )*);
        pub const N: usize = [$( stringify!($name), )*].len();
        const STARTS: [u16; N + 1] = starts::<{ N + 1 }>(NAMES);
        const KEYS: [dynsym::Key; N] = keys::<N>(NAMES, &STARTS);

        /// The function to call for each name: until resolved, our own
        /// `lazy::` resolver of the same type, so a call never needs to
        /// test for "not yet".
        pub(crate) static SLOTS: [AtomicPtr<()>; N] = [$( AtomicPtr::new(lazy::$name as *mut ()), )*];
        static VIA: [AtomicU8; N] = [const { AtomicU8::new(VIA_LAZY) }; N];

        pub(super) fn layout() -> List {
            List { names: NAMES, starts: &STARTS, keys: &KEYS, slots: &SLOTS, via: &VIA, stub_missing }
        }

        /// One test and store per slot, in code: a table of the stubs'
        /// addresses would be one relocation each at every start.
        fn stub_missing() {
            $(
                if VIA[Index::$name as usize].load(Relaxed) == VIA_MISSING {
                    SLOTS[Index::$name as usize].store(missing::$name as *mut (), Relaxed);
                }
            )*
        }

        /// What each slot holds until it is resolved: a call before the
        /// constructor resolves every slot, then calls its own.
        mod lazy {
            use super::*;
            $(
                #[cold]
                pub unsafe extern "C" fn $name($($arg: $ty),*) -> $ret {
                    resolve_all();
                    super::$name($($arg),*)
                }
            )*
        }

        /// The stubs: by default they fail with ENOSYS and return -1 (or
        /// SIG_ERR, all ones, for the signal() family).
        mod missing {
            use super::*;
            $(
                #[allow(unused_variables)]
                pub unsafe extern "C" fn $name($($arg: $ty),*) -> $ret {
                    stub_body!($($missing)?)
                }
            )*
        }

        $(
            #[allow(dead_code)]
            #[inline(always)]
            pub unsafe fn $name($($arg: $ty),*) -> $ret {
                type F = unsafe extern "C" fn($($ty),*) -> $ret;
                let addr = SLOTS[Index::$name as usize].load(Relaxed);
                // SAFETY: `addr` is libc's definition of this very function,
                // whose C prototype is the one declared here, or our resolver
                // or stub of the same type.
                let f: F = core::mem::transmute(addr);
                f($($arg),*)
            }
        )*
    };
}

/// The functions the library stands in for.
pub(crate) mod hooked {
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
}

pub use hooked::*;

/// libc functions the library calls for itself where a hook or a signal
/// handler may need them (the others are `late`: looked up on first use): taken from libc's table
/// like the hooked ones, one lookup each instead of one import each (an
/// import costs the loader about 700 instructions in every process, plus
/// the check of its symbol version). `syscall` is variadic in C; every
/// Linux ABI passes the integer arguments of a variadic call as those of a
/// plain one, and glibc's syscall() reads them so, hence the fixed
/// seven-word prototype.
mod own {
    use libc::{c_long, pthread_key_t};

    /// Where errno goes if libc had no __errno_location (it always has).
    static mut NOWHERE: c_int = 0;

    real_functions! {
        __errno_location() -> *mut c_int = { core::ptr::addr_of_mut!(NOWHERE) };
        syscall(n: c_long, a: c_long, b: c_long, c: c_long, d: c_long, e: c_long, f: c_long) -> c_long;
        clock_gettime(clock: libc::clockid_t, ts: *mut libc::timespec) -> c_int;
        pthread_getspecific(key: pthread_key_t) -> *mut c_void = { core::ptr::null_mut() };
        pthread_setspecific(key: pthread_key_t, value: *const c_void) -> c_int = { libc::ENOSYS };
    }
}

pub use own::*;

/// For the tests (c-tests/hard/t_hard_resolve.sh), exported: slot `i` of
/// the functions the library stands in for (in declaration order). Returns
/// -1 past the last slot, else how the slot was filled: 1 from libc's
/// symbol table, 2 with dlsym, 3 not found (an ENOSYS stub), 0 not yet.
/// Sets `*name` to its name, `*addr` to the function the library calls and
/// `*next` to what `dlsym(RTLD_NEXT, name)` answers from the library now.
/// Reads only; any pointer may be null.
#[no_mangle]
pub unsafe extern "C" fn sockfix_resolved(
    i: u32,
    name: *mut *const c_char,
    addr: *mut *mut c_void,
    next: *mut *mut c_void,
) -> c_int {
    let list = hooked::layout();
    let i = i as usize;
    if i >= list.slots.len() {
        return -1;
    }
    let n = list.name(i);
    if !name.is_null() {
        *name = n.as_ptr().cast();
    }
    if !addr.is_null() {
        *addr = list.slots[i].load(Relaxed).cast();
    }
    if !next.is_null() {
        let _keep = crate::sys::ErrnoGuard::new();
        *next = dlsym(libc::RTLD_NEXT, n.as_ptr().cast());
    }
    c_int::from(list.via[i].load(Relaxed))
}
