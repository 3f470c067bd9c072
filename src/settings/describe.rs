//! The effective settings as text, with where each value came from: what
//! `sockfix config` prints.

use super::values;
use super::{find, on_off, shown_ms, Conn, Layer, LogTarget, Settings, LEGACY_KEYS};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use alloc::{format, vec};
use libc::c_int;

/// The effective settings as `KEY=VALUE` lines with where each value came
/// from (`sockfix config`): the layer the library took the key from (the
/// same lookup, `find`), under its own name or libkeepalive's, else
/// "default".
pub fn describe(layers: &[Layer], s: &Settings) -> Vec<(String, String)> {
    let source = |key: &'static str| {
        let legacy = key.strip_prefix("SOCKFIX_").filter(|k| LEGACY_KEYS.contains(k));
        match find(layers, key, legacy) {
            Some(f) if f.key == key => f.source.to_string(),
            Some(f) => format!("{} as {}", f.source, f.key),
            None => "default".into(),
        }
    };
    let mut lines: Vec<(String, String)> =
        conn_lines(&s.conn).into_iter().map(|(k, v)| (format!("{k}={v}"), source(k))).collect();
    let process = [
        ("SOCKFIX_EINTR", on_off(s.eintr).to_string()),
        ("SOCKFIX_EINTR_PASS", signal_list(s.eintr_pass)),
        ("SOCKFIX_SERVER", on_off(s.server).to_string()),
        ("SOCKFIX_LOG", log_text(&s.log)),
        ("SOCKFIX_DEST", s.dests.to_string()),
        ("SOCKFIX_PROGRAMS", String::new()),
        ("SOCKFIX_SKIP_PROGRAMS", String::new()),
    ];
    for (k, v) in process {
        let v = if k.ends_with("PROGRAMS") { find(layers, k, None).map_or_else(String::new, |f| f.text.to_string()) } else { v };
        lines.push((format!("{k}={v}"), source(k)));
    }
    for p in &s.profiles {
        lines.push((format!("[dest {}]", p.dests), String::new()));
        for (k, v) in conn_lines(&p.conn) {
            lines.push((format!("{k}={v}"), String::new()));
        }
    }
    lines
}

fn conn_lines(c: &Conn) -> Vec<(&'static str, String)> {
    let secs = |v: Option<c_int>| v.map_or("off".to_string(), |v| format!("{v}s"));
    vec![
        ("SOCKFIX_KEEPALIVE", on_off(c.keepalive).to_string()),
        ("SOCKFIX_KEEPIDLE", format!("{}s", c.keepidle_s)),
        ("SOCKFIX_KEEPINTVL", format!("{}s", c.keepintvl_s)),
        ("SOCKFIX_KEEPCNT", c.keepcnt.to_string()),
        ("SOCKFIX_USER_TIMEOUT", shown_ms(c.user_timeout_ms.map(|v| v as u64))),
        ("SOCKFIX_CONNECT_TIMEOUT", shown_ms(c.connect_timeout_ms)),
        ("SOCKFIX_LINGER", secs(c.linger_s)),
        (
            "SOCKFIX_BIND",
            if c.bind.is_empty() { "none".into() } else { c.bind.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(",") },
        ),
        ("SOCKFIX_PORTS", c.ports.map_or("none".into(), |(l, h)| format!("{l}-{h}"))),
        ("SOCKFIX_IDLE_CHECK", secs(c.idle_check_s.map(c_int::from))),
        ("SOCKFIX_FORCE", on_off(c.force).to_string()),
    ]
}

fn signal_list(mask: u64) -> String {
    (1..=64)
        .filter(|s| mask & (1u64 << (s - 1)) != 0)
        .map(|s| values::signal_name(s).replace('?', &s.to_string()))
        .collect::<Vec<_>>()
        .join(",")
}

fn log_text(t: &LogTarget) -> String {
    match t {
        LogTarget::Off => "off".into(),
        LogTarget::Stderr => "stderr".into(),
        LogTarget::Syslog => "syslog".into(),
        LogTarget::File(p) => p.to_string_lossy().into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::build;
    use super::super::tests::{layer, section};
    use super::*;

    #[test]
    fn describe_says_where_each_value_came_from() {
        let env = layer("environment", &[("KEEPIDLE", "7"), ("SOCKFIX_LINGER", "0")]);
        let file = layer("/etc/sockfix.conf", &[("SOCKFIX_KEEPCNT", "3"), ("SOCKFIX_PROGRAMS", "gunicorn")]);
        let layers = [env, file];
        let s = build(
            &layers,
            &[section("10.0.0.0/8:3306", &[("SOCKFIX_KEEPIDLE", "5")])],
            &|| vec!["gunicorn".into()],
            &mut Vec::new(),
        );
        let lines = describe(&layers, &s);
        let find = |key: &str| lines.iter().find(|(l, _)| l.starts_with(key)).cloned().unwrap();
        assert_eq!(find("SOCKFIX_KEEPIDLE="), ("SOCKFIX_KEEPIDLE=7s".into(), "environment as KEEPIDLE".into()));
        assert_eq!(find("SOCKFIX_LINGER="), ("SOCKFIX_LINGER=0s".into(), "environment".into()));
        assert_eq!(find("SOCKFIX_KEEPCNT="), ("SOCKFIX_KEEPCNT=3".into(), "/etc/sockfix.conf".into()));
        assert_eq!(find("SOCKFIX_KEEPINTVL="), ("SOCKFIX_KEEPINTVL=15s".into(), "default".into()));
        assert_eq!(find("SOCKFIX_EINTR_PASS="), ("SOCKFIX_EINTR_PASS=INT,QUIT,ALRM,TERM".into(), "default".into()));
        assert_eq!(find("SOCKFIX_PROGRAMS="), ("SOCKFIX_PROGRAMS=gunicorn".into(), "/etc/sockfix.conf".into()));
        assert!(lines.iter().any(|(l, _)| l == "[dest 10.0.0.0/8:3306]"));
    }
}
