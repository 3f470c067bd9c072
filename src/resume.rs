//! Resuming socket calls and waits that a signal interrupted, as SA_RESTART
//! would have (a SIGWINCH or logrotate's SIGHUP must not turn into
//! "Lost connection to MySQL server during query").
//!
//! Fast path: one fd-table load and one compare; fds not marked HOOKED
//! (anything but a TCP socket) go straight to libc. On a TCP fd, the
//! process-wide count of handler runs is read before the call, whether or
//! not the program has a handler yet: one installed by another
//! thread while the call blocks must still find it resumable. Only after an
//! EINTR does anything else happen, and then the fd is first re-checked with
//! a syscall, so a reused fd number is never resumed.

use crate::fdtable;
use crate::idle;
use crate::log::Peer;
use crate::settings::values::signal_name;
use crate::signals::{self, Restart, Runs};
use crate::sys::{self, ErrnoGuard};
use core::marker::PhantomData;
use libc::c_int;

#[derive(Clone, Copy)]
pub enum Dir {
    Read,
    Write,
    /// A blocking connect: called again, the kernel goes on waiting for the
    /// same attempt (or reports how it ended), exactly as SA_RESTART does.
    Connect,
}

impl Dir {
    /// The socket timeout that bounds the call, what to wait for, and the
    /// errno the kernel gives when that timeout fires.
    fn timeout(self) -> (c_int, libc::c_short, c_int) {
        match self {
            Dir::Read => (libc::SO_RCVTIMEO, libc::POLLIN, libc::EAGAIN),
            Dir::Write => (libc::SO_SNDTIMEO, libc::POLLOUT, libc::EAGAIN),
            Dir::Connect => (libc::SO_SNDTIMEO, libc::POLLOUT, libc::EINPROGRESS),
        }
    }

    /// The fd-table flag that says the program set that timeout.
    fn timeout_flag(self) -> u32 {
        match self {
            Dir::Read => fdtable::APP_RCVTIMEO,
            Dir::Write | Dir::Connect => fdtable::APP_SNDTIMEO,
        }
    }
}

pub fn eintr_enabled() -> bool {
    crate::settings_ready().is_some_and(|s| s.eintr)
}

/// A read or write to make (again after EINTR), as the out-of-line paths
/// get it: the closure's address and a function that calls it. This is what
/// `&mut dyn FnMut() -> isize` would be, without a vtable: a vtable is a
/// table of function pointers that the loader relocates in every process
/// at start-up, two for each of the 15 hooks that come here.
pub struct Call<'a> {
    closure: *mut (),
    run: unsafe fn(*mut ()) -> isize,
    _borrow: PhantomData<&'a mut ()>,
}

