//! Running a program with the library: `sockfix [OPTIONS] [--] COMMAND
//! [ARGS...]`. The settings are checked first (the one rule of
//! `check`); then this process becomes COMMAND (exec), so that the exit
//! status, the pid and the signals are COMMAND's own.

use crate::check;
use crate::cli::RUN_ERROR;
use crate::library;
use crate::options::{ForceArg, SettingArgs};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// COMMAND was found but cannot be run (as in sh, env, timeout).
const CANNOT_RUN: u8 = 126;
/// COMMAND was not found.
const NOT_FOUND: u8 = 127;

fn fail(status: u8, message: impl std::fmt::Display) -> ExitCode {
    eprintln!("sockfix: {message}");
    ExitCode::from(status)
}

pub fn run(settings: &SettingArgs, force: &ForceArg, program: Vec<OsString>, library: Option<&Path>) -> ExitCode {
    let Some((name, args)) = program.split_first() else {
        return fail(RUN_ERROR, "no command to run (see 'sockfix --help')");
    };
    let mut options = match settings.to_env() {
        Ok(o) => o,
        Err(e) => return fail(RUN_ERROR, format!("{e} (see 'sockfix --help')")),
    };
    force.add_to(&mut options);
    let judged = check::judge(&options);
    if !judged.problems.is_empty() {
        for p in &judged.problems {
            eprintln!("sockfix: {}", p.what());
        }
        let these = if judged.problems.len() == 1 { "this setting" } else { "these settings" };
        return fail(
            RUN_ERROR,
            format!("refusing to run {}: the library would not use {these} as given; nothing was run", name.to_string_lossy()),
        );
    }
    let lib = match library::find(library) {
        Ok(l) => l,
        Err(e) => return fail(RUN_ERROR, e),
    };
    if let Err((status, why)) = runnable(name) {
        return fail(status, format!("{}: {why}", name.to_string_lossy()));
    }
    std::env::set_var("LD_PRELOAD", preload_list(&lib, std::env::var_os("LD_PRELOAD")));
    std::env::remove_var("SOCKFIX_LIBRARY");
    for (k, v) in &options {
        std::env::set_var(k, v);
    }
    // exec returns only when it failed.
    let e = exec(name, args);
    let status = if e.kind() == std::io::ErrorKind::NotFound { NOT_FOUND } else { CANNOT_RUN };
    fail(status, format!("{}: cannot run it: {e}", name.to_string_lossy()))
}

/// Becomes COMMAND with the signal mask and the SIGPIPE disposition this
/// process was started with, as env(1) and nice(1) pass them on: std's
/// Command::exec would empty the mask and set SIGPIPE to its default, and
/// Rust's runtime ignores SIGPIPE before main. Returns only on failure.
fn exec(name: &OsStr, args: &[OsString]) -> std::io::Error {
    let cstr =
        |s: &OsStr| std::ffi::CString::new(s.as_bytes()).map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput));
    let argv: Result<Vec<_>, _> = std::iter::once(name).chain(args.iter().map(OsString::as_os_str)).map(cstr).collect();
    let argv = match argv {
        Ok(a) => a,
        Err(e) => return e,
    };
    let mut ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(core::ptr::null());
    // SAFETY: restores the disposition noted at start; then execvp with a
    // NULL-terminated argv of live C strings (the environment is this
    // process's, set above while it has one thread).
    unsafe {
        libc::signal(libc::SIGPIPE, SIGPIPE_AT_START.load(Relaxed));
        libc::execvp(ptrs[0], ptrs.as_ptr());
    }
    std::io::Error::last_os_error()
}

/// SIGPIPE's disposition when the process started, noted before Rust's
/// runtime set it to SIG_IGN (an .init_array function runs before main).
static SIGPIPE_AT_START: AtomicUsize = AtomicUsize::new(libc::SIG_DFL);

extern "C" fn note_sigpipe() {
    // SAFETY: reads the disposition into a zeroed, live struct.
    unsafe {
        let mut old: libc::sigaction = core::mem::zeroed();
        if libc::sigaction(libc::SIGPIPE, core::ptr::null(), &mut old) == 0 {
            SIGPIPE_AT_START.store(old.sa_sigaction, Relaxed);
        }
    }
}

#[used]
#[link_section = ".init_array"]
static NOTE_SIGPIPE: extern "C" fn() = note_sigpipe;

/// LD_PRELOAD for COMMAND: the library first, then what was there (blanks
/// and colons separate entries, as ld.so reads them), an earlier copy of the
/// same path dropped.
fn preload_list(lib: &Path, old: Option<OsString>) -> OsString {
    let mut out = OsString::from(lib);
    let old = old.unwrap_or_default();
    for item in old.as_bytes().split(|b| matches!(b, b' ' | b'\t' | b':')).filter(|i| !i.is_empty()) {
        if item != lib.as_os_str().as_bytes() {
            out.push(":");
            out.push(OsStr::from_bytes(item));
        }
    }
    out
}

/// Whether `name` can be run: a path must be an executable file; a bare
/// name must be found in PATH. Err: the exit status and why.
fn runnable(name: &OsStr) -> Result<(), (u8, &'static str)> {
    let executable = |p: &Path| p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    if name.as_bytes().contains(&b'/') {
        let p = Path::new(name);
        if !p.exists() {
            return Err((NOT_FOUND, "no such file"));
        }
        return if executable(p) { Ok(()) } else { Err((CANNOT_RUN, "cannot run it: not an executable file")) };
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    // An empty PATH entry is the current directory, as for execvp.
    let found = std::env::split_paths(&path).map(|d| if d.as_os_str().is_empty() { PathBuf::from(".") } else { d });
    if found.map(|d| d.join(name)).any(|p| executable(&p)) {
        Ok(())
    } else {
        Err((NOT_FOUND, "command not found"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_library_goes_first_once() {
        let lib = Path::new("/l/libsockfix.so");
        assert_eq!(preload_list(lib, None), "/l/libsockfix.so");
        assert_eq!(preload_list(lib, Some("/a.so".into())), "/l/libsockfix.so:/a.so");
        assert_eq!(preload_list(lib, Some("/a.so /l/libsockfix.so:/b.so".into())), "/l/libsockfix.so:/a.so:/b.so");
    }

    #[test]
    fn missing_and_unrunnable_commands() {
        assert_eq!(runnable(OsStr::new("/nonexistent/x")), Err((NOT_FOUND, "no such file")));
        assert_eq!(runnable(OsStr::new("/etc/passwd")).unwrap_err().0, CANNOT_RUN);
        assert_eq!(runnable(OsStr::new("/")).unwrap_err().0, CANNOT_RUN);
        assert!(runnable(OsStr::new("sh")).is_ok());
        assert_eq!(runnable(OsStr::new("no-such-command-sockfix")).unwrap_err().0, NOT_FOUND);
    }
}
