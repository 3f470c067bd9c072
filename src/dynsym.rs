//! Loaded objects' dynamic symbol tables, read directly: how the
//! constructor finds libc's functions in one pass over the link map instead
//! of one `dlsym(RTLD_NEXT)` each (about 880 instructions a call, most of
//! it dlsym's error-catching frame: 31k instructions at every process start
//! for 36 functions; a lookup here is about a tenth of that).
//!
//! What `dlsym(RTLD_NEXT, name)` answers from this library is the first
//! definition in the global search scope after it. At start-up the link map
//! (the order `dl_iterate_phdr` walks) is that scope: the program, the
//! preloaded libraries, then the program's dependencies breadth first, libc
//! among them. So libc's own definition is what dlsym would answer, when
//! (1) this library comes before libc.so.6 in the link map (not so when it
//! was dlopen'ed), (2) no object between the two defines the name (a second
//! `LD_PRELOAD` entry that wraps `connect`, say), and (3) libc's definition
//! is plain: exactly one default (not hidden) version, a function, not an
//! IFUNC (whose resolver dlsym would call). `Scan` checks (1) and (2) and
//! `Table::lookup` (3); anything else is left to dlsym itself.
//!
//! Nothing here allocates or takes a lock: it only reads the loader's
//! mapped tables.

use libc::{c_int, c_void, size_t};

#[cfg(target_pointer_width = "64")]
type Sym = libc::Elf64_Sym;
#[cfg(target_pointer_width = "32")]
type Sym = libc::Elf32_Sym;

/// ElfN_Dyn: a tag and a value, each one word of the ELF class.
#[repr(C)]
struct Dyn {
    tag: isize,
    val: usize,
}

const DT_NULL: isize = 0;
const DT_STRTAB: isize = 5;
const DT_SYMTAB: isize = 6;
const DT_STRSZ: isize = 10;
const DT_GNU_HASH: isize = 0x6fff_fef5;
const DT_VERSYM: isize = 0x6fff_fff0;
const STT_FUNC: u8 = 2;
const SHN_UNDEF: u16 = 0;
const STB_GLOBAL: u8 = 1;
const STB_WEAK: u8 = 2;
const VERSYM_HIDDEN: u16 = 0x8000;

/// The GNU hash of the NUL-terminated name at `bytes[start..]` (computed
/// at compile time for ours).
pub const fn gnu_hash(bytes: &[u8], start: usize) -> u32 {
    let mut h: u32 = 5381;
    let mut i = start;
    while i < bytes.len() && bytes[i] != 0 {
        h = h.wrapping_mul(33).wrapping_add(bytes[i] as u32);
        i += 1;
    }
    h
}

/// A name to look up, laid out at compile time for a cheap comparison: its
/// bytes and NUL in three little-endian words (so at most 23 bytes long),
/// masks that keep only those bytes, its length with the NUL and its GNU
/// hash. No pointer: a table of keys needs no relocation.
#[derive(Clone, Copy)]
pub struct Key {
    words: [u64; 3],
    masks: [u64; 3],
    len: u32,
    pub hash: u32,
}

impl Key {
    /// The key of the NUL-terminated name at `bytes[start..]` (a compile
    /// error when it is longer than 23 bytes).
    pub const fn new(bytes: &[u8], start: usize) -> Key {
        let (mut words, mut masks) = ([0u64; 3], [0u64; 3]);
        let mut i = 0;
        loop {
            let b = bytes[start + i];
            words[i / 8] |= (b as u64) << (8 * (i % 8));
            masks[i / 8] |= 0xff << (8 * (i % 8));
            i += 1;
            if b == 0 {
                break;
            }
        }
        Key { words, masks, len: i as u32, hash: gnu_hash(bytes, start) }
    }

    fn byte(&self, i: usize) -> u8 {
        (self.words[i / 8] >> (8 * (i % 8))) as u8
    }
}

