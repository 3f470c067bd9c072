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

/// fds at or above `SIZE - 1` have no entry: they are never marked TCP (so
/// reads are not resumed) and connect applies no options, because the table
/// could not record what the application set itself. The default
/// `fs.nr_open` is `SIZE`, so only hosts that raise it can see such fds. The
/// array is zero-filled .bss: untouched pages cost no memory. The last slot
/// stays zero: the hot lookup (`hot`) indexes by the fd's low 20 bits, and
/// -1 (a closed fd's variable) lands there.
pub const SIZE: usize = 1 << 20;

/// Read directly by the x86_64 read and write hooks (hooks/io_x86_64.rs).
pub(crate) static TABLE: [AtomicU32; SIZE] = [const { AtomicU32::new(0) }; SIZE];

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
/// The connection has an idle check; its threshold in seconds is in
/// IDLE_SECS, so the hot path needs no other lookup.
pub const IDLE_CHECK: u32 = 1 << 7;

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

/// The idle check's threshold in seconds, bits 18 to 29.
const IDLE_SHIFT: u32 = 18;
pub const MAX_IDLE_SECS: u32 = (1 << 12) - 1;
const IDLE_SECS: u32 = MAX_IDLE_SECS << IDLE_SHIFT;

/// Derived from the bits above (`derive`), for the read and write hooks'
/// one compare (`hot`): a read or write on this fd must go through
/// resume::io. Set on a TCP socket.
pub const HOOKED: u32 = 1 << 30;
/// Derived: a TCP socket whose calls take resume::io's checked path (an
/// idle check, logging, a socket timeout of the program's). The sign bit.
pub const CHECKED: u32 = 1 << 31;
const DERIVED: u32 = HOOKED | CHECKED;
const CHECKS: u32 = IDLE_CHECK | LOGGED | APP_RCVTIMEO | APP_SNDTIMEO;

/// Options that an accepted socket inherits from its listener in the kernel,
/// and so count as the application's on the accepted socket too.
pub const INHERITED: u32 =
    APP_KEEPALIVE | APP_KEEPIDLE | APP_KEEPINTVL | APP_KEEPCNT | APP_USER_TIMEOUT | APP_RCVTIMEO | APP_SNDTIMEO | APP_LINGER;

/// The entry with HOOKED and CHECKED worked out again from the rest. Every
/// store goes through here, so the two can never disagree with it.
const fn derive(e: u32) -> u32 {
    let e = e & !DERIVED;
    if e & TCP == 0 {
        e
    } else if e & CHECKS != 0 {
        e | HOOKED | CHECKED
    } else {
        e | HOOKED
    }
}

fn slot(fd: c_int) -> Option<&'static AtomicU32> {
    TABLE[..SIZE - 1].get(usize::try_from(fd).ok()?)
}

#[inline(always)]
pub fn get(fd: c_int) -> u32 {
    slot(fd).map_or(0, |s| s.load(Relaxed))
}

/// The entry the read and write hooks decide by, one instruction shorter
/// than `get`: indexed by the fd's low 20 bits, with no bounds check. Only
/// -1 among the fds that have no entry reads a zero entry for sure;
/// another (below -1, or at or above SIZE, which needs a raised
/// `fs.nr_open`) may read some other fd's. That can only send its call
/// through resume::io, whose every action on an fd first checks that it
/// has an entry (`has_slot`) or is a TCP socket (a syscall).
#[inline(always)]
pub fn hot(fd: c_int) -> u32 {
    TABLE[fd as u32 as usize & (SIZE - 1)].load(Relaxed)
}

pub fn has_slot(fd: c_int) -> bool {
    slot(fd).is_some()
}

/// Replaces the entry of `fd` by what `f` makes of it.
fn update(fd: c_int, f: impl Fn(u32) -> u32) {
    if let Some(s) = slot(fd) {
        let _ = s.fetch_update(Relaxed, Relaxed, |e| Some(derive(f(e))));
    }
}

/// A new socket now lives at `fd`: forget whatever was there before.
/// With TCP in `bits`, the TCP marks the process has are added.
pub fn reset(fd: c_int, bits: u32) {
    if let Some(s) = slot(fd) {
        s.store(derive(with_marks(bits)), Relaxed);
    }
}

