//! What `sockfix bpf` says: the settings a copy applies (read back from its
//! map, so it is what the kernel uses), which settings only the library
//! can apply, and `status`: where the companion is attached, since when,
//! and what is left over.

use super::attach;
use super::layout::{ConnMap, SettingsMap};
use super::place;
use crate::check::Judged;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::process::ExitCode;

/// Exit status of `status` when the companion is attached nowhere.
const NOT_ATTACHED: u8 = 3;

/// One line: what a matched connection gets, and to which destinations.
pub fn summary(m: &SettingsMap) -> String {
    let mut parts = vec![conn(&m.conns[0])];
    parts.push(format!("accepted connections: {}", if m.server != 0 { "yes" } else { "no" }));
    let profiles = m.nrules.saturating_sub(m.ndest);
    let dests = if m.dest_any != 0 { "*".to_string() } else { format!("{} rules", m.ndest) };
    if profiles > 0 {
        parts.push(format!("destinations {dests}, {profiles} [dest] profile rules"));
    } else {
        parts.push(format!("destinations {dests}"));
    }
    parts.join("; ")
}

fn conn(c: &ConnMap) -> String {
    let mut s = if c.keepalive != 0 {
        format!("keepalive after {}s idle, every {}s, {} probes", c.keepidle, c.keepintvl, c.keepcnt)
    } else {
        "keepalive not set".to_string()
    };
    if c.user_timeout != 0 {
        s += &format!("; TCP_USER_TIMEOUT {}ms", c.user_timeout);
    }
    if c.syncnt != 0 {
        s += &format!("; TCP_SYNCNT {}", c.syncnt);
    }
    let mut sources: Vec<String> =
        c.bind4[..(c.nbind4 as usize).min(c.bind4.len())].iter().map(|w| Ipv4Addr::from(w.to_ne_bytes()).to_string()).collect();
    sources.extend(c.bind6[..(c.nbind6 as usize).min(c.bind6.len())].iter().map(|a| {
        let mut b = [0u8; 16];
        for (i, w) in a.iter().enumerate() {
            b[4 * i..4 * i + 4].copy_from_slice(&w.to_ne_bytes());
        }
        Ipv6Addr::from(b).to_string()
    }));
    if !sources.is_empty() {
        s += &format!("; source {}", sources.join(", "));
    }
    if c.port_lo != 0 {
        s += &format!("; ports {}-{}", c.port_lo, c.port_hi);
    }
    if c.force != 0 {
        s += "; over the program's own options (FORCE)";
    }
    s
}

/// The settings given that the companion cannot apply, each with why: only
/// the library, inside the program, can.
pub fn library_only(j: &Judged) -> Vec<String> {
    let set = |key: &str| j.layers.iter().any(|l| l.pairs.iter().any(|(k, _)| k == key));
    let conns = || std::iter::once(&j.settings.conn).chain(j.settings.profiles.iter().map(|p| &p.conn));
    let mut out = Vec::new();
    if conns().any(|c| c.linger_s.is_some()) {
        out.push("SOCKFIX_LINGER: not applied (the kernel refuses SO_LINGER from BPF); only the library sets it");
    }
    if conns().any(|c| c.idle_check_s.is_some()) {
        out.push("SOCKFIX_IDLE_CHECK: not applied (it is a check before a write, inside the program); only the library makes it");
    }
    if set("SOCKFIX_EINTR") || set("SOCKFIX_EINTR_PASS") {
        out.push("SOCKFIX_EINTR, SOCKFIX_EINTR_PASS: not applied (resuming calls a signal interrupts happens inside the program); only the library does it");
    }
    if set("SOCKFIX_PROGRAMS") || set("SOCKFIX_SKIP_PROGRAMS") {
        out.push("SOCKFIX_PROGRAMS, SOCKFIX_SKIP_PROGRAMS: not applied: every program in the cgroup is covered (choose the cgroup with --cgroup)");
    }
    if set("SOCKFIX_LOG") {
        out.push("SOCKFIX_LOG: not applied: the companion logs nothing (sockfix bpf status, sockfix audit show what it did)");
    }
    out.into_iter().map(String::from).collect()
}

/// For `sockfix config`: which of these settings the companion applies and
/// which only the library can, as comment lines.
pub fn config_note(j: &Judged) -> Vec<String> {
    let mut out = vec![
        "# the eBPF companion (sockfix bpf) applies: KEEPALIVE, KEEPIDLE, KEEPINTVL, KEEPCNT, USER_TIMEOUT, \
         CONNECT_TIMEOUT (as TCP_SYNCNT), BIND, PORTS, SERVER, FORCE, DEST and [dest] sections"
            .to_string(),
        "# only the library applies: EINTR, EINTR_PASS, LINGER, IDLE_CHECK, LOG, PROGRAMS, SKIP_PROGRAMS".to_string(),
    ];
    if let Some(ms) = j.settings.conn.connect_timeout_ms {
        let n = crate::settings::syn_retries_for(ms);
        out.push(format!(
            "# the companion's connect timeout: TCP_SYNCNT={n}, which gives up after {} s (the library's after {ms} ms)",
            (1u64 << (n + 1)) - 1
        ));
    }
    out
}

