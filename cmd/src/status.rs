//! `sockfix status`: the running processes that have the library mapped,
//! with their pid, program, whether it came from LD_PRELOAD or from the
//! global install (/etc/ld.so.preload), and their SOCKFIX_ and libkeepalive
//! settings, read from /proc with the procfs crate. Exit 1 when there is none.

use crate::check::is_setting_variable;
use procfs::process::{MMapPath, Process};
use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct StatusArgs {}

/// Whether a mapped file is a sockfix library (libsockfix.so, or another
/// build of it named libsockfix*.so), deleted since or not.
fn is_sockfix_library(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
        let n = n.strip_suffix(" (deleted)").unwrap_or(n);
        n.starts_with("libsockfix") && n.ends_with(".so")
    })
}

/// A process that has the library: its pid, program name (comm), how it got
/// the library, its settings (None: its environment cannot be read).
struct Found {
    pid: i32,
    comm: String,
    how: &'static str,
    settings: Option<Vec<String>>,
}

/// What one process shows, or None when it has no sockfix library mapped
/// (or its maps cannot be read, or it exited meanwhile).
fn inspect(p: &Process) -> Option<Found> {
    let maps = p.maps().ok()?;
    let has = maps.iter().any(|m| matches!(&m.pathname, MMapPath::Path(path) if is_sockfix_library(path)));
    if !has {
        return None;
    }
    let comm = p.stat().ok()?.comm;
    let (how, settings) = match p.environ() {
        Ok(env) => {
            let text = |v: &std::ffi::OsString| v.to_string_lossy().into_owned();
            let preloaded = env.get(std::ffi::OsStr::new("LD_PRELOAD")).is_some_and(|v| text(v).contains("libsockfix"));
            let mut vars: Vec<String> = env
                .iter()
                .filter_map(|(k, v)| k.to_str().filter(|k| is_setting_variable(k)).map(|k| format!("{k}={}", text(v))))
                .collect();
            vars.sort();
            (if preloaded { "LD_PRELOAD" } else { "global" }, Some(vars))
        }
        Err(_) => ("-", None),
    };
    Some(Found { pid: p.pid, comm, how, settings })
}

pub fn run(_args: StatusArgs, _library: Option<&Path>) -> ExitCode {
    let all = match procfs::process::all_processes() {
        Ok(all) => all,
        Err(e) => {
            eprintln!("sockfix status: cannot list the processes in /proc: {e}");
            return ExitCode::from(1);
        }
    };
    let me = std::process::id() as i32;
    let found: Vec<Found> = all.filter_map(Result::ok).filter(|p| p.pid != me).filter_map(|p| inspect(&p)).collect();
    if found.is_empty() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            println!("no running process has libsockfix.so loaded");
        } else {
            println!("no process of yours has libsockfix.so loaded (run as root to see every user's)");
        }
        return ExitCode::from(1);
    }
    println!("{:<8} {:<16} {:<10} SETTINGS", "PID", "PROGRAM", "LOADED");
    for f in &found {
        let settings = match &f.settings {
            None => "(environment not readable)".to_string(),
            Some(v) if v.is_empty() => "(defaults and config file)".to_string(),
            Some(v) => v.join(" "),
        };
        println!("{:<8} {:<16} {:<10} {settings}", f.pid, f.comm, f.how);
    }
    if found.iter().any(|f| f.settings.is_none()) {
        println!("(run as root to read every process's settings)");
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockfix_libraries_by_name() {
        assert!(is_sockfix_library(Path::new("/usr/lib/x86_64-linux-gnu/libsockfix.so")));
        assert!(is_sockfix_library(Path::new("/tmp/libsockfix-test.so (deleted)")));
        assert!(!is_sockfix_library(Path::new("/usr/lib/libc.so.6")));
        assert!(!is_sockfix_library(Path::new("/tmp/libsockfix.so.bak")));
    }
}
