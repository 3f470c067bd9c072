# TCP Fast Open without connect(): sendto/sendmsg(..., MSG_FASTOPEN, addr) both
# connects and sends. That connection is a TCP connection like any other and
# must get SO_KEEPALIVE/TCP_KEEPIDLE/TCP_KEEPINTVL/TCP_KEEPCNT (the SPEC's
# promise is every connection, the stories' clients included).
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/common/opt_lib.sh"
fdlife nolib fastopen
[ "$(field sendto)" = 1 ] || skip "sendto(MSG_FASTOPEN) does not work here: $OUT"
expect "without library, sendto(MSG_FASTOPEN)" $UNTOUCHED

need_lib
fdlife lib fastopen
expect "with library, sendto(MSG_FASTOPEN)" sendto=1 $DEFAULTS

fdlife nolib fastopen-sendmsg
expect "without library, sendmsg(MSG_FASTOPEN)" sendmsg=1 $UNTOUCHED
fdlife lib fastopen-sendmsg
expect "with library, sendmsg(MSG_FASTOPEN)" sendmsg=1 $DEFAULTS
exit 0
