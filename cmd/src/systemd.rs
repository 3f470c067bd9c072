//! `sockfix systemd UNIT [OPTIONS] [--root DIR] [--remove] [--print]
//! [--force]`: a drop-in, /etc/systemd/system/UNIT.d/sockfix.conf, that
//! starts one service with the library and the settings given
//! (`Environment=` lines, systemd.exec(5)), and the systemctl commands that
//! apply it. The values are judged by the library's own parser before
//! anything is written. On a host where systemd does not run, or where the
//! unit does not exist, the drop-in is still written (it may be meant for
//! later) but sockfix says so plainly instead of sending the user to a
//! `systemctl daemon-reload` that fails (`host`: is systemd running, is
//! there such a unit).

use crate::check;
use crate::cli::USAGE_ERROR;
use crate::library;
use crate::options::SettingArgs;
use crate::preload::atomic;

pub mod host;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The first line of every drop-in sockfix writes: how it knows its own.
const MARK: &str = "# Written by \"sockfix systemd\"";
/// Where the drop-ins written are noted, for the package's purge.
const NOTED: &str = "/var/lib/sockfix/systemd-dropins";
const ERROR: u8 = 1;

#[derive(clap::Args, Debug)]
pub struct SystemdArgs {
    /// The unit (a .service; without a suffix, .service is added)
    #[arg(value_name = "UNIT")]
    pub unit: String,
    #[command(flatten)]
    pub settings: SettingArgs,
    /// Write under DIR instead of / (an image, a container's root)
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Delete the drop-in instead
    #[arg(long)]
    pub remove: bool,
    /// Print the drop-in, write nothing
    #[arg(long)]
    pub print: bool,
    /// Replace (or remove) a drop-in sockfix did not write
    #[arg(long)]
    pub force: bool,
    /// Also attach the eBPF companion to the unit's cgroup while it runs (a static or Go service, io_uring)
    #[arg(long)]
    pub bpf: bool,
}

fn fail(status: u8, message: impl std::fmt::Display) -> ExitCode {
    eprintln!("sockfix systemd: {message}");
    ExitCode::from(status)
}

pub fn run(args: SystemdArgs, library: Option<&Path>) -> ExitCode {
    let unit = match unit_name(&args.unit) {
        Ok(u) => u,
        Err(e) => return fail(USAGE_ERROR, e),
    };
    let root = match &args.root {
        None => PathBuf::from("/"),
        Some(r) => match fs::canonicalize(r) {
            Ok(p) if p.is_dir() => p,
            _ => return fail(ERROR, format!("--root {}: no such directory", r.display())),
        },
    };
    let dir = root.join("etc/systemd/system").join(format!("{unit}.d"));
    let file = dir.join("sockfix.conf");
    let on_host = args.root.is_none() || root == Path::new("/");
    if args.remove {
        return remove(&file, &dir, &unit, args.force, on_host);
    }
    let options = match args.settings.to_env() {
        Ok(o) => o,
        Err(e) => return fail(USAGE_ERROR, format!("{e} (see 'sockfix systemd --help')")),
    };
    let problems = check::judge_alone(&options);
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("sockfix systemd: {}", p.what());
        }
        return fail(
            USAGE_ERROR,
            format!("refusing to write the drop-in for {unit}: the library would not use these settings as given; nothing was written"),
        );
    }
    let lib = match library::find(library) {
        Ok(l) => l,
        Err(e) => return fail(ERROR, e),
    };
    let mut text = dropin(&unit, &lib, &options);
    if args.bpf {
        match companion_lines() {
            Ok(lines) => text.push_str(&lines),
            Err(e) => return fail(ERROR, e),
        }
    }
    if args.print {
        print!("{text}");
        return ExitCode::SUCCESS;
    }
    if file.exists() && !args.force && !written_by_us(&file) {
        return fail(
            ERROR,
            format!("{} exists and was not written by sockfix; not replacing it (--force to replace it)", file.display()),
        );
    }
    if let Err(e) = fs::create_dir_all(&dir) {
        return fail(ERROR, format!("cannot create {}: {e}", dir.display()));
    }
    if let Err(e) = atomic::write(&file, text.as_bytes(), None) {
        return fail(ERROR, e);
    }
    if on_host {
        note_written(&file);
    }
    println!("wrote {}", file.display());
    for line in text.lines() {
        println!("  | {line}");
    }
    if on_host {
        if let Some(warning) = host_warning(&unit) {
            eprintln!("sockfix systemd: warning: {warning}");
            println!("(an LD_PRELOAD the unit sets itself is replaced by this one)");
            return ExitCode::SUCCESS;
        }
    }
    println!("now run:\n  systemctl daemon-reload\n  systemctl restart {unit}");
    println!("(an LD_PRELOAD the unit sets itself is replaced by this one)");
    ExitCode::SUCCESS
}

/// UNIT as systemd names it: a .service (added when there is no suffix);
/// Environment= belongs to services only.
fn unit_name(given: &str) -> Result<String, String> {
    const OTHER: [&str; 10] = ["socket", "timer", "target", "path", "mount", "automount", "swap", "slice", "scope", "device"];
    let unit = match given.rsplit_once('.') {
        Some((_, "service")) => given.to_string(),
        Some((_, suffix)) if OTHER.contains(&suffix) => {
            return Err(format!("{given}: Environment= belongs to a .service unit"));
        }
        _ => format!("{given}.service"),
    };
    let ok = |c: char| c.is_ascii_alphanumeric() || ":_.@\\-".contains(c);
    if unit.starts_with('.') || !unit.chars().all(ok) {
        return Err(format!("not a unit name: {unit}"));
    }
    Ok(unit)
}

