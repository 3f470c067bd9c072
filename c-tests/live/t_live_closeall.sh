# Programs that close every fd at start (a close() loop, closefrom(3),
# close_range(3, ~0U, 0), a raw close_range syscall), after having a TCP
# connection open, and then open their own file, a pipe on the number of the
# old TCP socket, and new sockets. With the library: keepalive is still applied
# to the new connection (getsockopt), its read is still resumed under a
# SIGWINCH storm, the pipe read still sees EINTR, and the library's log (a
# file, whose fd the program closed) never lands in the program's own file.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/live/live_lib.sh"
P=$CT_BIN/live_closeall
want="keepalive=1 idle=7 intvl=3 cnt=4"

for m in loop closefrom close_range syscall; do
    timeout -k 2 40 env -u LD_PRELOAD "$P" $m "$CT_TMP/own-nolib" >"$CT_TMP/nolib.out" 2>&1
    rc=$?
    [ $rc = 77 ] && { note "$m: not supported here, skipped"; continue; }
    [ $rc = 0 ] || { cat "$CT_TMP/nolib.out"; fail "$m without the library: exit $rc (the test itself is broken)"; }
    note "$m without the library: $(grep -E '^(tcp_read|pipe_read)' "$CT_TMP/nolib.out" | tr '\n' ';')"

    rm -f "$CT_TMP/sockfix.log"
    timeout -k 2 40 "${LIB[@]}" SOCKFIX_KEEPIDLE=7 SOCKFIX_KEEPINTVL=3 SOCKFIX_KEEPCNT=4 \
        SOCKFIX_LOG="$CT_TMP/sockfix.log" "$P" $m "$CT_TMP/own-lib" --expect-clean \
        >"$CT_TMP/lib.out" 2>"$CT_TMP/lib.err"
    rc=$?
    sed "s/^/#   $m: /" "$CT_TMP/lib.out"
    if [ $rc != 0 ]; then
        echo "--- stderr:"; head -n 20 "$CT_TMP/lib.err"
        echo "--- sockfix log:"; tail -n 20 "$CT_TMP/sockfix.log" 2>/dev/null
        case $rc in
            124|137|142) fail "$m: hung";;
            1) fail "$m: $(grep -E '^(tcp_read [A-Z]|pipe_read [^E]|ownfile C)' "$CT_TMP/lib.out" | tr '\n' ';')";;
            *) fail "$m: exit $rc";;
        esac
    fi
    opts=$(sed -n 's/^opts \(.*\) (fd.*/\1/p' "$CT_TMP/lib.out")
    case "$opts" in "$want "*) ;; *) fail "$m: keepalive not applied after closing all fds: '$opts', want '$want'";; esac
    [ -s "$CT_TMP/lib.err" ] && { cat "$CT_TMP/lib.err"; fail "$m: the program's stderr is not empty"; }
done
echo "ok: keepalive applied, TCP reads resumed, pipe EINTR kept, no stray writes"
