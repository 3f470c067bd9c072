//! Every ABI's loader. /etc/ld.so.preload is read by the dynamic loader of
//! every program, whatever its ABI: a 32-bit program on a 64-bit host
//! (Debian's libc6-i386, or multiarch libc6:i386) reads the same file. A
//! loader that finds no library of its own ABI where the entry points prints
//!   ERROR: ld.so: object '/usr/$LIB/libsockfix.so' from /etc/ld.so.preload
//!   cannot be preloaded (cannot open shared object file): ignored.
//! on that program's stderr, at every start. So `preload enable` looks at
//! every loader installed, and refuses while one of them would do that.

use super::file::safe_path;
use super::trial::{head, run_bounded, RunError};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// An ELF file's class (1: 32-bit, 2: 64-bit) and machine (e_machine).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Abi {
    pub class: u8,
    pub machine: u16,
}

/// The ABI of an ELF file, from its first 20 bytes (the ELF header's ident,
/// type and machine; see elf(5)); None for anything else.
pub fn elf_abi(path: &Path) -> Option<Abi> {
    let mut b = [0u8; 20];
    fs::File::open(path).ok()?.read_exact(&mut b).ok()?;
    if b[..4] != *b"\x7fELF" {
        return None;
    }
    // Byte 5: 1 little-endian, 2 big-endian; e_machine is bytes 18-19.
    let machine = if b[5] == 2 { u16::from_be_bytes([b[18], b[19]]) } else { u16::from_le_bytes([b[18], b[19]]) };
    Some(Abi { class: b[4], machine })
}

impl std::fmt::Display for Abi {
    /// A short name for people (x86_64, i386, aarch64...).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match (self.class, self.machine) {
            (2, 62) => "x86_64",
            (1, 62) => "x32",
            (1, 3) => "i386",
            (2, 183) => "aarch64",
            (1, 40) => "arm",
            (2, 21) => "ppc64",
            (1, 20) => "powerpc",
            (2, 22) => "s390x",
            (1, 22) => "s390",
            (2, 243) => "riscv64",
            (2, 8) => "mips64",
            (1, 8) => "mips",
            (2, 258) => "loongarch64",
            (c, m) => return write!(f, "elf{}-machine{m}", if c == 2 { 64 } else { 32 }),
        };
        f.write_str(name)
    }
}

/// The Rust target that builds the library for an ABI.
fn rust_target(abi: &str) -> Option<&'static str> {
    Some(match abi {
        "x86_64" => "x86_64-unknown-linux-gnu",
        "i386" => "i686-unknown-linux-gnu",
        "x32" => "x86_64-unknown-linux-gnux32",
        "aarch64" => "aarch64-unknown-linux-gnu",
        "arm" => "armv7-unknown-linux-gnueabihf",
        "ppc64" => "powerpc64le-unknown-linux-gnu",
        "s390x" => "s390x-unknown-linux-gnu",
        "riscv64" => "riscv64gc-unknown-linux-gnu",
        _ => return None,
    })
}

/// Whether a file name matches one of the glibc loaders' names:
/// ld-linux*.so.N*, ld64.so.N*, ld.so.N* (musl's ld-musl-*.so.1 never
/// reads /etc/ld.so.preload and is left out).
fn is_loader_name(name: &str) -> bool {
    let digit_after = |rest: &str| rest.starts_with(|c: char| c.is_ascii_digit());
    if let Some(rest) = name.strip_prefix("ld-linux") {
        return rest.match_indices(".so.").any(|(i, _)| digit_after(&rest[i + 4..]));
    }
    ["ld64.so.", "ld.so."].iter().any(|p| name.strip_prefix(p).is_some_and(digit_after))
}

/// The glibc dynamic loaders installed, each file once. They are looked for
/// where programs name them (their PT_INTERP): /lib, /lib64, /lib32,
/// /libx32, e.g. /lib/ld-linux.so.2 (i386), /lib64/ld-linux-x86-64.so.2,
/// /libx32/ld-linux-x32.so.2, /lib/ld-linux-aarch64.so.1,
/// /lib/ld-linux-armhf.so.3, /lib64/ld64.so.2 (ppc64le), /lib/ld64.so.1
/// (s390x), /lib/ld.so.1.
pub fn host_loaders() -> Vec<PathBuf> {
    let mut seen: Vec<PathBuf> = Vec::new();
    let mut out = Vec::new();
    for d in ["/lib", "/lib64", "/lib32", "/libx32"] {
        let Ok(rd) = fs::read_dir(d) else { continue };
        let mut names: Vec<String> =
            rd.filter_map(|e| e.ok()?.file_name().into_string().ok()).filter(|n| is_loader_name(n)).collect();
        names.sort();
        for n in names {
            let f = Path::new(d).join(&n);
            if !f.is_file() {
                continue;
            }
            let Ok(real) = fs::canonicalize(&f) else { continue };
            if seen.contains(&real) {
                continue;
            }
            seen.push(real);
            if elf_abi(&f).is_some() {
                out.push(f);
            }
        }
    }
    out
}

