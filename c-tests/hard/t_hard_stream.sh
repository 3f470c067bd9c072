# 100 MiB through the resumed-read path under a signal storm, several threads
# at once: 5 receiver threads each read a 20 MiB stream from a loopback TCP
# connection (with read, recv, readv, recvmsg and recvfrom, buffers of random
# sizes) while a storm thread sends each of them SIGUSR1 and SIGWINCH in turn
# at 1 kHz (handlers without SA_RESTART). The sender paces its writes, so the
# receivers are mostly blocked when the signals land.
#   - without the library the storm interrupts the reads (EINTR > 0, retried
#     by the program here) and the data arrive intact: the test is sound;
#   - with the library the program never sees EINTR (it treats it as fatal,
#     like the MySQL client of the SIGWINCH story), the library's log shows the resumed
#     reads, and every stream is byte-identical (sha256 against `sha256sum`
#     of the same stream generated apart); once with the defaults and a log
#     file, once with aggressive settings (keepalive 1 s, user timeout,
#     idle check) and no log.
source "$CT_ROOT/c-tests/common/lib.sh"
[ -e "$CT_LIB" ] || fail "library not built: $CT_LIB"
clear_stray_settings LD_PRELOAD
need sha256sum
P=$CT_BIN/hard_stream
[ -x "$P" ] || fail "$P not built"
THREADS=5
BYTES=$((20 * 1024 * 1024))

declare -A WANT
for ((k = 0; k < THREADS; k++)); do
    WANT[$k]=$("$P" gen $k $BYTES | sha256sum | cut -d' ' -f1)
    [ ${#WANT[$k]} = 64 ] || fail "cannot hash stream $k"
done

check_hashes() { # LABEL OUTFILE
    local k got
    for ((k = 0; k < THREADS; k++)); do
        got=$(sed -n "s/^stream $k sha256=\\([0-9a-f]*\\) .*/\\1/p" "$2")
        [ "$got" = "${WANT[$k]}" ] || { cat "$2"; fail "$1: stream $k: sha256 $got, want ${WANT[$k]} (bytes lost, repeated or reordered)"; }
    done
}

run() { # LABEL OUTFILE ERRFILE CMD...
    local label=$1 out=$2 err=$3 start ms rc
    shift 3
    start=$(date +%s%N)
    timeout -k 2 60 "$@" >"$out" 2>"$err"
    rc=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    note "$label: exit $rc in $ms ms: $(grep '^total' "$out")"
    if [ $rc != 0 ]; then
        cat "$out"; echo "--- stderr:"; head -n 20 "$err"
        case $rc in
            124|137) fail "$label: hung (killed after 60 s)";;
            142) fail "$label: its own 120 s alarm fired";;
            *) fail "$label: exit $rc";;
        esac
    fi
}

run "without the library" "$CT_TMP/nolib.out" "$CT_TMP/nolib.err" env -u LD_PRELOAD "$P" run $THREADS $BYTES
check_hashes "without the library" "$CT_TMP/nolib.out"
n=$(sed -n 's/^total .*eintr=\([0-9]*\).*/\1/p' "$CT_TMP/nolib.out")
[ "${n:-0}" -gt 0 ] || fail "without the library the storm never interrupted a read: the test does not test anything"

LIB=(env LD_PRELOAD="$CT_LIB" SOCKFIX_CONFIG=/dev/null)
run "with the library (defaults, log file)" "$CT_TMP/lib1.out" "$CT_TMP/lib1.err" \
    "${LIB[@]}" SOCKFIX_LOG="$CT_TMP/sockfix.log" "$P" run $THREADS $BYTES --eintr-fatal
check_hashes "with the library" "$CT_TMP/lib1.out"
[ -s "$CT_TMP/lib1.err" ] && { cat "$CT_TMP/lib1.err"; fail "the program's stderr is not empty"; }
resumed=$(grep -c 'resumed' "$CT_TMP/sockfix.log")
note "the library logged $resumed resumed calls"
[ "$resumed" -ge 100 ] || { tail -n 20 "$CT_TMP/sockfix.log"; fail "only $resumed resumed calls logged: the resumed path was hardly exercised"; }
for m in read recv readv recvmsg recvfrom; do
    grep -q ": $m interrupted by SIG[A-Z0-9]*, resumed" "$CT_TMP/sockfix.log" || note "(no resumed $m in the log: the storm missed it this time)"
done

run "with the library (aggressive settings)" "$CT_TMP/lib2.out" "$CT_TMP/lib2.err" \
    "${LIB[@]}" SOCKFIX_KEEPIDLE=1 SOCKFIX_KEEPINTVL=1 SOCKFIX_KEEPCNT=2 SOCKFIX_USER_TIMEOUT=auto \
    SOCKFIX_IDLE_CHECK=1s "$P" run $THREADS $BYTES --eintr-fatal
check_hashes "with the library (aggressive settings)" "$CT_TMP/lib2.out"
[ -s "$CT_TMP/lib2.err" ] && { cat "$CT_TMP/lib2.err"; fail "the program's stderr is not empty"; }
echo "ok: 2 x 100 MiB byte-identical under a 1 kHz storm, no EINTR seen with the library"
