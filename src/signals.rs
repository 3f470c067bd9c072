//! Knowing which signal interrupted a call, and where it came from.
//!
//! EINTR does not say which signal caused it, and a SIGINT must still stop
//! a blocked read while a SIGWINCH from the terminal must not; a signal the
//! program sent itself (`pthread_kill` to wake a worker) must interrupt as
//! without the library (see `origin`). So every handler the program
//! installs (with sigaction, signal, bsd_signal or sysv_signal) is wrapped,
//! always with SA_SIGINFO: the kernel gets our trampoline, which numbers
//! the run (one process-wide counter), notes that number on this thread
//! (apart: signals that pass, i.e. in SOCKFIX_EINTR_PASS or not from
//! outside the process, and the others) and calls the program's handler
//! with the same arguments. A signal that interrupts a blocking call runs
//! its handler on the interrupted thread before the call returns, so the
//! counter read before the call and this thread's notes read after an EINTR
//! tell exactly which kinds of signal interrupted it. The call itself only
//! reads the counter, one load; the per-thread notes (pthread keys: the
//! library has no Rust std, and so no thread_local!) are read only after an
//! EINTR.
//!
//! The program never sees the trampoline: sigaction() and signal() answer
//! with its own handler and flags.
//!
//! A vfork child (CPython's subprocess, posix_spawn) shares its parent's
//! memory until it execs, and typically resets every handled signal to
//! SIG_DFL first. Those calls must not touch the slots, which are the
//! parent's: the process that owns the memory is noted (its pid, renewed in
//! fork children by pthread_atfork, which vfork does not run), and any other
//! process passes its calls straight to libc, reading the slots only. SA_RESETHAND needs nothing: the kernel
//! resets the disposition itself and sigaction() reports SIG_DFL. Synchronous
//! fault signals (SEGV, BUS, FPE, ILL, TRAP, SYS) are never wrapped: they
//! cannot interrupt a blocking call, and their handlers often inspect the
//! faulting context with no stack to spare.

use crate::origin;
use crate::real;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicUsize, Ordering::Relaxed};
use libc::{c_int, c_void, pthread_key_t, sighandler_t, siginfo_t, SIG_DFL, SIG_ERR, SIG_IGN};

const NSIG: usize = 65;

/// The program's own disposition for one signal, while ours is installed.
struct Slot {
    handler: AtomicUsize,
    /// The program did not ask for SA_SIGINFO; we added it for ourselves.
    added_siginfo: AtomicBool,
    /// The kernel passes the trampoline a filled siginfo_t for this signal
    /// (SA_SIGINFO is in force). False while libc's signal() installs it
    /// without: the origin is then unknown, and the signal passes.
    has_info: AtomicBool,
}

static SLOTS: [Slot; NSIG] = [const {
    Slot { handler: AtomicUsize::new(SIG_DFL), added_siginfo: AtomicBool::new(false), has_info: AtomicBool::new(false) }
}; NSIG];

/// The process whose memory this is; 0 until the constructor ran.
static OWNER: AtomicI32 = AtomicI32::new(0);

/// Called by the constructor: notes the owner (renewed in every fork child,
/// see `fork_child` in lib.rs); creates the per-thread notes. False when they could not be made:
/// then no EINTR is resumed.
pub fn init() -> bool {
    renew_owner();
    for note in &NOTES {
        let mut key: pthread_key_t = 0;
        // SAFETY: `key` is writable; no destructor (the values are numbers).
        if unsafe { crate::real::pthread_key_create(&mut key, None) } != 0 {
            continue;
        }
        // Only glibc's first 32 keys live inside the thread descriptor;
        // setting a later one may allocate, which a signal handler must
        // not. Without a note, no EINTR is resumed: the program sees it.
        if key < FIRST_BLOCK_KEYS {
            note.store(key, Relaxed);
        } else {
            // SAFETY: deletes the key just created, unused.
            unsafe { crate::real::pthread_key_delete(key) };
        }
    }
    NOTES.iter().all(|k| k.load(Relaxed) != NO_KEY)
}

/// Notes this process as the owner of the slots: at start and in every
/// fork child.
pub fn renew_owner() {
    OWNER.store(crate::sys::getpid(), Relaxed);
}

/// False in a vfork child, which shares its parent's memory.
fn owns_memory() -> bool {
    let owner = OWNER.load(Relaxed);
    owner == 0 || owner == crate::sys::getpid()
}

/// Every handler run through the trampoline, numbered from 1.
/// Read directly by the x86_64 read and write hooks (hooks/io_x86_64.rs).
pub(crate) static RUN_COUNT: AtomicUsize = AtomicUsize::new(0);

