//! Where settings come from: the environment and the config file, with the
//! secure-execution rule (setuid, setgid, file capabilities: the kernel sets
//! AT_SECURE) that an unprivileged user must not steer a privileged process.

use super::{build, Layer, Section, Settings, DEFAULT_CONFIG, DEFAULT_CONFIG_C, LEGACY_KEYS};
use crate::sys;
use alloc::ffi::CString;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::ffi::{c_char, CStr};

/// The config file is small; anything past this is not read.
const MAX_CONFIG_BYTES: usize = 64 * 1024;

/// Loads the settings for this process, with one line per problem found.
/// `argv0` names the program, for SOCKFIX_PROGRAMS.
/// `envp` is null or a null-terminated array of "KEY=VALUE" strings.
pub fn load(argv0: Option<&str>, envp: *const *const c_char) -> (Settings, Vec<String>) {
    let mut g = gather(envp);
    // Nothing set (no variable of ours, no config file, nothing to warn
    // about): the defaults, without combining anything. Every process on a
    // global install without a config file comes this way.
    // SOCKFIX_CONFIG alone sets nothing: it only named the file, read above.
    let sets_nothing = |l: &Layer| l.pairs.iter().all(|(k, _)| k == "SOCKFIX_CONFIG");
    if g.warnings.is_empty() && g.sections.is_empty() && g.layers.iter().all(sets_nothing) {
        return (Settings::default(), g.warnings);
    }
    let settings = build(&g.layers, &g.sections, &|| program_names(argv0), &mut g.warnings);
    (settings, g.warnings)
}

/// Where the settings come from, before they are combined.
pub struct Gathered {
    /// Highest precedence first: the environment, then the config file.
    pub layers: Vec<Layer>,
    pub sections: Vec<Section>,
    pub warnings: Vec<String>,
}

/// Reads the environment (`envp`: null or a null-terminated array of
/// "KEY=VALUE" strings) and the config file.
pub fn gather(envp: *const *const c_char) -> Gathered {
    // Secure execution is asked only when it matters, once: variables of
    // ours to ignore, or a config file to check. Most processes have
    // neither and skip the lookup of getauxval.
    let mut known: Option<bool> = None;
    let mut is_secure = || {
        // SAFETY: getauxval has no preconditions.
        *known.get_or_insert_with(|| unsafe { crate::real::getauxval(libc::AT_SECURE) } != 0)
    };
    let mut warnings = Vec::new();

    let mut pairs = environment(envp);
    if !pairs.is_empty() && is_secure() {
        pairs.clear();
    }
    let env = Layer { source: "environment".into(), pairs };
    let chosen = env.pairs.iter().rev().find(|(k, _)| k == "SOCKFIX_CONFIG").map(|(_, v)| v.clone());
    let path = chosen.as_deref().unwrap_or(DEFAULT_CONFIG);

    let mut sections = Vec::new();
    let file = read_config_checked(path, &mut is_secure, chosen.is_some(), true, &mut warnings).map(|text| {
        let (pairs, found) = parse_config(&text, path, &mut warnings);
        sections = found;
        Layer { source: path.to_string(), pairs }
    });
    let layers = [Some(env), file].into_iter().flatten().collect();
    Gathered { layers, sections, warnings }
}

/// The names a program is known by, for SOCKFIX_PROGRAMS: the base names of
/// argv[0] and of the executable (a script run through its interpreter is
/// known by both, "gunicorn" and "python3.11").
pub fn program_names(argv0: Option<&str>) -> Vec<String> {
    let base = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
    let mut names: Vec<String> = argv0.map(base).into_iter().collect();
    let mut buf = [0u8; 4096];
    if let Some(exe) = sys::readlink(c"/proc/self/exe", &mut buf).and_then(|b| core::str::from_utf8(b).ok()) {
        names.push(base(exe));
    }
    names
}

