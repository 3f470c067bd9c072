//! sockfix: an LD_PRELOAD library that mends the TCP behaviour of programs
//! nobody can change. See README.md for what it does and how to use it.
//!
//! Map of the crate:
//! - `settings`: keys, defaults, the config file and the environment.
//! - `real`: libc's functions behind the hooks, resolved in the constructor.
//! - `fdtable`: what is known about each fd, readable without a syscall.
//! - `hooks`: the exported stand-ins for libc's functions.
//! - `sockopt`, `connect_timeout`: what is done to a connection.
//! - `resume`, `signals`: resuming calls a signal interrupted.
//! - `log`, `sockaddr`, `sys`: logging, addresses, raw syscalls.

mod connect_timeout;
mod fdtable;
mod log;
mod real;
mod resume;
mod settings;
mod signals;
mod sockaddr;
mod sockopt;
mod sys;

#[cfg(not(test))]
mod hooks;

use once_cell::sync::OnceCell;
use settings::Settings;

static SETTINGS: OnceCell<Settings> = OnceCell::new();

/// The settings, once the constructor has loaded them. Until then every hook
/// passes straight through to libc.
#[inline(always)]
pub(crate) fn settings_ready() -> Option<&'static Settings> {
    SETTINGS.get()
}

/// Runs when the library is loaded, before the program's main(): resolves
/// libc's functions first (reading the config file goes through our own
/// read hook), then loads the settings. Runs once per process image; a
/// forked child inherits the result.
extern "C" fn constructor() {
    let _keep = sys::ErrnoGuard::new();
    real::resolve_all();
    let (settings, warnings) = settings::load();
    if settings.log == settings::LogTarget::Stderr {
        log::remember_stderr();
    }
    for warning in &warnings {
        log::warn(&settings.log, warning);
    }
    let _ = SETTINGS.set(settings);
}

#[cfg(not(test))]
#[used]
#[link_section = ".init_array"]
static CONSTRUCTOR: extern "C" fn() = constructor;
