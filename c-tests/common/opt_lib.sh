# Helpers shared by c-tests/opt/t_opt_*.sh (the socket-option tests). Source it
# after lib.sh:
#   source "$CT_ROOT/c-tests/common/lib.sh"; source "$CT_ROOT/c-tests/common/opt_lib.sh"
# Not a test itself (scripts/test only runs t_*.sh).

PROBE=$CT_BIN/opt_probe
[ -x "$PROBE" ] || fail "$PROBE was not built (c-tests/opt/opt_probe.c)"

clear_stray_settings LD_PRELOAD

# A log line starts with "sockfix[PID]: ". In a log file the library puts a
# timestamp first (an ISO 8601 time, then a space); that is accepted there.
# log_re PID: an extended regexp for the start of a file log line.
log_re() { echo "^([0-9][0-9T:.,+-]*Z? )?sockfix\\[$1\\]: "; }

# The kernel's defaults, which a socket nobody touched reports.
K_IDLE=$(cat /proc/sys/net/ipv4/tcp_keepalive_time)
K_INTVL=$(cat /proc/sys/net/ipv4/tcp_keepalive_intvl)
K_CNT=$(cat /proc/sys/net/ipv4/tcp_keepalive_probes)
UNTOUCHED="keepalive=0 idle=$K_IDLE intvl=$K_INTVL cnt=$K_CNT user_timeout=0"
DEFAULTS="keepalive=1 idle=15 intvl=15 cnt=9 user_timeout=0"

need_lib() { [ -r "$CT_LIB" ] || fail "library not built: $CT_LIB"; }

# probe_lib [VAR=VALUE...] -- PROBE-ARGS...
# probe_nolib [VAR=VALUE...] -- PROBE-ARGS...
# Run opt_probe with / without the library. Sets OUT (stdout), RC, and leaves
# stderr in $CT_TMP/probe.err.
probe_lib() {
    local envs=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    OUT=$(with_lib "${envs[@]}" "$PROBE" "$@" 2>"$CT_TMP/probe.err"); RC=$?
}
probe_nolib() {
    local envs=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    OUT=$(without_lib "${envs[@]}" "$PROBE" "$@" 2>"$CT_TMP/probe.err"); RC=$?
}

# fdlife lib|nolib SCENARIO: run c-tests/opt/opt_fdlife.c's SCENARIO (fd numbers
# and sockets parting ways) with / without the library. Sets OUT to its line
# after "pid=0 " (the start expect wants) and RC; fails unless it exits 0.
FDL=$CT_BIN/opt_fdlife
fdlife() {
    [ -x "$FDL" ] || fail "$FDL not built"
    if [ "$1" = lib ]; then OUT=$(with_lib "$FDL" "$2" 2>"$CT_TMP/probe.err"); RC=$?
    else OUT=$(without_lib "$FDL" "$2" 2>"$CT_TMP/probe.err"); RC=$?; fi
    [ $RC = 0 ] || fail "$2: opt_fdlife exit $RC: $(cat "$CT_TMP/probe.err")"
    OUT="pid=0 $OUT"
}

# fdlife_check SCENARIO KEY=VALUE...: fdlife lib SCENARIO, then expect
# SCENARIO KEY=VALUE...; a failed expectation is kept and the test goes on,
# so that one run reports every scenario that fails: fdlife_checks_done then
# fails with all of them.
FDLIFE_ERRORS=()
fdlife_check() {
    local s=$1 out
    shift
    fdlife lib "$s"
    out=$( (expect "$s" "$@") 2>&1) || { FDLIFE_ERRORS+=("${out#FAIL: }"); return; }
    printf '%s\n' "$out"
}
fdlife_checks_done() {
    [ ${#FDLIFE_ERRORS[@]} = 0 ] || fail "$(printf '%s\n' "${FDLIFE_ERRORS[@]}")"
}

# field NAME [LINE]: the value of NAME=... in LINE (default $OUT).
field() { printf '%s\n' "${2-$OUT}" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1; }

# expect DESC KEY=VALUE...: every KEY=VALUE must be in $OUT; the probe must
# have exited 0 (unless an expected connect=fail is listed), written exactly
# one line to stdout and nothing to stderr (logging is off unless a test
# turns it on and checks stderr itself: then it passes ERR_OK=1).
expect() {
    local desc=$1 kv k v got
    shift
    [ -n "$OUT" ] || fail "$desc: probe printed nothing (exit $RC): $(head -c 500 "$CT_TMP/probe.err")"
    [ "$(printf '%s\n' "$OUT" | wc -l)" = 1 ] || fail "$desc: probe stdout is not one line: $(printf '%q' "$OUT")"
    [[ $OUT == pid=* ]] || fail "$desc: stray bytes on the probe's stdout: $(printf '%q' "$OUT")"
    for kv in "$@"; do
        k=${kv%%=*} v=${kv#*=}
        got=$(field "$k")
        [ "$got" = "$v" ] || fail "$desc: expected $k=$v, got $k=${got:-<missing>}  [$OUT]  stderr: $(head -c 300 "$CT_TMP/probe.err")"
    done
    if [ "$(field connect)" = ok ] && [ "$RC" != 0 ]; then fail "$desc: probe exited $RC  [$OUT]"; fi
    if [ "${ERR_OK:-0}" != 1 ] && [ -s "$CT_TMP/probe.err" ]; then
        fail "$desc: unexpected output on stderr (logging off): $(head -c 500 "$CT_TMP/probe.err")"
    fi
    note "ok: $desc: $OUT"
}

# ipv6_lo: true when ::1 is usable on this machine.
ipv6_lo() { "$PROBE" tcp ::1 >/dev/null 2>&1; }