/// With TCP in `bits`, the TCP marks the process has are added too.
pub fn add(fd: c_int, bits: u32) {
    update(fd, |e| e | with_marks(bits));
}

/// Removing TCP removes the marks that go with it.
pub fn remove(fd: c_int, bits: u32) {
    update(fd, |e| e & !(if bits & TCP != 0 { bits | TCP_MARKS } else { bits }));
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
/// MAX_IDLE_SECS, about 68 minutes).
pub fn set_idle_check(fd: c_int, secs: u32) {
    let bits = IDLE_CHECK | (secs.clamp(1, MAX_IDLE_SECS) << IDLE_SHIFT);
    update(fd, |e| (e & !IDLE_SECS) | bits);
}

pub fn idle_threshold_secs(entry: u32) -> u32 {
    (entry & IDLE_SECS) >> IDLE_SHIFT
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

    /// An entry without what the tests running beside may add (the marks,
    /// while tcp_entries_get_the_marks runs) or derive.
    fn plain(fd: c_int) -> u32 {
        get(fd) & !(TCP_MARKS | DERIVED)
    }

    #[test]
    fn out_of_range_fds_have_no_entry() {
        assert_eq!(get(-1), 0);
        assert_eq!(get(SIZE as c_int), 0);
        add(-5, TCP);
        reset(SIZE as c_int, TCP);
        reset(SIZE as c_int - 1, TCP);
        assert!(!has_slot(-1));
        assert!(!has_slot(SIZE as c_int - 1));
        // -1 reads the last slot, which nothing writes.
        assert_eq!(hot(-1), 0);
    }

    #[test]
    fn hot_reads_the_entry() {
        reset(400, KNOWN | TCP);
        assert_eq!(hot(400), get(400));
        assert!(hot(400) >= HOOKED);
        // An fd with no entry may read another's: resume::io_with_checks
        // then asks `get`, which has none for it.
        assert_eq!(hot(400 + SIZE as c_int), get(400));
        assert_eq!(get(400 + SIZE as c_int), 0);
    }

    #[test]
    fn reset_forgets_previous_flags() {
        add(100, TCP | APP_KEEPIDLE);
        assert_eq!(plain(100), TCP | APP_KEEPIDLE);
        reset(100, KNOWN);
        assert_eq!(get(100), KNOWN);
    }

    #[test]
    fn derived_bits() {
        // Not TCP: never hooked, whatever else it has.
        assert_eq!(derive(KNOWN | IDLE_CHECK | APP_RCVTIMEO | HOOKED | CHECKED), KNOWN | IDLE_CHECK | APP_RCVTIMEO);
        // A TCP socket: hooked, the fast path...
        assert_eq!(derive(TCP), TCP | HOOKED);
        // ...or, with checks, the checked path.
        for check in [IDLE_CHECK, LOGGED, APP_RCVTIMEO, APP_SNDTIMEO] {
            assert_eq!(derive(TCP | check), TCP | check | HOOKED | CHECKED);
        }
        // The hooks' two compares, as resume::checked makes the second.
        let checked = |e: u32| (e as i32) < HOOKED as i32;
        assert!(derive(KNOWN | SEEN | APP_KEEPIDLE) < HOOKED);
        assert!(derive(TCP) >= HOOKED && !checked(derive(TCP)));
        assert!(derive(TCP | IDLE_CHECK) >= HOOKED && checked(derive(TCP | IDLE_CHECK)));
        // The idle seconds stay below the derived bits.
        assert_eq!(derive(KNOWN | IDLE_SECS) & DERIVED, 0);
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
        assert_eq!(get(300), KNOWN | TCP | LOGGED | HOOKED | CHECKED);
        assert_eq!(get(301), KNOWN);
        add(301, TCP);
        assert_eq!(get(301), KNOWN | TCP | LOGGED | HOOKED | CHECKED);
        remove(300, APPLIED);
        assert_eq!(get(300), KNOWN | TCP | LOGGED | HOOKED | CHECKED);
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
