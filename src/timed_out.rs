//! Why a connection sockfix configured died of a timeout: one log line when
//! a hooked call returns ETIMEDOUT on it, naming the timer that fired and
//! its value, so the log alone tells a dead peer from a slow one.
//!
//! The kernel keeps no "reason" for ETIMEDOUT, but what it leaves on the
//! closed socket tells the timers apart (measured on Linux 6.18, see
//! README "Logging"):
//! - a connect that never got an answer has received no segment at all
//!   (tcpi_segs_in 0);
//! - a peer that is alive but keeps its receive window closed leaves data
//!   waiting to be sent (SIOCOUTQ > 0) and a zero send window
//!   (tcpi_snd_wnd 0); it answered every zero-window probe, so tcpi_probes
//!   is 0 (each answer resets it);
//! - a peer or path that went away with data in flight leaves SIOCOUTQ > 0,
//!   an open window and tcpi_retransmits > 0;
//! - keepalive leaves nothing unacknowledged and tcpi_probes > 0 (KEEPCNT
//!   of them, or more when TCP_USER_TIMEOUT decides when keepalive gives up).
//!
//! Only read on the error path, only when logging is on: no allocation, no
//! lock, errno left as the real call set it.

use crate::fdtable;
use crate::log::Peer;
use crate::sys::{self, ErrnoGuard};
use core::fmt;
use libc::c_int;

/// SIOCOUTQ (linux/sockios.h): bytes written but not yet acknowledged.
const SIOCOUTQ: libc::c_ulong = libc::TIOCOUTQ as libc::c_ulong;

// Byte offsets in struct tcp_info (include/uapi/linux/tcp.h); a field the
// kernel did not fill (an older kernel writes fewer bytes) is unknown.
const TI_RETRANSMITS: usize = 2;
const TI_PROBES: usize = 3;
const TI_SEGS_IN: usize = 140; // Linux 4.2
const TI_SND_WND: usize = 228; // Linux 5.4
const TI_LEN: usize = 232;

/// What the socket shows after it died, and the options read back from it
/// (the program's own values count, not the settings).
#[derive(Clone, Copy, Default)]
pub struct Info {
    pub retransmits: u8,
    pub probes: u8,
    pub segs_in: Option<u32>,
    pub snd_wnd: Option<u32>,
    /// Bytes written and never acknowledged (SIOCOUTQ).
    pub outq: Option<c_int>,
    pub user_timeout_ms: c_int,
    pub keepalive: bool,
    pub keepidle: c_int,
    pub keepintvl: c_int,
    pub keepcnt: c_int,
    pub syncnt: c_int,
}

/// Which timer ended the connection.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Cause {
    /// The handshake never got an answer.
    Connect,
    /// The peer answered but kept its receive window closed.
    WindowClosed,
    /// The receive window was closed and then the peer stopped answering.
    WindowProbes,
    /// Sent data stayed unacknowledged.
    Unacked,
    /// Keepalive probes went unanswered.
    Keepalive,
    /// None of the above could be told.
    Unknown,
}

pub fn classify(i: &Info) -> Cause {
    if i.segs_in == Some(0) {
        return Cause::Connect;
    }
    let waiting = i.outq.is_some_and(|q| q > 0);
    // Before Linux 5.4 the window is not reported: a closed window is then
    // what leaves data waiting without a single retransmission.
    let closed = i.snd_wnd.map_or(i.retransmits == 0 && i.probes == 0, |w| w == 0);
    match (waiting, closed) {
        (true, true) if i.probes == 0 => Cause::WindowClosed,
        (true, true) => Cause::WindowProbes,
        (true, false) => Cause::Unacked,
        (false, _) if i.keepalive && i.probes > 0 => Cause::Keepalive,
        _ => Cause::Unknown,
    }
}

/// The end of the log line: what fired, with its values, and what it means.
pub struct Why<'a>(pub &'a Info);

