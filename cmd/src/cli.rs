//! The command line (clap, derive): the setting options and COMMAND for
//! running a program, and the subcommands. Each subcommand's own options
//! live in its module (`XArgs`), with its `run(args, library)`.

use crate::{audit, config, options::SettingArgs, preload, status, systemd};
use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "sockfix", version, about = "Run programs with libsockfix.so; install it for a service or the whole host")]
pub struct Cli {
    #[command(flatten)]
    pub settings: SettingArgs,
    /// The library to load (default: $SOCKFIX_LIBRARY, the package's, /usr/local/lib, the build tree)
    #[arg(long, value_name = "PATH", global = true)]
    pub library: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The program to run, and its arguments
    #[arg(value_name = "COMMAND", trailing_var_arg = true, allow_hyphen_values = true)]
    pub program: Vec<OsString>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the settings the library would use here, and where each came from
    Config(config::ConfigArgs),
    /// List running processes that have the library loaded
    Status(status::StatusArgs),
    /// Enable, disable or check the global install (/etc/ld.so.preload)
    Preload(preload::PreloadArgs),
    /// Write (or --remove) a systemd drop-in that runs UNIT with the library
    Systemd(systemd::SystemdArgs),
    /// Which established TCP connections on this host are protected, and why not
    Audit(audit::AuditArgs),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let library = cli.library.as_deref();
    match cli.command {
        Some(Command::Config(a)) => config::run(a, library),
        Some(Command::Status(a)) => status::run(a, library),
        Some(Command::Preload(a)) => preload::run(a, library),
        Some(Command::Systemd(a)) => systemd::run(a, library),
        Some(Command::Audit(a)) => audit::run(a, library),
        None => crate::run::run(&cli.settings, cli.program, library),
    }
}
