//! `sockfix bpf enable|disable|status`: the eBPF companion, which gives the
//! connection settings to every TCP connection of a cgroup from the kernel,
//! for the programs the library cannot reach (static binaries, Go without
//! cgo, io_uring). The programs are in ../bpf; `layout` turns the
//! library's settings into their map, `place` finds the cgroup and the bpf
//! filesystem, `attach` loads and pins, `report` shows what is attached.
//! `sockfix audit` reads the attached copies through `place`, `attach`
//! and `layout` too. See sockfix(1): bpf enable, disable, status.

pub(crate) mod attach;
pub(crate) mod layout;
pub(crate) mod place;
mod report;

use crate::check;
use crate::cli::USAGE_ERROR;
use crate::options::{ForceArg, SettingArgs};
use crate::preload::file::lock_at;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const ERROR: u8 = 1;
/// One `sockfix bpf enable` or `disable` at a time: the shared pins
/// (sockfix_sock, the directory) are made by the first copy and removed
/// with the last.
const LOCK_FILE: &str = "/run/lock/sockfix-bpf.lock";

#[derive(clap::Args, Debug)]
pub struct BpfArgs {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Attach the companion to a cgroup (default: the whole host) with the settings given, or update its settings in place
    Enable(Box<EnableArgs>),
    /// Detach the companion from a cgroup (default: the whole host), or from every cgroup with --all
    Disable(DisableArgs),
    /// Where the companion is attached, with which settings, since when; leftovers; exit 3 when not attached
    Status,
}

#[derive(clap::Args, Debug)]
pub struct EnableArgs {
    #[command(flatten)]
    pub settings: SettingArgs,
    #[command(flatten)]
    pub force: ForceArg,
    /// The cgroup (v2) to cover, with every cgroup below it: a path on the cgroup2 mount or relative to its root
    #[arg(long, value_name = "PATH")]
    pub cgroup: Option<PathBuf>,
    /// The cgroup sockfix itself runs in (for a unit's ExecStartPre=, see sockfix systemd --bpf)
    #[arg(long, conflicts_with = "cgroup")]
    pub own_cgroup: bool,
    /// The cgroup of a running systemd unit (until it stops; for every start: sockfix systemd UNIT --bpf)
    #[arg(long, value_name = "NAME", conflicts_with_all = ["cgroup", "own_cgroup"])]
    pub unit: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct DisableArgs {
    /// The cgroup to detach from (as for enable)
    #[arg(long, value_name = "PATH", conflicts_with = "all")]
    pub cgroup: Option<PathBuf>,
    /// The cgroup sockfix itself runs in (for a unit's ExecStopPost=)
    #[arg(long, conflicts_with_all = ["cgroup", "all"])]
    pub own_cgroup: bool,
    /// The cgroup of a running systemd unit
    #[arg(long, value_name = "NAME", conflicts_with_all = ["cgroup", "own_cgroup", "all"])]
    pub unit: Option<String>,
    /// Detach from every cgroup and remove every pin under /sys/fs/bpf/sockfix
    #[arg(long)]
    pub all: bool,
}

pub use report::config_note;

fn fail(status: u8, message: impl std::fmt::Display) -> ExitCode {
    eprintln!("sockfix bpf: {message}");
    ExitCode::from(status)
}

pub fn run(args: BpfArgs, _library: Option<&Path>) -> ExitCode {
    match args.action {
        Action::Enable(a) => enable(*a),
        Action::Disable(a) => disable(a),
        Action::Status => report::status(),
    }
}

/// Loading BPF programs and attaching them to cgroups takes CAP_BPF and
/// CAP_NET_ADMIN (CAP_SYS_ADMIN before Linux 5.8): root, in practice.
fn need_root() -> Result<(), String> {
    // SAFETY: no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("needs root (loading BPF programs and attaching them to a cgroup takes CAP_BPF and CAP_NET_ADMIN)".into());
    }
    Ok(())
}

fn enable(args: EnableArgs) -> ExitCode {
    let mut options = match args.settings.to_env() {
        Ok(o) => o,
        Err(e) => return fail(USAGE_ERROR, format!("{e} (see 'sockfix bpf enable --help')")),
    };
    args.force.add_to(&mut options);
    // The same rule as for running a program: every value the library
    // would refuse is an error, and nothing is attached.
    let judged = check::judge(&options);
    if !judged.problems.is_empty() {
        for p in &judged.problems {
            eprintln!("sockfix bpf: {}", p.what());
        }
        return fail(ERROR, "nothing attached");
    }
    let map = match layout::compile(&judged.settings) {
        Ok(m) => m,
        Err(e) => return fail(ERROR, format!("{e}; nothing attached")),
    };
    let _lock = match need_root().and_then(|()| place::bpffs()).and_then(|()| lock_at(Path::new(LOCK_FILE), "sockfix bpf")) {
        Ok(l) => l,
        Err(e) => return fail(ERROR, e),
    };
    let cg = match named_cgroup(args.cgroup.as_deref(), args.own_cgroup, args.unit.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail(ERROR, e),
    };
    let _ = attach::prune();
    let dir = cg.pins();
    let (done, verb) =
        if dir.exists() { (attach::update(&dir, &map), "settings updated") } else { (attach::attach(&cg, &map), "attached") };
    if let Err(e) = done {
        return fail(ERROR, format!("{}: {e}", cg.path.display()));
    }
    println!("sockfix bpf: {verb} on {} (cgroup {}): {}", cg.path.display(), cg.id, report::summary(&map));
    for line in report::library_only(&judged) {
        println!("sockfix bpf: {line}");
    }
    ExitCode::SUCCESS
}

