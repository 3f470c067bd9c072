//! `sockfix audit`: which established TCP connections on this host would
//! hang if their peer vanished without a reset (a database failing over),
//! and why. See sockfix(1), AUDIT.
//!
//! Map: `sockets` the kernel's socket table (INET_DIAG), `netns` reading it
//! in another network namespace, `procs` which process holds which socket
//! and what it has loaded, `elf` Go binaries, `sockopt` a socket's own
//! options (pidfd_getfd), `their_settings` the library's settings in that
//! process, `companion` the eBPF companion's copies and what they give a
//! connection, `verdict` protected or not and why, `report` table and JSON.
//!
//! Exit status: 0; 1 when a connection whose peer matches --dest (default:
//! every connection) is weak or unprotected, or when the socket table
//! cannot be read at all; 2 on a usage error.

#[path = "audit/companion.rs"]
mod companion;
#[path = "audit/elf.rs"]
mod elf;
#[path = "audit/netns.rs"]
mod netns;
#[path = "audit/procs.rs"]
mod procs;
#[path = "audit/report.rs"]
mod report;
#[path = "audit/sockets.rs"]
mod sockets;
#[path = "audit/sockopt.rs"]
mod sockopt;
#[path = "audit/their_settings.rs"]
mod their_settings;
#[path = "audit/verdict.rs"]
mod verdict;

use crate::matching::Dests;
use procs::Owner;
use report::Row;
use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::ExitCode;
use verdict::{Facts, Status};

#[derive(clap::Args, Debug)]
#[command(after_help = "Exit status: 0; 1 when a connection whose peer matches --dest (default: any) \
                        is weak or unprotected, or the socket table cannot be read; 2 on a usage \
                        error. Run as root to see every process and network namespace.")]
pub struct AuditArgs {
    /// Only connections to these peers (SOCKFIX_DEST syntax: *, CIDR, CIDR:PORT, :PORT);
    /// the exit status is 1 when one of them is not protected
    #[arg(long, value_name = "LIST")]
    pub dest: Option<String>,
    /// One JSON document (connections, notes, summary) instead of the table
    #[arg(long)]
    pub json: bool,
}

/// The tables of every network namespace that can be read: (namespace
/// inode, table), this command's first; and notes on those that could not.
fn tables(scan: &procs::Scan, own: u64, notes: &mut Vec<String>) -> Result<Vec<(u64, sockets::Table)>, String> {
    let mut out = vec![(own, sockets::read()?)];
    // Each other namespace once (by inode), entered through one of its
    // processes.
    let mut others: BTreeMap<u64, Vec<i32>> = BTreeMap::new();
    for p in &scan.procs {
        if let Some(ns) = p.netns.filter(|&ns| ns != own) {
            others.entry(ns).or_default().push(p.pid);
        }
    }
    for (ns, pids) in others {
        // A process may end meanwhile: up to three are tried.
        let mut result = Err(String::new());
        for &pid in pids.iter().take(3) {
            result = netns::read_of(pid);
            if result.is_ok() {
                break;
            }
        }
        match result {
            Ok(t) => out.push((ns, t)),
            Err(why) => notes.push(format!(
                "network namespace net:[{ns}] (process {}) not read: {why}{}",
                pids[0],
                if is_root() { "" } else { " (run as root)" }
            )),
        }
    }
    Ok(out)
}

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

pub fn run(args: AuditArgs, _library: Option<&Path>) -> ExitCode {
    let filter = match args.dest.as_deref().map(Dests::parse).transpose() {
        Ok(d) => d.unwrap_or_default(),
        Err(why) => {
            eprintln!("sockfix audit: --dest {}: {why}", args.dest.unwrap_or_default());
            return ExitCode::from(2);
        }
    };
    match audit(&filter, args.json) {
        Ok(failing) => ExitCode::from(u8::from(failing > 0)),
        // Nothing could be judged: a failure (as for the other commands),
        // which monitoring must notice too.
        Err(why) => {
            eprintln!("sockfix audit: {why}");
            ExitCode::from(1)
        }
    }
}

