# TCP_USER_TIMEOUT ends live connections too, and the log says which timer
# ended a connection. Two network namespaces joined by a veth pair
# (192.0.2.1 client, 192.0.2.2 server), created and removed here.
#  (a) a dead peer (every packet dropped) while the client waits in read():
#      keepalive 1,1,2 ends it, and the log says "no answer to 2 keepalive
#      probes" with the values;
#  (b) a dead peer while the client has unacknowledged data, user timeout
#      2 s: the log says "unacknowledged data for TCP_USER_TIMEOUT=2000 ms";
#  (c) a live peer that stops reading for 5 s (its receive window closes),
#      user timeout 2 s: the writer gets ETIMEDOUT and the log says the
#      window was closed and the peer is alive; without the library the same
#      writer completes;
#  (d) SOCKFIX_USER_TIMEOUT=auto with keepalive 1,1,2 is 60 s: a peer that
#      stops reading for 8 s does not kill the writer, all data arrives.
source "$CT_ROOT/c-tests/common/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
need ip
need nft
source "$CT_ROOT/c-tests/live/live_lib.sh"

live_two_hosts sfx-to

P=$CT_BIN/live_utimeout
NOLIB=(env -u LD_PRELOAD)
BYTES=33554432   # 32 MiB: far more than both socket buffers hold

# 5432: dropped once the clients are ready (the dead peer); 5434: reads each
# connection only after 5 s; 5435: after 8 s.
for sp in "5432 0" "5434 5000" "5435 8000"; do
    set -- $sp
    "${NOLIB[@]}" "$P" server "$NSB" 192.0.2.2 $1 $2 >"$CT_TMP/server$1.out" 2>&1 &
    track $!
    for _ in $(seq 100); do grep -q listening "$CT_TMP/server$1.out" && break; sleep 0.05; done
    grep -q listening "$CT_TMP/server$1.out" || fail "server $1 did not start: $(cat "$CT_TMP/server$1.out")"
done

GO=$CT_TMP/go
declare -A PID
start_client() {
    local name=$1 port=$2 mode=$3; shift 3
    "$@" "$P" client "$NSA" 192.0.2.2 $port "$CT_TMP/$name.ready" "$GO" $mode $BYTES \
        >"$CT_TMP/$name.out" 2>"$CT_TMP/$name.err" &
    PID[$name]=$!
    track $!
}
KA=(SOCKFIX_KEEPIDLE=1 SOCKFIX_KEEPINTVL=1 SOCKFIX_KEEPCNT=2)
start_client keepalive    5432 read  "${LIB[@]}" "${KA[@]}" SOCKFIX_LOG=stderr
start_client unacked      5432 write "${LIB[@]}" SOCKFIX_USER_TIMEOUT=2s SOCKFIX_LOG=stderr
start_client window       5434 flood "${LIB[@]}" SOCKFIX_USER_TIMEOUT=2s SOCKFIX_LOG=stderr
start_client window_nolib 5434 flood "${NOLIB[@]}"
start_client auto         5435 flood "${LIB[@]}" "${KA[@]}" SOCKFIX_USER_TIMEOUT=auto SOCKFIX_LOG=stderr
NAMES=(keepalive unacked window window_nolib auto)

show() { local n=$1; echo "--- $n (pid ${PID[$n]}) stdout:"; cat "$CT_TMP/$n.out"; echo "--- $n stderr:"; head -n 20 "$CT_TMP/$n.err"; }

for n in keepalive unacked; do
    for _ in $(seq 200); do [ -e "$CT_TMP/$n.ready" ] && break; kill -0 "${PID[$n]}" 2>/dev/null || break; sleep 0.05; done
    [ -e "$CT_TMP/$n.ready" ] || { show "$n"; fail "client $n did not get ready"; }
done
# The dead peer: port 5432 drops everything, in and out. No RST, no FIN.
ip netns exec "$NSB" nft -f - <<EOT || fail "cannot install the nftables drop rules"
table inet sfx_timedout_drop {
    chain input { type filter hook input priority -10; policy accept; tcp dport 5432 drop; }
    chain output { type filter hook output priority -10; policy accept; tcp sport 5432 drop; }
}
EOT
touch "$GO"

# Every client ends by itself: wait at most 20 s for all of them.
for n in "${NAMES[@]}"; do
    for _ in $(seq 400); do kill -0 "${PID[$n]}" 2>/dev/null || break; sleep 0.05; done
done

errors=()
# expect NAME RESULT [LOG-TEXT...]: the client's result, and each text in
# its log line "connection timed out".
expect() {
    local n=$1 want=$2 res line t; shift 2
    res=$(grep '^result=' "$CT_TMP/$n.out")
    line=$(grep 'connection timed out' "$CT_TMP/$n.err")
    note "$n: ${res:-no result}"
    [ -n "$line" ] && note "$n: log: ${line#*: }"
    case $res in "result=$want "*) ;; *) errors+=("$n: want result=$want, got '${res:-nothing (still running after 20 s)}'");; esac
    for t in "$@"; do
        case $line in *"$t"*) ;; *) errors+=("$n: the log does not say '$t': '${line:-no line}'");; esac
    done
    [ $# != 0 ] || [ -z "$line" ] || errors+=("$n: a timeout was logged: '$line'")
}
expect keepalive ETIMEDOUT "fd 3 (192.0.2.2:5432): read: connection timed out: no answer to 2 keepalive probes (TCP_KEEPIDLE=1 TCP_KEEPINTVL=1 TCP_KEEPCNT=2): the peer is gone"
expect unacked ETIMEDOUT "(192.0.2.2:5432)" "connection timed out: unacknowledged data for TCP_USER_TIMEOUT=2000 ms" "the peer or the path is gone"
expect window ETIMEDOUT "(192.0.2.2:5434): write: connection timed out: the peer kept its receive window closed for TCP_USER_TIMEOUT=2000 ms" \
    "the peer is alive but not reading"
expect window_nolib done
expect auto done
grep -q "^opts .*user_timeout=60000" "$CT_TMP/auto.out" ||
    errors+=("auto: TCP_USER_TIMEOUT reads '$(sed -n 's/^opts //p' "$CT_TMP/auto.out")', want user_timeout=60000")
ms=$(sed -n 's/^result=done elapsed_ms=\([0-9]*\).*/\1/p' "$CT_TMP/auto.out")
[ -z "$ms" ] || [ "$ms" -ge 7500 ] || errors+=("auto: done after $ms ms: the reader did not pause (the test is broken)")
grep -qx "received $BYTES" "$CT_TMP/server5435.out" || errors+=("auto: the server did not receive all $BYTES bytes: $(cat "$CT_TMP/server5435.out")")

if [ ${#errors[@]} != 0 ]; then
    for n in "${NAMES[@]}"; do show "$n"; done
    for e in "${errors[@]}"; do echo "FAIL: $e"; done
    exit 1
fi
echo "ok: the log names the timer; auto (60 s) spares a peer that stops reading for 8 s"
