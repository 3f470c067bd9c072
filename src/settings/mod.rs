//! The settings: what each key means, its default, and how the layers
//! (built-in defaults < config file < environment) combine into one
//! read-only `Settings`, built once in the constructor.
//!
//! Key names are mapped onto fields by `envy`; every field is read as text
//! and parsed here, key by key, so one bad value costs only that key its
//! setting: it keeps its default and yields one warning line naming the key,
//! the value, where it came from, and what is used instead.

mod load;
pub mod values;

use libc::c_int;
use serde::Deserialize;
use std::ffi::CString;

pub use load::load;

pub const DEFAULT_CONFIG: &str = "/etc/sockfix.conf";
const DEFAULT_PASS: &str = "INT,TERM,QUIT,ALRM";

/// The kernel's limits for the keepalive options (MAX_TCP_KEEPIDLE, ...).
const MAX_KEEP_SECS: u64 = 32767;
const MAX_KEEPCNT: u32 = 127;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogTarget {
    Off,
    Stderr,
    Syslog,
    File(CString),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub keepalive: bool,
    pub keepidle_s: c_int,
    pub keepintvl_s: c_int,
    pub keepcnt: c_int,
    /// TCP_USER_TIMEOUT in milliseconds.
    pub user_timeout_ms: Option<c_int>,
    pub connect_timeout_ms: Option<u64>,
    pub eintr: bool,
    /// Signals that still interrupt: bit (sig - 1).
    pub eintr_pass: u64,
    pub server: bool,
    pub log: LogTarget,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            keepalive: true,
            keepidle_s: 15,
            keepintvl_s: 15,
            keepcnt: 9,
            user_timeout_ms: None,
            connect_timeout_ms: None,
            eintr: true,
            eintr_pass: values::signal_set(DEFAULT_PASS).unwrap_or(0),
            server: false,
            log: LogTarget::Off,
        }
    }
}

impl Settings {
    /// Whether `sig` must still interrupt a blocking call.
    pub fn passes(&self, sig: c_int) -> bool {
        (1..=64).contains(&sig) && self.eintr_pass & (1u64 << (sig - 1)) != 0
    }
}

/// The SOCKFIX_ keys of one layer, as envy maps them (SOCKFIX_USER_TIMEOUT
/// lands in `user_timeout`).
#[derive(Deserialize, Default)]
struct Keys {
    keepalive: Option<String>,
    keepidle: Option<String>,
    keepintvl: Option<String>,
    keepcnt: Option<String>,
    user_timeout: Option<String>,
    connect_timeout: Option<String>,
    eintr: Option<String>,
    eintr_pass: Option<String>,
    server: Option<String>,
    log: Option<String>,
}

/// libkeepalive's names, honoured where the SOCKFIX_ twin is unset.
#[derive(Deserialize, Default)]
struct LegacyKeys {
    keepalive: Option<String>,
    keepidle: Option<String>,
    keepintvl: Option<String>,
    keepcnt: Option<String>,
}

/// Every SOCKFIX_ key this version reads.
pub const KNOWN_KEYS: &[&str] = &[
    "SOCKFIX_KEEPALIVE",
    "SOCKFIX_KEEPIDLE",
    "SOCKFIX_KEEPINTVL",
    "SOCKFIX_KEEPCNT",
    "SOCKFIX_USER_TIMEOUT",
    "SOCKFIX_CONNECT_TIMEOUT",
    "SOCKFIX_EINTR",
    "SOCKFIX_EINTR_PASS",
    "SOCKFIX_SERVER",
    "SOCKFIX_LOG",
    "SOCKFIX_CONFIG",
];

/// Keys of the specification that this version does not implement yet: set,
/// they are reported rather than silently ignored.
pub const NOT_YET_KEYS: &[&str] = &[
    "SOCKFIX_LINGER",
    "SOCKFIX_BIND",
    "SOCKFIX_PORTS",
    "SOCKFIX_IDLE_CHECK",
    "SOCKFIX_DEST",
    "SOCKFIX_PROGRAMS",
    "SOCKFIX_SKIP_PROGRAMS",
];

