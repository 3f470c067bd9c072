# pthread_cancel of a thread blocked in a hooked socket call (read,
# __read_chk, recv, __recv_chk, recvfrom, __recvfrom_chk, recvmsg, readv,
# poll, select, write) on a TCP socket: with the library loaded the call must
# still be a cancellation point, quiet or under a SIGWINCH storm (when the
# library is busy resuming it), the thread gone within 1 s through its cleanup
# handler, and the program must exit 0 (no abort from unwinding through the
# library's frames).
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/live/live_lib.sh"
P=$CT_BIN/live_cancel

timeout -k 2 60 env -u LD_PRELOAD "$P" >"$CT_TMP/nolib.out" 2>&1
rc=$?
[ $rc = 0 ] || { cat "$CT_TMP/nolib.out"; fail "without the library: exit $rc (the test itself is broken)"; }
note "without the library: $(tail -n 1 "$CT_TMP/nolib.out")"

live_timed timeout -k 2 60 "${LIB[@]}" "$P" --expect-clean >"$CT_TMP/lib.out" 2>"$CT_TMP/lib.err"
sed 's/^/#   /' "$CT_TMP/lib.out"
note "with the library: exit $rc in $ms ms"
if [ $rc != 0 ]; then
    echo "--- stderr:"; head -n 20 "$CT_TMP/lib.err"
    case $rc in
        124|137|142) fail "hung: a cancelled thread never ended";;
        1) fail "$(grep 'FAIL' "$CT_TMP/lib.out" | head -n 5 | tr '\n' ';')";;
        *) fail "exit $rc ($(kill -l $((rc - 128)) 2>/dev/null || echo '?')): the program died (unwinding through the library?)";;
    esac
fi
[ -s "$CT_TMP/lib.err" ] && { cat "$CT_TMP/lib.err"; fail "stderr not empty"; }
echo "ok: every blocked call was cancelled promptly"
