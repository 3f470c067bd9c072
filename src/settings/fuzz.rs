//! Fuzzing the settings parser and the destination matcher: random text
//! drawn from the characters their grammars use. Nothing may panic or hang,
//! and every value a parser refuses must produce exactly one warning naming
//! its key. Deterministic (a fixed-seed xorshift), so a failure reproduces.

use super::{build, values, Layer, Section};
use crate::matching::{self, Dests};
use core::net::SocketAddr;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A string of up to `max` pieces from the grammar's alphabet.
    fn text(&mut self, max: usize) -> String {
        const PIECES: &[&str] = &[
            "0",
            "1",
            "7",
            "9",
            "15",
            "255",
            "3306",
            "65535",
            "65536",
            "99999999999999999999",
            ".",
            ":",
            "::",
            "/",
            "[",
            "]",
            ",",
            "*",
            "-",
            " ",
            "s",
            "ms",
            "m",
            "h",
            "d",
            "ff",
            "ffff",
            "fd00",
            "10.0.0.0",
            "::1",
            "INT",
            "SIG",
            "WINCH",
            "on",
            "off",
            "auto",
            "x",
            "=",
            "#",
            "\u{e9}",
            "\t",
        ];
        (0..self.below(max + 1)).map(|_| PIECES[self.below(PIECES.len())]).collect()
    }

    fn addr(&mut self) -> SocketAddr {
        let port = self.next() as u16;
        if self.below(2) == 0 {
            SocketAddr::new(core::net::Ipv4Addr::from(self.next() as u32 & 0x0aff_ffff).into(), port)
        } else {
            SocketAddr::new(core::net::Ipv6Addr::from(u128::from(self.next()) << 64 | u128::from(self.next())).into(), port)
        }
    }
}

#[test]
fn matcher_never_panics_and_parsed_lists_match_consistently() {
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    for _ in 0..20_000 {
        let text = rng.text(8);
        if let Ok(d) = Dests::parse(&text) {
            for _ in 0..4 {
                let a = rng.addr();
                // Matching is a pure function of the list and the address.
                assert_eq!(d.matches(&a), d.matches(&a));
            }
            // The text it shows parses back to the same rules.
            assert_eq!(Dests::parse(&d.to_string()).as_ref(), Ok(&d), "{text:?}");
        }
        let _ = matching::parse_addresses(&text);
        let _ = matching::parse_port_range(&text);
    }
}

#[test]
fn value_parsers_never_panic() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for _ in 0..20_000 {
        let text = rng.text(6);
        let _ = values::duration_ms(&text);
        let _ = values::boolean(&text);
        let _ = values::count(&text, 1, 127);
        let _ = values::signal_set(&text);
    }
}

#[test]
fn every_refused_value_is_warned_once_by_key() {
    let mut rng = Rng(0x0dd_ba11_5ca1_ab1e);
    // (key, whether the library's own parser accepts the text)
    let checks: &[(&str, fn(&str) -> bool)] = &[
        ("SOCKFIX_KEEPIDLE", |t| values::duration_ms(t).is_ok_and(|ms| (1..=32_767_000).contains(&ms) && ms % 1000 == 0)),
        ("SOCKFIX_KEEPCNT", |t| values::count(t, 1, 127).is_ok()),
        ("SOCKFIX_EINTR", |t| values::boolean(t).is_ok()),
        ("SOCKFIX_EINTR_PASS", |t| values::signal_set(t).is_ok()),
        ("SOCKFIX_DEST", |t| Dests::parse(t).is_ok()),
        ("SOCKFIX_PORTS", |t| values::is_off(t) || matching::parse_port_range(t).is_ok()),
        ("SOCKFIX_BIND", |t| values::is_off(t) || matching::parse_addresses(t).is_ok()),
    ];
    for _ in 0..5_000 {
        let (key, accepts) = checks[rng.below(checks.len())];
        let value = rng.text(5);
        let layer = Layer { source: "environment".into(), pairs: vec![(key.to_string(), value.clone())] };
        let mut warnings = Vec::new();
        let _ = build(&[layer], &[], &Vec::new, &mut warnings);
        let named = warnings.iter().filter(|w| w.starts_with(&format!("{key}={value} ("))).count();
        assert_eq!(named, usize::from(!accepts(&value)), "{key}={value:?}: {warnings:?}");
        assert!(warnings.len() <= 1, "{warnings:?}");
    }
}

#[test]
fn whole_config_files_never_panic() {
    let mut rng = Rng(0xfeed_face_dead_beef);
    let keys = ["SOCKFIX_KEEPIDLE", "SOCKFIX_LINGER", "SOCKFIX_DEST", "KEEPCNT", "SOCKFIX_BIND", "SOCKFIX_X", "[dest ", "#", ""];
    for _ in 0..3_000 {
        let mut text = String::new();
        for _ in 0..rng.below(8) {
            let key = keys[rng.below(keys.len())];
            let sep = if key.starts_with('[') { "]" } else { "=" };
            text.push_str(&format!("{key}{sep}{}\n", rng.text(4)));
        }
        let mut warnings = Vec::new();
        let (pairs, sections) = super::load::parse_config(&text, "f", &mut warnings);
        let sections: Vec<Section> = sections;
        let layer = Layer { source: "f".into(), pairs };
        let s = build(&[layer], &sections, &Vec::new, &mut warnings);
        let _ = s.for_dest(&rng.addr());
    }
}
