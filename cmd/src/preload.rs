//! `sockfix preload` (being written on its own branch).

use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct PreloadArgs {}

pub fn run(_args: PreloadArgs, _library: Option<&Path>) -> ExitCode {
    eprintln!("sockfix preload: not written yet");
    ExitCode::from(1)
}
