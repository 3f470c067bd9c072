//! sockfix: run programs with libsockfix.so, show the settings they would
//! get, install the library for one systemd service or for the whole host,
//! and audit which connections on the host are protected. See sockfix(1).
//!
//! Map: `cli` the command line (clap); `options` the setting options;
//! `settings`, `matching`, `sockaddr`, `sys` the library's own modules,
//! compiled in from ../src (the same source files: one parser), with `real`
//! standing for the library's table of libc's functions; `library`
//! where the library is; `check` the settings a program would get, judged
//! by the library's parser; one module per subcommand: `run`, `config`,
//! `status`, `preload`, `systemd`, `audit`, `bpf` (the eBPF
//! companion), `completions`.

extern crate alloc;

#[path = "../../src/matching.rs"]
#[allow(dead_code)]
mod matching;
#[path = "../../src/settings/mod.rs"]
#[allow(dead_code)]
mod settings;
#[path = "../../src/sockaddr.rs"]
#[allow(dead_code)]
mod sockaddr;
/// What the library reaches through its table of libc's functions
/// (src/real.rs) for the modules compiled in here; in the command, plain
/// libc.
#[allow(dead_code)]
mod real {
    use libc::c_long;
    pub use libc::{__errno_location, clock_gettime, fstat, getauxval, strerror};

    /// libc's variadic syscall() with every argument given.
    pub unsafe fn syscall(n: c_long, a: c_long, b: c_long, c: c_long, d: c_long, e: c_long, f: c_long) -> c_long {
        libc::syscall(n, a, b, c, d, e, f)
    }
}
#[path = "../../src/sys.rs"]
#[allow(dead_code)]
mod sys;

mod audit;
mod bpf;
mod check;
mod cli;
mod completions;
mod config;
mod library;
mod options;
mod preload;
mod run;
mod status;
mod systemd;

fn main() -> std::process::ExitCode {
    cli::main()
}
