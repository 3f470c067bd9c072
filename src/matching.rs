//! Which connections and which programs the settings apply to.
//!
//! Destination lists (SOCKFIX_DEST and `[dest ...]` profile sections) are
//! parsed once, in the constructor, into plain rules; matching a connect is
//! a loop over them with no allocation and no parsing.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::{IpAddr, SocketAddr};

/// One destination rule: an address block (None: any address) and an
/// optional port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    net: Option<Net>,
    port: Option<u16>,
}

/// A rule as `Dests::parts` gives it: an address block (address, prefix
/// length; IPv4-mapped blocks already as IPv4) or any address, and a port or
/// any port.
#[allow(dead_code)]
pub struct RuleParts {
    pub net: Option<(IpAddr, u8)>,
    pub port: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Net {
    V4 { addr: u32, prefix: u8 },
    V6 { addr: u128, prefix: u8 },
}

impl Net {
    fn contains(&self, ip: IpAddr) -> bool {
        match (*self, ip) {
            (Net::V4 { addr, prefix }, IpAddr::V4(ip)) => same_prefix(u128::from(addr), u128::from(u32::from(ip)), prefix, 32),
            (Net::V6 { addr, prefix }, IpAddr::V6(ip)) => same_prefix(addr, u128::from(ip), prefix, 128),
            _ => false,
        }
    }
}

/// Whether the first `prefix` of `bits` bits of `a` and `b` agree.
fn same_prefix(a: u128, b: u128, prefix: u8, bits: u32) -> bool {
    let drop = bits.saturating_sub(u32::from(prefix));
    a.checked_shr(drop).unwrap_or(0) == b.checked_shr(drop).unwrap_or(0)
}

/// A list of destinations: `*`, or rules of the forms `CIDR`, `CIDR:PORT`,
/// `:PORT`, `[IPv6-CIDR]:PORT`, plain addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dests {
    any: bool,
    rules: Vec<Rule>,
    /// The list as written, for `sockfix config`.
    text: String,
}

impl Default for Dests {
    fn default() -> Self {
        Dests { any: true, rules: Vec::new(), text: "*".into() }
    }
}

impl core::fmt::Display for Dests {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        f.write_str(&self.text)
    }
}

impl Dests {
    pub fn parse(text: &str) -> Result<Dests, String> {
        let text = text.split(',').map(str::trim).filter(|i| !i.is_empty()).collect::<Vec<_>>().join(", ");
        let mut dests = Dests { any: false, rules: Vec::new(), text: text.clone() };
        for item in text.split(", ") {
            if item == "*" {
                dests.any = true;
            } else {
                dests.rules.push(parse_rule(item).map_err(|why| format!("{item}: {why}"))?);
            }
        }
        if !dests.any && dests.rules.is_empty() {
            return Err("empty list (use * for every destination)".into());
        }
        Ok(dests)
    }

    /// `*`, or the rules as plain values: for the eBPF companion's maps
    /// (`sockfix bpf`), which match them in the kernel as `matches` does.
    #[allow(dead_code)]
    pub fn parts(&self) -> Option<Vec<RuleParts>> {
        if self.any {
            return None;
        }
        Some(
            self.rules
                .iter()
                .map(|r| RuleParts {
                    net: r.net.map(|n| match n {
                        Net::V4 { addr, prefix } => (IpAddr::V4(addr.into()), prefix),
                        Net::V6 { addr, prefix } => (IpAddr::V6(addr.into()), prefix),
                    }),
                    port: r.port,
                })
                .collect(),
        )
    }