/// One loaded object's dynamic symbol table, with its GNU hash table's
/// header read once.
#[derive(Clone, Copy)]
pub struct Table {
    base: usize,
    symtab: *const Sym,
    strtab: *const u8,
    strsz: usize,
    versym: *const u16,
    nbuckets: u32,
    symoffset: u32,
    bloom_size: u32,
    bloom_shift: u32,
    bloom: *const usize,
    buckets: *const u32,
    chain: *const u32,
}

impl Table {
    /// The table of a loaded object, from its PT_DYNAMIC segment. None when
    /// it has no GNU hash table or no symbol or string table (then nothing
    /// about it can be checked cheaply).
    ///
    /// # Safety
    /// `info` describes a live object (a dl_iterate_phdr callback's).
    unsafe fn of(info: &libc::dl_phdr_info) -> Option<Table> {
        let base = info.dlpi_addr as usize;
        let phdrs = core::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum));
        let dynamic = phdrs.iter().find(|ph| ph.p_type == libc::PT_DYNAMIC)?;
        let mut d = base.wrapping_add(dynamic.p_vaddr as usize) as *const Dyn;
        // glibc rewrites these entries to absolute addresses where the
        // dynamic section is writable; elsewhere (the vDSO, read-only
        // dynamic sections) they stay offsets from the load address.
        let addr = |v: usize| if v < base { base.wrapping_add(v) } else { v };
        let (mut symtab, mut strtab, mut strsz, mut versym, mut gnu_hash) = (0, 0, 0, 0, 0);
        while (*d).tag != DT_NULL {
            match (*d).tag {
                DT_SYMTAB => symtab = addr((*d).val),
                DT_STRTAB => strtab = addr((*d).val),
                DT_STRSZ => strsz = (*d).val,
                DT_VERSYM => versym = addr((*d).val),
                DT_GNU_HASH => gnu_hash = addr((*d).val),
                _ => {}
            }
            d = d.add(1);
        }
        if symtab == 0 || strtab == 0 || gnu_hash == 0 {
            return None;
        }
        let h = gnu_hash as *const u32;
        let (nbuckets, symoffset, bloom_size, bloom_shift) = (*h, *h.add(1), *h.add(2), *h.add(3));
        let bloom = h.add(4) as *const usize;
        let buckets = bloom.add(bloom_size as usize) as *const u32;
        Some(Table {
            base,
            symtab: symtab as *const Sym,
            strtab: strtab as *const u8,
            strsz,
            versym: versym as *const u16,
            nbuckets,
            symoffset,
            bloom_size,
            bloom_shift,
            bloom,
            buckets,
            chain: buckets.add(nbuckets as usize),
        })
    }

    /// The bloom filter's answer: false means the object surely lacks it.
    unsafe fn may_have(&self, hash: u32) -> bool {
        const BITS: u32 = usize::BITS;
        if self.bloom_size == 0 {
            return false;
        }
        let word = *self.bloom.add(((hash / BITS) % self.bloom_size) as usize);
        let mask = (1usize << (hash % BITS)) | (1usize << ((hash >> self.bloom_shift) % BITS));
        word & mask == mask
    }

    /// Calls `each(index, symbol)` for every symbol named `key`: the bucket
    /// and its chain, to its end, looking at a name only when its hash is
    /// the key's. Used for the objects between this library and libc;
    /// `lookup` has the same walk written out. The symbol is lent for the
    /// call only (`'static` stands for "the object's lifetime", which
    /// outlives the constructor pass).
    #[inline(always)]
    unsafe fn each_named(&self, key: &Key, mut each: impl FnMut(usize, &'static Sym)) {
        if self.nbuckets == 0 {
            return;
        }
        let first = *self.buckets.add((key.hash % self.nbuckets) as usize);
        if first < self.symoffset {
            return;
        }
        let start = self.chain.add((first - self.symoffset) as usize);
        let mut p = start;
        loop {
            let h = *p;
            // The low bit marks the chain's end; the rest is the hash.
            if (h ^ key.hash) >> 1 == 0 {
                let index = first as usize + p.offset_from(start) as usize;
                let sym = &*self.symtab.add(index);
                if self.same_name(sym.st_name as usize, key) {
                    each(index, sym);
                }
            }
            if h & 1 != 0 {
                return;
            }
            p = p.add(1);
        }
    }

    /// Whether the string at `at` in the string table is the key's name:
    /// three words compared under the key's masks where the table is long
    /// enough to read them, else byte by byte, stopping at the first
    /// difference (nothing is read past the table).
    #[inline(always)]
    unsafe fn same_name(&self, at: usize, key: &Key) -> bool {
        let s = self.strtab.add(at);
        if at.saturating_add(24) <= self.strsz {
            let word = |i: usize| u64::from_le_bytes(core::ptr::read_unaligned(s.add(8 * i) as *const [u8; 8]));
            return ((word(0) ^ key.words[0]) & key.masks[0])
                | ((word(1) ^ key.words[1]) & key.masks[1])
                | ((word(2) ^ key.words[2]) & key.masks[2])
                == 0;
        }
        same_name_bytewise(s, key)
    }

    /// Whether the object defines the key's name at all (any version, any
    /// type).
    ///
    /// # Safety
    /// The table's object is still loaded.
    pub unsafe fn defines(&self, key: &Key) -> bool {
        let mut defined = false;
        if self.may_have(key.hash) {
            self.each_named(key, |_, sym| defined |= sym.st_shndx != SHN_UNDEF);
        }
        defined
    }

    /// The definition an unversioned `dlsym` would pick in this object,
    /// when it is plain: exactly one definition that is not a hidden
    /// version, a function (not an IFUNC, not data) with an address. None
    /// for anything else, not found included: the caller asks dlsym then.
    /// The same walk as `each_named`, written out: every process makes about
    /// forty of these at start-up.
    ///
    /// # Safety
    /// The table's object is still loaded.
    #[inline(always)]
    pub unsafe fn lookup(&self, key: &Key) -> Option<usize> {
        if self.nbuckets == 0 {
            return None;
        }
        let symoffset = self.symoffset as usize;
        let mut index = *self.buckets.add((key.hash % self.nbuckets) as usize) as usize;
        if index < symoffset {
            return None;
        }
        let (mut found, mut unusual) = (0usize, false);
        loop {
            let h = *self.chain.add(index - symoffset);
            // The low bit marks the chain's end; the rest is the hash.
            if (h ^ key.hash) >> 1 == 0 {
                let sym = &*self.symtab.add(index);
                // Undefined references and local symbols are not
                // definitions (the loader skips them too), and a hidden
                // version (name@VERSION, not name@@VERSION) is never what an
                // unversioned lookup finds.
                let bind = sym.st_info >> 4;
                if self.same_name(sym.st_name as usize, key)
                    && sym.st_shndx != SHN_UNDEF
                    && (bind == STB_GLOBAL || bind == STB_WEAK)
                    && (self.versym.is_null() || *self.versym.add(index) & VERSYM_HIDDEN == 0)
                {
                    unusual |= found != 0 || sym.st_info & 0xf != STT_FUNC || sym.st_value == 0;
                    found = self.base.wrapping_add(sym.st_value as usize);
                }
            }
            if h & 1 != 0 {
                break;
            }
            index += 1;
        }
        (found != 0 && !unusual).then_some(found)
    }
}

