# The unwind information of the x86_64 assembly read and write hooks
# (src/hooks/io_x86_64.rs), at every instruction: their .cfi directives are
# written by hand, and a cancellation or exception crossing a hook unwinds
# with them. t_live_cancel sees only the instruction that calls libc, where a
# thread blocks; a wrong directive anywhere else would go unnoticed until a
# signal handler that throws or cancels hit that instruction.
# c-tests/hard/hard_unwind_steps.c single-steps each of the nine hooks with
# the trap flag, on its EAGAIN path and on its failure path after a handler
# ran ($again), and walks the stack from every instruction: the walk must
# reach the caller, at its return address and stack pointer, and each hook
# and path must have stepped at least 15 instructions (so that a hook that
# took another path does not pass unchecked). Loopback sockets only; the
# program starts no children, has a 5 s alarm and runs under an 8 s timeout,
# and takes a fraction of a second.
source "$CT_ROOT/c-tests/common/lib.sh"
[ "$(uname -m)" = x86_64 ] || skip "the assembly hooks are x86_64's only ($(uname -m))"
[ -e "$CT_LIB" ] || fail "library not built: $CT_LIB"
clear_stray_settings LD_PRELOAD
P=$CT_BIN/hard_unwind_steps
[ -x "$P" ] || fail "$P not built"

with_lib timeout -k 1 8 "$P" "$CT_LIB" >"$CT_TMP/out" 2>&1
rc=$?
sed 's/^/# /' "$CT_TMP/out"
# The hooks and paths that failed, as "read (eagain, again), send (again)".
failed_hooks() {
    awk '/: FAIL: / { if ($2 != last) { printf "%s%s (%s", n++ ? "), " : "", $2, $1; last = $2 } else printf ", %s", $1 }
        END { if (n) print ")" }' "$CT_TMP/out"
}
case $rc in
    0)  ;;
    1)  fail "unwinding from inside the hooks: $(failed_hooks)";;
    *)  fail "hard_unwind_steps: exit $rc; failed before the end: $(failed_hooks)";;
esac
echo "ok"