impl fmt::Display for Why<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let i = self.0;
        let ut = i.user_timeout_ms;
        match classify(i) {
            Cause::Connect if ut > 0 => {
                return write!(f, "no answer to the connection request (SYN) within TCP_USER_TIMEOUT={ut} ms: the host is down or the path drops it")
            }
            Cause::Connect => {
                return write!(
                    f,
                    "no answer to the connection request (SYN) after {} retries (TCP_SYNCNT={}): the host is down or the path drops it",
                    i.retransmits, i.syncnt
                )
            }
            Cause::WindowClosed if ut > 0 => {
                return write!(
                    f,
                    "the peer kept its receive window closed for TCP_USER_TIMEOUT={ut} ms ({} bytes not sent): the peer is alive but not reading",
                    i.outq.unwrap_or(0)
                )
            }
            Cause::WindowClosed => {
                return write!(f, "the peer kept its receive window closed ({} bytes not sent): the peer is alive but not reading", i.outq.unwrap_or(0))
            }
            Cause::WindowProbes if ut > 0 => write!(f, "no answer to {} zero-window probes within TCP_USER_TIMEOUT={ut} ms", i.probes)?,
            Cause::WindowProbes => write!(f, "no answer to {} zero-window probes (net.ipv4.tcp_retries2)", i.probes)?,
            Cause::Unacked if ut > 0 => write!(
                f,
                "unacknowledged data for TCP_USER_TIMEOUT={ut} ms ({} bytes, {} retransmissions)",
                i.outq.unwrap_or(0),
                i.retransmits
            )?,
            Cause::Unacked => write!(
                f,
                "unacknowledged data after {} retransmissions (net.ipv4.tcp_retries2; no TCP_USER_TIMEOUT)",
                i.retransmits
            )?,
            Cause::Keepalive if ut > 0 => {
                return write!(
                    f,
                    "no answer to {} keepalive probes (TCP_KEEPIDLE={} TCP_KEEPINTVL={}; TCP_USER_TIMEOUT={ut} ms decides when keepalive gives up, not TCP_KEEPCNT={}): the peer is gone",
                    i.probes, i.keepidle, i.keepintvl, i.keepcnt
                )
            }
            Cause::Keepalive => {
                return write!(
                    f,
                    "no answer to {} keepalive probes (TCP_KEEPIDLE={} TCP_KEEPINTVL={} TCP_KEEPCNT={}): the peer is gone",
                    i.probes, i.keepidle, i.keepintvl, i.keepcnt
                )
            }
            Cause::Unknown => {
                return write!(
                    f,
                    "cause unknown (tcpi_retransmits={} tcpi_probes={} TCP_USER_TIMEOUT={ut} SO_KEEPALIVE={})",
                    i.retransmits,
                    i.probes,
                    u8::from(i.keepalive)
                )
            }
        }
        f.write_str(": the peer or the path is gone")
    }
}

/// Called by the hooks after a call on `fd` failed with ETIMEDOUT: logs why,
/// when logging is on and sockfix configured the connection. Never inlined,
/// so the hooks' fast path does not grow.
#[cold]
#[inline(never)]
pub fn note(fd: c_int, what: &str) {
    if crate::log::target().is_none() || fdtable::get(fd) & (fdtable::TCP | fdtable::APPLIED) != fdtable::TCP | fdtable::APPLIED {
        return;
    }
    let _keep = ErrnoGuard::new();
    if !sys::is_tcp_socket(fd) {
        return;
    }
    let info = read(fd);
    let mut peer: libc::sockaddr_storage = unsafe { core::mem::zeroed() };
    peer_of_closed(fd, &mut peer);
    crate::log!("fd {fd} ({}): {what}: connection timed out: {}", Peer(&peer), Why(&info));
}

fn read(fd: c_int) -> Info {
    let mut ti = [0u8; TI_LEN];
    let len = sys::getsockopt_bytes(fd, libc::IPPROTO_TCP, libc::TCP_INFO, &mut ti).unwrap_or(0);
    let byte = |off: usize| if off < len { ti.get(off).copied().unwrap_or(0) } else { 0 };
    let word = |off: usize| {
        (off + 4 <= len).then(|| ti.get(off..off + 4)).flatten().map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    };
    let opt = |level, name| sys::getsockopt_int(fd, level, name).unwrap_or(0);
    let tcp = libc::IPPROTO_TCP;
    Info {
        retransmits: byte(TI_RETRANSMITS),
        probes: byte(TI_PROBES),
        segs_in: word(TI_SEGS_IN),
        snd_wnd: word(TI_SND_WND),
        outq: sys::ioctl_int(fd, SIOCOUTQ),
        user_timeout_ms: opt(tcp, libc::TCP_USER_TIMEOUT),
        keepalive: opt(libc::SOL_SOCKET, libc::SO_KEEPALIVE) != 0,
        keepidle: opt(tcp, libc::TCP_KEEPIDLE),
        keepintvl: opt(tcp, libc::TCP_KEEPINTVL),
        keepcnt: opt(tcp, libc::TCP_KEEPCNT),
        syncnt: opt(tcp, libc::TCP_SYNCNT),
    }
}

