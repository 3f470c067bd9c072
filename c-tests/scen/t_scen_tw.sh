# Scenario: thousands of short MySQL connections through HAProxy.
# The client closes first (COM_QUIT, close), so every connection leaves a
# TIME_WAIT socket on the client for 60 s, holding its source port: with
# 1000 ephemeral ports (net.ipv4.ip_local_port_range="40000 40999" in the
# client's netns) the client runs out of ports and connect() fails with
# EADDRNOTAVAIL (libmariadb: 2002, system errno 99).
#
# Each run: 3000 connect / SELECT 1 / quit cycles (bounded: at most 50 s) in a
# fresh client netns, against HAProxy -> MariaDB. Printed for each run: how
# many succeeded and failed (mysql_errno/errno), the TIME_WAIT sockets the run
# left on the client, on HAProxy (frontend and backend side) and on MariaDB,
# and MariaDB's Aborted_clients.
#   without the library        many fail with 2002/99
#   SOCKFIX_LINGER=0           all succeed, no TIME_WAIT on the client
#   SOCKFIX_BIND=2 addresses   about twice as many succeed, over both
#   SOCKFIX_BIND=4 addresses   all succeed
#   1500 processes with one connection each, SOCKFIX_BIND=2 addresses: the
#   addresses must be spread over processes too (all succeed)
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/scen/scen_lib.sh"
scen_init

N=3000
MAXS=50
BAD=()
bad() { BAD+=("$*"); echo "BAD: $*"; }

# run K NAME lib|nolib NEXTRA [VAR=VALUE...]: one run, against a fresh
# HAProxy and MariaDB, from client netns K with NEXTRA more source addresses;
# sets OUT_<NAME> and CTW_<NAME>, and prints the run's figures. In the
# settings, @ADDRS stands for the client's addresses (comma list).
run() {
    local k=$1 name=$2 mode=$3 nextra=$4 envs=() e out
    shift 4
    scen_stack_new "$k" --general-log=0
    scen_client_ns "$k"
    [ "$nextra" -gt 0 ] && scen_client_addrs "$k" "$nextra"
    ip netns exec "$CNS" sysctl -q -w net.ipv4.ip_local_port_range="40000 40999" || fail "sysctl in $CNS"
    for e in "$@"; do envs+=("${e//@ADDRS/$CADDRS}"); done
    if [ "$mode" = lib ]; then
        out=$(in_ns_lib "$CNS" SOCKFIX_LOG="$CT_TMP/$name.log" "${envs[@]}" "$SCEN_CLIENT" cycles "$VIP" 3306 "$N" "$MAXS" 2>"$CT_TMP/$name.err")
    else
        out=$(in_ns "$CNS" "$SCEN_CLIENT" cycles "$VIP" 3306 "$N" "$MAXS" 2>"$CT_TMP/$name.err")
    fi
    sleep 0.3 # let the last closes settle
    local ctw hf hb db ab
    ctw=$(tw_count "$CNS")
    hf=$(tw_count "$NS_H" 'sport = :3306')
    hb=$(tw_count "$NS_H" 'dport = :3306')
    db=$(tw_count "$NS_DB")
    ab=$(db_status Aborted_clients)
    printf -v "OUT_$name" '%s' "$out"
    printf -v "CTW_$name" '%s' "$ctw"
    local label
    label=$(printf '%s' "$name ${envs[*]:-}" | sed "s/SOCKFIX_BIND=[0-9.,]*/SOCKFIX_BIND=($((nextra + 1)) addresses)/")
    note "$(printf '%-44s' "$label:") ok=$(field ok "$out") fail=$(field fail "$out") errors=$(field errors "$out") time=$(field elapsed_ms "$out")ms | TIME_WAIT client=$ctw haproxy-front=$hf haproxy-back=$hb mariadb=$db | Aborted_clients=$ab | addrs=$(field addrs "$out")"
}

t0=$(date +%s)
note "$N connect/SELECT 1/quit cycles through HAProxy, client ports 40000-40999 (each run: fresh namespaces, HAProxy and MariaDB)"
run 1 without nolib 0
note "(client netns: tcp_tw_reuse=$(ip netns exec "$CNS" sysctl -n net.ipv4.tcp_tw_reuse), tcp_fin_timeout=$(ip netns exec "$CNS" sysctl -n net.ipv4.tcp_fin_timeout))"
run 2 linger0 lib 0 SOCKFIX_LINGER=0
run 3 bind2 lib 1 SOCKFIX_BIND=@ADDRS
run 4 bind4 lib 3 SOCKFIX_BIND=@ADDRS
# One connection per process (a shell loop of short clients, CGI, cron):
# the addresses must still be spread over the processes.
NP=1500
scen_stack_new 5 --general-log=0
scen_client_ns 5
scen_client_addrs 5 1
ip netns exec "$CNS" sysctl -q -w net.ipv4.ip_local_port_range="40000 40999" || fail "sysctl in $CNS"
ts=$(date +%s%N)
ip netns exec "$CNS" env LD_PRELOAD="$CT_LIB" SOCKFIX_CONFIG=/dev/null SOCKFIX_BIND="$CADDRS" \
    bash -c 'end=$((SECONDS + 40)); for i in $(seq 1 "$1"); do [ $SECONDS -lt $end ] || break; "$2" cycles "$3" 3306 1 5; done' \
    _ "$NP" "$SCEN_CLIENT" "$VIP" >"$CT_TMP/procs.out" 2>"$CT_TMP/procs.err"