/// A value as one systemd `Environment=` word: in double quotes, with `\`,
/// `"` and the specifier `%` escaped (systemd.exec(5), systemd.unit(5)).
pub fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"").replace('%', "%%"))
}

fn dropin(unit: &str, lib: &Path, options: &[(String, String)]) -> String {
    let mut t = format!(
        "{MARK} (sockfix {}): run {unit} with libsockfix.\n\
         # The settings are described in sockfix.conf(5); others come from /etc/sockfix.conf.\n\
         # Undo: sockfix systemd --remove {unit} (or delete this file), then\n\
         #   systemctl daemon-reload && systemctl restart {unit}\n\
         [Service]\n",
        env!("CARGO_PKG_VERSION")
    );
    t.push_str(&format!("Environment={}\n", quote(&format!("LD_PRELOAD={}", lib.display()))));
    for (k, v) in options {
        t.push_str(&format!("Environment={}\n", quote(&format!("{k}={v}"))));
    }
    t
}

/// The companion on the unit's own cgroup: `sockfix bpf enable
/// --own-cgroup` before the unit starts (systemd runs ExecStartPre= in the
/// unit's cgroup, with its Environment=, so the companion gets the same
/// settings as the library there), `disable` after it stops. Not
/// BPFProgram=: its pins in /sys/fs/bpf vanish at a reboot, and systemd then
/// starts the unit without them, with only a line in the journal; and
/// systemd takes it only on a pure cgroup-v2 host. `-`: a host without BPF
/// still starts the unit (the journal says why); `+`: with full privileges,
/// whatever the unit's User= and sandboxing.
fn companion_lines() -> Result<String, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot tell where the sockfix command is: {e}"))?;
    let shown = exe.display().to_string();
    if shown.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'') {
        return Err(format!("{shown}: a command path with spaces or quotes cannot go into ExecStartPre="));
    }
    let exe = shown.replace('%', "%%");
    Ok(format!(
        "# The eBPF companion on {} while it runs (sockfix bpf, sockfix(1)).\n\
         ExecStartPre=-+{exe} bpf enable --own-cgroup\n\
         ExecStopPost=-+{exe} bpf disable --own-cgroup\n",
        "the unit's cgroup"
    ))
}

fn written_by_us(file: &Path) -> bool {
    fs::read_to_string(file).is_ok_and(|t| t.lines().next().is_some_and(|l| l.starts_with(MARK)))
}

fn remove(file: &Path, dir: &Path, unit: &str, force: bool, on_host: bool) -> ExitCode {
    if !file.exists() {
        println!("nothing to remove: {} does not exist", file.display());
        return ExitCode::SUCCESS;
    }
    if !force && !written_by_us(file) {
        return fail(
            ERROR,
            format!("{} was not written by sockfix; not removing it (--force to remove it anyway)", file.display()),
        );
    }
    if let Err(e) = fs::remove_file(file) {
        return fail(ERROR, format!("cannot remove {}: {e}", file.display()));
    }
    let _ = fs::remove_dir(dir);
    println!("removed {}", file.display());
    if on_host {
        unnote(file);
    }
    println!("now run:\n  systemctl daemon-reload\n  systemctl restart {unit}");
    ExitCode::SUCCESS
}

/// Notes a drop-in written on this host, so that purging the package can
/// take it away again (debian/sockfix.postrm reads the list).
fn note_written(file: &Path) {
    let shown = file.display().to_string();
    let listed = fs::read_to_string(NOTED).unwrap_or_default();
    if listed.lines().any(|l| l == shown) {
        return;
    }
    let _ = fs::create_dir_all(Path::new(NOTED).parent().unwrap_or(Path::new("/")));
    if let Ok(mut f) = fs::OpenOptions::new().create(true).append(true).open(NOTED) {
        let _ = writeln!(f, "{shown}");
    }
}

fn unnote(file: &Path) {
    let shown = file.display().to_string();
    if let Ok(listed) = fs::read_to_string(NOTED) {
        let kept: String = listed.lines().filter(|l| *l != shown).map(|l| format!("{l}\n")).collect();
        let _ = atomic::write(Path::new(NOTED), kept.as_bytes(), fs::metadata(NOTED).ok().as_ref());
    }
}

/// What would make `systemctl daemon-reload` and `restart` fail here: no
/// running systemd, or no unit of that name (`host`).
fn host_warning(unit: &str) -> Option<String> {
    let running = host::systemd_running();
    if !running {
        return Some(format!(
            "systemd is not running on this host (no {}): the drop-in takes effect when {unit} is next started by a running systemd; 'systemctl daemon-reload' cannot work here now",
            host::BOOTED_DIR
        ));
    }
    let stem = unit.trim_end_matches(".service");
    match host::find_unit(unit, running) {
        host::Unit::Present => None,
        host::Unit::Masked => Some(format!(
            "{unit} is masked on this host: the drop-in does nothing until it is unmasked (systemctl unmask {unit})"
        )),
        host::Unit::Missing(how) => Some(format!(
            "no unit {unit} is installed on this host ({how}): the drop-in is written, but it does nothing until a unit of that name exists; check the name (systemctl list-unit-files '{stem}*')"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_names() {
        assert_eq!(unit_name("mariadb").unwrap(), "mariadb.service");
        assert_eq!(unit_name("getty@tty1.service").unwrap(), "getty@tty1.service");
        assert!(unit_name("x.socket").unwrap_err().contains("belongs to a .service"));
        assert!(unit_name("a b").unwrap_err().contains("not a unit name"));
        assert!(unit_name(".hidden").is_err());
    }

    #[test]
    fn values_are_quoted_for_systemd() {
        assert_eq!(quote(r#"SOCKFIX_LOG=/var/log/a "b" 100%\x"#), r#""SOCKFIX_LOG=/var/log/a \"b\" 100%%\\x""#);
    }
}