/// The peer of a connection that has died: getpeername fails on a closed
/// TCP socket (ENOTCONN), but SO_PEERNAME still reports it, given a buffer
/// no longer than the address. Left zeroed (shown "?") when unknown, as
/// after a connect that failed.
fn peer_of_closed(fd: c_int, out: &mut libc::sockaddr_storage) {
    let len = match sys::getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_DOMAIN) {
        Some(libc::AF_INET6) => core::mem::size_of::<libc::sockaddr_in6>(),
        Some(libc::AF_INET) => core::mem::size_of::<libc::sockaddr_in>(),
        _ => return,
    };
    let mut buf = [0u8; core::mem::size_of::<libc::sockaddr_in6>()];
    let Some(got) = buf.get_mut(..len).and_then(|b| sys::getsockopt_bytes(fd, libc::SOL_SOCKET, libc::SO_PEERNAME, b)) else {
        return;
    };
    let n = got.min(len).min(core::mem::size_of::<libc::sockaddr_storage>());
    // SAFETY: copies n bytes, within both the buffer and the storage; every
    // byte pattern is a valid sockaddr_storage.
    unsafe { core::ptr::copy_nonoverlapping(buf.as_ptr(), out as *mut libc::sockaddr_storage as *mut u8, n) };
}

#[cfg(test)]
mod tests {
    use super::*;

    // What Linux 6.18 left on the socket after each death (c-tests/live/t_live_timedout.sh).
    fn keepalive() -> Info {
        Info {
            probes: 2,
            segs_in: Some(2),
            snd_wnd: Some(65536),
            outq: Some(0),
            keepalive: true,
            keepidle: 1,
            keepintvl: 1,
            keepcnt: 2,
            ..Info::default()
        }
    }

    #[test]
    fn tells_the_timers_apart() {
        let ka = keepalive();
        assert_eq!(classify(&ka), Cause::Keepalive);
        assert_eq!(
            Why(&ka).to_string(),
            "no answer to 2 keepalive probes (TCP_KEEPIDLE=1 TCP_KEEPINTVL=1 TCP_KEEPCNT=2): the peer is gone"
        );
        let ka_ut = Info { probes: 4, user_timeout_ms: 5000, ..ka };
        assert_eq!(classify(&ka_ut), Cause::Keepalive);
        assert!(Why(&ka_ut).to_string().contains("TCP_USER_TIMEOUT=5000 ms decides"));

        let unacked = Info { retransmits: 3, probes: 0, outq: Some(10), user_timeout_ms: 2000, ..ka };
        assert_eq!(classify(&unacked), Cause::Unacked);
        assert_eq!(
            Why(&unacked).to_string(),
            "unacknowledged data for TCP_USER_TIMEOUT=2000 ms (10 bytes, 3 retransmissions): the peer or the path is gone"
        );
        let retries = Info { user_timeout_ms: 0, keepalive: false, retransmits: 4, ..unacked };
        assert!(Why(&retries).to_string().starts_with("unacknowledged data after 4 retransmissions (net.ipv4.tcp_retries2"));

        let window = Info { probes: 0, snd_wnd: Some(0), outq: Some(516_936), user_timeout_ms: 2000, segs_in: Some(9), ..ka };
        assert_eq!(classify(&window), Cause::WindowClosed);
        assert_eq!(
            Why(&window).to_string(),
            "the peer kept its receive window closed for TCP_USER_TIMEOUT=2000 ms (516936 bytes not sent): the peer is alive but not reading"
        );
        assert_eq!(classify(&Info { probes: 3, ..window }), Cause::WindowProbes);
        // A kernel before 5.4 does not report the window.
        assert_eq!(classify(&Info { snd_wnd: None, ..window }), Cause::WindowClosed);
        assert_eq!(classify(&Info { snd_wnd: None, ..unacked }), Cause::Unacked);

        let connect = Info { retransmits: 1, segs_in: Some(0), snd_wnd: Some(0), outq: Some(3), user_timeout_ms: 2000, ..ka };
        assert_eq!(classify(&connect), Cause::Connect);
        assert!(Why(&connect)
            .to_string()
            .starts_with("no answer to the connection request (SYN) within TCP_USER_TIMEOUT=2000 ms"));
        assert_eq!(classify(&Info { keepalive: false, ..ka }), Cause::Unknown);
    }

    #[test]
    fn reads_a_closed_socket_without_touching_errno() {
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
        assert!(fd >= 0);
        sys::setsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_USER_TIMEOUT, 1234);
        let info = read(fd);
        assert_eq!((info.user_timeout_ms, info.segs_in, info.outq), (1234, Some(0), Some(0)));
        let mut peer: libc::sockaddr_storage = unsafe { core::mem::zeroed() };
        peer_of_closed(fd, &mut peer);
        assert_eq!(Peer(&peer).to_string(), "?");
        sys::set_errno(libc::ETIMEDOUT);
        note(fd, "read");
        assert_eq!(sys::errno(), libc::ETIMEDOUT);
        unsafe { libc::close(fd) };
    }
}
