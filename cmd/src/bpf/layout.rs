//! The companion's settings map, as bpf/sockfix.h lays it out, and how the
//! library's `Settings` become one: the same parsed settings, so every key
//! means in the kernel what it means in the library.

use crate::settings::{self, Conn, Settings};
use std::net::{IpAddr, SocketAddr};

// The limits and constants of bpf/sockfix.h.
pub const MAX_RULES: usize = 64;
pub const MAX_CONNS: usize = 32;
pub const MAX_BIND: usize = 8;
const ANY: u8 = 0;
const V4: u8 = 4;
const V6: u8 = 6;

/// struct sf_rule.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Rule {
    pub family: u8,
    pub prefix: u8,
    pub has_port: u8,
    pub conn: u8,
    pub port: u16,
    pub pad: u16,
    /// Network order, IPv4 in addr[0].
    pub addr: [u32; 4],
}

/// struct sf_conn.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct ConnMap {
    pub keepalive: u8,
    pub force: u8,
    pub nbind4: u8,
    pub nbind6: u8,
    /// Seconds.
    pub keepidle: u32,
    pub keepintvl: u32,
    pub keepcnt: u32,
    /// TCP_USER_TIMEOUT in ms; 0: not set.
    pub user_timeout: u32,
    /// TCP_SYNCNT; 0: not set.
    pub syncnt: u32,
    pub port_lo: u16,
    pub port_hi: u16,
    pub bind4: [u32; MAX_BIND],
    pub bind6: [[u32; 4]; MAX_BIND],
}

/// struct sf_settings: the value of each of the two slots of
/// `sockfix_settings`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettingsMap {
    pub server: u32,
    pub dest_any: u32,
    pub ndest: u32,
    pub nrules: u32,
    pub rules: [Rule; MAX_RULES],
    pub conns: [ConnMap; MAX_CONNS],
}

// The C side has the same sizes (checked against the object's BTF when it
// loads: aya refuses a map whose value size differs).
const _: () = assert!(std::mem::size_of::<Rule>() == 24);
const _: () = assert!(std::mem::size_of::<ConnMap>() == 28 + 4 * MAX_BIND + 16 * MAX_BIND);
const _: () = assert!(std::mem::size_of::<SettingsMap>() == 16 + 24 * MAX_RULES + 188 * MAX_CONNS);

// SAFETY: plain integers and arrays of them, repr(C), no padding the kernel
// could leak or need (every field is naturally aligned, sizes asserted).
unsafe impl aya::Pod for SettingsMap {}

impl Default for SettingsMap {
    fn default() -> Self {
        SettingsMap {
            server: 0,
            dest_any: 1,
            ndest: 0,
            nrules: 0,
            rules: [Rule::default(); MAX_RULES],
            conns: [ConnMap::default(); MAX_CONNS],
        }
    }
}

impl SettingsMap {
    /// What the companion gives a connection to `peer`, or None: the Rust
    /// twin of `conn_for` in bpf/sockfix.bpf.c (nothing outside SOCKFIX_DEST,
    /// else the first matching [dest] profile, else the global settings),
    /// with its sockops rule for accepted connections (the global settings
    /// when SOCKFIX_SERVER is on, for any peer). Written over the map, not
    /// the `Settings`: `sockfix audit` judges by the map the kernel reads,
    /// and the unit test below checks that `compile` keeps the library's rule.
    pub fn conn_for(&self, peer: SocketAddr, accepted: bool) -> Option<&ConnMap> {
        if accepted {
            return (self.server != 0).then_some(&self.conns[0]);
        }
        let d = Dest::from(peer);
        // The kernel's loops stop at MAX_RULES whatever the counts say.
        let ndest = (self.ndest as usize).min(MAX_RULES);
        let nrules = (self.nrules as usize).min(MAX_RULES);
        if self.dest_any == 0 && !self.rules[..ndest].iter().any(|r| d.matched_by(r)) {
            return None;
        }
        let profiles = self.rules.get(ndest..nrules).unwrap_or(&[]);
        let hit = profiles.iter().find(|r| d.matched_by(r) && (r.conn as usize) < MAX_CONNS);
        Some(&self.conns[hit.map_or(0, |r| r.conn as usize)])
    }
}