/// Objects between this library and libc whose tables are kept; with more,
/// every hooked name goes to dlsym.
const MAX_BETWEEN: usize = 16;

/// What one pass over the link map found.
pub struct Scan {
    /// An address inside this library, and its ELF header's (to know it
    /// in the link map).
    here: usize,
    own_header: usize,
    /// This library's address range (0, 0 when not found).
    pub own: (usize, usize),
    /// libc.so.6's table, wherever it is in the link map.
    pub libc: Option<Table>,
    /// libc came after this library: its answers can be dlsym(RTLD_NEXT)'s.
    pub libc_is_next: bool,
    /// The objects between this library and libc, which may define hooked
    /// names first; `between_unknown` when one could not be read (no GNU
    /// hash table) or there were too many.
    between: [Option<Table>; MAX_BETWEEN],
    n_between: usize,
    between_unknown: bool,
    seen_self: bool,
}

impl Scan {
    pub fn run(here: usize) -> Scan {
        extern "C" {
            /// The linker's symbol for this object's own ELF header.
            static __ehdr_start: u8;
        }
        let mut scan = Scan {
            here,
            own_header: core::ptr::addr_of!(__ehdr_start) as usize,
            own: (0, 0),
            libc: None,
            libc_is_next: false,
            between: [None; MAX_BETWEEN],
            n_between: 0,
            between_unknown: false,
            seen_self: false,
        };
        // SAFETY: `visit` matches the callback type and `scan` outlives the
        // call; the callback keeps no pointer to it.
        unsafe { libc::dl_iterate_phdr(Some(visit), &mut scan as *mut Scan as *mut c_void) };
        scan
    }

