//! Why a connection is or is not protected against a peer that vanishes
//! without a reset: keepalive on with a first probe within an hour is
//! protected; keepalive on at the kernel's 2 h default (or anything from an
//! hour up) is weak; keepalive off waits forever on an idle read. When it is
//! not protected, the likeliest reason, from the owner process, the
//! settings the library took there and the eBPF companion covering it.

use super::companion::Cover;
use super::procs::Owner;
use super::sockets::{Established, Pending};
use super::sockopt::Options;
use super::their_settings::Theirs;
use crate::matching;

/// From this keepalive idle time on (seconds) a connection counts as weak:
/// the kernel's default is 7200 s (net.ipv4.tcp_keepalive_time).
pub const WEAK_IDLE_S: u32 = 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Protected,
    /// Keepalive on, but the first probe only after an hour or more.
    Weak,
    /// Keepalive off: an idle read waits forever.
    Unprotected,
    /// Cannot be told from here (the socket's options are unreadable and
    /// the kernel's timer does not show it).
    Unknown,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Protected => "protected",
            Status::Weak => "weak",
            Status::Unprotected => "unprotected",
            Status::Unknown => "unknown",
        }
    }
}

/// Keepalive as seen: from the socket's options when they could be read,
/// else from the kernel's pending timer (the keepalive timer is pending
/// exactly when SO_KEEPALIVE is on and no data is in flight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// None: data in flight hides it and the options were unreadable.
    pub on: Option<bool>,
    /// Seconds; None when the options were unreadable.
    pub idle_s: Option<u32>,
}

pub fn keepalive(conn: &Established, opts: Option<&Options>) -> Keepalive {
    match opts {
        Some(o) => Keepalive { on: Some(o.keepalive), idle_s: o.keepalive.then_some(o.keepidle_s) },
        None => Keepalive {
            on: match conn.timer {
                Pending::Keepalive(_) => Some(true),
                Pending::None => Some(false),
                Pending::Retransmit(_) => None,
            },
            idle_s: None,
        },
    }
}

/// What sockfix does for this connection, or why it does nothing.
#[derive(Debug, Clone)]
enum Library {
    /// It applies these keepalive settings (idle in seconds).
    Acts { idle_s: u32, by: By },
    /// It cannot or does not act: (reason for people, short label).
    Not(String, &'static str),
}

/// Which part of sockfix acts.
#[derive(Debug, Clone)]
enum By {
    /// libsockfix.so in the process.
    Library,
    /// The eBPF companion's copy on this cgroup.
    Companion(String),
}

impl By {
    fn word(&self) -> &'static str {
        match self {
            By::Library => "sockfix",
            By::Companion(_) => "sockfix bpf",
        }
    }
}

/// The verdict on one connection.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub status: Status,
    /// Why it is not protected (or cannot be told); None when protected.
    pub reason: Option<String>,
    /// A few words for the summary line: "static", "Go", "no library".
    pub label: Option<&'static str>,
    /// Who turned keepalive on, when protected: "sockfix" (the library),
    /// "sockfix bpf" (the eBPF companion) or "program".
    pub covered_by: Option<&'static str>,
    /// The cgroup of the eBPF companion's copy, when covered_by is "sockfix bpf".
    pub companion: Option<String>,
}

/// The facts about one connection that the verdict is made from.
pub struct Facts<'a> {
    pub conn: &'a Established,
    /// The local end is a listening port: an accepted connection.
    pub accepted: bool,
    /// The process holding it; Err: why there is none to look at, and a
    /// label for the summary.
    pub owner: Result<&'a Owner, (String, &'static str)>,
    pub opts: Option<&'a Options>,
    /// The library's settings in the owner (Err: why unknown).
    pub settings: Option<&'a Result<Theirs, String>>,
    /// What the eBPF companion does for it (None: no copy covers its owner).
    pub companion: Option<&'a Cover>,
}

/// What sockfix does: the library when it acts (it sets the options before
/// connect, and the companion leaves what a program set, so it wins), else
/// the eBPF companion when it covers the process. Where neither acts, both
/// reasons.
fn sockfix(f: &Facts) -> Library {
    let lib = library(f);
    match (lib, f.companion) {
        (lib @ Library::Acts { .. }, _) | (lib, None) => lib,
        (_, Some(Cover::Acts { cgroup, idle_s })) => Library::Acts { idle_s: *idle_s, by: By::Companion(cgroup.clone()) },
        (Library::Not(why, _), Some(Cover::Not { cgroup, why: not, label })) => {
            Library::Not(format!("{why}; the eBPF companion on {cgroup} covers it but {not}"), label)
        }
    }
}