/// `struct dest` of bpf/sockfix.bpf.c: an IPv4-mapped IPv6 peer is the IPv4
/// address it is; addresses as the kernel's network-order words.
struct Dest {
    family: u8,
    port: u16,
    addr: [u32; 4],
}

impl Dest {
    fn from(peer: SocketAddr) -> Dest {
        let ip = match peer.ip() {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        match ip {
            IpAddr::V4(a) => Dest { family: V4, port: peer.port(), addr: [u32::from_ne_bytes(a.octets()), 0, 0, 0] },
            IpAddr::V6(a) => Dest { family: V6, port: peer.port(), addr: words(a.octets()) },
        }
    }

    /// `rule_matches`, word by word as the kernel compares them.
    fn matched_by(&self, r: &Rule) -> bool {
        if r.has_port != 0 && r.port != self.port {
            return false;
        }
        if r.family == ANY {
            return true;
        }
        if r.family != self.family {
            return false;
        }
        let words = if self.family == V4 { 1 } else { 4 };
        (0..words).all(|i| word_matches(r.addr[i], self.addr[i], i32::from(r.prefix) - 32 * i as i32))
    }
}

/// `word_matches`: the first `bits` bits of two network-order words agree.
fn word_matches(a: u32, b: u32, bits: i32) -> bool {
    if bits <= 0 {
        return true;
    }
    if bits >= 32 {
        return a == b;
    }
    let host = |w: u32| u32::from_be_bytes(w.to_ne_bytes());
    let mask = !0u32 << (32 - bits);
    (host(a) ^ host(b)) & mask == 0
}

/// Settings as the companion's map. Err: what does not fit (more than
/// MAX_RULES destination rules, MAX_CONNS - 1 profiles, MAX_BIND source
/// addresses of a family).
pub fn compile(s: &Settings) -> Result<SettingsMap, String> {
    let mut m = SettingsMap { server: s.server.into(), ..SettingsMap::default() };
    let mut rules = Vec::new();
    match s.dests.parts() {
        None => m.dest_any = 1,
        Some(parts) => {
            m.dest_any = 0;
            rules.extend(parts.iter().map(|p| rule(p.net, p.port, 0)));
        }
    }
    m.ndest = rules.len() as u32;
    if s.profiles.len() > MAX_CONNS - 1 {
        return Err(format!("{} [dest] sections; the companion takes at most {}", s.profiles.len(), MAX_CONNS - 1));
    }
    m.conns[0] = conn(&s.conn)?;
    for (i, p) in s.profiles.iter().enumerate() {
        let index = (i + 1) as u8;
        m.conns[i + 1] = conn(&p.conn)?;
        match p.dests.parts() {
            None => rules.push(rule(None, None, index)),
            Some(parts) => rules.extend(parts.iter().map(|r| rule(r.net, r.port, index))),
        }
    }
    if rules.len() > MAX_RULES {
        return Err(format!(
            "{} destination rules (SOCKFIX_DEST and [dest] sections together); the companion takes at most {MAX_RULES}",
            rules.len()
        ));
    }
    m.nrules = rules.len() as u32;
    m.rules[..rules.len()].copy_from_slice(&rules);
    Ok(m)
}

fn rule(net: Option<(IpAddr, u8)>, port: Option<u16>, conn: u8) -> Rule {
    let mut r = Rule { conn, has_port: port.is_some().into(), port: port.unwrap_or(0), ..Rule::default() };
    match net {
        None => r.family = ANY,
        Some((IpAddr::V4(a), prefix)) => {
            r.family = V4;
            r.prefix = prefix;
            r.addr[0] = u32::from_ne_bytes(a.octets());
        }
        Some((IpAddr::V6(a), prefix)) => {
            r.family = V6;
            r.prefix = prefix;
            r.addr = words(a.octets());
        }
    }
    r
}

/// 16 bytes in network order as the four words the kernel shows.
fn words(b: [u8; 16]) -> [u32; 4] {
    std::array::from_fn(|i| u32::from_ne_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]]))
}

