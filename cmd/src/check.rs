//! The settings a program started by sockfix would get, and what is wrong
//! with them, judged by the library's own parser (`crate::settings`): the
//! same layers the library reads at start (the environment over the config
//! file), with the command line's options as a layer of their own above the
//! environment, so that each value can say where it came from.
//!
//! The one rule (sockfix(1), "Settings are checked"): whatever the library
//! would warn about at start in the program (a refused value, an unknown
//! SOCKFIX_ key, a config file named but unreadable, a line of it that is
//! not KEY=VALUE) is a problem here.

use crate::settings::{self, Layer, Section, Settings, DEFAULT_CONFIG};

/// Where a layer came from, as the library names it in its warnings.
pub const COMMAND_LINE: &str = "command line";
pub const ENVIRONMENT: &str = "environment";

/// The environment variables that are the library's settings: SOCKFIX_*
/// and libkeepalive's names (what the library itself reads from `environ`),
/// less SOCKFIX_LIBRARY, which is sockfix's own and never passed on.
pub fn is_setting_variable(key: &str) -> bool {
    (key.starts_with("SOCKFIX_") || settings::LEGACY_KEYS.contains(&key)) && key != "SOCKFIX_LIBRARY"
}

/// One thing the library would warn about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key as set (SOCKFIX_KEEPIDLE, or libkeepalive's KEEPIDLE), when
    /// the problem is one key's.
    pub key: Option<String>,
    /// What is wrong: `KEY=VALUE`, `[dest LIST]`, or empty for a line or a
    /// file.
    pub subject: String,
    /// Where it came from: "command line", "environment", "config file PATH",
    /// "config file PATH, line N".
    pub origin: String,
    pub why: String,
    /// What the library does instead ("using 15s", "ignored"), in its words.
    pub outcome: String,
}

impl Problem {
    /// `what()`, then what the library would do about it (`; using 15s`).
    pub fn with_outcome(&self) -> String {
        if self.outcome.is_empty() {
            self.what()
        } else {
            format!("{}; {}", self.what(), self.outcome)
        }
    }

    /// `SUBJECT (ORIGIN): WHY`, without what the library would do about it.
    pub fn what(&self) -> String {
        if self.origin.is_empty() {
            self.why.clone()
        } else if self.subject.is_empty() {
            format!("{}: {}", self.origin, self.why)
        } else {
            format!("{} ({}): {}", self.subject, self.origin, self.why)
        }
    }
}

/// The settings a program would get, with their layers (highest first:
/// command line, environment, config file) and the problems found.
pub struct Judged {
    pub layers: Vec<Layer>,
    pub settings: Settings,
    pub problems: Vec<Problem>,
    /// The config file read (or looked for), and who named it (COMMAND_LINE
    /// or ENVIRONMENT, through SOCKFIX_CONFIG); None: the default file.
    pub config_path: String,
    pub config_named_by: Option<&'static str>,
    /// Whether the config file was there and read.
    pub config_read: bool,
}

/// Judges the settings from `options` (the setting options' variables, in
/// order) over the current environment and the config file.
pub fn judge(options: &[(String, String)]) -> Judged {
    let options = Layer { source: COMMAND_LINE.into(), pairs: options.to_vec() };
    // What the program's environment will hold: the options replace the
    // variables of the same name.
    let env_pairs: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| is_setting_variable(k) && !options.pairs.iter().any(|(o, _)| o == k))
        .collect();
    let environment = Layer { source: ENVIRONMENT.into(), pairs: env_pairs };
    judge_layers(options, environment)
}

/// The options alone, as a systemd drop-in carries them to a service: not
/// this shell's environment, and no config file unless the options name one
/// (the service reads its own /etc/sockfix.conf when it starts).
pub fn judge_alone(options: &[(String, String)]) -> Vec<Problem> {
    let mut pairs = options.to_vec();
    if !pairs.iter().any(|(k, _)| k == "SOCKFIX_CONFIG") {
        pairs.push(("SOCKFIX_CONFIG".into(), "/dev/null".into()));
    }
    judge_layers(Layer { source: COMMAND_LINE.into(), pairs }, Layer { source: ENVIRONMENT.into(), pairs: Vec::new() }).problems
}