    /// Whether libc's definition of `name` is what dlsym(RTLD_NEXT) from
    /// this library answers, as far as the objects in between go: none of
    /// them defines it.
    #[inline(always)]
    pub fn nothing_between_defines(&self, key: &Key) -> bool {
        if !self.libc_is_next || self.between_unknown {
            return false;
        }
        if self.n_between == 0 {
            return true;
        }
        // SAFETY: the objects were loaded at start-up and stay loaded
        // (nothing unloads during the constructor).
        self.between.iter().take(self.n_between).flatten().all(|t| unsafe { !t.defines(key) })
    }
}

unsafe extern "C" fn visit(info: *mut libc::dl_phdr_info, _size: size_t, data: *mut c_void) -> c_int {
    // SAFETY: the loader passes a valid dl_phdr_info; `data` is the Scan.
    let (info, scan) = (&*info, &mut *(data as *mut Scan));
    // This library is the object loaded where its own ELF header is (only
    // its span is computed, not every object's).
    if !scan.seen_self && info.dlpi_addr as usize == scan.own_header {
        let phdrs = core::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum));
        let base = info.dlpi_addr as usize;
        let (mut start, mut end) = (usize::MAX, 0);
        for ph in phdrs.iter().filter(|ph| ph.p_type == libc::PT_LOAD) {
            start = start.min(base.wrapping_add(ph.p_vaddr as usize));
            end = end.max(base.wrapping_add(ph.p_vaddr as usize).wrapping_add(ph.p_memsz as usize));
        }
        if (start..end).contains(&scan.here) {
            scan.own = (start, end);
            scan.seen_self = true;
            // libc already seen: this library was dlopen'ed after it.
            return c_int::from(scan.libc.is_some());
        }
    }
    if is_libc(info) {
        scan.libc = Table::of(info);
        scan.libc_is_next = scan.seen_self && scan.libc.is_some();
        // Before this library: go on, to find this library's range.
        return c_int::from(scan.seen_self);
    }
    if scan.seen_self {
        // An object between this library and libc.
        match Table::of(info) {
            Some(t) if scan.n_between < MAX_BETWEEN => {
                scan.between[scan.n_between] = Some(t);
                scan.n_between += 1;
            }
            _ => scan.between_unknown = true,
        }
    }
    0
}

/// The string at `s` compared with the key's name byte by byte, stopping at
/// the first difference: for a string near the end of its table. Out of
/// line, so the usual path does not pay for preparing it.
#[cold]
#[inline(never)]
unsafe fn same_name_bytewise(s: *const u8, key: &Key) -> bool {
    (0..key.len as usize).all(|i| *s.add(i) == key.byte(i))
}

/// Whether a loaded object is libc.so.6 (by its file name, "libc.so.6"
/// or a path ending in "/libc.so.6").
unsafe fn is_libc(info: &libc::dl_phdr_info) -> bool {
    if info.dlpi_name.is_null() {
        return false;
    }
    let name = core::ffi::CStr::from_ptr(info.dlpi_name).to_bytes();
    name == b"libc.so.6" || name.ends_with(b"/libc.so.6")
}