fn conn(c: &Conn) -> Result<ConnMap, String> {
    let mut m = ConnMap {
        keepalive: c.keepalive.into(),
        force: c.force.into(),
        keepidle: c.keepidle_s as u32,
        keepintvl: c.keepintvl_s as u32,
        keepcnt: c.keepcnt as u32,
        user_timeout: c.user_timeout_ms.unwrap_or(0) as u32,
        syncnt: c.connect_timeout_ms.map_or(0, |ms| settings::syn_retries_for(ms) as u32),
        ..ConnMap::default()
    };
    if let Some((lo, hi)) = c.ports {
        (m.port_lo, m.port_hi) = (lo, hi);
    }
    for ip in &c.bind {
        match ip {
            IpAddr::V4(a) if (m.nbind4 as usize) < MAX_BIND => {
                m.bind4[m.nbind4 as usize] = u32::from_ne_bytes(a.octets());
                m.nbind4 += 1;
            }
            IpAddr::V6(a) if (m.nbind6 as usize) < MAX_BIND => {
                m.bind6[m.nbind6 as usize] = words(a.octets());
                m.nbind6 += 1;
            }
            _ => {
                return Err(format!("SOCKFIX_BIND: more than {MAX_BIND} addresses of one family; the companion takes {MAX_BIND}"))
            }
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{build, Layer, Section};

    fn settings(pairs: &[(&str, &str)], sections: &[(&str, &[(&str, &str)])]) -> Settings {
        let layer = |pairs: &[(&str, &str)]| Layer {
            source: "test".into(),
            pairs: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        };
        let sections: Vec<Section> = sections.iter().map(|(d, p)| Section { dests: d.to_string(), keys: layer(p) }).collect();
        let mut w = Vec::new();
        let s = build(&[layer(pairs)], &sections, &Vec::new, &mut w);
        assert!(w.is_empty(), "{w:?}");
        s
    }

    #[test]
    fn defaults_cover_every_destination() {
        let m = compile(&settings(&[], &[])).unwrap();
        assert_eq!((m.dest_any, m.ndest, m.nrules, m.server), (1, 0, 0, 0));
        let c = m.conns[0];
        assert_eq!((c.keepalive, c.keepidle, c.keepintvl, c.keepcnt), (1, 15, 15, 9));
        assert_eq!((c.user_timeout, c.syncnt, c.port_lo, c.nbind4), (0, 0, 0, 0));
    }

    #[test]
    fn every_connection_key_the_kernel_can_take() {
        let s = settings(
            &[
                ("SOCKFIX_KEEPIDLE", "7"),
                ("SOCKFIX_KEEPINTVL", "2"),
                ("SOCKFIX_KEEPCNT", "3"),
                ("SOCKFIX_USER_TIMEOUT", "auto"),
                ("SOCKFIX_CONNECT_TIMEOUT", "5s"),
                ("SOCKFIX_BIND", "192.0.2.1, 2001:db8::1, 192.0.2.2"),
                ("SOCKFIX_PORTS", "40000-40099"),
                ("SOCKFIX_FORCE", "on"),
                ("SOCKFIX_SERVER", "on"),
            ],
            &[],
        );
        let m = compile(&s).unwrap();
        let c = m.conns[0];
        assert_eq!((c.keepidle, c.keepintvl, c.keepcnt), (7, 2, 3));
        assert_eq!(c.user_timeout, 60_000, "auto: at least 60 s");
        assert_eq!(c.syncnt, 2, "5 s: 2 retries (7 s)");
        assert_eq!((c.nbind4, c.nbind6), (2, 1));
        assert_eq!(c.bind4[1].to_ne_bytes(), [192, 0, 2, 2], "network order");
        assert_eq!(c.bind6[0][0].to_ne_bytes(), [0x20, 0x01, 0x0d, 0xb8]);
        assert_eq!((c.port_lo, c.port_hi, c.force, m.server), (40000, 40099, 1, 1));
    }

    #[test]
    fn a_mapped_source_address_is_an_ipv4_one() {
        // Bound on an IPv6 socket, ::ffff:127.0.0.3 fails every connect to
        // an IPv6 destination (EAFNOSUPPORT): it is 127.0.0.3, for IPv4 ones.
        let m = compile(&settings(&[("SOCKFIX_BIND", "::ffff:127.0.0.3, ::1")], &[])).unwrap();
        let c = m.conns[0];
        assert_eq!((c.nbind4, c.nbind6), (1, 1));
        assert_eq!(c.bind4[0].to_ne_bytes(), [127, 0, 0, 3]);
    }

    #[test]
    fn dest_rules_then_profiles_in_file_order() {
        let s = settings(
            &[("SOCKFIX_DEST", "10.0.0.0/8, :5432, [fd00::]/8:3306")],
            &[("10.1.0.0/16", &[("SOCKFIX_KEEPIDLE", "60")]), ("*", &[("SOCKFIX_KEEPCNT", "2")])],
        );
        let m = compile(&s).unwrap();
        assert_eq!((m.dest_any, m.ndest, m.nrules), (0, 3, 5));
        let r = &m.rules;
        assert_eq!((r[0].family, r[0].prefix, r[0].has_port, r[0].addr[0].to_ne_bytes()), (V4, 8, 0, [10, 0, 0, 0]));
        assert_eq!((r[1].family, r[1].has_port, r[1].port), (ANY, 1, 5432));
        assert_eq!((r[2].family, r[2].prefix, r[2].port, r[2].addr[0].to_ne_bytes()[0]), (V6, 8, 3306, 0xfd));
        assert_eq!((r[3].conn, r[3].prefix), (1, 16));
        assert_eq!((r[4].conn, r[4].family), (2, ANY), "[dest *] matches anything");
        assert_eq!((m.conns[1].keepidle, m.conns[2].keepcnt, m.conns[2].keepidle), (60, 2, 15));
    }

    /// Destinations around every rule below: each rule's address, its
    /// neighbours just inside and outside its prefix, others, each IPv4
    /// one also IPv4-mapped, on ports the rules name and others.
    fn destinations() -> Vec<SocketAddr> {
        let v4 = "10.0.0.0 10.255.255.255 11.0.0.0 9.255.255.255 10.1.0.1 10.1.255.255 10.2.0.1 10.2.3.4 \
                  10.2.3.5 192.168.1.7 192.168.1.6 172.16.0.1 172.31.255.255 172.32.0.0 172.15.255.255 \
                  127.0.0.1 8.8.8.8 0.0.0.0 255.255.255.255 198.51.100.1 198.51.100.0 198.51.100.2";
        let v6 = "fd00::1 fdff:ffff::1 fe00::1 fc00::1 2001:db8::1 2001:db8:ffff::1 2001:db9::1 2001:db7::1 \
                  2001:db8:1::5 2001:db8:1:ffff::5 2001:db8:2::5 ::1 :: 2001:db8:0:7fff::1 \
                  2001:db8:0:8000::1 2001:db8:0:8000:ffff::1 2001:db8:1:0:8000::1 fe80::1 fe80::0 fe80::2 \
                  ::ffff:0:0:1";
        let mut ips: Vec<IpAddr> = v6.split_whitespace().map(|a| a.parse().unwrap()).collect();
        for a in v4.split_whitespace() {
            let ip: std::net::Ipv4Addr = a.parse().unwrap();
            ips.push(IpAddr::V4(ip));
            ips.push(IpAddr::V6(ip.to_ipv6_mapped()));
        }
        let ports = [22, 80, 443, 3306, 5432, 8080, 65535];
        ips.iter().flat_map(|ip| ports.iter().map(move |p| SocketAddr::new(*ip, *p))).collect()
    }

    /// The kernel's choice (the map, matched as the BPF program matches it)
    /// is the library's (`Settings::for_dest`) for every destination: the
    /// profiles have idle times of their own, so which one matched shows.
    #[test]
    fn the_map_chooses_as_the_library_does() {
        let scoped = settings(
            &[
                ("SOCKFIX_DEST", "10.0.0.0/8, 192.168.1.7:5432, :3306, [fd00::]/8:3306, 2001:db8::/32, [::ffff:172.16.0.0]/108"),
                ("SOCKFIX_KEEPIDLE", "15"),
            ],
            &[
                ("10.1.0.0/16", &[("SOCKFIX_KEEPIDLE", "101")]),
                ("[2001:db8:1::]/48:443, 10.2.3.4:80", &[("SOCKFIX_KEEPIDLE", "102")]),
                (":3306", &[("SOCKFIX_KEEPIDLE", "103")]),
                ("0.0.0.0/0:22", &[("SOCKFIX_KEEPIDLE", "104")]),
                ("[::]/0", &[("SOCKFIX_KEEPIDLE", "105")]),
                ("*", &[("SOCKFIX_KEEPIDLE", "106")]),
                ("10.0.0.0/8", &[("SOCKFIX_KEEPIDLE", "107")]),
            ],
        );
        // No SOCKFIX_DEST: every destination, and prefixes that end
        // inside a word (the kernel compares 32 bits at a time).
        let any = settings(
            &[],
            &[
                ("[2001:db8:0:8000::]/33", &[("SOCKFIX_KEEPIDLE", "201")]),
                ("[2001:db8:1:0:8000::]/65:8080", &[("SOCKFIX_KEEPIDLE", "202")]),
                ("[fe80::]/127", &[("SOCKFIX_KEEPIDLE", "203")]),
                ("198.51.100.0/31", &[("SOCKFIX_KEEPIDLE", "204")]),
                ("172.16.0.0/12:65535", &[("SOCKFIX_KEEPIDLE", "205")]),
                ("[::ffff:0:0]/95", &[("SOCKFIX_KEEPIDLE", "206")]),
            ],
        );
        let (mut kept, mut left) = (0, 0);
        for s in [&scoped, &any] {
            let m = compile(s).unwrap();
            for d in destinations() {
                let want = s.for_dest(&d).map(|c| c.keepidle_s as u32);
                assert_eq!(m.conn_for(d, false).map(|c| c.keepidle), want, "{d} (SOCKFIX_DEST={})", s.dests);
                if want.is_some() {
                    kept += 1
                } else {
                    left += 1
                }
            }
        }
        // Both answers are exercised, and so is every profile.
        assert!(kept > 100 && left > 100, "{kept} in scope, {left} outside");
        let m = compile(&scoped).unwrap();
        let idle = |d: &str| m.conn_for(d.parse().unwrap(), false).map(|c| c.keepidle);
        assert_eq!(idle("[::ffff:10.1.2.3]:80"), Some(101), "a mapped peer is matched as IPv4");
        assert_eq!(idle("[::ffff:172.20.0.1]:80"), Some(106), "a mapped rule is an IPv4 rule");
        assert_eq!(idle("8.8.8.8:80"), None);
    }

    #[test]
    fn accepted_connections_only_with_server() {
        let peer = "192.0.2.1:40000".parse().unwrap();
        let dest = [("SOCKFIX_DEST", "10.0.0.0/8"), ("SOCKFIX_KEEPIDLE", "9")];
        assert!(compile(&settings(&dest, &[])).unwrap().conn_for(peer, true).is_none(), "SOCKFIX_SERVER off");
        let on =
            compile(&settings(&[dest[0], dest[1], ("SOCKFIX_SERVER", "on")], &[("*", &[("SOCKFIX_KEEPIDLE", "77")])])).unwrap();
        assert_eq!(on.conn_for(peer, true).map(|c| c.keepidle), Some(9), "the global settings, for any peer");
        assert!(on.conn_for(peer, false).is_none());
    }

    #[test]
    fn what_does_not_fit_is_refused() {
        let many: Vec<String> = (0..9).map(|i| format!("192.0.2.{i}")).collect();
        let e = compile(&settings(&[("SOCKFIX_BIND", &many.join(","))], &[])).unwrap_err();
        assert!(e.contains("SOCKFIX_BIND"), "{e}");
        let dests: Vec<String> = (0..65).map(|i| format!("10.0.0.{i}")).collect();
        let e = compile(&settings(&[("SOCKFIX_DEST", &dests.join(","))], &[])).unwrap_err();
        assert!(e.contains("at most 64"), "{e}");
    }
}
