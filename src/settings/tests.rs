//! Tests of the settings: layering, values, scopes and profiles.
use super::*;

pub(super) fn layer(source: &str, pairs: &[(&str, &str)]) -> Layer {
    Layer { source: source.into(), pairs: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
}

fn build_from(layers: &[Layer]) -> (Settings, Vec<String>) {
    let mut w = Vec::new();
    let s = build(layers, &[], &|| vec!["prog".into()], &mut w);
    (s, w)
}

pub(super) fn section(dests: &str, pairs: &[(&str, &str)]) -> Section {
    Section { dests: dests.into(), keys: layer("/etc/sockfix.conf:7", pairs) }
}

#[test]
fn defaults_find_a_dead_peer_in_150s() {
    let (s, w) = build_from(&[]);
    assert!(w.is_empty());
    assert!(s.conn.keepalive && s.eintr && !s.server);
    assert_eq!((s.conn.keepidle_s, s.conn.keepintvl_s, s.conn.keepcnt), (15, 15, 9));
    assert_eq!(s.conn.user_timeout_ms, None);
    assert!(s.passes(libc::SIGINT) && s.passes(libc::SIGALRM));
    assert!(!s.passes(libc::SIGWINCH) && !s.passes(libc::SIGHUP));
    assert_eq!(s.log, LogTarget::Off);
}

#[test]
fn default_pass_set_is_its_text() {
    assert_eq!(values::signal_set(DEFAULT_PASS), Ok(DEFAULT_PASS_SET));
}

#[test]
fn a_key_set_twice_in_one_layer_takes_the_last_line() {
    let file = layer("/etc/sockfix.conf", &[("SOCKFIX_KEEPIDLE", "40"), ("SOCKFIX_KEEPCNT", "3"), ("SOCKFIX_KEEPIDLE", "50")]);
    let (s, w) = build_from(&[file]);
    assert!(w.is_empty(), "{w:?}");
    assert_eq!((s.conn.keepidle_s, s.conn.keepcnt), (50, 3));
}

#[test]
fn environment_beats_file_beats_default() {
    let env = layer("environment", &[("SOCKFIX_KEEPIDLE", "41")]);
    let file = layer("/etc/sockfix.conf", &[("SOCKFIX_KEEPIDLE", "40"), ("SOCKFIX_KEEPCNT", "3")]);
    let (s, w) = build_from(&[env, file]);
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(s.conn.keepidle_s, 41);
    assert_eq!(s.conn.keepcnt, 3);
    assert_eq!(s.conn.keepintvl_s, 15);
}

#[test]
fn libkeepalive_names_apply_where_the_twin_is_unset() {
    let env = layer("environment", &[("KEEPIDLE", "7"), ("KEEPINTVL", "1"), ("KEEPCNT", "3")]);
    let (s, _) = build_from(&[env]);
    assert_eq!((s.conn.keepidle_s, s.conn.keepintvl_s, s.conn.keepcnt), (7, 1, 3));

    let env = layer("environment", &[("KEEPIDLE", "7"), ("SOCKFIX_KEEPIDLE", "8"), ("KEEPALIVE", "off")]);
    let (s, _) = build_from(&[env]);
    assert_eq!(s.conn.keepidle_s, 8);
    assert!(!s.conn.keepalive);

    // An environment KEEPIDLE is still "the environment": it beats the file.
    let env = layer("environment", &[("KEEPIDLE", "7")]);
    let file = layer("/etc/sockfix.conf", &[("SOCKFIX_KEEPIDLE", "60")]);
    assert_eq!(build_from(&[env, file]).0.conn.keepidle_s, 7);
}

#[test]
fn a_bad_value_keeps_the_default_with_one_clear_line() {
    let env = layer("environment", &[("SOCKFIX_KEEPIDLE", "banana"), ("SOCKFIX_KEEPCNT", "500")]);
    let (s, w) = build_from(&[env]);
    assert_eq!(s.conn.keepidle_s, 15);
    assert_eq!(s.conn.keepcnt, 9);
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w[0].starts_with("SOCKFIX_KEEPIDLE=banana (environment): not a duration"), "{}", w[0]);
    assert!(w[0].ends_with("using 15s"), "{}", w[0]);
    assert!(w[1].contains("SOCKFIX_KEEPCNT=500") && w[1].contains("using 9"), "{}", w[1]);
}

#[test]
fn sub_second_keepalive_rounds_up_and_says_so() {
    let (s, w) = build_from(&[layer("environment", &[("SOCKFIX_KEEPINTVL", "500ms")])]);
    assert_eq!(s.conn.keepintvl_s, 1);
    assert_eq!(w.len(), 1);
    assert!(w[0].contains("whole seconds") && w[0].ends_with("using 1s"), "{}", w[0]);
    let (s, w) = build_from(&[layer("environment", &[("SOCKFIX_KEEPIDLE", "0")])]);
    assert_eq!(s.conn.keepidle_s, 15);
    assert_eq!(w.len(), 1);
}

