//! Loading, attaching, updating and detaching the companion (aya).
//!
//! A copy is attached with BPF links (Linux 5.7+), pinned in its cgroup's
//! pin directory: a link lasts while it is pinned, and goes when the pin is
//! removed and no process holds it. Nothing is pinned until every program
//! is attached, and a failure on the way drops what was made, so a copy is
//! attached whole or not at all. Programs are attached in "multi" mode:
//! other tools' programs on the same cgroup keep running, and a copy on a
//! child cgroup runs before its parent's (the nearer settings win; the
//! first copy marks the socket done).

use super::layout::SettingsMap;
use super::place::{self, Cgroup};
use aya::maps::{Array, Map, MapData};
use aya::{Ebpf, EbpfLoader};
use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// The object built from bpf/sockfix.bpf.c by build.rs.
static OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/sockfix.bpf.o"));

/// The programs, by function name in bpf/sockfix.bpf.c, and their link's pin.
pub const PROGRAMS: [(&str, &str); 4] = [
    ("sockfix_setsockopt", "link_setsockopt"),
    ("sockfix_sockops", "link_sockops"),
    ("sockfix_connect4", "link_connect4"),
    ("sockfix_connect6", "link_connect6"),
];
/// The maps `enable` writes again, pinned in the copy's directory.
pub const SETTINGS_PIN: &str = "settings";
pub const CURRENT_PIN: &str = "current";

/// Attaches a new copy to `cg` with `settings`. Err: one line saying why,
/// with nothing left attached or pinned.
pub fn attach(cg: &Cgroup, settings: &SettingsMap) -> Result<(), String> {
    let result = attach_whole(cg, settings);
    if result.is_err() {
        tidy();
    }
    result
}

fn attach_whole(cg: &Cgroup, settings: &SettingsMap) -> Result<(), String> {
    let dir = cg.pins();
    std::fs::create_dir_all(place::PIN_ROOT).map_err(|e| format!("{}: {e}", place::PIN_ROOT))?;
    let mut ebpf = EbpfLoader::new().default_map_pin_directory(place::PIN_ROOT).load(OBJECT).map_err(|e| {
        format!("the kernel refused the companion's maps: {} (needs Linux 5.12+ with BPF, BTF and cgroup BPF)", causes(&e))
    })?;
    // The settings are in place before any program runs. The two maps are
    // taken out of `ebpf` (the programs hold their own references).
    let mut maps = Vec::new();
    for (name, pin) in [("sockfix_settings", SETTINGS_PIN), ("sockfix_current", CURRENT_PIN)] {
        maps.push((ebpf.take_map(name).ok_or_else(|| format!("the object has no map {name}"))?, pin));
    }
    if let [(slots, _), (current, _)] = maps.as_mut_slice() {
        write_settings(slots, current, settings, 0)?;
    }
    let cgroup = File::open(&cg.path).map_err(|e| format!("{}: {e}", cg.path.display()))?;
    let mut links: Vec<(OwnedFd, &str)> = Vec::new();
    for (name, pin) in PROGRAMS {
        links.push((load_and_attach(&mut ebpf, name, &cgroup)?, pin));
    }
    // Every program is attached: now pin, and undo every pin on a failure
    // (dropping the links then detaches them).
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let result = pin_all(&maps, links, &dir);
    if result.is_err() {
        let _ = remove_pins(&dir);
    }
    result
}

/// Removes the pins of copies whose cgroup is gone (a unit that stopped
/// without its ExecStopPost=, a cgroup removed by hand): their links went
/// with the cgroup. Returns how many were removed.
pub fn prune() -> usize {
    let mut removed = 0;
    for (_, dir) in place::attached() {
        // The kernel's word, not whether this process can see the cgroup:
        // in a container with its own cgroup namespace the host's cgroups
        // are out of sight, and their copies must stay.
        if cgroup_gone(&dir) == Some(true) && remove_pins(&dir).is_ok() {
            removed += 1;
        }
    }
    tidy();
    removed
}

