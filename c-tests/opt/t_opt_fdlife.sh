# Socket options when fd numbers outlive sockets: an fd the app configured
# (or that was connected) is closed -- close(), raw syscall(SYS_close),
# close_range, closefrom -- and a new socket gets its number: the new socket
# gets the settings afresh. A socket connected through a dup gets them; a
# non-blocking connect called twice applies them once (the app's setsockopt
# in between stays); a refused connect keeps ECONNREFUSED and a retry on the
# same socket is configured; TCP_FASTOPEN_CONNECT sockets too.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/common/opt_lib.sh"
reuse=()
for c in close syscall close_range closefrom; do reuse+=(reuse-$c reuse_connected-$c); done
fastopen_connect=1
(fdlife nolib fastopen-connect) >/dev/null 2>&1 || { fastopen_connect=0; note "TCP_FASTOPEN_CONNECT unsupported: not tested"; }

for s in "${reuse[@]}" dup-connect refused-then-ok; do
    fdlife nolib "$s"
    expect "without library, $s" $UNTOUCHED
done
fdlife nolib connect-twice
expect "without library, connect-twice" first=EINPROGRESS second=0 keepalive=0 idle=66

need_lib
for s in "${reuse[@]}" dup-connect; do
    fdlife lib "$s"
    expect "$s" errno_kept=1 $DEFAULTS
done
fdlife lib refused-then-ok
expect "refused-then-ok" refused=ECONNREFUSED retry=0 $DEFAULTS
fdlife lib connect-twice
expect "connect-twice (app sets idle 66, keepalive 0 between the calls)" first=EINPROGRESS second=0 keepalive=0 idle=66 intvl=15 cnt=9
if [ $fastopen_connect = 1 ]; then
    fdlife lib fastopen-connect
    expect "fastopen-connect" errno_kept=1 $DEFAULTS
fi
exit 0
