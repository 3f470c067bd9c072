//! Whose signal was it: a signal from outside the process (another
//! process, or the kernel for an outside event such as a terminal resize)
//! is what the EINTR stories are about, and its interruption may be
//! resumed. A signal the process sent itself or one of its threads
//! (`raise`, `kill(getpid())`, `pthread_kill`, `sigqueue` to itself), or
//! that its own timers, limits, children or fd notifications raised, is a
//! deliberate wake-up: it interrupts exactly as without the library.
//!
//! Decided from the handler's `siginfo_t` (sigaction(2), "The siginfo_t
//! argument to a SA_SIGINFO handler"):
//!
//! | `si_code` | raised by | origin |
//! |---|---|---|
//! | `SI_USER`, `SI_QUEUE`, `SI_TKILL` | `kill`, `sigqueue`, `tgkill`/`pthread_kill`/`raise` | `si_pid` is the sender: the process itself when it is ours, else outside (0: a sender outside our PID namespace) |
//! | `SI_TIMER`, `SI_MESGQ`, `SI_ASYNCIO`, `SI_SIGIO`, `SI_ASYNCNL`, `SI_DETHREAD` | the process's timers, message-queue notifications, AIO, queued SIGIO, `getaddrinfo_a`, an exec in another thread | the process |
//! | `SI_KERNEL` | `SIGALRM`/`SIGVTALRM`/`SIGPROF` (`alarm`, `setitimer`), `SIGXCPU`/`SIGXFSZ` (its limits), `SIGIO`/`SIGURG` (an fd it owns), `SIGTTIN`/`SIGTTOU` (its own terminal I/O), `SIGPIPE` | the process |
//! | `SI_KERNEL` | anything else: `SIGWINCH` on a terminal resize, `SIGHUP` on hangup, `SIGINT`/`SIGQUIT`/`SIGTSTP` typed at the terminal, `SIGCONT` | outside |
//! | > 0 | signal-specific codes: `SIGCHLD` (`CLD_*`: its own child), `SIGIO` with `F_SETSIG` (`POLL_*`) | the process |
//!
//! Fault signals (SIGSEGV, SIGBUS, ...) never get here: they are not
//! wrapped (see `signals`).

use libc::c_int;

/// `si_code` values (include/uapi/asm-generic/siginfo.h); the libc crate
/// does not export them all.
const SI_USER: c_int = 0;
const SI_KERNEL: c_int = 0x80;
const SI_QUEUE: c_int = -1;
const SI_TKILL: c_int = -6;

/// Signals the kernel raises (`SI_KERNEL`) for the process's own doing.
const OWN_KERNEL_SIGNALS: [c_int; 10] = [
    libc::SIGALRM,
    libc::SIGVTALRM,
    libc::SIGPROF,
    libc::SIGXCPU,
    libc::SIGXFSZ,
    libc::SIGIO,
    libc::SIGURG,
    libc::SIGTTIN,
    libc::SIGTTOU,
    libc::SIGPIPE,
];

/// Whether signal `sig`, delivered with `si_code` `code` and `si_pid`
/// `sender`, came from outside the process whose pid is `own_pid`.
pub fn from_outside(sig: c_int, code: c_int, sender: c_int, own_pid: c_int) -> bool {
    match code {
        SI_USER | SI_QUEUE | SI_TKILL => sender != own_pid,
        SI_KERNEL => !OWN_KERNEL_SIGNALS.contains(&sig),
        _ => false,
    }
}

/// The same, read from a `siginfo_t` the kernel filled (SA_SIGINFO).
///
/// # Safety
/// `info` is null or points to the `siginfo_t` of the signal being handled.
pub unsafe fn info_from_outside(sig: c_int, info: *const libc::siginfo_t) -> bool {
    let Some(info) = info.as_ref() else {
        return false;
    };
    // `si_pid` sits in a union; for the codes that carry a sender it is
    // valid, and for the others from_outside does not look at it.
    from_outside(sig, info.si_code, info.si_pid(), crate::sys::getpid())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: c_int = 4242;
    const OTHER: c_int = 77;

    #[test]
    fn sent_by_another_process_is_outside() {
        for code in [SI_USER, SI_QUEUE, SI_TKILL] {
            assert!(from_outside(libc::SIGUSR1, code, OTHER, ME), "code {code}");
            assert!(from_outside(libc::SIGHUP, code, 0, ME), "code {code}: a sender outside our PID namespace");
        }
    }

    #[test]
    fn sent_by_the_process_itself_is_not() {
        for code in [SI_USER, SI_QUEUE, SI_TKILL] {
            assert!(!from_outside(libc::SIGUSR1, code, ME, ME), "code {code}");
        }
        assert!(!from_outside(libc::SIGPIPE, SI_USER, ME, ME), "SIGPIPE from its own write");
    }

    #[test]
    fn kernel_signals_by_what_raised_them() {
        assert!(from_outside(libc::SIGWINCH, SI_KERNEL, 0, ME), "terminal resize");
        assert!(from_outside(libc::SIGHUP, SI_KERNEL, 0, ME), "terminal hangup");
        for own in [libc::SIGALRM, libc::SIGVTALRM, libc::SIGPROF, libc::SIGIO, libc::SIGURG, libc::SIGXCPU, libc::SIGTTOU] {
            assert!(!from_outside(own, SI_KERNEL, 0, ME), "signal {own}");
        }
    }

    #[test]
    fn the_process_own_events_are_not() {
        for code in [-2, -3, -4, -5, -7, -60] {
            assert!(!from_outside(libc::SIGUSR2, code, 0, ME), "code {code}");
        }
        assert!(!from_outside(libc::SIGCHLD, 1, OTHER, ME), "CLD_EXITED: its own child");
        assert!(!from_outside(libc::SIGRTMIN() + 1, 1, 65, ME), "POLL_IN with F_SETSIG");
    }
}
