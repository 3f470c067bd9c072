# SOCKFIX_LOG names each resumed call: with SOCKFIX_LOG=stderr (or a file) the
# SIGWINCH-story victim's resumed reads show up as lines "sockfix[PID]: ..." (a
# timestamp may come first) that say "resumed" and name the signal (WINCH or
# HUP, by name or number); nothing reaches the program's stdout.  Without
# SOCKFIX_LOG nothing is written to stderr.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/intr/intr_lib.sh"
V=$CT_BIN/intr_victim
[ -x "$V" ] || fail "$V not built"
intr_lib_or_skip

check_log() { # label file-with-log stdout-file
    local label=$1 log=$2 out=$3 pid lines
    pid=$(sed -n 's/^pid=\([0-9]*\) .*/\1/p' "$out")
    grep -q '^result=ok' "$out" || { cat "$out"; fail "$label: victim did not get its answer"; }
    lines=$(grep "sockfix\[$pid\]: " "$log" | grep -i 'resumed' | grep -Ei 'WINCH|HUP|\b28\b|\b1\b')
    [ -n "$lines" ] || {
        echo "--- log:"; cat "$log"
        fail "$label: no line 'sockfix[$pid]: ... resumed ... WINCH|HUP'"
    }
    echo "ok    [$label]: $(printf '%s\n' "$lines" | wc -l) resumed-call lines, e.g.: $(printf '%s\n' "$lines" | head -n 1)"
    if grep -q 'sockfix' "$out"; then
        fail "$label: sockfix wrote to the program's stdout: $(grep sockfix "$out" | head -n 2)"
    fi
}

# stderr
with_lib env SOCKFIX_LOG=stderr timeout -k 2 30 "$V" -m recv >"$CT_TMP/o1" 2>"$CT_TMP/e1"
check_log "SOCKFIX_LOG=stderr" "$CT_TMP/e1" "$CT_TMP/o1"

# a file
with_lib env SOCKFIX_LOG="$CT_TMP/sockfix.log" timeout -k 2 30 "$V" -m read >"$CT_TMP/o2" 2>"$CT_TMP/e2"
[ -f "$CT_TMP/sockfix.log" ] || fail "SOCKFIX_LOG=file: $CT_TMP/sockfix.log not created"
check_log "SOCKFIX_LOG=<file>" "$CT_TMP/sockfix.log" "$CT_TMP/o2"
if grep -q 'sockfix' "$CT_TMP/e2"; then
    fail "SOCKFIX_LOG=<file>: log lines also went to stderr: $(head -n 2 "$CT_TMP/e2")"
fi

# a resumed poll is logged too
with_lib env SOCKFIX_LOG=stderr timeout -k 2 30 "$CT_BIN/intr_wait" -m poll -t 300 >"$CT_TMP/o3" 2>"$CT_TMP/e3"
pid=$(sed -n 's/^pid=\([0-9]*\) .*/\1/p' "$CT_TMP/o3")
grep -q '^result=timeout' "$CT_TMP/o3" || { cat "$CT_TMP/o3"; fail "poll: expected a timeout"; }
grep "sockfix\[$pid\]: " "$CT_TMP/e3" | grep -i resumed | grep -qEi 'WINCH|\b28\b' ||
    { cat "$CT_TMP/e3"; fail "poll: no 'sockfix[$pid]: ... resumed ... WINCH' line"; }
echo "ok    [resumed poll logged]: $(grep "sockfix\[$pid\]: " "$CT_TMP/e3" | grep -i resumed | head -n 1)"

# default: silent
with_lib timeout -k 2 30 "$V" -m recv >"$CT_TMP/o4" 2>"$CT_TMP/e4"
grep -q '^result=ok' "$CT_TMP/o4" || { cat "$CT_TMP/o4"; fail "default: victim did not get its answer"; }
[ ! -s "$CT_TMP/e4" ] || fail "without SOCKFIX_LOG the library wrote to stderr: $(head -n 3 "$CT_TMP/e4")"
echo "ok    [no SOCKFIX_LOG]: nothing on stderr"
exit 0
