//! What sockfix knows about each fd number, in one word per fd.
//!
//! The hot paths (every read, write and poll of every process on a global
//! install) decide from this table alone, with one relaxed load and no
//! syscall. The table is a hint, never the truth: an fd can be closed behind
//! our back (`close_range`, `closefrom`, a raw `syscall(SYS_close)`, a vfork
//! child) and its number reused as a pipe, so anything that would change what
//! the program sees re-checks the fd with a syscall first
//! (`sys::is_tcp_socket`). A stale entry can therefore only cost a syscall,
//! never a wrong answer. `close` is deliberately not hooked: a vfork child
//! closing its copy of the fds before exec would otherwise wipe the parent's
//! entries; instead every call that creates an fd we care about (socket,
//! accept, dup) overwrites its entry. (A vfork child that dup2s onto one of
//! its parent's TCP fd numbers does change the parent's entry: the parent
//! then loses resumption on that fd, never correctness.)

use core::sync::atomic::{AtomicU32, Ordering::Relaxed};
use libc::c_int;

/// fds at or above this have no entry: they are never marked TCP (so reads
/// are not resumed) and connect applies no options, because the table could
/// not record what the application set itself. The default `fs.nr_open` is
/// exactly this, so only hosts that raise it can see such fds. The array is
/// zero-filled .bss: untouched pages cost no memory.
pub const SIZE: usize = 1 << 20;

static TABLE: [AtomicU32; SIZE] = [const { AtomicU32::new(0) }; SIZE];

/// The fd was created or accepted as an IPv4/IPv6 TCP socket.
pub const TCP: u32 = 1 << 0;
/// sockfix has applied its options on connect (or accept).
pub const APPLIED: u32 = 1 << 1;
/// The kind of the fd is known: the TCP bit can be trusted.
pub const KNOWN: u32 = 1 << 2;
/// sockfix saw the socket created in this process (socket, accept from a
/// seen listener, dup of a seen fd), so the APP_ flags below are complete.
/// A socket it did not see created (received with SCM_RIGHTS, inherited
/// across exec) has its options compared with a fresh socket's instead
/// (sockopt::infer_app_flags).
pub const SEEN: u32 = 1 << 3;

/// A mark that goes with TCP (`set_tcp_marks`): logging is on, so a failed
/// call on this TCP socket takes the checked path of resume::io, which says
/// when a keepalive or user timeout ended the connection; without it the
/// fast path does not even ask errno, and a process that does not log pays
/// nothing for the log.
pub const LOGGED: u32 = 1 << 5;
const TCP_MARKS: u32 = LOGGED;

// Options the application set itself: sockfix leaves each of them alone.
pub const APP_KEEPALIVE: u32 = 1 << 8;
pub const APP_KEEPIDLE: u32 = 1 << 9;
pub const APP_KEEPINTVL: u32 = 1 << 10;
pub const APP_KEEPCNT: u32 = 1 << 11;
pub const APP_USER_TIMEOUT: u32 = 1 << 12;
pub const APP_SYNCNT: u32 = 1 << 13;
pub const APP_RCVTIMEO: u32 = 1 << 14;
pub const APP_SNDTIMEO: u32 = 1 << 15;
pub const APP_LINGER: u32 = 1 << 16;
/// The program bound the socket itself: its source is left alone.
pub const APP_BOUND: u32 = 1 << 17;

/// The connection has an idle check; its threshold in seconds is in the top
/// 12 bits (IDLE_SHIFT), so the hot path needs no other lookup.
pub const IDLE_CHECK: u32 = 1 << 19;
const IDLE_SHIFT: u32 = 20;
pub const MAX_IDLE_SECS: u32 = (1 << (32 - IDLE_SHIFT)) - 1;

/// Options that an accepted socket inherits from its listener in the kernel,
/// and so count as the application's on the accepted socket too.
pub const INHERITED: u32 =
    APP_KEEPALIVE | APP_KEEPIDLE | APP_KEEPINTVL | APP_KEEPCNT | APP_USER_TIMEOUT | APP_RCVTIMEO | APP_SNDTIMEO | APP_LINGER;

fn slot(fd: c_int) -> Option<&'static AtomicU32> {
    TABLE.get(usize::try_from(fd).ok()?)
}

#[inline(always)]
pub fn get(fd: c_int) -> u32 {
    slot(fd).map_or(0, |s| s.load(Relaxed))
}

pub fn has_slot(fd: c_int) -> bool {
    slot(fd).is_some()
}

/// A new socket now lives at `fd`: forget whatever was there before.
/// With TCP in `bits`, the TCP marks the process has are added.
pub fn reset(fd: c_int, bits: u32) {
    if let Some(s) = slot(fd) {
        s.store(with_marks(bits), Relaxed);
    }
}

/// With TCP in `bits`, the TCP marks the process has are added too.
pub fn add(fd: c_int, bits: u32) {
    if let Some(s) = slot(fd) {
        s.fetch_or(with_marks(bits), Relaxed);
    }
}

/// Removing TCP removes the marks that go with it.
pub fn remove(fd: c_int, bits: u32) {
    if let Some(s) = slot(fd) {
        s.fetch_and(!(if bits & TCP != 0 { bits | TCP_MARKS } else { bits }), Relaxed);
    }
}

/// The marks every entry marked TCP gets with it.
static MARKS: AtomicU32 = AtomicU32::new(0);

fn with_marks(bits: u32) -> u32 {
    if bits & TCP != 0 {
        bits | MARKS.load(Relaxed)
    } else {
        bits
    }
}