fn library(f: &Facts) -> Library {
    let o = match &f.owner {
        Ok(o) => o,
        Err((why, label)) => return Library::Not(why.clone(), label),
    };
    if o.go {
        return Library::Not("Go binary: its own system calls bypass LD_PRELOAD".into(), "Go");
    }
    if o.loader == Some(false) {
        return Library::Not("static binary: no dynamic loader, LD_PRELOAD cannot act".into(), "static");
    }
    match &o.library {
        None => return Library::Not("its memory maps cannot be read".into(), "maps unreadable"),
        Some(None) => {
            let why = match o.env("LD_PRELOAD").filter(|p| p.contains("sockfix")) {
                Some(p) => format!("libsockfix.so not loaded, although LD_PRELOAD={p} (wrong path or ABI?)"),
                None => "libsockfix.so not loaded (neither LD_PRELOAD nor /etc/ld.so.preload)".into(),
            };
            return Library::Not(why, "no library");
        }
        Some(Some(_)) => {}
    }
    let theirs = match f.settings {
        Some(Ok(t)) => t,
        Some(Err(why)) => return Library::Not(format!("libsockfix.so loaded, but {why}"), "settings unknown"),
        None => return Library::Not("libsockfix.so loaded, settings not read".into(), "settings unknown"),
    };
    let s = &theirs.settings;
    if !s.active {
        let mut names = super::their_settings::names(o);
        names.dedup();
        let named: Vec<&str> = names.iter().map(String::as_str).collect();
        let skip = theirs.skip_programs.as_deref().and_then(|kv| kv.split_once('=')).map(|(_, v)| v).unwrap_or("");
        let skipped = !matching::program_in_scope(&named, &[], &matching::parse_names(skip));
        let (by, label) = if skipped {
            (theirs.skip_programs.as_deref(), "SOCKFIX_SKIP_PROGRAMS")
        } else {
            (theirs.programs.as_deref(), "SOCKFIX_PROGRAMS")
        };
        return Library::Not(format!("left out by {} (it is {})", by.unwrap_or(label), names.join(", ")), label);
    }
    let conn = if f.accepted {
        if !s.server {
            return Library::Not("accepted connection, and SOCKFIX_SERVER is off".into(), "SOCKFIX_SERVER off");
        }
        &s.conn
    } else {
        match s.for_dest(&f.conn.peer) {
            Some(c) => c,
            None => return Library::Not(format!("peer not in SOCKFIX_DEST={}", s.dests), "SOCKFIX_DEST"),
        }
    };
    if !conn.keepalive {
        return Library::Not("SOCKFIX_KEEPALIVE is off for it".into(), "SOCKFIX_KEEPALIVE=off");
    }
    Library::Acts { idle_s: conn.keepidle_s.max(0) as u32, by: By::Library }
}

/// Seconds as a short duration: 15s, 2h, 1h30m.
pub fn span(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 && s % 60 == 0 => format!("{}m", s / 60),
        s if s < 3600 => format!("{}m{}s", s / 60, s % 60),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s => format!("{}h{}m", s / 3600, s % 3600 / 60),
    }
}