pub const LEGACY_KEYS: &[&str] = &["KEEPALIVE", "KEEPIDLE", "KEEPINTVL", "KEEPCNT"];

/// One layer of `KEY=VALUE` pairs and where they came from.
pub struct Layer {
    pub source: String,
    pub pairs: Vec<(String, String)>,
}

struct Parsed {
    sockfix: Keys,
    legacy: LegacyKeys,
    source: String,
}

/// A value as found: the key it was set under, its text, its origin.
struct Found<'a> {
    key: &'static str,
    text: &'a str,
    source: &'a str,
}

/// Finds a key in the highest layer that sets it: first the SOCKFIX_ name,
/// then (within the same layer) libkeepalive's.
macro_rules! find {
    ($layers:expr, $field:ident, $key:literal) => {
        $layers.iter().find_map(|l| {
            l.sockfix.$field.as_deref().map(|text| Found { key: $key, text, source: &l.source })
        })
    };
    ($layers:expr, $field:ident, $key:literal, $legacy:literal) => {
        $layers.iter().find_map(|l| {
            l.sockfix
                .$field
                .as_deref()
                .map(|text| Found { key: $key, text, source: &l.source })
                .or_else(|| l.legacy.$field.as_deref().map(|text| Found { key: $legacy, text, source: &l.source }))
        })
    };
}

/// Combines layers, highest precedence first, into settings. Every problem
/// is pushed onto `warnings` as one complete line.
pub fn build(layers: &[Layer], warnings: &mut Vec<String>) -> Settings {
    let parsed: Vec<Parsed> = layers
        .iter()
        .map(|l| Parsed {
            sockfix: envy::prefixed("SOCKFIX_").from_iter(l.pairs.iter().cloned()).unwrap_or_default(),
            legacy: envy::from_iter(l.pairs.iter().cloned()).unwrap_or_default(),
            source: l.source.clone(),
        })
        .collect();
    for layer in layers {
        warn_unknown_keys(layer, warnings);
    }

    let d = Settings::default();
    let mut warn = |f: &Found, why: &str, using: String| {
        warnings.push(format!("{}={} ({}): {}; using {}", f.key, f.text, f.source, why, using));
    };
    let mut s = Settings::default();

    if let Some(f) = find!(parsed, keepalive, "SOCKFIX_KEEPALIVE", "KEEPALIVE") {
        s.keepalive = values::boolean(f.text).unwrap_or_else(|why| {
            warn(&f, why, on_off(d.keepalive).into());
            d.keepalive
        });
    }
    if let Some(f) = find!(parsed, keepidle, "SOCKFIX_KEEPIDLE", "KEEPIDLE") {
        s.keepidle_s = keepalive_secs(&f, d.keepidle_s, &mut warn);
    }
    if let Some(f) = find!(parsed, keepintvl, "SOCKFIX_KEEPINTVL", "KEEPINTVL") {
        s.keepintvl_s = keepalive_secs(&f, d.keepintvl_s, &mut warn);
    }
    if let Some(f) = find!(parsed, keepcnt, "SOCKFIX_KEEPCNT", "KEEPCNT") {
        s.keepcnt = match values::count(f.text, 1, MAX_KEEPCNT) {
            Ok(n) => n as c_int,
            Err(why) => {
                warn(&f, &format!("{why} (1-{MAX_KEEPCNT})"), d.keepcnt.to_string());
                d.keepcnt
            }
        };
    }
    if let Some(f) = find!(parsed, user_timeout, "SOCKFIX_USER_TIMEOUT") {
        s.user_timeout_ms = if f.text.trim().eq_ignore_ascii_case("auto") {
            // What keepalive alone would take to drop a dead peer.
            let secs = s.keepidle_s as i64 + s.keepintvl_s as i64 * s.keepcnt as i64;
            Some((secs * 1000).min(c_int::MAX as i64) as c_int)
        } else {
            match optional_duration(f.text, c_int::MAX as u64) {
                Ok(ms) => ms.map(|ms| ms as c_int),
                Err(why) => {
                    warn(&f, why, "off".into());
                    None
                }
            }
        };
    }
    if let Some(f) = find!(parsed, connect_timeout, "SOCKFIX_CONNECT_TIMEOUT") {
        s.connect_timeout_ms = optional_duration(f.text, u32::MAX as u64).unwrap_or_else(|why| {
            warn(&f, why, "off".into());
            None
        });
    }
    if let Some(f) = find!(parsed, eintr, "SOCKFIX_EINTR") {
        s.eintr = values::boolean(f.text).unwrap_or_else(|why| {
            warn(&f, why, on_off(d.eintr).into());
            d.eintr
        });
    }
    if let Some(f) = find!(parsed, eintr_pass, "SOCKFIX_EINTR_PASS") {
        s.eintr_pass = values::signal_set(f.text).unwrap_or_else(|why| {
            warn(&f, why, DEFAULT_PASS.into());
            d.eintr_pass
        });
    }
    if let Some(f) = find!(parsed, server, "SOCKFIX_SERVER") {
        s.server = values::boolean(f.text).unwrap_or_else(|why| {
            warn(&f, why, on_off(d.server).into());
            d.server
        });
    }
    if let Some(f) = find!(parsed, log, "SOCKFIX_LOG") {
        s.log = log_target(f.text).unwrap_or_else(|why| {
            warn(&f, why, "off".into());
            LogTarget::Off
        });
    }
    s
}

