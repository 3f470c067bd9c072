//! Is an executable a Go program? Go's toolchain writes a `.go.buildinfo`
//! section (and `.note.go.buildid`) into every binary it links; a Go
//! program makes its own system calls for the network, so an LD_PRELOAD
//! library never sees its connections, even when it is dynamically linked.
//! Only the ELF header, the section headers and the section names are read
//! (ELF64 and ELF32, little and big endian, through the `object` crate),
//! never the whole file.

use object::elf::{FileHeader32, FileHeader64};
use object::read::elf::FileHeader;
use object::read::{FileKind, ReadCache, ReadRef};
use object::Endianness;
use std::fs::File;
use std::path::Path;

/// Whether `path` is an ELF file with a Go build-info section. Any read or
/// format problem answers false.
pub fn is_go(path: &Path) -> bool {
    go_section(path).unwrap_or(false)
}

/// Whether `path` has a Go section; None when it cannot be read as ELF.
fn go_section(path: &Path) -> Option<bool> {
    // Reads only the ranges asked for, on demand.
    let data = &ReadCache::new(File::open(path).ok()?);
    match FileKind::parse(data).ok()? {
        FileKind::Elf32 => has_go_section::<FileHeader32<Endianness>, _>(data).ok(),
        FileKind::Elf64 => has_go_section::<FileHeader64<Endianness>, _>(data).ok(),
        _ => None,
    }
}

fn has_go_section<'data, Elf: FileHeader<Endian = Endianness>, R: ReadRef<'data>>(data: R) -> object::Result<bool> {
    let header = Elf::parse(data)?;
    let endian = header.endian()?;
    let sections = header.sections(endian, data)?;
    Ok(sections.iter().any(|s| matches!(sections.section_name(endian, s), Ok(b".go.buildinfo" | b".note.go.buildid"))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use object::write::Object;
    use object::{Architecture, BinaryFormat, SectionKind};

    #[test]
    fn this_program_is_no_go_program() {
        let exe = std::env::current_exe().unwrap();
        // Its section names are read, and none is Go's.
        assert_eq!(go_section(&exe), Some(false));
        assert!(!is_go(&exe));
        // Not there, not ELF.
        assert_eq!(go_section(Path::new("/nonexistent")), None);
        assert_eq!(go_section(Path::new("/proc/self/status")), None);
        assert!(!is_go(Path::new("/nonexistent")));
    }

    /// ELF files made here, without Go: ELF64 little endian and ELF32 big
    /// endian, with and without a Go section.
    #[test]
    fn go_sections_are_found() {
        let dir = std::env::temp_dir().join(format!("sockfix-elf-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (arch, endian) in [(Architecture::X86_64, Endianness::Little), (Architecture::Mips, Endianness::Big)] {
            for (section, go) in [(".go.buildinfo", true), (".note.go.buildid", true), (".rodata", false)] {
                let mut obj = Object::new(BinaryFormat::Elf, arch, endian);
                obj.add_section(Vec::new(), section.into(), SectionKind::ReadOnlyData);
                let path = dir.join(format!("{arch:?}{section}"));
                std::fs::write(&path, obj.write().unwrap()).unwrap();
                assert_eq!(go_section(&path), Some(go), "{arch:?} {endian:?} {section}");
                assert_eq!(is_go(&path), go);
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
