# Helpers for the language-runtime tests (t_peer_ruby_*, t_peer_java_*,
# t_peer_cpython_selfsignal): a runtime interrupts its own thread, blocked
# in a socket read, by a signal it sends itself (pthread_kill, tgkill,
# kill(getpid())), or by its own timer; with the library the thread must be
# interrupted exactly as without it, as promptly, and the process must exit
# as promptly. Source after lib.sh. Not a test itself.
#
# A case is one run of a program that prints
#   lib=0|1                       whether libsockfix.so is in its /proc/self/maps
#   result=OUTCOME elapsed_ms=N   what the blocked reader saw, N ms after the
#                                 interrupting action
#   done_at=EPOCH_MS              just before it returns from main or exits
#   result=hung elapsed_ms=N      (optional) from its own watchdog, which
#                                 then ends it with a non-zero status
# and exits 0 when OUTCOME is the one the runtime promises. rt_case runs it
# without and then with the library (defaults: no settings at all).

clear_stray_settings LD_PRELOAD
[ -r "$CT_LIB" ] || fail "library not built: $CT_LIB"

RT_FAILS=0
RT_N=0
RT_TIMEOUT=${RT_TIMEOUT:-6}    # a hung run is ended (TERM, then KILL 2 s later)
RT_EXIT_MAX=${RT_EXIT_MAX:-2000} # ms from done_at to the process being gone

rt_now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

rt_bad() {
    echo "FAIL  [$1]: $2"
    sed 's/^/    > /' "$3" | tail -n 15
    RT_FAILS=$((RT_FAILS + 1))
}

# rt_run with|without LABEL MIN_MS MAX_MS CMD...
rt_run() {
    local how=$1 label=$2 min=$3 max=$4
    shift 4
    local out=$CT_TMP/rt.$RT_N.$how t0 t1 rc res ms done_at lib exit_ms want_lib=0
    RT_N=$((RT_N + 1))
    t0=$(rt_now_ms)
    if [ "$how" = with ]; then
        want_lib=1
        with_lib timeout -k 2 "$RT_TIMEOUT" "$@" >"$out" 2>&1 &
    else
        without_lib timeout -k 2 "$RT_TIMEOUT" "$@" >"$out" 2>&1 &
    fi
    local pid=$!
    track "$pid"
    wait "$pid"
    rc=$?
    t1=$(rt_now_ms)
    label="$label, $how lib"
    lib=$(sed -n 's/^lib=\([01]\)$/\1/p' "$out" | head -n 1)
    res=$(sed -n 's/^result=\([^ ]*\) .*/\1/p' "$out" | tail -n 1)
    ms=$(sed -n 's/^result=.* elapsed_ms=\([0-9]*\).*/\1/p' "$out" | tail -n 1)
    done_at=$(sed -n 's/^done_at=\([0-9]*\)$/\1/p' "$out" | tail -n 1)
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        rt_bad "$label" "hung: killed by timeout after $((t1 - t0)) ms (last result: ${res:-none})" "$out"
        return 1
    fi
    if [ "$res" = hung ]; then
        rt_bad "$label" "hung: still blocked after $ms ms (the program's own watchdog ended it)" "$out"
        return 1
    fi
    [ "$lib" = "$want_lib" ] || { rt_bad "$label" "libsockfix.so mapped=${lib:-?}, expected $want_lib" "$out"; return 1; }
    [ "$rc" = 0 ] || { rt_bad "$label" "exit status $rc, result ${res:-none} after ${ms:-?} ms" "$out"; return 1; }
    [ -n "$ms" ] && [ -n "$done_at" ] || { rt_bad "$label" "no result or done_at line" "$out"; return 1; }
    [ "$ms" -ge "$min" ] || { rt_bad "$label" "$res after $ms ms, expected at least $min ms" "$out"; return 1; }
    [ "$ms" -le "$max" ] || { rt_bad "$label" "$res after $ms ms, expected at most $max ms" "$out"; return 1; }
    exit_ms=$((t1 - done_at))
    [ "$exit_ms" -le "$RT_EXIT_MAX" ] || { rt_bad "$label" "$res after $ms ms, but the process took $exit_ms ms more to exit" "$out"; return 1; }
    echo "ok    [$label]: $res after $ms ms, exited $exit_ms ms later (run $((t1 - t0)) ms)"
}

# rt_case LABEL MIN_MS MAX_MS CMD...: without, then with the library.
rt_case() {
    rt_run without "$@"
    rt_run with "$@"
}

rt_done() {
    [ "$RT_FAILS" = 0 ] || fail "$RT_FAILS check(s) failed"
    echo "all checks passed"
    exit 0
}
