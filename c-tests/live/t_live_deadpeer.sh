# Live: a database server vanishes during a long query (a failover
# without RST, simulated by dropping every packet of the connection with
# nftables in the server's network namespace). The client, blocked in read(),
# must get ETIMEDOUT within idle + intvl*cnt + 1 s thanks to sockfix's
# keepalive (SOCKFIX_ names and libkeepalive's names), and a client that writes
# into the dead connection must get ETIMEDOUT from SOCKFIX_USER_TIMEOUT=2s.
# SOCKFIX_USER_TIMEOUT=auto is never under 60 s (a live peer that stops
# reading must survive it), so that writer is still waiting after 6 s, with
# TCP_USER_TIMEOUT=60000 (see t_live_timedout for what auto spares).
# Without the library both clients are still blocked after 6 s.
#
# Two network namespaces joined by a veth pair, 192.0.2.1 (client) and
# 192.0.2.2 (server), TEST-NET-1 inside private namespaces only; removed on
# exit whatever happens. One more keepalive client talks IPv6 over the client
# namespace's own loopback ([::1]:5433, dropped there), with durations in
# units (1000ms, 1s).
source "$CT_ROOT/c-tests/common/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
need ip
need nft
source "$CT_ROOT/c-tests/live/live_lib.sh"

live_two_hosts sfx-live

P=$CT_BIN/live_deadpeer
PORT=5432
NOLIB=(env -u LD_PRELOAD)

"${NOLIB[@]}" "$P" server "$NSB" 192.0.2.2 $PORT >"$CT_TMP/server.out" 2>&1 &
track $!
for _ in $(seq 100); do grep -q listening "$CT_TMP/server.out" && break; sleep 0.05; done
grep -q listening "$CT_TMP/server.out" || fail "server did not start: $(cat "$CT_TMP/server.out")"
V6=0
if ip -n "$NSA" -6 addr show dev lo 2>/dev/null | grep -q '::1/128'; then
    V6=1
    "${NOLIB[@]}" "$P" server "$NSA" ::1 5433 >"$CT_TMP/server6.out" 2>&1 &
    track $!
    for _ in $(seq 100); do grep -q listening "$CT_TMP/server6.out" && break; sleep 0.05; done
    grep -q listening "$CT_TMP/server6.out" || fail "IPv6 server did not start: $(cat "$CT_TMP/server6.out")"
else
    note "no IPv6 on the namespace's loopback: the IPv6 client is left out"
fi

GO=$CT_TMP/go
# start_client NAME MODE ENV-PREFIX...: run in the client namespace; the pid
# is the client's own (the prefix is env, which execs).
declare -A PID MODE
start_client() {
    local name=$1 mode=$2 addr=192.0.2.2 port=$PORT; shift 2
    [ "$name" = ipv6_keepalive ] && addr=::1 port=5433
    "$@" "$P" client "$NSA" $addr $port "$CT_TMP/$name.ready" "$GO" "$mode" \
        >"$CT_TMP/$name.out" 2>"$CT_TMP/$name.err" &
    PID[$name]=$!
    MODE[$name]=$mode
    track $!
}
start_client sfx_keepalive  read  "${LIB[@]}" SOCKFIX_KEEPIDLE=1 SOCKFIX_KEEPINTVL=1 SOCKFIX_KEEPCNT=2 SOCKFIX_LOG=stderr
start_client libka_names    read  "${LIB[@]}" KEEPIDLE=1 KEEPINTVL=1 KEEPCNT=2 SOCKFIX_LOG=stderr
start_client user_timeout   write "${LIB[@]}" SOCKFIX_USER_TIMEOUT=2s SOCKFIX_LOG=stderr
start_client auto_timeout   write "${LIB[@]}" SOCKFIX_KEEPIDLE=1 SOCKFIX_KEEPINTVL=1 SOCKFIX_KEEPCNT=2 SOCKFIX_USER_TIMEOUT=auto SOCKFIX_LOG=stderr
start_client nolib_read     read  "${NOLIB[@]}"
start_client nolib_write    write "${NOLIB[@]}"
NAMES=(sfx_keepalive libka_names user_timeout auto_timeout nolib_read nolib_write)
if [ $V6 = 1 ]; then
    start_client ipv6_keepalive read "${LIB[@]}" SOCKFIX_KEEPIDLE=1000ms SOCKFIX_KEEPINTVL=1s SOCKFIX_KEEPCNT=2 SOCKFIX_LOG=stderr
    NAMES+=(ipv6_keepalive)
fi

show() { local n=$1; echo "--- $n (pid ${PID[$n]}) stdout:"; cat "$CT_TMP/$n.out"; echo "--- $n stderr:"; head -n 20 "$CT_TMP/$n.err"; }

