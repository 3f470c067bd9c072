//! The settings: what each key means, its default, and how the layers
//! (built-in defaults < config file < environment) combine into one
//! read-only `Settings`, built once in the constructor.
//!
//! Every key is looked up by its exact name and its text parsed here, key by
//! key, so one bad value costs only that key its setting: it keeps its default and yields one warning line naming the key,
//! the value, where it came from, and what is used instead.
//!
//! Settings come in two kinds: those of the process (EINTR, log, scopes) and
//! those of a connection (`Conn`: keepalive, timeouts, linger, source
//! address...). `[dest ...]` sections of the config file are profiles: a
//! copy of the global `Conn` with the section's keys applied, made here once,
//! so a connect only has to pick one.

/// For `sockfix config`; unused in the library.
#[allow(dead_code)]
pub mod describe;
#[cfg(test)]
mod fuzz;
mod load;
pub mod values;

use crate::matching::{self, Dests};
use alloc::ffi::CString;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::net::{IpAddr, SocketAddr};
use libc::c_int;

#[allow(unused_imports)]
pub use load::{gather, load, parse_config, read_config, Gathered};

pub const DEFAULT_CONFIG: &str = "/etc/sockfix.conf";
/// DEFAULT_CONFIG as a C string (a unit test keeps the two the same).
const DEFAULT_CONFIG_C: &core::ffi::CStr = c"/etc/sockfix.conf";
const DEFAULT_PASS: &str = "INT,TERM,QUIT,ALRM";
/// DEFAULT_PASS as a signal set (a unit test keeps the two the same).
const DEFAULT_PASS_SET: u64 =
    1 << (libc::SIGINT - 1) | 1 << (libc::SIGTERM - 1) | 1 << (libc::SIGQUIT - 1) | 1 << (libc::SIGALRM - 1);

/// The kernel's limits for the keepalive options (MAX_TCP_KEEPIDLE, ...).
const MAX_KEEP_SECS: u64 = 32767;
const MAX_KEEPCNT: u32 = 127;
/// Longest SO_LINGER and idle check accepted, in seconds.
const MAX_LINGER_SECS: u64 = 65535;
const MAX_IDLE_SECS: u64 = 65535;
/// Idle checks longer than this are made from this on: checking sooner only
/// costs a poll, never a wrong answer (the fd table keeps 12 bits for it).
const MAX_IDLE_CHECK_SECS: u16 = 4095;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogTarget {
    Off,
    Stderr,
    Syslog,
    File(CString),
}

/// What a matched connection gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conn {
    pub keepalive: bool,
    pub keepidle_s: c_int,
    pub keepintvl_s: c_int,
    pub keepcnt: c_int,
    /// TCP_USER_TIMEOUT in milliseconds.
    pub user_timeout_ms: Option<c_int>,
    pub connect_timeout_ms: Option<u64>,
    /// SO_LINGER in seconds (0: close with RST).
    pub linger_s: Option<c_int>,
    /// Source addresses, used in turn.
    pub bind: Vec<IpAddr>,
    /// Source-port range.
    pub ports: Option<(u16, u16)>,
    /// Check for a closed peer before writing after this long idle.
    pub idle_check_s: Option<u16>,
    /// SOCKFIX_FORCE: the settings win over options the program set before
    /// connecting (its calls after connect still take effect).
    pub force: bool,
}

impl Default for Conn {
    fn default() -> Self {
        Conn {
            keepalive: true,
            keepidle_s: 15,
            keepintvl_s: 15,
            keepcnt: 9,
            user_timeout_ms: None,
            connect_timeout_ms: None,
            linger_s: None,
            bind: Vec::new(),
            ports: None,
            idle_check_s: None,
            force: false,
        }
    }
}

/// A `[dest ...]` section of the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub dests: Dests,
    pub conn: Conn,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// False when SOCKFIX_PROGRAMS / SOCKFIX_SKIP_PROGRAMS leave this program
    /// out: the library then does nothing at all.
    pub active: bool,
    pub eintr: bool,
    /// Signals that still interrupt: bit (sig - 1).
    pub eintr_pass: u64,
    pub server: bool,
    pub log: LogTarget,
    /// SOCKFIX_DEST: the connections the settings apply to.
    pub dests: Dests,
    pub conn: Conn,
    pub profiles: Vec<Profile>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            active: true,
            eintr: true,
            eintr_pass: DEFAULT_PASS_SET,
            server: false,
            log: LogTarget::Off,
            dests: Dests::default(),
            conn: Conn::default(),
            profiles: Vec::new(),
        }
    }
}

