//! socket, connect, accept, setsockopt: where connections begin, and where
//! the fd table learns what each fd is and what the program set itself.

use crate::fdtable as ft;
use crate::log::Peer;
use crate::resume::{dispatch, Dir};
use crate::sys::{self, ErrnoGuard};
use crate::{connect_timeout, idle, real, settings_ready, sockopt, source};
use libc::{c_int, c_void, sockaddr, socklen_t};

#[no_mangle]
pub unsafe extern "C" fn socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int {
    let fd = real::socket(domain, ty, protocol);
    if fd >= 0 {
        let tcp = if ft::is_tcp_kind(domain, ty, protocol) { ft::TCP } else { 0 };
        ft::reset(fd, ft::KNOWN | ft::SEEN | tcp);
    }
    fd
}

#[no_mangle]
pub unsafe extern "C" fn connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    if let Some((flags, ms)) = before_connect(fd, addr, len) {
        return connect_timeout::connect(fd, addr, len, flags, ms);
    }
    dispatch(fd, Dir::Connect, "connect", (addr, len), |fd, (addr, len)| unsafe { real::connect(fd, addr, len) } as isize)
        as c_int
}

/// Applies the settings to a TCP socket about to connect to `addr` (by
/// connect, or by sendto/sendmsg with MSG_FASTOPEN), once per connection:
/// the options, the source address and port, the idle clock. A connection
/// outside SOCKFIX_DEST is left exactly as without sockfix. Returns the
/// socket's file flags and the limit when a blocking connect must be bounded
/// by SOCKFIX_CONNECT_TIMEOUT.
pub(super) unsafe fn before_connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> Option<(c_int, u64)> {
    let s = settings_ready()?;
    let entry = ft::get(fd);
    // A non-blocking connect is often called again to learn how it went.
    if entry & ft::APPLIED != 0 || !ft::has_slot(fd) {
        return None;
    }
    let storage = crate::sockaddr::copy_inet(addr, len)?;
    let dest = crate::sockaddr::to_socket_addr(&storage)?;
    let Some(conn) = s.for_dest(&dest) else {
        ft::remove(fd, ft::TCP);
        return None;
    };
    let _keep = ErrnoGuard::new();
    let entry = if entry & ft::SEEN == 0 { entry | sockopt::infer_app_flags(fd) } else { entry };
    // The connect timeout needs to know whether the socket blocks.
    let flags = conn.connect_timeout_ms.and_then(|_| sys::fcntl_getfl(fd));
    let nonblocking = flags.is_some_and(|f| f & libc::O_NONBLOCK != 0);
    let syn_retries = conn.connect_timeout_ms.filter(|_| nonblocking).map(crate::settings::syn_retries_for);
    let applied = sockopt::apply(fd, entry, conn, syn_retries, true)?;
    ft::add(fd, ft::KNOWN | ft::TCP | ft::APPLIED);
    let source = source::bind(fd, entry, conn, &dest);
    if let Some(secs) = conn.idle_check_s {
        idle::start(fd, secs);
    }
    match source {
        Some(ip) => crate::log!("fd {fd} -> {dest}: {applied}, from {ip}"),
        None => crate::log!("fd {fd} -> {dest}: {applied}"),
    }
    // The program's own SO_SNDTIMEO already bounds a blocking connect.
    let ms = conn.connect_timeout_ms.filter(|_| entry & ft::APP_SNDTIMEO == 0)?;
    Some((flags.filter(|_| !nonblocking)?, ms))
}

#[no_mangle]
pub unsafe extern "C" fn accept(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
    let conn = real::accept(fd, addr, len);
    accepted(fd, conn);
    conn
}

#[no_mangle]
pub unsafe extern "C" fn accept4(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t, flags: c_int) -> c_int {
    let conn = real::accept4(fd, addr, len, flags);
    accepted(fd, conn);
    conn
}

/// Records an accepted connection and, with SOCKFIX_SERVER, applies the
/// settings to it. Options the program set on the listener are inherited by
/// the connection in the kernel, so they count as the program's here too;
/// for a listener sockfix did not see created (systemd socket activation
/// may have set KeepAlive= on it) they are found by comparison.
fn accepted(listener: c_int, conn: c_int) {
    if conn < 0 {
        return;
    }
    let _keep = ErrnoGuard::new();
    let l = ft::get(listener);
    let tcp = if l & ft::KNOWN != 0 {
        l & ft::TCP != 0
    } else {
        // A listener we did not see created (inherited, socket activation):
        // learn its kind once.
        let tcp = sys::is_tcp_socket(conn);
        ft::add(listener, ft::KNOWN | if tcp { ft::TCP } else { 0 });
        tcp
    };
    let seen = if l & ft::SEEN != 0 { ft::SEEN | (l & ft::INHERITED) } else { 0 };
    ft::reset(conn, ft::KNOWN | seen | if tcp { ft::TCP } else { 0 });
    let Some(s) = settings_ready().filter(|s| s.server && tcp) else {
        return;
    };
    let program_set = if seen != 0 { l & ft::INHERITED } else { sockopt::infer_app_flags(conn) };
    if let Some(applied) = sockopt::apply(conn, program_set, &s.conn, None, false) {
        ft::add(conn, ft::APPLIED);
        let mut peer: libc::sockaddr_storage = unsafe { core::mem::zeroed() };
        sys::socket_peer(conn, &mut peer);
        crate::log!("fd {conn} <- {}: {applied}", Peer(&peer));
    }
}

/// A socket the program binds itself keeps its source: SOCKFIX_BIND and
/// SOCKFIX_PORTS leave it alone.
#[no_mangle]
pub unsafe extern "C" fn bind(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    let r = real::bind(fd, addr, len);
    if r == 0 {
        ft::add(fd, ft::APP_BOUND);
    }
    r
}

#[no_mangle]
pub unsafe extern "C" fn setsockopt(fd: c_int, level: c_int, name: c_int, value: *const c_void, len: socklen_t) -> c_int {
    let r = real::setsockopt(fd, level, name, value, len);
    if r == 0 {
        let flag = ft::app_flag(level, name);
        if flag != 0 && !(flag & (ft::APP_RCVTIMEO | ft::APP_SNDTIMEO) != 0 && is_zero_timeval(value, len)) {
            ft::add(fd, flag);
        }
    }
    r
}

/// A socket timeout of zero means "none" (libmariadb sets it so): no need
/// to time the socket's calls.
unsafe fn is_zero_timeval(value: *const c_void, len: socklen_t) -> bool {
    if value.is_null() || (len as usize) < core::mem::size_of::<libc::timeval>() {
        return false;
    }
    // SAFETY: setsockopt just read `len` bytes from `value`; read_unaligned
    // makes no alignment assumption.
    let tv = core::ptr::read_unaligned(value as *const libc::timeval);
    tv.tv_sec == 0 && tv.tv_usec == 0
}
