//! The socket options sockfix applies to a connection: keepalive and its
//! timers, TCP_USER_TIMEOUT, TCP_SYNCNT for a non-blocking connect with a
//! connect timeout, and SO_LINGER on outgoing connections only (an accepted
//! socket with linger 0 would reset its clients and lose their data). Each
//! is skipped when the application set it itself before connecting, unless
//! SOCKFIX_FORCE is on: then ours replaces it (a call the program makes
//! after connect still takes effect, as every setsockopt does). With logging
//! on, the log line names the options kept or replaced, with the program's
//! value.
//!
//! The first TCP-level option set doubles as the check that the socket really
//! is TCP: on a UDP, UNIX or raw socket (or a pipe behind a reused fd number)
//! it fails and nothing at all has been changed. Only when no TCP-level
//! option is due does the check cost a syscall of its own.

use crate::fdtable as ft;
use crate::section::{Masked, OwnFd};
use crate::settings::Conn;
use crate::sys;
use core::fmt;
use libc::c_int;

const MAX_OPTIONS: usize = 7;

#[derive(Clone, Copy)]
struct Opt {
    level: c_int,
    name: c_int,
    value: c_int,
    label: &'static str,
    /// The program had set this option before connecting: its value (when
    /// logging is on and it could be read), else -1.
    programs: Option<c_int>,
}

/// What was done, for the log line ("SO_KEEPALIVE=1 TCP_KEEPIDLE=15;
/// TCP_KEEPINTVL=60 kept (set by the program)").
pub struct Applied {
    opts: [Option<Opt>; MAX_OPTIONS],
    /// Options the program set, left alone (value: the program's).
    kept: [Option<Opt>; MAX_OPTIONS],
}

impl fmt::Display for Applied {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let mut any = false;
        for o in self.opts.iter().flatten() {
            write!(f, "{}{}={}", if any { " " } else { "" }, o.label, o.value)?;
            match o.programs {
                Some(was) if was >= 0 => write!(f, " (replaced the program's {was}: SOCKFIX_FORCE)")?,
                Some(_) => f.write_str(" (replaced the program's: SOCKFIX_FORCE)")?,
                None => {}
            }
            any = true;
        }
        if !any {
            f.write_str("no options")?;
        }
        for o in self.kept.iter().flatten() {
            match o.programs {
                Some(v) if v >= 0 => write!(f, "; {}={v} kept (set by the program)", o.label)?,
                _ => write!(f, "; {} kept (set by the program)", o.label)?,
            }
        }
        Ok(())
    }
}

/// The value the program set, for the log: read only when logging is on.
fn programs_value(fd: c_int, level: c_int, name: c_int) -> c_int {
    if crate::log::target().is_none() || name == libc::SO_LINGER {
        return -1;
    }
    sys::getsockopt_int(fd, level, name).unwrap_or(-1)
}

/// Applies the settings to `fd` before connect (`outgoing`) or after accept.
/// `entry` is the fd's table entry, whose APP_ flags name the options to
/// leave alone. Returns None, having changed nothing, when `fd` is not a TCP
/// socket.
pub fn apply(fd: c_int, entry: u32, s: &Conn, syn_retries: Option<c_int>, outgoing: bool) -> Option<Applied> {
    let tcp = libc::IPPROTO_TCP;
    let mut due: [Option<Opt>; MAX_OPTIONS] = [None; MAX_OPTIONS];
    let mut kept: [Option<Opt>; MAX_OPTIONS] = [None; MAX_OPTIONS];
    let (mut n, mut k) = (0, 0);
    let mut want = |flag: u32, level, name, value, label| {
        let programs = (entry & flag != 0).then(|| programs_value(fd, level, name));
        let opt = Opt { level, name, value, label, programs };
        let (list, i) = if programs.is_none() || s.force { (&mut due, &mut n) } else { (&mut kept, &mut k) };
        if let Some(slot) = list.get_mut(*i) {
            *slot = Some(opt);
            *i += 1;
        }
    };
    // TCP-level options first: the first one is the TCP check.
    if s.keepalive {
        want(ft::APP_KEEPIDLE, tcp, libc::TCP_KEEPIDLE, s.keepidle_s, "TCP_KEEPIDLE");
        want(ft::APP_KEEPINTVL, tcp, libc::TCP_KEEPINTVL, s.keepintvl_s, "TCP_KEEPINTVL");
        want(ft::APP_KEEPCNT, tcp, libc::TCP_KEEPCNT, s.keepcnt, "TCP_KEEPCNT");
    }
    if let Some(ms) = s.user_timeout_ms {
        want(ft::APP_USER_TIMEOUT, tcp, libc::TCP_USER_TIMEOUT, ms, "TCP_USER_TIMEOUT");
    }
    if let Some(count) = syn_retries {
        want(ft::APP_SYNCNT, tcp, libc::TCP_SYNCNT, count, "TCP_SYNCNT");
    }
    if s.keepalive {
        want(ft::APP_KEEPALIVE, libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1, "SO_KEEPALIVE");
    }
    if let Some(secs) = s.linger_s.filter(|_| outgoing) {
        want(ft::APP_LINGER, libc::SOL_SOCKET, libc::SO_LINGER, secs, "SO_LINGER");
    }

    let _keep = sys::ErrnoGuard::new();
    let mut applied = Applied { opts: [None; MAX_OPTIONS], kept };
    let mut checked = false;
    for (i, opt) in due.iter().enumerate() {
        let Some(o) = opt else { continue };
        if !checked && o.level != tcp && !sys::is_tcp_socket(fd) {
            return None;
        }
        let ok = if o.name == libc::SO_LINGER && o.level == libc::SOL_SOCKET {
            sys::setsockopt_linger(fd, o.value)
        } else {
            sys::setsockopt_int(fd, o.level, o.name, o.value)
        };
        if !checked && !ok {
            return None;
        }
        checked = true;
        if ok {
            if let Some(slot) = applied.opts.get_mut(i) {
                *slot = Some(*o);
            }
        }
    }
    if !checked && !sys::is_tcp_socket(fd) {
        return None;
    }
    Some(applied)
}

