//! What a `no_std` cdylib must provide itself: a link to the C library, a
//! heap (libc's malloc, used only by the constructor for the settings; hooks
//! never allocate) and a panic handler (abort), the two unwinding symbols
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

    struct Malloc;

    /// malloc's alignment guarantee (glibc and musl: 16 bytes on 64-bit).
    const MALLOC_ALIGN: usize = 2 * core::mem::size_of::<usize>();

    // SAFETY: every pointer handed out comes from malloc/aligned_alloc with at
    // least the layout's size and alignment, and is returned to free.
    unsafe impl GlobalAlloc for Malloc {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            if layout.align() <= MALLOC_ALIGN {
                libc::malloc(layout.size()).cast()
            } else {
                let size = layout.size().next_multiple_of(layout.align());
                libc::aligned_alloc(layout.align(), size).cast()
            }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
            libc::free(ptr.cast())
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            if layout.align() <= MALLOC_ALIGN {
                return libc::realloc(ptr.cast(), new_size).cast();
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
    static HEAP: Malloc = Malloc;

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
