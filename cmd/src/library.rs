//! Where libsockfix.so is: `--library`, `$SOCKFIX_LIBRARY`, the package's
//! /usr/lib/TRIPLET/, /usr/local/lib/, the build tree beside this command
//! (target/release/ next to target/release/sockfix).

use std::path::{Path, PathBuf};

/// The Debian multiarch triplet of this machine (x86_64-linux-gnu): the
/// directory this very process's libc was loaded from (what ld.so calls
/// `$LIB`), else what the build target says.
pub fn multiarch() -> String {
    if let Ok(maps) = std::fs::read_to_string("/proc/self/maps") {
        for line in maps.lines() {
            let path = line.rsplit(' ').next().unwrap_or("");
            if let Some(dir) = path.strip_suffix("/libc.so.6") {
                let t = dir.rsplit('/').next().unwrap_or("");
                if t.contains('-') {
                    return t.to_string();
                }
            }
        }
    }
    let arch = std::env::consts::ARCH;
    match arch {
        "x86" => "i386-linux-gnu".into(),
        "arm" => "arm-linux-gnueabihf".into(),
        "powerpc64" => "powerpc64le-linux-gnu".into(),
        _ => format!("{arch}-linux-gnu"),
    }
}

/// An absolute path, with `.` and `..` taken out but symbolic links kept
/// (realpath -s).
pub fn abspath(p: &Path) -> PathBuf {
    let joined = if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir().unwrap_or_default().join(p) };
    let mut out = PathBuf::from("/");
    for c in joined.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out
}

/// The build tree's target/release/, when this command runs from one.
fn build_tree() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.to_path_buf())
}

/// The library to use. Err: why none was found, for the user.
pub fn find(explicit: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = explicit {
        return if p.is_file() { Ok(abspath(p)) } else { Err(format!("--library {}: no such file", p.display())) };
    }
    if let Some(v) = std::env::var_os("SOCKFIX_LIBRARY").filter(|v| !v.is_empty()) {
        let p = PathBuf::from(&v);
        return if p.is_file() { Ok(abspath(&p)) } else { Err(format!("SOCKFIX_LIBRARY={}: no such file", p.display())) };
    }
    let t = multiarch();
    let mut places = vec![PathBuf::from(format!("/usr/lib/{t}/libsockfix.so")), PathBuf::from("/usr/local/lib/libsockfix.so")];
    places.extend(build_tree().map(|d| d.join("libsockfix.so")));
    if let Some(found) = places.iter().find(|p| p.is_file()) {
        return Ok(abspath(found));
    }
    let looked: Vec<String> = places.iter().map(|p| p.parent().unwrap_or(p).display().to_string()).collect();
    Err(format!(
        "libsockfix.so not found (looked in {}); install the libsockfix package, or set SOCKFIX_LIBRARY",
        looked.join(", ")
    ))
}
