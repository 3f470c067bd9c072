//! Compiles the companion's BPF programs (../bpf/sockfix.bpf.c) with
//! `clang -target bpf` into OUT_DIR; `sockfix bpf` carries the object in
//! its binary (include_bytes!). Needs clang and libbpf's headers (Debian:
//! clang, libbpf-dev); `CLANG` names another clang.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let bpf = manifest.join("../bpf");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("sockfix.bpf.o");
    for f in ["sockfix.bpf.c", "sockfix.h"] {
        println!("cargo:rerun-if-changed={}", bpf.join(f).display());
    }
    println!("cargo:rerun-if-env-changed=CLANG");
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".into());
    // linux/bpf.h includes asm/types.h, which Debian keeps under the
    // multiarch directory: -target bpf does not look there by itself.
    let multiarch = Command::new("cc")
        .arg("-print-multiarch")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| format!("{}-linux-gnu", std::env::var("CARGO_CFG_TARGET_ARCH").unwrap()));
    // -mcpu=v3: 32-bit atomics (Linux 5.12+); -g: BTF, which the loader
    // needs for the maps' definitions.
    let status = Command::new(&clang)
        .args(["-O2", "-g", "-Wall", "-Werror", "-mcpu=v3", "-target", "bpf"])
        .arg(format!("-I/usr/include/{multiarch}"))
        .arg("-I")
        .arg(&bpf)
        .arg("-c")
        .arg(bpf.join("sockfix.bpf.c"))
        .arg("-o")
        .arg(&out)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("{clang} failed ({s}) on bpf/sockfix.bpf.c"),
        Err(e) => panic!(
            "cannot run {clang} ({e}): the sockfix command carries the eBPF companion, built with clang -target bpf \
             (Debian: apt-get install clang libbpf-dev; or set CLANG)"
        ),
    }
}
