//! SOCKFIX_BIND and SOCKFIX_PORTS: the source address and port of outgoing
//! connections (thousands of short connections a second run a
//! host out of source ports through TIME_WAIT).
//!
//! Addresses are used in turn, only those of the destination's family,
//! starting from an offset given by the process id: a program that makes
//! one connection per process (a shell loop, CGI, cron) spreads over them as
//! well as one that makes many. One that cannot be bound is skipped with a
//! log line and the next is tried, so a missing address never fails a
//! connect. The
//! socket is bound with IP_BIND_ADDRESS_NO_PORT, so the kernel still picks
//! the port at connect time and can reuse it towards other destinations.
//! The port range is IP_LOCAL_PORT_RANGE (Linux 6.3+) when it meets the
//! namespace's net.ipv4.ip_local_port_range (the kernel applies it only
//! within that range); on older kernels, or for a range wholly outside it,
//! the library binds a random port in the range itself, retrying a bounded
//! number of times on EADDRINUSE. A socket the program bound itself is left
//! alone.

use crate::fdtable as ft;
use crate::settings::Conn;
use crate::sockaddr;
use crate::sys;
use core::net::{IpAddr, SocketAddr};
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering::Relaxed};
use libc::c_int;

const IP_BIND_ADDRESS_NO_PORT: c_int = 24;
const IP_LOCAL_PORT_RANGE: c_int = 51;
/// Ports tried in the fallback before giving the choice back to the kernel.
const FALLBACK_TRIES: u32 = 64;

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// net.ipv4.ip_local_port_range of the network namespace the program
/// started in, as `low << 16 | high`; 0: not known. IP_LOCAL_PORT_RANGE only
/// narrows that range (ip(7): a bound outside it is ignored), so a range
/// that does not meet it at all (ports below 32768, often chosen for
/// firewall rules) was silently not applied; such a range gets the
/// library's own binding instead.
static KERNEL_RANGE: AtomicU32 = AtomicU32::new(0);

/// Reads the namespace's port range, in the constructor, and only when
/// some settings name a port range.
pub fn note_kernel_range(any_ports: bool) {
    if !any_ports {
        return;
    }
    let fd = sys::open(c"/proc/sys/net/ipv4/ip_local_port_range", libc::O_RDONLY | libc::O_CLOEXEC, 0);
    if fd < 0 {
        return;
    }
    let mut buf = [0u8; 32];
    // SAFETY: the kernel writes at most buf.len() bytes into buf.
    let n = unsafe { sys::syscall!(libc::SYS_read, fd, buf.as_mut_ptr(), buf.len()) };
    sys::close(fd);
    let text = usize::try_from(n).ok().and_then(|n| buf.get(..n)).and_then(|b| core::str::from_utf8(b).ok());
    let mut words = text.unwrap_or_default().split_ascii_whitespace().map(|w| w.parse::<u16>());
    if let (Some(Ok(low)), Some(Ok(high))) = (words.next(), words.next()) {
        KERNEL_RANGE.store(u32::from(low) << 16 | u32::from(high), Relaxed);
    }
}

/// Whether IP_LOCAL_PORT_RANGE can apply `low`-`high` here: it meets the
/// namespace's range (or that range is not known).
fn kernel_takes(low: u16, high: u16) -> bool {
    let r = KERNEL_RANGE.load(Relaxed);
    r == 0 || (u32::from(high) >= r >> 16 && u32::from(low) <= r & 0xffff)
}

