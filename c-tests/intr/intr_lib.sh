# Helpers for the t_intr_*.sh tests (EINTR resumption: SIGWINCH and SIGHUP during a blocking read).
# Source after lib.sh:   source "$CT_ROOT/c-tests/intr/intr_lib.sh"
#
# The C programs (intr_*.c) print "result=<ok|eintr|eagain|timeout|eof|error>
# elapsed_ms=N ..." and "handled: SIG=count ..." and exit with
#   0 ok, 3 EINTR, 4 EAGAIN, 5 wait timed out, 6 EOF, 1 error, 77 unsupported.

clear_stray_settings

INTR_FAILS=0
declare -A INTR_PID=()
declare -A INTR_T0=()

intr_have_lib() { [ -n "${CT_LIB:-}" ] && [ -f "$CT_LIB" ]; }

# intr_start ID with|without CMD...  run CMD in the background (30 s cap).
# CMD may start with `env KEY=VALUE ...` to pass settings.
intr_start() {
    local id=$1 how=$2
    shift 2
    case $how in
        with) with_lib timeout -k 2 30 "$@" >"$CT_TMP/$id.out" 2>&1 & ;;
        without) without_lib timeout -k 2 30 "$@" >"$CT_TMP/$id.out" 2>&1 & ;;
        *) fail "intr_start: bad mode $how" ;;
    esac
    INTR_PID[$id]=$!
    INTR_T0[$id]=$(date +%s%N)
    track "$!"
}

# intr_finish ID: wait for it; sets R_RC, R_OUT, R_MS (the program's own
# elapsed_ms, or the wall time if it printed none), R_WALL (ms).
intr_finish() {
    local id=$1
    wait "${INTR_PID[$id]}"
    R_RC=$?
    R_WALL=$(( ($(date +%s%N) - ${INTR_T0[$id]}) / 1000000 ))
    R_OUT=$(cat "$CT_TMP/$id.out")
    R_MS=$(printf '%s\n' "$R_OUT" | sed -n 's/^result=.* elapsed_ms=\([0-9-]*\).*/\1/p' | tail -n 1)
    [ -n "$R_MS" ] || R_MS=$R_WALL
}

intr_run() { intr_start "$@"; intr_finish "$1"; }

# intr_start_cases ARRAY with|without CMD...: for every "LABEL|ARGS" in the
# array named ARRAY, start CMD ARGS in the background (intr_start), all side
# by side; their IDs are the mode and the index: with0, with1, ...
intr_start_cases() {
    local -n intr_cases_ref=$1
    local how=$2 i=0 c
    shift 2
    for c in "${intr_cases_ref[@]}"; do
        intr_start "$how$i" "$how" "$@" ${c#*|}
        i=$((i + 1))
    done
}

# intr_expect_cases ARRAY with|without PREFIX RESULT MIN_MS MAX_MS [SIG MIN]
# (after intr_start_cases ARRAY with|without): wait for each case and
# intr_expect it, labelled "PREFIX LABEL"; with SIG and MIN, a case that
# passed must also have had its handler for SIG run MIN times (intr_need_hits).
intr_expect_cases() {
    local -n intr_cases_ref=$1
    local how=$2 prefix=$3 want=$4 min=$5 max=$6 sig=${7:-} hits=${8:-} i=0 c
    for c in "${intr_cases_ref[@]}"; do
        intr_finish "$how$i"
        if intr_expect "$how$i" "$prefix ${c%%|*}" "$want" "$min" "$max" && [ -n "$sig" ]; then
            intr_need_hits "$prefix ${c%%|*}" "$sig" "$hits"
        fi
        i=$((i + 1))
    done
}

intr_rc_name() {
    case $1 in
        0) echo ok ;; 3) echo eintr ;; 4) echo eagain ;; 5) echo timeout ;; 6) echo eof ;;
        77) echo unsupported ;; 124|137) echo "hung (killed by timeout)" ;; *) echo "error(rc=$1)" ;;
    esac
}

