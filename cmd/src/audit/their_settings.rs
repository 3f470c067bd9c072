//! The settings the library took inside another process: its initial
//! environment (/proc/PID/environ) over its config file (SOCKFIX_CONFIG, or
//! /etc/sockfix.conf, read through /proc/PID/root so a container's own file
//! counts), combined by the library's own code (`crate::settings::build`,
//! `parse_config`, `program_in_scope`): one parser, the same answer.

use super::procs::Owner;
use crate::settings::{self, Layer, Settings};

/// The config file is small; the library reads no more than this either.
const MAX_CONFIG_BYTES: u64 = 64 * 1024;

/// The settings the library in a process built, with the program lists
/// that decided `active` (to say which one left the program out).
#[derive(Debug)]
pub struct Theirs {
    pub settings: Settings,
    /// SOCKFIX_PROGRAMS and SOCKFIX_SKIP_PROGRAMS as found (key=value).
    pub programs: Option<String>,
    pub skip_programs: Option<String>,
}

/// The settings as the library in `o` built them. Err: why they cannot be
/// known (its environment is unreadable).
pub fn of(o: &Owner) -> Result<Theirs, String> {
    let env = o.environ.as_ref().map_err(|e| format!("its environment cannot be read ({e})"))?;
    // In secure execution (setuid, file capabilities) the library ignores
    // the environment, and trusts only a root-owned, unwritable config file.
    let secure = o.secure.unwrap_or(false);
    let pairs: Vec<(String, String)> = if secure { Vec::new() } else { env.clone() };
    let chosen = pairs.iter().rev().find(|(k, _)| k == "SOCKFIX_CONFIG").map(|(_, v)| v.clone());
    let path = chosen.unwrap_or_else(|| settings::DEFAULT_CONFIG.to_string());
    let mut layers = vec![Layer { source: "environment".into(), pairs }];
    let mut sections = Vec::new();
    let mut warnings = Vec::new();
    if let Some(text) = config_text(o, &path, secure) {
        let (pairs, found) = settings::parse_config(&text, &path, &mut warnings);
        sections = found;
        layers.push(Layer { source: path.clone(), pairs });
    }
    let names = || names(o);
    let settings = settings::build(&layers, &sections, &names, &mut warnings);
    // The same lookup as the library's: the highest layer that sets the
    // key, its last line.
    let found =
        |key: &str| layers.iter().find_map(|l| l.pairs.iter().rev().find(|(k, _)| k == key).map(|(k, v)| format!("{k}={v}")));
    Ok(Theirs { settings, programs: found("SOCKFIX_PROGRAMS"), skip_programs: found("SOCKFIX_SKIP_PROGRAMS") })
}

/// The names SOCKFIX_PROGRAMS and SOCKFIX_SKIP_PROGRAMS match: the base
/// names of argv[0] and of the executable (as the library's
/// `program_names`).
pub fn names(o: &Owner) -> Vec<String> {
    let base = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
    let exe = o.exe.as_deref().map(|e| e.strip_suffix(" (deleted)").unwrap_or(e));
    o.argv0.as_deref().into_iter().chain(exe).map(base).collect()
}

/// The config file's text as the process sees it, or None when it has
/// none (or the library would not trust it).
fn config_text(o: &Owner, path: &str, secure: bool) -> Option<String> {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    // A relative path is relative to where the process started: its cwd is
    // the best guess left.
    let full = match path.strip_prefix('/') {
        Some(rel) => o.root.join(rel),
        None => std::path::PathBuf::from(format!("/proc/{}/cwd", o.pid)).join(path),
    };
    let file = std::fs::File::open(full).ok()?;
    let meta = file.metadata().ok()?;
    if secure && (meta.uid() != 0 || meta.mode() & 0o022 != 0) {
        return None;
    }
    let mut text = String::new();
    file.take(MAX_CONFIG_BYTES).read_to_string(&mut text).ok()?;
    Some(text)
}