/// Binds `fd`, about to connect to `dest`, to a source address and port
/// range per `conn`. Returns the address bound, for the log.
pub fn bind(fd: c_int, entry: u32, conn: &Conn, dest: &SocketAddr) -> Option<IpAddr> {
    if conn.bind.is_empty() && conn.ports.is_none() || entry & ft::APP_BOUND != 0 {
        return None;
    }
    let _keep = sys::ErrnoGuard::new();
    // A socket we did not see created may have been bound elsewhere.
    if entry & ft::SEEN == 0 && sys::local_port(fd).is_none_or(|p| p != 0) {
        return None;
    }
    // The socket's family is the destination's as the program gave it; a
    // mapped destination (::ffff:10.0.0.1) means IPv4 addresses, mapped.
    let v6_socket = dest.is_ipv6();
    let v4_dest = match dest.ip() {
        IpAddr::V4(_) => true,
        IpAddr::V6(v6) => v6.to_ipv4_mapped().is_some(),
    };
    let fallback = match conn.ports {
        Some((low, high)) => {
            let range = (u32::from(high) << 16) | u32::from(low);
            let kernel =
                kernel_takes(low, high) && sys::setsockopt_int(fd, libc::IPPROTO_IP, IP_LOCAL_PORT_RANGE, range as c_int);
            (!kernel).then_some((low, high))
        }
        None => None,
    };
    let candidates = || conn.bind.iter().filter(move |a| a.is_ipv4() == v4_dest);
    let n = candidates().count();
    if n == 0 {
        if let Some((low, high)) = fallback {
            let any = if v6_socket {
                IpAddr::V6(core::net::Ipv6Addr::UNSPECIFIED)
            } else {
                IpAddr::V4(core::net::Ipv4Addr::UNSPECIFIED)
            };
            bind_in_range(fd, any, v6_socket, low, high);
        }
        return None;
    }
    let start = NEXT.fetch_add(1, Relaxed).wrapping_add(sys::getpid() as usize);
    for k in 0..n {
        let Some(&addr) = candidates().nth((start + k) % n) else { continue };
        let ok = match fallback {
            Some((low, high)) => bind_in_range(fd, addr, v6_socket, low, high),
            None => {
                sys::setsockopt_int(fd, libc::IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1);
                bind_to(fd, addr, v6_socket, 0)
            }
        };
        if ok {
            return Some(addr);
        }
        crate::log!("fd {fd}: cannot bind source address {addr}: errno {}; skipped", sys::errno());
    }
    crate::log!("fd {fd}: no source address in SOCKFIX_BIND could be bound; the kernel chooses");
    None
}

fn bind_to(fd: c_int, ip: IpAddr, v6_socket: bool, port: u16) -> bool {
    let (storage, len) = sockaddr::from_ip(ip, port, v6_socket);
    // SAFETY: a valid sockaddr of the given length; a raw syscall, so the
    // program's own bind hook does not record it as the program's.
    unsafe { crate::sys::syscall!(libc::SYS_bind, fd, &storage as *const libc::sockaddr_storage, len) == 0 }
}

/// The fallback for kernels without IP_LOCAL_PORT_RANGE: a random port in
/// the range, then the next ones, a bounded number of times.
fn bind_in_range(fd: c_int, ip: IpAddr, v6_socket: bool, low: u16, high: u16) -> bool {
    let size = u32::from(high) - u32::from(low) + 1;
    let start = sys::random_u32() % size;
    for i in 0..size.min(FALLBACK_TRIES) {
        let port = low as u32 + (start + i) % size;
        if bind_to(fd, ip, v6_socket, port as u16) {
            return true;
        }
        if sys::errno() != libc::EADDRINUSE {
            return false;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp_socket() -> c_int {
        let fd = sys::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0);
        fd
    }

    /// The fallback for kernels without IP_LOCAL_PORT_RANGE: it must land in
    /// the range, skip ports in use, and give up (not loop) when all are.
    #[test]
    fn fallback_binds_a_free_port_in_the_range() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        // Find 4 consecutive free ports by binding them, keep 3 of them busy.
        let (low, busy) = (20000u16..60000)
            .step_by(7)
            .find_map(|low| {
                let socks: Vec<c_int> = (0..3).map(|_| tcp_socket()).collect();
                if socks.iter().zip(low..).all(|(&fd, port)| bind_to(fd, ip, false, port)) {
                    Some((low, socks))
                } else {
                    socks.into_iter().for_each(sys::close);
                    None
                }
            })
            .expect("free ports");
        let high = low + 3;
        for _ in 0..10 {
            let fd = tcp_socket();
            assert!(bind_in_range(fd, ip, false, low, high));
            assert_eq!(sys::local_port(fd), Some(high), "the only free port in the range");
            sys::close(fd);
        }
        // Every port taken: it fails, after a bounded number of tries.
        let last = tcp_socket();
        assert!(bind_to(last, ip, false, high));
        let fd = tcp_socket();
        assert!(!bind_in_range(fd, ip, false, low, high));
        assert_eq!(sys::errno(), libc::EADDRINUSE);
        for s in busy.into_iter().chain([last, fd]) {
            sys::close(s);
        }
    }
}
