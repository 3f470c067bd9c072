# Scenario: the library inside HAProxy itself, as a global install
# (/etc/ld.so.preload) puts it there, with SOCKFIX_LINGER=0. HAProxy's
# outgoing connections (to MariaDB) get SO_LINGER 0 (logged) and keepalive
# (HAProxy half-closes them with shutdown(SHUT_WR) before close(), so their
# TIME_WAIT stays: shown, not checked); the
# connections it accepts get neither (SO_LINGER 0 on an accepted socket
# would reset the clients): when HAProxy's `timeout client` closes an idle
# client, the client still gets a FIN (its socket in CLOSE_WAIT), not a RST.
# SOCKFIX_SERVER=on adds keepalive (never linger) to the accepted ones.
# Keepalive is seen in `ss -o` (timer:(keepalive,...)) inside HAProxy's netns.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/scen/scen_lib.sh"
PROBE=$CT_BIN/opt_probe
[ -x "$PROBE" ] || fail "$PROBE was not built (c-tests/opt/opt_probe.c)"
scen_init
scen_net
scen_db_start --general-log=0
scen_haproxy_start 2s
scen_client_ns 1

BAD=()
bad() { BAD+=("$*"); echo "BAD: $*"; }

# idle_close: a client (no library) connects and sits idle past HAProxy's
# timeout client (2 s); prints the client's socket state at 2.7 s:
# CLOSE_WAIT (HAProxy sent FIN) or gone (RST).
idle_close() {
    in_ns "$CNS" "$PROBE" --hold 3500 tcp "$VIP" 3306 >/dev/null 2>&1 &
    local pid=$!
    track $pid
    sleep 2.7
    local cw est
    cw=$(ip netns exec "$CNS" ss -Htan state close-wait '( dport = :3306 )' | wc -l)
    est=$(ip netns exec "$CNS" ss -Htan state established '( dport = :3306 )' | wc -l)
    wait $pid
    if [ "$cw" = 1 ]; then echo FIN; elif [ "$est" = 1 ]; then echo open; else echo RST; fi
}
# timers: while a client holds a connection, the keepalive timers of
# HAProxy's two sockets: "front=<yes|no> back=<yes|no>".
timers() {
    in_ns "$CNS" "$PROBE" --hold 1200 tcp "$VIP" 3306 >/dev/null 2>&1 &
    local pid=$!
    track $pid
    sleep 0.6
    local f b
    f=$(ip netns exec "$NS_H" ss -Htno state established '( sport = :3306 )' | grep -c 'timer:(keepalive')
    b=$(ip netns exec "$NS_H" ss -Htno state established '( dport = :3306 )' | grep -c 'timer:(keepalive')
    wait $pid
    echo "front=$([ "$f" -ge 1 ] && echo yes || echo no) back=$([ "$b" -ge 1 ] && echo yes || echo no)"
}
# cycles: 300 short MySQL connections (client without the library); prints
# the client's summary and the TIME_WAIT HAProxy's backend side gained.
cycles() {
    local before out
    before=$(tw_count "$NS_H" 'dport = :3306')
    out=$(in_ns "$CNS" "$SCEN_CLIENT" cycles "$VIP" 3306 300 20 2>&1)
    sleep 0.3
    echo "ok=$(field ok "$out") fail=$(field fail "$out") haproxy_back_tw=$(( $(tw_count "$NS_H" 'dport = :3306') - before ))"
}

t0=$(date +%s)
IDLE0=$(idle_close) TIM0=$(timers) CYC0=$(cycles)
note "HAProxy without the library: idle client closed by: $IDLE0; keepalive timers: $TIM0; 300 cycles: $CYC0"
[ "$IDLE0" = FIN ] || fail "without the library HAProxy's timeout client should close with a FIN (got $IDLE0)"
[ "$(field haproxy_back_tw "$CYC0")" -gt 0 ] || note "(HAProxy's backend side left no TIME_WAIT even without the library)"

scen_haproxy_stop
scen_haproxy_start 2s SOCKFIX_LINGER=0 SOCKFIX_LOG="$CT_TMP/ha.log"
A0=$(db_status Aborted_clients)
IDLE1=$(idle_close) TIM1=$(timers) CYC1=$(cycles)
note "HAProxy with LINGER=0:         idle client closed by: $IDLE1; keepalive timers: $TIM1; 300 cycles: $CYC1; MariaDB Aborted_clients +$(( $(db_status Aborted_clients) - A0 ))"
[ "$IDLE1" = FIN ] || bad "LINGER=0 inside HAProxy: its accepted (client) socket was closed with $IDLE1, expected a FIN: SO_LINGER must never be set on accepted sockets"
[ "$TIM1" = "front=no back=yes" ] || bad "inside HAProxy: expected keepalive on the outgoing (backend) socket only, got $TIM1"
[ "$(field ok "$CYC1")" = 300 ] || bad "inside HAProxy: 300 client cycles: $CYC1"
# HAProxy half-closes (shutdown(SHUT_WR)) its backend socket before close():
# the FIN is out before SO_LINGER can act, so its TIME_WAIT stays (a limit
# of SO_LINGER, not checked, only shown).
[ "$(field haproxy_back_tw "$CYC1")" = 0 ] || note "(HAProxy shuts down its write side before close(): SO_LINGER 0 cannot spare that TIME_WAIT)"
log_lines "$CT_TMP/ha.log" | grep -q "$DB_ADDR:3306.*SO_LINGER" || bad "no log line for HAProxy's backend connection: $(head -n 3 "$CT_TMP/ha.log" 2>/dev/null)"
if log_lines "$CT_TMP/ha.log" | grep -v "$DB_ADDR:3306" | grep -q 'SO_LINGER'; then
    bad "SO_LINGER logged for something else than the backend: $(log_lines "$CT_TMP/ha.log" | grep -v "$DB_ADDR:3306" | grep SO_LINGER | head -n 2)"
fi

scen_haproxy_stop
scen_haproxy_start 2s SOCKFIX_LINGER=0 SOCKFIX_SERVER=on
IDLE2=$(idle_close) TIM2=$(timers)
note "HAProxy with LINGER=0 SERVER=on: idle client closed by: $IDLE2; keepalive timers: $TIM2"
[ "$IDLE2" = FIN ] || bad "LINGER=0 SERVER=on inside HAProxy: accepted socket closed with $IDLE2, expected a FIN"
[ "$TIM2" = "front=yes back=yes" ] || bad "SERVER=on inside HAProxy: expected keepalive on both sockets, got $TIM2"
note "elapsed $(( $(date +%s) - t0 ))s"

[ ${#BAD[@]} = 0 ] || fail "${#BAD[@]} with-library check(s) failed (see BAD lines above)"
echo "ok: inside HAProxy, linger and keepalive on its outgoing connections only (keepalive on accepted ones with SERVER=on)"
