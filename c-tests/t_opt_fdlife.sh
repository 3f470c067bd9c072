# Socket options when fd numbers outlive sockets: an fd the app configured
# (or that was connected) is closed -- close(), raw syscall(SYS_close),
# close_range, closefrom -- and a new socket gets its number: the new socket
# gets the settings afresh. A socket connected through a dup gets them; a
# non-blocking connect called twice applies them once (the app's setsockopt
# in between stays); a refused connect keeps ECONNREFUSED and a retry on the
# same socket is configured; TCP_FASTOPEN_CONNECT sockets too.
source "$CT_ROOT/c-tests/lib.sh"
source "$CT_ROOT/c-tests/opt_lib.sh"
FDL=$CT_BIN/opt_fdlife
[ -x "$FDL" ] || fail "$FDL not built"

run() { # run lib|nolib SCENARIO
    if [ "$1" = lib ]; then OUT=$(with_lib "$FDL" "$2" 2>"$CT_TMP/probe.err"); RC=$?
    else OUT=$(without_lib "$FDL" "$2" 2>"$CT_TMP/probe.err"); RC=$?; fi
    [ $RC = 0 ] || fail "$2: opt_fdlife exit $RC: $(cat "$CT_TMP/probe.err")"
    OUT="pid=0 $OUT"   # expect() wants a line starting with pid=
}

reuse=()
for c in close syscall close_range closefrom; do reuse+=(reuse-$c reuse_connected-$c); done
fastopen_connect=1
without_lib "$FDL" fastopen-connect >/dev/null 2>&1 || { fastopen_connect=0; note "TCP_FASTOPEN_CONNECT unsupported: not tested"; }

for s in "${reuse[@]}" dup-connect refused-then-ok; do
    run nolib "$s"
    expect "without library, $s" $UNTOUCHED
done
run nolib connect-twice
expect "without library, connect-twice" first=EINPROGRESS second=0 keepalive=0 idle=66

need_lib
for s in "${reuse[@]}" dup-connect; do
    run lib "$s"
    expect "$s" errno_kept=1 $DEFAULTS
done
run lib refused-then-ok
expect "refused-then-ok" refused=ECONNREFUSED retry=0 $DEFAULTS
run lib connect-twice
expect "connect-twice (app sets idle 66, keepalive 0 between the calls)" first=EINPROGRESS second=0 keepalive=0 idle=66 intvl=15 cnt=9
if [ $fastopen_connect = 1 ]; then
    run lib fastopen-connect
    expect "fastopen-connect" errno_kept=1 $DEFAULTS
fi
exit 0