    /// An IPv4-mapped IPv6 destination (::ffff:10.0.0.1) is matched as the
    /// IPv4 address it is.
    pub fn matches(&self, dest: &SocketAddr) -> bool {
        if self.any {
            return true;
        }
        let ip = match dest.ip() {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        self.rules.iter().any(|r| r.port.is_none_or(|p| p == dest.port()) && r.net.is_none_or(|n| n.contains(ip)))
    }
}

fn parse_rule(item: &str) -> Result<Rule, &'static str> {
    // `:5432`; but `::1` and `::/0` are IPv6 blocks (below), not ports.
    if let Some(port) = item.strip_prefix(':').filter(|rest| !rest.contains(':')) {
        return Ok(Rule { net: None, port: Some(parse_port(port)?) });
    }
    // [fd00::/8]:3306 and [fd00::]/8:3306 alike.
    if let Some(rest) = item.strip_prefix('[') {
        let (inside, after) = rest.split_once(']').ok_or("missing ]")?;
        // After the bracket: an optional /PREFIX, then an optional :PORT.
        let (prefix, port) = match after.split_once(':') {
            Some((p, port)) => (p, Some(port)),
            None => (after, None),
        };
        let net = match prefix.strip_prefix('/') {
            Some(_) if inside.contains('/') => return Err("two prefix lengths"),
            Some(p) => parse_net(&format!("{inside}/{p}"))?,
            None if prefix.is_empty() => parse_net(inside)?,
            None => return Err("expected /PREFIX or :PORT after ]"),
        };
        return Ok(Rule { net: Some(net), port: port.map(parse_port).transpose()? });
    }
    // More than one colon and no brackets: a bare IPv6 block, no port.
    if item.matches(':').count() > 1 {
        return Ok(Rule { net: Some(parse_net(item)?), port: None });
    }
    let (net, port) = match item.split_once(':') {
        Some((net, port)) => (net, Some(parse_port(port)?)),
        None => (item, None),
    };
    Ok(Rule { net: Some(parse_net(net)?), port })
}

fn parse_port(text: &str) -> Result<u16, &'static str> {
    match text.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err("port must be 1-65535"),
    }
}

fn parse_net(text: &str) -> Result<Net, &'static str> {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| "bad prefix length")?)),
        None => (text, None),
    };
    match addr.parse::<IpAddr>().map_err(|_| "not an IP address")? {
        IpAddr::V4(ip) => {
            let prefix = prefix.unwrap_or(32);
            if prefix > 32 {
                return Err("IPv4 prefix length above 32");
            }
            Ok(Net::V4 { addr: u32::from(ip), prefix })
        }
        IpAddr::V6(ip) => {
            let prefix = prefix.unwrap_or(128);
            if prefix > 128 {
                return Err("IPv6 prefix length above 128");
            }
            match ip.to_ipv4_mapped() {
                // [::ffff:10.0.0.0]/104 means 10.0.0.0/8.
                Some(v4) if prefix >= 96 => Ok(Net::V4 { addr: u32::from(v4), prefix: prefix - 96 }),
                _ => Ok(Net::V6 { addr: u128::from(ip), prefix }),
            }
        }
    }
}

/// A list of addresses (SOCKFIX_BIND). An IPv4-mapped address
/// (::ffff:192.0.2.1) is the IPv4 address it is, as in SOCKFIX_DEST: it is
/// a source for IPv4 destinations (bound mapped on an IPv6 socket), never
/// for IPv6 ones, which cannot connect from it (EAFNOSUPPORT).
pub fn parse_addresses(text: &str) -> Result<Vec<IpAddr>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(|i| {
            let ip = i.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>();
            ip.map(|a| a.to_canonical()).map_err(|_| format!("{i}: not an IP address"))
        })
        .collect()
}

/// A source-port range `LOW-HIGH` (SOCKFIX_PORTS).
pub fn parse_port_range(text: &str) -> Result<(u16, u16), &'static str> {
    let (low, high) = text.trim().split_once('-').ok_or("not LOW-HIGH")?;
    let low = parse_port(low.trim())?;
    let high = parse_port(high.trim())?;
    if low > high {
        return Err("LOW above HIGH");
    }
    Ok((low, high))
}

/// Whether the settings apply in this program, by name: the base name of
/// argv[0] or of the executable. `only` empty means every program.
pub fn program_in_scope(names: &[&str], only: &[String], skip: &[String]) -> bool {
    let named = |list: &[String]| names.iter().any(|n| list.iter().any(|l| l == n));
    (only.is_empty() || named(only)) && !named(skip)
}