/// What a loader expands `$LIB` to.
enum DstLib {
    /// The directory under / and /usr, e.g. lib/x86_64-linux-gnu or lib32.
    Found(String),
    /// The loader cannot start on this machine (another CPU without an
    /// emulator, x32 on a kernel built without it): why. No program of its
    /// ABI can start either, and none can print anything.
    CannotRun(String),
    /// It runs but did not tell.
    Unknown,
}

/// In LD_DEBUG=libs output for LD_LIBRARY_PATH=/sockfix-probe/$LIB/sockfix-probe,
/// the expansion of $LIB on the last line that shows it.
fn dst_from_search_path(text: &str) -> Option<String> {
    const MARK: &str = "search path=/sockfix-probe/";
    const TAIL: &str = "/sockfix-probe";
    let mut found = None;
    for line in text.lines() {
        for (at, _) in line.match_indices(MARK).collect::<Vec<_>>().into_iter().rev() {
            let rest = &line[at + MARK.len()..];
            // The expansion holds no ':' and is followed by /sockfix-probe
            // and then '/', ':' or a blank: the last such place.
            let span = rest.find(':').map_or(rest.len(), |i| i);
            let hit = rest
                .match_indices(TAIL)
                .map(|(i, _)| i)
                .filter(|&i| i <= span)
                .filter(|&i| rest[i + TAIL.len()..].chars().next().is_some_and(|c| c == '/' || c == ':' || c.is_whitespace()))
                .last();
            if let Some(i) = hit {
                found = Some(rest[..i].to_string());
                break;
            }
        }
    }
    found
}

/// What a loader expands $LIB to. It is fixed when glibc is built
/// (lib/x86_64-linux-gnu for Debian's amd64 libc6, lib32 for its
/// libc6-i386, lib/i386-linux-gnu for multiarch libc6:i386, libx32 for
/// libc6-x32), so no path or name tells it reliably: the loader is asked.
/// glibc 2.33 and later print it as dl_dst_lib under --list-diagnostics;
/// older ones show it expanded in the search path that LD_DEBUG=libs prints
/// for an LD_LIBRARY_PATH containing $LIB (the last such line: the loader's
/// own, whatever ran before it).
fn loader_dst_lib(loader: &Path) -> DstLib {
    let mut c = Command::new(loader);
    c.env_clear().arg("--list-diagnostics");
    let ran = match run_bounded(&mut c, 10) {
        Err(RunError::Spawn(e)) => return DstLib::CannotRun(super::trial::strerror(&e)),
        Err(RunError::Timeout(_)) => return DstLib::Unknown,
        Ok(r) => r,
    };
    let text = String::from_utf8_lossy(&ran.stdout);
    let v = text.lines().find_map(|l| l.strip_prefix("dl_dst_lib=\"")?.strip_suffix('"').map(String::from));
    if let Some(v) = v.filter(|v| !v.is_empty()) {
        return DstLib::Found(v);
    }
    let mut c = Command::new(loader);
    c.env_clear()
        .env("LD_LIBRARY_PATH", "/sockfix-probe/$LIB/sockfix-probe")
        .env("LD_PRELOAD", "sockfix-probe-absent.so")
        .env("LD_DEBUG", "libs")
        .arg("--list")
        .arg(loader);
    let Ok(ran) = run_bounded(&mut c, 10) else { return DstLib::Unknown };
    let text = format!("{}{}", String::from_utf8_lossy(&ran.stdout), String::from_utf8_lossy(&ran.stderr));
    dst_from_search_path(&text).filter(|v| !v.is_empty()).map_or(DstLib::Unknown, DstLib::Found)
}

/// A libc.so.6 of the loader's own ABI, for a trial load of the library
/// through that loader (--list runs no code of the program: any file of the
/// right ABI does).
fn abi_libc(loader: &Path, abi: Abi, dst: &str) -> Option<PathBuf> {
    let beside = fs::canonicalize(loader).ok().and_then(|r| Some(r.parent()?.join("libc.so.6")));
    [Some(PathBuf::from(format!("/{dst}/libc.so.6"))), Some(PathBuf::from(format!("/usr/{dst}/libc.so.6"))), beside]
        .into_iter()
        .flatten()
        .find(|c| c.is_file() && elf_abi(c) == Some(abi))
}

/// The preload entry as one loader reads it: $LIB (or ${LIB}) expanded.
fn expand(entry: &str, dst: &str) -> String {
    entry.replace("${LIB}", dst).replace("$LIB", dst)
}

