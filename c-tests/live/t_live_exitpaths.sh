# Nothing the program can see stays changed after a hooked call, whichever
# way it is left (c-tests/live/live_exitpaths.c says how each case works):
#   - a blocking connect under SOCKFIX_CONNECT_TIMEOUT left by siglongjmp out
#     of a SIGALRM handler, or by pthread_cancel: the socket stays blocking,
#     and the retry waits as it would without the library;
#   - log lines written while signal handlers siglongjmp out of the call, and
#     while another thread forks: the signal mask and the open fds are the
#     program's own after every jump and in every fork child.
# Each case runs without the library first (it must pass there: that is what
# the program would see), then with it.
source "$CT_ROOT/c-tests/common/lib.sh"
clear_stray_settings LD_PRELOAD
X=$CT_BIN/live_exitpaths
[ -x "$X" ] || fail "$X not built"
bad=0
run() { # with|without CASE [SETTING...]
    local how=$1 case=$2 out rc
    shift 2
    if [ "$how" = with ]; then
        out=$(with_lib env "$@" timeout -k 2 40 "$X" "$case" 2>&1); rc=$?
    else
        out=$(without_lib timeout -k 2 40 "$X" "$case" 2>&1); rc=$?
    fi
    printf '%s lib: %s\n' "$how" "$out"
    [ $rc = 0 ] || { echo "FAIL [$how lib, $case]: exit $rc"; bad=$((bad + 1)); }
}
log=$CT_TMP/sockfix.log
for c in connect-longjmp connect-cancel log-longjmp log-fork; do
    run without $c
done
run with connect-longjmp SOCKFIX_CONNECT_TIMEOUT=10s
run with connect-cancel SOCKFIX_CONNECT_TIMEOUT=10s
run with log-longjmp SOCKFIX_LOG="$log"
n=$(grep -c 'interrupted by SIGWINCH, resumed' "$log" 2>/dev/null)
[ "${n:-0}" -ge 100 ] || { echo "FAIL: only ${n:-0} log lines: the storm did not exercise the log"; bad=$((bad + 1)); }
note "$n log lines written under the storm"
run with log-fork SOCKFIX_LOG="$log"
[ $bad = 0 ] || fail "$bad case(s) failed"
echo "all checks passed"
