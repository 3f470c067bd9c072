//! What a `no_std` cdylib must provide itself: links to the C library (so
//! its symbols bind to versioned glibc definitions), a heap (libc's malloc,
//! used only by the constructor for the settings; hooks never allocate) and
//! a panic handler (abort), and the two unwinding symbols that the
//! precompiled `alloc` still names.

// Without std nothing names the C library as needed; say it here. Before
// glibc 2.34 the pthread keys and dlsym lived in libpthread and libdl (since
// then those are empty archives, and --as-needed drops them): without them a
// program that does not load those libraries itself could not load this one.
#[cfg(not(test))]
#[link(name = "c")]
#[link(name = "pthread")]
#[link(name = "dl")]
extern "C" {}

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
        // SAFETY: abort has no preconditions.
        unsafe { libc::abort() }
    }

    /// `alloc`'s precompiled `fmt::format` has a landing pad, so it names
    /// `_Unwind_Resume` and `rust_eh_personality`; nothing would define them
    /// (no std, no libgcc_s) and the library would fail to load. No unwind
    /// ever starts here (panics abort), so both only abort. They are
    /// hidden: a C++ program's own `_Unwind_Resume` must stay the one it
    /// gets.
    extern "C" fn never_unwinds() -> ! {
        // SAFETY: abort has no preconditions.
        unsafe { libc::abort() }
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