/// What every loader on the host would do with an entry.
#[derive(Default)]
pub struct Report {
    /// One line per loader, for people: "abi NAME (LOADER): ...".
    pub lines: Vec<String>,
    /// The ABIs whose programs would print the loader's line.
    pub missing: Vec<String>,
    /// How to mend each missing ABI.
    pub fixes: Vec<String>,
    /// Libraries of an ABI that others could replace.
    pub unsafe_libs: Vec<String>,
}

/// For each loader on the host, whether it finds a library of its own ABI
/// at `entry` ($LIB expanded as that loader does) and loads it without a
/// word on stderr.
pub fn check(entry: &str, triplet: &str) -> Report {
    let mut r = Report::default();
    for loader in host_loaders() {
        let Some(abi) = elf_abi(&loader) else { continue };
        let name = abi.to_string();
        let l = loader.display();
        let dst = match loader_dst_lib(&loader) {
            DstLib::Found(d) => d,
            DstLib::CannotRun(why) => {
                r.lines.push(format!(
                    "abi {name} ({l}): not run here: the loader cannot start on this machine ({why}), so no program of this ABI can"
                ));
                continue;
            }
            DstLib::Unknown => {
                r.lines.push(format!("abi {name} ({l}): library missing: cannot tell where this loader looks ($LIB)"));
                r.fixes
                    .push(format!("{name}: {l} --list-diagnostics names its $LIB (dl_dst_lib): the library goes in /usr/$LIB/"));
                r.missing.push(name);
                continue;
            }
        };
        let file = PathBuf::from(expand(entry, &dst));
        let why = why_missing(entry, &file, &loader, abi, &dst);
        match why {
            Some(why) => {
                r.lines.push(format!("abi {name} ({l}): library missing: {why}"));
                let target = rust_target(&name).map_or(format!("the Rust target for {name}"), String::from);
                let dir = file.parent().unwrap_or(Path::new("/")).display().to_string();
                r.fixes.push(if entry.contains("$LIB") {
                    format!("{name}: cargo build --release --target {target}, then install -m 0644 target/{target}/release/libsockfix.so {dir}/")
                } else {
                    format!(
                        "{name}: {entry} is an absolute path, which one ABI only can load; install the package's library (/usr/lib/{triplet}/libsockfix.so), so that the entry is /usr/$LIB/libsockfix.so, and the {name} library (cargo build --release --target {target}) in /usr/{dst}/"
                    )
                });
                r.missing.push(name);
            }
            None => {
                r.lines.push(format!("abi {name} ({l}): library present: {}", file.display()));
                if let Err(why) = safe_path(&file) {
                    r.unsafe_libs.push(format!("{name} library: {why}"));
                }
            }
        }
    }
    r
}

/// Why `loader`'s programs would not get the library at `file` (the entry
/// with $LIB expanded to `dst`); None when they would.
fn why_missing(entry: &str, file: &Path, loader: &Path, abi: Abi, dst: &str) -> Option<String> {
    if !file.exists() {
        return Some(format!("no {}", file.display()));
    }
    let Some(got) = elf_abi(file) else { return Some(format!("{} is not an ELF file", file.display())) };
    if got != abi {
        return Some(format!("{} is built for {got}, not {abi}", file.display()));
    }
    // What its programs would see: the entry preloaded by this very loader
    // must map the file and leave stderr empty.
    let prog = abi_libc(loader, abi, dst)?;
    let mut c = Command::new(loader);
    c.env_clear().env("LD_PRELOAD", entry).arg("--list").arg(&prog);
    let not_mapped = || format!("a trial load through {} did not map {}", loader.display(), file.display());
    let Ok(ran) = run_bounded(&mut c, 20) else { return Some(not_mapped()) };
    let err = String::from_utf8_lossy(&ran.stderr);
    if let Some(line) = err.lines().find(|l| l.contains("libsockfix")) {
        return Some(format!("its loader says: {}", head(line.as_bytes(), 300)));
    }
    if !String::from_utf8_lossy(&ran.stdout).contains(&*file.to_string_lossy()) {
        return Some(not_mapped());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loader_names() {
        for n in ["ld-linux-x86-64.so.2", "ld-linux.so.2", "ld64.so.1", "ld.so.1", "ld-linux-aarch64.so.1"] {
            assert!(is_loader_name(n), "{n}");
        }
        for n in ["ld-musl-x86_64.so.1", "ld.so.conf", "ld-linux.so", "libc.so.6"] {
            assert!(!is_loader_name(n), "{n}");
        }
    }

    #[test]
    fn search_path_probe() {
        let t = "  search path=/sockfix-probe/lib32/sockfix-probe/tls:/sockfix-probe/lib32/sockfix-probe\t\t(LD_LIBRARY_PATH)\n";
        assert_eq!(dst_from_search_path(t).as_deref(), Some("lib32"));
        assert_eq!(expand("/usr/$LIB/libsockfix.so", "lib32"), "/usr/lib32/libsockfix.so");
    }
}
