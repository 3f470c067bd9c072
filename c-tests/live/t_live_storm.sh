# Threads + fork + signals together (the SIGWINCH story at scale): 4 threads make 50
# loopback echo round trips each with blocking read/recv/recvmsg/poll while a
# storm process sends SIGUSR1 and SIGWINCH (handlers without SA_RESTART) every
# 2 ms to each thread, the process and its children; meanwhile the main thread
# forks 20 children that echo once each. With the library every echo must
# complete intact, the application must never see EINTR on a TCP socket, and
# all of it must finish in time (three rounds). Without the library EINTR
# failures are expected: counted, not required.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/live/live_lib.sh"
P=$CT_BIN/live_storm

live_without 60 4 50 20
n=$(sed -n 's/^total .*eintr=\([0-9]*\).*/\1/p' "$CT_TMP/nolib.out")
note "without the library the application saw EINTR ${n:-?} times (expected > 0)"

for round in 1 2 3; do
    live_timed timeout -k 2 60 "${LIB[@]}" SOCKFIX_LOG="$CT_TMP/sockfix.log" "$P" --expect-clean 4 50 20 \
        >"$CT_TMP/lib$round.out" 2>"$CT_TMP/lib$round.err"
    note "with the library, round $round: exit $rc in $ms ms"
    sed 's/^/#   /' "$CT_TMP/lib$round.out"
    if [ $rc != 0 ]; then
        echo "--- stderr:"; head -n 20 "$CT_TMP/lib$round.err"
        echo "--- sockfix log (last 20 lines):"; tail -n 20 "$CT_TMP/sockfix.log" 2>/dev/null
        case $rc in
            124|137) fail "round $round hung (killed by timeout after 60 s): deadlock under threads+fork+signals?";;
            142) fail "round $round hung (its own 90 s alarm fired)";;
            1) fail "round $round: $(grep '^FAIL' "$CT_TMP/lib$round.out" | head -n 3 | tr '\n' ' ')";;
            *) fail "round $round: exit $rc (crash? $(kill -l $((rc - 128)) 2>/dev/null))";;
        esac
    fi
    [ $ms -le 20000 ] || fail "round $round took $ms ms (want under 20 s; about 0.5 s expected)"
    [ -s "$CT_TMP/lib$round.err" ] && { echo "--- stderr:"; cat "$CT_TMP/lib$round.err"; fail "round $round wrote to stderr"; }
done
echo "ok: no EINTR, no lost or corrupted byte, children fine"
