# The program never sees how the library wraps its signal handlers:
# intr_sigaction installs handlers with SA_SIGINFO (+sa_mask), SA_NODEFER,
# plain sa_handler, SA_RESETHAND, SIG_IGN, signal(), siginterrupt(),
# sysv_signal() and a real-time signal, asks sigaction(sig, NULL, &old) what
# they are, checks handler, flags and mask, checks what the handlers receive
# (signo, si_signo, si_pid of the sender, si_code, si_value, ucontext, the
# blocked mask inside the handler, also while blocked in a TCP recv), that
# SA_RESETHAND resets and then kills, that SIG_IGN ignores, and what survives
# exec.  Every check must pass with and without the library, and the two
# reports must be identical line for line.
# Then, under a storm: an SA_RESETHAND SIGHUP handler runs once and the 2nd
# SIGHUP kills the program (without sockfix the 1st already breaks the read),
# and SIG_IGN'd signals do not disturb a read.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/intr/intr_lib.sh"
S=$CT_BIN/intr_sigaction
V=$CT_BIN/intr_victim
[ -x "$S" ] && [ -x "$V" ] || fail "intr_sigaction/intr_victim not built"

without_lib timeout -k 2 30 "$S" >"$CT_TMP/wo" 2>&1
rc=$?
[ $rc = 0 ] || { cat "$CT_TMP/wo"; fail "without lib: intr_sigaction's own checks failed (exit $rc)"; }
echo "ok    [without lib]: $(grep -c '^ok' "$CT_TMP/wo") checks passed"

# A SA_RESETHAND handler on SIGHUP under a HUP storm: the first HUP runs it,
# the second kills (status 128+1); SIG_IGN'd WINCH/HUP do not disturb a read.
storm_cases() { # with|without
    local how=$1
    intr_run "$how-reset" "$how" "$V" -m recv -H R -s HUP
    if [ "$how" = without ]; then
        # The story: the first SIGHUP already kills the read.
        intr_expect "$how-reset" "without lib: SA_RESETHAND SIGHUP storm, recv" eintr 0 900
    elif [ "$R_RC" = 129 ] && ! printf '%s\n' "$R_OUT" | grep -q '^result='; then
        echo "ok    [with lib: SA_RESETHAND SIGHUP storm]: read resumed after the 1st SIGHUP, killed by the 2nd"
    else
        intr_bad "with lib: SA_RESETHAND SIGHUP storm" "expected death by the 2nd SIGHUP (status 129), got status $R_RC"
    fi
    intr_run "$how-ign" "$how" "$V" -m recv -H I -s WINCH,HUP
    intr_expect "$how-ign" "$how lib: SIG_IGN'd WINCH/HUP storm, recv" ok 1100 5000
}
storm_cases without

intr_lib_or_skip
with_lib timeout -k 2 30 "$S" >"$CT_TMP/w" 2>&1
rc=$?
if [ $rc != 0 ]; then
    R_OUT=$(grep -v '^ok' "$CT_TMP/w")
    intr_bad "with lib" "intr_sigaction's checks failed (exit $rc)"
else
    echo "ok    [with lib]: $(grep -c '^ok' "$CT_TMP/w") checks passed"
fi
if ! diff -u "$CT_TMP/wo" "$CT_TMP/w" >"$CT_TMP/diff"; then
    echo "FAIL: the program's view of its signal dispositions differs with the library (- without, + with):"
    sed 's/^/    /' "$CT_TMP/diff"
    INTR_FAILS=$((INTR_FAILS + 1))
else
    echo "ok    reports with and without the library are identical"
fi
storm_cases with
intr_done