#[test]
fn user_timeout_values() {
    let ut = |v: &str| build_from(&[layer("environment", &[("SOCKFIX_USER_TIMEOUT", v)])]).0.conn.user_timeout_ms;
    assert_eq!(ut("30s"), Some(30_000));
    assert_eq!(ut("2500ms"), Some(2500));
    assert_eq!(ut("off"), None);
    assert_eq!(ut("0"), None);
    assert_eq!(ut("auto"), Some((15 + 15 * 9) * 1000));
    assert_eq!(ut("1000h"), None);
    // auto is never under a minute: a live peer that stops reading (a lock
    // wait) for up to 60 s must survive it.
    let auto = |idle: &str, intvl: &str, cnt: &str| {
        let env = [("SOCKFIX_USER_TIMEOUT", "AUTO"), ("KEEPIDLE", idle), ("KEEPINTVL", intvl), ("KEEPCNT", cnt)];
        build_from(&[layer("environment", &env)]).0.conn.user_timeout_ms
    };
    assert_eq!(auto("5", "2", "3"), Some(60_000));
    assert_eq!(auto("1", "1", "2"), Some(60_000));
    assert_eq!(auto("7", "1", "3"), Some(60_000));
    assert_eq!(auto("30", "10", "3"), Some(60_000));
    assert_eq!(auto("30", "10", "4"), Some(70_000));
    assert_eq!(auto("2h", "75", "9"), Some((7200 + 75 * 9) * 1000));
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
    assert_eq!(s.conn.connect_timeout_ms, Some(2000));
    assert!(!s.eintr && s.server);
    assert!(s.passes(libc::SIGHUP) && s.passes(libc::SIGUSR1) && !s.passes(libc::SIGINT));
    assert_eq!(s.log, LogTarget::File(CString::new("/var/log/sockfix.log").unwrap()));

    let (s, w) = build_from(&[layer("environment", &[("SOCKFIX_LOG", "somewhere"), ("SOCKFIX_EINTR_PASS", "INT,NOPE")])]);
    assert_eq!(s.log, LogTarget::Off);
    assert_eq!(s.eintr_pass, Settings::default().eintr_pass);
    assert_eq!(w.len(), 2);
}

#[test]
fn unknown_keys_are_reported() {
    let env = layer(
        "environment",
        &[("SOCKFIX_KEEPIDEL", "5"), ("SOCKFIX_LINGER", "0"), ("PATH", "/bin"), ("SOCKFIX_LIBRARY", "/x.so")],
    );
    let (s, w) = build_from(&[env]);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("SOCKFIX_KEEPIDEL") && w[0].contains("unknown setting"));
    assert_eq!(s.conn.linger_s, Some(0));
}

#[test]
fn shaping_values() {
    let env = layer(
        "environment",
        &[
            ("SOCKFIX_LINGER", "2500ms"),
            ("SOCKFIX_BIND", "192.0.2.1, 2001:db8::1"),
            ("SOCKFIX_PORTS", "40000-40999"),
            ("SOCKFIX_IDLE_CHECK", "30s"),
        ],
    );
    let (s, w) = build_from(&[env]);
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(s.conn.linger_s, Some(3));
    assert_eq!(s.conn.bind.len(), 2);
    assert_eq!(s.conn.ports, Some((40000, 40999)));
    assert_eq!(s.conn.idle_check_s, Some(30));

    let env = layer(
        "environment",
        &[("SOCKFIX_LINGER", "off"), ("SOCKFIX_BIND", "nope"), ("SOCKFIX_PORTS", "9-1"), ("SOCKFIX_IDLE_CHECK", "0")],
    );
    let (s, w) = build_from(&[env]);
    assert_eq!(w.len(), 2, "{w:?}");
    assert_eq!(s.conn, Conn::default());
}

#[test]
fn scopes() {
    let sa = |t: &str| t.parse::<SocketAddr>().unwrap();
    let (s, w) = build_from(&[layer("environment", &[("SOCKFIX_DEST", "10.0.0.0/8:3306, :5432")])]);
    assert!(w.is_empty());
    assert!(s.for_dest(&sa("10.0.0.1:3306")).is_some());
    assert!(s.for_dest(&sa("10.0.0.1:80")).is_none());
    let (s, w) = build_from(&[layer("environment", &[("SOCKFIX_DEST", "10.0.0.0/99")])]);
    assert_eq!(w.len(), 1);
    assert!(s.for_dest(&sa("1.1.1.1:1")).is_some());

    let programs = |only: &str, skip: &str| {
        let env = layer("environment", &[("SOCKFIX_PROGRAMS", only), ("SOCKFIX_SKIP_PROGRAMS", skip)]);
        build(&[env], &[], &|| vec!["gunicorn".into(), "python3.11".into()], &mut Vec::new()).active
    };
    assert!(programs("php-fpm,gunicorn", ""));
    assert!(!programs("php-fpm", ""));
    assert!(!programs("", "python3.11"));
    assert!(programs("", "sshd"));
}