impl<'a> Call<'a> {
    #[inline(always)]
    fn new<F: FnMut() -> isize>(f: &'a mut F) -> Call<'a> {
        unsafe fn run<F: FnMut() -> isize>(closure: *mut ()) -> isize {
            // SAFETY: `closure` is the `&mut F` given to `new`, borrowed
            // (exclusively) for as long as the Call lives.
            (*(closure as *mut F))()
        }
        Call { closure: f as *mut F as *mut (), run: run::<F>, _borrow: PhantomData }
    }

    #[inline(always)]
    fn call(&mut self) -> isize {
        // SAFETY: `run` is the function made for the closure's type, see new.
        unsafe { (self.run)(self.closure) }
    }
}

/// A call in progress on the fast path: the handler-run count taken
/// before it and the hook's arguments, which is all a resume needs. Laid
/// out as the x86_64 hooks push it (hooks/io_x86_64.rs): the count, then
/// one 8-byte word per argument, fd first (x86_64 is little-endian: the
/// fd is the low half of its word), where `args` is the hook's own
/// `#[repr(C)]` struct of words; resume::io's `args` is the hook's tuple.
#[repr(C)]
pub struct Pending<A> {
    first: Runs,
    fd: c_int,
    args: A,
}

/// Whether a read or write on an fd whose entry is `entry` (at least
/// `fdtable::HOOKED`, the hook's compare) takes the checked path,
/// `io_with_checks`, rather than `io`. Given HOOKED this is the sign bit,
/// CHECKED; written as the same compare as the hook's, one instruction
/// sets the flags for both.
#[inline(always)]
pub fn checked(entry: u32) -> bool {
    (entry as i32) < fdtable::HOOKED as i32
}

/// A read or write (or connect) on `fd`, whichever way its entry says:
/// straight to libc, `io_with_checks` or `io`. For the hooks that do more
/// than the call (recvmsg, sendto, sendmsg, connect); the plain ones are
/// shaped apart (hooks/io.rs, io_hook!).
#[inline(always)]
pub fn dispatch<A: Copy>(fd: c_int, dir: Dir, what: &'static str, args: A, call: fn(c_int, A) -> isize) -> isize {
    let entry = fdtable::hot(fd);
    if entry < fdtable::HOOKED {
        call(fd, args)
    } else if checked(entry) {
        io_with_checks(fd, dir, what, args, call)
    } else {
        io(fd, dir, what, args, call)
    }
}

/// Runs a read or write on a TCP `fd` that has no checks (`checked` is
/// false): `call` makes the call to libc with `args` (the
/// hook's arguments), resumed after EINTR.
///
/// Inlined into each hook, and shaped for its instruction count, since
/// every read of a TCP connection comes here: a store for each
/// argument and for the handler-run count, the call and a sign test; a
/// failure costs a compare more unless a handler of ours ran meanwhile.
/// `call` captures nothing. The arguments and the count are kept in memory
/// across the call (`Pending`), not in registers saved across it (a push, a
/// move and a pop each): `failed` takes the Pending's address, so the
/// optimiser must write it before any call, and the count is read back
/// from it (a volatile read) rather than kept in a register. On x86_64
/// the plain read and write hooks do the same in assembly, three
/// instructions shorter (hooks/io_x86_64.rs); this serves the others
/// there, and every hook elsewhere.
#[inline(always)]
pub fn io<A: Copy>(fd: c_int, dir: Dir, what: &'static str, args: A, call: fn(c_int, A) -> isize) -> isize {
    let pending = Pending { first: signals::runs(), fd, args };
    let r = call(fd, args);
    // A failure with no handler of ours run since the call began has
    // nothing to resume and, logging being off (no CHECKED), nothing to
    // say: errno is not even asked.
    // SAFETY: a read of a live local through a reference to it.
    if r >= 0 || signals::none_since(unsafe { core::ptr::read_volatile(&pending.first) }) {
        return r;
    }
    failed(dir, what, &pending, r, call)
}

/// After a failed call: resumes it after EINTR, notes a timeout. Also the
/// x86_64 hooks' failure path, given the block they pushed as `pending`.
#[inline(never)]
pub fn failed<A: Copy>(dir: Dir, what: &str, pending: &Pending<A>, r: isize, call: fn(c_int, A) -> isize) -> isize {
    let fd = pending.fd;
    match sys::errno() {
        libc::EINTR => resume(fd, dir, what, None, pending.first, r, Call::new(&mut || call(fd, pending.args))),
        libc::ETIMEDOUT => timed_out(fd, what, r),
        _ => r,
    }
}

/// A keepalive or user timeout ended the connection: say which (when
/// logging is on). Out of line: the fast path does not grow.
#[cold]
#[inline(never)]
fn timed_out(fd: c_int, what: &str, r: isize) -> isize {
    crate::timed_out::note(fd, what);
    r
}

/// `io` for an fd with checks (CHECKED): the idle check before a write on
/// a connection that has one, the start time of a call bounded by the
/// program's socket timeout, the log of a timeout. It reads the entry
/// again itself, so that a hook can jump here with its own arguments. An
/// fd with no entry (one that read another's, see fdtable::hot) gets the
/// resume alone.
#[inline(never)]
pub fn io_with_checks<A: Copy>(fd: c_int, dir: Dir, what: &str, args: A, call: fn(c_int, A) -> isize) -> isize {
    let entry = fdtable::get(fd);
    let mut again = || call(fd, args);
    let mut call = Call::new(&mut again);
    let idle_check = entry & fdtable::IDLE_CHECK != 0;
    if idle_check && matches!(dir, Dir::Write) && idle::peer_gone(fd, entry) {
        sys::set_errno(libc::EPIPE);
        return -1;
    }
    // SO_RCVTIMEO/SO_SNDTIMEO must still fire on time, so when the program
    // set one, note when the call started.
    let start = (entry & dir.timeout_flag() != 0 && eintr_enabled()).then(sys::monotonic_ms);
    let first = signals::runs();
    let mut r = call.call();
    if r < 0 {
        match sys::errno() {
            libc::EINTR => r = resume(fd, dir, what, start, first, r, call),
            libc::ETIMEDOUT => r = timed_out(fd, what, r),
            _ => {}
        }
    }
    if idle_check && r > 0 {
        idle::touch(fd);
    }
    r
}

/// After an EINTR (`r`): calls again for as long as the verdict is to
/// resume, and returns what the program is to see.
#[cold]
#[inline(never)]
fn resume(fd: c_int, dir: Dir, what: &str, start: Option<u64>, first: Runs, mut r: isize, mut call: Call) -> isize {
    if !eintr_enabled() {
        return r;
    }
    // Read now: a handler that runs later, on our way back, finds EINTR.
    let errno_before = signals::errno_at_run();
    let mut before = first;
    loop {
        let verdict = {
            let _keep = ErrnoGuard::new();
            decide(fd, dir, start, first, before)
        };
        match verdict {
            Verdict::Return => return r,
            Verdict::TimedOut => {
                sys::set_errno(dir.timeout().2);
                return -1;
            }
            Verdict::Resume(sig) => log_resumed(fd, what, sig),
        }
        before = signals::runs();
        r = call.call();
        if r < 0 && sys::errno() == libc::ETIMEDOUT {
            return timed_out(fd, what, r);
        }
        if r >= 0 {
            return succeeded(r, errno_before);
        }
        if sys::errno() != libc::EINTR {
            return r;
        }
    }
}

/// A resumed call that succeeded (`r`) leaves errno as it was before the
/// first attempt (`errno_before`, signals::errno_at_run), as the kernel's
/// restart would, not the EINTR of the attempt that failed.
fn succeeded<T>(r: T, errno_before: Option<c_int>) -> T {
    if let Some(e) = errno_before {
        sys::set_errno(e);
    }
    r
}

enum Verdict {
    Return,
    TimedOut,
    Resume(c_int),
}

fn decide(fd: c_int, dir: Dir, start: Option<u64>, first: Runs, before: Runs) -> Verdict {
    // Without a syscall first: a call the kernel restarts is the most a
    // signal can let resume (Restart::Never resumes a subset of it), so a
    // signal that must interrupt costs no getsockopt.
    if signals::resumable(first, before, Restart::ByKernel).is_none() || !sys::is_tcp_socket(fd) {
        return Verdict::Return;
    }
    let (option, events, _) = dir.timeout();
    let timeout = sys::socket_timeout_ms(fd, option).filter(|&t| t != 0);
    // The kernel restarts a call with no socket timeout after a handler
    // with SA_RESTART, never one with a timeout.
    let restart = if timeout.is_none() { Restart::ByKernel } else { Restart::Never };
    let Some(sig) = signals::resumable(first, before, restart) else {
        return Verdict::Return;
    };
    match (timeout, start) {
        (None, _) => Verdict::Resume(sig),
        // A timeout we did not see being set: we cannot tell how much is left.
        (Some(_), None) => Verdict::Return,
        (Some(timeout), Some(start)) => wait_out(fd, events, timeout, start, first, sig),
    }
}

/// Waits out the rest of a socket timeout here, because the resumed call
/// would restart the socket's full timeout: resume once the fd is ready,
/// time out when the rest has passed, give up on a passing signal.
fn wait_out(fd: c_int, events: libc::c_short, timeout: u64, start: u64, first: Runs, sig: c_int) -> Verdict {
    loop {
        let left = timeout.saturating_sub(sys::monotonic_ms().saturating_sub(start));
        if left == 0 {
            return Verdict::TimedOut;
        }
        match sys::wait_fd(fd, events, left) {
            0 => return Verdict::TimedOut,
            n if n > 0 => return Verdict::Resume(sig),
            _ if sys::errno() != libc::EINTR => return Verdict::Resume(sig),
            _ if signals::interrupts_since(first, Restart::Never) => return Verdict::Return,
            _ => continue,
        }
    }
}

fn log_resumed(fd: c_int, what: &str, sig: c_int) {
    if crate::log::target().is_some() {
        let mut peer: libc::sockaddr_storage = unsafe { core::mem::zeroed() };
        let _keep = ErrnoGuard::new();
        sys::socket_peer(fd, &mut peer);
        crate::log!("fd {fd} ({}): {what} interrupted by SIG{}, resumed", Peer(&peer), signal_name(sig));
    }
}

/// How long a resumed wait may still take.
#[derive(Clone, Copy)]
pub enum Left {
    /// The first attempt: the caller's own timeout, exactly as given.
    Original,
    /// A resumed attempt: what is left of the caller's timeout.
    Ms(u64),
}

/// Runs a wait (poll, select, ...) whose timeout is `timeout_ms` (None: no
/// limit), resuming it after EINTR when `includes_tcp` says it waits on a
/// TCP socket. Returns None when the caller's timeout ran out during a
/// resume: the caller then reports a plain timeout.
pub fn wait(
    timeout_ms: Option<u64>,
    includes_tcp: impl Fn() -> bool,
    what: &str,
    mut call: impl FnMut(Left) -> c_int,
) -> Option<c_int> {
    if !eintr_enabled() || timeout_ms == Some(0) {
        return Some(call(Left::Original));
    }
    let start = timeout_ms.map(|_| sys::monotonic_ms());
    let first = signals::runs();
    let mut left = Left::Original;
    let mut errno_before = None;
    loop {
        let before = signals::runs();
        let r = call(left);
        if r >= 0 {
            return Some(succeeded(r, errno_before));
        }
        if sys::errno() != libc::EINTR {
            return Some(r);
        }
        // Read now: a handler that runs later, on our way back, finds EINTR.
        let at_run = signals::errno_at_run();
        let Some(sig) = signals::resumable(first, before, Restart::Never) else {
            return Some(r);
        };
        if !{
            let _keep = ErrnoGuard::new();
            includes_tcp()
        } {
            return Some(r);
        }
        errno_before = errno_before.or(at_run);
        if let (Some(timeout), Some(start)) = (timeout_ms, start) {
            let spent = sys::monotonic_ms().saturating_sub(start);
            if spent >= timeout {
                // The caller reports a plain timeout: a success too.
                return succeeded(None, errno_before);
            }
            left = Left::Ms(timeout - spent);
        }
        crate::log!("{what} interrupted by SIG{}, resumed", signal_name(sig));
    }
}

/// Whether `fd` is a TCP socket by the table and, right now, by the kernel.
pub fn is_tcp(fd: c_int) -> bool {
    fdtable::get(fd) & fdtable::TCP != 0 && sys::is_tcp_socket(fd)
}
