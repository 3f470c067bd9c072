# An fd number that was a connected TCP socket (on which the library has just
# resumed a read) is replaced by a pipe: with dup2/dup3 onto it, or closed
# behind the library's back (close_range, closefrom, syscall(SYS_close)) and
# reused by pipe().  A blocking read on that pipe under a SIGWINCH+SIGHUP storm
# (handlers without SA_RESTART) must fail with EINTR at once, as without the
# library; a wrongly resumed read would block until SIGALRM at 3 s.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/intr/intr_lib.sh"
P=$CT_BIN/intr_fdreuse
[ -x "$P" ] || fail "$P not built"
cases=("dup2 read" "dup3 read" "close_range read" "closefrom read" "sys_close read" "dup2 readv" "sys_close readv")

for how in without with; do
    [ $how = with ] && intr_lib_or_skip
    i=0
    for c in "${cases[@]}"; do intr_start "$how$i" $how "$P" $c; i=$((i + 1)); done
    i=0
    for c in "${cases[@]}"; do
        intr_finish "$how$i"
        if [ $how = with ]; then
            # Phase 1 shows the library did treat the old fd as TCP.
            printf '%s\n' "$R_OUT" | grep -q '^phase1=ok' ||
                intr_bad "$c" "phase 1 (TCP read under the storm) was not resumed"
        fi
        printf '%s\n' "$R_OUT" | grep -q '^phase2: fd [0-9]* is now a pipe' ||
            intr_bad "$c" "setup: the fd did not become a pipe"
        intr_expect "$how$i" "$how lib: TCP fd replaced via ${c% *}, pipe ${c#* }" eintr 0 900
        i=$((i + 1))
    done
done
intr_done
