//! Whether the drop-in can take effect on this host: is systemd running,
//! and is there a unit of that name. Asked only when writing to the real
//! host (not under --root, not with --print), so that a drop-in for a unit
//! that does not exist, or on a host without systemd, is not written
//! silently with advice (`systemctl daemon-reload`) that then fails.
//!
//! How the unit is found: when systemd runs, systemd itself is asked
//! (`systemctl show -P LoadState`): it knows every unit however it came to
//! be (a file, an alias, a template's instance, a generator's unit such as
//! a SysV script's, a transient unit) and says `not-found` or `masked`.
//! When it cannot be asked (not running, no systemctl, no answer in time),
//! the unit file is looked for in systemd's system unit search path
//! (systemd.unit(5)), the template's file too for an instance.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// sd_booted(3)'s test: systemd is the running init when this directory
/// exists.
pub const BOOTED_DIR: &str = "/run/systemd/system";

/// The system unit search path of systemd.unit(5), in its order, plus
/// /lib/systemd/system where /lib is not /usr/lib (Debian before the /usr
/// merge). Generators write to /run/systemd/generator*.
const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system.control",
    "/run/systemd/system.control",
    "/run/systemd/transient",
    "/run/systemd/generator.early",
    "/etc/systemd/system",
    "/etc/systemd/system.attached",
    "/run/systemd/system",
    "/run/systemd/system.attached",
    "/run/systemd/generator",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
    "/run/systemd/generator.late",
];

/// How long systemd gets to answer: it answers at once when it runs; a hung
/// D-Bus must not hang the command (systemctl's own timeout is 25 s).
const SYSTEMCTL_WAIT: Duration = Duration::from_secs(5);

/// What is known of the unit.
#[derive(Debug, PartialEq, Eq)]
pub enum Unit {
    /// It exists (systemd loads it, or its file is there).
    Present,
    /// It exists but is masked: it cannot be started until unmasked.
    Masked,
    /// It does not exist; the text says how that was found out.
    Missing(String),
}

/// Whether systemd is the running init.
pub fn systemd_running() -> bool {
    Path::new(BOOTED_DIR).is_dir()
}

/// Looks for UNIT (a full name, `x.service`): systemd's answer when
/// `running`, else (or when it gives none) the unit directories.
pub fn find_unit(unit: &str, running: bool) -> Unit {
    if running {
        match ask_systemd(unit).as_deref() {
            Some("not-found") => return Unit::Missing("systemd does not know it".into()),
            Some("masked") => return Unit::Masked,
            Some(s) if !s.is_empty() => return Unit::Present,
            _ => {}
        }
    }
    find_file(unit, UNIT_DIRS)
}

/// The unit's LoadState as systemd reports it; None when it cannot be asked.
fn ask_systemd(unit: &str) -> Option<String> {
    show(unit, "LoadState")
}

/// One property of the unit as `systemctl show` gives it; None when systemd
/// cannot be asked (not running, no systemctl, no answer in time).
pub fn show(unit: &str, property: &str) -> Option<String> {
    let mut child = Command::new("systemctl")
        .args(["show", &format!("--property={property}"), "--value", "--", unit])
        .env("SYSTEMD_PAGER", "")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + SYSTEMCTL_WAIT;
    // Its answer is one short line: it cannot fill the pipe while we wait.
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let out = child.wait_with_output().ok()?;
    if !status?.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Looks for the unit's file (or, for an instance `a@b.service`, the
/// template's `a@.service`) in `dirs`. A link to /dev/null is a masked unit.
fn find_file(unit: &str, dirs: &[&str]) -> Unit {
    let mut names = vec![unit.to_string()];
    if let Some((prefix, rest)) = unit.split_once('@') {
        if let Some((instance, suffix)) = rest.rsplit_once('.') {
            if !instance.is_empty() {
                names.push(format!("{prefix}@.{suffix}"));
            }
        }
    }
    for dir in dirs {
        for name in &names {
            let path = PathBuf::from(dir).join(name);
            if path.symlink_metadata().is_err() {
                continue;
            }
            return if std::fs::read_link(&path).is_ok_and(|t| t == Path::new("/dev/null")) {
                Unit::Masked
            } else {
                Unit::Present
            };
        }
    }
    Unit::Missing(format!("no unit file in {}", existing(dirs).join(", ")))
}

/// The directories of `dirs` that exist, each once (/lib/systemd/system is
/// /usr/lib/systemd/system where /lib is a link to /usr/lib).
fn existing<'a>(dirs: &[&'a str]) -> Vec<&'a str> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for d in dirs {
        if let Ok(real) = std::fs::canonicalize(d) {
            if real.is_dir() && !seen.contains(&real) {
                seen.push(real);
                out.push(*d);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_files_templates_and_masks() {
        let t = std::env::temp_dir().join(format!("sockfix-units-{}", std::process::id()));
        let (a, b) = (t.join("a"), t.join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(b.join("web.service"), "[Service]\n").unwrap();
        std::fs::write(b.join("getty@.service"), "[Service]\n").unwrap();
        std::os::unix::fs::symlink("/dev/null", a.join("old.service")).unwrap();
        let dirs = [a.to_str().unwrap(), b.to_str().unwrap()];
        assert_eq!(find_file("web.service", &dirs), Unit::Present);
        assert_eq!(find_file("getty@tty1.service", &dirs), Unit::Present);
        assert_eq!(find_file("old.service", &dirs), Unit::Masked);
        let Unit::Missing(why) = find_file("celery-worker.service", &dirs) else { panic!("found a unit that is not there") };
        assert!(why.contains(dirs[0]) && why.contains(dirs[1]), "{why}");
        std::fs::remove_dir_all(&t).unwrap();
    }
}
