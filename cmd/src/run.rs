//! Running a program with the library (being written on its own branch).

use crate::options::SettingArgs;
use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

pub fn run(_settings: &SettingArgs, _program: Vec<OsString>, _library: Option<&Path>) -> ExitCode {
    eprintln!("sockfix: running a command is not written yet");
    ExitCode::from(125)
}