# Every client connected and its request was acknowledged.
for n in "${NAMES[@]}"; do
    for _ in $(seq 200); do [ -e "$CT_TMP/$n.ready" ] && break; kill -0 "${PID[$n]}" 2>/dev/null || break; sleep 0.05; done
    [ -e "$CT_TMP/$n.ready" ] || { show "$n"; fail "client $n did not get ready"; }
done

# The failover: the server's namespace now drops everything on the port, in
# and out. No RST, no FIN, nothing.
ip netns exec "$NSB" nft -f - <<EOF || fail "cannot install the nftables drop rules"
table inet sfx_live_drop {
    chain input { type filter hook input priority -10; policy accept; tcp dport $PORT drop; }
    chain output { type filter hook output priority -10; policy accept; tcp sport $PORT drop; }
}
EOF
if [ $V6 = 1 ]; then
    ip netns exec "$NSA" nft -f - <<EOF || fail "cannot install the nftables drop rules (IPv6)"
table inet sfx_live_drop6 {
    chain input { type filter hook input priority -10; policy accept; tcp dport 5433 drop; tcp sport 5433 drop; }
}
EOF
fi
touch "$GO"
go_t=$(date +%s%N)
note "traffic dropped at $(date +%T.%N | cut -c1-12)"

# 6.5 s: enough for the library halves (at most 4 s), and the time the
# without-library halves must stay blocked.
while :; do
    el=$(( ($(date +%s%N) - go_t) / 1000000 ))
    [ $el -ge 6500 ] && break
    sleep 0.1
done

errors=()
check_lib() {
    local n=$1 want_opts=$2 lo=$3 hi=$4
    local res opts ms
    opts=$(sed -n 's/^opts //p' "$CT_TMP/$n.out")
    res=$(grep '^result=' "$CT_TMP/$n.out")
    note "$n: opts: $opts"
    note "$n: ${res:-no result after 6.5 s (still blocked)}"
    case " $opts " in *" $want_opts "*) ;; *) errors+=("$n: socket options are '$opts', want '$want_opts'");; esac
    if [ -z "$res" ]; then
        errors+=("$n: still blocked 6.5 s after the peer vanished (want ETIMEDOUT within $hi ms)")
        return
    fi
    ms=$(sed -n 's/.*elapsed_ms=\([0-9]*\).*/\1/p' <<<"$res")
    case $res in result=ETIMEDOUT*) ;; *) errors+=("$n: want result=ETIMEDOUT, got '$res'"); return;; esac
    [ "$ms" -le "$hi" ] || errors+=("$n: ETIMEDOUT after $ms ms, want at most $hi ms")
    [ "$ms" -ge "$lo" ] || errors+=("$n: ETIMEDOUT after only $ms ms, want at least $lo ms")
}
# keepalive: probes after 1 s idle, 2 probes 1 s apart => dead at ~3 s (the
# idle time may have started just before the drop): 1.0 .. 4.0 s.
check_lib sfx_keepalive "keepalive=1 idle=1 intvl=1 cnt=2" 1000 4000
check_lib libka_names   "keepalive=1 idle=1 intvl=1 cnt=2" 1000 4000
[ $V6 = 1 ] && check_lib ipv6_keepalive "keepalive=1 idle=1 intvl=1 cnt=2" 1000 4000
# user timeout 2 s on the unacknowledged second request: 1.5 .. 3.5 s.
check_lib user_timeout  "user_timeout=2000" 1500 3500
# USER_TIMEOUT=auto: idle + intvl * cnt = 3 s, but never under 60 s: still
# waiting at 6.5 s, like the writer without the library.
case " $(sed -n 's/^opts //p' "$CT_TMP/auto_timeout.out") " in
    *" keepalive=1 idle=1 intvl=1 cnt=2 user_timeout=60000 "*) ;;
    *) errors+=("auto_timeout: socket options are '$(sed -n 's/^opts //p' "$CT_TMP/auto_timeout.out")', want user_timeout=60000");;
esac

for n in nolib_read nolib_write auto_timeout; do
    res=$(grep '^result=' "$CT_TMP/$n.out")
    if [ -n "$res" ]; then
        errors+=("$n: the client returned ($res) within 6.5 s")
    elif ! kill -0 "${PID[$n]}" 2>/dev/null; then
        errors+=("$n: the client died without a result")
    else
        note "$n: still blocked after 6.5 s (as expected); killing pid ${PID[$n]}"
        note "$n: opts: $(sed -n 's/^opts //p' "$CT_TMP/$n.out")"
    fi
done

if [ ${#errors[@]} != 0 ]; then
    for n in "${NAMES[@]}"; do show "$n"; done
    for e in "${errors[@]}"; do echo "FAIL: $e"; done
    exit 1
fi
echo "ok: dead peer detected with the library, never without"