pub fn parse_names(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|n| !n.is_empty()).map(String::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn every_form_of_rule() {
        let d = Dests::parse("10.0.0.0/8:3306, :5432, [fd00::]/8:3306, 192.0.2.7, 2001:db8::/32").unwrap();
        assert!(d.matches(&sa("10.1.2.3:3306")));
        assert!(!d.matches(&sa("10.1.2.3:3307")));
        assert!(!d.matches(&sa("11.1.2.3:3306")));
        assert!(d.matches(&sa("203.0.113.9:5432")));
        assert!(d.matches(&sa("[fd12::1]:3306")));
        assert!(!d.matches(&sa("[fe80::1]:3306")));
        assert!(d.matches(&sa("192.0.2.7:80")));
        assert!(!d.matches(&sa("192.0.2.8:80")));
        assert!(d.matches(&sa("[2001:db8:1::5]:443")));
        let inside = Dests::parse("[fd00::/8]:3306").unwrap();
        assert!(inside.matches(&sa("[fd12::1]:3306")) && !inside.matches(&sa("[fd12::1]:3307")));
        assert!(Dests::parse("[::1]").unwrap().matches(&sa("[::1]:9")));
    }

    #[test]
    fn bare_ipv6_blocks_that_start_with_two_colons() {
        // Once read as ":PORT" and refused ("port must be 1-65535").
        let d = Dests::parse("::1").unwrap();
        assert!(d.matches(&sa("[::1]:9")) && !d.matches(&sa("[::2]:9")));
        let all6 = Dests::parse("::/0").unwrap();
        assert!(all6.matches(&sa("[2001:db8::1]:1")) && !all6.matches(&sa("10.0.0.1:1")));
        assert!(Dests::parse("::ffff:10.0.0.0/104").unwrap().matches(&sa("10.1.1.1:1")));
        assert!(Dests::parse(":5432").unwrap().matches(&sa("[::1]:5432")));
        assert!(Dests::parse(":54:32").is_err());
    }

    #[test]
    fn mapped_destinations_match_ipv4_rules() {
        let d = Dests::parse("10.0.0.0/8:3306").unwrap();
        assert!(d.matches(&sa("[::ffff:10.0.0.1]:3306")));
        let d = Dests::parse("[::ffff:10.0.0.0]/104").unwrap();
        assert!(d.matches(&sa("10.9.9.9:1")));
    }

    #[test]
    fn star_and_defaults() {
        assert!(Dests::default().matches(&sa("[::1]:1")));
        assert!(Dests::parse("*").unwrap().matches(&sa("1.2.3.4:5")));
        assert!(Dests::parse("0.0.0.0/0").unwrap().matches(&sa("1.2.3.4:5")));
        assert!(!Dests::parse("0.0.0.0/0").unwrap().matches(&sa("[::1]:5")));
    }

    #[test]
    fn bad_lists_are_refused() {
        for bad in [
            "",
            ",",
            "10.0.0.0/33",
            "10.0.0.1:0",
            "10.0.0.1:99999",
            "[fd00::/8",
            "[::1]x",
            "host.example:80",
            "::1/129",
            ":",
            "[fd00::/8]/8",
            "[::1]:",
        ] {
            assert!(Dests::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn addresses_ranges_and_programs() {
        assert_eq!(parse_addresses("192.0.2.1, [2001:db8::1]").unwrap().len(), 2);
        assert!(parse_addresses("192.0.2.1,nope").is_err());
        let mapped = parse_addresses("::ffff:192.0.2.7, [::ffff:192.0.2.8], ::1").unwrap();
        assert_eq!(mapped, ["192.0.2.7".parse::<IpAddr>().unwrap(), "192.0.2.8".parse().unwrap(), "::1".parse().unwrap()]);
        assert_eq!(parse_port_range("40000-40999"), Ok((40000, 40999)));
        assert_eq!(parse_port_range(" 1 - 1 "), Ok((1, 1)));
        for bad in ["40999-40000", "0-10", "10", "a-b", "1-70000"] {
            assert!(parse_port_range(bad).is_err(), "{bad}");
        }
        let only = parse_names("php-fpm, gunicorn");
        let skip = parse_names("sshd");
        assert!(program_in_scope(&["gunicorn", "python3.11"], &only, &[]));
        assert!(!program_in_scope(&["bash"], &only, &[]));
        assert!(!program_in_scope(&["sshd"], &[], &skip));
        assert!(program_in_scope(&["curl"], &[], &skip));
    }
}
