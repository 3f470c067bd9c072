//! The kernel's socket table: established and listening TCP sockets (IPv4
//! and IPv6) of one network namespace, from INET_DIAG over
//! NETLINK_SOCK_DIAG (what `ss -tnoi` reads), with the timer the kernel has
//! pending on each socket (`timer:(keepalive,...)` in ss).

use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP};
use netlink_packet_sock_diag::inet::{ExtensionFlags, InetRequest, SocketId, StateFlags, Timer};
use netlink_packet_sock_diag::SockDiagMessage;
use netlink_sys::protocols::NETLINK_SOCK_DIAG;
use netlink_sys::{Socket, SocketAddr as NlAddr};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// TCP_ESTABLISHED and TCP_LISTEN, the kernel's state numbers.
const TCP_ESTABLISHED: u8 = 1;
const TCP_LISTEN: u8 = 10;

/// The timer the kernel has pending on a socket, as INET_DIAG reports it.
/// Only one is reported: while data waits for an acknowledgement the
/// retransmit timer hides the keepalive timer (ss shows the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pending {
    None,
    /// Keepalive: time until the next keepalive check.
    Keepalive(Duration),
    /// Retransmit (or zero-window probe): data is in flight.
    Retransmit(Duration),
}

/// One established TCP connection.
#[derive(Debug, Clone)]
pub struct Established {
    pub local: SocketAddr,
    pub peer: SocketAddr,
    /// The socket's inode: the key to the process that holds it.
    pub inode: u64,
    /// The socket's owner (uid of the process that created it).
    pub uid: u32,
    pub timer: Pending,
}

/// What one namespace's table holds.
#[derive(Debug, Default)]
pub struct Table {
    pub established: Vec<Established>,
    /// Listening sockets' local addresses: an established socket on the
    /// same port (and address, or a wildcard) is an accepted connection.
    pub listening: Vec<SocketAddr>,
}

impl Table {
    /// Whether `local` is the local end of a connection accepted by a
    /// listener of this namespace.
    pub fn accepted(&self, local: &SocketAddr) -> bool {
        let ip = plain(local.ip());
        self.listening.iter().any(|l| l.port() == local.port() && (l.ip().is_unspecified() || plain(l.ip()) == ip))
    }
}

/// An IPv4-mapped IPv6 address (::ffff:10.0.0.1) as the IPv4 address it is.
pub fn plain(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

fn plain_addr(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(plain(a.ip()), a.port())
}

/// Reads the TCP socket table of the calling thread's network namespace.
pub fn read() -> Result<Table, String> {
    let mut table = Table::default();
    for family in [AF_INET, AF_INET6] {
        dump(family, &mut table).map_err(|e| format!("the kernel's socket table (NETLINK_SOCK_DIAG): {e}"))?;
    }
    Ok(table)
}

/// One INET_DIAG dump request for `family`, its answers added to `table`.
fn dump(family: u8, table: &mut Table) -> std::io::Result<()> {
    let mut socket = Socket::new(NETLINK_SOCK_DIAG)?;
    socket.bind_auto()?;
    socket.connect(&NlAddr::new(0, 0))?;
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    let socket_id = if family == AF_INET { SocketId::new_v4() } else { SocketId::new_v6() };
    let request = InetRequest {
        family,
        protocol: IPPROTO_TCP,
        extensions: ExtensionFlags::empty(),
        states: StateFlags::ESTABLISHED | StateFlags::LISTEN,
        socket_id,
    };
    let mut packet = NetlinkMessage::new(header, SockDiagMessage::InetRequest(request).into());
    packet.finalize();
    let mut buf = vec![0u8; packet.buffer_len()];
    packet.serialize(&mut buf);
    socket.send(&buf, 0)?;

    let mut recv = vec![0u8; 64 * 1024];
    // Bounded: the kernel ends a dump with NLMSG_DONE; a table of millions
    // of sockets still ends, and an error ends it too.
    loop {
        let size = socket.recv(&mut &mut recv[..], 0)?;
        let mut offset = 0;
        while offset < size {
            let bytes = &recv[offset..size];
            let msg = NetlinkMessage::<SockDiagMessage>::deserialize(bytes)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
            let len = msg.header.length as usize;
            match msg.payload {
                NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(r)) => {
                    let h = &r.header;
                    let local = plain_addr(SocketAddr::new(h.socket_id.source_address, h.socket_id.source_port));
                    let peer = plain_addr(SocketAddr::new(h.socket_id.destination_address, h.socket_id.destination_port));
                    match h.state {
                        TCP_LISTEN => table.listening.push(local),
                        TCP_ESTABLISHED => table.established.push(Established {
                            local,
                            peer,
                            inode: u64::from(h.inode),
                            uid: h.uid,
                            timer: match h.timer {
                                Some(Timer::KeepAlive(d)) => Pending::Keepalive(d),
                                Some(Timer::Retransmit(d, _)) | Some(Timer::Probe(d)) => Pending::Retransmit(d),
                                _ => Pending::None,
                            },
                        }),
                        _ => {}
                    }
                }
                NetlinkPayload::Done(_) => return Ok(()),
                NetlinkPayload::Error(e) => {
                    return Err(e
                        .code
                        .map_or_else(|| std::io::Error::other("netlink error"), |c| std::io::Error::from_raw_os_error(-c.get())))
                }
                _ => {}
            }
            if len == 0 {
                break;
            }
            offset += len;
        }
    }
}
