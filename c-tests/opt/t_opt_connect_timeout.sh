# SOCKFIX_CONNECT_TIMEOUT=2s: a blocking connect() to a host that never
# answers fails with ETIMEDOUT after about 2 s; without the library it is
# still pending after 4 s (the kernel alone waits about 2 minutes).
# SOCKFIX_USER_TIMEOUT=2s also bounds connect() (the kernel's SYN retries).
# Also: IPPROTO_TCP, IPv6 and IPv4-mapped sockets; SA_RESTART signals during
# the wait (no EINTR, no longer wait); the app's own SIGALRM without
# SA_RESTART still interrupts with EINTR.
# A connect that is answered (accepted or refused) is not slowed down and
# keeps its errno; a non-blocking connect still returns EINPROGRESS at once.
# The silent host: 127.0.0.1:9 inside a network namespace of our own, where
# nftables drops every TCP packet to port 9.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/common/opt_lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root for a network namespace"
need ip
need nft

NS=sfx-opt-$$
cleanup() {
    cleanup_pids
    ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT
ip netns add "$NS" || skip "cannot create a network namespace"
ip -n "$NS" link set lo up || fail "ip link set lo up in $NS"
ip netns exec "$NS" nft -f - <<'NFT' || skip "nftables unusable in a network namespace"
table inet sfxopt {
    chain input {
        type filter hook input priority 0; policy accept;
        tcp dport 9 drop
    }
}
NFT

in_ns() { ip netns exec "$NS" env -u LD_PRELOAD "$@"; }
in_ns_lib() { ip netns exec "$NS" env -u SOCKFIX_CONFIG LD_PRELOAD="$CT_LIB" SOCKFIX_CONFIG=/nonexistent "$@"; }

# Without the library, in the background: still pending after 4 s.
# (Background jobs are plain commands, not shell functions, so that $! is
# the probe's own PID: ip netns exec and env exec it.)
ip netns exec "$NS" env -u LD_PRELOAD "$PROBE" --timing tcp 127.0.0.1 9 >"$CT_TMP/nolib.out" 2>&1 &
nolib_pid=$!
track $nolib_pid
nolib_start=$(date +%s%N)

need_lib
# The slow cases run side by side in the background (each about 2 s).
bg() { # bg NAME VAR=VALUE... -- PROBE-ARGS...
    local name=$1 envs=()
    shift
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    ip netns exec "$NS" env -u SOCKFIX_CONFIG LD_PRELOAD="$CT_LIB" SOCKFIX_CONFIG=/nonexistent \
        "${envs[@]}" "$PROBE" --timing "$@" >"$CT_TMP/$name.out" 2>"$CT_TMP/$name.err" &
    track $!
    BG+=("$name:$!")
}
BG=()
bg proto SOCKFIX_CONNECT_TIMEOUT=2s -- tcp-proto 127.0.0.1 9
bg ut SOCKFIX_USER_TIMEOUT=2s -- tcp 127.0.0.1 9
bg usr1 SOCKFIX_CONNECT_TIMEOUT=2s -- --usr1 300 tcp 127.0.0.1 9
bg alarm SOCKFIX_CONNECT_TIMEOUT=3s -- --alarm 1000 tcp 127.0.0.1 9
v6=0
in_ns "$PROBE" tcp ::1 >/dev/null 2>&1 && v6=1
if [ $v6 = 1 ]; then
    bg v6 SOCKFIX_CONNECT_TIMEOUT=2s -- tcp ::1 9
    bg mapped SOCKFIX_CONNECT_TIMEOUT=2s -- tcp ::ffff:127.0.0.1 9
fi

# CONNECT_TIMEOUT=2s in the foreground.
OUT=$(in_ns_lib SOCKFIX_CONNECT_TIMEOUT=2s "$PROBE" --timing tcp 127.0.0.1 9 2>"$CT_TMP/probe.err"); RC=$?
expect "CONNECT_TIMEOUT=2s, blocking connect to a silent port" connect=fail errno=ETIMEDOUT
[ $RC = 2 ] || fail "probe exit $RC, want 2 (connect failed)"
ms=$(field elapsed_ms)
[ "$ms" -ge 1800 ] && [ "$ms" -le 3500 ] || fail "CONNECT_TIMEOUT=2s: connect failed after ${ms} ms, want 1800..3500"

# Without the library: still pending 4 s after it started.
now=$(date +%s%N)
left=$(( 4000 - (now - nolib_start) / 1000000 ))
[ $left -gt 0 ] && sleep "$(awk -v m=$left 'BEGIN {printf "%.3f", m / 1000}')"
kill -0 $nolib_pid 2>/dev/null || fail "without the library the connect ended within 4 s: $(cat "$CT_TMP/nolib.out")"
kill $nolib_pid
note "ok: without library, connect to the silent port still pending after 4 s"

# The background cases: all done by now or within 3 s more.
for b in "${BG[@]}"; do
    name=${b%%:*} pid=${b#*:}
    for i in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && fail "$name: connect still pending after ~7 s: $(cat "$CT_TMP/$name.err")"
    wait "$pid"
done
bgcheck() { # bgcheck NAME DESC MIN_MS MAX_MS KEY=VALUE...
    local name=$1 desc=$2 min=$3 max=$4
    shift 4
    OUT=$(cat "$CT_TMP/$name.out"); RC=2; cp "$CT_TMP/$name.err" "$CT_TMP/probe.err"
    expect "$desc" "$@"
    local ms
    ms=$(field elapsed_ms)
    [ "$ms" -ge "$min" ] && [ "$ms" -le "$max" ] || fail "$desc: connect ended after ${ms} ms, want $min..$max"
}
bgcheck proto "CONNECT_TIMEOUT=2s, IPPROTO_TCP socket" 1800 3500 connect=fail errno=ETIMEDOUT
bgcheck ut "USER_TIMEOUT=2s bounds a blocking connect" 1800 4500 connect=fail errno=ETIMEDOUT
# SIGUSR1 every 300 ms, handler with SA_RESTART: no EINTR, and the restarts
# do not stretch the 2 s.
bgcheck usr1 "CONNECT_TIMEOUT=2s with SA_RESTART signals every 300 ms" 1800 3500 connect=fail errno=ETIMEDOUT
[ "$(field signals)" -ge 3 ] || fail "usr1: only $(field signals) signals arrived during the connect"
# The app's own alarm (no SA_RESTART) at 1 s still interrupts: EINTR, as
# without the library.
bgcheck alarm "CONNECT_TIMEOUT=3s, the app's SIGALRM at 1 s" 900 1800 connect=fail errno=EINTR signals=1
if [ $v6 = 1 ]; then
    bgcheck v6 "CONNECT_TIMEOUT=2s, IPv6 ::1" 1800 3500 connect=fail errno=ETIMEDOUT
    bgcheck mapped "CONNECT_TIMEOUT=2s, IPv4-mapped ::ffff:127.0.0.1" 1800 3500 connect=fail errno=ETIMEDOUT
fi

# Answered connects are not delayed: accepted, and refused (port 10 is closed).
OUT=$(in_ns_lib SOCKFIX_CONNECT_TIMEOUT=2s "$PROBE" --timing tcp 127.0.0.1 2>"$CT_TMP/probe.err"); RC=$?
expect "CONNECT_TIMEOUT=2s, connect to a listener" connect=ok errno_kept=1 $DEFAULTS
[ "$(field elapsed_ms)" -lt 1000 ] || fail "connect to a listener took $(field elapsed_ms) ms"
OUT=$(in_ns_lib SOCKFIX_CONNECT_TIMEOUT=2s "$PROBE" --timing tcp 127.0.0.1 10 2>"$CT_TMP/probe.err"); RC=$?
expect "CONNECT_TIMEOUT=2s, connect to a closed port" connect=fail errno=ECONNREFUSED
[ "$(field elapsed_ms)" -lt 1000 ] || fail "refused connect took $(field elapsed_ms) ms"

# Non-blocking: connect() itself returns EINPROGRESS at once (the app does
# its own waiting; we poll 300 ms and accept pending or a failure).
OUT=$(in_ns_lib SOCKFIX_CONNECT_TIMEOUT=2s "$PROBE" --timing --poll 300 tcp-nb 127.0.0.1 9 2>"$CT_TMP/probe.err"); RC=$?
expect "CONNECT_TIMEOUT=2s, non-blocking connect to a silent port" inprogress=1
[ "$(field elapsed_ms)" -lt 500 ] || fail "non-blocking connect() blocked for $(field elapsed_ms) ms"
exit 0