/// Per-thread notes: the number of the last run on this thread of the
/// handler of a passing signal (from the program itself, or in
/// SOCKFIX_EINTR_PASS) without SA_RESTART, of a passing signal with
/// SA_RESTART, of any other signal (from outside, to be resumed), that
/// last signal, and errno as that run found it.
const PASS_RUN: usize = 0;
const RESTART_RUN: usize = 1;
const OTHER_RUN: usize = 2;
const LAST_SIGNAL: usize = 3;
const ERRNO_AT_RUN: usize = 4;
const NO_KEY: u32 = u32::MAX;
static NOTES: [AtomicU32; 5] = [const { AtomicU32::new(NO_KEY) }; 5];
/// glibc's PTHREAD_KEY_2NDLEVEL_SIZE.
const FIRST_BLOCK_KEYS: pthread_key_t = 32;

/// This thread's note `which`: None when the key could not be made.
fn note(which: usize) -> Option<usize> {
    let key = NOTES.get(which)?.load(Relaxed);
    // SAFETY: a key made by init(); its values are plain numbers.
    (key != NO_KEY).then(|| unsafe { crate::real::pthread_getspecific(key) } as usize)
}

fn set_note(which: usize, value: usize) {
    if let Some(key) = NOTES.get(which).map(|k| k.load(Relaxed)).filter(|&k| k != NO_KEY) {
        // SAFETY: a first-block key made by init(): glibc and musl only store
        // the value, which is async-signal-safe.
        unsafe { crate::real::pthread_setspecific(key, value as *const c_void) };
    }
}

/// The handler-run counter before a call (as RUN_COUNT holds it: the x86_64
/// hooks push it from there into a resume::Pending).
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct Runs(usize);

#[inline(always)]
pub fn runs() -> Runs {
    Runs(RUN_COUNT.load(Relaxed))
}

/// Whether no handler of ours ran (on any thread) since `since`: then an
/// EINTR has no handler run to be resumed for.
#[inline(always)]
pub fn none_since(since: Runs) -> bool {
    RUN_COUNT.load(Relaxed) == since.0
}

/// Whether run number `mark` (0: none) came after the snapshot `since`.
fn ran_after(mark: Option<usize>, since: Runs) -> bool {
    mark.is_some_and(|m| m != 0 && (m.wrapping_sub(since.0) as isize) > 0)
}

/// Whether the interrupted call is one the kernel restarts by itself after
/// a handler with SA_RESTART (signal(7), "Interruption of system calls"):
/// a blocking read, write or connect with no socket timeout. Waits
/// (poll, select) and calls bounded by SO_RCVTIMEO/SO_SNDTIMEO are not:
/// they fail with EINTR whatever the flags.
#[derive(Clone, Copy, PartialEq)]
pub enum Restart {
    ByKernel,
    Never,
}

/// Decides whether a call interrupted by EINTR may be resumed: yes when,
/// since `before` (taken just before this attempt), a handler ran on this
/// thread of a signal from outside that must not interrupt (or, for a
/// call the kernel restarts itself, of a passing signal with SA_RESTART:
/// the kernel would have restarted the call the library stands in for),
/// and no signal that must interrupt ran since `first` (taken before the
/// first attempt). Returns the signal to name in the log. Anything else,
/// including an EINTR with no handler run we know of, is left to the
/// program.
///
/// Whatever resumes with `Restart::Never` also resumes with
/// `Restart::ByKernel` (resume.rs asks the cheaper one first).
pub fn resumable(first: Runs, before: Runs, restart: Restart) -> Option<c_int> {
    let restarts = restart == Restart::ByKernel;
    let resumes = ran_after(note(OTHER_RUN), before) || (restarts && ran_after(note(RESTART_RUN), before));
    (resumes && !interrupts_since(first, restart)).then(|| note(LAST_SIGNAL).map_or(0, |s| s as c_int))
}

/// Whether a handler ran on this thread since `first` whose signal must
/// interrupt a call of kind `restart`.
pub fn interrupts_since(first: Runs, restart: Restart) -> bool {
    ran_after(note(PASS_RUN), first) || (restart == Restart::Never && ran_after(note(RESTART_RUN), first))
}

/// Whether the handler now installed for `sig` has SA_RESTART.
fn handler_restarts(sig: c_int) -> bool {
    let _keep = crate::sys::ErrnoGuard::new();
    // SAFETY: sigaction is plain data; sigaction(2) is async-signal-safe
    // and only reads the disposition here.
    let mut cur: libc::sigaction = unsafe { core::mem::zeroed() };
    unsafe { real::sigaction(sig, core::ptr::null(), &mut cur) == 0 && cur.sa_flags & libc::SA_RESTART != 0 }
}