intr_bad() {
    echo "FAIL [$1]: $2"
    printf '%s\n' "$R_OUT" | sed 's/^/    > /' | tail -n 25
    INTR_FAILS=$((INTR_FAILS + 1))
}

# intr_expect ID LABEL RESULT [MIN_MS [MAX_MS]]   (after intr_finish ID)
intr_expect() {
    local id=$1 label=$2 want=$3 min=${4:-} max=${5:-}
    local got
    got=$(intr_rc_name "$R_RC")
    if [ "$got" = unsupported ]; then
        echo "skip  [$label]: $(printf '%s\n' "$R_OUT" | tail -n 1)"
        return 0
    fi
    if [ "$got" != "$want" ]; then
        intr_bad "$label" "expected $want, got $got after ${R_MS} ms"
        return 1
    fi
    if [ -n "$min" ] && [ "$R_MS" -lt "$min" ]; then
        intr_bad "$label" "$want after ${R_MS} ms, expected at least $min ms"
        return 1
    fi
    if [ -n "$max" ] && [ "$R_MS" -gt "$max" ]; then
        intr_bad "$label" "$want after ${R_MS} ms, expected at most $max ms"
        return 1
    fi
    echo "ok    [$label]: $want after ${R_MS} ms"
    return 0
}

# intr_field NAME: the number after "NAME=" on the result line (last run).
intr_field() { printf '%s\n' "$R_OUT" | sed -n "s/^result=.* $1=\([0-9]*\).*/\1/p" | tail -n 1; }

# intr_expect_resumed_cases ARRAY (after intr_start_cases ARRAY with): every
# case ended ok after at least 500 ms (it blocked until the peer's data),
# its handler for SIGWINCH ran at least 5 times, no EINTR reached it and it
# moved every byte (result fields eintr=0, bytes equal to want).
intr_expect_resumed_cases() {
    local -n intr_cases_ref=$1
    local i=0 c label
    for c in "${intr_cases_ref[@]}"; do
        label="with lib: ${c%%|*}"
        intr_finish "with$i"
        if intr_expect "with$i" "$label" ok 500 6000 && intr_need_hits "$label" WINCH 5; then
            if [ "$(intr_field eintr)" != 0 ] || [ "$(intr_field bytes)" != "$(intr_field want)" ]; then
                intr_bad "$label" "eintr=$(intr_field eintr) bytes=$(intr_field bytes), expected 0 and $(intr_field want)"
            else
                echo "      resumed: no EINTR, $(intr_field bytes) bytes in order, $(intr_hits WINCH) SIGWINCH handled"
            fi
        fi
        i=$((i + 1))
    done
}

# intr_hits SIG: how many times the program's handler for SIG ran (last run).
intr_hits() {
    local n
    n=$(printf '%s\n' "$R_OUT" | sed -n "s/^handled:.* $1=\([0-9]*\).*/\1/p" | tail -n 1)
    echo "${n:-0}"
}

# intr_need_hits LABEL SIG MIN: the handler must still have run under the
# library (it must not swallow the program's signals).
intr_need_hits() {
    local h
    h=$(intr_hits "$2")
    if [ "$h" -lt "$3" ]; then
        intr_bad "$1" "handler for SIG$2 ran $h times, expected at least $3"
        return 1
    fi
    return 0
}

# Without the library built, the "without" halves have run; skip the rest.
intr_lib_or_skip() {
    if ! intr_have_lib; then
        [ "$INTR_FAILS" = 0 ] || fail "$INTR_FAILS check(s) failed without the library"
        skip "library not built ($CT_LIB missing); without-library halves passed"
    fi
}

intr_done() {
    [ "$INTR_FAILS" = 0 ] || fail "$INTR_FAILS check(s) failed"
    echo "all checks passed"
    exit 0
}