/// `sockfix bpf status`.
pub fn status() -> ExitCode {
    let copies = place::attached();
    let mut problems = 0;
    for (id, dir) in &copies {
        let links = links(dir);
        let since = links.iter().find_map(|l| l.1.clone()).unwrap_or_else(|| "?".into());
        match (place::cgroup_by_id(*id), attach::cgroup_gone(dir)) {
            (Some(at), _) => println!("attached to {} (cgroup {id}) since {since}", at.display()),
            // Out of sight (another cgroup namespace), but the kernel has it.
            (None, Some(false)) => println!(
                "attached to cgroup {id} (not visible from here: another cgroup namespace, or just removed) since {since}"
            ),
            (None, _) => {
                // Its processes are gone; the pins keep the dead cgroup.
                problems += 1;
                println!("leftover: cgroup {id} (removed), attached since {since}");
                println!("  leftover: {} pins a copy of a removed cgroup; the next sockfix bpf enable, or a disable naming the removed cgroup, removes it", dir.display());
            }
        }
        match attach::read(dir) {
            Ok(m) => println!("  settings: {}", summary(&m)),
            Err(e) => {
                problems += 1;
                println!("  settings: cannot be read: {e}");
            }
        }
        let missing: Vec<&str> =
            attach::PROGRAMS.iter().filter(|(_, pin)| !links.iter().any(|l| l.0 == *pin)).map(|(_, pin)| *pin).collect();
        if !missing.is_empty() {
            problems += 1;
            println!(
                "  leftover: {} missing in {}: half attached; sockfix bpf disable --all removes it",
                missing.join(", "),
                dir.display()
            );
        }
    }
    if copies.is_empty() {
        println!("not attached (nothing pinned under {})", place::PIN_ROOT);
        if Path::new(place::PIN_ROOT).join("sockfix_sock").exists() {
            println!("  leftover: {}/sockfix_sock; sockfix bpf disable --all removes it", place::PIN_ROOT);
            problems += 1;
        }
    }
    let stray = stray_programs(&copies);
    if !stray.is_empty() {
        problems += 1;
        println!(
            "  leftover: sockfix programs loaded but not pinned by sockfix (ids {}): attached by another tool?",
            stray.join(", ")
        );
    }
    if copies.is_empty() {
        ExitCode::from(NOT_ATTACHED)
    } else if problems > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The id of the program behind the link pinned as `pin` in `dir`.
fn pinned_program(dir: &Path, pin: &str) -> Option<u32> {
    let link: aya::programs::links::FdLink = aya::programs::links::PinnedLink::from_pin(dir.join(pin)).ok()?.into();
    Some(link.info().ok()?.program_id())
}

/// The link pins of a copy: (pin name, when its program was loaded).
fn links(dir: &Path) -> Vec<(&'static str, Option<String>)> {
    attach::PROGRAMS
        .iter()
        .filter_map(|(_, pin)| {
            let prog_id = pinned_program(dir, pin)?;
            let loaded = aya::programs::loaded_programs()
                .flatten()
                .find(|p| p.id() == prog_id)
                .and_then(|p| p.loaded_at())
                .map(local_time);
            Some((*pin, loaded))
        })
        .collect()
}

/// Programs named like ours (the kernel keeps 15 characters of a name)
/// that no pinned link of ours holds.
fn stray_programs(copies: &[(u64, std::path::PathBuf)]) -> Vec<String> {
    let ours: Vec<u32> =
        copies.iter().flat_map(|(_, dir)| attach::PROGRAMS.iter().filter_map(move |(_, pin)| pinned_program(dir, pin))).collect();
    aya::programs::loaded_programs()
        .flatten()
        .filter(|p| p.name_as_str().is_some_and(|n| n.starts_with("sockfix_")) && !ours.contains(&p.id()))
        .map(|p| p.id().to_string())
        .collect()
}

/// A time as `date` prints it here (UTC when the zone is unknown).
fn local_time(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()) as libc::time_t;
    // SAFETY: localtime_r fills the given struct from the given time.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    if unsafe { libc::localtime_r(&secs, &mut tm) }.is_null() {
        return format!("{secs} (seconds since 1970)");
    }
    format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec)
}
