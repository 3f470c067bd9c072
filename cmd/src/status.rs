//! `sockfix status` (being written on its own branch).

use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct StatusArgs {}

pub fn run(_args: StatusArgs, _library: Option<&Path>) -> ExitCode {
    eprintln!("sockfix status: not written yet");
    ExitCode::from(1)
}
