//! `sockfix config` (being written on its own branch).

use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct ConfigArgs {}

pub fn run(_args: ConfigArgs, _library: Option<&Path>) -> ExitCode {
    eprintln!("sockfix config: not written yet");
    ExitCode::from(1)
}