/// The environment variables sockfix reads: SOCKFIX_* and libkeepalive's.
/// Entries that are not UTF-8 are none of ours.
fn environment(envp: *const *const c_char) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    // envp is null or a null-terminated array of NUL-terminated strings; it
    // is read here, at start-up, before the program can change it.
    let mut entry = envp;
    while !entry.is_null() {
        // SAFETY: `entry` points into the array, before its terminator.
        let text = unsafe { *entry };
        if text.is_null() {
            break;
        }
        // Every process pays for this scan: an entry is measured only when
        // it starts as one of ours (SOCKFIX_*, or KEEP* of libkeepalive's).
        // SAFETY: a NUL-terminated string has at least one byte, and the
        // second is only read when the first is not its NUL.
        let starts_as_ours = unsafe {
            let first = *text as u8;
            (first == b'S' && *text.add(1) as u8 == b'O') || (first == b'K' && *text.add(1) as u8 == b'E')
        };
        if !starts_as_ours {
            // SAFETY: the terminator has not been reached, so the next slot exists.
            entry = unsafe { entry.add(1) };
            continue;
        }
        // SAFETY: a NUL-terminated string of the environment.
        let bytes = unsafe { CStr::from_ptr(text) }.to_bytes();
        let ours = |k: &[u8]| k.starts_with(b"SOCKFIX_") || LEGACY_KEYS.iter().any(|l| l.as_bytes() == k);
        if let Some(eq) = bytes.iter().position(|&b| b == b'=') {
            let (k, v) = bytes.split_at(eq);
            if ours(k) {
                if let (Ok(k), Ok(v)) = (core::str::from_utf8(k), core::str::from_utf8(v.get(1..).unwrap_or_default())) {
                    pairs.push((k.to_string(), v.to_string()));
                }
            }
        }
        // SAFETY: the terminator has not been reached, so the next slot exists.
        entry = unsafe { entry.add(1) };
    }
    pairs
}

/// The text of errno `e`, for warnings (read only at start-up).
fn error_text(e: i32) -> String {
    // SAFETY: strerror returns null (not found) or a NUL-terminated string
    // that stays valid until the next call; it is copied at once.
    let text = unsafe { crate::real::strerror(e) };
    if text.is_null() {
        return format!("error {e}");
    }
    // SAFETY: as above.
    unsafe { CStr::from_ptr(text) }.to_str().unwrap_or("error").to_string()
}

/// The config file's text. In secure execution only a file owned by root and
/// writable by nobody else is trusted. A missing default file is normal; a
/// file that was asked for and cannot be read is reported.
#[allow(dead_code)] // the sockfix command's; the library reads through gather
pub fn read_config(path: &str, secure: bool, explicit: bool, warnings: &mut Vec<String>) -> Option<String> {
    read_config_checked(path, &mut || secure, explicit, false, warnings)
}

/// read_config, asking `secure` only once the file is open. With
/// `skip_silent`, a file that sets nothing (comments and blank lines only,
/// as the /etc/sockfix.conf the package installs) counts as no file.
fn read_config_checked(
    path: &str,
    secure: &mut dyn FnMut() -> bool,
    explicit: bool,
    skip_silent: bool,
    warnings: &mut Vec<String>,
) -> Option<String> {
    // The default path is a C string already: no allocation in every
    // process for it.
    let fd = if path == DEFAULT_CONFIG {
        sys::open(DEFAULT_CONFIG_C, libc::O_RDONLY | libc::O_CLOEXEC, 0)
    } else {
        sys::open(&CString::new(path).ok()?, libc::O_RDONLY | libc::O_CLOEXEC, 0)
    };
    if fd < 0 {
        let e = sys::errno();
        if explicit || e != libc::ENOENT {
            warnings.push(unusable(path, &error_text(e)));
        }
        return None;
    }
    if skip_silent && sets_nothing(fd) {
        sys::close(fd);
        return None;
    }
    let text = read_trusted(fd, path, secure(), warnings);
    sys::close(fd);
    text
}

