//! `sockfix audit` (being written on its own branch).

use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct AuditArgs {}

pub fn run(_args: AuditArgs, _library: Option<&Path>) -> ExitCode {
    eprintln!("sockfix audit: not written yet");
    ExitCode::from(1)
}
