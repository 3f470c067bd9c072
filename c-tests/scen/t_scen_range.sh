# Scenario (thousands of short connections, continued): source ports and addresses of outgoing
# connections through HAProxy to MariaDB.
#   SOCKFIX_PORTS=41000-41099 + SOCKFIX_BIND=two addresses, 150 connections
#   held open: every local port is in the range (seen by the client's
#   getsockname and by `ss` in the client netns), spread over both addresses.
#   SOCKFIX_PORTS alone: the range is a hard limit (100 connections fit).
#   2000 short cycles with PORTS + BIND + LINGER=0: all in range, all succeed.
#   SOCKFIX_BIND: an address that cannot be bound is skipped (logged); only
#   the destination's family is used (IPv6 when the destination is IPv6);
#   a program that binds its socket itself (libmariadb's MYSQL_OPT_BIND)
#   keeps its own address.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/scen/scen_lib.sh"
scen_init
scen_net
scen_db_start --general-log=0
scen_haproxy_start 2s
LO=41000 HI=41099
# Each part gets a fresh client netns: the TIME_WAIT sockets an earlier part
# left would hold ports of the range.
# fresh K: client netns K with two addresses A1, A2.
fresh() {
    scen_client_ns "$1"
    scen_client_addrs "$1" 1
    A1=$CADDR
    A2=${CADDRS#*,}
}

BAD=()
bad() { BAD+=("$*"); echo "BAD: $*"; }
C=$SCEN_CLIENT

# ss_local: the local ADDR:PORT of every established connection to :3306 in
# the client netns.
ss_local() { ip netns exec "$CNS" ss -Htn state established '( dport = :3306 )' | awk '{print $3}'; }
# hold NAME VAR=VALUE...: 150 connections held open with the library;
# prints the client's summary and the ss view.
hold() {
    local name=$1
    shift
    in_ns_lib "$CNS" SOCKFIX_LOG="$CT_TMP/$name.log" "$@" "$C" --ports "$CT_TMP/$name.ports" hold "$VIP" 3306 150 1500 \
        >"$CT_TMP/$name.out" 2>"$CT_TMP/$name.err" &
    local pid=$! i
    track $pid
    for i in $(seq 1 100); do
        grep -q '^mode=hold' "$CT_TMP/$name.out" && break
        sleep 0.1
    done
    sleep 0.2
    ss_local >"$CT_TMP/$name.ss"
    wait $pid
}
# outside FILE: how many lines of ADDR:PORT have a port outside LO..HI.
outside() { awk -F: -v lo=$LO -v hi=$HI '{p=$NF+0; if (p < lo || p > hi) n++} END {print n+0}' "$1"; }
per_addr() { awk -F: '{NF--; print}' OFS=: "$1" | sort | uniq -c | awk '{printf "%s%s:%s", sep, $2, $1; sep=","}'; }

t0=$(date +%s)
fresh 1
# Without the library: the kernel's range (32768-60999 in a fresh netns).
in_ns "$CNS" "$C" --ports "$CT_TMP/nolib.ports" hold "$VIP" 3306 150 0 >"$CT_TMP/nolib.out" 2>"$CT_TMP/nolib.err"
note "without:                  $(cat "$CT_TMP/nolib.out")  outside $LO-$HI: $(outside "$CT_TMP/nolib.ports")"
[ "$(field ok "$(cat "$CT_TMP/nolib.out")")" = 150 ] || fail "without the library: 150 connections through HAProxy failed: $(cat "$CT_TMP/nolib.out" "$CT_TMP/nolib.err")"

fresh 2
hold both SOCKFIX_PORTS=$LO-$HI SOCKFIX_BIND=$A1,$A2
OUT=$(cat "$CT_TMP/both.out")
note "PORTS=$LO-$HI BIND=2 addrs: $OUT"
note "   ss in the client netns while held: $(wc -l <"$CT_TMP/both.ss") established, outside the range: $(outside "$CT_TMP/both.ss"), per address: $(per_addr "$CT_TMP/both.ss")"
[ "$(field ok "$OUT")" = 150 ] || bad "PORTS+BIND: expected 150 connections (200 address/port pairs available): $OUT $(head -c 300 "$CT_TMP/both.err")"
[ "$(outside "$CT_TMP/both.ports")" = 0 ] || bad "PORTS=$LO-$HI: $(outside "$CT_TMP/both.ports") connections got a port outside the range (getsockname): $(field port_min "$OUT")-$(field port_max "$OUT")"
[ "$(wc -l <"$CT_TMP/both.ss")" -ge 150 ] || bad "ss saw $(wc -l <"$CT_TMP/both.ss") established connections, expected 150"
[ "$(outside "$CT_TMP/both.ss")" = 0 ] || bad "PORTS=$LO-$HI: ss shows local ports outside the range: $(awk -F: -v lo=$LO -v hi=$HI '$NF < lo || $NF > hi' "$CT_TMP/both.ss" | head -n 5 | tr '\n' ' ')"
for a in "$A1" "$A2"; do
    n=$(grep -c "^$a:" "$CT_TMP/both.ss")
    [ "$n" -ge 50 ] || bad "BIND=$A1,$A2: only $n of the held connections use $a (expected them used in turn)"
done

fresh 3
hold portsonly SOCKFIX_PORTS=$LO-$HI
OUT=$(cat "$CT_TMP/portsonly.out")
note "PORTS=$LO-$HI alone:       $OUT"
[ "$(field ok "$OUT")" = 100 ] || bad "PORTS=$LO-$HI alone, 150 held: expected exactly 100 to succeed (the range is a hard limit): $OUT"
[ "$(outside "$CT_TMP/portsonly.ports")" = 0 ] || bad "PORTS alone: ports outside the range: $(field port_min "$OUT")-$(field port_max "$OUT")"
[[ $(field errors "$OUT") == *"/99:"* ]] || bad "PORTS alone: the connections past the range should fail with EADDRNOTAVAIL (99): $OUT"

# 2000 short cycles with PORTS + BIND + LINGER=0: all succeed, all in range.
fresh 4
OUT=$(in_ns_lib "$CNS" SOCKFIX_PORTS=$LO-$HI SOCKFIX_BIND=$A1,$A2 SOCKFIX_LINGER=0 \
    "$C" --ports "$CT_TMP/cyc.ports" cycles "$VIP" 3306 2000 40 2>"$CT_TMP/cyc.err")
note "2000 cycles PORTS+BIND+LINGER=0: $OUT  TIME_WAIT client=$(tw_count "$CNS" 'dport = :3306')"
[ "$(field ok "$OUT")" = 2000 ] || bad "PORTS+BIND+LINGER=0, 2000 short cycles: expected all to succeed: $OUT $(head -c 300 "$CT_TMP/cyc.err")"
[ "$(outside "$CT_TMP/cyc.ports")" = 0 ] || bad "2000 cycles: $(outside "$CT_TMP/cyc.ports") ports outside $LO-$HI"

# BIND with an address this host does not have: skipped, with a log line.
fresh 5
OUT=$(in_ns_lib "$CNS" SOCKFIX_LOG="$CT_TMP/unb.log" SOCKFIX_BIND=192.0.2.250,$A2 "$C" cycles "$VIP" 3306 4 5 2>"$CT_TMP/unb.err")
note "BIND=192.0.2.250(not ours),$A2: $OUT | log: $(log_lines "$CT_TMP/unb.log" | grep -m1 192.0.2.250)"
[ "$(field ok "$OUT")" = 4 ] && [ "$(field addrs "$OUT")" = "$A2:4" ] || bad "BIND with an unbindable address: expected all 4 from $A2: $OUT"
log_lines "$CT_TMP/unb.log" | grep -q 192.0.2.250 || bad "BIND: no log line about the unbindable 192.0.2.250: $(head -n 5 "$CT_TMP/unb.log")"

# BIND family: an IPv6 address is not used for an IPv4 destination, and an
# IPv6 destination gets the IPv6 one.
if [ "$SCEN_V6" = 1 ]; then
    B6=2001:db8:c5::3
    ip -n "$CNS" addr add "$B6/64" dev c0 nodad
    OUT=$(in_ns_lib "$CNS" SOCKFIX_BIND=$B6,$A2 "$C" probe "$VIP" 3306 2>&1)
    OUT6=$(in_ns_lib "$CNS" SOCKFIX_BIND=$B6,$A2 "$C" probe "$VIP6" 3306 2>&1)
    note "BIND=$B6,$A2: to $VIP: $(field local "$OUT"); to [$VIP6]: $(field local "$OUT6")"
    [ "$(field local "$OUT")" = "${A2}:$(field local "$OUT" | sed 's/.*://')" ] || bad "BIND=$B6,$A2 to an IPv4 destination: expected source $A2: $OUT"
    [[ $(field local "$OUT6") == "$B6:"* ]] || bad "BIND=$B6,$A2 to an IPv6 destination: expected source $B6: $OUT6"
    OUT=$(in_ns_lib "$CNS" SOCKFIX_BIND=$B6 "$C" probe "$VIP" 3306 2>&1)
    [[ $(field local "$OUT") == "$A1:"* ]] && [ "$(field connect "$OUT")" = 0 ] || bad "BIND with only an IPv6 address, IPv4 destination: expected the kernel's choice ($A1): $OUT"
fi

# A program that binds itself (libmariadb MYSQL_OPT_BIND) keeps its address.
OUT=$(in_ns_lib "$CNS" SOCKFIX_BIND=$A2 SOCKFIX_PORTS=$LO-$HI "$C" --bind "$A1" probe "$VIP" 3306 2>&1)
note "client binds $A1 itself, BIND=$A2 PORTS=$LO-$HI: local=$(field local "$OUT")"
[[ $(field local "$OUT") == "$A1:"* ]] || bad "the program's own bind to $A1 was overridden: $OUT"
note "elapsed $(( $(date +%s) - t0 ))s"

[ ${#BAD[@]} = 0 ] || fail "${#BAD[@]} with-library check(s) failed (see BAD lines above)"
echo "ok: source ports within SOCKFIX_PORTS, addresses from SOCKFIX_BIND in turn"
