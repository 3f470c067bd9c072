//! What a `no_std` cdylib must provide itself: a link to the C library, a
//! heap (a bump allocator, used only by the constructor for the settings;
//! hooks never allocate) and a panic handler (abort), the two unwinding symbols
//! that the precompiled `alloc` still names, and what the C start files
//! would have provided (the library is linked without them: build.rs).

// Without std nothing names the C library as needed; say it here. libc's
// functions the library calls are found in libc's own symbol table
// (real.rs), so very little is imported; libpthread and libdl are not named:
// glibc before 2.34 kept the pthread keys and dlsym there, and the library
// needs 2.34 or later (where they are libc's), as its dl_iterate_phdr and
// symbol versions show.
#[cfg(not(test))]
#[link(name = "c")]
extern "C" {}

/// This library's handle for __register_atfork: any address unique to the
/// library will do (crtbeginS.o's `__dso_handle` is such an address, used
/// to unregister the handlers when the object is unloaded; this library is
/// never unloaded: -z nodelete).
pub fn dso_handle() -> *mut libc::c_void {
    static HANDLE: u8 = 0;
    core::ptr::addr_of!(HANDLE) as *mut libc::c_void
}

/// memcpy, memset, bcmp and strlen, which compiled code calls, for this
/// library only (hidden: the program's and libc's stay theirs). Imported,
/// each would cost every process a symbol lookup and an IFUNC resolver
/// call at start-up (about 3,000 instructions for the four); these are
/// plain string instructions, fast enough for the few small copies the
/// library makes (a sockaddr, a sigaction, the settings at start-up).
/// Written in assembly so the compiler cannot turn them into calls to
/// themselves. Elsewhere than x86_64, libc's are used.
#[cfg(all(not(test), target_arch = "x86_64"))]
mod string_functions {
    core::arch::global_asm!(
        ".pushsection .text.sockfix_string,\"ax\",@progbits",
        ".globl memcpy",
        ".hidden memcpy",
        ".type memcpy,@function",
        "memcpy:",
        "    mov rax, rdi",
        "    mov rcx, rdx",
        "    shr rcx, 3",
        "    rep movsq",
        "    mov rcx, rdx",
        "    and rcx, 7",
        "    rep movsb",
        "    ret",
        ".size memcpy, . - memcpy",
        ".globl memset",
        ".hidden memset",
        ".type memset,@function",
        "memset:",
        "    mov r8, rdi",
        "    movzx eax, sil",
        "    movabs rcx, 0x0101010101010101",
        "    imul rax, rcx",
        "    mov rcx, rdx",
        "    shr rcx, 3",
        "    rep stosq",
        "    mov rcx, rdx",
        "    and rcx, 7",
        "    rep stosb",
        "    mov rax, r8",
        "    ret",
        ".size memset, . - memset",
        // 0 when equal; with a zero length `repe cmpsb` does nothing and
        // leaves the flags of `xor` (equal).
        ".globl bcmp",
        ".hidden bcmp",
        ".type bcmp,@function",
        "bcmp:",
        "    mov rcx, rdx",
        "    xor eax, eax",
        "    repe cmpsb",
        "    setne al",
        "    ret",
        ".size bcmp, . - bcmp",
        ".globl memcmp",
        ".hidden memcmp",
        ".type memcmp,@function",
        "memcmp:",
        "    mov rcx, rdx",
        "    xor eax, eax",
        "    repe cmpsb",
        "    je 2f",
        "    movzx eax, byte ptr [rdi - 1]",
        "    movzx ecx, byte ptr [rsi - 1]",
        "    sub eax, ecx",
        "2:  ret",
        ".size memcmp, . - memcmp",
        ".globl strlen",
        ".hidden strlen",
        ".type strlen,@function",
        "strlen:",
        "    mov rcx, -1",
        "    xor eax, eax",
        "    repne scasb",
        "    not rcx",
        "    lea rax, [rcx - 1]",
        "    ret",
        ".size strlen, . - strlen",
        ".popsection",
    );
}

#[cfg(not(test))]
mod heap {
    use core::alloc::{GlobalAlloc, Layout};
    use core::sync::atomic::{AtomicUsize, Ordering::*};

    /// The heap: only the constructor allocates (the settings, built once;
    /// hooks never allocate), so it is a bump allocator, not libc's malloc.
    /// malloc would cost every process three imports, its first-use set-up
    /// (about 2,300 instructions) and three syscalls (getrandom, two brk),
    /// and a program that brings its own malloc would get it called from
    /// inside the loader's constructor pass. Memory is handed out front to
    /// back from a static arena (in .bss: a page is only paid for when
    /// touched), then from 64 KiB chunks mapped with mmap; only the last
    /// block of the current region can be given back or grown in place
    /// (what a growing Vec or String needs), the rest stays until exit. A
    /// config file of a few hundred lines stays within the arena.
    struct Bump;

    const ARENA_BYTES: usize = 16 * 1024;
    const CHUNK_BYTES: usize = 64 * 1024;
    const HEADER: usize = 16;

    #[repr(C, align(16))]
    struct Arena {
        data: [u8; ARENA_BYTES],
    }