/// Whether the open file `fd` is at most 4 KiB of comments and blank lines
/// only. Such a file sets nothing, so it need not be trusted, copied,
/// checked for UTF-8 or parsed: every process on a global install reads the
/// packaged one. Otherwise the file is rewound for the full read.
fn sets_nothing(fd: libc::c_int) -> bool {
    const SMALL: usize = 4096;
    let mut buf = core::mem::MaybeUninit::<[u8; SMALL]>::uninit();
    let base = buf.as_mut_ptr() as *mut u8;
    let mut n = 0;
    loop {
        // SAFETY: the kernel writes at most SMALL - n bytes at base + n,
        // inside the buffer.
        let r = unsafe { sys::syscall!(libc::SYS_read, fd, base.add(n), SMALL - n) };
        match usize::try_from(r) {
            Ok(0) => break,
            Ok(got) if n + got < SMALL => n += got,
            Err(_) if sys::errno() == libc::EINTR => continue,
            // Full (or an error): the full read decides, from the start.
            _ => {
                // SAFETY: plain syscall on our own descriptor.
                unsafe { sys::syscall!(libc::SYS_lseek, fd, 0, libc::SEEK_SET) };
                return false;
            }
        }
    }
    // SAFETY: the kernel initialised the first n bytes.
    let bytes = unsafe { core::slice::from_raw_parts(base, n) };
    let silent = only_comments(bytes);
    if !silent {
        // SAFETY: as above.
        unsafe { sys::syscall!(libc::SYS_lseek, fd, 0, libc::SEEK_SET) };
    }
    silent
}

/// Whether every line of `bytes` is blank or a `#` comment (parse_config
/// skips exactly those).
fn only_comments(bytes: &[u8]) -> bool {
    let mut start = 0;
    while let Some(rest) = bytes.get(start..).filter(|r| !r.is_empty()) {
        let line = rest.get(..line_end(rest)).unwrap_or_default();
        if !matches!(line.iter().find(|&&b| !b" \t\r".contains(&b)), None | Some(b'#')) {
            return false;
        }
        start += line.len() + 1;
    }
    true
}

/// The warning for a config file that cannot be used.
fn unusable(path: &str, why: &str) -> String {
    format!("config file {path}: {why}; using the environment and defaults")
}

/// The rest of read_config, on an open file.
fn read_trusted(fd: libc::c_int, path: &str, secure: bool, warnings: &mut Vec<String>) -> Option<String> {
    // Only secure execution asks who owns the file (a file that cannot be
    // checked is not trusted).
    if secure && sys::fstat(fd).is_none_or(|st| st.st_uid != 0 || st.st_mode & 0o022 != 0) {
        warnings.push(format!("config file {path}: ignored in a setuid/setgid program: not owned by root or writable by others"));
        return None;
    }
    // Read 4 KiB at a time straight into the buffer, which grows as needed:
    // a preallocated 64 KB buffer would be 16 dirty pages in every process,
    // and smaller pieces more syscalls (the 5 KB file the package installs:
    // three reads, the last one finding the end).
    let mut bytes: Vec<u8> = Vec::new();
    while bytes.len() < MAX_CONFIG_BYTES {
        bytes.reserve(4096);
        let room = MAX_CONFIG_BYTES - bytes.len();
        let spare = bytes.spare_capacity_mut();
        let want = spare.len().min(room);
        // SAFETY: the kernel writes at most `want` bytes into the buffer's
        // spare capacity, which is that long.
        let r = unsafe { sys::syscall!(libc::SYS_read, fd, spare.as_mut_ptr(), want) };
        match usize::try_from(r) {
            Ok(0) => break,
            // SAFETY: the kernel initialised those `n` (<= want) bytes.
            Ok(n) => unsafe { bytes.set_len(bytes.len() + n.min(want)) },
            Err(_) if sys::errno() == libc::EINTR => continue,
            Err(_) => {
                warnings.push(unusable(path, &error_text(sys::errno())));
                return None;
            }
        }
    }
    bytes.truncate(MAX_CONFIG_BYTES);
    match String::from_utf8(bytes) {
        Ok(text) => Some(text),
        Err(_) => {
            warnings.push(unusable(path, "not UTF-8 text"));
            None
        }
    }
}

