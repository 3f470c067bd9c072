//! `sockfix completions bash|zsh`: the shell completion script, generated
//! by clap_complete from the same definitions as the parser, so it always
//! knows every subcommand and option. The Debian package installs its
//! output as /usr/share/bash-completion/completions/sockfix and
//! /usr/share/zsh/vendor-completions/_sockfix.

use crate::cli::Cli;
use clap::CommandFactory;
use clap_complete::Shell;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_name = "SHELL", value_parser = ["bash", "zsh"])]
    pub shell: String,
}

pub fn run(args: CompletionsArgs) -> ExitCode {
    let shell = if args.shell == "zsh" { Shell::Zsh } else { Shell::Bash };
    clap_complete::generate(shell, &mut Cli::command(), "sockfix", &mut std::io::stdout());
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_scripts_name_every_subcommand_and_option() {
        for shell in [Shell::Bash, Shell::Zsh] {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "sockfix", &mut out);
            let text = String::from_utf8(out).unwrap();
            for word in ["config", "status", "preload", "systemd", "audit", "completions", "--keepalive", "--library"] {
                assert!(text.contains(word), "{shell:?} completion lacks {word}");
            }
        }
    }
}