/// Called by the constructor: from now on every entry marked TCP gets
/// `marks` (LOGGED). A socket made earlier, by another library's
/// constructor, gets them when it connects (the connect hook marks it TCP
/// again); one connected before has no options of ours, and so no timeout
/// of ours to log.
pub fn set_tcp_marks(marks: u32) {
    MARKS.store(marks & TCP_MARKS, Relaxed);
}

/// Turns the idle check on for `fd`, with a threshold in seconds (capped at
/// MAX_IDLE_SECS, about 68 minutes: the top 12 bits of the entry).
pub fn set_idle_check(fd: c_int, secs: u32) {
    if let Some(s) = slot(fd) {
        let bits = IDLE_CHECK | (secs.clamp(1, MAX_IDLE_SECS) << IDLE_SHIFT);
        let _ = s.fetch_update(Relaxed, Relaxed, |e| Some((e & !(u32::MAX << IDLE_SHIFT)) | bits));
    }
}

pub fn idle_threshold_secs(entry: u32) -> u32 {
    entry >> IDLE_SHIFT
}

/// When each fd last moved data, in coarse monotonic milliseconds (wrapping
/// u32: fine for idle spans under 49 days). Written only for connections
/// with an idle check.
static ACTIVITY: [AtomicU32; SIZE] = [const { AtomicU32::new(0) }; SIZE];

pub fn touch(fd: c_int, now_ms: u32) {
    if let Some(s) = usize::try_from(fd).ok().and_then(|i| ACTIVITY.get(i)) {
        s.store(now_ms, Relaxed);
    }
}

pub fn last_activity(fd: c_int) -> u32 {
    usize::try_from(fd).ok().and_then(|i| ACTIVITY.get(i)).map_or(0, |s| s.load(Relaxed))
}

/// The flag recording that the application set this option itself.
pub fn app_flag(level: c_int, name: c_int) -> u32 {
    match (level, name) {
        (libc::SOL_SOCKET, libc::SO_KEEPALIVE) => APP_KEEPALIVE,
        (libc::SOL_SOCKET, libc::SO_RCVTIMEO) => APP_RCVTIMEO,
        (libc::SOL_SOCKET, libc::SO_SNDTIMEO) => APP_SNDTIMEO,
        (libc::SOL_SOCKET, libc::SO_LINGER) => APP_LINGER,
        (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE) => APP_KEEPIDLE,
        (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL) => APP_KEEPINTVL,
        (libc::IPPROTO_TCP, libc::TCP_KEEPCNT) => APP_KEEPCNT,
        (libc::IPPROTO_TCP, libc::TCP_USER_TIMEOUT) => APP_USER_TIMEOUT,
        (libc::IPPROTO_TCP, libc::TCP_SYNCNT) => APP_SYNCNT,
        _ => 0,
    }
}

/// Whether socket(domain, type, protocol) makes a TCP socket.
pub fn is_tcp_kind(domain: c_int, ty: c_int, protocol: c_int) -> bool {
    let stream = ty & 0xf == libc::SOCK_STREAM;
    let inet = domain == libc::AF_INET || domain == libc::AF_INET6;
    inet && stream && (protocol == 0 || protocol == libc::IPPROTO_TCP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_fds_have_no_entry() {
        assert_eq!(get(-1), 0);
        assert_eq!(get(SIZE as c_int), 0);
        add(-5, TCP);
        reset(SIZE as c_int, TCP);
        assert!(!has_slot(-1));
    }

    #[test]
    fn reset_forgets_previous_flags() {
        add(100, TCP | APP_KEEPIDLE);
        assert_eq!(get(100) & !TCP_MARKS, TCP | APP_KEEPIDLE);
        reset(100, KNOWN);
        assert_eq!(get(100), KNOWN);
    }

    #[test]
    fn idle_threshold_lives_in_the_entry() {
        reset(200, TCP | APP_KEEPIDLE);
        set_idle_check(200, 30);
        let e = get(200);
        assert_eq!(e & (TCP | APP_KEEPIDLE | IDLE_CHECK), TCP | APP_KEEPIDLE | IDLE_CHECK);
        assert_eq!(idle_threshold_secs(e), 30);
        set_idle_check(200, 100_000);
        assert_eq!(idle_threshold_secs(get(200)), MAX_IDLE_SECS);
        touch(200, 1234);
        assert_eq!(last_activity(200), 1234);
    }

    #[test]
    fn tcp_entries_get_the_marks() {
        set_tcp_marks(LOGGED);
        reset(300, KNOWN | TCP);
        reset(301, KNOWN);
        assert_eq!(get(300), KNOWN | TCP | LOGGED);
        assert_eq!(get(301), KNOWN);
        add(301, TCP);
        assert_eq!(get(301), KNOWN | TCP | LOGGED);
        remove(300, APPLIED);
        assert_eq!(get(300), KNOWN | TCP | LOGGED);
        remove(300, TCP);
        assert_eq!(get(300), KNOWN);
    }

    #[test]
    fn tcp_kinds() {
        assert!(is_tcp_kind(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0));
        assert!(is_tcp_kind(libc::AF_INET6, libc::SOCK_STREAM, libc::IPPROTO_TCP));
        assert!(!is_tcp_kind(libc::AF_INET, libc::SOCK_DGRAM, 0));
        assert!(!is_tcp_kind(libc::AF_UNIX, libc::SOCK_STREAM, 0));
        assert!(!is_tcp_kind(libc::AF_INET, libc::SOCK_STREAM, 262)); // MPTCP
    }
}