/// `KEY=VALUE` lines, as in a shell or systemd EnvironmentFile: blank lines
/// and `#` comments are skipped, `export ` is allowed, quotes around the
/// value are removed. After the global lines, `[dest LIST]` sections (the
/// profiles) hold the lines that apply to those destinations only.
pub fn parse_config(text: &str, path: &str, warnings: &mut Vec<String>) -> (Vec<(String, String)>, Vec<Section>) {
    let mut global = Vec::new();
    let mut sections: Vec<Section> = Vec::new();
    // Line by line, as str::lines() (a final "\n" ends the last line), but
    // a comment or blank line is recognised by its first byte that is not
    // a space or tab and skipped to its end eight bytes at a time: the
    // /etc/sockfix.conf the package installs is ninety lines of comments,
    // read by every process on a global install.
    let (bytes, mut start, mut number) = (text.as_bytes(), 0, 0);
    while start < bytes.len() {
        let rest = bytes.get(start..).unwrap_or_default();
        let end = start + line_end(rest);
        let line = text.get(start..end).unwrap_or_default();
        start = end + 1;
        number += 1;
        if matches!(rest.iter().find(|&&b| b != b' ' && b != b'\t'), None | Some(b'#' | b'\n')) {
            continue;
        }
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        // Where the line is, for sections and warnings only: formatting it
        // for every line cost every process ~600 instructions a line of the
        // commented-out /etc/sockfix.conf that the package installs.
        let here = || format!("{path}:{number}");
        if let Some(header) = line.strip_prefix('[') {
            match header.strip_suffix(']').and_then(|h| h.trim().strip_prefix("dest ")) {
                Some(dests) => {
                    sections.push(Section { dests: dests.trim().to_string(), keys: Layer { source: here(), pairs: Vec::new() } })
                }
                None => {
                    warnings.push(format!("{}: {line}: not a [dest LIST] section; its lines are ignored", here()));
                    sections.push(Section { dests: String::new(), keys: Layer { source: here(), pairs: Vec::new() } });
                }
            }
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let pair = match line.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => (key.trim().to_string(), unquote(value.trim()).to_string()),
            _ => {
                warnings.push(format!("{}: not KEY=VALUE: {line}; ignored", here()));
                continue;
            }
        };
        match sections.last_mut() {
            Some(section) => section.keys.pairs.push(pair),
            None => global.push(pair),
        }
    }
    // A section whose header was refused keeps its lines out of everything.
    sections.retain(|s| !s.dests.is_empty());
    (global, sections)
}

