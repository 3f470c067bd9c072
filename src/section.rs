//! The library's own work that changes something the program could see: a
//! file status flag on its socket for the length of a call (the bounded
//! connect), the signal mask around a log write, an fd the library opens
//! for itself (a log file, a syslog socket, a socket to compare options
//! with). Whatever way the hooked call is left, the program must find
//! nothing changed:
//!
//! - normal return: the code undoes what it did before it returns;
//! - `siglongjmp` out of a signal handler: no handler can run inside a
//!   section, all signals are blocked for its length ([`Masked`]; the
//!   kernel never blocks SIGKILL and SIGSTOP, which end or stop the whole
//!   process anyway);
//! - thread cancellation: a section makes only raw system calls, and none
//!   of them is a cancellation point; asynchronous cancellation arrives as
//!   a signal, blocked too;
//! - another thread's `fork`: file status flags and socket options belong
//!   to the open file description, which the child shares, so the undo
//!   reaches it too; a fork waits until no fd the library opened for
//!   itself ([`OwnFd`]) is open, and none is opened until it is done.
//!
//! Sections are short (a few system calls) and never on a hot path: a
//! connect with SOCKFIX_CONNECT_TIMEOUT, a log line, a socket the library
//! did not see created.

use crate::sys;
use core::mem::size_of;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use libc::c_int;

/// The kernel's signal set: 64 bits on every Linux architecture this
/// library is built for (not MIPS, whose `_NSIG` is 128).
type KernelSigset = u64;

/// Every signal blocked until dropped; the thread's mask is then restored.
pub struct Masked {
    old: KernelSigset,
}

impl Masked {
    pub fn new() -> Self {
        let all: KernelSigset = !0;
        let mut old: KernelSigset = 0;
        sigprocmask(libc::SIG_SETMASK, &all, &mut old);
        Masked { old }
    }

    /// Discards a SIGPIPE raised inside the section by the library's own
    /// write, when none was pending for the thread before (`before`, from
    /// [`pending`]): a log reader that went away cannot kill the program.
    pub fn discard_own_sigpipe(&self, before: KernelSigset) {
        let pipe: KernelSigset = 1 << (libc::SIGPIPE - 1);
        if before & pipe == 0 && pending() & pipe != 0 {
            let zero = libc::timespec { tv_sec: 0, tv_nsec: 0 };
            // SAFETY: a live set and timespec; a zero timeout returns at once.
            unsafe {
                crate::sys::syscall!(
                    libc::SYS_rt_sigtimedwait,
                    &pipe as *const KernelSigset,
                    core::ptr::null_mut::<libc::siginfo_t>(),
                    &zero as *const libc::timespec,
                    size_of::<KernelSigset>(),
                )
            };
        }
    }
}

impl Drop for Masked {
    fn drop(&mut self) {
        sigprocmask(libc::SIG_SETMASK, &self.old, core::ptr::null_mut());
    }
}

fn sigprocmask(how: c_int, set: *const KernelSigset, old: *mut KernelSigset) {
    let _keep = sys::ErrnoGuard::new();
    // SAFETY: `set` points to a live set; `old` is null or writable.
    unsafe { crate::sys::syscall!(libc::SYS_rt_sigprocmask, how, set, old, size_of::<KernelSigset>()) };
}

/// The signals pending for this thread (or the process).
pub fn pending() -> KernelSigset {
    let mut set: KernelSigset = 0;
    // SAFETY: the kernel writes one set into a live u64.
    unsafe { crate::sys::syscall!(libc::SYS_rt_sigpending, &mut set as *mut KernelSigset, size_of::<KernelSigset>()) };
    set
}

/// How many of the library's own fds are open, or about to be opened, and
/// whether a fork is under way. A fork waits (pthread_atfork's prepare
/// handler, in the forking thread) until none is open, and no section opens
/// one until the fork is done: the child's fd table, which the kernel copies
/// while other threads run on, can then hold none of them. Both waits are
/// short (a section is a few system calls that do not block; a fork copies
/// the page tables) and bounded; past the bound the fork or the section
/// goes ahead, and a fork child may then keep one such fd (close-on-exec,
/// so only until it execs).
static OPEN: AtomicUsize = AtomicUsize::new(0);
static FORKING: AtomicBool = AtomicBool::new(false);

