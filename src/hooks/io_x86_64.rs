//! The read and write hooks on x86_64, written in assembly: resume::io's
//! fast path with the three instructions the compiler cannot save. Every
//! read of a TCP connection on a global install comes here, and a read on
//! a non-blocking socket that fails with EAGAIN (an event loop's every
//! last read) pays the whole path. What the assembly does differently:
//!
//! - the arguments and the handler-run count are pushed (one instruction
//!   each, the count straight from memory), where the compiler moves the
//!   stack pointer, loads the count and stores each word;
//! - libc's function is called and jumped to through its slot in memory
//!   (`call [slot]`), where the compiler loads an atomic into a register
//!   first;
//! - after a failure, the count is compared with the pushed copy in place.
//!
//! Everything else is as in resume::io, which the other architectures
//! use, and which recvmsg, sendto, sendmsg, connect and __recvfrom_chk
//! (seven arguments, one of them on the stack) use here too: a zero or
//! unhooked entry (`entry < HOOKED`, unsigned) jumps to libc; a negative
//! one (CHECKED) jumps to the hook's checked twin with the arguments
//! untouched; otherwise the call is made, and only a failure with a handler
//! run since it began goes on, to resume::failed, with the pushed block.
//!
//! The pushes keep the ABI's 16-byte stack alignment at the call (a pad
//! word when the count of words is even), and the unwind information
//! (.cfi directives) follows every push and pop: a thread cancelled inside
//! libc's read unwinds through this frame. c-tests/hard/t_hard_unwind_steps.sh
//! walks the stack from every instruction of every hook.

/// The size of the block for a hook of `args` arguments: a word for each
/// and for the count, and a pad word when those are an even number, so
/// that with the return address the stack moves by a multiple of 16.
pub const fn frame_bytes(args: usize) -> usize {
    let words = args + 1;
    (words + (words + 1) % 2) * 8
}

/// The x86_64 form of a read or write hook `$name` (at most six
/// arguments, all in registers); `$checked` is its checked twin, and
/// `$again` is made here: the failure path, given the pushed block.
///
/// The block, from the stack pointer up: the count RUN_COUNT had before
/// the call, then the arguments in order (fd first), then a pad word if
/// needed: a resume::Pending, which `$again` hands to resume::failed as
/// it is.
macro_rules! fast_io_hook {
    ($name:ident, $checked:ident, $again:ident, $dir:expr, $what:literal, ($($arg:ident: $ty:ty),*)) => {
        #[unsafe(naked)]
        #[no_mangle]
        pub unsafe extern "C" fn $name(fd: c_int, $($arg: $ty),*) -> ssize_t {
            core::arch::naked_asm!(
                ".cfi_startproc",
                // The entry: fdtable::hot and the compare of io_hook!.
                "mov eax, edi",
                "and eax, {mask}",
                "lea r11, [rip + {table}]",
                "mov eax, dword ptr [r11 + 4*rax]",
                "cmp eax, {hooked}",
                "jae 2f",
                "jmp qword ptr [rip + {slots} + {slot}]",
                "2:",
                "jl {checked}",
                // The block: pad, arguments from the last down, the count.
                ".if ({args} + 1) % 2 == 0",
                "sub rsp, 8",
                ".cfi_adjust_cfa_offset 8",
                ".endif",
                ".if {args} >= 6", "push r9", ".cfi_adjust_cfa_offset 8", ".endif",
                ".if {args} >= 5", "push r8", ".cfi_adjust_cfa_offset 8", ".endif",
                ".if {args} >= 4", "push rcx", ".cfi_adjust_cfa_offset 8", ".endif",
                ".if {args} >= 3", "push rdx", ".cfi_adjust_cfa_offset 8", ".endif",
                ".if {args} >= 2", "push rsi", ".cfi_adjust_cfa_offset 8", ".endif",
                "push rdi",
                ".cfi_adjust_cfa_offset 8",
                "push qword ptr [rip + {runs}]",
                ".cfi_adjust_cfa_offset 8",
                // The argument registers are untouched since the entry.
                "call qword ptr [rip + {slots} + {slot}]",
                "test rax, rax",
                "js 3f",
                "4:",
                ".cfi_remember_state",
                "add rsp, {frame}",
                ".cfi_adjust_cfa_offset -{frame}",
                "ret",
                ".cfi_restore_state",
                // A failure: on unless no handler ran since the call began.
                "3:",
                "mov rcx, qword ptr [rip + {runs}]",
                "cmp rcx, qword ptr [rsp]",
                "je 4b",
                "mov rdi, rsp",
                "mov rsi, rax",
                "call {again}",
                "jmp 4b",
                ".cfi_endproc",
                mask = const crate::fdtable::SIZE - 1,
                table = sym crate::fdtable::TABLE,
                hooked = const crate::fdtable::HOOKED,
                slots = sym crate::real::hooked::SLOTS,
                slot = const crate::real::hooked::Index::$name as usize * 8,
                checked = sym $checked,
                runs = sym crate::signals::RUN_COUNT,
                again = sym $again,
                args = const 1 + [$(stringify!($arg)),*].len(),
                frame = const crate::hooks::io_x86_64::frame_bytes(1 + [$(stringify!($arg)),*].len()),
            );
        }

        /// The failure path of the hook of the same name, given the block
        /// it pushed (live until this returns) and what the call returned:
        /// resume::failed on the block itself, with a tail jump, so that a
        /// resume needs no more stack than resume::io's.
        #[inline(never)]
        unsafe extern "C" fn $again(block: *const u8, r: isize) -> isize {
            // Each argument as its register held it: `as` takes an int
            // argument's low half, as the callee would.
            #[repr(C)]
            #[derive(Clone, Copy)]
            struct Args {
                $($arg: usize),*
            }
            // SAFETY: the hook pushed the block as a Pending<Args>, one
            // word each (see fast_io_hook!), and waits for this call.
            let pending = unsafe { &*block.cast::<crate::resume::Pending<Args>>() };
            crate::resume::failed($dir, $what, pending, r, |fd, a: Args| unsafe { real::$name(fd, $(a.$arg as $ty),*) })
        }
    };
}

pub(crate) use fast_io_hook;