/// `judge` on given layers (unit tests give their own environment).
fn judge_layers(options: Layer, environment: Layer) -> Judged {
    let last_config = |l: &Layer| l.pairs.iter().rev().find(|(k, _)| k == "SOCKFIX_CONFIG").map(|(_, v)| v.clone());
    let (config_path, config_named_by) = match (last_config(&options), last_config(&environment)) {
        (Some(p), _) => (p, Some(COMMAND_LINE)),
        (None, Some(p)) => (p, Some(ENVIRONMENT)),
        (None, None) => (DEFAULT_CONFIG.to_string(), None),
    };
    let mut warnings = Vec::new();
    // The library's own reading (not secure execution: sockfix is never
    // setuid); a named file that cannot be read is reported, as the library does.
    let text = settings::read_config(&config_path, false, config_named_by.is_some(), &mut warnings);
    let mut sections: Vec<Section> = Vec::new();
    let mut layers = vec![options, environment];
    let config_read = text.is_some();
    if let Some(text) = text {
        let (pairs, found) = settings::parse_config(&text, &config_path, &mut warnings);
        sections = found;
        layers.push(Layer { source: config_path.clone(), pairs });
    }
    // Program scope (SOCKFIX_PROGRAMS) is decided inside each program.
    let settings = settings::build(&layers, &sections, &Vec::new, &mut warnings);
    let problems = warnings.iter().map(|w| read_warning(w, &layers, &sections, &config_path, config_named_by)).collect();
    Judged { layers, settings, problems, config_path, config_named_by, config_read }
}

/// "config file PATH", or "config file PATH, line N" for the library's
/// "PATH:N"; the command line and the environment as they are.
fn origin(source: &str, config_path: &str) -> String {
    if source == COMMAND_LINE || source == ENVIRONMENT {
        return source.to_string();
    }
    match source.strip_prefix(config_path).and_then(|r| r.strip_prefix(':')) {
        Some(line) if !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()) => {
            format!("config file {config_path}, line {line}")
        }
        _ => format!("config file {source}"),
    }
}

/// Takes one of the library's warning lines apart. The library writes them
/// as `KEY=VALUE (SOURCE): WHY; OUTCOME`, `[dest LIST] (SOURCE): WHY;
/// OUTCOME`, `PATH:N: WHY; OUTCOME` or `config file PATH: WHY; OUTCOME`;
/// every KEY=VALUE and SOURCE is known here (the layers were built here), so
/// the longest known beginning that matches is the right one. A line of
/// another shape is kept whole as WHY.
fn read_warning(w: &str, layers: &[Layer], sections: &[Section], config_path: &str, named_by: Option<&str>) -> Problem {
    // (beginning, key, subject, origin, what WHY is about)
    let mut starts: Vec<(String, Option<String>, String, String, &str)> = Vec::new();
    let section_layers = sections.iter().map(|s| &s.keys);
    for l in layers.iter().chain(section_layers) {
        for (k, v) in &l.pairs {
            let subject = format!("{k}={v}");
            starts.push((format!("{subject} ({}): ", l.source), Some(k.clone()), subject, origin(&l.source, config_path), ""));
        }
    }
    for s in sections {
        let subject = format!("[dest {}]", s.dests);
        starts.push((format!("{subject} ({}): ", s.keys.source), None, subject, origin(&s.keys.source, config_path), ""));
    }
    // The file itself: say who named it.
    let (subject, file_origin, about) = match named_by {
        None => (String::new(), format!("config file {config_path}"), ""),
        Some(by) => (format!("SOCKFIX_CONFIG={config_path}"), by.to_string(), "cannot read the config file: "),
    };
    starts.push((format!("config file {config_path}: "), None, subject, file_origin, about));
    let best = starts.into_iter().filter(|(b, ..)| w.starts_with(b.as_str())).max_by_key(|(b, ..)| b.len());
    let (rest, key, subject, origin, about) = match best {
        Some((b, key, subject, origin, about)) => (&w[b.len()..], key, subject, origin, about),
        None => match line_warning(w, config_path) {
            Some((n, rest)) => (rest, None, String::new(), format!("config file {config_path}, line {n}"), ""),
            None => (w, None, String::new(), String::new(), ""),
        },
    };
    let (why, outcome) = rest.rsplit_once("; ").unwrap_or((rest, ""));
    Problem { key, subject, origin, why: format!("{about}{why}"), outcome: outcome.to_string() }
}