pub fn judge(f: &Facts) -> Verdict {
    let ka = keepalive(f.conn, f.opts);
    let lib = sockfix(f);
    let v = |status, reason: String, label| Verdict {
        status,
        reason: Some(reason),
        label: Some(label),
        covered_by: None,
        companion: None,
    };
    let protected = |by: &By| Verdict {
        status: Status::Protected,
        reason: None,
        label: None,
        covered_by: Some(by.word()),
        companion: match by {
            By::Companion(cgroup) => Some(cgroup.clone()),
            By::Library => None,
        },
    };
    let unreadable = "its socket options cannot be read (run as root)";
    match (ka.on, ka.idle_s, &lib) {
        (Some(false), _, Library::Acts { by: By::Library, .. }) => v(
            Status::Unprotected,
            "the program turned keepalive off itself (libsockfix.so is loaded and would turn it on)".into(),
            "keepalive off by the program",
        ),
        // The companion sets nothing on a socket made before it was
        // attached, and leaves the program's own SO_KEEPALIVE: from here
        // the two look the same.
        (Some(false), _, Library::Acts { by: By::Companion(cgroup), .. }) => v(
            Status::Unprotected,
            format!(
                "the eBPF companion on {cgroup} covers it, yet keepalive is off: made before the companion was \
                 attached, or keepalive turned off by the program (the companion leaves the program's own choice)"
            ),
            "keepalive off under bpf",
        ),
        (Some(false), _, Library::Not(why, label)) => v(Status::Unprotected, why.clone(), label),
        (Some(true), Some(idle), lib) if idle >= WEAK_IDLE_S => {
            let why = match lib {
                Library::Acts { idle_s, by } if *idle_s >= WEAK_IDLE_S => match by {
                    By::Library => format!("SOCKFIX_KEEPIDLE is {}", span(u64::from(*idle_s))),
                    By::Companion(cg) => format!("SOCKFIX_KEEPIDLE is {} (the eBPF companion on {cg})", span(u64::from(*idle_s))),
                },
                Library::Acts { by: By::Library, .. } => "the program set this idle time itself".into(),
                Library::Acts { by: By::Companion(cg), .. } => format!(
                    "the program set this idle time itself, or the connection was made before the eBPF companion on {cg} was attached"
                ),
                Library::Not(why, _) => format!("the program's own keepalive; {why}"),
            };
            let label = match lib {
                Library::Not(_, label) => label,
                Library::Acts { .. } => "long keepalive idle",
            };
            v(Status::Weak, format!("first keepalive probe only after {} idle: {why}", span(u64::from(idle))), label)
        }
        (Some(true), Some(_), Library::Acts { by, .. }) => protected(by),
        (Some(true), Some(_), Library::Not(..)) => {
            Verdict { status: Status::Protected, reason: None, label: None, covered_by: Some("program"), companion: None }
        }
        (Some(true), None, lib) => match (f.conn.timer, lib) {
            (Pending::Keepalive(left), _) if left.as_secs() >= u64::from(WEAK_IDLE_S) => v(
                Status::Weak,
                format!("keepalive on, next check only in {}: a long idle time ({unreadable})", span(left.as_secs())),
                "long keepalive idle",
            ),
            (_, Library::Acts { idle_s, by }) if *idle_s < WEAK_IDLE_S => protected(by),
            _ => v(Status::Unknown, format!("keepalive on, idle time unknown: {unreadable}"), "unknown"),
        },
        (None, _, _) => v(Status::Unknown, format!("data in flight hides the keepalive timer, and {unreadable}"), "unknown"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::their_settings;
    use super::*;
    use std::time::Duration;

    fn conn(peer: &str, timer: Pending) -> Established {
        Established { local: "10.0.0.5:40000".parse().unwrap(), peer: peer.parse().unwrap(), inode: 1, uid: 0, timer }
    }

    /// A dynamically linked process with `env`, the library mapped or not.
    fn owner(library: bool, env: &[(&str, &str)]) -> Owner {
        Owner {
            pid: 1,
            name: "app".into(),
            argv0: Some("/usr/bin/app".into()),
            exe: Some("/usr/bin/app".into()),
            library: Some(library.then(|| "/usr/lib/x86_64-linux-gnu/libsockfix.so".into())),
            loader: Some(true),
            go: false,
            environ: Ok(env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
            secure: Some(false),
            // No config file: the environment and the defaults only.
            root: "/nonexistent-root".into(),
            cgroup: Some("/app.service".into()),
        }
    }

    fn opts(keepalive: bool, idle: u32) -> Options {
        Options { keepalive, keepidle_s: idle, keepintvl_s: 15, keepcnt: 9, user_timeout_ms: 0 }
    }

    fn judged(c: &Established, accepted: bool, o: &Owner, opts: Option<&Options>) -> Verdict {
        let theirs = their_settings::of(o);
        judge(&Facts { conn: c, accepted, owner: Ok(o), opts, settings: Some(&theirs), companion: None })
    }

    #[test]
    fn reasons() {
        let c = conn("10.0.0.9:3306", Pending::None);
        let off = opts(false, 7200);
        let mut o = owner(false, &[]);
        o.loader = Some(false);
        assert_eq!(judged(&c, false, &o, Some(&off)).label, Some("static"));
        o.go = true;
        assert_eq!(judged(&c, false, &o, Some(&off)).label, Some("Go"));
        let o = owner(false, &[("LD_PRELOAD", "/opt/libsockfix.so")]);
        let v = judged(&c, false, &o, Some(&off));
        assert_eq!((v.status, v.label), (Status::Unprotected, Some("no library")));
        assert!(v.reason.unwrap().contains("LD_PRELOAD=/opt/libsockfix.so"));
        let o = owner(true, &[]);
        assert_eq!(judged(&c, false, &o, Some(&off)).label, Some("keepalive off by the program"));
        assert_eq!(judged(&c, true, &o, Some(&off)).label, Some("SOCKFIX_SERVER off"));
        let o = owner(true, &[("SOCKFIX_SERVER", "on"), ("SOCKFIX_DEST", "192.0.2.0/24")]);
        assert_eq!(judged(&c, true, &o, Some(&off)).label, Some("keepalive off by the program"));
        assert_eq!(judged(&c, false, &o, Some(&off)).label, Some("SOCKFIX_DEST"));
        let o = owner(true, &[("SOCKFIX_PROGRAMS", "php-fpm")]);
        assert_eq!(judged(&c, false, &o, Some(&off)).label, Some("SOCKFIX_PROGRAMS"));
        let o = owner(true, &[("SOCKFIX_SKIP_PROGRAMS", "app")]);
        assert_eq!(judged(&c, false, &o, Some(&off)).label, Some("SOCKFIX_SKIP_PROGRAMS"));
        let o = owner(true, &[("SOCKFIX_KEEPALIVE", "off")]);
        assert_eq!(judged(&c, false, &o, Some(&off)).label, Some("SOCKFIX_KEEPALIVE=off"));
    }

    #[test]
    fn keepalive_idle_decides_protected_or_weak() {
        let c = conn("10.0.0.9:3306", Pending::Keepalive(Duration::from_secs(10)));
        let lib = owner(true, &[]);
        let v = judged(&c, false, &lib, Some(&opts(true, 15)));
        assert_eq!((v.status, v.covered_by), (Status::Protected, Some("sockfix")));
        let v = judged(&c, false, &owner(false, &[]), Some(&opts(true, 60)));
        assert_eq!((v.status, v.covered_by), (Status::Protected, Some("program")));
        let v = judged(&c, false, &owner(false, &[]), Some(&opts(true, 7200)));
        assert_eq!((v.status, v.label), (Status::Weak, Some("no library")));
        assert_eq!(judged(&c, false, &lib, Some(&opts(true, 3600))).status, Status::Weak);
        // Without the socket's options: the library's settings, else unknown.
        assert_eq!(judged(&c, false, &lib, None).status, Status::Protected);
        assert_eq!(judged(&c, false, &owner(false, &[]), None).status, Status::Unknown);
        let long = conn("10.0.0.9:3306", Pending::Keepalive(Duration::from_secs(7000)));
        assert_eq!(judged(&long, false, &owner(false, &[]), None).status, Status::Weak);
        let busy = conn("10.0.0.9:3306", Pending::Retransmit(Duration::from_millis(200)));
        assert_eq!(judged(&busy, false, &lib, None).status, Status::Unknown);
        assert_eq!(judged(&busy, false, &lib, Some(&opts(true, 15))).status, Status::Protected);
    }

    #[test]
    fn the_companion_when_the_library_does_not_act() {
        let c = conn("10.0.0.9:3306", Pending::None);
        let mut stat = owner(false, &[]);
        stat.loader = Some(false);
        let judged = |o: &Owner, opts: &Options, cover: Cover| {
            let theirs = their_settings::of(o);
            judge(&Facts {
                conn: &c,
                accepted: false,
                owner: Ok(o),
                opts: Some(opts),
                settings: Some(&theirs),
                companion: Some(&cover),
            })
        };
        let acts = |idle| Cover::Acts { cgroup: "/t".into(), idle_s: idle };
        let v = judged(&stat, &opts(true, 7), acts(7));
        assert_eq!((v.status, v.covered_by, v.companion.as_deref()), (Status::Protected, Some("sockfix bpf"), Some("/t")));
        let v = judged(&stat, &opts(false, 7200), acts(7));
        assert_eq!(v.status, Status::Unprotected);
        assert!(v.reason.unwrap().contains("made before the companion was attached, or keepalive turned off by the program"));
        let v = judged(&stat, &opts(true, 7200), acts(7200));
        assert_eq!(v.status, Status::Weak);
        assert!(v.reason.unwrap().contains("SOCKFIX_KEEPIDLE is 2h (the eBPF companion on /t)"));
        let not =
            Cover::Not { cgroup: "/t".into(), why: "the peer is not in its SOCKFIX_DEST".into(), label: "bpf SOCKFIX_DEST" };
        let v = judged(&stat, &opts(false, 7200), not);
        assert_eq!((v.status, v.label), (Status::Unprotected, Some("bpf SOCKFIX_DEST")));
        let why = v.reason.unwrap();
        assert!(
            why.starts_with("static binary")
                && why.ends_with("the eBPF companion on /t covers it but the peer is not in its SOCKFIX_DEST"),
            "{why}"
        );
        // The library acting wins (it sets the options first); left out,
        // it leaves the socket to the companion.
        let v = judged(&owner(true, &[]), &opts(true, 15), acts(7));
        assert_eq!((v.covered_by, v.companion), (Some("sockfix"), None));
        let v = judged(&owner(true, &[("SOCKFIX_PROGRAMS", "other")]), &opts(true, 7), acts(7));
        assert_eq!(v.covered_by, Some("sockfix bpf"));
    }

    #[test]
    fn spans() {
        assert_eq!(span(15), "15s");
        assert_eq!(span(60), "1m");
        assert_eq!(span(90), "1m30s");
        assert_eq!(span(7200), "2h");
        assert_eq!(span(7140), "1h59m");
    }
}
