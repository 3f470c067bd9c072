//! Reading the C socket addresses a program hands to connect().

use core::mem::size_of;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use libc::{c_int, sockaddr, sockaddr_in, sockaddr_in6, sockaddr_storage, socklen_t};

/// Copies the program's address into storage we own, if it is IPv4 or IPv6
/// and long enough to be read safely.
///
/// # Safety
/// `addr` must be null or point to at least `len` readable bytes.
pub unsafe fn copy_inet(addr: *const sockaddr, len: socklen_t) -> Option<sockaddr_storage> {
    if addr.is_null() {
        return None;
    }
    let family = c_int::from((*addr).sa_family);
    let need = match family {
        libc::AF_INET => size_of::<sockaddr_in>(),
        libc::AF_INET6 => size_of::<sockaddr_in6>(),
        _ => return None,
    };
    if (len as usize) < need {
        return None;
    }
    let mut storage: sockaddr_storage = core::mem::zeroed();
    core::ptr::copy_nonoverlapping(addr as *const u8, &mut storage as *mut _ as *mut u8, need);
    Some(storage)
}

/// A socket address for `ip` and `port`, for a socket of the given family:
/// an IPv4 address on an IPv6 socket becomes its mapped form.
pub fn from_ip(ip: IpAddr, port: u16, v6_socket: bool) -> (sockaddr_storage, socklen_t) {
    // SAFETY: sockaddr_storage is plain data; all zero is a valid value.
    let mut storage: sockaddr_storage = unsafe { core::mem::zeroed() };
    let ip = match ip {
        IpAddr::V4(v4) if v6_socket => IpAddr::V6(v4.to_ipv6_mapped()),
        other => other,
    };
    match ip {
        IpAddr::V4(v4) => {
            // SAFETY: sockaddr_storage is large and aligned enough for any address.
            let sin = unsafe { &mut *(&mut storage as *mut sockaddr_storage as *mut sockaddr_in) };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = port.to_be();
            sin.sin_addr.s_addr = u32::from(v4).to_be();
            (storage, size_of::<sockaddr_in>() as socklen_t)
        }
        IpAddr::V6(v6) => {
            // SAFETY: as above.
            let sin6 = unsafe { &mut *(&mut storage as *mut sockaddr_storage as *mut sockaddr_in6) };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = port.to_be();
            sin6.sin6_addr.s6_addr = v6.octets();
            (storage, size_of::<sockaddr_in6>() as socklen_t)
        }
    }
}

pub fn to_socket_addr(s: &sockaddr_storage) -> Option<SocketAddr> {
    match c_int::from(s.ss_family) {
        libc::AF_INET => {
            // SAFETY: sockaddr_storage is large and aligned enough for any
            // address, and the family says it holds a sockaddr_in.
            let sin = unsafe { &*(s as *const sockaddr_storage as *const sockaddr_in) };
            let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            Some(SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be(sin.sin_port))))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let sin6 = unsafe { &*(s as *const sockaddr_storage as *const sockaddr_in6) };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            let port = u16::from_be(sin6.sin6_port);
            Some(SocketAddr::V6(SocketAddrV6::new(ip, port, sin6.sin6_flowinfo, sin6.sin6_scope_id)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ipv4_and_ipv6_and_refuses_short_or_foreign() {
        let mut sin: sockaddr_in = unsafe { core::mem::zeroed() };
        sin.sin_family = libc::AF_INET as libc::sa_family_t;
        sin.sin_port = 3306u16.to_be();
        sin.sin_addr.s_addr = u32::from(Ipv4Addr::new(10, 0, 0, 1)).to_be();
        let p = &sin as *const sockaddr_in as *const sockaddr;
        let s = unsafe { copy_inet(p, size_of::<sockaddr_in>() as socklen_t) }.unwrap();
        assert_eq!(to_socket_addr(&s).unwrap().to_string(), "10.0.0.1:3306");
        assert!(unsafe { copy_inet(p, 4) }.is_none());

        let mut sin6: sockaddr_in6 = unsafe { core::mem::zeroed() };
        sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
        sin6.sin6_port = 80u16.to_be();
        sin6.sin6_addr.s6_addr = "::ffff:127.0.0.1".parse::<Ipv6Addr>().unwrap().octets();
        let p = &sin6 as *const sockaddr_in6 as *const sockaddr;
        let s = unsafe { copy_inet(p, size_of::<sockaddr_in6>() as socklen_t) }.unwrap();
        assert_eq!(to_socket_addr(&s).unwrap().to_string(), "[::ffff:127.0.0.1]:80");

        let (s, len) = from_ip("192.0.2.1".parse().unwrap(), 80, true);
        assert_eq!(len as usize, size_of::<sockaddr_in6>());
        assert_eq!(to_socket_addr(&s).unwrap().to_string(), "[::ffff:192.0.2.1]:80");
        let (s, _) = from_ip("192.0.2.1".parse().unwrap(), 80, false);
        assert_eq!(to_socket_addr(&s).unwrap().to_string(), "192.0.2.1:80");

        let mut un: libc::sockaddr_un = unsafe { core::mem::zeroed() };
        un.sun_family = libc::AF_UNIX as libc::sa_family_t;
        let p = &un as *const libc::sockaddr_un as *const sockaddr;
        assert!(unsafe { copy_inet(p, size_of::<libc::sockaddr_un>() as socklen_t) }.is_none());
        assert!(unsafe { copy_inet(core::ptr::null(), 16) }.is_none());
    }
}
