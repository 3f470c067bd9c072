//! The exported functions that stand in for libc's. Each is a thin door into
//! the module that owns its concern; all of them pass straight through when
//! the settings are not loaded yet (a call from another library's
//! constructor) or the fd is not a TCP socket.
//!
//! Compiled out of unit tests: the test binary would interpose itself.

mod fd;
mod io;
#[cfg(target_arch = "x86_64")]
mod io_x86_64;
mod signal;
mod socket;
mod wait;
