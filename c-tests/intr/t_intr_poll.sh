# poll / ppoll / select / pselect under a SIGWINCH storm (every 20 ms,
# handler without SA_RESTART).  A wait that includes a connected TCP socket is
# resumed with the remaining time: with a 500 ms timeout and nothing to read
# it returns 0 after 450-800 ms (never EINTR, never much later).  Without the
# library it fails with EINTR at the first signal.  A wait on a pipe alone
# still sees EINTR; SIGINT (passed) still interrupts.  A resumed wait that
# ends well leaves errno as the program set it before (EDOM, intr_wait.c).
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/intr/intr_lib.sh"
W=$CT_BIN/intr_wait
[ -x "$W" ] || fail "$W not built"
modes=(poll ppoll select pselect)

# run_all with|without LABEL EXPECT MIN MAX ARGS...: all four calls at once.
run_all() {
    local how=$1 label=$2 want=$3 min=$4 max=$5 m
    shift 5
    for m in "${modes[@]}"; do intr_start "$how-$m" "$how" "$W" -m "$m" "$@"; done
    for m in "${modes[@]}"; do
        intr_finish "$how-$m"
        if intr_expect "$how-$m" "$how lib: $m, $label" "$want" "$min" "$max" && [ "$how" = with ] && [ "$want" != eintr ]; then
            case $label in *storm*) intr_need_hits "$m, $label" WINCH 5 ;; esac
        fi
    done
}

run_all without "TCP socket, 500 ms timeout, storm" eintr 0 400 -f sock -t 500
run_all without "pipe only, 500 ms timeout, storm" eintr 0 400 -f pipe -t 500
intr_lib_or_skip
run_all with "TCP socket, 500 ms timeout, storm" timeout 450 800 -f sock -t 500
run_all with "pipe+TCP socket, 500 ms timeout, storm" timeout 450 800 -f both -t 500
run_all with "TCP socket, 1500 ms timeout, answer at 1 s, storm" ok 900 1450 -f sock -t 1500 -d 1000
run_all with "pipe+TCP socket, no timeout, answer at 1 s, storm" ok 900 2500 -f both -t -1 -d 1000
run_all with "pipe only, 500 ms timeout, storm" eintr 0 400 -f pipe -t 500
run_all with "TCP socket, no timeout, SIGINT at 225 ms, storm" eintr 150 700 -f sock -t -1 -e INT@225
intr_done