/// errno as the last handler run on this thread found it. A handler that
/// interrupts a system call runs before libc stores that call's errno, so
/// after an EINTR this is errno from before the call: what a call resumed
/// to success leaves, as the kernel's own restart (SA_RESTART) would.
pub fn errno_at_run() -> Option<c_int> {
    note(ERRNO_AT_RUN).map(|e| e as c_int)
}

extern "C" fn trampoline(sig: c_int, info: *mut siginfo_t, ctx: *mut c_void) {
    let errno = crate::sys::errno();
    let slot = slot(sig);
    // SAFETY: with has_info, SA_SIGINFO is in force and `info` is the
    // kernel's siginfo_t for this delivery.
    let outside = slot.is_some_and(|s| s.has_info.load(Relaxed)) && unsafe { origin::info_from_outside(sig, info) };
    let pass = !outside || crate::settings_ready().is_none_or(|s| s.passes(sig));
    let class = match pass {
        false => OTHER_RUN,
        true if handler_restarts(sig) => RESTART_RUN,
        true => PASS_RUN,
    };
    let run = RUN_COUNT.fetch_add(1, Relaxed).wrapping_add(1);
    set_note(class, run);
    set_note(LAST_SIGNAL, sig as usize);
    set_note(ERRNO_AT_RUN, errno as u32 as usize);
    let handler = slot.map_or(SIG_DFL, |s| s.handler.load(Relaxed));
    if handler != SIG_DFL && handler != SIG_IGN && handler != SIG_ERR {
        // SAFETY: `handler` is a function the program installed for this
        // signal. It is called with the three arguments of an SA_SIGINFO
        // handler; a one-argument handler ignores the other two, as every
        // Linux C calling convention allows.
        let f: extern "C" fn(c_int, *mut siginfo_t, *mut c_void) = unsafe { core::mem::transmute(handler) };
        f(sig, info, ctx);
    }
}

fn trampoline_addr() -> sighandler_t {
    trampoline as extern "C" fn(c_int, *mut siginfo_t, *mut c_void) as sighandler_t
}

fn slot(sig: c_int) -> Option<&'static Slot> {
    SLOTS.get(usize::try_from(sig).ok()?)
}

/// Whether handlers for `sig` are wrapped: when EINTR resumption is on, and
/// before the settings are loaded (another library's constructor may install
/// handlers before ours runs; the trampoline asks the settings only when a
/// signal comes).
fn wraps(sig: c_int) -> bool {
    let on = crate::loaded().is_none_or(|s| s.active && s.eintr);
    let never =
        [libc::SIGKILL, libc::SIGSTOP, libc::SIGSEGV, libc::SIGBUS, libc::SIGFPE, libc::SIGILL, libc::SIGTRAP, libc::SIGSYS];
    on && (1..NSIG as c_int).contains(&sig) && !never.contains(&sig)
}

fn is_function(h: sighandler_t) -> bool {
    h != SIG_DFL && h != SIG_IGN && h != SIG_ERR
}

/// sigaction(), with the program's handler wrapped and its own disposition
/// reported back in `old`.
///
/// # Safety
/// As sigaction(2): `act` and `old` are null or valid.
pub unsafe fn sigaction(sig: c_int, act: *const libc::sigaction, old: *mut libc::sigaction) -> c_int {
    let Some(slot) = slot(sig).filter(|_| wraps(sig)) else {
        return real::sigaction(sig, act, old);
    };
    let prev = (slot.handler.load(Relaxed), slot.added_siginfo.load(Relaxed));
    let r = match act.as_ref() {
        None => real::sigaction(sig, act, old),
        // A vfork child: the slots are its parent's; install unwrapped.
        Some(_) if !owns_memory() => real::sigaction(sig, act, old),
        Some(a) if !is_function(a.sa_sigaction) => {
            let r = real::sigaction(sig, act, old);
            if r == 0 {
                slot.handler.store(a.sa_sigaction, Relaxed);
                slot.added_siginfo.store(false, Relaxed);
            }
            r
        }
        Some(a) => {
            let mut ours = *a;
            ours.sa_sigaction = trampoline_addr();
            ours.sa_flags |= libc::SA_SIGINFO;
            // The slot is filled first: the signal may arrive the moment the
            // trampoline is installed.
            slot.handler.store(a.sa_sigaction, Relaxed);
            slot.added_siginfo.store(a.sa_flags & libc::SA_SIGINFO == 0, Relaxed);
            let r = real::sigaction(sig, &ours, old);
            if r == 0 {
                slot.has_info.store(true, Relaxed);
            } else {
                slot.handler.store(prev.0, Relaxed);
                slot.added_siginfo.store(prev.1, Relaxed);
            }
            r
        }
    };
    if let (0, Some(old)) = (r, old.as_mut()) {
        // After an SA_RESETHAND delivery the kernel reports SIG_DFL but keeps
        // the flags we installed, our SA_SIGINFO among them.
        let reset = old.sa_sigaction == SIG_DFL && old.sa_flags & libc::SA_RESETHAND != 0;
        if old.sa_sigaction == trampoline_addr() {
            old.sa_sigaction = prev.0;
        }
        if prev.1 && (old.sa_sigaction == prev.0 || reset) {
            old.sa_flags &= !libc::SA_SIGINFO;
        }
    }
    r
}