/// Spins (yielding the CPU) while `busy`, at most `max_ms`.
fn wait_while(busy: impl Fn() -> bool, max_ms: u64) {
    if !busy() {
        return;
    }
    let start = sys::monotonic_ms();
    while busy() && sys::monotonic_ms().saturating_sub(start) < max_ms {
        // SAFETY: no arguments. A raw syscall: one import less for every
        // process to resolve at start-up.
        unsafe { crate::sys::syscall!(libc::SYS_sched_yield) };
    }
}

/// Counts an fd about to be opened, once no fork is under way.
fn enter() {
    OPEN.fetch_add(1, SeqCst);
    if FORKING.load(SeqCst) {
        OPEN.fetch_sub(1, SeqCst);
        wait_while(|| FORKING.load(SeqCst), 1000);
        OPEN.fetch_add(1, SeqCst);
    }
}

/// pthread_atfork handlers (registered by the constructor).
pub extern "C" fn fork_prepare() {
    FORKING.store(true, SeqCst);
    wait_while(|| OPEN.load(SeqCst) != 0, 100);
}

pub extern "C" fn fork_done() {
    FORKING.store(false, SeqCst);
}

/// In the fork child: the parent's sections are not the child's.
pub extern "C" fn fork_child_done() {
    OPEN.store(0, SeqCst);
    FORKING.store(false, SeqCst);
}

/// An fd the library opened for itself, closed when dropped. Made only
/// inside a section (`&Masked`), with O_CLOEXEC.
pub struct OwnFd {
    fd: c_int,
}

impl OwnFd {
    /// openat(2); None with errno set on failure.
    pub fn open(_in: &Masked, path: &core::ffi::CStr, flags: c_int, mode: libc::mode_t) -> Option<OwnFd> {
        enter();
        Self::made(sys::open(path, flags | libc::O_CLOEXEC, mode))
    }

    /// socket(2); None with errno set on failure.
    pub fn socket(_in: &Masked, domain: c_int, ty: c_int, protocol: c_int) -> Option<OwnFd> {
        enter();
        Self::made(sys::socket(domain, ty | libc::SOCK_CLOEXEC, protocol))
    }

    fn made(fd: c_int) -> Option<OwnFd> {
        if fd < 0 {
            OPEN.fetch_sub(1, SeqCst);
            return None;
        }
        Some(OwnFd { fd })
    }

    pub fn fd(&self) -> c_int {
        self.fd
    }
}

impl Drop for OwnFd {
    fn drop(&mut self) {
        sys::close(self.fd);
        OPEN.fetch_sub(1, SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask_now() -> KernelSigset {
        let mut cur: KernelSigset = 0;
        sigprocmask(libc::SIG_BLOCK, &0, &mut cur);
        cur
    }

    #[test]
    fn masked_blocks_everything_and_restores_the_mask() {
        let before = mask_now();
        {
            let _m = Masked::new();
            assert_eq!(mask_now() | (1 << (libc::SIGKILL - 1)) | (1 << (libc::SIGSTOP - 1)), !0);
        }
        assert_eq!(mask_now(), before);
    }

    #[test]
    fn own_fds_are_close_on_exec_and_closed_when_dropped() {
        let m = Masked::new();
        let fd = OwnFd::socket(&m, libc::AF_INET, libc::SOCK_STREAM, 0).expect("socket");
        // SAFETY: F_GETFD takes no pointer.
        assert_ne!(unsafe { libc::fcntl(fd.fd(), libc::F_GETFD) } & libc::FD_CLOEXEC, 0);
        assert!(OPEN.load(SeqCst) >= 1);
        drop(fd);
    }
}
