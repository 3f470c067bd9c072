# vfork and posix_spawn children that close, dup2 and create sockets on the
# fd number of the parent's connected TCP socket (a vfork child shares the
# parent's memory, so whatever the library records from it lands in the
# parent) must all exit 0, and afterwards the parent's socket must keep its
# keepalive options and still get its reads resumed under a SIGWINCH storm
# (every 20 ms, while the server answers after 500 ms) with read, recv and
# poll+read.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/live/live_lib.sh"
P=$CT_BIN/live_spawn

live_without 40

note "with the library:"
live_timed timeout -k 2 40 "${LIB[@]}" SOCKFIX_KEEPIDLE=5 SOCKFIX_LOG="$CT_TMP/sockfix.log" "$P" --expect-clean \
    >"$CT_TMP/lib.out" 2>"$CT_TMP/lib.err"
sed 's/^/#   /' "$CT_TMP/lib.out"
note "exit $rc in $ms ms"
if [ $rc != 0 ]; then
    echo "--- stderr:"; head -n 20 "$CT_TMP/lib.err"
    echo "--- sockfix log (last 20 lines):"; tail -n 20 "$CT_TMP/sockfix.log" 2>/dev/null
    case $rc in
        124|137) fail "hung (killed after 40 s)";;
        142) fail "hung (its own 30 s alarm fired)";;
        1) fail "$(grep -E '^(child .*exit=[^0]|child .*killed|round .* (EINTR|EOF|CORRUPT|E[A-Z]+ from))' "$CT_TMP/lib.out" | tr '\n' ';')";;
        *) fail "exit $rc";;
    esac
fi
before=$(sed -n 's/^opts_before //p' "$CT_TMP/lib.out")
after=$(sed -n 's/^opts_after //p' "$CT_TMP/lib.out")
case "$before " in "keepalive=1 idle=5 "*) ;; *) fail "keepalive not applied on connect: $before";; esac
[ "$before" = "$after" ] || fail "socket options changed across vfork/posix_spawn: before '$before', after '$after'"
[ -s "$CT_TMP/lib.err" ] && { cat "$CT_TMP/lib.err"; fail "the program's stderr is not empty"; }
grep -q 'sockfix\[' "$CT_TMP/lib.out" && fail "sockfix wrote to the program's stdout"
[ $(grep -c '^round .* ok ' "$CT_TMP/lib.out") = 3 ] || fail "not all three rounds completed"
echo "ok: children exit 0, parent socket intact, reads resumed"
