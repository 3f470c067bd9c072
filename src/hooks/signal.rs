//! sigaction and the signal() family: handlers are wrapped so the library
//! knows which signal interrupted a call (signals.rs).

use crate::{real, signals};
use libc::{c_int, sighandler_t};

#[no_mangle]
pub unsafe extern "C" fn sigaction(sig: c_int, act: *const libc::sigaction, old: *mut libc::sigaction) -> c_int {
    signals::sigaction(sig, act, old)
}

#[no_mangle]
pub unsafe extern "C" fn signal(sig: c_int, handler: sighandler_t) -> sighandler_t {
    signals::signal_via(real::signal, sig, handler)
}

#[no_mangle]
pub unsafe extern "C" fn bsd_signal(sig: c_int, handler: sighandler_t) -> sighandler_t {
    signals::signal_via(real::bsd_signal, sig, handler)
}

#[no_mangle]
pub unsafe extern "C" fn sysv_signal(sig: c_int, handler: sighandler_t) -> sighandler_t {
    signals::signal_via(real::sysv_signal, sig, handler)
}

/// What `signal()` becomes in programs built in strict ISO C mode.
#[no_mangle]
pub unsafe extern "C" fn __sysv_signal(sig: c_int, handler: sighandler_t) -> sighandler_t {
    signals::signal_via(real::__sysv_signal, sig, handler)
}
