//! The command line (clap, derive): the setting options and COMMAND for
//! running a program, and the subcommands. Each subcommand's own options
//! live in its module (`XArgs`), with its `run(args, library)`.
//!
//! A subcommand is recognised only as the first word: once an option has
//! been given (`sockfix --keepalive 7 config`), or after `--`, every word is
//! COMMAND and its arguments, as sockfix(1) says ("options stop at the first
//! word that is not one").

use crate::{
    audit, bpf, completions, config,
    options::{ForceArg, SettingArgs},
    preload, status, systemd,
};
use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit status for sockfix's own errors when it was to run a command (as
/// env(1), nice(1) and timeout(1) do: sockfix failing can be told from the
/// command failing).
pub const RUN_ERROR: u8 = 125;
/// Exit status for a usage error of a subcommand.
pub const USAGE_ERROR: u8 = 2;

const USAGE: &str = "sockfix [OPTIONS] [--] COMMAND [ARGS...]
       sockfix config [OPTIONS]
       sockfix status
       sockfix preload enable|disable|status [--library PATH] [--allow-missing-abi]
       sockfix systemd UNIT [OPTIONS] [--root DIR] [--remove] [--print] [--bpf]
       sockfix audit [OPTIONS]
       sockfix bpf enable [OPTIONS] [--cgroup PATH | --unit NAME | --own-cgroup]
       sockfix bpf disable [--cgroup PATH | --unit NAME | --own-cgroup | --all]
       sockfix bpf status
       sockfix completions bash|zsh
       sockfix help [SUBCOMMAND]";

const ABOUT: &str = "Run COMMAND with libsockfix.so preloaded (put in front of any LD_PRELOAD), so that its TCP \
connections get keepalive and timeouts, and its socket reads survive signals. Each option sets the SOCKFIX_ variable \
named after it; the others keep their value from the environment or /etc/sockfix.conf. Before COMMAND runs, every \
setting it would get (options, environment, config file) is checked by the library's own parser: one the library would \
refuse or ignore is an error, and nothing is run.";

const AFTER: &str = "Durations: 30, 30s, 500ms, 5m, 1h; a bare number is seconds. To run a program named like a \
subcommand: sockfix -- NAME.

Exit status: COMMAND's own; 125 when sockfix itself fails (a bad option or setting, no library); 126 when COMMAND \
cannot be run, 127 when it is not found. The subcommands: 0, 1 on failure, 2 on a usage error.
See sockfix(1), sockfix.conf(5), libsockfix(7).";

#[derive(Parser, Debug)]
#[command(
    name = "sockfix",
    version,
    about = "Run programs with libsockfix.so; install it for a service or the whole host",
    long_about = ABOUT,
    override_usage = USAGE,
    after_help = AFTER,
    subcommand_value_name = "SUBCOMMAND",
    subcommand_help_heading = "Subcommands",
    args_conflicts_with_subcommands = true,
    arg_required_else_help = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: SettingArgs,
    #[command(flatten)]
    pub force: ForceArg,
    /// The library to load (default: $SOCKFIX_LIBRARY, the package's, /usr/local/lib, the build tree)
    #[arg(long, value_name = "PATH", global = true, help_heading = "Options")]
    pub library: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The program to run, and its arguments
    #[arg(value_name = "COMMAND", trailing_var_arg = true, num_args = 1.., help_heading = "Arguments")]
    pub program: Vec<OsString>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the settings the library would use here, and where each came from; exit 1 when a value is bad
    // Boxed: the setting options make it much larger than the others.
    Config(Box<config::ConfigArgs>),
    /// List running processes that have the library loaded
    Status(status::StatusArgs),
    /// Enable, disable or check the global install (/etc/ld.so.preload)
    Preload(preload::PreloadArgs),
    /// Write (or --remove) a systemd drop-in that runs UNIT with the library
    Systemd(Box<systemd::SystemdArgs>),
    /// Which established TCP connections on this host are protected, and why not
    Audit(audit::AuditArgs),
    /// The eBPF companion: the connection settings, from the kernel, for every program of a cgroup (static, Go, io_uring)
    Bpf(bpf::BpfArgs),
    /// Print the shell completion script for bash or zsh
    Completions(completions::CompletionsArgs),
}

/// The names of the subcommands, `help` included (clap's own).
fn is_subcommand(word: &OsString) -> bool {
    word == "help" || Cli::command().get_subcommands().any(|c| c.get_name() == word)
}

pub fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version: to stdout, exit 0. With no argument at
            // all, the help goes to stderr and the status is 2, as it was.
            let status = match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => USAGE_ERROR,
                _ if args.get(1).is_some_and(is_subcommand) => USAGE_ERROR,
                _ => RUN_ERROR,
            };
            let _ = e.print();
            return ExitCode::from(status);
        }
    };
    let library = cli.library.as_deref();
    if cli.command.is_some() {
        // Like any Unix tool, `sockfix status | head` ends quietly when its
        // reader goes: Rust's runtime ignores SIGPIPE, so a write would fail
        // and print a panic instead. (COMMAND gets the disposition sockfix
        // was started with: see run::exec.)
        // SAFETY: sets a default disposition; no handler involved.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    match cli.command {
        Some(Command::Config(a)) => config::run(*a, library),
        Some(Command::Status(a)) => status::run(a, library),
        Some(Command::Preload(a)) => preload::run(a, library),
        Some(Command::Systemd(a)) => systemd::run(*a, library),
        Some(Command::Audit(a)) => audit::run(a, library),
        Some(Command::Bpf(a)) => bpf::run(a, library),
        Some(Command::Completions(a)) => completions::run(a),
        None => crate::run::run(&cli.settings, &cli.force, cli.program, library),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("sockfix").chain(words.iter().copied()))
    }

    fn program(words: &[&str]) -> Vec<String> {
        let cli = parse(words).unwrap();
        assert!(cli.command.is_none(), "{words:?} chose a subcommand");
        cli.program.iter().map(|w| w.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn clap_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_subcommand_is_only_the_first_word() {
        assert!(matches!(parse(&["config"]).unwrap().command, Some(Command::Config(_))));
        assert!(matches!(parse(&["status"]).unwrap().command, Some(Command::Status(_))));
        assert_eq!(program(&["--", "config", "x"]), ["config", "x"]);
        assert_eq!(program(&["--", "status"]), ["status"]);
        assert_eq!(program(&["--", "help"]), ["help"]);
        assert_eq!(program(&["--keepalive", "7", "config"]), ["config"]);
        assert_eq!(program(&["--library", "/x.so", "status"]), ["status"]);
    }

    #[test]
    fn options_stop_at_the_first_word_that_is_not_one() {
        assert_eq!(program(&["--keepalive", "7", "sh", "-c", "exit 3"]), ["sh", "-c", "exit 3"]);
        assert_eq!(program(&["--", "printf", "--", "-x", "--help"]), ["printf", "--", "-x", "--help"]);
        assert_eq!(program(&["env", "--keepalive", "1"]), ["env", "--keepalive", "1"]);
        let cli = parse(&["--keepalive=7,1,3", "--server", "--", "true"]).unwrap();
        assert_eq!(cli.settings.keepalive.as_deref(), Some("7,1,3"));
        assert!(cli.settings.server);
    }

    #[test]
    fn unknown_options_are_errors_not_commands() {
        assert_eq!(parse(&["--bogus", "--", "true"]).unwrap_err().kind(), ErrorKind::UnknownArgument);
        assert!(parse(&["--keepalive"]).is_err());
    }
}
