# Helpers for the t_live_*.sh tests (the live_*.c programs: threads, fork,
# vfork, signals and fds closed under the library). Source it after lib.sh:
#   source "$CT_ROOT/c-tests/common/lib.sh"; source "$CT_ROOT/c-tests/live/live_lib.sh"
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

# live_two_hosts PREFIX: two network namespaces of this test, NSA (client,
# 192.0.2.1) and NSB (server, 192.0.2.2), TEST-NET-1 on a veth pair, loopback
# up in both; removed on exit whatever happens (the EXIT trap also stops
# what the test tracked). Skips when namespaces cannot be made here.
live_two_hosts() {
    NSA=$1-a-$$
    NSB=$1-b-$$
    trap 'cleanup_pids; live_remove_hosts' EXIT
    trap 'exit 1' INT TERM HUP
    ip netns add "$NSA" 2>"$CT_TMP/ns.err" || skip "cannot create a network namespace: $(head -n1 "$CT_TMP/ns.err")"
    ip netns add "$NSB" || fail "ip netns add $NSB"
    ip -n "$NSA" link add veth0 type veth peer name veth0 netns "$NSB" || fail "cannot create the veth pair"
    ip -n "$NSA" addr add 192.0.2.1/24 dev veth0 || fail "address in $NSA"
    ip -n "$NSB" addr add 192.0.2.2/24 dev veth0 || fail "address in $NSB"
    local ns
    for ns in "$NSA" "$NSB"; do
        ip -n "$ns" link set lo up && ip -n "$ns" link set veth0 up || fail "link up in $ns"
    done
}

live_remove_hosts() {
    local ns i
    for ns in "$NSA" "$NSB"; do
        for i in 1 2 3 4 5; do
            [ -e "/run/netns/$ns" ] || break
            ip netns del "$ns" 2>>"$CT_TMP/cleanup.err" && break
            sleep 0.2
        done
        [ -e "/run/netns/$ns" ] && echo "WARNING: could not remove network namespace $ns: $(tail -n 1 "$CT_TMP/cleanup.err")"
    done
    return 0
}
