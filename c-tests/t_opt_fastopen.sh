# TCP Fast Open without connect(): sendto/sendmsg(..., MSG_FASTOPEN, addr) both
# connects and sends. That connection is a TCP connection like any other and
# must get SO_KEEPALIVE/TCP_KEEPIDLE/TCP_KEEPINTVL/TCP_KEEPCNT (the SPEC's
# promise is every connection, the stories' clients included).
source "$CT_ROOT/c-tests/lib.sh"
source "$CT_ROOT/c-tests/opt_lib.sh"
FDL=$CT_BIN/opt_fdlife
[ -x "$FDL" ] || fail "$FDL not built"

OUT=$(without_lib "$FDL" fastopen 2>"$CT_TMP/probe.err"); RC=$?
[ $RC = 0 ] || fail "opt_fdlife fastopen exit $RC: $(cat "$CT_TMP/probe.err")"
OUT="pid=0 $OUT"
[ "$(field sendto)" = 1 ] || skip "sendto(MSG_FASTOPEN) does not work here: $OUT"
expect "without library, sendto(MSG_FASTOPEN)" $UNTOUCHED

need_lib
OUT=$(with_lib "$FDL" fastopen 2>"$CT_TMP/probe.err"); RC=$?
[ $RC = 0 ] || fail "opt_fdlife fastopen exit $RC: $(cat "$CT_TMP/probe.err")"
OUT="pid=0 $OUT"
expect "with library, sendto(MSG_FASTOPEN)" sendto=1 $DEFAULTS

OUT=$(without_lib "$FDL" fastopen-sendmsg 2>"$CT_TMP/probe.err"); RC=$?
OUT="pid=0 $OUT"
expect "without library, sendmsg(MSG_FASTOPEN)" sendmsg=1 $UNTOUCHED
OUT=$(with_lib "$FDL" fastopen-sendmsg 2>"$CT_TMP/probe.err"); RC=$?
OUT="pid=0 $OUT"
expect "with library, sendmsg(MSG_FASTOPEN)" sendmsg=1 $DEFAULTS
exit 0
