//! Parsers for the kinds of value a setting can hold. Each returns a short
//! reason on failure, which becomes part of the one warning line.

/// A duration in milliseconds: a whole number with an optional unit `ms`,
/// `s`, `m` or `h`; a bare number means seconds (libkeepalive's KEEPIDLE=7).
pub fn duration_ms(text: &str) -> Result<u64, &'static str> {
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    if number.is_empty() {
        return Err("not a duration (a number with an optional unit ms, s, m or h)");
    }
    let number: u64 = number.parse().map_err(|_| "number too large")?;
    let scale = match unit.trim().to_ascii_lowercase().as_str() {
        "ms" => 1,
        "" | "s" => 1000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        _ => return Err("unknown unit (use ms, s, m or h)"),
    };
    number.checked_mul(scale).ok_or("number too large")
}

pub fn boolean(text: &str) -> Result<bool, &'static str> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "on" | "yes" | "true" => Ok(true),
        "0" | "off" | "no" | "false" => Ok(false),
        _ => Err("not a boolean (1/0, on/off, yes/no, true/false)"),
    }
}

pub fn count(text: &str, min: u32, max: u32) -> Result<u32, &'static str> {
    match text.trim().parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        Ok(_) => Err("out of range"),
        Err(_) => Err("not a whole number"),
    }
}

/// True for the words that switch an optional setting off.
pub fn is_off(text: &str) -> bool {
    matches!(text.trim().to_ascii_lowercase().as_str(), "off" | "no" | "false" | "none" | "")
}

/// Signal names and their numbers, in two parallel tables: one string and
/// one array of numbers hold no pointer for the loader to relocate at
/// every process start (a table of `&str` would be 34 relocations).
const SIGNAL_NAMES: &str = "HUP INT QUIT ILL TRAP ABRT IOT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT CHLD CLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO POLL PWR SYS";
const SIGNAL_NUMBERS: [i32; 34] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGILL,
    libc::SIGTRAP,
    libc::SIGABRT,
    libc::SIGIOT,
    libc::SIGBUS,
    libc::SIGFPE,
    libc::SIGKILL,
    libc::SIGUSR1,
    libc::SIGSEGV,
    libc::SIGUSR2,
    libc::SIGPIPE,
    libc::SIGALRM,
    libc::SIGTERM,
    libc::SIGSTKFLT,
    libc::SIGCHLD,
    libc::SIGCHLD,
    libc::SIGCONT,
    libc::SIGSTOP,
    libc::SIGTSTP,
    libc::SIGTTIN,
    libc::SIGTTOU,
    libc::SIGURG,
    libc::SIGXCPU,
    libc::SIGXFSZ,
    libc::SIGVTALRM,
    libc::SIGPROF,
    libc::SIGWINCH,
    libc::SIGIO,
    libc::SIGPOLL,
    libc::SIGPWR,
    libc::SIGSYS,
];

fn signal_names() -> impl Iterator<Item = (&'static str, i32)> {
    SIGNAL_NAMES.split(' ').zip(SIGNAL_NUMBERS)
}

/// The short name of a signal ("WINCH"), for log lines.
pub fn signal_name(sig: i32) -> &'static str {
    signal_names().find(|&(_, n)| n == sig).map_or("?", |(name, _)| name)
}

/// One signal: a name with or without "SIG" in any case, or a number 1-64.
pub fn signal(text: &str) -> Result<i32, &'static str> {
    let word = text.trim().to_ascii_uppercase();
    let name = word.strip_prefix("SIG").unwrap_or(&word);
    if let Ok(n) = name.parse::<i32>() {
        return if (1..=64).contains(&n) { Ok(n) } else { Err("signal number out of range 1-64") };
    }
    signal_names().find(|&(n, _)| n == name).map(|(_, sig)| sig).ok_or("unknown signal name")
}

/// A comma-separated list of signals as a mask: bit (sig - 1).
pub fn signal_set(text: &str) -> Result<u64, &'static str> {
    let mut mask = 0u64;
    for word in text.split(',').filter(|w| !w.trim().is_empty()) {
        mask |= 1u64 << (signal(word)? - 1);
    }
    Ok(mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration_ms("7"), Ok(7000));
        assert_eq!(duration_ms("7s"), Ok(7000));
        assert_eq!(duration_ms(" 500ms "), Ok(500));
        assert_eq!(duration_ms("2m"), Ok(120_000));
        assert_eq!(duration_ms("1h"), Ok(3_600_000));
        assert_eq!(duration_ms("15S"), Ok(15_000));
        assert!(duration_ms("").is_err());
        assert!(duration_ms("banana").is_err());
        assert!(duration_ms("-1").is_err());
        assert!(duration_ms("1.5s").is_err());
        assert!(duration_ms("10d").is_err());
        assert!(duration_ms("99999999999999999999").is_err());
        assert!(duration_ms("18446744073709551615h").is_err());
    }

    #[test]
    fn booleans() {
        for t in ["1", "on", "YES", "true"] {
            assert_eq!(boolean(t), Ok(true), "{t}");
        }
        for t in ["0", "off", "no", "False"] {
            assert_eq!(boolean(t), Ok(false), "{t}");
        }
        assert!(boolean("maybe").is_err());
    }

    #[test]
    fn counts() {
        assert_eq!(count("9", 1, 127), Ok(9));
        assert!(count("0", 1, 127).is_err());
        assert!(count("128", 1, 127).is_err());
        assert!(count("x", 1, 127).is_err());
    }

    #[test]
    fn signals() {
        assert_eq!(signal("INT"), Ok(libc::SIGINT));
        assert_eq!(signal("sigterm"), Ok(libc::SIGTERM));
        assert_eq!(signal("28"), Ok(28));
        assert!(signal("0").is_err());
        assert!(signal("65").is_err());
        assert!(signal("NOPE").is_err());
        let mask = signal_set("INT,TERM, QUIT ,ALRM").unwrap();
        for s in [libc::SIGINT, libc::SIGTERM, libc::SIGQUIT, libc::SIGALRM] {
            assert_ne!(mask & (1 << (s - 1)), 0);
        }
        assert_eq!(mask.count_ones(), 4);
        assert_eq!(signal_set(""), Ok(0));
        assert_eq!(signal_set("64"), Ok(1 << 63));
        assert!(signal_set("INT,BOGUS").is_err());
        assert_eq!(signal_name(libc::SIGWINCH), "WINCH");
    }
}
