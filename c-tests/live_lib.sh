# Helpers for the t_live_*.sh tests (the live_*.c programs: threads, fork,
# vfork, signals and fds closed under the library). Source it after lib.sh:
#   source "$CT_ROOT/c-tests/lib.sh"; source "$CT_ROOT/c-tests/live_lib.sh"
# Not a test itself (scripts/test only runs t_*.sh).

[ -e "$CT_LIB" ] || fail "library not built: $CT_LIB"
clear_stray_settings

# LIB: the prefix that runs a command with the library and no config file at
# all (the machine's /etc/sockfix.conf must not interfere).
LIB=(env -u SOCKFIX_CONFIG LD_PRELOAD="$CT_LIB" SOCKFIX_CONFIG=/nonexistent)

# live_without SECS ARGS...: the "without" half of a story: the test's
# program $P with ARGS, without the library, killed after SECS s. Its output
# goes to $CT_TMP/nolib.out and is shown; it must exit 0, or the test itself
# is broken.
live_without() {
    local secs=$1 rc
    shift
    note "without the library:"
    timeout -k 2 "$secs" env -u LD_PRELOAD "$P" "$@" >"$CT_TMP/nolib.out" 2>&1
    rc=$?
    sed 's/^/#   /' "$CT_TMP/nolib.out"
    [ $rc = 0 ] || fail "without the library the program failed (exit $rc): the test itself is broken"
}

# live_timed CMD...: run CMD; sets rc to its exit status and ms to the wall
# time it took (milliseconds). Redirect the call to redirect CMD's output.
live_timed() {
    local start
    start=$(date +%s%N)
    "$@"
    rc=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
}