/// Lists, judges and prints; returns how many connections matching `filter`
/// are weak or unprotected.
fn audit(filter: &Dests, as_json: bool) -> Result<usize, String> {
    let mut notes = Vec::new();
    let own = std::fs::metadata("/proc/self/ns/net").map_err(|e| format!("/proc/self/ns/net: {e}"))?.ino();
    let scan = procs::scan()?;
    let tables = tables(&scan, own, &mut notes)?;
    let holders = scan.holders();
    // Read once: a copy's settings come from its pinned maps.
    let copies = companion::gather(&mut notes);

    let mut owners: HashMap<i32, Owner> = HashMap::new();
    let mut theirs: HashMap<i32, Result<their_settings::Theirs, String>> = HashMap::new();
    let mut opts_failed: BTreeMap<String, usize> = BTreeMap::new();
    let mut unowned = 0;
    let mut rows = Vec::new();
    for (ns, table) in &tables {
        for conn in table.established.iter().filter(|c| filter.matches(&c.peer)) {
            let held = holders.get(&conn.inode).cloned().unwrap_or_default();
            let pids: Vec<i32> = held.iter().map(|(p, _)| *p).collect();
            let owner = held.first().map(|&(pid, fd)| {
                let o = owners.entry(pid).or_insert_with(|| procs::owner(pid));
                theirs.entry(pid).or_insert_with(|| their_settings::of(o));
                (pid, fd)
            });
            let opts = owner.and_then(|(pid, fd)| match sockopt::read(pid, fd) {
                Ok(o) => Some(o),
                Err(why) => {
                    *opts_failed.entry(why).or_default() += 1;
                    None
                }
            });
            if owner.is_none() {
                unowned += 1;
            }
            let o = owner.and_then(|(pid, _)| owners.get(&pid));
            let accepted = table.accepted(&conn.local);
            // As root every process is seen: an accepted connection nobody
            // holds is still in its listener's queue.
            let why_none = if accepted && is_root() {
                ("not accepted yet: it waits in its listener's queue".to_string(), "not accepted yet")
            } else if is_root() {
                ("no process holds it (being closed, or held by the kernel)".to_string(), "no process")
            } else {
                ("its process is not visible (another user's: run as root)".to_string(), "process not visible")
            };
            let cover = o.and_then(|o| o.cgroup.as_deref()).and_then(|cg| companion::cover(&copies, cg, conn.peer, accepted));
            let facts = Facts {
                conn,
                accepted,
                owner: o.ok_or(why_none),
                opts: opts.as_ref(),
                settings: owner.and_then(|(pid, _)| theirs.get(&pid)),
                companion: cover.as_ref(),
            };
            let verdict = verdict::judge(&facts);
            rows.push(Row {
                netns: *ns,
                pids,
                name: o.map(|o| o.name.clone()),
                conn: conn.clone(),
                accepted: facts.accepted,
                opts,
                library: o.and_then(|o| o.library.clone()),
                verdict,
            });
        }
    }
    rows.sort_by(|a, b| (a.netns != own, a.netns, &a.pids, a.conn.local).cmp(&(b.netns != own, b.netns, &b.pids, b.conn.local)));

    if !scan.hidden.is_empty() {
        let n: usize = scan.hidden.values().sum();
        let mut uids: Vec<String> = scan.hidden.keys().map(u32::to_string).collect();
        uids.sort();
        notes.push(format!(
            "{n} processes of other users (uid {}) could not be looked at: their connections show no process, \
             and network namespaces only they are in are not listed; run as root to see them",
            uids.join(", ")
        ));
    }
    if unowned > 0 {
        notes.push(format!("{unowned} connections have no visible process"));
    }
    for (why, n) in &opts_failed {
        notes.push(format!("the socket options of {n} connections could not be read ({why}): keepalive idle and UTO show ?"));
    }

    let failing = rows.iter().filter(|r| matches!(r.verdict.status, Status::Weak | Status::Unprotected)).count();
    let summary = report::summary(&rows);
    let text =
        if as_json { report::json(&rows, &notes, &summary, failing) + "\n" } else { report::table(&rows, own, &notes, &summary) };
    // A closed pipe (audit | head) is the reader's choice, not an error.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
    Ok(failing)
}