impl Settings {
    /// Whether `sig` must still interrupt a blocking call.
    pub fn passes(&self, sig: c_int) -> bool {
        (1..=64).contains(&sig) && self.eintr_pass & (1u64 << (sig - 1)) != 0
    }

    /// What a connection to `dest` gets: nothing outside SOCKFIX_DEST, else
    /// the first matching profile, else the global settings.
    pub fn for_dest(&self, dest: &SocketAddr) -> Option<&Conn> {
        if !self.dests.matches(dest) {
            return None;
        }
        Some(self.profiles.iter().find(|p| p.dests.matches(dest)).map_or(&self.conn, |p| &p.conn))
    }
}

/// The keys of a connection: allowed globally and in `[dest ...]` sections.
pub const CONN_KEYS: &[&str] = &[
    "SOCKFIX_KEEPALIVE",
    "SOCKFIX_KEEPIDLE",
    "SOCKFIX_KEEPINTVL",
    "SOCKFIX_KEEPCNT",
    "SOCKFIX_USER_TIMEOUT",
    "SOCKFIX_CONNECT_TIMEOUT",
    "SOCKFIX_LINGER",
    "SOCKFIX_BIND",
    "SOCKFIX_PORTS",
    "SOCKFIX_IDLE_CHECK",
    "SOCKFIX_FORCE",
];

/// The keys of the process: global only.
pub const PROCESS_KEYS: &[&str] = &[
    "SOCKFIX_EINTR",
    "SOCKFIX_EINTR_PASS",
    "SOCKFIX_SERVER",
    "SOCKFIX_LOG",
    "SOCKFIX_DEST",
    "SOCKFIX_PROGRAMS",
    "SOCKFIX_SKIP_PROGRAMS",
    "SOCKFIX_CONFIG",
];

pub const LEGACY_KEYS: &[&str] = &["KEEPALIVE", "KEEPIDLE", "KEEPINTVL", "KEEPCNT"];

/// Variables of the sockfix command, not of the library: never reported.
const TOOL_KEYS: &[&str] = &["SOCKFIX_LIBRARY"];

/// One layer of `KEY=VALUE` pairs and where they came from.
pub struct Layer {
    pub source: String,
    pub pairs: Vec<(String, String)>,
}

/// A `[dest LIST]` section: its list, and its lines as a layer whose
/// source is where the section starts.
pub struct Section {
    pub dests: String,
    pub keys: Layer,
}

/// A value as found: the key it was set under, its text, its origin.
struct Found<'a> {
    key: &'static str,
    text: &'a str,
    source: &'a str,
}

/// Finds a key in the highest layer that sets it: first the SOCKFIX_ name,
/// then (within the same layer) libkeepalive's `legacy` name. Within a layer
/// the last line wins, as in a shell.
fn find<'a>(layers: &'a [Layer], key: &'static str, legacy: Option<&'static str>) -> Option<Found<'a>> {
    layers.iter().find_map(|l| {
        let last = |name: &'static str| {
            l.pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| Found { key: name, text: v, source: &l.source })
        };
        last(key).or_else(|| legacy.and_then(last))
    })
}

type Warn<'w> = dyn FnMut(&Found, &str, String) + 'w;

/// The warning line for a refused value: key, value, origin, why, and what
/// is used instead.
fn refused(f: &Found, why: &str, using: String) -> String {
    format!("{}={} ({}): {}; using {}", f.key, f.text, f.source, why, using)
}

