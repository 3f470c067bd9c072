# sendmsg whose SCM_RIGHTS header claims more bytes than msg_controllen, on
# the two sendmsg paths that complete without the kernel reading the control
# data (an MPTCP socket; TCP Fast Open on a non-blocking socket): the result
# must be the same with the library as without (intr_sent_cmsg.c). A
# sendmsg hook that walked the caller's control data after a successful
# call, trusting cmsg_len (to follow the fds it sent), crashed here.
source "$CT_ROOT/c-tests/common/lib.sh"
clear_stray_settings LD_PRELOAD
P=$CT_BIN/intr_sent_cmsg
[ -x "$P" ] || fail "$P not built"
[ -e "$CT_LIB" ] || skip "library not built: $CT_LIB"
bad=0 ran=0
for mode in mptcp tfo; do
    without_lib timeout -k 2 10 "$P" $mode >"$CT_TMP/$mode.without" 2>&1
    rc_without=$?
    if [ $rc_without = 77 ]; then note "$mode: $(tail -n 1 "$CT_TMP/$mode.without")"; continue; fi
    with_lib timeout -k 2 10 "$P" $mode >"$CT_TMP/$mode.with" 2>&1
    rc_with=$?
    ran=$((ran + 1))
    if [ $rc_without != $rc_with ] || ! cmp -s "$CT_TMP/$mode.without" "$CT_TMP/$mode.with"; then
        echo "FAIL [$mode]: without the library exit $rc_without: $(cat "$CT_TMP/$mode.without")"
        echo "      with it exit $rc_with: $(cat "$CT_TMP/$mode.with")"
        bad=$((bad + 1))
    else
        echo "ok    [$mode]: $(cat "$CT_TMP/$mode.with") with and without the library"
    fi
done
[ $ran = 0 ] && skip "neither MPTCP nor TCP Fast Open without a cookie here"
[ $bad = 0 ] || fail "$bad case(s) differ"
echo "all checks passed"
