# A duplicate of a connected TCP socket is the same TCP socket: a blocking
# read on it, interrupted by SIGWINCH/SIGHUP (handlers without SA_RESTART,
# every 50 ms), must be resumed like a read on the original fd.  Duplicates
# made with dup2 onto a number that was a pipe (fd 100) and with
# fcntl(F_DUPFD_CLOEXEC, 150); the original is closed; the peer answers 600 ms
# into the read.  Without sockfix: EINTR.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/intr/intr_lib.sh"
P=$CT_BIN/intr_fdreuse
[ -x "$P" ] || fail "$P not built"
cases=(dup2tcp dupfd)
for how in without with; do
    [ $how = with ] && intr_lib_or_skip
    for c in "${cases[@]}"; do intr_start "$how-$c" $how "$P" "$c"; done
    for c in "${cases[@]}"; do
        intr_finish "$how-$c"
        printf '%s\n' "$R_OUT" | grep -q '^phase2: fd [0-9]* is now a socket' ||
            intr_bad "$c" "setup: the fd is not the socket"
        if [ $how = without ]; then
            intr_expect "$how-$c" "without lib: read on a TCP socket duplicated by $c" eintr 0 900
        else
            intr_expect "$how-$c" "with lib: read on a TCP socket duplicated by $c" ok 400 1500
        fi
    done
done
intr_done
