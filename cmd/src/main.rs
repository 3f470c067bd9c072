//! sockfix: run programs with libsockfix.so, show the settings they would
//! get, install the library for one systemd service or for the whole host,
//! and audit which connections on the host are protected. See sockfix(1).
//!
//! Map: `cli` the command line (clap); `options` the setting options;
//! `settings`, `matching`, `sockaddr`, `sys` the library's own modules,
//! compiled in from ../src (the same source files: one parser); `library`
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
