//! sockfix: an LD_PRELOAD library that mends the TCP behaviour of programs
//! nobody can change. See README.md for what it does and how to use it.
//!
//! Map of the crate:
//! - `settings`: keys, defaults, the config file and the environment.
//! - `matching`: destination lists and program names.
//! - `real`: libc's functions behind the hooks, resolved in the constructor;
//!   `dynsym`: the one pass over the link map and libc's symbol table that
//!   finds them.
//! - `fdtable`: what is known about each fd, readable without a syscall.
//! - `hooks`: the exported stand-ins for libc's functions (on x86_64 the
//!   read and write hooks' fast path is assembly: `hooks/io_x86_64.rs`).
//! - `sockopt`, `connect_timeout`, `source`, `idle`: what is done to a
//!   connection (options, bounded connect, source address and port, the
//!   idle check before writes).
//! - `resume`, `signals`, `origin`: resuming calls a signal from outside
//!   the process interrupted.
//! - `timed_out`: the log line saying which timer ended a connection.
//! - `section`: the library's own work that changes what a program could
//!   see, made invisible on every way out of a hooked call.
//! - `log`, `sockaddr`, `sys`: logging, addresses, raw syscalls.
//! - `runtime`: what a no_std cdylib provides itself (heap, panic, libc link,
//!   string functions, what the C start files would have given).

// No Rust std: it would cost every process on a global install an extra
// library (libgcc_s), thousands of relocations and ~70k instructions at
// start-up. `alloc` (over a bump allocator, runtime.rs) serves the
// settings, built once in the constructor; hooks never allocate.
#![cfg_attr(not(test), no_std)]
// Unit tests compile the hooks out (the test binary would interpose
// itself), which leaves much of the library unused there.
#![cfg_attr(test, allow(dead_code))]

extern crate alloc;

mod runtime;

mod connect_timeout;
mod dynsym;
mod fdtable;
mod idle;
mod log;
mod matching;
mod origin;
mod real;
mod resume;
mod section;
mod settings;
mod signals;
mod sockaddr;
mod sockopt;
mod source;
mod sys;
mod timed_out;

#[cfg(not(test))]
mod hooks;

use alloc::boxed::Box;
use libc::{c_char, c_int};
use once_cell::race::OnceBox;
use settings::Settings;

static SETTINGS: OnceBox<Settings> = OnceBox::new();

/// The settings, once the constructor has loaded them and if the library is
/// to act in this program at all. Until then, or when SOCKFIX_PROGRAMS /
/// SOCKFIX_SKIP_PROGRAMS leave the program out, every hook passes straight
/// through to libc.
#[inline(always)]
pub(crate) fn settings_ready() -> Option<&'static Settings> {
    SETTINGS.get().filter(|s| s.active)
}

/// Whether the constructor has run (whatever the program scope says).
pub(crate) fn loaded() -> Option<&'static Settings> {
    SETTINGS.get()
}

/// Runs when the library is loaded, before the program's main(): resolves
/// libc's functions first (reading the config file goes through our own
/// read hook), then loads the settings. Runs once per process image; a
/// forked child inherits the result. glibc passes main's argc, argv and
/// envp to these functions (envp: the environment as the process started,
/// read here instead of importing `environ`).
extern "C" fn constructor(argc: c_int, argv: *const *const c_char, envp: *const *const c_char) {
    // First of all: errno itself is one of the functions resolved (which
    // keeps errno as it was).
    real::resolve_all();
    let _keep = sys::ErrnoGuard::new();
    let notes = signals::init();
    // What pthread_atfork() does (it is in libc_nonshared.a, and would need
    // crtbeginS.o's __dso_handle): register the handlers under this
    // library's handle. The library is never unloaded (linked -z nodelete,
    // build.rs), so they are never unregistered.
    // SAFETY: registers handlers with no preconditions.
    unsafe {
        real::__register_atfork(
            Some(section::fork_prepare as unsafe extern "C" fn()),
            Some(section::fork_done as unsafe extern "C" fn()),
            Some(fork_child as unsafe extern "C" fn()),
            runtime::dso_handle(),
        )
    };
    // SAFETY: glibc passes the program's argv, argc entries long; each is
    // null or a NUL-terminated string.
    let argv0 = unsafe { (argc > 0 && !argv.is_null() && !(*argv).is_null()).then(|| core::ffi::CStr::from_ptr(*argv)) };
    let (settings, mut warnings) = settings::load(argv0.and_then(|a| a.to_str().ok()), envp);
    source::note_kernel_range(settings.conn.ports.is_some() || settings.profiles.iter().any(|p| p.conn.ports.is_some()));
    if !notes && settings.eintr {
        warnings.push("no pthread key left among the first 32 (the program took them): EINTR is not resumed".into());
    }
    if settings.log == settings::LogTarget::Stderr {
        log::remember_stderr();
    }
    if settings.active {
        for warning in &warnings {
            log::warn(&settings.log, warning);
        }
    }
    if settings.active && settings.log != settings::LogTarget::Off {
        fdtable::set_tcp_marks(fdtable::LOGGED);
    }
    let _ = SETTINGS.set(Box::new(settings));
}

/// In every fork child (glibc runs it; vfork and raw clone do not).
extern "C" fn fork_child() {
    signals::renew_owner();
    section::fork_child_done();
}

#[cfg(not(test))]
#[used]
#[link_section = ".init_array"]
static CONSTRUCTOR: extern "C" fn(c_int, *const *const c_char, *const *const c_char) = constructor;