ms=$(( ($(date +%s%N) - ts) / 1000000 ))
P_N=$(grep -c '^mode=cycles' "$CT_TMP/procs.out")
P_OK=$(grep -c '^mode=cycles.* ok=1 ' "$CT_TMP/procs.out")
P_ADDRS=$(grep '^mode=cycles.* ok=1 ' "$CT_TMP/procs.out" | grep -o ' addrs=[0-9.]*' | sort | uniq -c | awk '{sub(/ *addrs=/, "", $2); printf "%s%s:%s", sep, $2, $1; sep=","}')
note "$(printf '%-44s' "procs: $NP processes x 1 connection, SOCKFIX_BIND=(2 addresses):") ok=$P_OK fail=$((P_N - P_OK)) of $P_N time=${ms}ms | TIME_WAIT client=$(tw_count "$CNS") | addrs=$P_ADDRS"
note "elapsed $(( $(date +%s) - t0 ))s"

# Without the library: the ports run out.
f=$(field fail "$OUT_without")
[ -n "$f" ] && [ "$f" -gt 0 ] || fail "without the library all $N connections succeeded: the scenario does not reproduce the port exhaustion ($OUT_without)"
[[ $(field errors "$OUT_without") == *"/99:"* ]] || fail "without the library the failures are not EADDRNOTAVAIL (99): $OUT_without"
[ "$CTW_without" -ge 900 ] || fail "without the library only $CTW_without TIME_WAIT sockets on the client"
ok_without=$(field ok "$OUT_without")

# LINGER=0: every cycle succeeds, no TIME_WAIT left on the client.
[ "$(field ok "$OUT_linger0")" = "$N" ] || bad "SOCKFIX_LINGER=0: expected all $N to succeed: $OUT_linger0 $(head -c 300 "$CT_TMP/linger0.err")"
[ "$CTW_linger0" -le 5 ] || bad "SOCKFIX_LINGER=0: $CTW_linger0 TIME_WAIT sockets left on the client (expected none)"

# BIND with 2 addresses: clearly more than without, spread over both.
ok2=$(field ok "$OUT_bind2")
[ -n "$ok2" ] && [ "$ok2" -ge $(( ok_without + 700 )) ] || bad "SOCKFIX_BIND with 2 addresses: expected about twice the $ok_without successes of the run without, got: $OUT_bind2"
[ "$(field addrs "$OUT_bind2" | tr ',' '\n' | grep -c .)" = 2 ] || bad "SOCKFIX_BIND with 2 addresses: connections not spread over both: $(field addrs "$OUT_bind2")"
# BIND with 4 addresses: all succeed.
[ "$(field ok "$OUT_bind4")" = "$N" ] || bad "SOCKFIX_BIND with 4 addresses: expected all $N to succeed: $OUT_bind4"
[ "$(field addrs "$OUT_bind4" | tr ',' '\n' | grep -c .)" = 4 ] || bad "SOCKFIX_BIND with 4 addresses: connections not spread over all four: $(field addrs "$OUT_bind4")"

# Processes with one connection each: both addresses used, all succeed.
P_MIN=$(grep '^mode=cycles.* ok=1 ' "$CT_TMP/procs.out" | grep -o ' addrs=[0-9.]*' | sort | uniq -c | awk 'NR == 1 || $1 < m {m = $1} END {print (NR < 2) ? 0 : m}')
[ "$P_MIN" -ge $((P_OK / 4)) ] || bad "SOCKFIX_BIND with 2 addresses, $P_N processes with one connection each: the addresses are not spread over processes (each process starts at the first address?): addrs=$P_ADDRS ok=$P_OK/$P_N"
[ "$P_OK" = "$P_N" ] || bad "SOCKFIX_BIND with 2 addresses (2000 address/port pairs), $P_N one-connection processes: only $P_OK succeeded"

[ ${#BAD[@]} = 0 ] || fail "${#BAD[@]} with-library check(s) failed (see BAD lines above)"
echo "ok: short connections through HAProxy: ports run out without; LINGER=0 and BIND fix it"