/// Whether the cgroup of the copy pinned in `dir` has been removed, as the
/// kernel says: a cgroup's links are detached when it goes, and their
/// bpf_link_info then gives cgroup id 0. None: the link cannot be read.
pub fn cgroup_gone(dir: &Path) -> Option<bool> {
    const BPF_OBJ_GET: libc::c_long = 7;
    const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;
    let path = CString::new(dir.join(PROGRAMS[1].1).as_os_str().as_encoded_bytes()).ok()?;
    // union bpf_attr's obj_get: pathname (u64), bpf_fd, file_flags.
    let get: [u64; 3] = [path.as_ptr() as u64, 0, 0];
    // SAFETY: bpf(2) reads the attr and the NUL-terminated path, both live.
    let fd = unsafe { libc::syscall(libc::SYS_bpf, BPF_OBJ_GET, get.as_ptr(), std::mem::size_of_val(&get)) };
    if fd < 0 {
        return None;
    }
    // SAFETY: a new descriptor the kernel just gave us.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    // struct bpf_link_info: type, id, prog_id (u32 each), then a union
    // aligned to 8 whose cgroup member starts with cgroup_id (u64): offset 16.
    let mut info = [0u64; 8];
    // union bpf_attr's info: bpf_fd, info_len (u32), info (u64).
    let attr: [u64; 2] = [fd.as_raw_fd() as u64 | (std::mem::size_of_val(&info) as u64) << 32, info.as_mut_ptr() as u64];
    // SAFETY: the kernel writes at most info_len bytes into `info`.
    let r = unsafe { libc::syscall(libc::SYS_bpf, BPF_OBJ_GET_INFO_BY_FD, attr.as_ptr(), std::mem::size_of_val(&attr)) };
    const BPF_LINK_TYPE_CGROUP: u64 = 3;
    (r == 0 && info[0] & 0xffff_ffff == BPF_LINK_TYPE_CGROUP).then_some(info[2] == 0)
}

/// With no copy left: the shared socket map's pin and the directory go too
/// (the map itself goes with its last program).
pub fn tidy() {
    if place::attached().is_empty() {
        let _ = std::fs::remove_file(Path::new(place::PIN_ROOT).join("sockfix_sock"));
        let _ = std::fs::remove_dir(place::PIN_ROOT);
    }
}

fn pin_all(maps: &[(Map, &str)], links: Vec<(OwnedFd, &str)>, dir: &Path) -> Result<(), String> {
    for (map, pin) in maps {
        map.pin(dir.join(pin)).map_err(|e| format!("cannot pin {pin} in {}: {e}", dir.display()))?;
    }
    for (link, pin) in &links {
        pin_link(link, &dir.join(pin)).map_err(|e| format!("cannot pin {pin} in {}: {e}", dir.display()))?;
    }
    Ok(())
}

/// The attach types of linux/bpf.h (enum bpf_attach_type) of the programs.
const BPF_CGROUP_SOCK_OPS: u32 = 3;
const BPF_CGROUP_INET4_CONNECT: u32 = 10;
const BPF_CGROUP_INET6_CONNECT: u32 = 11;
const BPF_CGROUP_SETSOCKOPT: u32 = 22;

/// Loads program `name` and links it to the cgroup. The link is made here,
/// not by aya: aya 0.14 cannot turn a cgroup/setsockopt link into one it
/// can pin, and one way for all four is simpler than two.
fn load_and_attach(ebpf: &mut Ebpf, name: &str, cgroup: &File) -> Result<OwnedFd, String> {
    use aya::programs::Program;
    let refused = |e: &dyn std::error::Error| format!("the kernel refused {name}: {}", last_line(&causes(e)));
    let program = ebpf.program_mut(name).ok_or_else(|| format!("the object has no program {name}"))?;
    let (fd, attach_type) = match program {
        Program::SockOps(p) => {
            p.load().map_err(|e| refused(&e))?;
            (p.fd().map_err(|e| refused(&e))?.as_fd().try_clone_to_owned(), BPF_CGROUP_SOCK_OPS)
        }
        Program::CgroupSockopt(p) => {
            p.load().map_err(|e| refused(&e))?;
            (p.fd().map_err(|e| refused(&e))?.as_fd().try_clone_to_owned(), BPF_CGROUP_SETSOCKOPT)
        }
        Program::CgroupSockAddr(p) => {
            p.load().map_err(|e| refused(&e))?;
            let t = if name.ends_with('6') { BPF_CGROUP_INET6_CONNECT } else { BPF_CGROUP_INET4_CONNECT };
            (p.fd().map_err(|e| refused(&e))?.as_fd().try_clone_to_owned(), t)
        }
        _ => return Err(format!("{name}: not a program type the companion uses")),
    };
    let fd = fd.map_err(|e| format!("{name}: {e}"))?;
    link_create(&fd, cgroup, attach_type).map_err(|e| format!("cannot attach {name} to the cgroup: {e}"))
}

