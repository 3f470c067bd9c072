# The field case of issue 9: a program stops a worker thread blocked in
# read() (or select() then read(), recv(), poll() then read()) on an idle TCP
# connection by setting a flag and pthread_kill(worker, SIGUSR1), then joins
# it. The join must return at once (within 1 s), with the library as
# without it, with the default settings: a signal the process sends its own
# thread is not resumed. And a SIGUSR1 from ANOTHER process in the same
# situation is still resumed by the library: the worker never sees EINTR and
# stays blocked, until the same flag + pthread_kill stops it.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/intr/intr_lib.sh"
P=$CT_BIN/intr_selfwake
[ -x "$P" ] || fail "$P not built"
MODES=(read select recv poll)

field() { printf '%s\n' "$R_OUT" | sed -n "s/^$1.* $2=\([0-9a-z]*\).*/\1/p" | tail -n 1; }

check() { # ID LABEL with|without self|other
    local id=$1 label=$2 how=$3 origin=$4 join eintr blocked
    intr_finish "$id"
    join=$(field result join_ms)
    if [ "$R_RC" != 0 ] || [ -z "$join" ] || [ "$join" -ge 1000 ]; then
        intr_bad "$label" "the join did not return within 1 s of flag + pthread_kill (exit $R_RC, join_ms=${join:-?})"
        return 1
    fi
    if [ "$origin" = other ]; then
        eintr=$(field other_signal eintr_seen)
        blocked=$(field other_signal still_blocked)
        if [ "$how" = without ] && [ "$eintr" != 1 ]; then
            intr_bad "$label" "without the library the other process's SIGUSR1 should interrupt once (eintr_seen=$eintr)"
            return 1
        fi
        if [ "$how" = with ] && { [ "$eintr" != 0 ] || [ "$blocked" != yes ]; }; then
            intr_bad "$label" "the other process's SIGUSR1 was not resumed (eintr_seen=$eintr still_blocked=$blocked)"
            return 1
        fi
        echo "ok    [$label]: other process's SIGUSR1: eintr_seen=$eintr still_blocked=$blocked; then joined in $join ms"
    else
        echo "ok    [$label]: joined in $join ms"
    fi
}

run() { # with|without
    local how=$1 m o
    for m in "${MODES[@]}"; do
        for o in self other; do
            intr_start "$how-$m-$o" "$how" "$P" -m "$m" -o "$o"
        done
    done
    for m in "${MODES[@]}"; do
        for o in self other; do
            check "$how-$m-$o" "$how lib: worker in $m, $([ $o = self ] && echo 'flag + pthread_kill' || echo 'SIGUSR1 from another process, then flag + pthread_kill')" "$how" "$o"
        done
    done
}

run without
intr_lib_or_skip
run with
intr_done