/// signal() and its BSD and System V twins: `install` is libc's own, so its
/// flags (SA_RESTART, SA_RESETHAND, siginterrupt's choice) stay exactly
/// libc's; only the handler address is ours.
pub fn signal_via(install: unsafe fn(c_int, sighandler_t) -> sighandler_t, sig: c_int, handler: sighandler_t) -> sighandler_t {
    let Some(slot) = slot(sig).filter(|_| wraps(sig) && handler != SIG_ERR) else {
        // SAFETY: passing the program's own arguments through.
        return unsafe { install(sig, handler) };
    };
    let prev = slot.handler.load(Relaxed);
    let r = if !owns_memory() {
        // A vfork child: the slots are its parent's; install unwrapped.
        // SAFETY: passing the program's own arguments through.
        unsafe { install(sig, handler) }
    } else if is_function(handler) {
        slot.handler.store(handler, Relaxed);
        slot.has_info.store(false, Relaxed);
        // SAFETY: installs our trampoline, a valid handler for any signal.
        let r = unsafe { install(sig, trampoline_addr()) };
        if r == SIG_ERR {
            slot.handler.store(prev, Relaxed);
        } else {
            add_siginfo(sig, slot);
        }
        r
    } else {
        // SAFETY: SIG_DFL or SIG_IGN, the program's own choice.
        let r = unsafe { install(sig, handler) };
        if r != SIG_ERR {
            slot.handler.store(handler, Relaxed);
            slot.added_siginfo.store(false, Relaxed);
        }
        r
    };
    if r == trampoline_addr() {
        prev
    } else {
        r
    }
}

/// After libc's signal() installed the trampoline with its own flags
/// (SA_RESTART or not, as siginterrupt() chose), adds SA_SIGINFO to them,
/// so that the trampoline learns where each signal came from. Until then
/// has_info is false and the signal counts as the program's own.
fn add_siginfo(sig: c_int, slot: &Slot) {
    let _keep = crate::sys::ErrnoGuard::new();
    // SAFETY: sigaction is plain data; all-zero is a valid value.
    let mut cur: libc::sigaction = unsafe { core::mem::zeroed() };
    let mut added = false;
    // SAFETY: reads the disposition into a live struct, then writes back
    // the same one with one more flag.
    let ok = unsafe {
        real::sigaction(sig, core::ptr::null(), &mut cur) == 0
            && cur.sa_sigaction == trampoline_addr()
            && (cur.sa_flags & libc::SA_SIGINFO != 0 || {
                cur.sa_flags |= libc::SA_SIGINFO;
                added = true;
                real::sigaction(sig, &cur, core::ptr::null_mut()) == 0
            })
    };
    slot.added_siginfo.store(ok && added, Relaxed);
    slot.has_info.store(ok, Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_counts_only_after_its_snapshot() {
        assert!(!ran_after(None, Runs(0)), "no key: nothing known to have run");
        assert!(!ran_after(Some(0), Runs(0)), "0: never ran on this thread");
        assert!(ran_after(Some(5), Runs(4)));
        assert!(!ran_after(Some(4), Runs(4)), "the run the snapshot already counted");
        assert!(!ran_after(Some(3), Runs(4)));
        // Across the counter's wrap (32-bit usize, or a very long life).
        assert!(ran_after(Some(2), Runs(usize::MAX - 1)));
        assert!(!ran_after(Some(usize::MAX - 1), Runs(2)));
    }

    #[test]
    fn the_trampoline_notes_runs_on_its_own_thread_only() {
        assert!(init(), "the test binary has pthread keys to spare");
        let first = runs();
        // SIGWINCH is not in the default pass set, and no settings are
        // loaded here: the trampoline then counts every signal as passing.
        trampoline(libc::SIGWINCH, core::ptr::null_mut(), core::ptr::null_mut());
        assert!(interrupts_since(first, Restart::ByKernel));
        assert_eq!(resumable(first, first, Restart::ByKernel), None, "a passing run forbids resuming");
        let on_other = std::thread::spawn(move || interrupts_since(first, Restart::Never)).join().unwrap();
        assert!(!on_other, "another thread saw this thread's run");
    }
}
