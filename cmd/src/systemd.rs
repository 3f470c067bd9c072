//! `sockfix systemd` (being written on its own branch).

use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct SystemdArgs {}

pub fn run(_args: SystemdArgs, _library: Option<&Path>) -> ExitCode {
    eprintln!("sockfix systemd: not written yet");
    ExitCode::from(1)
}