/// Combines layers (highest precedence first) and config-file sections into
/// settings. `names` tells the program's names, asked only when a program
/// list is set. Every problem is pushed onto `warnings` as one line.
pub fn build(layers: &[Layer], sections: &[Section], names: &dyn Fn() -> Vec<String>, warnings: &mut Vec<String>) -> Settings {
    for layer in layers {
        warn_unknown_keys(layer, false, warnings);
    }
    let mut lines = Vec::new();
    let mut warn = |f: &Found, why: &str, using: String| lines.push(refused(f, why, using));
    let mut s = Settings { conn: conn_settings(layers, &Conn::default(), &mut warn), ..Settings::default() };
    process_settings(layers, &mut s, names, &mut warn);

    for section in sections {
        let dests = match Dests::parse(&section.dests) {
            Ok(d) => d,
            Err(why) => {
                lines.push(format!("[dest {}] ({}): {why}; section ignored", section.dests, section.keys.source));
                continue;
            }
        };
        warn_unknown_keys(&section.keys, true, &mut lines);
        let mut warn = |f: &Found, why: &str, using: String| lines.push(refused(f, why, using));
        let conn = conn_settings(core::slice::from_ref(&section.keys), &s.conn, &mut warn);
        s.profiles.push(Profile { dests, conn });
    }
    warnings.append(&mut lines);
    s
}

fn process_settings(layers: &[Layer], s: &mut Settings, names: &dyn Fn() -> Vec<String>, warn: &mut Warn) {
    let d = Settings::default();
    if let Some(f) = find(layers, "SOCKFIX_EINTR", None) {
        s.eintr = values::boolean(f.text).unwrap_or_else(|why| {
            warn(&f, why, on_off(d.eintr).into());
            d.eintr
        });
    }
    if let Some(f) = find(layers, "SOCKFIX_EINTR_PASS", None) {
        s.eintr_pass = values::signal_set(f.text).unwrap_or_else(|why| {
            warn(&f, why, DEFAULT_PASS.into());
            d.eintr_pass
        });
    }
    if let Some(f) = find(layers, "SOCKFIX_SERVER", None) {
        s.server = values::boolean(f.text).unwrap_or_else(|why| {
            warn(&f, why, on_off(d.server).into());
            d.server
        });
    }
    if let Some(f) = find(layers, "SOCKFIX_LOG", None) {
        s.log = log_target(f.text).unwrap_or_else(|why| {
            warn(&f, why, "off".into());
            LogTarget::Off
        });
    }
    if let Some(f) = find(layers, "SOCKFIX_DEST", None) {
        s.dests = Dests::parse(f.text).unwrap_or_else(|why| {
            warn(&f, &why, "*".into());
            Dests::default()
        });
    }
    let only = find(layers, "SOCKFIX_PROGRAMS", None).map_or_else(Vec::new, |f| matching::parse_names(f.text));
    let skip = find(layers, "SOCKFIX_SKIP_PROGRAMS", None).map_or_else(Vec::new, |f| matching::parse_names(f.text));
    if !only.is_empty() || !skip.is_empty() {
        let names = names();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        s.active = matching::program_in_scope(&names, &only, &skip);
    }
}

/// The shortest user timeout `auto` gives: a live peer that keeps its
/// receive window closed (a server waiting on a lock: MySQL's
/// innodb_lock_wait_timeout is 50 s) must survive a minute, because on Linux
/// TCP_USER_TIMEOUT also ends a connection whose window stays closed that
/// long.
pub const AUTO_USER_TIMEOUT_MIN_S: i64 = 60;

/// `SOCKFIX_USER_TIMEOUT=auto`: what keepalive alone would take to drop a
/// dead peer (keepidle + keepintvl × keepcnt), but never less than
/// AUTO_USER_TIMEOUT_MIN_S, in milliseconds.
pub fn auto_user_timeout_ms(c: &Conn) -> c_int {
    let keepalive_s = c.keepidle_s as i64 + c.keepintvl_s as i64 * c.keepcnt as i64;
    (keepalive_s.max(AUTO_USER_TIMEOUT_MIN_S) * 1000).min(c_int::MAX as i64) as c_int
}

