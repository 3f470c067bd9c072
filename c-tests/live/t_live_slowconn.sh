# A blocking connect() that must wait (full accept queue: the SYN is dropped
# and retransmitted after 1 s) under a SIGWINCH storm every 20 ms, handler
# without SA_RESTART. SA_RESTART would restart it, so with the library the
# application must see connect() return 0 (and get keepalive); without it,
# EINTR. And with SO_SNDTIMEO 400 ms and a queue that never frees, the resumed
# connect must still give up by the caller's timeout.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/live/live_lib.sh"
P=$CT_BIN/live_slowconn

out=$(timeout -k 2 30 env -u LD_PRELOAD "$P" 2>&1); rc=$?
note "without the library: $out (exit $rc; EINTR expected)"
[ $rc = 3 ] || [ $rc = 0 ] || fail "without the library: unexpected exit $rc: $out"

out=$(timeout -k 2 30 "${LIB[@]}" "$P" 2>&1); rc=$?
note "with the library: $(tr '\n' ' ' <<<"$out")(exit $rc)"
case $rc in
    0) ;;
    3) fail "connect() returned EINTR to the application: an interrupted blocking connect is not resumed";;
    124|137|142) fail "connect() hung";;
    *) fail "exit $rc: $out";;
esac
ms=$(sed -n 's/^connect ok elapsed_ms=\([0-9]*\).*/\1/p' <<<"$out")
[ "$ms" -le 3500 ] || fail "the resumed connect took $ms ms (want about 1 s: the SYN retransmit)"
grep -q '^opts keepalive=1 ' <<<"$out" || fail "no keepalive on the resumed connection: $out"

out=$(timeout -k 2 30 "${LIB[@]}" "$P" sndtimeo 2>&1); rc=$?
note "with the library, SO_SNDTIMEO 400 ms: $out (exit $rc)"
case $rc in
    3|4) ;;
    0) fail "connect succeeded although nobody accepted: $out";;
    *) fail "exit $rc: $out";;
esac
ms=$(sed -n 's/.* after \([0-9]*\) ms.*/\1/p' <<<"$out")
[ -n "$ms" ] && [ "$ms" -le 800 ] || fail "the resumed connect outlasted SO_SNDTIMEO=400ms: $out"
echo "ok: interrupted connect resumed, within the caller's timeout"
