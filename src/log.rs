//! One line per action, to the target chosen by SOCKFIX_LOG.
//!
//! Lines are formatted into a stack buffer (no allocation, no locks) and
//! written with one raw write, so logging is async-signal-safe and lines
//! from threads do not interleave. A file is opened and closed for every
//! line, and syslog gets a fresh datagram socket for every line: sockfix
//! never keeps an fd open that the program could close and reuse, so a log
//! line can never land in one of the program's own files or sockets. For
//! `stderr`, fd 2 is the program's: its identity (device, inode) is noted at
//! start, and a line is written only while fd 2 is still that file; a daemon
//! that closed its stderr and got a socket on fd 2 is never written to.
//! Every write is made in a section with all signals blocked (see
//! `section`): a log reader that went away cannot kill the program with
//! SIGPIPE, and no signal handler of the program can leave a log write
//! half-done with the mask or an fd of ours behind.

use crate::section::{self, Masked, OwnFd};
use crate::settings::LogTarget;
use crate::sys;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

const LINE_MAX: usize = 512;

struct Line {
    buf: [u8; LINE_MAX],
    len: usize,
}

impl Line {
    fn new() -> Self {
        Line { buf: [0; LINE_MAX], len: 0 }
    }

    fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

impl Write for Line {
    /// Truncates rather than fails: a long line is cut, never lost.
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = LINE_MAX.saturating_sub(1).saturating_sub(self.len); // keep one byte for '\n'
        let n = s.len().min(room);
        if let (Some(dst), Some(src)) = (self.buf.get_mut(self.len..self.len + n), s.as_bytes().get(..n)) {
            dst.copy_from_slice(src);
            self.len += n;
        }
        Ok(())
    }
}

/// Logs one line when logging is on. Cheap when it is off: one load.
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {
        if let Some(target) = $crate::log::target() {
            $crate::log::emit(target, format_args!($($arg)*));
        }
    };
}

/// The current target, or None when logging is off or settings are not
/// loaded yet.
pub fn target() -> Option<&'static LogTarget> {
    crate::settings_ready().map(|s| &s.log).filter(|t| **t != LogTarget::Off)
}

/// fd 2's identity when the library started: (device, inode); 0 when fd 2
/// was not open.
static STDERR_DEV: AtomicU64 = AtomicU64::new(0);
static STDERR_INO: AtomicU64 = AtomicU64::new(0);

fn identity(fd: libc::c_int) -> Option<(u64, u64)> {
    sys::fstat(fd).map(|st| (st.st_dev as u64, st.st_ino as u64))
}

/// Notes which file fd 2 is, once, when logging goes to stderr.
pub fn remember_stderr() {
    let _keep = sys::ErrnoGuard::new();
    if let Some((dev, ino)) = identity(2) {
        STDERR_DEV.store(dev, Relaxed);
        STDERR_INO.store(ino, Relaxed);
    }
}

fn stderr_unchanged() -> bool {
    let ino = STDERR_INO.load(Relaxed);
    ino != 0 && identity(2) == Some((STDERR_DEV.load(Relaxed), ino))
}

/// Runs `write` in a section with every signal blocked (see `section`): no
/// handler of the program runs in the middle of it and leaves it by
/// siglongjmp with the mask or an fd of ours behind. A SIGPIPE the write
/// raised is discarded; one that was already pending is left for the
/// program.
fn masked_write(write: impl FnOnce(&Masked)) {
    let masked = Masked::new();
    let before = section::pending();
    write(&masked);
    masked.discard_own_sigpipe(before);
}

/// Settings warnings: to the log when there is one, else to syslog, never to
/// the program's stderr unasked (a global install would print them into
/// every program's output).
pub fn warn(target: &LogTarget, message: &str) {
    let target = if *target == LogTarget::Off { &LogTarget::Syslog } else { target };
    emit(target, format_args!("{message}"));
}

