//! The companion's settings map, as bpf/sockfix.h lays it out, and how the
//! library's `Settings` become one: the same parsed settings, so every key
//! means in the kernel what it means in the library.

use crate::settings::{self, Conn, Settings};
use std::net::IpAddr;

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
