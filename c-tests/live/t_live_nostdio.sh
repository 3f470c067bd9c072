# A daemon that closed stdin, stdout and stderr at start, so its TCP sockets
# sit on fds 0, 1, 2 (SPEC: "a log fd that the program closed and reused is
# never written to"; "programs that close all fds at start"). With
# SOCKFIX_LOG=stderr the library must not write its log lines into fd 2 once
# that is the program's socket: no byte injected into the connection, no
# SIGPIPE killing the program. Nor may a log line to a stderr pipe whose
# reader is gone ("prog 2>&1 | head -1") kill with SIGPIPE a program that
# never writes to stderr itself. Also checked with the log off and in a file.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/live/live_lib.sh"
P=$CT_BIN/live_nostdio
R=$CT_TMP/result

run() { # LABEL PHASE env-prefix...
    local label=$1 phase=$2; shift 2
    rm -f "$R"
    timeout -k 2 30 "$@" "$P" "$R" "$phase" </dev/null >"$CT_TMP/out" 2>"$CT_TMP/err"
    echo $?
}
errors=()
check() { # LABEL PHASE RC
    local label=$1 phase=$2 rc=$3
    [ "$rc" = 0 ] || sed "s/^/#   $label $phase: /" "$R" 2>/dev/null
    case $rc in
        0) note "$label phase $phase: all bytes exact";;
        141) if [ "$phase" = C ]; then
                 errors+=("$label phase $phase: the program was killed by SIGPIPE: the library wrote its log to stderr, a pipe with no reader, in a program that never writes to stderr")
             else
                 errors+=("$label phase $phase: the program was killed by SIGPIPE: the library wrote into fd 2, which the program had closed and reused as a TCP socket (not connected yet)")
             fi;;
        1) errors+=("$label phase $phase: $(grep FAIL "$R" | head -n 2 | tr '\n' ' ')");;
        124|137|142) errors+=("$label phase $phase: hung");;
        *) errors+=("$label phase $phase: exit $rc $(cat "$R" 2>/dev/null | tail -n 1)");;
    esac
}

for ph in A B C; do
    rc=$(run nolib $ph env -u LD_PRELOAD)
    [ "$rc" = 0 ] || { cat "$R"; fail "without the library, phase $ph: exit $rc (the test itself is broken)"; }
done
note "without the library: all exact"

for ph in A B C; do
    rc=$(run log_stderr $ph "${LIB[@]}" SOCKFIX_LOG=stderr); check log_stderr $ph "$rc"
    rc=$(run log_file $ph "${LIB[@]}" SOCKFIX_LOG="$CT_TMP/sockfix.log"); check log_file $ph "$rc"
    rc=$(run log_off $ph "${LIB[@]}"); check log_off $ph "$rc"
done
if [ ${#errors[@]} != 0 ]; then
    for e in "${errors[@]}"; do echo "FAIL: $e"; done
    exit 1
fi
echo "ok: nothing written into the program's reused fds"