/// The TCP_SYNCNT that keeps a connect trying for at least `timeout_ms`:
/// with the initial 1 s retransmission timeout doubling each time, n
/// retries give up after 2^(n+1) - 1 seconds (3, 7, 15, 31, 63, 127 s...;
/// measured on Linux 6.18: 1 retry 3.1 s, 2 retries 7.1 s). The library
/// sets it on non-blocking connects, the eBPF companion on every connect.
pub fn syn_retries_for(timeout_ms: u64) -> c_int {
    let mut n: u32 = 1;
    while n < 30 && ((1u64 << (n + 1)) - 1) * 1000 < timeout_ms {
        n += 1;
    }
    n.min(127) as c_int
}

/// The connection settings found in `layers`, over `base`.
fn conn_settings(layers: &[Layer], base: &Conn, warn: &mut Warn) -> Conn {
    let d = base;
    let mut c = base.clone();
    if let Some(f) = find(layers, "SOCKFIX_KEEPALIVE", Some("KEEPALIVE")) {
        c.keepalive = values::boolean(f.text).unwrap_or_else(|why| {
            warn(&f, why, on_off(d.keepalive).into());
            d.keepalive
        });
    }
    if let Some(f) = find(layers, "SOCKFIX_KEEPIDLE", Some("KEEPIDLE")) {
        c.keepidle_s = keepalive_secs(&f, d.keepidle_s, warn);
    }
    if let Some(f) = find(layers, "SOCKFIX_KEEPINTVL", Some("KEEPINTVL")) {
        c.keepintvl_s = keepalive_secs(&f, d.keepintvl_s, warn);
    }
    if let Some(f) = find(layers, "SOCKFIX_KEEPCNT", Some("KEEPCNT")) {
        c.keepcnt = match values::count(f.text, 1, MAX_KEEPCNT) {
            Ok(n) => n as c_int,
            Err(why) => {
                warn(&f, &format!("{why} (1-{MAX_KEEPCNT})"), d.keepcnt.to_string());
                d.keepcnt
            }
        };
    }
    if let Some(f) = find(layers, "SOCKFIX_USER_TIMEOUT", None) {
        c.user_timeout_ms = if f.text.trim().eq_ignore_ascii_case("auto") {
            Some(auto_user_timeout_ms(&c))
        } else {
            match optional_duration(f.text, c_int::MAX as u64) {
                Ok(ms) => ms.map(|ms| ms as c_int),
                Err(why) => {
                    warn(&f, why, shown_ms(d.user_timeout_ms.map(|v| v as u64)));
                    d.user_timeout_ms
                }
            }
        };
    }
    if let Some(f) = find(layers, "SOCKFIX_CONNECT_TIMEOUT", None) {
        c.connect_timeout_ms = optional_duration(f.text, u32::MAX as u64).unwrap_or_else(|why| {
            warn(&f, why, shown_ms(d.connect_timeout_ms));
            d.connect_timeout_ms
        });
    }
    if let Some(f) = find(layers, "SOCKFIX_LINGER", None) {
        c.linger_s = match whole_seconds(f.text, 0, MAX_LINGER_SECS, true) {
            Ok(secs) => secs,
            Err(why) => {
                warn(&f, &why, d.linger_s.map_or("off".into(), |v| format!("{v}s")));
                d.linger_s
            }
        };
    }
    if let Some(f) = find(layers, "SOCKFIX_BIND", None) {
        c.bind = if values::is_off(f.text) {
            Vec::new()
        } else {
            matching::parse_addresses(f.text).unwrap_or_else(|why| {
                warn(&f, &why, if d.bind.is_empty() { "none".into() } else { "the global list".into() });
                d.bind.clone()
            })
        };
    }
    if let Some(f) = find(layers, "SOCKFIX_PORTS", None) {
        c.ports = if values::is_off(f.text) {
            None
        } else {
            matching::parse_port_range(f.text).map(Some).unwrap_or_else(|why| {
                warn(&f, why, d.ports.map_or("the kernel's range".into(), |(l, h)| format!("{l}-{h}")));
                d.ports
            })
        };
    }
    if let Some(f) = find(layers, "SOCKFIX_IDLE_CHECK", None) {
        c.idle_check_s = match whole_seconds(f.text, 1, MAX_IDLE_SECS, false) {
            Ok(Some(secs)) if secs as u16 > MAX_IDLE_CHECK_SECS => {
                warn(
                    &f,
                    "checked from the longest supported idle time on (sooner is harmless)",
                    format!("{MAX_IDLE_CHECK_SECS}s"),
                );
                Some(MAX_IDLE_CHECK_SECS)
            }
            Ok(secs) => secs.map(|s| s as u16),
            Err(why) => {
                warn(&f, &why, d.idle_check_s.map_or("off".into(), |v| format!("{v}s")));
                d.idle_check_s
            }
        };
    }
    if let Some(f) = find(layers, "SOCKFIX_FORCE", None) {
        c.force = values::boolean(f.text).unwrap_or_else(|why| {
            warn(&f, why, on_off(d.force).into());
            d.force
        });
    }
    c
}