/// The options of a socket sockfix did not see created that someone set:
/// those whose value differs from a fresh socket's of the same family. They
/// count as the program's and are left alone. When the comparison cannot be
/// made, every option counts as set: better to add nothing than to undo a
/// program's choice. Rare (received or inherited sockets), so its syscalls
/// do not matter.
pub fn infer_app_flags(fd: c_int) -> u32 {
    // The options sockfix sets; their flags come from ft::app_flag.
    const ALL: [(c_int, c_int); 6] = [
        (libc::SOL_SOCKET, libc::SO_KEEPALIVE),
        (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE),
        (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL),
        (libc::IPPROTO_TCP, libc::TCP_KEEPCNT),
        (libc::IPPROTO_TCP, libc::TCP_USER_TIMEOUT),
        (libc::IPPROTO_TCP, libc::TCP_SYNCNT),
    ];
    let every = ALL.iter().fold(0, |acc, &(level, name)| acc | ft::app_flag(level, name));
    let _keep = sys::ErrnoGuard::new();
    let Some(domain) = sys::getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_DOMAIN) else {
        return every;
    };
    let masked = Masked::new();
    let Some(fresh) = OwnFd::socket(&masked, domain, libc::SOCK_STREAM, 0) else {
        return every;
    };
    let mut flags = 0;
    for (level, name) in ALL {
        let (ours, theirs) = (sys::getsockopt_int(fd, level, name), sys::getsockopt_int(fresh.fd(), level, name));
        if ours.is_none() || ours != theirs {
            flags |= ft::app_flag(level, name);
        }
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn socket(domain: c_int, ty: c_int) -> c_int {
        let fd = unsafe { libc::socket(domain, ty, 0) };
        assert!(fd >= 0);
        fd
    }

    #[test]
    fn applies_to_tcp_and_skips_what_the_program_set() {
        let fd = socket(libc::AF_INET, libc::SOCK_STREAM);
        let s = Conn { user_timeout_ms: Some(30_000), linger_s: Some(0), ..Conn::default() };
        let applied = apply(fd, ft::APP_KEEPIDLE, &s, None, true).expect("tcp");
        let text = applied.to_string();
        // Logging is off here: the program's value is not read.
        assert_eq!(
            text,
            "TCP_KEEPINTVL=15 TCP_KEEPCNT=9 TCP_USER_TIMEOUT=30000 SO_KEEPALIVE=1 SO_LINGER=0; TCP_KEEPIDLE kept (set by the program)"
        );
        let fd2 = socket(libc::AF_INET, libc::SOCK_STREAM);
        let accepted = apply(fd2, 0, &s, None, false).expect("tcp").to_string();
        assert!(!accepted.contains("SO_LINGER"), "{accepted}");
        unsafe { libc::close(fd2) };
        assert_eq!(sys::getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE), Some(1));
        assert_eq!(sys::getsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT), Some(9));
        assert_eq!(sys::getsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE), Some(7200));
        unsafe { libc::close(fd) };
    }

    #[test]
    fn force_replaces_what_the_program_set_before() {
        let fd = socket(libc::AF_INET, libc::SOCK_STREAM);
        assert!(sys::setsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, 60));
        let s = Conn { keepidle_s: 7, force: true, ..Conn::default() };
        let text = apply(fd, ft::APP_KEEPIDLE, &s, None, true).expect("tcp").to_string();
        assert!(text.starts_with("TCP_KEEPIDLE=7 (replaced the program's: SOCKFIX_FORCE)"), "{text}");
        assert_eq!(sys::getsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE), Some(7));
        unsafe { libc::close(fd) };
    }

    #[test]
    fn inferring_finds_what_someone_set() {
        let fd = socket(libc::AF_INET6, libc::SOCK_STREAM);
        assert_eq!(infer_app_flags(fd), 0);
        sys::setsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, 77);
        sys::setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1);
        assert_eq!(infer_app_flags(fd), ft::APP_KEEPIDLE | ft::APP_KEEPALIVE);
        unsafe { libc::close(fd) };
        // Not a socket: nothing can be compared, so everything counts as set.
        assert_ne!(infer_app_flags(-1) & ft::APP_KEEPIDLE, 0);
    }

    #[test]
    fn leaves_other_sockets_and_errno_untouched() {
        for (domain, ty) in [(libc::AF_INET, libc::SOCK_DGRAM), (libc::AF_UNIX, libc::SOCK_STREAM)] {
            let fd = socket(domain, ty);
            sys::set_errno(1234);
            assert!(apply(fd, 0, &Conn::default(), None, true).is_none());
            assert_eq!(sys::errno(), 1234);
            assert_eq!(sys::getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE), Some(0));
            unsafe { libc::close(fd) };
        }
        // With only SO_KEEPALIVE due, the check is a syscall of its own.
        let fd = socket(libc::AF_INET, libc::SOCK_DGRAM);
        let all_tcp = ft::APP_KEEPIDLE | ft::APP_KEEPINTVL | ft::APP_KEEPCNT;
        assert!(apply(fd, all_tcp, &Conn::default(), None, true).is_none());
        assert_eq!(sys::getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE), Some(0));
        unsafe { libc::close(fd) };
    }
}