/// Where the first b'\n' of `s` is (its length when none): eight bytes at a
/// time, with the usual test for a zero byte (the lowest one it finds is
/// exact), the rest byte by byte.
fn line_end(s: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const NEWLINES: u64 = ONES * b'\n' as u64;
    let mut words = s.chunks_exact(8);
    let mut i = 0;
    for w in &mut words {
        let x = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]) ^ NEWLINES;
        let zero = x.wrapping_sub(ONES) & !x & HIGHS;
        if zero != 0 {
            return i + (zero.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    words.remainder().iter().position(|&b| b == b'\n').map_or(s.len(), |p| i + p)
}

fn unquote(value: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = value.strip_prefix(q).and_then(|v| v.strip_suffix(q)) {
            return inner;
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_that_set_nothing() {
        assert!(only_comments(b""));
        assert!(only_comments(b"# a\n\n   # b\n\t\r\n#SOCKFIX_KEEPIDLE=7"));
        assert!(!only_comments(b"# a\nSOCKFIX_KEEPIDLE=7\n"));
        assert!(!only_comments(b"[dest :5432]\n"));
        assert!(!only_comments(b"  x"));
        // The packaged file (and the example it points to) set nothing.
        assert!(only_comments(include_bytes!("../../debian/sockfix.conf")));
        assert!(only_comments(include_bytes!("../../scripts/examples/sockfix.conf")));
    }

    #[test]
    fn config_lines() {
        let text = "# sockfix\n\nSOCKFIX_KEEPIDLE=60s\nexport SOCKFIX_KEEPCNT = 4\nSOCKFIX_LOG=\"/tmp/a b\"\n\
                    KEEPINTVL='3'\nnonsense\n=5\n";
        let mut w = Vec::new();
        let (pairs, sections) = parse_config(text, "/etc/sockfix.conf", &mut w);
        assert!(sections.is_empty());
        let want: Vec<(String, String)> =
            [("SOCKFIX_KEEPIDLE", "60s"), ("SOCKFIX_KEEPCNT", "4"), ("SOCKFIX_LOG", "/tmp/a b"), ("KEEPINTVL", "3")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        assert_eq!(pairs, want);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].starts_with("/etc/sockfix.conf:7: not KEY=VALUE"));
    }

    #[test]
    fn comments_blank_lines_and_line_ends() {
        let mut w = Vec::new();
        let text = "# a comment that is longer than eight bytes\n\n   \t# indented\n\t\nA=1\r\n  B = 2  \nbad line\nC=3";
        let (pairs, sections) = parse_config(text, "f", &mut w);
        assert!(sections.is_empty());
        let want: Vec<(String, String)> =
            [("A", "1"), ("B", "2"), ("C", "3")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(pairs, want);
        assert_eq!(w, vec!["f:7: not KEY=VALUE: bad line; ignored".to_string()]);
        for s in ["", "\n", "abc", "abcdefgh\n", "abcdefghijklmno\nx", "0123456789abcdef0123\n"] {
            assert_eq!(line_end(s.as_bytes()), s.find('\n').unwrap_or(s.len()), "{s:?}");
        }
    }

    #[test]
    fn the_packaged_config_sets_nothing() {
        let text = include_str!("../../scripts/examples/sockfix.conf");
        let mut w = Vec::new();
        let (pairs, sections) = parse_config(text, "sockfix.conf", &mut w);
        assert!(pairs.is_empty() && sections.is_empty() && w.is_empty(), "{pairs:?} {w:?}");
    }

    #[test]
    fn sections_hold_their_own_lines() {
        let mut w = Vec::new();
        let text = "SOCKFIX_KEEPIDLE=60\n[dest 10.0.0.0/8:3306, [fd00::]/8:3306]\nSOCKFIX_KEEPIDLE=5\n\
                    [server]\nSOCKFIX_KEEPCNT=1\n[ dest :5432 ]\nSOCKFIX_LINGER=0\n";
        let (pairs, sections) = parse_config(text, "f", &mut w);
        assert_eq!(pairs, vec![("SOCKFIX_KEEPIDLE".to_string(), "60".to_string())]);
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[0].dests, "10.0.0.0/8:3306, [fd00::]/8:3306");
        assert_eq!(sections[0].keys.source, "f:2");
        assert_eq!(sections[0].keys.pairs, vec![("SOCKFIX_KEEPIDLE".to_string(), "5".to_string())]);
        assert_eq!(sections[1].dests, ":5432");
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("[server]"));
    }

    #[test]
    fn explicit_missing_config_is_reported() {
        let mut w = Vec::new();
        assert!(read_config("/nonexistent/sockfix.conf", false, true, &mut w).is_none());
        assert_eq!(w.len(), 1);
        let mut w = Vec::new();
        assert!(read_config("/nonexistent/sockfix.conf", false, false, &mut w).is_none());
        assert!(w.is_empty());
    }

    #[test]
    fn secure_execution_trusts_only_root_owned_unwritable_files() {
        let dir = std::env::temp_dir().join(format!("sockfix-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("conf");
        std::fs::write(&path, "SOCKFIX_KEEPIDLE=33\n").unwrap();
        let p = path.to_str().unwrap();
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let owned_by_root = std::fs::metadata(&path).unwrap().uid() == 0;

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut w = Vec::new();
        assert_eq!(read_config(p, true, false, &mut w).is_some(), owned_by_root, "{w:?}");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let mut w = Vec::new();
        assert!(read_config(p, true, false, &mut w).is_none());
        assert_eq!(w.len(), 1);
        assert!(read_config(p, false, false, &mut Vec::new()).is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