/// A keepalive time in whole seconds, as the kernel takes it. A value that
/// is not a whole number of seconds is rounded up, and said so.
fn keepalive_secs(f: &Found, default: c_int, warn: &mut Warn) -> c_int {
    match values::duration_ms(f.text) {
        Ok(ms) if ms == 0 || ms > MAX_KEEP_SECS * 1000 => {
            warn(f, &format!("out of range (1s-{MAX_KEEP_SECS}s)"), format!("{default}s"));
            default
        }
        Ok(ms) => {
            let secs = ms.div_ceil(1000);
            if ms % 1000 != 0 {
                warn(f, "the kernel counts keepalive time in whole seconds", format!("{secs}s"));
            }
            secs as c_int
        }
        Err(why) => {
            warn(f, why, format!("{default}s"));
            default
        }
    }
}

/// `off`, or a duration in whole seconds from `min` to `max` (rounded up).
/// With `zero_counts`, `0` is a value (SO_LINGER 0: reset); else it is off.
fn whole_seconds(text: &str, min: u64, max: u64, zero_counts: bool) -> Result<Option<c_int>, String> {
    if values::is_off(text) {
        return Ok(None);
    }
    let ms = values::duration_ms(text).map_err(String::from)?;
    if ms == 0 && !zero_counts {
        return Ok(None);
    }
    let secs = ms.div_ceil(1000);
    if secs < min || secs > max {
        return Err(format!("out of range ({min}s-{max}s)"));
    }
    Ok(Some(secs as c_int))
}

/// `off` / `0` or a duration in milliseconds up to `max`.
fn optional_duration(text: &str, max: u64) -> Result<Option<u64>, &'static str> {
    if values::is_off(text) {
        return Ok(None);
    }
    match values::duration_ms(text)? {
        0 => Ok(None),
        ms if ms > max => Err("too long"),
        ms => Ok(Some(ms)),
    }
}

fn shown_ms(ms: Option<u64>) -> String {
    ms.map_or("off".into(), |ms| format!("{ms}ms"))
}

fn log_target(text: &str) -> Result<LogTarget, &'static str> {
    let text = text.trim();
    match text.to_ascii_lowercase().as_str() {
        "off" | "0" | "no" | "false" | "" => Ok(LogTarget::Off),
        "stderr" => Ok(LogTarget::Stderr),
        "syslog" => Ok(LogTarget::Syslog),
        _ if text.starts_with('/') => CString::new(text).map(LogTarget::File).map_err(|_| "path contains NUL"),
        _ => Err("not off, stderr, syslog or an absolute file path"),
    }
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

/// Unknown SOCKFIX_ keys, and process keys inside a `[dest]` section.
fn warn_unknown_keys(layer: &Layer, in_section: bool, warnings: &mut Vec<String>) {
    for (key, value) in &layer.pairs {
        let k = key.as_str();
        // Outside sections other programs' variables are none of ours.
        let known = if in_section {
            CONN_KEYS.contains(&k) || LEGACY_KEYS.contains(&k)
        } else {
            !k.starts_with("SOCKFIX_") || CONN_KEYS.contains(&k) || PROCESS_KEYS.contains(&k) || TOOL_KEYS.contains(&k)
        };
        let why = if in_section && PROCESS_KEYS.contains(&k) {
            "applies to the whole program, not in a [dest] section"
        } else if !known {
            "unknown setting"
        } else {
            continue;
        };
        warnings.push(format!("{key}={value} ({}): {why}; ignored", layer.source));
    }
}

#[cfg(test)]
mod tests;
