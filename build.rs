//! Link flags of the library (the cdylib only; the unit tests and the
//! sockfix command are not affected):
//! - `-nostartfiles`: no C start files (crti.o, crtbeginS.o, crtendS.o,
//!   crtn.o). They add nothing a Rust cdylib uses and cost every process on
//!   a global install four symbol lookups at start-up (`__gmon_start__`,
//!   `_ITM_registerTMCloneTable`, `_ITM_deregisterTMCloneTable`, never
//!   found, and `__cxa_finalize`), about 4,000 instructions. What crtbeginS.o
//!   did that the library needs (a handle for __register_atfork) is in
//!   src/runtime.rs.
//! - `-z nodelete`: the library is never unloaded (a dlclose() leaves it
//!   mapped). Its signal trampolines stay installed in the kernel and its
//!   fork handlers registered for the life of the process; unmapping them
//!   would crash the program at the next signal or fork.
//! - `-fuse-ld=bfd`: GNU ld, as with Rust before 1.90 (which then made its
//!   own lld the default on x86_64 Linux). lld gives the RELRO part of the
//!   data its own segment and pads it to a page with a section the loader
//!   zeroes at every start (`.relro_padding`, about 4 KB); GNU ld puts
//!   RELRO and the data in one segment. About 600 instructions at every
//!   start (scripts/bench, start-up of /bin/true), the same RSS.
fn main() {
    println!("cargo:rustc-cdylib-link-arg=-nostartfiles");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
    println!("cargo:rustc-cdylib-link-arg=-fuse-ld=bfd");
    println!("cargo:rerun-if-changed=build.rs");
}