pub fn emit(target: &LogTarget, args: fmt::Arguments) {
    let _errno = sys::ErrnoGuard::new();
    let mut line = Line::new();
    match target {
        LogTarget::Off => return,
        LogTarget::Syslog => {
            // <12>: facility user, severity warning.
            let _ = write!(line, "<12>sockfix[{}]: {}", sys::getpid(), args);
            syslog(line.bytes());
            return;
        }
        LogTarget::File(_) => {
            let _ = write_timestamp(&mut line);
            let _ = write!(line, " sockfix[{}]: {}", sys::getpid(), args);
        }
        LogTarget::Stderr => {
            let _ = write!(line, "sockfix[{}]: {}", sys::getpid(), args);
        }
    }
    line.buf[line.len.min(LINE_MAX - 1)] = b'\n';
    let bytes = line.buf.get(..line.len + 1).unwrap_or(&[]);
    match target {
        LogTarget::Stderr if stderr_unchanged() => masked_write(|_| write_stderr(bytes)),
        LogTarget::File(path) => masked_write(|m| append(m, path, bytes)),
        _ => {}
    }
}

/// Writes a line on the program's stderr only where that cannot block: a
/// socket (journald's) gets send() with MSG_DONTWAIT and MSG_NOSIGNAL; a
/// pipe, terminal or file only when poll() says it has room, and then in
/// one write (a line is at most 512 bytes: atomic on a pipe). A line that
/// would have to wait is dropped: the section blocks every signal, and a
/// paused pager must not make the program deaf to Ctrl-C.
fn write_stderr(bytes: &[u8]) {
    let flags = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
    // SAFETY: sends from a live slice, no address; never blocks. A raw
    // syscall: libc's send() would be our own hook.
    let r = unsafe { crate::sys::syscall!(libc::SYS_sendto, 2, bytes.as_ptr(), bytes.len(), flags, core::ptr::null::<u8>(), 0) };
    if r < 0 && sys::errno() == libc::ENOTSOCK && sys::wait_fd(2, libc::POLLOUT, 0) > 0 {
        // SAFETY: writes from a live slice.
        unsafe { crate::sys::syscall!(libc::SYS_write, 2, bytes.as_ptr(), bytes.len()) };
    }
}

fn append(masked: &Masked, path: &core::ffi::CStr, bytes: &[u8]) {
    // O_NONBLOCK: a FIFO with no reader fails at once instead of hanging.
    let flags = libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_NOCTTY | libc::O_NONBLOCK;
    if let Some(file) = OwnFd::open(masked, path, flags, 0o644) {
        sys::write_all(file.fd(), bytes);
    }
}

/// One datagram to /dev/log, from a socket made for it and closed after.
fn syslog(bytes: &[u8]) {
    let masked = Masked::new();
    let Some(sock) = OwnFd::socket(&masked, libc::AF_UNIX, libc::SOCK_DGRAM, 0) else {
        return;
    };
    let fd = sock.fd();
    // SAFETY: sockaddr_un is plain data.
    let mut addr: libc::sockaddr_un = unsafe { core::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (dst, src) in addr.sun_path.iter_mut().zip(b"/dev/log") {
        *dst = *src as libc::c_char;
    }
    let len = core::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    // SAFETY: a live buffer and a valid address.
    unsafe {
        crate::sys::syscall!(libc::SYS_sendto, fd, bytes.as_ptr(), bytes.len(), libc::MSG_DONTWAIT, &addr as *const _, len)
    };
}

/// UTC, ISO 8601 with milliseconds, computed by hand: gmtime_r and friends
/// are not async-signal-safe.
fn write_timestamp(out: &mut impl Write) -> fmt::Result {
    let ts = sys::realtime();
    let secs = ts.tv_sec.max(0) as u64;
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    let ms = ts.tv_nsec.max(0) / 1_000_000;
    write!(out, "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Formats a socket address without allocating ("10.0.0.1:3306",
/// "[::1]:80"); "?" for anything else.
pub struct Peer<'a>(pub &'a libc::sockaddr_storage);

impl fmt::Display for Peer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match crate::sockaddr::to_socket_addr(self.0) {
            Some(addr) => write!(f, "{addr}"),
            None => f.write_str("?"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_779), (2026, 11, 22));
    }

    #[test]
    fn long_lines_are_cut_not_overrun() {
        let mut line = Line::new();
        for _ in 0..100 {
            write!(line, "0123456789").unwrap();
        }
        assert_eq!(line.len, LINE_MAX - 1);
    }

    #[test]
    fn file_target_appends_lines() {
        let path = std::env::temp_dir().join(format!("sockfix-log-{}", std::process::id()));
        let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        let target = LogTarget::File(c);
        emit(&target, format_args!("first {}", 1));
        warn(&target, "second");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].ends_with(&format!(" sockfix[{}]: first 1", std::process::id())), "{}", lines[0]);
        assert!(lines[1].ends_with("second"));
    }
}