/// bpf(BPF_LINK_CREATE) of a program to a cgroup (Linux 5.7+). Cgroup
/// links always allow other programs beside them (BPF_F_ALLOW_MULTI).
fn link_create(prog: &OwnedFd, cgroup: &File, attach_type: u32) -> std::io::Result<OwnedFd> {
    const BPF_LINK_CREATE: libc::c_long = 28;
    // union bpf_attr's link_create: prog_fd, target_fd, attach_type, flags;
    // the rest of the union zero.
    let mut attr = [0u32; 16];
    attr[0] = prog.as_raw_fd() as u32;
    attr[1] = cgroup.as_raw_fd() as u32;
    attr[2] = attach_type;
    // SAFETY: bpf(2) reads `size_of_val(&attr)` bytes of a live buffer.
    let fd = unsafe { libc::syscall(libc::SYS_bpf, BPF_LINK_CREATE, attr.as_ptr(), std::mem::size_of_val(&attr)) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a new descriptor the kernel just gave us, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// bpf(BPF_OBJ_PIN): the link lasts while the pin does.
fn pin_link(link: &OwnedFd, path: &Path) -> std::io::Result<()> {
    const BPF_OBJ_PIN: libc::c_long = 6;
    let c = CString::new(path.as_os_str().as_encoded_bytes()).map_err(std::io::Error::other)?;
    // union bpf_attr's obj_pin: pathname (u64), bpf_fd, file_flags.
    #[repr(C)]
    struct ObjPin {
        pathname: u64,
        bpf_fd: u32,
        file_flags: u32,
        pad: [u64; 6],
    }
    let attr = ObjPin { pathname: c.as_ptr() as u64, bpf_fd: link.as_raw_fd() as u32, file_flags: 0, pad: [0; 6] };
    // SAFETY: bpf(2) reads the struct and the NUL-terminated path it points to, both live.
    let r = unsafe { libc::syscall(libc::SYS_bpf, BPF_OBJ_PIN, &attr as *const ObjPin, std::mem::size_of::<ObjPin>()) };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// An error with its causes: aya's errors keep the system's reason in
/// their source.
fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        text += &format!(": {cause}");
        next = cause.source();
    }
    text
}

/// The verifier's log is long; its last non-empty line says why.
fn last_line(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    match lines.as_slice() {
        [] => String::new(),
        [one] => one.to_string(),
        [first, .., last] => format!("{first} ... {last}"),
    }
}

/// Writes `settings` into slot `slot` of the settings map, then makes it
/// the one in use.
fn write_settings(slots: &mut Map, current: &mut Map, settings: &SettingsMap, slot: u32) -> Result<(), String> {
    let mut s: Array<&mut MapData, SettingsMap> = Array::try_from(slots).map_err(|e| format!("settings map: {e}"))?;
    s.set(slot, settings, 0).map_err(|e| format!("settings map: {e}"))?;
    let mut c: Array<&mut MapData, u32> = Array::try_from(current).map_err(|e| format!("settings map: {e}"))?;
    c.set(0, slot, 0).map_err(|e| format!("settings map: {e}"))
}

/// The settings maps pinned in `dir`: the index of the slot in use, and
/// the two slots.
type Pinned = (Array<MapData, u32>, Array<MapData, SettingsMap>);

fn pinned_maps(dir: &Path) -> Result<Pinned, String> {
    let open = |pin: &str| -> Result<Map, String> {
        let path = dir.join(pin);
        MapData::from_pin(&path).map(Map::Array).map_err(|e| format!("{}: {e}", path.display()))
    };
    let current = Array::try_from(open(CURRENT_PIN)?).map_err(|e| e.to_string())?;
    let slots = Array::try_from(open(SETTINGS_PIN)?).map_err(|e| e.to_string())?;
    Ok((current, slots))
}

/// Replaces the settings of the copy pinned in `dir`: the unused slot is
/// written whole, then the index flips, so every connection sees the old
/// settings or the new ones.
pub fn update(dir: &Path, settings: &SettingsMap) -> Result<(), String> {
    let (mut current, mut slots) = pinned_maps(dir)?;
    let next = current.get(&0, 0).map_err(|e| e.to_string())? & 1 ^ 1;
    slots.set(next, settings, 0).map_err(|e| e.to_string())?;
    current.set(0, next, 0).map_err(|e| e.to_string())
}

/// The settings in use by the copy pinned in `dir`.
pub fn read(dir: &Path) -> Result<SettingsMap, String> {
    let (current, slots) = pinned_maps(dir)?;
    let slot = current.get(&0, 0).map_err(|e| e.to_string())? & 1;
    slots.get(&slot, 0).map_err(|e| e.to_string())
}

/// Removes the pins of a copy: its links detach as their last holder goes.
/// Every pin is tried; Err names those that could not be removed.
pub fn remove_pins(dir: &Path) -> Result<(), String> {
    let mut failed = Vec::new();
    let names: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.flatten().map(|e| e.path()).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    for p in names {
        if let Err(e) = std::fs::remove_file(&p) {
            failed.push(format!("{}: {e}", p.display()));
        }
    }
    if let Err(e) = std::fs::remove_dir(dir) {
        failed.push(format!("{}: {e}", dir.display()));
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("; "))
    }
}