/// `PATH:N: REST` (a line of the config file): N and REST.
fn line_warning<'a>(w: &'a str, config_path: &str) -> Option<(&'a str, &'a str)> {
    let rest = w.strip_prefix(config_path)?.strip_prefix(':')?;
    let (n, rest) = rest.split_once(": ")?;
    n.bytes().all(|b| b.is_ascii_digit()).then_some((n, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(source: &str, pairs: &[(&str, &str)]) -> Layer {
        Layer { source: source.into(), pairs: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }

    #[test]
    fn a_refused_option_says_key_value_origin_and_why() {
        let j = judge_layers(
            layer(COMMAND_LINE, &[("SOCKFIX_KEEPIDLE", "banana"), ("SOCKFIX_CONFIG", "/dev/null")]),
            layer(ENVIRONMENT, &[]),
        );
        assert_eq!(j.problems.len(), 1, "{:?}", j.problems);
        let p = &j.problems[0];
        assert_eq!(p.key.as_deref(), Some("SOCKFIX_KEEPIDLE"));
        assert_eq!(p.subject, "SOCKFIX_KEEPIDLE=banana");
        assert_eq!(p.origin, "command line");
        assert!(p.why.starts_with("not a duration"), "{p:?}");
        assert_eq!(p.outcome, "using 15s");
    }

    #[test]
    fn the_environment_and_legacy_names_are_judged_too() {
        let j = judge_layers(
            layer(COMMAND_LINE, &[("SOCKFIX_CONFIG", "/dev/null")]),
            layer(ENVIRONMENT, &[("KEEPCNT", "0"), ("SOCKFIX_FOO", "1")]),
        );
        let subjects: Vec<_> = j.problems.iter().map(|p| (p.subject.as_str(), p.origin.as_str(), p.outcome.as_str())).collect();
        assert!(subjects.contains(&("KEEPCNT=0", "environment", "using 9")), "{subjects:?}");
        assert!(subjects.contains(&("SOCKFIX_FOO=1", "environment", "ignored")), "{subjects:?}");
    }

    #[test]
    fn an_unreadable_named_config_file_names_who_named_it() {
        let j = judge_layers(layer(COMMAND_LINE, &[]), layer(ENVIRONMENT, &[("SOCKFIX_CONFIG", "/nonexistent/sockfix.conf")]));
        assert_eq!(j.problems.len(), 1, "{:?}", j.problems);
        let p = &j.problems[0];
        assert_eq!((p.subject.as_str(), p.origin.as_str()), ("SOCKFIX_CONFIG=/nonexistent/sockfix.conf", "environment"));
        assert!(p.why.starts_with("cannot read the config file: "), "{p:?}");
        assert!(!j.config_read);
    }

    #[test]
    fn config_file_lines_and_sections_name_their_line() {
        let dir = std::env::temp_dir().join(format!("sockfix-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.conf");
        std::fs::write(
            &path,
            "SOCKFIX_KEEPIDLE=7\nnonsense\n[dest nowhere]\nSOCKFIX_KEEPCNT=3\n[dest :3306]\nSOCKFIX_LINGER=x\n",
        )
        .unwrap();
        let p = path.to_str().unwrap();
        let j = judge_layers(layer(COMMAND_LINE, &[("SOCKFIX_CONFIG", p)]), layer(ENVIRONMENT, &[]));
        std::fs::remove_dir_all(&dir).unwrap();
        let got: Vec<_> = j.problems.iter().map(|p| (p.subject.clone(), p.origin.clone())).collect();
        assert!(got.contains(&(String::new(), format!("config file {p}, line 2"))), "{got:?}");
        assert!(got.contains(&("[dest nowhere]".into(), format!("config file {p}, line 3"))), "{got:?}");
        assert!(got.contains(&("SOCKFIX_LINGER=x".into(), format!("config file {p}, line 5"))), "{got:?}");
        assert_eq!(j.settings.conn.keepidle_s, 7);
        assert!(j.config_read);
    }

    #[test]
    fn good_settings_have_no_problem() {
        let j = judge_layers(
            layer(COMMAND_LINE, &[("SOCKFIX_KEEPIDLE", "7"), ("SOCKFIX_CONFIG", "/dev/null")]),
            layer(ENVIRONMENT, &[("KEEPINTVL", "2"), ("SOCKFIX_LIBRARY", "/x.so")]),
        );
        assert!(j.problems.is_empty(), "{:?}", j.problems);
        assert_eq!((j.settings.conn.keepidle_s, j.settings.conn.keepintvl_s), (7, 2));
    }
}