#[test]
fn profiles_override_for_their_destinations_first_match_wins() {
    let sa = |t: &str| t.parse::<SocketAddr>().unwrap();
    let file = layer("/etc/sockfix.conf", &[("SOCKFIX_KEEPIDLE", "60s")]);
    let sections = [
        section(
            "10.0.0.0/8:3306, [fd00::]/8:3306",
            &[("SOCKFIX_KEEPIDLE", "5s"), ("SOCKFIX_LINGER", "0"), ("SOCKFIX_IDLE_CHECK", "30s")],
        ),
        section("10.0.0.0/8", &[("SOCKFIX_KEEPCNT", "2")]),
        section("nonsense", &[("SOCKFIX_KEEPIDLE", "1")]),
        section("192.0.2.0/24", &[("SOCKFIX_LOG", "stderr"), ("SOCKFIX_USER_TIMEOUT", "auto"), ("SOCKFIX_KEEPINTVL", "x")]),
    ];
    let mut w = Vec::new();
    let s = build(&[file], &sections, &|| vec!["prog".into()], &mut w);
    assert_eq!(s.profiles.len(), 3);
    assert_eq!(w.len(), 3, "{w:?}");
    assert!(w[0].contains("[dest nonsense]"));
    assert!(w[1].contains("SOCKFIX_LOG") && w[1].contains("whole program"));
    assert!(w[2].contains("SOCKFIX_KEEPINTVL=x (/etc/sockfix.conf:7)") && w[2].ends_with("using 15s"));

    let db = s.for_dest(&sa("10.1.1.1:3306")).unwrap();
    assert_eq!((db.keepidle_s, db.keepcnt, db.linger_s, db.idle_check_s), (5, 9, Some(0), Some(30)));
    let db6 = s.for_dest(&sa("[fd00::5]:3306")).unwrap();
    assert_eq!(db6.keepidle_s, 5);
    let other10 = s.for_dest(&sa("10.1.1.1:80")).unwrap();
    assert_eq!((other10.keepidle_s, other10.keepcnt, other10.linger_s), (60, 2, None));
    let web = s.for_dest(&sa("192.0.2.4:443")).unwrap();
    assert_eq!(web.user_timeout_ms, Some((60 + 15 * 9) * 1000));
    assert_eq!(s.for_dest(&sa("203.0.113.1:1")).unwrap().keepidle_s, 60);
}

#[test]
fn force_is_a_connection_setting() {
    let (s, w) = build_from(&[]);
    assert!(w.is_empty() && !s.conn.force, "off by default");
    let (s, w) = build_from(&[layer("environment", &[("SOCKFIX_FORCE", "yes")])]);
    assert!(w.is_empty() && s.conn.force);
    let (s, w) = build_from(&[layer("environment", &[("SOCKFIX_FORCE", "sometimes")])]);
    assert!(!s.conn.force);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].starts_with("SOCKFIX_FORCE=sometimes (environment): ") && w[0].ends_with("; using off"), "{w:?}");
    let mut w = Vec::new();
    let s = build(&[], &[section(":5432", &[("SOCKFIX_FORCE", "on")])], &|| vec![], &mut w);
    assert!(w.is_empty(), "{w:?}");
    assert!(!s.conn.force && s.profiles[0].conn.force, "a [dest] section may force its destinations only");
}

#[test]
fn syn_retries_cover_the_timeout() {
    assert_eq!(syn_retries_for(1000), 1);
    assert_eq!(syn_retries_for(3000), 1);
    assert_eq!(syn_retries_for(3001), 2);
    assert_eq!(syn_retries_for(60_000), 5);
    assert_eq!(syn_retries_for(u32::MAX as u64), 22);
}

/// The constructor skips `build` when nothing is set (settings::load): that
/// must be exactly what `build` makes of nothing.
#[test]
fn nothing_set_builds_the_defaults() {
    let empty = Layer { source: "environment".into(), pairs: Vec::new() };
    let mut w = Vec::new();
    let s = build(&[empty], &[], &|| panic!("no program list"), &mut w);
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(s, Settings::default());
    // Nor when SOCKFIX_CONFIG is the only variable: it names the file only.
    let named = Layer { source: "environment".into(), pairs: vec![("SOCKFIX_CONFIG".into(), "/etc/x.conf".into())] };
    let s = build(&[named], &[], &|| panic!("no program list"), &mut w);
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(s, Settings::default());
}

#[test]
fn default_config_c_string_is_the_default_config() {
    assert_eq!(DEFAULT_CONFIG_C.to_str(), Ok(DEFAULT_CONFIG));
}