/// The cgroup of --cgroup PATH, of --own-cgroup, of --unit NAME, or the root.
/// The root is only ever the default: a name that turns out to be the root
/// (`.`, `x/..`, the mount itself, a process or unit in the root cgroup) is
/// refused, as it would cover the whole host.
fn named_cgroup(path: Option<&Path>, own: bool, unit: Option<&str>) -> Result<place::Cgroup, String> {
    let (named, what) = if own {
        (place::own_cgroup()?, "--own-cgroup: sockfix runs in".to_string())
    } else if let Some(unit) = unit {
        (unit_cgroup(unit)?, format!("--unit {unit}: it runs in"))
    } else if let Some(p) = path {
        (p.to_path_buf(), format!("--cgroup {}: it names", p.display()))
    } else {
        return place::cgroup(None);
    };
    let root = place::cgroup(None)?;
    // "/" as /proc/PID/cgroup and systemd say it: the root.
    let cg = if named == Path::new("/") { root.clone() } else { place::cgroup(Some(&named))? };
    if cg.id == root.id {
        return Err(format!(
            "{what} the root cgroup ({}), every process of the host; to cover the whole host, leave out --cgroup, --unit and --own-cgroup",
            root.path.display()
        ));
    }
    Ok(cg)
}

/// A running unit's cgroup, as systemd says (ControlGroup=); a name
/// without a suffix is a .service.
fn unit_cgroup(name: &str) -> Result<PathBuf, String> {
    use crate::systemd::host;
    let unit = if name.contains('.') { name.to_string() } else { format!("{name}.service") };
    if !host::systemd_running() {
        return Err(format!("--unit {unit}: systemd is not running here (no {}); use --cgroup", host::BOOTED_DIR));
    }
    match host::show(&unit, "ControlGroup") {
        None => Err(format!("--unit {unit}: systemd did not answer (systemctl show)")),
        Some(cg) if cg.is_empty() => {
            Err(format!("--unit {unit}: not running (it has no cgroup); for every start use 'sockfix systemd {unit} --bpf'"))
        }
        Some(cg) => Ok(PathBuf::from(cg)),
    }
}

fn disable(args: DisableArgs) -> ExitCode {
    let _lock = match need_root().and_then(|()| lock_at(Path::new(LOCK_FILE), "sockfix bpf")) {
        Ok(l) => l,
        Err(e) => return fail(ERROR, e),
    };
    let dirs: Vec<(String, PathBuf)> = if args.all {
        place::attached()
            .into_iter()
            .map(|(id, dir)| (place::cgroup_by_id(id).map_or(format!("cgroup {id}"), |p| p.display().to_string()), dir))
            .collect()
    } else {
        match named_cgroup(args.cgroup.as_deref(), args.own_cgroup, args.unit.as_deref()) {
            Ok(cg) => vec![(cg.path.display().to_string(), cg.pins())],
            // A cgroup already removed: its copy went with it, but its
            // pins are left; they go as enable removes them (not with
            // --all, which would detach every other copy too).
            Err(e) => match attach::prune() {
                0 => return fail(ERROR, e),
                n => return fail(ERROR, format!("{e}; the pins of {n} removed cgroup(s) were removed")),
            },
        }
    };
    let mut status = ExitCode::SUCCESS;
    for (name, dir) in &dirs {
        if !dir.exists() {
            println!("sockfix bpf: not attached to {name}");
            continue;
        }
        match attach::remove_pins(dir) {
            Ok(()) => println!("sockfix bpf: detached from {name}"),
            Err(e) => status = fail(ERROR, format!("{name}: {e}")),
        }
    }
    attach::tidy();
    if args.all && dirs.is_empty() {
        println!("sockfix bpf: not attached anywhere");
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What enable and disable both resolve: any name of the root cgroup
    /// is refused (c-tests/bpf/t_bpf_edges.sh runs disable with them; enable
    /// is only checked here, where nothing can be attached).
    #[test]
    fn root_cgroup_names_are_refused() {
        let Ok(root) = place::cgroup2_root() else { return };
        let r = root.display().to_string();
        for name in
            [".".to_string(), "/".into(), format!("{r}/"), format!("{r}/../{}", root.file_name().unwrap().to_string_lossy())]
        {
            let e = named_cgroup(Some(Path::new(&name)), false, None).unwrap_err();
            assert!(e.contains("the root cgroup"), "{name}: {e}");
        }
        assert!(named_cgroup(None, false, None).is_ok_and(|c| c.path == root), "no name: the whole host");
    }
}