/// A keepalive time in whole seconds, as the kernel takes it. A value that
/// is not a whole number of seconds is rounded up, and said so.
fn keepalive_secs(f: &Found, default: c_int, warn: &mut impl FnMut(&Found, &str, String)) -> c_int {
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

fn warn_unknown_keys(layer: &Layer, warnings: &mut Vec<String>) {
    for (key, value) in &layer.pairs {
        if !key.starts_with("SOCKFIX_") || KNOWN_KEYS.contains(&key.as_str()) {
            continue;
        }
        let why = if NOT_YET_KEYS.contains(&key.as_str()) {
            "not supported by this version of sockfix"
        } else {
            "unknown setting"
        };
        warnings.push(format!("{key}={value} ({}): {why}; ignored", layer.source));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(source: &str, pairs: &[(&str, &str)]) -> Layer {
        Layer { source: source.into(), pairs: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }

    fn build_from(layers: &[Layer]) -> (Settings, Vec<String>) {
        let mut w = Vec::new();
        let s = build(layers, &mut w);
        (s, w)
    }

    #[test]
    fn defaults_find_a_dead_peer_in_150s() {
        let (s, w) = build_from(&[]);
        assert!(w.is_empty());
        assert!(s.keepalive && s.eintr && !s.server);
        assert_eq!((s.keepidle_s, s.keepintvl_s, s.keepcnt), (15, 15, 9));
        assert_eq!(s.user_timeout_ms, None);
        assert!(s.passes(libc::SIGINT) && s.passes(libc::SIGALRM));
        assert!(!s.passes(libc::SIGWINCH) && !s.passes(libc::SIGHUP));
        assert_eq!(s.log, LogTarget::Off);
    }

    #[test]
    fn environment_beats_file_beats_default() {
        let env = layer("environment", &[("SOCKFIX_KEEPIDLE", "41")]);
        let file = layer("/etc/sockfix.conf", &[("SOCKFIX_KEEPIDLE", "40"), ("SOCKFIX_KEEPCNT", "3")]);
        let (s, w) = build_from(&[env, file]);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(s.keepidle_s, 41);
        assert_eq!(s.keepcnt, 3);
        assert_eq!(s.keepintvl_s, 15);
    }

    #[test]
    fn libkeepalive_names_apply_where_the_twin_is_unset() {
        let env = layer("environment", &[("KEEPIDLE", "7"), ("KEEPINTVL", "1"), ("KEEPCNT", "3")]);
        let (s, _) = build_from(&[env]);
        assert_eq!((s.keepidle_s, s.keepintvl_s, s.keepcnt), (7, 1, 3));

        let env = layer("environment", &[("KEEPIDLE", "7"), ("SOCKFIX_KEEPIDLE", "8"), ("KEEPALIVE", "off")]);
        let (s, _) = build_from(&[env]);
        assert_eq!(s.keepidle_s, 8);
        assert!(!s.keepalive);

        // An environment KEEPIDLE is still "the environment": it beats the file.
        let env = layer("environment", &[("KEEPIDLE", "7")]);
        let file = layer("/etc/sockfix.conf", &[("SOCKFIX_KEEPIDLE", "60")]);
        assert_eq!(build_from(&[env, file]).0.keepidle_s, 7);
    }

    #[test]
    fn a_bad_value_keeps_the_default_with_one_clear_line() {
        let env = layer("environment", &[("SOCKFIX_KEEPIDLE", "banana"), ("SOCKFIX_KEEPCNT", "500")]);
        let (s, w) = build_from(&[env]);
        assert_eq!(s.keepidle_s, 15);
        assert_eq!(s.keepcnt, 9);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].starts_with("SOCKFIX_KEEPIDLE=banana (environment): not a duration"), "{}", w[0]);
        assert!(w[0].ends_with("using 15s"), "{}", w[0]);
        assert!(w[1].contains("SOCKFIX_KEEPCNT=500") && w[1].contains("using 9"), "{}", w[1]);
    }

    #[test]
    fn sub_second_keepalive_rounds_up_and_says_so() {
        let (s, w) = build_from(&[layer("environment", &[("SOCKFIX_KEEPINTVL", "500ms")])]);
        assert_eq!(s.keepintvl_s, 1);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("whole seconds") && w[0].ends_with("using 1s"), "{}", w[0]);
        let (s, w) = build_from(&[layer("environment", &[("SOCKFIX_KEEPIDLE", "0")])]);
        assert_eq!(s.keepidle_s, 15);
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn user_timeout_values() {
        let ut = |v: &str| build_from(&[layer("environment", &[("SOCKFIX_USER_TIMEOUT", v)])]).0.user_timeout_ms;
        assert_eq!(ut("30s"), Some(30_000));
        assert_eq!(ut("2500ms"), Some(2500));
        assert_eq!(ut("off"), None);
        assert_eq!(ut("0"), None);
        assert_eq!(ut("auto"), Some((15 + 15 * 9) * 1000));
        assert_eq!(ut("1000h"), None);
        let env = layer(
            "environment",
            &[("SOCKFIX_USER_TIMEOUT", "AUTO"), ("KEEPIDLE", "5"), ("KEEPINTVL", "2"), ("KEEPCNT", "3")],
        );
        assert_eq!(build_from(&[env]).0.user_timeout_ms, Some(11_000));
    }

    #[test]
    fn other_settings() {
        let env = layer(
            "environment",
            &[
                ("SOCKFIX_CONNECT_TIMEOUT", "2s"),
                ("SOCKFIX_EINTR", "no"),
                ("SOCKFIX_EINTR_PASS", "HUP,usr1"),
                ("SOCKFIX_SERVER", "yes"),
                ("SOCKFIX_LOG", "/var/log/sockfix.log"),
            ],
        );
        let (s, w) = build_from(&[env]);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(s.connect_timeout_ms, Some(2000));
        assert!(!s.eintr && s.server);
        assert!(s.passes(libc::SIGHUP) && s.passes(libc::SIGUSR1) && !s.passes(libc::SIGINT));
        assert_eq!(s.log, LogTarget::File(CString::new("/var/log/sockfix.log").unwrap()));

        let (s, w) = build_from(&[layer("environment", &[("SOCKFIX_LOG", "somewhere"), ("SOCKFIX_EINTR_PASS", "INT,NOPE")])]);
        assert_eq!(s.log, LogTarget::Off);
        assert_eq!(s.eintr_pass, Settings::default().eintr_pass);
        assert_eq!(w.len(), 2);
    }

    #[test]
    fn unknown_and_unimplemented_keys_are_reported() {
        let env = layer("environment", &[("SOCKFIX_KEEPIDEL", "5"), ("SOCKFIX_LINGER", "0"), ("PATH", "/bin")]);
        let (_, w) = build_from(&[env]);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("SOCKFIX_KEEPIDEL") && w[0].contains("unknown setting"));
        assert!(w[1].contains("SOCKFIX_LINGER") && w[1].contains("not supported"));
    }
}
