//! Is an executable a Go program? Go's toolchain writes a `.go.buildinfo`
//! section (and `.note.go.buildid`) into every binary it links; a Go
//! program makes its own system calls for the network, so an LD_PRELOAD
//! library never sees its connections, even when it is dynamically linked.
//! Only the ELF section headers are read (ELF64 and ELF32, little and big
//! endian), never the whole file.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Section-header tables longer than this are not believed.
const MAX_SECTIONS: usize = 4096;
/// Section-name tables longer than this are not read.
const MAX_NAMES: u64 = 1 << 20;

/// Whether `path` is an ELF file with a Go build-info section. Any read or
/// format problem answers false.
pub fn is_go(path: &Path) -> bool {
    section_names(path).is_some_and(|names| names.iter().any(|n| n == ".go.buildinfo" || n == ".note.go.buildid"))
}

fn section_names(path: &Path) -> Option<Vec<String>> {
    let mut f = File::open(path).ok()?;
    let mut ident = [0u8; 64];
    f.read_exact(&mut ident).ok()?;
    if &ident[..4] != b"\x7fELF" {
        return None;
    }
    let wide = ident[4] == 2;
    let big = ident[5] == 2;
    let u16_at = |b: &[u8], o: usize| -> u64 {
        let v = [b[o], b[o + 1]];
        u64::from(if big { u16::from_be_bytes(v) } else { u16::from_le_bytes(v) })
    };
    let u32_at = |b: &[u8], o: usize| -> u64 {
        let v = [b[o], b[o + 1], b[o + 2], b[o + 3]];
        u64::from(if big { u32::from_be_bytes(v) } else { u32::from_le_bytes(v) })
    };
    let u64_at = |b: &[u8], o: usize| -> u64 {
        let mut v = [0u8; 8];
        v.copy_from_slice(&b[o..o + 8]);
        if big {
            u64::from_be_bytes(v)
        } else {
            u64::from_le_bytes(v)
        }
    };
    // e_shoff, e_shentsize, e_shnum, e_shstrndx.
    let (shoff, shentsize, shnum, shstrndx) = if wide {
        (u64_at(&ident, 0x28), u16_at(&ident, 0x3a), u16_at(&ident, 0x3c), u16_at(&ident, 0x3e))
    } else {
        (u32_at(&ident, 0x20), u16_at(&ident, 0x2e), u16_at(&ident, 0x30), u16_at(&ident, 0x32))
    };
    let (entsize, shnum) = (shentsize as usize, shnum as usize);
    if shoff == 0 || shnum == 0 || shnum > MAX_SECTIONS || entsize < if wide { 64 } else { 40 } || shstrndx as usize >= shnum {
        return None;
    }
    let mut table = vec![0u8; entsize * shnum];
    f.seek(SeekFrom::Start(shoff)).ok()?;
    f.read_exact(&mut table).ok()?;
    // sh_name, and the name table's sh_offset and sh_size.
    let header = |i: usize| &table[i * entsize..(i + 1) * entsize];
    let (name_off, name_size) = {
        let h = header(shstrndx as usize);
        if wide {
            (u64_at(h, 0x18), u64_at(h, 0x20))
        } else {
            (u32_at(h, 0x10), u32_at(h, 0x14))
        }
    };
    if name_size > MAX_NAMES {
        return None;
    }
    let mut names = vec![0u8; name_size as usize];
    f.seek(SeekFrom::Start(name_off)).ok()?;
    f.read_exact(&mut names).ok()?;
    let name_of = |i: usize| {
        let start = u32_at(header(i), 0) as usize;
        let rest = names.get(start..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        Some(String::from_utf8_lossy(&rest[..end]).into_owned())
    };
    Some((0..shnum).filter_map(name_of).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_program_is_no_go_program() {
        let exe = std::env::current_exe().unwrap();
        assert!(super::section_names(&exe).is_some_and(|n| n.iter().any(|s| s == ".text")));
        assert!(!super::is_go(&exe));
        assert!(!super::is_go(std::path::Path::new("/nonexistent")));
    }
}