    /// The static arena, and how much of it is used.
    static mut ARENA: Arena = Arena { data: [0; ARENA_BYTES] };
    static ARENA_USED: AtomicUsize = AtomicUsize::new(0);
    /// The current region: 0 for the arena, else the address of a mapped
    /// chunk, which starts with its size and how much of it is used.
    static HEAD: AtomicUsize = AtomicUsize::new(0);

    #[repr(C)]
    struct Chunk {
        size: usize,
        used: AtomicUsize,
    }

    /// The current region: its first byte, its size, its use counter.
    fn region() -> (usize, usize, usize, &'static AtomicUsize) {
        let head = HEAD.load(Acquire);
        if head == 0 {
            // Only the address of the arena is taken; its bytes are reached
            // through the blocks handed out.
            (head, core::ptr::addr_of!(ARENA) as usize, ARENA_BYTES, &ARENA_USED)
        } else {
            // SAFETY: a chunk mapped and initialised by `grow`, never unmapped.
            let chunk = unsafe { &*(head as *const Chunk) };
            (head, head + HEADER, chunk.size, &chunk.used)
        }
    }

    /// Maps a chunk for at least `need` bytes at `align` and makes it the
    /// current region (unless another thread did so first). False when
    /// the mapping failed.
    fn grow(head: usize, need: usize, align: usize) -> bool {
        let Some(len) = need.checked_add(align + HEADER).map(|n| n.max(CHUNK_BYTES).next_multiple_of(4096)) else {
            return false;
        };
        #[cfg(target_pointer_width = "64")]
        let nr = libc::SYS_mmap;
        #[cfg(target_pointer_width = "32")]
        let nr = libc::SYS_mmap2;
        let prot = libc::PROT_READ | libc::PROT_WRITE;
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
        // SAFETY: a new anonymous mapping; nothing else is touched.
        let p = unsafe { crate::sys::syscall!(nr, 0, len, prot, flags, -1, 0) };
        if (-4095..0).contains(&p) {
            return false;
        }
        let p = p as usize;
        // SAFETY: `p` is a fresh, writable, page-aligned mapping of `len` bytes.
        unsafe { core::ptr::write(p as *mut Chunk, Chunk { size: len - HEADER, used: AtomicUsize::new(0) }) };
        if HEAD.compare_exchange(head, p, AcqRel, Acquire).is_err() {
            // SAFETY: the chunk was never published.
            unsafe { crate::sys::syscall!(libc::SYS_munmap, p, len) };
        }
        true
    }

    // SAFETY: every block is carved out of a region no other block uses
    // (the use counter only moves forward past a block, or back over the
    // last block when it is freed), with the layout's size and alignment.
    unsafe impl GlobalAlloc for Bump {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            loop {
                let (head, base, size, used) = region();
                let at = used.load(Relaxed);
                let start = (base + at).next_multiple_of(layout.align()) - base;
                match start.checked_add(layout.size()) {
                    Some(end) if end <= size => {
                        if used.compare_exchange(at, end, AcqRel, Relaxed).is_ok() {
                            return (base + start) as *mut u8;
                        }
                    }
                    _ => {
                        if !grow(head, layout.size(), layout.align()) {
                            return core::ptr::null_mut();
                        }
                    }
                }
            }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // Only the last block of the current region comes back.
            let (_, base, _, used) = region();
            let start = (ptr as usize).wrapping_sub(base);
            let end = start.wrapping_add(layout.size());
            let _ = used.compare_exchange(end, start, AcqRel, Relaxed);
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // The last block of the current region grows (or shrinks) in place.
            let (_, base, size, used) = region();
            let start = (ptr as usize).wrapping_sub(base);
            if start < size {
                let end = start + layout.size();
                if let Some(new_end) = start.checked_add(new_size).filter(|&e| e <= size) {
                    if used.compare_exchange(end, new_end, AcqRel, Relaxed).is_ok() {
                        return ptr;
                    }
                }
            }
            // SAFETY: as GlobalAlloc's default: allocate, copy, free.
            let new = self.alloc(Layout::from_size_align_unchecked(new_size, layout.align()));
            if !new.is_null() {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }

    #[global_allocator]
    static HEAP: Bump = Bump;

    /// Nothing here is meant to panic (the code is written not to); if it
    /// ever does, abort rather than unwind through the program's frames.
    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo) -> ! {
        never_unwinds()
    }

    /// `alloc`'s precompiled `fmt::format` has a landing pad, so it names
    /// `_Unwind_Resume` and `rust_eh_personality`; nothing would define them
    /// (no std, no libgcc_s) and the library would fail to load. No unwind
    /// ever starts here (panics abort), so both only abort. They are
    /// hidden: a C++ program's own `_Unwind_Resume` must stay the one it
    /// gets.
    extern "C" fn never_unwinds() -> ! {
        // SAFETY: abort has no preconditions (libc's, found by the
        // constructor; should it be missing, the stub exits).
        unsafe { crate::real::abort() };
        loop {
            core::hint::spin_loop();
        }
    }

    core::arch::global_asm!(
        ".globl _Unwind_Resume",
        ".hidden _Unwind_Resume",
        ".set _Unwind_Resume, {f}",
        ".globl rust_eh_personality",
        ".hidden rust_eh_personality",
        ".set rust_eh_personality, {f}",
        f = sym never_unwinds,
    );
}
